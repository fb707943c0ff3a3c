/*
 * quarantined - moat-quarantined's internal interfaces.
 *
 * Ownership: one struct qd per process (quarantined_state.c, run by
 * daemon_main from moat_quarantined.c).  It owns the spool
 * (quarantined_spool.c: upload files, the group committer and the spool
 * lock), the pool of store connections (quarantined_index.c) and the set of
 * items being released (quarantined_release.c).  The configuration is
 * daemon.c's generation, refcounted and swapped whole on HUP: a request
 * takes a reference with qd_conf_get() and drops it with qd_conf_put().
 */
#ifndef MOAT_QUARANTINED_H
#define MOAT_QUARANTINED_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "config.h"
#include "daemon.h"
#include "store.h"
#include "store_pool.h"
#include "quarantined_conf.h"

#define QD_SHA256_HEX      65          /* 64 hex digits + NUL */
#define QD_ADDR_MAX        320         /* RFC 5321 path, generously */
#define QD_MAX_RCPTS       1000
#define QD_MAX_VIRUSES     100
#define QD_VIRUS_MAX       256
#define QD_QUEUE_ID_MAX    64
#define QD_CLIENT_MAX      64
#define QD_LIST_MAX        1000        /* page size limit of GET /v1/items */
#define QD_BODY_MAX        65536       /* JSON request bodies */
/* Bytes of a refused body read and dropped so that the client, still
 * writing, can read the refusal; a longer one loses its connection. */
#define QD_DRAIN_MAX       (1024 * 1024)
/* Request line and headers (1000 recipients in the query string fit). */
#define QD_REQUEST_HEAD_MAX (640 * 1024)

/* A configuration generation (daemon.h): common and quarantined. */
struct qd_conf {
	DAEMON_CONF_HEAD;
	struct quarantined_conf  q;
};

struct qspool;
struct store_pool;

struct qd {
	struct qspool       *spool;
	struct store_pool  *pool;
	pthread_mutex_t     busy_lock;     /* ids being released (release.c) */
	int64_t            *busy;
	size_t              nbusy, busycap;
	pthread_mutex_t     job_lock;      /* one rescan/purge/digest at a time */
};

/* Who asks: the UNIX socket and "*" tokens are admins (operators); a
 * subscriber token sees only that subscriber's items and releases only
 * their 'virus' holds, to their own recipients (quarantined_release.c). */
struct qauth {
	int      admin;
	int64_t  subscriber;
};

/* quarantined_state.c: a reference to the current generation, and its
 * release; the daemon's descriptor for daemon_main(). */
struct qd_conf *qd_conf_get(struct qd *qd);
void            qd_conf_put(struct qd *qd, struct qd_conf *c);
extern const struct daemon_desc qd_desc;

/* ---- quarantined_parse.c: validation of client input (pure) ---- */

/* Decimal id 1..INT64_MAX, digits only.  0 or -1 (malformed). */
int  parse_id(const char *s, int64_t *out);
/* Non-negative decimal (0 allowed).  0 or -1. */
int  parse_uint(const char *s, int64_t *out);
/* Unix seconds or YYYY-MM-DD (UTC midnight).  0 or -1. */
int  parse_time(const char *s, int64_t *out);
/* 1 when s is a sane envelope address: local@domain, printable, no
 * spaces, angle brackets or quotes, at most QD_ADDR_MAX bytes.  "" is
 * not an address (callers handle the null sender themselves). */
int  parse_addr_ok(const char *s);
/* Printable ASCII without spaces, 1..max bytes. */
int  parse_token_ok(const char *s, size_t max);
/* Printable ASCII (spaces allowed, no controls), 1..max bytes. */
int  parse_text_ok(const char *s, size_t max);
/* 1 for "XX/SHA256" with lower-case hex and XX the first two digits. */
int  parse_spool_path_ok(const char *rel);
/* 1 for 64 lower-case hex digits. */
int  parse_sha256_ok(const char *s);
/* Octal permission bits "0660" -> 0660.  0 or -1. */
int  parse_mode(const char *s, unsigned *out);

/* ---- quarantined_spool.c ---- */

/* The recipients of one subscriber: one item (row) of a submission. */
struct submit_group {
	int64_t  subscriber;               /* 0 = none (operators see it only) */
	json_t  *rcpts;                    /* array of strings, owned */
	int64_t  id;                       /* set by the commit */
};

