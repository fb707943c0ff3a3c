/*
 * Unit tests of the HTTP layer's pure parts: routing of decoded paths
 * (ids that are malformed, negative, overflowing or try to escape) and
 * percent-decoding.  Table-driven, named cases, got/want messages.
 */
#include <stdio.h>
#include <string.h>

#include "quarantined_api.h"

static int failures;

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
			failures++;
			fprintf(stderr, "FAIL route %s: got status %u route %d id %lld, want %u %d %lld\n",
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
			failures++;
			fprintf(stderr, "FAIL unescape %s: got \"%s\" (%zu) want \"%s\"\n",
			    t[i].name, buf, n, t[i].want);
		}
	}
}

int
main(void)
{
	test_route();
	test_unescape();
	if (failures > 0) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("quarantined http tests passed\n");
	return 0;
}
