/*
 * qclient - the client side of moat-quarantined's API (see qclient.h), over
 * libcurl: "unix:/path" endpoints use CURLOPT_UNIX_SOCKET_PATH, others are
 * http(s) base URLs.  One easy handle per call: callers are few (a
 * submission per quarantined message, a moatctl command) and threads never
 * share a handle.
 *
 * Owner: engineer "quarantine" (with quarantined/).  Trusts nothing the
 * server sends beyond parsing it as JSON; never follows redirects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "qclient.h"

#define QCLIENT_RESP_MAX (256u << 20)   /* raw messages are up to max_upload */

struct qc_body {
	int          fd;          /* -1: from buf */
	const char  *buf;
	size_t       len;
	off_t        off;
	int          err;
};

struct qc_resp {
	char   *s;
	size_t  len, cap;
	int     toolarge;
};

static size_t
qc_read(char *out, size_t size, size_t nitems, void *arg)
{
	struct qc_body *b = arg;
	size_t want = size * nitems;
	ssize_t n;

	if (b->fd == -1) {
		if ((size_t)b->off >= b->len)
			return 0;
		n = (ssize_t)(b->len - (size_t)b->off);
		if ((size_t)n > want)
			n = (ssize_t)want;
		memcpy(out, b->buf + b->off, (size_t)n);
		b->off += n;
		return (size_t)n;
	}
	do
		n = pread(b->fd, out, want, b->off);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		b->err = errno;
		return CURL_READFUNC_ABORT;
	}
	b->off += n;
	return (size_t)n;
}

static size_t
qc_write(char *data, size_t size, size_t nitems, void *arg)
{
	struct qc_resp *r = arg;
	size_t n = size * nitems;

	if (r->len + n + 1 > QCLIENT_RESP_MAX) {
		r->toolarge = 1;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t ncap = (r->len + n + 1) * 2;
		char *ns = realloc(r->s, ncap);
		if (ns == NULL)
			return 0;
		r->s = ns;
		r->cap = ncap;
	}
	memcpy(r->s + r->len, data, n);
	r->len += n;
	r->s[r->len] = '\0';
	return n;
}

/*
 * One exchange.  body may be NULL (no body).  Returns 0 with *status and
 * resp (NUL-terminated, caller frees r->s), or -1 with err set.
 */
static int
qc_perform(const char *endpoint, const char *token, const char *method, const char *path,
    struct qc_body *body, curl_off_t bodylen, const char *ctype, int timeout_ms,
    long *status, struct qc_resp *resp, char *err, size_t errlen)
{
	char url[8192], hdr[1024];
	struct curl_slist *hl = NULL, *t;
	CURL *h;
	CURLcode rc;
	int ret = -1;

	memset(resp, 0, sizeof(*resp));
	*status = 0;
	if (endpoint == NULL || path == NULL || path[0] != '/') {
		snprintf(err, errlen, "no quarantine endpoint configured");
		return -1;
	}
	if (strncmp(endpoint, "unix:", 5) == 0)
		snprintf(url, sizeof(url), "http://localhost%s", path);
	else if (strncmp(endpoint, "http://", 7) == 0 || strncmp(endpoint, "https://", 8) == 0) {
		/* The base URL without a trailing slash, then the API path. */
		size_t n = strlen(endpoint);
		while (n > 0 && endpoint[n - 1] == '/')
			n--;
		snprintf(url, sizeof(url), "%.*s%s", (int)n, endpoint, path);
	} else {
		snprintf(err, errlen, "%s: endpoint must be unix:/path or http(s)://host:port",
		    endpoint);
		return -1;
	}
	if ((h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (strncmp(endpoint, "unix:", 5) == 0)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, endpoint + 5);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, qc_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	/* The server answers at once; waiting for "100 Continue" costs a trip. */
	t = curl_slist_append(hl, "Expect:");
	hl = t != NULL ? t : hl;
	if (token != NULL && *token != '\0') {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
		if ((t = curl_slist_append(hl, hdr)) != NULL)
			hl = t;
	}
	if (body != NULL) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s",
		    ctype != NULL ? ctype : "application/octet-stream");
		if ((t = curl_slist_append(hl, hdr)) != NULL)
			hl = t;
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, qc_read);
		curl_easy_setopt(h, CURLOPT_READDATA, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, bodylen);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		if (body != NULL && body->err != 0)
			snprintf(err, errlen, "reading the message: %s", strerror(body->err));
		else if (resp->toolarge)
			snprintf(err, errlen, "reply too large");
		else
			snprintf(err, errlen, "%s: %s", endpoint, curl_easy_strerror(rc));
		free(resp->s);
		memset(resp, 0, sizeof(*resp));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		if (resp->s == NULL && (resp->s = calloc(1, 1)) == NULL) {
			snprintf(err, errlen, "out of memory");
		} else
			ret = 0;
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return ret;
}

