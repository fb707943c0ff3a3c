/*
 * policy - building and reading the immutable policy snapshot (policy.h).
 *
 * policy_load() reads every policy table in one read transaction, so a
 * snapshot never mixes two generations.  The snapshot owns every string,
 * array and set in it; policy_unref() of the last reference frees it all in
 * snapshot_free(), the one cleanup.  Once built nothing in it changes, so
 * lookups take no lock (the watcher in policy_watch.c swaps whole snapshots).
 *
 * Rows that do not parse are skipped with a warning naming table and row:
 * one bad row an operator typed must not take the whole policy down.
 *
 * Threat sources can expire between two loads.  Lookups skip expired rows
 * at match time; so that an expired specific entry (192.0.2.66) does not
 * hide a live broader one (192.0.2.0/24), each entry links to the entry that
 * would have matched without it (threat_entry.next), built at load time.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "policy.h"
#include "store.h"

struct threat_entry {
	struct threat              t;      /* first: what lookups hand out */
	const struct threat_entry *next;   /* candidate once t has expired */
	int                        family; /* 0 address kinds, 1 name kinds */
	int                        width;  /* prefix length or label count */
	int                        rank;   /* same value twice: higher wins */
};

struct rcpt_entry {
	char                *address;      /* canonical (net.h addr_canon) */
	const struct policy *policy;
	int64_t              rowid;        /* two spellings, one address: first wins */
};

struct tmpl_entry {
	char *name, *subject, *body;
};

struct login_entry {
	char                    *login;    /* lower case, as stored */
	const struct subscriber *sub;
};

struct policy_snapshot {
	atomic_int           refs;
	int64_t              generation;
	struct policy       *policies;     /* sorted by id */
	size_t               npolicies, cappolicies;
	struct subscriber   *subs;         /* sorted by id */
	size_t               nsubs, capsubs;
	struct domset       *domains;      /* data: struct subscriber * */
	struct cidrset      *networks;     /* data: struct subscriber * */
	struct rcpt_entry   *rcpts;        /* sorted by address */
	size_t               nrcpts, caprcpts;
	struct threat_entry *threats;
	size_t               nthreats, capthreats;
	size_t               nindexed;     /* threats that made it into a set */
	struct cidrset      *threat_addrs; /* data: struct threat_entry * */
	struct domset       *threat_names; /* data: struct threat_entry * */
	struct tmpl_entry   *tmpls;
	size_t               ntmpls, captmpls;
	struct login_entry  *logins;       /* sorted by login */
	size_t               nlogins, caplogins;
};

const char *const policy_scan_mode_names[] = {
	"all", "executables", "macros", "executables_macros", "none", NULL
};
const char *const policy_infected_names[] = {
	"reject", "discard", "quarantine", "repair", "tag", NULL
};
const char *const policy_unscannable_names[] = {
	"tempfail", "reject", "pass", "tag", "quarantine", NULL
};
const char *const policy_error_names[] = {
	"tempfail", "reject", "pass", NULL
};
const char *const policy_notify_style_names[] = {
	"append", "attachment", "message", NULL
};
const char *const policy_header_mode_names[] = {
	"add", "replace", "none", NULL
};
const char *const policy_mixed_names[] = {
	"combine", "defer", NULL
};
static const char *const threat_kind_names[] = {
	"ip", "cidr", "domain", "suspect_domain", NULL
};

static const char sql_policies[] =
    "SELECT id, name, scan_mode, max_scan_bytes, on_infected, on_unscannable,"
    " on_error, repair, quarantine, heuristics, notify_sender,"
    " notify_recipients, notify_admin, notify_style, skip_forged_senders,"
    " header_mode, retention_days, digest, auto_release_fp, mixed_recipients"
    " FROM policies ORDER BY id";
static const char sql_subscribers[] =
    "SELECT s.id, s.name, s.status, s.contact, sp.policy_id"
    " FROM subscribers s"
    " LEFT JOIN subscriber_policies sp ON sp.subscriber_id = s.id"
    " ORDER BY s.id";
static const char sql_domains[] =
    "SELECT rowid, domain, subscriber_id FROM subscriber_domains";
static const char sql_networks[] =
    "SELECT rowid, cidr, subscriber_id FROM subscriber_networks";
static const char sql_rcpts[] =
    "SELECT rowid, address, policy_id FROM recipient_policies";
