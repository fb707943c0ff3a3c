/*
 * milter_life - moat-milter's life cycle under daemon_main(): the
 * descriptor and hooks.  As root (bind): the libclamav engine (signature
 * files may be root's) and libmilter's socket, with its mode and group.
 * As common.user (start): store connections (so SQLite's -wal/-shm files
 * are never root's) and the threads.  run is libmilter's smfi_main, whose
 * signal thread stops it on TERM/INT; HUP is taken by the engine watcher,
 * which reloads moat.conf (daemon_reload: this file's reload hook), the
 * signatures and the policy (see moat_milter.c's Signals paragraph).
 *
 * Generations: callbacks read milter_cf without references, so every
 * generation published there is held until stop (a few hundred bytes per
 * HUP); what a generation changes at run time is what the callbacks read
 * per message (threat_action, unserved_action, timeouts, ...); the rest is
 * CFG_RESTART in milter_conf.c.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libmilter/mfapi.h>

#include "daemon.h"
#include "events.h"
#include "log.h"
#include "milter.h"
#include "milter_mime.h"
#include "policy.h"

extern struct smfiDesc milter_desc;

/* Every generation published to milter_cf; put at stop. */
static struct milter_gen **ml_held;
static size_t ml_nheld, ml_capheld;
static int ml_curl, ml_mime, ml_engine;

static int
ml_hold(struct milter_gen *g)
{
	if (ml_nheld == ml_capheld) {
		size_t cap = ml_capheld ? ml_capheld * 2 : 8;
		struct milter_gen **n = realloc(ml_held, cap * sizeof(*n));

		if (n == NULL)
			return -1;
		ml_held = n;
		ml_capheld = cap;
	}
	daemon_conf_hold(g);
	ml_held[ml_nheld++] = g;
	__atomic_store_n(&milter_cf, &g->m, __ATOMIC_RELEASE);
	return 0;
}

static const char *
ml_pidfile(const void *conf)
{
	return ((const struct milter_gen *)conf)->m.pidfile;
}

static int
ml_bind(void *conf, const int *fds)
{
	struct milter_gen *g = conf;
	const struct milter_conf *mcf = &g->m;
	const char *path;
	char err[1024];

	(void)fds;
	if (ml_hold(g) == -1) {
		log_warnx("out of memory");
		return -1;
	}
	if (engine_init(mcf, g->common.user, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	ml_engine = 1;
	if (access(mcf->spool, W_OK | X_OK) == -1) {
		log_warn("spool directory %s", mcf->spool);
		return -1;
	}
	if (smfi_setconn(mcf->socket) == MI_FAILURE ||
	    smfi_settimeout((int)mcf->milter_timeout) == MI_FAILURE ||
	    smfi_register(milter_desc) == MI_FAILURE) {
		log_warnx("cannot register with libmilter (socket %s)", mcf->socket);
		return -1;
	}
	if (smfi_opensocket(true) == MI_FAILURE) {
		log_warnx("cannot open milter socket %s", mcf->socket);
		return -1;
	}
	/* Postfix's smtpd (another user) must be able to write to a UNIX
	 * socket; libmilter creates it with our umask. */
	if ((path = milter_socket_path(mcf->socket)) != NULL &&
	    daemon_socket_access(path, mcf->socket_mode, mcf->socket_group, NULL) == -1)
		return -1;
	return 0;
}

static int
ml_start(void *conf)
{
	struct milter_gen *g = conf;
	char err[1024];
	sigset_t set;

	/* Threads started from here inherit this mask (see moat_milter.c). */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	ml_curl = 1;
	mime_init();
	ml_mime = 1;
	if (policy_watch_start(g->common.store, (int)g->m.policy_poll, err, sizeof(err)) == -1) {
		log_warnx("policy: %s", err);
		return -1;
	}
	if (events_start(g->common.store, MILTER_NAME, err, sizeof(err)) == -1) {
		log_warnx("events: %s", err);
		return -1;
	}
	if (usage_start(g->common.store, g->m.usage_flush, err, sizeof(err)) == -1) {
		log_warnx("usage: %s", err);
		return -1;
	}
	if (notify_start() == -1 || engine_watch_start() == -1) {
		log_warnx("cannot start threads");
		return -1;
	}
	log_info("listening on %s", g->m.socket);
	return 0;
}

static int
ml_run(void)
{
	int rc = smfi_main();

	log_info("stopping (%s)", rc == MI_SUCCESS ? "signal" : "libmilter failure");
	return rc == MI_SUCCESS ? 0 : -1;
}

/* A new generation (from the engine watcher, on HUP). */
static void
ml_reload(void *conf, const void *old)
{
	(void)old;
	if (ml_hold(conf) == -1)
		log_warnx("reload: out of memory, the milter keeps its settings");
}

static void
ml_stop(void)
{
	engine_watch_stop();
	notify_stop();
	usage_stop();
	events_stop();
	policy_watch_stop();
	if (ml_engine)
		engine_shutdown();
	if (ml_mime)
		mime_shutdown();
	if (ml_curl)
		curl_global_cleanup();
	for (size_t i = 0; i < ml_nheld; i++)
		daemon_conf_put(ml_held[i]);
	free(ml_held);
	ml_held = NULL;
	ml_nheld = ml_capheld = 0;
}

static const struct cfg_group *const ml_groups[] = { &milter_cfg_group };
static const size_t ml_group_off[] = { offsetof(struct milter_gen, m) };

const struct daemon_desc milter_daemon = {
	.name = MILTER_NAME,
	.groups = ml_groups, .group_off = ml_group_off, .ngroups = 1,
	.conf_size = sizeof(struct milter_gen),
	.pidfile = ml_pidfile, .bind = ml_bind, .start = ml_start, .run = ml_run,
	.reload = ml_reload, .stop = ml_stop,
};
