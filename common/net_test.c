/*
 * net_test - table-driven tests of the CIDR sets, domain sets and address
 * helpers of net.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "net.h"

static int failures;

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define FAIL(...) do { fprintf(stderr, "FAIL " __VA_ARGS__); failures++; } while (0)

/* Entries are added in order; data is the entry's index + 1 (tag). */
static const struct { const char *cidr; int ok; } cidr_adds[] = {
	{ "10.0.0.0/8", 1 },                 /* tag 1 */
	{ "10.1.0.0/16", 1 },                /* tag 2: more specific than 10/8 */
	{ "10.1.2.3", 1 },                   /* tag 3: host entry */
	{ "192.0.2.77/24", 1 },              /* tag 4: host bits set: normalized */
	{ "2001:db8::/32", 1 },              /* tag 5 */
	{ "2001:db8:1::/48", 1 },            /* tag 6 */
	{ "::1", 1 },                        /* tag 7 */
	{ "::ffff:198.51.100.0/120", 1 },    /* tag 8: IPv4 written mapped */
	{ "10.0.0.0/33", 0 },
	{ "1.2.3", 0 },
	{ "::1/129", 0 },
	{ "10.0.0.0/", 0 },
	{ "10.0.0.0/-1", 0 },
	{ "10.0.0.0/8x", 0 },
	{ "10.0.0.0/ 8", 0 },
	{ "", 0 },
	{ "example.com", 0 },
	{ "256.1.1.1", 0 },
	{ "2001:db8::/32/1", 0 },
	{ "fe80::1%eth0", 0 },
};

static const struct { const char *name, *addr; int rc, tag; } cidr_matches[] = {
	{ "inside /8 only", "10.200.0.1", 1, 1 },
	{ "longest prefix /16", "10.1.99.1", 1, 2 },
	{ "host entry beats /16", "10.1.2.3", 1, 3 },
	{ "neighbour of host entry", "10.1.2.4", 1, 2 },
	{ "normalized /24", "192.0.2.1", 1, 4 },
	{ "outside every entry", "11.0.0.1", 0, 0 },
	{ "IPv4-mapped IPv6 matches IPv4 entry", "::ffff:10.1.2.3", 1, 3 },
	{ "IPv4-mapped hex form", "::ffff:a01:203", 1, 3 },
	{ "IPv4 matches entry written mapped", "198.51.100.9", 1, 8 },
	{ "IPv6 /32", "2001:db8:ffff::1", 1, 5 },
	{ "IPv6 /48 longest", "2001:DB8:1::abcd", 1, 6 },
	{ "IPv6 loopback", "::1", 1, 7 },
	{ "IPv6 unspecified", "::", 0, 0 },
	{ "IPv6 outside", "2001:db9::1", 0, 0 },
	{ "IPv4-compatible is not mapped", "::10.1.2.3", 0, 0 },
	{ "bracketed literal", "[10.1.2.3]", 1, 3 },
	{ "Postfix IPv6: prefix", "IPv6:2001:db8:1::1", 1, 6 },
	{ "malformed", "10.1.2", -1, 0 },
	{ "empty", "", -1, 0 },
	{ "hostname", "localhost", -1, 0 },
};

