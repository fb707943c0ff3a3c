/*
 * moatctl policy: scan policies, and which subscribers and recipients use
 * them.  One table of keys (column, type, allowed values) drives parsing,
 * validation, the error text listing the choices and `policy keys`; every
 * KEY VALUE pair of a command is validated before the transaction starts,
 * so a bad one changes nothing.  Column names cannot be bound, so each key
 * carries its own static UPDATE statement: no SQL is ever built from input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moatctl.h"
#include "net.h"
#include "units.h"
#include "policy.h"

static const char pol_usage[] =
    "usage: moatctl policy add NAME [--KEY VALUE ...] | list | show NAME | remove NAME\n"
    "       moatctl policy set NAME KEY VALUE [KEY VALUE ...] | keys\n"
    "       moatctl policy assign SUBSCRIBER POLICY\n"
    "       moatctl policy recipient ADDRESS POLICY|--remove\n";

/* Who gets quarantine digests (policies.digest_to; moat-quarantined). */
static const char *const pol_digest_to_names[] = { "subscriber", "recipients", NULL };

enum pk_type { PK_ENUM, PK_BOOL, PK_SIZE, PK_INT, PK_ADDR };

struct pol_key {
	const char          *name;
	enum pk_type         type;
	const char *const   *choices;   /* PK_ENUM */
	long long            min, max;  /* PK_SIZE, PK_INT */
	const char          *sql_set;   /* ?1 policy name, ?2 value */
};

#define SET(col) "UPDATE policies SET " col " = ?2 WHERE name = ?1"
#define GB (1024LL * 1024 * 1024)

/* Bounds and choices repeat the CHECK constraints of sql/schema.sql, so an
 * operator gets the list of choices instead of a constraint name. */
static const struct pol_key pol_keys[] = {
	{ "scan_mode", PK_ENUM, policy_scan_mode_names, 0, 0, SET("scan_mode") },
	{ "max_scan_bytes", PK_SIZE, NULL, 1, 4 * GB, SET("max_scan_bytes") },
	{ "on_infected", PK_ENUM, policy_infected_names, 0, 0, SET("on_infected") },
	{ "on_unscannable", PK_ENUM, policy_unscannable_names, 0, 0, SET("on_unscannable") },
	{ "on_error", PK_ENUM, policy_error_names, 0, 0, SET("on_error") },
	{ "repair", PK_BOOL, NULL, 0, 1, SET("repair") },
	{ "quarantine", PK_BOOL, NULL, 0, 1, SET("quarantine") },
	{ "heuristics", PK_BOOL, NULL, 0, 1, SET("heuristics") },
	{ "notify_sender", PK_BOOL, NULL, 0, 1, SET("notify_sender") },
	{ "notify_recipients", PK_BOOL, NULL, 0, 1, SET("notify_recipients") },
	{ "notify_admin", PK_ADDR, NULL, 0, 0, SET("notify_admin") },
	{ "notify_style", PK_ENUM, policy_notify_style_names, 0, 0, SET("notify_style") },
	{ "skip_forged_senders", PK_BOOL, NULL, 0, 1, SET("skip_forged_senders") },
	{ "header_mode", PK_ENUM, policy_header_mode_names, 0, 0, SET("header_mode") },
	{ "retention_days", PK_INT, NULL, 0, 3650, SET("retention_days") },
	{ "digest", PK_BOOL, NULL, 0, 1, SET("digest") },
	{ "auto_release_fp", PK_BOOL, NULL, 0, 1, SET("auto_release_fp") },
	{ "digest_to", PK_ENUM, pol_digest_to_names, 0, 0, SET("digest_to") },
	/* combine: one decision for all recipients, the strictest of their
	 * policies; defer: recipients whose policy differs from the first
	 * accepted recipient's get 452 at RCPT (milter_callbacks.c). */
	{ "mixed_recipients", PK_ENUM, policy_mixed_names, 0, 0, SET("mixed_recipients") },
	{ NULL, 0, NULL, 0, 0, NULL }
};
#undef SET