static const char sql_threats[] =
    "SELECT id, kind, value, reason, expires FROM threat_sources";
/* Password credentials with a login: SMTP AUTH names (Dovecot checks the
 * secret; the snapshot only maps an authenticated name to its subscriber). */
static const char sql_logins[] =
    "SELECT rowid, login, subscriber_id FROM subscriber_credentials"
    " WHERE kind = 'password' AND login IS NOT NULL";
static const char sql_templates[] =
    "SELECT rowid, name, subject, body FROM templates";

int
policy_enum_parse(const char *const names[], const char *text)
{
	int	i;

	if (text == NULL)
		return -1;
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], text) == 0)
			return i;
	return -1;
}

/* Makes room for one more element; -1 on allocation failure. */
static int
grow(void *arrp, size_t *cap, size_t n, size_t size)
{
	void	**arr = arrp, *na;
	size_t	  ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if ((na = reallocarray(*arr, ncap, size)) == NULL) {
		log_warn("policy snapshot");
		return -1;
	}
	*arr = na;
	*cap = ncap;
	return 0;
}

/* Copies a text column; NULL stays NULL.  -1 only on allocation failure. */
static int
col_dup(sqlite3_stmt *stmt, int col, char **out)
{
	const unsigned char	*t;

	*out = NULL;
	if ((t = sqlite3_column_text(stmt, col)) == NULL)
		return 0;
	if ((*out = strdup((const char *)t)) == NULL) {
		log_warn("policy snapshot");
		return -1;
	}
	return 0;
}

static const char *
col_text(sqlite3_stmt *stmt, int col)
{
	const unsigned char	*t = sqlite3_column_text(stmt, col);

	return t ? (const char *)t : "";
}

static void
snapshot_free(struct policy_snapshot *s)
{
	size_t	i;

	for (i = 0; i < s->npolicies; i++) {
		free(s->policies[i].name);
		free(s->policies[i].notify_admin);
	}
	free(s->policies);
	for (i = 0; i < s->nsubs; i++) {
		free(s->subs[i].name);
		free(s->subs[i].contact);
	}
	free(s->subs);
	domset_free(s->domains);
	cidrset_free(s->networks);
	for (i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i].address);
	free(s->rcpts);
	for (i = 0; i < s->nthreats; i++) {
		free(s->threats[i].t.value);
		free(s->threats[i].t.reason);
	}
	free(s->threats);
	cidrset_free(s->threat_addrs);
	domset_free(s->threat_names);
	for (i = 0; i < s->ntmpls; i++) {
		free(s->tmpls[i].name);
		free(s->tmpls[i].subject);
		free(s->tmpls[i].body);
	}
	free(s->tmpls);
	for (i = 0; i < s->nlogins; i++)
		free(s->logins[i].login);
	free(s->logins);
	free(s);
}

struct policy_snapshot *
policy_ref(struct policy_snapshot *snap)
{
	if (snap != NULL)
		atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
	return snap;
}

void
policy_unref(struct policy_snapshot *snap)
{
	if (snap == NULL)
		return;
	if (atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel) == 1)
		snapshot_free(snap);
}

int64_t
policy_generation(const struct policy_snapshot *snap)
{
	return snap->generation;
}

void
policy_counts(const struct policy_snapshot *s, size_t *subscribers,
    size_t *domains, size_t *threats)
{
	*subscribers = s->nsubs;
	*domains = domset_count(s->domains);
	*threats = s->nindexed;
}

/* Policies and subscribers are kept sorted by id, which each struct holds
 * first: one bsearch comparator serves both arrays. */
_Static_assert(offsetof(struct policy, id) == 0, "policy id first");
_Static_assert(offsetof(struct subscriber, id) == 0, "subscriber id first");

static int
cmp_id(const void *key, const void *elem)
{
	int64_t a = *(const int64_t *)key, b = *(const int64_t *)elem;

	return (a > b) - (a < b);
}

static const struct policy *
find_policy(const struct policy_snapshot *s, int64_t id)
{
	/* bsearch's base is declared non-null, even for an empty array. */
	return s->npolicies == 0 ? NULL :
	    bsearch(&id, s->policies, s->npolicies, sizeof(*s->policies), cmp_id);
}

static struct subscriber *
find_subscriber(const struct policy_snapshot *s, int64_t id)
{
	return s->nsubs == 0 ? NULL :
	    bsearch(&id, s->subs, s->nsubs, sizeof(*s->subs), cmp_id);
}

