/*
 * decoyd_life - moat-decoyd's life cycle under daemon_main(): its
 * descriptor (option group; the listeners are its own "personality:ADDRESS:
 * PORT" words, bound in the bind hook as root), the record directory
 * (created and handed to common.user, opened as root), the events and
 * decoy_sessions writers started after the drop, and the run hook: the one
 * event loop.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "decoyd.h"
#include "events.h"
#include "log.h"

/* As root: the record directory, then the listeners. */
static int
dd_bind(void *conf, const int *fds)
{
	struct dd_conf *c = conf;
	uid_t uid;
	gid_t gid;

	(void)fds;
	if (mkdir(c->d.record_dir, 0750) == 0 && geteuid() == 0 &&
	    c->common.user != NULL && c->common.user[0] != '\0' &&
	    daemon_user_ids(c->common.user, &uid, &gid) == 0 &&
	    chown(c->d.record_dir, uid, gid) == -1) {
		log_warn("chown %s", c->d.record_dir);
		return -1;
	}
	/* Without the identities the decoys still serve, as the hostname. */
	(void)ident_load(c->common.store);
	return dd_loop_bind(c);
}

/* A new generation: the subscribers' identities again, when the store can
 * still be read from here. */
static void
dd_reload(void *conf, const void *old)
{
	struct dd_conf *c = conf;

	(void)old;
	(void)ident_load(c->common.store);
}

/* As common.user. */
static int
dd_start(void *conf)
{
	struct dd_conf *c = conf;
	char err[1024];

	if (events_start(c->common.store, "decoyd", err, sizeof(err)) == -1) {
		log_warnx("events: %s", err);
		return -1;
	}
	if (rec_start(c->common.store, err, sizeof(err)) == -1) {
		log_warnx("decoy_sessions: %s", err);
		return -1;
	}
	log_info("serving %s (recordings in %s, at most %lld sessions, %lld per source)",
	    c->d.listen, c->d.record_dir, c->d.max_sessions, c->d.per_source);
	return 0;
}

static void
dd_stop(void)
{
	dd_loop_stop();         /* ends the sessions: their rows and events */
	rec_stop();
	events_stop();
	ident_unload();
}

/*
 * After the drop, beside what daemon_main itself needs (common/daemon.c):
 * the loop, the recordings, SQLite (events, decoy_sessions) and the two
 * writer threads.  No execve, no fork: anything else is SIGSYS.  (The
 * frame's base list keeps socket and connect, for syslog.)
 */
static const char *const dd_seccomp[] = {
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "accept4", "accept",
	"recvfrom", "sendmsg", "shutdown", "fcntl", "pread64", "pwrite64", "fsync",
	"fdatasync", "ftruncate", "fchown", "fchmod", "access", "faccessat", "stat",
	"lstat", "statx", "readlink", "getcwd", "geteuid", "getuid", "mremap",
	"clone", "clone3", "set_robust_list", "rseq", "sched_yield", "uname",
	"getsockname", "getsockopt",
	"bind", "listen",                      /* FTP's passive data channels */
	NULL
};

/* The sanitizer build runs without the filter: LeakSanitizer's exit-time
 * check (a ptrace-ing thread) hangs under it, as in daemon_main_test. */
#ifdef __SANITIZE_ADDRESS__
#define DD_SECCOMP (0 ? dd_seccomp : NULL)
#else
#define DD_SECCOMP dd_seccomp
#endif

static const struct cfg_group *const dd_groups[] = { &decoyd_cfg_group };
static const size_t dd_group_off[] = { offsetof(struct dd_conf, d) };

const struct daemon_desc dd_desc = {
	.name = "moat-decoyd",
	.groups = dd_groups, .group_off = dd_group_off, .ngroups = 1,
	.conf_size = sizeof(struct dd_conf),
	.listen = NULL, .nlisten = 0,
	.seccomp = DD_SECCOMP,
	.bind = dd_bind, .start = dd_start, .reload = dd_reload, .run = dd_loop_run, .stop = dd_stop,
};
