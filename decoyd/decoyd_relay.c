/*
 * decoyd_relay - the loop process's end of the channel to the keeper (see
 * decoyd_keeper.h).
 *
 * Ownership: the loop's one thread owns the channel descriptor, the batch
 * buffer and the counters.  Records gather in the buffer; it goes out as
 * one message when the next record would not fit and after each round of
 * the loop (relay_flush: many records per message under load, at once when
 * quiet).  Every send is non-blocking
 * (MSG_DONTWAIT): a message the full channel refuses waits in a bounded
 * backlog, in order, sent first by the next flush (past RELAY_BACKLOG the
 * newest are dropped, counted and logged once per burst), never a wait;
 * EPIPE or a
 * readable/hung-up channel (the keeper never writes) means the keeper is
 * gone: logged once, the descriptor closed, every later record counted as
 * dropped.  Recordings go on (they are files of the loop process).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "decoyd_keeper.h"
#include "log.h"

#define RELAY_SNDBUF   (4 * 1024 * 1024)    /* bursts while the keeper writes */
#define RELAY_CLOSE_MS 8000                 /* the keeper's last writes, at stop */

static int relay_fd = -1;
static pid_t relay_pid = -1;
static uint64_t relay_drops, relay_sent;
static int relay_drop_logged, relay_dead;

static void
relay_gone(const char *why)
{
	int st;

	if (relay_fd == -1)
		return;
	close(relay_fd);
	relay_fd = -1;
	relay_dead = 1;
	if (relay_pid > 0 && waitpid(relay_pid, &st, WNOHANG) == relay_pid) {
		if (WIFSIGNALED(st))
			log_warnx("keeper (pid %ld) died of signal %d (%s): no events, session "
			    "rows or alerts from now on; recordings go on", (long)relay_pid,
			    WTERMSIG(st), why);
		else
			log_warnx("keeper (pid %ld) exited with status %d (%s): no events, "
			    "session rows or alerts from now on; recordings go on",
			    (long)relay_pid, WEXITSTATUS(st), why);
	} else {
		log_warnx("keeper (pid %ld) is gone (%s): no events, session rows or "
		    "alerts from now on; recordings go on", (long)relay_pid, why);
	}
}

static char relay_buf[RELAY_BATCH];     /* records gathered, not sent yet */
static size_t relay_len;
static unsigned relay_nrec;

/* Messages the channel refused for now (its queue is short: a busy loop
 * sends a message per round), kept in order and sent first by the next
 * flush; past RELAY_BACKLOG bytes the newest are dropped, counted. */
#define RELAY_BACKLOG (8 * 1024 * 1024)
struct relay_msg {
	struct relay_msg *next;
	size_t            len;
	unsigned          nrec;
	char              data[];
};
static struct relay_msg *relay_qhead, *relay_qtail;
static size_t relay_qbytes;

/* One non-blocking send: 1 sent, 0 the channel is full, -1 the keeper is
 * gone (said). */
