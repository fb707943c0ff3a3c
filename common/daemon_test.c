/*
 * daemon_test - pidfile locking against a live holder, daemon_wait waking on
 * a signal, and (when run as root) an irreversible privilege drop.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "moat_test.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_pidfile(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[PATH_MAX], buf[32];
	int pfd[2], status;
	pid_t pid;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/daemon_test.%ld.pid", dir, (long)getpid());
	unlink(path);
	if (pipe(pfd) == -1)
		exit(2);
	/* A child takes the pidfile and waits until we close the pipe. */
	if ((pid = fork()) == 0) {
		close(pfd[1]);
		if (daemon_pidfile(path) != 0)
			_exit(1);
		if (read(pfd[0], buf, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[0]);
	/* Bounded wait for the child's pid to appear. */
	for (int i = 0; i < 200; i++) {
		if ((fp = fopen(path, "r")) != NULL) {
			long got = 0;
			int n = fscanf(fp, "%ld", &got);
			fclose(fp);
			if (n == 1 && got == (long)pid)
				break;
		}
		usleep(10000);
	}
	if (daemon_pidfile(path) != -1)
		TEST_FAIL("pidfile held by live pid %ld: got 0, want -1", (long)pid);
	close(pfd[1]);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		TEST_FAIL("pidfile holder child: status %#x", status);
	/* The holder is gone: its stale file no longer blocks us. */
	if (daemon_pidfile(path) != 0)
		TEST_FAIL("stale pidfile: got -1, want 0");
	if ((fp = fopen(path, "r")) == NULL || fgets(buf, sizeof(buf), fp) == NULL ||
	    atol(buf) != (long)getpid())
		TEST_FAIL("pidfile content: got %s, want our pid %ld", buf, (long)getpid());
	if (fp != NULL)
		fclose(fp);
	daemon_pidfile_remove(path);
	if (access(path, F_OK) == 0)
		TEST_FAIL("pidfile still there after daemon_pidfile_remove");
}

static void
test_wait(void)
{
	pid_t pid, me = getpid();
	double t0;

	daemon_signals();
	/* A plain timeout. */
	t0 = now();
	daemon_wait(100);
	if (now() - t0 < 0.09 || now() - t0 > 2)
		TEST_FAIL("daemon_wait(100) took %.3f s", now() - t0);
	/* A HUP from another process ends a long wait early and sets the flag. */
	if ((pid = fork()) == 0) {
		usleep(100000);
		kill(me, SIGHUP);
		_exit(0);
	}
	t0 = now();
	for (int i = 0; i < 10 && !daemon_reload_requested; i++)
		daemon_wait(3000);
	if (!daemon_reload_requested)
		TEST_FAIL("SIGHUP did not set daemon_reload_requested");
	if (now() - t0 > 2.5)
		TEST_FAIL("daemon_wait did not wake on SIGHUP (%.3f s)", now() - t0);
	waitpid(pid, NULL, 0);
	/* With a flag already set it returns at once. */
	t0 = now();
	daemon_wait(3000);
	if (now() - t0 > 0.5)
		TEST_FAIL("daemon_wait with a pending flag slept %.3f s", now() - t0);
	daemon_reload_requested = 0;
	raise(SIGTERM);
	if (!daemon_stop_requested)
		TEST_FAIL("SIGTERM did not set daemon_stop_requested");
	daemon_stop_requested = 0;
	if (raise(SIGPIPE) != 0)
		TEST_FAIL("SIGPIPE not ignored");
}

static void
test_drop(void)
{
	struct passwd *pw;
	int status;
	pid_t pid;

	if (geteuid() != 0 || (pw = getpwnam("nobody")) == NULL) {
		printf("daemon_test: privilege drop skipped (not root or no user nobody)\n");
		return;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if ((pid = fork()) == 0) {
		uid_t r, e, s;
		gid_t rg, eg, sg, groups[64];
		int n;

		if (daemon_drop("nobody", NULL) != 0)
			_exit(10);
		getresuid(&r, &e, &s);
		getresgid(&rg, &eg, &sg);
		if (r != uid || e != uid || s != uid)
			_exit(11);
		if (rg != gid || eg != gid || sg != gid)
			_exit(12);
		n = getgroups(64, groups);
		for (int i = 0; i < n; i++)
			if (groups[i] == 0)
				_exit(13);
		if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
			_exit(14);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		TEST_FAIL("daemon_drop(nobody) child: exit %d (10 drop failed, 11 uid, 12 gid, "
		    "13 root group kept, 14 root regained)", WEXITSTATUS(status));
	if (daemon_drop("no-such-user-moat", NULL) != -1)
		TEST_FAIL("daemon_drop(unknown user): want -1");
	if (daemon_drop("", NULL) != 0 || geteuid() != 0)
		TEST_FAIL("daemon_drop(\"\") must be a no-op");
}

static const struct test_case cases[] = {
	{ "pidfile lock against a live holder",	test_pidfile },
	{ "daemon_wait wakes on signals",	test_wait },
	{ "irreversible privilege drop",	test_drop },
	{ NULL, NULL }
};

int
main(void)
{
	log_init("daemon_test", 1, NULL);
	return test_run(cases);
}
