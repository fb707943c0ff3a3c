/*
 * moat_test.h - the one harness of Moat's unit tests (after Postfix's
 * Ptest): named table cases, got/want messages, one failure count.
 *
 *     static void case_parse(void) { ... TEST_FAIL("got %d, want %d", g, w); ... }
 *     static const struct test_case cases[] = {
 *             { "parse", case_parse },
 *             { NULL, NULL }
 *     };
 *     int main(void) { return test_run(cases); }
 *
 * A case reports every mismatch with TEST_FAIL (printf-style, prefixed by the
 * case name) or TEST_CHECK(cond, fmt, ...) and goes on, so one run shows all
 * of them; test_run() prints "ok name" or "FAIL name (n)" per case and
 * returns the exit status (0 when nothing failed).  A case that cannot go on
 * (a fixture failed) reports with TEST_FATAL, which returns from it.
 * TEST_STR_EQ and TEST_INT_EQ compare a result with the wanted value and
 * print both.  test_rmtree() removes a case's temporary directory.  Header
 * only: each *_test.c is its own program.
 */
#ifndef MOAT_TEST_H
#define MOAT_TEST_H

#include <ftw.h>
#include <stdio.h>
#include <string.h>

struct test_case {
	const char  *name;
	void       (*fn)(void);
};

/* The running case's name and the failures so far (all cases). */
static const char *test_name = "";
static int test_failures;

#define TEST_NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define TEST_FAIL(...) do {						\
	fprintf(stderr, "FAIL %s (%s:%d): ", test_name, __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	test_failures++;						\
} while (0)

#define TEST_CHECK(cond, ...) do {					\
	if (!(cond))							\
		TEST_FAIL(__VA_ARGS__);					\
} while (0)

/* Reports and leaves the (void) case function: the rest cannot run. */
#define TEST_FATAL(...) do {						\
	TEST_FAIL(__VA_ARGS__);						\
	return;								\
} while (0)

/* what: the field compared; strings print quoted, NULL as NULL. */
#define TEST_STR_EQ(what, got, want) do {				\
	const char *test_g_ = (got), *test_w_ = (want);			\
	if ((test_g_ == NULL) != (test_w_ == NULL) ||			\
	    (test_g_ != NULL && strcmp(test_g_, test_w_) != 0))		\
		TEST_FAIL("%s: got %s%s%s, want %s%s%s", (what),		\
		    test_g_ ? "\"" : "", test_g_ ? test_g_ : "NULL",		\
		    test_g_ ? "\"" : "", test_w_ ? "\"" : "",			\
		    test_w_ ? test_w_ : "NULL", test_w_ ? "\"" : "");		\
} while (0)

#define TEST_INT_EQ(what, got, want) do {				\
	long long test_g_ = (long long)(got), test_w_ = (long long)(want); \
	if (test_g_ != test_w_)						\
		TEST_FAIL("%s: got %lld, want %lld", (what), test_g_, test_w_); \
} while (0)

/* Runs every case up to the { NULL, NULL } entry.  Returns 0 or 1. */
static inline int
test_run(const struct test_case *cases)
{
	for (const struct test_case *c = cases; c->name != NULL; c++) {
		int before = test_failures;

		test_name = c->name;
		c->fn();
		if (test_failures == before)
			printf("ok %s\n", c->name);
		else
			printf("FAIL %s (%d)\n", c->name, test_failures - before);
	}
	test_name = "";
	printf("%d failure%s\n", test_failures, test_failures == 1 ? "" : "s");
	return test_failures != 0;
}

static inline int
test_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything below it, links not followed.  Returns 0, or
 * -1 when something could not be removed. */
static inline int
test_rmtree(const char *dir)
{
	return nftw(dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

#endif
