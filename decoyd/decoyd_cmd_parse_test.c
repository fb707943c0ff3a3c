/*
 * The command-line parser, table-driven: each case's bytes are fed whole,
 * split at every position into two calls, and byte by byte; the trace of
 * lines (verb, argument, cut) must be the same every time.  Then base64,
 * AUTH PLAIN and the echo filter.
 */
#include <stdio.h>
#include <string.h>

#include "decoyd_cmd_parse.h"
#include "moat_test.h"

struct trace {
	char buf[2048];
	int  stop_at;           /* line number that returns 1, 0 = none */
	int  lines;
};

static void
tr_add(struct trace *t, const char *s, size_t n)
{
	size_t have = strlen(t->buf), i;
	char b[8];

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			snprintf(b, sizeof(b), "%c", c);
		else
			snprintf(b, sizeof(b), "\\x%02x", c);
		if (have + strlen(b) + 1 >= sizeof(t->buf))
			return;
		memcpy(t->buf + have, b, strlen(b) + 1);
		have += strlen(b);
	}
}

static int
tr_line(void *arg, const struct cmdp_line *l)
{
	struct trace *t = arg;

	tr_add(t, "[", 1);
	tr_add(t, l->verb, strlen(l->verb));
	tr_add(t, "|", 1);
	tr_add(t, l->arg, l->len - (size_t)(l->arg - l->line));
	if (l->cut)
		tr_add(t, "|cut", 4);
	tr_add(t, "]", 1);
	if (l->line[l->len] != '\0')
		TEST_FAIL("line not NUL-terminated");
	return ++t->lines == t->stop_at;
}

struct cp_case {
	const char *name;
	size_t      max;
	int         stop_at;
	const char *in;
	size_t      len;
	const char *want;
	int         want_rc;
};

