/*
 * decoyd_alert: the intruder's bytes as mail text (alert_clean, a table),
 * and the book's windows: the first fact mails at once, facts inside the
 * window come in one summary at its end (with every session key), a quiet
 * window forgets the source, another source has its own window, force at
 * stop; every mail is 7-bit with only our headers, whatever the facts hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoyd_keeper.h"
#include "moat_test.h"

struct clean_case {
	const char *name;
	const char *in;
	size_t      cap;
	const char *want;
};

static const struct clean_case clean_cases[] = {
	{ "ascii", "uname -a", 64, "uname -a" },
	{ "quote and backslash", "a\"b\\c", 64, "a\\\"b\\\\c" },
	{ "crlf", "x\r\nBcc: y", 64, "x\\x0d\\x0aBcc: y" },
	{ "escape and bel", "\x1b]0;t\x07", 64, "\\x1b]0;t\\x07" },
	{ "del", "a\x7f", 64, "a\\x7f" },
	{ "utf8 kept", "\xd0\xbf\xd0\xb0\xd1\x80", 64, "\xd0\xbf\xd0\xb0\xd1\x80" },
	{ "not utf8", "caf\xe9", 64, "caf\\xe9" },
	{ "truncated sequence", "\xe2\x82", 64, "\\xe2\\x82" },
	{ "overlong", "\xc0\xaf", 64, "\\xc0\\xaf" },
	{ "surrogate", "\xed\xa0\x80", 64, "\\xed\\xa0\\x80" },
	{ "right-to-left override", "a\xe2\x80\xae" "b", 64, "a\\xe2\\x80\\xaeb" },
	{ "c1 control", "\xc2\x85", 64, "\\xc2\\x85" },
	{ "line separator", "\xe2\x80\xa8", 64, "\\xe2\\x80\\xa8" },
	{ "cut at the cap", "abcdefghij", 8, "abcd..." },
	{ "never a split sequence", "ab\xd0\xbf\xd0\xbf", 8, "ab\xd0\xbf..." },
	{ "never a split escape", "ab\x01\x02", 10, "ab\\x01..." },
	{ NULL, NULL, 0, NULL }
};

static void
case_clean(void)
{
	char out[256];

	for (const struct clean_case *c = clean_cases; c->name != NULL; c++) {
		alert_clean(out, c->cap, c->in);
		if (strcmp(out, c->want) != 0)
			TEST_FAIL("%s: got \"%s\", want \"%s\"", c->name, out, c->want);
		if (strlen(out) >= c->cap)
			TEST_FAIL("%s: %zu bytes in a buffer of %zu", c->name, strlen(out), c->cap);
	}
}

/* Every line of the mail: 7-bit, CRLF, at most 998 bytes; the headers are
 * ours; the header block has exactly the wanted names. */
static void
check_mail(const char *what, const struct alert_mail *m)
{
	static const char *const names[] = { "Date", "From", "To", "Subject", "Message-ID",
	    "Auto-Submitted", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	    "X-Moat-Decoy-Source", "X-Moat-Decoy-Sessions", NULL };
	const char *p = m->text, *eol;
	int in_head = 1, n = 0;

	for (; *p != '\0'; p = eol + 2) {
		if ((eol = strstr(p, "\r\n")) == NULL) {
			TEST_FAIL("%s: a line without CRLF", what);
			return;
		}
		if (eol - p > 998)
			TEST_FAIL("%s: a line of %td bytes", what, eol - p);
		for (const char *q = p; q < eol; q++)
			if ((unsigned char)*q >= 0x80 || *q == '\r' || *q == '\n' || *q == '\0' ||
			    (*q < ' ' && *q != '\t'))
				TEST_FAIL("%s: byte 0x%02x on the wire", what, (unsigned char)*q);
		if (in_head && eol == p) {
			in_head = 0;
			continue;
		}
		if (in_head) {
			size_t k;

			for (k = 0; names[k] != NULL; k++)
				if (strncmp(p, names[k], strlen(names[k])) == 0 &&
				    p[strlen(names[k])] == ':')
					break;
			if (names[k] == NULL)
				TEST_FAIL("%s: header line \"%.*s\"", what, (int)(eol - p), p);
			n++;
		}
	}
	if (n != 11)
		TEST_FAIL("%s: %d header lines, want 11", what, n);
}

static struct alert_fact
fact(enum alert_kind k, const char *src, const char *key, const char *a, const char *b)
{
	struct alert_fact f = { k, src, "telnet", key, 2323, a, b };

	return f;
}

