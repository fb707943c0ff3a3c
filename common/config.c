/*
 * config - table-driven configuration (see config.h).
 *
 * The same option tables parse moat.conf, validate it (every message carries
 * file:line), print effective settings for `-n`, and write the commented
 * sample.  Defaults are written in the tables as text and parsed by the same
 * code as the file, so a default can never disagree with what the file
 * syntax accepts.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "config.h"
#include "units.h"
#include "log.h"

/* Every group any Moat program knows: a top-level name outside this list is
 * a typo, reported even by programs that do not read that group. */
static const char *const config_known_groups[] = {
	"common", "milter", "quarantined", "updated", "decoyd", "secmgr", "switch", "ctl", NULL
};

#define FIELD(vals, o, type) ((type *)(void *)((char *)(vals) + (o)->offset))

static int
config_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *
config_type_name(enum cfg_type t)
{
	switch (t) {
	case CFG_INT:      return "an integer";
	case CFG_BOOL:     return "true or false";
	case CFG_STR:      return "a string";
	case CFG_ENUM:     return "one of the listed words";
	case CFG_SIZE:     return "a size (bytes, or a string like \"25M\": K, M, G)";
	case CFG_DURATION: return "a duration (seconds, or a string like \"5m\": s, m, h, d, w)";
	}
	return "?";
}

static int
config_bounds(const struct cfg_opt *o, long long v, const char *where,
    const char *gname, char *err, size_t errlen)
{
	if (o->min <= o->max) {
		if (v < o->min)
			return config_err(err, errlen, "%s: %s.%s: %lld is below the "
			    "minimum %lld", where, gname, o->name, v, o->min);
		if (v > o->max)
			return config_err(err, errlen, "%s: %s.%s: %lld is above the "
			    "maximum %lld", where, gname, o->name, v, o->max);
	}
	return 0;
}

/*
 * Stores one value.  Exactly one of s (a setting from the file) and text (a
 * default from the table) is non-NULL.  where is "file:line" for messages.
 */
static int
config_store(const struct cfg_opt *o, void *vals, const config_setting_t *s,
    const char *text, const char *where, const char *gname, char *err, size_t errlen)
{
	int type = s != NULL ? config_setting_type(s) : CONFIG_TYPE_STRING;
	long long v = 0;
	const char *str = s != NULL && type == CONFIG_TYPE_STRING ?
	    config_setting_get_string(s) : text;

	switch (o->type) {
	case CFG_INT:
	case CFG_SIZE:
	case CFG_DURATION:
		if (s != NULL && (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64))
			v = config_setting_get_int64(s);
		else if (str == NULL || (o->type == CFG_INT ? parse_int(str, &v) :
		    o->type == CFG_SIZE ? parse_size(str, &v) :
		    parse_duration(str, &v)) == -1 || (s != NULL && o->type == CFG_INT))
			return config_err(err, errlen, "%s: %s.%s: expected %s",
			    where, gname, o->name, config_type_name(o->type));
		if (config_bounds(o, v, where, gname, err, errlen) == -1)
			return -1;
		*FIELD(vals, o, long long) = v;
		return 0;
	case CFG_BOOL:
		if (s != NULL) {
			if (type != CONFIG_TYPE_BOOL)
				return config_err(err, errlen, "%s: %s.%s: expected %s",
				    where, gname, o->name, config_type_name(o->type));
			*FIELD(vals, o, int) = config_setting_get_bool(s);
		} else if (text != NULL && (strcmp(text, "true") == 0 ||
		    strcmp(text, "false") == 0))
			*FIELD(vals, o, int) = strcmp(text, "true") == 0;
		else
			return config_err(err, errlen, "%s: %s.%s: expected %s",
			    where, gname, o->name, config_type_name(o->type));
		return 0;
	case CFG_STR:
		if (s != NULL && type != CONFIG_TYPE_STRING)
			return config_err(err, errlen, "%s: %s.%s: expected %s",
			    where, gname, o->name, config_type_name(o->type));
		free(*FIELD(vals, o, char *));
		*FIELD(vals, o, char *) = NULL;
		if (str != NULL && (*FIELD(vals, o, char *) = strdup(str)) == NULL)
			return config_err(err, errlen, "%s: out of memory", where);
		return 0;
	case CFG_ENUM:
		if (str != NULL && (s == NULL || type == CONFIG_TYPE_STRING))
			for (int i = 0; o->choices[i] != NULL; i++)
				if (strcmp(str, o->choices[i]) == 0) {
					*FIELD(vals, o, int) = i;
					return 0;
				}
		{
			char list[512] = "";
			for (int i = 0; o->choices[i] != NULL; i++) {
				strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
				strncat(list, o->choices[i], sizeof(list) - strlen(list) - 1);
			}
			if (str != NULL && (s == NULL || type == CONFIG_TYPE_STRING))
				return config_err(err, errlen, "%s: %s.%s: \"%s\" is not "
				    "one of: %s", where, gname, o->name, str, list);
			return config_err(err, errlen, "%s: %s.%s: expected one of: %s",
			    where, gname, o->name, list);
		}
	}
	return config_err(err, errlen, "%s: %s.%s: unknown option type", where, gname, o->name);
}

