/* secmgr_engine - the correlation engine (secmgr_engine.h). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "secmgr_engine.h"

/* What an entry remembers of one event. */
struct eslot {
	int64_t         ts, id;        /* id 0: empty */
	uint64_t        tag;           /* multi: hash of the kind or daemon */
};

struct entry {
	struct entry   *hnext;         /* hash chain */
	struct entry   *older, *newer; /* the rule's LRU list */
	uint64_t        hash;
	int             rule;
	int64_t         last;          /* ts of the last event that touched it */
	int             n, head;       /* threshold: slots used, next slot */
	char           *key;           /* after the slots, same allocation */
	struct eslot    s[];
};

/* The rules that name a kind, and the kind's place in each (sequence step). */
struct kref { int rule, pos; };
struct kindent {
	char           *kind;          /* NULL: free bucket */
	uint64_t        hash;
	struct kref    *refs;
	int             nrefs;
};

struct rstate {
	struct secmgr_rule r;
	struct entry   *oldest, *newest;
	size_t          nkeys;
	uint64_t        evicted;
	int             nslots;
	int             any;           /* multi without kinds: every kind counts */
};

struct secmgr_engine {
	struct rstate  *rules;
	int             nrules;
	int            *anyrules;      /* indexes of rules with any */
	int             nany;
	size_t          max_keys;
	struct entry  **tab;           /* buckets, power of two */
	size_t          tabsize, count;
	struct kindent *kinds;         /* open addressing, power of two */
	size_t          kindsize;
};

static uint64_t
eng_hash(const char *s, uint64_t h)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV0 0xcbf29ce484222325ULL

static struct kindent *
eng_kind(const struct secmgr_engine *e, const char *kind, uint64_t h)
{
	size_t i = h & (e->kindsize - 1);

	while (e->kinds[i].kind != NULL) {
		if (e->kinds[i].hash == h && strcmp(e->kinds[i].kind, kind) == 0)
			return &e->kinds[i];
		i = (i + 1) & (e->kindsize - 1);
	}
	return &e->kinds[i];
}

static int
eng_kind_add(struct secmgr_engine *e, const char *kind, int rule, int pos)
{
	uint64_t h = eng_hash(kind, FNV0);
	struct kindent *k = eng_kind(e, kind, h);
	struct kref *nr;

	if (k->kind == NULL) {
		if ((k->kind = strdup(kind)) == NULL)
			return -1;
		k->hash = h;
	}
	if ((nr = realloc(k->refs, (k->nrefs + 1) * sizeof(*nr))) == NULL)
		return -1;
	k->refs = nr;
	k->refs[k->nrefs].rule = rule;
	k->refs[k->nrefs++].pos = pos;
	return 0;
}

struct secmgr_engine *
secmgr_engine_new(const struct secmgr_rule *rules, int nrules, size_t max_keys)
{
	struct secmgr_engine *e;
	size_t nk = 16;
	int i, j;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->max_keys = max_keys > 0 ? max_keys : 1;
	e->nrules = nrules;
	for (i = 0; i < nrules; i++)
		nk += rules[i].nkinds;
	for (e->kindsize = 16; e->kindsize < nk * 2; e->kindsize *= 2)
		;
	e->tabsize = 1024;
	if ((e->rules = calloc(nrules > 0 ? nrules : 1, sizeof(*e->rules))) == NULL ||
	    (e->anyrules = calloc(nrules > 0 ? nrules : 1, sizeof(int))) == NULL ||
	    (e->kinds = calloc(e->kindsize, sizeof(*e->kinds))) == NULL ||
	    (e->tab = calloc(e->tabsize, sizeof(*e->tab))) == NULL)
		goto fail;
	for (i = 0; i < nrules; i++) {
		struct rstate *rs = &e->rules[i];

		rs->r = rules[i];
		switch (rs->r.kind) {
		case SECMGR_THRESHOLD:
			rs->nslots = rs->r.count;
			break;
		case SECMGR_MULTI:
			rs->nslots = SECMGR_MAX_M;
			rs->any = rs->r.nkinds == 0;
			break;
		case SECMGR_SEQUENCE:
			rs->nslots = rs->r.nkinds;
			break;
		}
		if (rs->any)
			e->anyrules[e->nany++] = i;
		for (j = 0; j < rs->r.nkinds; j++)
			if (eng_kind_add(e, rs->r.kinds[j], i, j) == -1)
				goto fail;
	}
	return e;
fail:
	secmgr_engine_free(e);
	return NULL;
}

