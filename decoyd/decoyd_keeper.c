/*
 * decoyd_keeper - the keeper process (see decoyd_keeper.h): forked as root
 * by the loop process in the bind hook; drops to common.user itself (no
 * chroot: it needs the store and the SMTP server), installs its own seccomp
 * list (no exec), and then owns the events writer, the decoy_sessions
 * writer and the alerts (decoyd_alert.c, mailed by decoyd_alertmail.c).
 *
 * It reads the channel until end of file (the loop process is gone, or
 * shut its end at stop) or TERM, then writes what it holds: summaries of
 * open windows get one last attempt, rows and events are written, and it
 * exits.  It trusts no record: relay_parse() checks the shape,
 * event kinds must be decoyd's own (decoy.*, not decoy.alert, which only
 * the keeper writes) and detail must be a JSON object.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "decoyd_keeper.h"
#include "events.h"
#include "log.h"

#define KEEPER_SOURCES 4096         /* sources with an open alert window */
#define KEEPER_LAST_MAIL 4          /* seconds for the last alerts at stop */

/*
 * After the drop, beside the frame's base list: SQLite (the events and
 * decoy_sessions writers, WAL), their threads and the mailer's, libcurl
 * SMTP to alert_url (socket and connect are in the base list).  No execve,
 * no fork.
 */
const char *const keeper_seccomp[] = {
	"recvfrom", "recvmsg", "sendmsg", "shutdown", "fcntl", "pread64", "pwrite64",
	"fsync", "fdatasync", "ftruncate", "fchown", "fchmod", "access", "faccessat",
	"stat", "lstat", "statx", "readlink", "getcwd", "geteuid", "getuid", "getppid",
	"mremap", "clone", "clone3", "set_robust_list", "rseq", "sched_yield", "uname",
	"getsockopt", "setsockopt", "getsockname", "getpeername", "pipe2", "socketpair",
	"eventfd2", "ioctl", "sysinfo", "fstatfs", "statfs", "sched_getaffinity",
	"prlimit64", "getrlimit", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
	"bind", "mkdir", "rename", "fallocate",
	NULL
};

#ifdef __SANITIZE_ADDRESS__
#define KEEPER_FILTER 0             /* as the loop: LeakSanitizer hangs under it */
#else
#define KEEPER_FILTER 1
#endif

static struct alert_book *keeper_book;

/* An event the loop asked for: decoyd's own kinds, a JSON object. */
static void
keeper_event(const struct relay_rec *r)
{
	json_t *j;
	int ok;

	if (!event_kind_known(r->f[0]) || strncmp(r->f[0], "decoy.", 6) != 0 ||
	    strcmp(r->f[0], EV_DECOY_ALERT) == 0) {
		log_warnx("keeper: event of unknown kind refused");
		return;
	}
	j = json_loads(r->f[2], JSON_REJECT_DUPLICATES, NULL);
	ok = j != NULL && json_is_object(j);
	json_decref(j);
	if (!ok) {
		log_warnx("keeper: %s event with no JSON object refused", r->f[0]);
		return;
	}
	event_emit(r->f[0], r->h.num[0] >= SEV_INFO && r->h.num[0] <= SEV_CRITICAL ?
	    (enum event_severity)r->h.num[0] : SEV_WARNING,
	    r->h.num[1] > 0 ? r->h.num[1] : 0, r->h.num[2] ? r->f[1] : NULL, r->f[2]);
}

static void
keeper_fact(const struct relay_rec *r, long long window)
{
	struct alert_fact f = { 0 };

	if (keeper_book == NULL)
		return;
	if (r->h.num[0] < ALERT_LOGIN || r->h.num[0] > ALERT_DOWNLOAD) {
		log_warnx("keeper: fact of unknown kind refused");
		return;
	}
	f.kind = (enum alert_kind)r->h.num[0];
	f.port = r->h.num[1] > 0 && r->h.num[1] < 65536 ? (unsigned)r->h.num[1] : 0;
	f.src = r->f[0];
	f.personality = r->f[1];
	f.key = r->f[2];
	f.a = r->f[3];
	f.b = r->f[4];
	alertmail_put(alert_note(keeper_book, &f, time(NULL), window));
}

static void
keeper_dispatch(const struct relay_rec *rr, long long window)
{
	const struct relay_rec r = *rr;

	switch (r.h.type) {
	case RELAY_EVENT:
		keeper_event(&r);
		break;
	case RELAY_ROW:
		rows_put(r.h.num[0], r.h.num[1], r.f[0],
		    r.h.num[2] > 0 && r.h.num[2] < 65536 ? (unsigned)r.h.num[2] : 0,
		    r.f[1], r.h.num[3] ? r.f[2] : NULL, r.f[3]);
		break;
	case RELAY_FACT:
		keeper_fact(&r, window);
		break;
	}
}

