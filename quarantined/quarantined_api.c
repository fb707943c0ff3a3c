/*
 * quarantined_api - the route handlers of the HTTP API (see qclient.h for
 * the protocol, quarantined_http.c for the route table; routing and
 * authentication (common/httpd.c) have run before any handler here).
 *
 * Trusts nothing in the request: query parameters and JSON bodies are
 * validated (quarantined_parse.c) before use and reach SQL only as bound
 * values; an item's file is found through its integer id -> row -> stored
 * path, re-checked before it is opened relative to the spool.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "net.h"
#include "qclient.h"
#include "scanopts.h"
#include "quarantined_api.h"

static enum MHD_Result
submit_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct hreq *r = cls;
	struct submit_meta *m = &r->meta;
	const char *v = value != NULL ? value : "";

	if (r->meta_bad)
		return MHD_NO;
	if (strcmp(key, QARG_QUEUE_ID) == 0) {
		if (!parse_token_ok(v, QD_QUEUE_ID_MAX))
			goto bad;
		snprintf(m->queue_id, sizeof(m->queue_id), "%s", v);
	} else if (strcmp(key, QARG_SUBSCRIBER) == 0) {
		if (parse_uint(v, &m->subscriber) == -1)
			goto bad;
	} else if (strcmp(key, QARG_POLICY) == 0) {
		if (parse_uint(v, &m->policy) == -1)
			goto bad;
	} else if (strcmp(key, QARG_SENDER) == 0) {
		/* "" and "<>" are the null sender; addresses are stored as
		 * the store keeps them: no brackets, lower case. */
		if (strcmp(v, "<>") == 0 || *v == '\0')
			m->sender[0] = '\0';
		else if (addr_normalize(v, m->sender, sizeof(m->sender)) == -1 ||
		    !parse_addr_ok(m->sender))
			goto bad;
	} else if (strcmp(key, QARG_CLIENT) == 0) {
		if (!parse_token_ok(v, QD_CLIENT_MAX))
			goto bad;
		snprintf(m->client, sizeof(m->client), "%s", v);
	} else if (strcmp(key, QARG_RCPT) == 0) {
		char a[QD_ADDR_MAX + 1];
		if (addr_normalize(v, a, sizeof(a)) == -1 || !parse_addr_ok(a) ||
		    json_array_size(m->rcpts) + json_array_size(m->rcpt_of) >= QD_MAX_RCPTS)
			goto bad;
		json_array_append_new(m->rcpts, json_string(a));
	} else if (strcmp(key, QARG_RCPT_OF) == 0) {
		/* "SUBSCRIBER_ID:address": digits, a colon, the address. */
		char a[QD_ADDR_MAX + 1], num[24];
		const char *colon = strchr(v, ':');
		int64_t sub;
		json_t *pair;
		if (colon == NULL || colon == v || (size_t)(colon - v) >= sizeof(num))
			goto bad;
		memcpy(num, v, (size_t)(colon - v));
		num[colon - v] = '\0';
		if (parse_uint(num, &sub) == -1 || addr_normalize(colon + 1, a, sizeof(a)) == -1 ||
		    !parse_addr_ok(a) ||
		    json_array_size(m->rcpt_of) + json_array_size(m->rcpts) >= QD_MAX_RCPTS)
			goto bad;
		if ((pair = json_pack("[I, s]", (json_int_t)sub, a)) == NULL ||
		    json_array_append_new(m->rcpt_of, pair) == -1)
			goto bad;
	} else if (strcmp(key, QARG_HOLD) == 0) {
		if (strcmp(v, QHOLD_VIRUS) != 0 && strcmp(v, QHOLD_HEURISTIC) != 0 &&
		    strcmp(v, QHOLD_UNSCANNABLE) != 0)
			goto bad;
		snprintf(m->hold, sizeof(m->hold), "%s", v);
	} else if (strcmp(key, QARG_SCAN) == 0) {
		struct scanopts so;
		char why[160];
		if (m->scan != NULL || scanopts_decode(v, &so, why, sizeof(why)) == -1) {
			hreq_fail(r, MHD_HTTP_BAD_REQUEST, "invalid scan: %s",
			    m->scan != NULL ? "given twice" : why);
			r->meta_bad = 1;
			return MHD_NO;
		}
		if ((m->scan = scanopts_encode(&so)) == NULL)
			goto bad;
	} else if (strcmp(key, QARG_VIRUS) == 0) {
		/* Names, or the milter's reason for unscannable mail (spaces). */
		if (!parse_text_ok(v, QD_VIRUS_MAX) || json_array_size(m->viruses) >= QD_MAX_VIRUSES)
			goto bad;
		json_array_append_new(m->viruses, json_string(v));
	} else {
		hreq_fail(r, MHD_HTTP_BAD_REQUEST, "unknown parameter \"%.40s\"", key);
		r->meta_bad = 1;
		return MHD_NO;
	}
	return MHD_YES;
