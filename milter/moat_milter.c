/*
 * moat-milter - the scanning mail proxy Postfix calls through smtpd_milters
 * (DESIGN.md "Mail path").
 *
 * SECURITY: talks to Postfix only (the milter socket should be loopback or a
 * private UNIX socket); message content and SMTP names are untrusted and
 * handled by libclamav, GMime and bounded copies.  Trusts moat.conf, the
 * store, the signature directory and moat-quarantined.  Runs as common.user
 * after start-up: the engine (which may read root-only signature files) is
 * loaded and the milter socket opened before the drop; store connections
 * are opened after it, so SQLite's -wal/-shm files are never root's.
 *
 * Signals: libmilter's signal thread stops the milter on TERM and INT (and
 * would on HUP); every thread blocks those three before smfi_main, and only
 * the engine watcher unblocks HUP, so HUP reaches daemon.c's flag handler
 * there and means "reload signatures and policy".
 */
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clamav.h>
#include <curl/curl.h>
#include <libmilter/mfapi.h>

#include "config.h"
#include "daemon.h"
#include "events.h"
#include "log.h"
#include "milter.h"
#include "milter_mime.h"

extern struct smfiDesc milter_desc;

static void
usage(void)
{
	fprintf(stderr, "usage: moat-milter [-fn] [-c moat.conf]\n");
	exit(2);
}

/* Postfix's smtpd (another user) must be able to write to a UNIX socket;
 * libmilter creates it with our umask. */
static void
socket_access(const struct milter_conf *cf)
{
	const char *path = milter_socket_path(cf->socket);
	struct group *gr;
	char *end;
	long mode;

	if (path == NULL)
		return;
	mode = strtol(cf->socket_mode, &end, 8);
	if (*cf->socket_mode == '\0' || *end != '\0' || mode < 0 || mode > 0777)
		fatalx("milter.socket_mode \"%s\": not an octal mode", cf->socket_mode);
	if (cf->socket_group != NULL) {
		if ((gr = getgrnam(cf->socket_group)) == NULL)
			fatalx("milter.socket_group: no group \"%s\"", cf->socket_group);
		if (chown(path, (uid_t)-1, gr->gr_gid) == -1)
			fatal("chown %s", path);
	}
	if (chmod(path, (mode_t)mode) == -1)
		fatal("chmod %s", path);
}

int
main(int argc, char **argv)
{
	static struct common_conf common;
	static struct milter_conf mcf;
	const struct cfg_group *const groups[] = { &common_cfg_group, &milter_cfg_group };
	void *const vals[] = { &common, &mcf };
	const char *conf = "/etc/moat/moat.conf";
	char err[1024];
	int ch, check = 0, foreground = 0, rc;
	sigset_t set;

	while ((ch = getopt(argc, argv, "c:fn")) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'f': foreground = 1; break;
		case 'n': check = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (config_load(conf, groups, vals, 2, err, sizeof(err)) == -1) {
		fprintf(stderr, "moat-milter: %s\n", err);
		return 1;
	}
	if (check) {
		config_print(stdout, groups, vals, 2);
		return 0;
	}
	milter_cf = &mcf;
	log_init(MILTER_NAME, foreground || check, common.log_json);
	log_set_level(common.log_level);

	if (engine_init(&mcf, common.user, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (access(mcf.spool, W_OK | X_OK) == -1)
		fatal("spool directory %s", mcf.spool);
	if (smfi_setconn(mcf.socket) == MI_FAILURE || smfi_settimeout((int)mcf.milter_timeout) ==
	    MI_FAILURE || smfi_register(milter_desc) == MI_FAILURE)
		fatalx("cannot register with libmilter (socket %s)", mcf.socket);
	if (smfi_opensocket(true) == MI_FAILURE)
		fatalx("cannot open milter socket %s", mcf.socket);
	socket_access(&mcf);
	if (daemon_detach(foreground) == -1)
		fatalx("cannot detach");
	if (mcf.pidfile != NULL && daemon_pidfile(mcf.pidfile) == -1)
		return 1;
	if (daemon_drop(common.user, NULL) == -1)
		fatalx("cannot drop privileges to %s", common.user);

	/* Threads started from here inherit this mask (see the header). */
	daemon_signals();
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	mime_init();
	if (policy_watch_start(common.store, (int)mcf.policy_poll, err, sizeof(err)) == -1)
		fatalx("policy: %s", err);
	if (events_start(common.store, MILTER_NAME, err, sizeof(err)) == -1)
		fatalx("events: %s", err);
	if (usage_start(common.store, mcf.usage_flush, err, sizeof(err)) == -1)
		fatalx("usage: %s", err);
	if (notify_start() == -1 || engine_watch_start() == -1)
		fatalx("cannot start threads");

	log_info("listening on %s", mcf.socket);
	rc = smfi_main();
	log_info("stopping (%s)", rc == MI_SUCCESS ? "signal" : "libmilter failure");

	engine_watch_stop();
	notify_stop();
	usage_stop();
	events_stop();
	policy_watch_stop();
	engine_shutdown();
	mime_shutdown();
	curl_global_cleanup();
	if (mcf.pidfile != NULL)
		daemon_pidfile_remove(mcf.pidfile);
	config_free_values(&milter_cfg_group, &mcf);
	config_free_values(&common_cfg_group, &common);
	return rc == MI_SUCCESS ? 0 : 1;
}
