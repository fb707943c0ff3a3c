/*
 * moatctl - operator console for the Moat store and daemons.
 *
 * Trusts: the operator (root or the store's owner) and the config file.
 * Does not trust: its arguments (validated before any SQL; bound, never
 * spliced into SQL text) or the store's contents (printed as data).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "moatctl.h"

static const char usage_text[] =
    "usage: moatctl [-c CONF] [-d DB] [-q] COMMAND ...\n"
    "  db init [--demo] | migrate | check | seed-demo\n"
    "  subscriber add NAME [--contact ADDR] [--policy NAME] [--suspended]\n"
    "  subscriber list | show NAME | remove NAME\n"
    "  subscriber set NAME status active|suspended | contact ADDR | policy NAME | name NEW\n"
    "  domain add DOMAIN SUBSCRIBER | list [SUBSCRIBER] | remove DOMAIN\n"
    "  network add CIDR SUBSCRIBER | list [SUBSCRIBER] | remove CIDR\n"
    "  policy add NAME [--KEY VALUE ...] | list | show NAME | remove NAME\n"
    "  policy set NAME KEY VALUE [KEY VALUE ...] | keys\n"
    "  policy assign SUBSCRIBER POLICY | recipient ADDRESS POLICY|--remove\n"
    "  threat add ip|cidr|domain|suspect_domain VALUE [--reason TEXT] [--expires 7d|never]\n"
    "  threat list [--all] | remove ID | remove KIND VALUE\n"
    "  usage [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--subscriber NAME] [--csv]\n"
    "  config sample | check\n"
    "  quarantine list|show|raw|release|delete|rescan|purge|digest ...\n";

int
ctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("moatctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int
ctl_usage(const char *text)
{
	fputs(text, stderr);
	return CTL_USAGE;
}

/*
 * Daemons run as the store's owner; if root opened the store, SQLite would
 * create -wal/-shm files the daemons cannot use.  So root acts as the owner
 * of the file (or of its directory when the file does not exist yet).
 */