bad:
	hreq_fail(r, MHD_HTTP_BAD_REQUEST, "invalid %s \"%.80s\"", key, v);
	r->meta_bad = 1;
	return MHD_NO;
}

void
submit_meta_free(struct submit_meta *m)
{
	json_decref(m->rcpts);
	json_decref(m->rcpt_of);
	json_decref(m->viruses);
	free(m->scan);
	for (size_t i = 0; i < m->ngroups; i++)
		json_decref(m->groups[i].rcpts);
	free(m->groups);
	m->rcpts = m->rcpt_of = m->viruses = NULL;
	m->scan = NULL;
	m->groups = NULL;
	m->ngroups = 0;
}

/* Adds addr to the group of sub.  0, or -1 with err set. */
static int
submit_group_add(struct submit_meta *m, int64_t sub, const char *addr, char *err,
    size_t errlen)
{
	struct submit_group *g = NULL;
	json_t *v;
	size_t i, k;

	for (i = 0; i < m->ngroups; i++) {
		json_array_foreach(m->groups[i].rcpts, k, v)
			if (strcmp(json_string_value(v), addr) == 0) {
				if (m->groups[i].subscriber == sub)
					return 0;          /* a repeated recipient */
				snprintf(err, errlen, "recipient %.80s given for two subscribers",
				    addr);
				return -1;
			}
		if (m->groups[i].subscriber == sub)
			g = &m->groups[i];
	}
	if (g == NULL) {
		/* At most QD_MAX_RCPTS groups: each has a recipient. */
		struct submit_group *ng = reallocarray(m->groups, m->ngroups + 1, sizeof(*ng));
		if (ng == NULL)
			goto nomem;
		m->groups = ng;
		g = &m->groups[m->ngroups];
		g->subscriber = sub;
		g->id = 0;
		if ((g->rcpts = json_array()) == NULL)
			goto nomem;
		m->ngroups++;
	}
	if (json_array_append_new(g->rcpts, json_string(addr)) == 0)
		return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
submit_meta_group(struct submit_meta *m, char *err, size_t errlen)
{
	json_t *v;
	size_t i;

	json_array_foreach(m->rcpts, i, v)
		if (submit_group_add(m, m->subscriber, json_string_value(v), err, errlen) == -1)
			return -1;
	json_array_foreach(m->rcpt_of, i, v)
		if (submit_group_add(m, (int64_t)json_integer_value(json_array_get(v, 0)),
		    json_string_value(json_array_get(v, 1)), err, errlen) == -1)
			return -1;
	return 0;
}

const char *
submit_hold(const char *given, json_t *viruses)
{
	const char *hold = given != NULL && *given != '\0' ? given : QHOLD_VIRUS;
	json_t *v;
	size_t i;

	if (strcmp(hold, QHOLD_VIRUS) != 0)
		return hold;
	json_array_foreach(viruses, i, v) {
		const char *s = json_string_value(v);
		if (s == NULL || strncmp(s, "Heuristics.", 11) != 0)
			continue;
		if (strncmp(s, "Heuristics.Encrypted.", 21) == 0 ||
		    strncmp(s, "Heuristics.Limits.Exceeded", 26) == 0)
			return QHOLD_UNSCANNABLE;
		hold = QHOLD_HEURISTIC;
	}
	return hold;
}

/* First call of POST /v1/items: metadata, size, temporary file. */
void
submit_begin(struct hreq *r, struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	struct qd_conf *conf = qd_conf_get(r->qd);
	struct store *st;
	int64_t len;

	r->max_upload = conf->q.max_upload;
	qd_conf_put(r->qd, conf);
	r->meta.rcpts = json_array();
	r->meta.rcpt_of = json_array();
	r->meta.viruses = json_array();
	if (r->meta.rcpts == NULL || r->meta.rcpt_of == NULL || r->meta.viruses == NULL) {
		hreq_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		return;
	}
	if (cl != NULL && (parse_uint(cl, &len) == -1 || len > r->max_upload)) {
		hreq_fail(r, MHD_HTTP_CONTENT_TOO_LARGE, "message larger than %lld bytes",
		    r->max_upload);
		return;
	}
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, submit_arg, r);
	if (r->h.status != 0)
		return;
	if (json_array_size(r->meta.rcpts) + json_array_size(r->meta.rcpt_of) == 0) {
		hreq_fail(r, MHD_HTTP_BAD_REQUEST, "at least one rcpt is required");
		return;
	}
	if (submit_meta_group(&r->meta, r->h.err, sizeof(r->h.err)) == -1) {
		char why[sizeof(r->h.err)];
		memcpy(why, r->h.err, sizeof(why));
		hreq_fail(r, MHD_HTTP_BAD_REQUEST, "%s", why);
		return;
	}
	{
		const char *hold = submit_hold(r->meta.hold, r->meta.viruses);
		if (hold != r->meta.hold)
			snprintf(r->meta.hold, sizeof(r->meta.hold), "%s", hold);
	}
	st = store_pool_get(r->qd->pool);
	if (r->meta.subscriber > 0 && index_subscriber_exists(st, r->meta.subscriber) != 1)
		hreq_fail(r, MHD_HTTP_BAD_REQUEST, "unknown subscriber %lld",
		    (long long)r->meta.subscriber);
	for (size_t i = 0; i < r->meta.ngroups && r->h.status == 0; i++)
		if (r->meta.groups[i].subscriber > 0 &&
		    index_subscriber_exists(st, r->meta.groups[i].subscriber) != 1)
			hreq_fail(r, MHD_HTTP_BAD_REQUEST, "unknown subscriber %lld",
			    (long long)r->meta.groups[i].subscriber);
	if (r->h.status == 0 && r->meta.policy > 0 && index_policy_exists(st, r->meta.policy) != 1)
		hreq_fail(r, MHD_HTTP_BAD_REQUEST, "unknown policy %lld",
		    (long long)r->meta.policy);
	store_pool_put(r->qd->pool, st);
	if (r->h.status != 0)
		return;
	if (qspool_upload_begin(r->qd->spool, &r->up) == -1) {
		hreq_fail(r, errno == ENOSPC || errno == EDQUOT ? MHD_HTTP_INSUFFICIENT_STORAGE :
		    MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot store: %s", strerror(errno));
		return;
	}
	r->uploading = 1;
}

static void
submit_failed_write(struct hreq *r, int err)
{
	log_warnx("submission%s%s: write: %s", r->meta.queue_id[0] ? " " : "",
	    r->meta.queue_id, strerror(err));
	hreq_fail(r, err == ENOSPC || err == EDQUOT ? MHD_HTTP_INSUFFICIENT_STORAGE :
	    MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot store the message: %s", strerror(err));
	qspool_upload_abort(r->qd->spool, &r->up);
	r->uploading = 0;
}

void
submit_data(struct hreq *r, const char *data, size_t len)
{
	if (r->h.status != 0 || !r->uploading) {
		r->h.discarded += len;
		return;
	}
	if (r->up.size + len > (uint64_t)r->max_upload) {
		hreq_fail(r, MHD_HTTP_CONTENT_TOO_LARGE, "message larger than %lld bytes",
		    r->max_upload);
		qspool_upload_abort(r->qd->spool, &r->up);
		r->uploading = 0;
		return;
	}
	if (qspool_upload_write(&r->up, data, len) == -1)
		submit_failed_write(r, errno);
}

enum MHD_Result
submit_end(struct hreq *r, struct MHD_Connection *c)
{
	char buf[512];
	struct jbuf j;
	uint64_t size = r->up.size;
	char sha[QD_SHA256_HEX];
	int64_t id = 0;
	json_t *items;
	int rc;

	if (r->up.size == 0) {
		qspool_upload_abort(r->qd->spool, &r->up);
		r->uploading = 0;
		return httpd_error(&r->h, MHD_HTTP_BAD_REQUEST, "empty message");
	}
	if (qspool_upload_finish(&r->up) == -1) {
		submit_failed_write(r, errno);
		return httpd_error(&r->h, r->h.status, r->h.err);
	}
	memcpy(sha, r->up.sha256, sizeof(sha));
	r->uploading = 0;             /* qspool_commit consumes the upload */
	rc = qspool_commit(r->qd->spool, &r->up, &r->meta, &id);
	if (rc == -2)
		return httpd_error(&r->h, MHD_HTTP_BAD_REQUEST, "row refused by the store");
	if (rc == -1)
		return httpd_error(&r->h, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "cannot store the message (see the daemon's log)");
	if ((items = json_array()) == NULL)
		return httpd_error(&r->h, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	for (size_t i = 0; i < r->meta.ngroups; i++) {
		const struct submit_group *g = &r->meta.groups[i];

		log_mail(LOGL_INFO, r->meta.queue_id[0] ? r->meta.queue_id : NULL,
		    "quarantined as item %lld: subscriber=%lld recipients=%zu hold=%s "
		    "size=%llu sha256=%s", (long long)g->id, (long long)g->subscriber,
		    json_array_size(g->rcpts), r->meta.hold, (unsigned long long)size, sha);
		jbuf_init(&j, buf, sizeof(buf));
		jbuf_int(&j, QJ_ID, g->id);
		jbuf_str(&j, QJ_QUEUE_ID, r->meta.queue_id[0] ? r->meta.queue_id : NULL);
		jbuf_str(&j, QJ_SHA256, sha);
		jbuf_int(&j, QJ_SIZE, (long long)size);
		jbuf_str(&j, QJ_HOLD, r->meta.hold);
		event_emit(EV_QUARANTINE_STORED, SEV_NOTICE, g->subscriber,
		    r->meta.client[0] ? r->meta.client : NULL, jbuf_end(&j));
		json_array_append_new(items, json_pack("{s:I, s:o}", QJ_ID, (json_int_t)g->id,
		    QJ_SUBSCRIBER, g->subscriber > 0 ? json_integer(g->subscriber) : json_null()));
	}
	return httpd_json(&r->h, MHD_HTTP_CREATED, json_pack("{s:I, s:s, s:I, s:o}", QJ_ID,
	    (json_int_t)id, QJ_SHA256, sha, QJ_SIZE, (json_int_t)size, QJ_ITEMS, items));
}

/* ---------------------------------------------------------- other routes */

struct list_args { struct hreq *r; struct qfilter *f; };

static enum MHD_Result
list_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct list_args *a = cls;
	struct qfilter *f = a->f;
	const char *v = value != NULL ? value : "";
	int ok = 1;

	if (strcmp(key, QLIST_SUBSCRIBER) == 0) {
		int64_t s;
		ok = parse_uint(v, &s) == 0;
		if (ok && a->r->auth.admin)
			f->subscriber = s;
		else if (ok && s != a->r->auth.subscriber)
			ok = 0;
	} else if (strcmp(key, QLIST_STATUS) == 0) {
		ok = strcmp(v, QSTATUS_HELD) == 0 ||
		    strcmp(v, QSTATUS_RELEASED) == 0 ||
		    strcmp(v, QSTATUS_DELETED) == 0;
		f->status = v;
	} else if (strcmp(key, QLIST_SINCE) == 0) {
		ok = parse_time(v, &f->since) == 0;
	} else if (strcmp(key, QLIST_UNTIL) == 0) {
		ok = parse_time(v, &f->until) == 0;
		if (ok && strchr(v, '-') != NULL)
			f->until += 86400;   /* a date includes that whole day */
	} else if (strcmp(key, QLIST_VIRUS) == 0) {
		ok = parse_text_ok(v, QD_VIRUS_MAX);
		f->virus = v;
	} else if (strcmp(key, QLIST_SENDER) == 0) {
		ok = parse_text_ok(v, QD_ADDR_MAX);
		f->sender = v;
	} else if (strcmp(key, QLIST_RECIPIENT) == 0) {
		ok = parse_text_ok(v, QD_ADDR_MAX);
		f->recipient = v;
	} else if (strcmp(key, QLIST_LIMIT) == 0) {
		ok = parse_uint(v, &f->limit) == 0 && f->limit >= 1 && f->limit <= QD_LIST_MAX;
	} else if (strcmp(key, QLIST_OFFSET) == 0) {
		ok = parse_uint(v, &f->offset) == 0;
	} else {
		hreq_fail(a->r, MHD_HTTP_BAD_REQUEST, "unknown parameter \"%.40s\"", key);
		return MHD_NO;
	}
	if (!ok) {
		hreq_fail(a->r, MHD_HTTP_BAD_REQUEST, "invalid %s \"%.80s\"", key, v);
		return MHD_NO;
	}
	return MHD_YES;
}

enum MHD_Result
api_list(struct hreq *r, struct MHD_Connection *c)
{
	struct qfilter f;
	struct list_args a = { r, &f };
	struct store *st;
	json_t *out;
	int rc;

	memset(&f, 0, sizeof(f));
	f.limit = 100;
	f.subscriber = r->auth.admin ? 0 : r->auth.subscriber;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, list_arg, &a);
	if (r->h.status != 0)
		return httpd_error(&r->h, r->h.status, r->h.err);
	st = store_pool_get(r->qd->pool);
	rc = index_list(st, &f, &out);
	store_pool_put(r->qd->pool, st);
	if (rc == -1)
		return httpd_error(&r->h, MHD_HTTP_INTERNAL_SERVER_ERROR, "store error");
	return httpd_json(&r->h, MHD_HTTP_OK, out);
}

enum MHD_Result
api_show(struct hreq *r, struct MHD_Connection *c)
{
	struct store *st = store_pool_get(r->qd->pool);
	json_t *o;
	int rc = index_item_json(st, r->id, r->auth.admin ? 0 : r->auth.subscriber, &o);

	store_pool_put(r->qd->pool, st);
	if (rc == -1)
		return httpd_error(&r->h, MHD_HTTP_INTERNAL_SERVER_ERROR, "store error");
	if (rc == 0)
		return httpd_error(&r->h, MHD_HTTP_NOT_FOUND, "no such item");
	return httpd_json(&r->h, MHD_HTTP_OK, o);
}

enum MHD_Result
api_raw(struct hreq *r, struct MHD_Connection *c)
{
	struct store *st = store_pool_get(r->qd->pool);
	struct qrow row;
	struct stat sb;
	int rc, fd;

	rc = index_row(st, r->id, r->auth.admin ? 0 : r->auth.subscriber, &row);
	store_pool_put(r->qd->pool, st);
	index_row_free(&row);
	if (rc == -1)
		return httpd_error(&r->h, MHD_HTTP_INTERNAL_SERVER_ERROR, "store error");
	if (rc == 0)
		return httpd_error(&r->h, MHD_HTTP_NOT_FOUND, "no such item");
	if (strcmp(row.status, QSTATUS_DELETED) == 0)
		return httpd_error(&r->h, MHD_HTTP_GONE, "item deleted");
	if ((fd = qspool_open_item(r->qd->spool, row.path)) == -1 || fstat(fd, &sb) == -1) {
		log_warn("item %lld: %s", (long long)r->id, row.path);
		if (fd != -1)
			close(fd);
		return httpd_error(&r->h, MHD_HTTP_INTERNAL_SERVER_ERROR, "stored message unreadable");
	}
	return httpd_file(&r->h, fd, (uint64_t)sb.st_size, "message/rfc822");
}

enum MHD_Result
api_release(struct hreq *r, struct MHD_Connection *c)
{
	static const unsigned status[] = {
		[REL_OK] = MHD_HTTP_OK, [REL_NOTFOUND] = MHD_HTTP_NOT_FOUND,
		[REL_CONFLICT] = MHD_HTTP_CONFLICT, [REL_SMTP] = MHD_HTTP_BAD_GATEWAY,
		[REL_FORBIDDEN] = MHD_HTTP_FORBIDDEN,
		[REL_ERROR] = MHD_HTTP_INTERNAL_SERVER_ERROR,
	};
	json_t *body = NULL, *rcpts = NULL, *canon = NULL, *v, *w;
	json_error_t jerr;
	char reply[768], by[80], a[QD_ADDR_MAX + 1];
	const char *s;
	enum release_rc rc;
	size_t i;

	if (r->auth.admin)
		snprintf(by, sizeof(by), "operator");
	else
		snprintf(by, sizeof(by), "subscriber-%lld", (long long)r->auth.subscriber);
	if (r->h.bodylen > 0) {
		body = json_loadb(r->h.body, r->h.bodylen, 0, &jerr);
		if (body == NULL || !json_is_object(body)) {
			json_decref(body);
			return httpd_error(&r->h, MHD_HTTP_BAD_REQUEST, "body is not a JSON object");
		}
		rcpts = json_object_get(body, QJ_RECIPIENTS);
		if (rcpts != NULL && (!json_is_array(rcpts) ||
		    json_array_size(rcpts) > QD_MAX_RCPTS)) {
			json_decref(body);
			return httpd_error(&r->h, MHD_HTTP_BAD_REQUEST, "recipients must be an array");
		}
		/* Each in the canonical form the rows keep (so a spelling with
		 * another case or a trailing dot is the same address), once. */
		if ((canon = json_array()) == NULL) {
			json_decref(body);
			return httpd_error(&r->h, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		}
		json_array_foreach(rcpts, i, v) {
			size_t k;
			int dup = 0;
			if ((s = json_string_value(v)) == NULL || strlen(s) != json_string_length(v) ||
			    !parse_addr_ok(s) || addr_normalize(s, a, sizeof(a)) == -1 ||
			    !parse_addr_ok(a)) {
				json_decref(canon);
				json_decref(body);
				return httpd_error(&r->h, MHD_HTTP_BAD_REQUEST, "invalid recipient");
			}
			json_array_foreach(canon, k, w)
				dup |= strcmp(json_string_value(w), a) == 0;
			if (!dup)
				json_array_append_new(canon, json_string(a));
		}
		if ((v = json_object_get(body, QJ_BY)) != NULL) {
			if ((s = json_string_value(v)) == NULL || !parse_token_ok(s, 64)) {
				json_decref(canon);
				json_decref(body);
				return httpd_error(&r->h, MHD_HTTP_BAD_REQUEST, "invalid \"by\"");
			}
			if (r->auth.admin)
				snprintf(by, sizeof(by), "%s", s);
		}
	}
	rc = release_item(r->qd, r->id, &r->auth, by, canon, reply, sizeof(reply));
	json_decref(canon);
	json_decref(body);
	if (rc == REL_OK)
		return httpd_json(&r->h, MHD_HTTP_OK, json_pack("{s:I, s:s}", QJ_ID,
		    (json_int_t)r->id, QJ_REPLY, reply));
	return httpd_error(&r->h, status[rc], reply);
}

enum MHD_Result
api_delete(struct hreq *r, struct MHD_Connection *c)
{
	char err[256];
	int rc = purge_delete_item(r->qd, r->id, &r->auth, err, sizeof(err));

	if (rc == 1)
		return httpd_json(&r->h, MHD_HTTP_OK, json_pack("{s:I, s:s}", QJ_ID,
		    (json_int_t)r->id, QJ_STATUS, QSTATUS_DELETED));
	return httpd_error(&r->h, rc == 0 ? MHD_HTTP_NOT_FOUND : rc == -2 ? MHD_HTTP_CONFLICT :
	    MHD_HTTP_INTERNAL_SERVER_ERROR, err);
}

enum MHD_Result
api_job(struct hreq *r, struct MHD_Connection *c)
{
	struct rescan_result res;
	char err[256];
	int64_t n = 0;
	json_t *o = NULL;
	int rc;

	pthread_mutex_lock(&r->qd->job_lock);
	switch (r->route) {
	case R_RESCAN:
		if ((rc = rescan_run(r->qd, &res, err, sizeof(err))) == 0)
			o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", QJ_RESCANNED,
			    (json_int_t)res.rescanned, QJ_CLEAN, (json_int_t)res.clean,
			    QJ_RELEASED, (json_int_t)res.released,
			    QJ_INFECTED, (json_int_t)res.infected, QJ_CHANGED, (json_int_t)res.changed,
			    QJ_ERRORS, (json_int_t)res.errors);
		break;
	case R_PURGE:
		snprintf(err, sizeof(err), "purge failed (see the daemon's log)");
		if ((rc = purge_run(r->qd, &n)) == 0)
			o = json_pack("{s:I}", QJ_PURGED, (json_int_t)n);
		break;
	default:
		snprintf(err, sizeof(err), "some digests failed (see the daemon's log)");
		if ((rc = digest_run(r->qd, &n)) == 0)
			o = json_pack("{s:I}", QJ_SENT, (json_int_t)n);
		break;
	}
	pthread_mutex_unlock(&r->qd->job_lock);
	if (rc == -1)
		return httpd_error(&r->h, MHD_HTTP_INTERNAL_SERVER_ERROR, err);
	return httpd_json(&r->h, MHD_HTTP_OK, o);
}

