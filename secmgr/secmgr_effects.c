/*
 * secmgr_effects - what a batch's responses do outside the store, after
 * their transaction committed: one condensed operator mail per batch (every
 * response of a rule with "mail": true, one line each) and one switch
 * re-apply when a rule with "switch": true added a threat source.  Also the
 * withdrawal of lapsed secmgr threat sources.  Failures here are logged and
 * not retried: the store already holds the responses, and the milter acts
 * on threat_sources whatever the switch did.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event_kinds.h"
#include "events.h"
#include "forensic.h"
#include "log.h"
#include "secmgr.h"
#include "smtpsend.h"

#define MAIL_LINES_MAX 50                 /* the rest is counted, not listed */

static const char sql_lapsed[] =
    "SELECT id, kind, value FROM threat_sources WHERE origin = 'secmgr' "
    "AND expires IS NOT NULL AND expires <= ?1 ORDER BY id LIMIT 500";
static const char sql_withdraw[] = "DELETE FROM threat_sources WHERE id = ?1";
static const char sql_event[] =
    "INSERT INTO events(ts, daemon, kind, severity, src_ip, detail_json) "
    "VALUES (?1, 'secmgr', ?2, 1, ?3, ?4)";

static void
effects_switch(const struct secmgr_conf_gen *c, struct store *st, const char *why)
{
	struct nftswitch_stats sx;
	char err[512];

	if (nftswitch_apply(st, &c->sw, &sx, err, sizeof(err)) == -1)
		log_warnx("switch not re-applied (%s): %s", why, err);
	else
		log_info("switch re-applied (%s): %d+%d threat elements", why, sx.threats4,
		    sx.threats6);
}

static void
effects_mail(const struct secmgr_conf_gen *c, const struct secmgr_resp *rp, int n)
{
	char *msg = NULL, date[64], err[512];
	size_t len = 0;
	int lines = 0, more = 0;
	time_t now = time(NULL);
	struct tm tm;
	FILE *fp;

	if (c->s.mail_url == NULL || c->s.mail_to == NULL)
		return;
	for (int i = 0; i < n; i++)
		lines += rp[i].r->mail;
	if (lines == 0)
		return;
	if ((fp = open_memstream(&msg, &len)) == NULL)
		return;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	fprintf(fp, "From: %s\r\nTo: %s\r\nDate: %s\r\nSubject: moat-secmgr: %d response%s\r\n"
	    "Auto-Submitted: auto-generated\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
	    c->s.mail_from, c->s.mail_to, date, lines, lines == 1 ? "" : "s");
	lines = 0;
	for (int i = 0; i < n; i++) {
		if (!rp[i].r->mail)
			continue;
		if (lines++ >= MAIL_LINES_MAX) {
			more++;
			continue;
		}
		/* Keys and names come from events and rules: printable by
		 * construction (addresses, domains, checked rule names). */
		fprintf(fp, "incident %" PRId64 " (%s): rule %s, key %s, %d events%s\r\n",
		    rp[i].incident, rp[i].updated ? "updated" : "opened", rp[i].r->name,
		    rp[i].key, rp[i].nids, rp[i].expires ? ", threat source" : "");
	}
	if (more)
		fprintf(fp, "... and %d more (moatctl incidents list)\r\n", more);
	fprintf(fp, "\r\nmoatctl incidents show ID tells more.\r\n");
	if (fclose(fp) == EOF) {
		free(msg);
		return;
	}
	if (smtpsend(c->s.mail_url, c->s.mail_from, c->s.mail_to, msg, (long)c->s.mail_timeout,
	    err, sizeof(err)) == -1)
		log_warnx("operator mail to <%s> not sent: %s", c->s.mail_to, err);
	else
		log_info("operator mail to <%s>: %d responses", c->s.mail_to, lines);
	free(msg);
}

void
secmgr_effects(const struct secmgr_conf_gen *c, struct store *st,
    const struct secmgr_resp *rp, int n)
{
	int sw = 0;

	for (int i = 0; i < n; i++)
		sw |= rp[i].r->sw && rp[i].expires != 0;
	effects_mail(c, rp, n);
	if (sw && c->s.sw)
		effects_switch(c, st, "new threat sources");
}

int
secmgr_withdraw(const struct secmgr_conf_gen *c, struct store *st, struct forensic *fx,
    time_t now)
{
	struct { int64_t id; char kind[16]; char value[256]; } *rows;
	char detail[512];
	const char *text;
	struct jbuf j;
	sqlite3_stmt *q;
	int n = 0, rc, i;

	if ((rows = calloc(500, sizeof(*rows))) == NULL)
		return -1;
	if (store_begin(st) == -1) {
		free(rows);
		return -1;
	}
	if ((q = store_prepare(st, sql_lapsed)) == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)now);
	while ((rc = store_step(st, q, "lapsed threats")) == STORE_STEP_ROW && n < 500) {
		rows[n].id = sqlite3_column_int64(q, 0);
		snprintf(rows[n].kind, sizeof(rows[n].kind), "%s", sqlite3_column_text(q, 1));
		snprintf(rows[n].value, sizeof(rows[n].value), "%s", sqlite3_column_text(q, 2));
		n++;
	}
	if (rc == STORE_STEP_ERROR)
		goto fail;
	sqlite3_reset(q);
	for (i = 0; i < n; i++) {
		if ((q = store_prepare(st, sql_withdraw)) == NULL)
			goto fail;
		sqlite3_bind_int64(q, 1, rows[i].id);
		if (store_run_stmt(st, q, "withdraw threat") == -1)
			goto fail;
		jbuf_init(&j, detail, sizeof(detail));
		jbuf_str(&j, "withdrawn", rows[i].kind);
		jbuf_str(&j, "key", rows[i].value);
		jbuf_str(&j, "response", "threat source lapsed");
		text = jbuf_end(&j);    /* once: each call closes the object again */
		if ((q = store_prepare(st, sql_event)) == NULL)
			goto fail;
		sqlite3_bind_int64(q, 1, (sqlite3_int64)now);
		sqlite3_bind_text(q, 2, EV_SECMGR_RESPONSE, -1, SQLITE_STATIC);
		if (strcmp(rows[i].kind, "ip") == 0)
			sqlite3_bind_text(q, 3, rows[i].value, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, text, -1, SQLITE_STATIC);
		if (store_run_stmt(st, q, "withdraw event") == -1)
			goto fail;
		if (forensic_append(fx, "withdraw", 0, text) == -1) {
			log_warnx("forensic log: %s: withdrawal stops (fail closed)",
			    forensic_error(fx));
			goto fail;
		}
	}
	if (store_commit(st) == -1)
		goto fail;              /* store_rollback is safe after a failed COMMIT */
	for (i = 0; i < n; i++)
		log_info("threat source %s %s lapsed: withdrawn", rows[i].kind, rows[i].value);
	free(rows);
	if (n > 0 && c->s.sw)
		effects_switch(c, st, "threat sources lapsed");
	return n;
fail:
	store_rollback(st);
	free(rows);
	return -1;
}
