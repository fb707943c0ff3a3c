/*
 * decoyd_ident - whose server a session believes it reached.
 *
 * The switch DNATs an intruder's connection to a decoy; conntrack on the
 * same host still knows the address it was meant for (SO_ORIGINAL_DST),
 * and the store says which subscriber's network holds that address.  The
 * session then wears that subscriber's identity: its banners and files name
 * the host "HOSTNAME.DOMAIN" with the subscriber's first mail domain, and
 * its events carry the subscriber (moat-secmgr keys on it).  A connection
 * that was not redirected (or whose destination no subscriber owns) is
 * judged by the address it reached, and otherwise wears the configured
 * hostname alone.
 *
 * The table is read from the store as root before the drop (ident_load, a
 * read-only connection closed at once) and replaced whole at a reload when
 * the store can still be read; sessions copy what they need, so an old
 * table is freed at once.  Only the loop thread touches it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "decoyd.h"
#include "log.h"
#include "net.h"
#include "store.h"

/* linux/netfilter_ipv4.h and ip6_tables.h: both 80, one per level. */
#define DD_SO_ORIGINAL_DST 80

struct dd_ident {
	long long sub;
	char      domain[256];
};

static struct cidrset   *ident_set;
static struct dd_ident  *ident_tab;
static size_t            ident_n;

static const char ident_sql[] =
    "SELECT n.cidr, s.id, (SELECT MIN(d.domain) FROM subscriber_domains d "
    "WHERE d.subscriber_id = s.id) FROM subscriber_networks n "
    "JOIN subscribers s ON s.id = n.subscriber_id WHERE s.status = 'active' "
    "ORDER BY n.cidr";

static void
ident_free(struct cidrset *set, struct dd_ident *tab)
{
	cidrset_free(set);
	free(tab);
}

int
ident_load(const char *path)
{
	struct store *st;
	sqlite3_stmt *q;
	struct cidrset *set = NULL;
	struct dd_ident *tab = NULL, *n;
	size_t cnt = 0, cap = 0;
	char err[512], dom[256];
	const char *cidr, *d;
	int r;

	if (store_open(path, STORE_READONLY, 2000, &st, err, sizeof(err)) == -1) {
		log_warnx("subscriber identities: %s", err);
		return -1;
	}
	if ((q = store_prepare(st, ident_sql)) == NULL || (set = cidrset_new()) == NULL)
		goto fail;
	while ((r = store_step(st, q, "subscriber identities")) == STORE_STEP_ROW) {
		cidr = (const char *)sqlite3_column_text(q, 0);
		d = (const char *)sqlite3_column_text(q, 2);
		/* Operator rows: a domain goes out in banners, so only a
		 * canonical one; a network cidrset refuses is said and skipped. */
		if (d == NULL || domain_canon(d, dom, sizeof(dom), 0) != ADDR_OK)
			dom[0] = '\0';
		if (cnt == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((n = realloc(tab, cap * sizeof(*tab))) == NULL)
				goto fail;
			tab = n;
		}
		tab[cnt].sub = sqlite3_column_int64(q, 1);
		snprintf(tab[cnt].domain, sizeof(tab[cnt].domain), "%s", dom);
		/* The data is an index + 1: tab moves while it grows. */
		if (cidr == NULL || cidrset_add(set, cidr, (void *)(uintptr_t)(cnt + 1)) == -1) {
			log_warnx("subscriber identities: network \"%.64s\" is not a network; "
			    "skipped", cidr != NULL ? cidr : "");
			continue;
		}
		cnt++;
	}
	if (r == STORE_STEP_ERROR)
		goto fail;
	store_close(st);
	ident_free(ident_set, ident_tab);
	ident_set = set;
	ident_tab = tab;
	ident_n = cnt;
	log_info("subscriber identities: %zu networks", cnt);
	return 0;
fail:
	log_warnx("subscriber identities: cannot read the store; kept the old table");
	store_close(st);
	ident_free(set, tab);
	return -1;
}

void
ident_unload(void)
{
	ident_free(ident_set, ident_tab);
	ident_set = NULL;
	ident_tab = NULL;
	ident_n = 0;
}

/* The address text of ss into buf ("" when it is neither family). */
static void
ident_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	buf[0] = '\0';
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, len);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, len);
}

/* The address the client meant: conntrack's original destination when the
 * switch redirected it, else our own end (whose text goes to local).  0, or
 * -1. */
static int
ident_dst(int fd, const struct sockaddr *bound, struct sockaddr_storage *ss, char *local,
    size_t locallen)
{
	socklen_t len = sizeof(*ss);

	if (bound != NULL)
		memcpy(ss, bound, bound->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in));
	else if (getsockname(fd, (struct sockaddr *)ss, &len) == -1)
		return -1;
	ident_text(ss, local, locallen);
	len = sizeof(*ss);
	if (ss->ss_family == AF_INET)
		(void)getsockopt(fd, IPPROTO_IP, DD_SO_ORIGINAL_DST, ss, &len);
	else if (ss->ss_family == AF_INET6)
		(void)getsockopt(fd, IPPROTO_IPV6, DD_SO_ORIGINAL_DST, ss, &len);
	return 0;
}

void
ident_pick(struct dd_session *s, const struct sockaddr *bound)
{
	struct sockaddr_storage ss;
	const char *host = s->conf->d.hostname, *d;
	void *data = NULL;
	size_t i;

	s->subscriber = 0;
	s->dst[0] = s->local[0] = '\0';
	snprintf(s->fqdn, sizeof(s->fqdn), "%s", host);
	if (ident_dst(s->fd, bound, &ss, s->local, sizeof(s->local)) == -1)
		return;
	ident_text(&ss, s->dst, sizeof(s->dst));
	if (ident_set == NULL || cidrset_match_sa(ident_set, (struct sockaddr *)&ss, &data) != 1)
		return;
	i = (uintptr_t)data;
	if (i == 0 || i > ident_n)
		return;
	s->subscriber = ident_tab[i - 1].sub;
	d = ident_tab[i - 1].domain;
	/* A name over DNS's 253 octets would give the decoy away: keep the
	 * hostname alone then. */
	if (d[0] != '\0' && strlen(host) + 1 + strlen(d) < sizeof(s->fqdn)) {
		memcpy(s->fqdn + strlen(host), ".", 1);
		memcpy(s->fqdn + strlen(host) + 1, d, strlen(d) + 1);
	}
}
