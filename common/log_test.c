/*
 * log_test - level parsing, the stderr line format, JSON lines (parsed back
 * with jansson), queue-ID prefixes, and whole lines under concurrency.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "moat_test.h"

#define NELEM(a) TEST_NELEM(a)

/* Where the cases send stderr and the JSON log; main() names them. */
static char errpath[PATH_MAX], jpath[PATH_MAX];

static const struct { const char *name; int want; } levels[] = {
	{ "error", LOGL_ERR }, { "warning", LOGL_WARN }, { "info", LOGL_INFO },
	{ "debug", LOGL_DEBUG }, { "DEBUG", LOGL_DEBUG }, { "warn", -1 }, { "", -1 },
	{ NULL, -1 },
};

/* What each logging call below must produce: stderr text after "prog[pid]: ",
 * and the JSON fields. */
static const struct {
	const char *text, *level, *qid, *msg;
} want_lines[] = {
	{ "4C1x2y3z: verdict=clean", "info", "4C1x2y3z", "verdict=clean" },
	/* As Postfix: "warning: " first, then the queue ID. */
	{ "warning: NOQUEUE: reject: RCPT from x", "warning", "NOQUEUE", "reject: RCPT from x" },
	{ "NOQUEUE: empty qid", "info", "NOQUEUE", "empty qid" },
	{ "warning: open /x: No such file or directory", "warning", NULL,
	  "open /x: No such file or directory" },
	{ "quote \" backslash \\ tab \t", "info", NULL, "quote \" backslash \\ tab \t" },
	{ "bytes \xc3\xa9 \xff", "info", NULL, "bytes \xc3\xa9 \xc3\xbf" },
	{ "debug shown", "debug", NULL, "debug shown" },
};

static void
emit_lines(void)
{
	log_set_level(LOGL_INFO);
	log_mail(LOGL_INFO, "4C1x2y3z", "verdict=%s", "clean");
	log_mail(LOGL_WARN, NULL, "reject: RCPT from %s", "x");
	log_mail(LOGL_INFO, "", "empty qid");
	errno = ENOENT;
	log_warn("open %s", "/x");
	log_info("quote \" backslash \\ tab \t");
	log_info("bytes \xc3\xa9 \xff");
	log_debug("debug hidden at info");
	log_mail(LOGL_DEBUG, "Q", "debug hidden at info");
	log_set_level(LOGL_DEBUG);
	log_debug("debug shown");
	log_set_level(LOGL_INFO);
}

