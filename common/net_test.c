/*
 * net_test - table-driven tests of the CIDR sets, domain sets and address
 * helpers of net.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "net.h"
#include "moat_test.h"

#define NELEM(a) TEST_NELEM(a)

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
			TEST_FAIL("cidrset_add(\"%s\"): got %d, want %d", cidr_adds[i].cidr, rc,
			    cidr_adds[i].ok ? 0 : -1);
		want_count += cidr_adds[i].ok;
	}
	if (cidrset_count(set) != want_count)
		TEST_FAIL("cidrset_count: got %zu, want %zu", cidrset_count(set), want_count);
	for (size_t i = 0; i < NELEM(cidr_matches); i++) {
		data = NULL;
		rc = cidrset_match(set, cidr_matches[i].addr, &data);
		if (rc != cidr_matches[i].rc)
			TEST_FAIL("%s: cidrset_match(\"%s\"): got %d, want %d", cidr_matches[i].name,
			    cidr_matches[i].addr, rc, cidr_matches[i].rc);
		else if (rc == 1 && (size_t)data != (size_t)cidr_matches[i].tag)
			TEST_FAIL("%s: cidrset_match(\"%s\"): got entry %zu, want %d",
			    cidr_matches[i].name, cidr_matches[i].addr, (size_t)data,
			    cidr_matches[i].tag);
	}

	/* A duplicate replaces the data and does not count twice. */
	cidrset_add(set, "10.1.0.5/16", (void *)99);
	if (cidrset_match(set, "10.1.50.50", &data) != 1 || (size_t)data != 99)
		TEST_FAIL("duplicate: got entry %zu, want 99", (size_t)data);
	if (cidrset_count(set) != want_count)
		TEST_FAIL("duplicate: count %zu, want %zu", cidrset_count(set), want_count);

	/* sockaddr forms. */
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	if (cidrset_match_sa(set, (struct sockaddr *)&sin, &data) != 1 || (size_t)data != 3)
		TEST_FAIL("match_sa IPv4: want entry 3");
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr);
	if (cidrset_match_sa(set, (struct sockaddr *)&sin6, &data) != 1 || (size_t)data != 3)
		TEST_FAIL("match_sa mapped IPv6: want entry 3");
	inet_pton(AF_INET6, "2001:db8:1::1", &sin6.sin6_addr);
	if (cidrset_match_sa(set, (struct sockaddr *)&sin6, &data) != 1 || (size_t)data != 6)
		TEST_FAIL("match_sa IPv6: want entry 6");
	struct sockaddr un = { .sa_family = AF_UNIX };
	if (cidrset_match_sa(set, &un, &data) != -1)
		TEST_FAIL("match_sa AF_UNIX: want -1");
	cidrset_free(set);

	/* /0 entries: 0.0.0.0/0 is every IPv4 address, ::/0 every address. */
	set = cidrset_new();
	cidrset_add(set, "0.0.0.0/0", (void *)1);
	if (cidrset_match(set, "203.0.113.5", &data) != 1 || (size_t)data != 1)
		TEST_FAIL("0.0.0.0/0: IPv4 should match");
	if (cidrset_match(set, "2001:db8::1", &data) != 0)
		TEST_FAIL("0.0.0.0/0: IPv6 should not match");
	cidrset_add(set, "::/0", (void *)2);
	if (cidrset_match(set, "2001:db8::1", &data) != 1 || (size_t)data != 2)
		TEST_FAIL("::/0: IPv6 should match entry 2");
	if (cidrset_match(set, "203.0.113.5", &data) != 1 || (size_t)data != 1)
		TEST_FAIL("::/0 + 0.0.0.0/0: IPv4 should match the longer IPv4 /0");
	cidrset_free(set);

	/* Empty set, NULL data pointer, NULL frees. */
	set = cidrset_new();
	if (cidrset_match(set, "10.0.0.1", NULL) != 0 || cidrset_count(set) != 0)
		TEST_FAIL("empty set: want no match and count 0");
	cidrset_add(set, "10.0.0.1", NULL);
	if (cidrset_match(set, "10.0.0.1", NULL) != 1)
		TEST_FAIL("NULL data out pointer: want a match");
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
	{ "böse.example", 1 },           /* tag 14: U-label, kept as its A-label */
	{ "example.com..", 0 },
	{ "0123456789012345678901234567890123456789012345678901234567890123.com", 0 },
	{ "b\xffse.example", 0 },        /* not UTF-8 */
	{ "\xe2\x80\xae" "evil.example", 0 },  /* U+202E: disallowed in IDNA */
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
	{ "U-label query, A-label entry", "BÜCHER.example", 1, 6 },
	{ "A-label query, U-label entry", "xn--bse-sna.example", 1, 14 },
	{ "U-label both", "böse.example.", 1, 14 },
	{ "ideographic full stop", "böse\xe3\x80\x82" "example", 1, 14 },
	{ "U-label subdomain of a dot entry", "möp.sub.example.com", 1, 2 },
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
			TEST_FAIL("domset_add(\"%s\"): got %d, want %d", dom_adds[i].name, rc,
			    dom_adds[i].ok ? 0 : -1);
		want_count += dom_adds[i].ok;
	}
	if (domset_count(set) != want_count)
		TEST_FAIL("domset_count: got %zu, want %zu", domset_count(set), want_count);
	for (size_t i = 0; i < NELEM(dom_matches); i++) {
		data = NULL;
		rc = domset_match(set, dom_matches[i].query, &data);
		if (rc != dom_matches[i].rc)
			TEST_FAIL("%s: domset_match(\"%s\"): got %d, want %d", dom_matches[i].name,
			    dom_matches[i].query, rc, dom_matches[i].rc);
		else if (rc == 1 && (size_t)data != (size_t)dom_matches[i].tag)
			TEST_FAIL("%s: domset_match(\"%s\"): got entry %zu, want %d",
			    dom_matches[i].name, dom_matches[i].query, (size_t)data,
			    dom_matches[i].tag);
	}
	/* Duplicates (in another case) replace. */
	domset_add(set, "EXAMPLE.COM.", (void *)42);
	if (domset_match(set, "example.com", &data) != 1 || (size_t)data != 42)
		TEST_FAIL("duplicate: got %zu, want 42", (size_t)data);
	if (domset_count(set) != want_count)
		TEST_FAIL("duplicate: count %zu, want %zu", domset_count(set), want_count);
	domset_free(set);

	/* Growth: many entries, all still found; names of 253 vs 254 chars. */
	set = domset_new();
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "host%d.example", i);
		if (domset_add(set, name, (void *)(size_t)(i + 1)) != 0)
			TEST_FAIL("grow: add %s", name);
	}
	for (int i = 0; i < 5000; i += 7) {
		snprintf(name, sizeof(name), "HOST%d.example", i);
		if (domset_match(set, name, &data) != 1 || (size_t)data != (size_t)(i + 1))
			TEST_FAIL("grow: match %s", name);
	}
	if (domset_count(set) != 5000)
		TEST_FAIL("grow: count %zu, want 5000", domset_count(set));
	/* 4 labels of 63 + 3 dots = 255; trim to 253 and 254. */
	memset(name, 'a', 253);
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	if (domset_add(set, name, NULL) != 0)
		TEST_FAIL("253-character name rejected");
	name[253] = 'a';
	name[254] = '\0';
	if (domset_add(set, name, NULL) != -1)
		TEST_FAIL("254-character name accepted");
	domset_free(set);
	domset_free(NULL);
}

