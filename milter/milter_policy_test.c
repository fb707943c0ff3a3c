/*
 * milter_policy_test - who a recipient is served for, on the demo seed plus
 * a few rows: inbound, outbound by client network and by SMTP AUTH login
 * (never by the sender domain), both, neither, suspended, unserved,
 * recipient overrides, the strictest policy of a message, and threat
 * sources by address and name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milter.h"
#include "store.h"
#include "moat_test.h"

/* Logins as moatctl writes them (lower case; the hash is never read by the
 * milter).  Gamma (suspended) gets a network and a login too. */
static const char extra_rows[] =
    "INSERT INTO policies (name, scan_mode, on_infected) VALUES ('lenient', 'none', 'tag');"
    "INSERT INTO recipient_policies (address, policy_id)"
    "  SELECT 'ceo@beta.example', id FROM policies WHERE name = 'strict';"
    "INSERT INTO recipient_policies (address, policy_id)"
    "  SELECT 'intern@alpha.example', id FROM policies WHERE name = 'lenient';"
    "INSERT INTO subscribers (name, status) VALUES ('Delta', 'active');"
    "INSERT INTO subscriber_domains (domain, subscriber_id)"
    "  SELECT '.delta.example', id FROM subscribers WHERE name = 'Delta';"
    "INSERT INTO subscriber_networks (cidr, subscriber_id)"
    "  SELECT '127.0.0.4/32', id FROM subscribers WHERE name = 'Gamma';"
    "INSERT INTO subscriber_credentials (subscriber_id, kind, secret_hash, login)"
    "  SELECT id, 'password', '$y$x', 'alice@alpha.example' FROM subscribers WHERE name = 'Alpha';"
    "INSERT INTO subscriber_credentials (subscriber_id, kind, secret_hash, login)"
    "  SELECT id, 'password', '$y$x', 'beta-relay' FROM subscribers WHERE name = 'Beta';"
    "INSERT INTO subscriber_credentials (subscriber_id, kind, secret_hash, login)"
    "  SELECT id, 'password', '$y$x', 'gamma-relay' FROM subscribers WHERE name = 'Gamma';"
    "INSERT INTO subscriber_credentials (subscriber_id, kind, secret_hash, login)"
    "  SELECT id, 'token', 'tok', NULL FROM subscribers WHERE name = 'Beta';"
    "INSERT INTO threat_sources (kind, value, reason) VALUES"
    "  ('suspect_domain', 'sus.example', 'tag me');";

/* 127.0.0.1 is Alpha's network, 127.0.0.3 Beta's, 127.0.0.4 Gamma's;
 * 127.0.0.2 is nobody's (an outside client). */
#define OUT "127.0.0.2"
#define LONG_LOGIN \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "a"                                 /* 321 bytes: one past the schema's limit */

struct rcase {
	const char *name, *client, *login, *rcpt;
	int want_err;                           /* milter_policy_rcpt returns -1 */
	enum rcpt_status want;
	const char *want_sub, *want_policy;     /* NULL: none / default */
	enum rcpt_via want_via;                 /* RCPT_VIA_NONE: not outbound */
};