/* --- keys --------------------------------------------------------------- */

int
secmgr_engine_key(const struct secmgr_event *ev, enum secmgr_key k, char *buf, size_t len)
{
	unsigned char a[16];
	char t[INET6_ADDRSTRLEN];
	int v6;

	switch (k) {
	case SECMGR_KEY_SRC_IP:
	case SECMGR_KEY_SRC_NET:
		if (ev->src_ip == NULL)
			return 0;
		if (inet_pton(AF_INET, ev->src_ip, a) == 1)
			v6 = 0;
		else if (inet_pton(AF_INET6, ev->src_ip, a) == 1)
			v6 = 1;
		else
			return 0;
		if (k == SECMGR_KEY_SRC_NET) {
			if (v6)
				memset(a + 8, 0, 8);
			else
				a[3] = 0;
		}
		if (inet_ntop(v6 ? AF_INET6 : AF_INET, a, t, sizeof(t)) == NULL)
			return 0;
		if (k == SECMGR_KEY_SRC_NET)
			return snprintf(buf, len, "%s/%d", t, v6 ? 64 : 24) < (int)len;
		return snprintf(buf, len, "%s", t) < (int)len;
	case SECMGR_KEY_SUBSCRIBER:
		if (ev->subscriber_id <= 0)
			return 0;
		return snprintf(buf, len, "subscriber:%" PRId64, ev->subscriber_id) < (int)len;
	case SECMGR_KEY_SENDER_DOMAIN:
		if (ev->sender_domain == NULL || ev->sender_domain[0] == '\0')
			return 0;
		return snprintf(buf, len, "%s", ev->sender_domain) < (int)len;
	}
	return 0;
}

/* --- entries ------------------------------------------------------------ */

static void
eng_unlink(struct secmgr_engine *e, struct entry *x)
{
	struct rstate *rs = &e->rules[x->rule];
	struct entry **pp;

	for (pp = &e->tab[x->hash & (e->tabsize - 1)]; *pp != x; pp = &(*pp)->hnext)
		;
	*pp = x->hnext;
	if (x->older != NULL)
		x->older->newer = x->newer;
	else
		rs->oldest = x->newer;
	if (x->newer != NULL)
		x->newer->older = x->older;
	else
		rs->newest = x->older;
	rs->nkeys--;
	e->count--;
	free(x);
}

static void
eng_touch(struct rstate *rs, struct entry *x, int linked)
{
	if (linked) {
		if (rs->newest == x)
			return;
		if (x->older != NULL)
			x->older->newer = x->newer;
		else
			rs->oldest = x->newer;
		x->newer->older = x->older;
	}
	x->older = rs->newest;
	x->newer = NULL;
	if (rs->newest != NULL)
		rs->newest->newer = x;
	else
		rs->oldest = x;
	rs->newest = x;
}

static void
eng_grow(struct secmgr_engine *e)
{
	size_t n = e->tabsize * 2, i;
	struct entry **t, *x, *next;

	if ((t = calloc(n, sizeof(*t))) == NULL)
		return;                 /* longer chains, still correct */
	for (i = 0; i < e->tabsize; i++)
		for (x = e->tab[i]; x != NULL; x = next) {
			next = x->hnext;
			x->hnext = t[x->hash & (n - 1)];
			t[x->hash & (n - 1)] = x;
		}
	free(e->tab);
	e->tab = t;
	e->tabsize = n;
}

/* The entry of (rule, key), made when absent; NULL when out of memory. */
static struct entry *
eng_entry(struct secmgr_engine *e, int rule, const char *key)
{
	struct rstate *rs = &e->rules[rule];
	uint64_t h = eng_hash(key, FNV0 ^ ((uint64_t)rule * 0x9e3779b97f4a7c15ULL));
	struct entry *x;
	size_t klen;

	for (x = e->tab[h & (e->tabsize - 1)]; x != NULL; x = x->hnext)
		if (x->hash == h && x->rule == rule && strcmp(x->key, key) == 0) {
			eng_touch(rs, x, 1);
			return x;
		}
	if (rs->nkeys >= e->max_keys) {
		if (rs->evicted++ == 0)
			log_warnx("rule %s: more than %zu keys within its window (a rule "
			    "that matches nearly everything?): the oldest are dropped "
			    "(said once)", rs->r.name, e->max_keys);
		eng_unlink(e, rs->oldest);
	}
	klen = strlen(key) + 1;
	if ((x = calloc(1, sizeof(*x) + rs->nslots * sizeof(struct eslot) + klen)) == NULL)
		return NULL;
	x->key = (char *)(x->s + rs->nslots);
	memcpy(x->key, key, klen);
	x->hash = h;
	x->rule = rule;
	x->hnext = e->tab[h & (e->tabsize - 1)];
	e->tab[h & (e->tabsize - 1)] = x;
	eng_touch(rs, x, 0);
	rs->nkeys++;
	if (++e->count > e->tabsize * 2)
		eng_grow(e);
	return x;
}

