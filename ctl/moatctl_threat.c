/*
 * moatctl threat: known bad sources (threat_sources).  Operators add and
 * remove them by hand; moat-secmgr adds its own (origin 'secmgr') with an
 * expiry.  Values are validated and canonicalised here the way the policy
 * snapshot reads them: addresses and networks in inet_ntop text, names
 * lower-case without a leading dot (a name always covers its subdomains).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "moatctl.h"
#include "net.h"
#include "units.h"

static const char threat_usage[] =
    "usage: moatctl threat add ip|cidr|domain|suspect_domain VALUE [--reason TEXT]"
    " [--expires 7d|12h|30m|never]\n"
    "       moatctl threat list [--all]\n"
    "       moatctl threat remove ID | remove KIND VALUE\n";

static const char *const threat_kinds[] = { "ip", "cidr", "domain", "suspect_domain", NULL };

static const char sql_threat_add[] =
    "INSERT INTO threat_sources(kind, value, reason, origin, expires) "
    "VALUES (?1, ?2, ?3, 'operator', ?4) "
    "ON CONFLICT(kind, value) DO UPDATE SET reason = excluded.reason, "
    " origin = 'operator', expires = excluded.expires";
static const char sql_threat_exists[] =
    "SELECT id FROM threat_sources WHERE kind = ?1 AND value = ?2";
/* ?1: 'all' for expired entries too. */
static const char sql_threat_list[] =
    "SELECT id, kind, value, origin, reason, datetime(created, 'unixepoch') AS created, "
    " CASE WHEN expires IS NULL THEN 'never' "
    "  ELSE datetime(expires, 'unixepoch') || "
    "   CASE WHEN expires <= CAST(strftime('%s', 'now') AS INTEGER) "
    "    THEN ' (expired)' ELSE '' END END AS expires "
    "FROM threat_sources "
    "WHERE ?1 = 'all' OR expires IS NULL OR expires > CAST(strftime('%s', 'now') AS INTEGER) "
    "ORDER BY kind, value";
static const char sql_threat_rm_id[] = "DELETE FROM threat_sources WHERE id = ?1";
static const char sql_threat_rm_kv[] =
    "DELETE FROM threat_sources WHERE kind = ?1 AND value = ?2";

static int
threat_kind_ok(const char *kind)
{
	for (int i = 0; threat_kinds[i] != NULL; i++)
		if (strcmp(threat_kinds[i], kind) == 0)
			return 1;
	return 0;
}

/* The canonical value of kind, or 1 after printing why it is not one. */
static int
threat_canon(const char *kind, const char *in, char *out, size_t len)
{
	char why[128] = "", *slash;
	enum addr_status as;

	if (strcmp(kind, "ip") == 0 || strcmp(kind, "cidr") == 0) {
		if (cidr_canon(in, out, len, why, sizeof(why)) == -1)
			return ctl_err("'%s' is not a valid %s%s", in,
			    kind[0] == 'i' ? "address" : "network", why);
		slash = strrchr(out, '/');
		if (strcmp(kind, "ip") == 0) {
			/* One address, stored bare as the snapshot expects. */
			if (strchr(in, '/') != NULL && strcmp(slash + 1,
			    strchr(out, ':') != NULL ? "128" : "32") != 0)
				return ctl_err("'%s' is a network; use kind cidr", in);
			*slash = '\0';
		}
		return 0;
	}
	if (in[0] == '.')
		in++;           /* a name covers its subdomains anyway */
	/* The form the milter compares (net.h): U-labels as A-labels. */
	if ((as = domain_canon(in, out, len, 0)) != ADDR_OK)
		return ctl_err("'%s' is not a valid domain name (%s)", in, addr_status_text(as));
	return 0;
}

static int
threat_add(struct ctl *ctl, int argc, char **argv)
{
	const char *kind = argv[0], *reason = NULL, *expires = NULL, *for_text;
	char value[300], exp[32];
	long long secs, id;
	int st, existed;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			reason = argv[++i];
		else if (strcmp(argv[i], "--expires") == 0 && i + 1 < argc)
			expires = argv[++i];
		else
			return ctl_usage(threat_usage);
	}
	if (!threat_kind_ok(kind))
		return ctl_err("unknown threat kind '%s' (kinds: ip, cidr, domain, "
		    "suspect_domain)", kind);
	if (threat_canon(kind, argv[1], value, sizeof(value)) != 0)
		return 1;
	for_text = expires;
	if (expires != NULL && strcmp(expires, "never") != 0) {
		/* Bounded: time(NULL) + secs must not overflow. */
		if (parse_duration(expires, &secs) == -1 || secs <= 0 ||
		    secs > 100LL * 366 * 86400)
			return ctl_err("bad expiry '%s' (a duration like 30m, 12h, 7d, 2w, "
			    "or never)", expires);
		snprintf(exp, sizeof(exp), "%lld", (long long)time(NULL) + secs);
		expires = exp;
	} else
		expires = NULL;

	const char *a[] = { kind, value, reason, expires };
	if ((st = ctl_begin(ctl)) != 0)
		return st;
	if ((existed = ctl_query_int(ctl, sql_threat_exists, 2, a, &id)) < 0)
		st = 1;
	else if (ctl_exec(ctl, sql_threat_add, 4, a) != 1)
		st = 1;
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "threat %s %s %s%s%s", kind, value, existed ? "updated" : "added",
		    expires != NULL ? ", expires in " : "", expires != NULL ? for_text : "");
	return st;
}

static int
threat_remove(struct ctl *ctl, int argc, char **argv)
{
	char value[300], *end;
	int st, n;

	if (argc == 1) {
		const char *a[] = { argv[0] };
		if (strtoll(argv[0], &end, 10) <= 0 || *end != '\0')
			return ctl_err("'%s' is not a threat id (or give KIND VALUE)", argv[0]);
		if ((st = ctl_begin(ctl)) != 0)
			return st;
		if ((n = ctl_exec(ctl, sql_threat_rm_id, 1, a)) == 0)
			st = ctl_err("no threat source with id %s", argv[0]);
		else if (n < 0)
			st = 1;
	} else {
		const char *a[] = { argv[0], value };
		if (!threat_kind_ok(argv[0]))
			return ctl_err("unknown threat kind '%s' (kinds: ip, cidr, domain, "
			    "suspect_domain)", argv[0]);
		if (threat_canon(argv[0], argv[1], value, sizeof(value)) != 0)
			return 1;
		if ((st = ctl_begin(ctl)) != 0)
			return st;
		if ((n = ctl_exec(ctl, sql_threat_rm_kv, 2, a)) == 0)
			st = ctl_err("no threat source %s %s", argv[0], value);
		else if (n < 0)
			st = 1;
	}
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "threat source removed");
	return st;
}

int
moatctl_threat(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage(threat_usage);
	if (strcmp(argv[0], "list") == 0 && argc <= 2) {
		const char *a[] = { "current" };
		if (argc == 2) {
			if (strcmp(argv[1], "--all") != 0)
				return ctl_usage(threat_usage);
			a[0] = "all";
		}
		return ctl_print(ctl, CTL_TABLE, sql_threat_list, 1, a);
	}
	if (strcmp(argv[0], "add") == 0 && argc >= 3)
		return threat_add(ctl, argc - 1, argv + 1);
	if (strcmp(argv[0], "remove") == 0 && (argc == 2 || argc == 3))
		return threat_remove(ctl, argc - 1, argv + 1);
	return ctl_usage(threat_usage);
}
