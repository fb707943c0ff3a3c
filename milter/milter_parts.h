/*
 * milter_parts.h - a message's MIME leaves, decoded in memory, for the scan
 * (see milter_parts.c).
 */
#ifndef MOAT_MILTER_PARTS_H
#define MOAT_MILTER_PARTS_H

#include <stddef.h>

#define PARTS_MAXDEPTH   16      /* nested multiparts and message/rfc822 */
#define PARTS_MAXLEAVES  1000
#define PARTS_FALLBACK   (-2)    /* a structure the walker does not take */

/* Called once per leaf: data/len are the decoded bytes (valid only during
 * the call), name the file name the part declares or NULL.  Returns 0 to
 * go on, > 0 to stop the walk (parts_walk returns that value), -1 on error
 * (likewise returned). */
typedef int (*parts_fn)(void *arg, const unsigned char *data, size_t len, const char *name);

/* Walks the message msg[0..len) (header block, empty line, body) and calls
 * fn for every leaf: each non-multipart part, decoded, and each non-blank
 * preamble or epilogue.  Returns 0 when every leaf was given, fn's non-zero
 * value when it stopped the walk, PARTS_FALLBACK when the message holds a
 * structure the walker leaves to libclamav's mail parser (leaves already
 * given stay given), -1 when out of memory. */
int    parts_walk(const char *msg, size_t len, parts_fn fn, void *arg);

#endif
