/*
 * updated_parse - pure parsers of the outside input moat-updated reads
 * (updated_parse.h).  Each walks its input by index against an explicit
 * grammar and bounds every number before it can overflow.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "updated_parse.h"

/* ---------------------------------------------------------- mirror names */

static int
uparse_dbchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Whether s (len bytes) ends with the NUL-terminated suffix. */
static int
uparse_ends(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len > n && memcmp(s + len - n, suffix, n) == 0;
}

int
uparse_mirror_name(const char *s, size_t len, struct uparse_name *out)
{
	size_t dblen;

	memset(out, 0, sizeof(*out));
	if (uparse_ends(s, len, ".sign")) {
		out->sign = 1;
		len -= 5;
	}
	if (uparse_ends(s, len, ".cvd")) {
		out->kind = UPARSE_CVD;
		dblen = len - 4;
	} else if (uparse_ends(s, len, ".cld")) {
		out->kind = UPARSE_CLD;
		dblen = len - 4;
	} else if (uparse_ends(s, len, ".cdiff")) {
		/* <db>-N: N's digits from the right, then the '-' */
		size_t end = len - 6, i = end;
		unsigned long n = 0;

		while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
			i--;
		if (i == end || end - i > 9 || s[i] == '0' || i < 2 || s[i - 1] != '-')
			return -1;
		for (size_t k = i; k < end; k++)
			n = n * 10 + (unsigned long)(s[k] - '0');
		if (n > UPARSE_CDIFF_MAX)
			return -1;
		out->kind = UPARSE_CDIFF;
		out->n = n;
		dblen = i - 1;
	} else {
		return -1;
	}
	if (dblen == 0 || dblen > UPARSE_DB_MAX)
		return -1;
	for (size_t k = 0; k < dblen; k++)
		if (!uparse_dbchar(s[k]))
			return -1;
	memcpy(out->db, s, dblen);
	out->db[dblen] = '\0';
	return 0;
}

/* ---------------------------------------------------------- CVD header */

/* A decimal number of up to 19 digits in [p, e): 0 (v set) or -1. */
static int
uparse_num(const char *p, const char *e, uint64_t *v)
{
	uint64_t n = 0;

	if (p == e || e - p > 19)
		return -1;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*v = n;
	return 0;
}

/* Every byte of [p, e) passes ok; at least one byte. */
static int
uparse_all(const char *p, const char *e, int (*ok)(char))
{
	if (p == e)
		return 0;
	for (; p < e; p++)
		if (!ok(*p))
			return 0;
	return 1;
}

static int
uparse_text(char c)
{
	return c >= 0x20 && c < 0x7f && c != ':';
}

static int
uparse_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
uparse_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '+' || c == '/';
}

int
uparse_cvd_header(const void *buf, size_t len, struct uparse_cvd *out)
{
	static const char magic[] = "ClamAV-VDB:";
	const char *h = buf, *end, *f[9], *fe[9];
	uint64_t v[4];
	int n = 0;

	memset(out, 0, sizeof(*out));
	if (len < UPARSE_CVD_HEAD || memcmp(h, magic, sizeof(magic) - 1) != 0)
		return -1;
	/* The padding: spaces (or NULs) after the last field. */
	end = h + UPARSE_CVD_HEAD;
	while (end > h && (end[-1] == ' ' || end[-1] == '\0'))
		end--;
	/* Fields 1..9 split at ':' (field 1 is the magic's "ClamAV-VDB"). */
	for (const char *p = h; n < 9; n++) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		f[n] = p;
		fe[n] = c != NULL ? c : end;
		if (c == NULL) {
			n++;
			break;
		}
		p = c + 1;
	}
	if (n != 9 || fe[8] != end)
		return -1;
	if (!uparse_all(f[1], fe[1], uparse_text) ||
	    uparse_num(f[2], fe[2], &v[0]) == -1 ||
	    uparse_num(f[3], fe[3], &v[1]) == -1 ||
	    uparse_num(f[4], fe[4], &v[2]) == -1 ||
	    fe[5] - f[5] != 32 || !uparse_all(f[5], fe[5], uparse_hex) ||
	    !uparse_all(f[6], fe[6], uparse_b64) ||
	    !uparse_all(f[7], fe[7], uparse_text) ||
	    uparse_num(f[8], fe[8], &v[3]) == -1 || fe[8] - f[8] > 12)
		return -1;
	if (v[0] > 0xffffffffULL || v[1] > 0xffffffffULL || v[2] > 0xffffffffULL)
		return -1;
	out->version = (unsigned long)v[0];
	out->sigs = (unsigned long)v[1];
	out->flevel = (unsigned long)v[2];
	out->stime = (int64_t)v[3];
	return 0;
}

/* ---------------------------------------------------------- HTTP dates */

