/*
 * decoyd_loop - the one epoll loop: listeners and sessions, all sockets
 * non-blocking, accepts until EAGAIN, a session table sized by the global
 * cap, per-source counts, one min-heap of session deadlines (idle, duration,
 * the personality's own timer), bounded output queues with backpressure (a
 * session with unsent output is not read until it drains), and the passive
 * data channels of FTP (a static table: see sess_data_listen in decoyd.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "decoyd.h"
#include "decoyd_keeper.h"
#include "log.h"

#define DD_MAXLISTEN   16
#define DD_SRC_BUCKETS 4096
#define DD_READ_CHUNK  4096
#define DD_FLUSH_MS    1000
#define DD_LINGER_MS   2000         /* an ending session's output may take this long */
#define DD_FD_RESERVE  64           /* descriptors beside the sessions' */

struct dd_listener {
	int                          fd;
	unsigned                     port;
	const struct dd_personality *pers;
	/* Bound to one address (not a wildcard): every session's own end, so
	 * no getsockname per accept. */
	struct sockaddr_storage      sa;
	int                          specific;
};

/* A passive data channel; slot free when s is NULL. */
struct dd_data {
	struct dd_session *s;
	int                lfd;         /* listening, until the client connects */
	int                fd;          /* the accepted connection */
	int64_t            deadline;    /* ms: closed then, whatever happens */
	uint8_t           *buf;         /* the queued transfer */
	size_t             len, off;
	int                queued;
	sess_data_fn      *done;        /* the personality's, once queued */
};

struct dd_src {                         /* sessions open from one address */
	struct dd_src *next;
	unsigned       n;
	char           addr[64];
};

static struct dd_listener dd_lis[DD_MAXLISTEN];
static pid_t dd_pid;
static size_t dd_nlis;
static struct dd_data dd_datas[DD_DATA_MAX];
static struct dd_session **dd_table;    /* max_sessions slots */
static unsigned *dd_freeslots;          /* stack of free slot numbers */
static size_t dd_nfree, dd_cap, dd_open;
static struct dd_session **dd_heap;     /* min-heap by deadline */
static size_t dd_heap_len;
static struct dd_src *dd_srcs[DD_SRC_BUCKETS];
static int dd_ep = -1, dd_recdir = -1;
static int dd_spare = -1;
static size_t dd_fd_cap;                /* sessions the descriptor limit allows */               /* given up to accept-and-close at EMFILE */
static uint64_t dd_counter, dd_refused_global, dd_refused_source;

int64_t
dd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------- timer heap */

static void
heap_swap(size_t a, size_t b)
{
	struct dd_session *t = dd_heap[a];

	dd_heap[a] = dd_heap[b];
	dd_heap[b] = t;
	dd_heap[a]->heap_at = a;
	dd_heap[b]->heap_at = b;
}

