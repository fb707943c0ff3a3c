/*
 * quarantined_index - the quarantine table: every statement moat-quarantined
 * runs against the store, prepared once per connection (store_prepare) with
 * bound parameters only.  Client text reaches SQL only as bound values.
 *
 * A store connection is not shared between threads, so the daemon keeps a
 * small pool (common/store_pool.h).  Its connections run with
 * synchronous=FULL: a committed row survives a power cut, which is
 * what the 201 of a submission promises (store.c's NORMAL default would
 * only promise that for the next checkpoint).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "quarantined.h"

static const char sql_insert[] =
    "INSERT INTO quarantine (received, subscriber_id, queue_id, sender, recipients,"
    " client_addr, policy_id, viruses, size, sha256, path, hold, scan_settings)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
static const char sql_savepoint[] = "SAVEPOINT submission";
static const char sql_release_sp[] = "RELEASE submission";
static const char sql_rollback_sp[] = "ROLLBACK TO submission";

/* One row: group g of m. */
static int
index_insert_group(struct store *st, const struct submit_meta *m, struct submit_group *g,
    const char *viruses, const char *sha, int64_t size, const char *rel, int64_t now)
{
	sqlite3_stmt *stmt;
	char *rcpts;
	int rc = -1;

	if ((stmt = store_prepare(st, sql_insert)) == NULL)
		return -1;
	if ((rcpts = json_dumps(g->rcpts, JSON_COMPACT)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, now);
	if (g->subscriber > 0)
		sqlite3_bind_int64(stmt, 2, g->subscriber);
	if (m->queue_id[0] != '\0')
		sqlite3_bind_text(stmt, 3, m->queue_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 4, m->sender, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 5, rcpts, -1, SQLITE_TRANSIENT);
	if (m->client[0] != '\0')
		sqlite3_bind_text(stmt, 6, m->client, -1, SQLITE_TRANSIENT);
	/* The deciding policy belongs to the deciding subscriber's item; the
	 * others follow their own subscriber's policy (retention, automatic
	 * release), never a neighbour's. */
	if (m->policy > 0 && g->subscriber == m->subscriber)
		sqlite3_bind_int64(stmt, 7, m->policy);
	sqlite3_bind_text(stmt, 8, viruses, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 9, size);
	sqlite3_bind_text(stmt, 10, sha, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 11, rel, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 12, m->hold[0] != '\0' ? m->hold : "virus", -1,
	    SQLITE_TRANSIENT);
	if (m->scan != NULL)
		sqlite3_bind_text(stmt, 13, m->scan, -1, SQLITE_TRANSIENT);
	if (store_run_stmt(st, stmt, "insert quarantine row") == 0) {
		g->id = sqlite3_last_insert_rowid(st->db);
		rc = 0;
	}
	free(rcpts);
	return rc;
}

static int
index_run(struct store *st, const char *sql)
{
	sqlite3_stmt *stmt = store_prepare(st, sql);

	return stmt == NULL ? -1 : store_run_stmt(st, stmt, sql);
}

int
index_insert(struct store *st, const struct submit_meta *m, const char *sha,
    int64_t size, const char *rel, int64_t now, int64_t *id)
{
	char *viruses;
	int rc = 0;

	if (m->ngroups == 0 || (viruses = json_dumps(m->viruses, JSON_COMPACT)) == NULL)
		return -1;
	/* All of a submission's rows or none, inside the batch's transaction. */
	if (index_run(st, sql_savepoint) == -1) {
		free(viruses);
		return -1;
	}
	for (size_t i = 0; i < m->ngroups && rc == 0; i++)
		rc = index_insert_group(st, m, &m->groups[i], viruses, sha, size, rel, now);
	if (rc == -1) {
		index_run(st, sql_rollback_sp);
		for (size_t i = 0; i < m->ngroups; i++)
			m->groups[i].id = 0;
	}
	index_run(st, sql_release_sp);
	free(viruses);
	*id = m->groups[0].id;
	return rc;
}

/* The columns every item reply shows, in this order. */
#define ITEM_COLS \
    "id, received, subscriber_id, queue_id, sender, recipients, client_addr," \
    " policy_id, viruses, size, sha256, status, fp_candidate, digested," \
    " released_at, release_reply, hold, scan_settings"

static json_t *
index_col_json(sqlite3_stmt *stmt, int i)
{
	switch (sqlite3_column_type(stmt, i)) {
	case SQLITE_NULL:
		return json_null();
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(stmt, i));
	default:
		return json_string((const char *)sqlite3_column_text(stmt, i));
	}
}

