/*
 * events_test - the batched event writer against a real store file, and the
 * jbuf JSON builder (outputs parsed back with jansson).
 */
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "moat_test.h"

#define NELEM(a) TEST_NELEM(a)

/* The scratch directory main() makes for the writer case. */
static char work_dir[PATH_MAX];

/* ---- jbuf ---- */

static const struct {
	const char *name, *val;     /* val NULL: JSON null */
	const char *want;           /* the whole object */
	const char *decoded;        /* what jansson must read back; NULL: same as val */
} jcases[] = {
	{ "plain", "hello", "{\"k\":\"hello\"}", NULL },
	{ "null", NULL, "{\"k\":null}", NULL },
	{ "empty", "", "{\"k\":\"\"}", NULL },
	{ "quote", "a\"b", "{\"k\":\"a\\\"b\"}", NULL },
	{ "backslash", "a\\b", "{\"k\":\"a\\\\b\"}", NULL },
	{ "newline tab cr", "a\nb\tc\r", "{\"k\":\"a\\nb\\tc\\r\"}", NULL },
	{ "control", "\x01\x1f", "{\"k\":\"\\u0001\\u001f\"}", NULL },
	{ "DEL", "\x7f", "{\"k\":\"\\u007f\"}", NULL },
	{ "UTF-8 passes", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9f",
	  "{\"k\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9f\"}", NULL },
	{ "stray byte", "a\xff" "b", "{\"k\":\"a\\u00ffb\"}", "a\xc3\xbf" "b" },
	{ "truncated sequence", "\xc3", "{\"k\":\"\\u00c3\"}", "\xc3\x83" },
	{ "overlong slash", "\xc0\xaf", "{\"k\":\"\\u00c0\\u00af\"}", "\xc3\x80\xc2\xaf" },
	{ "surrogate", "\xed\xa0\x80", "{\"k\":\"\\u00ed\\u00a0\\u0080\"}",
	  "\xc3\xad\xc2\xa0\xc2\x80" },
	{ "above U+10FFFF", "\xf4\x90\x80\x80", "{\"k\":\"\\u00f4\\u0090\\u0080\\u0080\"}",
	  "\xc3\xb4\xc2\x90\xc2\x80\xc2\x80" },
	{ "lead then ASCII", "\xe2\x82x", "{\"k\":\"\\u00e2\\u0082x\"}", "\xc3\xa2\xc2\x82x" },
};

static void
test_jbuf(void)
{
	char buf[256];
	struct jbuf j;

	for (size_t i = 0; i < NELEM(jcases); i++) {
		const char *out, *want_val = jcases[i].decoded ? jcases[i].decoded : jcases[i].val;
		json_t *root, *v;
		json_error_t jerr;

		jbuf_init(&j, buf, sizeof(buf));
		jbuf_str(&j, "k", jcases[i].val);
		out = jbuf_end(&j);
		if (strcmp(out, jcases[i].want) != 0)
			TEST_FAIL("jbuf %s: got %s, want %s", jcases[i].name, out, jcases[i].want);
		if ((root = json_loads(out, 0, &jerr)) == NULL) {
			TEST_FAIL("jbuf %s: jansson: %s", jcases[i].name, jerr.text);
			continue;
		}
		v = json_object_get(root, "k");
		if (want_val == NULL ? !json_is_null(v) :
		    !json_is_string(v) || strcmp(json_string_value(v), want_val) != 0)
			TEST_FAIL("jbuf %s: value read back differs", jcases[i].name);
		json_decref(root);
	}

	/* Several members, integers, escaped keys. */
	jbuf_init(&j, buf, sizeof(buf));
	jbuf_str(&j, "virus", "Eicar-Test-Signature");
	jbuf_int(&j, "size", -42);
	jbuf_int(&j, "big", 9223372036854775807LL);
	jbuf_str(&j, "we\"ird", "x");
	if (strcmp(jbuf_end(&j), "{\"virus\":\"Eicar-Test-Signature\",\"size\":-42,"
	    "\"big\":9223372036854775807,\"we\\\"ird\":\"x\"}") != 0)
		TEST_FAIL("jbuf members: got %s", buf);

	/* Empty object. */
	jbuf_init(&j, buf, sizeof(buf));
	if (strcmp(jbuf_end(&j), "{}") != 0)
		TEST_FAIL("jbuf empty: got %s", buf);

	/* Overflow: the whole object becomes "{}", never a cut-off text. */
	for (size_t cap = 0; cap < 40; cap++) {
		char small[40];
		const char *out;

		jbuf_init(&j, small, cap);
		jbuf_str(&j, "a", "0123456789");
		jbuf_str(&j, "b", "\x01\x02\x03");
		out = jbuf_end(&j);
		/* The full text is {"a":"0123456789","b":"\u0001\u0002\u0003"}: 43 bytes. */
		if (strcmp(out, "{}") != 0)
			TEST_FAIL("jbuf overflow cap %zu: got %s, want {}", cap, out);
	}
	{
		char exact[44];
		jbuf_init(&j, exact, sizeof(exact));
		jbuf_str(&j, "a", "0123456789");
		jbuf_str(&j, "b", "\x01\x02\x03");
		if (strcmp(jbuf_end(&j), "{\"a\":\"0123456789\",\"b\":\"\\u0001\\u0002\\u0003\"}") != 0)
			TEST_FAIL("jbuf exact fit: got %s", exact);
	}
}

