/*
 * updated_parse_fuzz - libFuzzer target for moat-updated's parsers of
 * outside input (updated_parse.h).  The whole input goes through
 * uparse_mirror_name (as bytes, NUL included) and uparse_cvd_header; then
 * it is split at newlines and each piece goes through uparse_http_date and
 * uparse_xff.  What a parser accepts is checked against its contract, so a
 * wrong "yes" aborts as a crash does.  Seed corpus: fuzz/corpus/updated_parse/.
 * Built by updated/parse_fuzz.cmake.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "updated_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_name(const char *s, size_t len)
{
	static const char *const suffix[] = { "", ".cvd", ".cld", ".cdiff" };
	struct uparse_name un;
	char again[256];

	if (uparse_mirror_name(s, len, &un) == -1)
		return;
	/* Containment: nothing that could leave the directory or be hidden. */
	if (len == 0 || s[0] == '.' || memchr(s, '/', len) != NULL ||
	    memchr(s, '%', len) != NULL || memchr(s, '\0', len) != NULL)
		abort();
	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == '.' && s[i + 1] == '.')
			abort();
	/* The name is exactly what the parts spell. */
	if (un.kind == UPARSE_CDIFF)
		snprintf(again, sizeof(again), "%s-%lu%s%s", un.db, un.n, suffix[un.kind],
		    un.sign ? ".sign" : "");
	else
		snprintf(again, sizeof(again), "%s%s%s", un.db, suffix[un.kind],
		    un.sign ? ".sign" : "");
	if (strlen(again) != len || memcmp(again, s, len) != 0)
		abort();
}

static void
fuzz_date(const char *s)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	    "Aug", "Sep", "Oct", "Nov", "Dec" };
	int64_t t = uparse_http_date(s);
	char buf[64];
	time_t tt;
	struct tm tm;

	if (t == -1)
		return;
	if (t < 0 || t > 253402300799LL)
		abort();
	/* What was read, written as an IMF-fixdate, reads back the same. */
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL)
		abort();
	snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday],
	    tm.tm_mday, mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (uparse_http_date(buf) != t)
		abort();
}

static int
fuzz_proxy(void *arg, const char *addr)
{
	(void)arg;
	if (strcmp(addr, "10.6.6.6") == 0)
		return -1;
	return strncmp(addr, "10.", 3) == 0 || strncmp(addr, "fd", 2) == 0;
}

static void
fuzz_xff(const char *s)
{
	char out[UPARSE_ADDR_MAX];
	unsigned char bin[sizeof(struct in6_addr)];

	if (uparse_xff(s, fuzz_proxy, NULL, out, sizeof(out)) != 1)
		return;
	if (inet_pton(strchr(out, ':') != NULL ? AF_INET6 : AF_INET, out, bin) != 1)
		abort();                    /* the client is not an address */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uparse_cvd cvd;
	char *buf = malloc(size + 1), *p, *nl;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	fuzz_name(buf, size);
	if (uparse_cvd_header(data, size, &cvd) == 0 &&
	    (size < UPARSE_CVD_HEAD || memcmp(data, "ClamAV-VDB:", 11) != 0 ||
	    cvd.stime < 0 || cvd.stime > 999999999999LL))
		abort();
	for (p = buf; p != NULL; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		fuzz_date(p);
		fuzz_xff(p);
	}
	free(buf);
	return 0;
}
