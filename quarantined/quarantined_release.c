/*
 * quarantined_release - re-injection of held messages over SMTP (libcurl)
 * to Postfix's re-injection port, and the busy set that keeps an item
 * being released (or deleted) away from every other mutation.
 *
 * The message sent is one added header line
 *   X-Moat-Released: <id> by <who> at <date>
 * followed by the stored bytes unchanged (libcurl only dot-stuffs them on
 * the wire).  The row becomes 'released' only when the server's final
 * reply was 250, and it records that reply line; any other outcome leaves
 * the row as it was and returns the reason.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "events.h"
#include "log.h"
#include "qclient.h"
#include "quarantined.h"

/* ---------------------------------------------------------- busy set */

int
release_busy_claim(struct qd *qd, int64_t id)
{
	int rc = 1;

	pthread_mutex_lock(&qd->busy_lock);
	for (size_t i = 0; i < qd->nbusy; i++)
		if (qd->busy[i] == id)
			rc = 0;
	if (rc == 1 && qd->nbusy == qd->busycap) {
		size_t ncap = qd->busycap ? qd->busycap * 2 : 16;
		int64_t *nb = reallocarray(qd->busy, ncap, sizeof(*nb));
		if (nb == NULL)
			rc = 0;         /* treated as busy: the caller retries later */
		else {
			qd->busy = nb;
			qd->busycap = ncap;
		}
	}
	if (rc == 1)
		qd->busy[qd->nbusy++] = id;
	pthread_mutex_unlock(&qd->busy_lock);
	return rc;
}

void
release_busy_drop(struct qd *qd, int64_t id)
{
	pthread_mutex_lock(&qd->busy_lock);
	for (size_t i = 0; i < qd->nbusy; i++)
		if (qd->busy[i] == id) {
			qd->busy[i] = qd->busy[--qd->nbusy];
			break;
		}
	pthread_mutex_unlock(&qd->busy_lock);
}

int
release_busy_has(struct qd *qd, int64_t id)
{
	int rc = 0;

	pthread_mutex_lock(&qd->busy_lock);
	for (size_t i = 0; i < qd->nbusy && !rc; i++)
		rc = qd->busy[i] == id;
	pthread_mutex_unlock(&qd->busy_lock);
	return rc;
}

/* ---------------------------------------------------------- SMTP */

struct smtp_io {
	const char  *head;
	size_t       headlen, headoff;
	int          fd;
	int          readerr;
	char         line[512];     /* last complete reply line from the server */
	size_t       linelen;
	char         partial[512];
	int          frozen;        /* QUIT seen: keep the reply before it */
};

static size_t
smtp_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct smtp_io *io = arg;
	size_t want = size * nitems, n;
	ssize_t r;

	if (io->headoff < io->headlen) {
		n = io->headlen - io->headoff;
		if (n > want)
			n = want;
		memcpy(buf, io->head + io->headoff, n);
		io->headoff += n;
		return n;
	}
	if (io->fd == -1)
		return 0;
	do
		r = read(io->fd, buf, want);
	while (r == -1 && errno == EINTR);
	if (r == -1) {
		io->readerr = errno;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)r;
}

/* Keeps the server's last reply line: libcurl hands us its responses as
 * CURLINFO_HEADER_IN text, possibly several lines at once. */
static int
smtp_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct smtp_io *io = arg;

	if (type == CURLINFO_HEADER_OUT && size >= 4 && strncmp(data, "QUIT", 4) == 0)
		io->frozen = 1;
	if (type != CURLINFO_HEADER_IN || io->frozen)
		return 0;
	for (size_t i = 0; i < size; i++) {
		char c = data[i];
		if (c == '\r')
			continue;
		if (c == '\n') {
			io->partial[io->linelen] = '\0';
			memcpy(io->line, io->partial, io->linelen + 1);
			io->linelen = 0;
		} else if (io->linelen < sizeof(io->partial) - 1) {
			io->partial[io->linelen++] = (c >= 0x20 && c < 0x7f) ? c : '?';
		}
	}
	return 0;
}

