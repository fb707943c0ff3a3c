/*
 * forensic_verify - walks a forensic log (or an export of a range of one)
 * from its first line and names the first record that is not what the
 * writer wrote: edited (its hash), replaced or inserted (the chain),
 * deleted or reordered (the sequence), a checkpoint that the key did not
 * sign; and tells a torn tail (the last line partial: an interrupted write)
 * from all of these.  The file is hostile: lines are bounded
 * (FORENSIC_LINE_MAX), every field is parsed strictly, memory use does not
 * grow with the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "forensic.h"
#include "forensic_rec.h"

#define WALK_BUF (FORENSIC_LINE_MAX + 1 + 64 * 1024)
static const char zero_hash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

enum walk_got { WALK_EOF, WALK_LINE, WALK_PARTIAL, WALK_LONG, WALK_ERR };

/* Called for each good record, with its line (len bytes, '\n' after them).
 * Returns 0 to go on, 1 to stop (the walk ends OK), -1 to fail (reason set). */
typedef int (*walk_visit)(void *ctx, const struct forensic_rec *r, const char *line,
    size_t len, struct forensic_report *rep);

struct walk {
	int         fd;
	off_t       off;            /* next byte to read */
	char       *buf;
	size_t      start, end;     /* unread bytes are buf[start..end) */
	int         eof;
	uint64_t    line_no;
	off_t       line_off;       /* offset of the line just read */
	uint64_t    expect;         /* the seq the next record must have */
	char        prev[FORENSIC_HEX_LEN + 1];
	gnutls_pubkey_t pub;
	char        keyid[FORENSIC_HEX_LEN + 1];
	unsigned    flags;
	struct forensic_report *rep;
	walk_visit  visit;
	void       *ctx;
};

static enum walk_got
walk_line(struct walk *w, char **line, size_t *len)
{
	ssize_t n;
	char *nl;

	for (;;) {
		w->line_off = w->off - (off_t)(w->end - w->start);
		if ((nl = memchr(w->buf + w->start, '\n', w->end - w->start)) != NULL) {
			*line = w->buf + w->start;
			*len = (size_t)(nl - *line);
			w->start = (size_t)(nl + 1 - w->buf);
			return *len > FORENSIC_LINE_MAX ? WALK_LONG : WALK_LINE;
		}
		if (w->end - w->start > FORENSIC_LINE_MAX) {
			*len = w->end - w->start;
			return WALK_LONG;
		}
		if (w->eof) {
			if (w->end == w->start)
				return WALK_EOF;
			*line = w->buf + w->start;
			*len = w->end - w->start;
			w->start = w->end;
			return WALK_PARTIAL;
		}
		memmove(w->buf, w->buf + w->start, w->end - w->start);
		w->end -= w->start;
		w->start = 0;
		n = pread(w->fd, w->buf + w->end, WALK_BUF - w->end, w->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return WALK_ERR;
		if (n == 0)
			w->eof = 1;
		w->off += n;
		w->end += (size_t)n;
	}
}

#define BAD(w, seq, ...) do {						\
	(w)->rep->status = FORENSIC_BAD;				\
	(w)->rep->bad_seq = (seq);					\
	(w)->rep->bad_line = (w)->line_no;				\
	snprintf((w)->rep->reason, sizeof((w)->rep->reason), __VA_ARGS__); \
	return 1;							\
} while (0)

