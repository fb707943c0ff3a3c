/* The switch's ruleset renderer (see nftswitch.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "nftswitch.h"

/* The config's lists, parsed. */
struct nftswitch_plan {
	char    decoy4[NFTSWITCH_MAX_DECOYS][NFTSWITCH_ADDR_MAX];
	char    decoy6[NFTSWITCH_MAX_DECOYS][NFTSWITCH_ADDR_MAX];
	int     ndecoy4, ndecoy6;
	char    pers[NFTSWITCH_MAX_PERS][NFTSWITCH_NAME_MAX];
	int     pers_port[NFTSWITCH_MAX_PERS];
	int     npers;
	int     map_port[NFTSWITCH_MAX_PORTMAP];
	int     map_pers[NFTSWITCH_MAX_PORTMAP];   /* index into pers */
	int     nmap;
	int     def;                               /* index into pers */
	char    ifs[8][NFTSWITCH_NAME_MAX];
	int     nifs;
};

/* One set element: canonical "addr/len" (or bare host), its prefix, and
 * its timeout (0: never). */
struct nftswitch_elem {
	char            text[NFTSWITCH_ADDR_MAX];
	unsigned char   bytes[16];
	int             v6, plen;
	long long       timeout;
	int             dead;
};

struct nftswitch_elems {
	struct nftswitch_elem  *v;
	size_t                  n, cap;
};

static void
nftswitch_warnf(const struct nftswitch_ctx *cx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Rows are hostile: no control characters reach a terminal or a log. */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	if (cx->warn != NULL)
		cx->warn(cx->warn_arg, msg);
	else
		log_warnx("switch: %s", msg);
}

/* A short, printable excerpt of a hostile value for a warning. */
static const char *
nftswitch_excerpt(const char *s, char *buf, size_t len)
{
	snprintf(buf, len, "%.40s%s", s == NULL ? "(null)" : s,
	    s != NULL && strlen(s) > 40 ? "..." : "");
	return buf;
}

static int
nftswitch_name_ok(const char *s, size_t n, int dash)
{
	if (n == 0 || n >= NFTSWITCH_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    !(dash && (s[i] == '-' || s[i] == '.')))
			return 0;
	return 1;
}

