/*
 * quarantined_scan - a stored message scanned exactly as moat-milter
 * scanned it: milter_scan.c's scan_message() (linked from milterscan) with
 * an engine carrying the item's limits and parse mode and a policy carrying
 * its heuristics, scan mode and size limit (common/scanopts.h).
 *
 * Kept apart from quarantined.h: the milter's header has its own struct
 * spool.  Ownership: a struct qscan owns one compiled engine; qscan_free()
 * frees it.  Not for concurrent use (rescans run one at a time).
 */
#ifndef MOAT_QUARANTINED_SCAN_H
#define MOAT_QUARANTINED_SCAN_H

#include <stddef.h>

#include "scanopts.h"

struct qscan;

enum qscan_verdict {
	QSCAN_CLEAN,        /* nothing found (or, by scan_mode, nothing to scan) */
	QSCAN_VIRUS,        /* a signature: name set */
	QSCAN_HEURISTIC,    /* a Heuristics.* alert that is not a limit: name set */
	QSCAN_UNSCANNABLE,  /* encrypted, limits, over max_scan_bytes: name = reason */
	QSCAN_ERROR,        /* the scan failed: name = reason */
};

/* An engine from the signature directory with so's limits.  NULL with err
 * set. */
struct qscan *qscan_new(const char *sigdir, const struct scanopts *so, char *err,
    size_t errlen);
/* 1 when q was built with the engine limits so needs. */
int   qscan_fits(const struct qscan *q, const struct scanopts *so);
unsigned qscan_signatures(const struct qscan *q);
/* Scans fd (a stored message, read from offset 0) with so.  Always sets
 * name (at least ""). */
enum qscan_verdict qscan_fd(struct qscan *q, const struct scanopts *so, int fd,
    char *name, size_t namelen);
void  qscan_free(struct qscan *q);

#endif