/* Checks a checkpoint record r (already chained).  0, or 1 (BAD set). */
static int
walk_checkpoint(struct walk *w, const struct forensic_rec *r)
{
	struct forensic_cp cp;
	char why[160], msg[160];
	size_t n;

	if (forensic_rec_cp_parse(r, &cp, why, sizeof(why)) == -1)
		BAD(w, r->seq, "checkpoint %" PRIu64 " (line %" PRIu64 "): %s", r->seq,
		    w->line_no, why);
	if (cp.covers != r->seq - 1 || strcmp(cp.chain, r->prev) != 0)
		BAD(w, r->seq, "checkpoint %" PRIu64 " (line %" PRIu64 ") does not cover "
		    "the record before it", r->seq, w->line_no);
	if (w->pub != NULL) {
		n = forensic_rec_cp_message(msg, sizeof(msg), cp.covers, cp.chain);
		if (strcmp(cp.key, w->keyid) != 0 ||
		    forensic_key_verify(w->pub, msg, n, cp.sig) == -1)
			BAD(w, r->seq, "checkpoint %" PRIu64 " (line %" PRIu64 "): the "
			    "signature does not verify with key %.16s%s: records %" PRIu64
			    "..%" PRIu64 " are not proven", r->seq, w->line_no, w->keyid,
			    strcmp(cp.key, w->keyid) != 0 ? " (it names another key)" : "",
			    w->rep->signed_seq + 1 > w->rep->from ? w->rep->signed_seq + 1 :
			    w->rep->from, r->seq);
		w->rep->checkpoints++;
	}
	w->rep->signed_seq = r->seq;
	return 0;
}

/* Checks one whole line.  0 good, 1 bad or stop (rep says), -1 error. */
static int
walk_record(struct walk *w, const char *line, size_t len)
{
	struct forensic_report *rep = w->rep;
	struct forensic_rec r;
	char why[160], hash[FORENSIC_HEX_LEN + 1];

	if (forensic_rec_parse(line, len, &r, why, sizeof(why)) == -1)
		BAD(w, w->expect, "line %" PRIu64 " (where record %" PRIu64 " belongs) is not "
		    "a record: %s", w->line_no, w->expect, why);
	if (r.seq > w->expect)
		BAD(w, w->expect, "record %" PRIu64 " is missing: line %" PRIu64 " holds "
		    "record %" PRIu64 " (deleted, or records reordered)", w->expect,
		    w->line_no, r.seq);
	if (r.seq < w->expect)
		BAD(w, r.seq, "record %" PRIu64 " again at line %" PRIu64 ", where record %"
		    PRIu64 " belongs (a record inserted, or records reordered)", r.seq,
		    w->line_no, w->expect);
	if (strcmp(r.prev, w->prev) != 0)
		BAD(w, r.seq, "record %" PRIu64 " (line %" PRIu64 ") does not chain: its "
		    "previous hash is not the hash of record %" PRIu64 " (inserted, or the "
		    "record before it replaced)", r.seq, w->line_no, r.seq - 1);
	if (forensic_rec_sha256(line, r.hashed_len, hash) == -1) {
		rep->status = FORENSIC_ERROR;
		snprintf(rep->reason, sizeof(rep->reason), "SHA-256 failed");
		return -1;
	}
	if (strcmp(hash, r.hash) != 0)
		BAD(w, r.seq, "record %" PRIu64 " (line %" PRIu64 ") was altered: its hash "
		    "does not match its content", r.seq, w->line_no);
	if (strcmp(r.type, FORENSIC_CHECKPOINT) == 0 && walk_checkpoint(w, &r) != 0)
		return 1;
	rep->records++;
	rep->last_seq = r.seq;
	memcpy(rep->last_hash, r.hash, sizeof(rep->last_hash));
	memcpy(w->prev, r.hash, sizeof(w->prev));
	w->expect = r.seq + 1;
	if (w->visit != NULL)
		return w->visit(w->ctx, &r, line, len, rep);
	return 0;
}

/* The first line of an export. */
static int
walk_header(struct walk *w, const char *line, size_t len)
{
	char why[200];

	if (forensic_rec_export_parse(line, len, &w->rep->from, &w->rep->to, w->prev,
	    why, sizeof(why)) == -1)
		BAD(w, 0, "line 1: %s", why);
	w->expect = w->rep->from;
	return 0;
}

