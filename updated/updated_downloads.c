/*
 * updated_downloads - every download served to a subscriber (a mirror
 * file, a bundle) becomes a `downloads` row for billing.  Requests only
 * copy the row into a bounded queue; the daemon's tick writes the queue in
 * one transaction, so the mirror's hot path never waits on the disk.  A
 * full queue drops rows and counts them (logged at the next flush): billing
 * is best effort, serving is not.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "updated.h"

#define DOWNLOADS_QUEUE 8192

struct downloads_row {
	time_t    ts;
	int64_t   subscriber;
	char      client[UD_CLIENT_MAX];
	char      what[96];
	uint64_t  bytes;
	unsigned  status;
};

static pthread_mutex_t downloads_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t downloads_flushing = PTHREAD_MUTEX_INITIALIZER;
static struct downloads_row downloads_q[DOWNLOADS_QUEUE], downloads_out[DOWNLOADS_QUEUE];
static size_t downloads_n;
static unsigned long long downloads_lost;

void
downloads_record(int64_t subscriber, const char *client, const char *what, uint64_t bytes,
    unsigned status)
{
	struct downloads_row *d;

	pthread_mutex_lock(&downloads_lock);
	if (downloads_n == DOWNLOADS_QUEUE) {
		downloads_lost++;
	} else {
		d = &downloads_q[downloads_n++];
		d->ts = time(NULL);
		d->subscriber = subscriber;
		snprintf(d->client, sizeof(d->client), "%s", client);
		snprintf(d->what, sizeof(d->what), "%s", what);
		d->bytes = bytes;
		d->status = status;
	}
	pthread_mutex_unlock(&downloads_lock);
}

void
downloads_flush(void)
{
	static const char sql[] =
	    "INSERT INTO downloads (ts, subscriber_id, client, what, bytes, status)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	unsigned long long lost;
	struct store *st;
	sqlite3_stmt *stmt;
	size_t n, i = 0;

	pthread_mutex_lock(&downloads_flushing);
	pthread_mutex_lock(&downloads_lock);
	n = downloads_n;
	memcpy(downloads_out, downloads_q, n * sizeof(downloads_q[0]));
	downloads_n = 0;
	lost = downloads_lost;
	downloads_lost = 0;
	pthread_mutex_unlock(&downloads_lock);
	if (lost > 0)
		log_warnx("downloads: %llu row(s) not recorded (queue full)", lost);
	if (n == 0) {
		pthread_mutex_unlock(&downloads_flushing);
		return;
	}
	st = ud_store_get();
	if (store_begin(st) == 0 && (stmt = store_prepare(st, sql)) != NULL) {
		for (; i < n; i++) {
			const struct downloads_row *d = &downloads_out[i];
			sqlite3_bind_int64(stmt, 1, (sqlite3_int64)d->ts);
			sqlite3_bind_int64(stmt, 2, d->subscriber);
			sqlite3_bind_text(stmt, 3, d->client, -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 4, d->what, -1, SQLITE_STATIC);
			sqlite3_bind_int64(stmt, 5, (sqlite3_int64)d->bytes);
			sqlite3_bind_int(stmt, 6, (int)d->status);
			int rc = store_run_stmt(st, stmt, "downloads insert");
			sqlite3_reset(stmt);
			if (rc == -1)
				break;
		}
		sqlite3_clear_bindings(stmt);
		if (i == n && store_commit(st) == 0)
			log_debug("downloads: %zu row(s) recorded", n);
		else {
			store_rollback(st);
			log_warnx("downloads: %zu row(s) not recorded (store error)", n);
		}
	} else {
		log_warnx("downloads: %zu row(s) not recorded (store error)", n);
	}
	ud_store_put(st);
	pthread_mutex_unlock(&downloads_flushing);
}