static int
nftswitch_port(const char *s, size_t n)
{
	int v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* Next space- or comma-separated word of *s: its start and length, 0 at end. */
static size_t
nftswitch_word(const char **s, const char **w)
{
	const char *p = *s;
	size_t n;

	while (*p == ' ' || *p == ',' || *p == '\t')
		p++;
	*w = p;
	n = strcspn(p, " ,\t");
	*s = p + n;
	return n;
}

static int
nftswitch_pers_find(const struct nftswitch_plan *pl, const char *s, size_t n)
{
	for (int i = 0; i < pl->npers; i++)
		if (strlen(pl->pers[i]) == n && memcmp(pl->pers[i], s, n) == 0)
			return i;
	return -1;
}

/* Canonical host address text (no "/len") of s, or -1. */
static int
nftswitch_host(const char *s, char *out, size_t len, int *v6)
{
	char canon[NFTSWITCH_ADDR_MAX], why[64], *slash;

	if (strlen(s) >= NFTSWITCH_ADDR_MAX || cidr_canon(s, canon, sizeof(canon), why,
	    sizeof(why)) == -1 || (slash = strchr(canon, '/')) == NULL)
		return -1;
	*v6 = strchr(canon, ':') != NULL;
	if (strcmp(slash + 1, *v6 ? "128" : "32") != 0)
		return -1;
	*slash = '\0';
	if (strlen(canon) >= len)
		return -1;
	strcpy(out, canon);
	return 0;
}

static int
nftswitch_plan(const struct switch_conf *cf, struct nftswitch_plan *pl, char *err,
    size_t errlen)
{
	char word[NFTSWITCH_ADDR_MAX], host[NFTSWITCH_ADDR_MAX];
	const char *s, *w, *colon;
	size_t n;
	int v6, port, p;

	memset(pl, 0, sizeof(*pl));
	if (cf->table == NULL || !nftswitch_name_ok(cf->table, strlen(cf->table), 0)) {
		snprintf(err, errlen, "table: letters, digits and _, 1 to %d", NFTSWITCH_NAME_MAX - 1);
		return -1;
	}
	for (s = cf->decoys != NULL ? cf->decoys : ""; (n = nftswitch_word(&s, &w)) > 0;) {
		if (n >= sizeof(word))
			goto baddecoy;
		memcpy(word, w, n);
		word[n] = '\0';
		if (nftswitch_host(word, host, sizeof(host), &v6) == -1)
			goto baddecoy;
		if ((v6 ? pl->ndecoy6 : pl->ndecoy4) == NFTSWITCH_MAX_DECOYS) {
			snprintf(err, errlen, "decoys: at most %d per family", NFTSWITCH_MAX_DECOYS);
			return -1;
		}
		strcpy(v6 ? pl->decoy6[pl->ndecoy6++] : pl->decoy4[pl->ndecoy4++], host);
	}
	for (s = cf->decoy_ports != NULL ? cf->decoy_ports : ""; (n = nftswitch_word(&s, &w)) > 0;) {
		if ((colon = memchr(w, ':', n)) == NULL ||
		    !nftswitch_name_ok(w, (size_t)(colon - w), 1) ||
		    (port = nftswitch_port(colon + 1, n - (size_t)(colon - w) - 1)) == -1 ||
		    nftswitch_pers_find(pl, w, (size_t)(colon - w)) != -1 ||
		    pl->npers == NFTSWITCH_MAX_PERS) {
			snprintf(err, errlen, "decoy_ports: expected distinct \"personality:port\" "
			    "words (at most %d), got \"%.*s\"", NFTSWITCH_MAX_PERS, (int)(n > 40 ? 40 : n), w);
			return -1;
		}
		memcpy(pl->pers[pl->npers], w, (size_t)(colon - w));
		pl->pers_port[pl->npers++] = port;
	}
	for (s = cf->personalities != NULL ? cf->personalities : ""; (n = nftswitch_word(&s, &w)) > 0;) {
		if ((colon = memchr(w, ':', n)) == NULL ||
		    (port = nftswitch_port(w, (size_t)(colon - w))) == -1 ||
		    (p = nftswitch_pers_find(pl, colon + 1, n - (size_t)(colon - w) - 1)) == -1 ||
		    pl->nmap == NFTSWITCH_MAX_PORTMAP) {
			snprintf(err, errlen, "personalities: expected \"port:personality\" words "
			    "naming personalities of decoy_ports (at most %d), got \"%.*s\"",
			    NFTSWITCH_MAX_PORTMAP, (int)(n > 40 ? 40 : n), w);
			return -1;
		}
		for (int i = 0; i < pl->nmap; i++)
			if (pl->map_port[i] == port) {
				snprintf(err, errlen, "personalities: port %d given twice", port);
				return -1;
			}
		pl->map_port[pl->nmap] = port;
		pl->map_pers[pl->nmap++] = p;
	}
	if (cf->def == NULL || (pl->def = nftswitch_pers_find(pl, cf->def, strlen(cf->def))) == -1) {
		snprintf(err, errlen, "default: not a personality of decoy_ports");
		return -1;
	}
	for (s = cf->interfaces != NULL ? cf->interfaces : ""; (n = nftswitch_word(&s, &w)) > 0;) {
		if (!nftswitch_name_ok(w, n, 1) || n > 15 || pl->nifs == 8) {
			snprintf(err, errlen, "interfaces: up to 8 interface names (letters, "
			    "digits, _ - .; 15 at most)");
			return -1;
		}
		memcpy(pl->ifs[pl->nifs++], w, n);
	}
	return 0;
baddecoy:
	snprintf(err, errlen, "decoys: not an IPv4 or IPv6 host address: \"%.*s\"",
	    (int)(n > 40 ? 40 : n), w);
	return -1;
}

int
nftswitch_conf_check(const struct switch_conf *cf, char *err, size_t errlen)
{
	struct nftswitch_plan pl;

	return nftswitch_plan(cf, &pl, err, errlen);
}

/* --- set elements ---------------------------------------------------- */

static int
nftswitch_elem_add(struct nftswitch_elems *es, const char *canon, long long timeout)
{
	struct nftswitch_elem *e;
	char addr[NFTSWITCH_ADDR_MAX], *slash;

	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 64;
		void *v = realloc(es->v, cap * sizeof(*es->v));
		if (v == NULL)
			return -1;
		es->v = v;
		es->cap = cap;
	}
	e = &es->v[es->n];
	memset(e, 0, sizeof(*e));
	snprintf(addr, sizeof(addr), "%s", canon);
	if ((slash = strchr(addr, '/')) == NULL)
		return -1;
	*slash = '\0';
	e->v6 = strchr(addr, ':') != NULL;
	e->plen = atoi(slash + 1);
	if (inet_pton(e->v6 ? AF_INET6 : AF_INET, addr, e->bytes) != 1)
		return -1;
	/* A host is written bare, as nft lists it. */
	if (e->plen == (e->v6 ? 128 : 32))
		snprintf(e->text, sizeof(e->text), "%s", addr);
	else
		snprintf(e->text, sizeof(e->text), "%s", canon);
	e->timeout = timeout;
	es->n++;
	return 0;
}

