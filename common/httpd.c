/*
 * httpd - libmicrohttpd glue shared by the daemons: listeners, routing,
 * authentication, request bodies, limits, replies, access log.  See
 * httpd.h for the model.
 *
 * One request has one struct httpd_req, allocated on the first call of
 * httpd_access() and freed in httpd_completed() whatever happened (after
 * the daemon's req_done hook), so a handler never frees anything of the
 * request's own.
 *
 * The pure route matching and percent-decoding live in httpd_route.c, the
 * credential checks against the store in httpd_cred.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "httpd.h"
#include "log.h"
#include "store.h"

struct httpd_listener {
	struct httpd       *h;
	struct MHD_Daemon  *d;
	int                 trusted;
	int                 tls;
};

struct httpd {
	struct httpd_conf       conf;
	struct httpd_listener  *l;
	size_t                  nl;
	char                  **pem;        /* copies of cert/key texts, 2 per listener,
	                                     * then the client CA texts, 1 per listener */
};

#define HTTPD_TOKEN_MAX  512

/* ---------------------------------------------------------- replies */

static enum MHD_Result
httpd_queue(struct httpd_req *r, unsigned status, struct MHD_Response *resp, uint64_t len)
{
	enum MHD_Result rc;

	for (size_t i = 0; i < r->xhdrlen;) {
		const char *name = r->xhdr + i, *value = name + strlen(name) + 1;
		MHD_add_response_header(resp, name, value);
		i = (size_t)(value - r->xhdr) + strlen(value) + 1;
	}
	r->xhdrlen = 0;
	/* A reply that chose its challenge (httpd_html) keeps it. */
	if (status == MHD_HTTP_UNAUTHORIZED &&
	    MHD_get_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE) == NULL) {
		if (r->route != NULL && (r->route->auth & HTTPD_BASIC)) {
			char v[128];
			snprintf(v, sizeof(v), "Basic realm=\"%s\", charset=\"UTF-8\"",
			    r->srv->conf.realm != NULL ? r->srv->conf.realm : "moat");
			MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, v);
		} else {
			MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
		}
	}
	rc = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	if (rc == MHD_YES) {
		r->reply_status = status;
		r->reply_bytes = len;
	}
	return rc;
}

/* text is malloc'd and taken over. */
static enum MHD_Result
httpd_send(struct httpd_req *r, unsigned status, char *text, const char *ctype,
    const char *allow)
{
	struct MHD_Response *resp;
	size_t len = strlen(text);

	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	return httpd_queue(r, status, resp, len);
}

enum MHD_Result
httpd_json(struct httpd_req *r, unsigned status, json_t *o)
{
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (text == NULL)
		return MHD_NO;
	return httpd_send(r, status, text, "application/json", NULL);
}

enum MHD_Result
httpd_error(struct httpd_req *r, unsigned status, const char *msg)
{
	return httpd_json(r, status, json_pack("{s:s}", "error", msg));
}

enum MHD_Result
httpd_text(struct httpd_req *r, unsigned status, const char *ctype, const char *text,
    size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	return httpd_queue(r, status, resp, len);
}

enum MHD_Result
httpd_html(struct httpd_req *r, unsigned status, char *html, const char *csp)
{
	struct MHD_Response *resp;
	size_t len;

	if (html == NULL)
		return MHD_NO;
	len = strlen(html);
	resp = MHD_create_response_from_buffer(len, html, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(html);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (csp != NULL)
		MHD_add_response_header(resp, "Content-Security-Policy", csp);
	if (status == MHD_HTTP_UNAUTHORIZED) {
		char v[128];

		snprintf(v, sizeof(v), "Basic realm=\"%s\", charset=\"UTF-8\"",
		    r->srv->conf.realm != NULL ? r->srv->conf.realm : "moat");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, v);
	}
	return httpd_queue(r, status, resp, len);
}

