/*
 * policy_test - the policy snapshot built from the demo seed plus a few
 * test rows: tri-state lookups, threat expiry, policy_combine, and the
 * watcher picking up an operator's sqlite3 edit within its poll interval.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "store.h"
#include "moat_test.h"

/* Rows on top of the demo seed.  Expiry times are absolute, and the lookups
 * below pass their own "now", so the cases do not depend on the clock. */
static const char extra_rows[] =
    "INSERT INTO threat_sources (kind, value, reason, expires) VALUES"
    "  ('cidr', '198.51.100.0/24', 'net', NULL),"
    "  ('ip', '198.51.100.7', 'host', 1000),"
    "  ('ip', '203.0.113.9', 'short-lived', 1000),"
    "  ('domain', 'old.example', 'expired name', 1000),"
    "  ('domain', 'bad.example', 'parent', NULL),"
    "  ('suspect_domain', 'worse.bad.example', 'child', 1000),"
    "  ('suspect_domain', 'sus.example', 'tag me', NULL),"
    "  ('ip', '2001:db8::66', 'v6 host', NULL),"
    "  ('ip', 'not-an-ip', 'skipped with a warning', NULL);"
    "INSERT INTO subscriber_networks (cidr, subscriber_id)"
    "  SELECT 'bogus/99', id FROM subscribers WHERE name = 'Alpha';"
    "INSERT INTO subscriber_networks (cidr, subscriber_id)"
    "  SELECT '2001:db8:a::/48', id FROM subscribers WHERE name = 'Alpha';"
    "INSERT INTO recipient_policies (address, policy_id)"
    "  SELECT 'ceo@beta.example', id FROM policies WHERE name = 'strict';";

static char db_path[4096];