int
release_smtp_send(const struct qd_conf *c, const char *from, const char *const *rcpts,
    size_t nrcpts, const char *head, size_t headlen, int fd, char *reply, size_t replylen)
{
	struct smtp_io io;
	struct curl_slist *rl = NULL, *t;
	char url[512], addr[QD_ADDR_MAX + 3];
	CURL *h;
	CURLcode res;
	long code = 0;
	int rc = -1;

	memset(&io, 0, sizeof(io));
	io.head = head;
	io.headlen = head != NULL ? headlen : 0;
	io.fd = fd;
	snprintf(reply, replylen, "internal error");
	/* The path of an SMTP URL is the name we greet with. */
	snprintf(url, sizeof(url), "%s%sgateway.moat", c->q.reinject,
	    c->q.reinject[strlen(c->q.reinject) - 1] == '/' ? "" : "/");
	if ((h = curl_easy_init()) == NULL)
		return -1;
	for (size_t i = 0; i < nrcpts; i++) {
		snprintf(addr, sizeof(addr), "<%s>", rcpts[i]);
		if ((t = curl_slist_append(rl, addr)) == NULL)
			goto done;
		rl = t;
	}
	snprintf(addr, sizeof(addr), "<%s>", from != NULL ? from : "");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, addr);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rl);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, smtp_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &io);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, smtp_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, &io);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)c->q.smtp_timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	res = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	io.frozen = 1;
	if (res == CURLE_OK && code == 250) {
		snprintf(reply, replylen, "%s", io.line[0] != '\0' ? io.line : "250");
		rc = 1;
	} else if (code >= 400 && io.line[0] != '\0') {
		snprintf(reply, replylen, "%s", io.line);
		rc = 0;
	} else if (io.readerr != 0) {
		snprintf(reply, replylen, "reading the stored message: %s", strerror(io.readerr));
	} else {
		snprintf(reply, replylen, "%s: %s", c->q.reinject, curl_easy_strerror(res));
	}
done:
	curl_easy_cleanup(h);
	curl_slist_free_all(rl);
	return rc;
}

/* ---------------------------------------------------------- release */

/* "\r\n" when the stored message uses CRLF line ends, else "\n": the added
 * header must not change the message's convention. */
static const char *
release_eol(int fd)
{
	char buf[4096];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	char *nl;

	if (n <= 0 || (nl = memchr(buf, '\n', (size_t)n)) == NULL)
		return "\r\n";
	return nl > buf && nl[-1] == '\r' ? "\r\n" : "\n";
}

static void
release_event(const struct qrow *r, const char *by, const char *reply)
{
	char buf[1024];
	struct jbuf j;

	jbuf_init(&j, buf, sizeof(buf));
	jbuf_int(&j, "id", r->id);
	jbuf_str(&j, "queue_id", r->queue_id[0] ? r->queue_id : NULL);
	jbuf_str(&j, "by", by);
	jbuf_str(&j, "reply", reply);
	event_emit(EV_QUARANTINE_RELEASED, SEV_NOTICE, r->subscriber, NULL, jbuf_end(&j));
}

/* A refused release: logged and recorded, the reason in reply. */
static void
release_denied(const struct qrow *r, const char *by, const char *reply)
{
	char buf[1024];
	struct jbuf j;

	log_mail(LOGL_WARN, r->queue_id[0] ? r->queue_id : NULL,
	    "quarantine release %lld by %s refused: %s", (long long)r->id, by, reply);
	jbuf_init(&j, buf, sizeof(buf));
	jbuf_int(&j, "id", r->id);
	jbuf_str(&j, "by", by);
	jbuf_str(&j, "reason", reply);
	event_emit(EV_QUARANTINE_DENIED, SEV_WARNING, r->subscriber, NULL, jbuf_end(&j));
}

/*
 * What a caller may do with row r: an operator anything; a subscriber (the
 * row is its own, index_row saw to that) only a 'virus' hold, and only to
 * the item's own recipients -- every address of override (canonical and
 * deduplicated by the API) must be one of them.  REL_OK or REL_FORBIDDEN
 * with reply set.
 */
static enum release_rc
release_allowed(const struct qrow *r, const struct qauth *who, json_t *override,
    char *reply, size_t replylen)
{
	json_t *v, *w;
	size_t i, k;

	if (who->admin)
		return REL_OK;
	if (strcmp(r->hold, "virus") != 0) {
		snprintf(reply, replylen, "item %lld is held as %s content: only an operator "
		    "can release it", (long long)r->id, r->hold);
		return REL_FORBIDDEN;
	}
	json_array_foreach(override, i, v) {
		int mine = 0;
		json_array_foreach(r->rcpts, k, w)
			if (json_string_value(w) != NULL &&
			    strcmp(json_string_value(w), json_string_value(v)) == 0)
				mine = 1;
		if (!mine) {
			snprintf(reply, replylen, "%.320s is not a recipient of item %lld: a "
			    "subscriber releases only to the item's own recipients",
			    json_string_value(v), (long long)r->id);
			return REL_FORBIDDEN;
		}
	}
	return REL_OK;
}

