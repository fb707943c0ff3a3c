/*
 * The correlation engine and the rule parser, table-driven: each case is a
 * rule (as stored: kind, params_json, response_json), a stream of events and
 * the matches wanted, written "KEY=ID,ID,..." in the order they fire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moat_test.h"
#include "secmgr_engine.h"

struct ev { long long ts; const char *kind, *daemon, *ip; long long sub; const char *dom; };

struct eng_case {
	const char *name;
	const char *kind, *params, *response;
	size_t      max_keys;
	struct ev   evs[12];              /* ids are 1-based positions */
	const char *want[6];              /* matches */
	long long   keys_after;           /* entries left after the stream, -1: any */
	int         evicted;              /* the rule evicted keys */
};

#define IF "mail.infected"
#define DL "decoy.login"
#define R1H "{\"threat\":{\"expiry\":[\"1h\"]}}"

static const struct eng_case eng_cases[] = {
	{ "threshold 3 in 10m", "threshold",
	  "{\"kinds\":[\"" IF "\"],\"key\":\"src_ip\",\"count\":3,\"window\":\"10m\"}", R1H, 100,
	  { { 0, IF, "milter", "127.0.0.5" }, { 60, IF, "milter", "127.0.0.5" },
	    { 120, IF, "milter", "127.0.0.5" }, { 130, IF, "milter", "127.0.0.5" } },
	  { "127.0.0.5=1,2,3" }, 1, 0 },
	{ "threshold window slides", "threshold",
	  "{\"kinds\":[\"" IF "\"],\"key\":\"src_ip\",\"count\":3,\"window\":\"10m\"}", R1H, 100,
	  { { 0, IF, "milter", "10.0.0.1" }, { 500, IF, "milter", "10.0.0.1" },
	    { 601, IF, "milter", "10.0.0.1" },   /* the first has slid out */
	    { 700, IF, "milter", "10.0.0.1" } },
	  { "10.0.0.1=2,3,4" }, -1, 0 },
	{ "threshold keys apart", "threshold",
	  "{\"kinds\":[\"" IF "\"],\"key\":\"src_ip\",\"count\":2,\"window\":60}", R1H, 100,
	  { { 0, IF, "m", "10.0.0.1" }, { 1, IF, "m", "10.0.0.2" }, { 2, IF, "m", "10.0.0.2" },
	    { 3, "mail.action", "m", "10.0.0.1" }, { 4, IF, "m", "10.0.0.3" } },
	  { "10.0.0.2=2,3" }, 3, 0 },
	{ "threshold two kinds count", "threshold",
	  "{\"kinds\":[\"" IF "\",\"" DL "\"],\"key\":\"src_ip\",\"count\":2,\"window\":60}", R1H,
	  100, { { 0, IF, "m", "10.0.0.1" }, { 1, DL, "d", "10.0.0.1" } },
	  { "10.0.0.1=1,2" }, -1, 0 },
	{ "src_net /24", "threshold",
	  "{\"kinds\":[\"" IF "\"],\"key\":\"src_net\",\"count\":3,\"window\":60}", R1H, 100,
	  { { 0, IF, "m", "192.0.2.1" }, { 1, IF, "m", "192.0.2.200" }, { 2, IF, "m", "192.0.3.1" },
	    { 3, IF, "m", "192.0.2.77" } },
	  { "192.0.2.0/24=1,2,4" }, -1, 0 },
	{ "src_net /64", "threshold",
	  "{\"kinds\":[\"" IF "\"],\"key\":\"src_net\",\"count\":2,\"window\":60}", R1H, 100,
	  { { 0, IF, "m", "2001:db8:1:2::1" }, { 1, IF, "m", "2001:db8:1:3::1" },
	    { 2, IF, "m", "2001:db8:1:2:ffff::9" } },
	  { "2001:db8:1:2::/64=1,3" }, -1, 0 },
	{ "src_ip ipv6 canonical", "threshold",
	  "{\"kinds\":[\"" IF "\"],\"key\":\"src_ip\",\"count\":2,\"window\":60}", R1H, 100,
	  { { 0, IF, "m", "2001:DB8::0:1" }, { 1, IF, "m", "2001:db8::1" } },
	  { "2001:db8::1=1,2" }, -1, 0 },
	{ "bad addresses have no key", "threshold",
	  "{\"kinds\":[\"" IF "\"],\"key\":\"src_ip\",\"count\":2,\"window\":60}", R1H, 100,
	  { { 0, IF, "m", "not-an-ip" }, { 1, IF, "m", NULL }, { 2, IF, "m", "1.2.3.4/8" },
	    { 3, IF, "m", "" } },
	  { NULL }, 0, 0 },
	{ "subscriber key", "threshold",
	  "{\"kinds\":[\"" IF "\"],\"key\":\"subscriber\",\"count\":2,\"window\":60}", "{}", 100,
	  { { 0, IF, "m", "1.1.1.1", 3 }, { 1, IF, "m", "2.2.2.2", 0 }, { 2, IF, "m", "3.3.3.3", 3 } },
	  { "subscriber:3=1,3" }, -1, 0 },
	{ "sender_domain key", "threshold",
	  "{\"kinds\":[\"" IF "\"],\"key\":\"sender_domain\",\"count\":2,\"window\":60}", R1H, 100,
	  { { 0, IF, "m", "1.1.1.1", 0, "evil.example" }, { 1, IF, "m", "2.2.2.2", 0, NULL },
	    { 2, IF, "m", "3.3.3.3", 0, "evil.example" } },
	  { "evil.example=1,3" }, -1, 0 },
	{ "multi min_kinds", "multi",
	  "{\"key\":\"src_ip\",\"min_kinds\":3,\"window\":\"5m\"}", R1H, 100,
	  { { 0, IF, "milter", "10.0.0.9" }, { 1, IF, "milter", "10.0.0.9" },
	    { 2, DL, "decoyd", "10.0.0.9" }, { 3, "update.denied", "updated", "10.0.0.9" } },
	  { "10.0.0.9=2,3,4" }, -1, 0 },
	{ "multi listed kinds only", "multi",
	  "{\"kinds\":[\"" IF "\",\"" DL "\"],\"key\":\"src_ip\",\"min_kinds\":2,\"window\":60}",
	  R1H, 100,
	  { { 0, "update.denied", "updated", "10.0.0.9" }, { 1, IF, "milter", "10.0.0.9" },
	    { 2, "mail.action", "milter", "10.0.0.9" }, { 3, DL, "decoyd", "10.0.0.9" } },
	  { "10.0.0.9=2,4" }, -1, 0 },
	{ "multi min_daemons", "multi",
	  "{\"key\":\"src_ip\",\"min_daemons\":2,\"window\":60}", R1H, 100,
	  { { 0, IF, "milter", "10.0.0.9" }, { 1, "mail.action", "milter", "10.0.0.9" },
	    { 2, DL, "decoyd", "10.0.0.9" } },
	  { "10.0.0.9=2,3" }, -1, 0 },
	{ "multi of any kind skips secmgr's own", "multi",
	  "{\"key\":\"src_ip\",\"min_daemons\":2,\"window\":60}", R1H, 100,
	  { { 0, IF, "milter", "10.0.0.9" }, { 1, "secmgr.response", "secmgr", "10.0.0.9" },
	    { 2, DL, "decoyd", "10.0.0.9" } },
	  { "10.0.0.9=1,3" }, -1, 0 },
	{ "named secmgr kind counts", "threshold",
	  "{\"kinds\":[\"secmgr.response\"],\"key\":\"src_ip\",\"count\":2,\"window\":60}", R1H, 100,
	  { { 0, "secmgr.response", "secmgr", "10.0.0.9" }, { 1, "secmgr.response", "secmgr", "10.0.0.9" } },
	  { "10.0.0.9=1,2" }, -1, 0 },
	{ "multi window", "multi",
	  "{\"key\":\"src_ip\",\"min_kinds\":2,\"window\":60}", R1H, 100,
	  { { 0, IF, "m", "10.0.0.9" }, { 61, DL, "d", "10.0.0.9" } },
	  { NULL }, -1, 0 },
	{ "sequence A then B", "sequence",
	  "{\"steps\":[\"" DL "\",\"" IF "\"],\"key\":\"src_ip\",\"window\":\"1h\"}", R1H, 100,
	  { { 0, IF, "milter", "10.0.0.7" },        /* B before A: nothing */
	    { 10, DL, "decoyd", "10.0.0.7" }, { 20, IF, "milter", "10.0.0.8" },
	    { 30, IF, "milter", "10.0.0.7" }, { 40, IF, "milter", "10.0.0.7" } },
	  { "10.0.0.7=2,4" }, -1, 0 },
	{ "sequence window", "sequence",
	  "{\"steps\":[\"" DL "\",\"" IF "\"],\"key\":\"src_ip\",\"window\":\"10m\"}", R1H, 100,
	  { { 0, DL, "decoyd", "10.0.0.7" }, { 601, IF, "milter", "10.0.0.7" },
	    { 700, DL, "decoyd", "10.0.0.7" }, { 710, IF, "milter", "10.0.0.7" } },
	  { "10.0.0.7=3,4" }, -1, 0 },
	{ "sequence of three", "sequence",
	  "{\"steps\":[\"" DL "\",\"" IF "\",\"decoy.download\"],\"key\":\"src_ip\",\"window\":60}",
	  R1H, 100,
	  { { 0, DL, "d", "10.0.0.7" }, { 1, "decoy.download", "d", "10.0.0.7" },
	    { 2, IF, "m", "10.0.0.7" }, { 3, DL, "d", "10.0.0.7" },
	    { 4, "decoy.download", "d", "10.0.0.7" } },
	  { "10.0.0.7=1,3,5" }, -1, 0 },
	{ "cap evicts the oldest", "multi",
	  "{\"key\":\"src_ip\",\"min_kinds\":2,\"window\":\"1h\"}", R1H, 2,
	  { { 0, IF, "m", "10.0.0.1" }, { 1, IF, "m", "10.0.0.2" }, { 2, IF, "m", "10.0.0.3" },
	    { 3, DL, "d", "10.0.0.1" },   /* 10.0.0.1 was evicted: starts over */
	    { 4, DL, "d", "10.0.0.3" } },
	  { "10.0.0.3=3,5" }, 2, 1 },
	{ "expired keys dropped", "threshold",
	  "{\"kinds\":[\"" IF "\"],\"key\":\"src_ip\",\"count\":5,\"window\":10}", R1H, 100,
	  { { 0, IF, "m", "10.0.0.1" }, { 1, IF, "m", "10.0.0.2" }, { 2, IF, "m", "10.0.0.3" },
	    { 100, IF, "m", "10.0.0.4" } },
	  { NULL }, 1, 0 },
};

