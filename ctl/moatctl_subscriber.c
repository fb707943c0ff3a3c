/*
 * moatctl subscriber / domain / network: who Moat serves, by mail domain
 * and by client network.  Names and keys are validated before any SQL; each
 * change runs in one transaction and checks what it refers to inside it, so
 * a refused command leaves the store as it was.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moatctl.h"
#include "net.h"

static const char sub_usage[] =
    "usage: moatctl subscriber add NAME [--contact ADDR] [--policy NAME] [--suspended]\n"
    "       moatctl subscriber list | show NAME | remove NAME\n"
    "       moatctl subscriber set NAME status active|suspended | contact ADDR|none |"
    " policy NAME|none | name NEW\n";
static const char dom_usage[] =
    "usage: moatctl domain add DOMAIN SUBSCRIBER | list [SUBSCRIBER] | remove DOMAIN\n"
    "       (\".example.com\" also covers every subdomain of example.com)\n";
static const char net_usage[] =
    "usage: moatctl network add CIDR SUBSCRIBER | list [SUBSCRIBER] | remove CIDR\n";

static const char sql_sub_id[] = "SELECT id FROM subscribers WHERE name = ?1";
static const char sql_pol_id[] = "SELECT id FROM policies WHERE name = ?1";
static const char sql_sub_add[] =
    "INSERT INTO subscribers(name, status, contact) VALUES (?1, ?2, ?3)";
static const char sql_sub_setpol[] =
    "INSERT INTO subscriber_policies(subscriber_id, policy_id) "
    "SELECT s.id, p.id FROM subscribers s, policies p WHERE s.name = ?1 AND p.name = ?2 "
    "ON CONFLICT(subscriber_id) DO UPDATE SET policy_id = excluded.policy_id";
static const char sql_sub_nopol[] =
    "DELETE FROM subscriber_policies WHERE subscriber_id = "
    "(SELECT id FROM subscribers WHERE name = ?1)";
static const char sql_sub_list[] =
    "SELECT s.name, s.status, s.contact, p.name AS policy, "
    " (SELECT count(*) FROM subscriber_domains d WHERE d.subscriber_id = s.id) AS domains, "
    " (SELECT count(*) FROM subscriber_networks n WHERE n.subscriber_id = s.id) AS networks "
    "FROM subscribers s LEFT JOIN subscriber_policies sp ON sp.subscriber_id = s.id "
    "LEFT JOIN policies p ON p.id = sp.policy_id ORDER BY s.name";
static const char sql_sub_show[] =
    "SELECT s.id, s.name, s.status, s.contact, p.name AS policy, "
    " datetime(s.created, 'unixepoch') AS created, "
    " (SELECT group_concat(domain, ' ') FROM subscriber_domains d "
    "   WHERE d.subscriber_id = s.id) AS domains, "
    " (SELECT group_concat(cidr, ' ') FROM subscriber_networks n "
    "   WHERE n.subscriber_id = s.id) AS networks, "
    " (SELECT count(*) FROM subscriber_credentials c WHERE c.subscriber_id = s.id) "
    "   AS credentials "
    "FROM subscribers s LEFT JOIN subscriber_policies sp ON sp.subscriber_id = s.id "
    "LEFT JOIN policies p ON p.id = sp.policy_id WHERE s.name = ?1";
static const char sql_sub_remove[] = "DELETE FROM subscribers WHERE name = ?1";
static const char sql_sub_status[] = "UPDATE subscribers SET status = ?2 WHERE name = ?1";
static const char sql_sub_contact[] = "UPDATE subscribers SET contact = ?2 WHERE name = ?1";
static const char sql_sub_rename[] = "UPDATE subscribers SET name = ?2 WHERE name = ?1";

static const char sql_dom_add[] =
    "INSERT INTO subscriber_domains(domain, subscriber_id) "
    "SELECT ?1, id FROM subscribers WHERE name = ?2";
static const char sql_dom_owner[] =
    "SELECT subscriber_id FROM subscriber_domains WHERE domain = ?1";
static const char sql_dom_list[] =
    "SELECT d.domain, s.name AS subscriber, s.status FROM subscriber_domains d "
    "JOIN subscribers s ON s.id = d.subscriber_id "
    "WHERE ?1 IS NULL OR s.name = ?1 ORDER BY s.name, d.domain";
static const char sql_dom_remove[] = "DELETE FROM subscriber_domains WHERE domain = ?1";

static const char sql_net_add[] =
    "INSERT INTO subscriber_networks(cidr, subscriber_id) "
    "SELECT ?1, id FROM subscribers WHERE name = ?2";
static const char sql_net_owner[] =
    "SELECT subscriber_id FROM subscriber_networks WHERE cidr = ?1";
static const char sql_net_list[] =
    "SELECT n.cidr, s.name AS subscriber, s.status FROM subscriber_networks n "
    "JOIN subscribers s ON s.id = n.subscriber_id "
    "WHERE ?1 IS NULL OR s.name = ?1 ORDER BY s.name, n.cidr";
static const char sql_net_remove[] = "DELETE FROM subscriber_networks WHERE cidr = ?1";

/* A subscriber name is printed in tables and logs: printable, no blanks at
 * the ends, bounded. */