/* One row of ITEM_COLS as an object.  Array columns hold JSON the daemon
 * wrote itself; anything unparsable (an operator's edit) shows as text. */
static json_t *
index_item_of(sqlite3_stmt *stmt)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	for (int i = 0; i < sqlite3_column_count(stmt); i++) {
		const char *name = sqlite3_column_name(stmt, i);
		json_t *v = NULL;
		if ((strcmp(name, "recipients") == 0 || strcmp(name, "viruses") == 0 ||
		    strcmp(name, "scan_settings") == 0) &&
		    sqlite3_column_type(stmt, i) == SQLITE_TEXT)
			v = json_loads((const char *)sqlite3_column_text(stmt, i), 0, NULL);
		if (v == NULL)
			v = index_col_json(stmt, i);
		json_object_set_new(o, name, v);
	}
	return o;
}

static const char sql_item[] =
    "SELECT " ITEM_COLS " FROM quarantine WHERE id = ?1"
    " AND (?2 = 0 OR subscriber_id = ?2)";

int
index_item_json(struct store *st, int64_t id, int64_t sub, json_t **out)
{
	sqlite3_stmt *stmt;
	char what[64];
	int rc;

	*out = NULL;
	if ((stmt = store_prepare(st, sql_item)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, sub);
	snprintf(what, sizeof(what), "item %lld", (long long)id);
	rc = store_step(st, stmt, what);
	if (rc == STORE_STEP_ROW) {
		*out = index_item_of(stmt);
		rc = *out != NULL ? 1 : -1;
		sqlite3_reset(stmt);
	}
	return rc;
}

static const char sql_row[] =
    "SELECT id, coalesce(subscriber_id, 0), coalesce(policy_id, 0), received, size,"
    " status, sha256, path, coalesce(sender, ''), coalesce(queue_id, ''), recipients,"
    " hold FROM quarantine WHERE id = ?1 AND (?2 = 0 OR subscriber_id = ?2)";

static void
index_copy(char *dst, size_t len, const unsigned char *src)
{
	snprintf(dst, len, "%s", src != NULL ? (const char *)src : "");
}

int
index_row(struct store *st, int64_t id, int64_t sub, struct qrow *r)
{
	sqlite3_stmt *stmt;
	char what[64];
	int rc;

	memset(r, 0, sizeof(*r));
	if ((stmt = store_prepare(st, sql_row)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, sub);
	snprintf(what, sizeof(what), "item %lld", (long long)id);
	rc = store_step(st, stmt, what);
	if (rc == STORE_STEP_ROW) {
		r->id = sqlite3_column_int64(stmt, 0);
		r->subscriber = sqlite3_column_int64(stmt, 1);
		r->policy = sqlite3_column_int64(stmt, 2);
		r->received = sqlite3_column_int64(stmt, 3);
		r->size = sqlite3_column_int64(stmt, 4);
		index_copy(r->status, sizeof(r->status), sqlite3_column_text(stmt, 5));
		index_copy(r->sha256, sizeof(r->sha256), sqlite3_column_text(stmt, 6));
		index_copy(r->path, sizeof(r->path), sqlite3_column_text(stmt, 7));
		index_copy(r->sender, sizeof(r->sender), sqlite3_column_text(stmt, 8));
		index_copy(r->queue_id, sizeof(r->queue_id), sqlite3_column_text(stmt, 9));
		index_copy(r->hold, sizeof(r->hold), sqlite3_column_text(stmt, 11));
		r->rcpts = json_loads((const char *)sqlite3_column_text(stmt, 10), 0, NULL);
		if (r->rcpts == NULL || !json_is_array(r->rcpts)) {
			log_warnx("%s: item %lld: recipients are not a JSON array",
			    st->path, (long long)id);
			json_decref(r->rcpts);
			r->rcpts = json_array();
		}
		rc = 1;
		sqlite3_reset(stmt);
	}
	return rc;
}

void
index_row_free(struct qrow *r)
{
	if (r == NULL)
		return;
	json_decref(r->rcpts);
	r->rcpts = NULL;
}

#define LIST_WHERE \
    " WHERE (?1 = 0 OR subscriber_id = ?1) AND (?2 IS NULL OR status = ?2)" \
    " AND (?3 = 0 OR received >= ?3) AND (?4 = 0 OR received < ?4)" \
    " AND (?5 IS NULL OR instr(lower(viruses), lower(?5)) > 0)" \
    " AND (?6 IS NULL OR instr(lower(coalesce(sender, '')), lower(?6)) > 0)" \
    " AND (?7 IS NULL OR instr(lower(recipients), lower(?7)) > 0)"

static const char sql_list[] =
    "SELECT " ITEM_COLS " FROM quarantine" LIST_WHERE
    " ORDER BY id DESC LIMIT ?8 OFFSET ?9";
static const char sql_list_count[] = "SELECT count(*) FROM quarantine" LIST_WHERE;

static void
index_bind_filter(sqlite3_stmt *stmt, const struct qfilter *f)
{
	sqlite3_bind_int64(stmt, 1, f->subscriber);
	if (f->status != NULL)
		sqlite3_bind_text(stmt, 2, f->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, f->since);
	sqlite3_bind_int64(stmt, 4, f->until);
	if (f->virus != NULL)
		sqlite3_bind_text(stmt, 5, f->virus, -1, SQLITE_STATIC);
	if (f->sender != NULL)
		sqlite3_bind_text(stmt, 6, f->sender, -1, SQLITE_STATIC);
	if (f->recipient != NULL)
		sqlite3_bind_text(stmt, 7, f->recipient, -1, SQLITE_STATIC);
}

int
index_list(struct store *st, const struct qfilter *f, json_t **out)
{
	sqlite3_stmt *stmt;
	json_t *items = NULL, *o;
	int64_t total = 0;
	int rc;

	*out = NULL;
	if ((stmt = store_prepare(st, sql_list_count)) == NULL)
		return -1;
	index_bind_filter(stmt, f);
	if ((rc = store_step(st, stmt, "list")) == STORE_STEP_ROW)
		total = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != STORE_STEP_ROW)
		return -1;
	if ((stmt = store_prepare(st, sql_list)) == NULL)
		return -1;
	index_bind_filter(stmt, f);
	sqlite3_bind_int64(stmt, 8, f->limit);
	sqlite3_bind_int64(stmt, 9, f->offset);
	if ((items = json_array()) == NULL) {
		sqlite3_reset(stmt);
		return -1;
	}
	while ((rc = store_step(st, stmt, "list")) == STORE_STEP_ROW)
		if ((o = index_item_of(stmt)) == NULL || json_array_append_new(items, o) == -1)
			break;
	sqlite3_reset(stmt);
	if (rc != STORE_STEP_DONE) {
		json_decref(items);
		return -1;
	}
	*out = json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)total);
	return *out != NULL ? 0 : -1;
}

