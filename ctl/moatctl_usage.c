/* moatctl usage: per-subscriber traffic counters for billing. */
#include <stdio.h>
#include <string.h>

#include "moatctl.h"

static const char use_usage[] =
    "usage: moatctl usage [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--subscriber NAME] [--csv]\n";

static const char sql_usage[] =
    "SELECT u.day, coalesce(s.name, '#' || u.subscriber_id) AS subscriber, u.direction, "
    " u.messages, u.bytes, u.infected, u.quarantined, u.rejected "
    "FROM usage u LEFT JOIN subscribers s ON s.id = u.subscriber_id "
    "WHERE (?1 IS NULL OR u.day >= ?1) AND (?2 IS NULL OR u.day <= ?2) "
    "  AND (?3 IS NULL OR s.name = ?3) "
    "ORDER BY u.day, subscriber, u.direction";

static int
valid_day(const char *d)
{
	static const char shape[] = "dddd-dd-dd";

	if (strlen(d) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? d[i] < '0' || d[i] > '9' : d[i] != shape[i])
			return 0;
	return 1;
}

/* RFC 4180: quote fields holding a comma, quote or line break. */
static void
csv_field(const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

int
moatctl_usage(struct ctl *ctl, int argc, char **argv)
{
	const char *a[3] = { NULL, NULL, NULL };
	int csv = 0, rc;
	sqlite3_stmt *stmt;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--csv") == 0)
			csv = 1;
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			a[0] = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			a[1] = argv[++i];
		else if (strcmp(argv[i], "--subscriber") == 0 && i + 1 < argc)
			a[2] = argv[++i];
		else
			return ctl_usage(use_usage);
	}
	for (int i = 0; i < 2; i++)
		if (a[i] != NULL && !valid_day(a[i]))
			return ctl_err("'%s' is not a day (YYYY-MM-DD)", a[i]);
	if (!csv)
		return ctl_print_query(ctl, sql_usage, 3, a);
	if ((stmt = store_prepare(ctl->st, sql_usage)) == NULL)
		return ctl_err("%s", sqlite3_errmsg(ctl->st->db));
	for (int i = 0; i < 3; i++)
		if (a[i] != NULL)
			sqlite3_bind_text(stmt, i + 1, a[i], -1, SQLITE_TRANSIENT);
	for (int c = 0; c < sqlite3_column_count(stmt); c++)
		printf("%s%s", c ? "," : "", sqlite3_column_name(stmt, c));
	printf("\r\n");
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(stmt); c++) {
			const unsigned char *v = sqlite3_column_text(stmt, c);
			if (c)
				putchar(',');
			csv_field(v ? (const char *)v : "");
		}
		printf("\r\n");
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return ctl_err("%s", sqlite3_errmsg(ctl->st->db));
	return 0;
}
