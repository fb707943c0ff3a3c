/*
 * Unit tests of the HTTP layer's pure parts: routing of decoded paths
 * (ids that are malformed, negative, overflowing or try to escape) and
 * percent-decoding; the hold kind of a submission and the grouping of its
 * recipients by subscriber.  Table-driven, named cases, got/want messages.
 */
#include <stdio.h>
#include <string.h>

#include "quarantined_api.h"
#include "moat_test.h"

static void
test_route(void)
{
	static const struct {
		const char *name, *url;
		unsigned status;
		enum route route;
		long long id;
	} t[] = {
		{ "health", "/v1/health", 0, R_HEALTH, 0 },
		{ "items", "/v1/items", 0, R_ITEMS, 0 },
		{ "item", "/v1/items/42", 0, R_ITEM, 42 },
		{ "item slash", "/v1/items/42/", 0, R_ITEM, 42 },
		{ "raw", "/v1/items/7/raw", 0, R_RAW, 7 },
		{ "release", "/v1/items/7/release", 0, R_RELEASE, 7 },
		{ "rescan", "/v1/rescan", 0, R_RESCAN, 0 },
		{ "purge", "/v1/purge", 0, R_PURGE, 0 },
		{ "digests", "/v1/digests", 0, R_DIGESTS, 0 },
		{ "root", "/", 404, R_NONE, 0 },
		{ "other version", "/v2/items", 404, R_NONE, 0 },
		{ "prefix only", "/v1", 404, R_NONE, 0 },
		{ "unknown top", "/v1/nothing", 404, R_NONE, 0 },
		{ "unknown suffix", "/v1/items/7/delete", 404, R_NONE, 0 },
		{ "too deep", "/v1/items/7/raw/x", 404, R_NONE, 0 },
		{ "junk id", "/v1/items/12abc", 400, R_ITEM, 0 },
		{ "negative id", "/v1/items/-1", 400, R_ITEM, 0 },
		{ "zero id", "/v1/items/0", 400, R_ITEM, 0 },
		{ "overflow id", "/v1/items/9223372036854775808", 400, R_ITEM, 0 },
		{ "traversal", "/v1/items/../../etc/passwd", 404, R_NONE, 0 },
		{ "dotdot id", "/v1/items/..", 400, R_ITEM, 0 },
		{ "dotdot raw", "/v1/items/../raw", 400, R_RAW, 0 },
		{ "nul kept encoded", "/v1/items/1%00/raw", 400, R_RAW, 0 },
		{ "long segment", "/v1/itemsxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 404, R_NONE, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum route r = R_NONE;
		int64_t id = 0;
		unsigned st = http_route(t[i].url, &r, &id);
		if (st != t[i].status || (st == 0 && (r != t[i].route || id != t[i].id))) {
			TEST_FAIL("route %s: got status %u route %d id %lld, want %u %d %lld",
			    t[i].name, st, r, (long long)id, t[i].status, t[i].route, t[i].id);
		}
	}
}

static void
test_unescape(void)
{
	static const struct { const char *name, *in, *want; } t[] = {
		{ "plain", "/v1/items", "/v1/items" },
		{ "at sign", "a%40b.example", "a@b.example" },
		{ "slash", "..%2f..%2fetc", "../../etc" },
		{ "nul kept", "1%00/raw", "1%00/raw" },
		{ "bad hex kept", "%zz%4", "%zz%4" },
		{ "upper hex", "%2E%2E", ".." },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", t[i].in);
		size_t n = http_unescape(NULL, NULL, buf);
		if (strcmp(buf, t[i].want) != 0 || n != strlen(t[i].want)) {
			TEST_FAIL("unescape %s: got \"%s\" (%zu) want \"%s\"",
			    t[i].name, buf, n, t[i].want);
		}
	}
}

/* The hold kind of a submission: the milter's word, never weaker than the
 * names say. */
static void
test_submit_hold(void)
{
	static const struct { const char *name, *given, *virus, *want; } t[] = {
		{ "signature", "", "Eicar-Test-Signature", "virus" },
		{ "given virus", "virus", "Win.Test.A", "virus" },
		{ "heuristic name", "", "Heuristics.Broken.Executable", "heuristic" },
		{ "virus said, heuristic name", "virus", "Heuristics.OLE2.ContainsMacros",
		  "heuristic" },
		{ "encrypted name", "", "Heuristics.Encrypted.Zip", "unscannable" },
		{ "limits name", "virus", "Heuristics.Limits.Exceeded.MaxFileSize", "unscannable" },
		{ "given unscannable", "unscannable", "over size limit (5 > 1 bytes)",
		  "unscannable" },
		{ "given heuristic kept", "heuristic", "Win.Test.A", "heuristic" },
		{ "case matters (a signature)", "", "heuristics.encrypted.zip", "virus" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		json_t *v = json_pack("[s]", t[i].virus);
		const char *got = submit_hold(t[i].given, v);
		if (strcmp(got, t[i].want) != 0) {
			TEST_FAIL("hold %s: got %s want %s", t[i].name, got, t[i].want);
		}
		json_decref(v);
	}
}

/* Recipients grouped by subscriber: order of first appearance, repeats
 * dropped, one address never under two subscribers. */
static void
test_submit_group(void)
{
	static const struct {
		const char *name;
		int64_t     subscriber;           /* of rcpt */
		const char *rcpt, *rcpt_of;       /* JSON arrays */
		int         rc;
		const char *want;                 /* JSON [[sub, [addrs]], ...] */
	} t[] = {
		{ "legacy rcpt only", 1, "[\"a@x\",\"b@x\"]", "[]", 0, "[[1,[\"a@x\",\"b@x\"]]]" },
		{ "legacy without subscriber", 0, "[\"a@x\"]", "[]", 0, "[[0,[\"a@x\"]]]" },
		{ "split", 0, "[]", "[[1,\"a@x\"],[2,\"b@y\"],[0,\"c@z\"],[1,\"d@x\"]]", 0,
		  "[[1,[\"a@x\",\"d@x\"]],[2,[\"b@y\"]],[0,[\"c@z\"]]]" },
		{ "repeat dropped", 0, "[]", "[[1,\"a@x\"],[1,\"a@x\"]]", 0, "[[1,[\"a@x\"]]]" },
		{ "mixed forms", 2, "[\"b@y\"]", "[[1,\"a@x\"],[2,\"c@y\"]]", 0,
		  "[[2,[\"b@y\",\"c@y\"]],[1,[\"a@x\"]]]" },
		{ "two subscribers", 0, "[]", "[[1,\"a@x\"],[2,\"a@x\"]]", -1, NULL },
		{ "rcpt and rcpt_of disagree", 1, "[\"a@x\"]", "[[2,\"a@x\"]]", -1, NULL },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct submit_meta m;
		char err[256];
		json_t *got = json_array(), *want = NULL;
		int rc;

		memset(&m, 0, sizeof(m));
		m.subscriber = t[i].subscriber;
		m.rcpts = json_loads(t[i].rcpt, 0, NULL);
		m.rcpt_of = json_loads(t[i].rcpt_of, 0, NULL);
		rc = submit_meta_group(&m, err, sizeof(err));
		for (size_t k = 0; rc == 0 && k < m.ngroups; k++)
			json_array_append_new(got, json_pack("[I, O]",
			    (json_int_t)m.groups[k].subscriber, m.groups[k].rcpts));
		if (t[i].want != NULL)
			want = json_loads(t[i].want, 0, NULL);
		if (rc != t[i].rc || (rc == 0 && !json_equal(got, want))) {
			char *g = json_dumps(got, JSON_COMPACT);
			TEST_FAIL("group %s: got rc %d %s (%s) want %d %s", t[i].name,
			    rc, g, rc == -1 ? err : "", t[i].rc, t[i].want ? t[i].want : "");
			free(g);
		}
		json_decref(got);
		json_decref(want);
		submit_meta_free(&m);
	}
}

static const struct test_case cases[] = {
	{ "route",		test_route },
	{ "unescape",		test_unescape },
	{ "submit hold",	test_submit_hold },
	{ "submit group",	test_submit_group },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