static int
relay_try(const char *buf, size_t len)
{
	ssize_t w;

	do
		w = send(relay_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (w == -1 && errno == EINTR);
	if (w == (ssize_t)len)
		return 1;
	if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
		return 0;
	relay_gone(w == -1 ? strerror(errno) : "short send");
	return -1;
}

static void
relay_drop(unsigned nrec)
{
	relay_drops += nrec;
	if (!relay_drop_logged)
		log_warnx("keeper: channel full and %zu bytes waiting, dropping records "
		    "(%llu so far)", relay_qbytes, (unsigned long long)relay_drops);
	relay_drop_logged = 1;
}

void
relay_flush(void)
{
	struct relay_msg *m;
	int r = 1;

	while (relay_fd != -1 && (m = relay_qhead) != NULL && (r = relay_try(m->data, m->len)) == 1) {
		relay_sent += m->nrec;
		relay_qhead = m->next;
		if (relay_qhead == NULL)
			relay_qtail = NULL;
		relay_qbytes -= m->len;
		free(m);
	}
	if (relay_fd == -1) {           /* gone: what waits is lost */
		while ((m = relay_qhead) != NULL) {
			relay_qhead = m->next;
			relay_drops += m->nrec;
			free(m);
		}
		relay_qtail = NULL;
		relay_qbytes = 0;
		relay_drops += relay_nrec;
		relay_len = relay_nrec = 0;
		return;
	}
	if (relay_len == 0)
		return;
	if (relay_qhead == NULL && (r = relay_try(relay_buf, relay_len)) == 1) {
		relay_sent += relay_nrec;
		relay_drop_logged = 0;
	} else if (r == -1) {
		relay_drops += relay_nrec;
	} else if (relay_qbytes + relay_len > RELAY_BACKLOG ||
	    (m = malloc(sizeof(*m) + relay_len)) == NULL) {
		relay_drop(relay_nrec);
	} else {
		m->next = NULL;
		m->len = relay_len;
		m->nrec = relay_nrec;
		memcpy(m->data, relay_buf, relay_len);
		if (relay_qtail != NULL)
			relay_qtail->next = m;
		else
			relay_qhead = m;
		relay_qtail = m;
		relay_qbytes += relay_len;
	}
	relay_len = relay_nrec = 0;
}

/* Gathers one record made of head and fields (sent by relay_flush). */
static void
relay_send(struct relay_head *h, const char *const *f)
{
	size_t n = sizeof(*h), i, len[RELAY_FIELDS];
	char *p;

	for (i = 0; i < RELAY_FIELDS; i++) {
		len[i] = f[i] != NULL ? strlen(f[i]) : 0;
		if (len[i] > RELAY_MAX - n)
			len[i] = RELAY_MAX - n; /* callers bound their fields well below */
		h->len[i] = (uint32_t)len[i];
		n += len[i];
	}
	if (relay_len + n > sizeof(relay_buf))
		relay_flush();
	p = relay_buf + relay_len;
	memcpy(p, h, sizeof(*h));
	p += sizeof(*h);
	for (i = 0; i < RELAY_FIELDS; i++) {
		memcpy(p, f[i] != NULL ? f[i] : "", len[i]);
		p += len[i];
	}
	relay_len += n;
	relay_nrec++;
}

/* events_divert target: event_emit() in the loop process. */
static void
relay_event(const char *kind, enum event_severity sev, int64_t subscriber_id,
    const char *src_ip, const char *detail_json)
{
	struct relay_head h = { .type = RELAY_EVENT };
	const char *f[RELAY_FIELDS] = { kind, src_ip, detail_json, NULL, NULL };

	h.num[0] = sev;
	h.num[1] = subscriber_id;
	h.num[2] = src_ip != NULL;
	relay_send(&h, f);
}

void
relay_fact(const struct dd_session *s, enum alert_kind kind, const char *a, const char *b)
{
	struct relay_head h = { .type = RELAY_FACT };
	char ab[2][4096];
	const char *f[RELAY_FIELDS] = { s->src, s->pers->name, s->key, ab[0], ab[1] };

	/* Bounded: the mail shows a prefix; the transcript has all. */
	snprintf(ab[0], sizeof(ab[0]), "%s", a != NULL ? a : "");
	snprintf(ab[1], sizeof(ab[1]), "%s", b != NULL ? b : "");
	h.num[0] = kind;
	h.num[1] = s->port;
	relay_send(&h, f);
}

void
relay_row(int64_t started, int64_t ended, const char *src, unsigned port,
    const char *personality, const char *path, const char *summary)
{
	struct relay_head h = { .type = RELAY_ROW };
	const char *f[RELAY_FIELDS] = { src, personality, path, summary, NULL };

	h.num[0] = started;
	h.num[1] = ended;
	h.num[2] = port;
	h.num[3] = path != NULL;
	relay_send(&h, f);
}

int
relay_open(struct dd_conf *c)
{
	int sv[2], sz = RELAY_SNDBUF;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("keeper: socketpair");
		return -1;
	}
	/* As root the buffer may pass net.core.wmem_max. */
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) == -1)
		(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if ((pid = fork()) == -1) {
		log_warn("keeper: fork");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		keeper_main(c, sv[1]);
	}
	close(sv[1]);
	relay_fd = sv[0];
	relay_pid = pid;
	events_divert(relay_event);
	log_info("keeper started (pid %ld): events, session rows and alerts go through it",
	    (long)pid);
	return 0;
}

void
relay_check(void)
{
	struct pollfd p;

	relay_flush();
	if (relay_fd == -1)
		return;
	p.fd = relay_fd;
	p.events = POLLIN;
	/* The keeper never writes: readable means end of file. */
	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0)
		relay_gone("channel closed");
}

void
relay_close(void)
{
	struct pollfd p;
	int st, i;

	/* What waits for room goes first, for at most a second. */
	relay_flush();
	for (i = 0; i < 100 && relay_fd != -1 && relay_qhead != NULL; i++) {
		(void)poll(NULL, 0, 10);
		relay_flush();
	}
	if (relay_fd == -1) {
		if (relay_dead && relay_pid > 0)
			(void)waitpid(relay_pid, &st, WNOHANG);
	} else {
		/* Our end of file tells the keeper to finish; its end closes
		 * when it exits (it may not be our child after detaching). */
		shutdown(relay_fd, SHUT_WR);
		p.fd = relay_fd;
		p.events = POLLIN;
		if (poll(&p, 1, RELAY_CLOSE_MS) == 0)
			log_warnx("keeper (pid %ld) still busy after %d s; leaving it",
			    (long)relay_pid, RELAY_CLOSE_MS / 1000);
		close(relay_fd);
		relay_fd = -1;
		if (relay_pid > 0)
			(void)waitpid(relay_pid, &st, WNOHANG);
	}
	events_divert(NULL);
	if (relay_drops > 0)
		log_warnx("keeper: %llu record(s) dropped, %llu sent",
		    (unsigned long long)relay_drops, (unsigned long long)relay_sent);
}

uint64_t
relay_dropped(void)
{
	return relay_drops;
}
