/*
 * store - Moat's SQLite layer (see store.h for the contract).
 *
 * Ownership: a struct store is one SQLite connection plus its statement
 * cache; store_open() allocates both, store_close() frees both.  The public
 * struct store is the first member of the private struct store_conn, so
 * callers see only store.h while the cache stays private to this file.
 *
 * Errors are results: every SQL failure returns -1 (with the reason in err
 * or in the log), never exits.  A database held by another writer past the
 * busy timeout is reported as "database is locked (temporary failure)" so the
 * caller can tempfail and retry rather than treat it as a verdict.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"

struct store_stmt {
	const char   *sql;       /* cache key: the caller's static SQL text */
	sqlite3_stmt *stmt;
};

struct store_conn {
	struct store       st;      /* must stay first: store.h's view */
	struct store_stmt *cache;
	size_t             ncache, capcache;
};

static const char sql_begin_immediate[] = "BEGIN IMMEDIATE";
static const char sql_begin_read[] = "BEGIN";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_has_meta[] =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'";
static const char sql_objects[] =
    "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'";
static const char sql_meta_get[] = "SELECT value FROM meta WHERE key = ?1";

static struct store_conn *
store_conn(struct store *st)
{
	return (struct store_conn *)st;
}

static int
store_rc_locked(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/* The one mapping from SQLite's result codes to the kinds callers test. */
static enum store_kind
store_rc_kind(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return STORE_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	case SQLITE_CONSTRAINT:
		return STORE_CONSTRAINT;
	default:
		return STORE_ERROR;
	}
}

/* Records rc as the kind of st's last failure. */
static void
store_setkind(struct store *st, int rc)
{
	enum store_kind	k = store_rc_kind(rc);

	/* A failure reported without a code (SQLite's was reset away) keeps
	 * the kind its step recorded. */
	if (k == STORE_OK)
		k = st->kind != STORE_OK ? st->kind : STORE_ERROR;
	st->kind = k;
}

enum store_kind
store_kind(const struct store *st)
{
	return st->kind;
}

const char *
store_errtext(const struct store *st)
{
	if (st->kind == STORE_BUSY)
		return STORE_LOCKED_TEXT;
	return sqlite3_errmsg(st->db);
}

/* "PATH: what: reason", where reason is the locked text for a lock timeout. */
static void
store_seterr(struct store *st, char *err, size_t errlen, int rc, const char *what)
{
	const char *why;

	store_setkind(st, rc);
	if (err == NULL || errlen == 0)
		return;
	if ((rc & 0xff) == SQLITE_NOTADB) {
		snprintf(err, errlen, "%s: not a Moat store (not an SQLite "
		    "database)", st->path);
		return;
	}
	why = store_rc_locked(rc) ? STORE_LOCKED_TEXT : sqlite3_errmsg(st->db);
	snprintf(err, errlen, "%s: %s: %s", st->path, what, why);
}

static void LOG_PRINTF(4, 5)
store_errf(struct store *st, char *err, size_t errlen, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	st->kind = STORE_ERROR;
	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", st->path, msg);
}

/* Logs a failed statement the way every caller would. */
static void
store_logerr(struct store *st, int rc, const char *what)
{
	store_setkind(st, rc);
	if (st->flags & STORE_QUIET)
		return;
	if (store_rc_locked(rc))
		log_warnx("%s: %s: %s", st->path, what, STORE_LOCKED_TEXT);
	else
		log_warnx("%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

/*
 * The statement cache.  Keyed by the SQL text pointer, so sql must have
 * static storage (a literal or a static const array): the same pointer is
 * always the same statement.  Statements are finalized by store_close().
 */
sqlite3_stmt *
store_prepare(struct store *st, const char *sql)
{
	struct store_conn	*c = store_conn(st);
	struct store_stmt	*e, *ncache;
	sqlite3_stmt		*stmt;
	size_t			 i, ncap;
	int			 rc;

	for (i = 0; i < c->ncache; i++) {
		e = &c->cache[i];
		if (e->sql == sql) {
			sqlite3_reset(e->stmt);
			sqlite3_clear_bindings(e->stmt);
			return e->stmt;
		}
	}
	rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &stmt, NULL);
	if (rc != SQLITE_OK || stmt == NULL) {
		store_logerr(st, rc, "prepare");
		log_debug("%s: failed SQL: %s", st->path, sql);
		sqlite3_finalize(stmt);
		return NULL;
	}
	if (c->ncache == c->capcache) {
		ncap = c->capcache ? c->capcache * 2 : 16;
		ncache = reallocarray(c->cache, ncap, sizeof(*ncache));
		if (ncache == NULL) {
			log_warn("%s: statement cache", st->path);
			sqlite3_finalize(stmt);
			return NULL;
		}
		c->cache = ncache;
		c->capcache = ncap;
	}
	c->cache[c->ncache].sql = sql;
	c->cache[c->ncache].stmt = stmt;
	c->ncache++;
	return stmt;
}

int
store_step(struct store *st, sqlite3_stmt *stmt, const char *what)
{
	int	rc;

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		return STORE_STEP_ROW;
	if (rc == SQLITE_DONE) {
		sqlite3_reset(stmt);
		return STORE_STEP_DONE;
	}
	/* Logged before the reset: the reset may replace the message. */
	store_logerr(st, rc, what);
	sqlite3_reset(stmt);
	return STORE_STEP_ERROR;
}

int
store_run_stmt(struct store *st, sqlite3_stmt *stmt, const char *what)
{
	int	r;

	while ((r = store_step(st, stmt, what)) == STORE_STEP_ROW)
		;
	return r == STORE_STEP_DONE ? 0 : -1;
}

/* Runs a cached statement that returns no rows of interest; on failure *rcp
 * is SQLite's code for the caller's message (the kind is set). */
static int
store_run(struct store *st, const char *sql, int *rcp)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_prepare(st, sql)) == NULL) {
		*rcp = sqlite3_errcode(st->db);
		store_setkind(st, *rcp);
		return -1;
	}
	do
		rc = sqlite3_step(stmt);
	while (rc == SQLITE_ROW);
	*rcp = rc;
	if (rc != SQLITE_DONE)
		store_setkind(st, rc);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* One integer from a one-column query; -1 on error. */
