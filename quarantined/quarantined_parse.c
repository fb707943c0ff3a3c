/*
 * quarantined_parse - validation of everything a client sends: ids, times,
 * addresses, names, and the spool-relative paths read back from rows.  Pure
 * functions (no I/O), unit-tested in quarantined_parse_test.c.
 *
 * Trusts nothing: every input may be hostile ("12abc", "../../etc/passwd",
 * "-1", "99999999999999999999", control characters).
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quarantined.h"

int
parse_uint(const char *s, int64_t *out)
{
	int64_t v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 19)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (INT64_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

int
parse_id(const char *s, int64_t *out)
{
	int64_t v;

	if (parse_uint(s, &v) == -1 || v == 0)
		return -1;
	*out = v;
	return 0;
}

int
parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	char *end;

	if (s == NULL)
		return -1;
	if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
		if (end == NULL || *end != '\0')
			return -1;
		/* strptime accepts "2024-02-31"; a round trip does not. */
		int y = tm.tm_year, m = tm.tm_mon, d = tm.tm_mday;
		time_t t = timegm(&tm);
		if (t == (time_t)-1 || tm.tm_year != y || tm.tm_mon != m || tm.tm_mday != d)
			return -1;
		*out = (int64_t)t;
		return 0;
	}
	return parse_uint(s, out);
}

static int
parse_printable(const char *s, size_t max, int spaces)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++, n++) {
		unsigned char c = (unsigned char)*s;
		if (n >= max || c < 0x20 || c > 0x7e || (!spaces && c == ' '))
			return 0;
	}
	return n > 0;
}

int
parse_token_ok(const char *s, size_t max)
{
	return parse_printable(s, max, 0);
}

int
parse_text_ok(const char *s, size_t max)
{
	return parse_printable(s, max, 1);
}

int
parse_addr_ok(const char *s)
{
	const char *at;

	if (!parse_printable(s, QD_ADDR_MAX, 0))
		return 0;
	if (strpbrk(s, "<>\"\\,;()[]") != NULL)
		return 0;
	at = strrchr(s, '@');
	if (at == NULL || at == s || at[1] == '\0')
		return 0;
	for (const char *d = at + 1; *d != '\0'; d++)
		if (!isalnum((unsigned char)*d) && *d != '.' && *d != '-')
			return 0;
	return at[1] != '.' && s[strlen(s) - 1] != '.';
}

int
parse_sha256_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == 64;
}

int
parse_spool_path_ok(const char *rel)
{
	if (rel == NULL || strlen(rel) != 67 || rel[2] != '/')
		return 0;
	if (!parse_sha256_ok(rel + 3))
		return 0;
	return rel[0] == rel[3] && rel[1] == rel[4];
}

int
parse_mode(const char *s, unsigned *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 8);
	if (errno != 0 || *end != '\0' || v < 0 || v > 0777)
		return -1;
	*out = (unsigned)v;
	return 0;
}