static void
heap_fix(size_t i)
{
	size_t l, r, m;

	while (i > 0 && dd_heap[(i - 1) / 2]->deadline > dd_heap[i]->deadline) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		l = 2 * i + 1, r = l + 1, m = i;
		if (l < dd_heap_len && dd_heap[l]->deadline < dd_heap[m]->deadline)
			m = l;
		if (r < dd_heap_len && dd_heap[r]->deadline < dd_heap[m]->deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

static void
heap_remove(struct dd_session *s)
{
	size_t i = s->heap_at;

	dd_heap_len--;
	if (i != dd_heap_len) {
		dd_heap[i] = dd_heap[dd_heap_len];
		dd_heap[i]->heap_at = i;
		heap_fix(i);
	}
}

/* The session's deadline: the earliest of idle, duration, personality. */
static void
sess_rearm(struct dd_session *s)
{
	int64_t start = (int64_t)s->start.tv_sec * 1000 + s->start.tv_nsec / 1000000;
	int64_t d = s->last_input + s->conf->d.idle * 1000;

	if (start + s->conf->d.duration * 1000 < d)
		d = start + s->conf->d.duration * 1000;
	if (s->pers_deadline != 0 && s->pers_deadline < d)
		d = s->pers_deadline;
	if (s->data != NULL && s->data->deadline < d)
		d = s->data->deadline;
	s->deadline = d;
	heap_fix(s->heap_at);
}

void
sess_timer(struct dd_session *s, int64_t ms)
{
	s->pers_deadline = ms == 0 ? 0 : dd_now_ms() + ms;
	sess_rearm(s);
}

/* ---------------------------------------------------------- sources */

static struct dd_src **
src_find(const char *addr)
{
	struct dd_src **p;
	unsigned h = 5381;
	const char *c;

	for (c = addr; *c != '\0'; c++)
		h = h * 33 + (unsigned char)*c;
	for (p = &dd_srcs[h % DD_SRC_BUCKETS]; *p != NULL; p = &(*p)->next)
		if (strcmp((*p)->addr, addr) == 0)
			break;
	return p;
}

/* Counts one more session from addr; 0, or -1 over per_source. */
static int
src_take(const char *addr, long long cap)
{
	struct dd_src **p = src_find(addr);

	if (*p == NULL) {
		if ((*p = calloc(1, sizeof(**p))) == NULL)
			return -1;
		snprintf((*p)->addr, sizeof((*p)->addr), "%s", addr);
	}
	if ((*p)->n >= cap)
		return -1;
	(*p)->n++;
	return 0;
}

static void
src_release(const char *addr)
{
	struct dd_src **p = src_find(addr), *e = *p;

	if (e != NULL && --e->n == 0) {
		*p = e->next;
		free(e);
	}
}

/* ---------------------------------------------------------- sessions */

static void
sess_arm(struct dd_session *s, int in, int out)
{
	struct epoll_event ev = { .events = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0) };

	ev.data.ptr = s;
	s->reading = in;
	if (epoll_ctl(dd_ep, EPOLL_CTL_MOD, s->fd, &ev) == -1)
		log_warn("epoll_ctl %s", s->key);
}

/* The one cleanup of a session, on every path. */
static void
sess_free(struct dd_session *s)
{
	sess_data_close(s);
	if (s->pers != NULL && s->pers->close != NULL)
		s->pers->close(s);
	rec_close(s);
	if (s->fd != -1)
		close(s->fd);            /* also leaves the epoll set */
	heap_remove(s);
	dd_table[s->slot] = NULL;
	dd_freeslots[dd_nfree++] = s->slot;
	dd_open--;
	src_release(s->src);
	daemon_conf_put(s->conf);
	free(s->outq);
	free(s);
}

/* Writes what is queued; 0, or -1 when the peer is gone. */
static int
sess_flush(struct dd_session *s)
{
	ssize_t n;

	while (s->outq_len > 0) {
		n = send(s->fd, s->outq, s->outq_len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		memmove(s->outq, s->outq + n, s->outq_len - n);
		s->outq_len -= n;
		s->bytes_out += n;
	}
	return 0;
}

void
sess_send(struct dd_session *s, const void *buf, size_t len, int record)
{
	uint8_t *q;

	if (len == 0 || s->fd == -1)
		return;
	if (record)
		rec_output(s, buf, len);
	if (s->outq_len + len > DD_OUTQ_MAX) {
		sess_end(s, "output not read");
		s->outq_len = 0;        /* nothing more goes to this client */
		return;
	}
	if ((q = realloc(s->outq, s->outq_len + len)) == NULL) {
		sess_end(s, "out of memory");
		return;
	}
	s->outq = q;
	memcpy(s->outq + s->outq_len, buf, len);
	s->outq_len += len;
}

void
sess_sendstr(struct dd_session *s, const char *str)
{
	sess_send(s, str, strlen(str), 1);
}

void
sess_end(struct dd_session *s, const char *why)
{
	if (!s->ending) {
		s->ending = 1;
		s->end_reason = why;
		/* The last output gets DD_LINGER_MS to leave, then the
		 * session is freed whatever the client does. */
		s->pers_deadline = dd_now_ms() + DD_LINGER_MS;
		sess_rearm(s);
	}
}

/* ---------------------------------------------------------- data channels */

static void
data_release(struct dd_data *d)
{
	if (d->lfd != -1)
		close(d->lfd);          /* also leaves the epoll set */
	if (d->fd != -1)
		close(d->fd);
	free(d->buf);
	d->s->data = NULL;
	memset(d, 0, sizeof(*d));
}

void
sess_data_close(struct dd_session *s)
{
	if (s->data != NULL)
		data_release(s->data);
}

/* The transfer is over (ok) or failed: close, tell the personality, and
 * let the session's answer out.  Never frees the session: an event of its
 * own may still be pending in this round (dd_settle or the timers do). */
static void
data_end(struct dd_data *d, int ok)
{
	struct dd_session *s = d->s;
	sess_data_fn *done = d->queued ? d->done : NULL;

	data_release(d);
	if (done != NULL)
		done(s, ok);
	if (s->outq_len > 0)
		sess_arm(s, 0, 1);
	sess_rearm(s);
}

static void
data_arm(struct dd_data *d, int out)
{
	struct epoll_event ev = { .events = out ? EPOLLOUT : 0 };

	ev.data.ptr = d;
	if (epoll_ctl(dd_ep, EPOLL_CTL_MOD, d->fd, &ev) == -1)
		log_warn("epoll_ctl data %s", d->s->key);
}

int
sess_data_listen(struct dd_session *s, char *addr, size_t cap)
{
	struct sockaddr_storage ss;
	struct epoll_event ev = { .events = EPOLLIN };
	struct dd_data *d = NULL;
	socklen_t sl = sizeof(ss);
	char serv[16];
	size_t i;
	int fd = -1;

	sess_data_close(s);
	for (i = 0; i < DD_DATA_MAX && d == NULL; i++)
		if (dd_datas[i].s == NULL)
			d = &dd_datas[i];
	if (d == NULL || getsockname(s->fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	else
		return -1;
	ev.data.ptr = d;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, sl) == -1 || listen(fd, 1) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sl, addr, cap, serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0 ||
	    epoll_ctl(dd_ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_warn("%s: data channel", s->key);
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (strncmp(addr, "::ffff:", 7) == 0)
		memmove(addr, addr + 7, strlen(addr + 7) + 1);
	d->s = s;
	d->lfd = fd;
	d->fd = -1;
	d->deadline = dd_now_ms() + DD_DATA_MS;
	s->data = d;
	sess_rearm(s);
	return atoi(serv);
}

int
sess_data_send(struct dd_session *s, const void *buf, size_t len, int record,
    sess_data_fn *done)
{
	struct dd_data *d = s->data;

	if (d == NULL || d->queued || len > DD_OUTQ_MAX)
		return -1;
	if (len > 0 && (d->buf = malloc(len)) == NULL)
		return -1;
	if (len > 0)
		memcpy(d->buf, buf, len);
	if (record)
		rec_output(s, buf, len);
	d->len = len;
	d->queued = 1;
	d->done = done;
	if (d->fd != -1)
		data_arm(d, 1);         /* sent from the loop, never from here */
	return 0;
}

/* Writes what is queued; ends the channel when all went out or the client
 * is gone. */
static void
data_push(struct dd_data *d)
{
	ssize_t n;

	while (d->off < d->len) {
		n = send(d->fd, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			data_arm(d, 1);
			return;
		}
		if (n <= 0) {
			data_end(d, 0);
			return;
		}
		d->off += n;
		d->s->bytes_out += n;
	}
	data_end(d, 1);
}

static void
dd_data_event(struct dd_data *d, uint32_t events)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64];
	int fd;

	if (d->s == NULL)               /* freed earlier in this round */
		return;
	if (d->lfd != -1) {
		fd = accept4(d->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		/* From the client's own address only (vsftpd's default,
		 * pasv_promiscuous=NO): anyone else is closed at once. */
		if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), NULL, 0,
		    NI_NUMERICHOST) != 0)
			snprintf(host, sizeof(host), "?");
		if (strncmp(host, "::ffff:", 7) == 0)
			memmove(host, host + 7, strlen(host + 7) + 1);
		if (strcmp(host, d->s->src) != 0) {
			close(fd);
			return;
		}
		close(d->lfd);
		d->lfd = -1;
		d->fd = fd;
		{
			struct epoll_event ev = { .events = 0 };

			ev.data.ptr = d;
			if (epoll_ctl(dd_ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
				log_warn("epoll_ctl data %s", d->s->key);
				data_end(d, 0);
				return;
			}
		}
		if (!d->queued)
			return;         /* LIST comes next; the connection waits */
	} else if (!d->queued && (events & (EPOLLHUP | EPOLLERR))) {
		data_end(d, 0);         /* reset before any transfer: reported at once, again and again */
		return;
	}
	if (d->fd != -1 && d->queued)
		data_push(d);
}

static void
dd_accept(struct dd_listener *l)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct dd_session *s;
	struct dd_conf *c;
	struct epoll_event ev;
	char host[64], serv[16];
	struct tm tm;
	time_t now;
	int fd;

	for (;;) {
		sl = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && dd_spare != -1) {
				/* Out of descriptors: take the connection with the
				 * spare one and close it, or the listener would
				 * stay readable and the loop spin. */
				close(dd_spare);
				fd = accept(l->fd, NULL, NULL);
				if (fd != -1)
					close(fd);
				dd_spare = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (fd == -1)   /* Linux says EMFILE on an empty queue too */
					return;
				if (dd_refused_global++ % 1000 == 0)
					log_warnx("out of file descriptors: connection closed "
					    "at accept (%llu so far)",
					    (unsigned long long)dd_refused_global);
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept on port %u", l->port);
			return;
		}
		if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv,
		    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			snprintf(host, sizeof(host), "?"), snprintf(serv, sizeof(serv), "0");
		if (strncmp(host, "::ffff:", 7) == 0)
			memmove(host, host + 7, strlen(host + 7) + 1);
		c = daemon_conf_get();
		if (dd_nfree == 0) {
			if (dd_refused_global++ % 1000 == 0)
				log_warnx("%s: over max_sessions (%zu): closed at accept "
				    "(%llu so far)", host, dd_cap,
				    (unsigned long long)dd_refused_global);
			daemon_conf_put(c);
			close(fd);
			continue;
		}
		if (src_take(host, c->d.per_source) == -1) {
			if (dd_refused_source++ % 1000 == 0)
				log_warnx("%s: over per_source (%lld): closed at accept "
				    "(%llu so far)", host, c->d.per_source,
				    (unsigned long long)dd_refused_source);
			daemon_conf_put(c);
			close(fd);
			continue;
		}
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			src_release(host);
			daemon_conf_put(c);
			close(fd);
			continue;
		}
		s->fd = fd;
		s->conf = c;
		s->pers = l->pers;
		s->port = l->port;
		s->src_port = atoi(serv);
		snprintf(s->src, sizeof(s->src), "%s", host);
		ident_pick(s, l->specific ? (const struct sockaddr *)&l->sa : NULL);
		clock_gettime(CLOCK_MONOTONIC, &s->start);
		s->last_input = dd_now_ms();
		now = time(NULL);
		s->started = now;
		gmtime_r(&now, &tm);
		snprintf(s->key, sizeof(s->key), "%04d%02d%02dT%02d%02d%02d-%d-%llu",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, (int)dd_pid, (unsigned long long)++dd_counter);
		s->slot = dd_freeslots[--dd_nfree];
		dd_table[s->slot] = s;
		dd_open++;
		s->heap_at = dd_heap_len;
		dd_heap[dd_heap_len++] = s;
		sess_rearm(s);
		ev.events = EPOLLIN;
		ev.data.ptr = s;
		s->reading = 1;
		if (epoll_ctl(dd_ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			log_warn("epoll_ctl add");
			sess_free(s);
			continue;
		}
		rec_open(s, dd_recdir);
		if (s->pers->open(s) == -1)
			sess_end(s, "personality refused");
		if (sess_flush(s) == -1 || (s->ending && s->outq_len == 0)) {
			sess_free(s);
			continue;
		}
		if (s->outq_len > 0)
			sess_arm(s, 0, 1);
	}
}

