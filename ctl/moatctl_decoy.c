/*
 * moatctl decoy: moat-decoyd's recorded sessions (issue 11).
 *
 *   decoy sessions [--source ADDR] [--personality P] [--since TIME] [--limit N]
 *   decoy show KEY             the row, then the session's decoy.* events
 *   decoy replay KEY [--speed X] [--raw] [--print]
 *
 * KEY is a session key ("20261207T160102-4242-17", as decoyd names events,
 * rows and files) or a decoy_sessions row id.
 *
 * Trusts: the operator and the config file (decoyd.record_dir).  Does not
 * trust: anything decoyd stored.  An intruder chose the user names,
 * passwords, commands and URLs in the events and much of what a recording
 * holds, so every such text reaches the operator's terminal escaped: no
 * control byte, no C1 control, no escape sequence, no invalid UTF-8 gets
 * through (they show as \xNN).  replay writes the recording's output bytes
 * with their timing, filtered the same way but keeping line layout (CR, LF,
 * TAB, BS) unless --raw.  It opens only the file record_dir/KEY.cast, with
 * KEY checked for syntax, and refuses a row whose transcript_path resolves
 * to anything else (a store edited by hand, a moved directory, a symlink).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "decoyd_conf.h"
#include "moatctl.h"
#include "utf8.h"

#define DECOY_KEY_MAX   47          /* struct dd_session key[48] */
#define DECOY_LINE_MAX  (1024 * 1024)
#define DECOY_GAP_MAX   2.0         /* longest pause replayed (seconds, before --speed) */

static const char decoy_usage[] =
    "usage: moatctl decoy sessions [--source ADDR] [--personality P] [--since TIME]"
    " [--limit N]\n"
    "       moatctl decoy show KEY\n"
    "       moatctl decoy replay KEY [--speed X] [--raw] [--print]\n"
    "  KEY: a session key or a row id; TIME: YYYY-MM-DD[THH:MM[:SS]] (UTC) or\n"
    "  N{s,m,h,d} ago; attacker text is shown escaped (\\xNN) unless replay --raw\n";

static const char *const decoy_personalities[] = {
	"telnet", "ftp", "http", "smtp", "subseven", "netbus", NULL
};

#define DECOY_COLS \
    " json_extract(summary, '$.session') AS key, datetime(started, 'unixepoch') AS start," \
    " src_ip AS source, personality || '/' || port AS service," \
    " json_extract(summary, '$.user') AS user, json_extract(summary, '$.logins') AS logins," \
    " json_extract(summary, '$.commands') AS commands," \
    " json_extract(summary, '$.downloads') AS downloads," \
    " json_extract(summary, '$.bytes_in') || '/' || json_extract(summary, '$.bytes_out') AS bytes," \
    " json_extract(summary, '$.end') AS end_reason"

static const char sql_sessions[] =
    "SELECT * FROM (SELECT id," DECOY_COLS " FROM decoy_sessions"
    " WHERE (?1 IS NULL OR src_ip = ?1) AND (?2 IS NULL OR personality = ?2)"
    " AND (?3 IS NULL OR started >= CAST(?3 AS INTEGER))"
    " ORDER BY id DESC LIMIT CAST(?4 AS INTEGER)) ORDER BY id";
static const char sql_one[] =
    "SELECT id," DECOY_COLS ", datetime(ended, 'unixepoch') AS ended, transcript_path"
    " FROM decoy_sessions WHERE id = CAST(?1 AS INTEGER)"
    " OR json_extract(summary, '$.session') = ?2 ORDER BY id LIMIT 1";
static const char sql_events[] =
    "SELECT datetime(ts, 'unixepoch') AS time, kind,"
    " coalesce('user=' || json_extract(detail_json, '$.user') || ' password=' ||"
    "  json_extract(detail_json, '$.password'),"
    "  json_extract(detail_json, '$.command'),"
    "  json_extract(detail_json, '$.tool') || ' ' || json_extract(detail_json, '$.url'),"
    "  'end=' || json_extract(detail_json, '$.end'),"
    "  'port=' || json_extract(detail_json, '$.port')) AS detail"
    " FROM events WHERE kind LIKE 'decoy.%' AND json_extract(detail_json, '$.session') = ?1"
    " ORDER BY id";

/* ---------------------------------------------------------- escaping */