static const char *const pol_bool_true[] = { "yes", "true", "on", "1", NULL };
static const char *const pol_bool_false[] = { "no", "false", "off", "0", NULL };

/* One parsed KEY VALUE pair. */
struct pol_val {
	const struct pol_key *key;
	const char           *text;     /* PK_ENUM, PK_ADDR (NULL = none) */
	long long             num;      /* PK_BOOL, PK_SIZE, PK_INT */
	char                  addr[300];
};

static const char sql_pol_id[] = "SELECT id FROM policies WHERE name = ?1";
static const char sql_sub_id[] = "SELECT id FROM subscribers WHERE name = ?1";
static const char sql_pol_add[] = "INSERT INTO policies(name) VALUES (?1)";
static const char sql_pol_list[] =
    "SELECT p.name, p.scan_mode, p.max_scan_bytes, p.on_infected, p.on_unscannable, "
    " p.on_error, "
    " (SELECT count(*) FROM subscriber_policies sp WHERE sp.policy_id = p.id) "
    "   AS subscribers, "
    " (SELECT count(*) FROM recipient_policies rp WHERE rp.policy_id = p.id) "
    "   AS recipients "
    "FROM policies p ORDER BY p.name";
static const char sql_pol_show[] =
    "SELECT p.id, p.name, p.scan_mode, p.max_scan_bytes, p.on_infected, "
    " p.on_unscannable, p.on_error, p.repair, p.quarantine, p.heuristics, "
    " p.notify_sender, p.notify_recipients, p.notify_admin, p.notify_style, "
    " p.skip_forged_senders, p.header_mode, p.retention_days, p.digest, "
    " p.auto_release_fp, p.digest_to, p.mixed_recipients, "
    " (SELECT group_concat(s.name, ', ') FROM subscriber_policies sp "
    "   JOIN subscribers s ON s.id = sp.subscriber_id WHERE sp.policy_id = p.id) "
    "   AS subscribers, "
    " (SELECT group_concat(rp.address, ', ') FROM recipient_policies rp "
    "   WHERE rp.policy_id = p.id) AS recipients "
    "FROM policies p WHERE p.name = ?1";
static const char sql_pol_nsubs[] =
    "SELECT count(*) FROM subscriber_policies sp JOIN policies p ON p.id = sp.policy_id "
    "WHERE p.name = ?1";
static const char sql_pol_nrcpts[] =
    "SELECT count(*) FROM recipient_policies rp JOIN policies p ON p.id = rp.policy_id "
    "WHERE p.name = ?1";
static const char sql_pol_remove[] = "DELETE FROM policies WHERE name = ?1";
static const char sql_pol_assign[] =
    "INSERT INTO subscriber_policies(subscriber_id, policy_id) "
    "SELECT s.id, p.id FROM subscribers s, policies p WHERE s.name = ?1 AND p.name = ?2 "
    "ON CONFLICT(subscriber_id) DO UPDATE SET policy_id = excluded.policy_id";
static const char sql_rcpt_set[] =
    "INSERT INTO recipient_policies(address, policy_id) "
    "SELECT ?1, id FROM policies WHERE name = ?2 "
    "ON CONFLICT(address) DO UPDATE SET policy_id = excluded.policy_id";
static const char sql_rcpt_remove[] = "DELETE FROM recipient_policies WHERE address = ?1";