/* OWS (RFC 9110 5.6.3) */
static const char *
httpd_ows(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Decimal digits in [*pp, e), saturating at UINT64_MAX: 1 (some), 0 (none). */
static int
httpd_digits(const char **pp, const char *e, uint64_t *v)
{
	const char *p = *pp;

	*v = 0;
	for (; p < e && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		*v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
	}
	if (p == *pp)
		return 0;
	*pp = p;
	return 1;
}

int
httpd_range_parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	const char *p, *e;
	uint64_t a = 0, b = 0, specs = 0;
	int have_b = 0, suffix = 0;

	if (h == NULL || strncasecmp(h, "bytes=", 6) != 0)
		return 0;                       /* none, or a unit we do not know */
	p = h + 6;
	e = p + strlen(p);
	/* 1#range-spec: empty list elements are skipped (RFC 9110 5.6.1.2). */
	while (p < e) {
		const char *c = memchr(p, ',', (size_t)(e - p)), *q = c != NULL ? c : e;
		uint64_t x = 0, y = 0;
		int hy = 0, sx = 0;

		p = httpd_ows(p, q);
		while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		if (p < q) {
			if (*p == '-') {                /* suffix-range "-N" */
				p++;
				if (!httpd_digits(&p, q, &y))
					return -1;
				sx = 1;
			} else {                        /* int-range "A-" or "A-B" */
				if (!httpd_digits(&p, q, &x) || p == q || *p++ != '-')
					return -1;
				hy = httpd_digits(&p, q, &y);
				if (hy && y < x)
					return -1;      /* invalid (14.1.1) */
			}
			if (p != q)
				return -1;
			if (specs++ == 0) {
				a = x, b = y, have_b = hy, suffix = sx;
			}
		}
		p = c != NULL ? c + 1 : e;
	}
	if (specs == 0)
		return -1;
	if (specs > 1)
		return 0;                       /* a valid list: the whole file */
	if (suffix) {
		if (b == 0 || size == 0)
			return -1;
		*off = b >= size ? 0 : size - b;
		*len = size - *off;
		return 1;
	}
	if (a >= size)
		return -1;
	if (!have_b || b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return 1;
}

enum MHD_Result
httpd_file(struct httpd_req *r, int fd, uint64_t size, const char *ctype)
{
	const char *rh = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_RANGE);
	struct MHD_Response *resp;
	uint64_t off = 0, len = size;
	unsigned status = MHD_HTTP_OK;
	char cr[96];
	int rg = 0;

	/* Ranges are a GET's only (RFC 9110 14.2); If-Range is not evaluated,
	 * so a Range under it is ignored: the whole file is always right. */
	if (strcmp(r->method, "GET") == 0 && MHD_lookup_connection_value(r->conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_RANGE) == NULL)
		rg = httpd_range_parse(rh, size, &off, &len);

	if (rg == -1) {
		close(fd);
		if ((resp = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT)) == NULL)
			return MHD_NO;
		snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		return httpd_queue(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp, 0);
	}
	if ((resp = MHD_create_response_from_fd_at_offset64(len, fd, off)) == NULL) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (rg == 1) {
		snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
		    off, off + len - 1, size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		status = MHD_HTTP_PARTIAL_CONTENT;
	}
	return httpd_queue(r, status, resp, strcmp(r->method, "HEAD") == 0 ? 0 : len);
}