static void
eng_emit(void *arg, const struct secmgr_match *m)
{
	char *out = arg, buf[512];
	int n = snprintf(buf, sizeof(buf), "%s=", m->key);

	for (int i = 0; i < m->nids; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "%s%lld", i ? "," : "", (long long)m->ids[i]);
	snprintf(out + strlen(out), 4096 - strlen(out), "%s|", buf);
}

static void
case_engine(void)
{
	for (size_t c = 0; c < TEST_NELEM(eng_cases); c++) {
		const struct eng_case *t = &eng_cases[c];
		struct secmgr_rule r = { .id = 1, .name = "r" };
		struct secmgr_engine *e;
		char err[256], got[4096] = "", want[4096] = "";

		if (secmgr_rule_parse(t->kind, t->params, t->response, &r, err, sizeof(err)) == -1) {
			TEST_FAIL("%s: parse: %s", t->name, err);
			continue;
		}
		if ((e = secmgr_engine_new(&r, 1, t->max_keys)) == NULL)
			TEST_FATAL("out of memory");
		for (int i = 0; i < (int)TEST_NELEM(t->evs) && t->evs[i].kind != NULL; i++) {
			struct secmgr_event ev = { i + 1, t->evs[i].ts, t->evs[i].kind,
				t->evs[i].daemon, t->evs[i].sub, t->evs[i].ip, t->evs[i].dom };
			secmgr_engine_feed(e, &ev, eng_emit, got);
		}
		for (int i = 0; i < 6 && t->want[i] != NULL; i++)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s|", t->want[i]);
		if (strcmp(got, want) != 0)
			TEST_FAIL("%s: matches: got \"%s\", want \"%s\"", t->name, got, want);
		if (t->keys_after >= 0 && (long long)secmgr_engine_keys(e, 0) != t->keys_after)
			TEST_FAIL("%s: keys: got %zu, want %lld", t->name, secmgr_engine_keys(e, 0),
			    t->keys_after);
		if ((secmgr_engine_evicted(e, 0) > 0) != t->evicted)
			TEST_FAIL("%s: evicted: got %llu", t->name,
			    (unsigned long long)secmgr_engine_evicted(e, 0));
		secmgr_engine_free(e);
	}
}

