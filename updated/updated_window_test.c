/*
 * window_test - the night window: window_parse table cases, and window_draw
 * spreading clients evenly.
 *
 * Uniformity: 10,000 draws from a fixed-seed splitmix64 stream (so the run
 * is deterministic), counted per minute of the window; Pearson's chi-square
 * over the window's minutes (len - 1 degrees of freedom) must lie between
 * the 0.001 and 0.999 quantiles of the chi-square distribution (Wilson-
 * Hilferty approximation: 22:00-06:00, 480 minutes, 479 d.f.: 389.0 and
 * 580.4; 01:00-04:00, 180 minutes, 179 d.f.: 126.1 and 243.2).  The upper
 * bound catches a biased draw, the lower one a draw too regular to be
 * random (a round robin).  Every draw must lie in the window.  The same
 * statistic applied to a biased draw and to a round robin must fail: the
 * test shows it can.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "updated_window.h"
#include "moat_test.h"

#define DRAWS 10000

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Newton's square root (no libm in the unit tests' link). */
static double
root2(double x)
{
	double r = x > 1 ? x : 1;

	for (int i = 0; i < 60; i++)
		r = (r + x / r) / 2;
	return r;
}

/* The chi-square quantile for k degrees of freedom at the normal quantile z
 * (Wilson-Hilferty: accurate to a fraction of a percent for k > 100). */
static double
chi2_quantile(double k, double z)
{
	double a = 2.0 / (9.0 * k), c = 1.0 - a + z * root2(a);

	return k * c * c * c;
}

#define Z999 3.090232  /* the normal distribution's 0.999 quantile */

typedef unsigned (*draw_fn)(unsigned, unsigned, uint64_t);

static unsigned
draw_biased(unsigned start, unsigned len, uint64_t rnd)
{
	/* A plausible bug: the early part of the window taken a little more
	 * often (every tenth client pulled into the first quarter). */
	if (rnd % 10 == 0)
		return (start + (unsigned)((rnd >> 8) % (len / 4))) % 1440;
	return window_draw(start, len, rnd);
}

static unsigned
draw_round_robin(unsigned start, unsigned len, uint64_t rnd)
{
	static unsigned n;

	(void)rnd;
	return (start + n++ % len) % 1440;
}

/* Draws DRAWS minutes with draw, checks each lies in the window; returns
 * the chi-square statistic over the window's minutes, or -1 when a draw
 * fell outside (reported). */
static double
chi2_of(draw_fn draw, unsigned start, unsigned len, uint64_t seed, int report)
{
	static unsigned	 count[1440];
	double		 expect = (double)DRAWS / len, chi2 = 0;
	int		 outside = 0;

	memset(count, 0, sizeof(count));
	for (int i = 0; i < DRAWS; i++) {
		unsigned m = draw(start, len, splitmix64(&seed));

		if (m >= 1440 || !window_contains(start, len, m)) {
			if (report && outside++ < 5)
				TEST_FAIL("draw %d: minute %u outside %u+%u", i, m, start, len);
			continue;
		}
		count[(m + 1440 - start) % 1440]++;
	}
	if (outside)
		return -1;
	for (unsigned i = 0; i < len; i++)
		chi2 += (count[i] - expect) * (count[i] - expect) / expect;
	return chi2;
}

static void
uniform_case(const char *spec, unsigned want_len)
{
	unsigned	start, len;
	double		lo, hi, chi2;

	if (window_parse(spec, &start, &len) != 0)
		TEST_FATAL("%s: does not parse", spec);
	TEST_INT_EQ(spec, len, want_len);
	lo = chi2_quantile(len - 1, -Z999);
	hi = chi2_quantile(len - 1, Z999);
	chi2 = chi2_of(window_draw, start, len, 0x6d6f6174ULL, 1);
	printf("  %s: %u minutes, chi2 = %.1f, accepted %.1f..%.1f (%u d.f., p 0.001/0.999)\n",
	    spec, len, chi2, lo, hi, len - 1);
	TEST_CHECK(chi2 >= lo && chi2 <= hi, "%s: chi2 %.1f outside %.1f..%.1f",
	    spec, chi2, lo, hi);

	/* The statistic has the power to see a bad draw. */
	chi2 = chi2_of(draw_biased, start, len, 0x6d6f6174ULL, 0);
	TEST_CHECK(chi2 > hi, "%s: a biased draw passes (chi2 %.1f <= %.1f)", spec, chi2, hi);
	chi2 = chi2_of(draw_round_robin, start, len, 0, 0);
	TEST_CHECK(chi2 >= 0 && chi2 < lo, "%s: a round robin passes (chi2 %.1f >= %.1f)",
	    spec, chi2, lo);
}