/* A JSON string member's text, "" when absent or not a string. */
static const char *
jstr(const json_t *v)
{
	const char *s = json_string_value(v);

	return s != NULL ? s : "";
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *s;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	s = calloc(1, (size_t)n + 1);
	if (s != NULL && fread(s, 1, (size_t)n, fp) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(fp);
	return s;
}

#define NTHREADS 4
#define PER_THREAD 500

static void *
spam(void *arg)
{
	for (int i = 0; i < PER_THREAD; i++)
		log_mail(LOGL_INFO, "QID", "thread %zu line %d %s", (size_t)arg, i,
		    "padding padding padding padding padding padding padding padding");
	return NULL;
}

static void
case_levels(void)
{
	size_t i;

	for (i = 0; i < NELEM(levels); i++)
		if (log_level_parse(levels[i].name) != levels[i].want)
			TEST_FAIL("log_level_parse(%s): got %d, want %d", levels[i].name ?
			    levels[i].name : "NULL", log_level_parse(levels[i].name), levels[i].want);
}

static void
case_lines(void)
{
	char prefix[64];
	char *text, *line, *save;
	int saved_stderr, fd;
	size_t i;

	unlink(jpath);
	fflush(stderr);
	saved_stderr = dup(2);
	if ((fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 || dup2(fd, 2) == -1)
		TEST_FATAL("%s: %s", errpath, strerror(errno));
	close(fd);
	if (log_init("log_test", 1, jpath) != 0)
		TEST_FAIL("log_init with a JSON file: got -1");
	emit_lines();
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);

	/* stderr: "log_test[pid]: text", one line per call, hidden ones absent. */
	snprintf(prefix, sizeof(prefix), "log_test[%ld]: ", (long)getpid());
	text = slurp(errpath);
	i = 0;
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save), i++) {
		if (i >= NELEM(want_lines)) {
			TEST_FAIL("stderr: extra line: %s", line);
			continue;
		}
		if (strncmp(line, prefix, strlen(prefix)) != 0 ||
		    strcmp(line + strlen(prefix), want_lines[i].text) != 0)
			TEST_FAIL("stderr line %zu:\n  got  %s\n  want %s%s", i, line, prefix,
			    want_lines[i].text);
	}
	if (i != NELEM(want_lines))
		TEST_FAIL("stderr: got %zu lines, want %zu", i, NELEM(want_lines));
	free(text);

	/* JSON: one object per line with ts, prog, level, qid, msg. */
	text = slurp(jpath);
	i = 0;
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save), i++) {
		json_error_t jerr;
		json_t *o = json_loads(line, 0, &jerr), *q;

		if (o == NULL) {
			TEST_FAIL("json line %zu does not parse (%s): %s", i, jerr.text, line);
			continue;
		}
		if (i < NELEM(want_lines)) {
			q = json_object_get(o, "qid");
			if (strcmp(jstr(json_object_get(o, "prog")), "log_test") ||
			    strcmp(jstr(json_object_get(o, "level")),
			    want_lines[i].level) ||
			    strcmp(jstr(json_object_get(o, "msg")),
			    want_lines[i].msg) ||
			    (want_lines[i].qid == NULL ? !json_is_null(q) :
			    strcmp(jstr(q), want_lines[i].qid) != 0) ||
			    strlen(jstr(json_object_get(o, "ts"))) != 24)
				TEST_FAIL("json line %zu: got %s", i, line);
		}
		json_decref(o);
	}
	if (i != NELEM(want_lines))
		TEST_FAIL("json: got %zu lines, want %zu", i, NELEM(want_lines));
	free(text);
}

/* Concurrent writers: every JSON line whole and parseable. */
static void
case_concurrent(void)
{
	char *text, *line, *save;
	int saved_stderr, fd;
	size_t i;

	unlink(jpath);
	fd = open(errpath, O_WRONLY | O_TRUNC);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
	log_init("log_test", 1, jpath);
	pthread_t thr[NTHREADS];
	for (size_t t = 0; t < NTHREADS; t++)
		pthread_create(&thr[t], NULL, spam, (void *)t);
	for (size_t t = 0; t < NTHREADS; t++)
		pthread_join(thr[t], NULL);
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	text = slurp(jpath);
	i = 0;
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save), i++) {
		json_t *o = json_loads(line, 0, NULL);
		if (o == NULL)
			TEST_FAIL("concurrent json line %zu broken: %s", i, line);
		json_decref(o);
	}
	if (i != NTHREADS * PER_THREAD)
		TEST_FAIL("concurrent: got %zu JSON lines, want %d", i, NTHREADS * PER_THREAD);
	free(text);
}

static void
case_unopenable(void)
{
	if (log_init("log_test", 1, "/nonexistent-dir/x.json") != -1)
		TEST_FAIL("log_init with an unopenable JSON file: want -1");
}

static const struct test_case cases[] = {
	{ "log_level_parse",		case_levels },
	{ "stderr and JSON lines",	case_lines },
	{ "concurrent JSON writers",	case_concurrent },
	{ "unopenable JSON file",	case_unopenable },
	{ NULL, NULL }
};

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	int rc;

	snprintf(errpath, sizeof(errpath), "%s/log_test.%ld.err", tmp ? tmp : "/tmp", (long)getpid());
	snprintf(jpath, sizeof(jpath), "%s/log_test.%ld.json", tmp ? tmp : "/tmp", (long)getpid());
	rc = test_run(cases);
	log_init("log_test", 1, NULL);
	unlink(errpath);
	unlink(jpath);
	return rc;
}