void
config_free_values(const struct cfg_group *group, void *vals)
{
	if (group == NULL || vals == NULL)
		return;
	for (const struct cfg_opt *o = group->opts; o->name != NULL; o++)
		if (o->type == CFG_STR) {
			free(*FIELD(vals, o, char *));
			*FIELD(vals, o, char *) = NULL;
		}
}

static int
config_defaults(const struct cfg_group *g, void *vals)
{
	char err[256];

	for (const struct cfg_opt *o = g->opts; o->name != NULL; o++) {
		if (o->type == CFG_STR && o->def == NULL) {
			*FIELD(vals, o, char *) = NULL;
			continue;
		}
		if (o->type == CFG_STR)
			*FIELD(vals, o, char *) = NULL;
		if (config_store(o, vals, NULL, o->def, "default", g->name, err,
		    sizeof(err)) == -1)
			fatalx("bad built-in default: %s", err);  /* a programming error */
	}
	return 0;
}

static const struct cfg_opt *
config_find(const struct cfg_group *g, const char *name)
{
	for (const struct cfg_opt *o = g->opts; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* Runs o's validator on its stored value; where is "file:line" or "file". */
static int
config_check_opt(const struct cfg_opt *o, void *vals, const char *where,
    const char *gname, int isdefault, char *err, size_t errlen)
{
	const void *value = FIELD(vals, o, char);
	char why[512] = "";

	if (o->check == NULL)
		return 0;
	if (o->type == CFG_STR && *FIELD(vals, o, char *) == NULL)
		return 0;
	if (o->check(value, why, sizeof(why)) == 0)
		return 0;
	return config_err(err, errlen, "%s: %s.%s%s: %s", where, gname, o->name,
	    isdefault ? " (default)" : "", why[0] != '\0' ? why : "bad value");
}

static int
config_group_load(const char *path, const struct cfg_group *g, void *vals,
    const config_setting_t *grp, unsigned flags, char *err, size_t errlen)
{
	char where[1100];
	unsigned char set[512];
	size_t nopts = 0;
	int n;

	for (const struct cfg_opt *o = g->opts; o->name != NULL; o++)
		nopts++;
	if (nopts > sizeof(set))
		fatalx("option group %s: too many options", g->name);  /* programming error */
	memset(set, 0, sizeof(set));
	snprintf(where, sizeof(where), "%s", path);
	if (grp != NULL) {
		snprintf(where, sizeof(where), "%s:%u", path, config_setting_source_line(grp));
		if (!config_setting_is_group(grp))
			return config_err(err, errlen, "%s: %s: expected a group { ... }",
			    where, g->name);
		n = config_setting_length(grp);
		for (int i = 0; i < n; i++) {
			const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
			const char *name = config_setting_name(s);
			const struct cfg_opt *o = name != NULL ? config_find(g, name) : NULL;
			char line[1100];

			snprintf(line, sizeof(line), "%s:%u", path, config_setting_source_line(s));
			if (o == NULL)
				return config_err(err, errlen, "%s: unknown setting '%s.%s'",
				    line, g->name, name ? name : "?");
			if (config_store(o, vals, s, NULL, line, g->name, err, errlen) == -1)
				return -1;
			set[o - g->opts] = 1;
			if ((flags & CFG_LOAD_RELOAD) && (o->flags & CFG_RESTART))
				continue;
			if (config_check_opt(o, vals, line, g->name, 0, err, errlen) == -1)
				return -1;
		}
	}
	/* Defaults are checked too: "user" may name a user this host lacks. */
	for (const struct cfg_opt *o = g->opts; o->name != NULL; o++) {
		if (set[o - g->opts] ||
		    ((flags & CFG_LOAD_RELOAD) && (o->flags & CFG_RESTART)))
			continue;
		if (config_check_opt(o, vals, path, g->name, 1, err, errlen) == -1)
			return -1;
	}
	if (g->check != NULL) {
		char why[512] = "";

		if (g->check(vals, why, sizeof(why)) == -1)
			return config_err(err, errlen, "%s: %s: %s", where, g->name,
			    why[0] != '\0' ? why : "bad settings");
	}
	return 0;
}

int
config_load(const char *path, const struct cfg_group *const groups[],
    void *const vals[], size_t ngroups, char *err, size_t errlen)
{
	return config_load_flags(path, groups, vals, ngroups, 0, err, errlen);
}

int
config_load_flags(const char *path, const struct cfg_group *const groups[],
    void *const vals[], size_t ngroups, unsigned flags, char *err, size_t errlen)
{
	config_t cf;
	config_setting_t *root;
	FILE *fp;
	int rc = -1, n;

	for (size_t i = 0; i < ngroups; i++)
		config_defaults(groups[i], vals[i]);
	if ((fp = fopen(path, "re")) == NULL) {
		config_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto fail_nocf;
	}
	fclose(fp);             /* opened only for an errno-bearing message */
	config_init(&cf);
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		/* An @include'd file names itself; else it is path. */
		const char *file = config_error_file(&cf);

		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			config_err(err, errlen, "%s: cannot read: %s", file ? file : path,
			    config_error_text(&cf));
		else
			config_err(err, errlen, "%s:%d: %s", file ? file : path,
			    config_error_line(&cf), config_error_text(&cf));
		goto done;
	}
	root = config_root_setting(&cf);
	n = config_setting_length(root);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);
		int known = 0;

		for (int k = 0; config_known_groups[k] != NULL; k++)
			known |= strcmp(name, config_known_groups[k]) == 0;
		if (!known) {
			config_err(err, errlen, "%s:%u: unknown group '%s'", path,
			    config_setting_source_line(s), name);
			goto done;
		}
	}
	for (size_t i = 0; i < ngroups; i++)
		if (config_group_load(path, groups[i], vals[i],
		    config_setting_get_member(root, groups[i]->name), flags, err, errlen) == -1)
			goto done;
	rc = 0;