static int
sub_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 100 || isspace((unsigned char)name[0]) ||
	    isspace((unsigned char)name[n - 1]))
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* A contact is an address (it receives digests and admin copies). */
static int
sub_contact_ok(const char *contact)
{
	char dom[300];

	return strchr(contact, '@') != NULL && addr_domain(contact, dom, sizeof(dom)) == 0 &&
	    ctl_canon_domain(dom, dom, sizeof(dom)) == 0 && dom[0] != '.';
}

static int
sub_add(struct ctl *ctl, int argc, char **argv)
{
	const char *name = argv[0], *contact = NULL, *policy = NULL, *status = "active";
	long long id;
	int st;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--suspended") == 0)
			status = "suspended";
		else if (strcmp(argv[i], "--contact") == 0 && i + 1 < argc)
			contact = argv[++i];
		else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc)
			policy = argv[++i];
		else
			return ctl_usage(sub_usage);
	}
	if (!sub_name_ok(name))
		return ctl_err("'%s' is not a valid subscriber name (1-100 printable "
		    "characters)", name);
	if (contact != NULL && !sub_contact_ok(contact))
		return ctl_err("'%s' is not a valid contact address", contact);
	if ((st = ctl_begin(ctl)) != 0)
		return st;
	const char *a[] = { name, status, contact };
	const char *p[] = { name, policy };
	if ((st = ctl_query_int(ctl, sql_sub_id, 1, a, &id)) == 1)
		st = ctl_err("subscriber '%s' already exists", name);
	else if (st == 0 && policy != NULL)
		st = ctl_need(ctl, sql_pol_id, "policy", policy, NULL);
	else if (st < 0)
		st = 1;
	if (st == 0 && ctl_exec(ctl, sql_sub_add, 3, a) < 0)
		st = 1;
	if (st == 0 && policy != NULL && ctl_exec(ctl, sql_sub_setpol, 2, p) != 1)
		st = 1;
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "subscriber %s added", name);
	return st;
}

static int
sub_show(struct ctl *ctl, const char *name)
{
	const char *a[] = { name };
	int st;

	if ((st = ctl_need(ctl, sql_sub_id, "subscriber", name, NULL)) != 0)
		return st;
	return ctl_print(ctl, CTL_RECORD, sql_sub_show, 1, a);
}

static int
sub_remove(struct ctl *ctl, const char *name)
{
	const char *a[] = { name };
	int st;

	if ((st = ctl_begin(ctl)) != 0)
		return st;
	if ((st = ctl_need(ctl, sql_sub_id, "subscriber", name, NULL)) == 0 &&
	    ctl_exec(ctl, sql_sub_remove, 1, a) != 1)
		st = 1;
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "subscriber %s removed, with its domains, networks and "
		    "credentials", name);
	return st;
}

static int
sub_set(struct ctl *ctl, int argc, char **argv)
{
	const char *name = argv[0], *key = argv[1], *val;
	long long id;
	int st;

	if (argc != 3)
		return ctl_usage(sub_usage);
	val = argv[2];
	/* Validate the value before touching the store. */
	if (strcmp(key, "status") == 0) {
		if (strcmp(val, "active") != 0 && strcmp(val, "suspended") != 0)
			return ctl_err("status must be active or suspended, not '%s'", val);
	} else if (strcmp(key, "contact") == 0) {
		if (strcmp(val, "none") == 0)
			val = NULL;
		else if (!sub_contact_ok(val))
			return ctl_err("'%s' is not a valid contact address", val);
	} else if (strcmp(key, "name") == 0) {
		if (!sub_name_ok(val))
			return ctl_err("'%s' is not a valid subscriber name", val);
	} else if (strcmp(key, "policy") != 0)
		return ctl_err("unknown subscriber setting '%s' (choices: status, contact, "
		    "policy, name)", key);

	const char *a[] = { name, val };
	if ((st = ctl_begin(ctl)) != 0)
		return st;
	st = ctl_need(ctl, sql_sub_id, "subscriber", name, NULL);
	if (st != 0)
		;
	else if (strcmp(key, "status") == 0)
		st = ctl_exec(ctl, sql_sub_status, 2, a) == 1 ? 0 : 1;
	else if (strcmp(key, "contact") == 0)
		st = ctl_exec(ctl, sql_sub_contact, 2, a) == 1 ? 0 : 1;
	else if (strcmp(key, "name") == 0) {
		const char *n[] = { val };
		if ((st = ctl_query_int(ctl, sql_sub_id, 1, n, &id)) == 1)
			st = ctl_err("subscriber '%s' already exists", val);
		else if (st == 0)
			st = ctl_exec(ctl, sql_sub_rename, 2, a) == 1 ? 0 : 1;
		else
			st = 1;
	} else if (strcmp(val, "none") == 0)
		st = ctl_exec(ctl, sql_sub_nopol, 1, a) < 0 ? 1 : 0;
	else if ((st = ctl_need(ctl, sql_pol_id, "policy", val, NULL)) == 0)
		st = ctl_exec(ctl, sql_sub_setpol, 2, a) == 1 ? 0 : 1;
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "subscriber %s: %s set", name, key);
	return st;
}

