/*
 * daemon - daemon_main(), configuration generations, detach, pidfile,
 * sockets, privilege drop, seccomp, signal flags (see daemon.h).
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <seccomp.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/un.h>
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
volatile sig_atomic_t daemon_usr1_requested;

static void
daemon_on_signal(int sig)
{
	if (sig == SIGHUP)
		daemon_reload_requested = 1;
	else if (sig == SIGUSR1)
		daemon_usr1_requested = 1;
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
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, &orig);
	if (!daemon_stop_requested && !daemon_reload_requested &&
	    !daemon_usr1_requested && ms > 0)
		ppoll(NULL, 0, &ts, &orig);
	pthread_sigmask(SIG_SETMASK, &orig, NULL);
}

/* ------------------------------------------------------------------ */
/* Configuration generations. */

static const struct daemon_desc *dm_desc;
static const char *dm_conf_path;
static pthread_mutex_t dm_conf_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t dm_reload_lock = PTHREAD_MUTEX_INITIALIZER;
static struct daemon_conf *dm_conf;

#define DM_GROUP(d, c, i) ((void *)((char *)(c) + (d)->group_off[i]))

static void
dm_conf_free(const struct daemon_desc *d, struct daemon_conf *c)
{
	config_free_values(&common_cfg_group, &c->common);
	for (size_t i = 0; i < d->ngroups; i++)
		config_free_values(d->groups[i], DM_GROUP(d, c, i));
	free(c);
}

