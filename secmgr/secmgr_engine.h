/*
 * secmgr_engine - the correlation engine: events in, matches out, no SQL and
 * no clock of its own (windows are measured on the events' ts, so a replay
 * after a restart rebuilds the same state).
 *
 * State: one hash table keyed by (rule, key); an entry holds what its rule
 * needs about one key (threshold: the last N (ts, id); multi: up to 16
 * distinct kinds or daemons with their last (ts, id); sequence: the step
 * reached).  Each rule keeps its entries in least-recently-used order;
 * entries idle longer than the rule's window are dropped as events pass,
 * and a rule holding engine->max_keys entries evicts its oldest (said once
 * per rule), so memory is bounded by windows and caps, never by the stream.
 *
 * Ownership: the engine copies the rules it is given; events and matches
 * are the caller's (a match is valid during the emit call only).
 * One thread.
 */
#ifndef MOAT_SECMGR_ENGINE_H
#define MOAT_SECMGR_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "secmgr_rule.h"

#define SECMGR_KEY_LEN  256          /* a key's text, with the NUL */
#define SECMGR_MAX_IDS  SECMGR_MAX_COUNT

/* One event as the follower read it; strings NUL-terminated, NULL absent. */
struct secmgr_event {
	int64_t     id;
	int64_t     ts;
	const char *kind;
	const char *daemon;
	int64_t     subscriber_id;    /* 0 none */
	const char *src_ip;           /* as stored; parsed here */
	const char *sender_domain;    /* lower-case domain, or NULL */
};

/* A rule completed for a key: the events that did it, oldest first. */
struct secmgr_match {
	int         rule;             /* index into the engine's rules */
	const struct secmgr_rule *r;
	const char *key;              /* "192.0.2.1", "192.0.2.0/24", "subscriber:3", "example.net" */
	int64_t     ts;               /* the completing event's */
	int64_t     ids[SECMGR_MAX_IDS];
	int         nids;
};

typedef void (*secmgr_emit_fn)(void *arg, const struct secmgr_match *m);

struct secmgr_engine;

/* A new engine over a copy of rules[0..nrules); max_keys per rule (>= 1).
 * NULL when out of memory. */
struct secmgr_engine *secmgr_engine_new(const struct secmgr_rule *rules, int nrules,
    size_t max_keys);
/* Feeds one event; emit is called for every match it completes. */
void   secmgr_engine_feed(struct secmgr_engine *e, const struct secmgr_event *ev,
    secmgr_emit_fn emit, void *arg);
/* Drops every entry idle longer than its rule's window before now (ts). */
void   secmgr_engine_sweep(struct secmgr_engine *e, int64_t now);
/* Entries held (all rules, or rule >= 0 only). */
size_t secmgr_engine_keys(const struct secmgr_engine *e, int rule);
/* Entries rule evicted because it held max_keys. */
uint64_t secmgr_engine_evicted(const struct secmgr_engine *e, int rule);
/* The key text of an event for a key kind into buf: 1, or 0 when the event
 * has none (no or malformed address, no subscriber, no sender domain). */
int    secmgr_engine_key(const struct secmgr_event *ev, enum secmgr_key k, char *buf,
    size_t len);
/* Accepts NULL. */
void   secmgr_engine_free(struct secmgr_engine *e);

#endif
