/*
 * httpd - the HTTP server every Moat daemon with an API or a page uses:
 * libmicrohttpd listeners (a bound UNIX socket or TCP, TLS through GnuTLS
 * when a certificate is given), a route table, authentication (bearer
 * tokens and Basic logins from the store's subscriber_credentials),
 * request limits, JSON, error and file replies, one access log line per
 * request.
 *
 * A daemon describes its routes:
 *
 *     static const struct httpd_route routes[] = {
 *             { "GET",  "/v1/items",    HTTPD_BEARER, list },
 *             { "GET",  "/v1/items/{}", HTTPD_BEARER, show },   // {} = one segment, arg[0]
 *             { "POST", "/v1/jobs",     HTTPD_BEARER | HTTPD_ADMIN, job },
 *             { NULL }
 *     };
 *
 * and starts the server with a struct httpd_conf and its listeners; every
 * request gets one struct httpd_req (with conf.req_size bytes so the daemon
 * can put its own fields after it), freed after conf.req_done whatever
 * happened.  Unknown paths get 404, known paths with another method 405
 * with Allow; authentication failures 401 (with WWW-Authenticate) or 403;
 * bodies larger than body_max 413; request heads larger than head_max are
 * refused by libmicrohttpd (431).  An error decided early (httpd_fail) is
 * sent once the request is complete, or at once when the client can take
 * it (see httpd.c).
 *
 * Trusts: a listener marked trusted (a UNIX socket whose mode and group
 * admit only the gateway's users) with everything: its requests are
 * admins without credentials.  Does not trust: anything a client sends.
 * Thread safety: handlers run concurrently (a thread per connection, or a
 * pool); the hooks given in httpd_conf must be thread safe.
 */
#ifndef MOAT_HTTPD_H
#define MOAT_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include <jansson.h>
#include <microhttpd.h>

struct store;
struct httpd;

#define HTTPD_ARGS_MAX  4        /* {} captures per route */
#define HTTPD_SEG_MAX   127      /* bytes of one path segment */
#define HTTPD_XHDR_MAX  384      /* bytes of extra reply headers (httpd_header) */

/* httpd_route.auth on listeners that are not trusted. */
#define HTTPD_OPEN      0        /* no credentials */
#define HTTPD_BEARER    1        /* Authorization: Bearer TOKEN */
#define HTTPD_BASIC     2        /* Authorization: Basic (a subscriber login) */
#define HTTPD_ADMIN     4        /* with BEARER/BASIC: a subscriber's credential gets 403 */

/* Who asks: admins (trusted listener, an operator's token) or one subscriber. */
struct httpd_auth {
	int      admin;
	int64_t  subscriber;
};

struct httpd_req;
typedef enum MHD_Result (*httpd_fn)(struct httpd_req *);

struct httpd_route {
	const char  *method;     /* "GET", "POST", ... (NULL ends the table) */
	const char  *path;       /* "/v1/items/{}/raw" */
	unsigned     auth;       /* HTTPD_OPEN, HTTPD_BEARER, HTTPD_BASIC | HTTPD_ADMIN */
	httpd_fn     handler;    /* the request is complete: queue the reply */
	/* Optional: once routed and authenticated (may httpd_fail). */
	void       (*begin)(struct httpd_req *);
	/* Optional: takes the body chunk by chunk instead of httpd collecting
	 * up to body_max bytes into req->body. */
	void       (*body)(struct httpd_req *, const char *data, size_t len);
};

