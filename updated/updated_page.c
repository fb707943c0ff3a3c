/*
 * page - the install page and the denial page (see updated_page.h).
 *
 * The pages are built whole in memory (a few KiB) by page_install_html()
 * and page_status_html(), pure functions of their inputs, and sent by
 * httpd_html() with a Content-Security-Policy that allows no script, no
 * external resource and forms only to this server.  Everything that is not
 * a literal of this file -- the subscriber's name, the package fields (the
 * operator's text, possibly hostile), the strings table (the operator's
 * translation) -- goes through page_esc(), which HTML-escapes it and
 * replaces bytes that are not UTF-8 text.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpd.h"
#include "updated.h"
#include "updated_packages.h"
#include "updated_page.h"
#include "updated_strings.h"

/* No script, no external resource; the inline style sheet; forms to us. */
#define PAGE_CSP "default-src 'none'; style-src 'unsafe-inline'; img-src data:; " \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/*
 * Contrast (WCAG 2 relative luminance; 4.5:1 is the floor): text #1a1a1a
 * on #ffffff 17.4:1 and on the sections' #f4f6f8 16.1:1, secondary text
 * #4d4d4d 8.4:1 and 7.8:1, button text #ffffff on #0b5394 7.8:1 (hover
 * #073763 12.1:1), links #0b5394 7.8:1, focus ring #1a1a1a.  The browser
 * test measures the rendered colours (tests/browser/install_page.js).
 */
static const char page_style[] =
	"<style>\n"
	"html{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"DejaVu Sans\",sans-serif;"
	"font-size:100%;line-height:1.5;color:#1a1a1a;background:#ffffff}\n"
	"body{margin:0}\n"
	"main{max-width:50rem;margin:0 auto;padding:1.5rem 1rem 3rem}\n"
	"h1{font-size:1.75rem;line-height:1.25;margin:0 0 .75rem;overflow-wrap:anywhere}\n"
	"h2{font-size:1.25rem;margin:0 0 .5rem}\n"
	"p{margin:0 0 1rem}\n"
	"section{background:#f4f6f8;border:1px solid #c4cbd3;border-radius:.5rem;"
	"padding:1rem 1.25rem;margin:0 0 1.25rem}\n"
	"dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}\n"
	"dt{font-weight:600;color:#4d4d4d}\n"
	"dd{margin:0;min-width:0;overflow-wrap:anywhere}\n"
	"code{font-family:ui-monospace,\"DejaVu Sans Mono\",Menlo,Consolas,monospace;"
	"font-size:.9rem;word-break:break-all}\n"
	".none{color:#4d4d4d;margin:0}\n"
	"button{font:inherit;font-weight:600;color:#ffffff;background:#0b5394;"
	"border:2px solid #0b5394;border-radius:.375rem;padding:.5rem 1.5rem;cursor:pointer}\n"
	"button:hover{background:#073763;border-color:#073763}\n"
	"button:focus-visible,a:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}\n"
	"a{color:#0b5394}\n"
	"</style>\n";

/* A growing text; oom set on the first failed allocation (the rest is
 * skipped and page_done() returns NULL). */
struct page_buf {
	char    *p;
	size_t   len, cap;
	int      oom;
};

