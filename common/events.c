/*
 * events - the batched security-event writer (see events.h).
 *
 * Ownership: event_emit() copies everything into the ring; the writer thread
 * owns its own store connection (opened by events_start through store_open,
 * so a store on an old schema is refused) and the statement in its cache.
 * The ring is bounded so a stalled disk can only cost events (counted),
 * never block a mail thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "jsonstr.h"
#include "log.h"
#include "store.h"

#define EV_RING     8192
#define EV_BATCH    256
#define EV_BUSY_MS  5000

struct ev {
	time_t    ts;
	int64_t   subscriber_id;
	int       severity;
	char     *kind, *src_ip, *detail;
};

static struct {
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	pthread_t       thr;
	struct ev       ring[EV_RING];
	size_t          head, count;
	int             running, stopping;
	uint64_t        dropped;
	int             drop_logged;
	char           *daemon;
	struct store   *st;
} ev = { .mtx = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static events_divert_fn ev_divert;     /* set once, before threads emit */

void
events_divert(events_divert_fn fn)
{
	ev_divert = fn;
}

static const char ev_sql_insert[] =
    "INSERT INTO events(ts, daemon, kind, severity, subscriber_id, src_ip, detail_json) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

static void
ev_free(struct ev *e)
{
	free(e->kind);
	free(e->src_ip);
	free(e->detail);
	memset(e, 0, sizeof(*e));
}

/* Inserts batch[0..n) in one transaction.  0, or -1 with the reason in err
 * (nothing committed).  The store connection is quiet: the writer reports a
 * failing streak once, not every retry. */
