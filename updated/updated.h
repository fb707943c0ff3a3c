/*
 * updated - moat-updated's internal interfaces.
 *
 * Ownership: one process-wide state in updated_life.c (run by daemon_main
 * from moat_updated.c): the directory descriptors of mirror_dir and
 * packages_dir (opened as root before the drop; every file is opened
 * relative to them with O_NOFOLLOW, never by a path built from client
 * text), the pool of store connections, the policy watcher (subscribers and
 * their networks), the HTTP server (updated_http.c) and the vendor puller
 * (updated_vendor.c).  The configuration is daemon.c's generation: a
 * request takes a reference with ud_conf_get() and drops it with
 * ud_conf_put().
 */
#ifndef MOAT_UPDATED_H
#define MOAT_UPDATED_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "daemon.h"
#include "updated_conf.h"

struct store;
struct httpd_req;

/* A configuration generation (daemon.h): common and updated. */
struct ud_conf {
	DAEMON_CONF_HEAD;
	struct updated_conf  u;
};

#define UD_CLIENT_MAX  64        /* an address text */
#define UD_NAME_MAX    128       /* a subscriber's name as shown */
#define UD_LOGIN_MAX   320
#define UD_SECRET_MAX  256

/* Who asks (updated_access.c), decided once per request. */
struct ud_who {
	int64_t      subscriber;             /* 0: nobody we serve */
	int          suspended;              /* a subscriber's, but suspended */
	char         name[UD_NAME_MAX + 1];  /* the subscriber's name */
	const char  *how;                    /* "network", "login", "cert", or "" */
	char         client[UD_CLIENT_MAX];  /* the client (after trusted X-Forwarded-For) */
	char         peer[UD_CLIENT_MAX];    /* the TCP peer */
	char         login[UD_LOGIN_MAX + 1];/* Basic login, "" when none */
	/* The Basic password, kept only for the request (a bundle's
	 * freshclam.conf carries the client's credentials); wiped at its end. */
	char         secret[UD_SECRET_MAX + 1];
	int          https;                  /* came over the HTTPS listener */
	/* Set by the handler that serves a download, recorded at the request's
	 * end (downloads: subscriber, client, what, bytes, status). */
	char         what[96];               /* "test.cvd", "bundle:debian", "" = nothing */
	int          mirror_slot;            /* holds a mirror_max_inflight slot */
};

/* updated_life.c */
extern const struct daemon_desc ud_desc;
struct ud_conf *ud_conf_get(void);
void            ud_conf_put(struct ud_conf *c);
struct store   *ud_store_get(void);        /* a pooled connection (blocks for one) */
void            ud_store_put(struct store *st);
int             ud_mirror_fd(void);        /* O_DIRECTORY descriptors */
int             ud_packages_fd(void);

/* updated_access.c: fills who; 1 allowed, 0 refused (who says why: nobody,
 * or suspended), -2 refused for bad credentials (401), -3 too many bad
 * credentials from this client (429), -1 an internal error (the store). */
int  access_decide(struct httpd_req *r, struct ud_who *who);

/* updated_http.c */
struct ud_http;
/* fds: the bound plain and HTTPS sockets (-1: none); the PEM texts are
 * taken over (freed, the key wiped). */
struct ud_http *ud_http_start(struct ud_conf *c, const int fds[2], char *cert, char *key,
    char *client_ca, char *err, size_t errlen);
void            ud_http_stop(struct ud_http *h);
/* The who of a request on this server (part of its context). */
struct ud_who  *ud_http_who(struct httpd_req *r);
/* Who asks, decided now (access_decide); when refused, the denial is
 * queued (403 and the denial page, or 401 for bad credentials, or 503) and
 * an update.denied event emitted: the handler returns *rc.  NULL then. */
struct ud_who  *ud_admit(struct httpd_req *r, enum MHD_Result *rc);

/* updated_downloads.c: downloads, recorded for billing.  record copies the
 * row into a bounded queue (never blocks a request); flush writes it in one
 * transaction (the daemon's tick, and at stop). */
void downloads_record(int64_t subscriber, const char *client, const char *what,
    uint64_t bytes, unsigned status);
void downloads_flush(void);

#endif