struct httpd_req {
	struct httpd                *srv;
	struct MHD_Connection       *conn;
	const struct httpd_route    *route;
	const char                  *method, *path;    /* decoded path */
	char                         arg[HTTPD_ARGS_MAX][HTTPD_SEG_MAX + 1];
	int                          nargs;
	int                          trusted;          /* came through a trusted listener */
	int                          tls;              /* came through a TLS listener */
	struct httpd_auth            auth;
	unsigned                     status;           /* error decided early (httpd_fail) */
	char                         err[512];
	char                        *body;             /* NUL-terminated; NULL when none */
	size_t                       bodylen;
	uint64_t                     discarded;        /* body bytes dropped after an error */
	void                        *arg_conf;         /* httpd_conf.arg */
	/* For the access log. */
	char                         log_method[17], log_path[201];
	unsigned                     reply_status;
	uint64_t                     reply_bytes;
	struct timespec              t0;
	/* Headers for the reply queued next (httpd_header): "Name\0Value\0"... */
	char                         xhdr[HTTPD_XHDR_MAX];
	size_t                       xhdrlen;
};

struct httpd_listen {
	int          fd;         /* a bound, listening socket (e.g. UNIX), or -1 */
	const char  *tcp;        /* else "ADDRESS:PORT" or "[ADDRESS6]:PORT" */
	int          trusted;    /* requests are admins without credentials */
	const char  *cert, *key; /* PEM texts (read before the privilege drop): TLS */
	const char  *client_ca;  /* PEM text: ask TLS clients for a certificate (whose
	                          * fingerprint the daemon checks: httpd_peer_sha256) */
	int          plain_remote; /* plain HTTP on a non-loopback address is allowed */
};

struct httpd_conf {
	const char                  *name;        /* log prefix, "http" */
	const struct httpd_route    *routes;
	unsigned                     threads;     /* 0: a thread per connection (handlers may
	                                           * block); N: N epoll threads */
	unsigned                     max_connections;  /* 0: libmicrohttpd's default */
	unsigned                     per_client;  /* connections per client address on listeners
	                                           * given by .tcp; 0: no limit */
	unsigned                     timeout;     /* seconds of client silence; 0: 120 */
	size_t                       head_max;    /* request head (and connection buffer); 0: 64 KiB */
	size_t                       body_max;    /* collected bodies; 0: 64 KiB */
	uint64_t                     drain_max;   /* body bytes read and dropped after an error; 0: 1 MiB */
	int                          head_as_get; /* HEAD is served by the GET route */
	int                          access_log;  /* one log line per request */
	const char                  *realm;       /* Basic realm; NULL: "moat" */
	size_t                       req_size;    /* >= sizeof(struct httpd_req) (0: that) */
	void                        *arg;         /* passed to the hooks, req->arg_conf */
	/* Optional: a bearer token's scope: 1 found, 0 unknown, -1 error.  NULL:
	 * httpd_token() on the store from store_get. */
	int                        (*bearer)(void *arg, const char *token, struct httpd_auth *out);
	/* The store for credentials (a pooled connection, returned after use). */
	struct store              *(*store_get)(void *arg);
	void                       (*store_put)(void *arg, struct store *st);
	/* Optional: a new request (0, or -1: refuse it), and its end. */
	int                        (*req_init)(struct httpd_req *);
	void                       (*req_done)(struct httpd_req *, int completed);
};

/* Starts one daemon per listener; NULL with err on failure. */
struct httpd *httpd_start(const struct httpd_conf *conf, const struct httpd_listen *l,
    size_t nl, char *err, size_t errlen);
/* Stops accepting and waits for the requests in flight. */
void httpd_stop(struct httpd *h);

/* Replies (queue them from a handler).  o is stolen; msg is {"error": msg}. */
enum MHD_Result httpd_json(struct httpd_req *r, unsigned status, json_t *o);
enum MHD_Result httpd_error(struct httpd_req *r, unsigned status, const char *msg);
enum MHD_Result httpd_text(struct httpd_req *r, unsigned status, const char *ctype,
    const char *text, size_t len);
/* The open file fd (taken over, closed whatever happens) of size bytes:
 * sendfile on plain HTTP, a GET's "Range: bytes=" as httpd_range_parse
 * decides (206 / 416 / the whole file; ignored under If-Range, which is
 * not evaluated), HEAD without the body. */