static const struct rcase rcases[] = {
	/* Inbound: the recipient's domain decides, whoever the client is. */
	{ "inbound alpha", OUT, NULL, "<u@alpha.example>", 0, RCPT_SERVED, "Alpha", "strict", RCPT_VIA_NONE },
	{ "inbound case-folded", OUT, "", "<U@ALPHA.Example>", 0, RCPT_SERVED, "Alpha", "strict", RCPT_VIA_NONE },
	{ "inbound beta", OUT, NULL, "<u@beta.example>", 0, RCPT_SERVED, "Beta", "executables-reject", RCPT_VIA_NONE },
	{ "recipient override", OUT, NULL, "<ceo@beta.example>", 0, RCPT_SERVED, "Beta", "strict", RCPT_VIA_NONE },
	{ "override to lenient", OUT, NULL, "<intern@alpha.example>", 0, RCPT_SERVED, "Alpha", "lenient", RCPT_VIA_NONE },
	{ "inbound beats login", OUT, "beta-relay", "<u@alpha.example>", 0, RCPT_SERVED, "Alpha", "strict", RCPT_VIA_NONE },
	{ "inbound beats network", "127.0.0.3", NULL, "<u@alpha.example>", 0, RCPT_SERVED, "Alpha", "strict", RCPT_VIA_NONE },
	{ "suspended gamma", OUT, NULL, "<u@gamma.example>", 0, RCPT_SUSPENDED, "Gamma", NULL, RCPT_VIA_NONE },
	{ "suspended even from a subscriber", "127.0.0.1", "alice@alpha.example", "<u@gamma.example>", 0, RCPT_SUSPENDED, "Gamma", NULL, RCPT_VIA_NONE },
	{ "subdomain entry", OUT, NULL, "<u@mx.delta.example>", 0, RCPT_SERVED, "Delta", NULL, RCPT_VIA_NONE },
	{ "no policy row: default", OUT, NULL, "<u@delta.example>", 0, RCPT_SERVED, "Delta", NULL, RCPT_VIA_NONE },
	/* Neither network nor login: unserved, whatever MAIL FROM said (the
	 * sender is no input: a forged subscriber domain buys nothing). */
	{ "neither: forged sender domain", OUT, NULL, "<u@example.org>", 0, RCPT_UNSERVED, NULL, NULL, RCPT_VIA_NONE },
	{ "neither: empty login", OUT, "", "<u@example.org>", 0, RCPT_UNSERVED, NULL, NULL, RCPT_VIA_NONE },
	{ "neither: unknown login", OUT, "mallory", "<u@example.org>", 0, RCPT_UNSERVED, NULL, NULL, RCPT_VIA_NONE },
	{ "neither: token is no login", OUT, "tok", "<u@example.org>", 0, RCPT_UNSERVED, NULL, NULL, RCPT_VIA_NONE },
	{ "neither: not an IP client", "", NULL, "<u@example.org>", 0, RCPT_UNSERVED, NULL, NULL, RCPT_VIA_NONE },
	/* Network. */
	{ "network alpha", "127.0.0.1", NULL, "<u@example.org>", 0, RCPT_SERVED, "Alpha", "strict", RCPT_VIA_NETWORK },
	{ "network beta", "127.0.0.3", NULL, "<u@example.org>", 0, RCPT_SERVED, "Beta", "executables-reject", RCPT_VIA_NETWORK },
	{ "network, unknown login", "127.0.0.1", "mallory", "<u@example.org>", 0, RCPT_SERVED, "Alpha", "strict", RCPT_VIA_NETWORK },
	/* Login. */
	{ "login alpha from outside", OUT, "alice@alpha.example", "<u@example.org>", 0, RCPT_SERVED, "Alpha", "strict", RCPT_VIA_LOGIN },
	{ "login case-insensitive", OUT, "Alice@ALPHA.example", "<u@example.org>", 0, RCPT_SERVED, "Alpha", "strict", RCPT_VIA_LOGIN },
	{ "login beta from outside", OUT, "beta-relay", "<u@example.org>", 0, RCPT_SERVED, "Beta", "executables-reject", RCPT_VIA_LOGIN },
	/* Both: the login's subscriber is served. */
	{ "both, same subscriber", "127.0.0.1", "alice@alpha.example", "<u@example.org>", 0, RCPT_SERVED, "Alpha", "strict", RCPT_VIA_LOGIN },
	{ "both, login wins over network", "127.0.0.1", "beta-relay", "<u@example.org>", 0, RCPT_SERVED, "Beta", "executables-reject", RCPT_VIA_LOGIN },
	/* Suspended: refused, by either proof. */
	{ "suspended by network", "127.0.0.4", NULL, "<u@example.org>", 0, RCPT_SUSPENDED, "Gamma", NULL, RCPT_VIA_NETWORK },
	{ "suspended by login", OUT, "gamma-relay", "<u@example.org>", 0, RCPT_SUSPENDED, "Gamma", NULL, RCPT_VIA_LOGIN },
	{ "suspended login from alpha's network", "127.0.0.1", "gamma-relay", "<u@example.org>", 0, RCPT_SUSPENDED, "Gamma", NULL, RCPT_VIA_LOGIN },
	{ "active login from suspended network", "127.0.0.4", "beta-relay", "<u@example.org>", 0, RCPT_SERVED, "Beta", "executables-reject", RCPT_VIA_LOGIN },
	/* Bad input: a login that cannot be stored proves nothing; a client
	 * address that is no address is a lookup error (the milter tempfails). */
	{ "login past the limit", OUT, LONG_LOGIN, "<u@example.org>", 0, RCPT_UNSERVED, NULL, NULL, RCPT_VIA_NONE },
	{ "login with a space", OUT, "alice @alpha.example", "<u@example.org>", 0, RCPT_UNSERVED, NULL, NULL, RCPT_VIA_NONE },
	{ "bad login, alpha's network", "127.0.0.1", "alice\r\n@alpha.example", "<u@example.org>", 0, RCPT_SERVED, "Alpha", "strict", RCPT_VIA_NETWORK },
	{ "client not an address", "not-an-ip", NULL, "<u@example.org>", 1, RCPT_UNSERVED, NULL, NULL, RCPT_VIA_NONE },
};