static const char sql_released[] =
    "UPDATE quarantine SET status = 'released', released_at = ?2, release_reply = ?3"
    " WHERE id = ?1 AND status = 'held'";

int
index_mark_released(struct store *st, int64_t id, int64_t ts, const char *reply)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_prepare(st, sql_released)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, ts);
	sqlite3_bind_text(stmt, 3, reply, -1, SQLITE_STATIC);
	if (store_run_stmt(st, stmt, "mark released") == -1)
		return -1;
	return sqlite3_changes(st->db) == 1 ? 1 : 0;
}

static const char sql_deleted[] =
    "UPDATE quarantine SET status = 'deleted' WHERE id = ?1 AND status <> 'deleted'";

int
index_mark_deleted(struct store *st, int64_t id)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_prepare(st, sql_deleted)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	if (store_run_stmt(st, stmt, "mark deleted") == -1)
		return -1;
	return sqlite3_changes(st->db) == 1 ? 1 : 0;
}

static const char sql_sha_refs[] =
    "SELECT count(*) FROM quarantine WHERE sha256 = ?1 AND status <> 'deleted'";

int64_t
index_sha_refs(struct store *st, const char *sha)
{
	sqlite3_stmt *stmt;
	char what[128];
	int64_t n = -1;

	if ((stmt = store_prepare(st, sql_sha_refs)) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, sha, -1, SQLITE_STATIC);
	snprintf(what, sizeof(what), "references of %s", sha);
	if (store_step(st, stmt, what) == STORE_STEP_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return n;
}

static int
index_exists(struct store *st, const char *sql, int64_t id)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_prepare(st, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	rc = store_step(st, stmt, "lookup");
	sqlite3_reset(stmt);
	return rc;
}

static const char sql_sub_exists[] = "SELECT 1 FROM subscribers WHERE id = ?1";
static const char sql_pol_exists[] = "SELECT 1 FROM policies WHERE id = ?1";

int
index_subscriber_exists(struct store *st, int64_t id)
{
	return index_exists(st, sql_sub_exists, id);
}

int
index_policy_exists(struct store *st, int64_t id)
{
	return index_exists(st, sql_pol_exists, id);
}