enum MHD_Result httpd_file(struct httpd_req *r, int fd, uint64_t size, const char *ctype);
/* The client's address text (the TCP peer), "local" for a UNIX socket. */
void httpd_client_addr(const struct httpd_req *r, char *buf, size_t len);
/* The SHA-256 of the TLS client certificate's DER (64 lower-case hex
 * digits): 1, or 0 when the request came without one.  The handshake
 * proved the client holds its key; nothing else about the certificate is
 * checked here -- the fingerprint is what identifies the client. */
int  httpd_peer_sha256(const struct httpd_req *r, char hex[65]);
/* Adds a header (e.g. Last-Modified, Retry-After) to the reply the
 * handler queues next, whichever function queues it.  Name and value are
 * copied; 0, or -1 when they do not fit (HTTPD_XHDR_MAX in all) or
 * contain a control character. */
int httpd_header(struct httpd_req *r, const char *name, const char *value);
/* Decides an error now; it is sent when the request is complete.  The first
 * decision wins. */
void httpd_fail(struct httpd_req *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Credentials in the store: 1 found (out set), 0 unknown, -1 store error.
 * A token is kept as its SHA-256 (hex) in kind 'token'; a login's password
 * as a yescrypt hash in kind 'password' (the SMTP AUTH logins); only
 * subscribers with status 'active' count. */
int httpd_token(struct store *st, const char *token, struct httpd_auth *out);
int httpd_basic(struct store *st, const char *login, const char *password,
    struct httpd_auth *out);
/* The password check alone: 1 when it matches a login (*subscriber and
 * *active set, suspended subscribers included), 0 when not, -1 store error.
 * For a daemon that tells a suspended subscriber so rather than "wrong
 * password". */
int httpd_login_check(struct store *st, const char *login, const char *password,
    int64_t *subscriber, int *active);

/* Pure parts, for unit and fuzz tests. */
/*
 * The Range header h (NULL: none) of a GET of size bytes, RFC 9110 14:
 *   1  one satisfiable range: *off, *len (206 with Content-Range);
 *   0  no Range, a unit other than "bytes" (ignored, as 14.2 requires), or
 *      a valid list of two or more ranges: the whole file, 200 -- 14.2
 *      lets a server ignore Range, and one part is all freshclam, curl
 *      and wget ask for, so multipart/byteranges is never built;
 *  -1  "bytes=" with an invalid range set (a range-spec that is not
 *      "A-", "A-B" with B >= A, or "-N"; no range-spec at all) or one
 *      range that is not satisfiable (A >= size; "-0"; an empty file):
 *      416 with a Content-Range of the size (14.2 "SHOULD").
 * Numbers of any length saturate (a huge A is unsatisfiable, a huge B is
 * the end); blanks around commas and empty list elements are allowed.
 * *off and *len are set only on 1, and then off + len <= size.
 */
int httpd_range_parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len);
/* The route for path and method (NULL: any): its index, -1 (no route has
 * this path: 404) or -2 (not with this method: 405).  Captures go to arg. */
int httpd_match(const struct httpd_route *routes, const char *path, const char *method,
    char arg[HTTPD_ARGS_MAX][HTTPD_SEG_MAX + 1], int *nargs);
/* The Allow header of path ("GET, POST") into buf. */
void httpd_allow(const struct httpd_route *routes, const char *path, char *buf, size_t len);
/* In-place percent-decoding that keeps "%00" encoded; the new length. */
size_t httpd_unescape(void *cls, struct MHD_Connection *c, char *s);
/* "ADDRESS:PORT" / "[ADDRESS6]:PORT" to a socket address: 0 or -1. */
int httpd_parse_tcp(const char *spec, struct sockaddr_storage *ss);
/* Reads a PEM file (before the drop).  malloc'd, or NULL with err set. */
char *httpd_slurp(const char *path, char *err, size_t errlen);

#endif