int
httpd_header(struct httpd_req *r, const char *name, const char *value)
{
	size_t ln = strlen(name) + 1, lv = strlen(value) + 1;

	if (ln == 1 || ln + lv > sizeof(r->xhdr) - r->xhdrlen)
		return -1;
	for (const char *p = name; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == ':')
			return -1;
	for (const char *p = value; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return -1;
	memcpy(r->xhdr + r->xhdrlen, name, ln);
	memcpy(r->xhdr + r->xhdrlen + ln, value, lv);
	r->xhdrlen += ln + lv;
	return 0;
}

void
httpd_fail(struct httpd_req *r, unsigned status, const char *fmt, ...)
{
	va_list ap;

	if (r->status != 0)
		return;
	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

/* The error decided for r, with Allow for 405. */
static enum MHD_Result
httpd_reply_fail(struct httpd_req *r)
{
	json_t *o = json_pack("{s:s}", "error", r->err);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	char allow[128];

	json_decref(o);
	if (text == NULL)
		return MHD_NO;
	if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED) {
		httpd_allow(r->srv->conf.routes, r->path, allow, sizeof(allow));
		return httpd_send(r, r->status, text, "application/json", allow);
	}
	return httpd_send(r, r->status, text, "application/json", NULL);
}

/* ---------------------------------------------------------- MHD glue */

/* Credentials for r's route; on failure r is failed (401, 403, 503). */
static void
httpd_authenticate(struct httpd_req *r)
{
	const struct httpd_conf *c = &r->srv->conf;
	unsigned need = r->route->auth;
	struct store *st = NULL;
	int rc = 0;

	if (r->trusted) {
		r->auth.admin = 1;
		return;
	}
	memset(&r->auth, 0, sizeof(r->auth));
	if ((need & (HTTPD_BEARER | HTTPD_BASIC)) == 0)
		return;
	if (need & HTTPD_BEARER) {
		const char *a = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_AUTHORIZATION);
		if (a != NULL && strncmp(a, "Bearer ", 7) == 0 &&
		    strlen(a + 7) <= HTTPD_TOKEN_MAX && a[7] != '\0') {
			if (c->bearer != NULL)
				rc = c->bearer(c->arg, a + 7, &r->auth);
			else if (c->store_get != NULL && (st = c->store_get(c->arg)) != NULL) {
				rc = httpd_token(st, a + 7, &r->auth);
				c->store_put(c->arg, st);
			} else
				rc = -1;
		}
	}
	if (rc == 0 && (need & HTTPD_BASIC)) {
		char *pass = NULL, *user = MHD_basic_auth_get_username_password(r->conn, &pass);
		if (user != NULL && pass != NULL) {
			if (c->store_get != NULL && (st = c->store_get(c->arg)) != NULL) {
				rc = httpd_basic(st, user, pass, &r->auth);
				c->store_put(c->arg, st);
			} else
				rc = -1;
		}
		if (pass != NULL)
			explicit_bzero(pass, strlen(pass));
		MHD_free(user);
		MHD_free(pass);
	}
	if (rc == -1)
		httpd_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, "store error");
	else if (rc == 0)
		httpd_fail(r, MHD_HTTP_UNAUTHORIZED, (need & HTTPD_BEARER) ?
		    "a valid bearer token is required" : "a valid login and password are required");
	else if ((need & HTTPD_ADMIN) && !r->auth.admin)
		httpd_fail(r, MHD_HTTP_FORBIDDEN, "not allowed for a subscriber %s",
		    (need & HTTPD_BEARER) ? "token" : "login");
}

/* First call of a request: route, method, authentication, begin hook. */
static void
httpd_begin(struct httpd_req *r)
{
	const struct httpd_route *routes = r->srv->conf.routes;
	const char *m = r->method;
	int i;

	if (r->srv->conf.head_as_get && strcmp(m, "HEAD") == 0)
		m = "GET";
	i = httpd_match(routes, r->path, m, r->arg, &r->nargs);
	if (i == -1) {
		httpd_fail(r, MHD_HTTP_NOT_FOUND, "no such resource");
		return;
	}
	if (i == -2) {
		char allow[128];
		httpd_allow(routes, r->path, allow, sizeof(allow));
		httpd_fail(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method %.16s not allowed here (%s)",
		    r->method, allow);
		return;
	}
	r->route = &routes[i];
	httpd_authenticate(r);
	if (r->status == 0 && r->route->begin != NULL)
		r->route->begin(r);
}

