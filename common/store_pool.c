/* A pool of store connections (see store_pool.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "store.h"
#include "store_pool.h"

struct store_pool {
	pthread_mutex_t   lock;
	pthread_cond_t    cond;
	struct store    **free;
	int               nfree, n;
};

struct store_pool *
store_pool_open(const char *path, int n, int full_sync, char *err, size_t errlen)
{
	struct store_pool *p;
	struct store *st;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->free = calloc((size_t)n, sizeof(*p->free))) == NULL) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	for (int i = 0; i < n; i++) {
		if (store_open(path, 0, 10000, &st, err, errlen) == -1) {
			store_pool_close(p);
			return NULL;
		}
		if (full_sync && sqlite3_exec(st->db, "PRAGMA synchronous = FULL", NULL, NULL,
		    NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: synchronous=FULL: %s", path,
			    sqlite3_errmsg(st->db));
			store_close(st);
			store_pool_close(p);
			return NULL;
		}
		p->free[p->nfree++] = st;
		p->n++;
	}
	return p;
}

void
store_pool_close(struct store_pool *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->nfree; i++)
		store_close(p->free[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->free);
	free(p);
}

struct store *
store_pool_get(struct store_pool *p)
{
	struct store *st;

	pthread_mutex_lock(&p->lock);
	while (p->nfree == 0)
		pthread_cond_wait(&p->cond, &p->lock);
	st = p->free[--p->nfree];
	pthread_mutex_unlock(&p->lock);
	return st;
}

void
store_pool_put(struct store_pool *p, struct store *st)
{
	pthread_mutex_lock(&p->lock);
	p->free[p->nfree++] = st;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}
