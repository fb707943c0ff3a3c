/*
 * schedule_test - schedule_get on a real store: a client's first request
 * draws and records a time in the window ("HH:MM"), later ones get the
 * recorded time, and clients racing on their first request (two threads,
 * two connections) agree on one row each, through the schema's unique
 * index on (subscriber_id, client, platform) (migration 005).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "updated_bundle.h"
#include "updated_window.h"
#include "moat_test.h"

#define RACE_CLIENTS 200

static char db_dir[1024], db_path[1100];

/* A fresh store with one subscriber (id 1), or exits. */
static void
fresh_store(const char *tag)
{
	char		 err[256];
	const char	*tmp = getenv("TMPDIR");
	struct store	*st;

	snprintf(db_dir, sizeof(db_dir), "%s/schedule_test.%ld", tmp ? tmp : "/tmp",
	    (long)getpid());
	if (mkdir(db_dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "mkdir %s: %s\n", db_dir, strerror(errno));
		exit(1);
	}
	snprintf(db_path, sizeof(db_path), "%s/%s.db", db_dir, tag);
	unlink(db_path);
	if (store_open(db_path, STORE_NOCHECK, 5000, &st, err, sizeof(err)) == -1 ||
	    store_init(st, err, sizeof(err)) == -1 ||
	    store_exec_script(st,
	    "INSERT INTO subscribers (id, name) VALUES (1, 'acme');", err, sizeof(err)) == -1) {
		fprintf(stderr, "store %s: %s\n", db_path, err);
		exit(1);
	}
	store_close(st);
}

static struct store *
open_store(void)
{
	struct store	*st;
	char		 err[256];

	if (store_open(db_path, 0, 10000, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "store %s: %s\n", db_path, err);
		exit(1);
	}
	return st;
}

static void
case_first_then_recorded(void)
{
	struct store	*st;
	unsigned	 m1 = 9999, m2 = 9999, m3 = 9999;
	sqlite3_stmt	*s;

	fresh_store("first");
	st = open_store();
	TEST_INT_EQ("first", schedule_get(st, 1, "ip:10.0.0.1", "debian", 1320, 480, &m1), 0);
	TEST_CHECK(window_contains(1320, 480, m1), "minute %u outside 22:00-06:00", m1);
	TEST_INT_EQ("second", schedule_get(st, 1, "ip:10.0.0.1", "debian", 1320, 480, &m2), 1);
	TEST_INT_EQ("same minute", m2, m1);
	/* Another platform is another install. */
	TEST_INT_EQ("windows", schedule_get(st, 1, "ip:10.0.0.1", "windows", 60, 1, &m3), 0);
	TEST_INT_EQ("windows minute", m3, 60);

	/* Stored as HH:MM, one row per install. */
	s = store_prepare(st, "SELECT update_time, count(*) OVER () FROM client_installs "
	    "WHERE platform = 'debian'");
	if (s == NULL || store_step(st, s, "test") != STORE_STEP_ROW)
		TEST_FATAL("no row");
	char want[16];
	snprintf(want, sizeof(want), "%02u:%02u", m1 / 60, m1 % 60);
	TEST_STR_EQ("update_time", (const char *)sqlite3_column_text(s, 0), want);
	TEST_INT_EQ("rows", sqlite3_column_int(s, 1), 1);
	sqlite3_reset(s);

	/* A time an operator mangled is an error, not a fresh draw. */
	store_exec_script(st, "UPDATE client_installs SET update_time = '7:5';", NULL, 0);
	TEST_INT_EQ("mangled", schedule_get(st, 1, "ip:10.0.0.1", "debian", 1320, 480, &m2), -1);
	store_close(st);
}

struct racer {
	unsigned  minute[RACE_CLIENTS];
	int       drawn;       /* how many this thread's draws were recorded */
	int       errors;
};

static void *
race(void *arg)
{
	struct racer	*r = arg;
	struct store	*st = open_store();
	char		 client[32];

	for (int i = 0; i < RACE_CLIENTS; i++) {
		snprintf(client, sizeof(client), "ip:10.1.%d.%d", i / 250, i % 250);
		int rc = schedule_get(st, 1, client, "debian", 1320, 480, &r->minute[i]);
		if (rc == -1)
			r->errors++;
		else if (rc == 0)
			r->drawn++;
	}
	store_close(st);
	return NULL;
}

static void
case_race(void)
{
	static struct racer	 a, b;
	pthread_t		 ta, tb;
	struct store		*st;
	sqlite3_stmt		*s;

	fresh_store("race");
	pthread_create(&ta, NULL, race, &a);
	pthread_create(&tb, NULL, race, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	TEST_INT_EQ("errors", a.errors + b.errors, 0);
	for (int i = 0; i < RACE_CLIENTS; i++)
		if (a.minute[i] != b.minute[i])
			TEST_FAIL("client %d: %u and %u", i, a.minute[i], b.minute[i]);
	/* Each install drawn once: exactly one of the two recorded it. */
	TEST_INT_EQ("drawn", a.drawn + b.drawn, RACE_CLIENTS);

	st = open_store();
	s = store_prepare(st, "SELECT count(*), count(DISTINCT client) FROM client_installs");
	if (s == NULL || store_step(st, s, "test") != STORE_STEP_ROW)
		TEST_FATAL("count");
	TEST_INT_EQ("rows", sqlite3_column_int(s, 0), RACE_CLIENTS);
	TEST_INT_EQ("clients", sqlite3_column_int(s, 1), RACE_CLIENTS);
	sqlite3_reset(s);
	store_close(st);
}

static const struct test_case cases[] = {
	{ "first_then_recorded", case_first_then_recorded },
	{ "race", case_race },
	{ NULL, NULL }
};

int
main(void)
{
	int rc = test_run(cases);

	if (rc == 0 && db_dir[0] != '\0')
		test_rmtree(db_dir);
	else if (rc != 0)
		fprintf(stderr, "stores kept in %s\n", db_dir);
	return rc;
}