/* Canonical addresses: in, status, canonical form, domain (NULL: none). */
static const struct {
	const char *name, *in;
	enum addr_status want;
	const char *norm, *domain;
} addrs[] = {
	{ "brackets, case", "<User@Example.COM>", ADDR_OK, "user@example.com", "example.com" },
	{ "bare", "user@example.com", ADDR_OK, "user@example.com", "example.com" },
	{ "blanks", "  <a@b.example>\t", ADDR_OK, "a@b.example", "b.example" },
	{ "trailing dot", "<ceo@delta.example.>", ADDR_OK, "ceo@delta.example", "delta.example" },
	{ "quoted, equivalent", "<\"ceo\"@delta.example>", ADDR_OK, "ceo@delta.example", "delta.example" },
	{ "quoted, case, dot", "\"CEO\"@Delta.Example.", ADDR_OK, "ceo@delta.example", "delta.example" },
	{ "quoted dot-string", "<\"first.last\"@x.example>", ADDR_OK, "first.last@x.example", "x.example" },
	{ "needless escape", "<\"c\\eo\"@x.example>", ADDR_OK, "ceo@x.example", "x.example" },
	{ "atext specials unquoted", "<\"a+b!#$%&'*/=?^_`{|}~-\"@x.example>", ADDR_OK,
	  "a+b!#$%&'*/=?^_`{|}~-@x.example", "x.example" },
	{ "space needs quotes", "<\"a b\"@x.example>", ADDR_OK, "\"a b\"@x.example", "x.example" },
	{ "escaped space: minimal", "<\"a\\ b\"@x.example>", ADDR_OK, "\"a b\"@x.example", "x.example" },
	{ "quote escaped", "<\"a\\\"b\"@x.example>", ADDR_OK, "\"a\\\"b\"@x.example", "x.example" },
	{ "backslash escaped", "<\"a\\\\b\"@x.example>", ADDR_OK, "\"a\\\\b\"@x.example", "x.example" },
	{ "at sign in quotes", "\"a@b\"@Example.com", ADDR_OK, "\"a@b\"@example.com", "example.com" },
	{ "specials in quotes", "<\"(a),[b];<c>:d\"@x.example>", ADDR_OK, "\"(a),[b];<c>:d\"@x.example", "x.example" },
	{ "double dot quoted", "<\"a..b\"@x.example>", ADDR_OK, "\"a..b\"@x.example", "x.example" },
	{ "leading dot quoted", "<\".a\"@x.example>", ADDR_OK, "\".a\"@x.example", "x.example" },
	{ "empty quoted", "<\"\"@x.example>", ADDR_OK, "\"\"@x.example", "x.example" },
	{ "quoted alone", "<\"a b\">", ADDR_OK, "\"a b\"", NULL },
	{ "quoted at alone", "<\"a@b\">", ADDR_OK, "\"a@b\"", NULL },
	{ "source route", "<@relay.example:user@example.com>", ADDR_OK, "user@example.com", "example.com" },
	{ "source route, two", "<@r1.example,@r2.example:U@Example.com>", ADDR_OK, "u@example.com", "example.com" },
	{ "local part alone", "<Postmaster>", ADDR_OK, "postmaster", NULL },
	{ "IPv4 literal", "<u@[192.0.2.1]>", ADDR_OK, "u@[192.0.2.1]", "[192.0.2.1]" },
	{ "IPv6 literal", "<u@[IPv6:2001:DB8:0::1]>", ADDR_OK, "u@[ipv6:2001:db8::1]", "[ipv6:2001:db8::1]" },
	/* IDN in every position. */
	{ "U-label domain", "<u@böse.example>", ADDR_OK, "u@xn--bse-sna.example", "xn--bse-sna.example" },
	{ "U-label domain, case, dot", "<U@BÖSE.Example.>", ADDR_OK, "u@xn--bse-sna.example", "xn--bse-sna.example" },
	{ "A-label upper case", "<u@XN--BSE-SNA.example>", ADDR_OK, "u@xn--bse-sna.example", "xn--bse-sna.example" },
	{ "ideographic full stop", "<u@böse\xe3\x80\x82" "example>", ADDR_OK, "u@xn--bse-sna.example", "xn--bse-sna.example" },
	{ "sharp s non-transitional", "<u@faß.de>", ADDR_OK, "u@xn--fa-hia.de", "xn--fa-hia.de" },
	{ "NFD input", "<u@bo\xcc\x88se.example>", ADDR_OK, "u@xn--bse-sna.example", "xn--bse-sna.example" },
	{ "UTF-8 local part", "<jösé@example.com>", ADDR_OK, "jösé@example.com", "example.com" },
	{ "UTF-8 local part: ASCII folded only", "<JÖSÉ@Example.com>", ADDR_OK, "jÖsÉ@example.com", "example.com" },
	{ "mixed", "<Jösé@Böse.example>", ADDR_OK, "jösé@xn--bse-sna.example", "xn--bse-sna.example" },
	{ "UTF-8 quoted", "<\"jö sé\"@böse.example>", ADDR_OK, "\"jö sé\"@xn--bse-sna.example", "xn--bse-sna.example" },
	{ "UTF-8 quoted, equivalent", "<\"jösé\"@x.example>", ADDR_OK, "jösé@x.example", "x.example" },
	{ "bad UTF-8 local", "<b\xffse@x.example>", ADDR_BAD_UTF8, NULL, NULL },
	{ "overlong UTF-8", "<a\xc0\xaf@x.example>", ADDR_BAD_UTF8, NULL, NULL },
	{ "surrogate UTF-8", "<a\xed\xa0\x80@x.example>", ADDR_BAD_UTF8, NULL, NULL },
	{ "truncated UTF-8", "<a\xc3@x.example>", ADDR_BAD_UTF8, NULL, NULL },
	{ "bad UTF-8 domain", "<u@b\xffse.example>", ADDR_BAD_UTF8, NULL, NULL },
	{ "bidi control in domain", "<u@\xe2\x80\xae" "evil.example>", ADDR_BAD_DOMAIN, NULL, NULL },
	/* The null path and junk. */
	{ "null path", "<>", ADDR_NULL, NULL, NULL },
	{ "null path, blanks", "  <>  ", ADDR_NULL, NULL, NULL },
	{ "empty", "", ADDR_NULL, NULL, NULL },
	{ "empty domain", "user@", ADDR_SYNTAX, NULL, NULL },
	{ "no local part", "<@example.com>", ADDR_SYNTAX, NULL, NULL },
	{ "route only", "<@relay.example:>", ADDR_SYNTAX, NULL, NULL },
	{ "route junk", "<@re lay:u@x.example>", ADDR_SYNTAX, NULL, NULL },
	{ "open bracket", "<a@x.example", ADDR_SYNTAX, NULL, NULL },
	{ "close bracket", "a@x.example>", ADDR_SYNTAX, NULL, NULL },
	{ "two brackets", "<<a@x.example>>", ADDR_SYNTAX, NULL, NULL },
	{ "unquoted space", "<a b@x.example>", ADDR_SYNTAX, NULL, NULL },
	{ "unquoted double dot", "<a..b@x.example>", ADDR_SYNTAX, NULL, NULL },
	{ "unquoted leading dot", "<.a@x.example>", ADDR_SYNTAX, NULL, NULL },
	{ "unquoted trailing dot", "<a.@x.example>", ADDR_SYNTAX, NULL, NULL },
	{ "unquoted specials", "<a(b)@x.example>", ADDR_SYNTAX, NULL, NULL },
	{ "text after quotes", "<\"a\"b@x.example>", ADDR_SYNTAX, NULL, NULL },
	{ "unterminated quotes", "<\"abc@x.example>", ADDR_SYNTAX, NULL, NULL },
	{ "tab in quotes", "<\"a\tb\"@x.example>", ADDR_SYNTAX, NULL, NULL },
	{ "control in quotes", "<\"a\x01" "b\"@x.example>", ADDR_SYNTAX, NULL, NULL },
	{ "escaped control", "<\"a\\\x01" "b\"@x.example>", ADDR_SYNTAX, NULL, NULL },
	{ "two at signs", "<a@b@x.example>", ADDR_BAD_DOMAIN, NULL, NULL },
	{ "empty label", "<a@x..example>", ADDR_BAD_DOMAIN, NULL, NULL },
	{ "two trailing dots", "<a@x.example..>", ADDR_BAD_DOMAIN, NULL, NULL },
	{ "domain is a dot", "<a@.>", ADDR_BAD_DOMAIN, NULL, NULL },
	{ "space in domain", "<a@exa mple.com>", ADDR_BAD_DOMAIN, NULL, NULL },
	{ "bad IPv4 literal", "<u@[192.0.2.256]>", ADDR_BAD_DOMAIN, NULL, NULL },
	{ "short IPv4 literal", "<u@[1.2.3]>", ADDR_BAD_DOMAIN, NULL, NULL },
	{ "name literal", "<u@[example.com]>", ADDR_BAD_DOMAIN, NULL, NULL },
	{ "open literal", "<u@[192.0.2.1>", ADDR_BAD_DOMAIN, NULL, NULL },
	{ "label of 64", "<u@0123456789012345678901234567890123456789012345678901234567890123.com>",
	  ADDR_BAD_DOMAIN, NULL, NULL },
};

