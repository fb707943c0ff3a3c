/*
 * httpd_route - the pure parts of common/httpd's request routing: a path
 * against the route table (httpd_match, httpd_allow) and libmicrohttpd's
 * percent-decoding callback (httpd_unescape).  No I/O; unit- and
 * fuzz-tested through httpd.h.
 */
#include <stdio.h>
#include <string.h>

#include "httpd.h"

/* Splits path into at most 8 segments ("/a/b/" is a, b): their count, or -1. */
static int
httpd_split(const char *path, char seg[8][HTTPD_SEG_MAX + 1])
{
	const char *p = path;
	int n = 0;

	if (*p++ != '/')
		return -1;
	while (*p != '\0') {
		size_t len = strcspn(p, "/");
		if (n == 8 || len > HTTPD_SEG_MAX)
			return -1;
		memcpy(seg[n], p, len);
		seg[n][len] = '\0';
		n++;
		p += len;
		if (*p == '/')
			p++;
	}
	return n;
}

/* Whether the pattern's segments match seg; captures into arg. */
static int
httpd_pattern(const char *pat, char seg[8][HTTPD_SEG_MAX + 1], int n,
    char arg[HTTPD_ARGS_MAX][HTTPD_SEG_MAX + 1], int *nargs)
{
	const char *p = pat + 1;
	int i = 0, na = 0;

	while (*p != '\0') {
		size_t len = strcspn(p, "/");
		if (i == n)
			return 0;
		if (len == 2 && memcmp(p, "{}", 2) == 0) {
			if (na == HTTPD_ARGS_MAX)
				return 0;
			if (arg != NULL)
				memcpy(arg[na], seg[i], strlen(seg[i]) + 1);
			na++;
		} else if (strlen(seg[i]) != len || memcmp(seg[i], p, len) != 0) {
			return 0;
		}
		i++;
		p += len;
		if (*p == '/')
			p++;
	}
	if (i != n)
		return 0;
	if (nargs != NULL)
		*nargs = na;
	return 1;
}

int
httpd_match(const struct httpd_route *routes, const char *path, const char *method,
    char arg[HTTPD_ARGS_MAX][HTTPD_SEG_MAX + 1], int *nargs)
{
	char seg[8][HTTPD_SEG_MAX + 1];
	int n = httpd_split(path, seg), found = -1;

	if (nargs != NULL)
		*nargs = 0;
	if (n < 0)
		return -1;
	for (int i = 0; routes[i].method != NULL; i++) {
		if (!httpd_pattern(routes[i].path, seg, n, NULL, NULL))
			continue;
		if (method == NULL || strcmp(routes[i].method, method) == 0) {
			httpd_pattern(routes[i].path, seg, n, arg, nargs);
			return i;
		}
		found = -2;
	}
	return found;
}

void
httpd_allow(const struct httpd_route *routes, const char *path, char *buf, size_t len)
{
	char seg[8][HTTPD_SEG_MAX + 1];
	int n = httpd_split(path, seg);
	size_t used = 0;

	buf[0] = '\0';
	if (n < 0)
		return;
	for (int i = 0; routes[i].method != NULL; i++) {
		if (!httpd_pattern(routes[i].path, seg, n, NULL, NULL))
			continue;
		/* once each, in table order */
		int dup = 0;
		for (int j = 0; j < i; j++)
			if (strcmp(routes[j].method, routes[i].method) == 0 &&
			    httpd_pattern(routes[j].path, seg, n, NULL, NULL))
				dup = 1;
		if (dup)
			continue;
		int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
		    routes[i].method);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
}

static int
httpd_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decoding of paths and query values, as MHD's own except that
 * "%00" stays as it is: a NUL would silently cut the text the handlers see
 * ("/v1/items/1%00/raw" must not read as "/v1/items/1").
 */
size_t
httpd_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *r = s, *w = s;

	(void)cls;
	(void)c;
	for (; *r != '\0'; r++, w++) {
		int hi, lo;
		if (r[0] == '%' && (hi = httpd_hexval(r[1])) >= 0 &&
		    (lo = httpd_hexval(r[2])) >= 0 && (hi | lo) != 0) {
			*w = (char)(hi * 16 + lo);
			r += 2;
		} else {
			*w = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}