static void
dd_readable(struct dd_session *s)
{
	uint8_t buf[DD_READ_CHUNK];
	ssize_t n;
	int rounds;

	/* A few reads per wake-up so one busy client cannot starve the rest. */
	for (rounds = 0; rounds < 4 && !s->ending && s->outq_len == 0; rounds++) {
		n = recv(s->fd, buf, sizeof(buf), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			sess_end(s, n == 0 ? "client closed" : "read error");
			s->outq_len = 0;
			break;
		}
		if (s->bytes_in + n > (uint64_t)s->conf->d.max_bytes) {
			n = s->conf->d.max_bytes - s->bytes_in;
			rec_input(s, buf, n);
			s->bytes_in += n;
			sess_end(s, "max_bytes");
			break;
		}
		s->bytes_in += n;
		s->last_input = dd_now_ms();
		rec_input(s, buf, n);
		s->pers->input(s, buf, n);
		sess_rearm(s);
	}
}

/* After any event: flush, then read again or close. */
static void
dd_settle(struct dd_session *s)
{
	if (sess_flush(s) == -1) {
		if (!s->ending)
			sess_end(s, "write error");
		sess_free(s);
		return;
	}
	if (s->ending && s->outq_len == 0) {
		sess_free(s);
		return;
	}
	/* Backpressure: unsent output, stop reading until it drains. */
	if (s->outq_len > 0)
		sess_arm(s, 0, 1);
	else if (!s->reading && !s->ending)
		sess_arm(s, 1, 0);
}

