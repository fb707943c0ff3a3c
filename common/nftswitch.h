/*
 * nftswitch - the front-end switch of issue 11: an nftables ruleset in a
 * table of its own, rendered from the store.  Library code: moatctl switch
 * calls it today, moat-secmgr will call it in process.
 *
 * The ruleset (one `nft -f` transaction: create, delete, recreate the table,
 * so loading it replaces the old table atomically):
 *   - sets threat4/threat6 (flags interval, timeout): threat_sources of kind
 *     ip and cidr, each element timing out when its row expires (never-
 *     expiring rows have no timeout), plus the addresses threat domains
 *     (domain, suspect_domain) resolve to when rendering, timing out at the
 *     earliest of the row's expiry, the answers' TTL and
 *     switch.resolve_max_ttl;
 *   - sets protected4/6 (the addresses of protected_services) and
 *     services4/6 (address . proto . port of each service);
 *   - chain flood_guard (prerouting, before NAT): new connections to a
 *     protected address over switch.flood_rate/s (burst flood_burst) from
 *     one source are dropped (dynamic sets flood4/flood6, a meter per
 *     source);
 *   - chain decoy_nat (nat prerouting): TCP from a threat source to a
 *     protected address, and TCP to a port of a protected address that no
 *     service uses, is DNATed to a decoy address (numgen inc or jhash over
 *     switch.decoys) and the decoy port of the personality that imitates the
 *     destination port (switch.personalities, else switch.default);
 *   - chain billing (forward): named counters "s<SUB>_<NET>_in|out" per
 *     subscriber_networks row and direction (in: to the network, out: from
 *     it), read by moatctl switch collect.
 *
 * Every value that reaches the text is rebuilt from a parse, never copied:
 * addresses through cidr_canon, ports and ids as integers, names through
 * domain_canon before resolving.  Store rows are operator-typed and hostile:
 * a row that does not parse is skipped with a warning, never written.
 */
#ifndef MOAT_NFTSWITCH_H
#define MOAT_NFTSWITCH_H

#include <stddef.h>
#include <sys/types.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "store.h"

/* The "switch" option group (nftswitch_conf.c). */
struct switch_conf {
	char       *table;          /* nftables table name, family inet */
	char       *decoys;         /* "ADDR ..." decoy addresses */
	char       *decoy_ports;    /* "personality:port ..." */
	char       *personalities;  /* "port:personality ..." for protected ports */
	char       *def;            /* personality of any other port */
	int         balance;        /* 0 numgen (round robin), 1 jhash (per source) */
	long long   flood_rate;     /* new connections/s per source; 0: no guard */
	long long   flood_burst;
	char       *interfaces;     /* NULL: all, else "IF ..." (iifname) */
	long long   resolve_max_ttl;/* seconds */
	char       *nft;            /* the nft program */
};
extern const struct cfg_group switch_cfg_group;

#define NFTSWITCH_MAX_DECOYS  16
#define NFTSWITCH_MAX_PERS    16
#define NFTSWITCH_MAX_PORTMAP 64
#define NFTSWITCH_NAME_MAX    32   /* personality names, interface names */
#define NFTSWITCH_ADDR_MAX    64   /* "addr/len" text */

/* A resolved address: canonical text (no "/len") and its TTL in seconds. */
struct nftswitch_addr {
	char        text[NFTSWITCH_ADDR_MAX];
	int         v6;
	unsigned    ttl;
};

/* Resolves name into at most max addresses.  Returns the count (0: does not
 * resolve), or -1 on error.  nftswitch_resolve is the real one (libresolv
 * answers with their TTL; names only in /etc/hosts through getaddrinfo,
 * with TTL cap). */
typedef int (*nftswitch_resolve_fn)(const char *name, struct nftswitch_addr *out,
    size_t max, unsigned cap, void *arg);
int  nftswitch_resolve(const char *name, struct nftswitch_addr *out, size_t max,
    unsigned cap, void *arg);

/* Receives one warning line (a skipped row, an unresolved name), already
 * free of control characters. */
typedef void (*nftswitch_warn_fn)(void *arg, const char *msg);

struct nftswitch_stats {
	int threats4, threats6;   /* set elements written */
	int names, names_failed;  /* threat domains resolved / not */
	int services, networks;   /* protected services, counted networks */
	int skipped;              /* rows refused */
};

struct nftswitch_ctx {
	const struct switch_conf *conf;
	time_t                    now;
	nftswitch_resolve_fn      resolve;   /* NULL: nftswitch_resolve */
	void                     *resolve_arg;
	nftswitch_warn_fn         warn;      /* NULL: log_warnx */
	void                     *warn_arg;
};

/*
 * Writes the ruleset to out, its rows read from st in one read transaction;
 * threat domains are resolved after it ends (a slow DNS server does not
 * hold the store's snapshot open).
 * Returns 0, or -1 on a store or configuration error (warned).  Rows that
 * do not parse are skipped and warned, never an error.  stats may be NULL.
 */
int  nftswitch_render(struct store *st, const struct nftswitch_ctx *cx, FILE *out,
    struct nftswitch_stats *stats);

/*
 * Renders the ruleset from st and loads it with `sc->nft -f -` (needs
 * CAP_NET_ADMIN); nftswitch_apply.c.  No billing of the old table's
 * counters (moatctl switch apply does that).  0, or -1 with the reason in
 * err.  stats may be NULL.
 */
int  nftswitch_apply(struct store *st, const struct switch_conf *sc,
    struct nftswitch_stats *stats, char *err, size_t errlen);
/* Its two load steps, for callers that must start nft early (moatctl runs
 * it as root before it opens the store): start runs `nft -f -` with a pipe
 * to its input; finish writes rules (len 0: nothing, nft loads nothing),
 * closes the pipe and reaps nft.  0, or -1 with the reason in err.  After a
 * successful start, finish must be called once. */
struct nftswitch_load { pid_t pid; int fd; };
int  nftswitch_load_start(const char *nft, struct nftswitch_load *ld, char *err,
    size_t errlen);
int  nftswitch_load_finish(struct nftswitch_load *ld, const char *nft, const char *rules,
    size_t len, char *err, size_t errlen);

/* Checks the config's lists (decoys, decoy_ports, personalities, default,
 * interfaces, table).  0, or -1 with the reason in err. */
int  nftswitch_conf_check(const struct switch_conf *cf, char *err, size_t errlen);

/* The counter name of a subscriber network: "s<id>_<cidr with . : / as _>_DIR"
 * into buf.  0, or -1 when cidr is not canonical or buf too small. */
int  nftswitch_counter_name(long long sub, const char *cidr, const char *dir,
    char *buf, size_t len);
/* Parses a counter name back: 1 with *sub and *in (1 in, 0 out), 0 when
 * name is not one of the switch's counters. */
int  nftswitch_counter_parse(const char *name, long long *sub, int *in);

#endif