#define ENUM_COL(field, names, col, what) do {				\
	int v_ = policy_enum_parse(names, col_text(stmt, col));		\
	if (v_ == -1) {							\
		log_warnx("policies row %lld: unknown %s \"%s\"; skipped",\
		    (long long)p->id, what, col_text(stmt, col));	\
		goto skip;						\
	}								\
	field = v_;							\
} while (0)

static int
load_policies(struct store *st, struct policy_snapshot *s)
{
	sqlite3_stmt	*stmt;
	struct policy	*p;
	int		 r;

	if ((stmt = store_prepare(st, sql_policies)) == NULL)
		return -1;
	while ((r = store_step(st, stmt, "reading policies")) ==
	    STORE_STEP_ROW) {
		if (grow(&s->policies, &s->cappolicies, s->npolicies,
		    sizeof(*p)) == -1)
			goto fail;
		p = &s->policies[s->npolicies];
		memset(p, 0, sizeof(*p));
		p->id = sqlite3_column_int64(stmt, 0);
		ENUM_COL(p->scan_mode, policy_scan_mode_names, 2, "scan_mode");
		ENUM_COL(p->on_infected, policy_infected_names, 4, "on_infected");
		ENUM_COL(p->on_unscannable, policy_unscannable_names, 5,
		    "on_unscannable");
		ENUM_COL(p->on_error, policy_error_names, 6, "on_error");
		ENUM_COL(p->notify_style, policy_notify_style_names, 13,
		    "notify_style");
		ENUM_COL(p->header_mode, policy_header_mode_names, 15,
		    "header_mode");
		ENUM_COL(p->mixed_recipients, policy_mixed_names, 19,
		    "mixed_recipients");
		p->max_scan_bytes = sqlite3_column_int64(stmt, 3);
		if (p->max_scan_bytes <= 0) {
			log_warnx("policies row %lld: max_scan_bytes %lld is "
			    "not positive; skipped", (long long)p->id,
			    (long long)p->max_scan_bytes);
			goto skip;
		}
		p->repair = sqlite3_column_int(stmt, 7) != 0;
		p->quarantine = sqlite3_column_int(stmt, 8) != 0;
		p->heuristics = sqlite3_column_int(stmt, 9) != 0;
		p->notify_sender = sqlite3_column_int(stmt, 10) != 0;
		p->notify_recipients = sqlite3_column_int(stmt, 11) != 0;
		p->skip_forged_senders = sqlite3_column_int(stmt, 14) != 0;
		p->retention_days = sqlite3_column_int(stmt, 16);
		p->digest = sqlite3_column_int(stmt, 17) != 0;
		p->auto_release_fp = sqlite3_column_int(stmt, 18) != 0;
		if (col_dup(stmt, 1, &p->name) == -1 ||
		    col_dup(stmt, 12, &p->notify_admin) == -1) {
			free(p->name);
			goto fail;
		}
		/* An empty notify_admin is "none", as NULL is. */
		if (p->notify_admin != NULL && p->notify_admin[0] == '\0') {
			free(p->notify_admin);
			p->notify_admin = NULL;
		}
		s->npolicies++;
	skip:	;
	}
	sqlite3_reset(stmt);
	return r;
fail:
	sqlite3_reset(stmt);
	return -1;
}

static int
load_subscribers(struct store *st, struct policy_snapshot *s)
{
	sqlite3_stmt		*stmt;
	struct subscriber	*sub;
	const char		*status;
	int64_t			 pid;
	int			 r;

	if ((stmt = store_prepare(st, sql_subscribers)) == NULL)
		return -1;
	while ((r = store_step(st, stmt, "reading subscribers")) ==
	    STORE_STEP_ROW) {
		if (grow(&s->subs, &s->capsubs, s->nsubs, sizeof(*sub)) == -1)
			goto fail;
		sub = &s->subs[s->nsubs];
		memset(sub, 0, sizeof(*sub));
		sub->id = sqlite3_column_int64(stmt, 0);
		status = col_text(stmt, 2);
		if (strcmp(status, "active") == 0)
			sub->active = 1;
		else if (strcmp(status, "suspended") != 0) {
			log_warnx("subscribers row %lld: unknown status \"%s\"; "
			    "skipped", (long long)sub->id, status);
			continue;
		}
		/* A subscriber whose assigned policy did not load is left
		 * out rather than run with no policy: its mail then follows
		 * the unserved-mail action, which fails closed. */
		if (sqlite3_column_type(stmt, 4) != SQLITE_NULL) {
			pid = sqlite3_column_int64(stmt, 4);
			if ((sub->policy = find_policy(s, pid)) == NULL) {
				log_warnx("subscribers row %lld: policy %lld "
				    "was not loaded; skipped",
				    (long long)sub->id, (long long)pid);
				continue;
			}
		}
		if (col_dup(stmt, 1, &sub->name) == -1 ||
		    col_dup(stmt, 3, &sub->contact) == -1) {
			free(sub->name);
			goto fail;
		}
		s->nsubs++;
	}
	sqlite3_reset(stmt);
	return r;
fail:
	sqlite3_reset(stmt);
	return -1;
}