/* Drops the rule's entries idle past its window before now (oldest first). */
static void
eng_expire(struct secmgr_engine *e, int rule, int64_t now)
{
	struct rstate *rs = &e->rules[rule];

	while (rs->oldest != NULL && now - rs->oldest->last > rs->r.window)
		eng_unlink(e, rs->oldest);
}

void
secmgr_engine_sweep(struct secmgr_engine *e, int64_t now)
{
	for (int i = 0; i < e->nrules; i++)
		eng_expire(e, i, now);
}

/* --- rules -------------------------------------------------------------- */

static void
eng_emit(struct rstate *rs, int rule, struct entry *x, int64_t ts, const struct eslot *s,
    int n, secmgr_emit_fn emit, void *arg)
{
	struct secmgr_match m;
	int i, j;

	m.rule = rule;
	m.r = &rs->r;
	m.key = x->key;
	m.ts = ts;
	m.nids = 0;
	for (i = 0; i < n && m.nids < SECMGR_MAX_IDS; i++)
		if (s[i].id != 0)
			m.ids[m.nids++] = s[i].id;
	/* oldest first: the ids are rowids, so order by id */
	for (i = 1; i < m.nids; i++)
		for (j = i; j > 0 && m.ids[j - 1] > m.ids[j]; j--) {
			int64_t t = m.ids[j];
			m.ids[j] = m.ids[j - 1];
			m.ids[j - 1] = t;
		}
	emit(arg, &m);
}

static void
eng_threshold(struct rstate *rs, int rule, struct entry *x, const struct secmgr_event *ev,
    secmgr_emit_fn emit, void *arg)
{
	int i, live = 0, N = rs->r.count;

	x->s[x->head].ts = ev->ts;
	x->s[x->head].id = ev->id;
	x->head = (x->head + 1) % N;
	if (x->n < N)
		x->n++;
	for (i = 0; i < N; i++)
		if (x->s[i].id != 0 && ev->ts - x->s[i].ts <= rs->r.window &&
		    x->s[i].ts - ev->ts <= rs->r.window)
			live++;
		else
			x->s[i].id = 0;     /* out of the window: forgotten */
	if (live >= N) {
		eng_emit(rs, rule, x, ev->ts, x->s, N, emit, arg);
		memset(x->s, 0, N * sizeof(x->s[0]));
		x->n = x->head = 0;
	}
}

static void
eng_multi(struct rstate *rs, int rule, struct entry *x, const struct secmgr_event *ev,
    secmgr_emit_fn emit, void *arg)
{
	uint64_t tag = eng_hash(rs->r.min_daemons > 0 ? (ev->daemon ? ev->daemon : "") :
	    ev->kind, FNV0);
	int i, slot = -1, live = 0, M = rs->r.min_kinds > 0 ? rs->r.min_kinds :
	    rs->r.min_daemons;

	for (i = 0; i < SECMGR_MAX_M; i++) {
		if (x->s[i].id != 0 && ev->ts - x->s[i].ts > rs->r.window)
			x->s[i].id = 0;
		if (x->s[i].id != 0 && x->s[i].tag == tag)
			slot = i;
	}
	if (slot == -1)                 /* a free slot, else the oldest */
		for (i = 0; i < SECMGR_MAX_M; i++)
			if (slot == -1 || x->s[i].id == 0 ||
			    (x->s[slot].id != 0 && x->s[i].ts < x->s[slot].ts)) {
				slot = i;
				if (x->s[i].id == 0)
					break;
			}
	x->s[slot].ts = ev->ts;
	x->s[slot].id = ev->id;
	x->s[slot].tag = tag;
	for (i = 0; i < SECMGR_MAX_M; i++)
		live += x->s[i].id != 0;
	if (live >= M) {
		eng_emit(rs, rule, x, ev->ts, x->s, SECMGR_MAX_M, emit, arg);
		memset(x->s, 0, SECMGR_MAX_M * sizeof(x->s[0]));
	}
}

