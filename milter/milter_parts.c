/*
 * milter_parts - the message's MIME tree, walked in memory, for the scan.
 *
 * Why: libclamav's own mail parser copies every line of a message into
 * lists and every part into a temporary file before it scans the part; on
 * ordinary mail that is most of the scan (docs/BENCHMARKS.md).  This walker
 * splits the message into its leaves, decodes base64 and quoted-printable
 * into memory, and hands each leaf to milter_scan.c, which scans it with
 * libclamav like any file (archives, documents, executables and mail inside
 * a leaf are still libclamav's to open).  milter_scan.c also scans the raw
 * message once, for the signatures that target mail files and for every
 * byte outside the leaves (headers, MIME scaffolding).
 *
 * SECURITY: the input is the attacker's message, and a reading of it that
 * differs from the recipient's mail program is a way past the scanner.  So
 * the walker takes only structures that Python's email (compat32 and
 * default policies), GMime and libclamav read alike, and answers
 * PARTS_FALLBACK for the rest, which makes the caller scan the whole
 * message with libclamav's mail parser as it would without the walker:
 * a header line without a colon, with NUL or a bare CR, or whose field
 * name is not RFC 5322's (space, 8-bit byte, empty: Python ends the header
 * block there); a repeated Content-Type, Content-Transfer-Encoding or
 * Content-Disposition; a Content-Type that is not exactly type "/" subtype
 * and ";"-separated attr=value parameters (comments, RFC 2231 boundary*,
 * a second boundary); a boundary that is not RFC 2046's 1-70 bchars
 * without a trailing space, or that was quoted with a backslash; a
 * multipart without boundary or with an encoding, a line that starts with
 * a delimiter but is not one, a delimiter after a bare CR (a line break to
 * Python), a part that mixes CR LF and bare LF line breaks (GMime then cuts
 * or keeps a byte before the delimiter), a missing close delimiter, a
 * nested boundary equal to or a prefix of an enclosing one (or the other
 * way round); message/ types other than rfc822 (message/partial splits a
 * file), any encoding but 7bit/8bit/binary/base64/quoted-printable, base64
 * with foreign characters, data after its padding or not a multiple of 4
 * long, quoted-printable with an "=" that is neither a byte nor a soft line
 * break; uuencode, yEnc or BinHex text inside a leaf; deeper than
 * PARTS_MAXDEPTH or more than PARTS_MAXLEAVES leaves.  A part of a
 * multipart/digest without Content-Type is a message/rfc822 (RFC 2046
 * 5.1.5) and, like every message/rfc822, is walked as a message.
 * tests/differential checks this list against the three readers.
 *
 * Memory: identity-encoded leaves point into the message; a decoded leaf is
 * one malloc, freed when its callback returns.  Header values are bounded
 * (PARTS_MAXVAL) and live on the stack of their level.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter_parts.h"

#define PARTS_MAXVAL   2048     /* one unfolded MIME header value */

enum cte { CTE_IDENTITY, CTE_BASE64, CTE_QP };

struct mime_hdrs {
	char ctype[PARTS_MAXVAL];
	char cte[128];
	char cdisp[PARTS_MAXVAL];
	int  has_ctype, has_cte, has_cdisp;
};

struct ctype {
	char type[64], subtype[64];
	char boundary[128];
	char name[256];
};

struct walk {
	parts_fn    fn;
	void       *arg;
	int         leaves;
	/* Enclosing multiparts' boundaries: one per level at most, and
	 * walk_entity refuses depth > PARTS_MAXDEPTH. */
	const char *bounds[PARTS_MAXDEPTH + 1];
	int         nbounds;
};

/* A boundary equal to an enclosing one, or a prefix of it either way: its
 * delimiter lines can be read as the other's, and readers disagree which. */
static int
bound_clash(const struct walk *w, const char *b)
{
	size_t bl = strlen(b);

	for (int i = 0; i < w->nbounds; i++) {
		size_t al = strlen(w->bounds[i]);

		if (strncmp(w->bounds[i], b, al < bl ? al : bl) == 0)
			return 1;
	}
	return 0;
}

static int walk_entity(struct walk *w, const char *p, const char *end, int depth, int digest);

/* The line at p: *le is its end without CR LF, the return value the start
 * of the next line. */
static const char *
line_next(const char *p, const char *end, const char **le)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *e = nl ? nl : end;

	if (e > p && e[-1] == '\r')
		e--;
	*le = e;
	return nl ? nl + 1 : end;
}

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* Appends s[0..n) to the NUL-terminated dst of size cap; -1 if it does
 * not fit. */