static int
make_store(const char *path)
{
	struct store *st;
	char err[512];

	if (store_open(path, STORE_NOCHECK, 1000, &st, err, sizeof(err)) == -1 ||
	    store_init(st, err, sizeof(err)) == -1 ||
	    store_seed_demo(st, err, sizeof(err)) == -1 ||
	    store_exec_script(st, extra_rows, err, sizeof(err)) == -1) {
		fprintf(stderr, "fixture %s: %s\n", path, err);
		return -1;
	}
	store_close(st);
	return 0;
}

/* The snapshot of the demo seed plus extra_rows; main() loads it. */
static struct policy_snapshot *snap;

static void
case_rcpt(void)
{
	struct rcpt_decision d;

	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];
		const char *got_sub, *got_pol;

		int r = milter_policy_rcpt(snap, c->client, c->login, c->rcpt, &d);

		if (r == -1 || c->want_err) {
			if ((r == -1) != c->want_err) {
				TEST_FAIL("%s: got return %d, want %d", c->name, r,
				    c->want_err ? -1 : 0);
			}
			continue;
		}
		got_sub = d.sub ? d.sub->name : NULL;
		got_pol = d.policy == NULL ? NULL :
		    d.policy == milter_policy_default() ? NULL : d.policy->name;
		if (d.status != c->want || d.via != c->want_via ||
		    d.outbound != (c->want_via != RCPT_VIA_NONE) ||
		    (got_sub == NULL) != (c->want_sub == NULL) ||
		    (got_sub && strcmp(got_sub, c->want_sub) != 0) ||
		    (got_pol == NULL) != (c->want_policy == NULL) ||
		    (got_pol && strcmp(got_pol, c->want_policy) != 0)) {
			TEST_FAIL("%s: got status %d sub %s policy %s via %s; "
			    "want %d %s %s %s\n", c->name, d.status, got_sub ? got_sub : "-",
			    got_pol ? got_pol : "-", milter_policy_via_name(d.via), c->want,
			    c->want_sub ? c->want_sub : "-", c->want_policy ? c->want_policy : "-",
			    milter_policy_via_name(c->want_via));
		}
		if (d.status == RCPT_SERVED && d.policy == NULL) {
			TEST_FAIL("%s: served without a policy", c->name);
		}
	}

}

