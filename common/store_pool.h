/*
 * store_pool - a fixed set of store connections shared by a daemon's
 * request threads (a connection is never used by two threads at once):
 * store_pool_get() lends one, blocking until one is free, and
 * store_pool_put() returns it.  Used by moat-quarantined and moat-updated.
 */
#ifndef MOAT_STORE_POOL_H
#define MOAT_STORE_POOL_H

#include <stddef.h>

struct store;
struct store_pool;

/* n connections to path.  full_sync: PRAGMA synchronous=FULL, for a daemon
 * whose replies promise that a committed row survives a power cut.  NULL
 * with err set on failure. */
struct store_pool *store_pool_open(const char *path, int n, int full_sync, char *err,
    size_t errlen);
/* Closes the pool; every connection must have been returned.  Accepts NULL. */
void          store_pool_close(struct store_pool *p);
struct store *store_pool_get(struct store_pool *p);
void          store_pool_put(struct store_pool *p, struct store *st);

#endif
