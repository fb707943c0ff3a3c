/*
 * moatctl incidents: what moat-secmgr recorded for a human.
 *
 *   list [--all]        open incidents (all: closed ones too), newest first
 *   show ID             the incident and the events that caused it
 *   ack ID [--by NAME]  a human took it (NAME: --by, else $SUDO_USER, $USER)
 *   close ID            done; the next match of its rule and key opens a new one
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "moatctl.h"

static const char incidents_usage[] =
    "usage: moatctl incidents list [--all] | show ID | ack ID [--by NAME] | close ID\n";

/* ?1: 'all' for closed ones too. */
static const char sql_list[] =
    "SELECT i.id, coalesce(r.name, '(rule ' || i.rule_id || ')') AS rule, i.key, i.status, "
    " CASE WHEN i.acked THEN coalesce(i.acked_by, 'yes') ELSE 'no' END AS acked, "
    " datetime(i.opened, 'unixepoch') AS opened, datetime(i.updated, 'unixepoch') AS updated, "
    " i.responses, CASE WHEN json_valid(i.event_ids) THEN json_array_length(i.event_ids) "
    "  ELSE 0 END AS events "
    "FROM incidents i LEFT JOIN correlation_rules r ON r.id = i.rule_id "
    "WHERE ?1 = 'all' OR i.status = 'open' ORDER BY i.id DESC";
static const char sql_show[] =
    "SELECT i.id, coalesce(r.name, '(rule ' || i.rule_id || ')') AS rule, i.key, i.status, "
    " i.summary, i.response, datetime(i.opened, 'unixepoch') AS opened, "
    " datetime(i.updated, 'unixepoch') AS updated, i.responses, "
    " CASE WHEN i.expires IS NULL THEN '-' ELSE datetime(i.expires, 'unixepoch') END AS expires, "
    " CASE WHEN i.acked THEN 'yes' ELSE 'no' END AS acked, i.acked_by, "
    " datetime(i.acked_at, 'unixepoch') AS acked_at, i.event_ids "
    "FROM incidents i LEFT JOIN correlation_rules r ON r.id = i.rule_id WHERE i.id = ?1";
/* The event_ids text is hostile: json_valid first, integers only. */
static const char sql_events[] =
    "SELECT e.id, datetime(e.ts, 'unixepoch') AS ts, e.daemon, e.kind, e.src_ip, "
    " e.subscriber_id AS subscriber, e.detail_json AS detail FROM events e "
    "WHERE e.id IN (SELECT CAST(value AS INTEGER) FROM json_each((SELECT CASE WHEN "
    " json_valid(event_ids) THEN event_ids ELSE '[]' END FROM incidents WHERE id = ?1))) "
    "ORDER BY e.id";
static const char sql_exists[] = "SELECT id FROM incidents WHERE id = ?1";
static const char sql_ack[] =
    "UPDATE incidents SET acked = 1, acked_by = ?2, acked_at = ?3 WHERE id = ?1";
static const char sql_close[] =
    "UPDATE incidents SET status = 'closed', updated = ?2 WHERE id = ?1 AND status = 'open'";

static int
incidents_id(const char *s, long long *id)
{
	if (ctl_parse_id(s, id) == -1)
		return ctl_err("'%s' is not an incident id", s);
	return 0;
}

static int
incidents_show(struct ctl *ctl, const char *ids)
{
	long long id, found;
	const char *a[] = { ids };
	int r;

	if (incidents_id(ids, &id) != 0)
		return 1;
	if ((r = ctl_query_int(ctl, sql_exists, 1, a, &found)) <= 0)
		return r < 0 ? 1 : ctl_err("no incident %s", ids);
	if (ctl_print(ctl, CTL_RECORD, sql_show, 1, a) != 0)
		return 1;
	printf("\nevents:\n");
	return ctl_print(ctl, CTL_TABLE, sql_events, 1, a);
}

static int
incidents_ack(struct ctl *ctl, int argc, char **argv)
{
	const char *by = NULL;
	char now[32];
	long long id;
	int st;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--by") == 0 && i + 1 < argc)
			by = argv[++i];
		else
			return ctl_usage(incidents_usage);
	}
	if (by == NULL && (by = getenv("SUDO_USER")) == NULL && (by = getenv("USER")) == NULL)
		by = "operator";
	if (by[0] == '\0' || strlen(by) > 64 || strpbrk(by, "\r\n\t") != NULL)
		return ctl_err("--by: 1 to 64 characters, one line");
	if (incidents_id(argv[0], &id) != 0)
		return 1;
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	const char *a[] = { argv[0], by, now };
	if ((st = ctl_begin(ctl)) != 0)
		return st;
	st = ctl_exec_one(ctl, sql_ack, 3, a, "no incident %s", argv[0]);
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "incident %s acknowledged by %s", argv[0], by);
	return st;
}

static int
incidents_close(struct ctl *ctl, const char *ids)
{
	long long id, found;
	char now[32];
	int st, r;

	if (incidents_id(ids, &id) != 0)
		return 1;
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	const char *a[] = { ids, now };
	if ((st = ctl_begin(ctl)) != 0)
		return st;
	if ((r = ctl_query_int(ctl, sql_exists, 1, a, &found)) <= 0)
		st = r < 0 ? 1 : ctl_err("no incident %s", ids);
	else
		st = ctl_exec_one(ctl, sql_close, 2, a, "incident %s is already closed", ids);
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "incident %s closed", ids);
	return st;
}

int
moatctl_incidents(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage(incidents_usage);
	if (strcmp(argv[0], "list") == 0 && argc <= 2) {
		const char *a[] = { "open" };
		if (argc == 2) {
			if (strcmp(argv[1], "--all") != 0)
				return ctl_usage(incidents_usage);
			a[0] = "all";
		}
		return ctl_print(ctl, CTL_TABLE, sql_list, 1, a);
	}
	if (strcmp(argv[0], "show") == 0 && argc == 2)
		return incidents_show(ctl, argv[1]);
	if (strcmp(argv[0], "ack") == 0 && argc >= 2)
		return incidents_ack(ctl, argc - 1, argv + 1);
	if (strcmp(argv[0], "close") == 0 && argc == 2)
		return incidents_close(ctl, argv[1]);
	return ctl_usage(incidents_usage);
}