int
qclient_request(const char *endpoint, const char *token, const char *method,
    const char *path, const void *body, size_t bodylen, const char *content_type,
    int timeout_ms, long *status, char **resp, size_t *resplen, char *err, size_t errlen)
{
	struct qc_body b = { -1, body, bodylen, 0, 0 };
	struct qc_resp r;

	*resp = NULL;
	if (resplen != NULL)
		*resplen = 0;
	if (qc_perform(endpoint, token, method, path, body != NULL ? &b : NULL,
	    (curl_off_t)bodylen, content_type, timeout_ms, status, &r, err, errlen) == -1)
		return -1;
	*resp = r.s;
	if (resplen != NULL)
		*resplen = r.len;
	return 0;
}

/* Appends "&key=escaped(value)" to q.  0, or -1 when it does not fit. */
static int
qc_arg(CURL *esc, char *q, size_t qlen, const char *key, const char *value)
{
	char *e;
	size_t used = strlen(q);
	int n;

	if (value == NULL)
		return 0;
	if ((e = curl_easy_escape(esc, value, 0)) == NULL)
		return -1;
	n = snprintf(q + used, qlen - used, "%s%s=%s", used > 0 ? "&" : "", key, e);
	curl_free(e);
	return n < 0 || (size_t)n >= qlen - used ? -1 : 0;
}

int
qclient_submit(const char *endpoint, const char *token, const struct qmeta *m,
    int fd, const void *buf, size_t len, int timeout_ms, int64_t *id,
    char *err, size_t errlen)
{
	static const size_t qlen = 512 * 1024;
	char *q = NULL, *path = NULL, num[32];
	struct qc_body b = { fd, buf, len, 0, 0 };
	struct qc_resp r;
	struct stat sb;
	json_t *o = NULL;
	CURL *esc = NULL;
	long status;
	int ret = -1;

	*id = 0;
	if (fd >= 0) {
		if (fstat(fd, &sb) == -1) {
			snprintf(err, errlen, "fstat: %s", strerror(errno));
			return -1;
		}
		len = (size_t)sb.st_size;
	}
	if ((q = calloc(1, qlen)) == NULL || (path = malloc(qlen + 64)) == NULL ||
	    (esc = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	int bad = qc_arg(esc, q, qlen, QARG_QUEUE_ID, m->queue_id) == -1 ||
	    qc_arg(esc, q, qlen, QARG_SENDER, m->sender != NULL ? m->sender : "") == -1 ||
	    qc_arg(esc, q, qlen, QARG_CLIENT, m->client_addr) == -1 ||
	    qc_arg(esc, q, qlen, QARG_HOLD, m->hold) == -1 ||
	    qc_arg(esc, q, qlen, QARG_SCAN, m->scan_settings) == -1;
	if (m->subscriber_id > 0) {
		snprintf(num, sizeof(num), "%lld", (long long)m->subscriber_id);
		bad |= qc_arg(esc, q, qlen, QARG_SUBSCRIBER, num) == -1;
	}
	if (m->policy_id > 0) {
		snprintf(num, sizeof(num), "%lld", (long long)m->policy_id);
		bad |= qc_arg(esc, q, qlen, QARG_POLICY, num) == -1;
	}
	for (size_t i = 0; i < m->nrcpts && !bad; i++) {
		char *pair = NULL;
		if (m->rcpt_subscribers == NULL) {
			bad |= qc_arg(esc, q, qlen, QARG_RCPT, m->rcpts[i]) == -1;
			continue;
		}
		if (asprintf(&pair, "%lld:%s", (long long)(m->rcpt_subscribers[i] > 0 ?
		    m->rcpt_subscribers[i] : 0), m->rcpts[i]) == -1) {
			bad = 1;
			break;
		}
		bad |= qc_arg(esc, q, qlen, QARG_RCPT_OF, pair) == -1;
		free(pair);
	}
	for (size_t i = 0; i < m->nviruses; i++)
		bad |= qc_arg(esc, q, qlen, QARG_VIRUS, m->viruses[i]) == -1;
	if (bad) {
		snprintf(err, errlen, "metadata too large");
		ret = 0;
		goto done;
	}
	snprintf(path, qlen + 64, QUARANTINE_API_PREFIX QPATH_ITEMS "?%s", q);
	if (qc_perform(endpoint, token, "POST", path, &b, (curl_off_t)len, "message/rfc822",
	    timeout_ms, &status, &r, err, errlen) == -1)
		goto done;
	o = json_loads(r.s, 0, NULL);
	free(r.s);
	if (status == 201 && o != NULL && json_integer_value(json_object_get(o, QJ_ID)) > 0) {
		*id = (int64_t)json_integer_value(json_object_get(o, QJ_ID));
		ret = 1;
	} else {
		const char *e = json_string_value(json_object_get(o, QJ_ERROR));
		snprintf(err, errlen, "quarantine refused (HTTP %ld): %s", status,
		    e != NULL ? e : "no reason given");
		ret = 0;
	}
done:
	json_decref(o);
	if (esc != NULL)
		curl_easy_cleanup(esc);
	free(q);
	free(path);
	return ret;
}
