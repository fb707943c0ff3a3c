/*
 * moatctl usage: the billing counters moat-milter keeps per day, subscriber
 * and direction, as an aligned table or as CSV (RFC 4180) for the billing
 * system.  Rows of removed subscribers stay billable; they show as "#ID".
 * net_bytes, the last column, is network traffic the switch counted for the
 * subscriber's networks (moatctl switch collect; 'in' to them, 'out' from
 * them); mail's bytes are the bytes column.
 *
 * moatctl downloads and installs: moat-updated's side of billing.  They are
 * commands of their own rather than more rows of `usage`, whose CSV has one
 * fixed shape (day, direction, mail counters) that billing systems read:
 * downloads totals the downloads table per subscriber over a period
 * (requests, those served with 2xx, bytes sent); installs lists each
 * client's recorded update time (client_installs).  Requests nobody was
 * identified for are not billable and not shown.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "moatctl.h"

static const char usage_usage[] =
    "usage: moatctl usage [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--subscriber NAME]"
    " [--csv]\n";

static const char downloads_usage[] =
    "usage: moatctl downloads [SUBSCRIBER] [--since YYYY-MM-DD] [--until YYYY-MM-DD]"
    " [--csv]\n"
    "  per subscriber: requests, served (2xx), bytes; days are UTC, both inclusive\n";
static const char installs_usage[] = "usage: moatctl installs [SUBSCRIBER] [--csv]\n";

static const char sql_sub_id[] = "SELECT id FROM subscribers WHERE name = ?1";
static const char sql_downloads[] =
    "SELECT coalesce(s.name, '#' || d.subscriber_id) AS subscriber, sum(d.requests) AS requests, "
    " sum(CASE WHEN d.status BETWEEN 200 AND 299 THEN d.requests ELSE 0 END) AS served, "
    " sum(d.bytes) AS bytes, datetime(min(d.ts), 'unixepoch') AS first, "
    " datetime(max(d.ts), 'unixepoch') AS last "
    "FROM downloads d LEFT JOIN subscribers s ON s.id = d.subscriber_id "
    "WHERE d.subscriber_id IS NOT NULL AND (?1 IS NULL OR s.name = ?1) "
    " AND (?2 IS NULL OR d.ts >= CAST(?2 AS INTEGER)) "
    " AND (?3 IS NULL OR d.ts < CAST(?3 AS INTEGER)) "
    "GROUP BY d.subscriber_id, s.name ORDER BY subscriber";
static const char sql_installs[] =
    "SELECT s.name AS subscriber, c.client, c.platform, c.update_time, "
    " datetime(c.created, 'unixepoch') AS created "
    "FROM client_installs c JOIN subscribers s ON s.id = c.subscriber_id "
    "WHERE ?1 IS NULL OR s.name = ?1 ORDER BY s.name, c.platform, c.client";
static const char sql_usage[] =
    "SELECT u.day, coalesce(s.name, '#' || u.subscriber_id) AS subscriber, u.direction, "
    " u.messages, u.bytes, u.infected, u.quarantined, u.rejected, u.net_bytes "
    "FROM usage u LEFT JOIN subscribers s ON s.id = u.subscriber_id "
    "WHERE (?1 IS NULL OR u.day >= ?1) AND (?2 IS NULL OR u.day <= ?2) "
    " AND (?3 IS NULL OR s.name = ?3) "
    "ORDER BY u.day, subscriber, u.direction";

/* A real calendar day in the store's YYYY-MM-DD form (2026-02-30 is not). */
static int
usage_day_ok(const char *text)
{
	struct tm tm = { 0 }, back;
	const char *end;
	time_t t;

	if (strlen(text) != 10 || (end = strptime(text, "%Y-%m-%d", &tm)) == NULL ||
	    *end != '\0')
		return 0;
	back = tm;
	t = timegm(&back);
	gmtime_r(&t, &back);
	return back.tm_year == tm.tm_year && back.tm_mon == tm.tm_mon &&
	    back.tm_mday == tm.tm_mday;
}

int
moatctl_usage(struct ctl *ctl, int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *sub = NULL;
	int csv = 0, st;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--csv") == 0)
			csv = 1;
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--subscriber") == 0 && i + 1 < argc)
			sub = argv[++i];
		else
			return ctl_usage(usage_usage);
	}
	if (from != NULL && !usage_day_ok(from))
		return ctl_err("bad --from date '%s' (YYYY-MM-DD)", from);
	if (to != NULL && !usage_day_ok(to))
		return ctl_err("bad --to date '%s' (YYYY-MM-DD)", to);
	if (from != NULL && to != NULL && strcmp(from, to) > 0)
		return ctl_err("--from %s is after --to %s", from, to);
	if (sub != NULL && (st = ctl_need(ctl, sql_sub_id, "subscriber", sub, NULL)) != 0)
		return st;
	const char *a[] = { from, to, sub };
	return ctl_print(ctl, csv ? CTL_CSV : CTL_TABLE, sql_usage, 3, a);
}

/* The Unix time of a day's 00:00 UTC, plus days, as decimal text. */
static void
usage_day_start(const char *day, int plus, char *out, size_t len)
{
	struct tm tm = { 0 };

	strptime(day, "%Y-%m-%d", &tm);
	tm.tm_mday += plus;
	snprintf(out, len, "%lld", (long long)timegm(&tm));
}

int
moatctl_downloads(struct ctl *ctl, int argc, char **argv)
{
	const char *since = NULL, *until = NULL, *sub = NULL;
	char from[32], to[32];
	int csv = 0, st;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--csv") == 0)
			csv = 1;
		else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
			since = argv[++i];
		else if (strcmp(argv[i], "--until") == 0 && i + 1 < argc)
			until = argv[++i];
		else if (argv[i][0] != '-' && sub == NULL)
			sub = argv[i];
		else
			return ctl_usage(downloads_usage);
	}
	if (since != NULL && !usage_day_ok(since))
		return ctl_err("bad --since date '%s' (YYYY-MM-DD)", since);
	if (until != NULL && !usage_day_ok(until))
		return ctl_err("bad --until date '%s' (YYYY-MM-DD)", until);
	if (since != NULL && until != NULL && strcmp(since, until) > 0)
		return ctl_err("--since %s is after --until %s", since, until);
	if (sub != NULL && (st = ctl_need(ctl, sql_sub_id, "subscriber", sub, NULL)) != 0)
		return st;
	if (since != NULL)
		usage_day_start(since, 0, from, sizeof(from));
	if (until != NULL)
		usage_day_start(until, 1, to, sizeof(to));
	const char *a[] = { sub, since != NULL ? from : NULL, until != NULL ? to : NULL };
	return ctl_print(ctl, csv ? CTL_CSV : CTL_TABLE, sql_downloads, 3, a);
}

int
moatctl_installs(struct ctl *ctl, int argc, char **argv)
{
	const char *sub = NULL;
	int csv = 0, st;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--csv") == 0)
			csv = 1;
		else if (argv[i][0] != '-' && sub == NULL)
			sub = argv[i];
		else
			return ctl_usage(installs_usage);
	}
	if (sub != NULL && (st = ctl_need(ctl, sql_sub_id, "subscriber", sub, NULL)) != 0)
		return st;
	const char *a[] = { sub };
	return ctl_print(ctl, csv ? CTL_CSV : CTL_TABLE, sql_installs, 1, a);
}
