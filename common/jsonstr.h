/*
 * jsonstr - the one JSON string escaper, shared by the JSON log lines
 * (log.c) and the event detail builder (events.c jbuf).
 *
 * Input is untrusted bytes (headers, SMTP commands, decoy transcripts).  The
 * output is always valid JSON string content: quotes, backslashes and control
 * characters are escaped; well-formed UTF-8 passes through unchanged; every
 * byte that is not part of a well-formed UTF-8 sequence becomes \u00XX.
 */
#ifndef MOAT_JSONSTR_H
#define MOAT_JSONSTR_H

#include <stddef.h>

/*
 * Writes the escaped body of s (without surrounding quotes) into out, NUL-
 * terminated, never splitting an escape or a UTF-8 sequence: when out is too
 * small the output stops at the last whole unit that fits.  Returns the
 * length the whole escape needs (excluding the NUL), like snprintf: a result
 * >= cap means truncation.  out may be NULL when cap is 0 (to measure).
 */
size_t jsonstr_escape(char *out, size_t cap, const char *s);

#endif
