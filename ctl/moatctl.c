/*
 * moatctl - operator console for the Moat store and daemons.
 *
 * Trusts: the operator (root or the store's owner) and the config file.
 * Does not trust: its arguments (validated before any SQL, and bound, never
 * spliced into SQL text) or the store's contents (printed as data).
 *
 * This file holds main(), the command table and the helpers every command
 * module shares: opening the store as its owner, transactions, error
 * reporting, and output (aligned table, CSV, records).
 */
#include <arpa/inet.h>
#include <ctype.h>
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
#include "net.h"
#include "updated_conf.h"

/* How long a command waits for another writer before giving up. */
#define CTL_BUSY_MS 5000

static const char usage_text[] =
    "usage: moatctl [-c CONF] [-d DB] [-q] [-v] COMMAND ...\n"
    "  db init [--demo] | migrate | check | seed-demo\n"
    "  subscriber add NAME [--contact ADDR] [--policy NAME] [--suspended]\n"
    "  subscriber list | show NAME | remove NAME\n"
    "  subscriber set NAME status active|suspended | contact ADDR | policy NAME | name NEW\n"
    "  domain add DOMAIN SUBSCRIBER | list [SUBSCRIBER] | remove DOMAIN\n"
    "  network add CIDR SUBSCRIBER | list [SUBSCRIBER] | remove CIDR\n"
    "  login add LOGIN SUBSCRIBER [--password-stdin | --password-file FILE]\n"
    "  login list [SUBSCRIBER] | remove LOGIN | passwd LOGIN [--password-stdin | ...]\n"
    "  policy add NAME [--KEY VALUE ...] | list | show NAME | remove NAME | keys\n"
    "  policy set NAME KEY VALUE [KEY VALUE ...]\n"
    "  policy assign SUBSCRIBER POLICY | recipient ADDRESS POLICY|--remove\n"
    "  threat add ip|cidr|domain|suspect_domain VALUE [--reason TEXT] [--expires 7d|12h|never]\n"
    "  threat list [--all] | remove ID | remove KIND VALUE\n"
    "  usage [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--subscriber NAME] [--csv]\n"
    "  packages add debian|rpm|windows NAME VERSION FILE | list [--json] | remove ID\n"
    "  mirror status | pull\n"
    "  cert add SUBSCRIBER FILE.pem | list [SUBSCRIBER] | remove ID\n"
    "  installs [SUBSCRIBER] [--csv]\n"
    "  downloads [SUBSCRIBER] [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--csv]\n"
    "  switch render | apply | diff | collect\n"
    "  incidents list [--all] | show ID | ack ID [--by NAME] | close ID\n"
    "  rules list | add NAME KIND PARAMS_JSON RESPONSE_JSON [--disabled]\n"
    "  rules enable|disable|remove NAME|ID\n"
    "  events tail [-f] [--kind K] [--daemon D] [--source ADDR] [--subscriber S] [--since T] [-n N]\n"
    "  forensic verify [--key KEY] [--closed] [--range] [FILE] | export --from SEQ --to SEQ\n"
    "    [-o OUT] [FILE] | keygen OUT.pem\n"
    "  decoy sessions [--source ADDR] [--personality P] [--since TIME] [--limit N]\n"
    "  decoy show KEY | replay KEY [--speed X] [--raw] [--print]\n"
    "  config sample | check [-c FILE]\n"
    "  quarantine ...\n";

static int
ctl_verr(const char *fmt, va_list ap)
{
	fputs("moatctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return 1;
}

int
ctl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_verr(fmt, ap);
	va_end(ap);
	return 1;
}

int
ctl_usage(const char *text)
{
	fputs(text, stderr);
	return CTL_USAGE;
}

