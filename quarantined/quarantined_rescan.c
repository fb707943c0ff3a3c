/*
 * quarantined_rescan - rescans held items with the current signatures and
 * exactly the scan settings the milter used for each (quarantine.
 * scan_settings, see common/scanopts.h; quarantined_scan.c runs the
 * milter's own scan_message()).  An item stored without settings (older
 * rows, or a submission without them) is rescanned with the strictest
 * defaults: heuristics on, scan all, the milter's default limits.
 *
 * Per item:
 *   - anything detected (a signature, a heuristic alert, a limit): the item
 *     stays held with its names updated (a different name than before is
 *     logged and counted as "changed"); a virus hold whose only finding is
 *     now a heuristic alert or a limit becomes a heuristic / unscannable
 *     hold (never the reverse);
 *   - nothing detected: the item's own detection is gone, it becomes a
 *     false-positive candidate (fp_candidate = 1; a virus hold's names
 *     become []), and it is released when its policy (the item's, else its
 *     subscriber's) has auto_release_fp = 1 -- only a 'virus' hold: a
 *     heuristic or unscannable hold is released by an operator only;
 *   - a scan error: left as it was.
 *
 * A libclamav engine is built from the `signatures` directory for each run
 * (rebuilt within the run only when an item needs other engine limits) and
 * freed at its end.  Trusts the signature directory (operator-owned).
 * Stored messages are hostile content; stored settings are validated like
 * the milter's submission.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "quarantined.h"
#include "quarantined_scan.h"

#define RESCAN_PAGE 256

static const char sql_held[] =
    "SELECT q.id, q.path, coalesce(p1.auto_release_fp, p2.auto_release_fp, 0),"
    " coalesce(q.subscriber_id, 0), q.hold, q.viruses, q.scan_settings"
    " FROM quarantine q"
    " LEFT JOIN policies p1 ON p1.id = q.policy_id"
    " LEFT JOIN subscriber_policies sp ON sp.subscriber_id = q.subscriber_id"
    " LEFT JOIN policies p2 ON p2.id = sp.policy_id"
    " WHERE q.status = 'held' AND q.id > ?1 ORDER BY q.id LIMIT 256";

static const char sql_update[] =
    "UPDATE quarantine SET viruses = ?2, fp_candidate = ?3, hold = ?4"
    " WHERE id = ?1 AND status = 'held'";

struct rescan_item {
	int64_t  id, subscriber;
	char     path[80];
	char     hold[16];
	int      autorel;
	char    *viruses;        /* JSON text as stored; malloc'd */
	char    *settings;       /* NULL: none stored; malloc'd */
};

static char *
rescan_dup(const unsigned char *s)
{
	return s != NULL ? strdup((const char *)s) : NULL;
}

static void
rescan_page_free(struct rescan_item *it, int n)
{
	for (int i = 0; i < n; i++) {
		free(it[i].viruses);
		free(it[i].settings);
	}
}

/* Up to max held items after `after`.  Returns the count, or -1. */
static int
rescan_page(struct qd *qd, int64_t after, struct rescan_item *it, int max)
{
	struct store *st = store_pool_get(qd->pool);
	sqlite3_stmt *stmt;
	int n = 0, rc = STORE_STEP_DONE;

	if ((stmt = store_prepare(st, sql_held)) == NULL) {
		store_pool_put(qd->pool, st);
		return -1;
	}
	sqlite3_bind_int64(stmt, 1, after);
	while (n < max && (rc = store_step(st, stmt, "rescan")) == STORE_STEP_ROW) {
		memset(&it[n], 0, sizeof(it[n]));
		it[n].id = sqlite3_column_int64(stmt, 0);
		snprintf(it[n].path, sizeof(it[n].path), "%s",
		    (const char *)sqlite3_column_text(stmt, 1));
		it[n].autorel = sqlite3_column_int(stmt, 2);
		it[n].subscriber = sqlite3_column_int64(stmt, 3);
		snprintf(it[n].hold, sizeof(it[n].hold), "%s",
		    (const char *)sqlite3_column_text(stmt, 4));
		it[n].viruses = rescan_dup(sqlite3_column_text(stmt, 5));
		it[n].settings = rescan_dup(sqlite3_column_text(stmt, 6));
		n++;
	}
	if (rc == STORE_STEP_ERROR) {
		rescan_page_free(it, n);
		n = -1;
	}
	sqlite3_reset(stmt);
	store_pool_put(qd->pool, st);
	return n;
}

/* viruses: the new JSON text.  0 or -1. */
static int
rescan_update(struct qd *qd, int64_t id, const char *viruses, int fp, const char *hold)
{
	struct store *st = store_pool_get(qd->pool);
	sqlite3_stmt *stmt;
	char what[64];
	int rc = -1;

	if ((stmt = store_prepare(st, sql_update)) != NULL) {
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_text(stmt, 2, viruses, -1, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 3, fp);
		sqlite3_bind_text(stmt, 4, hold, -1, SQLITE_STATIC);
		snprintf(what, sizeof(what), "rescan update %lld", (long long)id);
		rc = store_run_stmt(st, stmt, what);
	}
	store_pool_put(qd->pool, st);
	return rc;
}

/* 1 when name is one of the names in the stored JSON array. */
static int
rescan_had(const char *stored, const char *name)
{
	json_t *a = json_loads(stored != NULL ? stored : "[]", 0, NULL), *v;
	size_t i;
	int had = 0;

	json_array_foreach(a, i, v)
		if (json_string_value(v) != NULL && strcmp(json_string_value(v), name) == 0)
			had = 1;
	json_decref(a);
	return had;
}