/* Many rules over one stream: each fires on its own, and a kind named by
 * two rules reaches both. */
static void
case_rules_apart(void)
{
	struct secmgr_rule r[2] = { { .id = 1, .name = "a" }, { .id = 2, .name = "b" } };
	struct secmgr_engine *e;
	char err[256], got[4096] = "";

	if (secmgr_rule_parse("threshold", "{\"kinds\":[\"" IF "\"],\"key\":\"src_ip\","
	    "\"count\":2,\"window\":60}", "{}", &r[0], err, sizeof(err)) == -1 ||
	    secmgr_rule_parse("sequence", "{\"steps\":[\"" DL "\",\"" IF "\"],\"key\":\"src_net\","
	    "\"window\":60}", "{}", &r[1], err, sizeof(err)) == -1)
		TEST_FATAL("parse: %s", err);
	e = secmgr_engine_new(r, 2, 10);
	struct secmgr_event evs[] = {
		{ 1, 0, DL, "d", 0, "10.1.1.1", NULL }, { 2, 1, IF, "m", 0, "10.1.1.2", NULL },
		{ 3, 2, IF, "m", 0, "10.1.1.2", NULL },
	};
	for (size_t i = 0; i < TEST_NELEM(evs); i++)
		secmgr_engine_feed(e, &evs[i], eng_emit, got);
	TEST_STR_EQ("matches", got, "10.1.1.0/24=1,2|10.1.1.2=2,3|");
	secmgr_engine_free(e);
}

