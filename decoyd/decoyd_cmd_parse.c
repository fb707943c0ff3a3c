/* The command-line parser of FTP and SMTP (see decoyd_cmd_parse.h). */
#include <stdlib.h>
#include <string.h>

#include "decoyd_cmd_parse.h"

#define CMDP_START 128          /* first buffer size: an idle session costs little */

void
cmdp_init(struct cmdp *p, size_t max)
{
	memset(p, 0, sizeof(*p));
	p->max = max < 2 ? 2 : max;
}

void
cmdp_free(struct cmdp *p)
{
	free(p->buf);
	p->buf = NULL;
	p->len = p->cap = 0;
	p->dropping = 0;
}

/* Room for one more byte and the NUL (cap <= max + 1: a line of max - 1
 * bytes and its CR).  0, or -1. */
static int
cmdp_grow(struct cmdp *p)
{
	size_t ncap;
	char *n;

	if (p->len + 1 < p->cap)
		return 0;
	ncap = p->cap == 0 ? CMDP_START : p->cap * 2;
	if (ncap > p->max + 1)
		ncap = p->max + 1;
	if (ncap <= p->cap)
		return -1;      /* cannot happen: callers stop at max - 1 */
	if ((n = realloc(p->buf, ncap)) == NULL)
		return -1;
	p->buf = n;
	p->cap = ncap;
	return 0;
}

/* Delivers the buffered line; its CR before LF is already gone. */
static int
cmdp_emit(struct cmdp *p, cmdp_fn *fn, void *arg)
{
	struct cmdp_line l;
	static char empty[1];
	size_t i, w;
	char *sp;

	memset(&l, 0, sizeof(l));
	if (p->buf == NULL) {
		l.line = empty;
	} else {
		p->buf[p->len] = '\0';
		l.line = p->buf;
	}
	l.len = p->len;
	l.cut = p->dropping;
	sp = p->len > 0 ? memchr(p->buf, ' ', p->len) : NULL;
	w = sp != NULL ? (size_t)(sp - p->buf) : p->len;
	l.arg = sp != NULL ? sp + 1 : l.line + l.len;
	if (w >= 1 && w <= CMDP_VERB_MAX) {
		for (i = 0; i < w; i++) {
			unsigned char c = (unsigned char)p->buf[i];

			if (c <= ' ' || c >= 0x7f)
				break;
			l.verb[i] = c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
		}
		if (i < w)
			memset(l.verb, 0, sizeof(l.verb));
	}
	p->len = 0;
	p->dropping = 0;
	return fn(arg, &l);
}

int
cmdp_feed(struct cmdp *p, const uint8_t *buf, size_t len, cmdp_fn *fn, void *arg)
{
	size_t i;
	uint8_t c;

	for (i = 0; i < len; i++) {
		c = buf[i];
		if (c == '\n') {
			/* A CR kept before dropped bytes ends no line. */
			if (p->len > 0 && p->buf[p->len - 1] == '\r' && !p->dropping)
				p->len--;
			if (p->len > p->max - 1) {
				p->len = p->max - 1;
				p->dropping = 1;
				p->dropped++;
			}
			if (cmdp_emit(p, fn, arg) == 1)
				return 1;
			continue;
		}
		if (p->len >= p->max) {         /* max - 1 bytes and a CR kept */
			p->dropping = 1;
			p->dropped++;
			continue;
		}
		if (cmdp_grow(p) == -1)
			return -1;
		p->buf[p->len++] = (char)c;
	}
	return 0;
}

/* ---------------------------------------------------------- base64 */

static int
cmdp_b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
cmdp_b64decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t i, o = 0, pad = 0, n = 0;
	uint32_t acc = 0;
	int v;

	while (len > 0 && in[len - 1] == '=' && pad < 2)
		len--, pad++;
	for (i = 0; i < len; i++) {
		if ((v = cmdp_b64val((unsigned char)in[i])) == -1)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if (++n == 4) {
			if (o + 3 > cap)
				return -1;
			out[o++] = acc >> 16;
			out[o++] = acc >> 8;
			out[o++] = acc;
			acc = 0;
			n = 0;
		}
	}
	if (n == 1)
		return -1;              /* 6 bits make no byte */
	if (pad > 0 && (n + pad) != 4)
		return -1;
	if (n == 2) {
		if (o + 1 > cap)
			return -1;
		out[o++] = acc >> 4;
	} else if (n == 3) {
		if (o + 2 > cap)
			return -1;
		out[o++] = acc >> 10;
		out[o++] = acc >> 2;
	}
	return (long)o;
}

/* ---------------------------------------------------------- AUTH PLAIN */

static void
cmdp_copy(char *out, size_t cap, const uint8_t *in, size_t len)
{
	if (cap == 0)
		return;
	if (len > cap - 1)
		len = cap - 1;
	memcpy(out, in, len);
	out[len] = '\0';
}

int
cmdp_plain(const uint8_t *msg, size_t len, char *user, size_t ucap, char *pass, size_t pcap)
{
	const uint8_t *n1, *n2;

	if ((n1 = memchr(msg, '\0', len)) == NULL)
		return -1;
	n1++;
	if ((n2 = memchr(n1, '\0', len - (n1 - msg))) == NULL)
		return -1;
	if (memchr(n2 + 1, '\0', len - (n2 + 1 - msg)) != NULL)
		return -1;
	cmdp_copy(user, ucap, n1, n2 - n1);
	cmdp_copy(pass, pcap, n2 + 1, len - (n2 + 1 - msg));
	return 0;
}

char *
cmdp_printable(char *out, size_t cap, const char *in, size_t len)
{
	size_t i;

	if (cap == 0)
		return out;
	if (len > cap - 1)
		len = cap - 1;
	for (i = 0; i < len; i++)
		out[i] = (unsigned char)in[i] < ' ' || in[i] == 0x7f ? '?' : in[i];
	out[len] = '\0';
	return out;
}
