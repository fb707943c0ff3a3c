/*
 * page - the install page at "/" and the denial page (updated_page.c):
 * HTML that works without JavaScript, accessible (landmarks, headings, a
 * label per control, contrast), every visible string from a strings table
 * (built-in English, or a strings file named by updated.language) so it can
 * be localised.  Everything interpolated is HTML-escaped.
 */
#ifndef MOAT_UPDATED_PAGE_H
#define MOAT_UPDATED_PAGE_H

#include <stddef.h>
#include <microhttpd.h>

struct httpd_req;
struct ud_conf;
struct ud_who;
struct pkg;

/* 200: the subscriber's name and, per platform, the package (name,
 * version, size, SHA-256, publish date) with an Install button: a form
 * GETting /bundle/PLATFORM. */
enum MHD_Result page_install(struct httpd_req *r, const struct ud_conf *c,
    const struct ud_who *who, const struct pkg *pkgs, size_t n);
/* 403 (or another status): why, in the page's words; no detail of who
 * our subscribers are. */
enum MHD_Result page_denied(struct httpd_req *r, const struct ud_conf *c,
    const struct ud_who *who, unsigned status);

/* Pure, for golden tests: the pages' HTML (malloc'd), NULL when out of
 * memory. */
char *page_install_html(const char *lang, const char *subscriber, const struct pkg *pkgs,
    size_t n);
char *page_denied_html(const char *lang, int suspended);
/* page_denied()'s page for any status: 401 asks for a login (with a link
 * back to the install page), 403 refuses (the suspended subscriber's own
 * words when suspended), 429 says to wait after failed logins, anything
 * else is "try again later". */
char *page_status_html(const char *lang, unsigned status, int suspended);

#endif