static int
make_store(const char *path)
{
	struct store	*st;
	char		 err[512];

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

static int
load(struct policy_snapshot **snap)
{
	struct store	*st;
	char		 err[512];
	int		 r;

	if (store_open(db_path, STORE_READONLY, 1000, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "  open: %s\n", err);
		return -1;
	}
	r = policy_load(st, snap);
	store_close(st);
	return r;
}

/* An operator's edit, made exactly as one would make it by hand. */
static int
operator_sql(const char *sql)
{
	char	cmd[8192];
	int	r;

	snprintf(cmd, sizeof(cmd), "/usr/bin/sqlite3 '%s' \"%s\"", db_path, sql);
	if ((r = system(cmd)) != 0) {
		fprintf(stderr, "  %s: exit %d\n", cmd, r);
		return -1;
	}
	return 0;
}

enum lk { BY_DOMAIN, BY_ADDR, BY_ID, BY_RCPT, THREAT_ADDR, THREAT_NAME };

static const struct lookup_case {
	const char	*name;
	enum lk		 kind;
	const char	*key;
	time_t		 now;
	int		 want;        /* 1 found, 0 absent, -1 error */
	const char	*want_what;   /* subscriber, policy name or threat reason */
} lookups[] = {
	{ "domain exact",		BY_DOMAIN, "alpha.example", 0, 1, "Alpha" },
	{ "domain case-folded",		BY_DOMAIN, "ALPHA.EXAMPLE", 0, 1, "Alpha" },
	{ "domain trailing dot",	BY_DOMAIN, "beta.example.", 0, 1, "Beta" },
	{ "subdomain not served",	BY_DOMAIN, "sub.alpha.example", 0, 0, NULL },
	{ "unknown domain",		BY_DOMAIN, "unknown.example", 0, 0, NULL },
	{ "suspended subscriber",	BY_DOMAIN, "gamma.example", 0, 1, "Gamma" },
	{ "addr of Alpha",		BY_ADDR, "127.0.0.1", 0, 1, "Alpha" },
	{ "addr of Beta",		BY_ADDR, "127.0.0.3", 0, 1, "Beta" },
	{ "addr of nobody",		BY_ADDR, "127.0.0.2", 0, 0, NULL },
	{ "v6 network of Alpha",	BY_ADDR, "2001:db8:a::25", 0, 1, "Alpha" },
	{ "not an address",		BY_ADDR, "bogus", 0, -1, NULL },
	{ "subscriber id 2",		BY_ID, "2", 0, 1, "Beta" },
	{ "subscriber id 99",		BY_ID, "99", 0, 0, NULL },
	{ "recipient override",		BY_RCPT, "<CEO@Beta.Example>", 0, 1, "strict" },
	{ "recipient no override",	BY_RCPT, "cfo@beta.example", 0, 0, NULL },
	{ "threat ip",			THREAT_ADDR, "192.0.2.66", 5000, 1, "demo: known spam relay" },
	{ "threat ip v4-mapped",	THREAT_ADDR, "::ffff:192.0.2.66", 5000, 1, "demo: known spam relay" },
	{ "threat ip neighbour",	THREAT_ADDR, "192.0.2.67", 5000, 0, NULL },
	{ "threat ip v6",		THREAT_ADDR, "2001:db8::66", 5000, 1, "v6 host" },
	{ "threat host before expiry",	THREAT_ADDR, "198.51.100.7", 500, 1, "host" },
	{ "threat host expired: net",	THREAT_ADDR, "198.51.100.7", 5000, 1, "net" },
	{ "threat net",			THREAT_ADDR, "198.51.100.8", 5000, 1, "net" },
	{ "threat ip expired",		THREAT_ADDR, "203.0.113.9", 5000, 0, NULL },
	{ "threat ip at expiry",	THREAT_ADDR, "203.0.113.9", 1000, 0, NULL },
	{ "threat ip not yet expired",	THREAT_ADDR, "203.0.113.9", 999, 1, "short-lived" },
	{ "threat domain",		THREAT_NAME, "evil.example", 5000, 1, "demo: malware distribution" },
	{ "threat subdomain",		THREAT_NAME, "mail.evil.example", 5000, 1, "demo: malware distribution" },
	{ "threat subdomain caps",	THREAT_NAME, "MX.Mail.EVIL.example", 5000, 1, "demo: malware distribution" },
	{ "threat name suffix only",	THREAT_NAME, "notevil.example", 5000, 0, NULL },
	{ "threat name expired",	THREAT_NAME, "old.example", 5000, 0, NULL },
	{ "threat name live",		THREAT_NAME, "www.old.example", 500, 1, "expired name" },
	{ "threat child live",		THREAT_NAME, "a.worse.bad.example", 500, 1, "child" },
	{ "threat child expired",	THREAT_NAME, "a.worse.bad.example", 5000, 1, "parent" },
	{ "suspect domain",		THREAT_NAME, "x.sus.example", 5000, 1, "tag me" },
	{ "clean name",			THREAT_NAME, "example.org", 5000, 0, NULL },
};

static void
run_lookup(const struct policy_snapshot *s, const struct lookup_case *c)
{
	const struct subscriber	*sub = NULL;
	const struct policy	*pol = NULL;
	const struct threat	*t = NULL;
	const char		*what = NULL;
	int			 r = -2;

	switch (c->kind) {
	case BY_DOMAIN:
		r = policy_subscriber_by_domain(s, c->key, &sub);
		break;
	case BY_ADDR:
		r = policy_subscriber_by_addr(s, c->key, &sub);
		break;
	case BY_ID:
		r = policy_subscriber_by_id(s, atoll(c->key), &sub);
		break;
	case BY_RCPT:
		r = policy_by_recipient(s, c->key, &pol);
		break;
	case THREAT_ADDR:
		r = policy_threat_by_addr(s, c->key, c->now, &t);
		break;
	case THREAT_NAME:
		r = policy_threat_by_name(s, c->key, c->now, &t);
		break;
	}
	if (r == 1)
		what = sub ? sub->name : pol ? pol->name : t ? t->reason : "(null)";
	if (r != c->want)
		TEST_FATAL("%s(%s): got %d, want %d", c->name, c->key, r, c->want);
	if (c->want == 1 && strcmp(what, c->want_what) != 0)
		TEST_FATAL("%s(%s): got \"%s\", want \"%s\"", c->name, c->key, what,
		    c->want_what);
}

static void
case_lookups(void)
{
	struct policy_snapshot	*s;
	size_t			 i;

	if (load(&s) == -1)
		TEST_FATAL("policy_load: got -1, want 0");
	for (i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++)
		run_lookup(s, &lookups[i]);
	policy_unref(s);
}

static void
case_contents(void)
{
	struct policy_snapshot	*s;
	const struct subscriber	*a, *b, *g;
	const char		*subj, *body;
	size_t			 nsub, ndom, nthr;

	if (load(&s) == -1)
		TEST_FATAL("policy_load: got -1, want 0");
	if (policy_subscriber_by_domain(s, "alpha.example", &a) != 1 ||
	    policy_subscriber_by_domain(s, "beta.example", &b) != 1 ||
	    policy_subscriber_by_domain(s, "gamma.example", &g) != 1)
		TEST_FATAL("demo subscribers missing");
	if (!a->active || !b->active || g->active)
		TEST_FATAL("active: got Alpha %d Beta %d Gamma %d, want 1 1 0",
		    a->active, b->active, g->active);
	if (a->policy == NULL || strcmp(a->policy->name, "strict") != 0 ||
	    g->policy != a->policy)
		TEST_FATAL("Alpha and Gamma should share policy strict");
	if (a->policy->scan_mode != SCAN_ALL ||
	    a->policy->on_infected != INF_REPAIR || !a->policy->repair ||
	    !a->policy->quarantine || !a->policy->notify_recipients ||
	    a->policy->notify_style != NOTIFY_MESSAGE || !a->policy->heuristics ||
	    a->policy->retention_days != 30 || !a->policy->digest ||
	    a->policy->notify_admin == NULL ||
	    strcmp(a->policy->notify_admin, "postmaster@alpha.example") != 0 ||
	    a->policy->on_unscannable != UNS_TEMPFAIL ||
	    a->policy->on_error != ERR_TEMPFAIL)
		TEST_FATAL("policy strict does not match the seed");
	if (b->policy == NULL || b->policy->scan_mode != SCAN_EXECUTABLES ||
	    b->policy->on_infected != INF_REJECT || b->policy->notify_sender ||
	    b->policy->notify_admin != NULL)
		TEST_FATAL("policy executables-reject does not match the seed");
	policy_counts(s, &nsub, &ndom, &nthr);
	/* 11 threat rows, one of them ("not-an-ip") skipped. */
	if (nsub != 3 || ndom != 3 || nthr != 10)
		TEST_FATAL("counts: got %zu subscribers, %zu domains, %zu threats, "
		    "want 3, 3, 10", nsub, ndom, nthr);
	if (policy_template(s, "repair_notice", &subj, &body) != 1 ||
	    strstr(body, "{virus}") == NULL)
		TEST_FATAL("template repair_notice: missing or without {virus}");
	if (policy_template(s, "nonesuch", &subj, &body) != 0)
		TEST_FATAL("template nonesuch: got found, want absent");
	if (policy_generation(s) < 2)
		TEST_FATAL("generation: got %lld, want >= 2",
		    (long long)policy_generation(s));
	policy_unref(s);
}

static void
case_subdomain_entry(void)
{
	struct policy_snapshot	*s;
	const struct subscriber	*sub;
	int			 r;

	if (operator_sql("INSERT INTO subscriber_domains (domain, subscriber_id) "
	    "SELECT '.alpha.example', id FROM subscribers WHERE name = 'Alpha'") == -1)
		TEST_FATAL("operator edit");
	if (load(&s) == -1)
		TEST_FATAL("policy_load: got -1, want 0");
	r = policy_subscriber_by_domain(s, "sub.alpha.example", &sub);
	if (r != 1 || strcmp(sub->name, "Alpha") != 0)
		TEST_FATAL("sub.alpha.example with .alpha.example: got %d, want Alpha", r);
	r = policy_subscriber_by_domain(s, "sub.beta.example", &sub);
	policy_unref(s);
	if (r != 0)
		TEST_FATAL("sub.beta.example: got %d, want 0", r);
	if (operator_sql("DELETE FROM subscriber_domains "
	    "WHERE domain = '.alpha.example'") == -1)
		TEST_FATAL("operator edit");
}

/* policy_combine: each case folds b into a copy of a (and a into a copy of
 * b: the order of RCPT commands must not matter) and checks every
 * dimension the milter decides by. */
static const struct policy p_all_tag = { .name = "all-tag",
    .scan_mode = SCAN_ALL, .on_infected = INF_TAG, .max_scan_bytes = 1000,
    .on_unscannable = UNS_PASS, .on_error = ERR_PASS, .header_mode = HDR_ADD,
    .auto_release_fp = 1, .skip_forged_senders = 1 };
static const struct policy p_exe_reject = { .name = "exe-reject",
    .scan_mode = SCAN_EXECUTABLES, .on_infected = INF_REJECT, .max_scan_bytes = 100,
    .on_unscannable = UNS_TAG, .on_error = ERR_TEMPFAIL, .header_mode = HDR_NONE,
    .auto_release_fp = 1 };
static const struct policy p_mac_quar = { .name = "mac-quarantine",
    .scan_mode = SCAN_MACROS, .on_infected = INF_QUARANTINE, .max_scan_bytes = 500,
    .on_unscannable = UNS_QUARANTINE, .on_error = ERR_REJECT, .quarantine = 1,
    .heuristics = 1, .header_mode = HDR_REPLACE, .retention_days = 90,
    .mixed_recipients = MIXED_DEFER };
static const struct policy p_none_discard = { .name = "none-discard",
    .scan_mode = SCAN_NONE, .on_infected = INF_DISCARD, .max_scan_bytes = 2000,
    .on_unscannable = UNS_TEMPFAIL, .on_error = ERR_PASS, .header_mode = HDR_NONE,
    .notify_sender = 1, .retention_days = 7 };
static const struct policy p_all_repair = { .name = "all-repair",
    .scan_mode = SCAN_ALL, .on_infected = INF_REPAIR, .max_scan_bytes = 1000,
    .on_unscannable = UNS_REJECT, .on_error = ERR_TEMPFAIL, .repair = 1 };

static const struct combine_case {
	const char		*name;
	const struct policy	*a, *b;
	enum scan_mode		 scan;
	int64_t			 bytes;
	enum act_infected	 inf;
	enum act_unscannable	 uns;
	enum act_error		 err;
	int			 heur, quar, hdr, defer, arfp;
} combine_cases[] = {
	{ "hole 2: all+tag with executables+reject", &p_all_tag, &p_exe_reject,
	  SCAN_ALL, 100, INF_REJECT, UNS_TAG, ERR_TEMPFAIL, 0, 0, HDR_ADD, 0, 1 },
	{ "executables + macros = both", &p_exe_reject, &p_mac_quar,
	  SCAN_EXEC_MACROS, 100, INF_REJECT, UNS_QUARANTINE, ERR_REJECT, 1, 1, HDR_REPLACE, 1, 0 },
	{ "none adds nothing to coverage", &p_none_discard, &p_mac_quar,
	  SCAN_MACROS, 500, INF_DISCARD, UNS_QUARANTINE, ERR_REJECT, 1, 1, HDR_REPLACE, 1, 0 },
	{ "discard beats quarantine, tempfail beats tag", &p_none_discard, &p_exe_reject,
	  SCAN_EXECUTABLES, 100, INF_REJECT, UNS_TEMPFAIL, ERR_TEMPFAIL, 0, 0, HDR_NONE, 0, 0 },
	{ "repair beats tag, reject beats all unscannable", &p_all_tag, &p_all_repair,
	  SCAN_ALL, 1000, INF_REPAIR, UNS_REJECT, ERR_TEMPFAIL, 0, 0, HDR_ADD, 0, 0 },
	{ "quarantine beats repair", &p_all_repair, &p_mac_quar,
	  SCAN_ALL, 500, INF_QUARANTINE, UNS_REJECT, ERR_REJECT, 1, 1, HDR_REPLACE, 1, 0 },
	{ "same policy twice", &p_all_tag, &p_all_tag,
	  SCAN_ALL, 1000, INF_TAG, UNS_PASS, ERR_PASS, 0, 0, HDR_ADD, 0, 1 },
};

static void
combine_check(const struct combine_case *c, const struct policy *a, const struct policy *b)
{
	struct policy got = *a;

	policy_combine(&got, b);
	if (got.scan_mode != c->scan || got.max_scan_bytes != c->bytes ||
	    got.on_infected != c->inf || got.on_unscannable != c->uns ||
	    got.on_error != c->err || got.heuristics != c->heur ||
	    got.quarantine != c->quar || (int)got.header_mode != c->hdr ||
	    (got.mixed_recipients == MIXED_DEFER) != c->defer ||
	    got.auto_release_fp != c->arfp) {
		TEST_FAIL("%s (%s + %s): got scan %s bytes %lld infected %s "
		    "unscannable %s error %s heur %d quar %d header %s defer %d arfp %d; "
		    "want %s %lld %s %s %s %d %d %s %d %d", c->name, a->name, b->name,
		    policy_scan_mode_names[got.scan_mode], (long long)got.max_scan_bytes,
		    policy_infected_names[got.on_infected],
		    policy_unscannable_names[got.on_unscannable],
		    policy_error_names[got.on_error], got.heuristics, got.quarantine,
		    policy_header_mode_names[got.header_mode],
		    got.mixed_recipients == MIXED_DEFER, got.auto_release_fp,
		    policy_scan_mode_names[c->scan], (long long)c->bytes,
		    policy_infected_names[c->inf], policy_unscannable_names[c->uns],
		    policy_error_names[c->err], c->heur, c->quar,
		    policy_header_mode_names[c->hdr], c->defer, c->arfp);
	}
}

static void
case_combine(void)
{
	size_t	i;

	for (i = 0; i < sizeof(combine_cases) / sizeof(combine_cases[0]); i++) {
		combine_check(&combine_cases[i], combine_cases[i].a, combine_cases[i].b);
		combine_check(&combine_cases[i], combine_cases[i].b, combine_cases[i].a);
	}
}

static const struct {
	const char *const	*names;
	const char		*text;
	int			 want;
} enums[] = {
	{ policy_scan_mode_names, "executables_macros", SCAN_EXEC_MACROS },
	{ policy_scan_mode_names, "none", SCAN_NONE },
	{ policy_scan_mode_names, "ALL", -1 },
	{ policy_infected_names, "repair", INF_REPAIR },
	{ policy_unscannable_names, "quarantine", UNS_QUARANTINE },
	{ policy_error_names, "pass", ERR_PASS },
	{ policy_error_names, "tag", -1 },
	{ policy_notify_style_names, "attachment", NOTIFY_ATTACHMENT },
	{ policy_header_mode_names, "replace", HDR_REPLACE },
	{ policy_header_mode_names, NULL, -1 },
};

static void
case_enums(void)
{
	size_t	i;
	int	got;

	for (i = 0; i < sizeof(enums) / sizeof(enums[0]); i++) {
		got = policy_enum_parse(enums[i].names, enums[i].text);
		if (got != enums[i].want)
			TEST_FAIL("enum \"%s\": got %d, want %d",
			    enums[i].text ? enums[i].text : "NULL", got,
			    enums[i].want);
	}
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits up to 2 s for the watcher to publish a snapshot newer than gen;
 * returns it (a reference) or NULL. */
static struct policy_snapshot *
wait_newer(int64_t gen, double *took)
{
	struct policy_snapshot	*s;
	double			 t0 = now_s();
	int			 i;

	for (i = 0; i < 100; i++) {
		if ((s = policy_watch_current()) == NULL)
			return NULL;
		if (policy_generation(s) > gen) {
			*took = now_s() - t0;
			return s;
		}
		policy_unref(s);
		usleep(20000);
	}
	*took = now_s() - t0;
	return NULL;
}

static void
case_watch(void)
{
	struct policy_snapshot	*old, *s;
	const struct subscriber	*sub;
	char			 err[512];
	double			 took;
	int64_t			 gen;
	int			 r;

	if (policy_watch_start(db_path, 200, err, sizeof(err)) == -1)
		TEST_FATAL("policy_watch_start: %s", err);
	if ((old = policy_watch_current()) == NULL)
		TEST_FATAL("policy_watch_current: got NULL");
	gen = policy_generation(old);
	if (policy_subscriber_by_domain(old, "alpha.example", &sub) != 1 ||
	    sub->policy->scan_mode != SCAN_ALL)
		TEST_FATAL("before the edit: Alpha should scan all");

	if (operator_sql("UPDATE policies SET scan_mode='none' WHERE name='strict'") == -1)
		TEST_FATAL("operator edit");
	if ((s = wait_newer(gen, &took)) == NULL)
		TEST_FATAL("no new generation after %.2fs, want within 2s", took);
	r = policy_subscriber_by_domain(s, "alpha.example", &sub);
	if (r != 1 || sub->policy->scan_mode != SCAN_NONE)
		TEST_FATAL("after the edit: Alpha scan_mode got %d, want none (%d)",
		    r == 1 ? (int)sub->policy->scan_mode : -1, SCAN_NONE);
	fprintf(stderr, "  operator edit visible after %.2fs\n", took);
	/* The old snapshot is still ours, unchanged, after the swap. */
	if (policy_subscriber_by_domain(old, "alpha.example", &sub) != 1 ||
	    sub->policy->scan_mode != SCAN_ALL)
		TEST_FATAL("held old snapshot changed under its reader");
	policy_unref(old);
	gen = policy_generation(s);
	policy_unref(s);

	/* A generation that cannot be read keeps the current snapshot. */
	if (operator_sql("UPDATE meta SET value='garbage' WHERE key='policy_generation'") == -1)
		TEST_FATAL("operator edit");
	if ((r = policy_watch_reload()) != -1)
		TEST_FATAL("forced reload with a broken generation: got %d, want -1", r);
	if ((s = policy_watch_current()) == NULL || policy_generation(s) != gen)
		TEST_FATAL("after a failed reload: got generation %lld, want %lld kept",
		    s ? (long long)policy_generation(s) : -1LL, (long long)gen);
	policy_unref(s);
	if (operator_sql("UPDATE meta SET value=1000 WHERE key='policy_generation'") == -1)
		TEST_FATAL("operator edit");
	if ((s = wait_newer(gen, &took)) == NULL || policy_generation(s) != 1000)
		TEST_FATAL("after repair: got generation %lld, want 1000",
		    s ? (long long)policy_generation(s) : -1LL);
	policy_unref(s);

	/* A forced reload succeeds without any change. */
	if ((r = policy_watch_reload()) != 0)
		TEST_FATAL("forced reload: got %d, want 0", r);
	policy_watch_stop();
	if ((s = policy_watch_current()) != NULL)
		TEST_FATAL("current after stop: got a snapshot, want NULL");
	if ((r = policy_watch_reload()) != -1)
		TEST_FATAL("reload after stop: got %d, want -1", r);
}

/*
 * Rows as an operator may type them in sqlite3 match every spelling of
 * their address or name (net.h canonical form), and a name lookup sees
 * every listing covering it, not just the most specific.
 */
static void
case_canonical(void)
{
	struct policy_snapshot	*s;
	const struct policy	*pol;
	const struct threat	*t[8];
	int			 r;

	if (operator_sql("INSERT INTO recipient_policies (address, policy_id) "
	    "SELECT 'boss@beta.example.', id FROM policies WHERE name = 'strict';"
	    "INSERT INTO recipient_policies (address, policy_id) "
	    "SELECT char(34) || 'boss' || char(34) || '@beta.example', id FROM policies "
	    "WHERE name = 'executables-reject';"
	    "INSERT INTO recipient_policies (address, policy_id) "
	    "SELECT 'chef@böse.example', id FROM policies WHERE name = 'strict';"
	    "INSERT INTO threat_sources (kind, value, reason) VALUES "
	    "('domain', 'Böse.Example.', 'idn'), "
	    "('suspect_domain', 'mx.layered.example', 'tag'), "
	    "('domain', 'layered.example', 'block')") == -1)
		TEST_FATAL("operator edit");
	if (load(&s) == -1)
		TEST_FATAL("policy_load: got -1, want 0");
	pol = NULL;
	if (policy_by_recipient(s, "<\"BOSS\"@Beta.Example>", &pol) != 1 ||
	    strcmp(pol->name, "strict") != 0)
		TEST_FATAL("quoted, upper-case recipient: got %s, want strict (older row)",
		    pol ? pol->name : "none");
	if (policy_by_recipient(s, "boss@beta.example", &pol) != 1)
		TEST_FATAL("row with a trailing dot: no override");
	if (policy_by_recipient(s, "<chef@XN--BSE-SNA.example.>", &pol) != 1)
		TEST_FATAL("row with a U-label: no override for its A-label");
	r = policy_threats_by_name(s, "xn--bse-sna.example", 5000, t, 8);
	if (r != 1 || strcmp(t[0]->value, "xn--bse-sna.example") != 0)
		TEST_FATAL("U-label listing: got %d (%s), want 1 xn--bse-sna.example", r,
		    r > 0 ? t[0]->value : "-");
	r = policy_threats_by_name(s, "a.mx.layered.example", 5000, t, 8);
	if (r != 2 || t[0]->kind != THREAT_SUSPECT_DOMAIN || t[1]->kind != THREAT_DOMAIN)
		TEST_FATAL("nested listings: got %d, want suspect_domain then domain", r);
	if (policy_threats_by_name(s, "a.mx.layered.example", 5000, t, 1) != 1)
		TEST_FATAL("nested listings, room for one: want 1");
	r = policy_threats_by_name(s, "bad.example", 5000, t, 8);
	if (r != 1 || strcmp(t[0]->reason, "parent") != 0)
		TEST_FATAL("bad.example: got %d, want parent", r);
	if (policy_threats_by_addr(s, "198.51.100.7", 500, t, 8) != 2 ||
	    policy_threats_by_addr(s, "198.51.100.7", 5000, t, 8) != 1 ||
	    policy_threats_by_addr(s, "bogus", 5000, t, 8) != -1)
		TEST_FATAL("threats by address: host and net before expiry, net after, -1 junk");
	policy_unref(s);
	if (operator_sql("DELETE FROM recipient_policies WHERE address LIKE '%boss%' "
	    "OR address LIKE 'chef@%';"
	    "DELETE FROM threat_sources WHERE reason IN ('idn', 'tag', 'block')") == -1)
		TEST_FATAL("operator edit");
}

static const struct test_case cases[] = {
	{ "lookups",				case_lookups },
	{ "demo seed contents",			case_contents },
	{ ".alpha.example matches subdomains",	case_subdomain_entry },
	{ "canonical addresses and names",	case_canonical },
	{ "policy_combine",			case_combine },
	{ "enum texts",				case_enums },
	{ "watcher follows operator edits",	case_watch },
	{ NULL, NULL }
};

int
main(void)
{
	const char	*tmp;
	char		 dir[1024];

	if ((tmp = getenv("TMPDIR")) == NULL)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/policy_test.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(db_path, sizeof(db_path), "%s/moat.db", dir);
	if (make_store(db_path) == -1)
		return 1;
	printf("store %s\n", db_path);
	return test_run(cases);
}
