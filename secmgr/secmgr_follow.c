/*
 * secmgr_follow - the follower.  Each tick: reload the rule snapshot when
 * meta.rule_generation moved (or after a HUP); then read the events after
 * the cursor in batches (one prepared SELECT per batch, no other SQL per
 * event), feed them to the engine, and write the batch's responses and the
 * new cursor in ONE transaction.  So a restart neither repeats nor skips an
 * event.  The engine's state is not stored: at start, after a rule reload
 * and after a failed batch it is rebuilt by replaying, without responses,
 * the events of the longest window up to the cursor.
 *
 * A batch that cannot commit (database locked past the busy timeout, the
 * forensic log failing) is rolled back whole and retried at the next tick
 * from the same cursor, and said each time.
 *
 * Events are hostile rows: kind, daemon and address are bounded (longer
 * ones are kept in the table, counted for nothing, and logged once);
 * unknown kinds and malformed detail_json are logged once per kind and
 * still counted for rules that name the kind.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "event_kinds.h"
#include "forensic.h"
#include "log.h"
#include "net.h"
#include "secmgr.h"

#define BATCHES_PER_TICK 50
#define SAID_MAX         64          /* kinds remembered as already logged */

struct frow {
	int64_t  id, ts, sub;
	char     kind[SECMGR_KIND_LEN];
	char     daemon[64];
	char     src_ip[64];
	char     sender[256];
	int      has_ip, has_sender;
};

static struct {
	struct store         *st;
	struct forensic      *fx;
	struct secmgr_rules  *rules;
	struct secmgr_engine *eng;
	int                   primed;
	int                   reload;
	int64_t               cursor;
	time_t                last_withdraw;
	int                   ready;
	struct frow          *rows;
	size_t                caprows;
	struct secmgr_resp   *resp;
	int                   nresp, capresp;
	int                   resp_oom;
	char                  said_unknown[SAID_MAX][SECMGR_KIND_LEN];
	int                   nsaid_unknown;
	char                  said_bad[SAID_MAX][SECMGR_KIND_LEN];
	int                   nsaid_bad;
	int                   said_long;
	char                 *ready_file;
	struct cidrset       *exempt;       /* of exempt_conf */
	const void           *exempt_conf;  /* the generation it was built from */
} fw;

static const char sql_cursor[] = "SELECT last_event_id FROM secmgr_state WHERE id = 1";
static const char sql_set_cursor[] =
    "UPDATE secmgr_state SET last_event_id = ?1, updated = ?2 WHERE id = 1 AND last_event_id = ?3";
static const char sql_batch[] =
    "SELECT id, ts, daemon, kind, subscriber_id, src_ip, detail_json FROM events "
    "WHERE id > ?1 ORDER BY id LIMIT ?2";
static const char sql_last_ts[] =
    "SELECT ts FROM events WHERE id <= ?1 ORDER BY id DESC LIMIT 1";
static const char sql_replay[] =
    "SELECT id, ts, daemon, kind, subscriber_id, src_ip, detail_json FROM events "
    "WHERE id > ?1 AND id <= ?2 AND ts >= ?3 ORDER BY id LIMIT ?4";

/* 1 when kind was said before; else remembers it (while there is room). */
static int
follow_said(char said[][SECMGR_KIND_LEN], int *n, const char *kind)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(said[i], kind) == 0)
			return 1;
	if (*n < SAID_MAX)
		snprintf(said[(*n)++], SECMGR_KIND_LEN, "%s", kind);
	else if (*n == SAID_MAX) {
		log_warnx("more than %d kinds with warnings: no more are logged", SAID_MAX);
		(*n)++;
	}
	return *n > SAID_MAX;
}

/* The sender domain of a detail_json object, when the rules need it.  Returns
 * 1 found, 0 none, -1 malformed. */
static int
follow_detail(const char *text, int want_sender, char *dom, size_t len)
{
	json_t *o, *v;
	size_t n;
	int r = 0;

	if (!want_sender) {
		/* A cheap shape check only: nothing reads the detail. */
		while (*text == ' ' || *text == '\t' || *text == '\n')
			text++;
		n = strlen(text);
		while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\n'))
			n--;
		return text[0] == '{' && n > 0 && text[n - 1] == '}' ? 0 : -1;
	}
	if ((o = json_loads(text, 0, NULL)) == NULL)
		return -1;
	if (!json_is_object(o))
		r = -1;
	else if (json_is_string(v = json_object_get(o, "sender")) &&
	    addr_domain(json_string_value(v), dom, len) == 0)
		r = 1;
	json_decref(o);
	return r;
}

