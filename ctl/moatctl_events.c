/*
 * moatctl events tail: the events table (every daemon's security events),
 * last rows first then, with -f, new rows as they are written (by id:
 * polled every half second; the store is read, never locked for long).
 *
 * Trusts: nothing it prints.  Daemons, attackers (decoy transcripts, SMTP
 * commands, headers) and operators with sqlite3 wrote those rows; every
 * byte that could steer a terminal is shown escaped: C0 controls and DEL as
 * \xHH, C1 controls and Unicode bidi/format overrides as \u{HHHH}, bytes
 * that are not UTF-8 as \xHH.  Each field is cut at EVENTS_FIELD_MAX bytes.
 *
 * -f ends cleanly (status 0) on SIGINT or SIGTERM and when the reader of
 * its output goes away (a closed pipe, a hung-up terminal).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "moatctl.h"
#include "units.h"
#include "utf8.h"

#define EVENTS_POLL_MS   500
#define EVENTS_BATCH     "1000"     /* rows per query while following */
#define EVENTS_FIELD_MAX 2048

static const char events_usage[] =
    "usage: moatctl events tail [-f] [--kind KIND|PREFIX.] [--daemon D] [--source ADDR]\n"
    "                           [--subscriber NAME|ID] [--since TIME] [-n N]\n"
    "  TIME: YYYY-MM-DD[THH:MM[:SS]] (UTC) or an age (30m, 2h, 7d); -n: the last N\n"
    "  rows (default 10; all since TIME when --since is given); -f: then follow\n";

/* ?1 after this id; ?2 kind; ?3 kind prefix; ?4 daemon; ?5 source; ?6
 * subscriber id; ?7 since (unix); ?8 the last ?8 rows (-1 all); ?9 batch. */
static const char sql_events[] =
    "SELECT * FROM ("
    " SELECT e.id, e.ts, e.daemon, e.kind, e.severity, e.subscriber_id, s.name, e.src_ip, "
    "  e.detail_json FROM events e LEFT JOIN subscribers s ON s.id = e.subscriber_id "
    " WHERE e.id > CAST(?1 AS INTEGER) "
    "  AND (?2 IS NULL OR e.kind = ?2) "
    "  AND (?3 IS NULL OR substr(e.kind, 1, length(?3)) = ?3) "
    "  AND (?4 IS NULL OR e.daemon = ?4) AND (?5 IS NULL OR e.src_ip = ?5) "
    "  AND (?6 IS NULL OR e.subscriber_id = CAST(?6 AS INTEGER)) "
    "  AND (?7 IS NULL OR e.ts >= CAST(?7 AS INTEGER)) "
    " ORDER BY e.id DESC LIMIT CAST(?8 AS INTEGER)) "
    "ORDER BY id LIMIT CAST(?9 AS INTEGER)";
static const char sql_sub_id[] = "SELECT id FROM subscribers WHERE name = ?1";

static volatile sig_atomic_t events_stop;

static void
events_on_signal(int sig)
{
	(void)sig;
	events_stop = 1;
}

/* Prints s with everything a terminal could act on escaped (see the top). */
static void
events_put_safe(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text), shown = 0, len;
	unsigned c;

	for (size_t i = 0; i < n; i += len) {
		if (shown >= EVENTS_FIELD_MAX) {
			printf("...[+%zu bytes]", n - i);
			return;
		}
		len = 1;
		if (s[i] < 0x20 || s[i] == 0x7f) {
			printf("\\x%02x", s[i]);
		} else if (s[i] < 0x80) {
			putchar(s[i]);
		} else if ((len = utf8_seq(s + i, n - i, &c)) == 0) {
			len = 1;
			printf("\\x%02x", s[i]);
		} else if (utf8_unsafe(c)) {
			printf("\\u{%04x}", c);
		} else {
			fwrite(s + i, 1, len, stdout);
		}
		shown += len;
	}
}

static const char *
events_severity(int sev)
{
	static const char *const names[] = { "info", "notice", "warning", "critical" };

	return sev >= 0 && sev <= 3 ? names[sev] : "?";
}

