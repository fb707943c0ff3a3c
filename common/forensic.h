/*
 * forensic - moat-secmgr's tamper-evident forensic log (issue 12).
 *
 * An append-only file of records, one per line, each carrying the SHA-256
 * of the record before it, so that an edit, a deletion, an insertion or a
 * reordering breaks the chain at the first record touched; every so many
 * records (and at close) a checkpoint signed with the key from config
 * (secmgr.forensic_key) binds the chain so far to the key's holder.
 * `moatctl forensic verify` walks the file and names the first bad record;
 * `moatctl forensic export` writes a range with what proves it.
 *
 * Writers: one process (moat-secmgr), one thread.  A record is on disk
 * (fdatasync) before forensic_append returns 0; -1 means it is not, and the
 * caller must stop responding (fail closed) and say so.
 */
#ifndef MOAT_FORENSIC_H
#define MOAT_FORENSIC_H

#include <stddef.h>
#include <stdint.h>

struct forensic;

/* Opens (creating) the log at path, checks its last record's chain and
 * resumes it; key_path is a PEM private key (Ed25519) for the checkpoints
 * (NULL: no checkpoints).  every = records between checkpoints (0 counts
 * as 1).  The whole existing file is verified first (with the key's public
 * half): a bad log is not resumed.  A torn tail (a partial line: a record
 * whose append never returned 0, cut by a crash) is moved to path.torn.OFFSET
 * and recorded in the chain as a "torn" record, so the writer restarts
 * after a crash without losing the evidence.  Returns a handle, or NULL
 * with the reason in err. */
struct forensic *forensic_open(const char *path, const char *key_path, unsigned every,
    char *err, size_t errlen);
/* Appends one record: type ("event", "response", ...), the event id it is
 * about (0 none) and a JSON object (copied as is; the caller made it).
 * 0 when it is durable, -1 (logged, and forensic_error tells why) when not. */
int  forensic_append(struct forensic *f, const char *type, int64_t event_id,
    const char *json);
/* forensic_append without the fdatasync: the record (and a checkpoint it
 * brings) is written but durable only once forensic_sync returns 0 - for a
 * writer that logs many records per transaction of its own (write them,
 * forensic_sync, then commit).  0 or -1, as forensic_append. */
int  forensic_append_batch(struct forensic *f, const char *type, int64_t event_id,
    const char *json);
/* Makes every record written so far durable (fdatasync).  0, or -1: the
 * state on disk is unknown; the handle refuses every further record. */
int  forensic_sync(struct forensic *f);
/* The last failure's text, "" when none. */
const char *forensic_error(const struct forensic *f);
/* Writes a checkpoint when records followed the last one, syncs, closes. */
void forensic_close(struct forensic *f);

/* The last record written (0 before any). */
uint64_t forensic_seq(const struct forensic *f);

/*
 * Verifying (any process; the log is only read).  The log is walked from
 * its first line; the first problem found ends the walk and is reported.
 */
enum forensic_status {
	FORENSIC_OK = 0,       /* every record chains, every checkpoint verifies */
	FORENSIC_BAD,          /* edited, deleted, inserted or reordered records,
	                        * or a checkpoint that does not verify */
	FORENSIC_TORN,         /* every whole record is good, but the file ends in
	                        * a partial line: an interrupted write, not an edit */
	FORENSIC_ERROR,        /* could not check: I/O error, unusable key */
};

struct forensic_report {
	enum forensic_status status;
	uint64_t records;        /* good records read (checkpoints included) */
	uint64_t last_seq;       /* the last good record's seq (0: none) */
	char     last_hash[65];  /* its hash (64 zeros: none) */
	uint64_t checkpoints;    /* checkpoints whose signature verified */
	uint64_t signed_seq;     /* last seq a verified checkpoint covers (0: none) */
	uint64_t bad_seq;        /* BAD/TORN: the first bad record's seq */
	uint64_t bad_line;       /* BAD/TORN: its line number (1-based) */
	int      keyed;          /* a key was given: signatures were checked */
	uint64_t from, to;       /* FORENSIC_VERIFY_RANGE: the export's range */
	int64_t  torn_off;       /* TORN: the partial line's offset in the file */
	char     reason[512];    /* BAD/TORN/ERROR: why, one line */
};

/* Records after the last verified checkpoint make the log BAD (for a log
 * that was closed: its writer ends with a checkpoint).  Without it they are
 * reported (signed_seq < last_seq) but the log is OK. */
#define FORENSIC_VERIFY_CLOSED 0x1u
/* path is an export (forensic_export): its range must be covered by a
 * checkpoint verified with the key, which is then required. */
#define FORENSIC_VERIFY_RANGE  0x2u

/* Verifies the log at path; key_path: a PEM public key, or the private key
 * (its public half is used); NULL checks the chain but no signature.
 * Returns 0 (OK), 1 (BAD or TORN) or -1 (ERROR); rep says which and why. */
int  forensic_verify(const char *path, const char *key_path, unsigned flags,
    struct forensic_report *rep);
/* Writes records from..to of the log at path to out_fd as an export: a
 * header line (range and the hash of the record before from), the records
 * from..C where C is the first checkpoint covering to.  The source is
 * verified up to C on the way (with key_path when not NULL).  Returns 0, 1
 * (the source is bad, or the range is not covered by a checkpoint yet:
 * rep->reason) or -1 (I/O; rep->reason).  The caller owns out_fd. */
int  forensic_export(const char *path, const char *key_path, uint64_t from, uint64_t to,
    int out_fd, struct forensic_report *rep);

#endif