/* Writes len bytes for a terminal: printable ASCII and well-formed UTF-8 as
 * they are, every other byte as \xNN.  layout (replay): CR, LF, TAB and BS
 * pass too, and '\\' as it is (a player shows what the client saw); else
 * (one field, one line) they are escaped as well, '\\' as \\ so that the
 * escapes are unambiguous. */
static void
decoy_safe(FILE *fp, const unsigned char *p, size_t len, int layout)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if (p[i] == '\\' && !layout) {
			fputs("\\\\", fp), i++;
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			fputc(p[i++], fp);
		} else if (layout && (p[i] == '\r' || p[i] == '\n' || p[i] == '\t' ||
		    p[i] == '\b')) {
			fputc(p[i++], fp);
		} else if (p[i] >= 0x80 && (n = utf8_seq(p + i, len - i, &cp)) != 0 &&
		    !utf8_unsafe(cp)) {
			fwrite(p + i, 1, n, fp), i += n;
		} else {
			fprintf(fp, "\\x%02x", p[i++]);
		}
	}
}

/* decoy_safe into a new string (NULL when out of memory). */
static char *
decoy_safe_str(const char *s)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *fp;

	if ((fp = open_memstream(&out, &outlen)) == NULL)
		return NULL;
	decoy_safe(fp, (const unsigned char *)s, strlen(s), 0);
	if (fclose(fp) == EOF) {
		free(out);
		return NULL;
	}
	return out;
}

/* A query's rows as an aligned table (record: "column  value" lines), every
 * cell escaped.  0, or 1 (printed). */
static int
decoy_print(struct ctl *ctl, sqlite3_stmt *stmt, int record)
{
	char **cell = NULL, **n;
	size_t nrows = 0, cap = 0, i, *w = NULL;
	int ncol = sqlite3_column_count(stmt), c, rc, status = 0;

	while ((rc = store_step(ctl->st, stmt, "query")) == STORE_STEP_ROW) {
		if (nrows == cap) {
			cap = cap ? cap * 2 : 16;
			if ((n = reallocarray(cell, cap * (size_t)ncol, sizeof(*n))) == NULL) {
				status = ctl_err("out of memory");
				goto done;
			}
			cell = n;
		}
		for (c = 0; c < ncol; c++) {
			const char *v = (const char *)sqlite3_column_text(stmt, c);
			cell[nrows * ncol + c] = decoy_safe_str(v != NULL ? v : "-");
		}
		nrows++;
		for (c = 0; c < ncol; c++)
			if (cell[(nrows - 1) * ncol + c] == NULL) {
				status = ctl_err("out of memory");
				goto done;
			}
	}
	if (rc != STORE_STEP_DONE) {
		status = ctl_sqlerr(ctl);
		goto done;
	}
	if ((w = calloc((size_t)ncol, sizeof(*w))) == NULL) {
		status = ctl_err("out of memory");
		goto done;
	}
	for (c = 0; c < ncol; c++) {
		w[c] = strlen(sqlite3_column_name(stmt, c));
		for (i = 0; i < nrows && !record; i++)
			if (strlen(cell[i * ncol + c]) > w[c])
				w[c] = strlen(cell[i * ncol + c]);
	}
	if (record) {
		size_t nw = 0;
		for (c = 0; c < ncol; c++)
			if (w[c] > nw)
				nw = w[c];
		for (i = 0; i < nrows; i++)
			for (c = 0; c < ncol; c++)
				printf("%-*s  %s\n", (int)nw + 1, sqlite3_column_name(stmt, c),
				    cell[i * ncol + c]);
	} else {
		for (c = 0; c < ncol; c++)
			printf("%-*s%s", c + 1 < ncol ? (int)w[c] : 0, sqlite3_column_name(stmt, c),
			    c + 1 < ncol ? "  " : "\n");
		for (i = 0; i < nrows; i++)
			for (c = 0; c < ncol; c++)
				printf("%-*s%s", c + 1 < ncol ? (int)w[c] : 0, cell[i * ncol + c],
				    c + 1 < ncol ? "  " : "\n");
	}
done:
	for (i = 0; i < nrows * (size_t)ncol; i++)
		free(cell[i]);
	free(cell);
	free(w);
	sqlite3_reset(stmt);
	return status;
}