static void
test_cidr(void)
{
	struct cidrset *set = cidrset_new();
	size_t want_count = 0;
	void *data;
	int rc;

	for (size_t i = 0; i < NELEM(cidr_adds); i++) {
		rc = cidrset_add(set, cidr_adds[i].cidr, (void *)(i + 1));
		if (rc != (cidr_adds[i].ok ? 0 : -1))
			FAIL("cidrset_add(\"%s\"): got %d, want %d\n", cidr_adds[i].cidr, rc,
			    cidr_adds[i].ok ? 0 : -1);
		want_count += cidr_adds[i].ok;
	}
	if (cidrset_count(set) != want_count)
		FAIL("cidrset_count: got %zu, want %zu\n", cidrset_count(set), want_count);
	for (size_t i = 0; i < NELEM(cidr_matches); i++) {
		data = NULL;
		rc = cidrset_match(set, cidr_matches[i].addr, &data);
		if (rc != cidr_matches[i].rc)
			FAIL("%s: cidrset_match(\"%s\"): got %d, want %d\n", cidr_matches[i].name,
			    cidr_matches[i].addr, rc, cidr_matches[i].rc);
		else if (rc == 1 && (size_t)data != (size_t)cidr_matches[i].tag)
			FAIL("%s: cidrset_match(\"%s\"): got entry %zu, want %d\n",
			    cidr_matches[i].name, cidr_matches[i].addr, (size_t)data,
			    cidr_matches[i].tag);
	}

	/* A duplicate replaces the data and does not count twice. */
	cidrset_add(set, "10.1.0.5/16", (void *)99);
	if (cidrset_match(set, "10.1.50.50", &data) != 1 || (size_t)data != 99)
		FAIL("duplicate: got entry %zu, want 99\n", (size_t)data);
	if (cidrset_count(set) != want_count)
		FAIL("duplicate: count %zu, want %zu\n", cidrset_count(set), want_count);

	/* sockaddr forms. */
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	if (cidrset_match_sa(set, (struct sockaddr *)&sin, &data) != 1 || (size_t)data != 3)
		FAIL("match_sa IPv4: want entry 3\n");
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr);
	if (cidrset_match_sa(set, (struct sockaddr *)&sin6, &data) != 1 || (size_t)data != 3)
		FAIL("match_sa mapped IPv6: want entry 3\n");
	inet_pton(AF_INET6, "2001:db8:1::1", &sin6.sin6_addr);
	if (cidrset_match_sa(set, (struct sockaddr *)&sin6, &data) != 1 || (size_t)data != 6)
		FAIL("match_sa IPv6: want entry 6\n");
	struct sockaddr un = { .sa_family = AF_UNIX };
	if (cidrset_match_sa(set, &un, &data) != -1)
		FAIL("match_sa AF_UNIX: want -1\n");
	cidrset_free(set);

	/* /0 entries: 0.0.0.0/0 is every IPv4 address, ::/0 every address. */
	set = cidrset_new();
	cidrset_add(set, "0.0.0.0/0", (void *)1);
	if (cidrset_match(set, "203.0.113.5", &data) != 1 || (size_t)data != 1)
		FAIL("0.0.0.0/0: IPv4 should match\n");
	if (cidrset_match(set, "2001:db8::1", &data) != 0)
		FAIL("0.0.0.0/0: IPv6 should not match\n");
	cidrset_add(set, "::/0", (void *)2);
	if (cidrset_match(set, "2001:db8::1", &data) != 1 || (size_t)data != 2)
		FAIL("::/0: IPv6 should match entry 2\n");
	if (cidrset_match(set, "203.0.113.5", &data) != 1 || (size_t)data != 1)
		FAIL("::/0 + 0.0.0.0/0: IPv4 should match the longer IPv4 /0\n");
	cidrset_free(set);

	/* Empty set, NULL data pointer, NULL frees. */
	set = cidrset_new();
	if (cidrset_match(set, "10.0.0.1", NULL) != 0 || cidrset_count(set) != 0)
		FAIL("empty set: want no match and count 0\n");
	cidrset_add(set, "10.0.0.1", NULL);
	if (cidrset_match(set, "10.0.0.1", NULL) != 1)
		FAIL("NULL data out pointer: want a match\n");
	cidrset_free(set);
	cidrset_free(NULL);
}

