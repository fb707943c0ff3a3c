/*
 * milter_usage_test - aggregation of billing counters: rows are keyed by
 * (day, subscriber, direction), deltas add up, and a walk sees each row once.
 */
#include <stdio.h>
#include <string.h>

#include "milter.h"
#include "moat_test.h"

struct seen { int rows; int64_t msgs, bytes, inf, quar, rej; int a_in_msgs; };

static int
walk(void *arg, const char *day, int64_t sub, enum usage_dir dir, const struct usage_delta *d)
{
	struct seen *s = arg;

	s->rows++;
	s->msgs += d->messages;
	s->bytes += d->bytes;
	s->inf += d->infected;
	s->quar += d->quarantined;
	s->rej += d->rejected;
	if (strcmp(day, "2026-01-01") == 0 && sub == 1 && dir == USAGE_IN)
		s->a_in_msgs = (int)d->messages;
	return 0;
}

static int
stop_at_first(void *arg, const char *day, int64_t sub, enum usage_dir dir,
    const struct usage_delta *d)
{
	(*(int *)arg)++;
	return -1;
}

static void
case_table(void)
{
	struct { const char *day; int64_t sub; enum usage_dir dir; struct usage_delta d; } adds[] = {
		{ "2026-01-01", 1, USAGE_IN,  { 1, 100, 0, 0, 0 } },
		{ "2026-01-01", 1, USAGE_IN,  { 1, 200, 1, 1, 0 } },
		{ "2026-01-01", 1, USAGE_OUT, { 1, 300, 0, 0, 1 } },
		{ "2026-01-01", 2, USAGE_IN,  { 1, 400, 1, 0, 1 } },
		{ "2026-01-02", 1, USAGE_IN,  { 1, 500, 0, 0, 0 } },
		{ "2026-01-01", 1, USAGE_IN,  { 1, 600, 0, 0, 0 } },
	};
	struct usage_table *t = usage_table_new();
	struct seen s;
	int calls = 0;

	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < sizeof(adds) / sizeof(adds[0]); i++)
		usage_table_add(t, adds[i].day, adds[i].sub, adds[i].dir, &adds[i].d);
	usage_table_walk(t, walk, &s);
	if (usage_table_count(t) != 4 || s.rows != 4) {
		TEST_FAIL("rows: count %zu walked %d, want 4", usage_table_count(t), s.rows);
	}
	if (s.msgs != 6 || s.bytes != 2100 || s.inf != 2 || s.quar != 1 || s.rej != 2) {
		TEST_FAIL("totals: %lld msgs %lld bytes %lld inf %lld quar %lld rej",
		    (long long)s.msgs, (long long)s.bytes, (long long)s.inf, (long long)s.quar,
		    (long long)s.rej);
	}
	if (s.a_in_msgs != 3) {
		TEST_FAIL("(2026-01-01, 1, in): %d messages, want 3", s.a_in_msgs);
	}
	if (usage_table_walk(t, stop_at_first, &calls) != -1 || calls != 1) {
		TEST_FAIL("walk stop: rc/calls %d", calls);
	}
	/* Many distinct keys: every one kept. */
	for (int i = 0; i < 1000; i++) {
		struct usage_delta d = { 1, 1, 0, 0, 0 };
		usage_table_add(t, "2026-02-01", 100 + i, i % 2 ? USAGE_OUT : USAGE_IN, &d);
	}
	if (usage_table_count(t) != 1004) {
		TEST_FAIL("1000 keys: count %zu", usage_table_count(t));
	}
	usage_table_free(t);
	usage_table_free(NULL);
}

/* usage_seen: a retried message (same key, subscriber, direction) within a
 * day is counted once. */
static void
case_seen(void)
{
	struct { const char *name; uint64_t key; int64_t sub; enum usage_dir dir; time_t now;
	    int want; } sc[] = {
		{ "first attempt", 0x1234, 7, USAGE_IN, 1000, 0 },
		{ "retry after a 451", 0x1234, 7, USAGE_IN, 1060, 1 },
		{ "other subscriber", 0x1234, 8, USAGE_IN, 1060, 0 },
		{ "other direction", 0x1234, 7, USAGE_OUT, 1060, 0 },
		{ "other message", 0x5678, 7, USAGE_IN, 1060, 0 },
		{ "no Message-ID never matches", 0, 7, USAGE_IN, 1060, 0 },
		{ "no Message-ID again", 0, 7, USAGE_IN, 1061, 0 },
		{ "a day later counts again", 0x1234, 7, USAGE_IN, 1000 + 86400, 0 },
	};
	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		int got = usage_seen(sc[i].key, sc[i].sub, sc[i].dir, sc[i].now);

		if (got != sc[i].want) {
			TEST_FAIL("usage_seen %s: got %d, want %d", sc[i].name, got,
			    sc[i].want);
		}
	}
}

static const struct test_case cases[] = {
	{ "usage table add, walk, stop",	case_table },
	{ "usage_seen retries",			case_seen },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
