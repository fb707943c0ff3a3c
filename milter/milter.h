/*
 * milter.h - moat-milter's internal interfaces: the connection and message
 * contexts every callback shares, and the modules eom drives.
 *
 *   milter_callbacks.c  libmilter callbacks, context life cycle
 *   milter_policy.c     served / suspended / unserved, threat sources
 *   milter_msgbuf.c      message bytes: memory up to a bound, then a file
 *   milter_engine.c     the refcounted libclamav engine, reload, scan slots
 *   milter_scan.c       the libclamav scan: verdict + content classification
 *   milter_parts.c      the MIME leaves, decoded in memory, for the scan
 *   milter_decide.c     the end-of-message decision, a pure function
 *   milter_action.c     applies it: scan, quarantine, repair, smfi_* calls
 *   milter_status.c     header values and the per-message log line
 *   milter_notify.c     notices (templates, forged senders, SMTP thread)
 *   milter_usage.c      billing counters, flushed in batches
 *
 * Ownership: a struct milter_conn is allocated at connect and freed by
 * conn_close() from xxfi_close; a struct milter_msg hangs off it from MAIL
 * FROM and is freed by msg_cleanup() (eom, abort, the next MAIL, close).
 * The message holds one policy snapshot reference for its whole life; the
 * subscriber and policy pointers in it live as long as that reference.
 */
#ifndef MOAT_MILTER_H
#define MOAT_MILTER_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "milter_conf.h"
#include "policy.h"
#include "scanopts.h"

#define MILTER_NAME     "moat-milter"
#define MILTER_MAXRCPT  1000   /* Postfix's smtpd_recipient_limit default */
#define MILTER_MAXSUBS  16     /* distinct subscribers counted per message */

/* Configuration, set once in main() before any thread starts; read-only. */
extern const struct milter_conf *milter_cf;

/* ------------------------------------------------------------ spool */

/* The message as received: header lines rebuilt "Name:value\r\n", an empty
 * line, then the body.  Memory up to limit bytes, then an unlinked file in
 * dir holding everything. */
struct msgbuf {
	char        *mb_mem;
	size_t       mb_len, mb_cap, mb_limit;
	int          mb_fd;        /* -1 while in memory */
	int          mb_memfd;     /* memfd copy handed out by msgbuf_fd(), -1 */
	size_t       mb_total;
	size_t       mb_hdrlen;    /* bytes of the header block incl. empty line */
	const char  *mb_dir;
	int          mb_failed;    /* a write failed: contents incomplete */
};
void   msgbuf_init(struct msgbuf *sp, size_t limit, const char *dir);
/* Appends; returns 0, or -1 (logged, mb_failed set). */
int    msgbuf_write(struct msgbuf *sp, const void *data, size_t len);
/* Marks the end of the header block. */
void   msgbuf_end_headers(struct msgbuf *sp);
/* A descriptor holding the whole message from offset 0 (owned by the spool,
 * do not close).  Returns -1 on error. */
int    msgbuf_fd(struct msgbuf *sp);
void   msgbuf_free(struct msgbuf *sp);

/* ------------------------------------------------------------ engine */

struct cl_engine;
struct engine {
	_Atomic int       en_refs;
	struct cl_engine *en_cl;
	unsigned int      en_sigs;
	unsigned int      en_generation;
	struct scanopts   en_so;     /* limits and parse mode it scans with */
};
/* Loads the first engine, as root (before the drop to user, who will own
 * the scan temporary directory).  Returns 0, or -1 with err set. */
int    engine_init(const struct milter_conf *cf, const char *user, char *err, size_t errlen);
/* Starts the thread that checks the signature directory and reloads. */
int    engine_watch_start(void);
void   engine_watch_stop(void);
void   engine_shutdown(void);
/* Waits for a scan slot (and, in lowmem mode, for a reload to end), sending
 * progress through ctx (may be NULL) every progress_interval.  Returns a new
 * engine reference, or NULL on error.  engine_release() frees the slot. */
struct engine *engine_acquire(void *smfictx);
void   engine_release(struct engine *en);
/* "ClamAV 1.4.6/12" of the current engine, for X-Virus-Scanned. */
void   engine_describe(char *buf, size_t len);

/* ------------------------------------------------------------ scan */

enum verdict {
	VERDICT_CLEAN, VERDICT_INFECTED, VERDICT_UNSCANNABLE, VERDICT_ERROR,
	VERDICT_UNSCANNED, VERDICT_REPAIRED
};
struct scan_result {
	enum verdict  verdict;
	char          virus[256];        /* INFECTED / REPAIRED */
	char          reason[160];       /* UNSCANNABLE / ERROR / UNSCANNED */
	int           exec, macros;      /* content classification */
	char          exec_name[128];    /* first executable found, for the log */
	int           walked;            /* 1: milter_parts.c walk, 0: libclamav's mail parser */
};
/* Registers the classification callbacks on a fresh engine. */
void   scan_engine_setup(struct cl_engine *cl);
/* Scans the whole message once and applies the policy's scan mode (see
 * milter_scan.c).  Always fills res; returns 0. */
