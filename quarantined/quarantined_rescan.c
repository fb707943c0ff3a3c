/*
 * quarantined_rescan - rescans held items with the current signatures.
 *
 * A fresh libclamav engine is built from the `signatures` directory for
 * each run (signatures change between runs; a run is rare and bounded), and
 * freed at its end.  An item that still matches gets its virus name
 * updated; one that no longer matches is flagged fp_candidate = 1 (its
 * viruses become []) and, when its policy (the item's, else its
 * subscriber's) has auto_release_fp = 1, it is released.
 *
 * Trusts the signature directory (operator-owned).  Stored messages are
 * hostile content: they are only handed to libclamav.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <clamav.h>

#include "events.h"
#include "log.h"
#include "quarantined.h"

static pthread_once_t rescan_once = PTHREAD_ONCE_INIT;
static cl_error_t rescan_init_rc;

static void
rescan_init(void)
{
	rescan_init_rc = cl_init(CL_INIT_DEFAULT);
}

/* A compiled engine, or NULL with err set. */
static struct cl_engine *
rescan_engine(const char *dir, char *err, size_t errlen)
{
	struct cl_engine *e;
	unsigned int sigs = 0;
	cl_error_t rc;

	pthread_once(&rescan_once, rescan_init);
	if (rescan_init_rc != CL_SUCCESS) {
		snprintf(err, errlen, "cl_init: %s", cl_strerror(rescan_init_rc));
		return NULL;
	}
	if ((e = cl_engine_new()) == NULL) {
		snprintf(err, errlen, "cl_engine_new failed");
		return NULL;
	}
	if ((rc = cl_load(dir, e, &sigs, CL_DB_STDOPT)) != CL_SUCCESS ||
	    (rc = cl_engine_compile(e)) != CL_SUCCESS) {
		snprintf(err, errlen, "%s: %s", dir, cl_strerror(rc));
		cl_engine_free(e);
		return NULL;
	}
	log_info("rescan: %u signatures loaded from %s", sigs, dir);
	return e;
}

static const char sql_held[] =
    "SELECT q.id, q.path, coalesce(p1.auto_release_fp, p2.auto_release_fp, 0),"
    " coalesce(q.subscriber_id, 0)"
    " FROM quarantine q"
    " LEFT JOIN policies p1 ON p1.id = q.policy_id"
    " LEFT JOIN subscriber_policies sp ON sp.subscriber_id = q.subscriber_id"
    " LEFT JOIN policies p2 ON p2.id = sp.policy_id"
    " WHERE q.status = 'held' AND q.id > ?1 ORDER BY q.id LIMIT 256";

static const char sql_update[] =
    "UPDATE quarantine SET viruses = ?2, fp_candidate = ?3"
    " WHERE id = ?1 AND status = 'held'";

struct rescan_item {
	int64_t id, subscriber;
	char    path[80];
	int     autorel;
};

/* Up to max held items after `after`.  Returns the count, or -1. */
static int
rescan_page(struct qd *qd, int64_t after, struct rescan_item *it, int max)
{
	struct store *st = index_get(qd->pool);
	sqlite3_stmt *stmt;
	int n = 0, rc;

	if ((stmt = store_prepare(st, sql_held)) == NULL) {
		index_put(qd->pool, st);
		return -1;
	}
	sqlite3_bind_int64(stmt, 1, after);
	while (n < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		it[n].id = sqlite3_column_int64(stmt, 0);
		snprintf(it[n].path, sizeof(it[n].path), "%s",
		    (const char *)sqlite3_column_text(stmt, 1));
		it[n].autorel = sqlite3_column_int(stmt, 2);
		it[n].subscriber = sqlite3_column_int64(stmt, 3);
		n++;
	}
	if (n < max && rc != SQLITE_DONE) {
		log_warnx("%s: rescan: %s", st->path, sqlite3_errmsg(st->db));
		n = -1;
	}
	sqlite3_reset(stmt);
	index_put(qd->pool, st);
	return n;
}

static int
rescan_update(struct qd *qd, int64_t id, const char *virus)
{
	struct store *st = index_get(qd->pool);
	sqlite3_stmt *stmt;
	json_t *arr = json_array();
	char *text = NULL;
	int rc = -1;

	if (arr == NULL || (virus != NULL && json_array_append_new(arr, json_string(virus)) == -1))
		goto done;
	if ((text = json_dumps(arr, JSON_COMPACT)) == NULL)
		goto done;
	if ((stmt = store_prepare(st, sql_update)) == NULL)
		goto done;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_text(stmt, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, virus == NULL);
	rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : -1;
	if (rc == -1)
		log_warnx("%s: rescan update %lld: %s", st->path, (long long)id,
		    sqlite3_errmsg(st->db));
	sqlite3_reset(stmt);
done:
	free(text);
	json_decref(arr);
	index_put(qd->pool, st);
	return rc;
}

int
rescan_run(struct qd *qd, struct rescan_result *res, char *err, size_t errlen)
{
	struct qd_conf *c = qd_conf_get(qd);
	struct cl_engine *engine;
	struct cl_scan_options opts;
	struct rescan_item page[256];
	struct qauth admin = { 1, 0 };
	int64_t after = 0;
	int n, rc = 0;

	memset(res, 0, sizeof(*res));
	engine = rescan_engine(c->q.signatures, err, errlen);
	qd_conf_put(qd, c);
	if (engine == NULL)
		return -1;
	memset(&opts, 0, sizeof(opts));
	opts.parse = ~0u;
	while ((n = rescan_page(qd, after, page, 256)) > 0) {
		for (int i = 0; i < n; i++) {
			const char *virname = NULL;
			unsigned long scanned = 0;
			cl_error_t cr;
			int fd;

			after = page[i].id;
			if ((fd = spool_open_item(qd->spool, page[i].path)) == -1) {
				log_warn("rescan %lld: %s", (long long)page[i].id, page[i].path);
				continue;
			}
			cr = cl_scandesc(fd, NULL, &virname, &scanned, engine, &opts);
			close(fd);
			if (cr != CL_VIRUS && cr != CL_CLEAN) {
				log_warnx("rescan %lld: %s", (long long)page[i].id, cl_strerror(cr));
				continue;
			}
			if (rescan_update(qd, page[i].id, cr == CL_VIRUS ? virname : NULL) == -1) {
				rc = -1;
				continue;
			}
			res->rescanned++;
			if (cr == CL_VIRUS) {
				res->infected++;
				continue;
			}
			res->clean++;
			log_info("rescan %lld: now clean: false-positive candidate",
			    (long long)page[i].id);
			if (page[i].autorel) {
				char reply[512];
				if (release_item(qd, page[i].id, &admin, "rescan", NULL, reply,
				    sizeof(reply)) == REL_OK)
					res->released++;
				else
					log_warnx("rescan %lld: automatic release failed: %s",
					    (long long)page[i].id, reply);
			}
		}
	}
	if (n == -1)
		rc = -1;
	cl_engine_free(engine);
	{
		char buf[256];
		struct jbuf j;
		jbuf_init(&j, buf, sizeof(buf));
		jbuf_int(&j, "rescanned", res->rescanned);
		jbuf_int(&j, "clean", res->clean);
		jbuf_int(&j, "released", res->released);
		event_emit(EV_QUARANTINE_RESCAN, SEV_INFO, 0, NULL, jbuf_end(&j));
	}
	if (rc == -1)
		snprintf(err, errlen, "store error during rescan");
	return rc;
}
