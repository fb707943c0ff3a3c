/*
 * config_test - table-driven tests of config.c: each case writes a file,
 * loads it with a test group that has every option type, and compares the
 * error message or the values with what is wanted.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "moat_test.h"

struct tconf {
	long long  threads;
	int        flag;
	char      *name;
	int        mode;
	long long  max_size;
	long long  timeout;
	char      *opt;
	long long  big;
};

static const char *const tmodes[] = { "fast", "slow", "off", NULL };

#define T(f) offsetof(struct tconf, f)
static const struct cfg_opt topts[] = {
	{ "threads", CFG_INT, "4", 1, 64, NULL, T(threads), "Scan threads.", NULL, 0 },
	{ "flag", CFG_BOOL, "false", 0, -1, NULL, T(flag), "A flag.", NULL, 0 },
	{ "name", CFG_STR, "moat", 0, -1, NULL, T(name), "A name.", NULL, 0 },
	{ "mode", CFG_ENUM, "slow", 0, -1, tmodes, T(mode), "A mode.", NULL, 0 },
	{ "max_size", CFG_SIZE, "25M", 1, 1LL << 30, NULL, T(max_size), "A size.", NULL, 0 },
	{ "timeout", CFG_DURATION, "5m", 1, 7 * 86400, NULL, T(timeout), "A time.", NULL, 0 },
	{ "opt", CFG_STR, NULL, 0, -1, NULL, T(opt), "Unset by default.", NULL, 0 },
	{ "big", CFG_INT, "-1", -1, LLONG_MAX, NULL, T(big), "Wide bounds.", NULL, 0 },
	{ NULL, 0, NULL, 0, 0, NULL, 0, NULL, NULL, 0 }
};
static const struct cfg_group tgroup = { "milter", "The test group.", topts, NULL };

struct want {
	long long   threads;
	int         flag;
	const char *name;
	int         mode;
	long long   max_size, timeout;
	const char *opt;             /* NULL: want unset */
	long long   big;
	const char *store;           /* common.store */
};

#define DEFAULTS 4, 0, "moat", 1, 25LL << 20, 300, NULL, -1, "/var/lib/moat/moat.db"

struct tcase {
	const char *name;
	const char *text;     /* NULL: the file does not exist */
	const char *err;      /* wanted message, "FILE" standing for the path; NULL: success */
	struct want want;
};

