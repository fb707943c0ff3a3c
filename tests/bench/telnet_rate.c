/*
 * telnet_rate - new telnet sessions per second against a decoy, from one
 * process: CONC connections in flight, each one connects, reads the opening
 * negotiation (12 bytes from a netkit-like telnetd) and closes; for SECONDS.
 *
 *     telnet_rate HOST PORT [CONC [SECONDS]]
 *
 * Prints "sessions N in S s: R/s (failed F)".  Bounded in time and count
 * (at most CONC sockets open at once).
 *
 *     telnet_rate HOST PORT idle N SECONDS
 *
 * holds N idle sessions instead: opens them (each reads its opening), prints
 * "held N" once all are open (or opening stalled for 5 s), keeps them open
 * SECONDS, closes them and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
start(int ep, const struct sockaddr_in *sa)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	ev.data.fd = fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return fd;
}

/* N idle sessions for SECONDS; returns main's exit code. */
static int
idle(const struct sockaddr_in *sa, int want, int secs)
{
	struct epoll_event evs[256];
	unsigned char buf[256];
	int ep = epoll_create1(0), opened = 0, held = 0, n, k;
	double last = now();

	while (held < want && now() - last < 5) {
		while (opened - held < 256 && opened < want) {
			if (start(ep, sa) == -1)
				break;
			opened++;
		}
		n = epoll_wait(ep, evs, 256, 100);
		for (k = 0; k < n; k++) {
			/* Once read, a session stays quiet: out of the set. */
			if (read(evs[k].data.fd, buf, sizeof(buf)) > 0)
				held++;
			epoll_ctl(ep, EPOLL_CTL_DEL, evs[k].data.fd, NULL);
			last = now();
		}
	}
	printf("held %d\n", held);
	fflush(stdout);
	sleep(secs);
	return held == want ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event evs[256];
	int conc, secs, ep, i, n, k;
	unsigned long done = 0, failed = 0;
	unsigned char buf[256];
	double t0, end;

	if (argc < 3) {
		fprintf(stderr, "usage: telnet_rate HOST PORT [CONC [SECONDS]]\n");
		return 2;
	}
	inet_pton(AF_INET, argv[1], &sa.sin_addr);
	sa.sin_port = htons(atoi(argv[2]));
	if (argc > 5 && strcmp(argv[3], "idle") == 0)
		return idle(&sa, atoi(argv[4]), atoi(argv[5]));
	conc = argc > 3 ? atoi(argv[3]) : 16;
	secs = argc > 4 ? atoi(argv[4]) : 5;
	ep = epoll_create1(0);
	for (i = 0; i < conc; i++)
		if (start(ep, &sa) == -1)
			failed++;
	t0 = now();
	end = t0 + secs;
	while (now() < end) {
		n = epoll_wait(ep, evs, 256, 100);
		for (k = 0; k < n; k++) {
			int fd = evs[k].data.fd;
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r == -1 && errno == EAGAIN)
				continue;
			if (r >= 12)
				done++;
			else
				failed++;
			close(fd);
			if (start(ep, &sa) == -1)
				failed++;
		}
	}
	printf("sessions %lu in %.2f s: %.0f/s (failed %lu)\n", done, now() - t0,
	    done / (now() - t0), failed);
	return 0;
}
