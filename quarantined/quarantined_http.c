/*
 * quarantined_http - the HTTP/JSON API's route table and its glue to
 * common/httpd (listeners, routing, authentication, bodies, limits,
 * replies, access log); the route handlers are in quarantined_api.c.  The
 * protocol is documented in common/qclient.h.
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
 * Each request has one context (struct hreq), cleaned in http_req_done()
 * whatever happened: a truncated upload's temporary file goes with it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "httpd.h"
#include "log.h"
#include "qclient.h"
#include "quarantined.h"
#include "quarantined_api.h"

struct http {
	struct httpd *srv;
};

static enum MHD_Result q_health(struct httpd_req *);
static enum MHD_Result q_list(struct httpd_req *);
static enum MHD_Result q_submit(struct httpd_req *);
static enum MHD_Result q_show(struct httpd_req *);
static enum MHD_Result q_delete(struct httpd_req *);
static enum MHD_Result q_raw(struct httpd_req *);
static enum MHD_Result q_release(struct httpd_req *);
static enum MHD_Result q_job(struct httpd_req *);
static void q_begin(struct httpd_req *);
static void q_submit_begin(struct httpd_req *);
static void q_submit_data(struct httpd_req *, const char *, size_t);

#define P QUARANTINE_API_PREFIX
#define TOKEN HTTPD_BEARER
#define OPERATOR (HTTPD_BEARER | HTTPD_ADMIN)

/* The API; on the UNIX socket every request is an operator's. */
static const struct httpd_route qd_routes[] = {
	{ "GET",    P QPATH_HEALTH,                      HTTPD_OPEN, q_health, NULL, NULL },
	{ "GET",    P QPATH_ITEMS,                       TOKEN,      q_list, q_begin, NULL },
	{ "POST",   P QPATH_ITEMS,                       OPERATOR,   q_submit, q_submit_begin,
	    q_submit_data },
	{ "GET",    P QPATH_ITEMS "/{}",                 TOKEN,      q_show, q_begin, NULL },
	{ "DELETE", P QPATH_ITEMS "/{}",                 TOKEN,      q_delete, q_begin, NULL },
	{ "GET",    P QPATH_ITEMS "/{}/" QPATH_RAW,      TOKEN,      q_raw, q_begin, NULL },
	{ "POST",   P QPATH_ITEMS "/{}/" QPATH_RELEASE,  TOKEN,      q_release, q_begin, NULL },
	{ "POST",   P QPATH_RESCAN,                      OPERATOR,   q_job, q_begin, NULL },
	{ "POST",   P QPATH_PURGE,                       OPERATOR,   q_job, q_begin, NULL },
	{ "POST",   P QPATH_DIGESTS,                     OPERATOR,   q_job, q_begin, NULL },
	{ NULL, NULL, 0, NULL, NULL, NULL }
};

/* qd_routes' rows as the handlers name them. */
static const enum route qd_route_of[] = {
	R_HEALTH, R_ITEMS, R_ITEMS, R_ITEM, R_ITEM, R_RAW, R_RELEASE, R_RESCAN, R_PURGE,
	R_DIGESTS
};

