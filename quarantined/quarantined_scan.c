/*
 * quarantined_scan - scans a stored message the way moat-milter did (see
 * quarantined_scan.h).  The message is handed to the milter's own
 * scan_message() through a read-only spool over the item's descriptor
 * (mapped by scan_message), so the walk, the raw pass, the fallback to
 * libclamav's mail parser, the size limit, the heuristics and the
 * classification are the milter's code, not a copy of it.
 *
 * Trusts the signature directory (operator-owned).  The stored message is
 * hostile content: only libclamav and milter_parts.c read it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <clamav.h>

#include "log.h"
#include "milter.h"
#include "quarantined_scan.h"

struct qscan {
	struct engine  en;
};

static pthread_once_t qscan_once = PTHREAD_ONCE_INIT;
static cl_error_t qscan_init_rc;

static void
qscan_init(void)
{
	qscan_init_rc = cl_init(CL_INIT_DEFAULT);
}

struct qscan *
qscan_new(const char *sigdir, const struct scanopts *so, char *err, size_t errlen)
{
	struct qscan *q;
	struct cl_engine *cl;
	unsigned int sigs = 0;
	cl_error_t rc;

	pthread_once(&qscan_once, qscan_init);
	if (qscan_init_rc != CL_SUCCESS) {
		snprintf(err, errlen, "cl_init: %s", cl_strerror(qscan_init_rc));
		return NULL;
	}
	if ((cl = cl_engine_new()) == NULL) {
		snprintf(err, errlen, "cl_engine_new failed");
		return NULL;
	}
	if (scanopts_engine_apply(so, cl, err, errlen) == -1) {
		cl_engine_free(cl);
		return NULL;
	}
	if ((rc = cl_load(sigdir, cl, &sigs, CL_DB_STDOPT)) != CL_SUCCESS) {
		snprintf(err, errlen, "%s: %s", sigdir, cl_strerror(rc));
		cl_engine_free(cl);
		return NULL;
	}
	scan_engine_setup(cl);          /* the milter's classification callbacks */
	if ((rc = cl_engine_compile(cl)) != CL_SUCCESS) {
		snprintf(err, errlen, "%s: %s", sigdir, cl_strerror(rc));
		cl_engine_free(cl);
		return NULL;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(err, errlen, "out of memory");
		cl_engine_free(cl);
		return NULL;
	}
	q->en.en_refs = 1;
	q->en.en_cl = cl;
	q->en.en_sigs = sigs;
	q->en.en_so = *so;
	return q;
}

int
qscan_fits(const struct qscan *q, const struct scanopts *so)
{
	return scanopts_same_engine(&q->en.en_so, so);
}

unsigned
qscan_signatures(const struct qscan *q)
{
	return q->en.en_sigs;
}

enum qscan_verdict
qscan_fd(struct qscan *q, const struct scanopts *so, int fd, char *name, size_t namelen)
{
	struct policy pol;
	struct msgbuf sp;
	struct scan_result res;
	struct stat sb;

	name[0] = '\0';
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		snprintf(name, namelen, "stored message unreadable");
		return QSCAN_ERROR;
	}
	/* The item's policy as far as the scan reads it. */
	memset(&pol, 0, sizeof(pol));
	pol.name = (char *)"rescan";
	pol.heuristics = so->heuristics;
	pol.scan_mode = (enum scan_mode)so->scan_mode;
	pol.max_scan_bytes = so->max_scan_bytes;
	/* The parse mode is the engine's half of the settings. */
	q->en.en_so.mime_walk = so->mime_walk;
	/* A spool that is its file: scan_message maps it. */
	memset(&sp, 0, sizeof(sp));
	sp.mb_fd = fd;
	sp.mb_memfd = -1;
	sp.mb_total = (size_t)sb.st_size;
	scan_message(&q->en, &sp, &pol, &res);
	switch (res.verdict) {
	case VERDICT_INFECTED:
		snprintf(name, namelen, "%s", res.virus);
		return strncmp(res.virus, "Heuristics.", 11) == 0 ? QSCAN_HEURISTIC : QSCAN_VIRUS;
	case VERDICT_UNSCANNABLE:
		snprintf(name, namelen, "%s", res.reason);
		return QSCAN_UNSCANNABLE;
	case VERDICT_ERROR:
		snprintf(name, namelen, "%s", res.reason);
		return QSCAN_ERROR;
	default:
		/* CLEAN, or UNSCANNED by scan_mode: nothing was detected. */
		return QSCAN_CLEAN;
	}
}

void
qscan_free(struct qscan *q)
{
	if (q == NULL)
		return;
	cl_engine_free(q->en.en_cl);
	free(q);
}
