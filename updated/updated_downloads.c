/*
 * updated_downloads - every download served to a subscriber (a mirror
 * file, a bundle) is counted in `downloads` for billing.  Requests only add
 * to a bounded in-memory table; identical downloads (subscriber, client,
 * file, status) share one entry, their requests and bytes summed, so a
 * client fetching thousands of times a second costs one row per flush.
 * The daemon's tick writes the table in one transaction, so the mirror's
 * hot path never waits on the disk.  More distinct downloads than the
 * table holds in one tick are dropped and counted (logged at the next
 * flush): billing is best effort, serving is not.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "updated.h"

#define DOWNLOADS_QUEUE 8192          /* distinct downloads per flush */
#define DOWNLOADS_SLOTS 16384         /* hash slots: a power of two, > 2 x queue */

struct downloads_row {
	time_t    ts;                 /* the first of them */
	int64_t   subscriber;
	char      client[UD_CLIENT_MAX];
	char      what[96];
	uint64_t  bytes;
	unsigned  status;
	uint64_t  requests;
};

static pthread_mutex_t downloads_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t downloads_flushing = PTHREAD_MUTEX_INITIALIZER;
static struct downloads_row downloads_q[DOWNLOADS_QUEUE], downloads_out[DOWNLOADS_QUEUE];
static size_t downloads_n;
/* Index + 1 into downloads_q of each key's entry (0: free); cleared at flush. */
static uint16_t downloads_slot[DOWNLOADS_SLOTS];
static unsigned long long downloads_lost;

static uint32_t
downloads_hash(int64_t subscriber, const char *client, const char *what, unsigned status)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 8; i++)
		h = (h ^ (uint8_t)((uint64_t)subscriber >> (8 * i))) * 16777619u;
	for (const char *p = client; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (const char *p = what; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return (h ^ status) * 16777619u;
}

void
downloads_record(int64_t subscriber, const char *client, const char *what, uint64_t bytes,
    unsigned status)
{
	uint32_t i = downloads_hash(subscriber, client, what, status) & (DOWNLOADS_SLOTS - 1);
	struct downloads_row *d;

	pthread_mutex_lock(&downloads_lock);
	for (;; i = (i + 1) & (DOWNLOADS_SLOTS - 1)) {
		if (downloads_slot[i] == 0) {
			if (downloads_n == DOWNLOADS_QUEUE) {
				downloads_lost++;
				break;
			}
			d = &downloads_q[downloads_n++];
			downloads_slot[i] = (uint16_t)downloads_n;
			d->ts = time(NULL);
			d->subscriber = subscriber;
			snprintf(d->client, sizeof(d->client), "%s", client);
			snprintf(d->what, sizeof(d->what), "%s", what);
			d->bytes = bytes;
			d->status = status;
			d->requests = 1;
			break;
		}
		d = &downloads_q[downloads_slot[i] - 1];
		if (d->subscriber == subscriber && d->status == status &&
		    strncmp(d->client, client, sizeof(d->client) - 1) == 0 &&
		    strncmp(d->what, what, sizeof(d->what) - 1) == 0) {
			d->bytes += bytes;
			d->requests++;
			break;
		}
	}
	pthread_mutex_unlock(&downloads_lock);
}

void
downloads_flush(void)
{
	static const char sql[] =
	    "INSERT INTO downloads (ts, subscriber_id, client, what, bytes, status, requests)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	unsigned long long lost;
	struct store *st;
	sqlite3_stmt *stmt;
	size_t n, i = 0;

	pthread_mutex_lock(&downloads_flushing);
	pthread_mutex_lock(&downloads_lock);
	n = downloads_n;
	memcpy(downloads_out, downloads_q, n * sizeof(downloads_q[0]));
	downloads_n = 0;
	if (n > 0)
		memset(downloads_slot, 0, sizeof(downloads_slot));
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
			sqlite3_bind_int64(stmt, 7, (sqlite3_int64)d->requests);
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