static void
dd_timers(void)
{
	struct dd_session *s;
	int64_t now = dd_now_ms(), start;

	while (dd_heap_len > 0 && (s = dd_heap[0])->deadline <= now) {
		start = (int64_t)s->start.tv_sec * 1000 + s->start.tv_nsec / 1000000;
		if (s->ending) {                /* could not flush in time */
			sess_free(s);
			continue;
		}
		if (s->data != NULL && s->data->deadline <= now) {
			data_end(s->data, 0);   /* its life is over */
			dd_settle(s);
			continue;
		}
		if (s->pers_deadline != 0 && s->pers_deadline <= now) {
			s->pers_deadline = 0;
			if (s->pers->timer != NULL)
				s->pers->timer(s);
		} else if (start + s->conf->d.duration * 1000 <= now) {
			sess_end(s, "duration");
		} else {
			sess_end(s, "idle");
		}
		if (s->ending) {
			/* Ended by a timer: flush what we can and close. */
			sess_flush(s);
			if (s->outq_len == 0)
				sess_free(s);
			continue;
		}
		sess_rearm(s);
		dd_settle(s);
	}
}

/* ---------------------------------------------------------- life */

/* Every personality this build serves; decoyd_conf.c names the same. */
static const struct dd_personality *const dd_personalities[] = {
	&dd_telnet, &dd_ftp, &dd_http, &dd_smtp, &dd_subseven, &dd_netbus, NULL
};