/* The end of the walk: what the flags ask of the last records. */
static int
walk_end(struct walk *w)
{
	struct forensic_report *rep = w->rep;

	if (w->flags & FORENSIC_VERIFY_RANGE) {
		if (rep->last_seq < rep->to || rep->signed_seq < rep->to)
			BAD(w, rep->signed_seq + 1 > rep->from ? rep->signed_seq + 1 : rep->from,
			    "the export ends at record %" PRIu64 " without a checkpoint "
			    "covering records %" PRIu64 "..%" PRIu64, rep->last_seq,
			    rep->from, rep->to);
	} else if ((w->flags & FORENSIC_VERIFY_CLOSED) && rep->signed_seq < rep->last_seq) {
		BAD(w, rep->signed_seq + 1, "records %" PRIu64 "..%" PRIu64 " follow the last "
		    "checkpoint (the log was not closed, or its end was cut off)",
		    rep->signed_seq + 1, rep->last_seq);
	}
	return 0;
}

static int
walk_run(struct walk *w)
{
	struct forensic_report *rep = w->rep;
	enum walk_got got;
	char *line = NULL;
	size_t len;
	int rc;

	memcpy(w->prev, zero_hash, sizeof(w->prev));
	w->expect = 1;
	for (;;) {
		got = walk_line(w, &line, &len);
		if (got == WALK_EOF)
			return walk_end(w);
		if (got == WALK_ERR) {
			rep->status = FORENSIC_ERROR;
			snprintf(rep->reason, sizeof(rep->reason), "read: %s", strerror(errno));
			return -1;
		}
		w->line_no++;
		if (got == WALK_LONG)
			BAD(w, w->expect, "line %" PRIu64 " (where record %" PRIu64 " belongs) "
			    "is longer than %d bytes", w->line_no, w->expect, FORENSIC_LINE_MAX);
		if (got == WALK_PARTIAL) {
			rep->status = FORENSIC_TORN;
			rep->bad_seq = w->expect;
			rep->bad_line = w->line_no;
			rep->torn_off = (int64_t)w->line_off;
			snprintf(rep->reason, sizeof(rep->reason), "torn tail: line %" PRIu64
			    " (record %" PRIu64 ") is a partial record of %zu bytes at offset %lld "
			    "with no newline (an interrupted write, not an edit); records up "
			    "to %" PRIu64 " verified", w->line_no, w->expect, len,
			    (long long)w->line_off, rep->last_seq);
			return 1;
		}
		if (w->line_no == 1 && (w->flags & FORENSIC_VERIFY_RANGE))
			rc = walk_header(w, line, len);
		else
			rc = walk_record(w, line, len);
		if (rc == -1)
			return -1;
		if (rc == 1)
			return rep->status == FORENSIC_OK ? 0 : 1;
	}
}

static int
walk_fd(int fd, gnutls_pubkey_t pub, unsigned flags, struct forensic_report *rep,
    walk_visit visit, void *ctx)
{
	struct walk w = { .fd = fd, .pub = pub, .flags = flags, .rep = rep,
	    .visit = visit, .ctx = ctx };
	int rc;

	memset(rep, 0, sizeof(*rep));
	memcpy(rep->last_hash, zero_hash, sizeof(rep->last_hash));
	rep->keyed = pub != NULL;
	if (pub != NULL && forensic_key_id(pub, w.keyid) == -1) {
		rep->status = FORENSIC_ERROR;
		snprintf(rep->reason, sizeof(rep->reason), "cannot compute the key's id");
		return -1;
	}
	if ((w.buf = malloc(WALK_BUF)) == NULL) {
		rep->status = FORENSIC_ERROR;
		snprintf(rep->reason, sizeof(rep->reason), "out of memory");
		return -1;
	}
	rc = walk_run(&w);
	free(w.buf);
	return rc;
}

int
forensic_walk(int fd, gnutls_pubkey_t pub, unsigned flags, struct forensic_report *rep)
{
	return walk_fd(fd, pub, flags, rep, NULL, NULL);
}