struct parse_case {
	const char *name, *kind, *params, *response;
	const char *err;        /* NULL: accepted; else a substring of the reason */
};

static const struct parse_case parse_cases[] = {
	{ "threshold ok", "threshold", "{\"kinds\":[\"a.b\"],\"key\":\"src_ip\",\"count\":3,"
	  "\"window\":\"10m\"}", "{\"threat\":{\"expiry\":[\"1h\",\"6h\",\"1d\"]},\"switch\":true,"
	  "\"mail\":true,\"incident\":true}", NULL },
	{ "bad kind", "thresh", "{}", "{}", "kind:" },
	{ "not json", "threshold", "{kinds", "{}", "not JSON" },
	{ "not object", "threshold", "[1]", "{}", "expected a JSON object" },
	{ "unknown member", "threshold", "{\"kinds\":[\"a\"],\"key\":\"src_ip\",\"count\":3,"
	  "\"window\":60,\"cnt\":1}", "{}", "unknown member \"cnt\"" },
	{ "bad key", "threshold", "{\"kinds\":[\"a\"],\"key\":\"ip\",\"count\":3,\"window\":60}",
	  "{}", "params.key" },
	{ "count zero", "threshold", "{\"kinds\":[\"a\"],\"key\":\"src_ip\",\"count\":0,"
	  "\"window\":60}", "{}", "params.count" },
	{ "count huge", "threshold", "{\"kinds\":[\"a\"],\"key\":\"src_ip\",\"count\":1000000,"
	  "\"window\":60}", "{}", "params.count" },
	{ "window bad", "threshold", "{\"kinds\":[\"a\"],\"key\":\"src_ip\",\"count\":3,"
	  "\"window\":\"ten\"}", "{}", "not a duration" },
	{ "window too long", "threshold", "{\"kinds\":[\"a\"],\"key\":\"src_ip\",\"count\":3,"
	  "\"window\":\"30d\"}", "{}", "out of range" },
	{ "kinds empty", "threshold", "{\"kinds\":[],\"key\":\"src_ip\",\"count\":3,"
	  "\"window\":60}", "{}", "params.kinds" },
	{ "kind chars", "threshold", "{\"kinds\":[\"A B\"],\"key\":\"src_ip\",\"count\":3,"
	  "\"window\":60}", "{}", "not an event kind" },
	{ "kind twice", "threshold", "{\"kinds\":[\"a\",\"a\"],\"key\":\"src_ip\",\"count\":3,"
	  "\"window\":60}", "{}", "twice" },
	{ "multi both", "multi", "{\"key\":\"src_ip\",\"min_kinds\":2,\"min_daemons\":2,"
	  "\"window\":60}", "{}", "exactly one" },
	{ "multi neither", "multi", "{\"key\":\"src_ip\",\"window\":60}", "{}", "exactly one" },
	{ "multi more than listed", "multi", "{\"kinds\":[\"a\",\"b\"],\"key\":\"src_ip\","
	  "\"min_kinds\":3,\"window\":60}", "{}", "only 2 kinds" },
	{ "sequence one step", "sequence", "{\"steps\":[\"a\"],\"key\":\"src_ip\",\"window\":60}",
	  "{}", "params.steps" },
	{ "sequence four", "sequence", "{\"steps\":[\"a\",\"b\",\"c\",\"d\"],\"key\":\"src_ip\","
	  "\"window\":60}", "{}", "params.steps" },
	{ "expiry empty", "sequence", "{\"steps\":[\"a\",\"b\"],\"key\":\"src_ip\",\"window\":60}",
	  "{\"threat\":{\"expiry\":[]}}", "expiry" },
	{ "expiry bad", "sequence", "{\"steps\":[\"a\",\"b\"],\"key\":\"src_ip\",\"window\":60}",
	  "{\"threat\":{\"expiry\":[\"1h\",-5]}}", "out of range" },
	{ "switch without threat", "sequence", "{\"steps\":[\"a\",\"b\"],\"key\":\"src_ip\","
	  "\"window\":60}", "{\"switch\":true}", "response.switch" },
	{ "threat of a subscriber", "threshold", "{\"kinds\":[\"a\"],\"key\":\"subscriber\","
	  "\"count\":3,\"window\":60}", R1H, "subscriber is not" },
	{ "mail not bool", "threshold", "{\"kinds\":[\"a\"],\"key\":\"src_ip\",\"count\":3,"
	  "\"window\":60}", "{\"mail\":1}", "response.mail" },
	{ "duplicate member", "threshold", "{\"key\":\"src_ip\",\"key\":\"src_net\"}", "{}",
	  "not JSON" },
};

static void
case_parse(void)
{
	for (size_t c = 0; c < TEST_NELEM(parse_cases); c++) {
		const struct parse_case *t = &parse_cases[c];
		struct secmgr_rule r;
		char err[256] = "";
		int rc = secmgr_rule_parse(t->kind, t->params, t->response, &r, err, sizeof(err));

		if (t->err == NULL && rc != 0)
			TEST_FAIL("%s: got \"%s\", want accepted", t->name, err);
		else if (t->err != NULL && (rc != -1 || strstr(err, t->err) == NULL))
			TEST_FAIL("%s: got %d \"%s\", want \"%s\"", t->name, rc, err, t->err);
	}
}

static const struct test_case cases[] = {
	{ "engine", case_engine },
	{ "rules_apart", case_rules_apart },
	{ "parse", case_parse },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
