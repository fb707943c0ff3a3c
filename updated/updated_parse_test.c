/*
 * Unit tests of updated_parse: table cases for mirror names, CVD headers
 * (built like the signed test databases in shared/fixtures, whose real
 * headers are read too when MOAT_CVD_FIXTURES points at them), HTTP dates
 * in their three forms, and X-Forwarded-For with a trusted-proxy predicate.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "moat_test.h"
#include "updated_parse.h"

static void
case_mirror_name(void)
{
	static const struct {
		const char  *in;
		int          rc, kind, sign;
		unsigned long n;
		const char  *db;
	} t[] = {
		{ "daily.cvd", 0, UPARSE_CVD, 0, 0, "daily" },
		{ "daily.cld", 0, UPARSE_CLD, 0, 0, "daily" },
		{ "daily-27000.cdiff", 0, UPARSE_CDIFF, 0, 27000, "daily" },
		{ "daily.cvd.sign", 0, UPARSE_CVD, 1, 0, "daily" },
		{ "daily.cld.sign", 0, UPARSE_CLD, 1, 0, "daily" },
		{ "test-2.cdiff.sign", 0, UPARSE_CDIFF, 1, 2, "test" },
		{ "safe_browsing9.cvd", 0, UPARSE_CVD, 0, 0, "safe_browsing9" },
		{ "a.cvd", 0, UPARSE_CVD, 0, 0, "a" },
		{ "0.cvd", 0, UPARSE_CVD, 0, 0, "0" },
		{ "a-1.cdiff", 0, UPARSE_CDIFF, 0, 1, "a" },
		{ "a-999999999.cdiff", 0, UPARSE_CDIFF, 0, 999999999, "a" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.cvd", 0,
		  UPARSE_CVD, 0, 0,
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
		/* refused */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.cvd", -1, 0, 0, 0, NULL },
		{ "", -1, 0, 0, 0, NULL },
		{ ".cvd", -1, 0, 0, 0, NULL },
		{ ".cvd.sign", -1, 0, 0, 0, NULL },
		{ ".sign", -1, 0, 0, 0, NULL },
		{ "cvd", -1, 0, 0, 0, NULL },
		{ "daily", -1, 0, 0, 0, NULL },
		{ "daily.CVD", -1, 0, 0, 0, NULL },
		{ "Daily.cvd", -1, 0, 0, 0, NULL },
		{ "daily.cvd.SIGN", -1, 0, 0, 0, NULL },
		{ "daily.cvd.sign.sign", -1, 0, 0, 0, NULL },
		{ "daily.sign", -1, 0, 0, 0, NULL },
		{ "daily.cdiff", -1, 0, 0, 0, NULL },
		{ "daily-.cdiff", -1, 0, 0, 0, NULL },
		{ "-1.cdiff", -1, 0, 0, 0, NULL },
		{ "daily-0.cdiff", -1, 0, 0, 0, NULL },
		{ "daily-01.cdiff", -1, 0, 0, 0, NULL },
		{ "daily-1000000000.cdiff", -1, 0, 0, 0, NULL },
		{ "daily-99999999999999999999.cdiff", -1, 0, 0, 0, NULL },
		{ "daily--1.cdiff", -1, 0, 0, 0, NULL },
		{ "daily-+1.cdiff", -1, 0, 0, 0, NULL },
		{ "daily-1x.cdiff", -1, 0, 0, 0, NULL },
		{ "daily-1.cvd", -1, 0, 0, 0, NULL },
		{ "da-ily.cvd", -1, 0, 0, 0, NULL },
		{ "daily.cvd.", -1, 0, 0, 0, NULL },
		{ "daily..cvd", -1, 0, 0, 0, NULL },
		{ "..cvd", -1, 0, 0, 0, NULL },
		{ "../daily.cvd", -1, 0, 0, 0, NULL },
		{ "..", -1, 0, 0, 0, NULL },
		{ ".", -1, 0, 0, 0, NULL },
		{ "/daily.cvd", -1, 0, 0, 0, NULL },
		{ "/etc/passwd", -1, 0, 0, 0, NULL },
		{ "a/b.cvd", -1, 0, 0, 0, NULL },
		{ "%2e%2e.cvd", -1, 0, 0, 0, NULL },
		{ "daily%00.cvd", -1, 0, 0, 0, NULL },
		{ "daily.cvd%00", -1, 0, 0, 0, NULL },
		{ ".daily.cvd", -1, 0, 0, 0, NULL },
		{ "dai ly.cvd", -1, 0, 0, 0, NULL },
		{ " daily.cvd", -1, 0, 0, 0, NULL },
		{ "daily.cvd ", -1, 0, 0, 0, NULL },
		{ "daily\\.cvd", -1, 0, 0, 0, NULL },
		{ "dailyé.cvd", -1, 0, 0, 0, NULL },
		{ "daily.cdiff.cvd", -1, 0, 0, 0, NULL },
		{ "daily.cvd.cdiff", -1, 0, 0, 0, NULL },
	};
	struct uparse_name un;
	char what[160];

	for (size_t i = 0; i < TEST_NELEM(t); i++) {
		int rc = uparse_mirror_name(t[i].in, strlen(t[i].in), &un);
		snprintf(what, sizeof(what), "\"%s\"", t[i].in);
		TEST_INT_EQ(what, rc, t[i].rc);
		if (rc != 0 || t[i].rc != 0)
			continue;
		TEST_INT_EQ(what, un.kind, t[i].kind);
		TEST_INT_EQ(what, un.sign, t[i].sign);
		TEST_INT_EQ(what, un.n, t[i].n);
		TEST_STR_EQ(what, un.db, t[i].db);
	}
	/* A NUL inside the given length is a byte like any other: refused. */
	TEST_INT_EQ("embedded NUL", uparse_mirror_name("daily\0.cvd", 10, &un), -1);
	TEST_INT_EQ("NUL in db", uparse_mirror_name("a\0b.cvd", 7, &un), -1);
	TEST_INT_EQ("prefix length", uparse_mirror_name("daily.cvd/x", 9, &un), 0);
}