/*
 * Whether a refusal decided from the headers alone goes out before the
 * body is read.  A client still writing its body when we close gets EPIPE
 * instead of our answer, so we answer early only to a client that waits
 * (Expect: 100-continue), to one with no body, or when the declared body
 * is larger than drain_max; otherwise the body is read and dropped and the
 * refusal follows it.
 */
static int
httpd_refuse_now(struct httpd_req *r)
{
	struct MHD_Connection *c = r->conn;
	const char *ex = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_EXPECT);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	uint64_t len = 0;

	if (ex != NULL && strcasecmp(ex, "100-continue") == 0)
		return 1;
	if (cl == NULL)
		return te == NULL;
	if (*cl == '\0')
		return 1;
	for (const char *p = cl; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || len > (UINT64_MAX - 9) / 10)
			return 1;
		len = len * 10 + (uint64_t)(*p - '0');
	}
	return len > r->srv->conf.drain_max;
}

/* The client's text for a log line: no controls or spaces, "..." when cut. */
static void
httpd_logsafe(char *buf, size_t len, const char *s)
{
	size_t i;

	for (i = 0; i < len - 1 && s[i] != '\0'; i++)
		buf[i] = ((unsigned char)s[i] < 0x21 || s[i] == 0x7f) ? '?' : s[i];
	buf[i] = '\0';
	if (s[i] != '\0' && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

static enum MHD_Result
httpd_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *data, size_t *size, void **ctx)
{
	struct httpd_listener *l = cls;
	struct httpd *h = l->h;
	struct httpd_req *r = *ctx;

	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, h->conf.req_size)) == NULL)
			return MHD_NO;
		r->srv = h;
		r->conn = c;
		r->method = method;
		r->path = url;
		r->trusted = l->trusted;
		r->tls = l->tls;
		r->arg_conf = h->conf.arg;
		clock_gettime(CLOCK_MONOTONIC, &r->t0);
		httpd_logsafe(r->log_method, sizeof(r->log_method), method);
		httpd_logsafe(r->log_path, sizeof(r->log_path), url);
		*ctx = r;
		if (h->conf.req_init != NULL && h->conf.req_init(r) == -1)
			return MHD_NO;
		httpd_begin(r);
		if ((r->status == MHD_HTTP_CONTENT_TOO_LARGE ||
		    r->status == MHD_HTTP_UNAUTHORIZED) && httpd_refuse_now(r))
			return httpd_reply_fail(r);
		return MHD_YES;
	}
	if (*size > 0) {
		if (r->status != 0) {
			r->discarded += *size;
		} else if (r->route->body != NULL) {
			r->route->body(r, data, *size);
		} else if (r->bodylen + *size > h->conf.body_max) {
			httpd_fail(r, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
			r->discarded += *size;
		} else {
			char *nb = realloc(r->body, r->bodylen + *size + 1);
			if (nb == NULL)
				return MHD_NO;
			memcpy(nb + r->bodylen, data, *size);
			r->body = nb;
			r->bodylen += *size;
			r->body[r->bodylen] = '\0';
		}
		*size = 0;
		return r->discarded > h->conf.drain_max ? MHD_NO : MHD_YES;
	}
	if (r->status != 0)
		return httpd_reply_fail(r);
	return r->route->handler(r);
}

/* The client's address for the log. */
static void
httpd_client(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	snprintf(buf, len, "local");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    buf, (socklen_t)len);
}

void
httpd_client_addr(const struct httpd_req *r, char *buf, size_t len)
{
	httpd_client(r->conn, buf, len);
}

int
httpd_peer_sha256(const struct httpd_req *r, char hex[65])
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *certs;
	unsigned char md[32];
	size_t mdlen = sizeof(md);
	unsigned n = 0;

	if (!r->tls || (ci = MHD_get_connection_info(r->conn,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION)) == NULL || ci->tls_session == NULL)
		return 0;
	certs = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
	if (certs == NULL || n == 0 ||
	    gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], md, &mdlen) != GNUTLS_E_SUCCESS ||
	    mdlen != sizeof(md))
		return 0;
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 1;
}

