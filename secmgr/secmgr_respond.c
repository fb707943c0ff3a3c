/*
 * secmgr_respond - one response, written inside the follower's batch
 * transaction: the key as a threat source (origin 'secmgr', an expiry from
 * the rule's escalation schedule by how many times the rule already
 * responded to the key), the incident of (rule, key) opened or, when one is
 * open, updated with the new events, a secmgr.response event, and the
 * forensic record.  The forensic record is written last (forensic_append_batch)
 * and made durable by the follower (forensic_sync) before its commit: if it
 * cannot be, the caller rolls everything back and keeps its cursor (fail
 * closed).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "event_kinds.h"
#include "events.h"
#include "forensic.h"
#include "log.h"
#include "secmgr.h"

#define INCIDENT_IDS_MAX 200            /* event ids an incident keeps */

static const char sql_prior[] =
    "SELECT coalesce(sum(responses), 0) FROM incidents WHERE rule_id = ?1 AND key = ?2";
/* An operator's row is never touched; a secmgr row only lengthens. */
static const char sql_threat[] =
    "INSERT INTO threat_sources(kind, value, reason, origin, created, expires) "
    "VALUES (?1, ?2, ?3, 'secmgr', ?4, ?5) ON CONFLICT(kind, value) DO UPDATE SET "
    " expires = max(coalesce(expires, 0), excluded.expires), reason = excluded.reason "
    " WHERE origin = 'secmgr' AND expires IS NOT NULL";
static const char sql_open[] =
    "SELECT id, event_ids FROM incidents WHERE rule_id = ?1 AND key = ?2 AND status = 'open' "
    "ORDER BY id DESC LIMIT 1";
static const char sql_update[] =
    "UPDATE incidents SET updated = ?1, summary = ?2, response = ?3, event_ids = ?4, "
    " expires = ?5, responses = responses + 1 WHERE id = ?6";
static const char sql_insert[] =
    "INSERT INTO incidents(rule_id, opened, updated, key, summary, response, status, "
    " event_ids, expires, responses) VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)";
static const char sql_event[] =
    "INSERT INTO events(ts, daemon, kind, severity, src_ip, detail_json) "
    "VALUES (?1, 'secmgr', ?2, 2, ?3, ?4)";

static const char *
respond_threat_kind(enum secmgr_key k)
{
	switch (k) {
	case SECMGR_KEY_SRC_IP:
		return "ip";
	case SECMGR_KEY_SRC_NET:
		return "cidr";
	case SECMGR_KEY_SENDER_DOMAIN:
		return "domain";
	default:
		return NULL;
	}
}

#define IDS_TEXT_MAX (INCIDENT_IDS_MAX * 21 + 3)   /* "[" 200 x "id," "]" NUL */

/* Decimal text of v > 0 at p; returns the end.  (snprintf per id was a
 * tenth of the daemon's time under load.) */
static char *
respond_utoa(char *p, int64_t v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* The fast reading of an event_ids text this daemon wrote: "[]" or
 * "[N,N,...]", N without sign, leading zero or blanks, at most 18 digits,
 * at most INCIDENT_IDS_MAX of them.  1 with out[0..*n) filled, or 0 when
 * the text has any other shape (then jansson reads it: hostile text keeps
 * its one reading, this is only the common case done without mallocs). */
static int
respond_ids_fast(const char *s, int64_t *out, int *n)
{
	int k = 0;

	if (*s++ != '[')
		return 0;
	if (*s == ']')
		goto end;
	for (;;) {
		int64_t v = 0;
		int d = 0;

		if (*s < '1' || *s > '9' || k == INCIDENT_IDS_MAX)
			return 0;
		while (*s >= '0' && *s <= '9') {
			if (++d > 18)
				return 0;
			v = v * 10 + (*s++ - '0');
		}
		out[k++] = v;
		if (*s == ']')
			break;
		if (*s++ != ',')
			return 0;
	}
end:
	if (s[1] != '\0')
		return 0;
	*n = k;
	return 1;
}

/* The same through jansson, for any other text: anything that is not an
 * array of positive integers is dropped.  0, or -1 out of memory. */
static int
respond_ids_slow(const char *old, int64_t **out, int *n, int *cap)
{
	json_t *a = json_loads(old, 0, NULL), *v;
	size_t i;

	*n = 0;
	if (json_is_array(a))
		json_array_foreach(a, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0)
				continue;
			/* Room for the new ids after the last old one too. */
			if (*n + SECMGR_MAX_IDS == *cap) {
				int64_t *nv = realloc(*out, (size_t)(*cap * 2) * sizeof(**out));

				if (nv == NULL) {
					json_decref(a);
					return -1;
				}
				*out = nv;
				*cap *= 2;
			}
			(*out)[(*n)++] = json_integer_value(v);
		}
	json_decref(a);
	return 0;
}