static const struct { const char *name; int ok; } dom_adds[] = {
	{ "example.com", 1 },            /* tag 1: exact */
	{ ".sub.example.com", 1 },       /* tag 2: name and subdomains */
	{ "Mixed.Example.ORG.", 1 },     /* tag 3: case-folded, trailing dot dropped */
	{ ".org", 1 },                   /* tag 4: a whole TLD */
	{ "deep.sub.example.com", 1 },   /* tag 5: exact beats .sub.example.com */
	{ "xn--bcher-kva.example", 1 },  /* tag 6: IDNA A-label */
	{ "_dmarc.example.net", 1 },     /* tag 7: underscore allowed */
	{ "", 0 },
	{ ".", 0 },
	{ "..example.com", 0 },
	{ "a..b", 0 },
	{ "exa mple.com", 0 },
	{ "exa*mple.com", 0 },
	{ "bücher.example", 0 },
	{ "example.com..", 0 },
	{ "0123456789012345678901234567890123456789012345678901234567890123.com", 0 },
};

static const struct { const char *name, *query; int rc, tag; } dom_matches[] = {
	{ "exact", "example.com", 1, 1 },
	{ "exact only: subdomain misses", "www.example.com", 0, 0 },
	{ "case", "EXAMPLE.Com", 1, 1 },
	{ "trailing dot", "example.com.", 1, 1 },
	{ "dot entry matches itself", "sub.example.com", 1, 2 },
	{ "dot entry matches subdomain", "a.b.sub.example.com", 1, 2 },
	{ "exact more specific than dot entry", "deep.sub.example.com", 1, 5 },
	{ "below exact falls back to dot entry", "x.deep.sub.example.com", 1, 2 },
	{ "folded entry", "mixed.example.org", 1, 3 },
	{ "TLD dot entry", "anything.org", 1, 4 },
	{ "label boundary", "notsub.example.com", 0, 0 },
	{ "suffix is not a label", "xexample.com", 0, 0 },
	{ "A-label", "XN--BCHER-KVA.example", 1, 6 },
	{ "underscore", "_dmarc.example.net", 1, 7 },
	{ "invalid query", "exa mple.com", 0, 0 },
	{ "empty query", "", 0, 0 },
	{ "other TLD", "example.net", 0, 0 },
};

static void
test_domset(void)
{
	struct domset *set = domset_new();
	size_t want_count = 0;
	char name[300];
	void *data;
	int rc;

	for (size_t i = 0; i < NELEM(dom_adds); i++) {
		rc = domset_add(set, dom_adds[i].name, (void *)(i + 1));
		if (rc != (dom_adds[i].ok ? 0 : -1))
			FAIL("domset_add(\"%s\"): got %d, want %d\n", dom_adds[i].name, rc,
			    dom_adds[i].ok ? 0 : -1);
		want_count += dom_adds[i].ok;
	}
	if (domset_count(set) != want_count)
		FAIL("domset_count: got %zu, want %zu\n", domset_count(set), want_count);
	for (size_t i = 0; i < NELEM(dom_matches); i++) {
		data = NULL;
		rc = domset_match(set, dom_matches[i].query, &data);
		if (rc != dom_matches[i].rc)
			FAIL("%s: domset_match(\"%s\"): got %d, want %d\n", dom_matches[i].name,
			    dom_matches[i].query, rc, dom_matches[i].rc);
		else if (rc == 1 && (size_t)data != (size_t)dom_matches[i].tag)
			FAIL("%s: domset_match(\"%s\"): got entry %zu, want %d\n",
			    dom_matches[i].name, dom_matches[i].query, (size_t)data,
			    dom_matches[i].tag);
	}
	/* Duplicates (in another case) replace. */
	domset_add(set, "EXAMPLE.COM.", (void *)42);
	if (domset_match(set, "example.com", &data) != 1 || (size_t)data != 42)
		FAIL("duplicate: got %zu, want 42\n", (size_t)data);
	if (domset_count(set) != want_count)
		FAIL("duplicate: count %zu, want %zu\n", domset_count(set), want_count);
	domset_free(set);

	/* Growth: many entries, all still found; names of 253 vs 254 chars. */
	set = domset_new();
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "host%d.example", i);
		if (domset_add(set, name, (void *)(size_t)(i + 1)) != 0)
			FAIL("grow: add %s\n", name);
	}
	for (int i = 0; i < 5000; i += 7) {
		snprintf(name, sizeof(name), "HOST%d.example", i);
		if (domset_match(set, name, &data) != 1 || (size_t)data != (size_t)(i + 1))
			FAIL("grow: match %s\n", name);
	}
	if (domset_count(set) != 5000)
		FAIL("grow: count %zu, want 5000\n", domset_count(set));
	/* 4 labels of 63 + 3 dots = 255; trim to 253 and 254. */
	memset(name, 'a', 253);
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	if (domset_add(set, name, NULL) != 0)
		FAIL("253-character name rejected\n");
	name[253] = 'a';
	name[254] = '\0';
	if (domset_add(set, name, NULL) != -1)
		FAIL("254-character name accepted\n");
	domset_free(set);
	domset_free(NULL);
}

