/*
 * milter_usage - billing counters per (day, subscriber, direction).
 *
 * The mail path adds to an in-memory table under a mutex (no SQL); a flush
 * thread with its own store connection swaps the table for an empty one
 * every usage_flush seconds and writes it in one transaction with an upsert,
 * so N messages cost one commit.  A failed write merges the rows back into
 * the live table: counts are delayed, never lost while the process lives.
 * The last flush runs at stop (TERM).  A crash loses at most one interval.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "log.h"
#include "milter.h"
#include "store.h"

#define USAGE_BUCKETS 256

struct usage_row {
	struct usage_row   *next;
	char                day[11];
	int64_t             sub;
	enum usage_dir      dir;
	struct usage_delta  d;
};

struct usage_table {
	struct usage_row *b[USAGE_BUCKETS];
	size_t            count;
};

struct usage_table *
usage_table_new(void)
{
	return calloc(1, sizeof(struct usage_table));
}

void
usage_table_free(struct usage_table *t)
{
	struct usage_row *r, *next;

	if (t == NULL)
		return;
	for (size_t i = 0; i < USAGE_BUCKETS; i++)
		for (r = t->b[i]; r != NULL; r = next) {
			next = r->next;
			free(r);
		}
	free(t);
}

static unsigned
usage_hash(const char *day, int64_t sub, enum usage_dir dir)
{
	unsigned h = 2166136261u;

	for (; *day; day++)
		h = (h ^ (unsigned char)*day) * 16777619u;
	h = (h ^ (unsigned)(sub & 0xffffffff)) * 16777619u;
	h = (h ^ (unsigned)dir) * 16777619u;
	return h % USAGE_BUCKETS;
}

int
usage_table_add(struct usage_table *t, const char *day, int64_t sub, enum usage_dir dir,
    const struct usage_delta *d)
{
	unsigned h = usage_hash(day, sub, dir);
	struct usage_row *r;

	for (r = t->b[h]; r != NULL; r = r->next)
		if (r->sub == sub && r->dir == dir && strcmp(r->day, day) == 0)
			break;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return -1;
		snprintf(r->day, sizeof(r->day), "%s", day);
		r->sub = sub;
		r->dir = dir;
		r->next = t->b[h];
		t->b[h] = r;
		t->count++;
	}
	r->d.messages += d->messages;
	r->d.bytes += d->bytes;
	r->d.infected += d->infected;
	r->d.quarantined += d->quarantined;
	r->d.rejected += d->rejected;
	return 0;
}

size_t
usage_table_count(const struct usage_table *t)
{
	return t->count;
}

int
usage_table_walk(const struct usage_table *t, int (*fn)(void *, const char *, int64_t,
    enum usage_dir, const struct usage_delta *), void *arg)
{
	const struct usage_row *r;

	for (size_t i = 0; i < USAGE_BUCKETS; i++)
		for (r = t->b[i]; r != NULL; r = r->next)
			if (fn(arg, r->day, r->sub, r->dir, &r->d) == -1)
				return -1;
	return 0;
}

/* ------------------------------------------------------------ process-wide */

static struct {
	pthread_mutex_t     mtx;
	struct usage_table *live;
	struct store       *st;
	pthread_t           thr;
	long long           interval;
	int                 running;
	volatile int        stop;
} us = { .mtx = PTHREAD_MUTEX_INITIALIZER };

static const char usage_sql_upsert[] =
    "INSERT INTO usage(day, subscriber_id, direction, messages, bytes, infected, "
    "quarantined, rejected) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT(day, subscriber_id, direction) DO UPDATE SET "
    "messages = messages + excluded.messages, bytes = bytes + excluded.bytes, "
    "infected = infected + excluded.infected, quarantined = quarantined + excluded.quarantined, "
    "rejected = rejected + excluded.rejected";

