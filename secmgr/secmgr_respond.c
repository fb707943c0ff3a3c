/*
 * secmgr_respond - a batch's responses, written inside the follower's batch
 * transaction; each one: the key as a threat source (origin 'secmgr', an expiry from
 * the rule's escalation schedule by how many times the rule already
 * responded to the key), the incident of (rule, key) opened or, when one is
 * open, updated with the new events, a secmgr.response event, and the
 * forensic record.  Responses of one (rule, key) in a batch share one
 * lookup, one incident row write and one threat source write: the
 * rows end as the one-by-one writes would have left them (a hot source
 * completes its rule with nearly every event: 1.1 responses per event in
 * tests/bench/secmgr_sec_bench.py).  Every response keeps its own event,
 * forensic record and log line.  The forensic record is written last (forensic_append_batch)
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
/* Response lines logged per batch, the rest counted: under load a hot
 * source answers nearly every event, and a line each was a write (and a
 * syslog message) per event, a tenth of the daemon's time; the events and
 * the forensic log keep every one. */
#define LOG_LINES_MAX    50

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
/* ?7 / ?9: the responses of the batch this row stands for. */
static const char sql_update[] =
    "UPDATE incidents SET updated = ?1, summary = ?2, response = ?3, event_ids = ?4, "
    " expires = ?5, responses = responses + ?7 WHERE id = ?6";
static const char sql_insert[] =
    "INSERT INTO incidents(rule_id, opened, updated, key, summary, response, status, "
    " event_ids, expires, responses) VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
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

/* The incident's event ids into text (IDS_TEXT_MAX bytes) after the
 * responses g[0..ng) in turn, as their one-by-one updates would have left
 * them: the old array (hostile text: anything that is not an array of
 * positive integers is dropped), then per response its ids not already
 * there, the newest INCIDENT_IDS_MAX kept.  Compact JSON.  0, or -1 out of
 * memory. */
static int
respond_ids(const char *old, struct secmgr_resp *const *g, int ng, char *text)
{
	int64_t local[INCIDENT_IDS_MAX + SECMGR_MAX_IDS], *all = local;
	int n = 0, cap = INCIDENT_IDS_MAX + SECMGR_MAX_IDS;
	char *p = text;

	if (old != NULL && !respond_ids_fast(old, all, &n)) {
		int64_t *heap = malloc((size_t)cap * sizeof(*heap));

		if (heap == NULL || respond_ids_slow(old, &heap, &n, &cap) == -1) {
			free(heap);
			return -1;
		}
		all = heap;
	}
	for (int m = 0; m < ng; m++) {
		const struct secmgr_resp *rp = g[m];

		for (int k = 0; k < rp->nids; k++) {
			int dup = 0;

			for (int i = 0; i < n && !dup; i++)
				dup = all[i] == rp->ids[k];
			if (!dup)
				all[n++] = rp->ids[k];  /* cap >= the old ones + SECMGR_MAX_IDS */
		}
		if (n > INCIDENT_IDS_MAX) {
			memmove(all, all + (n - INCIDENT_IDS_MAX),
			    INCIDENT_IDS_MAX * sizeof(*all));
			n = INCIDENT_IDS_MAX;
		}
	}
	*p++ = '[';
	for (int i = 0; i < n; i++) {
		if (i > 0)
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

/* The escalation step response rp takes as the prior-th response of its
 * rule to its key: rp->step and rp->expires (0 and -1: no threat). */
static void
respond_step(struct secmgr_resp *rp, int64_t prior, time_t now)
{
	const struct secmgr_rule *r = rp->r;

	rp->step = -1;
	rp->expires = 0;
	if (r->nexpiry > 0 && respond_threat_kind(r->key) != NULL) {
		rp->step = prior < r->nexpiry ? (int)prior : r->nexpiry - 1;
		rp->expires = (long long)now + r->expiry[rp->step];
	}
}

/* What one response says: its summary (also the threat's reason and the
 * incident's), its response line and its id list. */
struct rtext {
	char summary[1024], response[1024], ids[2048];
};

static void
respond_texts(const struct secmgr_resp *rp, struct rtext *t)
{
	const struct secmgr_rule *r = rp->r;
	char until[32];
	struct tm tm;

	respond_idlist(rp, t->ids, sizeof(t->ids));
	snprintf(t->summary, sizeof(t->summary), "%s rule %s: %d events about %s (ids %.400s)",
	    secmgr_rule_kind_name(r->kind), r->name, rp->nids, rp->key, t->ids);
	t->response[0] = '\0';
	if (rp->expires) {
		gmtime_r(&(time_t){ (time_t)rp->expires }, &tm);
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(t->response, sizeof(t->response), "threat %s %s until %s (step %d of %d)",
		    respond_threat_kind(r->key), rp->key, until, rp->step + 1, r->nexpiry);
	}
	snprintf(t->response + strlen(t->response), sizeof(t->response) - strlen(t->response),
	    "%s%s%s%s", t->response[0] ? "; " : "", r->sw ? "switch; " : "",
	    r->mail ? "mail; " : "", r->incident ? "incident" : "recorded");
}

/* The threat source of key after the responses to it: the last one's
 * reason, the longest expiry. */
static int
respond_threat(struct store *st, const struct secmgr_resp *rp, long long expires,
    time_t now)
{
	struct rtext t;
	sqlite3_stmt *q;

	respond_texts(rp, &t);
	if ((q = store_prepare(st, sql_threat)) == NULL)
		return -1;
	sqlite3_bind_text(q, 1, respond_threat_kind(rp->r->key), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, rp->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, t.summary, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)now);
	sqlite3_bind_int64(q, 5, expires);
	return store_run_stmt(st, q, "threat source");
}

/* One incident row written for the responses g[0..ng) of one (rule, key):
 * the open one (id > 0) updated, else a new one, as their one-by-one writes
 * would have left it (texts and expiry of the last, responses + ng).  Sets
 * each one's incident and updated. */
static int
respond_incident(struct store *st, struct secmgr_resp *const *g, int ng, int64_t open,
    const char *old, time_t now)
{
	const struct secmgr_resp *last = g[ng - 1];
	char evids[IDS_TEXT_MAX];
	struct rtext t;
	sqlite3_stmt *q;
	int was_open = open > 0;

	if (respond_ids(old, g, ng, evids) == -1) {
		log_warnx("incident: out of memory");
		return -1;
	}
	respond_texts(last, &t);
	if ((q = store_prepare(st, open > 0 ? sql_update : sql_insert)) == NULL)
		return -1;
	if (open > 0) {
		sqlite3_bind_int64(q, 1, (sqlite3_int64)now);
		sqlite3_bind_text(q, 2, t.summary, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, t.response, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, evids, -1, SQLITE_STATIC);
		if (last->expires)
			sqlite3_bind_int64(q, 5, last->expires);
		sqlite3_bind_int64(q, 6, open);
		sqlite3_bind_int(q, 7, ng);
		if (store_run_stmt(st, q, "incident update") == -1)
			return -1;
	} else {
		sqlite3_bind_int64(q, 1, last->r->id);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)now);
		sqlite3_bind_text(q, 3, last->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, t.summary, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 5, t.response, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 6, last->r->incident ? "open" : "closed", -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 7, evids, -1, SQLITE_STATIC);
		if (last->expires)
			sqlite3_bind_int64(q, 8, last->expires);
		sqlite3_bind_int(q, 9, ng);
		if (store_run_stmt(st, q, "incident insert") == -1)
			return -1;
		open = sqlite3_last_insert_rowid(st->db);
	}
	for (int m = 0; m < ng; m++) {
		g[m]->incident = open;
		g[m]->updated = was_open || m > 0;
	}
	return 0;
}

