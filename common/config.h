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
 *
 * An option may carry a validator (check) for what its type and bounds
 * cannot say (an octal mode, a group that must exist, an absolute path): a
 * value the daemon would refuse is refused at load, so `-n` catches it with
 * file:line.  CFG_RESTART marks an option a running daemon cannot change
 * (its socket, its store, its user): a reload that changes one keeps the
 * old value and says so (config_keep_restart).
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
	/* NULL, or checks the stored value: value points at the field (a
	 * char * for CFG_STR, never NULL when called, a long long or an int).
	 * Returns 0, or -1 with a reason in err (without the option's name). */
	int               (*check)(const void *value, char *err, size_t errlen);
	unsigned            flags;    /* CFG_RESTART */
};

#define CFG_RESTART  0x01u        /* a reload keeps the running value */

struct cfg_group {
	const char           *name;   /* "common", "milter", ... */
	const char           *help;   /* comment above the group in the sample */
	const struct cfg_opt *opts;   /* terminated by { .name = NULL } */
	/* NULL, or checks options against each other once all are loaded.
	 * Returns 0, or -1 with a reason in err. */
	int                 (*check)(const void *vals, char *err, size_t errlen);
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
/* config_load for a reload: the validators of CFG_RESTART options are not
 * run (their values are kept anyway, and a chrooted daemon could not look
 * up a user or group again). */
#define CFG_LOAD_RELOAD 0x01u
int  config_load_flags(const char *path, const struct cfg_group *const groups[],
    void *const vals[], size_t ngroups, unsigned flags, char *err, size_t errlen);
/*
 * For every CFG_RESTART option of group whose value differs between the
 * running cur and the freshly loaded next: logs "group.name changed: needs
 * a restart; keeping the old value" and puts cur's value into next.
 * Returns the number of options kept, or -1 when out of memory.
 */
int  config_keep_restart(const struct cfg_group *group, const void *cur, void *next);
/* Frees the strings of a struct filled by config_load. Accepts NULL. */
void config_free_values(const struct cfg_group *group, void *vals);
/* Prints effective settings, libconfig syntax, one group per block. */
void config_print(FILE *fp, const struct cfg_group *const groups[],
    void *const vals[], size_t ngroups);
/* Prints the commented sample (defaults, bounds, choices, help). */
void config_sample(FILE *fp, const struct cfg_group *const groups[], size_t ngroups);

/* Validators for cfg_opt.check (value as described there). */
int  cfg_check_mode(const void *value, char *err, size_t errlen);      /* octal <= 0777 */
int  cfg_check_group(const void *value, char *err, size_t errlen);     /* existing group */
int  cfg_check_user(const void *value, char *err, size_t errlen);      /* "" or existing user */
int  cfg_check_abspath(const void *value, char *err, size_t errlen);   /* starts with / */
int  cfg_check_unix_path(const void *value, char *err, size_t errlen); /* fits sun_path */
int  cfg_check_smtp_url(const void *value, char *err, size_t errlen);  /* smtp[s]://... */
/* Parses an octal mode ("0660") into *mode.  Returns 0 or -1. */
int  cfg_parse_mode(const char *s, unsigned *mode);

#endif