static void
case_uniform_wrapping(void)
{
	uniform_case("22:00-06:00", 480);
}

static void
case_uniform_plain(void)
{
	uniform_case("01:00-04:00", 180);
}

static void
case_contains(void)
{
	static const struct {
		unsigned start, len, minute;
		int      want;
	} t[] = {
		{ 1320, 480, 1320, 1 }, { 1320, 480, 1439, 1 }, { 1320, 480, 0, 1 },
		{ 1320, 480, 359, 1 }, { 1320, 480, 360, 0 }, { 1320, 480, 1319, 0 },
		{ 60, 180, 60, 1 }, { 60, 180, 239, 1 }, { 60, 180, 240, 0 }, { 60, 180, 59, 0 },
		{ 0, 1440, 1439, 1 }, { 0, 1440, 0, 1 },
	};

	for (size_t i = 0; i < TEST_NELEM(t); i++)
		TEST_CHECK(window_contains(t[i].start, t[i].len, t[i].minute) == t[i].want,
		    "%u+%u contains %u: want %d", t[i].start, t[i].len, t[i].minute, t[i].want);
	/* The ends of the random range land inside too. */
	TEST_CHECK(window_draw(1320, 480, 0) == 1320, "draw 0");
	TEST_CHECK(window_contains(1320, 480, window_draw(1320, 480, UINT64_MAX)), "draw max");
}

static void
case_parse(void)
{
	static const struct {
		const char *in;
		int         rc;
		unsigned    start, len;
	} t[] = {
		{ "22:00-06:00", 0, 1320, 480 },
		{ "01:00-04:00", 0, 60, 180 },
		{ "00:00-23:59", 0, 0, 1439 },
		{ "23:59-00:00", 0, 1439, 1 },
		{ "03:00-03:00", 0, 180, 1440 },    /* equal: the whole day */
		{ "03:00-03:01", 0, 180, 1 },
		{ "", -1, 0, 0 },
		{ "22:00", -1, 0, 0 },
		{ "22:00-", -1, 0, 0 },
		{ "22:00-6:00", -1, 0, 0 },
		{ "2:00-06:00", -1, 0, 0 },
		{ "22:00-06:00 ", -1, 0, 0 },
		{ " 22:00-06:00", -1, 0, 0 },
		{ "22:00 06:00", -1, 0, 0 },
		{ "22.00-06.00", -1, 0, 0 },
		{ "24:00-06:00", -1, 0, 0 },
		{ "22:60-06:00", -1, 0, 0 },
		{ "22:00-06:60", -1, 0, 0 },
		{ "22:00-99:00", -1, 0, 0 },
		{ "ab:cd-ef:gh", -1, 0, 0 },
		{ "22:00-06:00-", -1, 0, 0 },
		{ "-1:00-06:00", -1, 0, 0 },
		{ "22:0x-06:00", -1, 0, 0 },
	};
	unsigned start, len;

	TEST_CHECK(window_parse(NULL, &start, &len) == -1, "NULL parses");
	for (size_t i = 0; i < TEST_NELEM(t); i++) {
		start = len = 9999;
		int rc = window_parse(t[i].in, &start, &len);

		if (rc != t[i].rc) {
			TEST_FAIL("\"%s\": rc %d, want %d", t[i].in, rc, t[i].rc);
			continue;
		}
		if (rc == 0 && (start != t[i].start || len != t[i].len))
			TEST_FAIL("\"%s\": %u+%u, want %u+%u", t[i].in, start, len,
			    t[i].start, t[i].len);
	}
}

static const struct test_case cases[] = {
	{ "uniform_wrapping", case_uniform_wrapping },
	{ "uniform_plain", case_uniform_plain },
	{ "contains", case_contains },
	{ "parse", case_parse },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
