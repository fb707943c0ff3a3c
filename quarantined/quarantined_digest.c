/*
 * quarantined_digest - digests of newly held items, per subscriber or per
 * recipient as the subscriber's policy says (policies.digest_to).
 *
 * For each subscriber whose policy has digest = 1: digest_to = subscriber
 * sends one message to the subscriber's contact address; digest_to =
 * recipients sends one message to each recipient address (of the
 * subscriber's own domains) of the held items, listing only the items
 * addressed to it and naming no other recipient of them (the envelope may
 * hold Bcc recipients).  A subscriber digest names an item's recipients
 * except any at another subscriber's domain (items are split by
 * subscriber at submission; older rows may not be).  Each lists held items not yet digested, with the
 * command that releases each, sent over SMTP to the re-injection port.
 * Subject and opening text come from the operator-editable 'digest'
 * template ({subscriber}, {date}).  Items are marked digested only after
 * every digest listing them got a 250, so a failed digest is retried next
 * time (per recipient, the recipients already served then get the items a
 * second time: at least once, never lost).
 *
 * Trusts the templates table (operators).  Item fields shown in the body
 * were validated at submission; CR and LF never reach a header.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "quarantined.h"

static const char sql_subs[] =
    "SELECT s.id, s.name, coalesce(s.contact, ''), p.digest_to = 'recipients'"
    " FROM subscribers s"
    " JOIN subscriber_policies sp ON sp.subscriber_id = s.id"
    " JOIN policies p ON p.id = sp.policy_id"
    " WHERE p.digest = 1 ORDER BY s.id";
/* ?2 NULL: every item of the subscriber; else only those addressed to ?2. */
static const char sql_items[] =
    "SELECT id, received, coalesce(sender, ''), recipients, viruses, size"
    " FROM quarantine q WHERE subscriber_id = ?1 AND status = 'held' AND digested = 0"
    " AND id <= ?3 AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(q.recipients) j"
    "   WHERE lower(j.value) = ?2))"
    " ORDER BY id LIMIT 1000";
static const char sql_maxid[] =
    "SELECT coalesce(max(id), 0) FROM quarantine"
    " WHERE subscriber_id = ?1 AND status = 'held' AND digested = 0";
/* Recipients of the pending items that belong to the subscriber's domains
 * ("example.com" exactly, ".example.com" with its subdomains). */
static const char sql_rcpts[] =
    "SELECT DISTINCT lower(j.value) FROM quarantine q, json_each(q.recipients) j"
    " WHERE q.subscriber_id = ?1 AND q.status = 'held' AND q.digested = 0 AND q.id <= ?2"
    " AND EXISTS (SELECT 1 FROM subscriber_domains d WHERE d.subscriber_id = ?1 AND"
    "   (substr(lower(j.value), instr(j.value, '@') + 1) = d.domain OR"
    "    (substr(d.domain, 1, 1) = '.' AND ('.' || substr(lower(j.value),"
    "      instr(j.value, '@') + 1)) LIKE '%' || d.domain)))"
    " ORDER BY 1 LIMIT 1000";
/* The recipients of item ?1 that a digest of subscriber ?2 may show: all
 * but those at another subscriber's domain (rows written before items were
 * split by subscriber could hold them). */
static const char sql_item_rcpts[] =
    "SELECT j.value FROM quarantine q, json_each(q.recipients) j WHERE q.id = ?1"
    " AND NOT EXISTS (SELECT 1 FROM subscriber_domains d WHERE d.subscriber_id <> ?2 AND"
    "   (substr(lower(j.value), instr(j.value, '@') + 1) = d.domain OR"
    "    (substr(d.domain, 1, 1) = '.' AND ('.' || substr(lower(j.value),"
    "      instr(j.value, '@') + 1)) LIKE '%' || d.domain)))"
    " ORDER BY j.key LIMIT 1000";
static const char sql_mark[] =
    "UPDATE quarantine SET digested = 1 WHERE subscriber_id = ?1 AND status = 'held'"
    " AND digested = 0 AND id <= ?2";