#define C(name, max, stop, in, want, rc) { name, max, stop, in, sizeof(in) - 1, want, rc }
static const struct cp_case cp_cases[] = {
	C("crlf", 64, 0, "USER bob\r\n", "[USER|bob]", 0),
	C("bare lf", 64, 0, "user bob\n", "[USER|bob]", 0),
	C("no verb arg", 64, 0, "PWD\r\n", "[PWD|]", 0),
	C("arg keeps spaces", 64, 0, "PASS  a b \r\n", "[PASS| a b ]", 0),
	C("mixed case verb", 64, 0, "eHlO x\r\n", "[EHLO|x]", 0),
	C("empty line", 64, 0, "\r\n\n", "[|][|]", 0),
	C("leading space", 64, 0, " USER x\r\n", "[|USER x]", 0),
	C("partial stays", 64, 0, "USER a\r\nPA", "[USER|a]", 0),
	C("lone cr kept", 64, 0, "A\rB\r\n", "[|]", 0),
	C("cr cr lf", 64, 0, "NOOP\r\r\n", "[|]", 0),
	C("verb max", 64, 0, "ABCDEFGHIJKLMNO x\n", "[ABCDEFGHIJKLMNO|x]", 0),
	C("verb too long", 64, 0, "ABCDEFGHIJKLMNOP x\n", "[|x]", 0),
	C("binary verb", 64, 0, "US\xffR x\n", "[|x]", 0),
	C("nul in arg", 64, 0, "USER a\0b\n", "[USER|a\\x00b]", 0),
	C("pipelined", 64, 0, "USER a\r\nPASS b\r\nSYST\r\n", "[USER|a][PASS|b][SYST|]", 0),
	C("stop", 64, 2, "USER a\nQUIT\nNOOP\n", "[USER|a][QUIT|]", 1),
	/* max 8: lines of 7 bytes at most. */
	C("fits exactly", 8, 0, "NOOP ab\r\n", "[NOOP|ab]", 0),
	C("fits exactly lf", 8, 0, "NOOP ab\n", "[NOOP|ab]", 0),
	C("one over", 8, 0, "NOOP abc\r\n", "[NOOP|ab|cut]", 0),
	C("long cut then next", 8, 0, "NOOP abcdefgh\r\nQUIT\r\n", "[NOOP|ab|cut][QUIT|]", 0),
	C("cr inside cut", 8, 0, "NOOP ab\rxyz\n", "[NOOP|ab|cut]", 0),
	C("endless", 8, 0, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", 0),
	{ NULL, 0, 0, NULL, 0, NULL, 0 }
};

static int
run_split(const struct cp_case *c, size_t cut, int bytewise, struct trace *t)
{
	struct cmdp p;
	size_t i;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	t->stop_at = c->stop_at;
	cmdp_init(&p, c->max);
	if (bytewise) {
		for (i = 0; i < c->len && rc == 0; i++)
			rc = cmdp_feed(&p, (const uint8_t *)c->in + i, 1, tr_line, t);
	} else {
		rc = cmdp_feed(&p, (const uint8_t *)c->in, cut, tr_line, t);
		if (rc == 0)
			rc = cmdp_feed(&p, (const uint8_t *)c->in + cut, c->len - cut, tr_line, t);
	}
	if (p.cap > c->max + 1)
		TEST_FAIL("%s: buffer of %zu over max %zu", c->name, p.cap, c->max);
	cmdp_free(&p);
	return rc;
}

static void
case_table(void)
{
	const struct cp_case *c;
	struct trace t;
	size_t cut;
	int rc;

	for (c = cp_cases; c->name != NULL; c++) {
		for (cut = 0; cut <= c->len; cut++) {
			rc = run_split(c, cut, 0, &t);
			if (strcmp(t.buf, c->want) != 0 || rc != c->want_rc)
				TEST_FAIL("%s (split at %zu): got \"%s\" rc %d, want \"%s\" rc %d",
				    c->name, cut, t.buf, rc, c->want, c->want_rc);
		}
		rc = run_split(c, 0, 1, &t);
		if (strcmp(t.buf, c->want) != 0 || rc != c->want_rc)
			TEST_FAIL("%s (byte by byte): got \"%s\" rc %d, want \"%s\" rc %d",
			    c->name, t.buf, rc, c->want, c->want_rc);
	}
}

/* The dropped bytes of long lines are counted. */
static void
case_dropped(void)
{
	struct cmdp p;
	struct trace t;
	uint8_t buf[10000];

	memset(&t, 0, sizeof(t));
	memset(buf, 'A', sizeof(buf));
	buf[sizeof(buf) - 1] = '\n';
	cmdp_init(&p, 4096);
	TEST_INT_EQ("rc", cmdp_feed(&p, buf, sizeof(buf), tr_line, &t), 0);
	TEST_INT_EQ("dropped", (long long)p.dropped, sizeof(buf) - 1 - 4095);
	TEST_INT_EQ("lines", t.lines, 1);
	TEST_CHECK(p.cap <= 4097, "cap %zu", p.cap);
	cmdp_free(&p);
}

static const struct {
	const char *name, *in;
	long        want_len;
	const char *want;
} b64_cases[] = {
	{ "empty", "", 0, "" },
	{ "one byte", "YQ==", 1, "a" },
	{ "one byte unpadded", "YQ", 1, "a" },
	{ "two bytes", "YWI=", 2, "ab" },
	{ "three", "YWJj", 3, "abc" },
	{ "Username:", "VXNlcm5hbWU6", 9, "Username:" },
	{ "plain", "AGJvYgBzM2NyM3Q=", 11, "\0bob\0s3cr3t" },
	{ "bad char", "YW*j", -1, NULL },
	{ "space", "YW Jj", -1, NULL },
	{ "lone sextet", "YWJjZ", -1, NULL },
	{ "too much padding", "YQ===", -1, NULL },
	{ "padding inside", "YQ==YQ==", -1, NULL },
	{ "wrong padding", "YWJ==", -1, NULL },
	{ "only padding", "==", -1, NULL },
	{ NULL, NULL, 0, NULL }
};

static void
case_b64(void)
{
	uint8_t out[64];
	long n;
	int i;

	for (i = 0; b64_cases[i].name != NULL; i++) {
		n = cmdp_b64decode(b64_cases[i].in, strlen(b64_cases[i].in), out, sizeof(out));
		if (n != b64_cases[i].want_len)
			TEST_FAIL("%s: got length %ld, want %ld", b64_cases[i].name, n,
			    b64_cases[i].want_len);
		else if (n > 0 && memcmp(out, b64_cases[i].want, n) != 0)
			TEST_FAIL("%s: wrong bytes", b64_cases[i].name);
	}
	/* Never past cap. */
	TEST_INT_EQ("cap 2 of 3", cmdp_b64decode("YWJj", 4, out, 2), -1);
	TEST_INT_EQ("cap 1 of 2", cmdp_b64decode("YWI=", 4, out, 1), -1);
	TEST_INT_EQ("cap 3 of 3", cmdp_b64decode("YWJj", 4, out, 3), 3);
}

static void
case_plain(void)
{
	char u[8], p[8];

	TEST_INT_EQ("ok", cmdp_plain((const uint8_t *)"\0bob\0pw", 7, u, sizeof(u), p,
	    sizeof(p)), 0);
	TEST_STR_EQ("user", u, "bob");
	TEST_STR_EQ("pass", p, "pw");
	TEST_INT_EQ("authzid", cmdp_plain((const uint8_t *)"az\0bob\0pw", 9, u, sizeof(u), p,
	    sizeof(p)), 0);
	TEST_STR_EQ("user with authzid", u, "bob");
	TEST_INT_EQ("cut", cmdp_plain((const uint8_t *)"\0longusername\0longpassword", 26,
	    u, sizeof(u), p, sizeof(p)), 0);
	TEST_STR_EQ("user cut", u, "longuse");
	TEST_STR_EQ("pass cut", p, "longpas");
	TEST_INT_EQ("empty pass", cmdp_plain((const uint8_t *)"\0bob\0", 5, u, sizeof(u), p,
	    sizeof(p)), 0);
	TEST_STR_EQ("pass empty", p, "");
	TEST_INT_EQ("one nul", cmdp_plain((const uint8_t *)"bob\0pw", 6, u, sizeof(u), p,
	    sizeof(p)), -1);
	TEST_INT_EQ("three nuls", cmdp_plain((const uint8_t *)"\0a\0b\0c", 6, u, sizeof(u), p,
	    sizeof(p)), -1);
	TEST_INT_EQ("none", cmdp_plain((const uint8_t *)"", 0, u, sizeof(u), p, sizeof(p)), -1);
}

static void
case_printable(void)
{
	char out[8];

	TEST_STR_EQ("controls", cmdp_printable(out, sizeof(out), "a\rb\0c\x7f", 6), "a?b?c?");
	TEST_STR_EQ("cut", cmdp_printable(out, sizeof(out), "abcdefghij", 10), "abcdefg");
	TEST_STR_EQ("utf8 kept", cmdp_printable(out, sizeof(out), "\xc3\xa9", 2), "\xc3\xa9");
}

static const struct test_case cases[] = {
	{ "table", case_table },
	{ "dropped", case_dropped },
	{ "b64", case_b64 },
	{ "plain", case_plain },
	{ "printable", case_printable },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