struct submit_meta {
	char     queue_id[QD_QUEUE_ID_MAX + 1];
	int64_t  subscriber;               /* 0 = none: the subscriber of `rcpt` */
	int64_t  policy;                   /* 0 = none */
	char     sender[QD_ADDR_MAX + 1];  /* "" = null sender */
	char     client[QD_CLIENT_MAX + 1];
	json_t  *rcpts;                    /* `rcpt`: array of strings, owned */
	json_t  *rcpt_of;                  /* `rcpt_of`: array of [sub, addr], owned */
	json_t  *viruses;                  /* array of strings, owned */
	char     hold[16];                 /* QHOLD_*, "" until submit_begin decides */
	char    *scan;                     /* canonical scan settings, malloc'd, or NULL */
	struct submit_group *groups;       /* one per subscriber, in order of first recipient */
	size_t   ngroups;
};

/* Frees what a submit_meta owns (not the struct itself). */
void submit_meta_free(struct submit_meta *m);
/* Groups m's recipients by subscriber (rcpt and rcpt_of).  0, or -1 with
 * err set (an address given for two subscribers, no memory). */
int  submit_meta_group(struct submit_meta *m, char *err, size_t errlen);
/* The hold kind of a submission: the milter's word, never weaker than what
 * the names say (a Heuristics.* name is at least a heuristic hold). */
const char *submit_hold(const char *given, json_t *viruses);

struct qspool_upload {
	int      fd;                       /* -1 when none */
	char     tmpname[64];              /* below spool/tmp */
	uint64_t size;
	void    *sha;                      /* struct sha256_ctx * */
	char     sha256[QD_SHA256_HEX];    /* set by qspool_upload_finish */
};

/* SHA-256 of data as lower-case hex (nettle). */
void sha256_hex(const void *data, size_t len, char hex[QD_SHA256_HEX]);

/* qspool_open before the privilege drop (the directory must exist),
 * qspool_start after it (tmp/, committer thread).  0, or -1 (logged). */
int  qspool_open(const char *dir, struct qspool **out);
int  qspool_start(struct qspool *sp, struct store_pool *pool, long long window_ms,
    long long batch);
void qspool_close(struct qspool *sp);
void qspool_set_commit(struct qspool *sp, long long window_ms, long long batch);
/* Removes upload leftovers in tmp/ and content files no row references
 * (both are what a crash leaves behind).  Run before serving. */
int  qspool_recover(struct qspool *sp);

/* Upload life cycle: begin -> write* -> finish -> qspool_commit, or abort at
 * any point (also after finish when the commit was not reached). */
int  qspool_upload_begin(struct qspool *sp, struct qspool_upload *up);
/* -1 with errno on a write error (ENOSPC, EFBIG, EIO ...). */
int  qspool_upload_write(struct qspool_upload *up, const void *buf, size_t len);
/* fsyncs and closes the file, computes the digest.  0 or -1 (errno). */
int  qspool_upload_finish(struct qspool_upload *up);
void qspool_upload_abort(struct qspool *sp, struct qspool_upload *up);

/* Moves the finished upload into XX/SHA256 (or drops it when that content
 * is stored already), fsyncs the directory and inserts the rows (one per
 * group of m, ids set in m->groups), batched with concurrent submissions.
 * A submission's rows are committed all or none.  Returns 0 with *id (the
 * first row's), -1 on a storage or SQL error (nothing left behind), -2
 * when a row was refused (bad reference: unknown subscriber or policy).
 * The upload is consumed either way. */
int  qspool_commit(struct qspool *sp, struct qspool_upload *up,
    const struct submit_meta *m, int64_t *id);

/* Opens a stored message read-only, given its validated relative path.
 * Returns the fd or -1. */
int  qspool_open_item(struct qspool *sp, const char *rel);
/* The spool lock: held by the committer while it links files and commits
 * rows, and by whoever removes files, so a file is never unlinked between
 * a concurrent submission's "already stored" check and its row's commit. */
void qspool_lock(struct qspool *sp);
void qspool_unlock(struct qspool *sp);
/* Under the spool lock, after the caller's transaction committed: removes
 * the content file when no row (other than status 'deleted') uses sha. */
void qspool_drop_unreferenced(struct qspool *sp, struct store *st, const char *sha);

/* ---- quarantined_index.c ---- */

struct qrow {
	int64_t  id, subscriber, policy, received, size;
	char     status[16];
	char     hold[16];                 /* virus | heuristic | unscannable */
	char     sha256[QD_SHA256_HEX];
	char     path[80];
	char     sender[QD_ADDR_MAX + 1];
	char     queue_id[QD_QUEUE_ID_MAX + 1];
	json_t  *rcpts;                    /* owned; index_row_free */
};