/* subscriber_domains and subscriber_networks: key text -> subscriber. */
static int
load_subscriber_keys(struct store *st, struct policy_snapshot *s, int domains)
{
	const char		*table = domains ? "subscriber_domains" :
				    "subscriber_networks";
	sqlite3_stmt		*stmt;
	struct subscriber	*sub;
	const char		*key;
	int64_t			 rowid, sid;
	int			 r, added;

	stmt = store_prepare(st, domains ? sql_domains : sql_networks);
	if (stmt == NULL)
		return -1;
	while ((r = store_step(st, stmt, domains ? "reading subscriber_domains" :
	    "reading subscriber_networks")) == STORE_STEP_ROW) {
		rowid = sqlite3_column_int64(stmt, 0);
		key = col_text(stmt, 1);
		sid = sqlite3_column_int64(stmt, 2);
		if ((sub = find_subscriber(s, sid)) == NULL) {
			log_warnx("%s row %lld (\"%s\"): subscriber %lld was "
			    "not loaded; skipped", table, (long long)rowid, key,
			    (long long)sid);
			continue;
		}
		added = domains ? domset_add(s->domains, key, sub) :
		    cidrset_add(s->networks, key, sub);
		if (added == -1)
			log_warnx("%s row %lld: invalid %s \"%s\"; skipped",
			    table, (long long)rowid,
			    domains ? "domain" : "network", key);
	}
	sqlite3_reset(stmt);
	return r;
}

static int
rcpt_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rcpt_entry *)a)->address,
	    ((const struct rcpt_entry *)b)->address);
}

/* Address, then row: the order load_recipients dedups in. */
static int
rcpt_row_cmp(const void *a, const void *b)
{
	const struct rcpt_entry *x = a, *y = b;
	int c;

	if ((c = rcpt_cmp(a, b)) != 0)
		return c;
	return x->rowid < y->rowid ? -1 : x->rowid > y->rowid;
}

/*
 * recipient_policies: each address in its canonical form (net.h), so that a
 * row typed "CEO@Delta.Example." or with a U-label domain matches every
 * spelling of that mailbox.  Two rows with one canonical address: the
 * older row wins, the other is named in a warning.
 */
static int
load_recipients(struct store *st, struct policy_snapshot *s)
{
	sqlite3_stmt		*stmt;
	struct rcpt_entry	*e;
	char			 buf[ADDR_MAX + 1], dom[ADDR_DOMAIN_MAX + 1];
	const char		*text;
	enum addr_status	 as;
	int64_t			 rowid, pid;
	size_t			 i, o;
	int			 r;

	if ((stmt = store_prepare(st, sql_rcpts)) == NULL)
		return -1;
	while ((r = store_step(st, stmt, "reading recipient_policies")) ==
	    STORE_STEP_ROW) {
		rowid = sqlite3_column_int64(stmt, 0);
		pid = sqlite3_column_int64(stmt, 2);
		text = col_text(stmt, 1);
		if ((as = addr_canon(text, buf, sizeof(buf))) != ADDR_OK ||
		    addr_domain(buf, dom, sizeof(dom)) == -1) {
			log_warnx("recipient_policies row %lld: invalid address "
			    "\"%s\" (%s); skipped", (long long)rowid, text,
			    as == ADDR_OK ? "no domain" : addr_status_text(as));
			continue;
		}
		if (grow(&s->rcpts, &s->caprcpts, s->nrcpts, sizeof(*e)) == -1)
			goto fail;
		e = &s->rcpts[s->nrcpts];
		if ((e->policy = find_policy(s, pid)) == NULL) {
			log_warnx("recipient_policies row %lld (%s): policy "
			    "%lld was not loaded; skipped", (long long)rowid,
			    buf, (long long)pid);
			continue;
		}
		if ((e->address = strdup(buf)) == NULL) {
			log_warn("policy snapshot");
			goto fail;
		}
		e->rowid = rowid;
		s->nrcpts++;
	}
	sqlite3_reset(stmt);
	if (s->nrcpts > 1)
		qsort(s->rcpts, s->nrcpts, sizeof(*s->rcpts), rcpt_row_cmp);
	for (i = o = 0; i < s->nrcpts; i++) {
		if (o > 0 && strcmp(s->rcpts[o - 1].address, s->rcpts[i].address) == 0) {
			log_warnx("recipient_policies row %lld: address %s "
			    "already has an override (row %lld); skipped",
			    (long long)s->rcpts[i].rowid, s->rcpts[i].address,
			    (long long)s->rcpts[o - 1].rowid);
			free(s->rcpts[i].address);
			continue;
		}
		s->rcpts[o++] = s->rcpts[i];
	}
	s->nrcpts = o;
	return r;
fail:
	sqlite3_reset(stmt);
	return -1;
}