done:
	config_destroy(&cf);
fail_nocf:
	if (rc == -1)
		for (size_t i = 0; i < ngroups; i++)
			config_free_values(groups[i], vals[i]);
	return rc;
}

/* A libconfig string literal: the escapes its scanner reads back. */
static void
config_print_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", fp); break;
		case '\\': fputs("\\\\", fp); break;
		case '\n': fputs("\\n", fp); break;
		case '\r': fputs("\\r", fp); break;
		case '\t': fputs("\\t", fp); break;
		case '\f': fputs("\\f", fp); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(fp, "\\x%02x", *p);
			else
				fputc(*p, fp);
		}
	}
	fputc('"', fp);
}

static void
config_print_value(FILE *fp, const struct cfg_opt *o, void *vals)
{
	switch (o->type) {
	case CFG_INT:
	case CFG_SIZE:
	case CFG_DURATION: {
		long long v = *FIELD(vals, o, long long);
		fprintf(fp, "%lld%s", v, v > INT_MAX || v < INT_MIN ? "L" : "");
		break;
	}
	case CFG_BOOL:
		fputs(*FIELD(vals, o, int) ? "true" : "false", fp);
		break;
	case CFG_STR:
		config_print_string(fp, *FIELD(vals, o, char *));
		break;
	case CFG_ENUM:
		config_print_string(fp, o->choices[*FIELD(vals, o, int)]);
		break;
	}
}

