/*
 * policy_golden_test - golden tests of the policy loader (after Postfix's
 * dict_cidr.in/.ref): rows in, lookups and the loader's warnings out.
 *
 * Each common/testdata/policy/NAME.in runs against a fresh store (store_init,
 * no demo seed) and its output is compared with NAME.ref;
 * POLICY_GOLDEN_UPDATE=1 rewrites the .ref files instead.  The lines of an
 * .in file:
 *
 *     # comment                    ignored
 *     sql TEXT                     TEXT appended to the pending SQL script
 *     load                         runs the pending script, then policy_load()
 *                                  with its log lines captured: writes the
 *                                  warnings (one "warning: ..." line each) and
 *                                  the snapshot's counts
 *     domain NAME | addr IP | id N | login NAME | rcpt ADDRESS
 *                                  subscriber / recipient-override lookups
 *     threat-addr IP NOW | threat-name NAME NOW
 *                                  every matching threat source at time NOW
 *     template NAME                a notification template
 *
 * A lookup line is echoed, followed by " -> " and its tri-state result and
 * what it found.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "store.h"
#include "moat_test.h"

#define LINE_MAX_IN 4096

static const char *
testdata(void)
{
	static char dir[PATH_MAX];
	const char *src = getenv("MOAT_SRC");

	snprintf(dir, sizeof(dir), "%s/common/testdata/policy", src ? src : ".");
	return dir;
}

/* The whole file, NUL-terminated; NULL when it cannot be read. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (b = malloc((size_t)n + 1)) != NULL) {
		size_t got = fread(b, 1, (size_t)n, f);
		b[got] = '\0';
	}
	fclose(f);
	return b;
}

static const char *const threat_kinds[] = { "ip", "cidr", "domain", "suspect_domain" };

static void
put_policy(FILE *out, const struct policy *p)
{
	fprintf(out, "%s scan=%s bytes=%lld infected=%s unscannable=%s error=%s "
	    "header=%s mixed=%s admin=%s", p->name,
	    policy_scan_mode_names[p->scan_mode], (long long)p->max_scan_bytes,
	    policy_infected_names[p->on_infected],
	    policy_unscannable_names[p->on_unscannable],
	    policy_error_names[p->on_error], policy_header_mode_names[p->header_mode],
	    p->mixed_recipients == MIXED_DEFER ? "defer" : "combine",
	    p->notify_admin ? p->notify_admin : "-");
}

static void
put_subscriber(FILE *out, int r, const struct subscriber *sub)
{
	fprintf(out, " -> %d", r);
	if (r == 1)
		fprintf(out, " %s id=%lld %s contact=%s policy=%s", sub->name,
		    (long long)sub->id, sub->active ? "active" : "suspended",
		    sub->contact ? sub->contact : "-",
		    sub->policy ? sub->policy->name : "-");
	fputc('\n', out);
}

/* Runs policy_load with stderr (the foreground log) sent to a file, and
 * writes each logged line without its "ident[pid]: " prefix. */
static int
load_captured(struct store *st, struct policy_snapshot **snap, FILE *out)
{
	char path[PATH_MAX], *text, *line, *save = NULL;
	int saved, fd, r;

	snprintf(path, sizeof(path), "%s/policy_golden.%ld.log",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
	fflush(stderr);
	if ((saved = dup(2)) == -1 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		TEST_FAIL("capture %s: %s", path, strerror(errno));
		if (saved != -1)
			close(saved);
		return policy_load(st, snap);
	}
	dup2(fd, 2);
	close(fd);
	r = policy_load(st, snap);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	text = slurp(path);
	unlink(path);
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *msg = strstr(line, "]: ");

		fprintf(out, "  %s\n", msg != NULL ? msg + 3 : line);
	}
	free(text);
	return r;
}

/* Runs one .in script into out.  Returns -1 when the script itself is bad
 * (reported), else 0: what the loader did is in the output. */
