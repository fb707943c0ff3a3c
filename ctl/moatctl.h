/*
 * moatctl - the operator console.  Every command that changes the store runs
 * in one transaction: it either commits whole or leaves the store exactly as
 * it was.  Errors are one line on stderr and exit status 1; usage errors 2.
 */
#ifndef MOAT_MOATCTL_H
#define MOAT_MOATCTL_H

#include <sqlite3.h>

#include "config.h"
#include "log.h"
#include "store.h"

struct updated_conf;

struct ctl {
	const char         *conf_path;    /* -c */
	int                 conf_explicit;/* -c given: a missing file is an error */
	const char         *db_path;      /* -d, else common.store of the config */
	const char         *endpoint;     /* quarantine API (moatctl_quarantine.c) */
	int                 quiet;        /* -q: no confirmations, only data */
	struct common_conf  common;
	int                 have_conf;    /* common holds values to free */
	struct store       *st;
};

#define CTL_USAGE 2

/* How ctl_print shows the rows of a query. */
enum ctl_format {
	CTL_TABLE,     /* aligned columns under a header line */
	CTL_CSV,       /* RFC 4180: header line, CRLF, quoted when needed */
	CTL_RECORD,    /* one "column: value" line per column of each row */
};

/* Reads the common group of the config (once).  A missing default config is
 * fine; a missing -c file or a bad one is not.  Returns 0, or 1 (printed). */
int  ctl_load_conf(struct ctl *ctl);
/* Opens the store (as its owner when run as root); flags as store_open.
 * Returns 0, or 1 after printing why. */
int  ctl_open(struct ctl *ctl, int flags);
void ctl_close(struct ctl *ctl);
/* Prints "moatctl: ..." on stderr; returns 1 (the exit status). */
int  ctl_err(const char *fmt, ...) LOG_PRINTF(1, 2);
/* Reports the store's last failure by its kind (STORE_BUSY: "try again");
 * returns 1. */
int  ctl_sqlerr(struct ctl *ctl);
/* Prints a store_*() err text, as "database is locked, try again" when kind
 * is STORE_BUSY; returns 1. */
int  ctl_store_err(struct ctl *ctl, enum store_kind kind, const char *err);
/* Prints the usage text of a command group; returns CTL_USAGE. */
int  ctl_usage(const char *text);
/* Prints a confirmation on stdout unless -q. */
void ctl_say(struct ctl *ctl, const char *fmt, ...) LOG_PRINTF(2, 3);
/* Binds args[i] as text ?i+1 (NULL binds NULL).  0, or -1. */
int  ctl_bind(sqlite3_stmt *stmt, int nargs, const char *const args[]);
/* Runs sql (static text) to completion with text args.  Returns the number
 * of rows changed, or -1 (message printed). */
int  ctl_exec(struct ctl *ctl, const char *sql, int nargs, const char *const args[]);
/* ctl_exec for a statement that must change a row: 0 when it changed one
 * or more, else 1 after printing the message none (printf-style: "no
 * login 'x'") or the SQL error. */
int  ctl_exec_one(struct ctl *ctl, const char *sql, int nargs, const char *const args[],
    const char *none, ...) LOG_PRINTF(5, 6);
/* One integer from the first row: 1 found, 0 no row, -1 error (printed). */
int  ctl_query_int(struct ctl *ctl, const char *sql, int nargs,
    const char *const args[], long long *out);
/* The id of the row named name (sql takes ?1): 0 with *id, or 1 after
 * printing "no WHAT named 'NAME'" or the SQL error. */
int  ctl_need(struct ctl *ctl, const char *sql, const char *what, const char *name,
    long long *id);
/* Transactions: ctl_begin returns 0 or 1 (printed); ctl_end commits when
 * status is 0, else rolls back, and returns the exit status. */
int  ctl_begin(struct ctl *ctl);
int  ctl_end(struct ctl *ctl, int status);
/* Prints the rows of a query; NULL shows as "-" (empty in CSV). 0 or 1. */
int  ctl_print(struct ctl *ctl, enum ctl_format fmt, const char *sql, int nargs,
    const char *const args[]);
/* A row id: decimal digits, no sign, > 0.  0, or -1. */
int  ctl_parse_id(const char *s, long long *id);
/* Reads the common and updated groups of the config (moatctl packages,
 * mirror, cert need updated.packages_dir, mirror_dir, common.run_dir);
 * unlike ctl_load_conf a missing default file is an error.  0 with both
 * filled (free with ctl_updated_conf_free), or 1 (printed; nothing to free). */
int  ctl_updated_conf(struct ctl *ctl, struct common_conf *cc, struct updated_conf *uc);
void ctl_updated_conf_free(struct common_conf *cc, struct updated_conf *uc);
/* Lower-cased domain ("Example.COM." -> "example.com", ".example.com"
 * kept); 0, or -1 when not a valid name. */
int  ctl_canon_domain(const char *in, char *out, size_t len);

int moatctl_db(struct ctl *ctl, int argc, char **argv);
int moatctl_subscriber(struct ctl *ctl, int argc, char **argv);
int moatctl_domain(struct ctl *ctl, int argc, char **argv);
int moatctl_network(struct ctl *ctl, int argc, char **argv);
/* Opens the store itself, after reading the secret (moatctl_login.c). */
int moatctl_login(struct ctl *ctl, int argc, char **argv);
int moatctl_policy(struct ctl *ctl, int argc, char **argv);
int moatctl_threat(struct ctl *ctl, int argc, char **argv);
int moatctl_usage(struct ctl *ctl, int argc, char **argv);
int moatctl_config(struct ctl *ctl, int argc, char **argv);
/* Talks to moat-quarantined's API (moatctl_quarantine.c). */
int moatctl_quarantine(struct ctl *ctl, int argc, char **argv);
/* moat-updated's side (issue 10): client packages (files in packages_dir
 * and their rows), the signature mirror's state and vendor pulls, TLS client
 * certificates, and installs/downloads reports (moatctl_usage.c).  packages,
 * mirror and cert open the store themselves. */
int moatctl_packages(struct ctl *ctl, int argc, char **argv);
int moatctl_mirror(struct ctl *ctl, int argc, char **argv);
int moatctl_cert(struct ctl *ctl, int argc, char **argv);
int moatctl_installs(struct ctl *ctl, int argc, char **argv);
int moatctl_downloads(struct ctl *ctl, int argc, char **argv);
/* The front-end switch's nftables table (issue 11, moatctl_switch.c); runs
 * nft before it opens the store itself. */
int moatctl_switch(struct ctl *ctl, int argc, char **argv);
/* moat-secmgr's incidents and correlation rules (issue 12). */
int moatctl_incidents(struct ctl *ctl, int argc, char **argv);
int moatctl_rules(struct ctl *ctl, int argc, char **argv);
/* moat-secmgr's side (issue 12): the events table, followed with filters
 * (moatctl_events.c); the forensic log's verify, export and keygen
 * (moatctl_forensic.c, files only). */
int moatctl_events(struct ctl *ctl, int argc, char **argv);
int moatctl_forensic(struct ctl *ctl, int argc, char **argv);
/* moat-decoyd's recorded sessions (issue 11, moatctl_decoy.c): list, show,
 * replay; attacker text escaped for the terminal. */
int moatctl_decoy(struct ctl *ctl, int argc, char **argv);

#endif
