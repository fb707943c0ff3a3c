/*
 * scanopts_test - the scan settings' wire form and libclamav set-up.
 *
 * Decoding is tested from golden files: common/testdata/scanopts.in (one
 * case a line, "NAME<TAB>text") against scanopts.ref (the canonical
 * encoding of what was read, or "error: WHY").  SCANOPTS_TEST_UPDATE=1
 * rewrites the .ref.  The rest is table-driven.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clamav.h>

#include "policy.h"
#include "scanopts.h"
#include "moat_test.h"

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (s = calloc(1, (size_t)n + 1)) != NULL && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

static void
test_golden(void)
{
	const char *src = getenv("MOAT_SRC");
	char in[4096], ref[4096], line[8192], *want, *got = NULL;
	size_t gotlen = 0;
	FILE *f, *out;

	if (src == NULL)
		src = ".";
	snprintf(in, sizeof(in), "%s/common/testdata/scanopts.in", src);
	snprintf(ref, sizeof(ref), "%s/common/testdata/scanopts.ref", src);
	if ((f = fopen(in, "r")) == NULL || (out = open_memstream(&got, &gotlen)) == NULL) {
		TEST_FAIL("golden: cannot open %s", in);
		if (f != NULL)
			fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		struct scanopts so;
		char err[256], *tab, *text;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		tab = strchr(line, '\t');
		text = tab != NULL ? tab + 1 : line + strlen(line);
		if (tab != NULL)
			*tab = '\0';
		if (scanopts_decode(text, &so, err, sizeof(err)) == 0) {
			char *enc = scanopts_encode(&so);
			fprintf(out, "%s\t%s\n", line, enc != NULL ? enc : "(no memory)");
			free(enc);
		} else {
			fprintf(out, "%s\terror: %s\n", line, err);
		}
	}
	fclose(f);
	fclose(out);
	if (getenv("SCANOPTS_TEST_UPDATE") != NULL) {
		if ((f = fopen(ref, "w")) != NULL) {
			fputs(got, f);
			fclose(f);
		}
	} else if ((want = slurp(ref)) == NULL || strcmp(want, got) != 0) {
		TEST_FAIL("golden %s: got\n%s\nwant\n%s", ref, got, want != NULL ? want : "(none)");
		free(want);
	} else {
		free(want);
	}
	free(got);
}

static void
test_round_trip(void)
{
	struct scanopts a, b;
	char err[256] = "", *s;

	scanopts_default(&a);
	a.heuristics = 0;
	a.scan_mode = SCAN_MACROS;
	a.mime_walk = 0;
	a.max_recursion = 7;
	if ((s = scanopts_encode(&a)) == NULL || scanopts_decode(s, &b, err, sizeof(err)) == -1 ||
	    a.heuristics != b.heuristics || a.scan_mode != b.scan_mode ||
	    a.max_scan_bytes != b.max_scan_bytes || a.mime_walk != b.mime_walk ||
	    !scanopts_same_engine(&a, &b))
		TEST_FAIL("round trip: %s (%s)", s != NULL ? s : "NULL", err);
	free(s);
	if (strlen(s = scanopts_encode(&a)) > SCANOPTS_JSON_MAX)
		TEST_FAIL("encoded form longer than SCANOPTS_JSON_MAX");
	free(s);
}

static void
test_cl_options(void)
{
	static const struct {
		const char *name;
		int heuristics;
		unsigned want_on, want_off;
	} t[] = {
		{ "heuristics on", 1, CL_SCAN_HEURISTIC_EXCEEDS_MAX | CL_SCAN_HEURISTIC_MACROS |
		  CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE | CL_SCAN_HEURISTIC_ENCRYPTED_DOC |
		  CL_SCAN_HEURISTIC_BROKEN, 0 },
		{ "heuristics off: limits still alert", 0, CL_SCAN_HEURISTIC_EXCEEDS_MAX,
		  CL_SCAN_HEURISTIC_MACROS | CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE |
		  CL_SCAN_HEURISTIC_ENCRYPTED_DOC | CL_SCAN_HEURISTIC_BROKEN },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct scanopts so;
		struct cl_scan_options o;

		scanopts_default(&so);
		so.heuristics = t[i].heuristics;
		scanopts_cl_options(&so, &o);
		if ((o.heuristic & t[i].want_on) != t[i].want_on || (o.heuristic & t[i].want_off) ||
		    !(o.general & CL_SCAN_GENERAL_HEURISTICS) || o.parse != ~0u)
			TEST_FAIL("cl_options %s: got heuristic %#x general %#x parse %#x", t[i].name,
			    o.heuristic, o.general, o.parse);
	}
}

static void
test_same_engine(void)
{
	static const struct { const char *name; int field; int want; } t[] = {
		{ "identical", -1, 1 }, { "policy fields differ", 0, 1 },
		{ "scansize differs", 1, 0 }, { "filesize differs", 2, 0 },
		{ "recursion differs", 3, 0 }, { "files differ", 4, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct scanopts a, b;
		scanopts_default(&a);
		b = a;
		switch (t[i].field) {
		case 0: b.heuristics = 0; b.mime_walk = 0; b.max_scan_bytes = 5; break;
		case 1: b.max_scansize++; break;
		case 2: b.max_filesize++; break;
		case 3: b.max_recursion++; break;
		case 4: b.max_files++; break;
		}
		if (scanopts_same_engine(&a, &b) != t[i].want)
			TEST_FAIL("same_engine %s: got %d want %d", t[i].name, !t[i].want, t[i].want);
	}
}

static const struct test_case cases[] = {
	{ "golden scanopts.in/.ref",	test_golden },
	{ "encode/decode round trip",	test_round_trip },
	{ "libclamav options",		test_cl_options },
	{ "same engine",		test_same_engine },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
