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
#include <strings.h>

#include <idn2.h>

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

/*
 * "192.0.2.0/24", "2001:DB8::/32" or a bare address, in the canonical text
 * inet_ntop gives ("2001:db8::/32"; a bare address gets /32 or /128), so one
 * network has one spelling in the store.  Host bits set under the mask are
 * refused: "10.0.0.1/8" is more likely a typo than a wish for 10.0.0.0/8.
 */
int
cidr_canon(const char *in, char *out, size_t len, char *why, size_t whylen)
{
	unsigned char	 a[16];
	uint8_t		 key[16];
	char		 buf[INET6_ADDRSTRLEN + 8], *slash, txt[INET6_ADDRSTRLEN];
	int		 af, bits, alen, kbits;

	if (whylen > 0)
		why[0] = '\0';
	/* cidr_parse owns the syntax rules (and the length bound of buf). */
	if (cidr_parse(in, key, &kbits) == -1)
		return -1;
	strcpy(buf, in);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	af = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
	alen = af == AF_INET6 ? 16 : 4;
	if (inet_pton(af, buf, a) != 1)
		return -1;
	bits = slash != NULL ? atoi(slash) : alen * 8;
	for (int i = bits; i < alen * 8; i++)
		if (a[i / 8] & (0x80 >> (i % 8))) {
			for (int j = i; j < alen * 8; j++)
				a[j / 8] &= (unsigned char)~(0x80 >> (j % 8));
			if (inet_ntop(af, a, txt, sizeof(txt)) != NULL)
				snprintf(why, whylen, "; host bits are set (did "
				    "you mean %s/%d?)", txt, bits);
			return -1;
		}
	if (inet_ntop(af, a, txt, sizeof(txt)) == NULL ||
	    snprintf(out, len, "%s/%d", txt, bits) >= (int)len)
		return -1;
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

/*
 * The canonical form of the n octets at p (not NUL-terminated): U-labels
 * converted to A-labels (libidn2: UTS #46 non-transitional processing, NFC
 * input), lower case, without a trailing dot; then the syntax every name
 * here must have: labels of letters, digits, '-' and '_', 1..63 octets,
 * at most max octets in all.  *olen gets the length written to buf.
 */
static enum addr_status
dom_canon_n(const char *p, size_t n, char *buf, size_t buflen, size_t max, size_t *olen)
{
	char tmp[4 * ADDR_DOMAIN_MAX + 4];
	uint8_t *ascii = NULL;
	enum addr_status st = ADDR_OK;
	size_t label = 0, i;
	int rc, utf8 = 0;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			utf8 = 1;
	if (utf8) {
		/* Every code point is at least one octet of the A-label, and
		 * one takes at most four in UTF-8: longer input cannot fit. */
		if (n >= sizeof(tmp))
			return ADDR_DOMAIN_LONG;
		memcpy(tmp, p, n);
		tmp[n] = '\0';
		rc = idn2_lookup_u8((const uint8_t *)tmp, &ascii,
		    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if (rc == IDN2_TOO_BIG_DOMAIN)
			return ADDR_DOMAIN_LONG;
		if (rc == IDN2_ENCODING_ERROR)
			return ADDR_BAD_UTF8;
		if (rc != IDN2_OK)
			return ADDR_BAD_DOMAIN;
		p = (const char *)ascii;
		n = strlen(p);
	}
	if (n > 0 && p[n - 1] == '.')
		n--;
	if (n == 0)
		st = ADDR_BAD_DOMAIN;
	else if (n > max)
		st = ADDR_DOMAIN_LONG;
	else if (n + 1 > buflen)
		st = ADDR_NOSPACE;
	for (i = 0; st == ADDR_OK && i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '.') {
			if (label == 0)
				st = ADDR_BAD_DOMAIN;
			label = 0;
		} else if ((c < 0x80 && isalnum(c)) || c == '-' || c == '_') {
			if (++label > 63)
				st = ADDR_BAD_DOMAIN;
		} else
			st = ADDR_BAD_DOMAIN;
		buf[i] = (char)tolower(c);
	}
	if (st == ADDR_OK && label == 0)
		st = ADDR_BAD_DOMAIN;
	idn2_free(ascii);
	if (st != ADDR_OK)
		return st;
	buf[n] = '\0';
	*olen = n;
	return ADDR_OK;
}

/* dom_canon_n of a string, with an optional leading '.' kept. */
static enum addr_status
dom_canon(const char *name, char *buf, size_t buflen, int lead_dot, size_t max, size_t *olen)
{
	enum addr_status st;
	size_t o = 0;

	if (name == NULL || buflen < 2)
		return name == NULL ? ADDR_BAD_DOMAIN : ADDR_NOSPACE;
	if (lead_dot && *name == '.')
		buf[o++] = *name++;
	if ((st = dom_canon_n(name, strlen(name), buf + o, buflen - o, max, olen)) == ADDR_OK)
		*olen += o;
	return st;
}

enum addr_status
domain_canon(const char *name, char *buf, size_t len, int lead_dot)
{
	size_t n;

	return dom_canon(name, buf, len, lead_dot, ADDR_DOMAIN_MAX, &n);
}

int
domset_add(struct domset *set, const char *name, void *data)
{
	char buf[260];
	struct dom_slot *s;
	size_t len;

	/* 253: the longest name DNS can hold. */
	if (dom_canon(name, buf, sizeof(buf), 1, 253, &len) != ADDR_OK)
		return -1;
	if ((set->count + 1) * 2 > set->cap && dom_grow(set) == -1)
		return -1;
	s = dom_find(set, buf, len);
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
	char buf[ADDR_DOMAIN_MAX + 2];
	struct dom_slot *s;
	size_t len;

	/* Up to the address limit: an address we accept always gets looked up. */
	if (set == NULL ||
	    dom_canon(name, buf + 1, sizeof(buf) - 1, 0, ADDR_DOMAIN_MAX, &len) != ADDR_OK)
		return 0;
	s = dom_find(set, buf + 1, len);
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

static const char *const addr_texts[] = {
	[ADDR_OK] = "ok",
	[ADDR_NULL] = "null address",
	[ADDR_SYNTAX] = "address syntax error",
	[ADDR_LOCAL_LONG] = "local part longer than 64 octets",
	[ADDR_DOMAIN_LONG] = "domain longer than 255 octets",
	[ADDR_PATH_LONG] = "address longer than 256 octets",
	[ADDR_BAD_DOMAIN] = "invalid domain name",
	[ADDR_BAD_UTF8] = "invalid UTF-8 in address",
	[ADDR_NOSPACE] = "address buffer too small",
};

const char *
addr_status_text(enum addr_status st)
{
	if ((size_t)st >= sizeof(addr_texts) / sizeof(addr_texts[0]))
		return "invalid address";
	return addr_texts[st];
}

/* RFC 5322 atext, ASCII part. */
static int
addr_atext(unsigned char c)
{
	return c != '\0' && (isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* The length of the well-formed UTF-8 sequence at p (n octets left), or 0
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return need;
}

/* A Dot-string (RFC 5321, with RFC 6531's UTF-8): atoms of atext or UTF-8
 * (already checked well-formed) separated by single dots. */
static int
addr_dot_string(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.' ? s[i + 1] == '.' : !(c >= 0x80 || addr_atext(c)))
			return 0;
	}
	return 1;
}

/* "[192.0.2.1]" or "[IPv6:2001:DB8::1]" (n octets at p, brackets included)
 * in the canonical text inet_ntop gives.  Other literals are refused. */
static enum addr_status
addr_literal(const char *p, size_t n, char *out, size_t cap, size_t *olen)
{
	char tmp[INET6_ADDRSTRLEN + 1], txt[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	int v6, w;

	if (n < 3 || p[n - 1] != ']')
		return ADDR_BAD_DOMAIN;
	p++;
	n -= 2;
	v6 = n > 5 && strncasecmp(p, "ipv6:", 5) == 0;
	if (v6) {
		p += 5;
		n -= 5;
	}
	if (n >= sizeof(tmp))
		return ADDR_BAD_DOMAIN;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, tmp, bin) != 1 ||
	    inet_ntop(v6 ? AF_INET6 : AF_INET, bin, txt, sizeof(txt)) == NULL)
		return ADDR_BAD_DOMAIN;
	w = snprintf(out, cap, "[%s%s]", v6 ? "ipv6:" : "", txt);
	if (w < 0 || (size_t)w >= cap)
		return ADDR_NOSPACE;
	*olen = (size_t)w;
	return ADDR_OK;
}

/*
 * Reads the local part at *pp (before end) into local[] as its content
 * (quotes and escapes removed, ASCII lower-cased).  Returns ADDR_OK with
 * *pp past it and *quoted set, or why it is not one.
 */
static enum addr_status
addr_local(const char **pp, const char *end, char *local, size_t *nl, int *quoted)
{
	const unsigned char *p = (const unsigned char *)*pp, *e = (const unsigned char *)end;
	unsigned char ch;
	size_t n;

	*nl = 0;
	*quoted = *p == '"';
	if (*quoted)
		p++;
	for (;;) {
		const unsigned char *src = p;

		if (p == e) {
			if (*quoted)
				return ADDR_SYNTAX;          /* unterminated */
			break;
		}
		if (*quoted && *p == '"') {
			p++;
			break;
		}
		if (!*quoted && *p == '@')
			break;
		if (*p >= 0x80) {
			if ((n = utf8_len(p, (size_t)(e - p))) == 0)
				return ADDR_BAD_UTF8;
		} else if (*quoted && *p == '\\') {
			/* quoted-pairSMTP: backslash, then printable ASCII. */
			if (p + 1 == e || p[1] < 0x20 || p[1] > 0x7e)
				return ADDR_SYNTAX;
			ch = p[1];
			src = &ch;
			n = 1;
			p++;
		} else if (*quoted ? (*p < 0x20 || *p == 0x7f) : !(*p == '.' || addr_atext(*p)))
			return ADDR_SYNTAX;
		else
			n = 1;
		/* The content alone past the limit: the canonical form is too. */
		if (*nl + n > ADDR_LOCAL_MAX)
			return ADDR_LOCAL_LONG;
		for (size_t i = 0; i < n; i++)
			local[(*nl)++] = (char)(src[i] < 0x80 ? tolower(src[i]) : src[i]);
		p += src == &ch ? 1 : n;
	}
	if (!*quoted && !addr_dot_string(local, *nl))
		return ADDR_SYNTAX;
	*pp = (const char *)p;
	return ADDR_OK;
}

enum addr_status
addr_canon(const char *addr, char *buf, size_t len)
{
	char local[ADDR_LOCAL_MAX], out[2 * ADDR_LOCAL_MAX + 3 + ADDR_DOMAIN_MAX + 1];
	const char *p, *end, *colon;
	enum addr_status st;
	size_t nl, o = 0, dl;
	int quoted;

	if (len > 0)
		buf[0] = '\0';
	if (addr == NULL)
		return ADDR_SYNTAX;
	p = addr;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (p < end && *p == '<') {
		if (end - p < 2 || end[-1] != '>')
			return ADDR_SYNTAX;
		p++;
		end--;
	} else if (p < end && end[-1] == '>')
		return ADDR_SYNTAX;
	if (p == end)
		return ADDR_NULL;
	/* RFC 5321 source route "@relay,@relay2:user@domain": ignored. */
	if (*p == '@') {
		if ((colon = memchr(p, ':', (size_t)(end - p))) == NULL)
			return ADDR_SYNTAX;
		for (const char *q = p; q < colon; q++)
			if (!isalnum((unsigned char)*q) && strchr("@,.-_[]", *q) == NULL)
				return ADDR_SYNTAX;
		if ((p = colon + 1) == end)
			return ADDR_SYNTAX;
	}
	if ((st = addr_local(&p, end, local, &nl, &quoted)) != ADDR_OK)
		return st;
	if (p < end && *p != '@')
		return ADDR_SYNTAX;              /* text after a quoted string */
	/* The local part unquoted where the quoting changes nothing, else
	 * quoted with only '"' and '\' escaped. */
	if (addr_dot_string(local, nl)) {
		memcpy(out, local, nl);
		o = nl;
	} else {
		out[o++] = '"';
		for (size_t i = 0; i < nl; i++) {
			if (local[i] == '"' || local[i] == '\\')
				out[o++] = '\\';
			out[o++] = local[i];
		}
		out[o++] = '"';
	}
	if (o > ADDR_LOCAL_MAX)
		return ADDR_LOCAL_LONG;
	if (p < end) {
		p++;                                 /* '@' */
		if (p == end)
			return ADDR_SYNTAX;
		out[o++] = '@';
		st = *p == '[' ?
		    addr_literal(p, (size_t)(end - p), out + o, sizeof(out) - o, &dl) :
		    dom_canon_n(p, (size_t)(end - p), out + o, sizeof(out) - o,
		    ADDR_DOMAIN_MAX, &dl);
		if (st != ADDR_OK)
			return st;
		o += dl;
	}
	if (o + 2 > ADDR_PATH_MAX)
		return ADDR_PATH_LONG;
	if (o + 1 > len)
		return ADDR_NOSPACE;
	memcpy(buf, out, o);
	buf[o] = '\0';
	return ADDR_OK;
}

int
addr_normalize(const char *addr, char *buf, size_t len)
{
	return addr_canon(addr, buf, len) == ADDR_OK ? 0 : -1;
}

int
addr_domain(const char *addr, char *buf, size_t len)
{
	char tmp[ADDR_MAX + 1];
	const char *at;
	size_t n;

	/* A canonical domain holds neither '@' nor '"'; a quoted local part
	 * alone ends with '"'. */
	if (addr_canon(addr, tmp, sizeof(tmp)) != ADDR_OK ||
	    (n = strlen(tmp)) == 0 || tmp[n - 1] == '"' ||
	    (at = strrchr(tmp, '@')) == NULL)
		return -1;
	n = strlen(at + 1);
	if (n >= len)
		return -1;
	memcpy(buf, at + 1, n + 1);
	return 0;
}
