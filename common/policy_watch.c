/*
 * policy_watch - the thread that keeps a process's policy snapshot current
 * (policy.h, "The watcher").
 *
 * One watcher per process.  Its thread owns its own read-only store
 * connection (a struct store is never shared between threads) and is the
 * only writer of pw.cur; pw.lock guards the pointer swap, the request
 * counters and the stop flag.  Readers copy a reference under the lock and
 * then use the snapshot with no lock at all; the old snapshot is freed by
 * whoever drops its last reference, so a message being scanned keeps the
 * policy it started with.
 *
 * Start it after daemonising: threads do not survive fork().
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "policy.h"
#include "store.h"

/* Readers in WAL mode are rarely blocked; this bounds the rare case (a
 * checkpoint restarting the log) without stalling the poll loop for long. */
#define POLICY_WATCH_BUSY_MS 2000

static struct {
	pthread_mutex_t          lock;
	pthread_cond_t           wake;      /* stop or reload request */
	pthread_cond_t           done;      /* a forced reload finished */
	pthread_t                thread;
	int                      running;
	int                      stop;
	uint64_t                 requested, served;
	int                      result;    /* of the last forced reload */
	struct policy_snapshot  *cur;
	struct store            *st;        /* used by the thread only */
	int                      interval_ms;
	int                      failing;   /* log a failing store once */
} pw = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
watch_log_loaded(const struct policy_snapshot *s)
{
	size_t	subs, domains, threats;

	policy_counts(s, &subs, &domains, &threats);
	log_info("policy generation %lld loaded: %zu subscribers, %zu domains, "
	    "%zu threat sources", (long long)policy_generation(s), subs,
	    domains, threats);
}

/*
 * Polls the generation and loads a new snapshot when it changed (or when
 * forced).  Returns 0 (current or swapped), -1 (old snapshot kept).
 */
static int
watch_check(int forced)
{
	struct policy_snapshot	*ns, *old;
	int64_t			 gen;

	if ((gen = store_policy_generation(pw.st)) == -1) {
		if (!pw.failing)
			log_warnx("policy: cannot read the generation; keeping "
			    "generation %lld", (long long)policy_generation(pw.cur));
		pw.failing = 1;
		return -1;
	}
	if (!forced && gen == policy_generation(pw.cur)) {
		pw.failing = 0;
		return 0;
	}
	if (policy_load(pw.st, &ns) == -1) {
		if (!pw.failing)
			log_warnx("policy: loading generation %lld failed; keeping "
			    "generation %lld", (long long)gen,
			    (long long)policy_generation(pw.cur));
		pw.failing = 1;
		return -1;
	}
	pw.failing = 0;
	pthread_mutex_lock(&pw.lock);
	old = pw.cur;
	pw.cur = ns;
	pthread_mutex_unlock(&pw.lock);
	policy_unref(old);
	watch_log_loaded(ns);
	return 0;
}

static void *
watch_main(void *arg)
{
	struct timespec	deadline;
	uint64_t	req;
	int		forced, r;

	(void)arg;
	pthread_mutex_lock(&pw.lock);
	while (!pw.stop) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += pw.interval_ms / 1000;
		deadline.tv_nsec += (long)(pw.interval_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		while (!pw.stop && pw.requested == pw.served)
			if (pthread_cond_timedwait(&pw.wake, &pw.lock,
			    &deadline) == ETIMEDOUT)
				break;
		if (pw.stop)
			break;
		req = pw.requested;
		forced = req != pw.served;
		pthread_mutex_unlock(&pw.lock);

		r = watch_check(forced);

		pthread_mutex_lock(&pw.lock);
		if (forced) {
			pw.served = req;
			pw.result = r;
			pthread_cond_broadcast(&pw.done);
		}
	}
	pthread_mutex_unlock(&pw.lock);
	return NULL;
}

int
policy_watch_start(const char *store_path, int interval_ms, char *err,
    size_t errlen)
{
	pthread_condattr_t	 attr;
	struct policy_snapshot	*s;
	struct store		*st;
	int			 e;

	if (pw.running) {
		snprintf(err, errlen, "policy watcher already running");
		return -1;
	}
	if (interval_ms < 10)
		interval_ms = 10;
	if (store_open(store_path, STORE_READONLY, POLICY_WATCH_BUSY_MS, &st,
	    err, errlen) == -1)
		return -1;
	if (policy_load(st, &s) == -1) {
		snprintf(err, errlen, "%s: cannot load the policy (see the log)",
		    store_path);
		store_close(st);
		return -1;
	}
	/* Timed waits on the monotonic clock: setting the date must not
	 * stall or rush the poll. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pw.wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&pw.done, NULL);
	pw.st = st;
	pw.cur = s;
	pw.stop = 0;
	pw.requested = pw.served = 0;
	pw.failing = 0;
	pw.interval_ms = interval_ms;
	watch_log_loaded(s);
	if ((e = pthread_create(&pw.thread, NULL, watch_main, NULL)) != 0) {
		snprintf(err, errlen, "policy watcher: %s", strerror(e));
		pthread_cond_destroy(&pw.wake);
		pthread_cond_destroy(&pw.done);
		policy_unref(pw.cur);
		pw.cur = NULL;
		store_close(pw.st);
		pw.st = NULL;
		return -1;
	}
	pw.running = 1;
	return 0;
}

struct policy_snapshot *
policy_watch_current(void)
{
	struct policy_snapshot	*s;

	pthread_mutex_lock(&pw.lock);
	s = policy_ref(pw.cur);
	pthread_mutex_unlock(&pw.lock);
	return s;
}

/* Synchronous: returns once the watcher thread has reloaded (0) or failed
 * and kept the old snapshot (-1).  Not for signal handlers: a daemon's HUP
 * handler sets a flag, its main loop calls this. */
int
policy_watch_reload(void)
{
	uint64_t	my;
	int		r;

	pthread_mutex_lock(&pw.lock);
	if (!pw.running) {
		pthread_mutex_unlock(&pw.lock);
		return -1;
	}
	my = ++pw.requested;
	pthread_cond_signal(&pw.wake);
	while (pw.served < my && !pw.stop)
		pthread_cond_wait(&pw.done, &pw.lock);
	r = pw.served >= my ? pw.result : -1;
	pthread_mutex_unlock(&pw.lock);
	return r;
}

void
policy_watch_stop(void)
{
	if (!pw.running)
		return;
	pthread_mutex_lock(&pw.lock);
	pw.stop = 1;
	pthread_cond_signal(&pw.wake);
	pthread_cond_broadcast(&pw.done);
	pthread_mutex_unlock(&pw.lock);
	pthread_join(pw.thread, NULL);
	pthread_mutex_lock(&pw.lock);
	policy_unref(pw.cur);
	pw.cur = NULL;
	pw.running = 0;
	pthread_mutex_unlock(&pw.lock);
	store_close(pw.st);
	pw.st = NULL;
	pthread_cond_destroy(&pw.wake);
	pthread_cond_destroy(&pw.done);
}
