/*
 * daemon - the life cycle every Moat daemon shares: detach (unless -f),
 * pidfile, privilege drop, and signal flags for HUP (reload) and TERM/INT
 * (stop).  Signal handlers only set flags; service loops poll them or wait
 * in daemon_wait().
 */
#ifndef MOAT_DAEMON_H
#define MOAT_DAEMON_H

#include <signal.h>
#include <sys/types.h>

extern volatile sig_atomic_t daemon_reload_requested;
extern volatile sig_atomic_t daemon_stop_requested;

/* Installs HUP/TERM/INT handlers and ignores PIPE. */
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
/* Sleeps up to ms milliseconds or until a signal flag is set. */
void daemon_wait(int ms);

#endif