static const struct dd_personality *
dd_personality(const char *name)
{
	size_t i;

	for (i = 0; dd_personalities[i] != NULL; i++)
		if (strcmp(name, dd_personalities[i]->name) == 0)
			return dd_personalities[i];
	return NULL;
}

/*
 * A session holds one descriptor, its socket (a recording is opened only
 * to write it, decoyd_record.c): as root, raise the open files limit to fit
 * max_sessions and the FTP data channels, or as far as the hard limit
 * allows, and note how many fit.
 */
static void
dd_fd_limit(long long max_sessions)
{
	struct rlimit rl, up;
	rlim_t want = (rlim_t)max_sessions + DD_FD_RESERVE + DD_DATA_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < want) {
		up.rlim_cur = want;
		up.rlim_max = rl.rlim_max < want ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &up) == -1) {
			/* No CAP_SYS_RESOURCE (a container): up to the hard limit. */
			up.rlim_cur = rl.rlim_max;
			up.rlim_max = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &up) == -1)
				log_warn("open files limit %llu", (unsigned long long)want);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		dd_fd_cap = rl.rlim_cur > 2 * DD_FD_RESERVE + DD_DATA_MAX ?
		    rl.rlim_cur - DD_FD_RESERVE - DD_DATA_MAX : 1;
}