/* ---- the writer ---- */

#define NTHREADS   4
#define PER_THREAD 1000        /* 4000 < ring size: nothing may be dropped */

static void *
emitter(void *arg)
{
	size_t t = (size_t)arg;
	char buf[256], ip[32];
	struct jbuf j;

	for (int i = 0; i < PER_THREAD; i++) {
		jbuf_init(&j, buf, sizeof(buf));
		jbuf_int(&j, "thread", (long long)t);
		jbuf_int(&j, "seq", i);
		jbuf_str(&j, "subject", "bad \"stuff\"\n\xff");
		snprintf(ip, sizeof(ip), "192.0.2.%zu", t + 1);
		event_emit(EV_MAIL_INFECTED, SEV_WARNING, (int64_t)(t + 1), ip, jbuf_end(&j));
	}
	return NULL;
}

static sqlite3 *
open_db(const char *path)
{
	sqlite3 *db;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", path, sqlite3_errmsg(db));
		exit(2);
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static long long
query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		TEST_FAIL("prepare %s: %s", sql, sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
make_store(const char *path)
{
	const char *src = getenv("MOAT_SRC");
	char schema_path[PATH_MAX], *sql, *errmsg = NULL;
	FILE *fp;
	long n;
	sqlite3 *db;

	snprintf(schema_path, sizeof(schema_path), "%s/sql/schema.sql", src ? src : "..");
	if ((fp = fopen(schema_path, "r")) == NULL) {
		perror(schema_path);
		exit(2);
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	if ((sql = calloc(1, (size_t)n + 1)) == NULL || fread(sql, 1, (size_t)n, fp) != (size_t)n) {
		fprintf(stderr, "%s: short read\n", schema_path);
		exit(2);
	}
	fclose(fp);
	unlink(path);
	db = open_db(path);
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, sql, NULL, NULL, &errmsg) != SQLITE_OK) {
		fprintf(stderr, "schema: %s\n", errmsg ? errmsg : sqlite3_errmsg(db));
		exit(2);
	}
	free(sql);
	sqlite3_close(db);
}

static void
test_writer(void)
{
	const char *dir = work_dir;
	char path[PATH_MAX], err[512];
	pthread_t thr[NTHREADS];
	sqlite3 *db;
	sqlite3_stmt *st;

	snprintf(path, sizeof(path), "%s/events.db", dir);
	make_store(path);

	/* Before start: a no-op, not a drop. */
	event_emit(EV_DECOY_CONNECT, SEV_INFO, 0, NULL, NULL);

	if (events_start(path, "milter", err, sizeof(err)) != 0) {
		TEST_FAIL("events_start: %s", err);
		return;
	}
	for (size_t t = 0; t < NTHREADS; t++)
		pthread_create(&thr[t], NULL, emitter, (void *)t);
	for (size_t t = 0; t < NTHREADS; t++)
		pthread_join(thr[t], NULL);
	event_emit(EV_DECOY_LOGIN, SEV_CRITICAL, 0, NULL, NULL);
	events_stop();
	/* After stop: ignored. */
	event_emit(EV_DECOY_COMMAND, SEV_INFO, 0, NULL, NULL);

	if (events_dropped() != 0)
		TEST_FAIL("writer: dropped %llu, want 0", (unsigned long long)events_dropped());
	db = open_db(path);
	long long rows = query_int(db, "SELECT count(*) FROM events");
	if (rows != NTHREADS * PER_THREAD + 1)
		TEST_FAIL("writer: got %lld rows, want %d", rows, NTHREADS * PER_THREAD + 1);
	/* Every thread's sequence complete, each exactly once. */
	for (int t = 0; t < NTHREADS; t++) {
		char sql[256];
		snprintf(sql, sizeof(sql), "SELECT count(DISTINCT json_extract(detail_json, '$.seq')) "
		    "FROM events WHERE subscriber_id = %d AND src_ip = '192.0.2.%d' "
		    "AND json_extract(detail_json, '$.thread') = %d", t + 1, t + 1, t);
		long long n = query_int(db, sql);
		if (n != PER_THREAD)
			TEST_FAIL("writer: thread %d: %lld distinct events, want %d", t, n, PER_THREAD);
	}
	if (query_int(db, "SELECT count(*) FROM events WHERE daemon = 'milter' AND "
	    "kind = 'mail.infected' AND severity = 2 AND ts > 1700000000") != NTHREADS * PER_THREAD)
		TEST_FAIL("writer: daemon/kind/severity/ts columns wrong");
	if (query_int(db, "SELECT count(*) FROM events WHERE kind = 'decoy.login' AND "
	    "severity = 3 AND subscriber_id IS NULL AND src_ip IS NULL AND detail_json = '{}'") != 1)
		TEST_FAIL("writer: subscriber 0 / NULL ip / NULL detail not stored as NULL, NULL, {}");
	if (query_int(db, "SELECT count(*) FROM events WHERE kind IN ('decoy.connect', "
	    "'decoy.command')") != 0)
		TEST_FAIL("writer: events emitted before start or after stop were stored");

	/* One detail read back with jansson. */
	if (sqlite3_prepare_v2(db, "SELECT detail_json FROM events WHERE kind = 'mail.infected' "
	    "LIMIT 1", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		json_error_t jerr;
		json_t *root = json_loads((const char *)sqlite3_column_text(st, 0), 0, &jerr);
		json_t *s = root ? json_object_get(root, "subject") : NULL;
		if (root == NULL)
			TEST_FAIL("writer: detail_json does not parse: %s", jerr.text);
		else if (!json_is_string(s) || strcmp(json_string_value(s), "bad \"stuff\"\n\xc3\xbf") != 0)
			TEST_FAIL("writer: subject read back as %s", s ? json_string_value(s) : "(none)");
		json_decref(root);
	} else
		TEST_FAIL("writer: no mail.infected row");
	sqlite3_finalize(st);

	/*
	 * A full ring drops and counts: hold the store locked from another
	 * connection so the writer cannot commit, emit ring + 50 events, then
	 * let go.  Exactly 50 are dropped and everything else is written.
	 */
	if (events_start(path, "decoyd", err, sizeof(err)) != 0) {
		TEST_FAIL("events_start (2): %s", err);
		sqlite3_close(db);
		return;
	}
	if (sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) != SQLITE_OK)
		TEST_FAIL("lock: %s", sqlite3_errmsg(db));
	for (int i = 0; i < 8192 + 50; i++)
		event_emit(EV_DECOY_COMMAND, SEV_NOTICE, 0, "198.51.100.7", "{\"cmd\":\"ls\"}");
	if (events_dropped() != 50)
		TEST_FAIL("full ring: dropped %llu, want 50", (unsigned long long)events_dropped());
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	events_stop();
	if (query_int(db, "SELECT count(*) FROM events WHERE daemon = 'decoyd' AND "
	    "kind = 'decoy.command'") != 8192)
		TEST_FAIL("full ring: got %lld rows, want 8192", query_int(db,
		    "SELECT count(*) FROM events WHERE daemon = 'decoyd'"));

	/*
	 * An SQL error keeps the batch queued and retries: a trigger makes
	 * every insert fail, events wait in the ring; once it is dropped they
	 * are all written, none lost.
	 */
	if (sqlite3_exec(db, "CREATE TRIGGER events_fail BEFORE INSERT ON events "
	    "BEGIN SELECT RAISE(ABORT, 'test: events refused'); END", NULL, NULL, NULL) != SQLITE_OK)
		TEST_FAIL("trigger: %s", sqlite3_errmsg(db));
	if (events_start(path, "secmgr", err, sizeof(err)) != 0) {
		TEST_FAIL("events_start (3): %s", err);
		sqlite3_close(db);
		return;
	}
	for (int i = 0; i < 300; i++)
		event_emit(EV_SECMGR_RESPONSE, SEV_NOTICE, 7, NULL, NULL);
	usleep(500000);                /* several failed attempts */
	if (query_int(db, "SELECT count(*) FROM events WHERE daemon = 'secmgr'") != 0)
		TEST_FAIL("retry: rows written through a failing trigger");
	sqlite3_exec(db, "DROP TRIGGER events_fail", NULL, NULL, NULL);
	events_stop();
	if (query_int(db, "SELECT count(*) FROM events WHERE daemon = 'secmgr' AND "
	    "subscriber_id = 7") != 300 || events_dropped() != 0)
		TEST_FAIL("retry: got %lld rows and %llu dropped, want 300 and 0",
		    query_int(db, "SELECT count(*) FROM events WHERE daemon = 'secmgr'"),
		    (unsigned long long)events_dropped());
	sqlite3_close(db);

	/* A store that does not exist is refused with a message. */
	snprintf(path, sizeof(path), "%s/absent/events.db", dir);
	err[0] = '\0';
	if (events_start(path, "milter", err, sizeof(err)) != -1 || strstr(err, path) == NULL)
		TEST_FAIL("absent store: got \"%s\", want -1 and a message naming the path", err);
}

static void
test_kinds(void)
{
	size_t n = 0;

	for (; event_kinds[n] != NULL; n++)
		if (!event_kind_known(event_kinds[n]))
			TEST_FAIL("event_kind_known(%s) = 0", event_kinds[n]);
	if (n != 26)
		TEST_FAIL("event_kinds: %zu kinds, want 26 (update this test when adding one)", n);
	if (!event_kind_known("update.published") || !event_kind_known("update.vendor_failed"))
		TEST_FAIL("the vendor puller's kinds are not in the catalog");
	if (!event_kind_known("switch.applied"))
		TEST_FAIL("moatctl switch apply's kind is not in the catalog");
	if (!event_kind_known("decoy.download") || !event_kind_known("decoy.disconnect") ||
	    !event_kind_known("decoy.alert"))
		TEST_FAIL("moat-decoyd's kinds are not in the catalog");
	if (!event_kind_known("secmgr.rule_invalid"))
		TEST_FAIL("moat-secmgr's kinds are not in the catalog");
	if (event_kind_known("mail.infected.x") || event_kind_known("") ||
	    event_kind_known(NULL) || event_kind_known("MAIL.INFECTED"))
		TEST_FAIL("event_kind_known accepts unknown kinds");
}

static const struct test_case cases[] = {
	{ "jbuf JSON escaping",		test_jbuf },
	{ "event kinds",		test_kinds },
	{ "writer into the store",	test_writer },
	{ NULL, NULL }
};

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	int rc;

	snprintf(work_dir, sizeof(work_dir), "%s/events_test.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(work_dir) == NULL) {
		perror(work_dir);
		return 2;
	}
	if ((rc = test_run(cases)) == 0) {
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "warning: could not remove %s\n", work_dir);
	}
	return rc;
}