static int
login_cmp(const void *a, const void *b)
{
	return strcmp(((const struct login_entry *)a)->login,
	    ((const struct login_entry *)b)->login);
}

/* Lower-cases a login into buf; -1 when it is empty, longer than
 * POLICY_LOGIN_MAX or holds a control character or space (no such login
 * can be stored: schema CHECK, moatctl). */
static int
login_canon(const char *login, char *buf, size_t len)
{
	size_t	n = 0;

	if (login == NULL || login[0] == '\0')
		return -1;
	for (; login[n] != '\0'; n++) {
		unsigned char c = (unsigned char)login[n];

		if (n >= POLICY_LOGIN_MAX || n + 1 >= len || c <= 0x20 || c == 0x7f)
			return -1;
		buf[n] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	buf[n] = '\0';
	return 0;
}

static int
load_logins(struct store *st, struct policy_snapshot *s)
{
	sqlite3_stmt		*stmt;
	struct login_entry	*e;
	char			 buf[POLICY_LOGIN_MAX + 1];
	const char		*login;
	int64_t			 rowid, sid;
	int			 r;

	if ((stmt = store_prepare(st, sql_logins)) == NULL)
		return -1;
	while ((r = store_step(st, stmt, "reading subscriber_credentials")) ==
	    STORE_STEP_ROW) {
		rowid = sqlite3_column_int64(stmt, 0);
		login = col_text(stmt, 1);
		sid = sqlite3_column_int64(stmt, 2);
		if (login_canon(login, buf, sizeof(buf)) == -1 ||
		    strcmp(buf, login) != 0) {
			log_warnx("subscriber_credentials row %lld: invalid login "
			    "\"%s\"; skipped", (long long)rowid, login);
			continue;
		}
		if (grow(&s->logins, &s->caplogins, s->nlogins, sizeof(*e)) == -1)
			goto fail;
		e = &s->logins[s->nlogins];
		if ((e->sub = find_subscriber(s, sid)) == NULL) {
			log_warnx("subscriber_credentials row %lld (%s): subscriber "
			    "%lld was not loaded; skipped", (long long)rowid, buf,
			    (long long)sid);
			continue;
		}
		if ((e->login = strdup(buf)) == NULL) {
			log_warn("policy snapshot");
			goto fail;
		}
		s->nlogins++;
	}
	sqlite3_reset(stmt);
	if (s->nlogins > 1)
		qsort(s->logins, s->nlogins, sizeof(*s->logins), login_cmp);
	return r;
fail:
	sqlite3_reset(stmt);
	return -1;
}

/*
 * The width that orders threat entries from broad to specific: the prefix
 * length of an address entry, the label count of a name.  Also validates:
 * -1 for a value that cannot be an entry.  *addr gets the address part.
 */
static int
threat_width(struct threat_entry *e, char *addr, size_t addrlen)
{
	unsigned char	 bin[sizeof(struct in6_addr)];
	const char	*slash, *p;
	char		*end;
	long		 len, max;
	size_t		 n;
	int		 af, labels;

	if (e->family == 1) {
		for (labels = 1, p = e->t.value; *p != '\0'; p++)
			if (*p == '.' && p[1] != '\0')
				labels++;
		return labels;
	}
	slash = strchr(e->t.value, '/');
	n = slash ? (size_t)(slash - e->t.value) : strlen(e->t.value);
	if (n == 0 || n >= addrlen)
		return -1;
	memcpy(addr, e->t.value, n);
	addr[n] = '\0';
	af = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, addr, bin) != 1)
		return -1;
	max = af == AF_INET6 ? 128 : 32;
	if (slash == NULL)
		return (int)max;
	if (e->t.kind == THREAT_IP || !isdigit((unsigned char)slash[1]))
		return -1;
	len = strtol(slash + 1, &end, 10);
	if (*end != '\0' || len < 0 || len > max)
		return -1;
	return (int)len;
}

