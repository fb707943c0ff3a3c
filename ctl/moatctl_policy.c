/* moatctl policy: scan policies, their assignment, per-recipient overrides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moatctl.h"
#include "net.h"
#include "policy.h"

static const char pol_usage[] =
    "usage: moatctl policy add NAME [--KEY VALUE ...] | list | show NAME | remove NAME\n"
    "       moatctl policy set NAME KEY VALUE [KEY VALUE ...] | keys\n"
    "       moatctl policy assign SUBSCRIBER POLICY\n"
    "       moatctl policy recipient ADDRESS POLICY | ADDRESS --remove\n";

enum pkey_type { PK_ENUM, PK_BOOL, PK_SIZE, PK_DAYS, PK_ADDR };

/* One row per policies column an operator may set.  The UPDATE text is a
 * compile-time constant per column: values are always bound. */
struct pkey {
	const char         *name;
	enum pkey_type      type;
	const char *const  *choices;
	const char         *sql;
};

#define PK(col, type, choices) \
	{ #col, type, choices, "UPDATE policies SET " #col " = ?2 WHERE name = ?1" }
static const struct pkey pkeys[] = {
	PK(scan_mode, PK_ENUM, policy_scan_mode_names),
	PK(max_scan_bytes, PK_SIZE, NULL),
	PK(on_infected, PK_ENUM, policy_infected_names),
	PK(on_unscannable, PK_ENUM, policy_unscannable_names),
	PK(on_error, PK_ENUM, policy_error_names),
	PK(repair, PK_BOOL, NULL),
	PK(quarantine, PK_BOOL, NULL),
	PK(heuristics, PK_BOOL, NULL),
	PK(notify_sender, PK_BOOL, NULL),
	PK(notify_recipients, PK_BOOL, NULL),
	PK(notify_admin, PK_ADDR, NULL),
	PK(notify_style, PK_ENUM, policy_notify_style_names),
	PK(skip_forged_senders, PK_BOOL, NULL),
	PK(header_mode, PK_ENUM, policy_header_mode_names),
	PK(retention_days, PK_DAYS, NULL),
	PK(digest, PK_BOOL, NULL),
	PK(auto_release_fp, PK_BOOL, NULL),
	{ NULL, 0, NULL, NULL }
};

static const char sql_pol_add[] = "INSERT INTO policies(name) VALUES (?1)";
static const char sql_pol_list[] =
    "SELECT p.name, p.scan_mode, p.on_infected, p.on_unscannable, p.on_error, "
    " p.repair, p.quarantine, p.notify_style, "
    " (SELECT count(*) FROM subscriber_policies sp WHERE sp.policy_id = p.id) AS subscribers "
    "FROM policies p ORDER BY p.name";
static const char sql_pol_show[] =
    "SELECT id, name, scan_mode, max_scan_bytes, on_infected, on_unscannable, on_error, "
    " repair, quarantine, heuristics, notify_sender, notify_recipients, notify_admin, "
    " notify_style, skip_forged_senders, header_mode, retention_days, digest, "
    " auto_release_fp FROM policies WHERE name = ?1";
static const char sql_pol_id[] = "SELECT id FROM policies WHERE name = ?1";
static const char sql_pol_inuse[] =
    "SELECT (SELECT count(*) FROM subscriber_policies sp JOIN policies p ON p.id = sp.policy_id "
    "        WHERE p.name = ?1) + "
    "       (SELECT count(*) FROM recipient_policies rp JOIN policies p ON p.id = rp.policy_id "
    "        WHERE p.name = ?1)";
static const char sql_pol_remove[] = "DELETE FROM policies WHERE name = ?1";
static const char sql_pol_assign[] =
    "INSERT INTO subscriber_policies(subscriber_id, policy_id) "
    "SELECT s.id, p.id FROM subscribers s, policies p WHERE s.name = ?1 AND p.name = ?2 "
    "ON CONFLICT(subscriber_id) DO UPDATE SET policy_id = excluded.policy_id";
static const char sql_sub_id[] = "SELECT id FROM subscribers WHERE name = ?1";
static const char sql_rcpt_set[] =
    "INSERT INTO recipient_policies(address, policy_id) SELECT ?1, id FROM policies "
    "WHERE name = ?2 ON CONFLICT(address) DO UPDATE SET policy_id = excluded.policy_id";
static const char sql_rcpt_remove[] = "DELETE FROM recipient_policies WHERE address = ?1";

static const struct pkey *
pkey_find(const char *name)
{
	if (strncmp(name, "--", 2) == 0)
		name += 2;
	for (const struct pkey *k = pkeys; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static void
pkey_choices(const struct pkey *k, char *buf, size_t len)
{
	buf[0] = '\0';
	switch (k->type) {
	case PK_ENUM:
		for (int i = 0; k->choices[i] != NULL; i++) {
			strncat(buf, i ? "|" : "", len - strlen(buf) - 1);
			strncat(buf, k->choices[i], len - strlen(buf) - 1);
		}
		break;
	case PK_BOOL: snprintf(buf, len, "yes|no"); break;
	case PK_SIZE: snprintf(buf, len, "bytes, or with K/M/G"); break;
	case PK_DAYS: snprintf(buf, len, "days, 0 or more"); break;
	case PK_ADDR: snprintf(buf, len, "an address, or none"); break;
	}
}

/* Validates value for k; canonical text into out (NULL value for "none"). */
static int
pkey_value(const struct pkey *k, const char *value, char *out, size_t len, int *isnull)
{
	long long v;

	*isnull = 0;
	switch (k->type) {
	case PK_ENUM:
		if (policy_enum_parse(k->choices, value) < 0)
			return -1;
		snprintf(out, len, "%s", value);
		return 0;
	case PK_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "1") == 0 || strcmp(value, "true") == 0)
			snprintf(out, len, "1");
		else if (strcmp(value, "no") == 0 || strcmp(value, "0") == 0 ||
		    strcmp(value, "false") == 0)
			snprintf(out, len, "0");
		else
			return -1;
		return 0;
	case PK_SIZE:
		if ((v = ctl_parse_size(value)) <= 0)
			return -1;
		snprintf(out, len, "%lld", v);
		return 0;
	case PK_DAYS:
		if ((v = ctl_parse_size(value)) < 0 || v > 36500 || strchr("0123456789",
		    value[strlen(value) - 1]) == NULL)
			return -1;
		snprintf(out, len, "%lld", v);
		return 0;
	case PK_ADDR:
		if (strcmp(value, "none") == 0 || *value == '\0') {
			*isnull = 1;
			return 0;
		}
		if (strchr(value, '@') == NULL || addr_normalize(value, out, len) == -1)
			return -1;
		return 0;
	}
	return -1;
}

/* Applies KEY VALUE pairs to policy name inside the caller's transaction. */
static int
pol_apply(struct ctl *ctl, const char *name, int argc, char **argv)
{
	char val[512], choices[256];
	int isnull;

	if (argc % 2 != 0)
		return ctl_err("each setting needs a value");
	for (int i = 0; i < argc; i += 2) {
		const struct pkey *k = pkey_find(argv[i]);
		if (k == NULL)
			return ctl_err("unknown policy setting '%s' (see `moatctl policy keys`)",
			    argv[i]);
		if (pkey_value(k, argv[i + 1], val, sizeof(val), &isnull) == -1) {
			pkey_choices(k, choices, sizeof(choices));
			return ctl_err("%s: bad value '%s' (expected %s)", k->name,
			    argv[i + 1], choices);
		}
		const char *a[] = { name, isnull ? NULL : val };
		int n = ctl_exec(ctl, k->sql, 2, a);
		if (n < 0)
			return 1;
		if (n == 0)
			return ctl_err("no policy named '%s'", name);
	}
	return 0;
}

static int
need(struct ctl *ctl, const char *sql, const char *what, const char *name)
{
	long long id;
	const char *a[] = { name };
	int rc = ctl_query_int(ctl, sql, 1, a, &id);

	return rc == 0 ? ctl_err("no %s named '%s'", what, name) : rc == 1 ? 0 : 1;
}

static int
pol_show(struct ctl *ctl, const char *name)
{
	const char *a[] = { name };
	sqlite3_stmt *stmt;
	int st;

	if ((st = need(ctl, sql_pol_id, "policy", name)) != 0)
		return st;
	if ((stmt = store_prepare(ctl->st, sql_pol_show)) == NULL)
		return ctl_err("%s", sqlite3_errmsg(ctl->st->db));
	sqlite3_bind_text(stmt, 1, a[0], -1, SQLITE_TRANSIENT);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		for (int c = 0; c < sqlite3_column_count(stmt); c++) {
			const unsigned char *v = sqlite3_column_text(stmt, c);
			printf("%-20s %s\n", sqlite3_column_name(stmt, c),
			    v ? (const char *)v : "-");
		}
	sqlite3_reset(stmt);
	return 0;
}

int
moatctl_policy(struct ctl *ctl, int argc, char **argv)
{
	long long n;
	int st;

	if (argc < 1)
		return ctl_usage(pol_usage);
	if (strcmp(argv[0], "list") == 0 && argc == 1)
		return ctl_print_query(ctl, sql_pol_list, 0, NULL);
	if (strcmp(argv[0], "keys") == 0 && argc == 1) {
		char c[256];
		for (const struct pkey *k = pkeys; k->name != NULL; k++) {
			pkey_choices(k, c, sizeof(c));
			printf("%-20s %s\n", k->name, c);
		}
		return 0;
	}
	if (argc < 2)
		return ctl_usage(pol_usage);
	const char *a[] = { argv[1], argc > 2 ? argv[2] : NULL };
	if (strcmp(argv[0], "show") == 0 && argc == 2)
		return pol_show(ctl, argv[1]);
	if (strcmp(argv[0], "add") == 0) {
		if ((st = ctl_begin(ctl)) != 0)
			return st;
		st = ctl_exec(ctl, sql_pol_add, 1, a) < 0 ? 1 :
		    pol_apply(ctl, argv[1], argc - 2, argv + 2);
		if ((st = ctl_end(ctl, st)) == 0 && !ctl->quiet)
			printf("policy %s added\n", argv[1]);
		return st;
	}
	if (strcmp(argv[0], "set") == 0 && argc >= 4) {
		if ((st = need(ctl, sql_pol_id, "policy", argv[1])) != 0 ||
		    (st = ctl_begin(ctl)) != 0)
			return st;
		st = pol_apply(ctl, argv[1], argc - 2, argv + 2);
		if ((st = ctl_end(ctl, st)) == 0 && !ctl->quiet)
			printf("policy %s updated\n", argv[1]);
		return st;
	}
	if (strcmp(argv[0], "remove") == 0 && argc == 2) {
		if ((st = need(ctl, sql_pol_id, "policy", argv[1])) != 0 ||
		    (st = ctl_begin(ctl)) != 0)
			return st;
		if (ctl_query_int(ctl, sql_pol_inuse, 1, a, &n) != 1)
			st = 1;
		else if (n > 0)
			st = ctl_err("policy '%s' is in use by %lld subscribers or "
			    "recipients; assign them another policy first", argv[1], n);
		else if (ctl_exec(ctl, sql_pol_remove, 1, a) < 0)
			st = 1;
		if ((st = ctl_end(ctl, st)) == 0 && !ctl->quiet)
			printf("policy %s removed\n", argv[1]);
		return st;
	}
	if (strcmp(argv[0], "assign") == 0 && argc == 3) {
		if ((st = need(ctl, sql_sub_id, "subscriber", argv[1])) != 0 ||
		    (st = need(ctl, sql_pol_id, "policy", argv[2])) != 0 ||
		    (st = ctl_begin(ctl)) != 0)
			return st;
		st = ctl_exec(ctl, sql_pol_assign, 2, a) < 0;
		if ((st = ctl_end(ctl, st)) == 0 && !ctl->quiet)
			printf("policy %s assigned to %s\n", argv[2], argv[1]);
		return st;
	}
	if (strcmp(argv[0], "recipient") == 0 && argc == 3) {
		char addr[512];
		if (strchr(argv[1], '@') == NULL ||
		    addr_normalize(argv[1], addr, sizeof(addr)) == -1)
			return ctl_err("'%s' is not an address", argv[1]);
		const char *r[] = { addr, argv[2] };
		if (strcmp(argv[2], "--remove") != 0 &&
		    (st = need(ctl, sql_pol_id, "policy", argv[2])) != 0)
			return st;
		if ((st = ctl_begin(ctl)) != 0)
			return st;
		if (strcmp(argv[2], "--remove") == 0) {
			int c = ctl_exec(ctl, sql_rcpt_remove, 1, r);
			st = c < 0 ? 1 : c == 0 ? ctl_err("no override for %s", addr) : 0;
		} else
			st = ctl_exec(ctl, sql_rcpt_set, 2, r) < 0;
		return ctl_end(ctl, st);
	}
	return ctl_usage(pol_usage);
}
