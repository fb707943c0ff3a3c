/*
 * secmgr_rule - one correlation_rules row, parsed and checked: the parser
 * both moat-secmgr (before it loads a rule) and `moatctl rules add` (before
 * it stores one) run, so a rule means the same to both.  The JSON texts are
 * documented in docs/SECMGR.md.
 *
 * Rows are operator-typed and hostile: every string and number is bounded;
 * a rule that breaks a bound is refused with a reason, never truncated.
 */
#ifndef MOAT_SECMGR_RULE_H
#define MOAT_SECMGR_RULE_H

#include <stddef.h>
#include <stdint.h>

#define SECMGR_MAX_KINDS   16        /* kinds named by one rule */
#define SECMGR_KIND_LEN    64        /* an event kind's name, with the NUL */
#define SECMGR_NAME_LEN    64
#define SECMGR_MAX_COUNT   100       /* threshold: events counted (ids kept) */
#define SECMGR_MAX_M       16        /* multi: distinct kinds or daemons */
#define SECMGR_MAX_STEPS   3
#define SECMGR_MAX_EXPIRY  8         /* escalation steps */
#define SECMGR_MAX_WINDOW  (7 * 86400LL)
#define SECMGR_MAX_EXPIRE  (365 * 86400LL)

enum secmgr_rule_kind { SECMGR_THRESHOLD, SECMGR_MULTI, SECMGR_SEQUENCE };
enum secmgr_key { SECMGR_KEY_SRC_IP, SECMGR_KEY_SRC_NET, SECMGR_KEY_SUBSCRIBER,
	SECMGR_KEY_SENDER_DOMAIN };

struct secmgr_rule {
	int64_t                 id;
	char                    name[SECMGR_NAME_LEN];
	enum secmgr_rule_kind   kind;
	enum secmgr_key         key;
	/* threshold: kinds counted; multi: kinds that count (0: any kind);
	 * sequence: the steps, in order. */
	char                    kinds[SECMGR_MAX_KINDS][SECMGR_KIND_LEN];
	int                     nkinds;
	int                     count;        /* threshold: N */
	int                     min_kinds;    /* multi: M distinct kinds, or */
	int                     min_daemons;  /* multi: M distinct daemons (one is 0) */
	long long               window;       /* seconds */
	/* response */
	long long               expiry[SECMGR_MAX_EXPIRY]; /* escalation, seconds */
	int                     nexpiry;      /* 0: no threat source */
	int                     sw;           /* re-apply the switch */
	int                     mail;         /* tell the operator */
	int                     incident;     /* an open incident for a human */
};

/* The names of the kinds and keys, as the JSON and moatctl spell them. */
const char *secmgr_rule_kind_name(enum secmgr_rule_kind k);
const char *secmgr_key_name(enum secmgr_key k);

/*
 * Parses a rule: kind ("threshold" | "multi" | "sequence"), params_json and
 * response_json as stored.  Returns 0 with *r filled (id and name left as
 * they were), or -1 with the reason in err.  Unknown members are refused
 * (a typo must not silently widen a rule).
 */
int secmgr_rule_parse(const char *kind, const char *params, const char *response,
    struct secmgr_rule *r, char *err, size_t errlen);

#endif