/* The incident's event ids into text (IDS_TEXT_MAX bytes): the old array
 * (hostile text: anything that is not an array of positive integers is
 * dropped) and the new ids not already in it, the newest INCIDENT_IDS_MAX
 * kept, as compact JSON.  0, or -1 out of memory. */
static int
respond_ids(const char *old, const struct secmgr_resp *rp, char *text)
{
	int64_t local[INCIDENT_IDS_MAX + SECMGR_MAX_IDS], *all = local;
	int n = 0, cap = INCIDENT_IDS_MAX + SECMGR_MAX_IDS, from;
	char *p = text;

	if (old != NULL && !respond_ids_fast(old, all, &n)) {
		int64_t *heap = malloc((size_t)cap * sizeof(*heap));

		if (heap == NULL || respond_ids_slow(old, &heap, &n, &cap) == -1) {
			free(heap);
			return -1;
		}
		all = heap;
	}
	for (int k = 0; k < rp->nids; k++) {
		int dup = 0;

		for (int i = 0; i < n && !dup; i++)
			dup = all[i] == rp->ids[k];
		if (!dup)
			all[n++] = rp->ids[k];      /* cap >= the old ones + SECMGR_MAX_IDS */
	}
	from = n > INCIDENT_IDS_MAX ? n - INCIDENT_IDS_MAX : 0;
	*p++ = '[';
	for (int i = from; i < n; i++) {
		if (i > from)
			*p++ = ',';
		p = respond_utoa(p, all[i]);
	}
	*p++ = ']';
	*p = '\0';
	if (all != local)
		free(all);
	return 0;
}

static void
respond_idlist(const struct secmgr_resp *rp, char *buf, size_t len)
{
	char *p = buf, *end = buf + len;

	/* An id is at most 19 digits: stop while a whole one and the NUL fit. */
	for (int i = 0; i < rp->nids && end - p > 21; i++) {
		if (i)
			*p++ = ',';
		p = respond_utoa(p, rp->ids[i]);
	}
	*p = '\0';
}