/* The one cleanup of a request, whatever happened to it. */
static void
httpd_completed(void *cls, struct MHD_Connection *c, void **ctx,
    enum MHD_RequestTerminationCode toe)
{
	struct httpd_listener *l = cls;
	struct httpd_req *r = *ctx;

	if (r == NULL)
		return;
	if (l->h->conf.req_done != NULL)
		l->h->conf.req_done(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	if (l->h->conf.access_log) {
		struct timespec t1;
		char client[INET6_ADDRSTRLEN + 1];
		double ms;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (double)(t1.tv_sec - r->t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - r->t0.tv_nsec) / 1e6;
		httpd_client(c, client, sizeof(client));
		log_info("%s: %s %s %s %u %" PRIu64 " %.1fms%s", l->h->conf.name, client,
		    r->log_method, r->log_path, r->reply_status, r->reply_bytes, ms,
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
	}
	free(r->body);
	free(r);
	*ctx = NULL;
}

static void
httpd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warnx("%s: %s", cls != NULL ? (const char *)cls : "http", buf);
}

char *
httpd_slurp(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(1 << 20)) != NULL) {
		n = fread(buf, 1, (1 << 20) - 1, fp);
		buf[n] = '\0';
	}
	fclose(fp);
	if (buf == NULL || n == 0) {
		free(buf);
		snprintf(err, errlen, "%s: empty or unreadable", path);
		return NULL;
	}
	return buf;
}

int
httpd_parse_tcp(const char *spec, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	uint64_t port = 0;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host) || colon[1] == '\0' ||
	    strlen(colon + 1) > 5)
		return -1;
	for (const char *p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		port = port * 10 + (uint64_t)(*p - '0');
	}
	if (port < 1 || port > 65535)
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		host[strlen(host) - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -1;
}

static int
httpd_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static struct MHD_Daemon *
httpd_daemon(struct httpd *h, struct httpd_listener *l, const struct httpd_listen *ls,
    size_t k, char *err, size_t errlen)
{
	const struct httpd_conf *c = &h->conf;
	struct MHD_OptionItem o[16];
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_ERROR_LOG;
	int n = 0;

	if (c->threads == 0)
		flags |= MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION;
	else
		flags |= MHD_USE_EPOLL_INTERNAL_THREAD;
#define OPT(opt, v, p) (o[n++] = (struct MHD_OptionItem){ (opt), (intptr_t)(v), (p) })
	OPT(MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)httpd_log, (void *)c->name);
	OPT(MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)httpd_unescape, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)httpd_completed, l);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, c->timeout, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, c->head_max, NULL);
	if (c->max_connections != 0)
		OPT(MHD_OPTION_CONNECTION_LIMIT, c->max_connections, NULL);
	if (c->threads > 1)
		OPT(MHD_OPTION_THREAD_POOL_SIZE, c->threads, NULL);
	if (ls->fd != -1) {
		OPT(MHD_OPTION_LISTEN_SOCKET, ls->fd, NULL);
	} else {
		if (ls->tcp == NULL || httpd_parse_tcp(ls->tcp, &ss) == -1) {
			snprintf(err, errlen, "listen \"%s\": expected ADDRESS:PORT",
			    ls->tcp != NULL ? ls->tcp : "");
			return NULL;
		}
		if (ss.ss_family == AF_INET6)
			flags |= MHD_USE_IPv6;
		if (ls->cert == NULL && !ls->plain_remote && !httpd_loopback(&ss)) {
			snprintf(err, errlen, "listen_tcp %s: plain HTTP only on loopback "
			    "(set tls_cert and tls_key)", ls->tcp);
			return NULL;
		}
		OPT(MHD_OPTION_SOCK_ADDR, 0, &ss);
	}
	/* Any listener of IP clients, given as .tcp or as a bound socket
	 * (libmicrohttpd counts per IP address; UNIX clients are trusted). */
	if (c->per_client != 0 && !ls->trusted)
		OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->per_client, NULL);
	if (ls->cert != NULL) {
		if (ls->key == NULL || MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(err, errlen, "%s: TLS needs a key and libmicrohttpd with GnuTLS",
			    ls->tcp != NULL ? ls->tcp : "listener");
			return NULL;
		}
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, h->pem[2 * k]);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, h->pem[2 * k + 1]);
		/* With a trust list libmicrohttpd asks the client for a certificate
		 * (GNUTLS_CERT_REQUEST: optional); none is verified against it. */
		if (h->pem[2 * h->nl + k] != NULL)
			OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, h->pem[2 * h->nl + k]);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	return MHD_start_daemon(flags, 0, NULL, NULL, httpd_access, l,
	    MHD_OPTION_ARRAY, o, MHD_OPTION_END);
}

