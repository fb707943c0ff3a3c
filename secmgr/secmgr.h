/*
 * secmgr - moat-secmgr's internal API.
 *
 *   secmgr_life.c     descriptor, hooks (daemon_main), the configuration
 *   secmgr_rules.c    the refcounted rule snapshot loaded from correlation_rules
 *   secmgr_follow.c   the follower: cursor, batches, one transaction per batch
 *   secmgr_respond.c  responses inside that transaction (threat, incident, event)
 *   secmgr_effects.c  what happens after the commit (operator mail, switch),
 *                     and the withdrawal of lapsed threat sources
 *   secmgr_engine.c   the correlation engine (no SQL)
 *
 * Ownership: the daemon has one service thread (the frame's tick); every
 * structure here is that thread's.  The rule snapshot is refcounted so that
 * a reload (rule generation changed, or HUP) swaps it whole while the batch
 * in hand keeps the one it started with.
 */
#ifndef MOAT_SECMGR_H
#define MOAT_SECMGR_H

#include <stdint.h>

#include "daemon.h"
#include "nftswitch.h"
#include "secmgr_conf.h"
#include "secmgr_engine.h"
#include "secmgr_rule.h"
#include "store.h"

struct forensic;

struct secmgr_conf_gen {
	DAEMON_CONF_HEAD;
	struct secmgr_conf s;
	struct switch_conf sw;
};

/* The enabled, valid rules of one rule generation. */
struct secmgr_rules {
	int                 refs;
	int64_t             generation;
	struct secmgr_rule *rules;
	int                 nrules;
	long long           max_window;   /* the longest window: what a start replays */
	int                 sender;       /* a rule keys on sender_domain */
};

/* secmgr_rules.c: loads the snapshot (NULL on a store error, logged);
 * invalid rules are logged and reported as secmgr.rule_invalid events
 * (once per rule text) and left out. */
struct secmgr_rules *secmgr_rules_load(struct store *st);
int64_t  secmgr_rules_generation(struct store *st);      /* -1 on error */
void     secmgr_rules_hold(struct secmgr_rules *r);
void     secmgr_rules_put(struct secmgr_rules *r);        /* accepts NULL */

/* One response to record, copied out of the engine's match. */
struct secmgr_resp {
	const struct secmgr_rule *r;
	char     key[SECMGR_KEY_LEN];
	int64_t  ids[SECMGR_MAX_IDS];
	int      nids;
	int64_t  ts;
	/* filled by secmgr_respond */
	int64_t  incident;
	int      step;                    /* escalation step taken, -1 no threat */
	long long expires;                /* 0: no threat source */
	int      updated;                 /* an open incident was updated */
};

/* secmgr_respond.c: writes a batch's responses rp[0..n) inside the caller's
 * transaction (threat_sources, incidents, a secmgr.response event each) and
 * their forensic records.  Leaves the store as writing them one by one
 * would, with one incident row write and one threat source write per
 * (rule, key).  0, or -1 (logged): the caller rolls back and keeps its
 * cursor. */
int secmgr_respond(struct store *st, struct forensic *fx, struct secmgr_resp *rp, int n,
    time_t now);

/* secmgr_effects.c: after the commit. */
void secmgr_effects(const struct secmgr_conf_gen *c, struct store *st,
    const struct secmgr_resp *rp, int n);
/* Withdraws lapsed secmgr threat sources (own transaction); the number
 * withdrawn, or -1. */
int  secmgr_withdraw(const struct secmgr_conf_gen *c, struct store *st,
    struct forensic *fx, time_t now);

/* secmgr_follow.c */
int  secmgr_follow_start(const struct secmgr_conf_gen *c, char *err, size_t errlen);
void secmgr_follow_tick(void);
void secmgr_follow_reload(void);
void secmgr_follow_stop(void);

#endif
