/*
 * net - CIDR and domain sets for policy matching (see net.h).
 *
 * cidrset is a binary trie over 128-bit keys; IPv4 lives in ::ffff:0:0/96 so
 * that IPv4-mapped IPv6 client addresses (Postfix on a dual-stack socket)
 * match IPv4 entries.  domset is an open-addressing hash of lower-case names;
 * subdomain entries are stored with their leading dot, so a match tries the
 * name itself, then ".name", ".parent", ... up to the top label.
 *
 * Both are built once by one thread and then only read: no locks.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

struct cidr_node {
	struct cidr_node *child[2];
	void             *data;
	int               has;
};

struct cidrset {
	struct cidr_node  root;
	size_t            count;
};

struct cidrset *
cidrset_new(void)
{
	return calloc(1, sizeof(struct cidrset));
}

/* Parses an address into a 16-byte key; *is4 tells whether it was IPv4. */
static int
net_parse_addr(const char *text, uint8_t key[16], int *is4)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, text, &a4) == 1) {
		memset(key, 0, 10);
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &a4, 4);
		*is4 = 1;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &a6) == 1) {
		memcpy(key, &a6, 16);
		*is4 = 0;
		return 0;
	}
	return -1;
}

static int
net_bit(const uint8_t key[16], int i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1;
}

/* "addr[/len]" -> key + bits (IPv4 lengths shifted by 96).  -1 if malformed. */
static int
cidr_parse(const char *cidr, uint8_t key[16], int *bits)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	int is4;
	long len;

	if (cidr == NULL || strlen(cidr) >= sizeof(buf))
		return -1;
	strcpy(buf, cidr);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (net_parse_addr(buf, key, &is4) == -1)
		return -1;
	if (slash == NULL)
		len = is4 ? 32 : 128;
	else {
		if (!isdigit((unsigned char)*slash))
			return -1;
		len = strtol(slash, &end, 10);
		if (*end != '\0' || len < 0 || len > (is4 ? 32 : 128))
			return -1;
	}
	*bits = (int)(is4 ? len + 96 : len);
	return 0;
}

int
cidrset_add(struct cidrset *set, const char *cidr, void *data)
{
	uint8_t key[16];
	int bits;
	struct cidr_node *n = &set->root;

	if (cidr_parse(cidr, key, &bits) == -1)
		return -1;
	for (int i = 0; i < bits; i++) {
		int b = net_bit(key, i);
		if (n->child[b] == NULL &&
		    (n->child[b] = calloc(1, sizeof(*n))) == NULL)
			return -1;
		n = n->child[b];
	}
	if (!n->has)
		set->count++;
	n->has = 1;
	n->data = data;
	return 0;
}

static int
cidrset_match_key(const struct cidrset *set, const uint8_t key[16], void **data)
{
	const struct cidr_node *n = &set->root, *best = NULL;

	for (int i = 0; n != NULL; i++) {
		if (n->has)
			best = n;
		if (i == 128)
			break;
		n = n->child[net_bit(key, i)];
	}
	if (best == NULL)
		return 0;
	if (data != NULL)
		*data = best->data;
	return 1;
}

int
cidrset_match(const struct cidrset *set, const char *addr, void **data)
{
	uint8_t key[16];
	int is4;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n;

	if (addr == NULL)
		return -1;
	/* Postfix and libmilter may hand us "[192.0.2.1]" or "IPv6:..." forms. */
	n = strlen(addr);
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, addr + 1, n - 2);
		buf[n - 2] = '\0';
		addr = buf;
	}
	if (strncasecmp(addr, "ipv6:", 5) == 0)
		addr += 5;
	if (net_parse_addr(addr, key, &is4) == -1)
		return -1;
	return cidrset_match_key(set, key, data);
}

int
cidrset_match_sa(const struct cidrset *set, const struct sockaddr *sa, void **data)
{
	uint8_t key[16];

	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		memset(key, 0, 10);
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6)
		memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	else
		return -1;
	return cidrset_match_key(set, key, data);
}

size_t
cidrset_count(const struct cidrset *set)
{
	return set != NULL ? set->count : 0;
}

static void
cidr_node_free(struct cidr_node *n)
{
	/* Iterative would be safer for depth, but depth is bounded by 128. */
	if (n == NULL)
		return;
	cidr_node_free(n->child[0]);
	cidr_node_free(n->child[1]);
	free(n);
}

void
cidrset_free(struct cidrset *set)
{
	if (set == NULL)
		return;
	cidr_node_free(set->root.child[0]);
	cidr_node_free(set->root.child[1]);
	free(set);
}

/* ---- domain sets ---- */

struct dom_slot {
	char *name;      /* lower-case; leading '.' for subdomain entries */
	void *data;
};

struct domset {
	struct dom_slot *slots;
	size_t           cap, count;
};

