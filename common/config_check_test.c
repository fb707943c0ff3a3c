/*
 * config_check_test - the option table's validators and restart flag
 * (config.h): every validator with good and bad values, the file:line of a
 * refused value (and "(default)" for a refused default), a group check, and
 * config_keep_restart on a reload.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "moat_test.h"

struct vconf {
	char      *mode;
	char      *group;
	char      *user;
	char      *path;
	char      *sock;
	char      *url;
	long long  level;
	char      *a, *b;
};

static int
vcheck_pair(const void *vals, char *err, size_t errlen)
{
	const struct vconf *v = vals;

	if ((v->a == NULL) != (v->b == NULL)) {
		snprintf(err, errlen, "a and b go together");
		return -1;
	}
	return 0;
}

#define V(f) offsetof(struct vconf, f)
static const struct cfg_opt vopts[] = {
	{ "mode", CFG_STR, "0660", 0, -1, NULL, V(mode), "m", cfg_check_mode, CFG_RESTART },
	{ "group", CFG_STR, NULL, 0, -1, NULL, V(group), "g", cfg_check_group, CFG_RESTART },
	{ "user", CFG_STR, "", 0, -1, NULL, V(user), "u", cfg_check_user, CFG_RESTART },
	{ "path", CFG_STR, "/var/x", 0, -1, NULL, V(path), "p", cfg_check_abspath, CFG_RESTART },
	{ "sock", CFG_STR, "/run/x.sock", 0, -1, NULL, V(sock), "s", cfg_check_unix_path, 0 },
	{ "url", CFG_STR, "smtp://127.0.0.1:25", 0, -1, NULL, V(url), "r", cfg_check_smtp_url, 0 },
	{ "level", CFG_INT, "1", 0, 9, NULL, V(level), "l", NULL, 0 },
	{ "a", CFG_STR, NULL, 0, -1, NULL, V(a), "a", NULL, 0 },
	{ "b", CFG_STR, NULL, 0, -1, NULL, V(b), "b", NULL, 0 },
	{ NULL, 0, NULL, 0, 0, NULL, 0, NULL, NULL, 0 }
};
static const struct cfg_group vgroup = { "milter", "validators", vopts, vcheck_pair };
static const struct cfg_group *const vgroups[] = { &vgroup };

static char tmpfile_path[512];

/* Writes text to the scratch file and loads it.  Returns config_load's. */
static int
vload(const char *text, struct vconf *v, unsigned flags, char *err, size_t errlen)
{
	void *const vals[] = { v };
	FILE *fp;

	if ((fp = fopen(tmpfile_path, "w")) == NULL)
		return -2;
	fputs(text, fp);
	fclose(fp);
	memset(v, 0, sizeof(*v));
	return config_load_flags(tmpfile_path, vgroups, vals, 1, flags, err, errlen);
}

struct vcase {
	const char *text;
	const char *err;   /* wanted message after "FILE", NULL: accepted */
};

static const struct vcase vcases[] = {
	{ "milter = {\n mode = \"0640\";\n};\n", NULL },
	{ "milter = {\n mode = \"640\";\n};\n", NULL },
	{ "milter = {\n mode = \"abc\";\n};\n", ":2: milter.mode: \"abc\" is not an octal mode (0000..0777)" },
	{ "milter = {\n\n mode = \"01000\";\n};\n", ":3: milter.mode: \"01000\" is not an octal mode (0000..0777)" },
	{ "milter = { mode = \"\"; };\n", ":1: milter.mode: \"\" is not an octal mode (0000..0777)" },
	{ "milter = { mode = \"0668\"; };\n", ":1: milter.mode: \"0668\" is not an octal mode (0000..0777)" },
	{ "milter = { group = \"root\"; };\n", NULL },
	{ "milter = { group = \"no-such-group-moat\"; };\n", ":1: milter.group: no group \"no-such-group-moat\"" },
	{ "milter = { user = \"root\"; };\n", NULL },
	{ "milter = { user = \"no-such-user-moat\"; };\n", ":1: milter.user: no user \"no-such-user-moat\"" },
	{ "milter = { path = \"rel/x\"; };\n", ":1: milter.path: \"rel/x\" is not an absolute path" },
	{ "milter = { sock = \"x.sock\"; };\n", ":1: milter.sock: must be an absolute path shorter than 108 bytes" },
	{ "milter = { sock = \"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"; };\n",
	  ":1: milter.sock: must be an absolute path shorter than 108 bytes" },
	{ "milter = { url = \"smtps://h:465\"; };\n", NULL },
	{ "milter = { url = \"http://h\"; };\n", ":1: milter.url: \"http://h\" is not an smtp:// URL" },
	{ "milter = { url = \"smtp://\"; };\n", ":1: milter.url: \"smtp://\" is not an smtp:// URL" },
	{ "milter = {\n a = \"x\";\n};\n", ":1: milter: a and b go together" },
	{ "milter = { a = \"x\"; b = \"y\"; };\n", NULL },
	{ NULL, NULL }
};