static const char *const uparse_wday[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const uparse_wday_long[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"
};
static const char *const uparse_month[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* n digits at s: the value, or -1. */
static int
uparse_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The index of the 3-letter month at s, or -1. */
static int
uparse_mon(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (strncmp(s, uparse_month[i], 3) == 0)
			return i;
	return -1;
}

/* Days from 1970-01-01 of y-m-d (m 1..12), proleptic Gregorian. */
static int64_t
uparse_days(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
uparse_mdays(int y, int m)
{
	static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return md[m - 1];
}

/* "HH:MM:SS" at s: seconds of the day, or -1. */
static int
uparse_hms(const char *s)
{
	int h = uparse_digits(s, 2), m = uparse_digits(s + 3, 2), sec = uparse_digits(s + 6, 2);

	if (h < 0 || m < 0 || sec < 0 || s[2] != ':' || s[5] != ':' || h > 23 || m > 59 ||
	    sec > 60)
		return -1;
	if (sec == 60)
		sec = 59;
	return h * 3600 + m * 60 + sec;
}

/* The time of the parts, checked (wday: the named weekday, 0 = Sunday). */
static int64_t
uparse_time(int y, int mon, int d, int secs, int wday)
{
	int64_t days;

	if (y < 1970 || y > 9999 || mon < 0 || d < 1 || d > uparse_mdays(y, mon + 1) || secs < 0)
		return -1;
	days = uparse_days(y, mon + 1, d);
	if ((days + 4) % 7 != wday)          /* 1970-01-01 was a Thursday */
		return -1;
	return days * 86400 + secs;
}

int64_t
uparse_http_date(const char *s)
{
	size_t len = strnlen(s, 40);
	int w;

	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (len == 29 && s[3] == ',') {
		for (w = 0; w < 7 && strncmp(s, uparse_wday[w], 3) != 0; w++)
			;
		if (w == 7 || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
		    strcmp(s + 25, " GMT") != 0)
			return -1;
		return uparse_time(uparse_digits(s + 12, 4), uparse_mon(s + 8),
		    uparse_digits(s + 5, 2), uparse_hms(s + 17), w);
	}
	/* asctime: "Sun Nov  6 08:49:37 1994" */
	if (len == 24 && s[3] == ' ') {
		int d;
		for (w = 0; w < 7 && strncmp(s, uparse_wday[w], 3) != 0; w++)
			;
		if (w == 7 || s[7] != ' ' || s[10] != ' ' || s[19] != ' ')
			return -1;
		if (s[8] == ' ')
			d = uparse_digits(s + 9, 1);
		else if (s[8] != '0')
			d = uparse_digits(s + 8, 2);
		else
			return -1;
		return uparse_time(uparse_digits(s + 20, 4), uparse_mon(s + 4), d,
		    uparse_hms(s + 11), w);
	}
	/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
	for (w = 0; w < 7; w++) {
		size_t n = strlen(uparse_wday_long[w]);
		int y;
		const char *p = s + n;

		if (strncmp(s, uparse_wday_long[w], n) != 0)
			continue;
		if (len != n + 24 || p[0] != ',' || p[1] != ' ' || p[4] != '-' || p[8] != '-' ||
		    p[11] != ' ' || strcmp(p + 20, " GMT") != 0)
			return -1;
		if ((y = uparse_digits(p + 9, 2)) < 0)
			return -1;
		y += y < 70 ? 2000 : 1900;
		return uparse_time(y, uparse_mon(p + 5), uparse_digits(p + 2, 2),
		    uparse_hms(p + 12), w);
	}
	return -1;
}

/* ---------------------------------------------------------- X-Forwarded-For */

int
uparse_xff(const char *hdr, int (*trusted)(void *arg, const char *addr), void *arg,
    char *out, size_t outlen)
{
	char addr[UPARSE_XFF_HOPS][UPARSE_ADDR_MAX];
	size_t len = strnlen(hdr, UPARSE_XFF_MAX + 1);
	const char *p = hdr, *e = hdr + len;
	int n = 0;

	if (len > UPARSE_XFF_MAX || outlen < UPARSE_ADDR_MAX)
		return -1;
	/* Every element, left to right, checked and made canonical. */
	for (;;) {
		const char *c = memchr(p, ',', (size_t)(e - p)), *q = c != NULL ? c : e;
		char tmp[UPARSE_ADDR_MAX];
		unsigned char bin[sizeof(struct in6_addr)];
		int af;

		while (p < q && (*p == ' ' || *p == '\t'))
			p++;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		if (p == q || (size_t)(q - p) >= sizeof(tmp) || n == UPARSE_XFF_HOPS)
			return -1;
		memcpy(tmp, p, (size_t)(q - p));
		tmp[q - p] = '\0';
		af = strchr(tmp, ':') != NULL ? AF_INET6 : AF_INET;
		if (inet_pton(af, tmp, bin) != 1 ||
		    inet_ntop(af, bin, addr[n], sizeof(addr[n])) == NULL)
			return -1;
		n++;
		if (c == NULL)
			break;
		p = c + 1;
	}
	/* From the right: the first one that is not a trusted proxy. */
	for (int i = n - 1; i >= 0; i--) {
		int t = i > 0 ? trusted(arg, addr[i]) : 0;
		if (t == -1)
			return -1;
		if (t == 0) {
			memcpy(out, addr[i], strlen(addr[i]) + 1);
			return 1;
		}
	}
	return -1;      /* not reached: the left-most is never skipped */
}