enum release_rc
release_item(struct qd *qd, int64_t id, const struct qauth *who, const char *by,
    json_t *override, char *reply, size_t replylen)
{
	struct qrow row;
	struct store *st;
	struct qd_conf *c = NULL;
	const char **rcpts = NULL;
	json_t *list, *v;
	char head[512], date[64];
	size_t n, i;
	time_t now;
	struct tm tm;
	int fd = -1, rc;
	enum release_rc ret = REL_ERROR;

	memset(&row, 0, sizeof(row));
	if (!who->admin) {
		/* Another subscriber's item is absent, busy or not: ids are not
		 * probed through 409s. */
		st = store_pool_get(qd->pool);
		rc = index_row(st, id, who->subscriber, &row);
		store_pool_put(qd->pool, st);
		index_row_free(&row);
		if (rc != 1) {
			snprintf(reply, replylen, rc == 0 ? "no item %lld" : "store error",
			    (long long)id);
			return rc == 0 ? REL_NOTFOUND : REL_ERROR;
		}
	}
	if (!release_busy_claim(qd, id)) {
		snprintf(reply, replylen, "item %lld is being released or deleted right now",
		    (long long)id);
		return REL_CONFLICT;
	}
	st = store_pool_get(qd->pool);
	rc = index_row(st, id, who->admin ? 0 : who->subscriber, &row);
	store_pool_put(qd->pool, st);
	if (rc == -1) {
		snprintf(reply, replylen, "store error");
		goto done;
	}
	if (rc == 0) {
		snprintf(reply, replylen, "no item %lld", (long long)id);
		ret = REL_NOTFOUND;
		goto done;
	}
	if (strcmp(row.status, QSTATUS_HELD) != 0) {
		snprintf(reply, replylen, "item %lld is %s, not held: refusing to release it again",
		    (long long)id, row.status);
		ret = REL_CONFLICT;
		goto done;
	}
	if ((ret = release_allowed(&row, who, override, reply, replylen)) != REL_OK) {
		release_denied(&row, by, reply);
		goto done;
	}
	ret = REL_ERROR;
	list = override != NULL && json_array_size(override) > 0 ? override : row.rcpts;
	n = json_array_size(list);
	if (n == 0 || (rcpts = calloc(n, sizeof(*rcpts))) == NULL) {
		snprintf(reply, replylen, "item %lld has no recipients", (long long)id);
		goto done;
	}
	json_array_foreach(list, i, v)
		rcpts[i] = json_string_value(v);
	if ((fd = qspool_open_item(qd->spool, row.path)) == -1) {
		snprintf(reply, replylen, "stored message of item %lld: %s", (long long)id,
		    strerror(errno));
		log_warnx("release %lld: %s", (long long)id, reply);
		goto done;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(head, sizeof(head), "X-Moat-Released: %lld by %s at %s%s",
	    (long long)id, by, date, release_eol(fd));
	c = qd_conf_get(qd);
	rc = release_smtp_send(c, row.sender[0] != '\0' ? row.sender : c->q.release_from,
	    rcpts, n, head, strlen(head), fd, reply, replylen);
	if (rc != 1) {
		log_mail(LOGL_WARN, row.queue_id[0] ? row.queue_id : NULL,
		    "quarantine release %lld failed: %s", (long long)id, reply);
		ret = REL_SMTP;
		goto done;
	}
	st = store_pool_get(qd->pool);
	rc = index_mark_released(st, id, (int64_t)now, reply);
	store_pool_put(qd->pool, st);
	if (rc != 1) {
		/* Delivered but not recorded: say so loudly; the row stays held. */
		log_warnx("release %lld: delivered (%s) but the row could not be marked",
		    (long long)id, reply);
		snprintf(reply, replylen, "delivered but not recorded (store error)");
		goto done;
	}
	log_mail(LOGL_INFO, row.queue_id[0] ? row.queue_id : NULL,
	    "quarantine release %lld by %s to %zu recipient(s): %s", (long long)id, by, n, reply);
	release_event(&row, by, reply);
	ret = REL_OK;
done:
	if (fd != -1)
		close(fd);
	free(rcpts);
	qd_conf_put(qd, c);
	index_row_free(&row);
	release_busy_drop(qd, id);
	return ret;
}