/* "<" + local part of nl octets + "@" + domain of nd octets + ">": labels of
 * 63 octets, one a shorter last one; a trailing dot when dot is set. */
static void
make_addr(char *buf, size_t nl, size_t nd, int dot)
{
	size_t o = 0;

	buf[o++] = '<';
	memset(buf + o, 'a', nl);
	o += nl;
	buf[o++] = '@';
	for (size_t i = 0; i < nd; i++)
		buf[o++] = (i % 64 == 63 && i + 1 < nd) ? '.' : 'b';
	if (dot)
		buf[o++] = '.';
	buf[o++] = '>';
	buf[o] = '\0';
}

/* At and past every RFC 5321 limit. */
static const struct {
	const char *name;
	size_t local, domain;
	int dot;
	enum addr_status want;
} limits[] = {
	{ "local part 64", 64, 20, 0, ADDR_OK },
	{ "local part 65", 65, 20, 0, ADDR_LOCAL_LONG },
	{ "local part 1,024", 1024, 20, 0, ADDR_LOCAL_LONG },
	{ "local part 5,000", 5000, 20, 0, ADDR_LOCAL_LONG },
	{ "path 256 (mailbox 254)", 64, 189, 0, ADDR_OK },
	{ "path 256, trailing dot", 64, 189, 1, ADDR_OK },
	{ "path 257", 64, 190, 0, ADDR_PATH_LONG },
	{ "domain 252, path 256", 1, 252, 0, ADDR_OK },
	{ "domain 253, path 257", 1, 253, 0, ADDR_PATH_LONG },
	{ "domain 255, path 259", 1, 255, 0, ADDR_PATH_LONG },
	{ "domain 256", 1, 256, 0, ADDR_DOMAIN_LONG },
	{ "domain 1,024", 1, 1024, 0, ADDR_DOMAIN_LONG },
	{ "domain 5,000", 1, 5000, 0, ADDR_DOMAIN_LONG },
};

