/*
 * decoyd_rows - the keeper's decoy_sessions writer: a thread with its own
 * store connection behind a bounded queue (a full queue drops the row,
 * counted and logged), so reading the channel never waits on SQLite.
 * Moved from decoyd_record.c when the loop process lost the store.
 *
 * Ownership: rows_put() copies everything into the queue; the writer frees
 * each row after its batch (committed or lost).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoyd_keeper.h"
#include "log.h"
#include "store.h"

#define ROWS_MAX   4096
#define ROWS_BATCH 256

struct rows_row {
	int64_t  started, ended;
	char     src[64];
	unsigned port;
	char     personality[16];
	char    *path;
	char    *summary;
};

static pthread_mutex_t rows_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rows_cv = PTHREAD_COND_INITIALIZER;
static struct rows_row rows_q[ROWS_MAX];
static size_t rows_head, rows_count;
static int rows_quit, rows_running;
static pthread_t rows_thr;
static struct store *rows_st;
static uint64_t rows_dropped;

static void
rows_free(struct rows_row *r)
{
	free(r->path);
	free(r->summary);
	r->path = r->summary = NULL;
}

static const char ROWS_INSERT[] =
    "INSERT INTO decoy_sessions (started, ended, src_ip, port, personality, "
    "transcript_path, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

static void
rows_insert(struct rows_row *rows, size_t n)
{
	sqlite3_stmt *st;
	size_t i;

	if (store_begin(rows_st) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if ((st = store_prepare(rows_st, ROWS_INSERT)) == NULL)
			break;
		sqlite3_bind_int64(st, 1, rows[i].started);
		sqlite3_bind_int64(st, 2, rows[i].ended);
		sqlite3_bind_text(st, 3, rows[i].src, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, (int)rows[i].port);
		sqlite3_bind_text(st, 5, rows[i].personality, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, rows[i].path, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, rows[i].summary, -1, SQLITE_STATIC);
		if (store_run_stmt(rows_st, st, "decoy_sessions insert") == -1)
			break;
	}
	if (i < n || store_commit(rows_st) == -1) {
		store_rollback(rows_st);
		log_warnx("decoy_sessions: %zu row(s) lost", n);
	}
out:
	for (i = 0; i < n; i++)
		rows_free(&rows[i]);
}

static void *
rows_writer(void *arg)
{
	static struct rows_row batch[ROWS_BATCH];
	size_t n;

	(void)arg;
	pthread_mutex_lock(&rows_mu);
	for (;;) {
		while (rows_count == 0 && !rows_quit)
			pthread_cond_wait(&rows_cv, &rows_mu);
		if (rows_count == 0 && rows_quit)
			break;
		for (n = 0; n < ROWS_BATCH && rows_count > 0; n++) {
			batch[n] = rows_q[rows_head];
			rows_head = (rows_head + 1) % ROWS_MAX;
			rows_count--;
		}
		pthread_mutex_unlock(&rows_mu);
		rows_insert(batch, n);
		pthread_mutex_lock(&rows_mu);
	}
	pthread_mutex_unlock(&rows_mu);
	return NULL;
}

int
rows_start(const char *store, char *err, size_t errlen)
{
	if (store_open(store, 0, 5000, &rows_st, err, errlen) == -1)
		return -1;
	if (pthread_create(&rows_thr, NULL, rows_writer, NULL) != 0) {
		snprintf(err, errlen, "cannot start the decoy_sessions writer");
		store_close(rows_st);
		rows_st = NULL;
		return -1;
	}
	rows_running = 1;
	return 0;
}

void
rows_put(int64_t started, int64_t ended, const char *src, unsigned port,
    const char *personality, const char *path, const char *summary)
{
	struct rows_row r = { 0 };

	r.started = started;
	r.ended = ended;
	snprintf(r.src, sizeof(r.src), "%s", src);
	r.port = port;
	snprintf(r.personality, sizeof(r.personality), "%s", personality);
	r.path = path != NULL ? strdup(path) : NULL;
	r.summary = strdup(summary);
	pthread_mutex_lock(&rows_mu);
	if (!rows_running || rows_count == ROWS_MAX || r.summary == NULL) {
		if (rows_dropped++ % 1000 == 0)
			log_warnx("decoy_sessions queue full: row of %s dropped", r.src);
		rows_free(&r);
	} else {
		rows_q[(rows_head + rows_count++) % ROWS_MAX] = r;
		pthread_cond_signal(&rows_cv);
	}
	pthread_mutex_unlock(&rows_mu);
}

void
rows_stop(void)
{
	if (rows_running) {
		pthread_mutex_lock(&rows_mu);
		rows_quit = 1;
		pthread_cond_signal(&rows_cv);
		pthread_mutex_unlock(&rows_mu);
		pthread_join(rows_thr, NULL);
		rows_running = 0;
	}
	store_close(rows_st);
	rows_st = NULL;
	if (rows_dropped > 0)
		log_warnx("decoy_sessions: %llu row(s) dropped",
		    (unsigned long long)rows_dropped);
}