static const struct tcase cases[] = {
	{ "every type", "common = { store = \"/tmp/x.db\"; log_level = \"debug\"; };\n"
	  "milter = {\n  threads = 8;\n  flag = true;\n  name = \"a \\\"q\\\" b\";\n"
	  "  mode = \"off\";\n  max_size = 1048576;\n  timeout = 30;\n  opt = \"x\";\n"
	  "  big = 5000000000L;\n};\n", NULL,
	  { 8, 1, "a \"q\" b", 2, 1048576, 30, "x", 5000000000LL, "/tmp/x.db" } },
	{ "absent group gets defaults", "common = { };\n", NULL, { DEFAULTS } },
	{ "empty file gets defaults", "", NULL, { DEFAULTS } },
	{ "other daemon's group is skipped", "secmgr = { anything = 1; };\n", NULL,
	  { DEFAULTS } },
	{ "size suffixes", "milter = { max_size = \"10K\"; };\n", NULL,
	  { 4, 0, "moat", 1, 10240, 300, NULL, -1, "/var/lib/moat/moat.db" } },
	{ "size suffix M lower case", "milter = { max_size = \"3m\"; };\n", NULL,
	  { 4, 0, "moat", 1, 3LL << 20, 300, NULL, -1, "/var/lib/moat/moat.db" } },
	{ "size suffix G", "milter = { max_size = \"1G\"; };\n", NULL,
	  { 4, 0, "moat", 1, 1LL << 30, 300, NULL, -1, "/var/lib/moat/moat.db" } },
	{ "duration hours", "milter = { timeout = \"2h\"; };\n", NULL,
	  { 4, 0, "moat", 1, 25LL << 20, 7200, NULL, -1, "/var/lib/moat/moat.db" } },
	{ "duration days", "milter = { timeout = \"7d\"; };\n", NULL,
	  { 4, 0, "moat", 1, 25LL << 20, 604800, NULL, -1, "/var/lib/moat/moat.db" } },
	{ "duration seconds suffix", "milter = { timeout = \"45s\"; };\n", NULL,
	  { 4, 0, "moat", 1, 25LL << 20, 45, NULL, -1, "/var/lib/moat/moat.db" } },
	{ "missing file", NULL, "FILE: cannot open: No such file or directory", { DEFAULTS } },
	{ "syntax error line", "milter = {\n  threads = 4;\n  flag = ;\n};\n",
	  "FILE:3: syntax error", { DEFAULTS } },
	{ "unknown setting", "milter = {\n  threads = 4;\n\n  foo = 1;\n};\n",
	  "FILE:4: unknown setting 'milter.foo'", { DEFAULTS } },
	{ "unknown common setting", "common = {\n  stroe = \"x\";\n};\n",
	  "FILE:2: unknown setting 'common.stroe'", { DEFAULTS } },
	{ "unknown group", "\nmilterr = { threads = 4; };\n",
	  "FILE:2: unknown group 'milterr'", { DEFAULTS } },
	{ "wrong type int", "milter = {\n  threads = \"8\";\n};\n",
	  "FILE:2: milter.threads: expected an integer", { DEFAULTS } },
	{ "wrong type float", "milter = {\n  threads = 8.5;\n};\n",
	  "FILE:2: milter.threads: expected an integer", { DEFAULTS } },
	{ "wrong type bool", "milter = { flag = 1; };\n",
	  "FILE:1: milter.flag: expected true or false", { DEFAULTS } },
	{ "wrong type string", "milter = { name = 3; };\n",
	  "FILE:1: milter.name: expected a string", { DEFAULTS } },
	{ "above maximum", "milter = {\n  threads = 500;\n};\n",
	  "FILE:2: milter.threads: 500 is above the maximum 64", { DEFAULTS } },
	{ "below minimum", "milter = { threads = 0; };\n",
	  "FILE:1: milter.threads: 0 is below the minimum 1", { DEFAULTS } },
	{ "size above maximum", "milter = { max_size = \"2G\"; };\n",
	  "FILE:1: milter.max_size: 2147483648 is above the maximum 1073741824", { DEFAULTS } },
	{ "bad size suffix", "milter = { max_size = \"10X\"; };\n",
	  "FILE:1: milter.max_size: expected a size (bytes, or a string like \"25M\": K, M, G)",
	  { DEFAULTS } },
	{ "size trailing junk", "milter = { max_size = \"10KB\"; };\n",
	  "FILE:1: milter.max_size: expected a size (bytes, or a string like \"25M\": K, M, G)",
	  { DEFAULTS } },
	{ "bad duration", "milter = { timeout = \"soon\"; };\n",
	  "FILE:1: milter.timeout: expected a duration (seconds, or a string like \"5m\": "
	  "s, m, h, d, w)", { DEFAULTS } },
	{ "bad enum", "milter = {\n mode = \"quick\";\n};\n",
	  "FILE:2: milter.mode: \"quick\" is not one of: fast, slow, off", { DEFAULTS } },
	{ "enum not a string", "milter = { mode = 1; };\n",
	  "FILE:1: milter.mode: expected one of: fast, slow, off", { DEFAULTS } },
	{ "bad common enum", "common = { log_level = \"loud\"; };\n",
	  "FILE:1: common.log_level: \"loud\" is not one of: error, warning, info, debug",
	  { DEFAULTS } },
	{ "group not a group", "milter = 5;\n",
	  "FILE:1: milter: expected a group { ... }", { DEFAULTS } },
	{ "duplicate setting", "milter = {\n threads = 4;\n threads = 5;\n};\n",
	  "FILE:3: duplicate setting name", { DEFAULTS } },
};

/* The scratch directory main() makes for the cases. */
static char work_dir[PATH_MAX];

static void
check_ll(const char *tc, const char *field, long long got, long long want)
{
	char what[256];

	snprintf(what, sizeof(what), "%s: %s", tc, field);
	TEST_INT_EQ(what, got, want);
}

static void
check_str(const char *tc, const char *field, const char *got, const char *want)
{
	char what[256];

	snprintf(what, sizeof(what), "%s: %s", tc, field);
	TEST_STR_EQ(what, got, want);
}