/* 0.0.0.0 or ::, where each session's own end must be asked for. */
static int
dd_wildcard(const struct sockaddr *sa)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &any6, sizeof(any6)) == 0;
}

int
dd_loop_bind(const struct dd_conf *c)
{
	char *words, *w, *save = NULL, pers[64], addr[64], port[16];
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
	    .ai_socktype = SOCK_STREAM }, *ai;
	unsigned p;
	int fd, one = 1, rc = 0;

	if ((dd_recdir = open(c->d.record_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("cannot open record_dir %s", c->d.record_dir);
		return -1;
	}
	dd_fd_limit(c->d.max_sessions);
	if ((words = strdup(c->d.listen)) == NULL)
		return -1;
	for (w = strtok_r(words, " ,\t", &save); w != NULL && rc == 0;
	    w = strtok_r(NULL, " ,\t", &save)) {
		if (decoyd_conf_word(w, pers, addr, &p) == -1 || dd_nlis == DD_MAXLISTEN) {
			log_warnx("listen: bad word %s", w);
			rc = -1;
			break;
		}
		snprintf(port, sizeof(port), "%u", p);
		if (getaddrinfo(addr, port, &hints, &ai) != 0) {
			log_warnx("listen: bad address %s", addr);
			rc = -1;
			break;
		}
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 || listen(fd, 1024) == -1) {
			log_warn("listen %s", w);
			if (fd != -1)
				close(fd);
			rc = -1;
		} else {
			dd_lis[dd_nlis].fd = fd;
			dd_lis[dd_nlis].port = p;
			memcpy(&dd_lis[dd_nlis].sa, ai->ai_addr, ai->ai_addrlen);
			dd_lis[dd_nlis].specific = !dd_wildcard(ai->ai_addr);
			dd_lis[dd_nlis++].pers = dd_personality(pers);
			log_info("%s decoy on %s port %u", pers, addr, p);
		}
		freeaddrinfo(ai);
	}
	free(words);
	return rc;
}

