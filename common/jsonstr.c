/*
 * jsonstr - JSON string escaping of untrusted bytes (see jsonstr.h).
 */
#include <stdio.h>
#include <string.h>

#include "jsonstr.h"

/*
 * Length of the well-formed UTF-8 sequence starting at p (RFC 3629 table:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or 0 when the
 * byte at p does not start one.
 */
static size_t
jsonstr_utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	/* The NUL terminator fails these tests, so we never read past it. */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

size_t
jsonstr_escape(char *out, size_t cap, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t need = 0, o = 0;
	int full = 0;

	while (*p != '\0') {
		char esc[8];
		const char *unit = esc;
		size_t n, adv = 1;       /* bytes of output, bytes of input */

		switch (*p) {
		case '"':  unit = "\\\""; n = 2; break;
		case '\\': unit = "\\\\"; n = 2; break;
		case '\n': unit = "\\n"; n = 2; break;
		case '\r': unit = "\\r"; n = 2; break;
		case '\t': unit = "\\t"; n = 2; break;
		default:
			if (*p >= 0x20 && *p < 0x7f) {
				unit = (const char *)p;
				n = 1;
			} else if (*p >= 0x80 && (adv = jsonstr_utf8_len(p)) > 0) {
				unit = (const char *)p;
				n = adv;
			} else {
				/* Control character, DEL, or a stray byte. */
				n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
				adv = 1;
			}
			break;
		}
		p += adv;
		/* Once a unit did not fit, nothing after it is written either:
		 * the output is a prefix of the full escape. */
		if (!full && o + n < cap) {
			memcpy(out + o, unit, n);
			o += n;
		} else
			full = 1;
		need += n;
	}
	if (cap > 0)
		out[o] = '\0';
	return need;
}
