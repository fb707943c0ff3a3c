/*
 * forensic - the writer of moat-secmgr's forensic log (forensic.h; the
 * format is forensic_rec.h and docs/FORENSIC.md).
 *
 * Durability: each record is one write(2) of a whole line on an O_APPEND
 * descriptor, then fdatasync; forensic_append returns 0 only after both.
 * forensic_append_batch leaves the fdatasync to forensic_sync, one for
 * many records (about 2.4 ms each here: one per record caps a writer at
 * ~400 records/s).
 * Failure (ENOSPC, EIO, a short write): the bytes of that line are cut off
 * again (ftruncate back to the size before it: only our own partial line,
 * never a record already written), the error is kept for forensic_error and
 * -1 returned; the next append tries again.  When even the cut fails, or
 * fdatasync fails (the kernel may have dropped the dirty pages: the file's
 * state is unknown), the handle refuses every further append.
 *
 * Resuming: forensic_open walks the whole existing file with the public
 * half of its key (forensic_walk) before it appends anything, so it never
 * signs a chain it has not checked; a bad file is refused (the operator
 * moves it aside: `moatctl forensic verify` says what is wrong).  A torn
 * tail is no record (its append never returned 0): its bytes are saved to
 * path.torn.OFFSET, cut off, and a "torn" record says so in the chain.
 * The cost is one read of the file per start (about 1 s per 300 MB here).
 *
 * One writer: an exclusive flock on the file keeps a second one out.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "fdio.h"
#include "forensic.h"
#include "forensic_rec.h"
#include "jsonstr.h"
#include "log.h"

struct forensic {
	int               fd;
	char             *path;
	off_t             size;         /* bytes of whole records on disk */
	uint64_t          seq;          /* last record written */
	char              hash[FORENSIC_HEX_LEN + 1];
	gnutls_privkey_t  key;          /* NULL: no checkpoints */
	char              keyid[FORENSIC_HEX_LEN + 1];
	unsigned          every;
	unsigned          since_cp;     /* records since the last checkpoint */
	int               broken;       /* state on disk unknown: no more appends */
	int               nosync;       /* inside forensic_append_batch */
	int               dirty;        /* records written since the last fdatasync */
	char             *line;         /* FORENSIC_LINE_MAX + 2 bytes */
	char              err[512];
};

