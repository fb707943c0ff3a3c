/*
 * milter_engine - the one libclamav engine every scan shares, its reload,
 * and the bound on concurrent scans.
 *
 * The engine is compiled once and read-only afterwards, so any number of
 * threads scan with it at once.  struct engine is refcounted: each scan holds
 * a reference from engine_acquire() to engine_release(); the watcher swaps in
 * a new engine and drops the table's reference, and the last scan of the old
 * engine frees it (clamd's reload_th() does the same with a global lock).
 *
 * Reload modes (milter.reload_mode):
 *   concurrent  the new engine is built beside the old one and swapped:
 *               scans never wait, memory doubles for the length of a load.
 *   lowmem      the watcher takes the write side of en_gate: new scans wait
 *               (sending smfi_progress) until running scans end, the old
 *               engine is freed, and the new one is loaded.  Nothing is
 *               refused: Postfix keeps the SMTP session open.
 * A failed load keeps the old engine and logs; mail is never refused for it.
 *
 * The watcher polls the signature directory with cl_statchkdir every
 * signature_check seconds (which sees new and changed files; a removed one
 * it misses, so the count of signature files is compared too) and reloads
 * on change or on SIGHUP (which also
 * reloads the policy snapshot at once).  It is the one
 * thread with SIGHUP unblocked (libmilter's own signal thread would treat
 * HUP as "stop"; see moat_milter.c).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <clamav.h>
#include <libmilter/mfapi.h>

#include "daemon.h"
#include "events.h"
#include "log.h"
#include "milter.h"

static struct {
	const struct milter_conf *cf;
	pthread_mutex_t   mtx;          /* guards current */
	struct engine    *current;
	pthread_rwlock_t  gate;         /* lowmem: readers scan, the reload writes */
	sem_t             slots;        /* scans running at once */
	struct cl_stat    dbstat;
	pthread_t         thr;
	int               running;
	volatile int      stop;
	unsigned int      generation;
	const char       *tmpdir;       /* scan_tmpdir, or spool */
} eng = { .mtx = PTHREAD_MUTEX_INITIALIZER, .gate = PTHREAD_RWLOCK_INITIALIZER };

static void
engine_unref(struct engine *en)
{
	if (en == NULL)
		return;
	if (atomic_fetch_sub_explicit(&en->en_refs, 1, memory_order_acq_rel) == 1) {
		cl_engine_free(en->en_cl);
		free(en);
	}
}

/* Loads and compiles a new engine from the signature directory.  Returns
 * NULL with err set. */
static struct engine *
engine_load(const struct milter_conf *cf, char *err, size_t errlen)
{
	struct engine *en;
	struct cl_engine *cl;
	struct scanopts so;
	cl_error_t rc;
	unsigned int sigs = 0;

	if ((cl = cl_engine_new()) == NULL) {
		snprintf(err, errlen, "cl_engine_new failed");
		return NULL;
	}
	/* The engine's half of the scan settings (scanopts.h): the limits,
	 * and whether messages are walked; the policy adds the rest. */
	scanopts_default(&so);
	so.mime_walk = cf->mime_walk;
	so.max_scansize = cf->max_scansize;
	so.max_filesize = cf->max_filesize;
	so.max_recursion = cf->max_recursion;
	so.max_files = cf->max_files;
	if (scanopts_engine_apply(&so, cl, err, errlen) == -1) {
		cl_engine_free(cl);
		return NULL;
	}
	if ((rc = cl_engine_set_str(cl, CL_ENGINE_TMPDIR, eng.tmpdir)) != CL_SUCCESS) {
		snprintf(err, errlen, "cl_engine_set: %s", cl_strerror(rc));
		cl_engine_free(cl);
		return NULL;
	}
	if ((rc = cl_load(cf->signatures, cl, &sigs, CL_DB_STDOPT)) != CL_SUCCESS) {
		snprintf(err, errlen, "cl_load %s: %s", cf->signatures, cl_strerror(rc));
		cl_engine_free(cl);
		return NULL;
	}
	scan_engine_setup(cl);
	if ((rc = cl_engine_compile(cl)) != CL_SUCCESS) {
		snprintf(err, errlen, "cl_engine_compile: %s", cl_strerror(rc));
		cl_engine_free(cl);
		return NULL;
	}
	if ((en = calloc(1, sizeof(*en))) == NULL) {
		snprintf(err, errlen, "out of memory");
		cl_engine_free(cl);
		return NULL;
	}
	en->en_refs = 1;          /* the table's reference */
	en->en_cl = cl;
	en->en_sigs = sigs;
	en->en_so = so;
	return en;
}

