/*
 * net - address and name matching for policy: CIDR sets (IPv4 and IPv6,
 * longest prefix wins) and domain sets (exact names, and ".example.com"
 * entries that also match every subdomain).  IPv4-mapped IPv6 addresses
 * match IPv4 entries.  Sets are built once, then read concurrently without
 * locks (they live inside an immutable policy snapshot).
 */
#ifndef MOAT_NET_H
#define MOAT_NET_H

#include <stdint.h>
#include <sys/socket.h>

struct cidrset;
struct cidrset *cidrset_new(void);
/* Adds "192.0.2.0/24", "2001:db8::/32" or a bare address.  Returns 0, or -1
 * on a malformed entry (set unchanged).  A duplicate replaces the data. */
int  cidrset_add(struct cidrset *set, const char *cidr, void *data);
/* Returns 1 and *data (may be NULL) for the longest matching prefix, 0 when
 * none matches, -1 when addr is not a valid address text. */
int  cidrset_match(const struct cidrset *set, const char *addr, void **data);
int  cidrset_match_sa(const struct cidrset *set, const struct sockaddr *sa, void **data);
size_t cidrset_count(const struct cidrset *set);
/* The canonical "addr/len" of a CIDR or bare address, as cidrset_add accepts
 * it ("2001:DB8::/32" -> "2001:db8::/32", "192.0.2.1" -> "192.0.2.1/32").
 * Host bits set under the mask are refused.  0, or -1 with a hint for the
 * error message in why (empty when there is none). */
int  cidr_canon(const char *in, char *out, size_t len, char *why, size_t whylen);
void cidrset_free(struct cidrset *set);

struct domset;
struct domset *domset_new(void);
/* Adds "example.com" (exact) or ".example.com" (that name and subdomains).
 * Names are canonical as domain_canon() makes them (case-folded, no trailing
 * dot, U-labels as A-labels).  Returns -1 on an invalid name. */
int  domset_add(struct domset *set, const char *name, void *data);
/* Returns 1 with *data for the most specific match, else 0.  Any name of
 * up to ADDR_DOMAIN_MAX octets is looked up (one addr_canon accepts never
 * fails to match by its length). */
int  domset_match(const struct domset *set, const char *name, void **data);
size_t domset_count(const struct domset *set);
void domset_free(struct domset *set);

/*
 * Addresses: the one canonical form every lookup compares (subscriber
 * domains, recipient overrides, threat sources, quarantine, digests, moatctl),
 * so that two spellings Postfix delivers to one mailbox are one key here.
 *
 *   - angle brackets, surrounding blanks and a source route
 *     ("@relay,@relay2:") are dropped (RFC 5321 4.1.1.3: ignored);
 *   - the local part is unquoted where the quoting changes nothing
 *     ("ceo"@x is ceo@x, "a\b"@x is ab@x); one that needs quoting keeps it,
 *     with the fewest escapes (only '"' and '\' are escaped);
 *   - ASCII letters are lower-cased in the local part too.  RFC 5321 lets a
 *     server treat local parts as case-sensitive, but Postfix, the store
 *     (CHECK address = lower(address)) and every operator expect one key per
 *     mailbox; non-ASCII (SMTPUTF8) local-part bytes are kept as received,
 *     after a UTF-8 check;
 *   - the domain is lower case without a trailing dot, U-labels become
 *     A-labels (libidn2, UTS #46 non-transitional, NFC input): böse.example
 *     is xn--bse-sna.example; address literals are kept, canonical
 *     ("[192.0.2.1]", "[ipv6:2001:db8::1]");
 *   - RFC 5321 4.5.3.1 limits, measured on the canonical form: local part
 *     64 octets, domain 255, path ("<" mailbox ">") 256.  An address past a
 *     limit is refused, never truncated.
 * A local part alone ("postmaster") is an address without a domain.
 */
#define ADDR_LOCAL_MAX   64
#define ADDR_DOMAIN_MAX  255
#define ADDR_PATH_MAX    256
#define ADDR_MAX         (ADDR_PATH_MAX - 2)   /* canonical mailbox, no NUL */

enum addr_status {
	ADDR_OK = 0,            /* a mailbox, canonical in buf */
	ADDR_NULL,              /* the null path "<>" (or nothing at all) */
	ADDR_SYNTAX,            /* not an address */
	ADDR_LOCAL_LONG,        /* local part over 64 octets */
	ADDR_DOMAIN_LONG,       /* domain over 255 octets */
	ADDR_PATH_LONG,         /* path over 256 octets */
	ADDR_BAD_DOMAIN,        /* not a domain name, or not a valid IDN */
	ADDR_BAD_UTF8,          /* bytes that are not UTF-8 */
	ADDR_NOSPACE            /* the caller's buffer is too small */
};

/* The canonical form of addr into buf (ADDR_MAX + 1 bytes always suffice).
 * Returns ADDR_OK, ADDR_NULL (buf "") or why it was refused (buf ""). */
enum addr_status addr_canon(const char *addr, char *buf, size_t len);
/* A short English reason for a status ("local part longer than 64
 * octets"), for SMTP replies and moatctl errors. */
const char *addr_status_text(enum addr_status st);
/* The canonical form of a domain name alone (the rules above; a leading
 * '.' is kept when lead_dot is set, for "this name and its subdomains"
 * entries).  Returns ADDR_OK, ADDR_DOMAIN_LONG, ADDR_BAD_DOMAIN or
 * ADDR_NOSPACE. */
enum addr_status domain_canon(const char *name, char *buf, size_t len, int lead_dot);

/* The domain part of the canonical address ("<User@Böse.Example.>" ->
 * "xn--bse-sna.example").  Returns 0, or -1 when there is none ("<>", no
 * domain, an address addr_canon refuses, a buffer too small). */
int  addr_domain(const char *addr, char *buf, size_t len);
/* The canonical address (addr_canon).  Returns 0, or -1 for anything but
 * ADDR_OK. */
int  addr_normalize(const char *addr, char *buf, size_t len);

#endif
