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

struct ctl {
	const char         *conf_path;    /* -c */
	const char         *db_path;      /* -d, else common.store of the config */
	const char         *endpoint;     /* quarantine endpoint (--endpoint or config) */
	int                 quiet;
	struct common_conf  common;
	int                 have_conf;
	struct store       *st;
};

#define CTL_USAGE 2

/* Opens the store (as its owner when run as root); flags as store_open.
 * Returns 0, or 1 after printing why. */
int  ctl_open(struct ctl *ctl, int flags);
void ctl_close(struct ctl *ctl);
/* Prints "moatctl: ..." on stderr; returns 1 (the exit status). */
int  ctl_err(const char *fmt, ...) LOG_PRINTF(1, 2);
/* Prints the usage text of a command group; returns CTL_USAGE. */
int  ctl_usage(const char *text);
/* Runs stmt to completion after binding args[i] as text ?i+1 (NULL binds
 * NULL).  Returns the number of rows changed, or -1 (message printed). */
int  ctl_exec(struct ctl *ctl, const char *sql, int nargs, const char *const args[]);
/* One integer from a one-row query: 1 found, 0 absent, -1 error. */
int  ctl_query_int(struct ctl *ctl, const char *sql, int nargs,
    const char *const args[], long long *out);
/* Transaction helpers: begin prints on failure; end commits when ok, else
 * rolls back; returns the exit status. */
int  ctl_begin(struct ctl *ctl);
int  ctl_end(struct ctl *ctl, int status);
/* Prints the rows of a query as an aligned table with a header line. */
int  ctl_print_query(struct ctl *ctl, const char *sql, int nargs, const char *const args[]);
/* "7d", "12h", "30m", "45s", "3600" -> seconds; -1 when malformed. */
long long ctl_parse_duration(const char *text);
/* "25M", "1024", "10K" -> bytes; -1 when malformed. */
long long ctl_parse_size(const char *text);

int moatctl_db(struct ctl *ctl, int argc, char **argv);
int moatctl_subscriber(struct ctl *ctl, int argc, char **argv);
int moatctl_domain(struct ctl *ctl, int argc, char **argv);
int moatctl_network(struct ctl *ctl, int argc, char **argv);
int moatctl_policy(struct ctl *ctl, int argc, char **argv);
int moatctl_threat(struct ctl *ctl, int argc, char **argv);
int moatctl_usage(struct ctl *ctl, int argc, char **argv);
int moatctl_config(struct ctl *ctl, int argc, char **argv);
/* Written in moatctl_quarantine.c (talks to moat-quarantined's API). */
int moatctl_quarantine(struct ctl *ctl, int argc, char **argv) __attribute__((weak));

#endif