static int
ev_write(struct ev *batch, size_t n, char *err, size_t errlen)
{
	sqlite3_stmt	*ins;
	size_t		 i;

	if (store_begin(ev.st) == -1)
		goto fail;
	if ((ins = store_prepare(ev.st, ev_sql_insert)) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		struct ev *e = &batch[i];

		if (sqlite3_bind_int64(ins, 1, (sqlite3_int64)e->ts) != SQLITE_OK ||
		    sqlite3_bind_text(ins, 2, ev.daemon, -1, SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_text(ins, 3, e->kind, -1, SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_int(ins, 4, e->severity) != SQLITE_OK ||
		    (e->subscriber_id > 0 ?
		    sqlite3_bind_int64(ins, 5, e->subscriber_id) :
		    sqlite3_bind_null(ins, 5)) != SQLITE_OK ||
		    sqlite3_bind_text(ins, 6, e->src_ip, -1, SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_text(ins, 7, e->detail, -1, SQLITE_STATIC) != SQLITE_OK) {
			snprintf(err, errlen, "%s", store_errtext(ev.st));
			sqlite3_reset(ins);
			sqlite3_clear_bindings(ins);
			store_rollback(ev.st);
			return -1;
		}
		if (store_run_stmt(ev.st, ins, "insert event") == -1) {
			sqlite3_clear_bindings(ins);
			goto fail;
		}
		sqlite3_clear_bindings(ins);
	}
	if (store_commit(ev.st) == -1)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s", store_errtext(ev.st));
	store_rollback(ev.st);
	return -1;
}

/* Attempts at writing a failing batch once events_stop() was called: the
 * process is going away, so it cannot wait for the store forever. */
#define EV_STOP_TRIES 3

static void *
ev_writer(void *arg)
{
	struct ev batch[EV_BATCH];
	char err[256];
	int failing = 0, stop_tries = 0;

	(void)arg;
	pthread_mutex_lock(&ev.mtx);
	for (;;) {
		size_t n = 0;

		while (ev.count == 0 && !ev.stopping)
			pthread_cond_wait(&ev.cv, &ev.mtx);
		if (ev.count == 0 && ev.stopping)
			break;
		/* Copy out, then write without the lock: emitters never wait on
		 * disk.  The ring slots stay owned by the ring until committed
		 * (emitters only append behind them). */
		while (n < EV_BATCH && n < ev.count) {
			batch[n] = ev.ring[(ev.head + n) % EV_RING];
			n++;
		}
		pthread_mutex_unlock(&ev.mtx);
		if (ev_write(batch, n, err, sizeof(err)) == 0) {
			if (failing)
				log_info("events: store writable again");
			failing = 0;
			pthread_mutex_lock(&ev.mtx);
			for (size_t i = 0; i < n; i++)
				ev_free(&ev.ring[(ev.head + i) % EV_RING]);
			ev.head = (ev.head + n) % EV_RING;
			ev.count -= n;
			continue;
		}
		if (!failing)
			log_warnx("events: cannot write to the store: %s; keeping "
			    "events queued", err);
		failing = 1;
		/* Keep the batch queued and retry after a pause; only a full
		 * ring drops (in event_emit). */
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&ev.mtx);
		if (ev.stopping && ++stop_tries >= EV_STOP_TRIES) {
			ev.dropped += ev.count;
			log_warnx("events: %zu events lost at stop", ev.count);
			while (ev.count > 0) {
				ev_free(&ev.ring[ev.head]);
				ev.head = (ev.head + 1) % EV_RING;
				ev.count--;
			}
		}
	}
	pthread_mutex_unlock(&ev.mtx);
	return NULL;
}

int
events_start(const char *store_path, const char *daemon, char *err, size_t errlen)
{
	char	sub[512];

	if (ev.running)
		return 0;
	/* Through store_open: the same pragmas and the schema check as every
	 * other connection (a store on an old schema is refused, naming
	 * `moatctl db migrate`). */
	if (store_open(store_path, STORE_QUIET, EV_BUSY_MS, &ev.st, sub,
	    sizeof(sub)) == -1) {
		snprintf(err, errlen, "events: %s", sub);
		return -1;
	}
	if (store_prepare(ev.st, ev_sql_insert) == NULL) {
		snprintf(err, errlen, "%s: events: %s", store_path,
		    store_errtext(ev.st));
		store_close(ev.st);
		ev.st = NULL;
		return -1;
	}
	ev.daemon = strdup(daemon != NULL ? daemon : "moat");
	pthread_mutex_lock(&ev.mtx);
	ev.stopping = 0;
	ev.dropped = 0;
	ev.drop_logged = 0;
	pthread_mutex_unlock(&ev.mtx);
	if (ev.daemon == NULL || pthread_create(&ev.thr, NULL, ev_writer, NULL) != 0) {
		snprintf(err, errlen, "events: cannot start the writer thread");
		store_close(ev.st);
		free(ev.daemon);
		ev.st = NULL;
		ev.daemon = NULL;
		return -1;
	}
	pthread_mutex_lock(&ev.mtx);
	ev.running = 1;
	pthread_mutex_unlock(&ev.mtx);
	return 0;
}

void
event_emit(const char *kind, enum event_severity sev, int64_t subscriber_id,
    const char *src_ip, const char *detail_json)
{
	struct ev e = { 0 };

	if (kind == NULL)
		return;
	if (ev_divert != NULL) {
		ev_divert(kind, sev, subscriber_id, src_ip, detail_json);
		return;
	}
	e.ts = time(NULL);
	e.severity = (int)sev;
	e.subscriber_id = subscriber_id;
	e.kind = strdup(kind);
	e.src_ip = src_ip != NULL ? strdup(src_ip) : NULL;
	e.detail = strdup(detail_json != NULL ? detail_json : "{}");
	pthread_mutex_lock(&ev.mtx);
	/* Not started, or stopping: nobody would write it. Not a drop. */
	if (!ev.running || ev.stopping) {
		pthread_mutex_unlock(&ev.mtx);
		ev_free(&e);
		return;
	}
	if (e.kind == NULL || e.detail == NULL || ev.count == EV_RING) {
		ev.dropped++;
		if (!ev.drop_logged)
			log_warnx("events: queue full, dropping events");
		ev.drop_logged = 1;
		pthread_mutex_unlock(&ev.mtx);
		ev_free(&e);
		return;
	}
	ev.drop_logged = 0;
	ev.ring[(ev.head + ev.count) % EV_RING] = e;
	ev.count++;
	pthread_cond_signal(&ev.cv);
	pthread_mutex_unlock(&ev.mtx);
}

void
events_stop(void)
{
	if (!ev.running)
		return;
	pthread_mutex_lock(&ev.mtx);
	ev.stopping = 1;
	pthread_cond_signal(&ev.cv);
	pthread_mutex_unlock(&ev.mtx);
	pthread_join(ev.thr, NULL);
	store_close(ev.st);
	free(ev.daemon);
	ev.st = NULL;
	ev.daemon = NULL;
	pthread_mutex_lock(&ev.mtx);
	ev.running = 0;
	pthread_mutex_unlock(&ev.mtx);
}

uint64_t
events_dropped(void)
{
	uint64_t n;

	pthread_mutex_lock(&ev.mtx);
	n = ev.dropped;
	pthread_mutex_unlock(&ev.mtx);
	return n;
}

/* ---- JSON detail builder ---- */

void
jbuf_init(struct jbuf *j, char *buf, size_t cap)
{
	j->buf = buf;
	j->cap = cap;
	j->n = 0;
	j->len = 0;
	if (cap >= 2) {
		buf[0] = '{';
		buf[1] = '\0';
		j->len = 1;
	}
}

static void
jbuf_put(struct jbuf *j, const char *s, size_t n)
{
	if (j->len + n + 2 > j->cap) {     /* room for "}" and NUL */
		j->len = j->cap;           /* overflow marker */
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

/* A quoted JSON string: all of it, or (when it does not fit) overflow. */
static void
jbuf_quoted(struct jbuf *j, const char *s)
{
	size_t need;

	if (j->len >= j->cap)
		return;
	jbuf_put(j, "\"", 1);
	if (j->len >= j->cap)
		return;
	need = jsonstr_escape(j->buf + j->len, j->cap - j->len, s);
	if (j->len + need + 2 > j->cap) {   /* + '"' ... the "}" and NUL reserve */
		j->len = j->cap;
		return;
	}
	j->len += need;
	jbuf_put(j, "\"", 1);
}

static void
jbuf_key(struct jbuf *j, const char *key)
{
	if (j->n++ > 0)
		jbuf_put(j, ",", 1);
	jbuf_quoted(j, key);
	jbuf_put(j, ":", 1);
}

void
jbuf_str(struct jbuf *j, const char *key, const char *val)
{
	jbuf_key(j, key);
	if (val == NULL)
		jbuf_put(j, "null", 4);
	else
		jbuf_quoted(j, val);
}

void
jbuf_int(struct jbuf *j, const char *key, long long val)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%lld", val);

	jbuf_key(j, key);
	jbuf_put(j, tmp, (size_t)n);
}

const char *
jbuf_end(struct jbuf *j)
{
	if (j->cap < 3)
		return "{}";
	if (j->len >= j->cap) {
		strcpy(j->buf, "{}");
		return j->buf;
	}
	j->buf[j->len++] = '}';
	j->buf[j->len] = '\0';
	return j->buf;
}
