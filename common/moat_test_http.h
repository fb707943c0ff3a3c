/*
 * moat_test_http.h - the libcurl client of the unit tests that run a real
 * httpd server (httpd_test.c, updated_mirror_test.c): a reply collected
 * whole, and the setup and ending every request of theirs shares.
 *
 *     CURL *c = curl_easy_init();
 *     struct curl_slist *hs = NULL;
 *
 *     test_http_start(c, &r, "GET");
 *     curl_easy_setopt(c, CURLOPT_URL, url);    ... and the test's own options
 *     test_http_perform(c, hs, &r);             r.status, r.head, r.body
 *
 * Header only, as moat_test.h.
 */
#ifndef MOAT_TEST_HTTP_H
#define MOAT_TEST_HTTP_H

#include <string.h>

#include <curl/curl.h>

/* One reply: body and head keep their first sizeof - 1 bytes,
 * NUL-terminated; len counts every body byte received, kept or not. */
struct test_reply {
	long      status;
	char      body[8192];
	size_t    len;
	char      head[8192];
	size_t    hlen;
	CURLcode  rc;
};

static inline size_t
test_http_body(char *p, size_t sz, size_t n, void *arg)
{
	struct test_reply *r = arg;
	size_t k = sz * n;

	if (r->len < sizeof(r->body) - 1) {
		size_t c = k < sizeof(r->body) - 1 - r->len ? k : sizeof(r->body) - 1 - r->len;
		memcpy(r->body + r->len, p, c);
		r->body[r->len + c] = '\0';
	}
	r->len += k;
	return k;
}

static inline size_t
test_http_head(char *p, size_t sz, size_t n, void *arg)
{
	struct test_reply *r = arg;
	size_t k = sz * n;

	if (k > sizeof(r->head) - 1 - r->hlen)
		k = sizeof(r->head) - 1 - r->hlen;
	memcpy(r->head + r->hlen, p, k);
	r->hlen += k;
	r->head[r->hlen] = '\0';
	return sz * n;
}

/* Clears out and points c's reply at it: no body read for HEAD, 10 s
 * for the whole request. */
static inline void
test_http_start(CURL *c, struct test_reply *out, const char *method)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, test_http_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, test_http_head);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
}

/* Sends the request with the header lines hs (or NULL), fills in out's
 * rc and status, and frees hs and c. */
static inline void
test_http_perform(CURL *c, struct curl_slist *hs, struct test_reply *out)
{
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	out->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hs);
	curl_easy_cleanup(c);
}

#endif
