/*
 * vendor - the puller thread (see updated_vendor.h): it sleeps until the
 * next pull (vendor_interval plus a uniform draw up to vendor_jitter; with
 * vendor_interval 0 only a kick wakes it), then pulls the signatures
 * (updated_vendor_sigs.c) and the packages (updated_vendor_pkg.c) with the
 * configuration generation current at that moment.
 *
 * Ownership: one thread, started by vendor_start() after the drop and
 * joined by vendor_stop(); the state below is under vendor_lock.  A pull is
 * never cut short except by vendor_stop(): transfers then end at their next
 * progress callback, sleeps between retries at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <clamav.h>
#include <curl/curl.h>

#include "events.h"
#include "log.h"
#include "updated.h"
#include "updated_vendor.h"

static pthread_mutex_t vendor_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  vendor_cond;
static pthread_t       vendor_thread;
static int             vendor_running;   /* the thread exists */
static int             vendor_kicked;
static int             vendor_rearm;      /* the schedule changed (a reload) */
static int             vendor_pending;    /* and these are its values */
static long long       vendor_pend_interval, vendor_pend_jitter;
static atomic_int      vendor_stop_flag;  /* read by transfers' callbacks */
static int             vendor_inited;

/* Once per process: libcurl's and libclamav's global set-up.  libfreshclam's
 * fc_cleanup() calls curl_global_cleanup() after every pull; this reference
 * keeps libcurl initialised in between. */
static int
vendor_init(char *err, size_t errlen)
{
	pthread_condattr_t ca;
	int rc;

	if (vendor_inited)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return -1;
	}
	if ((rc = cl_init(CL_INIT_DEFAULT)) != CL_SUCCESS) {
		snprintf(err, errlen, "cl_init: %s", cl_strerror(rc));
		return -1;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vendor_cond, &ca);
	pthread_condattr_destroy(&ca);
	vendor_inited = 1;
	return 0;
}

int
vendor_stopping(void)
{
	return vendor_stop_flag;
}

/* Waits under vendor_lock until deadline (CLOCK_MONOTONIC; NULL: forever),
 * a kick or the stop. */
static void
vendor_wait_locked(const struct timespec *deadline)
{
	while (!vendor_stop_flag && !vendor_kicked && !vendor_rearm) {
		if (deadline == NULL)
			pthread_cond_wait(&vendor_cond, &vendor_lock);
		else if (pthread_cond_timedwait(&vendor_cond, &vendor_lock, deadline) == ETIMEDOUT)
			break;
	}
}

int
vendor_sleep(long secs)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += secs;
	pthread_mutex_lock(&vendor_lock);
	while (!vendor_stop_flag) {
		if (pthread_cond_timedwait(&vendor_cond, &vendor_lock, &t) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&vendor_lock);
	return vendor_stop_flag ? -1 : 0;
}

void
vendor_failed(const char *what, const char *about, const char *why)
{
	char buf[2 * VENDOR_ERR_MAX + 256];
	struct jbuf j;

	if (vendor_stop_flag) {
		/* Cut short by the stop: nothing the vendor did. */
		log_info("vendor: %s%s%s: %s", what, about != NULL ? " " : "",
		    about != NULL ? about : "", why);
		return;
	}
	log_warnx("vendor: %s%s%s: %s", what, about != NULL ? " " : "",
	    about != NULL ? about : "", why);
	jbuf_init(&j, buf, sizeof(buf));
	jbuf_str(&j, "what", what);
	jbuf_str(&j, "about", about);
	jbuf_str(&j, "why", why);
	event_emit(EV_UPDATE_VENDOR_FAILED, SEV_WARNING, 0, NULL, jbuf_end(&j));
}

/* ------------------------------------------------------------ files */

