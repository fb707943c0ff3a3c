/*
 * utf8_test - utf8_seq and utf8_unsafe (utf8.h): one table of byte strings,
 * the length and code point each starts with (0: none), and whether the
 * code point is shown escaped.
 */
#include <string.h>

#include "moat_test.h"
#include "utf8.h"

static const struct {
	const char *bytes;
	size_t      len;        /* bytes offered (a truncated sequence: fewer) */
	size_t      want;
	uint32_t    cp;
	int         unsafe;
} utf8_cases[] = {
	{ "A",                  1, 1, 0x41, 0 },
	{ "\x7f",               1, 1, 0x7f, 0 },      /* callers escape ASCII controls */
	{ "\xc3\xa9",           2, 2, 0xe9, 0 },      /* é */
	{ "\xc2\x9b",           2, 2, 0x9b, 1 },      /* C1 CSI */
	{ "\xc2\xad",           2, 2, 0xad, 1 },      /* soft hyphen */
	{ "\xe2\x80\xae",       3, 3, 0x202e, 1 },    /* RIGHT-TO-LEFT OVERRIDE */
	{ "\xe2\x80\x8b",       3, 3, 0x200b, 1 },    /* ZERO WIDTH SPACE */
	{ "\xef\xbb\xbf",       3, 3, 0xfeff, 1 },    /* BOM */
	{ "\xe2\x82\xac",       3, 3, 0x20ac, 0 },    /* € */
	{ "\xf0\x9f\x98\x80",   4, 4, 0x1f600, 0 },
	{ "\xf4\x8f\xbf\xbf",   4, 4, 0x10ffff, 0 },
	{ "\xf4\x90\x80\x80",   4, 0, 0, 0 },         /* above U+10FFFF */
	{ "\xc0\xaf",           2, 0, 0, 0 },         /* overlong '/' */
	{ "\xc1\xbf",           2, 0, 0, 0 },
	{ "\xe0\x80\xaf",       3, 0, 0, 0 },         /* overlong */
	{ "\xf0\x80\x80\xaf",   4, 0, 0, 0 },
	{ "\xed\xa0\x80",       3, 0, 0, 0 },         /* a surrogate */
	{ "\x80",               1, 0, 0, 0 },         /* a lone continuation */
	{ "\xff",               1, 0, 0, 0 },
	{ "\xe2\x82\xac",       2, 0, 0, 0 },         /* cut short */
	{ "\xc3\x28",           2, 0, 0, 0 },         /* bad continuation */
	{ "",                   0, 0, 0, 0 },
};

static void
case_table(void)
{
	for (size_t i = 0; i < TEST_NELEM(utf8_cases); i++) {
		uint32_t cp = 0xdeadbeef;
		size_t n = utf8_seq((const unsigned char *)utf8_cases[i].bytes, utf8_cases[i].len,
		    &cp);

		if (n != utf8_cases[i].want)
			TEST_FAIL("case %zu: length %zu, want %zu", i, n, utf8_cases[i].want);
		else if (n != 0 && cp != utf8_cases[i].cp)
			TEST_FAIL("case %zu: U+%04x, want U+%04x", i, cp, utf8_cases[i].cp);
		else if (n != 0 && utf8_unsafe(cp) != utf8_cases[i].unsafe)
			TEST_FAIL("case %zu: unsafe %d, want %d", i, utf8_unsafe(cp),
			    utf8_cases[i].unsafe);
		if (utf8_seq((const unsigned char *)utf8_cases[i].bytes, utf8_cases[i].len,
		    NULL) != n)
			TEST_FAIL("case %zu: a NULL cp changes the length", i);
	}
}

static const struct test_case cases[] = {
	{ "table", case_table },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