struct httpd *
httpd_start(const struct httpd_conf *conf, const struct httpd_listen *ls, size_t nl,
    char *err, size_t errlen)
{
	struct httpd *h = calloc(1, sizeof(*h));

	if (h == NULL || (h->l = calloc(nl, sizeof(*h->l))) == NULL ||
	    (h->pem = calloc(3 * nl, sizeof(*h->pem))) == NULL) {
		snprintf(err, errlen, "out of memory");
		httpd_stop(h);
		return NULL;
	}
	h->conf = *conf;
	if (h->conf.name == NULL)
		h->conf.name = "http";
	if (h->conf.req_size < sizeof(struct httpd_req))
		h->conf.req_size = sizeof(struct httpd_req);
	if (h->conf.timeout == 0)
		h->conf.timeout = 120;
	if (h->conf.head_max == 0)
		h->conf.head_max = 64 * 1024;
	if (h->conf.body_max == 0)
		h->conf.body_max = 64 * 1024;
	if (h->conf.drain_max == 0)
		h->conf.drain_max = 1024 * 1024;
	h->nl = nl;
	for (size_t k = 0; k < nl; k++) {
		h->l[k].h = h;
		h->l[k].trusted = ls[k].trusted;
		h->l[k].tls = ls[k].cert != NULL;
		if (ls[k].cert != NULL && ((h->pem[2 * k] = strdup(ls[k].cert)) == NULL ||
		    (ls[k].key != NULL && (h->pem[2 * k + 1] = strdup(ls[k].key)) == NULL) ||
		    (ls[k].client_ca != NULL &&
		    (h->pem[2 * nl + k] = strdup(ls[k].client_ca)) == NULL))) {
			snprintf(err, errlen, "out of memory");
			httpd_stop(h);
			return NULL;
		}
		err[0] = '\0';
		if ((h->l[k].d = httpd_daemon(h, &h->l[k], &ls[k], k, err, errlen)) == NULL) {
			if (err[0] == '\0')
				snprintf(err, errlen, "%s: cannot start the HTTP server",
				    ls[k].tcp != NULL ? ls[k].tcp : "socket");
			httpd_stop(h);
			return NULL;
		}
		if (ls[k].fd == -1 && ls[k].cert == NULL && !ls[k].trusted)
			log_warnx("%s: TCP listener without TLS: credentials travel in clear text",
			    ls[k].tcp);
	}
	return h;
}

void
httpd_stop(struct httpd *h)
{
	if (h == NULL)
		return;
	for (size_t k = h->nl; k-- > 0;)
		if (h->l != NULL && h->l[k].d != NULL)
			MHD_stop_daemon(h->l[k].d);
	for (size_t k = 0; h->pem != NULL && k < 3 * h->nl; k++) {
		if (h->pem[k] != NULL)
			explicit_bzero(h->pem[k], strlen(h->pem[k]));
		free(h->pem[k]);
	}
	free(h->pem);
	free(h->l);
	free(h);
}