static void
page_grow(struct page_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->oom || b->len + more + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->oom = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void
page_putn(struct page_buf *b, const char *s, size_t n)
{
	page_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* A literal of this file (markup). */
static void
page_put(struct page_buf *b, const char *s)
{
	page_putn(b, s, strlen(s));
}

/* Markup with numbers only: never with a %s of outside text. */
static void
page_printf(struct page_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
page_printf(struct page_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->oom = 1;
		return;
	}
	page_putn(b, tmp, (size_t)n);
}

/*
 * Outside text, escaped for element content and quoted attribute values
 * alike: & < > " ' as references; bytes that are not UTF-8 and control
 * characters other than tab and newline as U+FFFD.
 */
static void
page_escn(struct page_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		size_t len = strings_utf8(p, (size_t)(end - p));

		if (len == 0 || (len == 1 && ((*p < 0x20 && *p != '\t' && *p != '\n') ||
		    *p == 0x7f)) || (len == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			page_put(b, "\xef\xbf\xbd");
			p += len ? len : 1;
			continue;
		}
		switch (*p) {
		case '&':  page_put(b, "&amp;"); break;
		case '<':  page_put(b, "&lt;"); break;
		case '>':  page_put(b, "&gt;"); break;
		case '"':  page_put(b, "&quot;"); break;
		case '\'': page_put(b, "&#39;"); break;
		default:   page_putn(b, (const char *)p, len); break;
		}
		p += len;
	}
}

static void
page_esc(struct page_buf *b, const char *s)
{
	page_escn(b, s, strlen(s));
}

/* The text of key k, escaped. */
static void
page_str(struct page_buf *b, const struct strings *t, enum strings_key k)
{
	page_esc(b, strings_text(t, k));
}

static char *
page_done(struct page_buf *b)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

static void
page_head(struct page_buf *b, const struct strings *t, enum strings_key title)
{
	page_put(b, "<!DOCTYPE html>\n<html lang=\"");
	page_str(b, t, S_LANG);
	page_put(b, "\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<meta name=\"referrer\" content=\"no-referrer\">\n"
	    /* No /favicon.ico request (a 404 and a console error). */
	    "<link rel=\"icon\" href=\"data:,\">\n<title>");
	page_str(b, t, title);
	page_put(b, "</title>\n");
	page_put(b, page_style);
	page_put(b, "</head>\n<body>\n<main>\n");
}

static void
page_tail(struct page_buf *b)
{
	page_put(b, "</main>\n</body>\n</html>\n");
}

/* "1.4 MiB" (the decimal mark of the strings), "512 bytes" below 1 KiB. */
static void
page_size(struct page_buf *b, const struct strings *t, uint64_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	uint64_t scale = 1024, tenths;
	size_t u = 0;

	if (size < 1024) {
		page_printf(b, "%" PRIu64 " ", size);
		page_str(b, t, S_BYTES);
		return;
	}
	while (u + 1 < sizeof(units) / sizeof(units[0]) && size / scale >= 1024)
		scale *= 1024, u++;
	/* Rounded to tenths without overflow: whole units, then the rest. */
	tenths = size / scale * 10 + ((size % scale) * 10 + scale / 2) / scale;
	if (tenths % 10 == 0 || tenths >= 1000) {
		page_printf(b, "%" PRIu64 " %s", (tenths + 5) / 10, units[u]);
		return;
	}
	page_printf(b, "%" PRIu64, tenths / 10);
	page_str(b, t, S_DECIMAL);
	page_printf(b, "%" PRIu64 " %s", tenths % 10, units[u]);
}

/* One platform's section: its heading, the package or the "none" line. */
static void
page_platform(struct page_buf *b, const struct strings *t, unsigned idx, const char *platform,
    const struct pkg *p)
{
	char iso[32], shown[32];
	struct tm tm;
	time_t when;

	page_printf(b, "<section aria-labelledby=\"platform-%u\">\n<h2 id=\"platform-%u\">", idx, idx);
	if (strcmp(platform, "debian") == 0)
		page_str(b, t, S_PLATFORM_DEBIAN);
	else if (strcmp(platform, "rpm") == 0)
		page_str(b, t, S_PLATFORM_RPM);
	else if (strcmp(platform, "windows") == 0)
		page_str(b, t, S_PLATFORM_WINDOWS);
	else
		page_esc(b, platform);
	page_put(b, "</h2>\n");
	if (p == NULL) {
		page_put(b, "<p class=\"none\">");
		page_str(b, t, S_INSTALL_NONE);
		page_put(b, "</p>\n</section>\n");
		return;
	}

	page_printf(b, "<dl id=\"package-%u\">\n<dt>", idx);
	page_str(b, t, S_FIELD_PACKAGE);
	page_put(b, "</dt><dd>");
	page_esc(b, p->name);
	page_put(b, "</dd>\n<dt>");
	page_str(b, t, S_FIELD_VERSION);
	page_put(b, "</dt><dd>");
	page_esc(b, p->version);
	page_put(b, "</dd>\n<dt>");
	page_str(b, t, S_FIELD_SIZE);
	page_printf(b, "</dt><dd><data value=\"%" PRIu64 "\">", p->size);
	page_size(b, t, p->size);
	page_put(b, "</data>");
	if (p->size >= 1024) {          /* the exact size too, when it was rounded */
		page_printf(b, " (%" PRIu64 " ", p->size);
		page_str(b, t, S_BYTES);
		page_put(b, ")");
	}
	page_put(b, "</dd>\n<dt>");
	page_str(b, t, S_FIELD_SHA256);
	page_put(b, "</dt><dd><code>");
	page_esc(b, p->sha256);
	page_put(b, "</code></dd>\n<dt>");
	page_str(b, t, S_FIELD_PUBLISHED);
	page_put(b, "</dt><dd>");
	when = (time_t)p->published;
	if (gmtime_r(&when, &tm) != NULL && strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm) &&
	    strftime(shown, sizeof(shown), "%Y-%m-%d %H:%M UTC", &tm)) {
		page_put(b, "<time datetime=\"");
		page_put(b, iso);
		page_put(b, "\">");
		page_put(b, shown);
		page_put(b, "</time>");
	}
	page_put(b, "</dd>\n</dl>\n");

	/* A plain GET form: the button works without script; its name is
	 * "Install" and the platform's heading, its description the package. */
	page_put(b, "<form method=\"get\" action=\"/bundle/");
	for (const char *c = platform; *c != '\0'; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.' || *c == '~')
			page_putn(b, c, 1);
		else
			page_printf(b, "%%%02X", (unsigned char)*c);
	}
	page_printf(b, "\">\n<button type=\"submit\" id=\"install-%u\" "
	    "aria-labelledby=\"install-%u platform-%u\" aria-describedby=\"package-%u\">",
	    idx, idx, idx, idx);
	page_str(b, t, S_INSTALL_BUTTON);
	page_put(b, "</button>\n</form>\n</section>\n");
}

static const char *const page_platforms[] = { "debian", "rpm", "windows" };

static char *
page_install_build(const struct strings *t, const char *subscriber, const struct pkg *pkgs,
    size_t n)
{
	struct page_buf b = { 0 };
	const char *h = strings_text(t, S_INSTALL_HEADING), *at;
	unsigned idx = 0;

	page_head(&b, t, S_INSTALL_TITLE);
	page_put(&b, "<h1>");
	if (subscriber == NULL || subscriber[0] == '\0')
		page_str(&b, t, S_INSTALL_TITLE);
	else {
		/* Every "{subscriber}" in the heading is the name. */
		while ((at = strstr(h, "{subscriber}")) != NULL) {
			page_escn(&b, h, (size_t)(at - h));
			page_esc(&b, subscriber);
			h = at + strlen("{subscriber}");
		}
		page_esc(&b, h);
	}
	page_put(&b, "</h1>\n<p>");
	page_str(&b, t, S_INSTALL_INTRO);
	page_put(&b, "</p>\n");

	/* The platforms bundles are built for, each with its package or the
	 * "none" line; then any other platform the store lists. */
	for (size_t i = 0; i < sizeof(page_platforms) / sizeof(page_platforms[0]); i++) {
		const struct pkg *p = NULL;

		for (size_t j = 0; j < n && p == NULL; j++)
			if (strcmp(pkgs[j].platform, page_platforms[i]) == 0)
				p = &pkgs[j];
		page_platform(&b, t, ++idx, page_platforms[i], p);
	}
	for (size_t j = 0; j < n; j++) {
		size_t i;

		for (i = 0; i < sizeof(page_platforms) / sizeof(page_platforms[0]); i++)
			if (strcmp(pkgs[j].platform, page_platforms[i]) == 0)
				break;
		if (i == sizeof(page_platforms) / sizeof(page_platforms[0]))
			page_platform(&b, t, ++idx, pkgs[j].platform, &pkgs[j]);
	}
	page_tail(&b);
	return page_done(&b);
}

static char *
page_status_build(const struct strings *t, unsigned status, int suspended)
{
	struct page_buf b = { 0 };
	enum strings_key title, text, advice;

	if (status == 401) {
		title = S_LOGIN_TITLE, text = S_LOGIN_TEXT, advice = S_NKEYS;
	} else if (status == 403 && suspended) {
		title = S_SUSPENDED_TITLE, text = S_SUSPENDED_TEXT, advice = S_SUSPENDED_ADVICE;
	} else if (status == 403) {
		title = S_DENY_TITLE, text = S_DENY_TEXT, advice = S_DENY_ADVICE;
	} else if (status == 429) {
		title = S_THROTTLED_TITLE, text = S_THROTTLED_TEXT, advice = S_NKEYS;
	} else {
		title = S_ERROR_TITLE, text = S_ERROR_TEXT, advice = S_NKEYS;
	}
	page_head(&b, t, title);
	page_put(&b, "<h1>");
	page_str(&b, t, title);
	page_put(&b, "</h1>\n<p>");
	page_str(&b, t, text);
	page_put(&b, "</p>\n");
	if (advice != S_NKEYS) {
		page_put(&b, "<p>");
		page_str(&b, t, advice);
		page_put(&b, "</p>\n");
	}
	if (status == 403 && !suspended) {
		page_put(&b, "<p><a href=\"/login\">");
		page_str(&b, t, S_DENY_LOGIN);
		page_put(&b, "</a></p>\n");
	} else if (status == 401) {
		page_put(&b, "<p><a href=\"/\">");
		page_str(&b, t, S_LOGIN_BACK);
		page_put(&b, "</a></p>\n");
	}
	page_tail(&b);
	return page_done(&b);
}

char *
page_install_html(const char *lang, const char *subscriber, const struct pkg *pkgs, size_t n)
{
	const struct strings *t = strings_get(lang);
	char *html = page_install_build(t, subscriber, pkgs, n);

	strings_put(t);
	return html;
}

char *
page_denied_html(const char *lang, int suspended)
{
	return page_status_html(lang, 403, suspended);
}

char *
page_status_html(const char *lang, unsigned status, int suspended)
{
	const struct strings *t = strings_get(lang);
	char *html = page_status_build(t, status, suspended);

	strings_put(t);
	return html;
}

enum MHD_Result
page_install(struct httpd_req *r, const struct ud_conf *c, const struct ud_who *who,
    const struct pkg *pkgs, size_t n)
{
	char *html = page_install_html(c->u.language, who != NULL ? who->name : "", pkgs, n);

	if (html == NULL)
		return MHD_NO;
	return httpd_html(r, MHD_HTTP_OK, html, PAGE_CSP);
}

enum MHD_Result
page_denied(struct httpd_req *r, const struct ud_conf *c, const struct ud_who *who,
    unsigned status)
{
	char *html = page_status_html(c->u.language, status,
	    who != NULL && who->suspended);

	if (html == NULL)
		return MHD_NO;
	return httpd_html(r, status, html, PAGE_CSP);
}