void
ctl_say(struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	if (ctl->quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int
ctl_load_conf(struct ctl *ctl)
{
	const struct cfg_group *groups[] = { &common_cfg_group };
	void *vals[] = { &ctl->common };
	char err[1024];

	if (ctl->have_conf)
		return 0;
	if (!ctl->conf_explicit && access(ctl->conf_path, F_OK) == -1)
		return 0;
	if (config_load(ctl->conf_path, groups, vals, 1, err, sizeof(err)) == -1)
		return ctl_err("%s", err);
	ctl->have_conf = 1;
	if (ctl->db_path == NULL)
		ctl->db_path = ctl->common.store;
	return 0;
}

/*
 * Daemons run as the store's owner; if root opened the store, SQLite would
 * create -wal/-shm files (and a new store) the daemons cannot use.  So root
 * acts as the owner of the file, or of its directory when the file does not
 * exist yet.  Any other user opens as itself.
 */
static int
ctl_become_owner(const char *path)
{
	struct stat sb;
	char *copy;
	int rc;

	if (geteuid() != 0)
		return 0;
	if (stat(path, &sb) == -1) {
		if ((copy = strdup(path)) == NULL)
			return ctl_err("out of memory");
		rc = stat(dirname(copy), &sb);
		free(copy);
		if (rc == -1)
			return 0;       /* store_open reports the real problem */
	}
	if (sb.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) == -1 || setresgid(sb.st_gid, sb.st_gid, sb.st_gid) == -1 ||
	    setresuid(sb.st_uid, sb.st_uid, sb.st_uid) == -1)
		return ctl_err("cannot switch to uid %u, the owner of %s: %s",
		    (unsigned)sb.st_uid, path, strerror(errno));
	return 0;
}

int
ctl_open(struct ctl *ctl, int flags)
{
	enum store_kind kind;
	char err[1024];

	if (ctl->st != NULL)
		return 0;
	if (ctl_load_conf(ctl) != 0)
		return 1;
	if (ctl->db_path == NULL)
		return ctl_err("no store: give -d DB, or -c CONF with common.store "
		    "(%s does not exist)", ctl->conf_path);
	if (ctl_become_owner(ctl->db_path) != 0)
		return 1;
	if (store_open_kind(ctl->db_path, flags, CTL_BUSY_MS, &ctl->st, &kind,
	    err, sizeof(err)) == -1)
		return ctl_store_err(ctl, kind, err);
	return 0;
}

int
ctl_store_err(struct ctl *ctl, enum store_kind kind, const char *err)
{
	if (kind == STORE_BUSY)
		return ctl_err("%s: database is locked, try again", ctl->db_path);
	return ctl_err("%s", err);
}

void
ctl_close(struct ctl *ctl)
{
	store_close(ctl->st);
	ctl->st = NULL;
}

int
ctl_bind(sqlite3_stmt *stmt, int nargs, const char *const args[])
{
	for (int i = 0; i < nargs; i++) {
		int rc = args[i] != NULL ?
		    sqlite3_bind_text(stmt, i + 1, args[i], -1, SQLITE_TRANSIENT) :
		    sqlite3_bind_null(stmt, i + 1);
		if (rc != SQLITE_OK)
			return -1;
	}
	return 0;
}

int
ctl_sqlerr(struct ctl *ctl)
{
	switch (store_kind(ctl->st)) {
	case STORE_BUSY:
		return ctl_err("%s: database is locked, try again", ctl->db_path);
	case STORE_CONSTRAINT:
		return ctl_err("refused by the store: %s", store_errtext(ctl->st));
	default:
		return ctl_err("%s: %s", ctl->db_path, store_errtext(ctl->st));
	}
}

/* A prepared, bound statement, or NULL (printed). */
static sqlite3_stmt *
ctl_stmt(struct ctl *ctl, const char *sql, int nargs, const char *const args[])
{
	sqlite3_stmt *stmt = store_prepare(ctl->st, sql);

	if (stmt == NULL)
		ctl_sqlerr(ctl);
	else if (ctl_bind(stmt, nargs, args) == -1) {
		ctl_err("%s: %s", ctl->db_path, sqlite3_errmsg(ctl->st->db));
		stmt = NULL;
	}
	return stmt;
}

int
ctl_exec(struct ctl *ctl, const char *sql, int nargs, const char *const args[])
{
	sqlite3_stmt *stmt;

	if ((stmt = ctl_stmt(ctl, sql, nargs, args)) == NULL)
		return -1;
	if (store_run_stmt(ctl->st, stmt, "exec") == -1) {
		ctl_sqlerr(ctl);
		return -1;
	}
	return sqlite3_changes(ctl->st->db);
}

int
ctl_exec_one(struct ctl *ctl, const char *sql, int nargs, const char *const args[],
    const char *none, ...)
{
	va_list ap;
	int n;

	if ((n = ctl_exec(ctl, sql, nargs, args)) != 0)
		return n < 0 ? 1 : 0;
	va_start(ap, none);
	ctl_verr(none, ap);
	va_end(ap);
	return 1;
}

int
ctl_query_int(struct ctl *ctl, const char *sql, int nargs, const char *const args[],
    long long *out)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = ctl_stmt(ctl, sql, nargs, args)) == NULL)
		return -1;
	rc = store_step(ctl->st, stmt, "query");
	if (rc == STORE_STEP_ROW) {
		*out = sqlite3_column_int64(stmt, 0);
		sqlite3_reset(stmt);
		return 1;
	}
	if (rc == STORE_STEP_DONE)
		return 0;
	ctl_sqlerr(ctl);
	return -1;
}

