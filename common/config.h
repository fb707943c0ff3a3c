/*
 * config - one declarative option table per daemon drives parsing of
 * moat.conf (libconfig syntax), validation with "file:line: ..." errors, the
 * effective-settings dump of `-n`, and the generated etc/moat.conf.sample.
 *
 * moat.conf has a group "common" and a group per daemon ("milter",
 * "quarantined", ...).  A program parses "common" plus its own group(s);
 * unknown settings inside a parsed group are errors (a typo must not be
 * silently ignored); groups of other daemons are skipped.
 *
 * Values land in a caller-owned struct at each option's offset.  Strings are
 * strdup'd and freed by config_free_values().
 */
#ifndef MOAT_CONFIG_H
#define MOAT_CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum cfg_type {
	CFG_INT,        /* long long, within [min, max] */
	CFG_BOOL,       /* int 0/1 */
	CFG_STR,        /* char * (NULL when default is NULL and unset) */
	CFG_ENUM,       /* int: index into choices */
	CFG_SIZE,       /* long long bytes; integer or string "10K", "25M", "1G" */
	CFG_DURATION,   /* long long seconds; integer or string "30s", "5m", "2h", "7d" */
};

struct cfg_opt {
	const char         *name;
	enum cfg_type       type;
	const char         *def;      /* default, as written in the file; NULL = unset */
	long long           min, max; /* CFG_INT/SIZE/DURATION bounds (ignored if min > max) */
	const char *const  *choices;  /* CFG_ENUM: NULL-terminated */
	size_t              offset;   /* into the group's struct */
	const char         *help;     /* one or more sentences for the sample file */
};

struct cfg_group {
	const char           *name;   /* "common", "milter", ... */
	const char           *help;   /* comment above the group in the sample */
	const struct cfg_opt *opts;   /* terminated by { .name = NULL } */
};

/* The common group, shared by all programs. */
struct common_conf {
	char      *store;       /* SQLite store path */
	char      *user;        /* unprivileged user daemons drop to */
	char      *run_dir;     /* pidfiles, sockets */
	int        log_level;   /* enum log_level */
	char      *log_json;    /* NULL, "-" or a path */
	int        syslog_facility_mail;
};
extern const struct cfg_group common_cfg_group;

/*
 * Loads path, filling one struct per group (vals[i] for groups[i]).  Every
 * option not in the file gets its default.  Returns 0, or -1 with a
 * "file:line: message" (or "file: message") in err.  On error the structs
 * hold no allocated memory.
 */
int  config_load(const char *path, const struct cfg_group *const groups[],
    void *const vals[], size_t ngroups, char *err, size_t errlen);
/* Frees the strings of a struct filled by config_load. Accepts NULL. */
void config_free_values(const struct cfg_group *group, void *vals);
/* Prints effective settings, libconfig syntax, one group per block. */
void config_print(FILE *fp, const struct cfg_group *const groups[],
    void *const vals[], size_t ngroups);
/* Prints the commented sample (defaults, bounds, choices, help). */
void config_sample(FILE *fp, const struct cfg_group *const groups[], size_t ngroups);

#endif