/* The records of one message, in order. */
static void
keeper_records(const char *msg, size_t n, char *scratch, long long window)
{
	struct relay_rec r;
	ssize_t k;

	for (size_t off = 0; off < n; off += (size_t)k) {
		if ((k = relay_parse(msg + off, n - off, scratch, &r)) <= 0) {
			log_warnx("keeper: malformed record refused (%zu bytes of the "
			    "message dropped)", n - off);
			return;
		}
		keeper_dispatch(&r, window);
	}
}

/* Reads messages until end of file or TERM. */
static void
keeper_serve(int fd, long long window)
{
	static char msg[RELAY_BATCH + 1], scratch[RELAY_MAX + RELAY_FIELDS];
	struct alert_mail *m;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	time_t now, next;
	ssize_t n;
	int timeout;

	while (!daemon_stop_requested) {
		if (daemon_reload_requested) {
			struct dd_conf *c;

			daemon_reload_requested = 0;
			if (daemon_reload() == 0 && (c = daemon_conf_get()) != NULL) {
				window = c->d.alert_window;
				daemon_conf_put(c);
			}
		}
		now = time(NULL);
		while (keeper_book != NULL && (m = alert_due(keeper_book, now, window, 0)) != NULL)
			alertmail_put(m);
		next = keeper_book != NULL ? alert_next(keeper_book) : 0;
		timeout = next == 0 || next - now > 1 ? 1000 : next > now ? 1000 * (int)(next - now) : 0;
		if (poll(&p, 1, timeout) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("keeper: poll");
			return;
		}
		if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
			continue;
		for (;;) {
			n = recv(fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_TRUNC);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0)
				return;         /* the loop process is gone or stopping */
			if ((size_t)n > RELAY_BATCH) {
				log_warnx("keeper: message of %zd bytes refused", n);
				continue;
			}
			keeper_records(msg, (size_t)n, scratch, window);
		}
	}
}

void
keeper_main(struct dd_conf *c, int fd)
{
	char err[1024];
	struct alert_mail *m;
	int null, rc = 1;

	/* Out of the loop's session and process group: a terminal's ^C or
	 * the loop's signals are the loop's; the keeper ends at end of file. */
	(void)setsid();
	(void)prctl(PR_SET_NAME, "decoyd-keeper", 0, 0, 0);
	if ((null = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1) {
		dup2(null, 0);
		close(null);
	}
	if (daemon_drop(c->common.user, NULL) == -1)
		goto out;
	if (KEEPER_FILTER && daemon_seccomp(keeper_seccomp, 0) == -1)
		goto out;
	if (events_start(c->common.store, "decoyd", err, sizeof(err)) == -1) {
		log_warnx("keeper: %s", err);
		goto out;
	}
	if (rows_start(c->common.store, err, sizeof(err)) == -1) {
		log_warnx("keeper: decoy_sessions: %s", err);
		events_stop();
		goto out;
	}
	if (c->d.alert_to[0] != '\0') {
		if ((keeper_book = alert_new(c->d.alert_from, c->d.alert_to,
		    KEEPER_SOURCES)) == NULL || alertmail_start(c->d.alert_url,
		    c->d.alert_from, c->d.alert_to, (size_t)c->d.alert_queue) == -1) {
			alert_free(keeper_book);
			keeper_book = NULL;
			log_warnx("keeper: alerts off (no memory or no mailer)");
		} else {
			log_info("keeper: alerts to <%s> through %s, one per source per %lld s",
			    c->d.alert_to, c->d.alert_url, c->d.alert_window);
		}
	}
	keeper_serve(fd, c->d.alert_window);
	if (keeper_book != NULL) {
		while ((m = alert_due(keeper_book, time(NULL), c->d.alert_window, 1)) != NULL)
			alertmail_put(m);
		alertmail_stop(KEEPER_LAST_MAIL);
		if (alert_dropped(keeper_book) > 0)
			log_warnx("keeper: %llu fact(s) of sources over %d not alerted",
			    (unsigned long long)alert_dropped(keeper_book), KEEPER_SOURCES);
		alert_free(keeper_book);
	}
	rows_stop();
	events_stop();
	rc = 0;
out:
	close(fd);
	_exit(rc);
}
