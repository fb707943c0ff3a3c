/*
 * decoyd_record - every session as an asciicast v2 file, JSON events, and a
 * decoy_sessions row.
 *
 * The file: a header line {"version": 2, "width": 80, "height": 24,
 * "timestamp": T, "title": ...}, then one event per line, [seconds, type,
 * text]: "o" what the client's terminal shows (our output), "i" every byte
 * the client sent (telnet commands included), "n" protocol bytes we sent
 * that no terminal shows (telnet negotiation; asciinema's player plays only
 * "o" and skips the rest).
 *
 * Bytes into JSON text, losslessly: a well-formed UTF-8 sequence is kept as
 * it is; '"', '\\' and the C0 controls and DEL are escaped (\n, \r, \t,
 * \b, \f or \u00XX, which is that very byte again); every other byte B (a
 * byte that starts no well-formed sequence) becomes the lone surrogate
 * \uDCBB, as Python's "surrogateescape" does (PEP 383), so
 *     json.loads(text).encode("utf-8", "surrogateescape")
 * gives the original bytes back.  Our "o" output is valid UTF-8 by
 * construction (echo of printable ASCII, sess_sendtext), so "o" holds no
 * surrogate and the player prints it; "i" and "n" may.
 *
 * Writes are batched: each session's events gather in a buffer written when
 * it passes REC_BUF, once a second (rec_flush_all from the loop), and at the
 * end.  The file is opened for each write and closed after it (created by
 * the first), so a session holds one descriptor, its socket: ten thousand
 * idle sessions fit in an open-files limit of twenty thousand, and a short
 * session costs one open all the same.  The time spent in write() is
 * measured and logged at stop.  Events, the decoy_sessions row and the
 * facts for alerts go to the keeper process (decoyd_relay.c, never
 * waiting): this process holds no store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "decoyd.h"
#include "decoyd_keeper.h"
#include "events.h"
#include "log.h"
#include "utf8.h"

#define REC_BUF       16384
#define REC_BUF_START 512           /* an idle session's recording costs little */
#define REC_CHUNK     1024          /* raw bytes per event line */

struct dd_rec {
	int      failed;        /* the file could not be made or written */
	int      made;          /* the file exists: later writes append */
	char     name[64];      /* KEY.cast in rec_dirfd */
	char    *buf;           /* grows from REC_BUF_START to REC_BUF */
	size_t   len, cap;
};

static int rec_dirfd = -1;            /* the record directory (the loop's) */
static uint64_t rec_write_ns, rec_write_max_ns, rec_writes;

/* ---------------------------------------------------------- JSON bytes */

size_t
rec_json_bytes(char *out, size_t cap, const uint8_t *buf, size_t len)
{
	size_t i = 0, o = 0, n;
	uint8_t c;

	static const char hex[] = "0123456789abcdef";

	while (i < len) {
		if (o + 8 >= cap)
			break;
		c = buf[i];
		/* Printable ASCII is most of what is recorded: copied at once. */
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			out[o++] = (char)c, i++;
		} else if (c == '"' || c == '\\') {
			out[o++] = '\\', out[o++] = c, i++;
		} else if (c == '\n') {
			out[o++] = '\\', out[o++] = 'n', i++;
		} else if (c == '\r') {
			out[o++] = '\\', out[o++] = 'r', i++;
		} else if (c == '\t') {
			out[o++] = '\\', out[o++] = 't', i++;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[c >> 4], out[o + 5] = hex[c & 15];
			o += 6, i++;
		} else if ((n = utf8_seq(buf + i, len - i, NULL)) != 0) {
			memcpy(out + o, buf + i, n), o += n, i += n;
		} else {
			memcpy(out + o, "\\udc", 4);
			out[o + 4] = hex[c >> 4], out[o + 5] = hex[c & 15];
			o += 6, i++;
		}
	}
	out[o] = '\0';
	return o;
}

void
sess_sendtext(struct dd_session *s, const char *buf, size_t len)
{
	char tmp[1024];
	size_t i = 0, o = 0, n;

	while (i < len) {
		n = utf8_seq((const uint8_t *)buf + i, len - i, NULL);
		if (o + 4 > sizeof(tmp)) {
			sess_send(s, tmp, o, 1);
			o = 0;
		}
		if (n == 0)
			tmp[o++] = '?', i++;
		else
			memcpy(tmp + o, buf + i, n), o += n, i += n;
	}
	sess_send(s, tmp, o, 1);
}

/* ---------------------------------------------------------- the file */

