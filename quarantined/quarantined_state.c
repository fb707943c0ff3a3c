/*
 * quarantined_state - moat-quarantined's life cycle under daemon_main():
 * its descriptor (option group, API socket), the hooks (open the spool and
 * the TLS key as root, start the store pool, spool and HTTP server after
 * the drop, periodic jobs, reload, stop), and the references requests hold
 * on the current configuration generation (qd_conf_get/qd_conf_put).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "daemon.h"
#include "events.h"
#include "log.h"
#include "quarantined.h"

#define QD_POOL_SIZE 8

/* The one server of the process. */
static struct qd qd;
static struct http *qd_http;
static char *qd_cert, *qd_key;
static int qd_fd = -1;
static time_t qd_last[3];

struct qd_conf *
qd_conf_get(struct qd *q)
{
	(void)q;
	return daemon_conf_get();
}

void
qd_conf_put(struct qd *q, struct qd_conf *c)
{
	(void)q;
	daemon_conf_put(c);
}

/* What the table cannot say (daemon_desc.check). */
static int
qd_check(const void *conf, char *err, size_t errlen)
{
	const struct qd_conf *c = conf;

	if (!parse_addr_ok(c->q.release_from)) {
		snprintf(err, errlen, "quarantined.release_from \"%s\" is not an address",
		    c->q.release_from);
		return -1;
	}
	return 0;
}

/* As root: the spool directory and the TLS key; fds[0] is the API socket. */
static int
qd_bind(void *conf, const int *fds)
{
	struct qd_conf *c = conf;
	char err[1024];

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("curl_global_init failed");
		return -1;
	}
	signal(SIGXFSZ, SIG_IGN);       /* a file size limit is a write error, not death */
	pthread_mutex_init(&qd.busy_lock, NULL);
	pthread_mutex_init(&qd.job_lock, NULL);
	qd_fd = fds[0];
	if (qspool_open(c->q.spool, &qd.spool) == -1) {
		log_warnx("cannot open the spool %s", c->q.spool);
		return -1;
	}
	if (c->q.listen_tcp != NULL && c->q.tls_cert != NULL &&
	    ((qd_cert = http_slurp(c->q.tls_cert, err, sizeof(err))) == NULL ||
	    (qd_key = http_slurp(c->q.tls_key, err, sizeof(err))) == NULL)) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

/* As common.user: files it creates are its own. */
static int
qd_start(void *conf)
{
	struct qd_conf *c = conf;
	char err[1024];

	if ((qd.pool = store_pool_open(c->common.store, QD_POOL_SIZE, 1, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	if (events_start(c->common.store, "quarantined", err, sizeof(err)) == -1) {
		log_warnx("events: %s", err);
		return -1;
	}
	if (qspool_start(qd.spool, qd.pool, c->q.commit_window_ms, c->q.commit_batch) == -1 ||
	    qspool_recover(qd.spool) == -1) {
		log_warnx("cannot start the spool %s", c->q.spool);
		return -1;
	}
	qd_http = http_start(&qd, qd_fd, qd_cert, qd_key, err, sizeof(err));
	qd_cert = qd_key = NULL;        /* taken over by http_start */
	if (qd_http == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	log_info("serving %s (spool %s, store %s)", c->q.socket, c->q.spool, c->common.store);
	qd_last[0] = qd_last[1] = qd_last[2] = time(NULL);
	return 0;
}

/* The periodic jobs that are due (from the main thread). */
static void
qd_tick(void)
{
	struct qd_conf *c = qd_conf_get(&qd);
	long long iv[3] = { c->q.purge_interval, c->q.digest_interval, c->q.rescan_interval };
	time_t now = time(NULL);
	int64_t n;

	qd_conf_put(&qd, c);
	for (int i = 0; i < 3; i++) {
		if (iv[i] <= 0 || now - qd_last[i] < iv[i])
			continue;
		qd_last[i] = now;
		pthread_mutex_lock(&qd.job_lock);
		if (i == 0) {
			purge_run(&qd, &n);
		} else if (i == 1) {
			if (digest_run(&qd, &n) == 0 && n > 0)
				log_info("%lld digest(s) sent", (long long)n);
		} else {
			struct rescan_result r;
			char err[256];
			if (rescan_run(&qd, &r, err, sizeof(err)) == -1)
				log_warnx("rescan: %s", err);
		}
		pthread_mutex_unlock(&qd.job_lock);
	}
}

/* HUP: what requests read comes from the generation; the committer is told. */
static void
qd_reload(void *conf, const void *old)
{
	struct qd_conf *n = conf;

	(void)old;
	qspool_set_commit(qd.spool, n->q.commit_window_ms, n->q.commit_batch);
}

static void
qd_stop(void)
{
	if (qd_http != NULL)
		http_stop(qd_http);     /* waits for requests in flight */
	qspool_close(qd.spool);          /* commits what is queued */
	events_stop();
	store_pool_close(qd.pool);
	free(qd.busy);
	free(qd_cert);
	free(qd_key);
	curl_global_cleanup();
}

static const struct cfg_group *const qd_groups[] = { &quarantined_cfg_group };
static const size_t qd_group_off[] = { offsetof(struct qd_conf, q) };
static const struct daemon_listen qd_listen[] = {
	{ DAEMON_UNIX, offsetof(struct qd_conf, q.socket), offsetof(struct qd_conf, q.socket_mode),
	  offsetof(struct qd_conf, q.socket_group) },
};

const struct daemon_desc qd_desc = {
	.name = "moat-quarantined",
	.groups = qd_groups, .group_off = qd_group_off, .ngroups = 1,
	.conf_size = sizeof(struct qd_conf),
	.listen = qd_listen, .nlisten = 1,
	.check = qd_check, .bind = qd_bind, .start = qd_start,
	.tick = qd_tick, .tick_ms = 1000, .reload = qd_reload, .stop = qd_stop,
};