struct domset *
domset_new(void)
{
	struct domset *set = calloc(1, sizeof(*set));

	if (set != NULL && (set->slots = calloc(16, sizeof(*set->slots))) != NULL)
		set->cap = 16;
	else {
		free(set);
		set = NULL;
	}
	return set;
}

static uint64_t
dom_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;          /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static struct dom_slot *
dom_find(const struct domset *set, const char *name, size_t len)
{
	size_t i = dom_hash(name, len) & (set->cap - 1);

	for (;; i = (i + 1) & (set->cap - 1)) {
		struct dom_slot *s = &set->slots[i];
		if (s->name == NULL ||
		    (strncmp(s->name, name, len) == 0 && s->name[len] == '\0'))
			return s;
	}
}

static int
dom_grow(struct domset *set)
{
	struct dom_slot *old = set->slots;
	size_t oldcap = set->cap;

	if ((set->slots = calloc(oldcap * 2, sizeof(*old))) == NULL) {
		set->slots = old;
		return -1;
	}
	set->cap = oldcap * 2;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].name != NULL)
			*dom_find(set, old[i].name, strlen(old[i].name)) = old[i];
	free(old);
	return 0;
}

/* Lower-cases name into buf without a trailing dot; validates the syntax
 * (letters, digits, '-', '_', labels of 1..63, total <= 253).  Returns the
 * length, or -1. */
static int
dom_canon(const char *name, char *buf, size_t buflen, int allow_lead_dot)
{
	size_t n, label = 0, o = 0;
	const char *p = name;

	if (name == NULL)
		return -1;
	if (allow_lead_dot && *p == '.')
		buf[o++] = *p++;
	n = strlen(p);
	if (n > 0 && p[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || o + n + 1 > buflen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return -1;
		} else
			return -1;
		buf[o++] = (char)tolower(c);
	}
	if (label == 0)
		return -1;
	buf[o] = '\0';
	return (int)o;
}

int
domset_add(struct domset *set, const char *name, void *data)
{
	char buf[260];
	struct dom_slot *s;
	int len;

	if ((len = dom_canon(name, buf, sizeof(buf), 1)) == -1)
		return -1;
	if ((set->count + 1) * 2 > set->cap && dom_grow(set) == -1)
		return -1;
	s = dom_find(set, buf, (size_t)len);
	if (s->name == NULL) {
		if ((s->name = strdup(buf)) == NULL)
			return -1;
		set->count++;
	}
	s->data = data;
	return 0;
}

int
domset_match(const struct domset *set, const char *name, void **data)
{
	char buf[260];
	struct dom_slot *s;
	int len;

	if (set == NULL || (len = dom_canon(name, buf + 1, sizeof(buf) - 1, 0)) == -1)
		return 0;
	s = dom_find(set, buf + 1, (size_t)len);
	if (s->name == NULL) {
		/* ".name" covers name itself and every subdomain: walk up. */
		char *p = buf + 1;
		buf[0] = '.';
		for (char *dot = buf; dot != NULL; dot = strchr(p, '.')) {
			s = dom_find(set, dot, strlen(dot));
			if (s->name != NULL)
				break;
			p = dot + 1;
		}
	}
	if (s->name == NULL)
		return 0;
	if (data != NULL)
		*data = s->data;
	return 1;
}

size_t
domset_count(const struct domset *set)
{
	return set != NULL ? set->count : 0;
}

void
domset_free(struct domset *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i].name);
	free(set->slots);
	free(set);
}

/* ---- addresses ---- */

int
addr_normalize(const char *addr, char *buf, size_t len)
{
	const char *p, *end;
	size_t n, o = 0;

	if (addr == NULL)
		return -1;
	p = addr;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (*p == '<') {
		p++;
		if (end > p && end[-1] == '>')
			end--;
	}
	/* RFC 5321 source route "@relay,@relay2:user@domain": drop it. */
	if (*p == '@') {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (colon == NULL)
			return -1;
		p = colon + 1;
	}
	n = (size_t)(end - p);
	if (n == 0 || n >= len)
		return -1;
	for (size_t i = 0; i < n; i++)
		buf[o++] = (char)tolower((unsigned char)p[i]);
	buf[o] = '\0';
	return 0;
}

int
addr_domain(const char *addr, char *buf, size_t len)
{
	char tmp[1024];
	const char *at;
	size_t n;

	if (addr_normalize(addr, tmp, sizeof(tmp)) == -1)
		return -1;
	/* The last '@' separates the domain: a quoted local part may hold '@'. */
	if ((at = strrchr(tmp, '@')) == NULL)
		return -1;
	n = strlen(at + 1);
	if (n > 0 && at[n] == '.')       /* "user@example.com." is example.com */
		n--;
	if (n == 0 || n >= len)
		return -1;
	memcpy(buf, at + 1, n);
	buf[n] = '\0';
	return 0;
}
