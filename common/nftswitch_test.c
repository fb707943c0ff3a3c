/*
 * nftswitch_test - the switch's renderer: golden rulesets for a fixed store
 * (common/testdata/nftswitch/store.sql, NAME.nft; NFTSWITCH_GOLDEN_UPDATE=1
 * rewrites them), accepted by `nft -c -f` when nft is installed and we are
 * root; hostile rows, one per case, each skipped with a warning and never
 * in the output; the option group's checks; counter names both ways; the
 * real resolver on a name of /etc/hosts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "moat_test.h"
#include "nftswitch.h"

#define NOW 1800000000

/* The fake DNS of the goldens: fixed answers and TTLs. */
static int
fake_resolve(const char *name, struct nftswitch_addr *out, size_t max, unsigned cap, void *arg)
{
	static const struct { const char *name, *addr; unsigned ttl; } dns[] = {
		{ "bad.example", "192.0.2.50", 300 },
		{ "bad.example", "2001:db8:50::1", 300 },
		{ "sub.example", "192.0.2.60", 3600 },
		{ "long.example", "192.0.2.70", 864000 },
		{ "inject.example", "192.0.2.80\n}", 60 },  /* a lying resolver */
	};
	size_t n = 0;

	(void)cap;
	(void)arg;
	for (size_t i = 0; i < TEST_NELEM(dns) && n < max; i++)
		if (strcmp(dns[i].name, name) == 0) {
			snprintf(out[n].text, sizeof(out[n].text), "%s", dns[i].addr);
			out[n].v6 = strchr(dns[i].addr, ':') != NULL;
			out[n].ttl = dns[i].ttl;
			n++;
		}
	return (int)n;
}

struct warns {
	int     n;
	char    last[512];
};

static void
collect_warn(void *arg, const char *msg)
{
	struct warns *w = arg;

	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", msg);
}

