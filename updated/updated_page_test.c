/*
 * updated_page_test - the install and denial pages against golden files,
 * and the strings loader.
 *
 * Each golden case renders a page from fixed inputs and compares it byte
 * for byte with updated/testdata/page/NAME.html; updated/strings/en.txt is
 * compared with the built-in English table written out.  MOAT_UPDATE_GOLDEN=1
 * rewrites those files instead (look at the diff before committing it).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "updated_packages.h"
#include "updated_page.h"
#include "updated_strings.h"
#include "moat_test.h"

static const char *
src_dir(void)
{
	const char *src = getenv("MOAT_SRC");

	return src != NULL ? src : ".";
}

static char *
slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (b = malloc((size_t)n + 1)) != NULL) {
		size_t got = fread(b, 1, (size_t)n, f);

		b[got] = '\0';
		if (lenp != NULL)
			*lenp = got;
	}
	fclose(f);
	return b;
}

static int
spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	if (fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* got against the file want (or rewrites it): the first differing line. */
static void
golden_cmp(const char *want_path, const char *got)
{
	const char *g, *w;
	char *want;
	int line = 1;

	if (got == NULL)
		TEST_FATAL("no output for %s", want_path);
	if (getenv("MOAT_UPDATE_GOLDEN") != NULL) {
		if (spit(want_path, got, strlen(got)) == -1)
			TEST_FAIL("cannot write %s: %s", want_path, strerror(errno));
		return;
	}
	if ((want = slurp(want_path, NULL)) == NULL)
		TEST_FATAL("cannot read %s (MOAT_UPDATE_GOLDEN=1 writes it)", want_path);
	g = got, w = want;
	while (*g != '\0' && *g == *w) {
		if (*g == '\n')
			line++;
		g++, w++;
	}
	if (*g != *w) {
		while (g > got && g[-1] != '\n')
			g--, w--;
		TEST_FAIL("%s line %d:\n  got  %.*s\n  want %.*s", want_path, line,
		    (int)strcspn(g, "\n"), g, (int)strcspn(w, "\n"), w);
	}
	free(want);
}

static void
golden_page(const char *name, const char *got)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/updated/testdata/page/%s.html", src_dir(), name);
	golden_cmp(path, got);
}

static const char *
de_path(void)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/updated/strings/de.txt", src_dir());
	return path;
}

/* 2026-03-01 12:34:56 UTC and a day before. */
#define T_PUB1 1772368496LL
#define T_PUB2 (T_PUB1 - 86400)

static const struct pkg pkgs_demo[] = {
	{ 1, "debian", "moat-av-client", "1.4.2-1", "moat-av-client_1.4.2-1_amd64.deb",
	  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 1468006, T_PUB1 },
	{ 2, "windows", "Moat AV Client", "1.4.2", "moat-av-client-1.4.2.msi",
	  "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", 24117248, T_PUB2 },
};

/* Operator text at its worst: markup, quotes, entities, bytes that are not
 * UTF-8, control characters, a platform the page does not know. */
static const struct pkg pkgs_hostile[] = {
	{ 1, "debian", "\"><script>alert(1)</script>", "1.0'><img src=x onerror=alert(2)>",
	  "x.deb", "<b>not-a-hash</b>&amp;", 0, 0 },
	{ 2, "rpm", "caf\xc3\xa9 \xff\xfe bad \x01\x1b[31m", "2.0 & \"more\"", "x.rpm",
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 1023, T_PUB1 },
	{ 3, "beos\"<x>/../", "odd", "1", "odd.bin",
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 1536, T_PUB2 },
};

static const char hostile_name[] =
	"<script>alert(\"owned\")</script> O'Brien & Sons \"Ltd\" </h1><h1>";

static void
case_install_en(void)
{
	char *html = page_install_html("en", "Acme Widgets GmbH", pkgs_demo, 2);

	golden_page("install_en", html);
	TEST_CHECK(html && strstr(html, "No package published yet for this platform.") != NULL,
	    "the rpm platform has no \"none\" line");
	free(html);
}