static int
store_count(struct store *st, const char *sql, int64_t *out)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_prepare(st, sql)) == NULL)
		return -1;
	if ((rc = store_step(st, stmt, "query")) != STORE_STEP_ROW) {
		if (rc == STORE_STEP_DONE)
			st->kind = STORE_ERROR;   /* count(*) always has a row */
		return -1;
	}
	*out = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return 0;
}

/*
 * An integer value of meta.  Returns 1 with *out, 0 when the key is absent,
 * -1 on an SQL error or a value that is not an integer.  The statement is
 * reset before returning so no read transaction stays open (a watcher polling
 * with a statement left mid-step would never see a new commit).
 */
static int
store_meta_int(struct store *st, const char *key, int64_t *out)
{
	sqlite3_stmt		*stmt;
	const unsigned char	*text;
	char			*end;
	long long		 v;
	int			 rc, ret = -1;

	if ((stmt = store_prepare(st, sql_meta_get)) == NULL)
		return -1;
	if (sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
		store_logerr(st, SQLITE_ERROR, "bind");
		return -1;
	}
	rc = store_step(st, stmt, "meta");
	if (rc == STORE_STEP_DONE)
		ret = 0;
	else if (rc == STORE_STEP_ERROR)
		return -1;
	else if (sqlite3_column_type(stmt, 0) == SQLITE_INTEGER) {
		*out = sqlite3_column_int64(stmt, 0);
		ret = 1;
	} else if ((text = sqlite3_column_text(stmt, 0)) != NULL) {
		errno = 0;
		v = strtoll((const char *)text, &end, 10);
		if (errno == 0 && end != (const char *)text && *end == '\0') {
			*out = v;
			ret = 1;
		} else
			log_warnx("%s: meta %s is not an integer: \"%s\"",
			    st->path, key, text);
	} else
		log_warnx("%s: meta %s is empty", st->path, key);
	sqlite3_reset(stmt);
	return ret;
}

int
store_schema_version(struct store *st)
{
	int64_t	n, v;
	int	r;

	if (store_count(st, sql_has_meta, &n) == -1)
		return -1;
	if (n == 0)
		return 0;
	if ((r = store_meta_int(st, "schema_version", &v)) <= 0)
		return r;
	if (v < 1 || v > 1000000) {
		log_warnx("%s: implausible schema_version %" PRId64, st->path, v);
		return -1;
	}
	return (int)v;
}

int64_t
store_policy_generation(struct store *st)
{
	int64_t	v;
	int	r;

	if ((r = store_meta_int(st, "policy_generation", &v)) == 1)
		return v;
	if (r == 0)
		log_warnx("%s: meta has no policy_generation", st->path);
	return -1;
}

/*
 * Refuses a file that is not a Moat store of exactly this schema version.
 * Reads only, so a refused file is left as it was.
 */