int    scan_message(struct engine *en, struct msgbuf *sp, const struct policy *pol,
           struct scan_result *res);
/* The settings scan_message() uses with engine en under policy pol: the
 * engine's limits and parse mode, the policy's heuristics, scan mode and
 * size limit (sent with a quarantine submission, so a rescan repeats them). */
void   scan_settings(const struct engine *en, const struct policy *pol,
           struct scanopts *so);
/* Scans one buffer (repair callback).  1 infected (*virus malloc'd), 0 clean,
 * -1 error. */
int    scan_buffer(struct engine *en, const void *data, size_t len,
           const char *filename, int heuristics, char **virus);
/* Classification tables, exposed for tests. */
int    scan_type_executable(const char *cltype);
int    scan_name_executable(const char *name);
int    scan_name_macro(const char *name);
/* Maps a libclamav alert name: 1 unscannable (encrypted, limits), 0 virus. */
int    scan_alert_unscannable(const char *virname);

/* ------------------------------------------------------------ policy */

enum rcpt_status { RCPT_SERVED, RCPT_SUSPENDED, RCPT_UNSERVED };
/* Why a recipient is served as the sender's outbound mail. */
enum rcpt_via { RCPT_VIA_NONE, RCPT_VIA_NETWORK, RCPT_VIA_LOGIN };
struct rcpt_decision {
	enum rcpt_status         status;
	const struct subscriber *sub;       /* SERVED, SUSPENDED */
	const struct policy     *policy;    /* SERVED: override, subscriber's, or default */
	int                      outbound;  /* served as the client's subscriber's outbound mail */
	enum rcpt_via            via;       /* outbound: SMTP AUTH login or client network */
};
/* Decides one recipient from the client's address (text, "" when not IP)
 * and its SMTP AUTH login ({auth_authen}; NULL or "" when none) — never
 * from the sender address (milter_policy.c).  Returns 0, or -1 when a
 * lookup failed (callers tempfail). */
int    milter_policy_rcpt(const struct policy_snapshot *snap, const char *client_ip,
           const char *login, const char *rcpt, struct rcpt_decision *out);
/* "login", "network", "none". */
const char *milter_policy_via_name(enum rcpt_via via);
/* Threat source check of one of the connection's names or its address:
 * returns 1 (*out set), 0, -1 (bad address). */
int    milter_policy_threat_addr(const struct policy_snapshot *snap, const char *ip,
           const struct threat **out);
int    milter_policy_threat_name(const struct policy_snapshot *snap, const char *name,
           const struct threat **out);
/* The schema's defaults, for a subscriber without a policy row. */
const struct policy *milter_policy_default(void);

/* ------------------------------------------------------------ contexts */

struct milter_rcpt {
	char                    *mr_addr;     /* normalized, no brackets */
	const struct subscriber *mr_sub;
	const struct policy     *mr_policy;
	int                      mr_outbound;
};

struct milter_msg {
	struct policy_snapshot  *mc_snap;     /* one reference, released by msg_cleanup */
	char                     mc_qid[32];
	char                    *mc_sender;   /* normalized, "" for <> */
	char                     mc_sender_domain[256];
	char                     mc_login[POLICY_LOGIN_MAX + 1];  /* {auth_authen} as sent, "" */
	struct milter_rcpt      *mc_rcpts;
	size_t                   mc_nrcpts, mc_rcptcap;
	size_t                   mc_unserved;  /* recipients passed untouched */
	const struct policy     *mc_policy;   /* &mc_comb, or NULL while none is served */
	struct policy            mc_comb;     /* served recipients' policies combined
	                                         (policy_combine); strings in mc_snap */
	int64_t                  mc_scan_bytes;  /* the largest limit among them */
	int                      mc_first_set;   /* mc_first holds the first accepted recipient's */
	const struct policy     *mc_first;    /* its policy (NULL: unserved), for defer */
	uint64_t                 mc_msgid;    /* hash of the first Message-ID, 0 none */
	struct msgbuf             mc_spool;
	char                    *mc_subject;  /* raw value as received, or NULL */
	/* Copies of X-Virus-Scanned / X-Moat-Status / X-Moat-Threat that
	 * arrived with the message (deleted before ours are added). */
	int                      mc_nscanned_hdr, mc_nstatus_hdr, mc_nthreat_hdr;
	int                      mc_skip_body;
	uint64_t                 mc_busy_ns;   /* time spent in our callbacks */
	struct timespec          mc_start;
};