static int
threat_cmp(const void *a, const void *b)
{
	const struct threat_entry *x = a, *y = b;

	if (x->family != y->family)
		return x->family - y->family;
	if (x->width != y->width)
		return x->width - y->width;
	return x->rank - y->rank;
}

/*
 * Entries go into their set from broad to specific (and, for one value
 * listed under two kinds, weaker kind first).  Before an entry is added, a
 * match of its own address or name finds the most specific entry already
 * covering all of it: that is the entry a lookup falls back to once this one
 * has expired (a same-value entry it replaces included).
 */
static int
index_threats(struct policy_snapshot *s)
{
	struct threat_entry	*e;
	char			 addr[INET6_ADDRSTRLEN + 8], name[300];
	void			*prev;
	size_t			 i;
	const char		*v;
	int			 r;

	if (s->nthreats > 1)
		qsort(s->threats, s->nthreats, sizeof(*s->threats), threat_cmp);
	for (i = 0; i < s->nthreats; i++) {
		e = &s->threats[i];
		prev = NULL;
		if (e->family == 0) {
			if (threat_width(e, addr, sizeof(addr)) == -1)
				return -1;	/* validated when loaded */
			if (cidrset_match(s->threat_addrs, addr, &prev) != 1)
				prev = NULL;
			r = cidrset_add(s->threat_addrs, e->t.value, e);
		} else {
			v = e->t.value;
			if (snprintf(name, sizeof(name), ".%s", v) >=
			    (int)sizeof(name))
				r = -1;
			else {
				if (domset_match(s->threat_names, v, &prev) != 1)
					prev = NULL;
				r = domset_add(s->threat_names, name, e);
			}
		}
		if (r == -1) {
			log_warnx("threat_sources row %lld: invalid %s \"%s\"; "
			    "skipped", (long long)e->t.id,
			    threat_kind_names[e->t.kind], e->t.value);
			continue;
		}
		e->next = prev;
		s->nindexed++;
	}
	return 0;
}