static int
store_check(struct store *st, char *err, size_t errlen)
{
	int64_t	objects;
	int	v;

	if ((v = store_schema_version(st)) == -1) {
		store_seterr(st, err, errlen, sqlite3_errcode(st->db),
		    "cannot read the schema version");
		return -1;
	}
	if (v == 0) {
		if (store_count(st, sql_objects, &objects) == -1) {
			store_seterr(st, err, errlen, sqlite3_errcode(st->db),
			    "cannot read the schema");
			return -1;
		}
		if (objects == 0)
			store_errf(st, err, errlen, "not a Moat store (no schema); "
			    "run `moatctl db init`");
		else
			store_errf(st, err, errlen, "not a Moat store (it holds "
			    "%" PRId64 " other schema objects and no Moat schema)",
			    objects);
		return -1;
	}
	if (v < STORE_SCHEMA_VERSION) {
		store_errf(st, err, errlen, "schema version %d is older than the "
		    "%d this program needs; " STORE_MIGRATE_HINT,
		    v, STORE_SCHEMA_VERSION);
		return -1;
	}
	if (v > STORE_SCHEMA_VERSION) {
		store_errf(st, err, errlen, "schema version %d is newer than "
		    "this program knows (%d); upgrade Moat", v,
		    STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

static int
store_pragma(struct store *st, const char *sql, char *err, size_t errlen)
{
	int	rc;

	rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		store_seterr(st, err, errlen, rc, sql);
		return -1;
	}
	return 0;
}

int
store_open(const char *path, int flags, int busy_ms, struct store **out,
    char *err, size_t errlen)
{
	return store_open_kind(path, flags, busy_ms, out, NULL, err, errlen);
}

int
store_open_kind(const char *path, int flags, int busy_ms, struct store **out,
    enum store_kind *kind, char *err, size_t errlen)
{
	struct store_conn	*c;
	struct store		*st;
	int			 oflags, rc;

	*out = NULL;
	if (kind != NULL)
		*kind = STORE_ERROR;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->st.path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(c);
		return -1;
	}
	st = &c->st;
	st->busy_ms = busy_ms;
	st->flags = flags;

	/* Only `moatctl db init` (STORE_NOCHECK) may create the file: a
	 * daemon pointed at a wrong path must fail, not make an empty store. */
	oflags = SQLITE_OPEN_NOMUTEX;
	if (flags & STORE_READONLY)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE;
	if ((flags & STORE_NOCHECK) && !(flags & STORE_READONLY))
		oflags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &st->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		if (kind != NULL && store_rc_kind(rc) == STORE_BUSY)
			*kind = STORE_BUSY;
		store_close(st);
		return -1;
	}
	sqlite3_busy_timeout(st->db, busy_ms);

	if (store_pragma(st, "PRAGMA foreign_keys = ON", err, errlen) == -1)
		goto fail;
	/* Check before anything writes: a refused file stays untouched. */
	if (!(flags & STORE_NOCHECK) && store_check(st, err, errlen) == -1)
		goto fail;
	/* A read-only connection cannot set the journal mode; it follows the
	 * file's (WAL, set by whoever initialised it). */
	if (!(flags & STORE_READONLY) &&
	    store_pragma(st, "PRAGMA journal_mode = WAL", err, errlen) == -1)
		goto fail;
	if (store_pragma(st, "PRAGMA synchronous = NORMAL", err, errlen) == -1)
		goto fail;
	st->kind = STORE_OK;
	*out = st;
	if (kind != NULL)
		*kind = STORE_OK;
	return 0;
fail:
	if (kind != NULL && st->kind != STORE_OK)
		*kind = st->kind;
	store_close(st);
	return -1;
}

void
store_close(struct store *st)
{
	struct store_conn	*c;
	size_t			 i;

	if (st == NULL)
		return;
	c = store_conn(st);
	for (i = 0; i < c->ncache; i++)
		sqlite3_finalize(c->cache[i].stmt);
	free(c->cache);
	/* close_v2: a statement the caller forgot cannot keep the file open
	 * forever; it is released with its last finalize. */
	if (st->db != NULL)
		sqlite3_close_v2(st->db);
	free(st->path);
	free(c);
}

int
store_begin(struct store *st)
{
	int	rc;

	if (store_run(st, sql_begin_immediate, &rc) == -1) {
		store_logerr(st, rc, "begin");
		return -1;
	}
	return 0;
}

int
store_begin_read(struct store *st)
{
	int	rc;

	if (store_run(st, sql_begin_read, &rc) == -1) {
		store_logerr(st, rc, "begin");
		return -1;
	}
	return 0;
}

int
store_commit(struct store *st)
{
	int	rc;

	if (store_run(st, sql_commit, &rc) == -1) {
		store_logerr(st, rc, "commit");
		return -1;
	}
	return 0;
}

/* Safe to call when no transaction is open (after a failed COMMIT SQLite may
 * already have rolled back). */
void
store_rollback(struct store *st)
{
	int	rc;

	if (sqlite3_get_autocommit(st->db))
		return;
	if (store_run(st, sql_rollback, &rc) == -1)
		store_logerr(st, rc, "rollback");
}

