/*
 * decoyd_life - moat-decoyd's life cycle under daemon_main(): its
 * descriptor (option group; the listeners are its own "personality:ADDRESS:
 * PORT" words, bound in the bind hook as root), the record directory
 * (created and handed to common.user, opened as root, then the root of the
 * chroot), the keeper process forked in the bind hook (decoyd_keeper.h: it
 * owns the store and the alert mail), and the run hook: the one event
 * loop.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "decoyd.h"
#include "decoyd_keeper.h"
#include "events.h"
#include "log.h"

/* As root: the record directory, the keeper (before the listeners, so it
 * holds none of them), then the listeners. */
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
	/* Without the identities the decoys still serve, as the hostname.  Read
	 * here, as root, once: the loop process cannot reach the store after
	 * its chroot (a restart reads them again). */
	(void)ident_load(c->common.store);
	if (relay_open(c) == -1)
		return -1;
	return dd_loop_bind(c);
}

/* The loop process's root after the drop: its recordings, reached through
 * the directory opened in the bind hook; nothing else of the host is
 * visible (the frame chroots only when it drops from root to a user). */
static const char *
dd_chroot(const void *conf)
{
	const struct dd_conf *c = conf;

	return c->d.record_dir;
}

/* As common.user, chrooted, filtered. */
static int
dd_start(void *conf)
{
	struct dd_conf *c = conf;

	log_info("serving %s (recordings in %s, at most %lld sessions, %lld per source)",
	    c->d.listen, c->d.record_dir, c->d.max_sessions, c->d.per_source);
	return 0;
}

static void
dd_stop(void)
{
	dd_loop_stop();         /* ends the sessions: their rows and events */
	relay_close();          /* the keeper writes them and exits */
	rec_stop();
	ident_unload();
}

/*
 * The loop process, after the drop, beside the frame's base list (common/
 * daemon.c) and with no_outbound (connect, sendmsg refused, sendto only
 * without an address): the loop, the recordings, reaping the keeper.  No
 * execve, no fork or clone, no store: anything else is SIGSYS.  socket
 * stays in the base list (syslog; passive listeners may bind and listen).
 */
const char *const dd_seccomp_allow[] = {
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "accept4", "accept",
	"recvfrom", "shutdown", "fcntl", "access", "faccessat", "stat", "lstat", "statx",
	"readlink", "getcwd", "geteuid", "getuid", "mremap", "uname", "wait4",
	"getsockname", "getsockopt",           /* decoyd_ident.c: SO_ORIGINAL_DST */
	"bind", "listen",                      /* FTP's passive data channels */
	NULL
};

/* The sanitizer build runs without the filter: LeakSanitizer's exit-time
 * check (a ptrace-ing thread) hangs under it, as in daemon_main_test. */
#ifdef __SANITIZE_ADDRESS__
#define DD_SECCOMP (0 ? dd_seccomp_allow : NULL)
#else
#define DD_SECCOMP dd_seccomp_allow
#endif

static const struct cfg_group *const dd_groups[] = { &decoyd_cfg_group };
static const size_t dd_group_off[] = { offsetof(struct dd_conf, d) };

const struct daemon_desc dd_desc = {
	.name = "moat-decoyd",
	.groups = dd_groups, .group_off = dd_group_off, .ngroups = 1,
	.conf_size = sizeof(struct dd_conf),
	.listen = NULL, .nlisten = 0,
	.seccomp = DD_SECCOMP, .no_outbound = 1,
	.chroot = dd_chroot,
	.bind = dd_bind, .start = dd_start, .run = dd_loop_run, .stop = dd_stop,
};
