/*
 * secmgr_rules - the rule snapshot: the enabled rows of correlation_rules,
 * parsed (secmgr_rule.c) into an immutable, refcounted set.  A row that
 * does not parse is left out, logged and reported as a secmgr.rule_invalid
 * event - once per rule id and text, not at every reload.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event_kinds.h"
#include "events.h"
#include "log.h"
#include "secmgr.h"

#define RULES_MAX      1000            /* enabled rules loaded */
#define REPORTED_MAX   256

static const char sql_gen[] = "SELECT value FROM meta WHERE key = 'rule_generation'";
static const char sql_rules[] =
    "SELECT id, name, kind, params_json, response_json FROM correlation_rules "
    "WHERE enabled = 1 ORDER BY id LIMIT 1001";
static const char sql_invalid[] =
    "INSERT INTO events(ts, daemon, kind, severity, detail_json) VALUES (?1, 'secmgr', ?2, 2, ?3)";

/* Rules already reported: (id, hash of the row's text). */
static struct { int64_t id; uint64_t h; } rules_reported[REPORTED_MAX];
static int rules_nreported;

int64_t
secmgr_rules_generation(struct store *st)
{
	sqlite3_stmt *q;
	int64_t g = -1;

	if ((q = store_prepare(st, sql_gen)) == NULL)
		return -1;
	switch (store_step(st, q, "rule generation")) {
	case STORE_STEP_ROW:
		g = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		break;
	case STORE_STEP_DONE:
		log_warnx("%s: meta has no rule_generation", st->path);
		break;
	default:
		break;
	}
	return g;
}

static uint64_t
rules_hash(const char *const *s, int n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < n; i++) {
		for (const char *p = s[i] ? s[i] : ""; *p != '\0'; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL;
	}
	return h;
}

/* Logs and records a bad rule, once per id and text. */
static void
rules_report(struct store *st, int64_t id, const char *name, uint64_t h, const char *why)
{
	char detail[1024];
	struct jbuf j;
	sqlite3_stmt *q;
	int i;

	for (i = 0; i < rules_nreported; i++)
		if (rules_reported[i].id == id && rules_reported[i].h == h)
			return;
	if (rules_nreported < REPORTED_MAX) {
		rules_reported[rules_nreported].id = id;
		rules_reported[rules_nreported++].h = h;
	}
	log_warnx("rule %" PRId64 " (%.64s) skipped: %s", id, name ? name : "?", why);
	jbuf_init(&j, detail, sizeof(detail));
	jbuf_int(&j, "rule_id", id);
	jbuf_str(&j, "rule", name);
	jbuf_str(&j, "error", why);
	if ((q = store_prepare(st, sql_invalid)) == NULL)
		return;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(q, 2, EV_SECMGR_RULE_INVALID, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, jbuf_end(&j), -1, SQLITE_TRANSIENT);
	store_run_stmt(st, q, "rule_invalid event");
}

/* A rule that did not parse, reported once the read is over (the report
 * writes, and a read statement is still stepping). */
struct rules_bad {
	int64_t  id;
	uint64_t h;
	char     name[SECMGR_NAME_LEN];
	char     why[256];
};
#define BAD_MAX 64

struct secmgr_rules *
secmgr_rules_load(struct store *st)
{
	struct secmgr_rules *rs;
	struct secmgr_rule *r;
	struct rules_bad *bad;
	sqlite3_stmt *q;
	const char *txt[4];
	char err[256];
	int rc, nbad = 0;

	if ((rs = calloc(1, sizeof(*rs))) == NULL ||
	    (rs->rules = calloc(RULES_MAX, sizeof(*rs->rules))) == NULL ||
	    (bad = calloc(BAD_MAX, sizeof(*bad))) == NULL) {
		if (rs != NULL)
			free(rs->rules);
		free(rs);
		log_warnx("rules: out of memory");
		return NULL;
	}
	rs->refs = 1;
	/* The generation first: an edit between the two reads is seen again
	 * at the next poll. */
	if ((rs->generation = secmgr_rules_generation(st)) == -1 ||
	    (q = store_prepare(st, sql_rules)) == NULL)
		goto fail;
	while ((rc = store_step(st, q, "rules")) == STORE_STEP_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);

		if (rs->nrules == RULES_MAX) {
			log_warnx("more than %d enabled rules: the rest are skipped", RULES_MAX);
			sqlite3_reset(q);
			break;
		}
		for (int i = 0; i < 4; i++)
			txt[i] = (const char *)sqlite3_column_text(q, i + 1);
		r = &rs->rules[rs->nrules];
		memset(r, 0, sizeof(*r));
		r->id = id;
		if (txt[0] == NULL || txt[0][0] == '\0' || strlen(txt[0]) >= SECMGR_NAME_LEN)
			snprintf(err, sizeof(err), "name: 1 to %d characters", SECMGR_NAME_LEN - 1);
		else if (secmgr_rule_parse(txt[1], txt[2], txt[3], r, err, sizeof(err)) == 0) {
			snprintf(r->name, sizeof(r->name), "%s", txt[0]);
			if (r->window > rs->max_window)
				rs->max_window = r->window;
			rs->sender |= r->key == SECMGR_KEY_SENDER_DOMAIN;
			rs->nrules++;
			continue;
		}
		if (nbad < BAD_MAX) {
			bad[nbad].id = id;
			bad[nbad].h = rules_hash(txt, 4);
			snprintf(bad[nbad].name, sizeof(bad[nbad].name), "%.63s", txt[0] ? txt[0] : "");
			snprintf(bad[nbad].why, sizeof(bad[nbad].why), "%s", err);
			nbad++;
		}
	}
	if (rc == STORE_STEP_ERROR)
		goto fail;
	for (int i = 0; i < nbad; i++)
		rules_report(st, bad[i].id, bad[i].name, bad[i].h, bad[i].why);
	free(bad);
	log_info("rule generation %" PRId64 " loaded: %d rules%s", rs->generation, rs->nrules,
	    nbad ? " (some skipped, see above)" : "");
	return rs;
fail:
	free(bad);
	free(rs->rules);
	free(rs);
	return NULL;
}

void
secmgr_rules_hold(struct secmgr_rules *r)
{
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
}

void
secmgr_rules_put(struct secmgr_rules *r)
{
	if (r == NULL || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(r->rules);
	free(r);
}