struct qfilter {
	int64_t     subscriber;            /* 0 = any */
	const char *status;                /* NULL = any */
	int64_t     since, until;          /* 0 = open */
	const char *virus, *sender, *recipient;
	int64_t     limit, offset;
};

/* The pool (common/store_pool.h) is opened with synchronous=FULL. */
int  index_insert(struct store *st, const struct submit_meta *m, const char *sha,
    int64_t size, const char *rel, int64_t now, int64_t *id);
/* Tri-state: -1 error, 0 absent (or another subscriber's when sub > 0), 1. */
int  index_row(struct store *st, int64_t id, int64_t sub, struct qrow *r);
void index_row_free(struct qrow *r);
int  index_item_json(struct store *st, int64_t id, int64_t sub, json_t **out);
/* {"items":[...],"total":N}; 0 or -1. */
int  index_list(struct store *st, const struct qfilter *f, json_t **out);
/* 1 marked, 0 no longer held, -1 error. */
int  index_mark_released(struct store *st, int64_t id, int64_t ts, const char *reply);
int  index_mark_deleted(struct store *st, int64_t id);
/* Rows other than 'deleted' that use sha; -1 on error. */
int64_t index_sha_refs(struct store *st, const char *sha);
int  index_subscriber_exists(struct store *st, int64_t id);
int  index_policy_exists(struct store *st, int64_t id);

/* ---- quarantined_release.c ---- */

/* Release results, mapped to HTTP by the API. */
enum release_rc {
	REL_OK = 0,        /* 250: marked released */
	REL_NOTFOUND,      /* 404 */
	REL_CONFLICT,      /* 409: not held, or being released */
	REL_SMTP,          /* 502: the server refused or was unreachable */
	REL_FORBIDDEN,     /* 403: not for this caller (hold kind, recipients) */
	REL_ERROR,         /* 500 */
};
enum release_rc release_item(struct qd *qd, int64_t id, const struct qauth *who,
    const char *by, json_t *rcpts, char *reply, size_t replylen);
/* busy set: 1 claimed, 0 already busy. */
int  release_busy_claim(struct qd *qd, int64_t id);
void release_busy_drop(struct qd *qd, int64_t id);
int  release_busy_has(struct qd *qd, int64_t id);
/*
 * One SMTP transaction to conf's reinject URL: from (may be ""), rcpts,
 * the message = head (may be NULL) followed by fd's bytes from 0 to EOF
 * (fd may be -1 for head only).  Returns 1 when the final reply was 250
 * (reply holds it), 0 when the server refused (reply says why), -1 on a
 * transport error (reply says why).
 */
int  release_smtp_send(const struct qd_conf *c, const char *from,
    const char *const *rcpts, size_t nrcpts, const char *head, size_t headlen,
    int fd, char *reply, size_t replylen);

/* ---- jobs: quarantined_purge.c, _rescan.c, _digest.c ---- */
/* 1 deleted, 0 no such item (for who), -2 conflict (busy or already
 * deleted), -1 error; err says why. */
int  purge_delete_item(struct qd *qd, int64_t id, const struct qauth *who,
    char *err, size_t errlen);
int  purge_run(struct qd *qd, int64_t *purged);
struct rescan_result { int64_t rescanned, clean, released, infected, changed, errors; };
int  rescan_run(struct qd *qd, struct rescan_result *res, char *err, size_t errlen);
int  digest_run(struct qd *qd, int64_t *sent);
/* Shared template expansion of {subscriber} and {date}; malloc'd. */
char *digest_expand(const char *tpl, const char *subscriber, const char *date);

/* ---- quarantined_http.c (on common/httpd) ---- */
struct http;
/* Starts the API on the bound UNIX socket fd (and TCP when configured).
 * cert/key: PEM texts read before the privilege drop (NULL: no TLS); taken
 * over by the server, freed by http_stop() or on failure. */
struct http *http_start(struct qd *qd, int unix_fd, char *cert, char *key,
    char *err, size_t errlen);
/* Reads a PEM file (before the drop).  malloc'd, or NULL with err set. */
char *http_slurp(const char *path, char *err, size_t errlen);
void http_stop(struct http *h);

/* ---- quarantined_auth (in quarantined_http.c) ---- */
/* Maps a bearer token to a scope: 1 found, 0 unknown, -1 error. */
int  auth_token(struct qd *qd, const char *token, struct qauth *out);

#endif
