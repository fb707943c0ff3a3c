/*
 * moatctl usage: the billing counters moat-milter keeps per day, subscriber
 * and direction, as an aligned table or as CSV (RFC 4180) for the billing
 * system.  Rows of removed subscribers stay billable; they show as "#ID".
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "moatctl.h"

static const char usage_usage[] =
    "usage: moatctl usage [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--subscriber NAME]"
    " [--csv]\n";

static const char sql_sub_id[] = "SELECT id FROM subscribers WHERE name = ?1";
static const char sql_usage[] =
    "SELECT u.day, coalesce(s.name, '#' || u.subscriber_id) AS subscriber, u.direction, "
    " u.messages, u.bytes, u.infected, u.quarantined, u.rejected "
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
