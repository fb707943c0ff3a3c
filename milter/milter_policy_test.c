/*
 * milter_policy_test - who a recipient is served for, on the demo seed plus
 * a few rows: inbound, outbound by sender domain and by client address,
 * suspended, unserved, recipient overrides, the strictest policy of a
 * message, and threat sources by address and name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milter.h"
#include "store.h"

static const char extra_rows[] =
    "INSERT INTO policies (name, scan_mode, on_infected) VALUES ('lenient', 'none', 'tag');"
    "INSERT INTO recipient_policies (address, policy_id)"
    "  SELECT 'ceo@beta.example', id FROM policies WHERE name = 'strict';"
    "INSERT INTO recipient_policies (address, policy_id)"
    "  SELECT 'intern@alpha.example', id FROM policies WHERE name = 'lenient';"
    "INSERT INTO subscribers (name, status) VALUES ('Delta', 'active');"
    "INSERT INTO subscriber_domains (domain, subscriber_id)"
    "  SELECT '.delta.example', id FROM subscribers WHERE name = 'Delta';"
    "INSERT INTO threat_sources (kind, value, reason) VALUES"
    "  ('suspect_domain', 'sus.example', 'tag me');";

struct rcase {
	const char *name, *client, *sender_domain, *rcpt;
	enum rcpt_status want;
	const char *want_sub, *want_policy;     /* NULL: none / default */
	int want_outbound;
};

static const struct rcase rcases[] = {
	{ "inbound alpha", "127.0.0.2", "example.net", "<u@alpha.example>", RCPT_SERVED, "Alpha", "strict", 0 },
	{ "inbound case-folded", "127.0.0.2", "", "<U@ALPHA.Example>", RCPT_SERVED, "Alpha", "strict", 0 },
	{ "inbound beta", "127.0.0.2", "example.net", "<u@beta.example>", RCPT_SERVED, "Beta", "executables-reject", 0 },
	{ "recipient override", "127.0.0.2", "example.net", "<ceo@beta.example>", RCPT_SERVED, "Beta", "strict", 0 },
	{ "override to lenient", "127.0.0.2", "", "<intern@alpha.example>", RCPT_SERVED, "Alpha", "lenient", 0 },
	{ "suspended gamma", "127.0.0.2", "example.net", "<u@gamma.example>", RCPT_SUSPENDED, "Gamma", NULL, 0 },
	{ "suspended even from a subscriber", "127.0.0.1", "alpha.example", "<u@gamma.example>", RCPT_SUSPENDED, "Gamma", NULL, 0 },
	{ "unserved", "127.0.0.2", "example.net", "<u@example.org>", RCPT_UNSERVED, NULL, NULL, 0 },
	{ "unserved null sender", "127.0.0.2", "", "<u@example.org>", RCPT_UNSERVED, NULL, NULL, 0 },
	{ "outbound by sender domain", "127.0.0.2", "beta.example", "<u@example.org>", RCPT_SERVED, "Beta", "executables-reject", 1 },
	{ "outbound by client address", "127.0.0.1", "example.net", "<u@example.org>", RCPT_SERVED, "Alpha", "strict", 1 },
	{ "outbound from suspended", "127.0.0.2", "gamma.example", "<u@example.org>", RCPT_SUSPENDED, "Gamma", NULL, 1 },
	{ "subdomain entry", "127.0.0.2", "", "<u@mx.delta.example>", RCPT_SERVED, "Delta", NULL, 0 },
	{ "no policy row: default", "127.0.0.2", "", "<u@delta.example>", RCPT_SERVED, "Delta", NULL, 0 },
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

int
main(void)
{
	char path[4096], err[512];
	const char *tmp = getenv("TMPDIR");
	struct store *st;
	struct policy_snapshot *snap;
	struct rcpt_decision d;
	const struct threat *t;
	int fails = 0;

	snprintf(path, sizeof(path), "%s/milter_policy_test.%d.db", tmp ? tmp : "/tmp", (int)getpid());
	if (make_store(path) == -1)
		return 1;
	if (store_open(path, STORE_READONLY, 1000, &st, err, sizeof(err)) == -1 ||
	    policy_load(st, &snap) == -1) {
		fprintf(stderr, "load: %s\n", err);
		return 1;
	}
	store_close(st);

	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];
		const char *got_sub, *got_pol;

		if (milter_policy_rcpt(snap, c->client, c->sender_domain, c->rcpt, &d) == -1) {
			fprintf(stderr, "FAIL %s: lookup error\n", c->name);
			fails++;
			continue;
		}
		got_sub = d.sub ? d.sub->name : NULL;
		got_pol = d.policy == NULL ? NULL :
		    d.policy == milter_policy_default() ? NULL : d.policy->name;
		if (d.status != c->want || d.outbound != c->want_outbound ||
		    (got_sub == NULL) != (c->want_sub == NULL) ||
		    (got_sub && strcmp(got_sub, c->want_sub) != 0) ||
		    (got_pol == NULL) != (c->want_policy == NULL) ||
		    (got_pol && strcmp(got_pol, c->want_policy) != 0)) {
			fprintf(stderr, "FAIL %s: got status %d sub %s policy %s outbound %d; "
			    "want %d %s %s %d\n", c->name, d.status, got_sub ? got_sub : "-",
			    got_pol ? got_pol : "-", d.outbound, c->want,
			    c->want_sub ? c->want_sub : "-", c->want_policy ? c->want_policy : "-",
			    c->want_outbound);
			fails++;
		}
		if (d.status == RCPT_SERVED && d.policy == NULL) {
			fprintf(stderr, "FAIL %s: served without a policy\n", c->name);
			fails++;
		}
	}

	/* Combined across recipients: strict (all, repair) with
	 * executables-reject gives all + reject, in either order. */
	{
		const char *rc[] = { "<u@beta.example>", "<intern@alpha.example>", "<u@alpha.example>" };

		for (int order = 0; order < 2; order++) {
			struct policy p;

			for (size_t i = 0; i < 3; i++) {
				milter_policy_rcpt(snap, "127.0.0.2", "", rc[order ? 2 - i : i], &d);
				if (i == 0)
					p = *d.policy;
				else
					policy_combine(&p, d.policy);
			}
			if (p.scan_mode != SCAN_ALL || p.on_infected != INF_REJECT) {
				fprintf(stderr, "FAIL combined (order %d): got scan %s infected %s, "
				    "want all reject\n", order, policy_scan_mode_names[p.scan_mode],
				    policy_infected_names[p.on_infected]);
				fails++;
			}
		}
	}

	/* Threat sources. */
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
			fprintf(stderr, "FAIL threat %s: got %d, want %d\n", tc[i].name, r, tc[i].want);
			fails++;
		}
	}
	if (milter_policy_threat_addr(snap, "not-an-ip", &t) != -1) {
		fprintf(stderr, "FAIL threat bad address: want -1\n");
		fails++;
	}

	policy_unref(snap);
	unlink(path);
	printf("milter_policy_test: %s (%zu recipient cases, %zu threat cases)\n",
	    fails ? "FAIL" : "ok", sizeof(rcases) / sizeof(rcases[0]), sizeof(tc) / sizeof(tc[0]));
	return fails != 0;
}