/* A signature file removed since the last load (an operator withdrawing a
 * signature that misfires): cl_statchkdir only sees new and changed ones. */
static int
sigs_removed(void)
{
	struct cl_stat now;
	int removed;

	memset(&now, 0, sizeof(now));
	if (cl_statinidir(eng.cf->signatures, &now) != CL_SUCCESS)
		return 0;
	removed = now.entries < eng.dbstat.entries;
	cl_statfree(&now);
	return removed;
}

static void
engine_stat(void)
{
	cl_statfree(&eng.dbstat);
	memset(&eng.dbstat, 0, sizeof(eng.dbstat));
	if (cl_statinidir(eng.cf->signatures, &eng.dbstat) != CL_SUCCESS)
		log_warnx("cannot stat signature directory %s", eng.cf->signatures);
}

/* libclamav's temporary directory: scan_tmpdir when it can be made ours
 * (0700, owned by the user we drop to), else the spool. */
static const char *
engine_tmpdir(const struct milter_conf *cf, const char *user)
{
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (cf->scan_tmpdir == NULL || cf->scan_tmpdir[0] == '\0')
		return cf->spool;
	if (mkdir(cf->scan_tmpdir, 0700) == -1 && errno != EEXIST) {
		log_warn("scan_tmpdir %s, using %s", cf->scan_tmpdir, cf->spool);
		return cf->spool;
	}
	if (lstat(cf->scan_tmpdir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_warnx("scan_tmpdir %s is not a directory, using %s", cf->scan_tmpdir, cf->spool);
		return cf->spool;
	}
	if (geteuid() == 0 && user != NULL && user[0] != '\0' &&
	    daemon_user_ids(user, &uid, &gid) == 0 &&
	    (chown(cf->scan_tmpdir, uid, gid) == -1 || chmod(cf->scan_tmpdir, 0700) == -1)) {
		log_warn("scan_tmpdir %s, using %s", cf->scan_tmpdir, cf->spool);
		return cf->spool;
	}
	return cf->scan_tmpdir;
}

int
engine_init(const struct milter_conf *cf, const char *user, char *err, size_t errlen)
{
	cl_error_t rc;
	long n;
	struct engine *en;

	pthread_rwlockattr_t ra;

	eng.cf = cf;
	eng.tmpdir = engine_tmpdir(cf, user);
	/* Writer preference: a lowmem reload must not starve under load. */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&eng.gate, &ra);
	pthread_rwlockattr_destroy(&ra);
	if ((rc = cl_init(CL_INIT_DEFAULT)) != CL_SUCCESS) {
		snprintf(err, errlen, "cl_init: %s", cl_strerror(rc));
		return -1;
	}
	n = cf->threads;
	if (n == 0 && (n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	if (sem_init(&eng.slots, 0, (unsigned)n) == -1) {
		snprintf(err, errlen, "sem_init: %s", strerror(errno));
		return -1;
	}
	if (cf->max_filesize < cf->max_scansize)
		log_warnx("max_filesize (%lld) < max_scansize (%lld): archive members between "
		    "the two are skipped by libclamav without an alert", cf->max_filesize,
		    cf->max_scansize);
	engine_stat();
	if ((en = engine_load(cf, err, errlen)) == NULL)
		return -1;
	en->en_generation = ++eng.generation;
	eng.current = en;
	log_info("engine ready: ClamAV %s, %u signatures from %s, %ld scan threads, "
	    "temporary files in %s", cl_retver(), en->en_sigs, cf->signatures, n, eng.tmpdir);
	return 0;
}

static void
engine_reload(const char *why)
{
	struct engine *en, *old;
	struct timespec t0, t1;
	char err[512], detail[256];
	struct jbuf j;
	int lowmem = eng.cf->reload_mode == RELOAD_LOWMEM;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	engine_stat();
	if (lowmem) {
		/* Wait for running scans, free the old engine first: one engine in
		 * memory at any time.  New scans block on the gate meanwhile. */
		pthread_rwlock_wrlock(&eng.gate);
		pthread_mutex_lock(&eng.mtx);
		old = eng.current;
		eng.current = NULL;
		pthread_mutex_unlock(&eng.mtx);
		engine_unref(old);
		if ((en = engine_load(eng.cf, err, sizeof(err))) == NULL) {
			log_warnx("signature reload (%s) failed: %s; loading again", why, err);
			/* The old engine is gone: retry until one loads (scans wait). */
			while ((en = engine_load(eng.cf, err, sizeof(err))) == NULL && !eng.stop) {
				log_warnx("signature load failed: %s", err);
				sleep(5);
			}
			if (en == NULL) {
				pthread_rwlock_unlock(&eng.gate);
				return;
			}
		}
		en->en_generation = ++eng.generation;
		pthread_mutex_lock(&eng.mtx);
		eng.current = en;
		pthread_mutex_unlock(&eng.mtx);
		pthread_rwlock_unlock(&eng.gate);
	} else {
		if ((en = engine_load(eng.cf, err, sizeof(err))) == NULL) {
			log_warnx("signature reload (%s) failed, keeping the old engine: %s", why, err);
			return;
		}
		en->en_generation = ++eng.generation;
		pthread_mutex_lock(&eng.mtx);
		old = eng.current;
		eng.current = en;
		pthread_mutex_unlock(&eng.mtx);
		engine_unref(old);      /* freed here or by its last scan */
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("signatures reloaded (%s, %s mode): %u signatures in %.0f ms", why,
	    lowmem ? "lowmem" : "concurrent", en->en_sigs,
	    (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "reason", why);
	jbuf_str(&j, "mode", lowmem ? "lowmem" : "concurrent");
	jbuf_int(&j, "signatures", en->en_sigs);
	event_emit(EV_MAIL_RELOAD, SEV_INFO, 0, NULL, jbuf_end(&j));
}

static void *
engine_watch(void *arg)
{
	sigset_t set;
	long long waited_ms = 0;

	/* This thread takes SIGHUP (flag set by daemon.c's handler). */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!eng.stop) {
		daemon_wait(250);
		if (eng.stop)
			break;
		if (daemon_reload_requested) {
			/* HUP: moat.conf, signatures and the policy snapshot, now. */
			daemon_reload_requested = 0;
			daemon_reload();
			if (policy_watch_reload() == -1)
				log_warnx("SIGHUP: policy reload failed, keeping the current snapshot");
			engine_reload("SIGHUP");
			waited_ms = 0;
			continue;
		}
		waited_ms += 250;
		if (waited_ms < eng.cf->signature_check * 1000)
			continue;
		waited_ms = 0;
		if (cl_statchkdir(&eng.dbstat) == 1 || sigs_removed())
			engine_reload("signature directory changed");
	}
	return NULL;
}

int
engine_watch_start(void)
{
	int rc;

	if ((rc = pthread_create(&eng.thr, NULL, engine_watch, NULL)) != 0) {
		log_warnx("engine watcher: %s", strerror(rc));
		return -1;
	}
	eng.running = 1;
	return 0;
}

void
engine_watch_stop(void)
{
	if (!eng.running)
		return;
	eng.stop = 1;
	pthread_join(eng.thr, NULL);
	eng.running = 0;
}

void
engine_shutdown(void)
{
	pthread_mutex_lock(&eng.mtx);
	engine_unref(eng.current);
	eng.current = NULL;
	pthread_mutex_unlock(&eng.mtx);
	cl_statfree(&eng.dbstat);
}

static void
deadline(struct timespec *ts, long long sec)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += sec;
}

struct engine *
engine_acquire(void *smfictx)
{
	struct timespec ts;
	struct engine *en;
	long long every = eng.cf->progress_interval;

	/* A scan slot first: bounded CPU, bounded memory. */
	for (;;) {
		deadline(&ts, every);
		if (sem_timedwait(&eng.slots, &ts) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != ETIMEDOUT) {
			log_warn("sem_timedwait");
			return NULL;
		}
		if (smfictx != NULL)
			smfi_progress(smfictx);
	}
	/* Then the gate (only ever held for writing by a lowmem reload). */
	for (;;) {
		deadline(&ts, every);
		if (pthread_rwlock_timedrdlock(&eng.gate, &ts) == 0)
			break;
		if (smfictx != NULL)
			smfi_progress(smfictx);
	}
	pthread_mutex_lock(&eng.mtx);
	if ((en = eng.current) != NULL)
		atomic_fetch_add_explicit(&en->en_refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&eng.mtx);
	if (en == NULL) {
		pthread_rwlock_unlock(&eng.gate);
		sem_post(&eng.slots);
	}
	return en;
}

void
engine_release(struct engine *en)
{
	if (en == NULL)
		return;
	engine_unref(en);
	pthread_rwlock_unlock(&eng.gate);
	sem_post(&eng.slots);
}

void
engine_describe(char *buf, size_t len)
{
	unsigned int sigs = 0;

	pthread_mutex_lock(&eng.mtx);
	if (eng.current != NULL)
		sigs = eng.current->en_sigs;
	pthread_mutex_unlock(&eng.mtx);
	snprintf(buf, len, "ClamAV %s/%u", cl_retver(), sigs);
}
