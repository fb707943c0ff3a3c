/*
 * events - the batched security-event writer (see events.h).
 *
 * Ownership: event_emit() copies everything into the ring; the writer thread
 * owns its own SQLite connection and the statement.  The ring is bounded so a
 * stalled disk can only cost events (counted), never block a mail thread.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "jsonstr.h"
#include "log.h"

#define EV_RING     8192
#define EV_BATCH    256

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
	sqlite3        *db;
	sqlite3_stmt   *ins;
} ev = { .mtx = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

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

/* Inserts batch[0..n) in one transaction.  0, or -1 with SQLite's reason in
 * err (nothing committed). */
static int
ev_write(struct ev *batch, size_t n, char *err, size_t errlen)
{
	size_t i;

	if (sqlite3_exec(ev.db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(ev.db));
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct ev *e = &batch[i];
		sqlite3_reset(ev.ins);
		sqlite3_bind_int64(ev.ins, 1, (sqlite3_int64)e->ts);
		sqlite3_bind_text(ev.ins, 2, ev.daemon, -1, SQLITE_STATIC);
		sqlite3_bind_text(ev.ins, 3, e->kind, -1, SQLITE_STATIC);
		sqlite3_bind_int(ev.ins, 4, e->severity);
		if (e->subscriber_id > 0)
			sqlite3_bind_int64(ev.ins, 5, e->subscriber_id);
		else
			sqlite3_bind_null(ev.ins, 5);
		sqlite3_bind_text(ev.ins, 6, e->src_ip, -1, SQLITE_STATIC);
		sqlite3_bind_text(ev.ins, 7, e->detail, -1, SQLITE_STATIC);
		if (sqlite3_step(ev.ins) != SQLITE_DONE)
			break;
	}
	if (i < n)      /* the step's error, before reset replaces it */
		snprintf(err, errlen, "%s", sqlite3_errmsg(ev.db));
	sqlite3_reset(ev.ins);
	sqlite3_clear_bindings(ev.ins);
	if (i == n && sqlite3_exec(ev.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(ev.db));
		i = 0;
	}
	if (i < n) {
		sqlite3_exec(ev.db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
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
	if (ev.running)
		return 0;
	if (sqlite3_open_v2(store_path, &ev.db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(ev.db, 5000) != SQLITE_OK ||
	    sqlite3_prepare_v2(ev.db, ev_sql_insert, -1, &ev.ins, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: events: %s", store_path,
		    ev.db ? sqlite3_errmsg(ev.db) : "out of memory");
		sqlite3_close(ev.db);
		ev.db = NULL;
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
		sqlite3_finalize(ev.ins);
		sqlite3_close(ev.db);
		free(ev.daemon);
		ev.db = NULL;
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
	sqlite3_finalize(ev.ins);
	sqlite3_close(ev.db);
	free(ev.daemon);
	ev.ins = NULL;
	ev.db = NULL;
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
