/*
 * nftswitch_resolve: the addresses of a threat domain with their TTL, for
 * the kernel timeouts of the switch's sets (see nftswitch.h).  A query of
 * its own per family through libresolv (res_nquery, ns_parserr), because
 * getaddrinfo does not return TTLs; a name no DNS server answers for (one
 * only in /etc/hosts) is looked up with getaddrinfo and given the cap.
 * The answers are server data: each is rebuilt from its RDATA's bytes
 * with inet_ntop, never copied as text.
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <string.h>

#include "nftswitch.h"

static void
nftswitch_resolve_type(res_state rs, const char *name, int type, struct nftswitch_addr *out,
    size_t max, size_t *n)
{
	unsigned char ans[8192];
	ns_msg msg;
	ns_rr rr;
	int len, count;

	if ((len = res_nquery(rs, name, ns_c_in, type, ans, sizeof(ans))) < 0)
		return;
	if (ns_initparse(ans, len, &msg) < 0)
		return;
	count = ns_msg_count(msg, ns_s_an);
	for (int i = 0; i < count && *n < max; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return;
		if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in ||
		    ns_rr_rdlen(rr) != (type == ns_t_a ? 4 : 16))
			continue;
		if (inet_ntop(type == ns_t_a ? AF_INET : AF_INET6, ns_rr_rdata(rr),
		    out[*n].text, sizeof(out[*n].text)) == NULL)
			continue;
		out[*n].v6 = type == ns_t_aaaa;
		out[*n].ttl = ns_rr_ttl(rr);
		(*n)++;
	}
}

int
nftswitch_resolve(const char *name, struct nftswitch_addr *out, size_t max, unsigned cap,
    void *arg)
{
	struct __res_state rs;
	struct addrinfo hints, *res, *ai;
	size_t n = 0;

	(void)arg;
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) == 0) {
		nftswitch_resolve_type(&rs, name, ns_t_a, out, max, &n);
		nftswitch_resolve_type(&rs, name, ns_t_aaaa, out, max, &n);
		res_nclose(&rs);
	}
	if (n > 0)
		return (int)n;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		const void *a = ai->ai_family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		int dup = 0;

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    inet_ntop(ai->ai_family, a, out[n].text, sizeof(out[n].text)) == NULL)
			continue;
		for (size_t j = 0; j < n; j++)
			dup |= strcmp(out[j].text, out[n].text) == 0;
		if (dup)
			continue;
		out[n].v6 = ai->ai_family == AF_INET6;
		out[n].ttl = cap;
		n++;
	}
	freeaddrinfo(res);
	return (int)n;
}
