/*
 * units - the one parser of the numbers operators type: integers, sizes
 * ("25M") and durations ("5m"), used by the config loader (config.c) and by
 * moatctl alike, so a value means the same wherever it is given.
 *
 * Text is an optional sign, decimal digits and at most one unit letter
 * (case-insensitive), nothing else: no spaces, no "25MB", no "1.5h".
 *   size:     b 1, k 1024, m 1024^2, g 1024^3
 *   duration: s 1, m 60, h 3600, d 86400, w 604800 (seconds)
 * Every function returns 0 with *out set, or -1 on bad syntax or overflow
 * (*out untouched).  Ranges are the caller's: a negative size parses.
 */
#ifndef MOAT_UNITS_H
#define MOAT_UNITS_H

int parse_int(const char *text, long long *out);
int parse_size(const char *text, long long *out);
int parse_duration(const char *text, long long *out);

#endif