/* The escalation count of (rule, key) so far: *prior; and its open
 * incident: *open (0 none) with its event_ids text copied to old (NULL
 * when none or NULL). */
static int
respond_lookup(struct store *st, const struct secmgr_resp *rp, int64_t *prior, int64_t *open,
    char **old)
{
	sqlite3_stmt *q;
	const char *t;
	int rc;

	*prior = 0;
	*open = 0;
	*old = NULL;
	if ((q = store_prepare(st, sql_prior)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, rp->r->id);
	sqlite3_bind_text(q, 2, rp->key, -1, SQLITE_STATIC);
	if ((rc = store_step(st, q, "escalation")) == STORE_STEP_ERROR)
		return -1;
	if (rc == STORE_STEP_ROW) {
		*prior = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
	}
	if ((q = store_prepare(st, sql_open)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, rp->r->id);
	sqlite3_bind_text(q, 2, rp->key, -1, SQLITE_STATIC);
	if ((rc = store_step(st, q, "incident")) == STORE_STEP_ERROR)
		return -1;
	if (rc == STORE_STEP_ROW) {
		*open = sqlite3_column_int64(q, 0);
		if ((t = (const char *)sqlite3_column_text(q, 1)) != NULL &&
		    (*old = strdup(t)) == NULL) {
			sqlite3_reset(q);
			log_warnx("incident: out of memory");
			return -1;
		}
		sqlite3_reset(q);
	}
	return 0;
}

/* The secmgr.response event of one response, its forensic record and,
 * when logged, its log line. */
static int
respond_record(struct store *st, struct forensic *fx, const struct secmgr_resp *rp,
    time_t now, int logged)
{
	const struct secmgr_rule *r = rp->r;
	int64_t last = rp->nids > 0 ? rp->ids[rp->nids - 1] : 0;
	char detail[4096];
	const char *text;
	struct rtext t;
	struct jbuf j;
	sqlite3_stmt *q;

	respond_texts(rp, &t);
	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "rule", r->name);
	jbuf_int(&j, "rule_id", r->id);
	jbuf_str(&j, "rule_kind", secmgr_rule_kind_name(r->kind));
	jbuf_str(&j, "key", rp->key);
	jbuf_str(&j, "key_kind", secmgr_key_name(r->key));
	jbuf_int(&j, "incident", rp->incident);
	jbuf_str(&j, "incident_was", rp->updated ? "updated" : "opened");
	jbuf_str(&j, "threat", rp->expires ? respond_threat_kind(r->key) : NULL);
	jbuf_int(&j, "expires", rp->expires);
	jbuf_int(&j, "step", rp->step + 1);
	jbuf_str(&j, "events", t.ids);
	jbuf_str(&j, "response", t.response);
	text = jbuf_end(&j);            /* once: each call closes the object again */
	if ((q = store_prepare(st, sql_event)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)now);
	sqlite3_bind_text(q, 2, EV_SECMGR_RESPONSE, -1, SQLITE_STATIC);
	if (r->key == SECMGR_KEY_SRC_IP)
		sqlite3_bind_text(q, 3, rp->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, text, -1, SQLITE_STATIC);
	if (store_run_stmt(st, q, "response event") == -1)
		return -1;
	/* Durable with the batch: the follower syncs before its commit. */
	if (forensic_append_batch(fx, "response", last, text) == -1) {
		log_warnx("forensic log: %s: responses stop, the cursor stays (fail closed)",
		    forensic_error(fx));
		return -1;
	}
	if (logged)
		log_info("response: %s", t.summary);
	return 0;
}

static uint32_t
respond_hash(const struct secmgr_resp *rp)
{
	uint32_t h = 2166136261u ^ (uint32_t)(uintptr_t)rp->r;

	for (const char *p = rp->key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

/* The responses of one batch grouped by (rule, key): next[i] the following
 * response of i's group (-1 none), head[i] its first.  The table is the
 * caller's, 2 * cap slots. */
static void
respond_group(struct secmgr_resp *rp, int n, int *head, int *next, int *tab, int cap)
{
	int mask = cap * 2 - 1;

	for (int i = 0; i < cap * 2; i++)
		tab[i] = -1;
	for (int i = 0; i < n; i++) {
		uint32_t h = respond_hash(&rp[i]) & (uint32_t)mask;
		int k;

		while ((k = tab[h]) != -1 && (rp[k].r != rp[i].r ||
		    strcmp(rp[k].key, rp[i].key) != 0))
			h = (h + 1) & (uint32_t)mask;
		next[i] = -1;
		if (k == -1) {
			tab[h] = i;         /* the slot names the group's last member */
			head[i] = i;
		} else {
			head[i] = head[k];
			next[k] = i;
			tab[h] = i;
		}
	}
}

int
secmgr_respond(struct store *st, struct forensic *fx, struct secmgr_resp *rp, int n,
    time_t now)
{
	struct secmgr_resp **g = NULL;
	int *head, *next, *tab, *closed, cap = 1, rc = -1;
	char *old = NULL;

	if (n == 0)
		return 0;
	while (cap < n)
		cap *= 2;
	head = malloc((size_t)(n * 3 + cap * 2) * sizeof(*head));
	g = malloc((size_t)n * sizeof(*g));
	if (head == NULL || g == NULL) {
		log_warnx("responses: out of memory");
		goto done;
	}
	next = head + n;
	closed = next + n;
	tab = closed + n;
	respond_group(rp, n, head, next, tab, cap);
	/* The store's rows in the order one-by-one writes would have made them:
	 * a group's incident at its first response (each response its own
	 * closed incident when its rule opens none), a key's threat at the
	 * group's last. */
	for (int i = 0; i < n; i++) {
		const struct secmgr_rule *r = rp[i].r;
		int64_t prior, open;
		long long maxexp = 0;
		int ng = 0;

		if (head[i] == i) {
			if (respond_lookup(st, &rp[i], &prior, &open, &old) == -1)
				goto done;
			for (int k = i; k != -1; k = next[k]) {
				respond_step(&rp[k], prior++, now);
				g[ng++] = &rp[k];
			}
			closed[i] = open == 0 && !r->incident;
			if (!closed[i] && respond_incident(st, g, ng, open, old, now) == -1)
				goto done;
			free(old);
			old = NULL;
		}
		if (closed[head[i]]) {
			g[0] = &rp[i];
			if (respond_incident(st, g, 1, 0, NULL, now) == -1)
				goto done;
		}
		if (next[i] == -1 && rp[i].expires) {
			for (int k = head[i]; k != -1; k = next[k])
				if (rp[k].expires > maxexp)
					maxexp = rp[k].expires;
			if (respond_threat(st, &rp[i], maxexp, now) == -1)
				goto done;
		}
	}
	for (int i = 0; i < n; i++)
		if (respond_record(st, fx, &rp[i], now, i < LOG_LINES_MAX) == -1)
			goto done;
	if (n > LOG_LINES_MAX)
		log_info("response: ... and %d more in this batch (secmgr.response events, "
		    "moatctl incidents list)", n - LOG_LINES_MAX);
	rc = 0;
done:
	free(old);
	free(g);
	free(head);
	return rc;
}