int
ctl_need(struct ctl *ctl, const char *sql, const char *what, const char *name,
    long long *id)
{
	const char *a[] = { name };
	long long dummy;

	switch (ctl_query_int(ctl, sql, 1, a, id != NULL ? id : &dummy)) {
	case 1:
		return 0;
	case 0:
		return ctl_err("no %s named '%s'", what, name);
	default:
		return 1;
	}
}

int
ctl_begin(struct ctl *ctl)
{
	if (store_begin(ctl->st) == -1)
		return ctl_sqlerr(ctl);
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
		/* Report before the rollback replaces the error text. */
		status = ctl_sqlerr(ctl);
		store_rollback(ctl->st);
		return status;
	}
	return 0;
}

/* One CSV field, quoted (RFC 4180) when it holds a comma, quote or newline. */
static void
ctl_csv_field(const char *v)
{
	if (strpbrk(v, ",\"\r\n") == NULL) {
		fputs(v, stdout);
		return;
	}
	putchar('"');
	for (; *v != '\0'; v++) {
		if (*v == '"')
			putchar('"');
		putchar(*v);
	}
	putchar('"');
}

/* The rows of a query, buffered so a table can be sized before printing. */
struct ctl_rows {
	int      ncol;
	size_t   nrows, cap;
	char   **cell;      /* nrows * ncol strings, NULL for SQL NULL */
};

static void
ctl_rows_free(struct ctl_rows *r)
{
	for (size_t i = 0; i < r->nrows * (size_t)r->ncol; i++)
		free(r->cell[i]);
	free(r->cell);
}

static int
ctl_rows_read(struct ctl *ctl, sqlite3_stmt *stmt, struct ctl_rows *r)
{
	int rc;

	r->ncol = sqlite3_column_count(stmt);
	while ((rc = store_step(ctl->st, stmt, "query")) == STORE_STEP_ROW) {
		if (r->nrows == r->cap) {
			size_t ncap = r->cap ? r->cap * 2 : 16;
			char **n = reallocarray(r->cell, ncap * (size_t)r->ncol, sizeof(*n));
			if (n == NULL)
				return ctl_err("out of memory");
			r->cell = n;
			r->cap = ncap;
		}
		char **row = r->cell + r->nrows * (size_t)r->ncol;
		for (int c = 0; c < r->ncol; c++)
			row[c] = NULL;
		r->nrows++;             /* owned now: ctl_rows_free frees it */
		for (int c = 0; c < r->ncol; c++) {
			const unsigned char *v = sqlite3_column_text(stmt, c);
			if (v != NULL && (row[c] = strdup((const char *)v)) == NULL)
				return ctl_err("out of memory");
		}
	}
	if (rc != STORE_STEP_DONE)
		return ctl_sqlerr(ctl);
	return 0;
}