static const char sql_template[] =
    "SELECT subject, body FROM templates WHERE name = 'digest'";

/* A growing text buffer; on allocation failure it stays NULL. */
struct dbuf { char *s; size_t len, cap; };

static void
dbuf_add(struct dbuf *b, const char *s, size_t n)
{
	if (b->s == NULL && b->cap != 0)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = (b->len + n + 1) * 2;
		char *ns = realloc(b->s, ncap);
		if (ns == NULL) {
			free(b->s);
			b->s = NULL;
			b->cap = 1;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
dbuf_printf(struct dbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
dbuf_printf(struct dbuf *b, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		dbuf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

char *
digest_expand(const char *tpl, const char *subscriber, const char *date)
{
	struct dbuf b = { NULL, 0, 0 };

	dbuf_add(&b, "", 0);
	for (const char *p = tpl; *p != '\0'; p++) {
		if (strncmp(p, "{subscriber}", 12) == 0) {
			dbuf_add(&b, subscriber, strlen(subscriber));
			p += 11;
		} else if (strncmp(p, "{date}", 6) == 0) {
			dbuf_add(&b, date, strlen(date));
			p += 5;
		} else {
			dbuf_add(&b, p, 1);
		}
	}
	return b.s;
}

/* Replaces CR and LF (a header must stay one line). */
static void
digest_oneline(char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (*s == '\r' || *s == '\n')
			*s = ' ';
}

/* Joins a JSON array of strings with ", ". */
static void
digest_join(struct dbuf *b, const char *json)
{
	json_t *a = json_loads(json, 0, NULL), *v;
	size_t i;

	if (!json_is_array(a)) {
		dbuf_add(b, "?", 1);
	} else {
		json_array_foreach(a, i, v) {
			const char *s = json_string_value(v);
			if (i > 0)
				dbuf_add(b, ", ", 2);
			if (s != NULL)
				dbuf_add(b, s, strlen(s));
		}
	}
	json_decref(a);
}

/* The "to:" list of item id in a digest of subscriber sub. */
static void
digest_item_rcpts(struct store *st, struct dbuf *b, int64_t id, int64_t sub)
{
	sqlite3_stmt *stmt;
	char what[64];
	int rc, n = 0;

	if ((stmt = store_prepare(st, sql_item_rcpts)) == NULL) {
		dbuf_add(b, "?", 1);
		return;
	}
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, sub);
	snprintf(what, sizeof(what), "digest recipients of %lld", (long long)id);
	while ((rc = store_step(st, stmt, what)) == STORE_STEP_ROW) {
		const char *a = (const char *)sqlite3_column_text(stmt, 0);
		if (n++ > 0)
			dbuf_add(b, ", ", 2);
		dbuf_add(b, a != NULL ? a : "?", a != NULL ? strlen(a) : 1);
	}
}

/* Builds and sends one digest to `contact` of the subscriber's pending
 * items up to maxid (only those addressed to rcpt when it is not NULL).
 * 1 sent, 0 nothing to send, -1 failed (logged).  Marking is the caller's. */
static int
digest_one(struct store *st, const struct qd_conf *c, int64_t sub, const char *name,
    const char *contact, const char *rcpt, int64_t maxid, const char *subj_tpl,
    const char *body_tpl)
{
	struct dbuf b = { NULL, 0, 0 };
	sqlite3_stmt *stmt;
	char date[64], when[32], reply[512], *subject = NULL, *body = NULL;
	const char *to[1] = { contact };
	time_t now = time(NULL);
	struct tm tm;
	int64_t id = 0, n = 0;
	int rc;

	if (!parse_addr_ok(contact)) {
		log_warnx("digest: subscriber %lld: contact \"%.80s\" is not an address",
		    (long long)sub, contact);
		return -1;
	}
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	subject = digest_expand(subj_tpl, name, date);
	body = digest_expand(body_tpl, name, date);
	digest_oneline(subject);
	if (subject == NULL || body == NULL)
		goto fail;
	dbuf_printf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n"
	    "Message-ID: <digest.%lld.%lld@moat-quarantined>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nAuto-Submitted: auto-generated\r\n\r\n",
	    c->q.release_from, contact, subject, date, (long long)sub, (long long)now);
	for (char *p = body; *p != '\0'; p++) {
		if (*p == '\n' && (p == body || p[-1] != '\r'))
			dbuf_add(&b, "\r", 1);
		dbuf_add(&b, p, 1);
	}
	dbuf_add(&b, "\r\n", 2);
	if ((stmt = store_prepare(st, sql_items)) == NULL)
		goto fail;
	sqlite3_bind_int64(stmt, 1, sub);
	if (rcpt != NULL)
		sqlite3_bind_text(stmt, 2, rcpt, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 3, maxid);
	while ((rc = store_step(st, stmt, "digest items")) == STORE_STEP_ROW) {
		time_t t = (time_t)sqlite3_column_int64(stmt, 1);
		id = sqlite3_column_int64(stmt, 0);
		n++;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
		dbuf_printf(&b, "Item %lld, held %s, %lld bytes\r\n  from: %s\r\n  to:   ",
		    (long long)id, when, (long long)sqlite3_column_int64(stmt, 5),
		    sqlite3_column_text(stmt, 2)[0] ? (const char *)sqlite3_column_text(stmt, 2) :
		    "<>");
		/* Never one recipient's address in another's digest: a
		 * per-recipient digest names its own recipient only (the
		 * envelope may hold Bcc recipients). */
		if (rcpt != NULL)
			dbuf_add(&b, rcpt, strlen(rcpt));
		else
			digest_item_rcpts(st, &b, id, sub);
		dbuf_add(&b, "\r\n  virus: ", 11);
		digest_join(&b, (const char *)sqlite3_column_text(stmt, 4));
		dbuf_printf(&b, "\r\n  release: moatctl quarantine release %lld\r\n\r\n",
		    (long long)id);
	}
	if (rc != STORE_STEP_DONE)
		goto fail;
	if (n == 0) {
		free(subject);
		free(body);
		free(b.s);
		return 0;
	}
	if (b.s == NULL)
		goto fail;
	if (release_smtp_send(c, c->q.release_from, to, 1, b.s, b.len, -1, reply,
	    sizeof(reply)) != 1) {
		log_warnx("digest for subscriber %lld to %s failed: %s", (long long)sub,
		    contact, reply);
		goto fail;
	}
	log_info("digest for subscriber %lld (%lld item(s)) sent to %s: %s",
	    (long long)sub, (long long)n, contact, reply);
	free(subject);
	free(body);
	free(b.s);
	return 1;
fail:
	free(subject);
	free(body);
	free(b.s);
	return -1;
}

/* Marks the subscriber's pending items up to maxid as digested. */
static void
digest_mark(struct store *st, int64_t sub, int64_t maxid)
{
	sqlite3_stmt *stmt;

	/* Sent but not marked (logged): the next digest repeats these items. */
	if ((stmt = store_prepare(st, sql_mark)) == NULL)
		return;
	sqlite3_bind_int64(stmt, 1, sub);
	sqlite3_bind_int64(stmt, 2, maxid);
	(void)store_run_stmt(st, stmt, "digest mark");
}

/* One subscriber's digests: to the contact, or one per recipient.  Returns
 * the number sent, or -1 when one failed (nothing marked then). */
static int
digest_subscriber(struct store *st, const struct qd_conf *c, int64_t sub,
    const char *name, const char *contact, int per_rcpt, const char *subj,
    const char *body)
{
	sqlite3_stmt *stmt;
	char **rcpts = NULL;
	size_t nrcpts = 0, cap = 0;
	int64_t maxid = 0;
	int rc, sent = 0, failed = 0;

	if ((stmt = store_prepare(st, sql_maxid)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, sub);
	if (store_step(st, stmt, "digest max id") == STORE_STEP_ROW)
		maxid = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (maxid == 0)
		return 0;
	if (!per_rcpt) {
		if (*contact == '\0')
			return 0;            /* no contact: nobody to tell */
		if ((rc = digest_one(st, c, sub, name, contact, NULL, maxid, subj, body)) == 1)
			digest_mark(st, sub, maxid);
		return rc;
	}
	if ((stmt = store_prepare(st, sql_rcpts)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, sub);
	sqlite3_bind_int64(stmt, 2, maxid);
	while ((rc = store_step(st, stmt, "digest recipients")) == STORE_STEP_ROW) {
		if (nrcpts == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nr = reallocarray(rcpts, ncap, sizeof(*nr));
			if (nr == NULL)
				break;
			rcpts = nr;
			cap = ncap;
		}
		if ((rcpts[nrcpts] = strdup((const char *)sqlite3_column_text(stmt, 0))) != NULL)
			nrcpts++;
	}
	sqlite3_reset(stmt);
	if (rc == STORE_STEP_ROW)
		log_warnx("%s: digest recipients: out of memory", st->path);
	if (rc != STORE_STEP_DONE)
		failed = 1;
	for (size_t i = 0; i < nrcpts; i++) {
		rc = digest_one(st, c, sub, name, rcpts[i], rcpts[i], maxid, subj, body);
		if (rc == 1)
			sent++;
		else if (rc == -1)
			failed = 1;
		free(rcpts[i]);
	}
	free(rcpts);
	if (failed)
		return -1;
	digest_mark(st, sub, maxid);
	return sent;
}

struct digest_sub {
	int64_t id;
	int     per_rcpt;
	char    name[128];
	char    contact[QD_ADDR_MAX + 1];
};

int
digest_run(struct qd *qd, int64_t *sent)
{
	struct qd_conf *c = qd_conf_get(qd);
	struct store *st = store_pool_get(qd->pool);
	struct digest_sub *subs = NULL;
	size_t nsubs = 0, cap = 0;
	sqlite3_stmt *stmt;
	char *subj = NULL, *body = NULL;
	int rc, ret = 0;

	*sent = 0;
	if ((stmt = store_prepare(st, sql_template)) != NULL) {
		if (store_step(st, stmt, "digest template") == STORE_STEP_ROW) {
			subj = strdup((const char *)sqlite3_column_text(stmt, 0));
			body = strdup((const char *)sqlite3_column_text(stmt, 1));
		}
		sqlite3_reset(stmt);
	}
	if (subj == NULL)
		subj = strdup("Quarantine digest for {subscriber}");
	if (body == NULL)
		body = strdup("These messages were held in quarantine:\n");
	if (subj == NULL || body == NULL || (stmt = store_prepare(st, sql_subs)) == NULL) {
		ret = -1;
		goto done;
	}
	while ((rc = store_step(st, stmt, "digest subscribers")) == STORE_STEP_ROW) {
		if (nsubs == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct digest_sub *ns = reallocarray(subs, ncap, sizeof(*ns));
			if (ns == NULL)
				break;
			subs = ns;
			cap = ncap;
		}
		subs[nsubs].id = sqlite3_column_int64(stmt, 0);
		snprintf(subs[nsubs].name, sizeof(subs[nsubs].name), "%s",
		    (const char *)sqlite3_column_text(stmt, 1));
		snprintf(subs[nsubs].contact, sizeof(subs[nsubs].contact), "%s",
		    (const char *)sqlite3_column_text(stmt, 2));
		subs[nsubs].per_rcpt = sqlite3_column_int(stmt, 3);
		nsubs++;
	}
	sqlite3_reset(stmt);
	/* A failed step is logged and fails the run; out of memory stops
	 * the list short and the subscribers read so far still get theirs. */
	if (rc == STORE_STEP_ERROR)
		ret = -1;
	for (size_t i = 0; i < nsubs; i++) {
		rc = digest_subscriber(st, c, subs[i].id, subs[i].name, subs[i].contact,
		    subs[i].per_rcpt, subj, body);
		if (rc > 0)
			*sent += rc;
		else if (rc == -1)
			ret = -1;
	}
done:
	free(subs);
	free(subj);
	free(body);
	store_pool_put(qd->pool, st);
	qd_conf_put(qd, c);
	return ret;
}
