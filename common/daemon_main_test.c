/*
 * daemon_main_test - daemon_main() driven through a small test daemon: this
 * program runs the cases, and re-executes itself with "testd ARGS" to be the
 * daemon (option group "updated", a pidfile, a status file its hooks append
 * to).  Cases: -n with good and bad configs, the pidfile lock, HUP swaps the
 * generation (and keeps a restart-only value), TERM stops cleanly, no way
 * back to root after the drop (root only), a seccomp filter kills a
 * forbidden call.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "moat_test.h"

/* ---- the test daemon ---- */

struct td_opts {
	char      *pidfile;
	char      *status;
	char      *fixed;
	long long  value;
	int        forbidden;
};

struct td_conf {
	DAEMON_CONF_HEAD;
	struct td_opts t;
};

#define TD(f) offsetof(struct td_opts, f)
static const struct cfg_opt td_opts[] = {
	{ "pidfile", CFG_STR, NULL, 0, -1, NULL, TD(pidfile), "p", cfg_check_abspath, CFG_RESTART },
	{ "status", CFG_STR, NULL, 0, -1, NULL, TD(status), "s", NULL, CFG_RESTART },
	{ "fixed", CFG_STR, "one", 0, -1, NULL, TD(fixed), "f", NULL, CFG_RESTART },
	{ "value", CFG_INT, "1", 0, 100, NULL, TD(value), "v", NULL, 0 },
	{ "forbidden", CFG_BOOL, "false", 0, -1, NULL, TD(forbidden), "k", NULL, 0 },
	{ NULL, 0, NULL, 0, 0, NULL, 0, NULL, NULL, 0 }
};
static const struct cfg_group td_group = { "updated", "test daemon", td_opts, NULL };
static const struct cfg_group *const td_groups[] = { &td_group };
static const size_t td_off[] = { offsetof(struct td_conf, t) };
/* setresuid is allowed so that the drop case sees the kernel refuse it. */
static const char *const td_seccomp[] = { "setresuid", "getuid", NULL };

static void
td_status(const struct td_conf *c, const char *fmt, ...) LOG_PRINTF(2, 3);
static void
td_status(const struct td_conf *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (c->t.status == NULL || n < 0 || (size_t)n >= sizeof(line))
		return;
	if ((fd = open(c->t.status, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1)
		return;
	if (write(fd, line, (size_t)n) != n)
		log_warn("status");
	close(fd);
}

static const char *
td_pidfile(const void *conf)
{
	return ((const struct td_conf *)conf)->t.pidfile;
}

static int
td_start(void *conf)
{
	struct td_conf *c = conf;
	int regain = setresuid(0, 0, 0) == 0;

	td_status(c, "start value=%lld uid=%ld regain=%s\n", c->t.value, (long)getuid(),
	    regain ? "yes" : "no");
	if (c->t.forbidden)
		mkdir("/nonexistent-moat-test", 0700);     /* not on the allow list */
	return 0;
}

static void
td_reload(void *conf, const void *old)
{
	const struct td_conf *n = conf, *o = old;

	td_status(n, "reload value=%lld old=%lld fixed=%s\n", n->t.value, o->t.value, n->t.fixed);
}

/* USR1: the hook runs on the service loop (it may lock and write). */
static void
td_usr1(void)
{
	struct td_conf *c = daemon_conf_get();

	td_status(c, "usr1 value=%lld\n", c->t.value);
	daemon_conf_put(c);
}

static void
td_stop(void)
{
	struct td_conf *c = daemon_conf_get();

	td_status(c, "stop\n");
	daemon_conf_put(c);
}

static const struct daemon_desc td_desc = {
	.name = "moat-testd", .groups = td_groups, .group_off = td_off, .ngroups = 1,
	.conf_size = sizeof(struct td_conf), .seccomp = td_seccomp,
	.pidfile = td_pidfile, .start = td_start, .reload = td_reload, .stop = td_stop,
	.usr1 = td_usr1, .tick_ms = 50,
};

/* ---- the cases ---- */

static char dir[512], self[512];

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL) {
		TEST_FAIL("cannot write %s: %s", path, strerror(errno));
		return;
	}
	fputs(text, fp);
	fclose(fp);
}

