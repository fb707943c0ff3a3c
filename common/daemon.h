/*
 * daemon - the life cycle every Moat daemon shares, after Postfix's
 * single_server_main() and OpenSMTPD's start-up order.  A daemon describes
 * itself (struct daemon_desc: name, option groups, sockets, seccomp allow
 * list, chroot) and supplies hooks; its main() is
 *
 *     int main(int argc, char **argv) { return daemon_main(&desc, argc, argv); }
 *
 * daemon_main() owns, in this order: -c FILE (default /etc/moat/moat.conf),
 * -f (foreground) and -n (check: print the effective settings, exit 0, or
 * the file:line error and exit 1); the config load and its validation; log
 * set-up (common.syslog_facility_mail, log_json, log_level); signals; the
 * listening sockets (UNIX with mode, owner and group; TCP) and the bind
 * hook, as root; detaching; the pidfile; the drop to common.user with an
 * optional chroot, then the optional seccomp filter; the start hook; the
 * service (the run hook, or a loop calling tick); HUP reloads, TERM/INT
 * stop (USR1 calls the optional usr1 hook); the stop hook; removing sockets
 * and pidfile.
 *
 * Configuration generations: every generation is a struct the daemon
 * declares beginning with DAEMON_CONF_HEAD (refs, common), followed by its
 * own groups at desc->group_off.  A reload loads a whole new generation,
 * keeps changed restart-only options (CFG_RESTART) at their running value,
 * calls the reload hook and swaps it in; readers hold a reference
 * (daemon_conf_get/put) and the old generation is freed with the last one.
 *
 * Signal handlers only set flags; service loops poll them or wait in
 * daemon_wait().
 */
#ifndef MOAT_DAEMON_H
#define MOAT_DAEMON_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

#define DAEMON_CONF_HEAD int refs; struct common_conf common
struct daemon_conf {
	DAEMON_CONF_HEAD;       /* refs under daemon.c's lock */
};

#define DAEMON_NONE ((size_t)-1)
enum daemon_listen_kind { DAEMON_UNIX, DAEMON_TCP };
/* A listening socket; offsets of char * fields in the generation. */
struct daemon_listen {
	enum daemon_listen_kind kind;
	size_t  addr;            /* UNIX path or "ADDRESS:PORT"; unset = none */
	size_t  mode;            /* octal mode (UNIX), or DAEMON_NONE: 0600 */
	size_t  group;           /* group name (UNIX), or DAEMON_NONE; unset = user's */
};

#define DAEMON_MAXGROUPS 4
#define DAEMON_MAXLISTEN 4

struct daemon_desc {
	const char                    *name;      /* "moat-quarantined": ident, pidfile */
	const struct cfg_group *const *groups;    /* its own groups (common is implied) */
	const size_t                  *group_off; /* each group's struct in the generation */
	size_t                         ngroups;
	size_t                         conf_size; /* the generation struct */
	const struct daemon_listen    *listen;    /* fds handed to bind, in this order */
	size_t                         nlisten;
	const char *const             *seccomp;   /* allowed syscalls (NULL-terminated),
						   * NULL: no filter */
	/* With a filter: no outbound traffic.  connect, sendmsg and sendmmsg
	 * fail with EPERM (the base list keeps connect for syslog: glibc's
	 * reconnect then fails quietly instead of killing the process), and
	 * sendto is allowed only without a destination address. */
	int                            no_outbound;
	/* Optional: cross-checks a loaded generation (daemon-only rules). */
	int          (*check)(const void *conf, char *err, size_t errlen);
	/* Optional: an explicit pidfile (NULL: <run_dir>/<name>.pid when detached). */
	const char  *(*pidfile)(const void *conf);
	/* Optional: a directory to chroot into at the drop (NULL: none). */
	const char  *(*chroot)(const void *conf);
	/* As root, after the sockets (fds[i] for listen[i], -1 when unset). */
	int          (*bind)(void *conf, const int *fds);
	/* As common.user, after the drop; start threads here. */
	int          (*start)(void *conf);
	/* Optional: serves until stopped (libmilter's smfi_main); returns 0, or
	 * -1 on failure.  Without it daemon_main loops: tick every tick_ms,
	 * HUP -> daemon_reload(), TERM/INT -> stop. */
	int          (*run)(void);
	void         (*tick)(void);
	int            tick_ms;
	/* Optional: a new generation, before it is swapped in (old still current). */
	void         (*reload)(void *conf, const void *old);
	/* Undoes start and bind. */
	void         (*stop)(void);
	/* Optional: USR1 ("do your periodic job now", e.g. moat-updated's vendor
	 * pull).  Called from the service loop (not the handler, which only sets
	 * daemon_usr1_requested), so it may lock and log; only with no run hook.
	 * Without it USR1 keeps its default action. */
	void         (*usr1)(void);
};

/* Runs the daemon; returns main()'s exit status. */
int   daemon_main(const struct daemon_desc *desc, int argc, char **argv);
/* A reference to the current generation (never NULL once started). */
void *daemon_conf_get(void);
/* Another reference on a generation the caller holds, or receives in the
 * reload hook. */
void  daemon_conf_hold(void *conf);
/* Drops a reference; the last one frees the generation.  Accepts NULL. */
void  daemon_conf_put(void *conf);
/* HUP: loads, checks and swaps in a new generation.  Returns 0, or -1 when
 * the file is refused (logged; the running generation stays).  Safe from any
 * one thread at a time (serialized inside). */
int   daemon_reload(void);
/* chmod/chown of a UNIX socket: mode octal text (NULL: leave), group name
 * (NULL: the user's group, or leave), owner user (NULL/"" or not root:
 * leave).  Returns 0, or -1 logged. */
int   daemon_socket_access(const char *path, const char *mode, const char *group,
    const char *user);

extern volatile sig_atomic_t daemon_reload_requested;
extern volatile sig_atomic_t daemon_stop_requested;
extern volatile sig_atomic_t daemon_usr1_requested;

/* Installs HUP/TERM/INT handlers and ignores PIPE (daemon_main adds USR1
 * when the descriptor has a usr1 hook). */
void daemon_signals(void);
/* Forks into the background unless foreground.  Returns 0 or -1. */
int  daemon_detach(int foreground);
/* Writes our pid, refusing when another live process holds the file.
 * Returns 0, or -1 with a logged reason. */
int  daemon_pidfile(const char *path);
void daemon_pidfile_remove(const char *path);
/* Drops to user (setgroups, setresgid, setresuid); no-op when not root or
 * user is NULL/empty.  chroot_dir may be NULL.  Returns 0 or -1. */
int  daemon_drop(const char *user, const char *chroot_dir);
/* uid/gid of user, for chown of sockets before the drop. Returns 0 or -1. */
int  daemon_user_ids(const char *user, uid_t *uid, gid_t *gid);
/* Installs the frame's base allow list plus allow (NULL-terminated) in the
 * calling thread (threads started later inherit it); no_outbound as in
 * struct daemon_desc.  Anything else kills the process (SIGSYS).  For a
 * process a daemon forks itself (moat-decoyd's keeper) and for tests; the
 * descriptor's filter is installed by daemon_main.  Returns 0 or -1. */
int  daemon_seccomp(const char *const *allow, int no_outbound);
/* Sleeps up to ms milliseconds or until a signal flag is set. */
void daemon_wait(int ms);

#endif