static int
decoy_query(struct ctl *ctl, const char *sql, int nargs, const char *const args[], int record)
{
	sqlite3_stmt *stmt = store_prepare(ctl->st, sql);

	if (stmt == NULL)
		return ctl_sqlerr(ctl);
	if (ctl_bind(stmt, nargs, args) == -1)
		return ctl_err("%s: %s", ctl->db_path, sqlite3_errmsg(ctl->st->db));
	return decoy_print(ctl, stmt, record);
}

/* ---------------------------------------------------------- arguments */

/* A session key as decoyd makes them: YYYYMMDDTHHMMSS-PID-SEQ.  Nothing
 * else names a file. */
static int
decoy_key_ok(const char *k)
{
	size_t i, n = strlen(k), dashes = 0;

	if (n < 19 || n > DECOY_KEY_MAX || k[8] != 'T')
		return 0;
	for (i = 0; i < n; i++) {
		if (i == 8)
			continue;
		if (k[i] == '-') {
			if (i < 15 || k[i - 1] == '-' || i + 1 == n)
				return 0;
			dashes++;
		} else if (k[i] < '0' || k[i] > '9') {
			return 0;
		}
	}
	return dashes == 2 && k[15] == '-';
}

/* TIME as Unix seconds: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (or a space),
 * UTC; or N followed by s, m, h or d: that long ago.  0, or -1. */
static int
decoy_since(const char *s, long long *out)
{
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
	    "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d", NULL };
	struct tm tm;
	const char *end;
	char *e;
	long long n;
	size_t i;

	if (s[0] >= '0' && s[0] <= '9' && strchr("smhd", s[strlen(s) - 1]) != NULL &&
	    strlen(s) < 12) {
		n = strtoll(s, &e, 10);
		if (*e != '\0' && e[1] == '\0' && n >= 0) {
			n *= *e == 's' ? 1 : *e == 'm' ? 60 : *e == 'h' ? 3600 : 86400;
			*out = (long long)time(NULL) - n;
			return 0;
		}
	}
	for (i = 0; fmts[i] != NULL; i++) {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, fmts[i], &tm)) != NULL && *end == '\0') {
			*out = (long long)timegm(&tm);
			return 0;
		}
	}
	return -1;
}

static int
decoy_sessions(struct ctl *ctl, int argc, char **argv)
{
	const char *source = NULL, *pers = NULL, *since = NULL, *limit = "100";
	unsigned char addr[sizeof(struct in6_addr)];
	char sincebuf[32];
	long long v;
	size_t i;

	for (int a = 0; a < argc; a++) {
		if (strcmp(argv[a], "--source") == 0 && a + 1 < argc)
			source = argv[++a];
		else if (strcmp(argv[a], "--personality") == 0 && a + 1 < argc)
			pers = argv[++a];
		else if (strcmp(argv[a], "--since") == 0 && a + 1 < argc)
			since = argv[++a];
		else if (strcmp(argv[a], "--limit") == 0 && a + 1 < argc)
			limit = argv[++a];
		else
			return ctl_usage(decoy_usage);
	}
	if (source != NULL && inet_pton(AF_INET, source, addr) != 1 &&
	    inet_pton(AF_INET6, source, addr) != 1)
		return ctl_err("bad --source '%s' (an IPv4 or IPv6 address)", source);
	if (pers != NULL) {
		for (i = 0; decoy_personalities[i] != NULL; i++)
			if (strcmp(pers, decoy_personalities[i]) == 0)
				break;
		if (decoy_personalities[i] == NULL)
			return ctl_err("unknown personality '%s' (telnet, ftp, http, smtp, "
			    "subseven, netbus)", pers);
	}
	if (since != NULL) {
		if (decoy_since(since, &v) == -1)
			return ctl_err("bad --since '%s' (YYYY-MM-DD[THH:MM[:SS]] or N{s,m,h,d})",
			    since);
		snprintf(sincebuf, sizeof(sincebuf), "%lld", v);
	}
	if (ctl_parse_id(limit, &v) == -1 || v > 1000000)
		return ctl_err("bad --limit '%s' (1 to 1000000)", limit);
	const char *args[] = { source, pers, since != NULL ? sincebuf : NULL, limit };
	return decoy_query(ctl, sql_sessions, 4, args, 0);
}