static void
read_file(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	if (fp != NULL) {
		n = fread(buf, 1, len - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
}

/* Writes conf to dir/name.conf (user "" unless root_user), and an empty
 * status file others may write.  Returns the path in buf. */
static void
make_conf(char *buf, size_t len, const char *name, const char *user, const char *group)
{
	char text[2048], status[600];

	snprintf(buf, len, "%s/%s.conf", dir, name);
	snprintf(status, sizeof(status), "%s/%s.status", dir, name);
	write_file(status, "");
	chmod(status, 0666);
	snprintf(text, sizeof(text),
	    "common = { user = \"%s\"; run_dir = \"%s\"; log_level = \"info\"; };\n"
	    "updated = {\n  status = \"%s\";\n  pidfile = \"%s/%s.pid\";\n%s};\n",
	    user, dir, status, dir, name, group);
	write_file(buf, text);
}

/* Runs the test daemon with args; stdout/stderr to dir/out, dir/err.
 * Returns its pid. */
static pid_t
spawn(const char *a1, const char *a2, const char *a3, const char *a4)
{
	char out[600], errp[600];
	pid_t pid;

	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(errp, sizeof(errp), "%s/err", dir);
	if ((pid = fork()) == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(errp, O_WRONLY | O_CREAT | O_APPEND, 0644);

		dup2(o, 1);
		dup2(e, 2);
		execl(self, self, "testd", a1, a2, a3, a4, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int
wait_exit(pid_t pid, int *status, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return -1;
}

/* Waits until the status file of name contains text. */
static int
wait_status(const char *name, const char *text, int ms)
{
	char path[600], buf[4096];

	snprintf(path, sizeof(path), "%s/%s.status", dir, name);
	for (int i = 0; i < ms / 10; i++) {
		read_file(path, buf, sizeof(buf));
		if (strstr(buf, text) != NULL)
			return 0;
		usleep(10000);
	}
	TEST_FAIL("status of %s: got \"%s\", want \"%s\"", name, buf, text);
	return -1;
}

static void
case_check_good(void)
{
	char conf[600], out[4096];
	int st;
	pid_t pid;

	make_conf(conf, sizeof(conf), "good", "", "  value = 42;\n");
	pid = spawn("-n", "-c", conf, NULL);
	wait_exit(pid, &st, 5000);
	snprintf(out, sizeof(out), "%s/out", dir);
	read_file(out, out, sizeof(out));
	TEST_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "-n good: status %d, want exit 0", st);
	TEST_CHECK(strstr(out, "updated = {") != NULL && strstr(out, "value = 42;") != NULL,
	    "-n good: effective settings missing: %s", out);
}

static void
case_check_bad(void)
{
	static const struct { const char *group, *want; } t[] = {
		{ "  value = 420;\n", ":6: updated.value: 420 is above the maximum 100" },
		{ "  pidfile = \"rel.pid\";\n", ":6: updated.pidfile: \"rel.pid\" is not an absolute path" },
		{ "  nosuch = 1;\n", ":6: unknown setting 'updated.nosuch'" },
	};
	for (size_t i = 0; i < TEST_NELEM(t); i++) {
		char conf[600], errp[600], err[4096], want[1200], text[2048];
		int st;
		pid_t pid;

		/* The bad line comes after the generated ones (line 6). */
		snprintf(conf, sizeof(conf), "%s/bad.conf", dir);
		snprintf(text, sizeof(text), "common = {\n  user = \"\";\n};\nupdated = {\n"
		    "  fixed = \"x\";\n%s};\n", t[i].group);
		write_file(conf, text);
		snprintf(errp, sizeof(errp), "%s/err", dir);
		unlink(errp);
		pid = spawn("-n", "-c", conf, NULL);
		wait_exit(pid, &st, 5000);
		read_file(errp, err, sizeof(err));
		snprintf(want, sizeof(want), "%s%s", conf, t[i].want);
		TEST_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "%s: status %d, want exit 1",
		    t[i].want, st);
		TEST_CHECK(strstr(err, want) != NULL, "got \"%s\", want \"%s\"", err, want);
	}
}

static void
case_pidfile_hup_term(void)
{
	char conf[600], pidf[600], errp[600], err[4096], buf[64];
	int st, st2;
	pid_t pid, pid2;

	make_conf(conf, sizeof(conf), "life", "", "  value = 7;\n  fixed = \"one\";\n");
	snprintf(errp, sizeof(errp), "%s/err", dir);
	unlink(errp);                   /* both instances append to it */
	pid = spawn("-f", "-c", conf, NULL);
	if (wait_status("life", "start value=7", 5000) == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return;
	}
	snprintf(pidf, sizeof(pidf), "%s/life.pid", dir);
	read_file(pidf, buf, sizeof(buf));
	TEST_CHECK(atol(buf) == (long)pid, "pidfile holds %s, want %ld", buf, (long)pid);

	/* A second instance is refused by the lock. */
	snprintf(errp, sizeof(errp), "%s/err", dir);
	pid2 = spawn("-f", "-c", conf, NULL);
	TEST_CHECK(wait_exit(pid2, &st2, 5000) == 0 && WIFEXITED(st2) &&
	    WEXITSTATUS(st2) == 1, "second instance: status %d, want exit 1", st2);
	read_file(errp, err, sizeof(err));
	TEST_CHECK(strstr(err, "already locked") != NULL, "second instance said: %s", err);
	read_file(pidf, buf, sizeof(buf));
	TEST_CHECK(atol(buf) == (long)pid, "pidfile after the refusal: %s", buf);

	/* HUP: the new value is live, the restart-only one kept. */
	make_conf(conf, sizeof(conf), "life", "", "  value = 8;\n  fixed = \"two\";\n");
	kill(pid, SIGHUP);
	wait_status("life", "reload value=8 old=7 fixed=one", 5000);
	/* USR1 calls the hook (and does not stop the daemon). */
	kill(pid, SIGUSR1);
	wait_status("life", "usr1 value=8", 5000);
	/* A bad file on HUP keeps the running generation. */
	make_conf(conf, sizeof(conf), "life", "", "  value = 800;\n");
	kill(pid, SIGHUP);
	usleep(300000);
	TEST_CHECK(kill(pid, 0) == 0, "a bad reload stopped the daemon");

	kill(pid, SIGTERM);
	TEST_CHECK(wait_exit(pid, &st, 5000) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "TERM: status %d, want exit 0", st);
	wait_status("life", "stop", 100);
	TEST_CHECK(access(pidf, F_OK) == -1, "pidfile left behind");
	read_file(errp, err, sizeof(err));
	TEST_CHECK(strstr(err, "updated.fixed changed: needs a restart; keeping the old value")
	    != NULL, "no restart-only warning in: %s", err);
}

static void
case_drop(void)
{
	char conf[600];
	int st;
	pid_t pid;

	if (geteuid() != 0) {
		printf("skip drop: not root\n");
		return;
	}
	make_conf(conf, sizeof(conf), "drop", "nobody", "");
	pid = spawn("-f", "-c", conf, NULL);
	wait_status("drop", "uid=65534 regain=no", 5000);
	kill(pid, SIGTERM);
	TEST_CHECK(wait_exit(pid, &st, 5000) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "TERM: status %d", st);
}

static void
case_seccomp(void)
{
	char conf[600];
	int st;
	pid_t pid;

	make_conf(conf, sizeof(conf), "sys", "", "  forbidden = true;\n");
	pid = spawn("-f", "-c", conf, NULL);
	wait_exit(pid, &st, 5000);
	TEST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	    "a forbidden call: status %#x, want killed by SIGSYS", st);
	/* Without the forbidden call the same filter lets it serve. */
	make_conf(conf, sizeof(conf), "sys", "", "");
	pid = spawn("-f", "-c", conf, NULL);
	wait_status("sys", "start", 5000);
	kill(pid, SIGTERM);
	TEST_CHECK(wait_exit(pid, &st, 5000) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "filtered daemon TERM: status %#x, want exit 0", st);
}

static const struct test_case cases[] = {
	{ "check_good", case_check_good },
	{ "check_bad", case_check_bad },
	{ "pidfile_hup_term", case_pidfile_hup_term },
	{ "drop", case_drop },
	{ "seccomp", case_seccomp },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	ssize_t n;
	int rc;

	if (argc > 1 && strcmp(argv[1], "testd") == 0) {
		int ac = 1;

		while (ac + 1 < argc && argv[ac + 1] != NULL)
			ac++;
		argv[1] = argv[0];
		return daemon_main(&td_desc, ac, argv + 1);
	}
	/* In the sanitizer build, LeakSanitizer's exit-time check stops the
	 * world with clone and ptrace, which the test daemon's seccomp filter
	 * rightly kills (SIGSYS): the daemons this program starts run without
	 * it; this process and the real daemons (integration tests) keep it.
	 * Without ASan the variable is ignored. */
	{
		const char *o = getenv("ASAN_OPTIONS");
		char opts[1024];

		snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", o != NULL ? o : "",
		    o != NULL && o[0] != '\0' ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return 1;
	self[n] = '\0';
	snprintf(dir, sizeof(dir), "%s/daemon_main_test.XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	chmod(dir, 0755);
	rc = test_run(cases);
	if (rc == 0)
		test_rmtree(dir);
	return rc;
}
