/*
 * milter_notify - notification texts and the thread that sends separate
 * notice messages.
 *
 * Separate notices ("message" style) are submitted with libcurl's SMTP
 * client to Postfix's re-injection port (milter.reinject), which has no
 * milter: a notice is never scanned or noticed again.  The mail thread only
 * copies the notice into a bounded queue; one notifier thread does the
 * network work, so a slow or dead re-injection port can cost notices
 * (logged) but never delays an SMTP transaction.  Nothing is ever run as a
 * program inside the transaction.
 *
 * Backscatter: viruses of the families below forge the envelope sender, so a
 * "your message was infected" notice would go to an innocent third party.
 * Policies with skip_forged_senders do not notify senders for these names
 * (shell globs on the ClamAV signature name; milter.forged_senders adds more).
 */
#include <ctype.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "log.h"
#include "milter.h"

/* Families known to forge senders (mass-mailers).  Matched case-insensitively
 * against the whole signature name. */
static const char *const forged_families[] = {
	"Worm.*",              /* ClamAV's mass-mailing worms: Worm.Mydoom, Worm.Bagle ... */
	"*.Mydoom*", "*.MyDoom*",
	"*.Netsky*", "*.NetSky*",
	"*.Bagle*", "*.Beagle*",
	"*.Sober*",
	"*.Klez*",
	"*.Sobig*",
	"*.Mimail*",
	"*.Zafi*",
	"*.Lovgate*",
	"*.Dumaru*",
	"*Mass-mailer*", "*Massmailer*", "*MassMail*",
	"W32.*@mm",            /* Symantec-style mass-mailer suffix */
	NULL
};

static int
glob_match(const char *pat, size_t patlen, const char *name)
{
	char p[256];

	if (patlen == 0 || patlen >= sizeof(p))
		return 0;
	memcpy(p, pat, patlen);
	p[patlen] = '\0';
	return fnmatch(p, name, FNM_CASEFOLD) == 0;
}

int
notify_forged(const char *virus, const char *extra)
{
	const char *s, *e;

	if (virus == NULL)
		return 0;
	for (size_t i = 0; forged_families[i] != NULL; i++)
		if (glob_match(forged_families[i], strlen(forged_families[i]), virus))
			return 1;
	for (s = extra; s != NULL && *s != '\0'; s = *e ? e + 1 : e) {
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strcspn(s, ",");
		size_t n = (size_t)(e - s);
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (glob_match(s, n, virus))
			return 1;
	}
	return 0;
}

char *
notify_expand(const char *tpl, const struct notify_vars *v)
{
	static const struct { const char *name; size_t off; } vars[] = {
		{ "virus", offsetof(struct notify_vars, virus) },
		{ "sender", offsetof(struct notify_vars, sender) },
		{ "recipients", offsetof(struct notify_vars, recipients) },
		{ "queue_id", offsetof(struct notify_vars, queue_id) },
		{ "subscriber", offsetof(struct notify_vars, subscriber) },
		{ "action", offsetof(struct notify_vars, action) },
		{ "files", offsetof(struct notify_vars, files) },
		{ "client", offsetof(struct notify_vars, client) },
		{ "date", offsetof(struct notify_vars, date) },
	};
	char *out = NULL;
	size_t outlen = 0;
	FILE *fp;
	const char *p, *close;

	if (tpl == NULL || (fp = open_memstream(&out, &outlen)) == NULL)
		return NULL;
	for (p = tpl; *p != '\0'; p++) {
		size_t i, n;

		if (*p != '{' || (close = strchr(p, '}')) == NULL) {
			fputc(*p, fp);
			continue;
		}
		n = (size_t)(close - p - 1);
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			if (strlen(vars[i].name) == n && strncmp(p + 1, vars[i].name, n) == 0)
				break;
		if (i == sizeof(vars) / sizeof(vars[0])) {
			fputc(*p, fp);          /* unknown: kept as written */
			continue;
		}
		const char *val = *(const char *const *)((const char *)v + vars[i].off);
		fputs(val ? val : "", fp);
		p = close;
	}
	if (fclose(fp) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* ------------------------------------------------------------ the queue */

struct notice {
	char *qid, *to, *subject, *body;
};

static struct {
	pthread_mutex_t  mtx;
	pthread_cond_t   cv;
	pthread_t        thr;
	struct notice   *q;
	size_t           cap, head, count;
	int              running, stopping;
	unsigned long    dropped, sent, failed;
} nq = { .mtx = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void
notice_free(struct notice *n)
{
	free(n->qid);
	free(n->to);
	free(n->subject);
	free(n->body);
	memset(n, 0, sizeof(*n));
}

struct upload { const char *data; size_t len, off; };

static size_t
upload_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nitems;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return n;
}

/* Header-safe copy: CR/LF in a subject would start new header lines. */
static void
one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			*s = ' ';
}

/* Sends one notice; 0 or -1 (logged). */
static int
notice_send(struct notice *n)
{
	CURL *c;
	CURLcode rc;
	struct curl_slist *rcpt = NULL;
	char *msg = NULL, date[64], mid[256], host[128] = "localhost";
	size_t msglen = 0;
	FILE *fp;
	struct upload u;
	time_t now = time(NULL);
	struct tm tm;
	static unsigned long seq;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	(void)gethostname(host, sizeof(host) - 1);
	snprintf(mid, sizeof(mid), "<moat.%ld.%d.%lu@%s>", (long)now, (int)getpid(), ++seq, host);
	one_line(n->subject);
	if ((fp = open_memstream(&msg, &msglen)) == NULL)
		return -1;
	fprintf(fp, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n"
	    "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
	    "X-Moat-Notice: %s\r\n\r\n",
	    date, milter_cf->notify_from, n->to, n->subject, mid, n->qid);
	for (const char *p = n->body; *p; p++) {
		if (*p == '\n' && (p == n->body || p[-1] != '\r'))
			fputc('\r', fp);
		fputc(*p, fp);
	}
	if (fclose(fp) != 0) {
		free(msg);
		return -1;
	}
	u.data = msg;
	u.len = msglen;
	u.off = 0;
	if ((c = curl_easy_init()) == NULL) {
		free(msg);
		return -1;
	}
	rcpt = curl_slist_append(rcpt, n->to);
	curl_easy_setopt(c, CURLOPT_URL, milter_cf->reinject);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, milter_cf->notify_from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)milter_cf->notify_timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	free(msg);
	if (rc != CURLE_OK) {
		log_mail(LOGL_WARN, n->qid, "notice to <%s> not sent: %s", n->to, curl_easy_strerror(rc));
		return -1;
	}
	log_mail(LOGL_INFO, n->qid, "notice to <%s> submitted to %s", n->to, milter_cf->reinject);
	return 0;
}

