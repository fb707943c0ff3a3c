/*
 * cidr_canon_test - cidr_canon (net.h): one spelling per network, host bits
 * refused with a hint, hostile text refused.
 */
#include <string.h>

#include "moat_test.h"
#include "net.h"

static const struct {
	const char	*in;
	int		 ret;
	const char	*want;    /* the canonical text, or a part of why */
} cidr_cases[] = {
	{ "192.0.2.0/24",		0,	"192.0.2.0/24" },
	{ "192.0.2.1",			0,	"192.0.2.1/32" },
	{ "192.0.2.1/32",		0,	"192.0.2.1/32" },
	{ "0.0.0.0/0",			0,	"0.0.0.0/0" },
	{ "2001:DB8::/32",		0,	"2001:db8::/32" },
	{ "2001:0db8:0000::1",		0,	"2001:db8::1/128" },
	{ "::/0",			0,	"::/0" },
	{ "::ffff:192.0.2.1",		0,	"::ffff:192.0.2.1/128" },
	{ "10.0.0.1/8",			-1,	"did you mean 10.0.0.0/8?" },
	{ "2001:db8::1/32",		-1,	"did you mean 2001:db8::/32?" },
	{ "192.0.2.0/33",		-1,	"" },
	{ "2001:db8::/129",		-1,	"" },
	{ "192.0.2.0/",			-1,	"" },
	{ "192.0.2.0/-1",		-1,	"" },
	{ "192.0.2.0/+8",		-1,	"" },
	{ "192.0.2.0/24/8",		-1,	"" },
	{ "192.0.2",			-1,	"" },
	{ "192.0.2.256",		-1,	"" },
	{ " 192.0.2.1",			-1,	"" },
	{ "example.com",		-1,	"" },
	{ "",				-1,	"" },
	{ "1111:2222:3333:4444:5555:6666:7777:8888:9999/64", -1, "" },
};

static void
case_table(void)
{
	for (size_t i = 0; i < TEST_NELEM(cidr_cases); i++) {
		char	out[64] = "", why[128] = "x";
		int	r;

		r = cidr_canon(cidr_cases[i].in, out, sizeof(out), why, sizeof(why));
		if (r != cidr_cases[i].ret)
			TEST_FAIL("cidr_canon(\"%s\"): got %d \"%s\", want %d",
			    cidr_cases[i].in, r, r == 0 ? out : why,
			    cidr_cases[i].ret);
		else if (r == 0 && strcmp(out, cidr_cases[i].want) != 0)
			TEST_FAIL("cidr_canon(\"%s\"): got \"%s\", want \"%s\"",
			    cidr_cases[i].in, out, cidr_cases[i].want);
		else if (r == -1 && (cidr_cases[i].want[0] == '\0' ?
		    why[0] != '\0' : strstr(why, cidr_cases[i].want) == NULL))
			TEST_FAIL("cidr_canon(\"%s\"): why \"%s\", want \"%s\"",
			    cidr_cases[i].in, why, cidr_cases[i].want);
	}
}

/* The canonical text is accepted again and stays itself. */
static void
case_idempotent(void)
{
	for (size_t i = 0; i < TEST_NELEM(cidr_cases); i++) {
		char	out[64], again[64], why[128];

		if (cidr_cases[i].ret != 0)
			continue;
		if (cidr_canon(cidr_cases[i].in, out, sizeof(out), why,
		    sizeof(why)) != 0 ||
		    cidr_canon(out, again, sizeof(again), why, sizeof(why)) != 0 ||
		    strcmp(out, again) != 0)
			TEST_FAIL("cidr_canon(cidr_canon(\"%s\")) is not \"%s\"",
			    cidr_cases[i].in, out);
	}
}

static void
case_short_buffer(void)
{
	char	out[8], why[128];

	TEST_CHECK(cidr_canon("192.0.2.0/24", out, sizeof(out), why,
	    sizeof(why)) == -1, "a result longer than the buffer: got success");
}

static const struct test_case cases[] = {
	{ "table", case_table },
	{ "canonical text is a fixed point", case_idempotent },
	{ "short buffer", case_short_buffer },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
