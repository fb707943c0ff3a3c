/*
 * updated_http - moat-updated's route table and its glue to common/httpd:
 * the plain and HTTPS listeners, each request's context (struct ud_req: the
 * httpd request and who asks), admission (ud_admit), the request's one
 * cleanup (a mirror slot freed, the download recorded, the password wiped).
 *
 * Trusts nothing a client sends: every route decides who asks through
 * ud_admit before it serves anything but /health.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "httpd.h"
#include "log.h"
#include "updated.h"
#include "updated_mirror.h"
#include "updated_packages.h"
#include "updated_page.h"

struct ud_http {
	struct httpd *srv;
};

struct ud_req {
	struct httpd_req  base;        /* first: httpd allocates conf.req_size */
	struct ud_who     who;
	int               admitted;
};

static enum MHD_Result ud_health(struct httpd_req *);
static enum MHD_Result ud_login(struct httpd_req *);
static enum MHD_Result ud_mirror(struct httpd_req *);
static enum MHD_Result ud_root(struct httpd_req *);

/* GET routes also answer HEAD (head_as_get). */
static const struct httpd_route ud_routes[] = {
	{ "GET", "/",             HTTPD_OPEN, ud_root, NULL, NULL },
	{ "GET", "/health",       HTTPD_OPEN, ud_health, NULL, NULL },
	{ "GET", "/login",        HTTPD_OPEN, ud_login, NULL, NULL },
	{ "GET", "/{}",           HTTPD_OPEN, ud_mirror, NULL, NULL },
	{ NULL, NULL, 0, NULL, NULL, NULL }
};

struct ud_who *
ud_http_who(struct httpd_req *r)
{
	return &((struct ud_req *)r)->who;
}

struct ud_who *
ud_admit(struct httpd_req *r, enum MHD_Result *rc)
{
	struct ud_req *q = (struct ud_req *)r;
	struct ud_conf *c;
	char detail[512];
	struct jbuf j;
	int a;

	if (q->admitted)
		return &q->who;
	a = access_decide(r, &q->who);
	if (a == 1) {
		q->admitted = 1;
		return &q->who;
	}
	if (a == -1) {
		*rc = httpd_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "store error");
		return NULL;
	}
	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "path", r->log_path);
	jbuf_str(&j, "reason", a == -2 ? "bad credentials" : a == -3 ? "throttled" :
	    q->who.suspended ? "suspended" : "not a subscriber");
	jbuf_str(&j, "peer", q->who.peer);
	event_emit(EV_UPDATE_DENIED, SEV_NOTICE, 0, q->who.client, jbuf_end(&j));
	if (a == -2) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
		if (resp == NULL) {
			*rc = MHD_NO;
			return NULL;
		}
		*rc = MHD_queue_basic_auth_fail_response(r->conn, "moat-updated", resp);
		MHD_destroy_response(resp);
		r->reply_status = MHD_HTTP_UNAUTHORIZED;
		return NULL;
	}
	c = ud_conf_get();
	*rc = page_denied(r, c, &q->who, a == -3 ? MHD_HTTP_TOO_MANY_REQUESTS :
	    MHD_HTTP_FORBIDDEN);
	ud_conf_put(c);
	return NULL;
}

static enum MHD_Result
ud_health(struct httpd_req *r)
{
	return httpd_text(r, MHD_HTTP_OK, "text/plain", "ok\n", 3);
}

/* The install page: the subscriber's current package per platform. */
static enum MHD_Result
ud_root(struct httpd_req *r)
{
	struct ud_conf *c;
	struct ud_who *who;
	struct store *st;
	struct pkg *pkgs;
	enum MHD_Result rc;
	size_t n;
	int got;

	if ((who = ud_admit(r, &rc)) == NULL)
		return rc;
	st = ud_store_get();
	got = packages_current(st, &pkgs, &n);
	ud_store_put(st);
	if (got == -1)
		return httpd_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "store error");
	c = ud_conf_get();
	rc = page_install(r, c, who, pkgs, n);
	ud_conf_put(c);
	free(pkgs);
	return rc;
}