int
dd_loop_run(void)
{
	struct epoll_event evs[256], ev;
	struct dd_conf *c = daemon_conf_get();
	int64_t next_flush = dd_now_ms() + DD_FLUSH_MS, now, wait;
	size_t i;
	int n, k;

	dd_pid = getpid();              /* the session keys' (after any fork) */
	dd_cap = c->d.max_sessions;
	daemon_conf_put(c);
	if (dd_fd_cap > 0 && dd_cap > dd_fd_cap) {
		log_warnx("decoyd.max_sessions is over what the open files limit "
		    "allows: %zu sessions at most", dd_fd_cap);
		dd_cap = dd_fd_cap;
	}
	/* The spare descriptor: "/" is there even inside the chroot. */
	dd_spare = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dd_table = calloc(dd_cap, sizeof(*dd_table));
	dd_heap = calloc(dd_cap, sizeof(*dd_heap));
	dd_freeslots = calloc(dd_cap, sizeof(*dd_freeslots));
	if (dd_table == NULL || dd_heap == NULL || dd_freeslots == NULL ||
	    (dd_ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("session table of %zu", dd_cap);
		return -1;
	}
	for (i = 0; i < dd_cap; i++)
		dd_freeslots[i] = dd_cap - 1 - i;
	dd_nfree = dd_cap;
	for (i = 0; i < dd_nlis; i++) {
		ev.events = EPOLLIN;
		ev.data.ptr = &dd_lis[i];
		if (epoll_ctl(dd_ep, EPOLL_CTL_ADD, dd_lis[i].fd, &ev) == -1) {
			log_warn("epoll_ctl listener");
			return -1;
		}
	}
	while (!daemon_stop_requested) {
		if (daemon_reload_requested) {
			daemon_reload_requested = 0;
			daemon_reload();
		}
		now = dd_now_ms();
		wait = next_flush - now;
		if (dd_heap_len > 0 && dd_heap[0]->deadline - now < wait)
			wait = dd_heap[0]->deadline - now;
		if (wait < 0)
			wait = 0;
		n = epoll_wait(dd_ep, evs, 256, (int)wait);
		if (n == -1 && errno != EINTR) {
			log_warn("epoll_wait");
			return -1;
		}
		for (k = 0; k < n; k++) {
			if (evs[k].data.ptr >= (void *)&dd_lis[0] &&
			    evs[k].data.ptr < (void *)&dd_lis[DD_MAXLISTEN]) {
				dd_accept(evs[k].data.ptr);
				continue;
			}
			if (evs[k].data.ptr >= (void *)&dd_datas[0] &&
			    evs[k].data.ptr < (void *)&dd_datas[DD_DATA_MAX]) {
				dd_data_event(evs[k].data.ptr, evs[k].events);
				continue;
			}
			struct dd_session *s = evs[k].data.ptr;
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				dd_readable(s);
			dd_settle(s);
		}
		dd_timers();
		relay_flush();          /* this round's events and rows to the keeper */
		if (dd_now_ms() >= next_flush) {
			rec_flush_all();
			next_flush = dd_now_ms() + DD_FLUSH_MS;
		}
	}
	return 0;
}

/* Frees every session (recorded as "stopped") and the listeners. */
void
dd_loop_stop(void)
{
	size_t i;

	for (i = 0; dd_table != NULL && i < dd_cap; i++)
		if (dd_table[i] != NULL) {
			sess_end(dd_table[i], "daemon stopped");
			sess_flush(dd_table[i]);
			sess_free(dd_table[i]);
		}
	for (i = 0; i < dd_nlis; i++)
		close(dd_lis[i].fd);
	dd_nlis = 0;
	if (dd_ep != -1)
		close(dd_ep);
	if (dd_recdir != -1)
		close(dd_recdir);
	if (dd_spare != -1)
		close(dd_spare);
	dd_spare = -1;
	dd_ep = dd_recdir = -1;
	free(dd_table);
	free(dd_heap);
	free(dd_freeslots);
	dd_table = dd_heap = NULL;
	dd_freeslots = NULL;
	if (dd_refused_global + dd_refused_source > 0)
		log_info("closed at accept: %llu over max_sessions, %llu over per_source",
		    (unsigned long long)dd_refused_global, (unsigned long long)dd_refused_source);
}

/* Iteration for the recorder's periodic flush. */
struct dd_session *
dd_loop_session(size_t i)
{
	return i < dd_cap && dd_table != NULL ? dd_table[i] : NULL;
}

size_t
dd_loop_cap(void)
{
	return dd_cap;
}
