/* moatctl db: create, migrate, check and seed the store. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "moatctl.h"

static const char db_usage[] = "usage: moatctl db init [--demo] | migrate | check | seed-demo\n";

static const char db_sql_integrity[] = "PRAGMA integrity_check";
static const char db_sql_fk[] = "SELECT count(*) FROM pragma_foreign_key_check";

/* Opens without the schema check, but never creates: only init may. */
static int
db_open_existing(struct ctl *ctl)
{
	if (ctl_load_conf(ctl) != 0)
		return 1;
	if (ctl->db_path != NULL && access(ctl->db_path, F_OK) == -1)
		return ctl_err("%s: %s; run `moatctl db init`", ctl->db_path,
		    strerror(errno));
	return ctl_open(ctl, STORE_NOCHECK);
}

static int
db_seed(struct ctl *ctl)
{
	char err[1024];

	if (store_seed_demo(ctl->st, err, sizeof(err)) == -1)
		return ctl_store_err(ctl, store_kind(ctl->st), err);
	ctl_say(ctl, "demo data loaded");
	return 0;
}

static int
db_init(struct ctl *ctl, int demo)
{
	char err[1024];

	if (ctl_open(ctl, STORE_NOCHECK) != 0)
		return 1;
	if (store_init(ctl->st, err, sizeof(err)) == -1)
		return ctl_store_err(ctl, store_kind(ctl->st), err);
	ctl_say(ctl, "initialised %s at schema version %d", ctl->db_path,
	    STORE_SCHEMA_VERSION);
	return demo ? db_seed(ctl) : 0;
}

static int
db_migrate(struct ctl *ctl)
{
	char err[1024];
	int from, n;

	if (db_open_existing(ctl) != 0)
		return 1;
	if ((from = store_schema_version(ctl->st)) <= 0)
		return ctl_err("%s: %s", ctl->db_path, from == 0 ?
		    "not a Moat store; run `moatctl db init`" :
		    "cannot read the schema version");
	if ((n = store_migrate(ctl->st, err, sizeof(err))) == -1)
		return ctl_store_err(ctl, store_kind(ctl->st), err);
	if (n == 0)
		ctl_say(ctl, "already at version %d", from);
	else
		ctl_say(ctl, "migrated from %d to %d", from, store_schema_version(ctl->st));
	return 0;
}

/* Schema version, integrity and foreign keys; every problem is printed,
 * and any of them makes the exit status 1. */
static int
db_check(struct ctl *ctl)
{
	sqlite3_stmt *stmt;
	long long nfk = 0;
	int version, bad = 0, rc;

	if (db_open_existing(ctl) != 0)
		return 1;
	version = store_schema_version(ctl->st);
	if (version != STORE_SCHEMA_VERSION) {
		ctl_err("%s: schema version %d, this moatctl needs %d%s", ctl->db_path,
		    version, STORE_SCHEMA_VERSION, version > 0 && version <
		    STORE_SCHEMA_VERSION ? "; " STORE_MIGRATE_HINT : "");
		bad = 1;
	}
	if ((stmt = store_prepare(ctl->st, db_sql_integrity)) == NULL)
		return ctl_sqlerr(ctl);
	while ((rc = store_step(ctl->st, stmt, "integrity")) == STORE_STEP_ROW) {
		const char *r = (const char *)sqlite3_column_text(stmt, 0);
		if (r == NULL || strcmp(r, "ok") != 0) {
			ctl_err("integrity: %s", r != NULL ? r : "?");
			bad = 1;
		}
	}
	if (rc != STORE_STEP_DONE)
		return ctl_sqlerr(ctl);
	if (ctl_query_int(ctl, db_sql_fk, 0, NULL, &nfk) == -1)
		return 1;
	if (nfk > 0) {
		ctl_err("%lld rows break foreign keys (see PRAGMA foreign_key_check)", nfk);
		bad = 1;
	}
	if (!bad)
		ctl_say(ctl, "%s: schema version %d, integrity ok, foreign keys ok",
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