/* Reads one row of sql_batch/sql_replay's shape into r.  0, or -1 when the
 * row is counted for nothing (logged once). */
static int
follow_row(sqlite3_stmt *q, struct frow *r)
{
	const char *kind = (const char *)sqlite3_column_text(q, 3);
	const char *daemon = (const char *)sqlite3_column_text(q, 2);
	const char *ip = (const char *)sqlite3_column_text(q, 5);
	const char *detail = (const char *)sqlite3_column_text(q, 6);
	int d;

	r->id = sqlite3_column_int64(q, 0);
	r->ts = sqlite3_column_int64(q, 1);
	r->sub = sqlite3_column_int64(q, 4);
	r->has_ip = r->has_sender = 0;
	r->kind[0] = '\0';
	if (kind == NULL || strlen(kind) >= sizeof(r->kind) ||
	    (daemon != NULL && strlen(daemon) >= sizeof(r->daemon))) {
		if (!fw.said_long++)
			log_warnx("event %" PRId64 ": kind or daemon missing or over %zu bytes: "
			    "kept, counted for nothing (said once)", r->id, sizeof(r->kind) - 1);
		return -1;
	}
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	snprintf(r->daemon, sizeof(r->daemon), "%s", daemon ? daemon : "");
	if (ip != NULL && strlen(ip) < sizeof(r->src_ip) &&
	    (fw.exempt == NULL || cidrset_match(fw.exempt, ip, NULL) != 1)) {
		snprintf(r->src_ip, sizeof(r->src_ip), "%s", ip);
		r->has_ip = 1;
	}
	if (!event_kind_known(kind) &&
	    !follow_said(fw.said_unknown, &fw.nsaid_unknown, kind))
		log_warnx("event %" PRId64 ": unknown kind \"%s\": kept, counted for rules "
		    "that name it (said once per kind)", r->id, kind);
	if (detail != NULL) {
		d = follow_detail(detail, fw.rules->sender, r->sender, sizeof(r->sender));
		if (d == 1)
			r->has_sender = 1;
		else if (d == -1 && !follow_said(fw.said_bad, &fw.nsaid_bad, kind))
			log_warnx("event %" PRId64 " (%s): malformed detail_json: kept, counted "
			    "(said once per kind)", r->id, kind);
	}
	return 0;
}

static void
follow_event(const struct frow *r, struct secmgr_event *ev)
{
	ev->id = r->id;
	ev->ts = r->ts;
	ev->kind = r->kind;
	ev->daemon = r->daemon;
	ev->subscriber_id = r->sub;
	ev->src_ip = r->has_ip ? r->src_ip : NULL;
	ev->sender_domain = r->has_sender ? r->sender : NULL;
}

static void
follow_discard(void *arg, const struct secmgr_match *m)
{
	(void)arg;
	(void)m;
}

static void
follow_collect(void *arg, const struct secmgr_match *m)
{
	struct secmgr_resp *rp, *nr;

	(void)arg;
	if (fw.nresp == fw.capresp) {
		int cap = fw.capresp ? fw.capresp * 2 : 64;

		if ((nr = realloc(fw.resp, cap * sizeof(*nr))) == NULL) {
			fw.resp_oom = 1;
			return;
		}
		fw.resp = nr;
		fw.capresp = cap;
	}
	rp = &fw.resp[fw.nresp++];
	rp->r = m->r;
	snprintf(rp->key, sizeof(rp->key), "%s", m->key);
	memcpy(rp->ids, m->ids, m->nids * sizeof(m->ids[0]));
	rp->nids = m->nids;
	rp->ts = m->ts;
}

static int
follow_cursor(int64_t *out)
{
	sqlite3_stmt *q;
	int rc;

	if ((q = store_prepare(fw.st, sql_cursor)) == NULL)
		return -1;
	if ((rc = store_step(fw.st, q, "cursor")) == STORE_STEP_ERROR)
		return -1;
	if (rc == STORE_STEP_DONE) {
		log_warnx("%s: secmgr_state has no row: run `moatctl db migrate`", fw.st->path);
		return -1;
	}
	*out = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return 0;
}

/* Rebuilds the engine for the current rules and replays the longest window
 * up to the cursor, without responses.  0, or -1 (retried next tick). */