static void
case_install_hostile(void)
{
	char *html = page_install_html("en", hostile_name, pkgs_hostile, 3);

	golden_page("install_hostile", html);
	if (html == NULL)
		return;
	TEST_CHECK(strstr(html, "<script") == NULL, "a <script element got through");
	TEST_CHECK(strstr(html, "<img") == NULL, "an <img element got through");
	TEST_CHECK(strstr(html, "<b>") == NULL, "a <b> element got through");
	TEST_CHECK(strstr(html, "\xff") == NULL, "a byte that is not UTF-8 got through");
	TEST_CHECK(strstr(html, "\x1b") == NULL, "a control character got through");
	TEST_CHECK(strstr(html, "O&#39;Brien &amp; Sons &quot;Ltd&quot;") != NULL,
	    "the name is not escaped as wanted");
	TEST_CHECK(strstr(html, "action=\"/bundle/beos%22%3Cx%3E%2F..%2F\"") != NULL,
	    "the odd platform's form action is not percent-encoded");
	/* One h1 whatever the name holds. */
	TEST_CHECK(strstr(html, "<h1>") != NULL && strstr(strstr(html, "<h1>") + 1, "<h1") == NULL,
	    "not exactly one <h1>");
	free(html);
}

static void
case_install_empty(void)
{
	char *html = page_install_html("en", "Acme", NULL, 0);
	const char *p = html;
	int nones = 0;

	golden_page("install_empty", html);
	while (p != NULL && (p = strstr(p, "No package published yet")) != NULL)
		nones++, p++;
	TEST_INT_EQ("\"none\" lines", nones, 3);
	TEST_CHECK(html && strstr(html, "<form") == NULL, "a form with no package");
	free(html);
}

static void
case_install_de(void)
{
	char *html = page_install_html(de_path(), "Acme Widgets GmbH", pkgs_demo, 2);

	golden_page("install_de", html);
	if (html == NULL)
		return;
	TEST_CHECK(strstr(html, "<html lang=\"de\">") != NULL, "lang is not de");
	TEST_CHECK(strstr(html, "<h1>Antivirus-Software für Acme Widgets GmbH</h1>") != NULL,
	    "the heading is not German");
	TEST_CHECK(strstr(html, ">Installieren</button>") != NULL, "the button is not German");
	TEST_CHECK(strstr(html, "1,4 MiB</data> (1468006 Byte)") != NULL, "the size is not German");
	TEST_CHECK(strstr(html, "Für diese Plattform wurde noch kein Paket veröffentlicht.") != NULL,
	    "the \"none\" line is not German");
	free(html);
}

static void
case_denied(void)
{
	static const struct {
		const char  *golden, *lang;
		unsigned     status;
		int          suspended;
		const char  *want;
	} c[] = {
		{ "denied_en", "en", 403, 0, "only serves the computers of its provider&#39;s subscribers" },
		{ "denied_suspended_en", "en", 403, 1, "subscription to this service is suspended" },
		{ "denied_de", NULL, 403, 0, "Dieser Server bedient nur" },
		{ "denied_suspended_de", NULL, 403, 1, "ist ausgesetzt" },
		{ "login_en", "en", 401, 0, "needs a subscriber login" },
		{ "throttled_en", "en", 429, 0, "Too many sign-ins from this address failed" },
		{ "throttled_de", NULL, 429, 0, "Zu viele Anmeldungen" },
		{ "error_en", "en", 503, 0, "cannot answer this request right now" },
	};

	for (size_t i = 0; i < TEST_NELEM(c); i++) {
		const char *lang = c[i].lang != NULL ? c[i].lang : de_path();
		char *html = page_status_html(lang, c[i].status, c[i].suspended);

		golden_page(c[i].golden, html);
		if (html == NULL)
			continue;
		TEST_CHECK(strstr(html, c[i].want) != NULL, "%s: no \"%s\"", c[i].golden,
		    c[i].want);
		TEST_CHECK((strstr(html, "href=\"/login\"") != NULL) ==
		    (c[i].status == 403 && !c[i].suspended), "%s: the /login link", c[i].golden);
		free(html);
	}
	/* page_denied_html is the 403. */
	{
		char *a = page_denied_html("en", 1), *b = page_status_html("en", 403, 1);

		TEST_CHECK(a && b && strcmp(a, b) == 0, "page_denied_html is not the 403 page");
		free(a);
		free(b);
	}
}

