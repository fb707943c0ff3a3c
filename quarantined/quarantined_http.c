/*
 * quarantined_http - the HTTP/JSON API (libmicrohttpd, one thread per
 * connection): listeners, routing, authentication, request bodies and
 * replies; the route handlers are in quarantined_api.c.  The protocol is
 * documented in common/qclient.h.
 *
 * Trusts: clients of the UNIX socket (its mode and group admit only the
 * gateway's users) with everything.  Does not trust: TCP clients (a bearer
 * token is required; a subscriber's token sees only that subscriber's
 * items and may not submit or run jobs), and no client's input: ids,
 * query parameters, bodies and sizes are validated (quarantined_parse.c)
 * before use, and no path is ever built from client text: an item's file
 * is found through its validated integer id -> row -> stored path, which is
 * checked again before it is opened relative to the spool.
 *
 * Each request has one context (struct hreq), freed in http_completed()
 * whatever happened: a truncated upload's temporary file goes with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "events.h"
#include "log.h"
#include "qclient.h"
#include "quarantined.h"
#include "quarantined_api.h"

struct http {
	struct qd          *qd;
	struct MHD_Daemon  *unix_d, *tcp_d;
	char               *cert, *key;
};

struct listener {
	struct http *h;
	int          tcp;
};

static struct listener unix_listener, tcp_listener;

static const char *http_allowed(enum route r);

/* ---------------------------------------------------------- replies */

static enum MHD_Result
http_send(struct MHD_Connection *c, unsigned status, char *text, const char *ctype,
    const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* Replies with o (reference stolen). */
enum MHD_Result
http_json(struct MHD_Connection *c, unsigned status, json_t *o)
{
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (text == NULL)
		return MHD_NO;
	return http_send(c, status, text, "application/json", NULL);
}

enum MHD_Result
http_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return http_json(c, status, json_pack("{s:s}", "error", msg));
}

/* The error decided for r, with an Allow header for 405. */
static enum MHD_Result
http_fail(struct hreq *r, struct MHD_Connection *c)
{
	json_t *o = json_pack("{s:s}", "error", r->err);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (text == NULL)
		return MHD_NO;
	return http_send(c, r->status, text, "application/json",
	    r->status == MHD_HTTP_METHOD_NOT_ALLOWED ? http_allowed(r->route) : NULL);
}

