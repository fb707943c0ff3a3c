/*
 * The asciicast text escaper, table-driven: what each byte string becomes,
 * and that Python's reading of it (json.loads, then encode("utf-8",
 * "surrogateescape")) gives the bytes back -- checked here by decoding the
 * escapes the same way in C.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoyd.h"
#include "moat_test.h"

struct esc_case {
	const char *name;
	const char *in;
	size_t      len;
	const char *want;
};

#define C(name, in, want) { name, in, sizeof(in) - 1, want }
static const struct esc_case esc_cases[] = {
	C("ascii", "uname -a", "uname -a"),
	C("quote backslash", "a\"b\\c", "a\\\"b\\\\c"),
	C("controls", "\r\n\t\x01\x7f", "\\r\\n\\t\\u0001\\u007f"),
	C("nul", "a\0b", "a\\u0000b"),
	C("utf8 kept", "\xe2\x80\x98x\xe2\x80\x99", "\xe2\x80\x98x\xe2\x80\x99"),
	C("iac", "\xff\xfd\x18", "\\udcff\\udcfd\\u0018"),
	C("latin1 byte", "caf\xe9", "caf\\udce9"),
	C("truncated utf8", "\xe2\x80", "\\udce2\\udc80"),
	C("overlong", "\xc0\xaf", "\\udcc0\\udcaf"),
	C("surrogate bytes", "\xed\xa0\x80", "\\udced\\udca0\\udc80"),
	C("four bytes", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"),
	C("over 10ffff", "\xf4\x90\x80\x80", "\\udcf4\\udc90\\udc80\\udc80"),
	{ NULL, NULL, 0, NULL }
};

/* The JSON text back to bytes, as json.loads + surrogateescape would. */
static size_t
unescape(const char *s, char *out)
{
	size_t o = 0;
	unsigned v;

	while (*s != '\0') {
		if (*s != '\\') {
			out[o++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': out[o++] = '\n'; s++; break;
		case 'r': out[o++] = '\r'; s++; break;
		case 't': out[o++] = '\t'; s++; break;
		case 'u':
			sscanf(s + 1, "%4x", &v);
			out[o++] = (char)(v >= 0xdc80 && v <= 0xdcff ? v - 0xdc00 : v);
			s += 5;
			break;
		default: out[o++] = *s++; break;
		}
	}
	return o;
}

static void
case_escape(void)
{
	const struct esc_case *c;
	char out[256], back[256];
	size_t n;

	for (c = esc_cases; c->name != NULL; c++) {
		rec_json_bytes(out, sizeof(out), (const uint8_t *)c->in, c->len);
		if (strcmp(out, c->want) != 0)
			TEST_FAIL("%s: got \"%s\", want \"%s\"", c->name, out, c->want);
		n = unescape(out, back);
		if (n != c->len || memcmp(back, c->in, n) != 0)
			TEST_FAIL("%s: does not round-trip (%zu bytes back of %zu)", c->name,
			    n, c->len);
	}
}

/* Every byte value, alone and after a lead byte: all round-trip. */
static void
case_all_bytes(void)
{
	uint8_t in[512];
	char out[4096], back[4096];
	size_t i, n;

	for (i = 0; i < 256; i++)
		in[2 * i] = (uint8_t)i, in[2 * i + 1] = 0xc3;
	n = rec_json_bytes(out, sizeof(out), in, sizeof(in));
	TEST_CHECK(n < sizeof(out) - 1, "output truncated at %zu", n);
	n = unescape(out, back);
	TEST_CHECK(n == sizeof(in) && memcmp(back, in, n) == 0,
	    "512 bytes do not round-trip (%zu back)", n);
}

/* A small buffer: output stops at a whole unit, still NUL-terminated. */
static void
case_bounded(void)
{
	char out[12];
	size_t n = rec_json_bytes(out, sizeof(out), (const uint8_t *)"\xff\xff\xff\xff", 4);

	TEST_CHECK(n < sizeof(out) && out[n] == '\0', "got %zu", n);
	TEST_CHECK(n % 6 == 0, "a split escape: \"%s\"", out);
}

static const struct test_case cases[] = {
	{ "escape", case_escape },
	{ "all_bytes", case_all_bytes },
	{ "bounded", case_bounded },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
