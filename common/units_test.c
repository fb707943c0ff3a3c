/*
 * units_test - parse_int, parse_size and parse_duration (units.h): one
 * table, every row a text, the parser and the value or failure it gives.
 */
#include <limits.h>
#include <string.h>

#include "moat_test.h"
#include "units.h"

enum kind { K_INT, K_SIZE, K_DURATION };

static const struct {
	enum kind	 kind;
	const char	*text;
	int		 ret;
	long long	 want;
} units_cases[] = {
	{ K_INT,	"0",			0,	0 },
	{ K_INT,	"42",			0,	42 },
	{ K_INT,	"-7",			0,	-7 },
	{ K_INT,	"+7",			0,	7 },
	{ K_INT,	"9223372036854775807",	0,	LLONG_MAX },
	{ K_INT,	"9223372036854775808",	-1,	0 },
	{ K_INT,	"5k",			-1,	0 },   /* no units */
	{ K_INT,	"",			-1,	0 },
	{ K_INT,	" 5",			-1,	0 },
	{ K_INT,	"5 ",			-1,	0 },
	{ K_INT,	"-",			-1,	0 },
	{ K_INT,	"0x10",			-1,	0 },
	{ K_SIZE,	"1024",			0,	1024 },
	{ K_SIZE,	"7b",			0,	7 },
	{ K_SIZE,	"10K",			0,	10240 },
	{ K_SIZE,	"10k",			0,	10240 },
	{ K_SIZE,	"25M",			0,	25LL * 1024 * 1024 },
	{ K_SIZE,	"1G",			0,	1024LL * 1024 * 1024 },
	{ K_SIZE,	"-1",			0,	-1 },  /* range is the caller's */
	{ K_SIZE,	"25MB",			-1,	0 },
	{ K_SIZE,	"1.5M",			-1,	0 },
	{ K_SIZE,	"1T",			-1,	0 },
	{ K_SIZE,	"M",			-1,	0 },
	{ K_SIZE,	"9000000000G",		-1,	0 },   /* overflow */
	{ K_SIZE,	"-9000000000G",		-1,	0 },
	{ K_DURATION,	"3600",			0,	3600 },
	{ K_DURATION,	"30s",			0,	30 },
	{ K_DURATION,	"5m",			0,	300 },
	{ K_DURATION,	"12H",			0,	43200 },
	{ K_DURATION,	"7d",			0,	604800 },
	{ K_DURATION,	"2w",			0,	1209600 },
	{ K_DURATION,	"1y",			-1,	0 },
	{ K_DURATION,	"5mm",			-1,	0 },
	{ K_DURATION,	"never",		-1,	0 },
	{ K_DURATION,	"99999999999999999w",	-1,	0 },
};

static void
case_table(void)
{
	static const char *const names[] = { "parse_int", "parse_size",
	    "parse_duration" };

	for (size_t i = 0; i < TEST_NELEM(units_cases); i++) {
		long long	v = 12345;
		int		r;

		switch (units_cases[i].kind) {
		case K_INT:	 r = parse_int(units_cases[i].text, &v); break;
		case K_SIZE:	 r = parse_size(units_cases[i].text, &v); break;
		default:	 r = parse_duration(units_cases[i].text, &v); break;
		}
		if (r != units_cases[i].ret)
			TEST_FAIL("%s(\"%s\"): got %d, want %d",
			    names[units_cases[i].kind], units_cases[i].text, r,
			    units_cases[i].ret);
		else if (r == 0 && v != units_cases[i].want)
			TEST_FAIL("%s(\"%s\"): got %lld, want %lld",
			    names[units_cases[i].kind], units_cases[i].text, v,
			    units_cases[i].want);
		else if (r == -1 && v != 12345)
			TEST_FAIL("%s(\"%s\"): failed but wrote %lld",
			    names[units_cases[i].kind], units_cases[i].text, v);
	}
}

static void
case_null(void)
{
	long long v = 1;

	TEST_CHECK(parse_size(NULL, &v) == -1 && v == 1,
	    "parse_size(NULL): got success or a write");
}

static const struct test_case cases[] = {
	{ "table", case_table },
	{ "NULL text", case_null },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
