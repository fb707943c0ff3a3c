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
void cidrset_free(struct cidrset *set);

struct domset;
struct domset *domset_new(void);
/* Adds "example.com" (exact) or ".example.com" (that name and subdomains).
 * Names are case-folded; a trailing dot is ignored.  Returns -1 on an
 * invalid name. */
int  domset_add(struct domset *set, const char *name, void *data);
/* Returns 1 with *data for the most specific match, else 0. */
int  domset_match(const struct domset *set, const char *name, void **data);
size_t domset_count(const struct domset *set);
void domset_free(struct domset *set);

/* The domain part of an address ("<User@Example.COM>" -> "example.com"),
 * lower-cased into buf.  Returns 0, or -1 when there is none ("<>"). */
int  addr_domain(const char *addr, char *buf, size_t len);
/* The address without angle brackets, lower-cased.  Returns 0 or -1. */
int  addr_normalize(const char *addr, char *buf, size_t len);

#endif