static void
forensic_now(char out[FORENSIC_TIME_LEN + 1])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* Years past 9999 would not fit the format: the verifier refuses them. */
	snprintf(out, FORENSIC_TIME_LEN + 1, "%04u-%02u-%02uT%02u:%02u:%02u.%06uZ",
	    (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
	    (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
	    (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
	    (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}

/* fsync of the directory, so a new log's name survives a crash too. */
static int
forensic_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (copy == NULL)
		return -1;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

static int
forensic_fail(struct forensic *f, const char *what, int err)
{
	snprintf(f->err, sizeof(f->err), "%s: %s: %s", f->path, what, strerror(err));
	log_warnx("forensic log %s", f->err);
	return -1;
}

/* Writes one whole line (len bytes) and syncs it (unless in a batch: then
 * forensic_sync does).  0, or -1 (see top). */
static int
forensic_write(struct forensic *f, const char *line, size_t len)
{
	int e;

	if (f->broken) {
		log_warnx("forensic log %s: refusing a record after an earlier failure: %s",
		    f->path, f->err);
		return -1;
	}
	if (fdio_write_all(f->fd, line, len) == -1) {
		e = errno;
		/* Our partial line only: f->size is where it started. */
		if (ftruncate(f->fd, f->size) == -1) {
			f->broken = 1;
			return forensic_fail(f, "write failed and the partial record could "
			    "not be cut off", e);
		}
		return forensic_fail(f, "write", e);
	}
	f->size += (off_t)len;
	f->dirty = 1;
	if (!f->nosync && forensic_sync(f) == -1)
		return -1;
	f->err[0] = '\0';
	return 0;
}

int
forensic_sync(struct forensic *f)
{
	if (f->broken)
		return -1;
	if (!f->dirty)
		return 0;
	if (fdatasync(f->fd) == -1) {
		f->broken = 1;
		return forensic_fail(f, "fdatasync", errno);
	}
	f->dirty = 0;
	return 0;
}

/* Formats and writes a record; on success seq and hash move on. */
static int
forensic_put(struct forensic *f, const char *type, int64_t event_id, const char *payload)
{
	char now[FORENSIC_TIME_LEN + 1], hash[FORENSIC_HEX_LEN + 1];
	size_t len;

	forensic_now(now);
	len = forensic_rec_format(f->line, FORENSIC_LINE_MAX + 2, f->seq + 1, now, type,
	    event_id, f->hash, payload, hash);
	if (len == 0) {
		snprintf(f->err, sizeof(f->err), "%s: record not formatted (type '%.40s')",
		    f->path, type);
		log_warnx("forensic log %s", f->err);
		return -1;
	}
	if (forensic_write(f, f->line, len) == -1)
		return -1;
	f->seq++;
	memcpy(f->hash, hash, sizeof(f->hash));
	return 0;
}

static int
forensic_checkpoint(struct forensic *f)
{
	char msg[160], sig[FORENSIC_SIG_HEX_LEN + 1], payload[400];
	size_t n;

	n = forensic_rec_cp_message(msg, sizeof(msg), f->seq, f->hash);
	if (forensic_key_sign(f->key, msg, n, sig, f->err, sizeof(f->err)) == -1) {
		log_warnx("forensic log %s: %s", f->path, f->err);
		return -1;
	}
	snprintf(payload, sizeof(payload), "{\"covers\":%" PRIu64 ",\"chain\":\"%s\","
	    "\"key\":\"%s\",\"sig\":\"%s\"}", f->seq, f->hash, f->keyid, sig);
	if (forensic_put(f, FORENSIC_CHECKPOINT, 0, payload) == -1)
		return -1;
	f->since_cp = 0;
	return 0;
}

static void
forensic_free(struct forensic *f)
{
	if (f == NULL)
		return;
	if (f->fd != -1)
		close(f->fd);
	gnutls_privkey_deinit(f->key);
	free(f->line);
	free(f->path);
	free(f);
}

/*
 * A torn tail at off: its bytes go to a new file path.torn.OFF (fsync'd,
 * never over an existing one), then the log is cut back to off.  The
 * caller records it in the chain.  0 with the saved name in saved, or -1.
 */
static int
forensic_untear(struct forensic *f, off_t off, off_t size, char *saved, size_t savedlen,
    char *err, size_t errlen)
{
	size_t n = (size_t)(size - off);
	int fd = -1;
	ssize_t got;

	if (size <= off || n > FORENSIC_LINE_MAX ||
	    (got = pread(f->fd, f->line, n, off)) != (ssize_t)n) {
		snprintf(err, errlen, "%s: reading its torn tail: %s", f->path,
		    strerror(errno != 0 ? errno : EIO));
		return -1;
	}
	for (int i = 0; i < 100 && fd == -1; i++) {
		snprintf(saved, savedlen, i == 0 ? "%s.torn.%lld" : "%s.torn.%lld.%d", f->path,
		    (long long)off, i);
		fd = open(saved, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1 || fdio_write_all(fd, f->line, n) == -1 || fsync(fd) == -1 ||
	    forensic_sync_dir(saved) == -1) {
		snprintf(err, errlen, "%s: saving its torn tail: %s", saved, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	if (ftruncate(f->fd, off) == -1 || fsync(f->fd) == -1) {
		snprintf(err, errlen, "%s: cutting its torn tail: %s", f->path, strerror(errno));
		return -1;
	}
	log_warnx("forensic log %s: a torn tail (%zu bytes at offset %lld: a write a crash "
	    "interrupted) moved to %s", f->path, n, (long long)off, saved);
	return 0;
}

/* Loads the key, its id, and checks the existing file with its public half. */
static int
forensic_resume(struct forensic *f, const char *key_path, char *err, size_t errlen)
{
	struct forensic_report rep;
	gnutls_pubkey_t pub = NULL;
	char saved[PATH_MAX + 32];
	off_t st_size_before;
	struct stat sb;
	int rc;

	if (key_path != NULL) {
		if (forensic_key_load_priv(key_path, &f->key, err, errlen) == -1 ||
		    forensic_key_pub_of(f->key, &pub, err, errlen) == -1)
			return -1;
		if (forensic_key_id(pub, f->keyid) == -1) {
			gnutls_pubkey_deinit(pub);
			snprintf(err, errlen, "%s: no key id", key_path);
			return -1;
		}
	}
	rc = forensic_walk(f->fd, pub, 0, &rep);
	gnutls_pubkey_deinit(pub);
	if (rc != 0 && rep.status != FORENSIC_TORN) {
		snprintf(err, errlen, "%s: %s%s", f->path, rep.reason, rep.status == FORENSIC_ERROR ?
		    "" : "; not resuming it: move it aside and start a new log");
		return -1;
	}
	if (fstat(f->fd, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
		return -1;
	}
	st_size_before = sb.st_size;
	if (rep.status == FORENSIC_TORN) {
		if (forensic_untear(f, (off_t)rep.torn_off, sb.st_size, saved, sizeof(saved),
		    err, errlen) == -1)
			return -1;
		sb.st_size = (off_t)rep.torn_off;
	}
	f->size = sb.st_size;
	f->seq = rep.last_seq;
	memcpy(f->hash, rep.last_hash, sizeof(f->hash));
	/* An unsigned tail (a crash) is signed before the next record. */
	f->since_cp = rep.signed_seq < rep.last_seq ? f->every : 0;
	if (rep.status == FORENSIC_TORN) {
		char *base = strrchr(saved, '/'), hex[FORENSIC_HEX_LEN + 1], payload[2048];
		size_t n = (size_t)(st_size_before - rep.torn_off);
		/* The bytes are in f->line still (forensic_untear read them). */
		if (forensic_rec_sha256(f->line, n, hex) == -1)
			return -1;
		snprintf(payload, sizeof(payload), "{\"offset\":%lld,\"bytes\":%zu,\"sha256\":\"%s\","
		    "\"saved\":\"", (long long)rep.torn_off, n, hex);
		jsonstr_escape(payload + strlen(payload), sizeof(payload) - strlen(payload) - 3,
		    base != NULL ? base + 1 : saved);
		strcat(payload, "\"}");
		if (forensic_put(f, "torn", 0, payload) == -1) {
			snprintf(err, errlen, "%s", f->err);
			return -1;
		}
		f->since_cp++;
	}
	return 0;
}

struct forensic *
forensic_open(const char *path, const char *key_path, unsigned every,
    char *err, size_t errlen)
{
	struct forensic *f;
	struct stat sb;
	int created;

	if ((f = calloc(1, sizeof(*f))) == NULL || (f->path = strdup(path)) == NULL ||
	    (f->line = malloc(FORENSIC_LINE_MAX + 2)) == NULL) {
		snprintf(err, errlen, "out of memory");
		forensic_free(f);
		return NULL;
	}
	f->every = every > 0 ? every : 1;
	created = lstat(path, &sb) == -1 && errno == ENOENT;
	f->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (f->fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(f->fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (flock(f->fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == EWOULDBLOCK ?
		    "another process writes this log" : strerror(errno));
		goto fail;
	}
	if (forensic_resume(f, key_path, err, errlen) == -1)
		goto fail;
	if (created && forensic_sync_dir(path) == -1) {
		snprintf(err, errlen, "%s: syncing its directory: %s", path, strerror(errno));
		goto fail;
	}
	return f;
fail:
	forensic_free(f);
	return NULL;
}

/* Text that is not a JSON object, kept as {"invalid_json":"..."} (jsonstr
 * escapes every control byte and every byte of bad UTF-8). */
static const char *
forensic_payload_raw(const char *text, char **owned)
{
	static const char head[] = "{\"invalid_json\":\"";
	size_t need = jsonstr_escape(NULL, 0, text), n = strlen(head);

	if ((*owned = malloc(n + need + 3)) == NULL)
		return NULL;
	memcpy(*owned, head, n);
	jsonstr_escape(*owned + n, need + 1, text);
	memcpy(*owned + n + need, "\"}", 3);
	return *owned;
}

/* {"oversize":N,"sha256":HEX} in place of a payload too big for a line. */
static const char *
forensic_payload_big(const char *json, size_t len, char **owned)
{
	char hex[FORENSIC_HEX_LEN + 1];

	free(*owned);
	if (forensic_rec_sha256(json, len, hex) == -1 || (*owned = malloc(128)) == NULL)
		return *owned = NULL;
	snprintf(*owned, 128, "{\"oversize\":%zu,\"sha256\":\"%s\"}", len, hex);
	return *owned;
}

/* A JSON string at *p of printable ASCII and the short escapes, no \u
 * (what jbuf makes of addresses, names and numbers): advances *p past it.
 * 0 for anything else, which is not an error: jansson reads it then. */
static int
forensic_flat_string(const char **p)
{
	const char *s = *p;

	if (*s++ != '"')
		return 0;
	for (; *s != '"'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
		if (*s == '\\' && (*++s == '\0' || strchr("\"\\/bfnrt", *s) == NULL))
			return 0;
	}
	*p = s + 1;
	return 1;
}

/* 1 when json (len bytes) is a flat object of the common shape -- {"k":V,...}
 * without blanks, V a string as above, an integer of at most 18 digits,
 * true, false or null -- which is valid JSON by construction, so jansson
 * need not read it (its reading was a fifth of moat-secmgr's time, one
 * record per response).  0: ask jansson. */
static int
forensic_flat_object(const char *json, size_t len)
{
	const char *s = json, *end = json + len;

	if (*s++ != '{')
		return 0;
	if (*s == '}')
		return s + 1 == end;
	for (;;) {
		if (!forensic_flat_string(&s) || *s++ != ':')
			return 0;
		if (*s == '"') {
			if (!forensic_flat_string(&s))
				return 0;
		} else if (strncmp(s, "true", 4) == 0 || strncmp(s, "null", 4) == 0)
			s += 4;
		else if (strncmp(s, "false", 5) == 0)
			s += 5;
		else {
			int d = 0;

			s += *s == '-';
			if (*s == '0')
				s++, d = 1;
			else
				while (*s >= '0' && *s <= '9' && d <= 18)
					s++, d++;
			if (d == 0 || d > 18 || (*s >= '0' && *s <= '9'))
				return 0;
		}
		if (*s == '}')
			return s + 1 == end;
		if (*s++ != ',')
			return 0;
	}
}

/*
 * The payload as one line of JSON: the caller's text when it is a JSON
 * object with no control bytes (the usual case: copied as is), else
 * re-encoded compactly (a valid object with tabs or newlines between its
 * tokens), else kept as a string inside {"invalid_json":...}; one too big
 * for a line is replaced by its size and SHA-256.  A record is never
 * refused for its payload.  Returns the text to write (NULL: out of
 * memory); *owned, when set, is freed by the caller.
 */
static const char *
forensic_payload(const char *json, char **owned)
{
	size_t len = strlen(json);
	const char *out;
	json_t *o;
	int clean = 1;

	*owned = NULL;
	if (len > FORENSIC_PAYLOAD_MAX)
		return forensic_payload_big(json, len, owned);
	if (forensic_flat_object(json, len))
		return json;
	for (size_t i = 0; i < len && clean; i++)
		if ((unsigned char)json[i] < 0x20 || json[i] == 0x7f)
			clean = 0;
	if ((o = json_loadb(json, len, 0, NULL)) != NULL && json_is_object(o)) {
		if (clean && json[0] == '{' && json[len - 1] == '}') {
			json_decref(o);
			return json;
		}
		*owned = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
		out = *owned;
	} else {
		out = forensic_payload_raw(json, owned);
	}
	json_decref(o);
	if (out != NULL && strlen(out) > FORENSIC_PAYLOAD_MAX)
		return forensic_payload_big(json, len, owned);
	return out;
}

int
forensic_append_batch(struct forensic *f, const char *type, int64_t event_id,
    const char *json)
{
	int rc;

	f->nosync = 1;
	rc = forensic_append(f, type, event_id, json);
	f->nosync = 0;
	return rc;
}

int
forensic_append(struct forensic *f, const char *type, int64_t event_id, const char *json)
{
	const char *payload;
	char *owned;
	int rc;

	if (f->key != NULL && f->since_cp >= f->every && forensic_checkpoint(f) == -1)
		return -1;
	if (!forensic_rec_type_ok(type) || event_id < 0) {
		snprintf(f->err, sizeof(f->err), "%s: bad record type or event id", f->path);
		log_warnx("forensic log %s", f->err);
		return -1;
	}
	if ((payload = forensic_payload(json != NULL ? json : "{}", &owned)) == NULL) {
		snprintf(f->err, sizeof(f->err), "%s: out of memory for a payload", f->path);
		log_warnx("forensic log %s", f->err);
		return -1;
	}
	rc = forensic_put(f, type, event_id, payload);
	free(owned);
	if (rc == -1)
		return -1;
	f->since_cp++;
	/* The record is written (durable unless in a batch): a failed
	 * checkpoint is retried before the next record (and logged), not
	 * reported as this record's failure. */
	if (f->key != NULL && f->since_cp >= f->every)
		(void)forensic_checkpoint(f);
	return 0;
}

const char *
forensic_error(const struct forensic *f)
{
	return f->err;
}

uint64_t
forensic_seq(const struct forensic *f)
{
	return f->seq;
}

void
forensic_close(struct forensic *f)
{
	if (f == NULL)
		return;
	if (f->key != NULL && f->since_cp > 0 && forensic_checkpoint(f) == -1)
		log_warnx("forensic log %s: no checkpoint at close: records after %" PRIu64
		    " stay unsigned until the log is resumed", f->path, f->seq);
	if (forensic_sync(f) == -1 && !f->broken)
		log_warnx("forensic log %s: %s", f->path, f->err);
	forensic_free(f);
}