/* Prints one row; returns its id. */
static long long
events_row(sqlite3_stmt *stmt)
{
	long long id = sqlite3_column_int64(stmt, 0);
	time_t ts = (time_t)sqlite3_column_int64(stmt, 1);
	const char *v;
	char when[32];
	struct tm tm;

	if (gmtime_r(&ts, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(when, sizeof(when), "@%lld", (long long)ts);
	printf("%-6lld  %s  ", id, when);
	events_put_safe((v = (const char *)sqlite3_column_text(stmt, 2)) ? v : "-");
	fputs("  ", stdout);
	events_put_safe((v = (const char *)sqlite3_column_text(stmt, 3)) ? v : "-");
	printf("  %s  ", events_severity(sqlite3_column_int(stmt, 4)));
	if ((v = (const char *)sqlite3_column_text(stmt, 6)) != NULL)
		events_put_safe(v);
	else if (sqlite3_column_type(stmt, 5) != SQLITE_NULL)
		printf("#%lld", sqlite3_column_int64(stmt, 5));
	else
		putchar('-');
	fputs("  ", stdout);
	events_put_safe((v = (const char *)sqlite3_column_text(stmt, 7)) ? v : "-");
	fputs("  ", stdout);
	events_put_safe((v = (const char *)sqlite3_column_text(stmt, 8)) ? v : "-");
	putchar('\n');
	return id;
}

/* --since: a UTC date/time or an age.  Unix time in out; 0, or -1. */
static int
events_since(const char *text, char *out, size_t len)
{
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
	    "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d", NULL };
	long long age;
	struct tm tm;
	const char *end;

	if (parse_duration(text, &age) == 0) {
		if (age < 0)
			return -1;
		snprintf(out, len, "%lld", (long long)time(NULL) - age);
		return 0;
	}
	for (int i = 0; fmts[i] != NULL; i++) {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(text, fmts[i], &tm)) != NULL && *end == '\0') {
			snprintf(out, len, "%lld", (long long)timegm(&tm));
			return 0;
		}
	}
	return -1;
}

/* Runs the query once from after *last, printing rows and moving *last.
 * Returns the rows printed, or -1 (printed). */
static int
events_batch(struct ctl *ctl, const char *const a[9], long long *last)
{
	char after[32];
	const char *args[9];
	sqlite3_stmt *stmt;
	int rc, n = 0;

	memcpy(args, a, sizeof(args));
	snprintf(after, sizeof(after), "%lld", *last);
	args[0] = after;
	if ((stmt = store_prepare(ctl->st, sql_events)) == NULL ||
	    ctl_bind(stmt, 9, args) == -1)
		return ctl_sqlerr(ctl), -1;
	while ((rc = store_step(ctl->st, stmt, "events")) == STORE_STEP_ROW) {
		*last = events_row(stmt);
		n++;
	}
	if (rc != STORE_STEP_DONE)
		return ctl_sqlerr(ctl), -1;
	return n;
}

/* Waits up to EVENTS_POLL_MS; 1 when the output's reader is gone. */
static int
events_wait(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = 0 };

	if (poll(&p, 1, EVENTS_POLL_MS) == 1 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)))
		return 1;
	return 0;
}

/* The value of --source in the form daemons store (inet_ntop). */
static int
events_source(const char *in, char *out, size_t len)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, in, a) == 1)
		return inet_ntop(AF_INET, a, out, (socklen_t)len) ? 0 : -1;
	if (inet_pton(AF_INET6, in, a) == 1)
		return inet_ntop(AF_INET6, a, out, (socklen_t)len) ? 0 : -1;
	return -1;
}

static int events_run(struct ctl *ctl, const char *a[9], int follow);

