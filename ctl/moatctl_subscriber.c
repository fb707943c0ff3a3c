/* moatctl subscriber / domain / network: who Moat serves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moatctl.h"
#include "net.h"

static const char sub_usage[] =
    "usage: moatctl subscriber add NAME [--contact ADDR] [--policy NAME] [--suspended]\n"
    "       moatctl subscriber list | show NAME | remove NAME\n"
    "       moatctl subscriber set NAME status active|suspended | contact ADDR |"
    " policy NAME | name NEW\n";
static const char dom_usage[] =
    "usage: moatctl domain add DOMAIN SUBSCRIBER | list [SUBSCRIBER] | remove DOMAIN\n";
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
static const char sql_sub_list[] =
    "SELECT s.id, s.name, s.status, s.contact, p.name AS policy, "
    " (SELECT count(*) FROM subscriber_domains d WHERE d.subscriber_id = s.id) AS domains, "
    " (SELECT count(*) FROM subscriber_networks n WHERE n.subscriber_id = s.id) AS networks "
    "FROM subscribers s LEFT JOIN subscriber_policies sp ON sp.subscriber_id = s.id "
    "LEFT JOIN policies p ON p.id = sp.policy_id ORDER BY s.name";
static const char sql_sub_show[] =
    "SELECT s.id, s.name, s.status, s.contact, p.name AS policy, "
    " datetime(s.created, 'unixepoch') AS created, "
    " (SELECT count(*) FROM subscriber_credentials c WHERE c.subscriber_id = s.id) AS credentials "
    "FROM subscribers s LEFT JOIN subscriber_policies sp ON sp.subscriber_id = s.id "
    "LEFT JOIN policies p ON p.id = sp.policy_id WHERE s.name = ?1";
static const char sql_sub_doms[] =
    "SELECT d.domain FROM subscriber_domains d JOIN subscribers s ON s.id = d.subscriber_id "
    "WHERE s.name = ?1 ORDER BY d.domain";
static const char sql_sub_nets[] =
    "SELECT n.cidr FROM subscriber_networks n JOIN subscribers s ON s.id = n.subscriber_id "
    "WHERE s.name = ?1 ORDER BY n.cidr";
static const char sql_sub_remove[] = "DELETE FROM subscribers WHERE name = ?1";
static const char sql_sub_status[] = "UPDATE subscribers SET status = ?2 WHERE name = ?1";
static const char sql_sub_contact[] = "UPDATE subscribers SET contact = ?2 WHERE name = ?1";
static const char sql_sub_rename[] = "UPDATE subscribers SET name = ?2 WHERE name = ?1";

static const char sql_dom_add[] =
    "INSERT INTO subscriber_domains(domain, subscriber_id) "
    "SELECT ?1, id FROM subscribers WHERE name = ?2";
static const char sql_dom_exists[] = "SELECT 1 FROM subscriber_domains WHERE domain = ?1";
static const char sql_dom_list[] =
    "SELECT d.domain, s.name AS subscriber, s.status FROM subscriber_domains d "
    "JOIN subscribers s ON s.id = d.subscriber_id "
    "WHERE ?1 IS NULL OR s.name = ?1 ORDER BY s.name, d.domain";
static const char sql_dom_remove[] = "DELETE FROM subscriber_domains WHERE domain = ?1";

static const char sql_net_add[] =
    "INSERT INTO subscriber_networks(cidr, subscriber_id) "
    "SELECT ?1, id FROM subscribers WHERE name = ?2";
static const char sql_net_exists[] = "SELECT 1 FROM subscriber_networks WHERE cidr = ?1";
static const char sql_net_list[] =
    "SELECT n.cidr, s.name AS subscriber, s.status FROM subscriber_networks n "
    "JOIN subscribers s ON s.id = n.subscriber_id "
    "WHERE ?1 IS NULL OR s.name = ?1 ORDER BY s.name, n.cidr";
static const char sql_net_remove[] = "DELETE FROM subscriber_networks WHERE cidr = ?1";

/* 0 when a row named name exists in the query's table, else 1 (printed). */
static int
need(struct ctl *ctl, const char *sql, const char *what, const char *name)
{
	long long id;
	const char *args[] = { name };
	int rc = ctl_query_int(ctl, sql, 1, args, &id);

	if (rc == 0)
		return ctl_err("no %s named '%s'", what, name);
	return rc == 1 ? 0 : 1;
}

