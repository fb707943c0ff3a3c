/*
 * decoyd_pipe - the fake shell's pipe filters (see decoyd_pipe.c).
 */
#ifndef MOAT_DECOYD_PIPE_H
#define MOAT_DECOYD_PIPE_H

#include <stddef.h>

#define PIPE_UNKNOWN  1         /* not a filter this shell has */
#define PIPE_NOMEM   -1

/* Runs the filter argv (argv[0] its name) over in; *out (malloc, freed by
 * the caller) and *outlen get what it prints.  0, PIPE_UNKNOWN or
 * PIPE_NOMEM (*out NULL then). */
int pipe_filter(int argc, char **argv, const char *in, size_t inlen, char **out,
    size_t *outlen);

#endif