static void
check_values(const char *tc, const struct tconf *t, const struct common_conf *c,
    const struct want *w)
{
	check_ll(tc, "threads", t->threads, w->threads);
	check_ll(tc, "flag", t->flag, w->flag);
	check_str(tc, "name", t->name, w->name);
	check_ll(tc, "mode", t->mode, w->mode);
	check_ll(tc, "max_size", t->max_size, w->max_size);
	check_ll(tc, "timeout", t->timeout, w->timeout);
	check_str(tc, "opt", t->opt, w->opt);
	check_ll(tc, "big", t->big, w->big);
	check_str(tc, "common.store", c->store, w->store);
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0) {
		perror(path);
		exit(2);
	}
}

/* "FILE" in want replaced by path. */
static void
expand(char *out, size_t len, const char *want, const char *path)
{
	const char *f = strstr(want, "FILE");

	if (f == NULL)
		snprintf(out, len, "%s", want);
	else
		snprintf(out, len, "%.*s%s%s", (int)(f - want), want, path, f + 4);
}

static const struct cfg_group *const groups[] = { &common_cfg_group, &tgroup };

static void
run_case(const struct tcase *tc, const char *dir)
{
	char path[PATH_MAX], err[1024] = "", want[1024];
	struct tconf t;
	struct common_conf c;
	void *const vals[] = { &c, &t };
	int rc;

	memset(&t, 0xa5, sizeof(t));   /* config_load must not read garbage */
	memset(&c, 0xa5, sizeof(c));
	snprintf(path, sizeof(path), "%s/case.conf", dir);
	unlink(path);
	if (tc->text != NULL)
		write_file(path, tc->text);
	rc = config_load(path, groups, vals, 2, err, sizeof(err));
	if (tc->err != NULL) {
		expand(want, sizeof(want), tc->err, path);
		if (rc != -1) {
			TEST_FAIL("%s: got success, want error \"%s\"", tc->name, want);
		} else if (strcmp(err, want) != 0) {
			TEST_FAIL("%s: error\n  got  \"%s\"\n  want \"%s\"",
			    tc->name, err, want);
		}
		/* "On error the structs hold no allocated memory": strings NULL. */
		if (rc == -1 && (t.name != NULL || c.store != NULL)) {
			TEST_FAIL("%s: strings left allocated after an error",
			    tc->name);
		}
		return;
	}
	if (rc != 0) {
		TEST_FAIL("%s: got error \"%s\", want success", tc->name, err);
		return;
	}
	check_values(tc->name, &t, &c, &tc->want);
	config_free_values(&tgroup, &t);
	config_free_values(&common_cfg_group, &c);
}

/* config_print output must load back to the same values. */
static void
test_roundtrip(void)
{
	const char *dir = work_dir;
	char path[PATH_MAX], path2[PATH_MAX], err[1024];
	struct tconf t, t2;
	struct common_conf c, c2;
	void *const vals[] = { &c, &t };
	void *const vals2[] = { &c2, &t2 };
	FILE *fp;

	snprintf(path, sizeof(path), "%s/rt.conf", dir);
	snprintf(path2, sizeof(path2), "%s/rt2.conf", dir);
	write_file(path, "common = { user = \"\"; log_json = \"-\"; "
	    "syslog_facility_mail = false; log_level = \"warning\"; };\n"
	    "milter = { threads = 64; flag = true; name = \"tab\\there \\\"q\\\" \\\\ "
	    "nl\\n\"; mode = \"fast\"; max_size = \"1G\"; timeout = \"1d\"; "
	    "big = 9223372036854775807L; };\n");
	if (config_load(path, groups, vals, 2, err, sizeof(err)) == -1) {
		TEST_FAIL("roundtrip: load: %s", err);
		return;
	}
	if ((fp = fopen(path2, "w")) == NULL) {
		perror(path2);
		exit(2);
	}
	config_print(fp, groups, vals, 2);
	fclose(fp);
	if (config_load(path2, groups, vals2, 2, err, sizeof(err)) == -1) {
		TEST_FAIL("roundtrip: reload of printed settings: %s", err);
	} else {
		struct want w = { t.threads, t.flag, t.name, t.mode, t.max_size,
		    t.timeout, t.opt, t.big, c.store };

		check_values("roundtrip", &t2, &c2, &w);
		check_str("roundtrip", "name (literal)", t2.name, "tab\there \"q\" \\ nl\n");
		check_ll("roundtrip", "big", t2.big, LLONG_MAX);
		check_str("roundtrip", "common.user", c2.user, "");
		check_str("roundtrip", "common.log_json", c2.log_json, "-");
		check_ll("roundtrip", "common.log_level", c2.log_level, LOGL_WARN);
		check_ll("roundtrip", "common.syslog_facility_mail", c2.syslog_facility_mail, 0);
		config_free_values(&tgroup, &t2);
		config_free_values(&common_cfg_group, &c2);
	}
	config_free_values(&tgroup, &t);
	config_free_values(&common_cfg_group, &c);
}