static void
eng_sequence(struct rstate *rs, int rule, struct entry *x, const struct secmgr_event *ev,
    int pos, secmgr_emit_fn emit, void *arg)
{
	int n = rs->r.nkinds, i;

	if (x->s[0].id != 0 && ev->ts - x->s[0].ts > rs->r.window)
		memset(x->s, 0, n * sizeof(x->s[0]));      /* the chain lapsed */
	if (pos == 0) {
		/* A fresh first step, unless a chain is under way. */
		if (n < 3 || x->s[1].id == 0) {
			x->s[0].ts = ev->ts;
			x->s[0].id = ev->id;
		}
		return;
	}
	if (x->s[pos - 1].id == 0)
		return;                 /* out of order: not this step yet */
	x->s[pos].ts = ev->ts;
	x->s[pos].id = ev->id;
	if (pos == n - 1) {
		eng_emit(rs, rule, x, ev->ts, x->s, n, emit, arg);
		memset(x->s, 0, n * sizeof(x->s[0]));
	}
	for (i = pos + 1; i < n; i++)
		x->s[i].id = 0;
}

/* Feeds ev to one rule (pos: the kind's place in the rule's list). */
static void
eng_rule(struct secmgr_engine *e, int rule, int pos, const struct secmgr_event *ev,
    char keys[][SECMGR_KEY_LEN], int *have, secmgr_emit_fn emit, void *arg)
{
	struct rstate *rs = &e->rules[rule];
	enum secmgr_key k = rs->r.key;
	struct entry *x;

	if (have[k] == 0)
		have[k] = secmgr_engine_key(ev, k, keys[k], SECMGR_KEY_LEN) ? 1 : -1;
	if (have[k] != 1)
		return;
	eng_expire(e, rule, ev->ts);
	if ((x = eng_entry(e, rule, keys[k])) == NULL) {
		log_warnx("rule %s: out of memory: event %" PRId64 " not counted",
		    rs->r.name, ev->id);
		return;
	}
	x->last = ev->ts;
	switch (rs->r.kind) {
	case SECMGR_THRESHOLD:
		eng_threshold(rs, rule, x, ev, emit, arg);
		break;
	case SECMGR_MULTI:
		eng_multi(rs, rule, x, ev, emit, arg);
		break;
	case SECMGR_SEQUENCE:
		eng_sequence(rs, rule, x, ev, pos, emit, arg);
		break;
	}
}

void
secmgr_engine_feed(struct secmgr_engine *e, const struct secmgr_event *ev,
    secmgr_emit_fn emit, void *arg)
{
	char keys[4][SECMGR_KEY_LEN];
	int have[4] = { 0, 0, 0, 0 }, i;
	struct kindent *k;

	if (ev->kind == NULL)
		return;
	k = eng_kind(e, ev->kind, eng_hash(ev->kind, FNV0));
	if (k->kind != NULL)
		for (i = 0; i < k->nrefs; i++)
			eng_rule(e, k->refs[i].rule, k->refs[i].pos, ev, keys, have, emit, arg);
	/* Rules of any kind do not count secmgr's own events (its responses
	 * would feed back into them); a rule that names a secmgr kind does. */
	if (ev->daemon != NULL && strcmp(ev->daemon, "secmgr") == 0)
		return;
	for (i = 0; i < e->nany; i++)
		eng_rule(e, e->anyrules[i], 0, ev, keys, have, emit, arg);
}

size_t
secmgr_engine_keys(const struct secmgr_engine *e, int rule)
{
	return rule < 0 ? e->count : e->rules[rule].nkeys;
}

uint64_t
secmgr_engine_evicted(const struct secmgr_engine *e, int rule)
{
	return e->rules[rule].evicted;
}

void
secmgr_engine_free(struct secmgr_engine *e)
{
	struct entry *x, *next;
	size_t i;

	if (e == NULL)
		return;
	if (e->tab != NULL)
		for (i = 0; i < e->tabsize; i++)
			for (x = e->tab[i]; x != NULL; x = next) {
				next = x->hnext;
				free(x);
			}
	if (e->kinds != NULL)
		for (i = 0; i < e->kindsize; i++) {
			free(e->kinds[i].kind);
			free(e->kinds[i].refs);
		}
	free(e->tab);
	free(e->kinds);
	free(e->rules);
	free(e->anyrules);
	free(e);
}