void
hreq_fail(struct hreq *r, unsigned status, const char *fmt, ...)
{
	va_list ap;

	if (r->h.status != 0)
		return;
	r->h.status = status;
	va_start(ap, fmt);
	vsnprintf(r->h.err, sizeof(r->h.err), fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------- routing */

unsigned
http_route(const char *url, enum route *route, int64_t *id)
{
	char arg[HTTPD_ARGS_MAX][HTTPD_SEG_MAX + 1];
	int nargs, i = httpd_match(qd_routes, url, NULL, arg, &nargs);

	*route = R_NONE;
	if (i < 0)
		return MHD_HTTP_NOT_FOUND;
	*route = qd_route_of[i];
	if (nargs == 1 && parse_id(arg[0], id) == -1)
		return MHD_HTTP_BAD_REQUEST;
	return 0;
}

size_t
http_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return httpd_unescape(cls, c, s);
}

/* ---------------------------------------------------------- auth */

/* The tokens file (operators: "*"), then the store. */

int
auth_token(struct qd *qd, const char *token, struct qauth *out)
{
	struct httpd_auth ha = { 0, 0 };
	struct qd_conf *c;
	char hash[QD_SHA256_HEX], line[256];
	struct store *st;
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
	st = store_pool_get(qd->pool);
	rc = httpd_token(st, token, &ha);
	store_pool_put(qd->pool, st);
	if (rc == 1) {
		out->admin = 0;
		out->subscriber = ha.subscriber;
	}
	return rc;
}

/* ---------------------------------------------------------- httpd glue */

static int
q_bearer(void *arg, const char *token, struct httpd_auth *out)
{
	struct qauth a = { 0, 0 };
	int rc = auth_token(arg, token, &a);

	out->admin = a.admin;
	out->subscriber = a.subscriber;
	return rc;
}

static struct store *
q_store_get(void *arg)
{
	return store_pool_get(((struct qd *)arg)->pool);
}

static void
q_store_put(void *arg, struct store *st)
{
	store_pool_put(((struct qd *)arg)->pool, st);
}

static int
http_req_init(struct httpd_req *h)
{
	struct hreq *r = (struct hreq *)h;

	r->qd = h->arg_conf;
	r->up.fd = -1;
	return 0;
}

/* The one cleanup of a request, whatever happened to it. */
static void
http_req_done(struct httpd_req *h, int completed)
{
	struct hreq *r = (struct hreq *)h;

	if (r->uploading || r->up.sha != NULL)
		qspool_upload_abort(r->qd->spool, &r->up);
	if (!completed && r->route == R_ITEMS && r->meta.rcpts != NULL)
		log_info("submission%s%s: connection ended before the reply: nothing stored",
		    r->meta.queue_id[0] ? " " : "", r->meta.queue_id);
	submit_meta_free(&r->meta);
}

/* Routed and authenticated: the route, the item id, the scope. */
static void
q_begin(struct httpd_req *h)
{
	struct hreq *r = (struct hreq *)h;

	r->route = qd_route_of[h->route - qd_routes];
	r->auth.admin = h->auth.admin;
	r->auth.subscriber = h->auth.subscriber;
	if (h->nargs == 1 && parse_id(h->arg[0], &r->id) == -1)
		hreq_fail(r, MHD_HTTP_BAD_REQUEST, "malformed item id");
}

static void
q_submit_begin(struct httpd_req *h)
{
	q_begin(h);
	submit_begin((struct hreq *)h, h->conn);
}

static void
q_submit_data(struct httpd_req *h, const char *data, size_t len)
{
	submit_data((struct hreq *)h, data, len);
}

static enum MHD_Result
q_health(struct httpd_req *h)
{
	return httpd_json(h, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

static enum MHD_Result
q_list(struct httpd_req *h)
{
	return api_list((struct hreq *)h, h->conn);
}

static enum MHD_Result
q_submit(struct httpd_req *h)
{
	return submit_end((struct hreq *)h, h->conn);
}

static enum MHD_Result
q_show(struct httpd_req *h)
{
	return api_show((struct hreq *)h, h->conn);
}

static enum MHD_Result
q_delete(struct httpd_req *h)
{
	return api_delete((struct hreq *)h, h->conn);
}

static enum MHD_Result
q_raw(struct httpd_req *h)
{
	return api_raw((struct hreq *)h, h->conn);
}

static enum MHD_Result
q_release(struct httpd_req *h)
{
	return api_release((struct hreq *)h, h->conn);
}

static enum MHD_Result
q_job(struct httpd_req *h)
{
	return api_job((struct hreq *)h, h->conn);
}

char *
http_slurp(const char *path, char *err, size_t errlen)
{
	return httpd_slurp(path, err, errlen);
}

struct http *
http_start(struct qd *qd, int unix_fd, char *cert, char *key, char *err, size_t errlen)
{
	struct qd_conf *c = qd_conf_get(qd);
	struct httpd_conf hc = {
		.name = "http",
		.routes = qd_routes,
		.threads = 0,                   /* handlers block on SQLite and SMTP */
		.max_connections = (unsigned)c->q.max_connections,
		.timeout = 120,
		.head_max = QD_REQUEST_HEAD_MAX,
		.body_max = QD_BODY_MAX,
		.drain_max = QD_DRAIN_MAX,
		.access_log = 1,
		.req_size = sizeof(struct hreq),
		.arg = qd,
		.bearer = q_bearer,
		.store_get = q_store_get,
		.store_put = q_store_put,
		.req_init = http_req_init,
		.req_done = http_req_done,
	};
	struct httpd_listen l[2] = {
		{ .fd = unix_fd, .trusted = 1 },
		{ .fd = -1, .tcp = c->q.listen_tcp, .cert = cert, .key = key },
	};
	struct sockaddr_storage ss;
	struct http *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
	} else if (c->q.listen_tcp != NULL && httpd_parse_tcp(c->q.listen_tcp, &ss) == -1) {
		snprintf(err, errlen, "listen_tcp \"%s\": expected ADDRESS:PORT",
		    c->q.listen_tcp);
	} else {
		if (cert == NULL || key == NULL)
			l[1].cert = l[1].key = NULL;
		h->srv = httpd_start(&hc, l, c->q.listen_tcp != NULL ? 2 : 1, err, errlen);
	}
	qd_conf_put(qd, c);
	free(cert);                     /* httpd keeps its own copies */
	if (key != NULL)
		explicit_bzero(key, strlen(key));
	free(key);
	if (h != NULL && h->srv == NULL) {
		free(h);
		h = NULL;
	}
	return h;
}

/* Stops accepting and waits for the connection threads. */
void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	httpd_stop(h->srv);
	free(h);
}