static void
case_sizes(void)
{
	static const struct {
		uint64_t     size;
		const char  *want;
	} c[] = {
		{ 0,                    ">0 bytes</data></dd>" },
		{ 1023,                 ">1023 bytes</data></dd>" },
		{ 1024,                 ">1 KiB</data> (1024 bytes)" },
		{ 1536,                 ">1.5 KiB</data>" },
		{ 1468006,              ">1.4 MiB</data> (1468006 bytes)" },
		{ 1048576 * 10 - 1,     ">10 MiB</data>" },
		{ 1073741824ULL * 5,    ">5 GiB</data>" },
		{ 1073741824ULL * 1536, ">1.5 TiB</data>" },
		{ UINT64_MAX,           ">16 EiB</data> (18446744073709551615 bytes)" },
	};

	for (size_t i = 0; i < TEST_NELEM(c); i++) {
		struct pkg p = pkgs_demo[0];
		char *html;

		p.size = c[i].size;
		html = page_install_html("en", "x", &p, 1);
		TEST_CHECK(html && strstr(html, c[i].want) != NULL, "size %llu: no \"%s\"",
		    (unsigned long long)c[i].size, c[i].want);
		free(html);
	}
}

/* ---------------------------------------------------------- strings */

static char tmpdir[PATH_MAX];

static const char *
tmpfile_with(const char *name, const char *data, size_t len)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (spit(path, data, len) == -1)
		TEST_FAIL("cannot write %s", path);
	return path;
}

/* The built-in table as en.txt holds it. */
static char *
english_file(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		return NULL;
	fputs("# The strings of moat-updated's install and denial pages: the built-in\n"
	    "# English table, and the reference for translations.  A translation is a\n"
	    "# file of \"KEY = text\" lines in UTF-8 named by updated.language in\n"
	    "# moat.conf; keys it leaves out stay English, keys this file does not have\n"
	    "# are refused.  Texts are plain text (no markup).  In install.heading,\n"
	    "# {subscriber} is the subscriber's name.  Written by updated_page_test\n"
	    "# (MOAT_UPDATE_GOLDEN=1) from updated_strings.h.\n", f);
	for (unsigned k = 0; k < S_NKEYS; k++)
		fprintf(f, "%s = %s\n", strings_key_name(k), strings_text(strings_english(), k));
	fclose(f);
	return out;
}

static void
case_strings_en_reference(void)
{
	char path[PATH_MAX], err[512];
	char *want = english_file();
	struct strings *s;

	snprintf(path, sizeof(path), "%s/updated/strings/en.txt", src_dir());
	golden_cmp(path, want);
	free(want);
	if ((s = strings_load(path, err, sizeof(err))) == NULL)
		TEST_FATAL("en.txt refused: %s", err);
	for (unsigned k = 0; k < S_NKEYS; k++)
		TEST_STR_EQ(strings_key_name(k), strings_text(s, k),
		    strings_text(strings_english(), k));
	strings_put(s);
}

static void
case_strings_de(void)
{
	char err[512];
	struct strings *s = strings_load(de_path(), err, sizeof(err));
	char *file = slurp(de_path(), NULL);

	if (s == NULL)
		TEST_FATAL("de.txt refused: %s", err);
	TEST_STR_EQ("lang", strings_text(s, S_LANG), "de");
	/* Every key translated: each one is in the file. */
	for (unsigned k = 0; k < S_NKEYS && file != NULL; k++) {
		char needle[80];

		snprintf(needle, sizeof(needle), "\n%s = ", strings_key_name(k));
		TEST_CHECK(strstr(file, needle) != NULL, "de.txt has no %s", strings_key_name(k));
	}
	free(file);
	strings_put(s);
}

