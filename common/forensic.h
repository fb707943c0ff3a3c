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
 * (NULL: no checkpoints).  every = records between checkpoints.  Returns a
 * handle, or NULL with the reason in err. */
struct forensic *forensic_open(const char *path, const char *key_path, unsigned every,
    char *err, size_t errlen);
/* Appends one record: type ("event", "response", ...), the event id it is
 * about (0 none) and a JSON object (copied as is; the caller made it).
 * 0 when it is durable, -1 (logged, and forensic_error tells why) when not. */
int  forensic_append(struct forensic *f, const char *type, int64_t event_id,
    const char *json);
/* The last failure's text, "" when none. */
const char *forensic_error(const struct forensic *f);
/* Writes a checkpoint when records followed the last one, syncs, closes. */
void forensic_close(struct forensic *f);

#endif
