/*
 * scanopts - scan settings: defaults, wire form, libclamav set-up (see
 * scanopts.h).
 *
 * The wire form arrives from the milter over quarantined's API and from
 * the store (an operator may edit it): scanopts_decode() trusts neither and
 * accepts only the exact key set with values in range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clamav.h>
#include <jansson.h>

#include "policy.h"
#include "scanopts.h"

/* The milter's option table defaults (milter_conf.c) and the schema's
 * max_scan_bytes default (sql/schema.sql). */
#define DEF_SCANSIZE   (100LL << 20)
#define DEF_FILESIZE   (100LL << 20)
#define DEF_RECURSION  25
#define DEF_FILES      10000
#define DEF_SCANBYTES  26214400

void
scanopts_default(struct scanopts *so)
{
	memset(so, 0, sizeof(*so));
	so->heuristics = 1;
	so->scan_mode = SCAN_ALL;
	so->max_scan_bytes = DEF_SCANBYTES;
	so->mime_walk = 1;
	so->max_scansize = DEF_SCANSIZE;
	so->max_filesize = DEF_FILESIZE;
	so->max_recursion = DEF_RECURSION;
	so->max_files = DEF_FILES;
}

int
scanopts_same_engine(const struct scanopts *a, const struct scanopts *b)
{
	return a->max_scansize == b->max_scansize && a->max_filesize == b->max_filesize &&
	    a->max_recursion == b->max_recursion && a->max_files == b->max_files;
}

char *
scanopts_encode(const struct scanopts *so)
{
	const char *mode = so->scan_mode >= SCAN_ALL && so->scan_mode <= SCAN_NONE ?
	    policy_scan_mode_names[so->scan_mode] : "all";
	json_t *o;
	char *s;

	o = json_pack("{s:i, s:b, s:s, s:I, s:s, s:I, s:I, s:I, s:I}",
	    "v", SCANOPTS_VERSION, "heuristics", so->heuristics != 0, "scan_mode", mode,
	    "max_scan_bytes", (json_int_t)so->max_scan_bytes,
	    "parse", so->mime_walk ? "walk" : "libclamav",
	    "max_scansize", (json_int_t)so->max_scansize,
	    "max_filesize", (json_int_t)so->max_filesize,
	    "max_recursion", (json_int_t)so->max_recursion,
	    "max_files", (json_int_t)so->max_files);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/* The integer member key of o within [lo, hi].  0 or -1 (err set). */
static int
so_int(json_t *o, const char *key, long long lo, long long hi, long long *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		snprintf(err, errlen, "scan settings: %s must be an integer in %lld..%lld",
		    key, lo, hi);
		return -1;
	}
	*out = (long long)json_integer_value(v);
	return 0;
}

int
scanopts_decode(const char *text, struct scanopts *out, char *err, size_t errlen)
{
	static const char *const keys[] = { "v", "heuristics", "scan_mode", "max_scan_bytes",
	    "parse", "max_scansize", "max_filesize", "max_recursion", "max_files", NULL };
	struct scanopts so;
	json_error_t jerr;
	json_t *o, *v;
	const char *key, *s;
	long long n;
	int rc = -1, mode;

	memset(&so, 0, sizeof(so));
	if (text == NULL || strlen(text) > SCANOPTS_JSON_MAX) {
		snprintf(err, errlen, "scan settings: missing or longer than %d bytes",
		    SCANOPTS_JSON_MAX);
		return -1;
	}
	if ((o = json_loads(text, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(o)) {
		snprintf(err, errlen, "scan settings: not a JSON object");
		goto done;
	}
	json_object_foreach(o, key, v) {
		size_t i;
		for (i = 0; keys[i] != NULL && strcmp(keys[i], key) != 0; i++)
			;
		if (keys[i] == NULL) {
			snprintf(err, errlen, "scan settings: unknown key \"%.40s\"", key);
			goto done;
		}
	}
	if (so_int(o, "v", SCANOPTS_VERSION, SCANOPTS_VERSION, &n, err, errlen) == -1)
		goto done;
	if (!json_is_boolean(v = json_object_get(o, "heuristics"))) {
		snprintf(err, errlen, "scan settings: heuristics must be true or false");
		goto done;
	}
	so.heuristics = json_is_true(v);
	if ((s = json_string_value(json_object_get(o, "scan_mode"))) == NULL ||
	    (mode = policy_enum_parse(policy_scan_mode_names, s)) == -1) {
		snprintf(err, errlen, "scan settings: unknown scan_mode");
		goto done;
	}
	so.scan_mode = mode;
	if ((s = json_string_value(json_object_get(o, "parse"))) == NULL ||
	    (strcmp(s, "walk") != 0 && strcmp(s, "libclamav") != 0)) {
		snprintf(err, errlen, "scan settings: parse must be walk or libclamav");
		goto done;
	}
	so.mime_walk = strcmp(s, "walk") == 0;
	/* The bounds of the schema and of the milter's option table. */
	if (so_int(o, "max_scan_bytes", 1, 1LL << 40, &n, err, errlen) == -1)
		goto done;
	so.max_scan_bytes = n;
	if (so_int(o, "max_scansize", 1, 1LL << 40, &so.max_scansize, err, errlen) == -1 ||
	    so_int(o, "max_filesize", 1, 1LL << 40, &so.max_filesize, err, errlen) == -1 ||
	    so_int(o, "max_recursion", 1, 100, &so.max_recursion, err, errlen) == -1 ||
	    so_int(o, "max_files", 1, 1000000, &so.max_files, err, errlen) == -1)
		goto done;
	*out = so;
	rc = 0;
done:
	json_decref(o);
	return rc;
}

int
scanopts_engine_apply(const struct scanopts *so, struct cl_engine *cl, char *err,
    size_t errlen)
{
	cl_error_t rc;

	/* Limits apply to every scan; Heuristics.Limits.Exceeded (always on,
	 * see scanopts_cl_options) maps to "unscannable". */
	if ((rc = cl_engine_set_num(cl, CL_ENGINE_MAX_SCANSIZE, so->max_scansize)) != CL_SUCCESS ||
	    (rc = cl_engine_set_num(cl, CL_ENGINE_MAX_FILESIZE, so->max_filesize)) != CL_SUCCESS ||
	    (rc = cl_engine_set_num(cl, CL_ENGINE_MAX_RECURSION, so->max_recursion)) != CL_SUCCESS ||
	    (rc = cl_engine_set_num(cl, CL_ENGINE_MAX_FILES, so->max_files)) != CL_SUCCESS ||
	    /* No clean-file cache: a cached archive's members are never visited
	     * again, so the one-pass classification (milter_scan.c) would call
	     * a repeated exe-in-zip "no executable content". */
	    (rc = cl_engine_set_num(cl, CL_ENGINE_DISABLE_CACHE, 1)) != CL_SUCCESS) {
		snprintf(err, errlen, "cl_engine_set: %s", cl_strerror(rc));
		return -1;
	}
	return 0;
}

void
scanopts_cl_options(const struct scanopts *so, struct cl_scan_options *o)
{
	memset(o, 0, sizeof(*o));
	o->general = CL_SCAN_GENERAL_HEURISTICS;
	o->parse = ~0u;
	/* Limits are never silent. */
	o->heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX;
	if (so->heuristics)
		o->heuristic |= CL_SCAN_HEURISTIC_MACROS | CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE |
		    CL_SCAN_HEURISTIC_ENCRYPTED_DOC | CL_SCAN_HEURISTIC_BROKEN;
}