void
config_print(FILE *fp, const struct cfg_group *const groups[], void *const vals[],
    size_t ngroups)
{
	for (size_t i = 0; i < ngroups; i++) {
		fprintf(fp, "%s = {\n", groups[i]->name);
		for (const struct cfg_opt *o = groups[i]->opts; o->name != NULL; o++) {
			if (o->type == CFG_STR && *FIELD(vals[i], o, char *) == NULL) {
				fprintf(fp, "  # %s is not set\n", o->name);
				continue;
			}
			fprintf(fp, "  %s = ", o->name);
			config_print_value(fp, o, vals[i]);
			fputs(";\n", fp);
		}
		fputs("};\n", fp);
	}
}

/* Writes text as "# " comment lines of at most width columns. */
static void
config_wrap(FILE *fp, const char *indent, const char *text, size_t width)
{
	const char *p = text;

	while (*p != '\0') {
		size_t len = strlen(p), cut = len;
		if (len > width) {
			cut = width;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = width;
		}
		fprintf(fp, "%s# %.*s\n", indent, (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

/* The word for a type on the sample's second comment line. */
static const char *
config_type_word(enum cfg_type t)
{
	switch (t) {
	case CFG_INT:      return "integer";
	case CFG_BOOL:     return "boolean";
	case CFG_STR:      return "string";
	case CFG_ENUM:     return "enum";
	case CFG_SIZE:     return "size (bytes, or \"10K\", \"25M\", \"1G\")";
	case CFG_DURATION: return "duration (seconds, or \"30s\", \"5m\", \"2h\", \"7d\")";
	}
	return "?";
}

/* The default as it would be written in the file. */
static void
config_sample_default(FILE *fp, const struct cfg_opt *o)
{
	if (o->def == NULL)
		fputs("\"\"", fp);
	else if (o->type == CFG_STR || o->type == CFG_ENUM ||
	    ((o->type == CFG_SIZE || o->type == CFG_DURATION) &&
	    !isdigit((unsigned char)o->def[strlen(o->def) - 1])))
		config_print_string(fp, o->def);
	else
		fputs(o->def, fp);
}

/*
 * For each group: its help as a comment, then "name = {", and per option
 *   # help, wrapped at 78 columns
 *   # type, default, bounds or choices
 *   #name = default;
 * separated by blank lines.  Deterministic: etc/moat.conf.sample is this
 * output and a test diffs it.
 */
void
config_sample(FILE *fp, const struct cfg_group *const groups[], size_t ngroups)
{
	fputs("# moat.conf - configuration of every Moat program (libconfig syntax).\n"
	    "# Generated by `moatctl config sample`; every setting shows its default.\n"
	    "# Each program reads the common group and its own group.\n", fp);
	for (size_t i = 0; i < ngroups; i++) {
		const struct cfg_group *g = groups[i];

		fputs("\n", fp);
		config_wrap(fp, "", g->help != NULL ? g->help : g->name, 76);
		fprintf(fp, "%s = {\n", g->name);
		for (const struct cfg_opt *o = g->opts; o->name != NULL; o++) {
			if (o != g->opts)
				fputs("\n", fp);
			if (o->help != NULL)
				config_wrap(fp, "  ", o->help, 74);
			fprintf(fp, "  # %s, ", config_type_word(o->type));
			if (o->def == NULL)
				fputs("unset by default", fp);
			else {
				fputs("default ", fp);
				config_sample_default(fp, o);
			}
			if (o->type == CFG_ENUM) {
				fputs(", one of:", fp);
				for (int c = 0; o->choices[c] != NULL; c++)
					fprintf(fp, " %s", o->choices[c]);
			} else if ((o->type == CFG_INT || o->type == CFG_SIZE ||
			    o->type == CFG_DURATION) && o->min <= o->max)
				fprintf(fp, ", %lld..%lld", o->min, o->max);
			if (o->flags & CFG_RESTART)
				fputs("\n  # A running daemon keeps its value until restarted.", fp);
			fprintf(fp, "\n  #%s = ", o->name);
			config_sample_default(fp, o);
			fputs(";\n", fp);
		}
		fputs("};\n", fp);
	}
}

/* Whether o's value differs between a and b. */
static int
config_differs(const struct cfg_opt *o, const void *a, const void *b)
{
	switch (o->type) {
	case CFG_INT:
	case CFG_SIZE:
	case CFG_DURATION:
		return *FIELD(a, o, const long long) != *FIELD(b, o, const long long);
	case CFG_BOOL:
	case CFG_ENUM:
		return *FIELD(a, o, const int) != *FIELD(b, o, const int);
	case CFG_STR: {
		const char *x = *FIELD(a, o, char *const), *y = *FIELD(b, o, char *const);
		return (x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0);
	}
	}
	return 0;
}

int
config_keep_restart(const struct cfg_group *group, const void *cur, void *next)
{
	int kept = 0;

	for (const struct cfg_opt *o = group->opts; o->name != NULL; o++) {
		if (!(o->flags & CFG_RESTART) || !config_differs(o, cur, next))
			continue;
		log_warnx("%s.%s changed: needs a restart; keeping the old value",
		    group->name, o->name);
		switch (o->type) {
		case CFG_INT:
		case CFG_SIZE:
		case CFG_DURATION:
			*FIELD(next, o, long long) = *FIELD(cur, o, const long long);
			break;
		case CFG_BOOL:
		case CFG_ENUM:
			*FIELD(next, o, int) = *FIELD(cur, o, const int);
			break;
		case CFG_STR: {
			const char *old = *FIELD(cur, o, char *const);
			char *copy = NULL;

			if (old != NULL && (copy = strdup(old)) == NULL)
				return -1;
			free(*FIELD(next, o, char *));
			*FIELD(next, o, char *) = copy;
			break;
		}
		}
		kept++;
	}
	return kept;
}

/* Validators (see config.h).  A CFG_STR value is a char * (never NULL). */
#define CHECK_STR(value) (*(char *const *)(value))

int
cfg_parse_mode(const char *s, unsigned *mode)
{
	unsigned long v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '7')
			return -1;
		if ((v = v * 8 + (unsigned long)(*p - '0')) > 0777)
			return -1;
	}
	*mode = (unsigned)v;
	return 0;
}

int
cfg_check_mode(const void *value, char *err, size_t errlen)
{
	unsigned mode;

	if (cfg_parse_mode(CHECK_STR(value), &mode) == -1)
		return config_err(err, errlen, "\"%s\" is not an octal mode "
		    "(0000..0777)", CHECK_STR(value));
	return 0;
}

int
cfg_check_group(const void *value, char *err, size_t errlen)
{
	const char *name = CHECK_STR(value);
	struct group *gr;

	errno = 0;
	if ((gr = getgrnam(name)) != NULL)
		return 0;
	if (errno != 0 && errno != ENOENT && errno != ESRCH)
		return config_err(err, errlen, "cannot look up group \"%s\": %s",
		    name, strerror(errno));
	return config_err(err, errlen, "no group \"%s\"", name);
}

int
cfg_check_user(const void *value, char *err, size_t errlen)
{
	const char *name = CHECK_STR(value);
	struct passwd *pw;

	if (*name == '\0')
		return 0;               /* stay as started (tests) */
	errno = 0;
	if ((pw = getpwnam(name)) != NULL)
		return 0;
	if (errno != 0 && errno != ENOENT && errno != ESRCH)
		return config_err(err, errlen, "cannot look up user \"%s\": %s",
		    name, strerror(errno));
	return config_err(err, errlen, "no user \"%s\"", name);
}

int
cfg_check_abspath(const void *value, char *err, size_t errlen)
{
	if (CHECK_STR(value)[0] != '/')
		return config_err(err, errlen, "\"%s\" is not an absolute path",
		    CHECK_STR(value));
	return 0;
}

int
cfg_check_unix_path(const void *value, char *err, size_t errlen)
{
	const char *s = CHECK_STR(value);

	if (s[0] != '/' || strlen(s) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return config_err(err, errlen, "must be an absolute path shorter than "
		    "%zu bytes", sizeof(((struct sockaddr_un *)0)->sun_path));
	return 0;
}

int
cfg_check_smtp_url(const void *value, char *err, size_t errlen)
{
	const char *s = CHECK_STR(value);

	if ((strncmp(s, "smtp://", 7) != 0 || s[7] == '\0') &&
	    (strncmp(s, "smtps://", 8) != 0 || s[8] == '\0'))
		return config_err(err, errlen, "\"%s\" is not an smtp:// URL", s);
	return 0;
}