static int
usage_write_row(void *arg, const char *day, int64_t sub, enum usage_dir dir,
    const struct usage_delta *d)
{
	sqlite3_stmt *s;

	if ((s = store_prepare(us.st, usage_sql_upsert)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, day, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, sub);
	sqlite3_bind_text(s, 3, dir == USAGE_IN ? "in" : "out", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, d->messages);
	sqlite3_bind_int64(s, 5, d->bytes);
	sqlite3_bind_int64(s, 6, d->infected);
	sqlite3_bind_int64(s, 7, d->quarantined);
	sqlite3_bind_int64(s, 8, d->rejected);
	return store_run_stmt(us.st, s, "usage");
}

static int
usage_merge_row(void *arg, const char *day, int64_t sub, enum usage_dir dir,
    const struct usage_delta *d)
{
	return usage_table_add(arg, day, sub, dir, d);
}

/* Writes the live table; on failure the rows go back into it. */
static void
usage_flush(void)
{
	struct usage_table *t, *fresh;

	if ((fresh = usage_table_new()) == NULL)
		return;
	pthread_mutex_lock(&us.mtx);
	t = us.live;
	us.live = fresh;
	pthread_mutex_unlock(&us.mtx);
	if (usage_table_count(t) == 0) {
		usage_table_free(t);
		return;
	}
	if (store_begin(us.st) == 0 && usage_table_walk(t, usage_write_row, NULL) == 0 &&
	    store_commit(us.st) == 0) {
		log_debug("usage: %zu rows flushed", usage_table_count(t));
		usage_table_free(t);
		return;
	}
	store_rollback(us.st);
	log_warnx("usage: flush of %zu rows failed; kept for the next attempt",
	    usage_table_count(t));
	pthread_mutex_lock(&us.mtx);
	(void)usage_table_walk(t, usage_merge_row, us.live);
	pthread_mutex_unlock(&us.mtx);
	usage_table_free(t);
}

static void *
usage_main(void *arg)
{
	long long waited = 0;

	while (!us.stop) {
		struct timespec ts = { 0, 200 * 1000000L };

		nanosleep(&ts, NULL);
		if ((waited += 200) < us.interval * 1000)
			continue;
		waited = 0;
		usage_flush();
	}
	usage_flush();
	return NULL;
}

int
usage_start(const char *store_path, long long flush_seconds, char *err, size_t errlen)
{
	int rc;

	if ((us.live = usage_table_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (store_open(store_path, 0, 5000, &us.st, err, errlen) == -1)
		return -1;
	us.interval = flush_seconds;
	if ((rc = pthread_create(&us.thr, NULL, usage_main, NULL)) != 0) {
		snprintf(err, errlen, "usage thread: %s", strerror(rc));
		return -1;
	}
	us.running = 1;
	return 0;
}

void
usage_count(int64_t sub, enum usage_dir dir, const struct usage_delta *d)
{
	char day[16];
	time_t now = time(NULL);
	struct tm tm;

	if (sub <= 0 || us.live == NULL)
		return;
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	pthread_mutex_lock(&us.mtx);
	if (usage_table_add(us.live, day, sub, dir, d) == -1)
		log_warnx("usage: out of memory, a message is not counted");
	pthread_mutex_unlock(&us.mtx);
}

/*
 * Messages already counted: a direct-mapped table of (key, subscriber,
 * direction) hashes with the time counted.  A collision forgets the older
 * entry (counted again: never a message lost from billing because of the
 * table); a retry within the day finds its entry.  Holds no pointers.
 */
#define SEEN_SLOTS 8192
#define SEEN_TTL   86400

static struct {
	pthread_mutex_t mtx;
	uint64_t        h[SEEN_SLOTS];
	time_t          t[SEEN_SLOTS];
} seen = { .mtx = PTHREAD_MUTEX_INITIALIZER };

int
usage_seen(uint64_t key, int64_t sub, enum usage_dir dir, time_t now)
{
	uint64_t h;
	size_t i;
	int hit;

	if (key == 0)
		return 0;
	h = (key ^ ((uint64_t)sub * 0x9e3779b97f4a7c15ULL) ^
	    (((uint64_t)dir + 1) * 0xc2b2ae3d27d4eb4fULL)) | 1;
	i = (size_t)(h % SEEN_SLOTS);
	pthread_mutex_lock(&seen.mtx);
	hit = seen.h[i] == h && now - seen.t[i] < SEEN_TTL && now >= seen.t[i];
	if (!hit) {
		seen.h[i] = h;
		seen.t[i] = now;
	}
	pthread_mutex_unlock(&seen.mtx);
	return hit;
}

void
usage_stop(void)
{
	if (!us.running)
		return;
	us.stop = 1;
	pthread_join(us.thr, NULL);
	us.running = 0;
	store_close(us.st);
	us.st = NULL;
	usage_table_free(us.live);
	us.live = NULL;
}
