/*
 * updated_page - PLACEHOLDER of the integrator's core so that it serves
 * before the page module lands (branch u-page replaces this whole file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "updated.h"
#include "updated_packages.h"
#include "updated_page.h"

char *
page_install_html(const char *lang, const char *subscriber, const struct pkg *pkgs, size_t n)
{
	(void)lang;
	(void)subscriber;
	(void)pkgs;
	(void)n;
	return strdup("<!doctype html><title>Install</title>\n");
}

char *
page_denied_html(const char *lang, int suspended)
{
	(void)lang;
	return strdup(suspended ? "<!doctype html><title>Suspended</title>\n" :
	    "<!doctype html><title>Forbidden</title>\n");
}

enum MHD_Result
page_install(struct httpd_req *r, const struct ud_conf *c, const struct ud_who *who,
    const struct pkg *pkgs, size_t n)
{
	char *h = page_install_html(c->u.language, who->name, pkgs, n);
	enum MHD_Result rc;

	if (h == NULL)
		return MHD_NO;
	rc = httpd_text(r, MHD_HTTP_OK, "text/html; charset=utf-8", h, strlen(h));
	free(h);
	return rc;
}

enum MHD_Result
page_denied(struct httpd_req *r, const struct ud_conf *c, const struct ud_who *who,
    unsigned status)
{
	char *h = page_denied_html(c->u.language, who->suspended);
	enum MHD_Result rc;

	if (h == NULL)
		return MHD_NO;
	rc = httpd_text(r, status, "text/html; charset=utf-8", h, strlen(h));
	free(h);
	return rc;
}