static int
run_script(const char *in, const char *db, FILE *out)
{
	struct policy_snapshot *snap = NULL;
	struct store *st = NULL;
	char line[LINE_MAX_IN], err[512], arg[LINE_MAX_IN];
	char *sql = NULL;
	size_t sqllen = 0;
	FILE *f, *sqlf = NULL;
	int lineno = 0, rc = -1;
	long long n;

	if ((f = fopen(in, "r")) == NULL) {
		TEST_FAIL("cannot open %s", in);
		return -1;
	}
	if (store_open(db, STORE_NOCHECK, 1000, &st, err, sizeof(err)) == -1 ||
	    store_init(st, err, sizeof(err)) == -1) {
		TEST_FAIL("fresh store %s: %s", db, err);
		goto done;
	}
	if ((sqlf = open_memstream(&sql, &sqllen)) == NULL) {
		TEST_FAIL("open_memstream failed");
		goto done;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		const struct subscriber *sub = NULL;
		const struct policy *pol = NULL;
		const struct threat *t[8];
		const char *subj, *body;
		int r;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "sql ", 4) == 0) {
			fprintf(sqlf, "%s\n", line + 4);
			continue;
		}
		if (strcmp(line, "load") == 0) {
			fflush(sqlf);
			if (sqllen > 0 && store_exec_script(st, sql, err, sizeof(err)) == -1)
				fprintf(out, "sql error: %s\n", err);
			rewind(sqlf);
			fflush(sqlf);
			policy_unref(snap);
			snap = NULL;
			fprintf(out, "load\n");
			if (load_captured(st, &snap, out) == -1) {
				fprintf(out, "  policy_load: -1\n");
			} else {
				size_t subs, doms, threats;

				policy_counts(snap, &subs, &doms, &threats);
				fprintf(out, "  loaded: %zu subscribers, %zu domains, %zu threat sources\n",
				    subs, doms, threats);
			}
			continue;
		}
		if (snap == NULL) {
			TEST_FAIL("%s:%d: a lookup before a successful load", in, lineno);
			goto done;
		}
		fputs(line, out);
		if (sscanf(line, "domain %4095s", arg) == 1) {
			r = policy_subscriber_by_domain(snap, arg, &sub);
			put_subscriber(out, r, sub);
		} else if (sscanf(line, "addr %4095s", arg) == 1) {
			r = policy_subscriber_by_addr(snap, arg, &sub);
			put_subscriber(out, r, sub);
		} else if (sscanf(line, "id %lld", &n) == 1) {
			r = policy_subscriber_by_id(snap, n, &sub);
			put_subscriber(out, r, sub);
		} else if (sscanf(line, "login %4095s", arg) == 1) {
			r = policy_subscriber_by_login(snap, arg, &sub);
			put_subscriber(out, r, sub);
		} else if (sscanf(line, "rcpt %4095s", arg) == 1) {
			r = policy_by_recipient(snap, arg, &pol);
			fprintf(out, " -> %d", r);
			if (r == 1) {
				fputc(' ', out);
				put_policy(out, pol);
			}
			fputc('\n', out);
		} else if (sscanf(line, "threat-addr %4095s %lld", arg, &n) == 2 ||
		    sscanf(line, "threat-name %4095s %lld", arg, &n) == 2) {
			r = line[7] == 'a' ?
			    policy_threats_by_addr(snap, arg, (time_t)n, t, 8) :
			    policy_threats_by_name(snap, arg, (time_t)n, t, 8);
			fprintf(out, " -> %d", r);
			for (int i = 0; i < r; i++)
				fprintf(out, "%s %s %s \"%s\" expires=%lld", i ? ";" : "",
				    threat_kinds[t[i]->kind], t[i]->value,
				    t[i]->reason ? t[i]->reason : "", (long long)t[i]->expires);
			fputc('\n', out);
		} else if (sscanf(line, "template %4095s", arg) == 1) {
			r = policy_template(snap, arg, &subj, &body);
			fprintf(out, " -> %d", r);
			if (r == 1)
				fprintf(out, " subject=\"%s\" body=%zu bytes", subj, strlen(body));
			fputc('\n', out);
		} else {
			TEST_FAIL("%s:%d: unknown line: %s", in, lineno, line);
			goto done;
		}
	}
	rc = 0;
done:
	if (sqlf != NULL)
		fclose(sqlf);
	free(sql);
	policy_unref(snap);
	store_close(st);
	fclose(f);
	return rc;
}

/* Reports the first line where got and want differ (got/want), then the
 * whole output, for POLICY_GOLDEN_UPDATE=1 and a diff by eye. */
static void
first_difference(const char *ref, const char *got, const char *want)
{
	const char *g = got, *w = want;
	int line = 1;

	while (*g != '\0' && *g == *w) {
		if (*g == '\n')
			line++;
		g++, w++;
	}
	while (g > got && g[-1] != '\n')
		g--, w--;
	TEST_FAIL("%s line %d:\n  got  %.*s\n  want %.*s\nwhole output:\n%s", ref, line,
	    (int)strcspn(g, "\n"), g, (int)strcspn(w, "\n"), w, got);
}

/* One script: NAME.in against NAME.ref; NAME is the case's name. */
static void
golden(void)
{
	char in[PATH_MAX], ref[PATH_MAX], db[PATH_MAX], *got = NULL, *want;
	const char *tmp = getenv("TMPDIR");
	size_t glen = 0;
	FILE *mem;

	snprintf(in, sizeof(in), "%s/%s.in", testdata(), test_name);
	snprintf(ref, sizeof(ref), "%s/%s.ref", testdata(), test_name);
	snprintf(db, sizeof(db), "%s/policy_golden.%ld.%s.db", tmp ? tmp : "/tmp",
	    (long)getpid(), test_name);
	unlink(db);
	if ((mem = open_memstream(&got, &glen)) == NULL)
		TEST_FATAL("open_memstream failed");
	if (run_script(in, db, mem) == -1) {
		fclose(mem);
		free(got);
		return;
	}
	fclose(mem);
	for (size_t i = 0; i < 3; i++) {
		static const char *const sfx[] = { "", "-wal", "-shm" };
		char p[PATH_MAX + 8];

		snprintf(p, sizeof(p), "%s%s", db, sfx[i]);
		unlink(p);
	}
	if (getenv("POLICY_GOLDEN_UPDATE") != NULL) {
		FILE *f = fopen(ref, "w");

		if (f == NULL || fwrite(got, 1, glen, f) != glen || fclose(f) != 0)
			TEST_FAIL("cannot write %s", ref);
	} else if ((want = slurp(ref)) == NULL) {
		TEST_FAIL("cannot read %s", ref);
	} else {
		if (strcmp(want, got) != 0)
			first_difference(ref, got, want);
		free(want);
	}
	free(got);
}

static const struct test_case cases[] = {
	{ "tables",		golden },
	{ "bad_rows",		golden },
	{ "recipients",		golden },
	{ "threats",		golden },
	{ NULL, NULL }
};

int
main(void)
{
	log_init("policy_golden", 1, NULL);
	return test_run(cases);
}
