/*
 * milter_parts_test - the MIME walker: which leaves it gives, decoded, and
 * which structures it leaves to libclamav's mail parser (PARTS_FALLBACK).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter_parts.h"
#include "moat_test.h"


/* Leaves as "[name]content|" ("[-]" when unnamed). */
struct got {
	char buf[8192];
	int  stop_at;       /* stop (return 7) at this leaf, 0 = never */
	int  n;
};

static int
collect(void *arg, const unsigned char *data, size_t len, const char *name)
{
	struct got *g = arg;
	size_t l = strlen(g->buf);

	snprintf(g->buf + l, sizeof(g->buf) - l, "[%s]%.*s|", name ? name : "-", (int)len,
	    (const char *)data);
	return ++g->n == g->stop_at ? 7 : 0;
}

#define MP(b) "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"" b "\"\r\n\r\n"

static const struct {
	const char *name, *msg;
	int         rc;
	const char *leaves;
} cases[] = {
	{ "no MIME: the body", "Subject: x\r\nFrom: a@b\r\n\r\nhello\r\n", 0, "[-]hello\r\n|" },
	{ "no body", "Subject: x\r\n", 0, "[-]|" },
	{ "folded content type", "Content-Type: text/plain;\r\n\tname=\"a.txt\"\r\n\r\nhi", 0,
	  "[a.txt]hi|" },
	{ "multipart, base64 attachment",
	  MP("b1") "--b1\r\nContent-Type: text/plain\r\n\r\nbody text\r\n"
	  "--b1\r\nContent-Type: application/octet-stream; name=\"x.bin\"\r\n"
	  "Content-Disposition: attachment; filename=\"x.exe\"\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nd29ybGQ=\r\n--b1--\r\n", 0,
	  "[-]body text|[x.exe]hello world|" },
	{ "quoted-printable", "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	  "caf=C3=A9 soft=\r\nbreak =3D lf=\nhex =3d end=", 0, "[-]caf\xc3\xa9 softbreak = lfhex = end|" },
	{ "bare LF line ends", "Content-Type: multipart/mixed; boundary=z\n\n--z\n\nA\n--z\n\nB\n--z--\n",
	  0, "[-]A|[-]B|" },
	{ "preamble and epilogue are leaves",
	  MP("b1") "This is MIME.\r\n--b1\r\n\r\nx\r\n--b1--\r\ntrailer\r\n", 0,
	  "[-]This is MIME.|[-]x|[-]trailer\r\n|" },
	{ "nested multipart and message/rfc822",
	  MP("o") "--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"
	  "--i\r\n\r\nplain\r\n--i\r\nContent-Type: text/html\r\n\r\n<p>h</p>\r\n--i--\r\n"
	  "--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\naW5uZXI=\r\n--o--\r\n", 0,
	  "[-]plain|[-]<p>h</p>|[-]inner|" },
	{ "delimiter with trailing space", MP("b") "--b  \r\n\r\nx\r\n--b--\t\r\n", 0, "[-]x|" },
	{ "uppercase names and types",
	  "CONTENT-TYPE: Multipart/Mixed; BOUNDARY=q\r\n\r\n--q\r\n\r\ny\r\n--q--", 0, "[-]y|" },

	/* RFC 2046 5.1.5: in a digest a part without Content-Type is a
	 * message/rfc822, whose own MIME is walked. */
	{ "digest part without Content-Type is a message",
	  "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nX-Anything: y\r\n"
	  "Content-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\n"
	  "Content-Type: application/octet-stream; name=e.com\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--in--\r\n--d--\r\n", 0,
	  "[e.com]hello|" },
	{ "digest part with a Content-Type keeps it",
	  "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\nContent-Type: text/plain\r\n\r\n"
	  "X-Anything: y\r\n--d--\r\n", 0, "[-]X-Anything: y|" },
	{ "digest default is for direct parts only",
	  "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n"
	  "Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n\r\nplain\r\n--m--\r\n--d--\r\n",
	  0, "[-]plain|" },
	{ "message/rfc822 inside mixed: its base64 decoded",
	  MP("o") "--o\r\nContent-Type: message/rfc822\r\n\r\nX-Anything: y\r\n"
	  "Content-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--in--\r\n--o--\r\n", 0, "[-]hello|" },
	{ "boundary of every RFC 2046 bchar", MP("'()+_,-./:=? x") "--'()+_,-./:=? x\r\n\r\nz\r\n"
	  "--'()+_,-./:=? x--\r\n", 0, "[-]z|" },
	{ "boundary of 70 characters",
	  MP("0123456789012345678901234567890123456789012345678901234567890123456789")
	  "--0123456789012345678901234567890123456789012345678901234567890123456789--\r\n", 0, "" },
	{ "parameters with white space around separators",
	  "Content-Type:  multipart/mixed ;\r\n\tboundary = \"q\" ; x=y;\r\n\r\n--q\r\n\r\ny\r\n--q--", 0,
	  "[-]y|" },

	/* Left to libclamav's mail parser. */
	{ "boundary with trailing space", MP("ab ") "--ab \r\n\r\nx\r\n--ab--\r\n", PARTS_FALLBACK, NULL },
	{ "boundary with a backslash", MP("a\\b") "--ab\r\n\r\nx\r\n--ab--\r\n", PARTS_FALLBACK, NULL },
	{ "boundary with a quoted quote", MP("a\\\"b") "--a\"b\r\n\r\nx\r\n--a\"b--\r\n",
	  PARTS_FALLBACK, NULL },
	{ "boundary of 71 characters",
	  MP("01234567890123456789012345678901234567890123456789012345678901234567890")
	  "--01234567890123456789012345678901234567890123456789012345678901234567890--\r\n",
	  PARTS_FALLBACK, NULL },
	{ "boundary outside bchars", MP("a#b") "--a#b\r\n\r\nx\r\n--a#b--\r\n", PARTS_FALLBACK, NULL },
	{ "empty boundary", MP("") "--\r\n\r\nx\r\n----\r\n", PARTS_FALLBACK, NULL },
	{ "RFC 2231 boundary continuation",
	  "Content-Type: multipart/mixed; boundary*0=a; boundary*1=b\r\n\r\n--ab\r\n\r\nx\r\n--ab--",
	  PARTS_FALLBACK, NULL },
	{ "parameter without semicolon", "Content-Type: multipart/mixed boundary=b\r\n\r\n--b--",
	  PARTS_FALLBACK, NULL },
	{ "space around the slash", "Content-Type: multipart /mixed; boundary=b\r\n\r\n--b--",
	  PARTS_FALLBACK, NULL },
	{ "junk after a quoted value", "Content-Type: multipart/mixed; boundary=\"b\"x\r\n\r\n--b--",
	  PARTS_FALLBACK, NULL },
	{ "space before the colon", "Content-Type : multipart/mixed; boundary=b\r\n\r\n--b--",
	  PARTS_FALLBACK, NULL },
	{ "8-bit byte in a field name", "Sub\xffject: x\r\n\r\nx", PARTS_FALLBACK, NULL },
	{ "empty field name", ": x\r\n\r\nx", PARTS_FALLBACK, NULL },
	{ "mbox From line", "From a@b Mon Jan  1 00:00:00 2024\r\nSubject: x\r\n\r\nx", PARTS_FALLBACK,
	  NULL },
	{ "bare CR in a header", "Subject: x\rContent-Type: text/plain\r\n\r\nx", PARTS_FALLBACK, NULL },
	{ "delimiter after a bare CR", MP("b") "--b\r\n\r\nx\r--b\r\n\r\ny\r\n--b--\r\n", PARTS_FALLBACK,
	  NULL },
	{ "part with CR LF and a bare LF before its delimiter",
	  MP("c") "--c\r\n\r\nEVIL\x94\n--c--\r\n", PARTS_FALLBACK, NULL },
	{ "part with LF and a CR LF before its delimiter",
	  "Content-Type: multipart/mixed; boundary=c\n\n--c\n\nEVIL\r\n--c--\n", PARTS_FALLBACK, NULL },
	{ "quoted-printable = and space before a line break",
	  "Content-Transfer-Encoding: quoted-printable\r\n\r\na= \r\nb", PARTS_FALLBACK, NULL },
	{ "quoted-printable ==", "Content-Transfer-Encoding: quoted-printable\r\n\r\na==41", PARTS_FALLBACK,
	  NULL },
	{ "quoted-printable lone =", "Content-Transfer-Encoding: quoted-printable\r\n\r\na = b",
	  PARTS_FALLBACK, NULL },
	{ "quoted-printable = before a bare CR",
	  "Content-Transfer-Encoding: quoted-printable\r\n\r\na=\rb", PARTS_FALLBACK, NULL },
	{ "base64 without padding", "Content-Transfer-Encoding: base64\r\n\r\naGk", PARTS_FALLBACK, NULL },
	{ "base64 cut short", "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd", PARTS_FALLBACK, NULL },
	{ "repeated Content-Type",
	  "Content-Type: text/plain\r\nContent-Type: application/zip\r\n\r\nx", PARTS_FALLBACK, NULL },
	{ "repeated encoding", "Content-Transfer-Encoding: base64\r\n"
	  "Content-Transfer-Encoding: 7bit\r\n\r\nx", PARTS_FALLBACK, NULL },
	{ "header line without colon", "Subject: x\r\nnot a header\r\n\r\nx", PARTS_FALLBACK, NULL },
	{ "NUL in a header", "Subject: a\0b\r\n\r\nx", PARTS_FALLBACK, NULL },
	{ "multipart without boundary", "Content-Type: multipart/mixed\r\n\r\nx", PARTS_FALLBACK, NULL },
	{ "RFC 2231 boundary", "Content-Type: multipart/mixed; boundary*=''b\r\n\r\n--b\r\n\r\nx\r\n--b--",
	  PARTS_FALLBACK, NULL },
	{ "two boundaries", "Content-Type: multipart/mixed; boundary=a; boundary=b\r\n\r\n--a--",
	  PARTS_FALLBACK, NULL },
	{ "comment in Content-Type", "Content-Type: multipart/mixed; (c) boundary=a\r\n\r\n--a--",
	  PARTS_FALLBACK, NULL },
	{ "unparsable Content-Type", "Content-Type: multipart\r\n\r\nx", PARTS_FALLBACK, NULL },
	{ "missing close delimiter", MP("b1") "--b1\r\n\r\nx\r\n", PARTS_FALLBACK, NULL },
	{ "no delimiter at all", MP("b1") "just text\r\n", PARTS_FALLBACK, NULL },
	{ "line that starts like a delimiter", MP("b1") "--b1\r\n\r\nx\r\n--b1x\r\n\r\ny\r\n--b1--\r\n",
	  PARTS_FALLBACK, NULL },
	{ "nested boundary equal to the outer one",
	  MP("b") "--b\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n"
	  "--b--\r\n", PARTS_FALLBACK, NULL },
	{ "nested boundary a prefix of the outer one",
	  MP("bb") "--bb\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n"
	  "--bb--\r\n", PARTS_FALLBACK, NULL },
	{ "encoded multipart", "Content-Type: multipart/mixed; boundary=b\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\nLS1iLS0=", PARTS_FALLBACK, NULL },
	{ "message/partial", "Content-Type: message/partial; id=\"x\"; number=1\r\n\r\nx",
	  PARTS_FALLBACK, NULL },
	{ "x-uuencode encoding", "Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 a\r\n",
	  PARTS_FALLBACK, NULL },
	{ "uuencode in text", "Subject: x\r\n\r\nsee below\r\nbegin 644 clam.exe\r\nM35J0\r\nend\r\n",
	  PARTS_FALLBACK, NULL },
	{ "uuencode in a base64 leaf", "Content-Transfer-Encoding: base64\r\n\r\n"
	  "YmVnaW4gNjQ0IGEuZXhlCg==", PARTS_FALLBACK, NULL },
	{ "uuencode -m in text", "Subject: x\r\n\r\nhi\r\nbegin-base64 644 a.exe\r\nTVo=\r\n====\r\n",
	  PARTS_FALLBACK, NULL },
	{ "yEnc", "Subject: x\r\n\r\n=ybegin line=128 size=5 name=a.exe\r\n", PARTS_FALLBACK, NULL },
	{ "BinHex in text", "Subject: x\r\n\r\nhi\r\n(This file must be converted with BinHex 4.0)\r\n",
	  PARTS_FALLBACK, NULL },
	{ "base64 with foreign bytes", "Content-Transfer-Encoding: base64\r\n\r\naGVs!bG8=",
	  PARTS_FALLBACK, NULL },
	{ "base64 after its padding", "Content-Transfer-Encoding: base64\r\n\r\naGk=\r\naGk=",
	  PARTS_FALLBACK, NULL },
};

/* "begin" in prose is not uuencode. */
static const char prose[] = "Subject: x\r\n\r\nbegin the meeting at 10\r\nbegin 64 x\r\n";

static void
check_case(const char *name, const char *msg, size_t len, int want_rc, const char *want)
{
	struct got g;
	int rc;

	memset(&g, 0, sizeof(g));
	rc = parts_walk(msg, len, collect, &g);
	if (rc != want_rc) {
		TEST_FAIL("%s: rc %d, want %d (leaves %s)", name, rc, want_rc, g.buf);
	} else if (want != NULL && strcmp(g.buf, want) != 0) {
		TEST_FAIL("%s:\n   got  %s\n   want %s", name, g.buf, want);
	}
}

/* Deeper than PARTS_MAXDEPTH, and more than PARTS_MAXLEAVES leaves. */
static void
limits(void)
{
	char *m = malloc(1 << 20), *p = m;
	struct got g;
	int rc;

	for (int i = 0; i <= PARTS_MAXDEPTH + 1; i++)
		p += sprintf(p, "Content-Type: multipart/mixed; boundary=d%02d\r\n\r\n--d%02d\r\n", i, i);
	p += sprintf(p, "\r\nx\r\n");
	for (int i = PARTS_MAXDEPTH + 1; i >= 0; i--)
		p += sprintf(p, "--d%02d--\r\n", i);
	check_case("too deep", m, (size_t)(p - m), PARTS_FALLBACK, NULL);

	/* Nested exactly as deep as allowed (two levels per multipart part:
	 * the part and its multipart body), distinct boundaries: walked. */
	p = m;
	for (int i = 0; i < PARTS_MAXDEPTH / 2; i++)
		p += sprintf(p, "Content-Type: multipart/mixed; boundary=d%02d\r\n\r\n--d%02d\r\n", i, i);
	p += sprintf(p, "\r\nx\r\n");
	for (int i = PARTS_MAXDEPTH / 2 - 1; i >= 0; i--)
		p += sprintf(p, "--d%02d--\r\n", i);
	check_case("deep but allowed", m, (size_t)(p - m), 0, "[-]x|");

	p = m + sprintf(m, MP("b"));
	for (int i = 0; i <= PARTS_MAXLEAVES; i++)
		p += sprintf(p, "--b\r\n\r\n%d\r\n", i);
	p += sprintf(p, "--b--\r\n");
	check_case("too many leaves", m, (size_t)(p - m), PARTS_FALLBACK, NULL);

	memset(&g, 0, sizeof(g));
	g.stop_at = 2;
	p = m + sprintf(m, MP("b") "--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b--\r\n");
	rc = parts_walk(m, (size_t)(p - m), collect, &g);
	if (rc != 7 || g.n != 2) {
		TEST_FAIL("stop: rc %d after %d leaves, want 7 after 2", rc, g.n);
	}
	free(m);
}

/* The cases[] table above, each row in turn. */
static void
walk_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* The NUL case needs its length: every message ends at its last x. */
		size_t len = strlen(cases[i].msg);

		if (strcmp(cases[i].name, "NUL in a header") == 0)
			len = 17;
		check_case(cases[i].name, cases[i].msg, len, cases[i].rc, cases[i].leaves);
	}
}

static void
walk_prose(void)
{
	check_case("begin in prose", prose, sizeof(prose) - 1, 0,
	    "[-]begin the meeting at 10\r\nbegin 64 x\r\n|");
}

static const struct test_case test_cases[] = {
	{ "parts_walk table",			walk_table },
	{ "begin in prose",			walk_prose },
	{ "depth and leaf limits, stop",	limits },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(test_cases);
}