static int
load_threats(struct store *st, struct policy_snapshot *s)
{
	sqlite3_stmt		*stmt;
	struct threat_entry	*e;
	char			 addr[INET6_ADDRSTRLEN + 8];
	char			 name[ADDR_DOMAIN_MAX + 1];
	const char		*kind;
	size_t			 n;
	int			 r, k;

	if ((stmt = store_prepare(st, sql_threats)) == NULL)
		return -1;
	while ((r = store_step(st, stmt, "reading threat_sources")) ==
	    STORE_STEP_ROW) {
		if (grow(&s->threats, &s->capthreats, s->nthreats,
		    sizeof(*e)) == -1)
			goto fail;
		e = &s->threats[s->nthreats];
		memset(e, 0, sizeof(*e));
		e->t.id = sqlite3_column_int64(stmt, 0);
		kind = col_text(stmt, 1);
		if ((k = policy_enum_parse(threat_kind_names, kind)) == -1) {
			log_warnx("threat_sources row %lld: unknown kind \"%s\";"
			    " skipped", (long long)e->t.id, kind);
			continue;
		}
		e->t.kind = k;
		e->t.expires = sqlite3_column_type(stmt, 4) == SQLITE_NULL ? 0 :
		    (time_t)sqlite3_column_int64(stmt, 4);
		if (col_dup(stmt, 2, &e->t.value) == -1 ||
		    col_dup(stmt, 3, &e->t.reason) == -1)
			goto fail_entry;
		if (e->t.value == NULL)
			e->t.value = strdup("");
		if (e->t.value == NULL)
			goto fail_entry;
		switch (e->t.kind) {
		case THREAT_IP:
		case THREAT_CIDR:
			e->family = 0;
			e->rank = 0;
			break;
		case THREAT_DOMAIN:
		case THREAT_SUSPECT_DOMAIN:
			/* Names are kept without a leading or trailing dot
			 * (operators write both); subdomains always match. */
			e->family = 1;
			e->rank = e->t.kind == THREAT_DOMAIN ? 2 : 1;
			if (e->t.value[0] == '.')
				memmove(e->t.value, e->t.value + 1, strlen(e->t.value));
			/* Canonical (net.h): "Böse.Example." is listed as
			 * xn--bse-sna.example, the form lookups compare. */
			if (domain_canon(e->t.value, name, sizeof(name), 0) != ADDR_OK)
				e->t.value[0] = '\0';     /* refused below */
			else if ((n = strlen(name)) <= strlen(e->t.value))
				memcpy(e->t.value, name, n + 1);
			else {
				free(e->t.value);
				if ((e->t.value = strdup(name)) == NULL)
					goto fail_entry;
			}
			break;
		}
		if ((e->width = threat_width(e, addr, sizeof(addr))) == -1 ||
		    e->t.value[0] == '\0') {
			log_warnx("threat_sources row %lld: invalid %s \"%s\"; "
			    "skipped", (long long)e->t.id, kind, col_text(stmt, 2));
			free(e->t.value);
			free(e->t.reason);
			continue;
		}
		s->nthreats++;
	}
	sqlite3_reset(stmt);
	if (r == -1)
		return -1;
	return index_threats(s);
fail_entry:
	free(e->t.value);
	free(e->t.reason);
	log_warn("policy snapshot");
fail:
	sqlite3_reset(stmt);
	return -1;
}

static int
load_templates(struct store *st, struct policy_snapshot *s)
{
	sqlite3_stmt		*stmt;
	struct tmpl_entry	*e;
	int			 r;

	if ((stmt = store_prepare(st, sql_templates)) == NULL)
		return -1;
	while ((r = store_step(st, stmt, "reading templates")) ==
	    STORE_STEP_ROW) {
		if (grow(&s->tmpls, &s->captmpls, s->ntmpls, sizeof(*e)) == -1)
			goto fail;
		e = &s->tmpls[s->ntmpls];
		memset(e, 0, sizeof(*e));
		if (col_dup(stmt, 1, &e->name) == -1 ||
		    col_dup(stmt, 2, &e->subject) == -1 ||
		    col_dup(stmt, 3, &e->body) == -1) {
			free(e->name);
			free(e->subject);
			free(e->body);
			goto fail;
		}
		if (e->name == NULL || e->subject == NULL || e->body == NULL) {
			log_warnx("templates row %lld: empty field; skipped",
			    (long long)sqlite3_column_int64(stmt, 0));
			free(e->name);
			free(e->subject);
			free(e->body);
			continue;
		}
		s->ntmpls++;
	}
	sqlite3_reset(stmt);
	return r;
fail:
	sqlite3_reset(stmt);
	return -1;
}

