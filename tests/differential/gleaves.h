/*
 * gleaves.h - the leaves GMime 3 gives for a message, for the differential
 * test and fuzz target (tests/differential/README.md).
 */
#ifndef MOAT_GLEAVES_H
#define MOAT_GLEAVES_H

#include <stddef.h>

/* text: a prologue or epilogue, which GMime keeps as a C string, so one
 * holding a NUL is given only up to it (a prefix of the real text). */
typedef void (*gleaves_fn)(void *arg, const unsigned char *data, size_t len, int text);

/* Parses msg[0..len) with GMime as a message and calls fn for every leaf,
 * decoded as GMime decodes it: every non-multipart part's content, and each
 * multipart's prologue and epilogue.  message/rfc822 parts are entered.
 * Returns 0, or -1 when GMime builds no message at all.  Call
 * g_mime_init() once first. */
int gleaves_walk(const char *msg, size_t len, gleaves_fn fn, void *arg);

#endif
