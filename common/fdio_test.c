/*
 * fdio_test - fdio_write_all: everything arrives, in order, through a small
 * pipe that a thread drains in bursts while a 1 ms timer (no SA_RESTART)
 * interrupts the blocked writer: write(2) returns short counts and EINTR;
 * a write to a pipe with no reader and to a closed descriptor is -1 with
 * errno set.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "fdio.h"
#include "moat_test.h"

#define BIG (256 * 1024 + 7)

static volatile sig_atomic_t ticks;

static void
tick(int sig)
{
	(void)sig;
	ticks++;
}

struct drain {
	int	 fd;
	char	*buf;
	size_t	 len;
};

static void *
drain(void *arg)
{
	struct drain *d = arg;
	ssize_t n;

	/* Pauses of 3 ms keep the pipe full across several ticks. */
	while (d->len < BIG && (n = read(d->fd, d->buf + d->len, BIG - d->len)) > 0) {
		d->len += (size_t)n;
		usleep(3000);
	}
	return NULL;
}

static void
case_short_writes(void)
{
	static char in[BIG], out[BIG];
	struct drain d = { .buf = out };
	struct sigaction sa = { .sa_handler = tick };    /* no SA_RESTART */
	struct itimerval every_ms = { { 0, 1000 }, { 0, 1000 } }, off = { 0 };
	sigset_t alrm;
	pthread_t t;
	int p[2];

	for (size_t i = 0; i < BIG; i++)
		in[i] = (char)(i * 7 + i / 251);
	if (pipe(p) == -1)
		TEST_FATAL("pipe: %s", strerror(errno));
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	d.fd = p[0];
	/* The timer's signal goes to this thread only: the reader blocks it. */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	pthread_create(&t, NULL, drain, &d);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &every_ms, NULL);
	TEST_INT_EQ("write", fdio_write_all(p[1], in, BIG), 0);
	setitimer(ITIMER_REAL, &off, NULL);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);
	TEST_CHECK(ticks > 0, "the writer was never interrupted");
	TEST_INT_EQ("bytes", d.len, BIG);
	TEST_CHECK(memcmp(in, out, BIG) == 0, "bytes differ");
}

static void
case_errors(void)
{
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	if (pipe(p) == -1)
		TEST_FATAL("pipe: %s", strerror(errno));
	close(p[0]);
	errno = 0;
	TEST_INT_EQ("no reader", fdio_write_all(p[1], "x", 1), -1);
	TEST_INT_EQ("no reader errno", errno, EPIPE);
	close(p[1]);
	errno = 0;
	TEST_INT_EQ("closed fd", fdio_write_all(p[1], "x", 1), -1);
	TEST_INT_EQ("closed fd errno", errno, EBADF);
	TEST_INT_EQ("nothing to write", fdio_write_all(p[1], "", 0), 0);
}

static const struct test_case cases[] = {
	{ "short_writes", case_short_writes },
	{ "errors", case_errors },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
