/*
 * The telnet parser, table-driven: each case's bytes are fed whole and then
 * split at every position into two calls, and byte by byte; the trace of
 * callbacks (data runs merged) must be the same every time.
 */
#include <stdio.h>
#include <string.h>

#include "decoyd_telnet_parse.h"
#include "moat_test.h"

struct trace {
	char   buf[2048];
	size_t len;
	int    indata;
};

static void
tr_add(struct trace *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n < sizeof(t->buf)) {
		memcpy(t->buf + t->len, s, n + 1);
		t->len += n;
	}
}

static void
tr_data(void *arg, const uint8_t *buf, size_t len)
{
	struct trace *t = arg;
	char b[8];
	size_t i;

	if (!t->indata)
		tr_add(t, "D[");
	else
		t->len--;               /* reopen the run: drop its ']' */
	for (i = 0; i < len; i++) {
		if (buf[i] >= 0x20 && buf[i] < 0x7f)
			snprintf(b, sizeof(b), "%c", buf[i]);
		else
			snprintf(b, sizeof(b), "\\x%02x", buf[i]);
		tr_add(t, b);
	}
	tr_add(t, "]");
	t->indata = 1;
}

static void
tr_option(void *arg, int verb, int opt)
{
	struct trace *t = arg;
	char b[32];
	const char *v = verb == TN_WILL ? "WILL" : verb == TN_WONT ? "WONT" :
	    verb == TN_DO ? "DO" : "DONT";

	snprintf(b, sizeof(b), " %s(%d) ", v, opt);
	tr_add(t, b);
	t->indata = 0;
}

static void
tr_command(void *arg, int cmd)
{
	struct trace *t = arg;
	char b[32];

	snprintf(b, sizeof(b), " CMD(%d) ", cmd);
	tr_add(t, b);
	t->indata = 0;
}

static void
tr_sb(void *arg, int opt, const uint8_t *buf, size_t len)
{
	struct trace *t = arg;
	char b[32];
	size_t i;

	snprintf(b, sizeof(b), " SB(%d:", opt);
	tr_add(t, b);
	for (i = 0; i < len; i++) {
		snprintf(b, sizeof(b), "%02x", buf[i]);
		tr_add(t, b);
	}
	tr_add(t, ") ");
	t->indata = 0;
}

static const struct tp_ops tr_ops = { tr_data, tr_option, tr_command, tr_sb };

struct tp_case {
	const char *name;
	const char *in;
	size_t      len;
	const char *want;
};

#define C(name, in, want) { name, in, sizeof(in) - 1, want }
static const struct tp_case tp_cases[] = {
	C("plain", "root", "D[root]"),
	C("crlf folds", "root\r\n", "D[root\\x0d]"),
	C("crnul folds", "ls\r\0", "D[ls\\x0d]"),
	C("lone cr keeps next", "a\rb", "D[a\\x0db]"),
	C("cr cr", "\r\r\n", "D[\\x0d\\x0d]"),
	C("lf alone", "a\nb", "D[a\\x0ab]"),
	C("will", "\xff\xfb\x18", " WILL(24) "),
	C("netkit answers", "\xff\xfb\x18\xff\xfb\x20\xff\xfc\x23\xff\xfb\x27",
	    " WILL(24)  WILL(32)  WONT(35)  WILL(39) "),
	C("do dont", "\xff\xfd\x01\xff\xfe\x03", " DO(1)  DONT(3) "),
	C("escaped 255", "a\xff\xff" "b", "D[a\\xffb]"),
	C("ip", "x\xff\xf4y", "D[x] CMD(244) D[y]"),
	C("ttype is", "\xff\xfa\x18\x00XTERM\xff\xf0", " SB(24:00585445524d) "),
	C("naws", "\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0", " SB(31:00500018) "),
	C("sb with iac iac", "\xff\xfa\x18\x00\xff\xff\xff\xf0", " SB(24:00ff) "),
	C("sb lenient", "\xff\xfa\x18\x41\xff\x42\xff\xf0", " SB(24:41ff42) "),
	C("sb unterminated", "\xff\xfa\x18" "abc", ""),
	C("iac at end", "ab\xff", "D[ab]"),
	C("high bytes", "\x80\xfe\x00", "D[\\x80\\xfe\\x00]"),
	C("option then data", "\xff\xfb\x01hi\r\n", " WILL(1) D[hi\\x0d]"),
	C("nop", "\xff\xf1", " CMD(241) "),
	{ NULL, NULL, 0, NULL }
};

static void
run_split(const struct tp_case *c, size_t cut, int bytewise, struct trace *t)
{
	struct tp tp;
	size_t i;

	memset(t, 0, sizeof(*t));
	tp_init(&tp);
	if (bytewise) {
		for (i = 0; i < c->len; i++)
			tp_feed(&tp, &tr_ops, t, (const uint8_t *)c->in + i, 1);
		return;
	}
	tp_feed(&tp, &tr_ops, t, (const uint8_t *)c->in, cut);
	tp_feed(&tp, &tr_ops, t, (const uint8_t *)c->in + cut, c->len - cut);
}

static void
case_table(void)
{
	const struct tp_case *c;
	struct trace t;
	size_t cut;

	for (c = tp_cases; c->name != NULL; c++) {
		for (cut = 0; cut <= c->len; cut++) {
			run_split(c, cut, 0, &t);
			if (strcmp(t.buf, c->want) != 0)
				TEST_FAIL("%s (split at %zu): got \"%s\", want \"%s\"", c->name,
				    cut, t.buf, c->want);
		}
		run_split(c, 0, 1, &t);
		if (strcmp(t.buf, c->want) != 0)
			TEST_FAIL("%s (byte by byte): got \"%s\", want \"%s\"", c->name,
			    t.buf, c->want);
	}
}

/* A subnegotiation longer than TP_SB_MAX is cut, counted, and ends. */
static void
case_sb_bound(void)
{
	uint8_t buf[TP_SB_MAX + 100];
	struct trace t;
	struct tp tp;

	memset(&t, 0, sizeof(t));
	memset(buf, 'x', sizeof(buf));
	buf[0] = TN_IAC, buf[1] = TN_SB, buf[2] = TO_TTYPE;
	buf[sizeof(buf) - 2] = TN_IAC, buf[sizeof(buf) - 1] = TN_SE;
	tp_init(&tp);
	tp_feed(&tp, &tr_ops, &t, buf, sizeof(buf));
	TEST_INT_EQ("cut bytes", (long long)tp.sb_cut, (long long)(sizeof(buf) - 5 - TP_SB_MAX));
	TEST_CHECK(strncmp(t.buf, " SB(24:", 7) == 0, "got \"%.20s\"", t.buf);
	TEST_INT_EQ("state after", tp.state, 0);
}

static const struct test_case cases[] = {
	{ "table", case_table },
	{ "sb_bound", case_sb_bound },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