int
moatctl_subscriber(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage(sub_usage);
	if (strcmp(argv[0], "list") == 0 && argc == 1)
		return ctl_print(ctl, CTL_TABLE, sql_sub_list, 0, NULL);
	if (argc < 2)
		return ctl_usage(sub_usage);
	if (strcmp(argv[0], "add") == 0)
		return sub_add(ctl, argc - 1, argv + 1);
	if (strcmp(argv[0], "show") == 0 && argc == 2)
		return sub_show(ctl, argv[1]);
	if (strcmp(argv[0], "remove") == 0 && argc == 2)
		return sub_remove(ctl, argv[1]);
	if (strcmp(argv[0], "set") == 0)
		return sub_set(ctl, argc - 1, argv + 1);
	return ctl_usage(sub_usage);
}

static int
canon_domain(const char *in, char *out, size_t len, char *why, size_t whylen)
{
	enum addr_status as;

	/* The form the milter compares (net.h): "Böse.Example." is stored as
	 * xn--bse-sna.example; ".example.com" keeps its dot. */
	if ((as = domain_canon(in, out, len, 1)) != ADDR_OK) {
		snprintf(why, whylen, " (%s)", addr_status_text(as));
		return -1;
	}
	return 0;
}

/* Shared by domain and network: add KEY SUBSCRIBER | list [SUB] | remove KEY. */
struct keyed {
	const char *usage, *what, *sql_add, *sql_owner, *sql_list, *sql_remove;
	int (*canon)(const char *in, char *out, size_t len, char *why, size_t whylen);
};

static int
keyed_cmd(struct ctl *ctl, const struct keyed *k, int argc, char **argv)
{
	char key[300], why[128] = "";
	long long owner;
	int st;

	if (argc < 1)
		return ctl_usage(k->usage);
	if (strcmp(argv[0], "list") == 0 && argc <= 2) {
		const char *a[] = { argc == 2 ? argv[1] : NULL };
		if (argc == 2 && (st = ctl_need(ctl, sql_sub_id, "subscriber", argv[1],
		    NULL)) != 0)
			return st;
		return ctl_print(ctl, CTL_TABLE, k->sql_list, 1, a);
	}
	if (!((strcmp(argv[0], "add") == 0 && argc == 3) ||
	    (strcmp(argv[0], "remove") == 0 && argc == 2)))
		return ctl_usage(k->usage);
	if (k->canon(argv[1], key, sizeof(key), why, sizeof(why)) == -1)
		return ctl_err("'%s' is not a valid %s%s", argv[1], k->what, why);
	const char *a[] = { key, argc > 2 ? argv[2] : NULL };
	if ((st = ctl_begin(ctl)) != 0)
		return st;
	if (strcmp(argv[0], "add") == 0) {
		if ((st = ctl_need(ctl, sql_sub_id, "subscriber", argv[2], NULL)) != 0)
			;
		else if ((st = ctl_query_int(ctl, k->sql_owner, 1, a, &owner)) == 1)
			st = ctl_err("%s %s is already assigned", k->what, key);
		else if (st < 0 || ctl_exec(ctl, k->sql_add, 2, a) != 1)
			st = 1;
		if ((st = ctl_end(ctl, st)) == 0)
			ctl_say(ctl, "%s %s added to %s", k->what, key, argv[2]);
		return st;
	}
	st = ctl_exec_one(ctl, k->sql_remove, 1, a, "no %s '%s'", k->what, key);
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "%s %s removed", k->what, key);
	return st;
}

int
moatctl_domain(struct ctl *ctl, int argc, char **argv)
{
	static const struct keyed k = { dom_usage, "domain", sql_dom_add, sql_dom_owner,
	    sql_dom_list, sql_dom_remove, canon_domain };
	return keyed_cmd(ctl, &k, argc, argv);
}

int
moatctl_network(struct ctl *ctl, int argc, char **argv)
{
	static const struct keyed k = { net_usage, "network", sql_net_add, sql_net_owner,
	    sql_net_list, sql_net_remove, cidr_canon };
	return keyed_cmd(ctl, &k, argc, argv);
}