/* Loads and checks a generation (refs 1).  NULL with err set. */
static struct daemon_conf *
dm_conf_load(const struct daemon_desc *d, const char *path, unsigned flags,
    char *err, size_t errlen)
{
	const struct cfg_group *groups[DAEMON_MAXGROUPS + 1];
	void *vals[DAEMON_MAXGROUPS + 1];
	struct daemon_conf *c;

	if (d->ngroups > DAEMON_MAXGROUPS || d->conf_size < sizeof(*c))
		fatalx("%s: bad daemon descriptor", d->name);   /* programming error */
	if ((c = calloc(1, d->conf_size)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	groups[0] = &common_cfg_group;
	vals[0] = &c->common;
	for (size_t i = 0; i < d->ngroups; i++) {
		groups[i + 1] = d->groups[i];
		vals[i + 1] = DM_GROUP(d, c, i);
	}
	if (config_load_flags(path, groups, vals, d->ngroups + 1, flags, err, errlen) == -1) {
		free(c);
		return NULL;
	}
	c->refs = 1;
	if (d->check != NULL) {
		char why[768] = "";

		if (d->check(c, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s: %s", path, why);
			dm_conf_free(d, c);
			return NULL;
		}
	}
	return c;
}

void *
daemon_conf_get(void)
{
	struct daemon_conf *c;

	pthread_mutex_lock(&dm_conf_lock);
	if ((c = dm_conf) != NULL)
		c->refs++;
	pthread_mutex_unlock(&dm_conf_lock);
	return c;
}

void
daemon_conf_hold(void *conf)
{
	struct daemon_conf *c = conf;

	pthread_mutex_lock(&dm_conf_lock);
	c->refs++;
	pthread_mutex_unlock(&dm_conf_lock);
}

void
daemon_conf_put(void *conf)
{
	struct daemon_conf *c = conf;
	int last;

	if (c == NULL)
		return;
	pthread_mutex_lock(&dm_conf_lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&dm_conf_lock);
	if (last)
		dm_conf_free(dm_desc, c);
}

int
daemon_reload(void)
{
	const struct daemon_desc *d = dm_desc;
	struct daemon_conf *n, *old;
	char err[1024];

	if (d == NULL || dm_conf == NULL)
		return -1;              /* not under daemon_main (unit tests) */
	pthread_mutex_lock(&dm_reload_lock);
	if ((n = dm_conf_load(d, dm_conf_path, CFG_LOAD_RELOAD, err, sizeof(err))) == NULL) {
		pthread_mutex_unlock(&dm_reload_lock);
		log_warnx("reload: %s (keeping the running configuration)", err);
		return -1;
	}
	old = daemon_conf_get();
	if (config_keep_restart(&common_cfg_group, &old->common, &n->common) == -1)
		goto oom;
	for (size_t i = 0; i < d->ngroups; i++)
		if (config_keep_restart(d->groups[i], DM_GROUP(d, old, i), DM_GROUP(d, n, i)) == -1)
			goto oom;
	log_set_level((enum log_level)n->common.log_level);
	if (d->reload != NULL)
		d->reload(n, old);
	pthread_mutex_lock(&dm_conf_lock);
	dm_conf = n;
	pthread_mutex_unlock(&dm_conf_lock);
	daemon_conf_put(old);           /* ours */
	daemon_conf_put(old);           /* the current one's */
	pthread_mutex_unlock(&dm_reload_lock);
	log_info("configuration reloaded");
	return 0;
oom:
	daemon_conf_put(old);
	dm_conf_free(d, n);
	pthread_mutex_unlock(&dm_reload_lock);
	log_warnx("reload: out of memory (keeping the running configuration)");
	return -1;
}

/* ------------------------------------------------------------------ */
/* Sockets. */

int
daemon_socket_access(const char *path, const char *mode, const char *group,
    const char *user)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1, ugid;
	unsigned m;

	if (mode != NULL && cfg_parse_mode(mode, &m) == -1) {
		log_warnx("%s: socket mode \"%s\" is not an octal mode", path, mode);
		return -1;
	}
	if (geteuid() == 0 && user != NULL && *user != '\0') {
		if (daemon_user_ids(user, &uid, &ugid) == -1)
			return -1;
		gid = ugid;             /* the user's group unless group says otherwise */
	}
	if (group != NULL) {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			log_warnx("%s: no group \"%s\"", path, group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) == -1) {
		log_warn("chown %s", path);
		return -1;
	}
	if (mode != NULL && chmod(path, (mode_t)m) == -1) {
		log_warn("chmod %s", path);
		return -1;
	}
	return 0;
}

#define DM_FIELD(c, off) (*(char *const *)(const void *)((const char *)(c) + (off)))

/* A UNIX listener; a live socket of another instance is not taken over. */
static int
dm_listen_unix(const struct daemon_conf *c, const struct daemon_listen *l)
{
	const char *path = DM_FIELD(c, l->addr);
	struct sockaddr_un sun;
	struct stat sb;
	int fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("%s: bad UNIX socket path", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			log_warnx("%s exists and is not a socket", path);
			return -1;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe != -1 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			log_warnx("%s: another %s is serving it", path, dm_desc->name);
			return -1;
		}
		if (probe != -1)
			close(probe);
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("socket");
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("%s: bind", path);
		close(fd);
		return -1;
	}
	if (daemon_socket_access(path, l->mode != DAEMON_NONE ? DM_FIELD(c, l->mode) : "0600",
	    l->group != DAEMON_NONE ? DM_FIELD(c, l->group) : NULL, c->common.user) == -1 ||
	    listen(fd, 128) == -1) {
		log_warn("%s: listen", path);
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

/* A TCP listener on "ADDRESS:PORT" ("[v6]:PORT" for IPv6). */
static int
dm_listen_tcp(const char *spec)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *colon = strrchr(spec, ':');
	size_t hl;
	int fd = -1, on = 1, rc;

	if (colon == NULL || colon == spec || colon[1] == '\0' ||
	    (hl = (size_t)(colon - spec)) >= sizeof(host)) {
		log_warnx("%s: expected ADDRESS:PORT", spec);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		log_warnx("%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	if ((fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 || listen(fd, 128) == -1) {
		log_warn("%s: listen", spec);
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* ------------------------------------------------------------------ */
/* seccomp: what daemon_main itself needs after the drop, plus the
 * daemon's list; anything else kills the process (SIGSYS). */

static const char *const dm_seccomp_base[] = {
	"exit", "exit_group", "rt_sigreturn", "rt_sigprocmask", "rt_sigaction",
	/* A poll, sleep or futex wait interrupted by SIGSTOP/SIGCONT resumes
	 * through restart_syscall (found when a stopped moat-decoyd keeper
	 * died of SIGSYS on SIGCONT). */
	"restart_syscall",
	"ppoll", "poll", "nanosleep", "clock_nanosleep", "clock_gettime", "gettimeofday",
	"time", "getpid", "gettid", "futex", "write", "writev", "sendto", "close",
	"brk", "mmap", "munmap", "mprotect", "madvise", "unlink", "unlinkat",
	"openat", "fstat", "newfstatat", "lseek", "read", "getrandom", "connect", "socket",
	NULL
};

/* Refused with EPERM under no_outbound, whatever the lists say. */
static const char *const dm_seccomp_outbound[] = {
	"connect", "sendmsg", "sendmmsg", NULL
};

static int
dm_seccomp_listed(const char *const *list, const char *name)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return 1;
	return 0;
}

int
daemon_seccomp(const char *const *allow, int no_outbound)
{
	const char *const *lists[2] = { dm_seccomp_base, allow };
	scmp_filter_ctx ctx;
	int rc, nr;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		log_warnx("seccomp_init failed");
		return -1;
	}
	for (int k = 0; k < 2; k++)
		for (const char *const *n = lists[k]; n != NULL && *n != NULL; n++) {
			nr = seccomp_syscall_resolve_name(*n);
			if (nr == __NR_SCMP_ERROR) {
				if (k == 1)
					log_warnx("seccomp: unknown system call %s", *n);
				if (k == 1)
					goto fail;
				continue;       /* a base name this architecture lacks */
			}
			if (no_outbound && (dm_seccomp_listed(dm_seccomp_outbound, *n) ||
			    strcmp(*n, "sendto") == 0))
				continue;       /* below */
			if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0) {
				log_warnx("seccomp: %s: %s", *n, strerror(-rc));
				goto fail;
			}
		}
	if (no_outbound) {
		for (const char *const *n = dm_seccomp_outbound; *n != NULL; n++) {
			if ((nr = seccomp_syscall_resolve_name(*n)) == __NR_SCMP_ERROR)
				continue;
			if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0) {
				log_warnx("seccomp: %s: %s", *n, strerror(-rc));
				goto fail;
			}
		}
		/* send() is sendto() with no address: allowed; an address
		 * (a datagram out, TCP fast open) is refused. */
		nr = seccomp_syscall_resolve_name("sendto");
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
		    SCMP_A4(SCMP_CMP_EQ, 0, 0))) < 0 ||
		    (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
		    SCMP_A4(SCMP_CMP_NE, 0, 0))) < 0) {
			log_warnx("seccomp: sendto: %s", strerror(-rc));
			goto fail;
		}
	}
	if ((rc = seccomp_load(ctx)) < 0) {
		log_warnx("seccomp_load: %s", strerror(-rc));
		goto fail;
	}
	seccomp_release(ctx);
	return 0;