/* KEY (a session key or a row id) as the two bind values of sql_one. */
static int
decoy_key_args(const char *key, const char *args[2])
{
	long long id;

	args[0] = args[1] = NULL;
	if (ctl_parse_id(key, &id) == 0)
		args[0] = key;
	else if (decoy_key_ok(key))
		args[1] = key;
	else
		return ctl_err("bad session key '%.64s' (YYYYMMDDTHHMMSS-PID-N, or a row id)", key);
	return 0;
}

/* The session's key and transcript path from its row: 1 found, 0 absent
 * (printed), -1 error (printed).  Both strings are the caller's to free. */
static int
decoy_row(struct ctl *ctl, const char *key, char **skey, char **path)
{
	const char *args[2];
	sqlite3_stmt *stmt;
	const char *k, *p;
	int rc;

	*skey = *path = NULL;
	if (decoy_key_args(key, args) != 0)
		return -1;
	if ((stmt = store_prepare(ctl->st, sql_one)) == NULL || ctl_bind(stmt, 2, args) == -1) {
		ctl_sqlerr(ctl);
		return -1;
	}
	rc = store_step(ctl->st, stmt, "query");
	if (rc == STORE_STEP_DONE) {
		sqlite3_reset(stmt);
		ctl_err("no decoy session '%s'", key);
		return 0;
	}
	if (rc != STORE_STEP_ROW) {
		ctl_sqlerr(ctl);
		sqlite3_reset(stmt);
		return -1;
	}
	k = (const char *)sqlite3_column_text(stmt, 1);
	p = (const char *)sqlite3_column_text(stmt, 12);
	*skey = strdup(k != NULL ? k : "");
	*path = p != NULL ? strdup(p) : NULL;
	sqlite3_reset(stmt);
	if (*skey == NULL || (p != NULL && *path == NULL)) {
		free(*skey);
		free(*path);
		ctl_err("out of memory");
		return -1;
	}
	return 1;
}

static int
decoy_show(struct ctl *ctl, int argc, char **argv)
{
	const char *args[2];
	char *skey, *path;
	int st;

	if (argc != 1)
		return ctl_usage(decoy_usage);
	if ((st = decoy_row(ctl, argv[0], &skey, &path)) != 1)
		return 1;
	free(path);
	if (decoy_key_args(argv[0], args) != 0 || decoy_query(ctl, sql_one, 2, args, 1) != 0) {
		free(skey);
		return 1;
	}
	printf("\n");
	const char *eargs[] = { skey };
	st = decoy_query(ctl, sql_events, 1, eargs, 0);
	free(skey);
	return st;
}

/* ---------------------------------------------------------- replay */

/* Reads the decoyd group (record_dir).  0 with *dir set (the caller frees
 * it), or 1 (printed). */
static int
decoy_record_dir(struct ctl *ctl, char **dir)
{
	const struct cfg_group *groups[] = { &common_cfg_group, &decoyd_cfg_group };
	struct common_conf cc;
	struct decoyd_conf dc;
	void *vals[] = { &cc, &dc };
	char err[1024];

	memset(&cc, 0, sizeof(cc));
	memset(&dc, 0, sizeof(dc));
	if (!ctl->conf_explicit && access(ctl->conf_path, F_OK) == -1)
		return ctl_err("%s does not exist: give -c CONF (its decoyd group names "
		    "record_dir)", ctl->conf_path);
	if (config_load(ctl->conf_path, groups, vals, 2, err, sizeof(err)) == -1)
		return ctl_err("%s", err);
	*dir = realpath(dc.record_dir, NULL);
	if (*dir == NULL)
		ctl_err("record_dir %s: %s", dc.record_dir, strerror(errno));
	config_free_values(&common_cfg_group, &cc);
	config_free_values(&decoyd_cfg_group, &dc);
	return *dir == NULL ? 1 : 0;
}

/* Opens the recording: only dir/KEY.cast, and only when the row's path
 * resolves to exactly that file.  The fd, or -1 (printed). */
