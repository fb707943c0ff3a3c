/*
 * quarantined_purge - removal of items: one on request (DELETE), and the
 * retention purge (POST /v1/purge and every purge_interval).
 *
 * A deleted item keeps its row with status 'deleted' (the record of what
 * was held); the retention purge removes rows altogether.  Either way the
 * content file goes only when no live row uses the same content, and never
 * while the item is being released: the item is claimed in the busy set
 * first, and rows change and files go under the spool lock (see
 * quarantined_spool.c), so a concurrent submission of the same content
 * cannot lose its file.
 *
 * Retention: the item's policy (quarantine.policy_id), else its
 * subscriber's, else the configured retention_days.  0 days = kept forever.
 */
#include <string.h>
#include <time.h>

#include "events.h"
#include "log.h"
#include "qclient.h"
#include "quarantined.h"

int
purge_delete_item(struct qd *qd, int64_t id, const struct qauth *who, char *err,
    size_t errlen)
{
	struct store *st;
	struct qrow row;
	int rc, ret = -1;

	if (!release_busy_claim(qd, id)) {
		snprintf(err, errlen, "item %lld is being released right now", (long long)id);
		return -2;
	}
	qspool_lock(qd->spool);
	st = store_pool_get(qd->pool);
	if (store_begin(st) == -1) {
		snprintf(err, errlen, "store error");
		goto done;
	}
	rc = index_row(st, id, who->admin ? 0 : who->subscriber, &row);
	if (rc == 1 && strcmp(row.status, QSTATUS_DELETED) == 0) {
		snprintf(err, errlen, "item %lld is already deleted", (long long)id);
		rc = -2;
	} else if (rc == 1) {
		rc = index_mark_deleted(st, id);
	}
	if (rc != 1 || store_commit(st) == -1) {
		store_rollback(st);
		if (rc == 0)
			snprintf(err, errlen, "no item %lld", (long long)id);
		else if (rc != -2)
			snprintf(err, errlen, "store error");
		ret = rc == 1 ? -1 : rc;
		index_row_free(&row);
		goto done;
	}
	qspool_drop_unreferenced(qd->spool, st, row.sha256);
	log_mail(LOGL_INFO, row.queue_id[0] ? row.queue_id : NULL,
	    "quarantine item %lld deleted", (long long)id);
	{
		char buf[256];
		struct jbuf j;
		jbuf_init(&j, buf, sizeof(buf));
		jbuf_int(&j, "id", id);
		jbuf_str(&j, "reason", "request");
		event_emit(EV_QUARANTINE_DELETED, SEV_INFO, row.subscriber, NULL, jbuf_end(&j));
	}
	index_row_free(&row);
	ret = 1;
done:
	store_pool_put(qd->pool, st);
	qspool_unlock(qd->spool);
	release_busy_drop(qd, id);
	return ret;
}

#define RETENTION \
    "coalesce(p1.retention_days, p2.retention_days, ?1)"
static const char sql_expired[] =
    "SELECT q.id, q.sha256, coalesce(q.subscriber_id, 0) FROM quarantine q"
    " LEFT JOIN policies p1 ON p1.id = q.policy_id"
    " LEFT JOIN subscriber_policies sp ON sp.subscriber_id = q.subscriber_id"
    " LEFT JOIN policies p2 ON p2.id = sp.policy_id"
    " WHERE " RETENTION " > 0 AND q.received < ?2 - " RETENTION " * 86400"
    " AND q.id > ?3 ORDER BY q.id LIMIT 256";
static const char sql_remove[] = "DELETE FROM quarantine WHERE id = ?1";

struct purge_item {
	int64_t id, subscriber;
	char    sha[QD_SHA256_HEX];
	int     claimed;
};

/* Removes one page of expired rows (those not busy) in one transaction,
 * then their unreferenced files.  Returns the page size, or -1. */
static int
purge_page(struct qd *qd, struct store *st, int64_t *after, int64_t now,
    long long defdays, int64_t *purged)
{
	struct purge_item it[256];
	sqlite3_stmt *stmt;
	int n = 0, rc, ok = 1;

	if ((stmt = store_prepare(st, sql_expired)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, defdays);
	sqlite3_bind_int64(stmt, 2, now);
	sqlite3_bind_int64(stmt, 3, *after);
	while (n < 256 && (rc = store_step(st, stmt, "purge")) == STORE_STEP_ROW) {
		it[n].id = sqlite3_column_int64(stmt, 0);
		snprintf(it[n].sha, sizeof(it[n].sha), "%s",
		    (const char *)sqlite3_column_text(stmt, 1));
		it[n].subscriber = sqlite3_column_int64(stmt, 2);
		it[n].claimed = release_busy_claim(qd, it[n].id);
		n++;
	}
	if (n < 256 && rc != STORE_STEP_DONE)
		ok = 0;
	sqlite3_reset(stmt);
	if (n > 0)
		*after = it[n - 1].id;
	qspool_lock(qd->spool);
	if (ok && n > 0 && store_begin(st) == -1)
		ok = 0;
	for (int i = 0; i < n && ok; i++) {
		if (!it[i].claimed)
			continue;          /* being released: next run */
		if ((stmt = store_prepare(st, sql_remove)) == NULL) {
			ok = 0;
			break;
		}
		sqlite3_bind_int64(stmt, 1, it[i].id);
		if (store_run_stmt(st, stmt, "purge") == -1)
			ok = 0;
	}
	if (ok && n > 0 && store_commit(st) == -1)
		ok = 0;
	if (!ok) {
		/* The failure itself was logged where it happened. */
		log_warnx("%s: purge: a page of %d expired item(s) rolled back",
		    st->path, n);
		store_rollback(st);
	}
	for (int i = 0; i < n; i++) {
		if (!it[i].claimed)
			continue;
		if (ok) {
			char buf[160];
			struct jbuf j;
			qspool_drop_unreferenced(qd->spool, st, it[i].sha);
			(*purged)++;
			jbuf_init(&j, buf, sizeof(buf));
			jbuf_int(&j, "id", it[i].id);
			jbuf_str(&j, "reason", "retention");
			event_emit(EV_QUARANTINE_DELETED, SEV_INFO, it[i].subscriber, NULL,
			    jbuf_end(&j));
		}
		release_busy_drop(qd, it[i].id);
	}
	qspool_unlock(qd->spool);
	return ok ? n : -1;
}

int
purge_run(struct qd *qd, int64_t *purged)
{
	struct qd_conf *c = qd_conf_get(qd);
	long long defdays = c->q.retention_days;
	struct store *st;
	int64_t after = 0, now = (int64_t)time(NULL);
	int n;

	qd_conf_put(qd, c);
	*purged = 0;
	st = store_pool_get(qd->pool);
	while ((n = purge_page(qd, st, &after, now, defdays, purged)) == 256)
		;
	store_pool_put(qd->pool, st);
	if (*purged > 0)
		log_info("purge: %lld item(s) past retention removed", (long long)*purged);
	return n == -1 ? -1 : 0;
}
