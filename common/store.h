/*
 * store - Moat's SQLite layer (DESIGN.md "Store").
 *
 * WAL mode, a busy timeout (lock waits are retried, then reported as a
 * temporary failure), statements prepared once with bound parameters only.
 * Every lookup is tri-state: -1 error, 0 absent, 1 found.  An error never
 * reads as "allowed": callers map -1 to their configured failure action.
 *
 * A struct store is one connection; it is not shared between threads (each
 * thread that needs SQL opens its own; the hot mail path needs none: it reads
 * the policy snapshot, policy.h).
 */
#ifndef MOAT_STORE_H
#define MOAT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

/* The schema version this build writes and needs. */
#define STORE_SCHEMA_VERSION 7
#define STORE_MIGRATE_HINT "run `moatctl db migrate` to upgrade it"

enum store_flags {
	STORE_READONLY  = 1 << 0,
	STORE_NOCHECK   = 1 << 1,  /* skip the schema check (moatctl db init/migrate) */
	STORE_QUIET     = 1 << 2,  /* failures are not logged: the caller reports
	                              them (store_errtext) */
};

/*
 * What a failure was.  Callers test the kind, never the message text:
 * STORE_BUSY is a lock held by another connection past the busy timeout (a
 * temporary failure: tempfail or "try again"), STORE_CONSTRAINT a row the
 * schema refused, STORE_ERROR anything else.
 */
enum store_kind {
	STORE_OK = 0,
	STORE_ERROR,
	STORE_BUSY,
	STORE_CONSTRAINT,
};

/* store_step()'s results: a row, the end, or a failure (see store_kind). */
enum store_step {
	STORE_STEP_ERROR = -1,
	STORE_STEP_DONE  = 0,
	STORE_STEP_ROW   = 1,
};

struct store {
	sqlite3        *db;
	char           *path;
	int             busy_ms;
	int             flags;   /* enum store_flags */
	enum store_kind kind;    /* of the last failure (store_kind()) */
};

/*
 * Opens path (which must exist unless it is being initialised with
 * STORE_NOCHECK), sets WAL, foreign keys and the busy timeout, and checks
 * the schema version: a missing, foreign or older schema is refused with a
 * message naming `moatctl db migrate` (or `moatctl db init`).  Returns 0, or
 * -1 with the reason in err (and *out NULL).
 */
int  store_open(const char *path, int flags, int busy_ms, struct store **out,
    char *err, size_t errlen);
/* As store_open; *kind (when not NULL) says what a failure was. */
int  store_open_kind(const char *path, int flags, int busy_ms,
    struct store **out, enum store_kind *kind, char *err, size_t errlen);
void store_close(struct store *st);

/* Prepares once per call site: *stmt is kept in the store's statement cache
 * keyed by sql text pointer; reset and cleared bindings on return.  Returns
 * NULL on error (logged). */
sqlite3_stmt *store_prepare(struct store *st, const char *sql);

/*
 * The one way to step a statement.  Returns STORE_STEP_ROW, STORE_STEP_DONE,
 * or STORE_STEP_ERROR after logging "PATH: what: reason" (the lock text for
 * a busy store) and resetting stmt; store_kind(st) then says what it was.
 * A statement that ends (DONE or error) is reset, so no read transaction is
 * left open by a finished loop.
 */
int  store_step(struct store *st, sqlite3_stmt *stmt, const char *what);
/* Steps stmt to its end: 0, or -1 (logged, kind set). */
int  store_run_stmt(struct store *st, sqlite3_stmt *stmt, const char *what);
/* The kind of the last failure on st (STORE_OK before any). */
enum store_kind store_kind(const struct store *st);
/* The reason of the last failure, for a message: the lock text for
 * STORE_BUSY, else SQLite's. */
const char *store_errtext(const struct store *st);
/* The text for a kind's temporary failure, for messages. */
#define STORE_LOCKED_TEXT "database is locked (temporary failure)"

/* Schema version in meta, -1 on error, 0 when the file has no Moat schema. */
int  store_schema_version(struct store *st);
/* Creates the current schema on an empty database. 0 or -1 (err set). */
int  store_init(struct store *st, char *err, size_t errlen);
/* Applies the embedded migrations from the file's version up to
 * STORE_SCHEMA_VERSION, each in its own transaction.  Returns the number
 * applied, or -1 with err set (the failed step rolled back). */
int  store_migrate(struct store *st, char *err, size_t errlen);
/* Runs the embedded demo seed (sql/seed-demo.sql) in one transaction. */
int  store_seed_demo(struct store *st, char *err, size_t errlen);

/* Current meta.policy_generation, or -1 on error. */
int64_t store_policy_generation(struct store *st);

/* Transactions: store_begin is BEGIN IMMEDIATE, so writers queue on the busy
 * timeout; store_begin_read is a deferred BEGIN (one snapshot for several
 * reads).  0, or -1 (logged, store_kind() set). */
int  store_begin(struct store *st);
int  store_begin_read(struct store *st);
int  store_commit(struct store *st);
void store_rollback(struct store *st);

/* Runs a whole SQL script (trusted text: embedded schema/migrations only). */
int  store_exec_script(struct store *st, const char *sql, char *err, size_t errlen);

/* Embedded SQL texts (generated from sql/ at build time). */
extern const char store_sql_schema[];
extern const char store_sql_seed_demo[];
struct store_migration { int version; const char *name; const char *sql; };
extern const struct store_migration store_migrations[];  /* ends with version 0 */

#endif
