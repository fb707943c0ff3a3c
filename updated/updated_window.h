/*
 * window - the clients' nightly update window and the draw of each client's
 * fixed time inside it (updated_window.c; pure, unit-tested for
 * uniformity).  Minutes are minutes of the local day, 0..1439.
 */
#ifndef MOAT_UPDATED_WINDOW_H
#define MOAT_UPDATED_WINDOW_H

#include <stdint.h>

/* "HH:MM-HH:MM" (end after start, or before it: the window wraps midnight;
 * equal: the whole day) -> start minute and length in minutes (1..1440).
 * 0, or -1 when malformed. */
int      window_parse(const char *s, unsigned *start, unsigned *len);
/* A minute drawn uniformly in the window from a uniform 64-bit random
 * value (no modulo bias worth the name: 2^64 / 1440). */
unsigned window_draw(unsigned start, unsigned len, uint64_t rnd);
/* 1 when minute lies in the window. */
int      window_contains(unsigned start, unsigned len, unsigned minute);

#endif