/* A 512-byte header: text then spaces. */
static void
mkhead(char *buf, const char *text)
{
	memset(buf, ' ', UPARSE_CVD_HEAD);
	memcpy(buf, text, strlen(text) < UPARSE_CVD_HEAD ? strlen(text) : UPARSE_CVD_HEAD);
}

#define MD5 "3e249e00076b0b15bb54ced37be880c7"
#define GOOD "ClamAV-VDB:22 Jun 2021 21-34 -0400:6:14:81:" MD5 ":Dou6+/x:micasnyd:1624412045"

static void
case_cvd_header(void)
{
	static const struct {
		const char     *name, *text;
		int             rc;
		unsigned long   version;
		int64_t         stime;
	} t[] = {
		{ "real", GOOD, 0, 6, 1624412045 },
		{ "version 0", "ClamAV-VDB:d:0:0:81:" MD5 ":x:b:0", 0, 0, 0 },
		{ "big version", "ClamAV-VDB:d:4294967295:1:1:" MD5 ":x:b:1", 0, 4294967295UL, 1 },
		{ "version too big", "ClamAV-VDB:d:4294967296:1:1:" MD5 ":x:b:1", -1, 0, 0 },
		{ "12-digit stime", "ClamAV-VDB:d:1:1:1:" MD5 ":x:b:999999999999", 0, 1,
		  999999999999LL },
		{ "13-digit stime", "ClamAV-VDB:d:1:1:1:" MD5 ":x:b:1000000000000", -1, 0, 0 },
		{ "magic", "ClamAV-VDX:d:1:1:1:" MD5 ":x:b:1", -1, 0, 0 },
		{ "lower magic", "clamav-vdb:d:1:1:1:" MD5 ":x:b:1", -1, 0, 0 },
		{ "cdiff magic", "ClamAV-Diff:6:817:", -1, 0, 0 },
		{ "8 fields", "ClamAV-VDB:d:1:1:1:" MD5 ":x:b", -1, 0, 0 },
		{ "10 fields", "ClamAV-VDB:d:1:1:1:" MD5 ":x:b:1:2", -1, 0, 0 },
		{ "trailing colon", "ClamAV-VDB:d:1:1:1:" MD5 ":x:b:1:", -1, 0, 0 },
		{ "empty date", "ClamAV-VDB::1:1:1:" MD5 ":x:b:1", -1, 0, 0 },
		{ "empty version", "ClamAV-VDB:d::1:1:" MD5 ":x:b:1", -1, 0, 0 },
		{ "signed version", "ClamAV-VDB:d:+1:1:1:" MD5 ":x:b:1", -1, 0, 0 },
		{ "negative stime", "ClamAV-VDB:d:1:1:1:" MD5 ":x:b:-1", -1, 0, 0 },
		{ "hex version", "ClamAV-VDB:d:0x1:1:1:" MD5 ":x:b:1", -1, 0, 0 },
		{ "short md5", "ClamAV-VDB:d:1:1:1:3e249e00076b0b15bb54ced37be880c:x:b:1", -1, 0, 0 },
		{ "bad md5", "ClamAV-VDB:d:1:1:1:3e249e00076b0b15bb54ced37be880cg:x:b:1", -1, 0, 0 },
		{ "empty dsig", "ClamAV-VDB:d:1:1:1:" MD5 "::b:1", -1, 0, 0 },
		{ "bad dsig", "ClamAV-VDB:d:1:1:1:" MD5 ":a=b:b:1", -1, 0, 0 },
		{ "empty builder", "ClamAV-VDB:d:1:1:1:" MD5 ":x::1", -1, 0, 0 },
		{ "stime with space", "ClamAV-VDB:d:1:1:1:" MD5 ":x:b:1 2", -1, 0, 0 },
		{ "empty stime", "ClamAV-VDB:d:1:1:1:" MD5 ":x:b:", -1, 0, 0 },
		{ "control in date", "ClamAV-VDB:d\x01:1:1:1:" MD5 ":x:b:1", -1, 0, 0 },
		{ "empty", "", -1, 0, 0 },
	};
	char buf[UPARSE_CVD_HEAD + 8];
	struct uparse_cvd cvd;

	for (size_t i = 0; i < TEST_NELEM(t); i++) {
		int rc;
		mkhead(buf, t[i].text);
		rc = uparse_cvd_header(buf, UPARSE_CVD_HEAD, &cvd);
		TEST_INT_EQ(t[i].name, rc, t[i].rc);
		if (rc == 0 && t[i].rc == 0) {
			TEST_INT_EQ(t[i].name, cvd.version, t[i].version);
			TEST_INT_EQ(t[i].name, cvd.stime, t[i].stime);
		}
	}
	mkhead(buf, GOOD);
	TEST_INT_EQ("511 bytes", uparse_cvd_header(buf, UPARSE_CVD_HEAD - 1, &cvd), -1);
	buf[UPARSE_CVD_HEAD - 1] = '\0';
	TEST_INT_EQ("NUL padding", uparse_cvd_header(buf, UPARSE_CVD_HEAD, &cvd), 0);
	buf[UPARSE_CVD_HEAD - 1] = 'x';
	TEST_INT_EQ("garbage after padding", uparse_cvd_header(buf, UPARSE_CVD_HEAD, &cvd), -1);
	buf[UPARSE_CVD_HEAD - 1] = ' ';
	buf[200] = '\n';
	TEST_INT_EQ("newline in padding", uparse_cvd_header(buf, UPARSE_CVD_HEAD, &cvd), -1);
	/* No padding at all: 512 bytes of fields end at the buffer's end. */
	memset(buf, 'A', sizeof(buf));
	memcpy(buf, "ClamAV-VDB:d:1:1:1:" MD5 ":", 52);
	memcpy(buf + 508, ":b:7", 4);
	TEST_INT_EQ("unpadded", uparse_cvd_header(buf, UPARSE_CVD_HEAD, &cvd), 0);
	TEST_INT_EQ("unpadded stime", cvd.stime, 7);
	/* The signed test databases, when the fixtures are there. */
	const char *fx = getenv("MOAT_CVD_FIXTURES");
	if (fx == NULL)
		fx = "/work/shared/fixtures/clamav-test-cvd";
	for (int v = 1; v <= 6; v++) {
		char path[512];
		int fd;
		snprintf(path, sizeof(path), "%s/test-%d.cvd", fx, v);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		ssize_t n = read(fd, buf, UPARSE_CVD_HEAD);
		close(fd);
		TEST_CHECK(n == UPARSE_CVD_HEAD && uparse_cvd_header(buf, (size_t)n, &cvd) == 0 &&
		    cvd.version == (unsigned long)v && cvd.stime > 1624000000 &&
		    cvd.stime < 1625000000, "%s: rc/version/stime wrong (%lu %lld)", path,
		    cvd.version, (long long)cvd.stime);
	}
}