static void
conf_default(struct switch_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->table = "moat";
	c->decoys = "10.0.9.1 10.0.9.2 2001:db8:9::1";
	c->decoy_ports = "telnet:2323 ftp:2121 http:8080 smtp:2525 subseven:27374";
	c->personalities = "23:telnet 21:ftp 80:http 443:http 8080:http 25:smtp 587:smtp 27374:subseven";
	c->def = "http";
	c->flood_rate = 50;
	c->flood_burst = 100;
	c->resolve_max_ttl = 3600;
	c->nft = "/usr/sbin/nft";
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	if ((buf = malloc((size_t)n + 1)) != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* A fresh store with the fixed rows plus extra (may be NULL). */
static struct store *
store_fixture(const char *tag, const char *extra, char *path, size_t len)
{
	const char *tmp = getenv("TMPDIR"), *src = getenv("MOAT_SRC");
	struct store *st;
	char err[512], sqlpath[1024], *sql;

	snprintf(path, len, "%s/nftswitch.%ld.%s.db", tmp ? tmp : "/tmp", (long)getpid(), tag);
	unlink(path);
	snprintf(sqlpath, sizeof(sqlpath), "%s/common/testdata/nftswitch/store.sql", src ? src : ".");
	if ((sql = slurp(sqlpath)) == NULL) {
		TEST_FAIL("%s: %s", sqlpath, strerror(errno));
		return NULL;
	}
	if (store_open(path, STORE_NOCHECK, 1000, &st, err, sizeof(err)) == -1 ||
	    store_init(st, err, sizeof(err)) == -1 ||
	    store_exec_script(st, sql, err, sizeof(err)) == -1 ||
	    (extra != NULL && store_exec_script(st, extra, err, sizeof(err)) == -1)) {
		TEST_FAIL("fixture: %s", err);
		free(sql);
		return NULL;
	}
	free(sql);
	return st;
}

static char *
render(struct store *st, const struct switch_conf *c, struct warns *w,
    struct nftswitch_stats *sx, int *rc)
{
	struct nftswitch_ctx cx = { .conf = c, .now = NOW, .resolve = fake_resolve,
	    .warn = collect_warn, .warn_arg = w };
	char *buf = NULL;
	size_t len;
	FILE *fp = open_memstream(&buf, &len);

	*rc = nftswitch_render(st, &cx, fp, sx);
	fclose(fp);
	return buf;
}

/* nft -c -f path: 1 accepted, 0 refused, -1 not run (no nft, not root). */
static int
nft_check(const char *path)
{
	char cmd[1200];
	int r;

	if (access("/usr/sbin/nft", X_OK) == -1 || geteuid() != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "/usr/sbin/nft -c -f '%s'", path);
	r = system(cmd);
	return r != -1 && WIFEXITED(r) && WEXITSTATUS(r) == 0;
}

static void
golden_one(const char *name, const struct switch_conf *c)
{
	const char *src = getenv("MOAT_SRC");
	char db[1024], ref[1024], *got, *want;
	struct nftswitch_stats sx;
	struct warns w = { 0 };
	struct store *st;
	int rc, ok;

	if ((st = store_fixture(name, NULL, db, sizeof(db))) == NULL)
		return;
	got = render(st, c, &w, &sx, &rc);
	store_close(st);
	unlink(db);
	TEST_INT_EQ("render", rc, 0);
	snprintf(ref, sizeof(ref), "%s/common/testdata/nftswitch/%s.nft", src ? src : ".", name);
	if (getenv("NFTSWITCH_GOLDEN_UPDATE") != NULL) {
		FILE *fp = fopen(ref, "w");

		if (fp == NULL || fputs(got, fp) == EOF || fclose(fp) == EOF)
			TEST_FAIL("%s: %s", ref, strerror(errno));
	}
	if ((want = slurp(ref)) == NULL)
		TEST_FAIL("%s: %s", ref, strerror(errno));
	else if (strcmp(got, want) != 0)
		TEST_FAIL("%s differs; got:\n%s", ref, got);
	/* gone.example: the one name that does not resolve, said. */
	TEST_INT_EQ("names_failed", sx.names_failed, 1);
	TEST_CHECK(strstr(w.last, "gone.example") != NULL || w.n >= 1, "no warning for gone.example");
	if ((ok = nft_check(ref)) == -1)
		fprintf(stderr, "note %s: nft -c not run (needs nft and root)\n", name);
	else
		TEST_CHECK(ok == 1, "nft -c -f %s refused it", ref);
	free(got);
	free(want);
}

static void
case_golden(void)
{
	struct switch_conf c;

	conf_default(&c);
	golden_one("default", &c);
	/* One decoy per family, per-source hashing, interfaces, no flood guard. */
	conf_default(&c);
	c.table = "moat_test";
	c.decoys = "10.0.9.1 2001:db8:9::1 2001:db8:9::2";
	c.balance = 1;
	c.flood_rate = 0;
	c.interfaces = "veth0 eth1.100";
	c.personalities = "22:telnet 23:telnet";
	c.def = "telnet";
	golden_one("jhash", &c);
	/* No decoys: sets, flood guard and counters only. */
	conf_default(&c);
	c.decoys = NULL;
	golden_one("nodecoys", &c);
}

/* Each row alone on top of the fixed store: skipped with a warning, the
 * output as without it. */
static void
case_hostile(void)
{
	static const struct { const char *name, *sql, *needle; } rows[] = {
		{ "newline in ip", "INSERT INTO threat_sources(kind, value) VALUES ('ip', '192.0.2.1' || char(10) || '}')", "192.0.2.1" },
		{ "quote in ip", "INSERT INTO threat_sources(kind, value) VALUES ('ip', '192.0.2.1\"')", "192.0.2.1" },
		{ "semicolon in cidr", "INSERT INTO threat_sources(kind, value) VALUES ('cidr', '192.0.2.0/24; flush ruleset')", "flush" },
		{ "bad cidr length", "INSERT INTO threat_sources(kind, value) VALUES ('cidr', '192.0.2.0/33')", "192.0.2.0" },
		{ "host bits", "INSERT INTO threat_sources(kind, value) VALUES ('cidr', '192.0.2.1/24')", "192.0.2.1" },
		{ "over-long name", "INSERT INTO threat_sources(kind, value) VALUES ('domain', printf('%.300c.example', 'a'))", "aaaa" },
		{ "newline in domain", "INSERT INTO threat_sources(kind, value) VALUES ('domain', 'bad.example' || char(10) || 'x')", "x" },
		{ "semicolon in domain", "INSERT INTO threat_sources(kind, value) VALUES ('domain', 'a;b.example')", "a;b" },
		{ "lying resolver", "INSERT INTO threat_sources(kind, value) VALUES ('domain', 'inject.example')", "192.0.2.80" },
		{ "expires text", "INSERT INTO threat_sources(kind, value, expires) VALUES ('ip', '192.0.2.99', 'soon')", "192.0.2.99" },
		{ "service newline", "INSERT INTO protected_services(subscriber_id, address, port) VALUES (1, '10.0.2.9' || char(10) || 'flush ruleset', 80)", "10.0.2.9" },
		{ "service network", "INSERT INTO protected_services(subscriber_id, address, port) VALUES (1, '10.0.2.0/24', 80)", "10.0.2.0/24 ." },
		{ "service quote", "INSERT INTO protected_services(subscriber_id, address, port) VALUES (1, '10.0.2.9\"', 80)", "10.0.2.9" },
		{ "network quote", "INSERT INTO subscriber_networks(cidr, subscriber_id) VALUES ('10.9.0.0/16\"; drop', 1)", "10.9" },
		{ "network bad", "INSERT INTO subscriber_networks(cidr, subscriber_id) VALUES ('not a net', 1)", "not a net" },
		{ "network long", "INSERT INTO subscriber_networks(cidr, subscriber_id) VALUES (printf('%.200c', '1'), 1)", "1111" },
	};
	struct switch_conf c;
	struct nftswitch_stats base_sx, sx;
	struct warns bw = { 0 }, w;
	struct store *st;
	char db[1024], *base, *got;
	int rc;

	conf_default(&c);
	if ((st = store_fixture("base", NULL, db, sizeof(db))) == NULL)
		return;
	base = render(st, &c, &bw, &base_sx, &rc);
	store_close(st);
	unlink(db);
	for (size_t i = 0; i < TEST_NELEM(rows); i++) {
		memset(&w, 0, sizeof(w));
		if ((st = store_fixture("hostile", rows[i].sql, db, sizeof(db))) == NULL)
			continue;
		got = render(st, &c, &w, &sx, &rc);
		store_close(st);
		unlink(db);
		TEST_CHECK(rc == 0, "%s: render failed", rows[i].name);
		TEST_CHECK(got != NULL && strcmp(got, base) == 0, "%s: output changed:\n%s",
		    rows[i].name, got ? got : "");
		TEST_CHECK(got != NULL && strstr(got, rows[i].needle) == NULL,
		    "%s: \"%s\" in the output", rows[i].name, rows[i].needle);
		TEST_CHECK(w.n > bw.n, "%s: no warning (%d, base %d)", rows[i].name, w.n, bw.n);
		for (const char *p = w.last; *p != '\0'; p++)
			TEST_CHECK((unsigned char)*p >= ' ', "%s: control character in a warning",
			    rows[i].name);
		free(got);
	}
	free(base);
}

static void
case_conf(void)
{
	static const struct { const char *name, *field, *value; } bad[] = {
		{ "decoy not an address", "decoys", "10.0.9.1 decoy.example" },
		{ "decoy network", "decoys", "10.0.9.0/24" },
		{ "decoy injection", "decoys", "10.0.9.1;flush" },
		{ "port out of range", "decoy_ports", "telnet:70000" },
		{ "personality quote", "decoy_ports", "tel\"net:23" },
		{ "personality twice", "decoy_ports", "http:1 http:2" },
		{ "unknown personality", "personalities", "23:gopher" },
		{ "port twice", "personalities", "23:telnet 23:ftp" },
		{ "table name", "table", "moat; flush ruleset" },
		{ "interface quote", "interfaces", "eth0\"" },
		{ "default", "def", "gopher" },
	};
	struct switch_conf c;
	char err[256];

	conf_default(&c);
	TEST_INT_EQ("default config", nftswitch_conf_check(&c, err, sizeof(err)), 0);
	for (size_t i = 0; i < TEST_NELEM(bad); i++) {
		conf_default(&c);
		if (strcmp(bad[i].field, "decoys") == 0) c.decoys = (char *)bad[i].value;
		if (strcmp(bad[i].field, "decoy_ports") == 0) c.decoy_ports = (char *)bad[i].value;
		if (strcmp(bad[i].field, "personalities") == 0) c.personalities = (char *)bad[i].value;
		if (strcmp(bad[i].field, "table") == 0) c.table = (char *)bad[i].value;
		if (strcmp(bad[i].field, "interfaces") == 0) c.interfaces = (char *)bad[i].value;
		if (strcmp(bad[i].field, "def") == 0) c.def = (char *)bad[i].value;
		TEST_CHECK(nftswitch_conf_check(&c, err, sizeof(err)) == -1,
		    "%s: accepted", bad[i].name);
	}
}

static void
case_counter_names(void)
{
	static const struct { long long sub; const char *cidr, *dir, *name; } ok[] = {
		{ 1, "10.0.2.0/24", "in", "s1_10_0_2_0_24_in" },
		{ 42, "2001:db8:2::/48", "out", "s42_2001_db8_2___48_out" },
	};
	char buf[128];
	long long sub;
	int in;

	for (size_t i = 0; i < TEST_NELEM(ok); i++) {
		TEST_INT_EQ(ok[i].name, nftswitch_counter_name(ok[i].sub, ok[i].cidr, ok[i].dir,
		    buf, sizeof(buf)), 0);
		TEST_STR_EQ(ok[i].cidr, buf, ok[i].name);
		TEST_INT_EQ(ok[i].name, nftswitch_counter_parse(buf, &sub, &in), 1);
		TEST_INT_EQ("sub", sub, ok[i].sub);
		TEST_INT_EQ("in", in, strcmp(ok[i].dir, "in") == 0);
	}
	TEST_INT_EQ("bad char", nftswitch_counter_name(1, "10.0.0.0/8\"", "in", buf, sizeof(buf)), -1);
	TEST_INT_EQ("bad dir", nftswitch_counter_name(1, "10.0.0.0/8", "up", buf, sizeof(buf)), -1);
	TEST_INT_EQ("small", nftswitch_counter_name(1, "10.0.0.0/8", "in", buf, 8), -1);
	TEST_INT_EQ("foreign", nftswitch_counter_parse("other_in", &sub, &in), 0);
	TEST_INT_EQ("no dir", nftswitch_counter_parse("s1_10_0_0_0_8", &sub, &in), 0);
	TEST_INT_EQ("zero sub", nftswitch_counter_parse("s0_10_in", &sub, &in), 0);
	TEST_INT_EQ("not hex", nftswitch_counter_parse("s1_zz_in", &sub, &in), 0);
}

static void
case_resolve_hosts(void)
{
	struct nftswitch_addr a[8];
	int n;

	/* localhost is in /etc/hosts, answered by no DNS server: the cap. */
	n = nftswitch_resolve("localhost", a, TEST_NELEM(a), 77, NULL);
	TEST_CHECK(n >= 1, "localhost: %d addresses", n);
	for (int i = 0; i < n; i++) {
		TEST_CHECK(strcmp(a[i].text, "127.0.0.1") == 0 || strcmp(a[i].text, "::1") == 0,
		    "localhost: %s", a[i].text);
		TEST_INT_EQ("ttl", a[i].ttl, 77);
	}
	TEST_INT_EQ("invalid", nftswitch_resolve("nothing.invalid", a, TEST_NELEM(a), 77, NULL), 0);
}

static const struct test_case cases[] = {
	{ "golden",		case_golden },
	{ "hostile rows",	case_hostile },
	{ "conf",		case_conf },
	{ "counter names",	case_counter_names },
	{ "resolve hosts",	case_resolve_hosts },
	{ NULL, NULL }
};

int
main(void)
{
	log_init("nftswitch_test", 1, NULL);
	return test_run(cases);
}
