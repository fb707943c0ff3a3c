/*
 * Containment of moat-decoyd's two processes, for real: the loop process's
 * filter (dd_seccomp_allow with no_outbound, as daemon_main installs it)
 * loaded in a forked child refuses connect() and a datagram sent to an
 * address (EPERM) while send() on a connected socket works, and kills the
 * process at execve and fork; the keeper's list has no exec either.  And
 * the keeper's check of the loop's records (relay_parse).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "decoyd_keeper.h"
#include "moat_test.h"

static int
listed(const char *const *list, const char *name)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return 1;
	return 0;
}

static void
case_lists(void)
{
	static const char *const never[] = { "execve", "execveat", "fork", "vfork", "ptrace",
	    "process_vm_writev", NULL };
	static const char *const loop_never[] = { "connect", "clone", "clone3", "sendmsg",
	    "sendmmsg", "kill", "tgkill", NULL };

	for (const char *const *n = never; *n != NULL; n++) {
		TEST_CHECK(!listed(dd_seccomp_allow, *n), "the loop's list allows %s", *n);
		TEST_CHECK(!listed(keeper_seccomp, *n), "the keeper's list allows %s", *n);
	}
	for (const char *const *n = loop_never; *n != NULL; n++)
		TEST_CHECK(!listed(dd_seccomp_allow, *n), "the loop's list allows %s", *n);
}

/* Runs fn in a child under the loop's filter; its wait status. */
static int
filtered(int (*fn)(int), int arg)
{
	pid_t pid;
	int st;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if (daemon_seccomp(dd_seccomp_allow, 1) == -1)
			_exit(100);
		_exit(fn(arg));
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	return st;
}

/* Exit codes: 0 as wanted, else which check failed. */
static int
try_net(int sock)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != -1 || errno != EPERM)
		return 2;
	close(fd);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return 3;
	if (sendto(fd, "x", 1, 0, (struct sockaddr *)&sin, sizeof(sin)) != -1 || errno != EPERM)
		return 4;
	close(fd);
	if (send(sock, "ok", 2, MSG_DONTWAIT) != 2)
		return 5;
	return 0;
}

static int
try_exec(int unused)
{
	char *argv[] = { "/bin/true", NULL };

	(void)unused;
	execve("/bin/true", argv, NULL);
	return 0;                       /* not killed: a failure */
}

static int
try_fork(int unused)
{
	pid_t p;

	(void)unused;
	if ((p = fork()) == 0)
		_exit(0);
	return 0;
}

static void
case_filter(void)
{
	int sv[2], st;
	char buf[4];

#ifdef __SANITIZE_ADDRESS__
	/* The sanitizer build runs moat-decoyd without its filter (decoyd_life.c),
	 * and ASan's own calls are not in the list. */
	printf("skip %s: sanitizer build\n", test_name);
	return;
#endif
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1)
		TEST_FATAL("socketpair: %s", strerror(errno));
	st = filtered(try_net, sv[0]);
	TEST_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "connect/sendto under the filter: status %#x (exit %d)", st, WEXITSTATUS(st));
	TEST_CHECK(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) == 2, "send() did not pass");
	st = filtered(try_exec, 0);
	TEST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	    "execve under the filter: status %#x, want killed by SIGSYS", st);
	st = filtered(try_fork, 0);
	TEST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	    "fork under the filter: status %#x, want killed by SIGSYS", st);
	close(sv[0]);
	close(sv[1]);
}

static size_t
record(char *buf, uint32_t type, const char *const *f, size_t nf)
{
	struct relay_head h = { .type = type };
	size_t n = sizeof(h);

	for (size_t i = 0; i < nf; i++) {
		h.len[i] = (uint32_t)strlen(f[i]);
		memcpy(buf + n, f[i], h.len[i]);
		n += h.len[i];
	}
	memcpy(buf, &h, sizeof(h));
	return n;
}

static void
case_unpack(void)
{
	static char buf[2 * RELAY_MAX + 16], scratch[RELAY_MAX + RELAY_FIELDS];
	const char *f[] = { "decoy.login", "192.0.2.1", "{\"a\":1}" };
	struct relay_rec r;
	struct relay_head h;
	size_t n, n2;

	n = record(buf, RELAY_EVENT, f, 3);
	TEST_INT_EQ("a good record's length", relay_parse(buf, n, scratch, &r), n);
	TEST_STR_EQ("kind", r.f[0], "decoy.login");
	TEST_STR_EQ("detail", r.f[2], "{\"a\":1}");
	TEST_STR_EQ("empty field", r.f[4], "");
	TEST_CHECK(relay_parse(buf, n - 1, scratch, &r) == -1, "short record taken");
	/* Back to back in one message: each parse takes one record. */
	n2 = record(buf + n, RELAY_ROW, f, 2);
	TEST_INT_EQ("first of two", relay_parse(buf, n + n2, scratch, &r), n);
	TEST_INT_EQ("second of two", relay_parse(buf + n, n2, scratch, &r), n2);
	TEST_CHECK(r.h.type == RELAY_ROW, "second of two: type %u", r.h.type);
	TEST_CHECK(relay_parse(buf + n, n2 - 1, scratch, &r) == -1, "a cut second record taken");
	TEST_CHECK(relay_parse(buf, 3, scratch, &r) == -1, "a torn head taken");
	buf[sizeof(h) + 2] = '\0';
	TEST_CHECK(relay_parse(buf, n, scratch, &r) == -1, "a NUL in a field taken");
	n = record(buf, 9, f, 3);
	TEST_CHECK(relay_parse(buf, n, scratch, &r) == -1, "unknown type taken");
	n = record(buf, RELAY_FACT, f, 3);
	memcpy(&h, buf, sizeof(h));
	h.len[0] = 0xffffffffu;
	memcpy(buf, &h, sizeof(h));
	TEST_CHECK(relay_parse(buf, n, scratch, &r) == -1, "a huge length taken");
	memset(buf + sizeof(h), 'a', RELAY_MAX);
	h.len[1] = h.len[2] = 0;
	h.len[0] = RELAY_MAX - sizeof(h) + 1;       /* one byte over the bound */
	memcpy(buf, &h, sizeof(h));
	TEST_CHECK(relay_parse(buf, RELAY_MAX + 8, scratch, &r) == -1,
	    "a record over RELAY_MAX taken");
	h.len[0] = RELAY_MAX - sizeof(h);
	memcpy(buf, &h, sizeof(h));
	TEST_INT_EQ("a record of RELAY_MAX", relay_parse(buf, RELAY_MAX + 8, scratch, &r),
	    RELAY_MAX);
}

static const struct test_case cases[] = {
	{ "allow lists", case_lists },
	{ "the loop's filter, loaded", case_filter },
	{ "records from the loop", case_unpack },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