static void
case_http_date(void)
{
	static const struct {
		const char  *in;
		int64_t      want;
	} t[] = {
		{ "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", 784111777 },
		{ "Sun Nov  6 08:49:37 1994", 784111777 },
		{ "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
		{ "Tue, 22 Jun 2021 21:34:05 GMT", 1624397645 },
		{ "Wed, 23 Jun 2021 01:34:05 GMT", 1624412045 },
		{ "Tue, 29 Feb 2000 12:00:00 GMT", 951825600 },
		{ "Sat, 31 Dec 2033 23:59:60 GMT", 2019686399 },
		{ "Tuesday, 29-Feb-00 12:00:00 GMT", 951825600 },
		{ "Thursday, 01-Jan-70 00:00:00 GMT", 0 },
		{ "Wed Jun 23 01:34:05 2021", 1624412045 },
		{ "Fri, 31 Dec 9999 23:59:59 GMT", 253402300799LL },
		/* refused */
		{ "", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 UTC", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 gmt", -1 },
		{ "sun, 06 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 nov 1994 08:49:37 GMT", -1 },
		{ "Mon, 06 Nov 1994 08:49:37 GMT", -1 },  /* wrong weekday */
		{ "Sun, 6 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 94 08:49:37 GMT", -1 },
		{ " Sun, 06 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT ", -1 },
		{ "Sun,  06 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 24:00:00 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:60:00 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:49:61 GMT", -1 },
		{ "Sun, 06 Nov 1994 8:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 08-49-37 GMT", -1 },
		{ "Sun, 00 Nov 1994 08:49:37 GMT", -1 },
		{ "Thu, 31 Nov 1994 08:49:37 GMT", -1 },
		{ "Thu, 29 Feb 2001 08:49:37 GMT", -1 },
		{ "Fri, 29 Feb 1900 08:49:37 GMT", -1 },
		{ "Wed, 31 Dec 1969 23:59:59 GMT", -1 },  /* before the epoch */
		{ "Sun, 06 Nov +994 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GMTX", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GM", -1 },
		{ "Sunday, 06-Nov-1994 08:49:37 GMT", -1 },
		{ "Sun, 06-Nov-94 08:49:37 GMT", -1 },
		{ "Sunday, 06 Nov 94 08:49:37 GMT", -1 },
		{ "Monday, 06-Nov-94 08:49:37 GMT", -1 },
		{ "Sunday, 06-Nov-94 08:49:37 UTC", -1 },
		{ "Sun Nov 06 08:49:37 1994", -1 },       /* asctime pads with a space */
		{ "Sun Nov 6 08:49:37 1994", -1 },
		{ "Sun Nov  6 08:49:37 1994 ", -1 },
		{ "Sun Nov  6 08:49:37 94", -1 },
		{ "784111777", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT\r\n", -1 },
		{ "Sun, 06 Nov 1994", -1 },
		{ "Sunday", -1 },
		{ "Sun", -1 },
	};

	for (size_t i = 0; i < TEST_NELEM(t); i++)
		TEST_INT_EQ(t[i].in, uparse_http_date(t[i].in), t[i].want);
}

/* The trusted proxies of the XFF cases: 10.0.0.0/8 and 2001:db8::1; an
 * address "192.0.2.99" makes the predicate fail (-1). */
static int
is_proxy(void *arg, const char *addr)
{
	int *calls = arg;

	(*calls)++;
	if (strcmp(addr, "192.0.2.99") == 0)
		return -1;
	return strncmp(addr, "10.", 3) == 0 || strcmp(addr, "2001:db8::1") == 0;
}

static void
case_xff(void)
{
	static const struct {
		const char  *in;
		int          rc;
		const char  *want;
	} t[] = {
		{ "192.0.2.7", 1, "192.0.2.7" },
		{ "192.0.2.7, 10.0.0.1", 1, "192.0.2.7" },
		{ "192.0.2.7,10.0.0.1,10.0.0.2", 1, "192.0.2.7" },
		{ "198.51.100.1, 192.0.2.7, 10.0.0.1", 1, "192.0.2.7" },   /* spoofed left part */
		{ "10.0.0.3, 10.0.0.1", 1, "10.0.0.3" },                   /* all proxies */
		{ "10.0.0.1", 1, "10.0.0.1" },
		{ "2001:DB8::7, 2001:db8::1", 1, "2001:db8::7" },
		{ "2001:db8:0:0:0:0:0:1", 1, "2001:db8::1" },
		{ "::ffff:192.0.2.1", 1, "::ffff:192.0.2.1" },
		{ " \t192.0.2.7 \t, 10.0.0.1 ", 1, "192.0.2.7" },
		{ "192.0.2.99", 1, "192.0.2.99" },      /* the left-most: not asked */
		/* refused */
		{ "", -1, NULL },
		{ " ", -1, NULL },
		{ ",", -1, NULL },
		{ "192.0.2.7,", -1, NULL },
		{ ",192.0.2.7", -1, NULL },
		{ "192.0.2.7,,10.0.0.1", -1, NULL },
		{ "unknown", -1, NULL },
		{ "unknown, 10.0.0.1", -1, NULL },
		{ "192.0.2.7:8080", -1, NULL },
		{ "[2001:db8::7]", -1, NULL },
		{ "[2001:db8::7]:80", -1, NULL },
		{ "192.0.2", -1, NULL },
		{ "192.0.2.256", -1, NULL },
		{ "0300.0.2.7", -1, NULL },
		{ "192.0.2.7/32", -1, NULL },
		{ "fe80::1%eth0", -1, NULL },
		{ "example.com", -1, NULL },
		{ "192.0.2.7 10.0.0.1", -1, NULL },
		{ "192.0.2.7;10.0.0.1", -1, NULL },
		{ "192.0.2.7\r\n, 10.0.0.1", -1, NULL },
		{ "192.0.2.7, 192.0.2.99", -1, NULL },        /* the predicate failed */
	};
	char out[UPARSE_ADDR_MAX];
	int calls = 0;

	for (size_t i = 0; i < TEST_NELEM(t); i++) {
		int rc;
		strcpy(out, "unset");
		rc = uparse_xff(t[i].in, is_proxy, &calls, out, sizeof(out));
		TEST_INT_EQ(t[i].in, rc, t[i].rc);
		if (rc == 1 && t[i].rc == 1)
			TEST_STR_EQ(t[i].in, out, t[i].want);
	}
	/* Bounds: 32 hops pass, 33 do not; a long header is refused. */
	char big[UPARSE_XFF_MAX + 64];
	big[0] = '\0';
	for (int i = 0; i < UPARSE_XFF_HOPS; i++)
		strcat(big, i ? ",10.0.0.1" : "192.0.2.7");
	TEST_INT_EQ("32 hops", uparse_xff(big, is_proxy, &calls, out, sizeof(out)), 1);
	TEST_STR_EQ("32 hops", out, "192.0.2.7");
	strcat(big, ",10.0.0.1");
	TEST_INT_EQ("33 hops", uparse_xff(big, is_proxy, &calls, out, sizeof(out)), -1);
	memset(big, ' ', UPARSE_XFF_MAX + 1);
	memcpy(big, "192.0.2.7", 9);
	big[UPARSE_XFF_MAX + 1] = '\0';
	TEST_INT_EQ("long header", uparse_xff(big, is_proxy, &calls, out, sizeof(out)), -1);
	big[UPARSE_XFF_MAX] = '\0';
	TEST_INT_EQ("4096 bytes", uparse_xff(big, is_proxy, &calls, out, sizeof(out)), 1);
	TEST_INT_EQ("small out", uparse_xff("192.0.2.7", is_proxy, &calls, out, 8), -1);
}

static const struct test_case cases[] = {
	{ "mirror name", case_mirror_name },
	{ "cvd header", case_cvd_header },
	{ "http date", case_http_date },
	{ "x-forwarded-for", case_xff },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
