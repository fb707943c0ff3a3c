/* moatctl threat: known bad sources the milter (and the switch) act on. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "moatctl.h"
#include "net.h"

static const char thr_usage[] =
    "usage: moatctl threat add ip|cidr|domain|suspect_domain VALUE [--reason TEXT]"
    " [--expires 7d|never]\n"
    "       moatctl threat list [--all] | remove ID | remove KIND VALUE\n";

static const char sql_thr_add[] =
    "INSERT INTO threat_sources(kind, value, reason, origin, expires) "
    "VALUES (?1, ?2, ?3, 'operator', ?4) "
    "ON CONFLICT(kind, value) DO UPDATE SET reason = excluded.reason, "
    "expires = excluded.expires, origin = 'operator'";
static const char sql_thr_list[] =
    "SELECT id, kind, value, origin, reason, datetime(created, 'unixepoch') AS created, "
    " CASE WHEN expires IS NULL THEN 'never' ELSE datetime(expires, 'unixepoch') END AS expires "
    "FROM threat_sources WHERE ?1 IS NOT NULL OR expires IS NULL "
    " OR expires > strftime('%s', 'now') ORDER BY kind, value";
static const char sql_thr_rm_id[] = "DELETE FROM threat_sources WHERE id = ?1";
static const char sql_thr_rm_kv[] = "DELETE FROM threat_sources WHERE kind = ?1 AND value = ?2";

/* Validates value for kind; canonical form into out. */
static int
thr_canon(const char *kind, const char *value, char *out, size_t len)
{
	unsigned char addr[16];
	int ok = 0;

	if (strlen(value) >= len)
		return -1;
	if (strcmp(kind, "ip") == 0)
		ok = inet_pton(AF_INET, value, addr) == 1 || inet_pton(AF_INET6, value, addr) == 1;
	else if (strcmp(kind, "cidr") == 0) {
		struct cidrset *c = cidrset_new();
		ok = c != NULL && strchr(value, '/') != NULL && cidrset_add(c, value, NULL) == 0;
		cidrset_free(c);
	} else if (strcmp(kind, "domain") == 0 || strcmp(kind, "suspect_domain") == 0) {
		struct domset *d = domset_new();
		ok = d != NULL && *value != '.' && domset_add(d, value, NULL) == 0;
		domset_free(d);
	} else
		return -2;
	if (!ok)
		return -1;
	for (size_t i = 0; i <= strlen(value); i++)
		out[i] = (char)(value[i] >= 'A' && value[i] <= 'Z' ? value[i] + 32 : value[i]);
	return 0;
}

static int
thr_add(struct ctl *ctl, int argc, char **argv)
{
	char val[300], exp[32];
	const char *reason = NULL, *expires = NULL;
	int st, rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			reason = argv[++i];
		else if (strcmp(argv[i], "--expires") == 0 && i + 1 < argc) {
			long long d;
			if (strcmp(argv[++i], "never") == 0)
				continue;
			if ((d = ctl_parse_duration(argv[i])) <= 0)
				return ctl_err("bad expiry '%s' (like 7d, 12h, 30m or never)", argv[i]);
			snprintf(exp, sizeof(exp), "%lld", (long long)time(NULL) + d);
			expires = exp;
		} else
			return ctl_usage(thr_usage);
	}
	if ((rc = thr_canon(argv[0], argv[1], val, sizeof(val))) == -2)
		return ctl_err("unknown threat kind '%s' (ip, cidr, domain, suspect_domain)",
		    argv[0]);
	if (rc == -1)
		return ctl_err("'%s' is not a valid %s", argv[1], argv[0]);
	if ((st = ctl_begin(ctl)) != 0)
		return st;
	const char *a[] = { argv[0], val, reason, expires };
	st = ctl_exec(ctl, sql_thr_add, 4, a) < 0;
	if ((st = ctl_end(ctl, st)) == 0 && !ctl->quiet)
		printf("threat %s %s recorded\n", argv[0], val);
	return st;
}

int
moatctl_threat(struct ctl *ctl, int argc, char **argv)
{
	int st, n;

	if (argc >= 1 && strcmp(argv[0], "list") == 0 && argc <= 2) {
		if (argc == 2 && strcmp(argv[1], "--all") != 0)
			return ctl_usage(thr_usage);
		const char *a[] = { argc == 2 ? "all" : NULL };
		return ctl_print_query(ctl, sql_thr_list, 1, a);
	}
	if (argc >= 3 && strcmp(argv[0], "add") == 0)
		return thr_add(ctl, argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[0], "remove") == 0) {
		char *end;
		long long id = strtoll(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || id <= 0)
			return ctl_err("'%s' is not a threat id", argv[1]);
		const char *a[] = { argv[1] };
		if ((st = ctl_begin(ctl)) != 0)
			return st;
		n = ctl_exec(ctl, sql_thr_rm_id, 1, a);
		st = n < 0 ? 1 : n == 0 ? ctl_err("no threat source with id %s", argv[1]) : 0;
		return ctl_end(ctl, st);
	}
	if (argc == 3 && strcmp(argv[0], "remove") == 0) {
		char val[300];
		if (thr_canon(argv[1], argv[2], val, sizeof(val)) != 0)
			return ctl_err("'%s %s' is not a valid threat source", argv[1], argv[2]);
		const char *a[] = { argv[1], val };
		if ((st = ctl_begin(ctl)) != 0)
			return st;
		n = ctl_exec(ctl, sql_thr_rm_kv, 2, a);
		st = n < 0 ? 1 : n == 0 ? ctl_err("no threat source %s %s", argv[1], val) : 0;
		return ctl_end(ctl, st);
	}
	return ctl_usage(thr_usage);
}
