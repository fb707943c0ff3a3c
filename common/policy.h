/*
 * policy - the refcounted, immutable in-memory snapshot of everything the mail
 * path decides by: subscribers, their domains, networks and SMTP AUTH logins,
 * policies, per-recipient overrides, threat sources.  Built from the store in one read
 * transaction; swapped whole when meta.policy_generation changes (operators'
 * edits take effect within the watcher's poll interval, no restart, no SQL on
 * the hot path).  Readers take a reference, use it for a whole message, and
 * release it; the last release frees an old snapshot.
 */
#ifndef MOAT_POLICY_H
#define MOAT_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct store;

enum scan_mode { SCAN_ALL, SCAN_EXECUTABLES, SCAN_MACROS, SCAN_EXEC_MACROS, SCAN_NONE };
enum act_infected { INF_REJECT, INF_DISCARD, INF_QUARANTINE, INF_REPAIR, INF_TAG };
enum act_unscannable { UNS_TEMPFAIL, UNS_REJECT, UNS_PASS, UNS_TAG, UNS_QUARANTINE };
enum act_error { ERR_TEMPFAIL, ERR_REJECT, ERR_PASS };
enum notify_style { NOTIFY_APPEND, NOTIFY_ATTACHMENT, NOTIFY_MESSAGE };
enum header_mode { HDR_ADD, HDR_REPLACE, HDR_NONE };
enum mixed_mode { MIXED_COMBINE, MIXED_DEFER };

struct policy {
	int64_t               id;
	char                 *name;
	enum scan_mode        scan_mode;
	int64_t               max_scan_bytes;
	enum act_infected     on_infected;
	enum act_unscannable  on_unscannable;
	enum act_error        on_error;
	int                   repair, quarantine, heuristics;
	int                   notify_sender, notify_recipients;
	char                 *notify_admin;       /* NULL = none */
	enum notify_style     notify_style;
	int                   skip_forged_senders;
	enum header_mode      header_mode;
	int                   retention_days;
	int                   digest, auto_release_fp;
	enum mixed_mode       mixed_recipients;
};

struct subscriber {
	int64_t               id;
	char                 *name;
	int                   active;             /* 0 = suspended */
	char                 *contact;
	const struct policy  *policy;             /* NULL = none assigned */
};

enum threat_kind { THREAT_IP, THREAT_CIDR, THREAT_DOMAIN, THREAT_SUSPECT_DOMAIN };

struct threat {
	int64_t               id;
	enum threat_kind      kind;
	char                 *value;
	char                 *reason;
	time_t                expires;            /* 0 = never */
};

struct policy_snapshot;

/* The longest login the store accepts (schema CHECK on
 * subscriber_credentials.login). */
#define POLICY_LOGIN_MAX 320

/* Builds a snapshot from the store.  Rows that do not parse (a bad CIDR, an
 * unknown enum text) are skipped with a warning naming table and row, never
 * fatal.  Returns 0, or -1 on an SQL error (*out NULL). */
int  policy_load(struct store *st, struct policy_snapshot **out);
struct policy_snapshot *policy_ref(struct policy_snapshot *snap);
void policy_unref(struct policy_snapshot *snap);      /* accepts NULL */
int64_t policy_generation(const struct policy_snapshot *snap);
/* Sizes of a snapshot (reload log line, `moatctl`): subscribers loaded,
 * subscriber domains, threat sources indexed. */
void policy_counts(const struct policy_snapshot *snap, size_t *subscribers,
         size_t *domains, size_t *threats);

/* Lookups: 1 found (*out set), 0 absent.  Pointers live as long as the
 * snapshot reference.  The two *_by_addr lookups return -1 when ip is not
 * an address text (cidrset_match's contract); treat it as an error. */
int  policy_subscriber_by_domain(const struct policy_snapshot *s, const char *domain,
         const struct subscriber **out);
int  policy_subscriber_by_addr(const struct policy_snapshot *s, const char *ip,
         const struct subscriber **out);
int  policy_subscriber_by_id(const struct policy_snapshot *s, int64_t id,
         const struct subscriber **out);
/* The subscriber an SMTP AUTH login (the milter's {auth_authen}) belongs
 * to; compared case-insensitively.  -1 when login cannot be a login (empty,
 * longer than POLICY_LOGIN_MAX, a space or control character). */
int  policy_subscriber_by_login(const struct policy_snapshot *s, const char *login,
         const struct subscriber **out);
int  policy_by_recipient(const struct policy_snapshot *s, const char *address,
         const struct policy **out);
/* Unexpired threat sources (at time now) matching an address, or a name
 * (HELO, reverse name, sender domain; subdomains match). */
int  policy_threat_by_addr(const struct policy_snapshot *s, const char *ip, time_t now,
         const struct threat **out);
int  policy_threat_by_name(const struct policy_snapshot *s, const char *name, time_t now,
         const struct threat **out);
/* Every unexpired threat source matching an address or a name, not only
 * the most specific: the most specific first, then each broader entry that
 * covers it (a suspect_domain listing of mx.evil.example does not hide a
 * domain listing of evil.example).  At most max into out; returns the
 * count, or -1 (by_addr) when ip is not an address text.  Names are
 * compared in their canonical form (net.h; U-labels match A-labels). */
int  policy_threats_by_addr(const struct policy_snapshot *s, const char *ip, time_t now,
         const struct threat **out, size_t max);
int  policy_threats_by_name(const struct policy_snapshot *s, const char *name, time_t now,
         const struct threat **out, size_t max);
/* Notification template by name ("sender", "recipient", "admin",
 * "repair_notice", "digest"): 1 with subject/body set, 0 absent. */
int  policy_template(const struct policy_snapshot *s, const char *name,
         const char **subject, const char **body);
/* Folds p into acc, which already holds a policy (a copy of the first
 * recipient's): afterwards acc is, on every dimension, at least as strict
 * as both (see the order in policy.c).  acc's strings keep pointing into
 * the first policy's snapshot.  Commutative and associative on everything
 * but id and name, so the order of RCPT commands cannot weaken it. */
void policy_combine(struct policy *acc, const struct policy *p);
/* Severity ranks used by policy_combine (higher = stricter), for the
 * decision and its tests. */
int  policy_infected_rank(enum act_infected a);
int  policy_unscannable_rank(enum act_unscannable a);
int  policy_error_rank(enum act_error a);

/* Enum texts (as in the schema) <-> values; -1 when unknown. */
int  policy_enum_parse(const char *const names[], const char *text);
extern const char *const policy_scan_mode_names[];
extern const char *const policy_infected_names[];
extern const char *const policy_unscannable_names[];
extern const char *const policy_error_names[];
extern const char *const policy_notify_style_names[];
extern const char *const policy_header_mode_names[];
extern const char *const policy_mixed_names[];

/*
 * The watcher: a thread that opens its own store connection, polls
 * meta.policy_generation every interval_ms and swaps in a new snapshot when
 * it changed.  policy_watch_current() returns a new reference (never NULL
 * once policy_watch_start succeeded).  A failed reload keeps the old snapshot
 * and logs.  policy_watch_reload() forces a reload now (HUP).
 */
int  policy_watch_start(const char *store_path, int interval_ms, char *err, size_t errlen);
struct policy_snapshot *policy_watch_current(void);
int  policy_watch_reload(void);
void policy_watch_stop(void);

#endif