static int
val_append(char *dst, size_t cap, const char *s, size_t n)
{
	size_t l = strlen(dst);

	if (l + n + 1 > cap)
		return -1;
	memcpy(dst + l, s, n);
	dst[l + n] = '\0';
	return 0;
}

/* A field name as RFC 5322 has it: one or more printable US-ASCII
 * characters but colon.  Python's email ends the header block at a line
 * whose name is anything else ("Content-Type :", a space or 8-bit byte in
 * the name), so the walker does not read on. */
static int
hdr_name_ok(const char *p, const char *colon)
{
	if (p == colon)
		return 0;
	for (; p < colon; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

/* Reads the header block at p; *body is where the body starts (end when
 * no empty line ends the block). */
static int
hdrs_parse(const char *p, const char *end, struct mime_hdrs *h, const char **body)
{
	char *cur = NULL;
	size_t cap = 0;

	memset(h, 0, sizeof(*h));
	while (p < end) {
		const char *le, *next = line_next(p, end, &le), *colon;
		size_t ll = (size_t)(le - p), nl;

		if (ll == 0) {
			*body = next;
			return 0;
		}
		/* NUL, or a bare CR (a line break to Python's email). */
		if (memchr(p, '\0', ll) != NULL || memchr(p, '\r', ll) != NULL)
			return PARTS_FALLBACK;
		if (is_wsp(*p)) {
			if (cur != NULL && val_append(cur, cap, p, ll) == -1)
				return PARTS_FALLBACK;
			p = next;
			continue;
		}
		if ((colon = memchr(p, ':', ll)) == NULL || !hdr_name_ok(p, colon))
			return PARTS_FALLBACK;
		nl = (size_t)(colon - p);
		cur = NULL;
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(p, name, nl) == 0)
		if (IS("Content-Type")) {
			if (h->has_ctype++)
				return PARTS_FALLBACK;
			cur = h->ctype, cap = sizeof(h->ctype);
		} else if (IS("Content-Transfer-Encoding")) {
			if (h->has_cte++)
				return PARTS_FALLBACK;
			cur = h->cte, cap = sizeof(h->cte);
		} else if (IS("Content-Disposition")) {
			if (h->has_cdisp++)
				return PARTS_FALLBACK;
			cur = h->cdisp, cap = sizeof(h->cdisp);
		}
#undef IS
		if (cur != NULL && val_append(cur, cap, colon + 1, (size_t)(le - colon - 1)) == -1)
			return PARTS_FALLBACK;
		p = next;
	}
	*body = end;
	return 0;
}

/* Copies a token (up to a tspecial, space or control) into dst; returns
 * the character after it, or NULL when empty or too long. */
static const char *
token(const char *s, char *dst, size_t cap)
{
	size_t n = 0;

	while (*s && !is_wsp(*s) && (unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f &&
	    strchr("()<>@,;:\\\"/[]?=", *s) == NULL) {
		if (n + 1 >= cap)
			return NULL;
		dst[n++] = *s++;
	}
	dst[n] = '\0';
	return n ? s : NULL;
}

/* A parameter value: token or quoted string.  *escaped is set when a
 * quoted string holds a backslash: RFC 822 quoting drops it, Python's
 * compat32 keeps it unless it quotes '"' or '\\', libclamav keeps it. */
static const char *
param_value(const char *s, char *dst, size_t cap, int *escaped)
{
	size_t n = 0;

	*escaped = 0;
	if (*s != '"')
		return token(s, dst, cap);
	for (s++; *s && *s != '"'; s++) {
		if (*s == '\\' && s[1] != '\0') {
			*escaped = 1;
			s++;
		}
		if (n + 1 >= cap)
			return NULL;
		dst[n++] = *s;
	}
	if (*s != '"')
		return NULL;
	dst[n] = '\0';
	return s + 1;
}

/* A boundary exactly as RFC 2046 defines it: 1 to 70 bchars (letters,
 * digits, "'()+_,-./:=?" and space), the last not a space.  Anything else
 * is read differently by different readers (a trailing space is kept by
 * some and dropped with the delimiter line's padding by others). */
static int
boundary_ok(const char *b)
{
	size_t n = strlen(b);

	if (n == 0 || n > 70 || b[n - 1] == ' ')
		return 0;
	for (; *b; b++)
		if (!((*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z') ||
		    (*b >= '0' && *b <= '9') || strchr("'()+_,-./:=? ", *b) != NULL))
			return 0;
	return 1;
}

/* Content-Type (disposition 0): type "/" subtype, then "; attr=value"
 * parameters, with white space only around the separators and nothing
 * else; boundary kept, name kept.  Returns 0, or PARTS_FALLBACK when the
 * value has no single reading: Python's compat32 takes "multipart /mixed"
 * or a missing ";" as another type than GMime or the RFC do, comments and
 * RFC 2231 parameters are read by some readers only, a repeated boundary is
 * taken first by some and last by others.
 * Content-Disposition (disposition 1): only the file name is read, and a
 * value that does not parse gives none. */
static int
ctype_parse(const char *v, struct ctype *ct, int disposition)
{
	char attr[64], val[256];
	int has_boundary = 0, escaped;

	if (!disposition) {
		while (is_wsp(*v))
			v++;
		if ((v = token(v, ct->type, sizeof(ct->type))) == NULL || *v++ != '/')
			return PARTS_FALLBACK;
		if ((v = token(v, ct->subtype, sizeof(ct->subtype))) == NULL)
			return PARTS_FALLBACK;
	} else {
		while (*v && *v != ';')
			v++;
	}
	for (;;) {
		while (is_wsp(*v))
			v++;
		if (*v == '\0')
			return 0;
		if (*v++ != ';')
			return disposition ? 0 : PARTS_FALLBACK;
		while (is_wsp(*v))
			v++;
		if (*v == '\0')
			return 0;
		if (*v == '(')
			return disposition ? 0 : PARTS_FALLBACK;     /* comments: readers differ */
		if ((v = token(v, attr, sizeof(attr))) == NULL)
			return disposition ? 0 : PARTS_FALLBACK;
		while (is_wsp(*v))
			v++;
		if (*v++ != '=')
			return disposition ? 0 : PARTS_FALLBACK;
		while (is_wsp(*v))
			v++;
		if ((v = param_value(v, val, sizeof(val), &escaped)) == NULL)
			return disposition ? 0 : PARTS_FALLBACK;
		if (strncasecmp(attr, "boundary", 8) == 0 && !disposition) {
			/* RFC 2231 boundary*= or boundary*0=, a second boundary,
			 * a quoted backslash, a value outside RFC 2046. */
			if (attr[8] != '\0' || has_boundary++ || escaped || !boundary_ok(val))
				return PARTS_FALLBACK;
			memcpy(ct->boundary, val, strlen(val) + 1);
		} else if (strcasecmp(attr, disposition ? "filename" : "name") == 0) {
			snprintf(ct->name, sizeof(ct->name), "%s", val);
		}
	}
}

static int
cte_parse(const struct mime_hdrs *h, enum cte *cte)
{
	char v[sizeof(h->cte)];
	const char *s = h->cte;
	size_t n;

	while (is_wsp(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_wsp(s[n - 1]))
		n--;
	memcpy(v, s, n);
	v[n] = '\0';
	if (!h->has_cte || n == 0 || strcasecmp(v, "7bit") == 0 || strcasecmp(v, "8bit") == 0 ||
	    strcasecmp(v, "binary") == 0)
		*cte = CTE_IDENTITY;
	else if (strcasecmp(v, "base64") == 0)
		*cte = CTE_BASE64;
	else if (strcasecmp(v, "quoted-printable") == 0)
		*cte = CTE_QP;
	else
		return PARTS_FALLBACK;
	return 0;
}

/* -1 foreign, -2 white space, -3 padding, else the 6-bit value; filled
 * once (pthread_once: scan threads walk concurrently). */
static signed char b64[256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void
b64_init(void)
{
	const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	memset(b64, -1, sizeof(b64));
	for (int i = 0; i < 64; i++)
		b64[(unsigned char)a[i]] = (signed char)i;
	b64[' '] = b64['\t'] = b64['\r'] = b64['\n'] = -2;
	b64['='] = -3;
}

static int
b64_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char *o;
	unsigned int acc = 0;
	int bits = 0, pad = 0;
	size_t k = 0, sig = 0;

	if ((o = malloc(n / 4 * 3 + 3)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int c = b64[(unsigned char)s[i]];

		if (c == -2)
			continue;
		if (c == -3) {
			pad = 1;
			sig++;
			continue;
		}
		if (c == -1 || pad) {
			/* Foreign bytes, or data after the padding (concatenated
			 * encodings): decoders disagree on both. */
			free(o);
			return PARTS_FALLBACK;
		}
		sig++;
		acc = (acc << 6) | (unsigned int)c;
		if ((bits += 6) >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)(acc >> bits);
		}
	}
	if (sig % 4 != 0) {
		/* Unpadded or cut short: Python's email gives such a part
		 * undecoded, or with padding it adds, GMime decodes what is
		 * there. */
		free(o);
		return PARTS_FALLBACK;
	}
	*out = o;
	*outlen = k;
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Quoted-printable: "=" and two hex digits (either case: every reader
 * takes both) is a byte; "=" right before a line break or at the end is a
 * soft line break.  Any other "=" gets a different reading from each
 * decoder (Python's email keeps "= " before a line break that the RFC's
 * transport padding would drop, GMime and Python differ on "==" and on
 * "=" before a bare CR): PARTS_FALLBACK. */
static int
qp_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char *o;
	size_t k = 0, i = 0;

	if ((o = malloc(n + 1)) == NULL)
		return -1;
	while (i < n) {
		const char *eq = memchr(s + i, '=', n - i);
		size_t run = eq ? (size_t)(eq - s) - i : n - i;

		memcpy(o + k, s + i, run);
		k += run;
		if ((i += run) == n)
			break;
		if (n - i >= 3 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			o[k++] = (unsigned char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 3;
		} else if (n - i == 1) {
			i = n;
		} else if (s[i + 1] == '\n') {
			i += 2;
		} else if (s[i + 1] == '\r' && (n - i == 2 || s[i + 2] == '\n')) {
			i = n - i == 2 ? n : i + 3;
		} else {
			free(o);
			return PARTS_FALLBACK;
		}
	}
	*out = o;
	*outlen = k;
	return 0;
}

static int
octal_run(const unsigned char *p, const unsigned char *end)
{
	int n = 0;

	while (p + n < end && p[n] >= '0' && p[n] <= '7')
		n++;
	return (n == 3 || n == 4) && p + n < end && p[n] == ' ';
}

/* Text encodings libclamav reads only with its mail parser: uuencode
 * ("begin 644 name" or "begin-base64 644 name" at a line start), yEnc
 * ("=ybegin"), and BinHex inside text (as a whole file libclamav knows it
 * by its magic).  One pass for every "begin", one for the BinHex banner. */
static int
has_text_encoding(const unsigned char *d, size_t n)
{
	const unsigned char *end = d + n, *p = d, *h;

	while (p < end && (h = memmem(p, (size_t)(end - p), "begin", 5)) != NULL) {
		const unsigned char *t = h + 5;

		if (h - d >= 2 && h[-2] == '=' && h[-1] == 'y')
			return 1;
		if (h == d || h[-1] == '\n' || h[-1] == '\r') {
			if (end - t >= 8 && memcmp(t, "-base64 ", 8) == 0)
				t += 8;
			else if (t < end && *t == ' ')
				t++;
			else
				t = NULL;
			if (t != NULL && octal_run(t, end))
				return 1;
		}
		p = h + 1;
	}
	return memmem(d, n, "(This file must be converted with BinHex", 40) != NULL;
}

static int
leaf(struct walk *w, const char *p, const char *end, enum cte cte, const char *name)
{
	unsigned char *dec = NULL;
	const unsigned char *data = (const unsigned char *)p;
	size_t len = (size_t)(end - p);
	int rc;

	if (++w->leaves > PARTS_MAXLEAVES)
		return PARTS_FALLBACK;
	if (cte == CTE_BASE64 && (rc = b64_decode(p, len, &dec, &len)) != 0)
		return rc;
	if (cte == CTE_QP && (rc = qp_decode(p, len, &dec, &len)) != 0)
		return rc;
	if (dec != NULL)
		data = dec;
	if (has_text_encoding(data, len))
		rc = PARTS_FALLBACK;
	else
		rc = w->fn(w->arg, data, len, name && *name ? name : NULL);
	free(dec);
	return rc;
}

static int
blank(const char *p, const char *end)
{
	for (; p < end; p++)
		if (!is_wsp(*p) && *p != '\r' && *p != '\n')
			return 0;
	return 1;
}

#define LINE_LF    1
#define LINE_CRLF  2

/* A delimiter right after a bare CR: Python's email ends lines at a bare
 * CR too, so it sees a delimiter line there that GMime, libclamav and the
 * walker do not.  boundary is at most 70 bytes (boundary_ok). */
static int
cr_delimiter(const char *p, const char *end, const char *boundary)
{
	char needle[3 + 70 + 1];
	size_t n = (size_t)snprintf(needle, sizeof(needle), "\r--%s", boundary);

	return n < sizeof(needle) && memmem(p, (size_t)(end - p), needle, n) != NULL;
}

/* The body of a multipart: delimiter lines split it into parts, each an
 * entity of its own. */
static int
walk_multipart(struct walk *w, const char *p, const char *end, const char *boundary,
    int depth, int digest)
{
	size_t bl = strlen(boundary);
	const char *seg = p, *q = p;
	int in_preamble = 1, rc, breaks = 0;

	if (cr_delimiter(p, end, boundary))
		return PARTS_FALLBACK;
	while (q < end) {
		const char *le, *next = line_next(q, end, &le), *r, *cend;
		int close = 0;

		/* The kinds of line break since the last delimiter, its own
		 * included: LINE_LF, LINE_CRLF. */
		if (next > le)
			breaks |= next - le == 2 ? LINE_CRLF : LINE_LF;
		if ((size_t)(le - q) < 2 + bl || q[0] != '-' || q[1] != '-' ||
		    memcmp(q + 2, boundary, bl) != 0) {
			q = next;
			continue;
		}
		r = q + 2 + bl;
		if (le - r >= 2 && r[0] == '-' && r[1] == '-') {
			close = 1;
			r += 2;
		}
		for (; r < le; r++)
			if (!is_wsp(*r))
				return PARTS_FALLBACK;   /* "--boundaryX": one reader's delimiter */
		/* A part with both CR LF and bare LF line breaks: GMime then
		 * cuts a byte before the delimiter or keeps a CR that the
		 * others drop, so a whole-file signature would see another
		 * file than a GMime reader saves. */
		if (!in_preamble && (breaks & (LINE_LF | LINE_CRLF)) == (LINE_LF | LINE_CRLF))
			return PARTS_FALLBACK;
		breaks = next > le ? (next - le == 2 ? LINE_CRLF : LINE_LF) : 0;
		/* The line break before a delimiter belongs to it. */
		cend = q;
		if (cend > seg && cend[-1] == '\n')
			cend--;
		if (cend > seg && cend[-1] == '\r')
			cend--;
		if (in_preamble) {
			if (!blank(seg, cend) && (rc = leaf(w, seg, cend, CTE_IDENTITY, NULL)) != 0)
				return rc;
			in_preamble = 0;
		} else if ((rc = walk_entity(w, seg, cend, depth + 1, digest)) != 0) {
			return rc;
		}
		if (close) {
			if (!blank(next, end))
				return leaf(w, next, end, CTE_IDENTITY, NULL);
			return 0;
		}
		seg = q = next;
	}
	return PARTS_FALLBACK;      /* no close delimiter: truncated, readers differ */
}

/* One entity (a message, a part): its header block and body.  digest: the
 * entity is a part of a multipart/digest, whose default Content-Type is
 * message/rfc822 (RFC 2046 5.1.5). */
static int
walk_entity(struct walk *w, const char *p, const char *end, int depth, int digest)
{
	struct mime_hdrs h;
	struct ctype ct, cd;
	const char *body;
	enum cte cte;
	int rc;

	if (depth > PARTS_MAXDEPTH)
		return PARTS_FALLBACK;
	if ((rc = hdrs_parse(p, end, &h, &body)) != 0)
		return rc;
	memset(&ct, 0, sizeof(ct));
	memset(&cd, 0, sizeof(cd));
	if (!h.has_ctype) {
		strcpy(ct.type, digest ? "message" : "text");
		strcpy(ct.subtype, digest ? "rfc822" : "plain");
	} else if (ctype_parse(h.ctype, &ct, 0) != 0) {
		return PARTS_FALLBACK;
	}
	if (h.has_cdisp && ctype_parse(h.cdisp, &cd, 1) != 0)
		return PARTS_FALLBACK;
	if (cte_parse(&h, &cte) != 0)
		return PARTS_FALLBACK;
	if (strcasecmp(ct.type, "multipart") == 0) {
		if (cte != CTE_IDENTITY || ct.boundary[0] == '\0' || bound_clash(w, ct.boundary))
			return PARTS_FALLBACK;
		w->bounds[w->nbounds++] = ct.boundary;
		rc = walk_multipart(w, body, end, ct.boundary, depth,
		    strcasecmp(ct.subtype, "digest") == 0);
		w->nbounds--;
		return rc;
	}
	if (strcasecmp(ct.type, "message") == 0) {
		if (strcasecmp(ct.subtype, "rfc822") != 0 || cte != CTE_IDENTITY)
			return PARTS_FALLBACK;
		return walk_entity(w, body, end, depth + 1, 0);
	}
	return leaf(w, body, end, cte, cd.name[0] ? cd.name : ct.name);
}

int
parts_walk(const char *msg, size_t len, parts_fn fn, void *arg)
{
	struct walk w = { .fn = fn, .arg = arg };

	pthread_once(&b64_once, b64_init);
	return walk_entity(&w, msg, msg + len, 0, 0);
}