/* The sample: every line within 78 columns, every option shown, and the
 * file (all comments inside the groups) loads to the defaults. */
static void
test_sample(void)
{
	const char *dir = work_dir;
	char path[PATH_MAX], line[512], err[1024];
	struct tconf t;
	struct common_conf c;
	void *const vals[] = { &c, &t };
	FILE *fp;
	int n = 0, found = 0;

	snprintf(path, sizeof(path), "%s/sample.conf", dir);
	if ((fp = fopen(path, "w+")) == NULL) {
		perror(path);
		exit(2);
	}
	config_sample(fp, groups, 2);
	rewind(fp);
	while (fgets(line, sizeof(line), fp) != NULL && n++ < 10000) {
		size_t len = strcspn(line, "\n");
		if (len > 78) {
			TEST_FAIL("sample: line %d has %zu columns: %s", n, len, line);
		}
		if (strcmp(line, "  # size (bytes, or \"10K\", \"25M\", \"1G\"), default \"25M\", "
		    "1..1073741824\n") == 0 || strcmp(line, "  #max_size = \"25M\";\n") == 0 ||
		    strcmp(line, "  # string, unset by default\n") == 0 ||
		    strcmp(line, "  # enum, default \"slow\", one of: fast slow off\n") == 0 ||
		    strcmp(line, "  #threads = 4;\n") == 0 ||
		    strcmp(line, "  # integer, default 4, 1..64\n") == 0 ||
		    strcmp(line, "milter = {\n") == 0 || strcmp(line, "# The test group.\n") == 0)
			found++;
	}
	fclose(fp);
	/* "unset by default" twice: common.log_json and milter.opt. */
	check_ll("sample", "expected lines found", found, 9);
	if (config_load(path, groups, vals, 2, err, sizeof(err)) == -1) {
		TEST_FAIL("sample: does not load: %s", err);
		return;
	}
	struct want w = { DEFAULTS };
	check_values("sample loads to defaults", &t, &c, &w);
	config_free_values(&tgroup, &t);
	config_free_values(&common_cfg_group, &c);
}

/* A default the table's own parser rejects is a programming error: fatalx. */
static void
test_bad_default(void)
{
	const char *dir = work_dir;
	static const struct cfg_opt bad[] = {
		{ "n", CFG_INT, "lots", 0, 10, NULL, 0, "bad", NULL, 0 },
		{ NULL, 0, NULL, 0, 0, NULL, 0, NULL, NULL, 0 }
	};
	static const struct cfg_group bg = { "milter", "bad", bad, NULL };
	const struct cfg_group *const g[] = { &bg };
	long long v;
	void *const vals[] = { &v };
	char path[PATH_MAX], err[256];
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s/empty.conf", dir);
	write_file(path, "");
	fflush(stderr);
	if ((pid = fork()) == 0) {
		freopen("/dev/null", "w", stderr);
		config_load(path, g, vals, 1, err, sizeof(err));
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 1) {
		TEST_FAIL("bad default: got status %#x, want exit 1", status);
	}
}

/* The cases[] table above, each row in turn. */
static void
test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i], work_dir);
}

static const struct test_case test_cases[] = {
	{ "config_load table",		test_table },
	{ "config_print round trip",	test_roundtrip },
	{ "config_sample",		test_sample },
	{ "bad default is fatal",	test_bad_default },
	{ NULL, NULL }
};

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	int rc;

	snprintf(work_dir, sizeof(work_dir), "%s/config_test.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(work_dir) == NULL) {
		perror(work_dir);
		return 2;
	}
	if ((rc = test_run(test_cases)) == 0) {
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "warning: could not remove %s\n", work_dir);
	}
	return rc;
}