static void
case_validators(void)
{
	for (const struct vcase *c = vcases; c->text != NULL; c++) {
		struct vconf v;
		char err[1024] = "", want[1024];
		int rc = vload(c->text, &v, 0, err, sizeof(err));

		if (c->err == NULL) {
			TEST_CHECK(rc == 0, "%s: got error \"%s\", want success", c->text, err);
		} else {
			snprintf(want, sizeof(want), "%s%s", tmpfile_path, c->err);
			TEST_CHECK(rc == -1 && strcmp(err, want) == 0,
			    "%s: got %d \"%s\", want \"%s\"", c->text, rc, err, want);
		}
		if (rc == 0)
			config_free_values(&vgroup, &v);
	}
}

/* A default that fails its validator names the file and "(default)". */
static void
case_default_checked(void)
{
	static const struct cfg_opt o[] = {
		{ "user", CFG_STR, "no-such-user-moat", 0, -1, NULL, 0, "u", cfg_check_user, CFG_RESTART },
		{ NULL, 0, NULL, 0, 0, NULL, 0, NULL, NULL, 0 }
	};
	static const struct cfg_group g = { "common", "c", o, NULL };
	const struct cfg_group *const gs[] = { &g };
	char *user = NULL, err[1024], want[1024];
	void *const vals[] = { &user };
	FILE *fp = fopen(tmpfile_path, "w");

	if (fp == NULL) {
		TEST_FAIL("cannot write %s", tmpfile_path);
		return;
	}
	fputs("common = { };\n", fp);
	fclose(fp);
	snprintf(want, sizeof(want), "%s: common.user (default): no user \"no-such-user-moat\"",
	    tmpfile_path);
	TEST_CHECK(config_load(tmpfile_path, gs, vals, 1, err, sizeof(err)) == -1 &&
	    strcmp(err, want) == 0, "got \"%s\", want \"%s\"", err, want);
	/* A reload does not look a restart-only option up again. */
	TEST_CHECK(config_load_flags(tmpfile_path, gs, vals, 1, CFG_LOAD_RELOAD, err,
	    sizeof(err)) == 0, "reload: got \"%s\", want success", err);
	free(user);
}

/* A reload keeps changed restart-only values and takes the others. */
static void
case_keep_restart(void)
{
	struct vconf cur, next;
	char err[1024];
	int kept;

	if (vload("milter = { mode = \"0600\"; path = \"/a\"; level = 1; };\n", &cur, 0,
	    err, sizeof(err)) != 0) {
		TEST_FAIL("load: %s", err);
		return;
	}
	if (vload("milter = { mode = \"0666\"; path = \"/b\"; level = 7; sock = \"/run/y\"; };\n",
	    &next, CFG_LOAD_RELOAD, err, sizeof(err)) != 0) {
		TEST_FAIL("reload: %s", err);
		config_free_values(&vgroup, &cur);
		return;
	}
	kept = config_keep_restart(&vgroup, &cur, &next);
	TEST_CHECK(kept == 2, "kept %d options, want 2 (mode, path)", kept);
	TEST_CHECK(strcmp(next.mode, "0600") == 0, "mode %s, want the old 0600", next.mode);
	TEST_CHECK(strcmp(next.path, "/a") == 0, "path %s, want the old /a", next.path);
	TEST_CHECK(next.level == 7, "level %lld, want the new 7", next.level);
	TEST_CHECK(strcmp(next.sock, "/run/y") == 0, "sock %s, want the new /run/y", next.sock);
	TEST_CHECK(config_keep_restart(&vgroup, &cur, &next) == 0, "a second pass keeps nothing");
	config_free_values(&vgroup, &cur);
	config_free_values(&vgroup, &next);
}

/* The shipped tables: values the daemons refuse are refused at load. */
static void
case_mode_parse(void)
{
	static const struct { const char *s; int rc; unsigned mode; } t[] = {
		{ "0660", 0, 0660 }, { "777", 0, 0777 }, { "0", 0, 0 }, { "00000660", 0, 0660 },
		{ "1000", -1, 0 }, { "-1", -1, 0 }, { "0x1ff", -1, 0 }, { "", -1, 0 }, { " 660", -1, 0 },
	};
	for (size_t i = 0; i < TEST_NELEM(t); i++) {
		unsigned m = 12345;
		int rc = cfg_parse_mode(t[i].s, &m);
		TEST_CHECK(rc == t[i].rc && (rc == -1 || m == t[i].mode),
		    "\"%s\": got %d %o, want %d %o", t[i].s, rc, m, t[i].rc, t[i].mode);
	}
}

static const struct test_case cases[] = {
	{ "validators", case_validators },
	{ "default_checked", case_default_checked },
	{ "keep_restart", case_keep_restart },
	{ "mode_parse", case_mode_parse },
	{ NULL, NULL }
};

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	int rc;

	snprintf(tmpfile_path, sizeof(tmpfile_path), "%s/config_check_test.%ld.conf",
	    tmp != NULL ? tmp : "/tmp", (long)getpid());
	log_init("config_check_test", 1, NULL);
	rc = test_run(cases);
	unlink(tmpfile_path);
	return rc;
}