static const struct { const char *in, *domain, *norm; } addrs[] = {
	/* in, addr_domain (NULL: -1), addr_normalize (NULL: -1) */
	{ "<User@Example.COM>", "example.com", "user@example.com" },
	{ "user@example.com", "example.com", "user@example.com" },
	{ "  <a@b.example>  ", "b.example", "a@b.example" },
	{ "<>", NULL, NULL },
	{ "", NULL, NULL },
	{ "\"a@b\"@Example.com", "example.com", "\"a@b\"@example.com" },
	{ "<\"x@y\"@example.org>", "example.org", "\"x@y\"@example.org" },
	{ "<@relay.example:user@example.com>", "example.com", "user@example.com" },
	{ "<@r1.example,@r2.example:U@Example.com>", "example.com", "u@example.com" },
	{ "<@relay.example>", NULL, NULL },
	{ "postmaster", NULL, "postmaster" },
	{ "user@", NULL, "user@" },
	{ "user@example.com.", "example.com", "user@example.com." },
};

static void
test_addr(void)
{
	char buf[256];
	int rc;

	for (size_t i = 0; i < NELEM(addrs); i++) {
		rc = addr_domain(addrs[i].in, buf, sizeof(buf));
		if (rc != (addrs[i].domain ? 0 : -1))
			FAIL("addr_domain(\"%s\"): got %d, want %d\n", addrs[i].in, rc,
			    addrs[i].domain ? 0 : -1);
		else if (rc == 0 && strcmp(buf, addrs[i].domain) != 0)
			FAIL("addr_domain(\"%s\"): got \"%s\", want \"%s\"\n", addrs[i].in,
			    buf, addrs[i].domain);
		rc = addr_normalize(addrs[i].in, buf, sizeof(buf));
		if (rc != (addrs[i].norm ? 0 : -1))
			FAIL("addr_normalize(\"%s\"): got %d, want %d\n", addrs[i].in, rc,
			    addrs[i].norm ? 0 : -1);
		else if (rc == 0 && strcmp(buf, addrs[i].norm) != 0)
			FAIL("addr_normalize(\"%s\"): got \"%s\", want \"%s\"\n", addrs[i].in,
			    buf, addrs[i].norm);
	}
	/* A buffer too small is an error, never a truncated answer. */
	if (addr_domain("user@example.com", buf, 11) != -1)
		FAIL("addr_domain into 11 bytes: want -1\n");
	if (addr_domain("user@example.com", buf, 12) != 0 || strcmp(buf, "example.com") != 0)
		FAIL("addr_domain into 12 bytes: want example.com\n");
	if (addr_normalize("user@example.com", buf, 16) != -1)
		FAIL("addr_normalize into 16 bytes: want -1\n");
	if (addr_domain(NULL, buf, sizeof(buf)) != -1 || addr_normalize(NULL, buf, sizeof(buf)) != -1)
		FAIL("NULL address: want -1\n");
}

int
main(void)
{
	test_cidr();
	test_domset();
	test_addr();
	printf("net_test: %zu cidr, %zu domain, %zu address cases: %d failures\n",
	    NELEM(cidr_adds) + NELEM(cidr_matches), NELEM(dom_adds) + NELEM(dom_matches),
	    NELEM(addrs), failures);
	return failures ? 1 : 0;
}