int
secmgr_respond(struct store *st, struct forensic *fx, struct secmgr_resp *rp, time_t now)
{
	const struct secmgr_rule *r = rp->r;
	const char *tkind = respond_threat_kind(r->key);
	char summary[1024], response[1024], ids[2048], detail[4096], until[32];
	char evids[IDS_TEXT_MAX];
	const char *old;
	sqlite3_stmt *q;
	int64_t prior = 0, last = rp->nids > 0 ? rp->ids[rp->nids - 1] : 0;
	struct jbuf j;
	struct tm tm;
	int rc;

	rp->step = -1;
	rp->expires = 0;
	rp->incident = 0;
	rp->updated = 0;
	if ((q = store_prepare(st, sql_prior)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, r->id);
	sqlite3_bind_text(q, 2, rp->key, -1, SQLITE_STATIC);
	if ((rc = store_step(st, q, "escalation")) == STORE_STEP_ERROR)
		return -1;
	if (rc == STORE_STEP_ROW) {
		prior = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
	}
	respond_idlist(rp, ids, sizeof(ids));
	snprintf(summary, sizeof(summary), "%s rule %s: %d events about %s (ids %.400s)",
	    secmgr_rule_kind_name(r->kind), r->name, rp->nids, rp->key, ids);
	response[0] = '\0';
	if (r->nexpiry > 0 && tkind != NULL) {
		rp->step = prior < r->nexpiry ? (int)prior : r->nexpiry - 1;
		rp->expires = (long long)now + r->expiry[rp->step];
		gmtime_r(&(time_t){ (time_t)rp->expires }, &tm);
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(response, sizeof(response), "threat %s %s until %s (step %d of %d)",
		    tkind, rp->key, until, rp->step + 1, r->nexpiry);
		if ((q = store_prepare(st, sql_threat)) == NULL)
			return -1;
		sqlite3_bind_text(q, 1, tkind, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, rp->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, summary, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 4, (sqlite3_int64)now);
		sqlite3_bind_int64(q, 5, rp->expires);
		if (store_run_stmt(st, q, "threat source") == -1)
			return -1;
	}
	snprintf(response + strlen(response), sizeof(response) - strlen(response), "%s%s%s%s",
	    response[0] ? "; " : "", r->sw ? "switch; " : "", r->mail ? "mail; " : "",
	    r->incident ? "incident" : "recorded");
	/* The incident of (rule, key): the open one updated, else a new one
	 * (closed at once when the rule asks for no human). */
	if ((q = store_prepare(st, sql_open)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, r->id);
	sqlite3_bind_text(q, 2, rp->key, -1, SQLITE_STATIC);
	if ((rc = store_step(st, q, "incident")) == STORE_STEP_ERROR)
		return -1;
	if (rc == STORE_STEP_ROW) {
		rp->incident = sqlite3_column_int64(q, 0);
		old = (const char *)sqlite3_column_text(q, 1);
		rc = respond_ids(old, rp, evids);
		sqlite3_reset(q);
		rp->updated = 1;
	} else
		rc = respond_ids(NULL, rp, evids);
	if (rc == -1) {
		log_warnx("incident: out of memory");
		return -1;
	}
	if (rp->updated) {
		if ((q = store_prepare(st, sql_update)) == NULL)
			return -1;
		sqlite3_bind_int64(q, 1, (sqlite3_int64)now);
		sqlite3_bind_text(q, 2, summary, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, response, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, evids, -1, SQLITE_STATIC);
		if (rp->expires)
			sqlite3_bind_int64(q, 5, rp->expires);
		sqlite3_bind_int64(q, 6, rp->incident);
		if (store_run_stmt(st, q, "incident update") == -1)
			return -1;
	} else {
		if ((q = store_prepare(st, sql_insert)) == NULL)
			return -1;
		sqlite3_bind_int64(q, 1, r->id);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)now);
		sqlite3_bind_text(q, 3, rp->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, summary, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 5, response, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 6, r->incident ? "open" : "closed", -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 7, evids, -1, SQLITE_STATIC);
		if (rp->expires)
			sqlite3_bind_int64(q, 8, rp->expires);
		if (store_run_stmt(st, q, "incident insert") == -1)
			return -1;
		rp->incident = sqlite3_last_insert_rowid(st->db);
	}
	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "rule", r->name);
	jbuf_int(&j, "rule_id", r->id);
	jbuf_str(&j, "rule_kind", secmgr_rule_kind_name(r->kind));
	jbuf_str(&j, "key", rp->key);
	jbuf_str(&j, "key_kind", secmgr_key_name(r->key));
	jbuf_int(&j, "incident", rp->incident);
	jbuf_str(&j, "incident_was", rp->updated ? "updated" : "opened");
	jbuf_str(&j, "threat", rp->expires ? tkind : NULL);
	jbuf_int(&j, "expires", rp->expires);
	jbuf_int(&j, "step", rp->step + 1);
	jbuf_str(&j, "events", ids);
	jbuf_str(&j, "response", response);
	if ((q = store_prepare(st, sql_event)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)now);
	sqlite3_bind_text(q, 2, EV_SECMGR_RESPONSE, -1, SQLITE_STATIC);
	if (r->key == SECMGR_KEY_SRC_IP)
		sqlite3_bind_text(q, 3, rp->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, jbuf_end(&j), -1, SQLITE_STATIC);
	if (store_run_stmt(st, q, "response event") == -1)
		return -1;
	/* Durable with the batch: the follower syncs before its commit. */
	if (forensic_append_batch(fx, "response", last, jbuf_end(&j)) == -1) {
		log_warnx("forensic log: %s: responses stop, the cursor stays (fail closed)",
		    forensic_error(fx));
		return -1;
	}
	log_info("response: %s", summary);
	return 0;
}
