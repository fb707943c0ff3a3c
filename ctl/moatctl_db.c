/* moatctl db: create, migrate, check and seed the store. */
#include <stdio.h>
#include <string.h>

#include "moatctl.h"

static const char db_usage[] = "usage: moatctl db init [--demo] | migrate | check | seed-demo\n";

static int
db_seed(struct ctl *ctl)
{
	char err[1024];

	if (store_seed_demo(ctl->st, err, sizeof(err)) == -1)
		return ctl_err("%s", err);
	if (!ctl->quiet)
		printf("demo data loaded\n");
	return 0;
}

static int
db_init(struct ctl *ctl, int demo)
{
	char err[1024];

	if (ctl_open(ctl, STORE_NOCHECK) != 0)
		return 1;
	if (store_init(ctl->st, err, sizeof(err)) == -1)
		return ctl_err("%s", err);
	if (!ctl->quiet)
		printf("initialised %s at schema version %d\n", ctl->db_path,
		    STORE_SCHEMA_VERSION);
	return demo ? db_seed(ctl) : 0;
}

static int
db_migrate(struct ctl *ctl)
{
	char err[1024];
	int from, n;

	if (ctl_open(ctl, STORE_NOCHECK) != 0)
		return 1;
	if ((from = store_schema_version(ctl->st)) <= 0)
		return ctl_err("%s: %s", ctl->db_path, from == 0 ?
		    "not a Moat store; run `moatctl db init`" : "cannot read the schema version");
	if ((n = store_migrate(ctl->st, err, sizeof(err))) == -1)
		return ctl_err("%s", err);
	if (!ctl->quiet) {
		if (n == 0)
			printf("already at version %d\n", from);
		else
			printf("migrated from %d to %d\n", from, store_schema_version(ctl->st));
	}
	return 0;
}

static const char db_sql_integrity[] = "PRAGMA integrity_check";
static const char db_sql_fk[] = "SELECT count(*) FROM pragma_foreign_key_check";

static int
db_check(struct ctl *ctl)
{
	sqlite3_stmt *stmt;
	long long nfk = 0;
	int version, bad = 0;

	if (ctl_open(ctl, STORE_NOCHECK) != 0)
		return 1;
	version = store_schema_version(ctl->st);
	if (version != STORE_SCHEMA_VERSION) {
		ctl_err("%s: schema version %d, this moatctl needs %d%s", ctl->db_path,
		    version, STORE_SCHEMA_VERSION, version > 0 && version <
		    STORE_SCHEMA_VERSION ? "; " STORE_MIGRATE_HINT : "");
		bad = 1;
	}
	if ((stmt = store_prepare(ctl->st, db_sql_integrity)) == NULL)
		return ctl_err("%s: %s", ctl->db_path, sqlite3_errmsg(ctl->st->db));
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(stmt, 0);
		if (r == NULL || strcmp(r, "ok") != 0) {
			ctl_err("integrity: %s", r ? r : "?");
			bad = 1;
		}
	}
	sqlite3_reset(stmt);
	if (ctl_query_int(ctl, db_sql_fk, 0, NULL, &nfk) == -1)
		return 1;
	if (nfk > 0) {
		ctl_err("%lld rows break foreign keys (PRAGMA foreign_key_check)", nfk);
		bad = 1;
	}
	if (!bad && !ctl->quiet)
		printf("%s: schema version %d, integrity ok, foreign keys ok\n",
		    ctl->db_path, version);
	return bad;
}

int
moatctl_db(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage(db_usage);
	if (strcmp(argv[0], "init") == 0) {
		if (argc > 2 || (argc == 2 && strcmp(argv[1], "--demo") != 0))
			return ctl_usage(db_usage);
		return db_init(ctl, argc == 2);
	}
	if (argc != 1)
		return ctl_usage(db_usage);
	if (strcmp(argv[0], "migrate") == 0)
		return db_migrate(ctl);
	if (strcmp(argv[0], "check") == 0)
		return db_check(ctl);
	if (strcmp(argv[0], "seed-demo") == 0)
		return ctl_open(ctl, 0) != 0 ? 1 : db_seed(ctl);
	return ctl_usage(db_usage);
}
