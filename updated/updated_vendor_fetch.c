/*
 * vendor_fetch - one bounded libcurl transfer from a vendor: http(s) only
 * (redirects too), a time limit per attempt, a size limit (the declared
 * length refused up front, the bytes counted as they come), conditional
 * requests (If-None-Match / If-Modified-Since from the last 200's
 * validators), retries with exponential backoff, Retry-After honoured on
 * 429 and 503.  The body goes into a file (hashed on the way) or memory.
 * Ownership: the caller's struct vendor_fetch; vendor_fetch_free() frees
 * its body.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <nettle/sha2.h>

#include "log.h"
#include "updated_vendor.h"

#define VENDOR_BACKOFF_MAX 300L   /* seconds between two attempts, at most */

struct vendor_xfer {
	struct vendor_fetch *f;
	CURL                *curl;
	struct sha256_ctx    sha;
	uint64_t             got;
	size_t               cap;
	int                  too_big;
	int                  io_error;
	int                  keep;     /* the status is 200: keep the bytes */
	int                  checked;
};

static size_t
vendor_fetch_write(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct vendor_xfer *x = arg;
	struct vendor_fetch *f = x->f;
	size_t n = sz * nmemb;

	if (!x->checked) {
		long code = 0;

		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
		x->keep = code == 200;
		x->checked = 1;
	}
	if (!x->keep)
		return n;      /* an error page: read and dropped */
	if (x->got + n > f->max) {
		x->too_big = 1;
		return 0;
	}
	x->got += n;
	sha256_update(&x->sha, n, (const uint8_t *)p);
	if (f->fd != -1) {
		for (size_t off = 0; off < n;) {
			ssize_t w = write(f->fd, p + off, n - off);

			if (w == -1 && errno == EINTR)
				continue;
			if (w <= 0) {
				x->io_error = errno != 0 ? errno : EIO;
				return 0;
			}
			off += (size_t)w;
		}
		return n;
	}
	if (f->len + n + 1 > x->cap) {
		size_t cap = x->cap == 0 ? 16384 : x->cap;
		char *b;

		while (cap < f->len + n + 1)
			cap *= 2;
		if ((b = realloc(f->body, cap)) == NULL) {
			x->io_error = ENOMEM;
			return 0;
		}
		f->body = b;
		x->cap = cap;
	}
	memcpy(f->body + f->len, p, n);
	f->len += n;
	f->body[f->len] = '\0';
	return n;
}

/* Ends a transfer at once when the puller is stopping. */
static int
vendor_fetch_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)arg; (void)dt; (void)dn; (void)ut; (void)un;
	return vendor_stopping() ? 1 : 0;
}

/* Copies header name of the last response into buf (empty when none). */
static void
vendor_fetch_header(CURL *c, const char *name, char *buf, size_t len)
{
	struct curl_header *h;

	buf[0] = '\0';
	if (curl_easy_header(c, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
	    strlen(h->value) < len) {
		/* Sent back verbatim in a request header: no controls. */
		for (const char *p = h->value; *p != '\0'; p++)
			if ((unsigned char)*p < ' ' || *p == 0x7f)
				return;
		snprintf(buf, len, "%s", h->value);
	}
}

/* Empties what an earlier attempt left. */
static int
vendor_fetch_reset(struct vendor_fetch *f, struct vendor_xfer *x)
{
	free(f->body);
	f->body = NULL;
	f->len = 0;
	x->cap = 0;
	x->got = 0;
	x->too_big = x->io_error = x->keep = x->checked = 0;
	sha256_init(&x->sha);
	if (f->fd != -1 && (ftruncate(f->fd, 0) == -1 || lseek(f->fd, 0, SEEK_SET) == -1))
		return -1;
	return 0;
}

int
vendor_fetch_run(struct vendor_fetch *f, char *err, size_t errlen)
{
	struct vendor_xfer x;
	struct curl_slist *hdrs = NULL;
	char line[320], cerr[CURL_ERROR_SIZE];
	CURL *c;
	int rc = -1;

	memset(&x, 0, sizeof(x));
	x.f = f;
	f->body = NULL;
	f->len = 0;
	f->status = 0;
	f->attempts = 0;
	f->waited = 0;
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	x.curl = c;
	if (f->conditional && f->etag[0] != '\0') {
		snprintf(line, sizeof(line), "If-None-Match: %s", f->etag);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (f->conditional && f->last_modified[0] != '\0') {
		snprintf(line, sizeof(line), "If-Modified-Since: %s", f->last_modified);
		hdrs = curl_slist_append(hdrs, line);
	}
	curl_easy_setopt(c, CURLOPT_URL, f->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, f->timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, f->timeout < 30 ? f->timeout : 30L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "moat-updated");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, vendor_fetch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, vendor_fetch_progress);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);

	for (;;) {
		CURLcode cc;
		curl_off_t ra = -1;
		long wait;
		int retryable;

		f->attempts++;
		cerr[0] = '\0';
		if (vendor_fetch_reset(f, &x) == -1) {
			snprintf(err, errlen, "truncate: %s", strerror(errno));
			break;
		}
		cc = curl_easy_perform(c);
		f->status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
		if (x.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
			snprintf(err, errlen, "%s: larger than %llu bytes", f->url,
			    (unsigned long long)f->max);
			break;               /* the same next time: no retry */
		}
		if (x.io_error != 0) {
			snprintf(err, errlen, "%s: writing: %s", f->url, strerror(x.io_error));
			break;
		}
		if (vendor_stopping()) {
			snprintf(err, errlen, "%s: stopping", f->url);
			break;
		}
		if (cc == CURLE_OK && f->status == 200) {
			f->size = x.got;
			sha256_digest(&x.sha, sizeof(f->sha256), f->sha256);
			vendor_fetch_header(c, "ETag", f->etag, sizeof(f->etag));
			vendor_fetch_header(c, "Last-Modified", f->last_modified,
			    sizeof(f->last_modified));
			rc = 1;
			break;
		}
		if (cc == CURLE_OK && (f->status == 304 || f->status == 404)) {
			rc = 0;
			break;
		}
		if (cc != CURLE_OK) {
			snprintf(err, errlen, "%s: %s", f->url,
			    cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
			retryable = 1;
		} else {
			snprintf(err, errlen, "%s: HTTP status %ld", f->url, f->status);
			retryable = f->status == 429 || f->status >= 500;
		}
		if (!retryable || f->attempts > f->retries)
			break;
		wait = 1L << (f->attempts - 1 < 8 ? f->attempts - 1 : 8);
		if (wait > VENDOR_BACKOFF_MAX)
			wait = VENDOR_BACKOFF_MAX;
		if ((f->status == 429 || f->status == 503) &&
		    curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0) {
			if (ra > f->timeout) {
				/* Asked to come back later than one transfer may
				 * take: the next pull will. */
				snprintf(err, errlen, "%s: HTTP status %ld, Retry-After %lld s",
				    f->url, f->status, (long long)ra);
				break;
			}
			wait = (long)ra;
		}
		log_info("vendor: %s; retry %d of %d in %ld s", err, f->attempts,
		    f->retries, wait);
		f->waited += wait;
		if (vendor_sleep(wait) == -1) {
			snprintf(err, errlen, "%s: stopping", f->url);
			break;
		}
	}
	if (rc == -1) {
		free(f->body);
		f->body = NULL;
		f->len = 0;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}

void
vendor_fetch_free(struct vendor_fetch *f)
{
	if (f == NULL)
		return;
	free(f->body);
	f->body = NULL;
	f->len = 0;
}