/* Opens path and the key for reading.  0, or -1 (rep set). */
static int
verify_open(const char *path, const char *key_path, struct forensic_report *rep,
    int *fd, gnutls_pubkey_t *pub)
{
	char err[400];

	memset(rep, 0, sizeof(*rep));
	*pub = NULL;
	if (key_path != NULL && forensic_key_load_pub(key_path, pub, err, sizeof(err)) == -1) {
		rep->status = FORENSIC_ERROR;
		snprintf(rep->reason, sizeof(rep->reason), "%s", err);
		return -1;
	}
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		rep->status = FORENSIC_ERROR;
		snprintf(rep->reason, sizeof(rep->reason), "%s: %s", path, strerror(errno));
		gnutls_pubkey_deinit(*pub);
		*pub = NULL;
		return -1;
	}
	return 0;
}

int
forensic_verify(const char *path, const char *key_path, unsigned flags,
    struct forensic_report *rep)
{
	gnutls_pubkey_t pub;
	int fd, rc;

	if ((flags & FORENSIC_VERIFY_RANGE) && key_path == NULL) {
		memset(rep, 0, sizeof(*rep));
		rep->status = FORENSIC_ERROR;
		snprintf(rep->reason, sizeof(rep->reason),
		    "an export proves nothing without the key: give the public key");
		return -1;
	}
	if (verify_open(path, key_path, rep, &fd, &pub) == -1)
		return -1;
	rc = walk_fd(fd, pub, flags, rep, NULL, NULL);
	close(fd);
	gnutls_pubkey_deinit(pub);
	return rc;
}

struct export_ctx {
	int      fd;
	uint64_t from, to;
	int      done;       /* the covering checkpoint was written */
};

static int
export_visit(void *arg, const struct forensic_rec *r, const char *line, size_t len,
    struct forensic_report *rep)
{
	struct export_ctx *x = arg;
	char head[200];
	int n;

	if (r->seq < x->from)
		return 0;
	if (r->seq == x->from) {
		n = snprintf(head, sizeof(head), "%s\t1\t%" PRIu64 "\t%" PRIu64 "\t%s\n",
		    FORENSIC_EXPORT_MAGIC, x->from, x->to, r->prev);
		if (fdio_write_all(x->fd, head, (size_t)n) == -1)
			goto fail;
	}
	if (fdio_write_all(x->fd, line, len + 1) == -1)
		goto fail;
	if (r->seq > x->to && strcmp(r->type, FORENSIC_CHECKPOINT) == 0) {
		x->done = 1;
		return 1;
	}
	return 0;
fail:
	rep->status = FORENSIC_ERROR;
	snprintf(rep->reason, sizeof(rep->reason), "writing the export: %s", strerror(errno));
	return -1;
}

int
forensic_export(const char *path, const char *key_path, uint64_t from, uint64_t to,
    int out_fd, struct forensic_report *rep)
{
	struct export_ctx x = { .fd = out_fd, .from = from, .to = to };
	gnutls_pubkey_t pub;
	int fd, rc;

	if (from == 0 || to < from) {
		memset(rep, 0, sizeof(*rep));
		rep->status = FORENSIC_ERROR;
		snprintf(rep->reason, sizeof(rep->reason), "bad range %" PRIu64 "..%" PRIu64,
		    from, to);
		return -1;
	}
	if (verify_open(path, key_path, rep, &fd, &pub) == -1)
		return -1;
	rc = walk_fd(fd, pub, 0, rep, export_visit, &x);
	close(fd);
	gnutls_pubkey_deinit(pub);
	if (rc != 0 || x.done)
		return rc;
	rep->status = FORENSIC_BAD;
	rep->bad_seq = rep->last_seq < to ? rep->last_seq + 1 : rep->signed_seq + 1;
	if (rep->last_seq < to)
		snprintf(rep->reason, sizeof(rep->reason), "the log ends at record %" PRIu64
		    ", before %" PRIu64, rep->last_seq, to);
	else
		snprintf(rep->reason, sizeof(rep->reason), "record %" PRIu64 " is not covered "
		    "by a checkpoint yet (one comes every so many records and at close)", to);
	return 1;
}
