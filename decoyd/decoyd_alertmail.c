/*
 * decoyd_alertmail - the keeper's mailer: one thread submitting alert mails
 * (decoyd_alert.c) with libcurl SMTP to decoyd.alert_url, so no send ever
 * blocks the keeper's reading of the channel.  The queue is bounded
 * (decoyd.alert_queue): a mail that does not fit is dropped and logged.  A
 * failed send stays queued and is retried with a growing pause (30 s
 * doubling to 10 min; given up after ALM_TRIES, logged); each mail sent is
 * logged and recorded as a decoy.alert event.
 *
 * Ownership: alertmail_put() takes the mail; the thread frees it once sent
 * or given up, alertmail_stop() frees what is left.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decoyd_keeper.h"
#include "events.h"
#include "log.h"
#include "smtpsend.h"

#define ALM_TIMEOUT  30             /* seconds for one submission */
#define ALM_TRIES    12
#define ALM_PAUSE    30
#define ALM_PAUSE_MAX 600

struct alm_item {
	struct alert_mail *m;
	int                tries;
	time_t             next;
};

static struct {
	pthread_mutex_t  mu;
	pthread_cond_t   cv;
	pthread_t        thr;
	struct alm_item *q;
	size_t           n, max;
	int              running, stopping;
	time_t           deadline;      /* at stop: the last attempts end by then */
	char             url[1024], from[256], to[256];
	uint64_t         sent, dropped;
} alm = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* One submission (common/smtpsend.c).  0, or -1 with the reason in err. */
static int
alm_send(const struct alert_mail *m, long timeout, char *err, size_t errlen)
{
	return smtpsend(alm.url, alm.from, alm.to, m->text, timeout, err, errlen);
}

static void
alm_event(const struct alert_mail *m)
{
	char detail[2048];
	struct jbuf j;

	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "to", alm.to);
	jbuf_str(&j, "mail", m->summary ? "summary" : "first");
	jbuf_str(&j, "sessions", m->keys);
	jbuf_int(&j, "logins", m->logins);
	jbuf_int(&j, "commands", m->commands);
	jbuf_int(&j, "downloads", m->downloads);
	event_emit(EV_DECOY_ALERT, SEV_NOTICE, 0, m->src, jbuf_end(&j));
}

/* The due item with the earliest next try, or -1; *wait: seconds to it. */
static ssize_t
alm_pick(time_t now, time_t *wait)
{
	ssize_t best = -1;
	size_t i;

	for (i = 0; i < alm.n; i++)
		if (best == -1 || alm.q[i].next < alm.q[best].next)
			best = (ssize_t)i;
	if (best != -1 && alm.q[best].next > now && !alm.stopping) {
		*wait = alm.q[best].next - now;
		return -1;
	}
	*wait = 3600;
	return best;
}

static void
alm_remove(size_t i)
{
	alert_mail_free(alm.q[i].m);
	alm.q[i] = alm.q[--alm.n];
}

static void *
alm_main(void *arg)
{
	char err[256];
	struct alm_item it;
	struct timespec ts;
	time_t now, wait;
	ssize_t i;
	long timeout;

	(void)arg;
	pthread_mutex_lock(&alm.mu);
	for (;;) {
		now = time(NULL);
		if (alm.stopping && (alm.n == 0 || now >= alm.deadline))
			break;
		if ((i = alm_pick(now, &wait)) == -1) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait;
			pthread_cond_timedwait(&alm.cv, &alm.mu, &ts);
			continue;
		}
		/* Send without the lock; the item stays in the queue (the
		 * keeper only appends). */
		it = alm.q[i];
		timeout = alm.stopping ? (long)(alm.deadline - now) : ALM_TIMEOUT;
		if (timeout < 1)
			timeout = 1;
		pthread_mutex_unlock(&alm.mu);
		if (alm_send(it.m, timeout, err, sizeof(err)) == 0) {
			log_info("alert for %s mailed to <%s> (%s; sessions %s)", it.m->src, alm.to,
			    it.m->summary ? "summary" : "first attempt", it.m->keys);
			alm_event(it.m);
			pthread_mutex_lock(&alm.mu);
			alm.sent++;
			alm_remove((size_t)i);
			continue;
		}
		pthread_mutex_lock(&alm.mu);
		alm.q[i].tries++;
		if (alm.q[i].tries >= ALM_TRIES || alm.stopping) {
			log_warnx("alert for %s not sent to <%s> after %d tries: %s; given up",
			    it.m->src, alm.to, alm.q[i].tries, err);
			alm_remove((size_t)i);
			alm.dropped++;
			continue;
		}
		wait = ALM_PAUSE << (alm.q[i].tries - 1 < 5 ? alm.q[i].tries - 1 : 5);
		if (wait > ALM_PAUSE_MAX)
			wait = ALM_PAUSE_MAX;
		alm.q[i].next = time(NULL) + wait;
		log_warnx("alert for %s not sent to <%s> (%s): %s; retry in %lld s", it.m->src,
		    alm.to, alm.url, err, (long long)wait);
	}
	pthread_mutex_unlock(&alm.mu);
	return NULL;
}

int
alertmail_start(const char *url, const char *from, const char *to, size_t max)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_warnx("alerts: curl_global_init failed");
		return -1;
	}
	snprintf(alm.url, sizeof(alm.url), "%s", url);
	snprintf(alm.from, sizeof(alm.from), "%s", from);
	snprintf(alm.to, sizeof(alm.to), "%s", to);
	alm.max = max;
	if ((alm.q = calloc(max, sizeof(*alm.q))) == NULL ||
	    pthread_create(&alm.thr, NULL, alm_main, NULL) != 0) {
		free(alm.q);
		alm.q = NULL;
		log_warnx("alerts: cannot start the mailer");
		return -1;
	}
	alm.running = 1;
	return 0;
}

void
alertmail_put(struct alert_mail *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&alm.mu);
	if (!alm.running || alm.stopping || alm.n == alm.max) {
		alm.dropped++;
		log_warnx("alert for %s dropped: %s", m->src,
		    alm.running ? "the queue is full (decoyd.alert_queue)" : "no mailer");
		pthread_mutex_unlock(&alm.mu);
		alert_mail_free(m);
		return;
	}
	alm.q[alm.n].m = m;
	alm.q[alm.n].tries = 0;
	alm.q[alm.n].next = 0;
	alm.n++;
	pthread_cond_signal(&alm.cv);
	pthread_mutex_unlock(&alm.mu);
}

void
alertmail_stop(int secs)
{
	if (!alm.running)
		return;
	pthread_mutex_lock(&alm.mu);
	alm.stopping = 1;
	alm.deadline = time(NULL) + secs;
	pthread_cond_signal(&alm.cv);
	pthread_mutex_unlock(&alm.mu);
	pthread_join(alm.thr, NULL);
	if (alm.n > 0)
		log_warnx("alerts: %zu mail(s) not sent at stop", alm.n);
	while (alm.n > 0)
		alm_remove(alm.n - 1);
	free(alm.q);
	alm.q = NULL;
	alm.running = 0;
	curl_global_cleanup();
}
