/*
 * store_test - table-driven tests of store.c: open checks, init, migrate,
 * the statement cache, and a locked database.  Each case gets a fresh
 * directory under $TMPDIR; the v1 fixture is common/testdata/schema-v1.sql
 * under $MOAT_SRC.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "store.h"
#include "moat_test.h"

#define STR_(x) #x
#define STR(x) STR_(x)
/* Keep in step with STORE_SCHEMA_VERSION: a version this build does not know. */
#define STORE_SCHEMA_VERSION_NEXT 8
_Static_assert(STORE_SCHEMA_VERSION_NEXT == STORE_SCHEMA_VERSION + 1, "bump _NEXT");

static const char *src_dir;
static char base_dir[1024];

/* A fresh directory for the running case, under base_dir.  Exits when it
 * cannot make one: no case can run without it. */
static const char *
case_dir(void)
{
	static char	dir[1100];
	static int	n;

	snprintf(dir, sizeof(dir), "%s/%d", base_dir, n++);
	if (mkdir(dir, 0700) == -1) {
		fprintf(stderr, "mkdir %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	return dir;
}

/* Runs sql on a plain connection (as an operator's sqlite3 would). */
static int
raw_exec(const char *path, const char *sql)
{
	sqlite3	*db;
	char	*msg = NULL;
	int	 rc;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "  raw open %s: %s\n", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "  raw exec: %s\n", msg ? msg : "?");
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n < 0 || (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
make_v1(const char *path)
{
	char	 fixture[4096], *sql;
	int	 r;

	snprintf(fixture, sizeof(fixture), "%s/common/testdata/schema-v1.sql",
	    src_dir);
	if ((sql = slurp(fixture)) == NULL) {
		fprintf(stderr, "  cannot read %s: %s\n", fixture, strerror(errno));
		return -1;
	}
	r = raw_exec(path, sql);
	free(sql);
	return r;
}

/* Appends to out a line per row of a one-text-column query. */
static int
query_lines(const char *path, const char *sql, char *out, size_t outlen)
{
	sqlite3		*db;
	sqlite3_stmt	*stmt;
	size_t		 len = 0;
	int		 rc;

	out[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		fprintf(stderr, "  query: %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(stmt, 0);
		len += (size_t)snprintf(out + len, len < outlen ? outlen - len : 0,
		    "%s\n", t ? (const char *)t : "NULL");
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return rc == SQLITE_DONE && len < outlen ? 0 : -1;
}

static const char sql_objects[] =
    "SELECT type || ' ' || name FROM sqlite_master ORDER BY type, name";
static const char sql_master_all[] =
    "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master"
    " ORDER BY type, name";

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A fresh current-version store at path. */
static int
make_current(const char *path)
{
	struct store	*st;
	char		 err[512];

	if (store_open(path, STORE_NOCHECK, 1000, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "  open: %s\n", err);
		return -1;
	}
	if (store_init(st, err, sizeof(err)) == -1) {
		fprintf(stderr, "  init: %s\n", err);
		store_close(st);
		return -1;
	}
	store_close(st);
	return 0;
}

static void
case_init_empty(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	char		 path[4096], err[512], lines[256];
	int		 v;

	snprintf(path, sizeof(path), "%s/new.db", dir);
	if (store_open(path, STORE_NOCHECK, 1000, &st, err, sizeof(err)) == -1)
		TEST_FATAL("open NOCHECK: got -1 (%s), want 0", err);
	if ((v = store_schema_version(st)) != 0)
		TEST_FATAL("version of an empty file: got %d, want 0", v);
	if (store_init(st, err, sizeof(err)) == -1)
		TEST_FATAL("init: got -1 (%s), want 0", err);
	if ((v = store_schema_version(st)) != STORE_SCHEMA_VERSION)
		TEST_FATAL("version after init: got %d, want %d", v, STORE_SCHEMA_VERSION);
	if (store_policy_generation(st) < 1)
		TEST_FATAL("policy_generation after init: got %lld, want >= 1",
		    (long long)store_policy_generation(st));
	err[0] = '\0';
	if (store_init(st, err, sizeof(err)) != -1 ||
	    strstr(err, "already holds") == NULL)
		TEST_FATAL("second init: got err \"%s\", want -1 and \"already holds\"", err);
	store_close(st);

	if (store_open(path, 0, 1000, &st, err, sizeof(err)) == -1)
		TEST_FATAL("reopen with check: got -1 (%s), want 0", err);
	store_close(st);
	if (query_lines(path, "PRAGMA journal_mode", lines, sizeof(lines)) == -1 ||
	    strcmp(lines, "wal\n") != 0)
		TEST_FATAL("journal_mode: got \"%s\", want \"wal\"", lines);
}

static void
case_open_missing(void)
{
	const char	*dir = case_dir();
	struct store	*st = (struct store *)1;
	struct stat	 sb;
	char		 path[4096], err[512] = "";

	snprintf(path, sizeof(path), "%s/missing.db", dir);
	if (store_open(path, 0, 1000, &st, err, sizeof(err)) != -1)
		TEST_FATAL("open of a missing file: got 0, want -1");
	if (st != NULL)
		TEST_FATAL("*out after failure: got %p, want NULL", (void *)st);
	if (strstr(err, path) == NULL)
		TEST_FATAL("error \"%s\" does not name the file", err);
	if (stat(path, &sb) == 0)
		TEST_FATAL("a failed open created %s", path);
}

static void
case_open_empty(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	struct stat	 sb;
	char		 path[4096], err[512] = "";
	FILE		*f;

	snprintf(path, sizeof(path), "%s/empty.db", dir);
	if ((f = fopen(path, "w")) == NULL)
		TEST_FATAL("create %s: %s", path, strerror(errno));
	fclose(f);
	if (store_open(path, 0, 1000, &st, err, sizeof(err)) != -1)
		TEST_FATAL("open of an empty file: got 0, want -1");
	if (strstr(err, "not a Moat store") == NULL ||
	    strstr(err, "`moatctl db init`") == NULL)
		TEST_FATAL("error: got \"%s\", want \"not a Moat store ... "
		    "`moatctl db init`\"", err);
	if (stat(path, &sb) == -1 || sb.st_size != 0)
		TEST_FATAL("refused file was modified (size %lld)", (long long)sb.st_size);
}

static void
case_open_foreign(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	char		 path[4096], err[512] = "";

	snprintf(path, sizeof(path), "%s/foreign.db", dir);
	if (raw_exec(path, "CREATE TABLE bookmarks (url TEXT)") == -1)
		TEST_FATAL("fixture");
	if (store_open(path, 0, 1000, &st, err, sizeof(err)) != -1)
		TEST_FATAL("open of a foreign SQLite file: got 0, want -1");
	if (strstr(err, "not a Moat store") == NULL)
		TEST_FATAL("error: got \"%s\", want \"not a Moat store\"", err);
}

static void
case_open_text(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	char		 path[4096], err[512] = "";
	FILE		*f;

	snprintf(path, sizeof(path), "%s/text.db", dir);
	if ((f = fopen(path, "w")) == NULL)
		TEST_FATAL("create %s: %s", path, strerror(errno));
	for (int i = 0; i < 100; i++)
		fputs("this is a text file, not a database\n", f);
	fclose(f);
	if (store_open(path, 0, 1000, &st, err, sizeof(err)) != -1)
		TEST_FATAL("open of a text file: got 0, want -1");
	if (strstr(err, "not a Moat store") == NULL ||
	    strstr(err, "not an SQLite database") == NULL)
		TEST_FATAL("error: got \"%s\", want \"not a Moat store (not an "
		    "SQLite database)\"", err);
}

static void
case_open_v1(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	char		 path[4096], err[512] = "";

	snprintf(path, sizeof(path), "%s/v1.db", dir);
	if (make_v1(path) == -1)
		TEST_FATAL("fixture");
	if (store_open(path, 0, 1000, &st, err, sizeof(err)) != -1)
		TEST_FATAL("open of a v1 file: got 0, want -1");
	if (strstr(err, "schema version 1 is older than the " STR(STORE_SCHEMA_VERSION)) == NULL ||
	    strstr(err, "`moatctl db migrate`") == NULL)
		TEST_FATAL("error: got \"%s\", want \"schema version 1 is older than "
		    "the 2 ... `moatctl db migrate`\"", err);
}

static void
case_open_newer(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	char		 path[4096], err[512] = "";

	snprintf(path, sizeof(path), "%s/v3.db", dir);
	if (make_current(path) == -1 ||
	    raw_exec(path, "UPDATE meta SET value = '" STR(STORE_SCHEMA_VERSION_NEXT) "' WHERE key = 'schema_version'") == -1)
		TEST_FATAL("fixture");
	if (store_open(path, 0, 1000, &st, err, sizeof(err)) != -1)
		TEST_FATAL("open of a v3 file: got 0, want -1");
	if (strstr(err, "newer than this program knows") == NULL)
		TEST_FATAL("error: got \"%s\", want \"newer than this program knows\"", err);
}

static void
case_migrate_v1(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	char		 path[4096], fresh[4096], err[512] = "";
	char		 got[16384], want[16384], n[64];
	int		 r;

	snprintf(path, sizeof(path), "%s/v1.db", dir);
	snprintf(fresh, sizeof(fresh), "%s/fresh.db", dir);
	if (make_v1(path) == -1 || make_current(fresh) == -1)
		TEST_FATAL("fixture");
	if (store_open(path, STORE_NOCHECK, 1000, &st, err, sizeof(err)) == -1)
		TEST_FATAL("open NOCHECK: %s", err);
	if ((r = store_migrate(st, err, sizeof(err))) != STORE_SCHEMA_VERSION - 1)
		TEST_FATAL("migrate: got %d (%s), want %d applied", r, err, STORE_SCHEMA_VERSION - 1);
	if ((r = store_schema_version(st)) != STORE_SCHEMA_VERSION)
		TEST_FATAL("version after migrate: got %d, want %d", r, STORE_SCHEMA_VERSION);
	if ((r = store_migrate(st, err, sizeof(err))) != 0)
		TEST_FATAL("second migrate: got %d (%s), want 0", r, err);
	store_close(st);

	if (query_lines(path, sql_objects, got, sizeof(got)) == -1 ||
	    query_lines(fresh, sql_objects, want, sizeof(want)) == -1)
		TEST_FATAL("listing schema objects");
	if (strcmp(got, want) != 0)
		TEST_FATAL("schema objects differ:\n--- migrated\n%s--- fresh\n%s", got, want);
	if (query_lines(path, "SELECT count(*) FROM templates", n, sizeof(n)) == -1 ||
	    strcmp(n, "5\n") != 0)
		TEST_FATAL("templates rows after migrate: got %s, want 5", n);
	if (store_open(path, 0, 1000, &st, err, sizeof(err)) == -1)
		TEST_FATAL("open migrated file with check: %s", err);
	store_close(st);
}

static void
case_migrate_conflict(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	char		 path[4096], err[512] = "";
	char		 before[16384], after[16384];
	int		 r;

	snprintf(path, sizeof(path), "%s/v1c.db", dir);
	if (make_v1(path) == -1 ||
	    raw_exec(path, "CREATE TABLE templates (x TEXT)") == -1)
		TEST_FATAL("fixture");
	if (query_lines(path, sql_master_all, before, sizeof(before)) == -1)
		TEST_FATAL("listing schema");
	if (store_open(path, STORE_NOCHECK, 1000, &st, err, sizeof(err)) == -1)
		TEST_FATAL("open NOCHECK: %s", err);
	if ((r = store_migrate(st, err, sizeof(err))) != -1)
		TEST_FATAL("migrate over a conflicting table: got %d, want -1", r);
	if (strstr(err, "002-templates") == NULL)
		TEST_FATAL("error \"%s\" does not name the migration", err);
	if ((r = store_schema_version(st)) != 1)
		TEST_FATAL("version after failed migrate: got %d, want 1", r);
	store_close(st);
	if (query_lines(path, sql_master_all, after, sizeof(after)) == -1)
		TEST_FATAL("listing schema");
	if (strcmp(before, after) != 0)
		TEST_FATAL("schema changed by a failed migration:\n--- before\n%s"
		    "--- after\n%s", before, after);
}

static void
case_not_moat_migrate(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	char		 path[4096], err[512] = "";
	int		 r;

	snprintf(path, sizeof(path), "%s/nothing.db", dir);
	if (store_open(path, STORE_NOCHECK, 1000, &st, err, sizeof(err)) == -1)
		TEST_FATAL("open NOCHECK: %s", err);
	r = store_migrate(st, err, sizeof(err));
	store_close(st);
	if (r != -1 || strstr(err, "`moatctl db init`") == NULL)
		TEST_FATAL("migrate of an empty file: got %d \"%s\", want -1 naming "
		    "`moatctl db init`", r, err);
}

static void
case_locked(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	sqlite3		*holder;
	char		 path[4096], err[512] = "";
	double		 t0, dt;
	int		 r;

	snprintf(path, sizeof(path), "%s/locked.db", dir);
	if (make_current(path) == -1)
		TEST_FATAL("fixture");
	if (sqlite3_open(path, &holder) != SQLITE_OK ||
	    sqlite3_exec(holder, "BEGIN EXCLUSIVE", NULL, NULL, NULL) != SQLITE_OK)
		TEST_FATAL("holder: %s", sqlite3_errmsg(holder));

	/* Reads still work in WAL mode: opening is fine. */
	if (store_open(path, 0, 200, &st, err, sizeof(err)) == -1) {
		sqlite3_close(holder);
		TEST_FATAL("open while another writer holds the lock: %s", err);
	}
	t0 = now_s();
	r = store_begin(st);
	dt = now_s() - t0;
	if (r != -1 || dt > 1.5 || dt < 0.15) {
		store_close(st);
		sqlite3_close(holder);
		TEST_FATAL("store_begin while locked: got %d after %.2fs, want -1 "
		    "after about 0.2s", r, dt);
	}
	t0 = now_s();
	r = store_exec_script(st, "INSERT INTO events (ts, daemon, kind) "
	    "VALUES (1, 'test', 'test.locked')", err, sizeof(err));
	dt = now_s() - t0;
	if (r != -1 || dt > 1.5 || strstr(err, "database is locked (temporary "
	    "failure)") == NULL) {
		store_close(st);
		sqlite3_close(holder);
		TEST_FATAL("write while locked: got %d \"%s\" after %.2fs, want -1 "
		    "\"database is locked (temporary failure)\"", r, err, dt);
	}
	err[0] = '\0';
	r = store_seed_demo(st, err, sizeof(err));
	if (r != -1 || strstr(err, "locked") == NULL) {
		store_close(st);
		sqlite3_close(holder);
		TEST_FATAL("seed while locked: got %d \"%s\", want -1 \"locked\"", r, err);
	}
	sqlite3_exec(holder, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(holder);
	if ((r = store_begin(st)) != 0) {
		store_close(st);
		TEST_FATAL("store_begin after the lock was released: got %d, want 0", r);
	}
	store_rollback(st);
	store_close(st);
}

/*
 * The error kinds callers test instead of message text: a lock held by a
 * second connection is STORE_BUSY for every way in (begin, a stepped
 * statement, a script, open), a refused row STORE_CONSTRAINT, bad SQL
 * STORE_ERROR; and events_start refuses a store on an old schema.
 */
static const char sql_kind_insert[] =
    "INSERT INTO events (ts, daemon, kind) VALUES (1, 'test', 'test.kind')";
static const char sql_kind_dup_policy[] =
    "INSERT INTO policies (name, scan_mode) VALUES ('kinds', 'bogus')";

static void
case_kinds(void)
{
	const char	*dir = case_dir();
	struct store	*st, *st2;
	sqlite3		*holder;
	sqlite3_stmt	*stmt;
	enum store_kind	 kind;
	char		 path[4096], v1[4096], err[512] = "";
	int		 r;

	snprintf(path, sizeof(path), "%s/kinds.db", dir);
	if (make_current(path) == -1)
		TEST_FATAL("fixture");
	if (store_open_kind(path, 0, 100, &st, &kind, err, sizeof(err)) == -1 ||
	    kind != STORE_OK || store_kind(st) != STORE_OK)
		TEST_FATAL("open: got kind %d (%s), want STORE_OK", (int)kind, err);

	/* A refused row. */
	if ((stmt = store_prepare(st, sql_kind_dup_policy)) == NULL)
		TEST_FATAL("prepare the duplicate insert");
	r = store_step(st, stmt, "duplicate");
	if (r != STORE_STEP_ERROR || store_kind(st) != STORE_CONSTRAINT) {
		store_close(st);
		TEST_FATAL("duplicate key: got step %d kind %d, want %d and "
		    "STORE_CONSTRAINT (%d)", r, (int)store_kind(st),
		    STORE_STEP_ERROR, STORE_CONSTRAINT);
	}
	/* Plain SQL trouble is neither busy nor a constraint. */
	r = store_exec_script(st, "SELECT nosuchcolumn FROM events", err,
	    sizeof(err));
	if (r != -1 || store_kind(st) != STORE_ERROR) {
		store_close(st);
		TEST_FATAL("bad SQL: got %d kind %d, want -1 STORE_ERROR (%d)", r,
		    (int)store_kind(st), STORE_ERROR);
	}

	/* A second connection holds the write lock. */
	if (sqlite3_open(path, &holder) != SQLITE_OK ||
	    sqlite3_exec(holder, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		store_close(st);
		TEST_FATAL("holder: %s", sqlite3_errmsg(holder));
	}
	r = store_begin(st);
	if (r != -1 || store_kind(st) != STORE_BUSY) {
		sqlite3_close(holder);
		store_close(st);
		TEST_FATAL("store_begin while locked: got %d kind %d, want -1 "
		    "STORE_BUSY (%d)", r, (int)store_kind(st), STORE_BUSY);
	}
	if ((stmt = store_prepare(st, sql_kind_insert)) == NULL) {
		sqlite3_close(holder);
		store_close(st);
		TEST_FATAL("prepare the insert");
	}
	r = store_step(st, stmt, "insert");
	if (r != STORE_STEP_ERROR || store_kind(st) != STORE_BUSY ||
	    strcmp(store_errtext(st), STORE_LOCKED_TEXT) != 0) {
		sqlite3_close(holder);
		store_close(st);
		TEST_FATAL("insert while locked: got step %d kind %d \"%s\", want "
		    "%d STORE_BUSY \"" STORE_LOCKED_TEXT "\"", r,
		    (int)store_kind(st), store_errtext(st), STORE_STEP_ERROR);
	}
	r = store_seed_demo(st, err, sizeof(err));
	if (r != -1 || store_kind(st) != STORE_BUSY) {
		sqlite3_close(holder);
		store_close(st);
		TEST_FATAL("seed while locked: got %d kind %d, want -1 STORE_BUSY", r,
		    (int)store_kind(st));
	}
	/* Reading still works in WAL mode, and a success leaves the kind of
	 * the last failure alone (it is only read after a failure). */
	if (store_policy_generation(st) < 1) {
		sqlite3_close(holder);
		store_close(st);
		TEST_FATAL("read while another writer holds the lock failed");
	}
	sqlite3_exec(holder, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(holder);
	if ((stmt = store_prepare(st, sql_kind_insert)) == NULL ||
	    (r = store_run_stmt(st, stmt, "insert")) != 0) {
		store_close(st);
		TEST_FATAL("insert after the lock was released: got %d, want 0", r);
	}
	store_close(st);

	/* Open: a missing file is an error, not busy. */
	snprintf(v1, sizeof(v1), "%s/absent/kinds.db", dir);
	st2 = NULL;
	if (store_open_kind(v1, 0, 100, &st2, &kind, err, sizeof(err)) != -1 ||
	    st2 != NULL || kind != STORE_ERROR)
		TEST_FATAL("open of a missing file: got kind %d, want STORE_ERROR", (int)kind);

	/* events opens through store_open: an old schema is refused. */
	snprintf(v1, sizeof(v1), "%s/events-v1.db", dir);
	if (make_v1(v1) == -1)
		TEST_FATAL("v1 fixture");
	err[0] = '\0';
	if (events_start(v1, "test", err, sizeof(err)) != -1) {
		events_stop();
		TEST_FATAL("events_start on a v1 store: got 0, want -1");
	}
	if (strstr(err, "`moatctl db migrate`") == NULL)
		TEST_FATAL("events_start on a v1 store: got \"%s\", want a message "
		    "naming `moatctl db migrate`", err);
}

static const char sql_two_rows[] = "SELECT 1 UNION ALL SELECT 2";
static const char sql_param[] = "SELECT ?1";
static const char sql_bad[] = "SELECT FROM nowhere";

static void
case_prepare_cache(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	sqlite3_stmt	*a, *b, *c;
	char		 path[4096], err[512] = "";

	snprintf(path, sizeof(path), "%s/cache.db", dir);
	if (make_current(path) == -1 ||
	    store_open(path, 0, 1000, &st, err, sizeof(err)) == -1)
		TEST_FATAL("fixture: %s", err);
	if ((a = store_prepare(st, sql_two_rows)) == NULL)
		TEST_FATAL("prepare: got NULL");
	if (sqlite3_step(a) != SQLITE_ROW || sqlite3_column_int(a, 0) != 1)
		TEST_FATAL("first row: want 1");
	/* Left mid-step on purpose: the cache hands it back reset. */
	if ((b = store_prepare(st, sql_two_rows)) != a)
		TEST_FATAL("same SQL pointer: got a different statement");
	if (sqlite3_step(b) != SQLITE_ROW || sqlite3_column_int(b, 0) != 1)
		TEST_FATAL("cached statement not reset: first row is not 1");
	sqlite3_reset(b);

	if ((c = store_prepare(st, sql_param)) == NULL || c == a)
		TEST_FATAL("different SQL: got %p, want a new statement", (void *)c);
	sqlite3_bind_int(c, 1, 42);
	if (store_prepare(st, sql_param) != c)
		TEST_FATAL("same SQL pointer: got a different statement");
	if (sqlite3_step(c) != SQLITE_ROW || sqlite3_column_type(c, 0) != SQLITE_NULL)
		TEST_FATAL("bindings not cleared: got %d, want NULL",
		    sqlite3_column_int(c, 0));
	sqlite3_reset(c);
	if (store_prepare(st, sql_bad) != NULL)
		TEST_FATAL("bad SQL: got a statement, want NULL");
	store_close(st);
}

static void
case_generation(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	char		 path[4096], err[512] = "";
	int64_t		 g0, g1, g2;

	snprintf(path, sizeof(path), "%s/gen.db", dir);
	if (make_current(path) == -1 ||
	    store_open(path, 0, 1000, &st, err, sizeof(err)) == -1)
		TEST_FATAL("fixture: %s", err);
	g0 = store_policy_generation(st);
	if (store_seed_demo(st, err, sizeof(err)) == -1)
		TEST_FATAL("seed: %s", err);
	g1 = store_policy_generation(st);
	/* Another connection (an operator) edits a policy table. */
	if (raw_exec(path, "UPDATE policies SET retention_days = 7") == -1)
		TEST_FATAL("operator edit");
	g2 = store_policy_generation(st);
	store_close(st);
	if (g0 < 1 || g1 <= g0 || g2 <= g1)
		TEST_FATAL("generations: got %lld, %lld, %lld, want strictly rising",
		    (long long)g0, (long long)g1, (long long)g2);
}

static void
case_seed(void)
{
	const char	*dir = case_dir();
	struct store	*st;
	char		 path[4096], err[512] = "", got[1024];
	const char	*want = "Alpha active strict\nBeta active executables-reject\n"
			    "Gamma suspended strict\n";

	snprintf(path, sizeof(path), "%s/seed.db", dir);
	if (make_current(path) == -1 ||
	    store_open(path, 0, 1000, &st, err, sizeof(err)) == -1)
		TEST_FATAL("fixture: %s", err);
	if (store_seed_demo(st, err, sizeof(err)) == -1)
		TEST_FATAL("seed: %s", err);
	store_close(st);
	if (query_lines(path, "SELECT s.name || ' ' || s.status || ' ' || p.name"
	    " FROM subscribers s JOIN subscriber_policies sp ON sp.subscriber_id"
	    " = s.id JOIN policies p ON p.id = sp.policy_id ORDER BY s.name",
	    got, sizeof(got)) == -1)
		TEST_FATAL("query");
	if (strcmp(got, want) != 0)
		TEST_FATAL("subscribers:\n got %s want %s", got, want);
}

static const struct test_case cases[] = {
	{ "init on an empty file",			case_init_empty },
	{ "open a missing file",			case_open_missing },
	{ "open an empty file: run db init",		case_open_empty },
	{ "open a foreign SQLite file",			case_open_foreign },
	{ "open a text file",				case_open_text },
	{ "open a v1 file: run db migrate",		case_open_v1 },
	{ "open a newer schema",			case_open_newer },
	{ "migrate v1 equals fresh init",		case_migrate_v1 },
	{ "failed migration leaves the file",		case_migrate_conflict },
	{ "migrate a file with no schema",		case_not_moat_migrate },
	{ "locked database is a temporary failure",	case_locked },
	{ "error kinds: busy, constraint, error",	case_kinds },
	{ "statement cache",				case_prepare_cache },
	{ "policy generation rises on edits",		case_generation },
	{ "demo seed",					case_seed },
	{ NULL, NULL }
};

int
main(void)
{
	const char	*tmp;

	if ((src_dir = getenv("MOAT_SRC")) == NULL)
		src_dir = ".";
	if ((tmp = getenv("TMPDIR")) == NULL)
		tmp = "/tmp";
	snprintf(base_dir, sizeof(base_dir), "%s/store_test.XXXXXX", tmp);
	if (mkdtemp(base_dir) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", base_dir, strerror(errno));
		return 1;
	}
	printf("files in %s\n", base_dir);
	return test_run(cases);
}