static int
ctl_become_owner(const char *path)
{
	struct stat sb;
	char *copy;

	if (geteuid() != 0)
		return 0;
	if (stat(path, &sb) == -1) {
		if ((copy = strdup(path)) == NULL)
			return -1;
		int rc = stat(dirname(copy), &sb);
		free(copy);
		if (rc == -1)
			return 0;          /* store_open reports the real problem */
	}
	if (sb.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) == -1 || setresgid(sb.st_gid, sb.st_gid, sb.st_gid) == -1 ||
	    setresuid(sb.st_uid, sb.st_uid, sb.st_uid) == -1)
	{
		ctl_err("cannot switch to the owner of %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
ctl_open(struct ctl *ctl, int flags)
{
	char err[1024];

	if (ctl->st != NULL)
		return 0;
	if (ctl->db_path == NULL)
		return ctl_err("no store: give -d DB or a config with common.store");
	if (ctl_become_owner(ctl->db_path) == -1)
		return 1;
	if (store_open(ctl->db_path, flags, 5000, &ctl->st, err, sizeof(err)) == -1)
		return ctl_err("%s", err);
	return 0;
}

void
ctl_close(struct ctl *ctl)
{
	store_close(ctl->st);
	ctl->st = NULL;
}

static int
ctl_bind(sqlite3_stmt *stmt, int nargs, const char *const args[])
{
	for (int i = 0; i < nargs; i++)
		if ((args[i] != NULL ? sqlite3_bind_text(stmt, i + 1, args[i], -1,
		    SQLITE_TRANSIENT) : sqlite3_bind_null(stmt, i + 1)) != SQLITE_OK)
			return -1;
	return 0;
}

static int
ctl_sqlerr(struct ctl *ctl, int rc)
{
	rc &= 0xff;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return ctl_err("%s: database is locked, try again", ctl->db_path);
	if (rc == SQLITE_CONSTRAINT)
		return ctl_err("refused by the store: %s", sqlite3_errmsg(ctl->st->db));
	return ctl_err("%s: %s", ctl->db_path, sqlite3_errmsg(ctl->st->db));
}

int
ctl_exec(struct ctl *ctl, const char *sql, int nargs, const char *const args[])
{
	sqlite3_stmt *stmt = store_prepare(ctl->st, sql);
	int rc;

	if (stmt == NULL || ctl_bind(stmt, nargs, args) == -1) {
		ctl_sqlerr(ctl, sqlite3_errcode(ctl->st->db));
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		ctl_sqlerr(ctl, rc);
		sqlite3_reset(stmt);
		return -1;
	}
	sqlite3_reset(stmt);
	return sqlite3_changes(ctl->st->db);
}

int
ctl_query_int(struct ctl *ctl, const char *sql, int nargs, const char *const args[],
    long long *out)
{
	sqlite3_stmt *stmt = store_prepare(ctl->st, sql);
	int rc;

	if (stmt == NULL || ctl_bind(stmt, nargs, args) == -1) {
		ctl_sqlerr(ctl, sqlite3_errcode(ctl->st->db));
		return -1;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(stmt, 0);
		sqlite3_reset(stmt);
		return 1;
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	ctl_sqlerr(ctl, rc);
	return -1;
}

int
ctl_begin(struct ctl *ctl)
{
	if (store_begin(ctl->st) == -1)
		return ctl_sqlerr(ctl, sqlite3_errcode(ctl->st->db));
	return 0;
}

int
ctl_end(struct ctl *ctl, int status)
{
	if (status != 0) {
		store_rollback(ctl->st);
		return status;
	}
	if (store_commit(ctl->st) == -1) {
		store_rollback(ctl->st);
		return ctl_sqlerr(ctl, sqlite3_errcode(ctl->st->db));
	}
	return 0;
}

int
ctl_print_query(struct ctl *ctl, const char *sql, int nargs, const char *const args[])
{
	sqlite3_stmt *stmt = store_prepare(ctl->st, sql);
	char ***rows = NULL;
	size_t nrows = 0, cap = 0;
	int ncol, rc, w[32] = { 0 }, status = 0;

	if (stmt == NULL || ctl_bind(stmt, nargs, args) == -1)
		return ctl_sqlerr(ctl, sqlite3_errcode(ctl->st->db));
	ncol = sqlite3_column_count(stmt);
	if (ncol > 32)
		ncol = 32;
	for (int c = 0; c < ncol; c++)
		w[c] = (int)strlen(sqlite3_column_name(stmt, c));
	/* Buffer the rows to size the columns. */
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (nrows == cap) {
			cap = cap ? cap * 2 : 16;
			char ***n = realloc(rows, cap * sizeof(*rows));
			if (n == NULL) {
				status = ctl_err("out of memory");
				break;
			}
			rows = n;
		}
		rows[nrows] = calloc((size_t)ncol, sizeof(char *));
		for (int c = 0; c < ncol && rows[nrows] != NULL; c++) {
			const unsigned char *v = sqlite3_column_text(stmt, c);
			rows[nrows][c] = strdup(v != NULL ? (const char *)v : "-");
			if (rows[nrows][c] != NULL && (int)strlen(rows[nrows][c]) > w[c])
				w[c] = (int)strlen(rows[nrows][c]);
		}
		nrows++;
	}
	if (rc != SQLITE_DONE && status == 0)
		status = ctl_sqlerr(ctl, rc);
	if (status == 0) {
		for (int c = 0; c < ncol; c++)
			printf("%-*s%s", w[c], sqlite3_column_name(stmt, c), c + 1 < ncol ? "  " : "\n");
		for (size_t r = 0; r < nrows; r++)
			for (int c = 0; c < ncol; c++)
				printf("%-*s%s", w[c], rows[r] && rows[r][c] ? rows[r][c] : "",
				    c + 1 < ncol ? "  " : "\n");
	}
	for (size_t r = 0; r < nrows; r++) {
		for (int c = 0; rows[r] != NULL && c < ncol; c++)
			free(rows[r][c]);
		free(rows[r]);
	}
	free(rows);
	sqlite3_reset(stmt);
	return status;
}

static long long
ctl_parse_units(const char *text, const char *suffixes, const long long *mults)
{
	char *end;
	long long v;
	const char *s;

	if (text == NULL || *text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == '\0')
		return v;
	if (end[1] != '\0' || (s = strchr(suffixes, *end | 0x20)) == NULL)
		return -1;
	return v > (long long)1 << 50 ? -1 : v * mults[s - suffixes];
}

long long
ctl_parse_duration(const char *text)
{
	static const long long m[] = { 1, 60, 3600, 86400, 604800 };
	return ctl_parse_units(text, "smhdw", m);
}

long long
ctl_parse_size(const char *text)
{
	static const long long m[] = { 1, 1024, 1024 * 1024, 1024 * 1024 * 1024 };
	return ctl_parse_units(text, "bkmg", m);
}

struct ctl_cmd {
	const char *name;
	int (*fn)(struct ctl *, int, char **);
	int needs_store;
};

static int
ctl_quarantine(struct ctl *ctl, int argc, char **argv)
{
	if (moatctl_quarantine == NULL)
		return ctl_err("quarantine commands are not built");
	return moatctl_quarantine(ctl, argc, argv);
}

static const struct ctl_cmd ctl_cmds[] = {
	{ "db",         moatctl_db,         0 },
	{ "subscriber", moatctl_subscriber, 1 },
	{ "domain",     moatctl_domain,     1 },
	{ "network",    moatctl_network,    1 },
	{ "policy",     moatctl_policy,     1 },
	{ "threat",     moatctl_threat,     1 },
	{ "usage",      moatctl_usage,      1 },
	{ "config",     moatctl_config,     0 },
	{ "quarantine", ctl_quarantine,     0 },
	{ NULL, NULL, 0 }
};

/* Reads common settings from the config (when there is one) for the store
 * path; a missing default config is fine when -d is given. */
static int
ctl_load_conf(struct ctl *ctl, int explicit_conf)
{
	const struct cfg_group *groups[] = { &common_cfg_group };
	void *vals[] = { &ctl->common };
	char err[1024];

	if (!explicit_conf && access(ctl->conf_path, R_OK) == -1)
		return 0;
	if (config_load(ctl->conf_path, groups, vals, 1, err, sizeof(err)) == -1)
		return ctl_err("%s", err);
	ctl->have_conf = 1;
	if (ctl->db_path == NULL)
		ctl->db_path = ctl->common.store;
	return 0;
}

int
main(int argc, char **argv)
{
	struct ctl ctl = { .conf_path = "/etc/moat/moat.conf" };
	int ch, explicit_conf = 0, status;

	log_init("moatctl", 1, NULL);
	log_set_level(LOGL_WARN);
	while ((ch = getopt(argc, argv, "+c:d:qh")) != -1) {
		switch (ch) {
		case 'c': ctl.conf_path = optarg; explicit_conf = 1; break;
		case 'd': ctl.db_path = optarg; break;
		case 'q': ctl.quiet = 1; break;
		default:  return ctl_usage(usage_text);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return ctl_usage(usage_text);
	if (ctl_load_conf(&ctl, explicit_conf) != 0)
		return 1;
	for (const struct ctl_cmd *c = ctl_cmds; c->name != NULL; c++) {
		if (strcmp(c->name, argv[0]) != 0)
			continue;
		if (c->needs_store && ctl_open(&ctl, 0) != 0)
			return 1;
		status = c->fn(&ctl, argc - 1, argv + 1);
		ctl_close(&ctl);
		config_free_values(&common_cfg_group, &ctl.common);
		return status;
	}
	ctl_err("unknown command '%s'", argv[0]);
	return ctl_usage(usage_text);
}