int
ctl_print(struct ctl *ctl, enum ctl_format fmt, const char *sql, int nargs,
    const char *const args[])
{
	struct ctl_rows r = { 0 };
	sqlite3_stmt *stmt;
	size_t *w = NULL;
	int status;

	if ((stmt = ctl_stmt(ctl, sql, nargs, args)) == NULL)
		return 1;
	status = ctl_rows_read(ctl, stmt, &r);
	if (status == 0 && (w = calloc((size_t)r.ncol + 1, sizeof(*w))) == NULL)
		status = ctl_err("out of memory");
	if (status != 0)
		goto done;
	for (int c = 0; c < r.ncol; c++) {
		w[c] = strlen(sqlite3_column_name(stmt, c));
		for (size_t i = 0; i < r.nrows; i++) {
			const char *v = r.cell[i * (size_t)r.ncol + c];
			if (strlen(v != NULL ? v : "-") > w[c])
				w[c] = strlen(v != NULL ? v : "-");
		}
		if (w[c] > w[r.ncol])
			w[r.ncol] = w[c];       /* widest name or value: records */
	}
	switch (fmt) {
	case CTL_TABLE:
		for (int c = 0; c < r.ncol; c++)
			printf("%-*s%s", c + 1 < r.ncol ? (int)w[c] : 0,
			    sqlite3_column_name(stmt, c), c + 1 < r.ncol ? "  " : "\n");
		for (size_t i = 0; i < r.nrows; i++)
			for (int c = 0; c < r.ncol; c++) {
				const char *v = r.cell[i * (size_t)r.ncol + c];
				printf("%-*s%s", c + 1 < r.ncol ? (int)w[c] : 0,
				    v != NULL ? v : "-", c + 1 < r.ncol ? "  " : "\n");
			}
		break;
	case CTL_CSV:
		for (int c = 0; c < r.ncol; c++) {
			ctl_csv_field(sqlite3_column_name(stmt, c));
			fputs(c + 1 < r.ncol ? "," : "\r\n", stdout);
		}
		for (size_t i = 0; i < r.nrows; i++)
			for (int c = 0; c < r.ncol; c++) {
				const char *v = r.cell[i * (size_t)r.ncol + c];
				ctl_csv_field(v != NULL ? v : "");
				fputs(c + 1 < r.ncol ? "," : "\r\n", stdout);
			}
		break;
	case CTL_RECORD:
		for (size_t i = 0; i < r.nrows; i++) {
			size_t nw = 0;
			if (i > 0)
				putchar('\n');
			for (int c = 0; c < r.ncol; c++)
				if (strlen(sqlite3_column_name(stmt, c)) > nw)
					nw = strlen(sqlite3_column_name(stmt, c));
			for (int c = 0; c < r.ncol; c++) {
				const char *v = r.cell[i * (size_t)r.ncol + c];
				printf("%-*s  %s\n", (int)nw + 1,
				    sqlite3_column_name(stmt, c), v != NULL ? v : "-");
			}
		}
		break;
	}
	if (fflush(stdout) == EOF)
		status = ctl_err("stdout: %s", strerror(errno));
done:
	sqlite3_reset(stmt);
	ctl_rows_free(&r);
	free(w);
	return status;
}

int
ctl_parse_id(const char *s, long long *id)
{
	char *end;

	if (s == NULL || *s < '1' || *s > '9' || strlen(s) > 18)
		return -1;
	*id = strtoll(s, &end, 10);
	return *end == '\0' && *id > 0 ? 0 : -1;
}

int
ctl_updated_conf(struct ctl *ctl, struct common_conf *cc, struct updated_conf *uc)
{
	const struct cfg_group *groups[] = { &common_cfg_group, &updated_cfg_group };
	void *vals[] = { cc, uc };
	char err[1024];

	memset(cc, 0, sizeof(*cc));
	memset(uc, 0, sizeof(*uc));
	if (!ctl->conf_explicit && access(ctl->conf_path, F_OK) == -1)
		return ctl_err("%s does not exist: give -c CONF (its updated group names "
		    "packages_dir and mirror_dir)", ctl->conf_path);
	if (config_load(ctl->conf_path, groups, vals, 2, err, sizeof(err)) == -1)
		return ctl_err("%s", err);
	return 0;
}