static void
test_addr(void)
{
	char buf[ADDR_MAX + 1], dom[ADDR_DOMAIN_MAX + 1], in[6000], q[80];
	enum addr_status st;
	int rc;

	for (size_t i = 0; i < NELEM(addrs); i++) {
		const char *name = addrs[i].name;

		st = addr_canon(addrs[i].in, buf, sizeof(buf));
		if (st != addrs[i].want)
			TEST_FAIL("%s: addr_canon(\"%s\"): got %d (%s), want %d (%s)", name,
			    addrs[i].in, st, addr_status_text(st), addrs[i].want,
			    addr_status_text(addrs[i].want));
		else if (st == ADDR_OK && strcmp(buf, addrs[i].norm) != 0)
			TEST_FAIL("%s: addr_canon(\"%s\"): got \"%s\", want \"%s\"", name,
			    addrs[i].in, buf, addrs[i].norm);
		else if (st != ADDR_OK && buf[0] != '\0')
			TEST_FAIL("%s: refused, but buf \"%s\"", name, buf);
		rc = addr_normalize(addrs[i].in, buf, sizeof(buf));
		if (rc != (addrs[i].want == ADDR_OK ? 0 : -1))
			TEST_FAIL("%s: addr_normalize: got %d", name, rc);
		rc = addr_domain(addrs[i].in, dom, sizeof(dom));
		if (rc != (addrs[i].domain ? 0 : -1))
			TEST_FAIL("%s: addr_domain(\"%s\"): got %d, want %d", name, addrs[i].in, rc,
			    addrs[i].domain ? 0 : -1);
		else if (rc == 0 && strcmp(dom, addrs[i].domain) != 0)
			TEST_FAIL("%s: addr_domain(\"%s\"): got \"%s\", want \"%s\"", name,
			    addrs[i].in, dom, addrs[i].domain);
		/* Canonical is a fixed point. */
		if (addrs[i].want == ADDR_OK &&
		    (addr_canon(addrs[i].norm, buf, sizeof(buf)) != ADDR_OK ||
		    strcmp(buf, addrs[i].norm) != 0))
			TEST_FAIL("%s: canonical \"%s\" is not its own canonical form (\"%s\")",
			    name, addrs[i].norm, buf);
	}
	for (size_t i = 0; i < NELEM(limits); i++) {
		make_addr(in, limits[i].local, limits[i].domain, limits[i].dot);
		st = addr_canon(in, buf, sizeof(buf));
		if (st != limits[i].want)
			TEST_FAIL("%s: got %d (%s), want %d (%s)", limits[i].name, st,
			    addr_status_text(st), limits[i].want, addr_status_text(limits[i].want));
		else if (st == ADDR_OK && strlen(buf) != limits[i].local + 1 + limits[i].domain)
			TEST_FAIL("%s: canonical length %zu, want %zu", limits[i].name, strlen(buf),
			    limits[i].local + 1 + limits[i].domain);
		/* Past a limit, the domain is none too: never a shorter one. */
		if ((addr_domain(in, dom, sizeof(dom)) == 0) != (st == ADDR_OK))
			TEST_FAIL("%s: addr_domain disagrees with addr_canon", limits[i].name);
	}
	/* Quoting counts: the canonical local part is measured. */
	snprintf(q, sizeof(q), "<\"%.64s\"@x.example>",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	if (addr_canon(q, buf, sizeof(buf)) != ADDR_OK || strlen(buf) != 64 + 10)
		TEST_FAIL("needless quotes around 64 octets: want them dropped and accepted");
	snprintf(q, sizeof(q), "<\"a %.61s\"@x.example>",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	if ((st = addr_canon(q, buf, sizeof(buf))) != ADDR_LOCAL_LONG)
		TEST_FAIL("quoted local part of 65 octets: got %s", addr_status_text(st));
	snprintf(q, sizeof(q), "<\"a %.60s\"@x.example>",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	if ((st = addr_canon(q, buf, sizeof(buf))) != ADDR_OK)
		TEST_FAIL("quoted local part of 64 octets: got %s", addr_status_text(st));
	/* A U-label domain whose A-label form is past the limit. */
	{
		size_t o = 0;
		memcpy(in, "<u@", 3);
		o = 3;
		for (int l = 0; l < 8; l++) {
			for (int k = 0; k < 25; k++) {
				memcpy(in + o, "ö", 2);
				o += 2;
			}
			in[o++] = 'x';
			in[o++] = '.';
		}
		memcpy(in + o, "example>", 9);
		if ((st = addr_canon(in, buf, sizeof(buf))) != ADDR_DOMAIN_LONG)
			TEST_FAIL("long U-label domain: got %s \"%s\", want %s",
			    addr_status_text(st), buf, addr_status_text(ADDR_DOMAIN_LONG));
	}
	/* A buffer too small is an error, never a truncated answer. */
	if (addr_domain("user@example.com", dom, 11) != -1)
		TEST_FAIL("addr_domain into 11 bytes: want -1");
	if (addr_domain("user@example.com", dom, 12) != 0 || strcmp(dom, "example.com") != 0)
		TEST_FAIL("addr_domain into 12 bytes: want example.com");
	if (addr_canon("user@example.com", buf, 16) != ADDR_NOSPACE || buf[0] != '\0')
		TEST_FAIL("addr_canon into 16 bytes: want ADDR_NOSPACE and \"\"");
	if (addr_normalize("user@example.com", buf, 17) != 0)
		TEST_FAIL("addr_normalize into 17 bytes: want 0");
	if (addr_domain(NULL, dom, sizeof(dom)) != -1 || addr_normalize(NULL, buf, sizeof(buf)) != -1)
		TEST_FAIL("NULL address: want -1");
	/* Domains alone: 255 octets is the limit; a leading dot on request. */
	make_addr(in, 1, 255, 0);
	in[3 + 255] = '\0';
	if ((st = domain_canon(in + 3, dom, sizeof(dom), 0)) != ADDR_OK)
		TEST_FAIL("domain_canon of 255 octets: got %s", addr_status_text(st));
	make_addr(in, 1, 256, 0);
	in[3 + 256] = '\0';
	if ((st = domain_canon(in + 3, dom, sizeof(dom), 0)) != ADDR_DOMAIN_LONG)
		TEST_FAIL("domain_canon of 256 octets: got %s", addr_status_text(st));
	if (domain_canon(".Böse.Example.", dom, sizeof(dom), 1) != ADDR_OK ||
	    strcmp(dom, ".xn--bse-sna.example") != 0)
		TEST_FAIL("domain_canon with a leading dot: got \"%s\"", dom);
	if (domain_canon(".böse.example", dom, sizeof(dom), 0) == ADDR_OK)
		TEST_FAIL("domain_canon: leading dot accepted without lead_dot");
	if (strcmp(addr_status_text(ADDR_LOCAL_LONG), "local part longer than 64 octets") != 0 ||
	    strcmp(addr_status_text((enum addr_status)99), "invalid address") != 0)
		TEST_FAIL("addr_status_text");
}

/* A name as long as an address may carry still matches its parent entry:
 * the sender domain check cannot be skipped by length. */
static void
test_domset_long(void)
{
	struct domset *set = domset_new();
	char in[300];
	void *data = NULL;

	domset_add(set, ".bb", (void *)7);
	make_addr(in, 1, 255, 0);
	in[3 + 255] = '\0';
	memcpy(in + 3 + 253, "bb", 2);
	in[3 + 252] = '.';
	if (domset_match(set, in + 3, &data) != 1 || (size_t)data != 7)
		TEST_FAIL("255-octet name under .bb: want a match");
	domset_free(set);
}

/* Random junk from the characters that matter (fixed seed, bounded): never
 * a crash, a canonical form is within the limits and its own canonical
 * form, and addr_domain agrees with it. */
static void
test_addr_junk(void)
{
	static const char *const bits[] = {
		"a", "Z", "0", ".", "@", "\"", "\\", " ", "<", ">", "[", "]", ":", ",",
		"ö", "\xe3\x80\x82", "\xff", "\xc3", "xn--", "-", "_", "192.0.2.1", "IPv6:",
		"ß", "\t", "(", "example", "\x01",
	};
	char in[300], buf[ADDR_MAX + 1], again[ADDR_MAX + 1], dom[ADDR_DOMAIN_MAX + 1];
	unsigned long x = 12345;
	size_t ok = 0;

	for (int n = 0; n < 20000; n++) {
		size_t o = 0, parts;

		x = x * 6364136223846793005UL + 1442695040888963407UL;
		parts = (x >> 33) % 24;
		for (size_t i = 0; i < parts; i++) {
			const char *b;
			x = x * 6364136223846793005UL + 1442695040888963407UL;
			b = bits[(x >> 33) % NELEM(bits)];
			if (o + strlen(b) + 1 >= sizeof(in))
				break;
			memcpy(in + o, b, strlen(b));
			o += strlen(b);
		}
		in[o] = '\0';
		if (addr_canon(in, buf, sizeof(buf)) != ADDR_OK)
			continue;
		ok++;
		if (strlen(buf) > ADDR_MAX)
			TEST_FAIL("junk \"%s\": canonical \"%s\" past the limit", in, buf);
		if (addr_canon(buf, again, sizeof(again)) != ADDR_OK || strcmp(buf, again) != 0)
			TEST_FAIL("junk \"%s\": canonical \"%s\" is not a fixed point (\"%s\")", in, buf,
			    again);
		if (addr_domain(in, dom, sizeof(dom)) == 0 &&
		    (strlen(dom) > strlen(buf) || strcmp(buf + strlen(buf) - strlen(dom), dom) != 0))
			TEST_FAIL("junk \"%s\": domain \"%s\" not the end of \"%s\"", in, dom, buf);
	}
	if (ok < 100)
		TEST_FAIL("junk: %zu of 20000 inputs were addresses; the generator is broken", ok);
}

static const struct test_case cases[] = {
	{ "CIDR sets",		test_cidr },
	{ "domain sets",	test_domset },
	{ "address helpers",	test_addr },
	{ "long domain names",	test_domset_long },
	{ "junk addresses",	test_addr_junk },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