static int
follow_prime(const struct secmgr_conf_gen *c)
{
	struct secmgr_engine *e;
	struct secmgr_event ev;
	struct frow r;
	sqlite3_stmt *q;
	int64_t from = 0, after, last_ts = 0;
	long long n = 0;
	int rc;

	if ((e = secmgr_engine_new(fw.rules->rules, fw.rules->nrules,
	    (size_t)c->s.max_keys)) == NULL) {
		log_warnx("engine: out of memory");
		return -1;
	}
	secmgr_engine_free(fw.eng);
	fw.eng = e;
	if (follow_cursor(&fw.cursor) == -1)
		return -1;
	if (fw.cursor > 0 && fw.rules->nrules > 0) {
		if ((q = store_prepare(fw.st, sql_last_ts)) == NULL)
			return -1;
		sqlite3_bind_int64(q, 1, fw.cursor);
		if ((rc = store_step(fw.st, q, "replay start")) == STORE_STEP_ERROR)
			return -1;
		if (rc == STORE_STEP_ROW) {
			last_ts = sqlite3_column_int64(q, 0);
			sqlite3_reset(q);
		}
		from = last_ts - fw.rules->max_window;
		for (after = 0;;) {
			int got = 0;

			if ((q = store_prepare(fw.st, sql_replay)) == NULL)
				return -1;
			sqlite3_bind_int64(q, 1, after);
			sqlite3_bind_int64(q, 2, fw.cursor);
			sqlite3_bind_int64(q, 3, from);
			sqlite3_bind_int64(q, 4, c->s.batch);
			while ((rc = store_step(fw.st, q, "replay")) == STORE_STEP_ROW) {
				got++;
				after = sqlite3_column_int64(q, 0);
				if (follow_row(q, &r) == -1)
					continue;
				follow_event(&r, &ev);
				secmgr_engine_feed(fw.eng, &ev, follow_discard, NULL);
				n++;
			}
			if (rc == STORE_STEP_ERROR)
				return -1;
			if (got < c->s.batch)
				break;
		}
	}
	fw.primed = 1;
	log_info("following events after %" PRId64 " (%lld replayed to rebuild %lld s of "
	    "state, %zu keys)", fw.cursor, n, fw.rules->max_window, secmgr_engine_keys(fw.eng, -1));
	return 0;
}

/* One batch.  Returns the number of events read (0: none new), or -1 when
 * the batch was rolled back (the engine is then rebuilt). */
static int
follow_batch(const struct secmgr_conf_gen *c)
{
	struct secmgr_event ev;
	sqlite3_stmt *q;
	int64_t last = fw.cursor, maxts = 0;
	time_t now = time(NULL);
	size_t n = 0, i;
	int rc, nread = 0;

	if (fw.caprows < (size_t)c->s.batch) {
		struct frow *nr = realloc(fw.rows, c->s.batch * sizeof(*nr));

		if (nr == NULL) {
			log_warnx("batch: out of memory");
			return -1;
		}
		fw.rows = nr;
		fw.caprows = c->s.batch;
	}
	if ((q = store_prepare(fw.st, sql_batch)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, fw.cursor);
	sqlite3_bind_int64(q, 2, c->s.batch);
	while ((rc = store_step(fw.st, q, "events")) == STORE_STEP_ROW) {
		last = sqlite3_column_int64(q, 0);
		nread++;
		if (follow_row(q, &fw.rows[n]) == 0)
			n++;
	}
	if (rc == STORE_STEP_ERROR)
		return -1;
	if (last == fw.cursor)
		return 0;
	fw.nresp = 0;
	fw.resp_oom = 0;
	for (i = 0; i < n; i++) {
		follow_event(&fw.rows[i], &ev);
		secmgr_engine_feed(fw.eng, &ev, follow_collect, NULL);
		if (ev.ts > maxts)
			maxts = ev.ts;
	}
	if (fw.resp_oom) {
		log_warnx("batch after event %" PRId64 ": out of memory for responses: "
		    "retried", fw.cursor);
		return -1;
	}
	if (store_begin(fw.st) == -1)
		goto fail;
	if (secmgr_respond(fw.st, fw.fx, fw.resp, fw.nresp, now) == -1)
		goto fail;
	if ((q = store_prepare(fw.st, sql_set_cursor)) == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, last);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)now);
	sqlite3_bind_int64(q, 3, fw.cursor);
	if (store_run_stmt(fw.st, q, "cursor") == -1)
		goto fail;
	if (sqlite3_changes(fw.st->db) != 1) {
		log_warnx("the cursor moved under us (another moat-secmgr on this store?): "
		    "batch rolled back");
		goto fail;
	}
	/* The batch's forensic records on disk before the responses commit. */
	if (fw.nresp > 0 && forensic_sync(fw.fx) == -1) {
		log_warnx("forensic log: %s: responses stop, the cursor stays (fail closed)",
		    forensic_error(fw.fx));
		goto fail;
	}
	if (store_commit(fw.st) == -1)
		goto fail;
	fw.cursor = last;
	if (fw.nresp > 0)
		secmgr_effects(c, fw.st, fw.resp, fw.nresp);
	if (maxts > 0)
		secmgr_engine_sweep(fw.eng, maxts);
	return nread;