static const struct pol_key *
pol_key_find(const char *name)
{
	for (const struct pol_key *k = pol_keys; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* "a, b, c" from a NULL-terminated list. */
static void
pol_join(const char *const list[], char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; list[i] != NULL && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", list[i]);
}

static const char *
pol_type_name(const struct pol_key *k)
{
	switch (k->type) {
	case PK_ENUM: return "choice";
	case PK_BOOL: return "boolean";
	case PK_SIZE: return "size";
	case PK_INT:  return "integer";
	case PK_ADDR: return "address";
	}
	return "?";
}

/* What a key accepts, for error messages and `policy keys`. */
static void
pol_allowed(const struct pol_key *k, char *buf, size_t len)
{
	switch (k->type) {
	case PK_ENUM:
		pol_join(k->choices, buf, len);
		break;
	case PK_BOOL:
		snprintf(buf, len, "yes, no (also true/false, on/off, 1/0)");
		break;
	case PK_SIZE:
		snprintf(buf, len, "bytes with optional K, M or G suffix, 1 to 4G");
		break;
	case PK_INT:
		snprintf(buf, len, "%lld to %lld", k->min, k->max);
		break;
	case PK_ADDR:
		snprintf(buf, len, "an e-mail address, or none");
		break;
	}
}

/* A recipient or admin address in the canonical form the milter compares
 * (net.h addr_canon: "<\"CEO\"@Delta.Example.>" is ceo@delta.example).
 * Returns 0, or -1 with *why set. */
static int
pol_canon_addr(const char *in, char *out, size_t len, const char **why)
{
	char dom[ADDR_DOMAIN_MAX + 1];
	enum addr_status as;

	*why = "no domain";
	if ((as = addr_canon(in, out, len)) != ADDR_OK) {
		*why = as == ADDR_NULL ? "empty" : addr_status_text(as);
		return -1;
	}
	if (addr_domain(out, dom, sizeof(dom)) == -1 || dom[0] == '[')
		return -1;
	return 0;
}

/* Parses one pair into v; 0, or 1 after printing what the key accepts. */
static int
pol_parse(const char *key, const char *text, struct pol_val *v)
{
	char allowed[256], keys[512];
	const char *why;
	size_t o = 0;

	memset(v, 0, sizeof(*v));
	if ((v->key = pol_key_find(key)) == NULL) {
		for (const struct pol_key *k = pol_keys; k->name != NULL && o < sizeof(keys); k++)
			o += (size_t)snprintf(keys + o, sizeof(keys) - o, "%s%s",
			    k == pol_keys ? "" : ", ", k->name);
		return ctl_err("unknown policy key '%s' (keys: %s)", key, keys);
	}
	switch (v->key->type) {
	case PK_ENUM:
		if (policy_enum_parse(v->key->choices, text) == -1)
			goto bad;
		v->text = text;
		return 0;
	case PK_BOOL:
		if (policy_enum_parse(pol_bool_true, text) != -1)
			v->num = 1;
		else if (policy_enum_parse(pol_bool_false, text) != -1)
			v->num = 0;
		else
			goto bad;
		return 0;
	case PK_SIZE:
	case PK_INT: {
		char *end;
		if (v->key->type == PK_SIZE) {
			/* Sizes are never negative: "-1" is a typo, not a range. */
			if (parse_size(text, &v->num) == -1 || v->num < 0)
				goto bad;
		} else {
			errno = 0;
			v->num = strtoll(text, &end, 10);
			if (errno != 0 || end == text || *end != '\0')
				goto bad;
		}
		if (v->num < v->key->min || v->num > v->key->max)
			goto bad;
		return 0;
	}
	case PK_ADDR:
		if (strcmp(text, "none") == 0) {
			v->text = NULL;
			return 0;
		}
		if (pol_canon_addr(text, v->addr, sizeof(v->addr), &why) == -1)
			goto bad;
		v->text = v->addr;
		return 0;
	}
bad:
	pol_allowed(v->key, allowed, sizeof(allowed));
	return ctl_err("bad value '%s' for %s (%s)", text, v->key->name, allowed);
}

/* Writes one parsed pair to the named policy; 0 or 1 (printed). */
static int
pol_apply(struct ctl *ctl, const char *name, const struct pol_val *v)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_prepare(ctl->st, v->key->sql_set)) == NULL)
		return ctl_sqlerr(ctl);
	rc = sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK) {
		if (v->key->type == PK_ENUM || v->key->type == PK_ADDR)
			rc = v->text != NULL ?
			    sqlite3_bind_text(stmt, 2, v->text, -1, SQLITE_TRANSIENT) :
			    sqlite3_bind_null(stmt, 2);
		else
			rc = sqlite3_bind_int64(stmt, 2, v->num);
	}
	if (rc != SQLITE_OK) {
		sqlite3_reset(stmt);
		return ctl_err("%s: %s", ctl->db_path, sqlite3_errmsg(ctl->st->db));
	}
	if (store_run_stmt(ctl->st, stmt, "policy set") == -1)
		return ctl_sqlerr(ctl);
	if (sqlite3_changes(ctl->st->db) != 1)
		return ctl_err("no policy named '%s'", name);
	return 0;
}