static void
case_window(void)
{
	struct alert_book *b = alert_new("decoy@example.org", "soc@example.org", 16);
	struct alert_fact f;
	struct alert_mail *m;

	if (b == NULL)
		TEST_FATAL("alert_new");
	f = fact(ALERT_LOGIN, "192.0.2.7", "K1", "root", "123456");
	if ((m = alert_note(b, &f, 1000, 600)) == NULL)
		TEST_FATAL("no mail for the first attempt");
	check_mail("first", m);
	TEST_CHECK(!m->summary && m->logins == 1, "first: summary %d logins %u", m->summary,
	    m->logins);
	TEST_STR_EQ("first keys", m->keys, "K1");
	TEST_CHECK(strstr(m->text, "Subject: [moat-decoyd] penetration attempt from 192.0.2.7 "
	    "(telnet/2323)\r\n") != NULL, "first: subject");
	alert_mail_free(m);
	TEST_INT_EQ("next", (long long)alert_next(b), 1600);

	f = fact(ALERT_COMMAND, "192.0.2.7", "K1", "uname -a", NULL);
	TEST_CHECK(alert_note(b, &f, 1010, 600) == NULL, "a command inside the window mailed");
	f = fact(ALERT_LOGIN, "192.0.2.7", "K2", "admin", "admin");
	TEST_CHECK(alert_note(b, &f, 1020, 600) == NULL, "a login inside the window mailed");
	TEST_CHECK(alert_due(b, 1599, 600, 0) == NULL, "a summary before the window ends");
	if ((m = alert_due(b, 1600, 600, 0)) == NULL)
		TEST_FATAL("no summary at the window's end");
	check_mail("summary", m);
	TEST_STR_EQ("summary keys", m->keys, "K1 K2");
	TEST_CHECK(m->summary && m->logins == 2 && m->commands == 1,
	    "summary: %d, %u logins, %u commands", m->summary, m->logins, m->commands);
	TEST_CHECK(strstr(m->text, "=22uname -a=22") != NULL || strstr(m->text, "\"uname -a\"")
	    != NULL, "summary: the command");
	alert_mail_free(m);
	TEST_CHECK(alert_due(b, 1600, 600, 0) == NULL, "two summaries");
	TEST_INT_EQ("next window", (long long)alert_next(b), 2200);

	/* A quiet window: forgotten, and the next attempt mails at once. */
	TEST_CHECK(alert_due(b, 2200, 600, 0) == NULL, "a summary of a quiet window");
	TEST_INT_EQ("forgotten", (long long)alert_next(b), 0);
	f = fact(ALERT_DOWNLOAD, "192.0.2.7", "K3", "wget", "http://x.example/a");
	m = alert_note(b, &f, 2300, 600);
	TEST_CHECK(m != NULL && !m->summary, "after a quiet window: no mail at once");
	alert_mail_free(m);

	/* Another source: its own first mail.  Force: every open window. */
	f = fact(ALERT_LOGIN, "2001:db8::1", "K4", "pi", "raspberry");
	m = alert_note(b, &f, 2310, 600);
	TEST_CHECK(m != NULL && strcmp(m->src, "2001:db8::1") == 0, "second source");
	alert_mail_free(m);
	f = fact(ALERT_COMMAND, "2001:db8::1", "K4", "id", NULL);
	alert_note(b, &f, 2311, 600);
	m = alert_due(b, 2320, 600, 1);
	TEST_CHECK(m != NULL && m->summary && strcmp(m->src, "2001:db8::1") == 0,
	    "force: the open window with news");
	alert_mail_free(m);
	TEST_CHECK(alert_due(b, 2320, 600, 1) == NULL, "force: more than the one with news");
	TEST_INT_EQ("after force", (long long)alert_next(b), 0);
	alert_free(b);
}

static void
case_hostile(void)
{
	struct alert_book *b = alert_new("decoy@example.org", "soc@example.org", 1);
	struct alert_fact f;
	struct alert_mail *m;
	char big[5000];

	if (b == NULL)
		TEST_FATAL("alert_new");
	memset(big, '\xe9', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Every field is the loop's word: a key or source that is a header. */
	f = fact(ALERT_LOGIN, "1.2.3.4\r\nBcc: x@y", "K\r\nBcc: x@y", "x\r\nBcc: a@b", big);
	f.personality = "tel\r\nnet";
	if ((m = alert_note(b, &f, 10, 60)) == NULL)
		TEST_FATAL("no mail");
	check_mail("hostile", m);
	TEST_CHECK(strstr(m->text, "\r\nBcc") == NULL, "a Bcc header line");
	TEST_STR_EQ("src", m->src, "1.2.3.4??Bcc:????");   /* address characters only */
	alert_mail_free(m);
	f = fact(ALERT_LOGIN, "5.6.7.8", "K2", "a", "b");
	TEST_CHECK(alert_note(b, &f, 11, 60) == NULL && alert_dropped(b) == 1,
	    "a source over the bound: not counted as dropped");
	alert_free(b);
}

static const struct test_case cases[] = {
	{ "clean the intruder's bytes", case_clean },
	{ "one mail per source per window", case_window },
	{ "hostile facts", case_hostile },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
