/*
 * updated_parse - moat-updated's pure parsers of outside input: mirror file
 * names from a client's path, the CVD/CLD header of a published database,
 * HTTP dates (If-Modified-Since) and X-Forwarded-For.  No I/O, no
 * allocation, no global state: each is unit tested from tables
 * (updated_parse_test.c) and fuzzed (updated_parse_fuzz.c).
 *
 * Every function refuses rather than guesses: what does not match the
 * grammar exactly is an error, never a "best effort" value.
 */
#ifndef MOAT_UPDATED_PARSE_H
#define MOAT_UPDATED_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define UPARSE_DB_MAX     64             /* bytes of a database name */
#define UPARSE_CDIFF_MAX  999999999UL    /* the largest -N of a .cdiff */
#define UPARSE_CVD_HEAD   512            /* bytes of a CVD/CLD header */
#define UPARSE_XFF_MAX    4096           /* bytes of an X-Forwarded-For looked at */
#define UPARSE_XFF_HOPS   32             /* addresses in one X-Forwarded-For */
#define UPARSE_ADDR_MAX   46             /* INET6_ADDRSTRLEN */

enum uparse_kind {
	UPARSE_CVD = 1,         /* <db>.cvd */
	UPARSE_CLD,             /* <db>.cld */
	UPARSE_CDIFF            /* <db>-N.cdiff */
};

struct uparse_name {
	enum uparse_kind  kind;
	int               sign;                  /* the ".sign" file of it */
	unsigned long     n;                     /* N of a .cdiff, else 0 */
	char              db[UPARSE_DB_MAX + 1]; /* "daily" */
};

/*
 * A mirror file name: "<db>.cvd", "<db>.cld", "<db>-N.cdiff", each
 * optionally followed by ".sign"; db is 1..64 of [a-z0-9_], N decimal
 * without a leading zero, 1..UPARSE_CDIFF_MAX.  Anything else -- a '/',
 * '.', '%', NUL or upper case letter in the wrong place, a dot file, an
 * empty name -- is refused.  s is len bytes (NUL bytes inside count as
 * bytes and are refused).  0 (out filled), or -1.
 */
int uparse_mirror_name(const char *s, size_t len, struct uparse_name *out);

struct uparse_cvd {
	unsigned long  version;      /* field 3 */
	unsigned long  sigs;         /* field 4, the number of signatures */
	unsigned long  flevel;       /* field 5, the functionality level */
	int64_t        stime;        /* field 9, the build time (seconds since the epoch) */
};

/*
 * The header of a CVD or CLD file, the first 512 bytes:
 *   "ClamAV-VDB:<date text>:<version>:<sigs>:<flevel>:<md5>:<dsig>:<builder>:<stime>"
 * padded with spaces (NUL bytes accepted as padding too).  The numbers are
 * decimal without sign; md5 is 32 hex digits; dsig [A-Za-z0-9+/]; date
 * text and builder printable ASCII without ':'.  len must be at least 512
 * (only the first 512 bytes are read).  0 (out filled), or -1.
 */
int uparse_cvd_header(const void *buf, size_t len, struct uparse_cvd *out);

/*
 * An HTTP-date (RFC 9110 5.6.7) as If-Modified-Since carries it:
 * IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", and the obsolete RFC 850
 * "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit years 70-99 are 19xx, 00-69
 * 20xx) and asctime "Sun Nov  6 08:49:37 1994" forms.  Exactly these
 * forms: names case-sensitive, the weekday must be the date's, no leading
 * or trailing blanks, years 1970..9999, second 60 read as 59.  Seconds
 * since the epoch, or -1.
 */
int64_t uparse_http_date(const char *s);

/*
 * The client of a request that came through trusted proxies:
 * X-Forwarded-For "client, proxy1, proxy2" (comma-separated IPv4 or IPv6
 * addresses, optional blanks around the commas) is read from the right,
 * skipping addresses for which trusted(arg, addr) says 1; the first one
 * that is not trusted is the client (if all are, the left-most).  addr
 * given to trusted and put in out is the canonical text (inet_ntop).
 * Returns 1 (out set), or -1 for an empty or malformed header (an element
 * that is not an address, an empty element, more than UPARSE_XFF_HOPS
 * elements or UPARSE_XFF_MAX bytes) or when trusted says -1: the caller
 * then uses the TCP peer.  outlen >= UPARSE_ADDR_MAX.
 */
int uparse_xff(const char *hdr, int (*trusted)(void *arg, const char *addr), void *arg,
    char *out, size_t outlen);

#endif
