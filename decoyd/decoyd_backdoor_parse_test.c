/*
 * The backdoor parser, table-driven: each case's bytes are fed whole, split
 * at every position into two calls, and byte by byte; the trace of messages
 * must be the same every time.  Then the NetBus and SubSeven classifiers.
 */
#include <stdio.h>
#include <string.h>

#include "decoyd_backdoor_parse.h"
#include "moat_test.h"

struct trace {
	char   buf[2048];
	size_t len;
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

/* Each message as [bytes] (non-printable as \xNN), "!" after a cut one. */
static void
tr_message(void *arg, const uint8_t *msg, size_t len, int cut)
{
	struct trace *t = arg;
	char b[8];
	size_t i;

	tr_add(t, "[");
	for (i = 0; i < len; i++) {
		if (msg[i] >= 0x20 && msg[i] < 0x7f)
			snprintf(b, sizeof(b), "%c", msg[i]);
		else
			snprintf(b, sizeof(b), "\\x%02x", msg[i]);
		tr_add(t, b);
	}
	tr_add(t, cut ? "]!" : "]");
}

struct bp_case {
	const char *name;
	const char *in;
	size_t      len;
	size_t      max;
	int         flush;      /* bp_flush at the end */
	const char *want;
};

#define C(name, in, max, flush, want) { name, in, sizeof(in) - 1, max, flush, want }
static const struct bp_case bp_cases[] = {
	C("netbus password", "Password;0;secret\r", 0, 0, "[Password;0;secret]"),
	C("two messages", "GetInfo\rGetSetup\r", 0, 0, "[GetInfo][GetSetup]"),
	C("crlf is one end", "a\r\nb\n", 0, 0, "[a][b]"),
	C("nul ends", "PWDx\0URLy\0", 0, 0, "[PWDx][URLy]"),
	C("empty skipped", "\r\r\n\n\0", 0, 0, ""),
	C("pending held", "PWDsecret", 0, 0, ""),
	C("pending flushed", "PWDsecret", 0, 1, "[PWDsecret]"),
	C("flush of nothing", "x\r", 0, 1, "[x]"),
	C("high bytes kept", "\x80\xff;\x1b[2J\r", 0, 0, "[\\x80\\xff;\\x1b[2J]"),
	C("cut at max", "abcdefghij\rxy\r", 4, 0, "[abcd]![xy]"),
	C("cut exactly at max", "abcd\r", 4, 0, "[abcd]"),
	C("cut then flush", "abcdefgh", 4, 1, "[abcd]!"),
	{ NULL, NULL, 0, 0, 0, NULL }
};

static void
run_split(const struct bp_case *c, size_t cut, int bytewise, struct trace *t, uint64_t *dropped)
{
	struct bp bp;
	size_t i;

	memset(t, 0, sizeof(*t));
	bp_init(&bp, c->max);
	if (bytewise) {
		for (i = 0; i < c->len; i++)
			bp_feed(&bp, (const uint8_t *)c->in + i, 1, tr_message, t);
	} else {
		bp_feed(&bp, (const uint8_t *)c->in, cut, tr_message, t);
		bp_feed(&bp, (const uint8_t *)c->in + cut, c->len - cut, tr_message, t);
	}
	if (c->flush)
		bp_flush(&bp, tr_message, t);
	*dropped = bp.cut;
}

static void
case_table(void)
{
	const struct bp_case *c;
	struct trace t;
	uint64_t dropped;
	size_t cut;

	for (c = bp_cases; c->name != NULL; c++) {
		for (cut = 0; cut <= c->len; cut++) {
			run_split(c, cut, 0, &t, &dropped);
			if (strcmp(t.buf, c->want) != 0)
				TEST_FAIL("%s (split at %zu): got \"%s\", want \"%s\"", c->name,
				    cut, t.buf, c->want);
		}
		run_split(c, 0, 1, &t, &dropped);
		if (strcmp(t.buf, c->want) != 0)
			TEST_FAIL("%s (byte by byte): got \"%s\", want \"%s\"", c->name,
			    t.buf, c->want);
	}
}

/* A message far over BP_LINE_MAX: kept up to it, the rest counted. */
static void
case_bound(void)
{
	static uint8_t big[3 * BP_LINE_MAX + 1];
	struct trace t;
	struct bp bp;

	memset(&t, 0, sizeof(t));
	memset(big, 'A', sizeof(big));
	big[sizeof(big) - 1] = '\r';
	bp_init(&bp, 1024 * 1024);              /* over the cap: BP_LINE_MAX */
	TEST_INT_EQ("max", (long long)bp.max, BP_LINE_MAX);
	bp_feed(&bp, big, sizeof(big), tr_message, &t);
	TEST_INT_EQ("cut bytes", (long long)bp.cut, 2 * BP_LINE_MAX);
	TEST_INT_EQ("pending", (long long)bp.len, 0);
}

struct nb_case {
	const char     *name;
	const char     *in;
	enum bp_netbus  want;
};

static const struct nb_case nb_cases[] = {
	{ "password", "Password;1;", BPN_PASSWORD },
	{ "getinfo", "GetInfo", BPN_GETINFO },
	{ "getsetup", "GetSetup", BPN_GETSETUP },
	{ "getacl", "GetACL", BPN_GETACL },
	{ "getapps", "GetApps", BPN_GETAPPS },
	{ "getvolume", "GetVolume", BPN_GETVOLUME },
	{ "url", "URL;http://evil.example/x.exe", BPN_URL },
	{ "upload", "UploadFile;C:\\x.exe;1234", BPN_UPLOAD },
	{ "download", "DownloadFile;C:\\secret.doc", BPN_DOWNLOAD },
	{ "startapp", "StartApp;C:\\x.exe", BPN_STARTAPP },
	{ "eject", "Eject;1", BPN_ACTION },
	{ "close", "CloseServer", BPN_CLOSE },
	{ "case matters", "getinfo", BPN_OTHER },
	{ "prefix is not the command", "GetInfoX", BPN_OTHER },
	{ "empty", "", BPN_OTHER },
	{ "garbage", "\x80\x81;;;", BPN_OTHER },
	{ NULL, NULL, BPN_OTHER }
};

static void
case_netbus(void)
{
	const struct nb_case *c;
	struct bp_field f[BP_FIELDS_MAX];
	const char *many = "a;b;c;d;e;f;g;h;i;j";
	size_t n;

	for (c = nb_cases; c->name != NULL; c++)
		TEST_INT_EQ(c->name, bp_netbus_kind((const uint8_t *)c->in, strlen(c->in)),
		    c->want);
	n = bp_fields((const uint8_t *)"Password;0;p;w", 14, f);
	TEST_INT_EQ("fields", (long long)n, 4);
	TEST_CHECK(f[2].len == 1 && f[2].p[0] == 'p', "third field");
	n = bp_fields((const uint8_t *)many, strlen(many), f);
	TEST_INT_EQ("fields capped", (long long)n, BP_FIELDS_MAX);
	TEST_CHECK(f[BP_FIELDS_MAX - 1].len == 5 &&
	    memcmp(f[BP_FIELDS_MAX - 1].p, "h;i;j", 5) == 0, "the last field keeps the rest");
	n = bp_fields((const uint8_t *)"", 0, f);
	TEST_CHECK(n == 1 && f[0].len == 0, "empty: one empty field");
}

struct ss_case {
	const char       *name;
	const char       *in;
	enum bp_subseven  want;
	const char       *arg;
};

static const struct ss_case ss_cases[] = {
	{ "password", "PWDletmein", BPS_PASSWORD, "letmein" },
	{ "empty password", "PWD", BPS_PASSWORD, "" },
	{ "info", "SIN", BPS_INFO, "" },
	{ "url", "URLhttp://evil.example/a.exe", BPS_URL, "http://evil.example/a.exe" },
	{ "upload", "UPLsvchost.exe", BPS_UPLOAD, "svchost.exe" },
	{ "download", "DWLC:\\pwl.txt", BPS_DOWNLOAD, "C:\\pwl.txt" },
	{ "run", "RUNnotepad.exe", BPS_RUN, "notepad.exe" },
	{ "close", "CLS", BPS_CLOSE, "" },
	{ "short", "PW", BPS_OTHER, "" },
	{ "lower case", "pwdx", BPS_OTHER, "x" },
	{ "unknown", "XYZabc", BPS_OTHER, "abc" },
	{ NULL, NULL, BPS_OTHER, NULL }
};

static void
case_subseven(void)
{
	const struct ss_case *c;
	const uint8_t *a;
	size_t alen;

	for (c = ss_cases; c->name != NULL; c++) {
		TEST_INT_EQ(c->name, bp_subseven_kind((const uint8_t *)c->in, strlen(c->in),
		    &a, &alen), c->want);
		if (alen != strlen(c->arg) || memcmp(a, c->arg, alen) != 0)
			TEST_FAIL("%s: argument \"%.*s\", want \"%s\"", c->name, (int)alen,
			    (const char *)a, c->arg);
	}
}

static const struct test_case cases[] = {
	{ "table", case_table },
	{ "bound", case_bound },
	{ "netbus", case_netbus },
	{ "subseven", case_subseven },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
