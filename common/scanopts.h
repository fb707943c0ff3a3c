/*
 * scanopts - the scan settings of one message, shared by moat-milter (which
 * scans with them and sends them with a quarantine submission) and
 * moat-quarantined (which stores them in quarantine.scan_settings and
 * rescans with exactly them).
 *
 * Settings come from two places: the policy that decided the scan
 * (heuristics, scan_mode, max_scan_bytes) and the milter's configuration
 * (libclamav's engine limits, and whether the message is walked by
 * milter_parts.c or read by libclamav's own mail parser).  This module is
 * the one place that turns them into libclamav's engine settings and scan
 * options, so both daemons scan alike.
 *
 * Wire and store form (compact JSON, every key required, no other key):
 *   {"v":1,"heuristics":true,"scan_mode":"all","max_scan_bytes":N,
 *    "parse":"walk"|"libclamav","max_scansize":N,"max_filesize":N,
 *    "max_recursion":N,"max_files":N}
 */
#ifndef MOAT_SCANOPTS_H
#define MOAT_SCANOPTS_H

#include <stddef.h>
#include <stdint.h>

struct cl_engine;
struct cl_scan_options;

#define SCANOPTS_VERSION   1
#define SCANOPTS_JSON_MAX  512    /* longest encoded form, with room to spare */

struct scanopts {
	int        heuristics;      /* policy: macro, encrypted, broken-executable alerts */
	int        scan_mode;       /* enum scan_mode (policy.h) */
	int64_t    max_scan_bytes;  /* policy: a larger message is unscannable */
	int        mime_walk;       /* 1: MIME walk + raw pass; 0: libclamav's mail parser */
	long long  max_scansize, max_filesize, max_recursion, max_files;  /* engine */
};

/* The strictest settings the milter would use with its defaults: scan all,
 * heuristics on, the schema's max_scan_bytes, the milter's default limits,
 * the walk.  Used for items stored without settings. */
void  scanopts_default(struct scanopts *so);
/* 1 when a and b need the same engine (limits), else 0. */
int   scanopts_same_engine(const struct scanopts *a, const struct scanopts *b);
/* The wire form, malloc'd; NULL when out of memory. */
char *scanopts_encode(const struct scanopts *so);
/* Parses the wire form strictly (keys, types, ranges).  0, or -1 with err
 * saying why; *so is untouched on error. */
int   scanopts_decode(const char *text, struct scanopts *so, char *err, size_t errlen);
/* Sets the limits on a new engine, and turns libclamav's clean-file cache
 * off (see milter_engine.c).  0, or -1 with err set. */
int   scanopts_engine_apply(const struct scanopts *so, struct cl_engine *cl,
          char *err, size_t errlen);
/* The scan options of a whole-message or leaf scan. */
void  scanopts_cl_options(const struct scanopts *so, struct cl_scan_options *o);

#endif