static void
case_strings_bad(void)
{
	static char big[STRINGS_FILE_MAX + 2];
	static char longline[STRINGS_LINE_MAX + 64];
	static const struct {
		const char  *name, *data;
		size_t       len;             /* 0: strlen */
		const char  *want;            /* in the error */
	} c[] = {
		{ "unknown", "install.button = Go\nsubmit.text = Go\n", 0, ":2: unknown key \"submit.text\"" },
		{ "unknown_odd", "<b> = x\n", 0, ":1: unknown key" },
		{ "twice", "install.button = Go\n\ninstall.button = Go\n", 0, ":3: install.button given twice" },
		{ "no_equals", "# fine\ninstall.button Go\n", 0, ":2: expected KEY = text" },
		{ "empty", "install.button =   \n", 0, ":1: install.button has no text" },
		{ "latin1", "install.button = Gr\xfc\xdf Gott\n", 0, ":1: not UTF-8" },
		{ "overlong", "install.button = \xc0\xbc\n", 0, ":1: not UTF-8" },
		{ "surrogate", "install.button = \xed\xa0\x80\n", 0, ":1: not UTF-8" },
		{ "truncated", "install.button = \xe2\x82", 0, ":1: not UTF-8" },
		{ "control", "install.button = a\x1b[1mb\n", 0, ":1: control character 0x1b" },
		{ "cr_inside", "install.button = a\rb\n", 0, ":1: control character 0x0d" },
		{ "nul", "install.button = a\0b\n", 21, ": a NUL byte" },
		{ "lang", "lang = de\"><script>\n", 0, ":1: lang: expected a language tag" },
		{ "lang_digit", "lang = 1de\n", 0, ":1: lang: expected a language tag" },
		{ "long_line", longline, 0, ":1: line longer than" },
		{ "big", big, 0, ": larger than" },
	};
	char err[512];

	memset(big, '#', sizeof(big) - 1);
	memset(longline, 'x', sizeof(longline) - 1);
	memcpy(longline, "install.button = ", 17);
	for (size_t i = 0; i < TEST_NELEM(c); i++) {
		const char *path = tmpfile_with(c[i].name, c[i].data,
		    c[i].len ? c[i].len : strlen(c[i].data));
		struct strings *s;

		err[0] = '\0';
		if ((s = strings_load(path, err, sizeof(err))) != NULL) {
			TEST_FAIL("%s: accepted", c[i].name);
			strings_put(s);
			continue;
		}
		TEST_CHECK(strstr(err, c[i].want) != NULL, "%s: error \"%s\", want \"%s\"",
		    c[i].name, err, c[i].want);
		TEST_CHECK(strings_check(path, err, sizeof(err)) == -1, "%s: strings_check accepts",
		    c[i].name);
	}
	/* Not a file at all. */
	TEST_CHECK(strings_load(tmpdir, err, sizeof(err)) == NULL && strstr(err, "not a regular file"),
	    "a directory: \"%s\"", err);
	TEST_CHECK(strings_load("/nonexistent/moat/de.txt", err, sizeof(err)) == NULL &&
	    strstr(err, "No such file"), "a missing file: \"%s\"", err);
	TEST_CHECK(strings_check("de", err, sizeof(err)) == -1, "\"de\" (not a path) accepted");
	TEST_CHECK(strings_check("en", err, sizeof(err)) == 0, "\"en\" refused: %s", err);
	TEST_CHECK(strings_check(de_path(), err, sizeof(err)) == 0, "de.txt refused: %s", err);
}

