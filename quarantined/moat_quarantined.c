/*
 * moat-quarantined - the quarantine server: keeps infected originals
 * durably, lets operators (and subscribers, through scoped tokens) search,
 * read, release and delete them, purges them by retention, rescans them,
 * and mails per-subscriber digests.  API: common/qclient.h.
 *
 * SECURITY
 * Trusts: the config file, the store and the signature directory (all
 * operator-owned), and whoever can connect to the UNIX socket (mode
 * socket_mode, group socket_group: the gateway's own users).
 * Does not trust: message content (stored and handed to libclamav, never
 * interpreted), request metadata and bodies (validated before use; bound as
 * SQL parameters), ids (integers only; no path is ever built from client
 * text), TCP clients (bearer tokens, subscriber-scoped: a subscriber sees
 * only its own items -- another's is 404, never 403 -- and releases only a
 * 'virus' hold, only to that item's own recipients; heuristic and
 * unscannable holds are released by operators only).  A message for
 * several subscribers is one file and one item per subscriber, each
 * listing only that subscriber's recipients.
 * Privileges: the socket is bound, the spool directory and the TLS key are
 * opened as root; then the daemon runs as common.user.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "daemon.h"
#include "events.h"
#include "log.h"
#include "quarantined.h"

#define QD_POOL_SIZE 8

static const struct cfg_group *const qd_groups[] = { &common_cfg_group, &quarantined_cfg_group };

/* Binds the API socket (as root), for the daemon's user and socket_group.
 * A live socket of another instance is not taken over. */
static int
qd_bind(const struct qd_conf *c)
{
	struct sockaddr_un sun;
	struct stat sb;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->q.socket);
	if (lstat(c->q.socket, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			fatalx("%s exists and is not a socket", c->q.socket);
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe != -1 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			fatalx("%s: another moat-quarantined is serving it", c->q.socket);
		if (probe != -1)
			close(probe);
		unlink(c->q.socket);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("%s: bind", c->q.socket);
	if (geteuid() == 0 && c->common.user != NULL && c->common.user[0] != '\0' &&
	    daemon_user_ids(c->common.user, &uid, &gid) == -1)
		fatalx("common.user %s does not exist", c->common.user);
	if (c->q.socket_group != NULL) {
		struct group *gr = getgrnam(c->q.socket_group);
		if (gr == NULL)
			fatalx("quarantined.socket_group %s does not exist", c->q.socket_group);
		gid = gr->gr_gid;
	}
	if (chmod(c->q.socket, (mode_t)c->socket_mode) == -1 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(c->q.socket, uid, gid) == -1))
		fatal("%s: chmod/chown", c->q.socket);
	if (listen(fd, 128) == -1)
		fatal("%s: listen", c->q.socket);
	return fd;
}

/* HUP: a new configuration generation; what needs a restart is said. */
static void
qd_reload(struct qd *qd)
{
	char err[1024];
	struct qd_conf *n, *old;

	if ((n = qd_conf_load(qd->conf_path, err, sizeof(err))) == NULL) {
		log_warnx("reload: %s (keeping the running configuration)", err);
		return;
	}
	old = qd->conf;
	if (strcmp(old->q.socket, n->q.socket) != 0 || strcmp(old->q.spool, n->q.spool) != 0 ||
	    strcmp(old->common.store, n->common.store) != 0 ||
	    (old->q.listen_tcp == NULL) != (n->q.listen_tcp == NULL) ||
	    (old->q.listen_tcp != NULL && strcmp(old->q.listen_tcp, n->q.listen_tcp) != 0))
		log_warnx("reload: socket, spool, store and listen_tcp changes take effect "
		    "at the next restart");
	log_set_level((enum log_level)n->common.log_level);
	spool_set_commit(qd->spool, n->q.commit_window_ms, n->q.commit_batch);
	pthread_mutex_lock(&qd->conf_lock);
	qd->conf = n;
	pthread_mutex_unlock(&qd->conf_lock);
	qd_conf_put(qd, old);
	log_info("configuration reloaded");
}

