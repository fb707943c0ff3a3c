/*
 * moatctl rules: moat-secmgr's correlation rules (correlation_rules).
 * A rule is checked by the parser the daemon runs (secmgr/secmgr_rule.c)
 * before it is stored, so what moatctl accepts the daemon loads; rows
 * edited with sqlite3 are checked by the daemon itself (skipped and
 * reported when bad).  Every change bumps meta.rule_generation (triggers):
 * the daemon reloads within a second.
 *
 *   list
 *   add NAME threshold|multi|sequence PARAMS_JSON RESPONSE_JSON [--disabled]
 *   enable NAME|ID, disable NAME|ID, remove NAME|ID
 */
#include <stdio.h>
#include <string.h>

#include "moatctl.h"
#include "secmgr_rule.h"

static const char rules_usage[] =
    "usage: moatctl rules list\n"
    "       moatctl rules add NAME threshold|multi|sequence PARAMS_JSON RESPONSE_JSON "
    "[--disabled]\n"
    "       moatctl rules enable|disable|remove NAME|ID\n"
    "(docs/SECMGR.md describes PARAMS_JSON and RESPONSE_JSON)\n";

static const char sql_list[] =
    "SELECT id, name, kind, CASE WHEN enabled THEN 'yes' ELSE 'no' END AS enabled, "
    " params_json AS params, response_json AS response FROM correlation_rules ORDER BY id";
static const char sql_add[] =
    "INSERT INTO correlation_rules(name, kind, params_json, response_json, enabled) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_exists[] = "SELECT id FROM correlation_rules WHERE name = ?1";
static const char sql_find[] =
    "SELECT id FROM correlation_rules WHERE name = ?1 OR CAST(id AS TEXT) = ?1 "
    "ORDER BY name = ?1 DESC LIMIT 1";
static const char sql_enable[] = "UPDATE correlation_rules SET enabled = ?2 WHERE id = ?1";
static const char sql_remove[] = "DELETE FROM correlation_rules WHERE id = ?1";

static int
rules_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= SECMGR_NAME_LEN)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || *s == 0x7f)
			return 0;
	return 1;
}

static int
rules_add(struct ctl *ctl, int argc, char **argv)
{
	struct secmgr_rule r;
	char err[512];
	long long id;
	const char *enabled = "1";
	int st, r2;

	if (argc == 5 && strcmp(argv[4], "--disabled") == 0)
		enabled = "0";
	else if (argc != 4)
		return ctl_usage(rules_usage);
	if (!rules_name_ok(argv[0]))
		return ctl_err("rule name: 1 to %d characters, no spaces or control characters",
		    SECMGR_NAME_LEN - 1);
	if (secmgr_rule_parse(argv[1], argv[2], argv[3], &r, err, sizeof(err)) == -1)
		return ctl_err("rule %s refused: %s", argv[0], err);
	const char *a[] = { argv[0], argv[1], argv[2], argv[3], enabled };
	if ((st = ctl_begin(ctl)) != 0)
		return st;
	if ((r2 = ctl_query_int(ctl, sql_exists, 1, a, &id)) != 0)
		st = r2 < 0 ? 1 : ctl_err("a rule named '%s' exists (id %lld)", argv[0], id);
	else if (ctl_exec(ctl, sql_add, 5, a) != 1)
		st = 1;
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "rule %s added (%s, key %s)%s", argv[0], argv[1],
		    secmgr_key_name(r.key), enabled[0] == '0' ? ", disabled" : "");
	return st;
}

static int
rules_change(struct ctl *ctl, const char *verb, const char *which)
{
	char ids[32];
	long long id;
	int st;

	if ((st = ctl_begin(ctl)) != 0)
		return st;
	if ((st = ctl_need(ctl, sql_find, "rule", which, &id)) == 0) {
		snprintf(ids, sizeof(ids), "%lld", id);
		const char *a[] = { ids, strcmp(verb, "enable") == 0 ? "1" : "0" };
		st = ctl_exec_one(ctl, strcmp(verb, "remove") == 0 ? sql_remove : sql_enable,
		    strcmp(verb, "remove") == 0 ? 1 : 2, a, "no rule %s", which);
	}
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "rule %s %s", which, strcmp(verb, "remove") == 0 ? "removed" :
		    strcmp(verb, "enable") == 0 ? "enabled" : "disabled");
	return st;
}

int
moatctl_rules(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage(rules_usage);
	if (strcmp(argv[0], "list") == 0 && argc == 1)
		return ctl_print(ctl, CTL_TABLE, sql_list, 0, NULL);
	if (strcmp(argv[0], "add") == 0)
		return rules_add(ctl, argc - 1, argv + 1);
	if ((strcmp(argv[0], "enable") == 0 || strcmp(argv[0], "disable") == 0 ||
	    strcmp(argv[0], "remove") == 0) && argc == 2)
		return rules_change(ctl, argv[0], argv[1]);
	return ctl_usage(rules_usage);
}