/* Decides an error now; it is sent when the request is complete. */
void
hreq_fail(struct hreq *r, unsigned status, const char *fmt, ...)
{
	va_list ap;

	if (r->status != 0)
		return;
	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------- routing */

/* Maps the path to a route and id.  0, or the HTTP status of the problem. */
unsigned
http_route(const char *url, enum route *route, int64_t *id)
{
	char seg[3][128];
	int n = 0;
	const char *p;

	*route = R_NONE;
	if (strncmp(url, QUARANTINE_API_PREFIX "/", strlen(QUARANTINE_API_PREFIX) + 1) != 0)
		return MHD_HTTP_NOT_FOUND;
	p = url + strlen(QUARANTINE_API_PREFIX) + 1;
	while (*p != '\0') {
		size_t len = strcspn(p, "/");
		if (n == 3 || len >= sizeof(seg[0]))
			return MHD_HTTP_NOT_FOUND;
		memcpy(seg[n], p, len);
		seg[n][len] = '\0';
		n++;
		p += len;
		if (*p == '/')
			p++;
	}
	if (n == 1) {
		static const struct { const char *name; enum route r; } top[] = {
			{ "items", R_ITEMS }, { "health", R_HEALTH }, { "rescan", R_RESCAN },
			{ "purge", R_PURGE }, { "digests", R_DIGESTS }, { NULL, R_NONE }
		};
		for (int i = 0; top[i].name != NULL; i++)
			if (strcmp(seg[0], top[i].name) == 0) {
				*route = top[i].r;
				return 0;
			}
		return MHD_HTTP_NOT_FOUND;
	}
	if (n < 2 || strcmp(seg[0], "items") != 0)
		return MHD_HTTP_NOT_FOUND;
	if (n == 2)
		*route = R_ITEM;
	else if (strcmp(seg[2], "raw") == 0)
		*route = R_RAW;
	else if (strcmp(seg[2], "release") == 0)
		*route = R_RELEASE;
	else
		return MHD_HTTP_NOT_FOUND;
	if (parse_id(seg[1], id) == -1)
		return MHD_HTTP_BAD_REQUEST;
	return 0;
}

/* Allowed methods of a route ("GET, POST"). */
static const char *
http_allowed(enum route r)
{
	switch (r) {
	case R_ITEMS:   return "GET, POST";
	case R_ITEM:    return "GET, DELETE";
	case R_HEALTH:
	case R_RAW:     return "GET";
	default:        return "POST";
	}
}

static int
http_method_ok(enum route r, const char *method)
{
	const char *allowed = http_allowed(r);
	size_t n = strlen(method);

	for (const char *p = allowed; (p = strstr(p, method)) != NULL; p += n)
		if ((p == allowed || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return 1;
	return 0;
}

/* ---------------------------------------------------------- auth */

int
auth_token(struct qd *qd, const char *token, struct qauth *out)
{
	static const char sql[] =
	    "SELECT c.subscriber_id FROM subscriber_credentials c"
	    " JOIN subscribers s ON s.id = c.subscriber_id"
	    " WHERE c.kind = 'token' AND c.secret_hash = ?1 AND s.status = 'active'";
	struct qd_conf *c;
	char hash[QD_SHA256_HEX], line[256];
	struct store *st;
	sqlite3_stmt *stmt;
	FILE *fp;
	int rc = 0;

	if (token == NULL || !parse_token_ok(token, 512))
		return 0;
	sha256_hex(token, strlen(token), hash);
	c = qd_conf_get(qd);
	if (c->q.tokens != NULL && (fp = fopen(c->q.tokens, "re")) != NULL) {
		while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
			char h[80], who[32];
			int64_t sub;
			if (sscanf(line, "%79s %31s", h, who) != 2 || strcmp(h, hash) != 0)
				continue;
			if (strcmp(who, "*") == 0) {
				out->admin = 1;
				out->subscriber = 0;
				rc = 1;
			} else if (parse_id(who, &sub) == 0) {
				out->admin = 0;
				out->subscriber = sub;
				rc = 1;
			}
		}
		fclose(fp);
	} else if (c->q.tokens != NULL) {
		log_warn("%s", c->q.tokens);
	}
	qd_conf_put(qd, c);
	if (rc != 0)
		return rc;
	st = index_get(qd->pool);
	if ((stmt = store_prepare(st, sql)) == NULL) {
		index_put(qd->pool, st);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
	switch (sqlite3_step(stmt)) {
	case SQLITE_ROW:
		out->admin = 0;
		out->subscriber = sqlite3_column_int64(stmt, 0);
		rc = 1;
		break;
	case SQLITE_DONE:
		rc = 0;
		break;
	default:
		rc = -1;
	}
	sqlite3_reset(stmt);
	index_put(qd->pool, st);
	return rc;
}

/* ---------------------------------------------------------- MHD glue */

/* First call of a request: route, method, authentication. */
static void
http_begin(struct hreq *r, struct listener *l, struct MHD_Connection *c, const char *url,
    const char *method)
{
	unsigned st = http_route(url, &r->route, &r->id);

	if (st != 0) {
		hreq_fail(r, st, st == MHD_HTTP_NOT_FOUND ? "no such resource" :
		    "malformed item id");
		return;
	}
	if (!http_method_ok(r->route, method)) {
		hreq_fail(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method %.16s not allowed here (%s)",
		    method, http_allowed(r->route));
		return;
	}
	r->auth.admin = 1;
	if (l->tcp && r->route != R_HEALTH) {
		const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_AUTHORIZATION);
		int rc = 0;
		memset(&r->auth, 0, sizeof(r->auth));
		if (a != NULL && strncmp(a, "Bearer ", 7) == 0)
			rc = auth_token(r->qd, a + 7, &r->auth);
		if (rc == -1) {
			hreq_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, "store error");
			return;
		}
		if (rc == 0) {
			hreq_fail(r, MHD_HTTP_UNAUTHORIZED, "a valid bearer token is required");
			return;
		}
		if (!r->auth.admin && (r->route == R_RESCAN || r->route == R_PURGE ||
		    r->route == R_DIGESTS || (r->route == R_ITEMS && strcmp(method, "POST") == 0))) {
			hreq_fail(r, MHD_HTTP_FORBIDDEN, "not allowed for a subscriber token");
			return;
		}
	}
	if (r->route == R_ITEMS && strcmp(method, "POST") == 0)
		submit_begin(r, c);
}

/*
 * Whether a refusal decided from the headers alone goes out before the
 * body is read.  A client still writing its body when we close gets EPIPE
 * instead of our answer, so we answer early only to a client that waits
 * (Expect: 100-continue), to one with no body, or when the declared body
 * is larger than QD_DRAIN_MAX; otherwise the body is read and dropped and
 * the refusal follows it.
 */
static int
http_refuse_now(struct MHD_Connection *c)
{
	const char *ex = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_EXPECT);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	int64_t len;

	if (ex != NULL && strcasecmp(ex, "100-continue") == 0)
		return 1;
	if (cl == NULL)
		return te == NULL;
	return parse_uint(cl, &len) == -1 || len > QD_DRAIN_MAX;
}

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *data, size_t *size, void **ctx)
{
	struct listener *l = cls;
	struct hreq *r = *ctx;
	int post_items;

	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		r->qd = l->h->qd;
		r->up.fd = -1;
		*ctx = r;
		http_begin(r, l, c, url, method);
		if ((r->status == MHD_HTTP_CONTENT_TOO_LARGE ||
		    r->status == MHD_HTTP_UNAUTHORIZED) && http_refuse_now(c))
			return http_fail(r, c);
		return MHD_YES;
	}
	post_items = r->route == R_ITEMS && strcmp(method, "POST") == 0;
	if (*size > 0) {
		if (r->status != 0) {
			r->discarded += *size;
		} else if (post_items) {
			submit_data(r, data, *size);
		} else if (r->bodylen + *size > QD_BODY_MAX) {
			hreq_fail(r, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
			r->discarded += *size;
		} else {
			char *nb = realloc(r->body, r->bodylen + *size + 1);
			if (nb == NULL)
				return MHD_NO;
			memcpy(nb + r->bodylen, data, *size);
			r->body = nb;
			r->bodylen += *size;
		}
		*size = 0;
		return r->discarded > QD_DRAIN_MAX ? MHD_NO : MHD_YES;
	}
	if (r->status != 0)
		return http_fail(r, c);
	switch (r->route) {
	case R_HEALTH:
		return http_json(c, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
	case R_ITEMS:
		return post_items ? submit_end(r, c) : api_list(r, c);
	case R_ITEM:
		return strcmp(method, "DELETE") == 0 ? api_delete(r, c) : api_show(r, c);
	case R_RAW:
		return api_raw(r, c);
	case R_RELEASE:
		return api_release(r, c);
	default:
		return api_job(r, c);
	}
}

/* The one cleanup of a request, whatever happened to it. */
static void
http_completed(void *cls, struct MHD_Connection *c, void **ctx,
    enum MHD_RequestTerminationCode toe)
{
	struct hreq *r = *ctx;

	if (r == NULL)
		return;
	if (r->uploading || r->up.sha != NULL)
		spool_upload_abort(r->qd->spool, &r->up);
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->route == R_ITEMS &&
	    r->meta.rcpts != NULL)
		log_info("submission%s%s: connection ended before the reply: nothing stored",
		    r->meta.queue_id[0] ? " " : "", r->meta.queue_id);
	submit_meta_free(&r->meta);
	free(r->body);
	free(r);
	*ctx = NULL;
}