fail:
	seccomp_release(ctx);
	return -1;
}

/* ------------------------------------------------------------------ */

static void
dm_usage(const char *name)
{
	fprintf(stderr, "usage: %s [-fn] [-c moat.conf]\n", name);
	exit(2);
}

static void
dm_print(const struct daemon_desc *d, struct daemon_conf *c)
{
	const struct cfg_group *groups[DAEMON_MAXGROUPS + 1];
	void *vals[DAEMON_MAXGROUPS + 1];

	groups[0] = &common_cfg_group;
	vals[0] = &c->common;
	for (size_t i = 0; i < d->ngroups; i++) {
		groups[i + 1] = d->groups[i];
		vals[i + 1] = DM_GROUP(d, c, i);
	}
	config_print(stdout, groups, vals, d->ngroups + 1);
}

int
daemon_main(const struct daemon_desc *d, int argc, char **argv)
{
	struct daemon_conf *c;
	char err[1024], pidfile[4096] = "";
	const char *pf, *root = NULL;
	int ch, check = 0, foreground = 0, rc = 1, fds[DAEMON_MAXLISTEN];
	int started = 0;

	dm_desc = d;
	dm_conf_path = "/etc/moat/moat.conf";
	if (d->nlisten > DAEMON_MAXLISTEN)
		fatalx("%s: bad daemon descriptor", d->name);
	for (size_t i = 0; i < DAEMON_MAXLISTEN; i++)
		fds[i] = -1;
	optind = 1;
	while ((ch = getopt(argc, argv, "c:fn")) != -1) {
		switch (ch) {
		case 'c': dm_conf_path = optarg; break;
		case 'f': foreground = 1; break;
		case 'n': check = 1; break;
		default: dm_usage(d->name);
		}
	}
	if (optind != argc)
		dm_usage(d->name);
	if ((c = dm_conf_load(d, dm_conf_path, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", d->name, err);
		return 1;
	}
	if (check) {
		dm_print(d, c);
		dm_conf_free(d, c);
		return 0;
	}
	dm_conf = c;
	log_set_facility(c->common.syslog_facility_mail ? LOG_MAIL : LOG_DAEMON);
	if (log_init(d->name, foreground, c->common.log_json) == -1) {
		fprintf(stderr, "%s: common.log_json %s: cannot open: %s\n", d->name,
		    c->common.log_json, strerror(errno));
		goto out;
	}
	log_set_level((enum log_level)c->common.log_level);
	daemon_signals();
	if (d->usr1 != NULL) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sigemptyset(&sa.sa_mask);
		sa.sa_handler = daemon_on_signal;
		sigaction(SIGUSR1, &sa, NULL);
	}

	/* As root: sockets, then what the daemon opens itself. */
	for (size_t i = 0; i < d->nlisten; i++) {
		const char *addr = DM_FIELD(c, d->listen[i].addr);

		if (addr == NULL)
			continue;
		fds[i] = d->listen[i].kind == DAEMON_UNIX ?
		    dm_listen_unix(c, &d->listen[i]) : dm_listen_tcp(addr);
		if (fds[i] == -1)
			goto out;
	}
	if (d->bind != NULL && d->bind(c, fds) == -1)
		goto out;
	if (daemon_detach(foreground) == -1)
		goto out;
	/* After detach: fcntl locks are not inherited across fork. */
	pf = d->pidfile != NULL ? d->pidfile(c) : NULL;
	if (pf != NULL)
		snprintf(pidfile, sizeof(pidfile), "%s", pf);
	else if (!foreground)
		snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", c->common.run_dir, d->name);
	if (pidfile[0] != '\0' && daemon_pidfile(pidfile) == -1) {
		pidfile[0] = '\0';
		goto out;
	}
	if (d->chroot != NULL)
		root = d->chroot(c);
	if (daemon_drop(c->common.user, root) == -1)
		goto out;
	if (d->seccomp != NULL && daemon_seccomp(d->seccomp, d->no_outbound) == -1)
		goto out;
	if (d->start != NULL && d->start(c) == -1)
		goto out;
	started = 1;
	if (d->run != NULL) {
		rc = d->run() == 0 ? 0 : 1;
	} else {
		while (!daemon_stop_requested) {
			daemon_wait(d->tick_ms > 0 ? d->tick_ms : 1000);
			if (daemon_reload_requested) {
				daemon_reload_requested = 0;
				daemon_reload();
			}
			if (daemon_usr1_requested) {
				daemon_usr1_requested = 0;
				if (d->usr1 != NULL && !daemon_stop_requested)
					d->usr1();
			}
			if (!daemon_stop_requested && d->tick != NULL)
				d->tick();
		}
		log_info("stopping");
		rc = 0;
	}
out:
	if (d->stop != NULL && started)
		d->stop();
	c = dm_conf;
	for (size_t i = 0; i < d->nlisten; i++)
		if (fds[i] != -1 && d->listen[i].kind == DAEMON_UNIX &&
		    DM_FIELD(c, d->listen[i].addr) != NULL)
			unlink(DM_FIELD(c, d->listen[i].addr));
	if (pidfile[0] != '\0')
		daemon_pidfile_remove(pidfile);
	pthread_mutex_lock(&dm_conf_lock);
	dm_conf = NULL;
	pthread_mutex_unlock(&dm_conf_lock);
	daemon_conf_put(c);
	if (!started && rc != 0)
		log_warnx("%s: start-up failed", d->name);
	return rc;
}