#define MILTER_MAXTHREATS 16

/* One threat source listing that matched (copied: it outlives the
 * snapshot it was found in). */
struct milter_hit {
	const char              *mt_source;      /* "client", "HELO", ... (static) */
	char                     mt_value[256];  /* what was checked (canonical) */
	enum threat_kind         mt_kind;
	char                     mt_listed[256]; /* the listing's value */
	char                     mt_reason[160];
	int64_t                  mt_id;
};

struct milter_conn {
	char                     cc_addr[64];    /* client IP text, "" when not IP */
	char                     cc_name[256];   /* verified reverse name, "" */
	char                     cc_helo[256];
	/*
	 * Threat source hits, applied at MAIL: every check runs (client
	 * address, verified reverse name, HELO, sender domain) and every
	 * listing that matches is kept, block listings (ip, cidr, domain)
	 * first.  cc_threats[0 .. cc_nthreats_conn) come from connect, up to
	 * cc_nthreats_helo from HELO, the rest from the current MAIL.
	 * cc_threat: 0 none, 1 a block listing (milter.threat_action), 2
	 * suspect_domain listings only (tag).  cc_threat_list: all of them,
	 * one line of text for the log, the event and X-Moat-Threat.
	 */
	int                      cc_threat;
	struct milter_hit     cc_threats[MILTER_MAXTHREATS];
	size_t                   cc_nthreats, cc_nthreats_conn, cc_nthreats_helo;
	char                     cc_threat_list[900];
	struct milter_msg       *cc_msg;
};

/* ------------------------------------------------------------ action */

/* End of message: decide, scan, act, add headers, notify, count, log.
 * Returns the SMFIS_* code for xxfi_eom. */
int    action_eom(void *smfictx, struct milter_conn *cc, struct milter_msg *mc);

/* ------------------------------------------------------------ status */

const char *verdict_name(enum verdict v);
/* X-Virus-Scanned value (leading space included, as Postfix expects with
 * SMFIP_HDR_LEADSPC). */
void   status_scanned_value(char *buf, size_t len, const char *engine_desc);
/* X-Moat-Status value, e.g. " infected (Eicar-Test-Signature); action=reject". */
void   status_value(char *buf, size_t len, const struct scan_result *r, const char *action);
/* Joins up to max recipients "<a>,<b>" into buf (truncated with ",..."). */
void   status_rcpt_list(char *buf, size_t len, const struct milter_msg *mc, const char *sep,
           int brackets);

/* ------------------------------------------------------------ notify */

struct notify_vars {
	const char *virus, *sender, *recipients, *queue_id, *subscriber;
	const char *action, *files, *client, *date;
};
/* Expands {virus} ... {date}; unknown {names} are kept.  Returns a malloc'd
 * string or NULL. */
char  *notify_expand(const char *tpl, const struct notify_vars *v);
/* 1 when the virus name belongs to a family that forges senders (built-in
 * table, plus the comma-separated globs of extra; extra may be NULL). */
int    notify_forged(const char *virus, const char *extra);
int    notify_start(void);
void   notify_stop(void);
/* Queues one notice (copies everything).  Returns 0, or -1 when the queue is
 * full (logged).  Never blocks on the network. */
int    notify_enqueue(const char *qid, const char *to, const char *subject,
           const char *body);

/* ------------------------------------------------------------ usage */

enum usage_dir { USAGE_IN, USAGE_OUT };
struct usage_delta {
	int64_t   messages, bytes, infected, quarantined, rejected;
};
struct usage_table;
struct usage_table *usage_table_new(void);
void   usage_table_free(struct usage_table *t);
/* Adds a delta for (day, subscriber, direction). 0 or -1 (no memory). */
int    usage_table_add(struct usage_table *t, const char *day, int64_t sub,
           enum usage_dir dir, const struct usage_delta *d);
size_t usage_table_count(const struct usage_table *t);
/* Calls fn for every row; stops and returns -1 when fn does. */
int    usage_table_walk(const struct usage_table *t,
           int (*fn)(void *arg, const char *day, int64_t sub, enum usage_dir dir,
           const struct usage_delta *d), void *arg);
/* The process-wide counters and their flush thread. */
int    usage_start(const char *store_path, long long flush_seconds, char *err, size_t errlen);
void   usage_count(int64_t sub, enum usage_dir dir, const struct usage_delta *d);
/* 1 when a message with this key (a hash of its Message-ID and sender; 0
 * never matches) was counted for (sub, dir) in the last day by this
 * process, else records it and returns 0.  A retry of a message whose
 * first attempt the MTA tempfailed after we answered (or a transaction
 * that carries recipients deferred from an earlier one) is not counted
 * twice. */
int    usage_seen(uint64_t key, int64_t sub, enum usage_dir dir, time_t now);
void   usage_stop(void);

#endif