static int
http_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decoding of paths and query values, as MHD's own except that
 * "%00" stays as it is: a NUL would silently cut the text the handlers see
 * ("/v1/items/1%00/raw" must not read as "/v1/items/1").
 */
size_t
http_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *r = s, *w = s;

	for (; *r != '\0'; r++, w++) {
		int hi, lo;
		if (r[0] == '%' && (hi = http_hexval(r[1])) >= 0 && (lo = http_hexval(r[2])) >= 0 &&
		    (hi | lo) != 0) {
			*w = (char)(hi * 16 + lo);
			r += 2;
		} else {
			*w = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void
http_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warnx("http: %s", buf);
}

char *
http_slurp(const char *path, char *err, size_t errlen)
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

static int
http_parse_tcp(const char *spec, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	int64_t port;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host) ||
	    parse_uint(colon + 1, &port) == -1 || port < 1 || port > 65535)
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
http_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

struct http *
http_start(struct qd *qd, int unix_fd, char *cert, char *key, char *err, size_t errlen)
{
	struct qd_conf *c = qd_conf_get(qd);
	struct http *h = calloc(1, sizeof(*h));
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_ERROR_LOG;
	unsigned limit = (unsigned)c->q.max_connections;

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		free(cert);
		free(key);
		qd_conf_put(qd, c);
		return NULL;
	}
	h->qd = qd;
	h->cert = cert;
	h->key = key;
	unix_listener.h = tcp_listener.h = h;
	tcp_listener.tcp = 1;
	h->unix_d = MHD_start_daemon(flags, 0, NULL, NULL, http_access, &unix_listener,
	    MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL,
	    MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)unix_fd,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, 120u,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)QD_REQUEST_HEAD_MAX,
	    MHD_OPTION_END);
	if (h->unix_d == NULL) {
		snprintf(err, errlen, "%s: cannot start the HTTP server", c->q.socket);
		goto fail;
	}
	if (c->q.listen_tcp != NULL) {
		struct sockaddr_storage ss;
		unsigned tflags = flags;
		if (http_parse_tcp(c->q.listen_tcp, &ss) == -1) {
			snprintf(err, errlen, "listen_tcp \"%s\": expected ADDRESS:PORT",
			    c->q.listen_tcp);
			goto fail;
		}
		if (ss.ss_family == AF_INET6)
			tflags |= MHD_USE_IPv6;
		if (h->cert != NULL && h->key != NULL)
			tflags |= MHD_USE_TLS;
		else if (!http_loopback(&ss)) {
			snprintf(err, errlen, "listen_tcp %s: plain HTTP only on loopback "
			    "(set tls_cert and tls_key)", c->q.listen_tcp);
			goto fail;
		}
		h->tcp_d = MHD_start_daemon(tflags, 0, NULL, NULL, http_access, &tcp_listener,
		    MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL,
		    MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		    MHD_OPTION_NOTIFY_COMPLETED, http_completed, NULL,
		    MHD_OPTION_CONNECTION_LIMIT, limit,
		    MHD_OPTION_CONNECTION_TIMEOUT, 120u,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)QD_REQUEST_HEAD_MAX,
		    (tflags & MHD_USE_TLS) ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->cert,
		    MHD_OPTION_HTTPS_MEM_KEY, h->key,
		    MHD_OPTION_END);
		if (h->tcp_d == NULL) {
			snprintf(err, errlen, "%s: cannot listen", c->q.listen_tcp);
			goto fail;
		}
		if (!(tflags & MHD_USE_TLS))
			log_warnx("%s: TCP listener without TLS: tokens travel in clear text",
			    c->q.listen_tcp);
	}
	qd_conf_put(qd, c);
	return h;
fail:
	qd_conf_put(qd, c);
	http_stop(h);
	return NULL;
}

/* Stops accepting and waits for the connection threads. */
void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	if (h->tcp_d != NULL)
		MHD_stop_daemon(h->tcp_d);
	if (h->unix_d != NULL)
		MHD_stop_daemon(h->unix_d);
	free(h->cert);
	if (h->key != NULL)
		explicit_bzero(h->key, strlen(h->key));
	free(h->key);
	free(h);
}