static int
sub_add(struct ctl *ctl, int argc, char **argv)
{
	const char *contact = NULL, *policy = NULL, *status = "active";
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
	if (argv[0][0] == '\0')
		return ctl_err("a subscriber needs a name");
	if ((st = ctl_begin(ctl)) != 0)
		return st;
	const char *a[] = { argv[0], status, contact };
	if (ctl_exec(ctl, sql_sub_add, 3, a) < 0)
		st = 1;
	else if (policy != NULL) {
		const char *p[] = { argv[0], policy };
		if ((st = need(ctl, sql_pol_id, "policy", policy)) == 0 &&
		    ctl_exec(ctl, sql_sub_setpol, 2, p) < 0)
			st = 1;
	}
	if ((st = ctl_end(ctl, st)) == 0 && !ctl->quiet)
		printf("subscriber %s added\n", argv[0]);
	return st;
}

static int
sub_show(struct ctl *ctl, const char *name)
{
	const char *a[] = { name };
	int st;

	if ((st = need(ctl, sql_sub_id, "subscriber", name)) != 0)
		return st;
	if ((st = ctl_print_query(ctl, sql_sub_show, 1, a)) != 0)
		return st;
	printf("\n");
	if ((st = ctl_print_query(ctl, sql_sub_doms, 1, a)) != 0)
		return st;
	printf("\n");
	return ctl_print_query(ctl, sql_sub_nets, 1, a);
}

/* Runs one change statement that must touch exactly one row. */
static int
change_one(struct ctl *ctl, const char *sql, int nargs, const char *const args[],
    const char *missing_fmt, const char *missing_arg, const char *done)
{
	int st, n;

	if ((st = ctl_begin(ctl)) != 0)
		return st;
	n = ctl_exec(ctl, sql, nargs, args);
	if (n == 0)
		st = ctl_err(missing_fmt, missing_arg);
	else if (n < 0)
		st = 1;
	if ((st = ctl_end(ctl, st)) == 0 && !ctl->quiet && done != NULL)
		printf("%s\n", done);
	return st;
}

static int
sub_set(struct ctl *ctl, int argc, char **argv)
{
	const char *a[] = { argv[0], argv[2] };
	int st;

	if (argc != 3)
		return ctl_usage(sub_usage);
	if (strcmp(argv[1], "status") == 0) {
		if (strcmp(argv[2], "active") != 0 && strcmp(argv[2], "suspended") != 0)
			return ctl_err("status must be active or suspended, not '%s'", argv[2]);
		return change_one(ctl, sql_sub_status, 2, a, "no subscriber named '%s'",
		    argv[0], "subscriber updated");
	}
	if (strcmp(argv[1], "contact") == 0)
		return change_one(ctl, sql_sub_contact, 2, a, "no subscriber named '%s'",
		    argv[0], "subscriber updated");
	if (strcmp(argv[1], "name") == 0)
		return change_one(ctl, sql_sub_rename, 2, a, "no subscriber named '%s'",
		    argv[0], "subscriber renamed");
	if (strcmp(argv[1], "policy") == 0) {
		if ((st = need(ctl, sql_sub_id, "subscriber", argv[0])) != 0 ||
		    (st = need(ctl, sql_pol_id, "policy", argv[2])) != 0)
			return st;
		return change_one(ctl, sql_sub_setpol, 2, a, "no subscriber named '%s'",
		    argv[0], "policy assigned");
	}
	return ctl_err("unknown subscriber setting '%s' (status, contact, policy, name)",
	    argv[1]);
}

