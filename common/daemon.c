/*
 * daemon - detach, pidfile, privilege drop, signal flags (see daemon.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

volatile sig_atomic_t daemon_reload_requested;
volatile sig_atomic_t daemon_stop_requested;

static void
daemon_on_signal(int sig)
{
	if (sig == SIGHUP)
		daemon_reload_requested = 1;
	else
		daemon_stop_requested = 1;
}

void
daemon_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = daemon_on_signal;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

int
daemon_detach(int foreground)
{
	if (foreground)
		return 0;
	if (daemon(0, 0) == -1) {
		log_warn("daemon");
		return -1;
	}
	return 0;
}

int
daemon_pidfile(const char *path)
{
	char buf[32];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, n;

	if (path == NULL || *path == '\0')
		return 0;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		log_warn("%s: open", path);
		return -1;
	}
	/* The lock lives as long as the process (fd deliberately kept open).
	 * fcntl locks are not inherited by fork(): call after daemon_detach. */
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		n = (int)read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		log_warnx("%s: already locked by running process %s", path, buf);
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, buf, (size_t)n) != n) {
		log_warn("%s: write", path);
		close(fd);
		return -1;
	}
	return 0;
}

void
daemon_pidfile_remove(const char *path)
{
	if (path != NULL && *path != '\0')
		unlink(path);
}

int
daemon_user_ids(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	if (user == NULL || (pw = getpwnam(user)) == NULL) {
		log_warnx("unknown user '%s'", user ? user : "(null)");
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int
daemon_drop(const char *user, const char *chroot_dir)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || user == NULL || *user == '\0')
		return 0;
	if (daemon_user_ids(user, &uid, &gid) == -1)
		return -1;
	/* The user's supplementary groups (e.g. moat in clamav's group), read
	 * from /etc/group before a chroot hides it. */
	if (initgroups(user, gid) == -1) {
		log_warn("initgroups %s", user);
		return -1;
	}
	if (chroot_dir != NULL && *chroot_dir != '\0') {
		if (chroot(chroot_dir) == -1 || chdir("/") == -1) {
			log_warn("chroot %s", chroot_dir);
			return -1;
		}
	}
	if (setresgid(gid, gid, gid) == -1 || setresuid(uid, uid, uid) == -1) {
		log_warn("cannot drop privileges to %s", user);
		return -1;
	}
	/* A drop that can be undone is no drop. */
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		log_warnx("privileges regained after dropping to %s", user);
		return -1;
	}
	if (gid != 0 && (setgid(0) != -1 || setegid(0) != -1)) {
		log_warnx("group privileges regained after dropping to %s", user);
		return -1;
	}
	return 0;
}

void
daemon_wait(int ms)
{
	sigset_t block, orig;
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	/* Check the flags with the signals blocked and let ppoll() unblock
	 * them atomically: a signal arriving between the check and the sleep
	 * still wakes us (a plain poll() would sleep the whole ms). */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &orig);
	if (!daemon_stop_requested && !daemon_reload_requested && ms > 0)
		ppoll(NULL, 0, &ts, &orig);
	pthread_sigmask(SIG_SETMASK, &orig, NULL);
}