/* Parses KEY VALUE pairs (dashes allowed: --on_infected); 0, 1 or usage. */
#define POL_MAXPAIRS 32
static int
pol_parse_pairs(int argc, char **argv, int dashes, struct pol_val *vals, int *nvals)
{
	*nvals = 0;
	if (argc % 2 != 0 || argc / 2 > POL_MAXPAIRS)
		return ctl_usage(pol_usage);
	for (int i = 0; i < argc; i += 2) {
		const char *key = argv[i];
		if (dashes) {
			if (strncmp(key, "--", 2) != 0)
				return ctl_usage(pol_usage);
			key += 2;
		}
		if (pol_parse(key, argv[i + 1], &vals[(*nvals)++]) != 0)
			return 1;
	}
	return 0;
}

static int
pol_add_set(struct ctl *ctl, int add, int argc, char **argv)
{
	struct pol_val *vals;
	const char *name = argv[0];
	const char *a[] = { name };
	long long id;
	int st, n;

	if (name[0] == '\0' || strlen(name) > 100)
		return ctl_err("a policy name has 1 to 100 characters");
	if (!add && argc < 3)
		return ctl_usage(pol_usage);
	if ((vals = calloc(POL_MAXPAIRS, sizeof(*vals))) == NULL)
		return ctl_err("out of memory");
	if ((st = pol_parse_pairs(argc - 1, argv + 1, add, vals, &n)) != 0 ||
	    (st = ctl_begin(ctl)) != 0) {
		free(vals);
		return st;
	}
	if (add) {
		if ((st = ctl_query_int(ctl, sql_pol_id, 1, a, &id)) == 1)
			st = ctl_err("policy '%s' already exists", name);
		else if (st == 0)
			st = ctl_exec(ctl, sql_pol_add, 1, a) == 1 ? 0 : 1;
		else
			st = 1;
	} else
		st = ctl_need(ctl, sql_pol_id, "policy", name, NULL);
	for (int i = 0; i < n && st == 0; i++)
		st = pol_apply(ctl, name, &vals[i]);
	free(vals);
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "policy %s %s", name, add ? "added" : "updated");
	return st;
}

static int
pol_remove(struct ctl *ctl, const char *name)
{
	const char *a[] = { name };
	long long nsubs, nrcpts;
	int st;

	/* The foreign keys would refuse too, but without saying who uses it. */
	if ((st = ctl_begin(ctl)) != 0)
		return st;
	if ((st = ctl_need(ctl, sql_pol_id, "policy", name, NULL)) != 0)
		;
	else if (ctl_query_int(ctl, sql_pol_nsubs, 1, a, &nsubs) != 1 ||
	    ctl_query_int(ctl, sql_pol_nrcpts, 1, a, &nrcpts) != 1)
		st = 1;
	else if (nsubs + nrcpts > 0)
		st = ctl_err("policy '%s' is in use by %lld subscriber(s) and %lld "
		    "recipient override(s); assign them another policy first",
		    name, nsubs, nrcpts);
	else if (ctl_exec(ctl, sql_pol_remove, 1, a) != 1)
		st = 1;
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "policy %s removed", name);
	return st;
}