static void *
notify_main(void *arg)
{
	struct notice n;

	pthread_mutex_lock(&nq.mtx);
	for (;;) {
		while (nq.count == 0 && !nq.stopping)
			pthread_cond_wait(&nq.cv, &nq.mtx);
		if (nq.count == 0)
			break;
		n = nq.q[nq.head];
		memset(&nq.q[nq.head], 0, sizeof(n));
		nq.head = (nq.head + 1) % nq.cap;
		nq.count--;
		pthread_mutex_unlock(&nq.mtx);
		if (notice_send(&n) == 0)
			nq.sent++;
		else
			nq.failed++;
		notice_free(&n);
		pthread_mutex_lock(&nq.mtx);
	}
	pthread_mutex_unlock(&nq.mtx);
	return NULL;
}

int
notify_start(void)
{
	int rc;

	nq.cap = (size_t)milter_cf->notify_queue;
	if ((nq.q = calloc(nq.cap, sizeof(*nq.q))) == NULL) {
		log_warn("notify queue");
		return -1;
	}
	if ((rc = pthread_create(&nq.thr, NULL, notify_main, NULL)) != 0) {
		log_warnx("notifier thread: %s", strerror(rc));
		return -1;
	}
	nq.running = 1;
	return 0;
}

/* Sends what is queued (each bounded by notify_timeout), then stops. */
void
notify_stop(void)
{
	if (!nq.running)
		return;
	pthread_mutex_lock(&nq.mtx);
	nq.stopping = 1;
	pthread_cond_signal(&nq.cv);
	pthread_mutex_unlock(&nq.mtx);
	pthread_join(nq.thr, NULL);
	nq.running = 0;
	free(nq.q);
	nq.q = NULL;
	if (nq.dropped || nq.failed)
		log_warnx("notices: %lu sent, %lu failed, %lu dropped (queue full)",
		    nq.sent, nq.failed, nq.dropped);
}

int
notify_enqueue(const char *qid, const char *to, const char *subject, const char *body)
{
	struct notice n;
	size_t tail;

	if (!nq.running || to == NULL || to[0] == '\0')
		return -1;
	n.qid = strdup(qid ? qid : "NOQUEUE");
	n.to = strdup(to);
	n.subject = strdup(subject ? subject : "");
	n.body = strdup(body ? body : "");
	if (!n.qid || !n.to || !n.subject || !n.body) {
		notice_free(&n);
		return -1;
	}
	pthread_mutex_lock(&nq.mtx);
	if (nq.count == nq.cap || nq.stopping) {
		nq.dropped++;
		pthread_mutex_unlock(&nq.mtx);
		log_mail(LOGL_WARN, qid, "notice to <%s> dropped: notification queue full", to);
		notice_free(&n);
		return -1;
	}
	tail = (nq.head + nq.count) % nq.cap;
	nq.q[tail] = n;
	nq.count++;
	pthread_cond_signal(&nq.cv);
	pthread_mutex_unlock(&nq.mtx);
	return 0;
}