/* 1 when a's prefix contains b's. */
static int
nftswitch_contains(const struct nftswitch_elem *a, const struct nftswitch_elem *b)
{
	int full, rest;

	if (a->v6 != b->v6 || a->plen > b->plen)
		return 0;
	full = a->plen / 8;
	rest = a->plen % 8;
	if (memcmp(a->bytes, b->bytes, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((a->bytes[full] ^ b->bytes[full]) & (0xff << (8 - rest))) == 0;
}

/* Interval sets refuse overlapping elements: an element inside another is
 * folded into it, the outer one keeping the later timeout (0 = never, the
 * latest).  An address listed under a short-lived CIDR and forever on its
 * own thus keeps the CIDR listed forever: over-blocking, said in a warning,
 * rather than a ruleset nft refuses. */
static void
nftswitch_elems_fold(const struct nftswitch_ctx *cx, struct nftswitch_elems *es)
{
	for (size_t i = 0; i < es->n; i++) {
		struct nftswitch_elem *a = &es->v[i];

		for (size_t j = 0; j < es->n && !a->dead; j++) {
			struct nftswitch_elem *b = &es->v[j];

			if (i == j || b->dead || !nftswitch_contains(b, a))
				continue;
			if (b->plen == a->plen && j > i)
				continue;  /* the same prefix twice: fold the later one */
			if (b->timeout != 0 && (a->timeout == 0 || a->timeout > b->timeout)) {
				if (b->plen != a->plen)
					nftswitch_warnf(cx, "threat %s lasts longer than %s, "
					    "which contains it: %s kept as long", a->text, b->text, b->text);
				b->timeout = a->timeout;
			}
			a->dead = 1;
		}
	}
}

static void
nftswitch_set(FILE *out, const char *name, const char *type, const char *flags,
    const struct nftswitch_elems *es, int v6, int *count)
{
	int first = 1;

	fprintf(out, "\tset %s {\n\t\ttype %s\n\t\tflags %s\n", name, type, flags);
	for (size_t i = 0; es != NULL && i < es->n; i++) {
		const struct nftswitch_elem *e = &es->v[i];

		if (e->dead || e->v6 != v6)
			continue;
		fprintf(out, "%s\t\t\t%s", first ? "\t\telements = {\n" : ",\n", e->text);
		if (e->timeout > 0)
			fprintf(out, " timeout %llds", e->timeout);
		first = 0;
		if (count != NULL)
			(*count)++;
	}
	if (!first)
		fputs("\n\t\t}\n", out);
	fputs("\t}\n", out);
}

/* --- reading the store ------------------------------------------------ */

static const char sql_threats[] =
    "SELECT id, kind, value, expires FROM threat_sources "
    "WHERE expires IS NULL OR expires > ?1 ORDER BY kind, value, id";
static const char sql_services[] =
    "SELECT id, address, port, proto FROM protected_services ORDER BY address, proto, port, id";
static const char sql_networks[] =
    "SELECT n.cidr, n.subscriber_id FROM subscriber_networks n "
    "JOIN subscribers s ON s.id = n.subscriber_id ORDER BY n.subscriber_id, n.cidr";

/* Threat domains read from the store, resolved once the read transaction
 * is over (a slow DNS server must not hold the store's snapshot open). */
struct nftswitch_name {
	long long   id, timeout;
	char        name[300];
};

struct nftswitch_names {
	struct nftswitch_name  *v;
	size_t                  n, cap;
};

static int
nftswitch_threats(struct store *st, const struct nftswitch_ctx *cx, struct nftswitch_elems *es,
    struct nftswitch_names *names, struct nftswitch_stats *sx)
{
	sqlite3_stmt *q;
	char canon[NFTSWITCH_ADDR_MAX], why[64], ex[64], name[300];
	int r;

	if ((q = store_prepare(st, sql_threats)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)cx->now);
	while ((r = store_step(st, q, "switch threats")) == STORE_STEP_ROW) {
		long long id = sqlite3_column_int64(q, 0);
		const char *kind = (const char *)sqlite3_column_text(q, 1);
		const char *value = (const char *)sqlite3_column_text(q, 2);
		long long timeout = 0;

		if (sqlite3_column_type(q, 3) != SQLITE_NULL) {
			if (sqlite3_column_type(q, 3) != SQLITE_INTEGER) {
				nftswitch_warnf(cx, "threat %lld: expires is not a time; skipped", id);
				sx->skipped++;
				continue;
			}
			timeout = sqlite3_column_int64(q, 3) - (long long)cx->now;
		}
		if (kind == NULL || value == NULL)
			continue;
		if (strcmp(kind, "ip") == 0 || strcmp(kind, "cidr") == 0) {
			if (strlen(value) >= NFTSWITCH_ADDR_MAX ||
			    cidr_canon(value, canon, sizeof(canon), why, sizeof(why)) == -1 ||
			    nftswitch_elem_add(es, canon, timeout) == -1) {
				nftswitch_warnf(cx, "threat %lld: not an address or network: \"%s\"; "
				    "skipped", id, nftswitch_excerpt(value, ex, sizeof(ex)));
				sx->skipped++;
			}
			continue;
		}
		/* domain, suspect_domain: ".example.com" names the domain and its
		 * subdomains; only the domain itself can be resolved. */
		if (domain_canon(value, name, sizeof(name), 1) != ADDR_OK) {
			nftswitch_warnf(cx, "threat %lld: not a domain name: \"%s\"; skipped",
			    id, nftswitch_excerpt(value, ex, sizeof(ex)));
			sx->skipped++;
			continue;
		}
		if (names->n == names->cap) {
			size_t cap = names->cap ? names->cap * 2 : 16;
			void *v = realloc(names->v, cap * sizeof(*names->v));

			if (v == NULL) {
				sqlite3_reset(q);
				return -1;
			}
			names->v = v;
			names->cap = cap;
		}
		names->v[names->n].id = id;
		names->v[names->n].timeout = timeout;
		snprintf(names->v[names->n].name, sizeof(names->v[names->n].name), "%s",
		    name[0] == '.' ? name + 1 : name);
		names->n++;
	}
	return r == STORE_STEP_DONE ? 0 : -1;
}

static void
nftswitch_resolve_names(const struct nftswitch_ctx *cx, const struct nftswitch_names *names,
    struct nftswitch_elems *es, struct nftswitch_stats *sx)
{
	char canon[NFTSWITCH_ADDR_MAX], why[64];
	struct nftswitch_addr addrs[16];
	int n;

	for (size_t k = 0; k < names->n; k++) {
		const struct nftswitch_name *nm = &names->v[k];

		n = (cx->resolve != NULL ? cx->resolve : nftswitch_resolve)(nm->name, addrs,
		    sizeof(addrs) / sizeof(addrs[0]), (unsigned)cx->conf->resolve_max_ttl,
		    cx->resolve_arg);
		if (n <= 0) {
			nftswitch_warnf(cx, "threat %lld: %s does not resolve; skipped", nm->id,
			    nm->name);
			sx->names_failed++;
			continue;
		}
		sx->names++;
		for (int i = 0; i < n; i++) {
			long long t = addrs[i].ttl > 0 ? addrs[i].ttl : 1;

			if (t > cx->conf->resolve_max_ttl)
				t = cx->conf->resolve_max_ttl;
			if (nm->timeout > 0 && nm->timeout < t)
				t = nm->timeout;
			/* The resolver gives canonical host text; check it anyway. */
			addrs[i].text[sizeof(addrs[i].text) - 1] = '\0';
			if (cidr_canon(addrs[i].text, canon, sizeof(canon), why, sizeof(why)) == -1 ||
			    nftswitch_elem_add(es, canon, t) == -1)
				nftswitch_warnf(cx, "threat %lld: bad answer from %s; skipped",
				    nm->id, nm->name);
		}
	}
}

struct nftswitch_svc {
	char    addr[NFTSWITCH_ADDR_MAX];
	int     v6, port;
	char    proto[4];
};

static int
nftswitch_services(struct store *st, const struct nftswitch_ctx *cx,
    struct nftswitch_svc **out, size_t *nout, struct nftswitch_stats *sx)
{
	sqlite3_stmt *q;
	struct nftswitch_svc *v = NULL, *s;
	size_t n = 0, cap = 0;
	char ex[64];
	int r;

	if ((q = store_prepare(st, sql_services)) == NULL)
		return -1;
	while ((r = store_step(st, q, "switch services")) == STORE_STEP_ROW) {
		long long id = sqlite3_column_int64(q, 0);
		const char *addr = (const char *)sqlite3_column_text(q, 1);
		const char *proto = (const char *)sqlite3_column_text(q, 3);
		long long port = sqlite3_column_int64(q, 2);

		if (n == cap) {
			void *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (nv == NULL) {
				sqlite3_reset(q);
				free(v);
				return -1;
			}
			v = nv;
		}
		s = &v[n];
		if (addr == NULL || nftswitch_host(addr, s->addr, sizeof(s->addr), &s->v6) == -1 ||
		    sqlite3_column_type(q, 2) != SQLITE_INTEGER || port < 1 || port > 65535 ||
		    proto == NULL || (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)) {
			nftswitch_warnf(cx, "protected service %lld: \"%s\" is not a host address "
			    "with a port and tcp/udp; skipped", id, nftswitch_excerpt(addr, ex, sizeof(ex)));
			sx->skipped++;
			continue;
		}
		s->port = (int)port;
		snprintf(s->proto, sizeof(s->proto), "%s", proto);
		n++;
	}
	if (r != STORE_STEP_DONE) {
		free(v);
		return -1;
	}
	sx->services = (int)n;
	*out = v;
	*nout = n;
	return 0;
}

/* --- the text ---------------------------------------------------------- */

static void
nftswitch_iif(FILE *out, const struct nftswitch_plan *pl)
{
	if (pl->nifs == 0)
		return;
	fputs("iifname { ", out);
	for (int i = 0; i < pl->nifs; i++)
		fprintf(out, "%s\"%s\"", i ? ", " : "", pl->ifs[i]);
	fputs(" } ", out);
}

/* The DNAT of one rule: to a decoy of the family, at the personality's port. */
static void
nftswitch_dnat(FILE *out, const struct switch_conf *cf, const struct nftswitch_plan *pl,
    int v6, int pers)
{
	int n = v6 ? pl->ndecoy6 : pl->ndecoy4;
	const char (*d)[NFTSWITCH_ADDR_MAX] = v6 ? pl->decoy6 : pl->decoy4;
	int port = pl->pers_port[pers];

	if (n == 1) {
		fprintf(out, "dnat %s to %s%s%s:%d", v6 ? "ip6" : "ip", v6 ? "[" : "", d[0],
		    v6 ? "]" : "", port);
		return;
	}
	fprintf(out, "dnat %s to %s mod %d map { ", v6 ? "ip6" : "ip",
	    cf->balance == 1 ? (v6 ? "jhash ip6 saddr" : "jhash ip saddr") : "numgen inc", n);
	for (int i = 0; i < n; i++)
		fprintf(out, "%s%d : %s", i ? ", " : "", i, d[i]);
	fprintf(out, " }:%d", port);
}

/* Rules sending TCP from prefix (a match, "" for any source) to protected
 * addresses of a family to the decoys: each mapped personality's ports,
 * then every other port to the default. */
static void
nftswitch_redirect(FILE *out, const struct switch_conf *cf, const struct nftswitch_plan *pl,
    int v6, const char *match)
{
	for (int p = 0; p < pl->npers; p++) {
		int any = 0;

		for (int i = 0; i < pl->nmap; i++)
			if (pl->map_pers[i] == p) {
				if (!any) {
					fputs("\t\t", out);
					nftswitch_iif(out, pl);
					fprintf(out, "%s%s daddr @protected%d tcp dport { ", match,
					    v6 ? "ip6" : "ip", v6 ? 6 : 4);
				}
				fprintf(out, "%s%d", any ? ", " : "", pl->map_port[i]);
				any = 1;
			}
		if (any) {
			fputs(" } ", out);
			nftswitch_dnat(out, cf, pl, v6, p);
			fputc('\n', out);
		}
	}
	fputs("\t\t", out);
	nftswitch_iif(out, pl);
	fprintf(out, "%s%s daddr @protected%d meta l4proto tcp ", match, v6 ? "ip6" : "ip",
	    v6 ? 6 : 4);
	nftswitch_dnat(out, cf, pl, v6, pl->def);
	fputc('\n', out);
}

static int
nftswitch_networks(struct store *st, const struct nftswitch_ctx *cx, FILE *counters,
    FILE *rules, struct nftswitch_stats *sx)
{
	sqlite3_stmt *q;
	char canon[NFTSWITCH_ADDR_MAX], why[64], ex[64], in[160], outn[160];
	int r;

	if ((q = store_prepare(st, sql_networks)) == NULL)
		return -1;
	while ((r = store_step(st, q, "switch networks")) == STORE_STEP_ROW) {
		const char *cidr = (const char *)sqlite3_column_text(q, 0);
		long long sub = sqlite3_column_int64(q, 1);
		int v6;

		if (cidr == NULL || strlen(cidr) >= NFTSWITCH_ADDR_MAX ||
		    cidr_canon(cidr, canon, sizeof(canon), why, sizeof(why)) == -1 ||
		    nftswitch_counter_name(sub, canon, "in", in, sizeof(in)) == -1 ||
		    nftswitch_counter_name(sub, canon, "out", outn, sizeof(outn)) == -1) {
			nftswitch_warnf(cx, "subscriber network \"%s\": not a network; skipped",
			    nftswitch_excerpt(cidr, ex, sizeof(ex)));
			sx->skipped++;
			continue;
		}
		v6 = strchr(canon, ':') != NULL;
		fprintf(counters, "\tcounter %s {\n\t}\n", in);
		fprintf(counters, "\tcounter %s {\n\t}\n", outn);
		fprintf(rules, "\t\t%s daddr %s counter name \"%s\"\n", v6 ? "ip6" : "ip", canon, in);
		fprintf(rules, "\t\t%s saddr %s counter name \"%s\"\n", v6 ? "ip6" : "ip", canon, outn);
		sx->networks++;
	}
	return r == STORE_STEP_DONE ? 0 : -1;
}

int
nftswitch_render(struct store *st, const struct nftswitch_ctx *cx, FILE *out,
    struct nftswitch_stats *stats)
{
	const struct switch_conf *cf = cx->conf;
	struct nftswitch_plan pl;
	struct nftswitch_stats sx = { 0 };
	struct nftswitch_elems threats = { 0 }, prot = { 0 };
	struct nftswitch_names names = { 0 };
	struct nftswitch_svc *svc = NULL;
	size_t nsvc = 0, billing_len = 0, counters_len = 0;
	char err[256], *billing = NULL, *counters = NULL;
	FILE *bf = NULL, *cf_ = NULL;
	int status = -1, rd;

	if (nftswitch_plan(cf, &pl, err, sizeof(err)) == -1) {
		nftswitch_warnf(cx, "switch config: %s", err);
		return -1;
	}
	if ((bf = open_memstream(&billing, &billing_len)) == NULL ||
	    (cf_ = open_memstream(&counters, &counters_len)) == NULL)
		goto done;
	/* Every row in one snapshot; the names are resolved after it. */
	if (store_begin_read(st) == -1)
		goto done;
	rd = nftswitch_threats(st, cx, &threats, &names, &sx) == -1 ||
	    nftswitch_services(st, cx, &svc, &nsvc, &sx) == -1 ||
	    nftswitch_networks(st, cx, cf_, bf, &sx) == -1;
	if (rd) {
		store_rollback(st);
		goto done;
	}
	if (store_commit(st) == -1)
		goto done;
	rd = fclose(bf) == EOF;
	bf = NULL;
	rd |= fclose(cf_) == EOF;
	cf_ = NULL;
	if (rd)
		goto done;
	nftswitch_resolve_names(cx, &names, &threats, &sx);
	nftswitch_elems_fold(cx, &threats);
	for (size_t i = 0; i < nsvc; i++) {
		char c[NFTSWITCH_ADDR_MAX + 8];
		int dup = 0;

		snprintf(c, sizeof(c), "%s/%d", svc[i].addr, svc[i].v6 ? 128 : 32);
		for (size_t j = 0; j < i; j++)
			dup |= strcmp(svc[j].addr, svc[i].addr) == 0;
		if (!dup && nftswitch_elem_add(&prot, c, 0) == -1)
			goto done;
	}

	fprintf(out, "# The switch's table, rendered by nftswitch from the store: load it\n"
	    "# with nft -f (one transaction, replacing the old table).\n"
	    "table inet %s {\n}\ndelete table inet %s\ntable inet %s {\n",
	    cf->table, cf->table, cf->table);
	nftswitch_set(out, "threat4", "ipv4_addr", "interval, timeout", &threats, 0, &sx.threats4);
	nftswitch_set(out, "threat6", "ipv6_addr", "interval, timeout", &threats, 1, &sx.threats6);
	nftswitch_set(out, "protected4", "ipv4_addr", "interval", &prot, 0, NULL);
	nftswitch_set(out, "protected6", "ipv6_addr", "interval", &prot, 1, NULL);
	for (int v6 = 0; v6 <= 1; v6++) {
		int first = 1;

		fprintf(out, "\tset services%d {\n\t\ttype %s . inet_proto . inet_service\n",
		    v6 ? 6 : 4, v6 ? "ipv6_addr" : "ipv4_addr");
		for (size_t i = 0; i < nsvc; i++) {
			int dup = 0;

			if (svc[i].v6 != v6)
				continue;
			for (size_t j = 0; j < i; j++)
				dup |= svc[j].v6 == v6 && svc[j].port == svc[i].port &&
				    strcmp(svc[j].addr, svc[i].addr) == 0 &&
				    strcmp(svc[j].proto, svc[i].proto) == 0;
			if (dup)
				continue;
			fprintf(out, "%s\t\t\t%s . %s . %d", first ? "\t\telements = {\n" : ",\n",
			    svc[i].addr, svc[i].proto, svc[i].port);
			first = 0;
		}
		fputs(first ? "\t}\n" : "\n\t\t}\n\t}\n", out);
	}
	if (cf->flood_rate > 0)
		for (int v6 = 0; v6 <= 1; v6++)
			fprintf(out, "\tset flood%d {\n\t\ttype %s\n\t\tsize 65536\n"
			    "\t\tflags dynamic, timeout\n\t\ttimeout 60s\n\t}\n",
			    v6 ? 6 : 4, v6 ? "ipv6_addr" : "ipv4_addr");
	fputs(counters != NULL ? counters : "", out);

	if (cf->flood_rate > 0) {
		fputs("\tchain flood_guard {\n"
		    "\t\ttype filter hook prerouting priority -150; policy accept;\n", out);
		for (int v6 = 0; v6 <= 1; v6++) {
			fputs("\t\t", out);
			nftswitch_iif(out, &pl);
			fprintf(out, "%s daddr @protected%d ct state new add @flood%d { %s saddr "
			    "limit rate over %lld/second burst %lld packets } drop\n",
			    v6 ? "ip6" : "ip", v6 ? 6 : 4, v6 ? 6 : 4, v6 ? "ip6" : "ip",
			    cf->flood_rate, cf->flood_burst);
		}
		fputs("\t}\n", out);
	}
	fputs("\tchain decoy_nat {\n"
	    "\t\ttype nat hook prerouting priority dstnat; policy accept;\n", out);
	for (int v6 = 0; v6 <= 1; v6++) {
		if ((v6 ? pl.ndecoy6 : pl.ndecoy4) == 0)
			continue;
		nftswitch_redirect(out, cf, &pl, v6, v6 ? "ip6 saddr @threat6 " : "ip saddr @threat4 ");
		fprintf(out, "\t\t%s daddr . meta l4proto . th dport @services%d return\n",
		    v6 ? "ip6" : "ip", v6 ? 6 : 4);
		nftswitch_redirect(out, cf, &pl, v6, "");
	}
	fputs("\t}\n", out);
	fprintf(out, "\tchain billing {\n"
	    "\t\ttype filter hook forward priority 0; policy accept;\n%s\t}\n}\n",
	    billing != NULL ? billing : "");
	if (fflush(out) == EOF || ferror(out))
		goto done;
	status = 0;
done:
	if (bf != NULL)
		fclose(bf);
	if (cf_ != NULL)
		fclose(cf_);
	free(billing);
	free(counters);
	free(names.v);
	free(threats.v);
	free(prot.v);
	free(svc);
	if (stats != NULL)
		*stats = sx;
	return status;
}

/* --- counter names ------------------------------------------------------ */

int
nftswitch_counter_name(long long sub, const char *cidr, const char *dir, char *buf,
    size_t len)
{
	size_t n;
	int w;

	if (sub < 1 || (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0))
		return -1;
	if ((w = snprintf(buf, len, "s%lld_", sub)) < 0 || (size_t)w >= len)
		return -1;
	n = (size_t)w;
	for (const char *p = cidr; *p != '\0'; p++) {
		if (n + 1 >= len)
			return -1;
		if (isxdigit((unsigned char)*p))
			buf[n++] = (char)tolower((unsigned char)*p);
		else if (*p == '.' || *p == ':' || *p == '/')
			buf[n++] = '_';
		else
			return -1;
	}
	if ((w = snprintf(buf + n, len - n, "_%s", dir)) < 0 || (size_t)w >= len - n)
		return -1;
	return 0;
}

int
nftswitch_counter_parse(const char *name, long long *sub, int *in)
{
	const char *p = name;
	size_t n;
	long long v = 0;

	if (*p++ != 's' || !isdigit((unsigned char)*p))
		return 0;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > 1000000000000LL)
			return 0;
		v = v * 10 + (*p - '0');
	}
	if (*p++ != '_' || v < 1)
		return 0;
	n = strlen(p);
	if (n > 3 && strcmp(p + n - 3, "_in") == 0) {
		*in = 1;
		n -= 3;
	} else if (n > 4 && strcmp(p + n - 4, "_out") == 0) {
		*in = 0;
		n -= 4;
	} else
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)p[i]) && p[i] != '_')
			return 0;
	*sub = v;
	return 1;
}