int
vendor_tmp_open(int dir_fd, const char *name, char tmp[VENDOR_TMP_MAX])
{
	static const char cs[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[8];
	int fd;

	for (int tries = 0; tries < 20; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -1;
		memcpy(tmp, ".vendor-", 8);
		for (int i = 0; i < 8; i++)
			tmp[8 + i] = cs[rnd[i] % (sizeof(cs) - 1)];
		snprintf(tmp + 16, VENDOR_TMP_MAX - 16, "-%.*s", PKG_FILE_MAX, name);
		fd = openat(dir_fd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

int
vendor_tmp_commit(int fd, int dir_fd, const char *tmp, const char *name,
    char *err, size_t errlen)
{
	if (fsync(fd) == -1) {
		snprintf(err, errlen, "fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (renameat(dir_fd, tmp, dir_fd, name) == -1) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, name, strerror(errno));
		goto fail;
	}
	/* The rename itself durable. */
	if (fsync(dir_fd) == -1) {
		snprintf(err, errlen, "fsync of the directory: %s", strerror(errno));
		return -1;
	}
	return 0;
fail:
	unlinkat(dir_fd, tmp, 0);
	return -1;
}

int
vendor_copy(int src_fd, int dst_fd, char *err, size_t errlen)
{
	char buf[65536];
	ssize_t n;

	if (lseek(src_fd, 0, SEEK_SET) == -1) {
		snprintf(err, errlen, "lseek: %s", strerror(errno));
		return -1;
	}
	while ((n = read(src_fd, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			return -1;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(dst_fd, buf + off, (size_t)(n - off));

			if (w == -1 && errno == EINTR)
				continue;
			if (w == -1) {
				snprintf(err, errlen, "write: %s", strerror(errno));
				return -1;
			}
			off += w;
		}
	}
	return 0;
}

int
vendor_publish_fd(int src_fd, int dir_fd, const char *name, char *err, size_t errlen)
{
	char tmp[VENDOR_TMP_MAX];
	int fd, rc;

	if ((fd = vendor_tmp_open(dir_fd, name, tmp)) == -1) {
		snprintf(err, errlen, "temporary file for %s: %s", name, strerror(errno));
		return -1;
	}
	if (vendor_copy(src_fd, fd, err, errlen) == -1) {
		unlinkat(dir_fd, tmp, 0);
		rc = -1;
	} else
		rc = vendor_tmp_commit(fd, dir_fd, tmp, name, err, errlen);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------ pulls */

/* One pull with the current generation.  0, or -1 when a part failed. */
static int
vendor_pull(void)
{
	struct ud_conf *c = ud_conf_get();
	int rc = 0;

	if (c->u.vendor_mirror != NULL && vendor_sigs_pull(c) == -1)
		rc = -1;
	if (!vendor_stop_flag && c->u.vendor_packages != NULL && vendor_pkg_pull(c) == -1)
		rc = -1;
	ud_conf_put(c);
	return rc;
}

int
vendor_pull_once(void)
{
	char err[VENDOR_ERR_MAX];

	if (vendor_init(err, sizeof(err)) == -1) {
		log_warnx("vendor: %s", err);
		return -1;
	}
	return vendor_pull();
}

/* Seconds to the next pull: the interval plus a uniform draw in
 * [0, jitter]; -1 when pulls are only on request.  The values a reload
 * handed over win (its generation is not current yet when it does). */
static long
vendor_next(int first)
{
	long long interval, jitter;
	uint32_t r = 0;

	pthread_mutex_lock(&vendor_lock);
	if (vendor_pending) {
		interval = vendor_pend_interval;
		jitter = vendor_pend_jitter;
		vendor_pending = 0;
		pthread_mutex_unlock(&vendor_lock);
	} else {
		struct ud_conf *c;

		pthread_mutex_unlock(&vendor_lock);
		c = ud_conf_get();
		interval = c->u.vendor_interval;
		jitter = c->u.vendor_jitter;
		ud_conf_put(c);
	}
	if (interval <= 0)
		return -1;
	if (jitter > 0 && getrandom(&r, sizeof(r), 0) == (ssize_t)sizeof(r))
		jitter = (long long)((uint64_t)r * (uint64_t)(jitter + 1) >> 32);
	else
		jitter = 0;
	/* The first pull after start comes after the jitter alone: a restarted
	 * server is current at once, and restarts do not line up on the
	 * vendor. */
	return (long)(first ? jitter : interval + jitter);
}

/*
 * Pull, then wait: the deadline is anchored at the end of the last pull
 * (at the start for the first), so a reload that only re-arms the schedule
 * (vendor_reconf) neither pulls nor pushes the next pull back.
 */
static void *
vendor_main(void *arg)
{
	struct timespec anchor, deadline, now;
	int first = 1;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &anchor);
	for (;;) {
		long secs = vendor_next(first);

		deadline = anchor;
		deadline.tv_sec += secs;
		pthread_mutex_lock(&vendor_lock);
		vendor_rearm = 0;
		vendor_wait_locked(secs >= 0 ? &deadline : NULL);
		if (vendor_stop_flag) {
			pthread_mutex_unlock(&vendor_lock);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (vendor_rearm && !vendor_kicked &&
		    (secs < 0 || now.tv_sec < deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec && now.tv_nsec < deadline.tv_nsec))) {
			/* A new configuration: the same anchor, a new draw. */
			pthread_mutex_unlock(&vendor_lock);
			continue;
		}
		vendor_kicked = 0;
		pthread_mutex_unlock(&vendor_lock);
		first = 0;
		log_info("vendor: pulling");
		log_info("vendor: pull done%s", vendor_pull() == 0 ? "" : " (with failures)");
		clock_gettime(CLOCK_MONOTONIC, &anchor);
	}
	return NULL;
}

int
vendor_start(char *err, size_t errlen)
{
	int rc;

	if (vendor_init(err, errlen) == -1)
		return -1;
	vendor_stop_flag = 0;
	vendor_kicked = 0;
	if ((rc = pthread_create(&vendor_thread, NULL, vendor_main, NULL)) != 0) {
		snprintf(err, errlen, "vendor thread: %s", strerror(rc));
		return -1;
	}
	vendor_running = 1;
	return 0;
}

void
vendor_kick(void)
{
	if (!vendor_inited)
		return;
	pthread_mutex_lock(&vendor_lock);
	vendor_kicked = 1;
	pthread_cond_broadcast(&vendor_cond);
	pthread_mutex_unlock(&vendor_lock);
}

void
vendor_reconf(const struct ud_conf *c)
{
	if (!vendor_running)
		return;
	pthread_mutex_lock(&vendor_lock);
	vendor_rearm = 1;
	vendor_pending = 1;
	vendor_pend_interval = c->u.vendor_interval;
	vendor_pend_jitter = c->u.vendor_jitter;
	pthread_cond_broadcast(&vendor_cond);
	pthread_mutex_unlock(&vendor_lock);
}

void
vendor_stop(void)
{
	if (!vendor_running)
		return;
	pthread_mutex_lock(&vendor_lock);
	vendor_stop_flag = 1;
	pthread_cond_broadcast(&vendor_cond);
	pthread_mutex_unlock(&vendor_lock);
	pthread_join(vendor_thread, NULL);
	vendor_running = 0;
	pthread_cond_destroy(&vendor_cond);
	curl_global_cleanup();          /* vendor_init's reference */
	vendor_inited = 0;
}
