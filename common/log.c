/*
 * log - see log.h.  One mutex serializes output so lines from milter threads
 * never interleave; syslog(3) is itself thread-safe but the JSON file is not.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "jsonstr.h"
#include "log.h"

static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;
static const char *log_ident = "moat";
static int log_foreground = 1;          /* stderr until log_init says otherwise */
static FILE *log_json;                  /* NULL: no JSON lines */
static enum log_level log_level = LOGL_INFO;
static int log_facility = LOG_MAIL;

static const char *const log_names[] = { "error", "warning", "info", "debug", NULL };
static const int log_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

int
log_init(const char *ident, int foreground, const char *json_path)
{
	int rc = 0;

	pthread_mutex_lock(&log_mtx);
	log_ident = ident != NULL ? ident : "moat";
	log_foreground = foreground;
	if (log_json != NULL && log_json != stderr)
		fclose(log_json);
	log_json = NULL;
	if (json_path != NULL && *json_path != '\0') {
		if (strcmp(json_path, "-") == 0)
			log_json = stderr;
		else if ((log_json = fopen(json_path, "ae")) == NULL)
			rc = -1;
		else
			setvbuf(log_json, NULL, _IOLBF, 0);
	}
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, log_facility);
	pthread_mutex_unlock(&log_mtx);
	return rc;
}

void
log_set_facility(int facility)
{
	pthread_mutex_lock(&log_mtx);
	log_facility = facility;
	pthread_mutex_unlock(&log_mtx);
}

/* The level is read by every thread on every call: an atomic, not the mutex. */
void
log_set_level(enum log_level level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

enum log_level
log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int
log_level_parse(const char *name)
{
	for (int i = 0; name != NULL && log_names[i] != NULL; i++)
		if (strcasecmp(name, log_names[i]) == 0)
			return i;
	return -1;
}

static void
log_emit(enum log_level level, const char *qid, const char *msg)
{
	char line[8192 + 128];

	if (level > log_get_level())
		return;
	if (qid != NULL)
		snprintf(line, sizeof(line), "%s: %s", qid, msg);
	else
		snprintf(line, sizeof(line), "%s", msg);

	pthread_mutex_lock(&log_mtx);
	if (log_foreground)
		fprintf(stderr, "%s[%ld]: %s%s\n", log_ident, (long)getpid(),
		    level == LOGL_ERR ? "error: " : level == LOGL_WARN ?
		    "warning: " : "", line);
	else
		syslog(log_prio[level], "%s%s", level == LOGL_WARN ? "warning: " :
		    level == LOGL_ERR ? "error: " : "", line);
	if (log_json != NULL) {
		char esc[sizeof(line) * 2], qesc[128], ts[32], pesc[128];
		struct timespec now;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		jsonstr_escape(esc, sizeof(esc), msg);
		jsonstr_escape(qesc, sizeof(qesc), qid);
		jsonstr_escape(pesc, sizeof(pesc), log_ident);
		fprintf(log_json, "{\"ts\":\"%s.%03ldZ\",\"prog\":\"%s\",\"level\":\"%s\","
		    "\"qid\":%s%s%s,\"msg\":\"%s\"}\n", ts, now.tv_nsec / 1000000,
		    pesc, log_names[level], qid ? "\"" : "", qid ? qesc : "null",
		    qid ? "\"" : "", esc);
		fflush(log_json);
	}
	pthread_mutex_unlock(&log_mtx);
}

static void
log_vemit(enum log_level level, const char *qid, int with_errno, const char *fmt, va_list ap)
{
	char msg[8192];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	log_emit(level, qid, msg);
	errno = saved;
}

#define LOG_BODY(level, qid, err) do {			\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vemit(level, qid, err, fmt, ap);		\
	va_end(ap);					\
} while (0)

void log_warn(const char *fmt, ...)  { LOG_BODY(LOGL_WARN, NULL, 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOGL_WARN, NULL, 0); }
void log_info(const char *fmt, ...)  { LOG_BODY(LOGL_INFO, NULL, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOGL_DEBUG, NULL, 0); }

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOGL_ERR, NULL, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOGL_ERR, NULL, 0);
	exit(1);
}

void
log_mail(enum log_level level, const char *qid, const char *fmt, ...)
{
	LOG_BODY(level, qid != NULL && *qid != '\0' ? qid : "NOQUEUE", 0);
}