/* Runs the periodic jobs that are due (from the main thread). */
static void
qd_jobs(struct qd *qd, time_t *last)
{
	struct qd_conf *c = qd_conf_get(qd);
	long long iv[3] = { c->q.purge_interval, c->q.digest_interval, c->q.rescan_interval };
	time_t now = time(NULL);
	int64_t n;

	qd_conf_put(qd, c);
	for (int i = 0; i < 3; i++) {
		if (iv[i] <= 0 || now - last[i] < iv[i])
			continue;
		last[i] = now;
		pthread_mutex_lock(&qd->job_lock);
		if (i == 0) {
			purge_run(qd, &n);
		} else if (i == 1) {
			if (digest_run(qd, &n) == 0 && n > 0)
				log_info("%lld digest(s) sent", (long long)n);
		} else {
			struct rescan_result r;
			char err[256];
			if (rescan_run(qd, &r, err, sizeof(err)) == -1)
				log_warnx("rescan: %s", err);
		}
		pthread_mutex_unlock(&qd->job_lock);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: moat-quarantined [-fn] [-c file]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct qd qd;
	struct http *http;
	char err[1024], pidfile[4096], *cert = NULL, *key = NULL;
	int ch, foreground = 0, check = 0, fd;
	time_t last[3];

	memset(&qd, 0, sizeof(qd));
	qd.conf_path = "/etc/moat/moat.conf";
	while ((ch = getopt(argc, argv, "c:fn")) != -1) {
		switch (ch) {
		case 'c': qd.conf_path = optarg; break;
		case 'f': foreground = 1; break;
		case 'n': check = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("moat-quarantined", 1, NULL);
	if ((qd.conf = qd_conf_load(qd.conf_path, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (check) {
		void *vals[2] = { &qd.conf->common, &qd.conf->q };
		config_print(stdout, qd_groups, vals, 2);
		return 0;
	}
	log_init("moat-quarantined", foreground, qd.conf->common.log_json);
	log_set_level((enum log_level)qd.conf->common.log_level);
	pthread_mutex_init(&qd.conf_lock, NULL);
	pthread_mutex_init(&qd.busy_lock, NULL);
	pthread_mutex_init(&qd.job_lock, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	daemon_signals();
	signal(SIGXFSZ, SIG_IGN);       /* a file size limit is a write error, not death */

	/* As root: the socket, the spool directory, the TLS key. */
	fd = qd_bind(qd.conf);
	if (spool_open(qd.conf->q.spool, &qd.spool) == -1)
		fatalx("cannot open the spool %s", qd.conf->q.spool);
	if (qd.conf->q.listen_tcp != NULL && qd.conf->q.tls_cert != NULL &&
	    ((cert = http_slurp(qd.conf->q.tls_cert, err, sizeof(err))) == NULL ||
	    (key = http_slurp(qd.conf->q.tls_key, err, sizeof(err))) == NULL))
		fatalx("%s", err);
	if (daemon_detach(foreground) == -1)
		fatalx("cannot detach");
	snprintf(pidfile, sizeof(pidfile), "%s/moat-quarantined.pid", qd.conf->common.run_dir);
	if (!foreground && daemon_pidfile(pidfile) == -1)
		fatalx("cannot write %s", pidfile);
	if (daemon_drop(qd.conf->common.user, NULL) == -1)
		fatalx("cannot drop privileges to %s", qd.conf->common.user);

	/* As the daemon's user from here on: files it creates are its own. */
	if ((qd.pool = index_pool_open(qd.conf->common.store, QD_POOL_SIZE, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	if (events_start(qd.conf->common.store, "quarantined", err, sizeof(err)) == -1)
		fatalx("events: %s", err);
	if (spool_start(qd.spool, qd.pool, qd.conf->q.commit_window_ms,
	    qd.conf->q.commit_batch) == -1 || spool_recover(qd.spool) == -1)
		fatalx("cannot start the spool %s", qd.conf->q.spool);
	if ((http = http_start(&qd, fd, cert, key, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	log_info("serving %s (spool %s, store %s)", qd.conf->q.socket, qd.conf->q.spool,
	    qd.conf->common.store);

	last[0] = last[1] = last[2] = time(NULL);
	while (!daemon_stop_requested) {
		daemon_wait(1000);
		if (daemon_reload_requested) {
			daemon_reload_requested = 0;
			qd_reload(&qd);
		}
		if (!daemon_stop_requested)
			qd_jobs(&qd, last);
	}

	log_info("stopping");
	http_stop(http);               /* waits for requests in flight */
	spool_close(qd.spool);         /* commits what is queued */
	events_stop();
	index_pool_close(qd.pool);
	unlink(qd.conf->q.socket);
	if (!foreground)
		daemon_pidfile_remove(pidfile);
	qd_conf_put(&qd, qd.conf);
	free(qd.busy);
	curl_global_cleanup();
	return 0;
}