int
policy_load(struct store *st, struct policy_snapshot **out)
{
	struct policy_snapshot	*s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("policy snapshot");
		return -1;
	}
	atomic_init(&s->refs, 1);
	if ((s->domains = domset_new()) == NULL ||
	    (s->networks = cidrset_new()) == NULL ||
	    (s->threat_addrs = cidrset_new()) == NULL ||
	    (s->threat_names = domset_new()) == NULL) {
		log_warn("policy snapshot");
		snapshot_free(s);
		return -1;
	}
	/* One read transaction: the generation and every table come from the
	 * same commit, whatever operators write meanwhile. */
	if (store_begin_read(st) == -1) {
		snapshot_free(s);
		return -1;
	}
	if ((s->generation = store_policy_generation(st)) == -1 ||
	    load_policies(st, s) == -1 ||
	    load_subscribers(st, s) == -1 ||
	    load_subscriber_keys(st, s, 1) == -1 ||
	    load_subscriber_keys(st, s, 0) == -1 ||
	    load_recipients(st, s) == -1 ||
	    load_logins(st, s) == -1 ||
	    load_threats(st, s) == -1 ||
	    load_templates(st, s) == -1) {
		store_rollback(st);
		snapshot_free(s);
		return -1;
	}
	if (store_commit(st) == -1) {
		store_rollback(st);
		snapshot_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int
policy_subscriber_by_domain(const struct policy_snapshot *s, const char *domain,
    const struct subscriber **out)
{
	void	*data;

	if (domset_match(s->domains, domain, &data) != 1)
		return 0;
	*out = data;
	return 1;
}

/* -1 when ip is not an address text (net.h's cidrset_match contract). */
int
policy_subscriber_by_addr(const struct policy_snapshot *s, const char *ip,
    const struct subscriber **out)
{
	void	*data;
	int	 r;

	if ((r = cidrset_match(s->networks, ip, &data)) != 1)
		return r;
	*out = data;
	return 1;
}

int
policy_subscriber_by_id(const struct policy_snapshot *s, int64_t id,
    const struct subscriber **out)
{
	const struct subscriber	*sub;

	if ((sub = find_subscriber(s, id)) == NULL)
		return 0;
	*out = sub;
	return 1;
}

int
policy_by_recipient(const struct policy_snapshot *s, const char *address,
    const struct policy **out)
{
	struct rcpt_entry	 key, *e;
	char			 buf[512];

	if (s->nrcpts == 0 || addr_normalize(address, buf, sizeof(buf)) == -1)
		return 0;
	key.address = buf;
	e = bsearch(&key, s->rcpts, s->nrcpts, sizeof(*s->rcpts), rcpt_cmp);
	if (e == NULL)
		return 0;
	*out = e->policy;
	return 1;
}

int
policy_subscriber_by_login(const struct policy_snapshot *s, const char *login,
    const struct subscriber **out)
{
	struct login_entry	 key, *e;
	char			 buf[POLICY_LOGIN_MAX + 1];

	if (login_canon(login, buf, sizeof(buf)) == -1)
		return -1;
	if (s->nlogins == 0)
		return 0;
	key.login = buf;
	e = bsearch(&key, s->logins, s->nlogins, sizeof(*s->logins), login_cmp);
	if (e == NULL)
		return 0;
	*out = e->sub;
	return 1;
}

/* Follows the fallback chain past entries expired at now. */
static int
threat_live(const struct threat_entry *e, time_t now, const struct threat **out)
{
	for (; e != NULL; e = e->next)
		if (e->t.expires == 0 || e->t.expires > now) {
			*out = &e->t;
			return 1;
		}
	return 0;
}

/* -1 when ip is not an address text. */
int
policy_threat_by_addr(const struct policy_snapshot *s, const char *ip, time_t now,
    const struct threat **out)
{
	void	*data;
	int	 r;

	if ((r = cidrset_match(s->threat_addrs, ip, &data)) != 1)
		return r;
	return threat_live(data, now, out);
}

int
policy_threat_by_name(const struct policy_snapshot *s, const char *name,
    time_t now, const struct threat **out)
{
	void	*data;

	if (domset_match(s->threat_names, name, &data) != 1)
		return 0;
	return threat_live(data, now, out);
}

/* Every live entry of the chain from e: the match, then each broader entry
 * covering it (threat_entry.next), at most max. */
static size_t
threat_all(const struct threat_entry *e, time_t now, const struct threat **out,
    size_t max)
{
	size_t n = 0;

	for (; e != NULL && n < max; e = e->next)
		if (e->t.expires == 0 || e->t.expires > now)
			out[n++] = &e->t;
	return n;
}

int
policy_threats_by_addr(const struct policy_snapshot *s, const char *ip, time_t now,
    const struct threat **out, size_t max)
{
	void	*data;
	int	 r;

	if ((r = cidrset_match(s->threat_addrs, ip, &data)) != 1)
		return r;
	return (int)threat_all(data, now, out, max);
}

int
policy_threats_by_name(const struct policy_snapshot *s, const char *name,
    time_t now, const struct threat **out, size_t max)
{
	void	*data;

	if (domset_match(s->threat_names, name, &data) != 1)
		return 0;
	return (int)threat_all(data, now, out, max);
}

int
policy_template(const struct policy_snapshot *s, const char *name,
    const char **subject, const char **body)
{
	size_t	i;

	for (i = 0; i < s->ntmpls; i++)
		if (strcmp(s->tmpls[i].name, name) == 0) {
			*subject = s->tmpls[i].subject;
			*body = s->tmpls[i].body;
			return 1;
		}
	return 0;
}