int
store_exec_script(struct store *st, const char *sql, char *err, size_t errlen)
{
	char	*msg = NULL;
	int	 rc;

	rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		if (store_rc_locked(rc))
			store_errf(st, err, errlen, "%s", STORE_LOCKED_TEXT);
		else
			store_errf(st, err, errlen, "%s",
			    msg ? msg : sqlite3_errstr(rc));
		store_setkind(st, rc);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Runs a trusted script inside BEGIN IMMEDIATE .. COMMIT; all or nothing. */
static int
store_exec_txn(struct store *st, const char *sql, const char *what, char *err,
    size_t errlen)
{
	char	sub[256];
	int	rc;

	if (store_run(st, sql_begin_immediate, &rc) == -1) {
		store_seterr(st, err, errlen, rc, what);
		return -1;
	}
	if (store_exec_script(st, sql, sub, sizeof(sub)) == -1) {
		store_rollback(st);
		snprintf(err, errlen, "%s: %s", what, sub);
		return -1;
	}
	if (store_run(st, sql_commit, &rc) == -1) {
		store_seterr(st, err, errlen, rc, what);
		store_rollback(st);
		return -1;
	}
	return 0;
}

int
store_init(struct store *st, char *err, size_t errlen)
{
	int64_t	objects;
	int	rc;

	if (store_run(st, sql_begin_immediate, &rc) == -1) {
		store_seterr(st, err, errlen, rc, "init");
		return -1;
	}
	/* Counted inside the write transaction: two concurrent inits cannot
	 * both see an empty file. */
	if (store_count(st, sql_objects, &objects) == -1) {
		store_seterr(st, err, errlen, sqlite3_errcode(st->db), "init");
		goto fail;
	}
	if (objects != 0) {
		store_errf(st, err, errlen, "init: the file already holds a "
		    "schema (%" PRId64 " objects); refusing to overwrite it",
		    objects);
		goto fail;
	}
	if (store_exec_script(st, store_sql_schema, err, errlen) == -1)
		goto fail;
	if (store_run(st, sql_commit, &rc) == -1) {
		store_seterr(st, err, errlen, rc, "init");
		goto fail;
	}
	log_info("%s: initialised schema version %d", st->path,
	    STORE_SCHEMA_VERSION);
	return 0;
fail:
	store_rollback(st);
	return -1;
}

/*
 * Each step runs in its own BEGIN IMMEDIATE transaction that also re-reads
 * the version, so two concurrent migrators serialise and the second finds
 * nothing left to do.  A step must end at exactly its own version; anything
 * else is rolled back as a broken migration.
 */
int
store_migrate(struct store *st, char *err, size_t errlen)
{
	const struct store_migration	*m;
	char				 sub[256];
	int				 applied = 0, rc, v, after;

	for (;;) {
		if (store_run(st, sql_begin_immediate, &rc) == -1) {
			store_seterr(st, err, errlen, rc, "migrate");
			return -1;
		}
		if ((v = store_schema_version(st)) == -1) {
			store_seterr(st, err, errlen, sqlite3_errcode(st->db),
			    "migrate: cannot read the schema version");
			goto fail;
		}
		if (v == 0) {
			store_errf(st, err, errlen, "not a Moat store (no "
			    "schema); run `moatctl db init`");
			goto fail;
		}
		if (v > STORE_SCHEMA_VERSION) {
			store_errf(st, err, errlen, "schema version %d is newer "
			    "than this program knows (%d)", v,
			    STORE_SCHEMA_VERSION);
			goto fail;
		}
		for (m = store_migrations; m->version != 0; m++)
			if (m->version > v)
				break;
		if (m->version == 0 || v == STORE_SCHEMA_VERSION) {
			store_rollback(st);
			if (v != STORE_SCHEMA_VERSION) {
				store_errf(st, err, errlen, "no migration from "
				    "schema version %d", v);
				return -1;
			}
			return applied;
		}
		if (store_exec_script(st, m->sql, sub, sizeof(sub)) == -1) {
			snprintf(err, errlen, "migration %s: %s", m->name, sub);
			goto fail;
		}
		if ((after = store_schema_version(st)) != m->version) {
			store_errf(st, err, errlen, "migration %s left schema "
			    "version %d, not %d", m->name, after, m->version);
			goto fail;
		}
		if (store_run(st, sql_commit, &rc) == -1) {
			store_seterr(st, err, errlen, rc, m->name);
			goto fail;
		}
		log_info("%s: applied migration %s (schema version %d)",
		    st->path, m->name, m->version);
		applied++;
	}
fail:
	store_rollback(st);
	return -1;
}

int
store_seed_demo(struct store *st, char *err, size_t errlen)
{
	return store_exec_txn(st, store_sql_seed_demo, "seed", err, errlen);
}