/* The hold kind after a finding v: never weaker than the stored one. */
static const char *
rescan_hold(const char *stored, enum qscan_verdict v)
{
	if (strcmp(stored, "virus") != 0)
		return stored;
	return v == QSCAN_HEURISTIC ? "heuristic" : v == QSCAN_UNSCANNABLE ? "unscannable" :
	    "virus";
}

/* One item.  Returns 0, or -1 on a store error. */
static int
rescan_one(struct qd *qd, const char *sigdir, struct qscan **qs, struct rescan_item *it,
    struct rescan_result *res)
{
	struct scanopts so;
	struct qauth admin = { 1, 0 };
	enum qscan_verdict v;
	char name[256], err[256], *text;
	int fd, stored = it->settings != NULL, autorel = it->autorel;
	const char *hold;

	if (stored && scanopts_decode(it->settings, &so, err, sizeof(err)) == -1) {
		/* Damaged settings: the strictest scan, and no automatic release. */
		log_warnx("rescan %lld: %s; using the defaults", (long long)it->id, err);
		scanopts_default(&so);
		autorel = 0;
	} else if (!stored) {
		scanopts_default(&so);
	}
	if (*qs == NULL || !qscan_fits(*qs, &so)) {
		qscan_free(*qs);
		if ((*qs = qscan_new(sigdir, &so, err, sizeof(err))) == NULL) {
			log_warnx("rescan %lld: %s", (long long)it->id, err);
			res->errors++;
			return 0;
		}
		log_info("rescan: %u signatures loaded from %s", qscan_signatures(*qs), sigdir);
	}
	if ((fd = qspool_open_item(qd->spool, it->path)) == -1) {
		log_warn("rescan %lld: %s", (long long)it->id, it->path);
		res->errors++;
		return 0;
	}
	v = qscan_fd(*qs, &so, fd, name, sizeof(name));
	close(fd);
	if (v == QSCAN_ERROR) {
		log_warnx("rescan %lld: %s", (long long)it->id, name);
		res->errors++;
		return 0;
	}
	res->rescanned++;
	if (v != QSCAN_CLEAN) {
		json_t *a = json_pack("[s]", name);
		hold = rescan_hold(it->hold, v);
		if (a == NULL || (text = json_dumps(a, JSON_COMPACT)) == NULL) {
			json_decref(a);
			return -1;
		}
		json_decref(a);
		if (!rescan_had(it->viruses, name)) {
			res->changed++;
			log_info("rescan %lld: now held for %s (was %s, %s hold)", (long long)it->id,
			    name, it->viruses != NULL ? it->viruses : "[]", hold);
		}
		res->infected++;
		int rc = rescan_update(qd, it->id, text, 0, hold);
		free(text);
		return rc;
	}
	/* The item's own detection is gone: a false-positive candidate.  A
	 * heuristic or unscannable hold keeps its reason for the operator. */
	res->clean++;
	if (rescan_update(qd, it->id, strcmp(it->hold, "virus") == 0 ? "[]" :
	    (it->viruses != NULL ? it->viruses : "[]"), 1, it->hold) == -1)
		return -1;
	log_info("rescan %lld: nothing found with the milter's settings: "
	    "false-positive candidate (%s hold)", (long long)it->id, it->hold);
	if (!autorel)
		return 0;
	if (strcmp(it->hold, "virus") != 0) {
		log_info("rescan %lld: %s hold: released by an operator only", (long long)it->id,
		    it->hold);
		return 0;
	}
	{
		char reply[512];
		if (release_item(qd, it->id, &admin, "rescan", NULL, reply, sizeof(reply)) == REL_OK)
			res->released++;
		else
			log_warnx("rescan %lld: automatic release failed: %s", (long long)it->id,
			    reply);
	}
	return 0;
}

int
rescan_run(struct qd *qd, struct rescan_result *res, char *err, size_t errlen)
{
	struct qd_conf *c = qd_conf_get(qd);
	struct rescan_item page[RESCAN_PAGE];
	struct qscan *qs = NULL;
	char *sigdir = strdup(c->q.signatures);
	int64_t after = 0;
	int n, rc = 0;

	qd_conf_put(qd, c);
	memset(res, 0, sizeof(*res));
	if (sigdir == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* The default engine first: a broken signature directory fails the
	 * run at once, as before, rather than item by item. */
	{
		struct scanopts so;
		scanopts_default(&so);
		if ((qs = qscan_new(sigdir, &so, err, errlen)) == NULL) {
			free(sigdir);
			return -1;
		}
		log_info("rescan: %u signatures loaded from %s", qscan_signatures(qs), sigdir);
	}
	while ((n = rescan_page(qd, after, page, RESCAN_PAGE)) > 0) {
		for (int i = 0; i < n; i++) {
			after = page[i].id;
			if (rescan_one(qd, sigdir, &qs, &page[i], res) == -1)
				rc = -1;
		}
		rescan_page_free(page, n);
	}
	if (n == -1)
		rc = -1;
	qscan_free(qs);
	free(sigdir);
	{
		char buf[256];
		struct jbuf j;
		jbuf_init(&j, buf, sizeof(buf));
		jbuf_int(&j, "rescanned", res->rescanned);
		jbuf_int(&j, "clean", res->clean);
		jbuf_int(&j, "released", res->released);
		jbuf_int(&j, "changed", res->changed);
		jbuf_int(&j, "errors", res->errors);
		event_emit(EV_QUARANTINE_RESCAN, SEV_INFO, 0, NULL, jbuf_end(&j));
	}
	if (rc == -1)
		snprintf(err, errlen, "store error during rescan");
	return rc;
}