/* The snapshot's login map directly: tri-state. */
static void
case_login(void)
{
	{
		const struct subscriber *sub = NULL;
		struct { const char *name, *login; int want; const char *want_sub; } lc[] = {
			{ "stored", "beta-relay", 1, "Beta" },
			{ "upper case", "BETA-RELAY", 1, "Beta" },
			{ "absent", "beta-relay2", 0, NULL },
			{ "prefix only", "beta", 0, NULL },
			{ "empty", "", -1, NULL },
			{ "NULL", NULL, -1, NULL },
			{ "control character", "beta\r\nrelay", -1, NULL },
			{ "too long", LONG_LOGIN, -1, NULL },
		};
		for (size_t i = 0; i < sizeof(lc) / sizeof(lc[0]); i++) {
			int r = policy_subscriber_by_login(snap, lc[i].login, &sub);

			if (r != lc[i].want || (r == 1 && strcmp(sub->name, lc[i].want_sub) != 0)) {
				TEST_FAIL("login %s: got %d %s, want %d %s", lc[i].name,
				    r, r == 1 ? sub->name : "-", lc[i].want,
				    lc[i].want_sub ? lc[i].want_sub : "-");
			}
		}
	}

}

/* Combined across recipients: strict (all, repair) with executables-reject
 * gives all + reject, in either order. */
static void
case_combined(void)
{
	struct rcpt_decision d;

	{
		const char *rc[] = { "<u@beta.example>", "<intern@alpha.example>", "<u@alpha.example>" };

		for (int order = 0; order < 2; order++) {
			struct policy p;

			for (size_t i = 0; i < 3; i++) {
				milter_policy_rcpt(snap, OUT, NULL, rc[order ? 2 - i : i], &d);
				if (i == 0)
					p = *d.policy;
				else
					policy_combine(&p, d.policy);
			}
			if (p.scan_mode != SCAN_ALL || p.on_infected != INF_REJECT) {
				TEST_FAIL("combined (order %d): got scan %s infected %s, "
				    "want all reject\n", order, policy_scan_mode_names[p.scan_mode],
				    policy_infected_names[p.on_infected]);
			}
		}
	}

}

static void
case_threats(void)
{
	const struct threat *t;
	struct { const char *name, *value; int addr, want; enum threat_kind kind; } tc[] = {
		{ "listed ip", "192.0.2.66", 1, 1, THREAT_IP },
		{ "other ip", "192.0.2.67", 1, 0, 0 },
		{ "empty address", "", 1, 0, 0 },
		{ "listed domain", "evil.example", 0, 1, THREAT_DOMAIN },
		{ "subdomain", "mx.evil.example", 0, 1, THREAT_DOMAIN },
		{ "case", "MX.Evil.Example", 0, 1, THREAT_DOMAIN },
		{ "unverified name ignored", "[192.0.2.66]", 0, 0, 0 },
		{ "suspect domain", "sus.example", 0, 1, THREAT_SUSPECT_DOMAIN },
		{ "clean name", "good.example", 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		int r = tc[i].addr ? milter_policy_threat_addr(snap, tc[i].value, &t) :
		    milter_policy_threat_name(snap, tc[i].value, &t);

		if (r != tc[i].want || (r == 1 && t->kind != tc[i].kind)) {
			TEST_FAIL("threat %s: got %d, want %d", tc[i].name, r, tc[i].want);
		}
	}
	if (milter_policy_threat_addr(snap, "not-an-ip", &t) != -1) {
		TEST_FAIL("threat bad address: want -1");
	}

}

static const struct test_case cases[] = {
	{ "recipient decisions",	case_rcpt },
	{ "login map",			case_login },
	{ "combined across recipients",	case_combined },
	{ "threat sources",		case_threats },
	{ NULL, NULL }
};

int
main(void)
{
	char path[4096], err[512];
	const char *tmp = getenv("TMPDIR");
	struct store *st;
	int rc;

	snprintf(path, sizeof(path), "%s/milter_policy_test.%d.db", tmp ? tmp : "/tmp", (int)getpid());
	if (make_store(path) == -1)
		return 1;
	if (store_open(path, STORE_READONLY, 1000, &st, err, sizeof(err)) == -1 ||
	    policy_load(st, &snap) == -1) {
		fprintf(stderr, "load: %s\n", err);
		return 1;
	}
	store_close(st);
	rc = test_run(cases);
	policy_unref(snap);
	unlink(path);
	return rc;
}