void
ctl_updated_conf_free(struct common_conf *cc, struct updated_conf *uc)
{
	config_free_values(&common_cfg_group, cc);
	config_free_values(&updated_cfg_group, uc);
}

int
ctl_canon_domain(const char *in, char *out, size_t len)
{
	struct domset *d;
	size_t i, n;
	int ok;

	/* domset_add owns the syntax rules; reuse them rather than restate. */
	if ((d = domset_new()) == NULL)
		return -1;
	ok = domset_add(d, in, NULL) == 0;
	domset_free(d);
	if (!ok || (n = strlen(in)) >= len)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	if (i > 1 && out[i - 1] == '.')
		i--;
	out[i] = '\0';
	return 0;
}

struct ctl_cmd {
	const char *name;
	int (*fn)(struct ctl *, int, char **);
	int needs_store;        /* opened before fn runs, with schema check */
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "db",         moatctl_db,         0 },   /* opens with STORE_NOCHECK */
	{ "subscriber", moatctl_subscriber, 1 },
	{ "domain",     moatctl_domain,     1 },
	{ "network",    moatctl_network,    1 },
	{ "login",      moatctl_login,      0 },   /* reads the secret, then opens */
	{ "policy",     moatctl_policy,     1 },
	{ "threat",     moatctl_threat,     1 },
	{ "usage",      moatctl_usage,      1 },
	{ "config",     moatctl_config,     0 },   /* reads config files itself */
	{ "quarantine", moatctl_quarantine, 0 },
	{ "packages",   moatctl_packages,   0 },   /* opens the source file, then the store */
	{ "mirror",     moatctl_mirror,     0 },
	{ "cert",       moatctl_cert,       0 },   /* reads the PEM file, then opens */
	{ "installs",   moatctl_installs,   1 },
	{ "downloads",  moatctl_downloads,  1 },
	{ "switch",     moatctl_switch,     0 },   /* runs nft as root, then opens */
	{ "incidents",  moatctl_incidents,  1 },
	{ "rules",      moatctl_rules,      1 },
	{ "events",     moatctl_events,     1 },
	{ "forensic",   moatctl_forensic,   0 },   /* files only, no store */
	{ "decoy",      moatctl_decoy,      0 },   /* replay reads the config first */
	{ NULL, NULL, 0 }
};

int
main(int argc, char **argv)
{
	struct ctl ctl = { .conf_path = "/etc/moat/moat.conf" };
	const struct ctl_cmd *c;
	int ch, status;

	/* moatctl prints its own one-line errors; the library's warnings would
	 * repeat them, so they show only with -v. */
	log_init("moatctl", 1, NULL);
	log_set_level(LOGL_ERR);
	while ((ch = getopt(argc, argv, "+c:d:qvh")) != -1) {
		switch (ch) {
		case 'c': ctl.conf_path = optarg; ctl.conf_explicit = 1; break;
		case 'd': ctl.db_path = optarg; break;
		case 'q': ctl.quiet = 1; break;
		case 'v': log_set_level(LOGL_DEBUG); break;
		default:  return ctl_usage(usage_text);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return ctl_usage(usage_text);
	for (c = ctl_cmds; c->name != NULL; c++)
		if (strcmp(c->name, argv[0]) == 0)
			break;
	if (c->name == NULL) {
		ctl_err("unknown command '%s'", argv[0]);
		return ctl_usage(usage_text);
	}
	if (strcmp(c->name, "config") != 0 && ctl_load_conf(&ctl) != 0)
		return 1;
	if (c->needs_store && ctl_open(&ctl, 0) != 0)
		status = 1;
	else
		status = c->fn(&ctl, argc - 1, argv + 1);
	ctl_close(&ctl);
	if (ctl.have_conf)
		config_free_values(&common_cfg_group, &ctl.common);
	if (fflush(stdout) == EOF && status == 0)
		status = ctl_err("stdout: %s", strerror(errno));
	return status;
}