static void
rec_write_direct(struct dd_rec *r, const char *buf, size_t len)
{
	struct timespec a, b;
	uint64_t ns;
	size_t off = 0;
	ssize_t n;

	int fd;

	if (r->failed || len == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	fd = openat(rec_dirfd, r->name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC |
	    (r->made ? 0 : O_CREAT | O_EXCL), 0640);
	if (fd == -1) {
		log_warn("cannot %s the recording %s", r->made ? "open" : "create", r->name);
		r->failed = 1;
		return;
	}
	r->made = 1;
	while (off < len) {
		n = write(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("recording write %s", r->name);
			r->failed = 1;
			break;
		}
		off += n;
	}
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u + b.tv_nsec - a.tv_nsec;
	rec_write_ns += ns;
	rec_writes++;
	if (ns > rec_write_max_ns)
		rec_write_max_ns = ns;
}

static void
rec_write(struct dd_rec *r)
{
	rec_write_direct(r, r->buf, r->len);
	r->len = 0;
}

/* Appends one line; writes the buffer first when it would overflow. */
static void
rec_append(struct dd_rec *r, const char *line, size_t n)
{
	size_t cap;
	char *b;

	if (r->len + n > r->cap && r->cap < REC_BUF) {
		for (cap = r->cap; cap < r->len + n && cap < REC_BUF; cap *= 2)
			;
		if ((b = realloc(r->buf, cap)) != NULL)
			r->buf = b, r->cap = cap;
	}
	if (r->len + n > r->cap)
		rec_write(r);
	if (n > r->cap)                 /* a line longer than the buffer: as it is */
		rec_write_direct(r, line, n);
	else {
		memcpy(r->buf + r->len, line, n);
		r->len += n;
	}
}

static void
rec_event(struct dd_session *s, char type, const uint8_t *buf, size_t len)
{
	char line[REC_CHUNK * 6 + 64];
	struct timespec now;
	double t;
	size_t cut, n;

	if (s->rec == NULL || s->rec->failed)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	t = (now.tv_sec - s->start.tv_sec) + (now.tv_nsec - s->start.tv_nsec) / 1e9;
	while (len > 0) {
		cut = len > REC_CHUNK ? REC_CHUNK : len;
		/* Never split a UTF-8 sequence between two events. */
		while (cut < len && cut > REC_CHUNK - 4 && (buf[cut] & 0xc0) == 0x80)
			cut--;
		n = snprintf(line, sizeof(line), "[%.6f, \"%c\", \"", t, type);
		n += rec_json_bytes(line + n, sizeof(line) - n - 4, buf, cut);
		n += snprintf(line + n, sizeof(line) - n, "\"]\n");
		rec_append(s->rec, line, n);
		buf += cut;
		len -= cut;
	}
}

void
rec_input(struct dd_session *s, const uint8_t *buf, size_t len)
{
	rec_event(s, 'i', buf, len);
}

void
rec_output(struct dd_session *s, const uint8_t *buf, size_t len)
{
	rec_event(s, 'o', buf, len);
}

void
rec_net(struct dd_session *s, const uint8_t *buf, size_t len)
{
	rec_event(s, 'n', buf, len);
}

int
rec_open(struct dd_session *s, int dirfd)
{
	struct dd_rec *r;
	char head[512], title[256], detail[768];
	struct jbuf j;
	size_t n;

	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "session", s->key);
	jbuf_str(&j, "personality", s->pers->name);
	jbuf_int(&j, "port", s->port);
	jbuf_int(&j, "src_port", s->src_port);
	/* Which decoy took it (the switch balances over several) and what the
	 * intruder meant to reach. */
	jbuf_str(&j, "local", s->local[0] != '\0' ? s->local : NULL);
	jbuf_str(&j, "dst", s->dst[0] != '\0' ? s->dst : NULL);
	event_emit(EV_DECOY_CONNECT, SEV_NOTICE, s->subscriber, s->src, jbuf_end(&j));
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->buf = malloc(REC_BUF_START)) == NULL) {
		free(r);
		log_warnx("%s: no memory to record", s->key);
		return -1;
	}
	rec_dirfd = dirfd;
	snprintf(r->name, sizeof(r->name), "%s.cast", s->key);
	r->cap = REC_BUF_START;
	s->rec = r;
	snprintf(title, sizeof(title), "%s %s:%u -> port %u (%s)", s->pers->name, s->src,
	    s->src_port, s->port, s->key);
	n = snprintf(head, sizeof(head), "{\"version\": 2, \"width\": 80, \"height\": 24, "
	    "\"timestamp\": %lld, \"title\": \"", (long long)s->started);
	n += rec_json_bytes(head + n, sizeof(head) - n - 64, (const uint8_t *)title, strlen(title));
	n += snprintf(head + n, sizeof(head) - n, "\", \"env\": {\"TERM\": \"xterm\"}}\n");
	rec_append(r, head, n);
	return 0;
}