static void
case_strings_partial(void)
{
	static const char data[] =
		"\xef\xbb\xbf# a BOM, comments, CRLF and blanks\r\n"
		"\r\n"
		"   install.button\t=\t  Go now  \r\n"
		"lang = pt-BR\n"
		"install.heading = {subscriber}: {subscriber}";
	const char *path = tmpfile_with("partial", data, sizeof(data) - 1);
	char err[512], *html;
	struct strings *s;

	if ((s = strings_load(path, err, sizeof(err))) == NULL)
		TEST_FATAL("refused: %s", err);
	TEST_STR_EQ("install.button", strings_text(s, S_INSTALL_BUTTON), "Go now");
	TEST_STR_EQ("lang", strings_text(s, S_LANG), "pt-BR");
	TEST_STR_EQ("install.intro (missing: English)", strings_text(s, S_INSTALL_INTRO),
	    strings_text(strings_english(), S_INSTALL_INTRO));
	strings_put(s);
	html = page_install_html(path, "A&B", pkgs_demo, 1);
	TEST_CHECK(html && strstr(html, "<h1>A&amp;B: A&amp;B</h1>"), "the heading's placeholders");
	TEST_CHECK(html && strstr(html, ">Go now</button>"), "the partial table's button");
	TEST_CHECK(html && strstr(html, "aria-describedby=\"package-1\""), "the button's description");
	free(html);
}

/* strings_get: a file that changes is read again; a refused or missing
 * file gives English. */
static void
case_strings_cache(void)
{
	const char *path = tmpfile_with("cache", "install.button = One\n", 21);
	char keep[PATH_MAX + 64];
	const struct strings *a, *b;

	snprintf(keep, sizeof(keep), "%s", path);
	a = strings_get(keep);
	TEST_STR_EQ("first", strings_text(a, S_INSTALL_BUTTON), "One");
	b = strings_get(keep);
	TEST_CHECK(a == b, "the same file version is read twice");
	strings_put(b);
	tmpfile_with("cache", "install.button = Second\n", 24);
	b = strings_get(keep);
	TEST_STR_EQ("changed", strings_text(b, S_INSTALL_BUTTON), "Second");
	TEST_STR_EQ("the old reference stays valid", strings_text(a, S_INSTALL_BUTTON), "One");
	strings_put(a);
	strings_put(b);
	tmpfile_with("cache", "bogus = x\n", 10);
	a = strings_get(keep);
	TEST_CHECK(a == strings_english(), "a refused file does not give English");
	strings_put(a);
	unlink(keep);
	a = strings_get(keep);
	TEST_CHECK(a == strings_english(), "a missing file does not give English");
	strings_put(a);
	TEST_CHECK(strings_get("en") == strings_english(), "\"en\" is not the built-in table");
}

static void
case_utf8(void)
{
	static const struct {
		const char  *s;
		size_t       want;
	} c[] = {
		{ "a", 1 }, { "\xc3\xa9", 2 }, { "\xe2\x82\xac", 3 }, { "\xf0\x9f\x98\x80", 4 },
		{ "\xc1\xbf", 0 }, { "\xe0\x9f\xbf", 0 }, { "\xed\xbf\xbf", 0 },
		{ "\xf4\x90\x80\x80", 0 }, { "\xf5\x80\x80\x80", 0 }, { "\x80", 0 },
		{ "\xc3", 0 }, { "\xe2\x28\xa1", 0 },
	};

	for (size_t i = 0; i < TEST_NELEM(c); i++)
		TEST_INT_EQ(c[i].s, strings_utf8((const unsigned char *)c[i].s, strlen(c[i].s)),
		    c[i].want);
}

static const struct test_case cases[] = {
	{ "install_en",             case_install_en },
	{ "install_hostile",        case_install_hostile },
	{ "install_empty",          case_install_empty },
	{ "install_de",             case_install_de },
	{ "denied",                 case_denied },
	{ "sizes",                  case_sizes },
	{ "strings_en_reference",   case_strings_en_reference },
	{ "strings_de",             case_strings_de },
	{ "strings_bad",            case_strings_bad },
	{ "strings_partial",        case_strings_partial },
	{ "strings_cache",          case_strings_cache },
	{ "utf8",                   case_utf8 },
	{ NULL, NULL }
};

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	int rc;

	log_init("updated_page_test", 1, NULL);
	snprintf(tmpdir, sizeof(tmpdir), "%s/updated_page_test.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return 1;
	}
	rc = test_run(cases);
	if (rc == 0) {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
	return rc;
}