static int
pol_assign(struct ctl *ctl, const char *sub, const char *pol)
{
	const char *a[] = { sub, pol };
	int st;

	if ((st = ctl_begin(ctl)) != 0)
		return st;
	if ((st = ctl_need(ctl, sql_sub_id, "subscriber", sub, NULL)) == 0 &&
	    (st = ctl_need(ctl, sql_pol_id, "policy", pol, NULL)) == 0 &&
	    ctl_exec(ctl, sql_pol_assign, 2, a) != 1)
		st = 1;
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "subscriber %s now uses policy %s", sub, pol);
	return st;
}

static int
pol_recipient(struct ctl *ctl, const char *addr, const char *pol)
{
	char canon[ADDR_MAX + 1];
	const char *a[] = { canon, pol }, *why;
	int st, n;

	if (pol_canon_addr(addr, canon, sizeof(canon), &why) == -1)
		return ctl_err("'%s' is not a valid recipient address (%s)", addr, why);
	if ((st = ctl_begin(ctl)) != 0)
		return st;
	if (strcmp(pol, "--remove") == 0) {
		if ((n = ctl_exec(ctl, sql_rcpt_remove, 1, a)) == 0)
			st = ctl_err("no policy override for recipient '%s'", canon);
		else if (n < 0)
			st = 1;
	} else if ((st = ctl_need(ctl, sql_pol_id, "policy", pol, NULL)) == 0 &&
	    ctl_exec(ctl, sql_rcpt_set, 2, a) != 1)
		st = 1;
	if ((st = ctl_end(ctl, st)) == 0) {
		if (strcmp(pol, "--remove") == 0)
			ctl_say(ctl, "recipient %s follows its subscriber's policy again", canon);
		else
			ctl_say(ctl, "recipient %s now uses policy %s", canon, pol);
	}
	return st;
}

/* The key table itself, so operators see what `policy set` takes. */
static int
pol_list_keys(void)
{
	char allowed[256];

	printf("%-20s %-8s %s\n", "key", "type", "allowed");
	for (const struct pol_key *k = pol_keys; k->name != NULL; k++) {
		pol_allowed(k, allowed, sizeof(allowed));
		printf("%-20s %-8s %s\n", k->name, pol_type_name(k), allowed);
	}
	return 0;
}

int
moatctl_policy(struct ctl *ctl, int argc, char **argv)
{
	const char *a[1];
	int st;

	if (argc < 1)
		return ctl_usage(pol_usage);
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return ctl_print(ctl, CTL_TABLE, sql_pol_list, 0, NULL);
	if (argc == 1 && strcmp(argv[0], "keys") == 0)
		return pol_list_keys();
	if (argc < 2)
		return ctl_usage(pol_usage);
	a[0] = argv[1];
	if (strcmp(argv[0], "add") == 0)
		return pol_add_set(ctl, 1, argc - 1, argv + 1);
	if (strcmp(argv[0], "set") == 0)
		return pol_add_set(ctl, 0, argc - 1, argv + 1);
	if (strcmp(argv[0], "show") == 0 && argc == 2) {
		if ((st = ctl_need(ctl, sql_pol_id, "policy", argv[1], NULL)) != 0)
			return st;
		return ctl_print(ctl, CTL_RECORD, sql_pol_show, 1, a);
	}
	if (strcmp(argv[0], "remove") == 0 && argc == 2)
		return pol_remove(ctl, argv[1]);
	if (strcmp(argv[0], "assign") == 0 && argc == 3)
		return pol_assign(ctl, argv[1], argv[2]);
	if (strcmp(argv[0], "recipient") == 0 && argc == 3)
		return pol_recipient(ctl, argv[1], argv[2]);
	return ctl_usage(pol_usage);
}
