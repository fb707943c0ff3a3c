/* The "switch" option group (see nftswitch.h).  Read by moatctl switch and
 * (later) moat-secmgr; every list is checked at load by nftswitch_conf_check,
 * the same parser the renderer uses, so `moatctl config check` finds a bad
 * decoy address with file:line. */
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "nftswitch.h"

static const char *const switch_balance[] = { "numgen", "jhash", NULL };

static int
switch_check_group(const void *vals, char *err, size_t errlen)
{
	return nftswitch_conf_check(vals, err, errlen);
}

#define S(f) offsetof(struct switch_conf, f)
static const struct cfg_opt switch_opts[] = {
	{ "table", CFG_STR, "moat", 0, -1, NULL, S(table),
	  "The nftables table (family inet) the switch owns: apply replaces it "
	  "whole, nothing else is touched.  Letters, digits and _, up to 32.", NULL, 0 },
	{ "decoys", CFG_STR, NULL, 0, -1, NULL, S(decoys),
	  "Decoy addresses, space-separated (IPv4 and/or IPv6, up to 16); new "
	  "connections are spread over the addresses of their family.  Unset: no "
	  "redirection (sets, flood guard and counters only).", NULL, 0 },
	{ "decoy_ports", CFG_STR, "telnet:2323 ftp:2121 http:8080 smtp:2525 subseven:27374",
	  0, -1, NULL, S(decoy_ports),
	  "The decoys' port of each personality, \"personality:port ...\".", NULL, 0 },
	{ "personalities", CFG_STR,
	  "23:telnet 21:ftp 80:http 443:http 8080:http 25:smtp 587:smtp 27374:subseven",
	  0, -1, NULL, S(personalities),
	  "Which personality answers for a protected port, \"port:personality ...\".", NULL, 0 },
	{ "default", CFG_STR, "http", 0, -1, NULL, S(def),
	  "The personality of any other port.", NULL, 0 },
	{ "balance", CFG_ENUM, "numgen", 0, 0, switch_balance, S(balance),
	  "numgen: new connections take the decoys in turn; jhash: a source "
	  "always lands on the same decoy.", NULL, 0 },
	{ "flood_rate", CFG_INT, "50", 0, 1000000, NULL, S(flood_rate),
	  "New connections per second from one source to protected addresses "
	  "beyond which its new connections are dropped.  0: no flood guard.", NULL, 0 },
	{ "flood_burst", CFG_INT, "100", 1, 1000000, NULL, S(flood_burst),
	  "Burst allowed above flood_rate.", NULL, 0 },
	{ "interfaces", CFG_STR, NULL, 0, -1, NULL, S(interfaces),
	  "Input interfaces the switch acts on, space-separated.  Unset: all.", NULL, 0 },
	{ "resolve_max_ttl", CFG_DURATION, "1h", 1, 7 * 86400, NULL, S(resolve_max_ttl),
	  "Longest kernel timeout of an address a threat domain resolved to (the "
	  "answer's TTL is used when shorter; names found only in /etc/hosts get "
	  "this).", NULL, 0 },
	{ "nft", CFG_STR, "/usr/sbin/nft", 0, -1, NULL, S(nft),
	  "The nft program.", cfg_check_abspath, 0 },
	{ .name = NULL }
};

const struct cfg_group switch_cfg_group = {
	"switch",
	"The front-end switch (moatctl switch render|apply|diff|collect): an "
	"nftables table sending threat sources and unused ports to decoys, "
	"guarding against floods and counting subscribers' traffic.",
	switch_opts,
	switch_check_group,
};