static int
decoy_open_cast(const char *dir, const char *skey, const char *rowpath, char *file, size_t len)
{
	char *real;
	struct stat sb;
	int fd, same;

	if (!decoy_key_ok(skey))
		return ctl_err("the row's session key '%.64s' is malformed: refused", skey), -1;
	if (rowpath == NULL)
		return ctl_err("session %s has no recording", skey), -1;
	if ((size_t)snprintf(file, len, "%s/%s.cast", dir, skey) >= len)
		return ctl_err("record_dir too long"), -1;
	if ((real = realpath(rowpath, NULL)) == NULL)
		return ctl_err("recording %.256s: %s", rowpath, strerror(errno)), -1;
	same = strcmp(real, file) == 0;
	free(real);
	if (!same) {
		fputs("moatctl: recording path ", stderr);
		decoy_safe(stderr, (const unsigned char *)rowpath, strlen(rowpath), 0);
		fprintf(stderr, " is not %s: refused (outside record_dir %s)\n", file, dir);
		return -1;
	}
	if ((fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return ctl_err("%s: %s", file, strerror(errno)), -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return ctl_err("%s: not a regular file", file), -1;
	}
	return fd;
}

/* Hex digit value or -1. */
static int
decoy_hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void
decoy_put_utf8(unsigned char *o, size_t *n, unsigned cp)
{
	if (cp < 0x80) {
		o[(*n)++] = cp;
	} else if (cp < 0x800) {
		o[(*n)++] = 0xc0 | cp >> 6, o[(*n)++] = 0x80 | (cp & 0x3f);
	} else if (cp < 0x10000) {
		o[(*n)++] = 0xe0 | cp >> 12, o[(*n)++] = 0x80 | ((cp >> 6) & 0x3f);
		o[(*n)++] = 0x80 | (cp & 0x3f);
	} else {
		o[(*n)++] = 0xf0 | cp >> 18, o[(*n)++] = 0x80 | ((cp >> 12) & 0x3f);
		o[(*n)++] = 0x80 | ((cp >> 6) & 0x3f), o[(*n)++] = 0x80 | (cp & 0x3f);
	}
}

/* A JSON string at *pp (at its opening quote) decoded into out (at least
 * as long as the line), lone surrogates \uDCXX as the byte XX (decoyd's
 * lossless form, see decoyd_record.c).  Returns its length, or -1. */
static long
decoy_json_str(const char **pp, unsigned char *out)
{
	const char *p = *pp;
	size_t n = 0;
	unsigned cp, lo;
	int i, h;

	if (*p++ != '"')
		return -1;
	while (*p != '"') {
		if (*p == '\0')
			return -1;
		if (*p != '\\') {
			out[n++] = (unsigned char)*p++;
			continue;
		}
		p++;
		switch (*p++) {
		case '"': out[n++] = '"'; break;
		case '\\': out[n++] = '\\'; break;
		case '/': out[n++] = '/'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u':
			for (cp = 0, i = 0; i < 4; i++) {
				if ((h = decoy_hex(*p++)) == -1)
					return -1;
				cp = cp << 4 | h;
			}
			if (cp >= 0xd800 && cp <= 0xdbff && p[0] == '\\' && p[1] == 'u') {
				for (lo = 0, i = 2; i < 6; i++) {
					if ((h = decoy_hex(p[i])) == -1)
						return -1;
					lo = lo << 4 | h;
				}
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					p += 6;
					decoy_put_utf8(out, &n, 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00));
					break;
				}
			}
			if (cp >= 0xdc80 && cp <= 0xdcff)
				out[n++] = cp & 0xff;   /* a raw byte */
			else if (cp >= 0xd800 && cp <= 0xdfff)
				out[n++] = '?';
			else
				decoy_put_utf8(out, &n, cp);
			break;
		default:
			return -1;
		}
	}
	*pp = p + 1;
	return (long)n;
}

/* One event line [TIME, "TYPE", "TEXT"]: 1 with its parts, 0 not one. */
static int
decoy_event(const char *line, double *t, char *type, size_t typelen, unsigned char *text,
    size_t *textlen)
{
	const char *p = line;
	char *end;
	long n;

	while (*p == ' ')
		p++;
	if (*p++ != '[')
		return 0;
	*t = strtod(p, &end);
	if (end == p || *t < 0)
		return 0;
	for (p = end; *p == ' '; p++)
		;
	if (*p++ != ',')
		return 0;
	while (*p == ' ')
		p++;
	if ((n = decoy_json_str(&p, text)) == -1 || (size_t)n >= typelen)
		return 0;
	memcpy(type, text, n);
	type[n] = '\0';
	while (*p == ' ')
		p++;
	if (*p++ != ',')
		return 0;
	while (*p == ' ')
		p++;
	if ((n = decoy_json_str(&p, text)) == -1)
		return 0;
	*textlen = (size_t)n;
	return 1;
}