static int
events_tail(struct ctl *ctl, int argc, char **argv)
{
	const char *kind = NULL, *prefix = NULL, *daemon = NULL, *source = NULL;
	const char *sub = NULL, *since = NULL, *count = NULL;
	char src[64], since_t[32], sub_id[32], limit[32], *pfx = NULL;
	long long v = 0;
	int follow = 0, n, status;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-f") == 0)
			follow = 1;
		else if (strcmp(a, "--kind") == 0 && next != NULL)
			kind = argv[++i];
		else if (strcmp(a, "--daemon") == 0 && next != NULL)
			daemon = argv[++i];
		else if (strcmp(a, "--source") == 0 && next != NULL)
			source = argv[++i];
		else if (strcmp(a, "--subscriber") == 0 && next != NULL)
			sub = argv[++i];
		else if (strcmp(a, "--since") == 0 && next != NULL)
			since = argv[++i];
		else if (strcmp(a, "-n") == 0 && next != NULL)
			count = argv[++i];
		else
			return ctl_usage(events_usage);
	}
	/* "decoy." or "decoy.*": every kind under decoy. */
	if (kind != NULL && (n = (int)strlen(kind)) > 0 && (kind[n - 1] == '.' ||
	    (n > 1 && kind[n - 1] == '*' && kind[n - 2] == '.'))) {
		if ((pfx = strndup(kind, kind[n - 1] == '*' ? (size_t)n - 1 : (size_t)n)) == NULL)
			return ctl_err("out of memory");
		prefix = pfx;
		kind = NULL;
	}
	if (source != NULL && events_source(source, src, sizeof(src)) == -1) {
		free(pfx);
		return ctl_err("--source '%s' is not an IPv4 or IPv6 address", source);
	}
	if (since != NULL && events_since(since, since_t, sizeof(since_t)) == -1) {
		free(pfx);
		return ctl_err("bad --since '%s' (YYYY-MM-DD[THH:MM[:SS]] UTC, or an age "
		    "like 30m, 2h, 7d)", since);
	}
	if (count != NULL && (parse_int(count, &v) == -1 || v < 0)) {
		free(pfx);
		return ctl_err("bad -n '%s' (a count, 0 or more)", count);
	}
	snprintf(limit, sizeof(limit), "%lld", count != NULL ? v : since != NULL ? -1LL : 10LL);
	if (sub != NULL) {
		if (strspn(sub, "0123456789") == strlen(sub) && ctl_parse_id(sub, &v) == 0)
			snprintf(sub_id, sizeof(sub_id), "%lld", v);
		else if (ctl_need(ctl, sql_sub_id, "subscriber", sub, &v) != 0) {
			free(pfx);
			return 1;
		} else
			snprintf(sub_id, sizeof(sub_id), "%lld", v);
	}
	const char *a[9] = { NULL, kind, prefix, daemon, source != NULL ? src : NULL,
	    sub != NULL ? sub_id : NULL, since != NULL ? since_t : NULL, limit, "-1" };
	status = events_run(ctl, a, follow);
	free(pfx);
	return status;
}

/* Flushes stdout.  0, 1 when the reader is gone (stdout is then
 * /dev/null, so nothing later fails on the lost bytes), or -1 (printed). */
static int
events_flush(void)
{
	if (fflush(stdout) != EOF)
		return 0;
	if (errno != EPIPE)
		return ctl_err("stdout: %s", strerror(errno)), -1;
	if (freopen("/dev/null", "w", stdout) == NULL)
		_exit(0);
	return 1;
}

/* The last rows, then (follow) new ones until a signal or the reader goes. */
static int
events_run(struct ctl *ctl, const char *a[9], int follow)
{
	struct sigaction sa = { .sa_handler = events_on_signal };  /* no SA_RESTART */
	long long start = 0, last = 0;
	int n, f;

	/* Following starts after the newest row of the table, whatever the
	 * filters: -n 0 shows only rows written from now on. */
	if (follow && ctl_query_int(ctl, "SELECT coalesce(max(id), 0) FROM events", 0, NULL,
	    &start) == -1)
		return 1;
	/* The reader of a pipe may leave at any time: a write then fails with
	 * EPIPE instead of killing us; SIGINT/SIGTERM interrupt the wait. */
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((n = events_batch(ctl, a, &last)) < 0)
		return 1;
	if ((f = events_flush()) != 0)
		return f < 0 ? 1 : 0;
	if (last < start)
		last = start;
	a[7] = "-1";
	a[8] = EVENTS_BATCH;
	while (follow && !events_stop && !events_wait()) {
		do {
			if ((n = events_batch(ctl, a, &last)) < 0)
				return 1;
			if ((f = events_flush()) != 0)
				return f < 0 ? 1 : 0;
		} while (n > 0 && !events_stop);
	}
	return 0;
}

int
moatctl_events(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 1 || strcmp(argv[0], "tail") != 0)
		return ctl_usage(events_usage);
	return events_tail(ctl, argc - 1, argv + 1);
}