/* The private mirror: /<db>.cvd, .cld, -N.cdiff and .sign from mirror_dir. */
static enum MHD_Result
ud_mirror(struct httpd_req *r)
{
	struct ud_conf *c;
	struct ud_who *who;
	enum MHD_Result rc;

	if ((who = ud_admit(r, &rc)) == NULL)
		return rc;
	c = ud_conf_get();
	rc = mirror_serve(r, c, r->arg[0], who);
	ud_conf_put(c);
	return rc;
}

/*
 * A browser outside the subscribers' networks gets here from the denial
 * page: without credentials (or with wrong ones) a Basic challenge, which
 * makes it ask the user; with good ones a redirect to the install page
 * (the browser keeps sending the credentials to this server).
 */
static enum MHD_Result
ud_login(struct httpd_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;
	struct ud_who *who;

	if (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION) == NULL) {
		if ((resp = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT)) == NULL)
			return MHD_NO;
		rc = MHD_queue_basic_auth_fail_response(r->conn, "moat-updated", resp);
		MHD_destroy_response(resp);
		r->reply_status = MHD_HTTP_UNAUTHORIZED;
		return rc;
	}
	if ((who = ud_admit(r, &rc)) == NULL)
		return rc;
	if ((resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT)) == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, "/");
	rc = MHD_queue_response(r->conn, MHD_HTTP_SEE_OTHER, resp);
	MHD_destroy_response(resp);
	r->reply_status = MHD_HTTP_SEE_OTHER;
	return rc;
}

/* The one cleanup of a request. */
static void
ud_req_done(struct httpd_req *r, int completed)
{
	struct ud_req *q = (struct ud_req *)r;

	if (q->who.mirror_slot)
		mirror_release();
	if (q->who.what[0] != '\0' && q->who.subscriber != 0)
		downloads_record(q->who.subscriber, q->who.client, q->who.what,
		    completed ? r->reply_bytes : 0, completed ? r->reply_status : 0);
	explicit_bzero(q->who.secret, sizeof(q->who.secret));
}

static struct store *
ud_pool_get(void *arg)
{
	(void)arg;
	return ud_store_get();
}

static void
ud_pool_put(void *arg, struct store *st)
{
	(void)arg;
	ud_store_put(st);
}

struct ud_http *
ud_http_start(struct ud_conf *c, const int fds[2], char *cert, char *key, char *client_ca,
    char *err, size_t errlen)
{
	const struct httpd_conf hc = {
		.name = "http",
		.routes = ud_routes,
		.threads = (unsigned)c->u.threads,
		.max_connections = (unsigned)c->u.max_connections,
		.per_client = (unsigned)c->u.per_client,
		.timeout = (unsigned)c->u.timeout,
		.head_max = 16 * 1024,
		.body_max = 1,
		.drain_max = 1,
		.head_as_get = 1,
		.access_log = c->u.access_log,
		.realm = "moat-updated",
		.req_size = sizeof(struct ud_req),
		.store_get = ud_pool_get,
		.store_put = ud_pool_put,
		.req_done = ud_req_done,
	};
	struct httpd_listen l[2];
	struct ud_http *h = calloc(1, sizeof(*h));
	size_t n = 0;

	if (fds[0] != -1)
		l[n++] = (struct httpd_listen){ .fd = fds[0], .plain_remote = 1 };
	if (fds[1] != -1)
		l[n++] = (struct httpd_listen){ .fd = fds[1], .cert = cert, .key = key,
		    .client_ca = client_ca };
	if (h == NULL)
		snprintf(err, errlen, "out of memory");
	else if (n == 0)
		snprintf(err, errlen, "no listener");
	else
		h->srv = httpd_start(&hc, l, n, err, errlen);
	free(cert);                     /* httpd keeps its own copies */
	if (key != NULL)
		explicit_bzero(key, strlen(key));
	free(key);
	free(client_ca);
	if (h != NULL && h->srv == NULL) {
		free(h);
		h = NULL;
	}
	return h;
}

void
ud_http_stop(struct ud_http *h)
{
	if (h == NULL)
		return;
	httpd_stop(h->srv);
	free(h);
}