fail:
	store_rollback(fw.st);
	log_warnx("events after %" PRId64 " not answered (%s): the cursor stays, retried "
	    "at the next tick", fw.cursor, store_kind(fw.st) == STORE_BUSY ?
	    STORE_LOCKED_TEXT : "see above");
	fw.primed = 0;
	return -1;
}

static void
follow_rules(void)
{
	struct secmgr_rules *nr;
	int64_t g;

	if (!fw.reload && fw.rules != NULL &&
	    ((g = secmgr_rules_generation(fw.st)) == -1 || g == fw.rules->generation))
		return;
	if ((nr = secmgr_rules_load(fw.st)) == NULL)
		return;                 /* logged; the running set stays */
	secmgr_rules_put(fw.rules);
	fw.rules = nr;
	fw.reload = 0;
	fw.primed = 0;
}

static void
follow_ready(void)
{
	int fd;

	if (fw.ready || fw.ready_file == NULL)
		return;
	if ((fd = open(fw.ready_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == -1)
		log_warn("ready file %s", fw.ready_file);
	else
		close(fd);
	fw.ready = 1;
}

/* The exempt set of generation c (rebuilt when HUP brought a new one; the
 * option's validator checked every word). */
static void
follow_exempt(const struct secmgr_conf_gen *c)
{
	char *s, *w, *save = NULL;

	if (fw.exempt_conf == c)
		return;
	fw.exempt_conf = c;
	cidrset_free(fw.exempt);
	fw.exempt = NULL;
	if (c->s.exempt == NULL || (s = strdup(c->s.exempt)) == NULL ||
	    (fw.exempt = cidrset_new()) == NULL)
		return;
	for (w = strtok_r(s, " ,\t", &save); w != NULL; w = strtok_r(NULL, " ,\t", &save))
		cidrset_add(fw.exempt, w, NULL);
	free(s);
}

void
secmgr_follow_tick(void)
{
	struct secmgr_conf_gen *c = daemon_conf_get();
	time_t now = time(NULL);
	int b, got;

	follow_exempt(c);
	follow_rules();
	if (fw.rules == NULL || (!fw.primed && follow_prime(c) == -1))
		goto done;
	follow_ready();
	for (b = 0; b < BATCHES_PER_TICK && !daemon_stop_requested; b++) {
		if (b > 0)
			follow_rules();     /* polled each batch */
		if (!fw.primed)
			break;
		if ((got = follow_batch(c)) <= 0)
			break;
	}
	if (now - fw.last_withdraw >= c->s.expire_every) {
		fw.last_withdraw = now;
		secmgr_withdraw(c, fw.st, fw.fx, now);
	}
done:
	daemon_conf_put(c);
}

void
secmgr_follow_reload(void)
{
	fw.reload = 1;
	fw.exempt_conf = NULL;          /* rebuilt from the new generation */
}

int
secmgr_follow_start(const struct secmgr_conf_gen *c, char *err, size_t errlen)
{
	if (store_open(c->common.store, 0, 5000, &fw.st, err, errlen) == -1)
		return -1;
	if ((fw.fx = forensic_open(c->s.forensic_log, c->s.forensic_key,
	    (unsigned)c->s.forensic_every, err, errlen)) == NULL)
		return -1;
	if (c->s.ready_file != NULL && (fw.ready_file = strdup(c->s.ready_file)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fw.reload = 1;
	return 0;
}

void
secmgr_follow_stop(void)
{
	if (fw.ready_file != NULL)
		unlink(fw.ready_file);
	free(fw.ready_file);
	forensic_close(fw.fx);
	secmgr_engine_free(fw.eng);
	secmgr_rules_put(fw.rules);
	cidrset_free(fw.exempt);
	store_close(fw.st);
	free(fw.rows);
	free(fw.resp);
	memset(&fw, 0, sizeof(fw));
}