int
moatctl_subscriber(struct ctl *ctl, int argc, char **argv)
{
	const char *a[1];

	if (argc < 1)
		return ctl_usage(sub_usage);
	if (strcmp(argv[0], "list") == 0 && argc == 1)
		return ctl_print_query(ctl, sql_sub_list, 0, NULL);
	if (argc < 2)
		return ctl_usage(sub_usage);
	a[0] = argv[1];
	if (strcmp(argv[0], "add") == 0)
		return sub_add(ctl, argc - 1, argv + 1);
	if (strcmp(argv[0], "show") == 0 && argc == 2)
		return sub_show(ctl, argv[1]);
	if (strcmp(argv[0], "remove") == 0 && argc == 2)
		return change_one(ctl, sql_sub_remove, 1, a, "no subscriber named '%s'",
		    argv[1], "subscriber removed");
	if (strcmp(argv[0], "set") == 0)
		return sub_set(ctl, argc - 1, argv + 1);
	return ctl_usage(sub_usage);
}

/* Shared by domain and network: add KEY SUBSCRIBER / list / remove KEY. */
struct keyed {
	const char *usage, *what, *sql_add, *sql_exists, *sql_list, *sql_remove;
	int (*canon)(const char *in, char *out, size_t len);
};

static int
keyed_cmd(struct ctl *ctl, const struct keyed *k, int argc, char **argv)
{
	char key[300];
	long long one;
	int st;

	if (argc < 1)
		return ctl_usage(k->usage);
	if (strcmp(argv[0], "list") == 0 && argc <= 2) {
		const char *a[] = { argc == 2 ? argv[1] : NULL };
		return ctl_print_query(ctl, k->sql_list, 1, a);
	}
	if (argc < 2)
		return ctl_usage(k->usage);
	if (k->canon(argv[1], key, sizeof(key)) == -1)
		return ctl_err("'%s' is not a valid %s", argv[1], k->what);
	const char *a[] = { key, argc > 2 ? argv[2] : NULL };
	if (strcmp(argv[0], "add") == 0 && argc == 3) {
		if ((st = need(ctl, sql_sub_id, "subscriber", argv[2])) != 0)
			return st;
		if ((st = ctl_begin(ctl)) != 0)
			return st;
		if ((st = ctl_query_int(ctl, k->sql_exists, 1, a, &one)) == 1)
			st = ctl_err("%s %s is already assigned", k->what, key);
		else if (st == 0 && ctl_exec(ctl, k->sql_add, 2, a) < 0)
			st = 1;
		else if (st < 0)
			st = 1;
		if ((st = ctl_end(ctl, st)) == 0 && !ctl->quiet)
			printf("%s %s added to %s\n", k->what, key, argv[2]);
		return st;
	}
	if (strcmp(argv[0], "remove") == 0 && argc == 2)
		return change_one(ctl, k->sql_remove, 1, a, "no such entry '%s'", key, NULL);
	return ctl_usage(k->usage);
}

static int
canon_domain(const char *in, char *out, size_t len)
{
	struct domset *d = domset_new();
	int rc = -1;

	/* domset_add owns the syntax rules; reuse them rather than restate. */
	if (d != NULL && domset_add(d, in, NULL) == 0 && strlen(in) < len) {
		size_t i;
		for (i = 0; in[i] != '\0'; i++)
			out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
		if (i > 1 && out[i - 1] == '.')
			i--;
		out[i] = '\0';
		rc = 0;
	}
	domset_free(d);
	return rc;
}

static int
canon_cidr(const char *in, char *out, size_t len)
{
	struct cidrset *c = cidrset_new();
	int rc = -1;

	if (c != NULL && cidrset_add(c, in, NULL) == 0 && strlen(in) < len) {
		strcpy(out, in);
		rc = 0;
	}
	cidrset_free(c);
	return rc;
}

int
moatctl_domain(struct ctl *ctl, int argc, char **argv)
{
	static const struct keyed k = { dom_usage, "domain", sql_dom_add, sql_dom_exists,
	    sql_dom_list, sql_dom_remove, canon_domain };
	return keyed_cmd(ctl, &k, argc, argv);
}

int
moatctl_network(struct ctl *ctl, int argc, char **argv)
{
	static const struct keyed k = { net_usage, "network", sql_net_add, sql_net_exists,
	    sql_net_list, sql_net_remove, canon_cidr };
	return keyed_cmd(ctl, &k, argc, argv);
}