/* ---------------------------------------------------------- events */

/* Event text is bounded: the transcript keeps the whole line. */
static void
rec_bounded(char *out, size_t cap, const char *in)
{
	snprintf(out, cap, "%s", in);
}

void
rec_login(struct dd_session *s, const char *user, const char *password)
{
	char detail[8192], u[512], pw[512];
	struct jbuf j;

	s->logins++;
	snprintf(s->user, sizeof(s->user), "%s", user);
	/* Bounded so the object always fits (6 bytes per escaped byte at
	 * worst); the transcript keeps them whole. */
	rec_bounded(u, sizeof(u), user);
	rec_bounded(pw, sizeof(pw), password);
	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "session", s->key);
	jbuf_str(&j, "personality", s->pers->name);
	jbuf_str(&j, "user", u);
	jbuf_str(&j, "password", pw);
	event_emit(EV_DECOY_LOGIN, SEV_WARNING, s->subscriber, s->src, jbuf_end(&j));
	relay_fact(s, ALERT_LOGIN, u, pw);
}

void
rec_command(struct dd_session *s, const char *line)
{
	char detail[16384], cmd[2048];
	struct jbuf j;

	s->commands++;
	rec_bounded(cmd, sizeof(cmd), line);
	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "session", s->key);
	jbuf_str(&j, "user", s->user);
	jbuf_str(&j, "command", cmd);
	event_emit(EV_DECOY_COMMAND, SEV_WARNING, s->subscriber, s->src, jbuf_end(&j));
	relay_fact(s, ALERT_COMMAND, cmd, NULL);
}

void
rec_download(struct dd_session *s, const char *tool, const char *url)
{
	char detail[16384], u[2048];
	struct jbuf j;

	s->downloads++;
	rec_bounded(u, sizeof(u), url);
	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "session", s->key);
	jbuf_str(&j, "tool", tool);
	jbuf_str(&j, "url", u);
	event_emit(EV_DECOY_DOWNLOAD, SEV_WARNING, s->subscriber, s->src, jbuf_end(&j));
	relay_fact(s, ALERT_DOWNLOAD, tool, u);
}

/* ---------------------------------------------------------- rows */

void
rec_stop(void)
{
	if (rec_writes > 0)
		log_info("recordings: %llu writes, %.3f ms in all, longest %.3f ms",
		    (unsigned long long)rec_writes, rec_write_ns / 1e6,
		    rec_write_max_ns / 1e6);
}

/* The row goes to the keeper, which owns the store (decoyd_relay.c). */
static void
rec_queue_row(struct dd_session *s, const char *summary)
{
	char path[4096];

	if (s->rec != NULL)
		snprintf(path, sizeof(path), "%s/%s.cast", s->conf->d.record_dir, s->key);
	relay_row(s->started, time(NULL), s->src, s->port, s->pers->name,
	    s->rec != NULL ? path : NULL, summary);
}

void
rec_close(struct dd_session *s)
{
	char detail[1024];
	struct jbuf j;
	long long secs = time(NULL) - s->started;

	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "session", s->key);
	jbuf_str(&j, "personality", s->pers->name);
	jbuf_str(&j, "user", s->user[0] != '\0' ? s->user : NULL);
	jbuf_int(&j, "logins", s->logins);
	jbuf_int(&j, "commands", s->commands);
	jbuf_int(&j, "downloads", s->downloads);
	jbuf_int(&j, "bytes_in", (long long)s->bytes_in);
	jbuf_int(&j, "bytes_out", (long long)s->bytes_out);
	jbuf_int(&j, "seconds", secs);
	jbuf_str(&j, "end", s->end_reason != NULL ? s->end_reason : "closed");
	jbuf_end(&j);
	event_emit(EV_DECOY_DISCONNECT, SEV_INFO, s->subscriber, s->src, detail);
	rec_queue_row(s, detail);
	if (s->rec != NULL) {
		rec_write(s->rec);
		free(s->rec->buf);
		free(s->rec);
		s->rec = NULL;
	}
}

void
rec_flush_all(void)
{
	struct dd_session *s;
	size_t i, cap = dd_loop_cap();

	for (i = 0; i < cap; i++)
		if ((s = dd_loop_session(i)) != NULL && s->rec != NULL)
			rec_write(s->rec);
	relay_check();          /* once a second: is the keeper still there? */
}