static void
decoy_sleep(double secs)
{
	struct timespec ts;

	if (secs <= 0)
		return;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
decoy_play(int fd, double speed, int raw)
{
	FILE *fp;
	char *line = NULL, type[8];
	unsigned char *text = NULL;
	size_t cap = 0, len;
	ssize_t n;
	double t, last = 0, gap;
	int first = 1, status = 0;

	if ((fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return ctl_err("fdopen: %s", strerror(errno));
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		if (first) {            /* the header: {"version": 2, ...} */
			first = 0;
			if (line[0] != '{') {
				status = ctl_err("not an asciicast v2 recording");
				break;
			}
			continue;
		}
		if (n > DECOY_LINE_MAX)
			continue;
		free(text);
		if ((text = malloc((size_t)n + 1)) == NULL) {
			status = ctl_err("out of memory");
			break;
		}
		if (!decoy_event(line, &t, type, sizeof(type), text, &len) ||
		    strcmp(type, "o") != 0)
			continue;
		gap = t - last;
		if (gap > DECOY_GAP_MAX)
			gap = DECOY_GAP_MAX;
		last = t;
		fflush(stdout);
		decoy_sleep(gap / speed);
		if (raw)
			fwrite(text, 1, len, stdout);
		else
			decoy_safe(stdout, text, len, 1);
	}
	free(line);
	free(text);
	fclose(fp);
	if (fflush(stdout) == EOF && status == 0)
		status = ctl_err("stdout: %s", strerror(errno));
	return status;
}

/* The text as one shell word, in single quotes. */
static void
decoy_shell_word(const char *s)
{
	putchar('\'');
	for (; *s != '\0'; s++)
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	putchar('\'');
}

static int
decoy_replay(struct ctl *ctl, int argc, char **argv)
{
	const char *key = NULL;
	char *dir = NULL, *skey = NULL, *path = NULL, file[PATH_MAX], *end;
	double speed = 1.0;
	int raw = 0, print = 0, fd, status = 1;

	for (int a = 0; a < argc; a++) {
		if (strcmp(argv[a], "--raw") == 0)
			raw = 1;
		else if (strcmp(argv[a], "--print") == 0)
			print = 1;
		else if (strcmp(argv[a], "--speed") == 0 && a + 1 < argc) {
			speed = strtod(argv[++a], &end);
			if (*end != '\0' || end == argv[a] || !(speed > 0 && speed <= 1000))
				return ctl_err("bad --speed '%s' (a number above 0, up to 1000)",
				    argv[a]);
		} else if (argv[a][0] != '-' && key == NULL)
			key = argv[a];
		else
			return ctl_usage(decoy_usage);
	}
	if (key == NULL)
		return ctl_usage(decoy_usage);
	if (decoy_key_args(key, (const char *[2]){ NULL, NULL }) != 0)
		return 1;
	if (decoy_record_dir(ctl, &dir) != 0)
		return 1;
	if (ctl_open(ctl, 0) != 0 || decoy_row(ctl, key, &skey, &path) != 1)
		goto done;
	if ((fd = decoy_open_cast(dir, skey, path, file, sizeof(file))) == -1)
		goto done;
	if (print) {
		close(fd);
		fputs("asciinema play ", stdout);
		decoy_shell_word(file);
		putchar('\n');
		status = 0;
	} else {
		status = decoy_play(fd, speed, raw);
	}
done:
	free(dir);
	free(skey);
	free(path);
	return status;
}

int
moatctl_decoy(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage(decoy_usage);
	if (strcmp(argv[0], "replay") == 0)
		return decoy_replay(ctl, argc - 1, argv + 1);   /* config first, then the store */
	if (ctl_open(ctl, 0) != 0)
		return 1;
	if (strcmp(argv[0], "sessions") == 0)
		return decoy_sessions(ctl, argc - 1, argv + 1);
	if (strcmp(argv[0], "show") == 0)
		return decoy_show(ctl, argc - 1, argv + 1);
	return ctl_usage(decoy_usage);
}
