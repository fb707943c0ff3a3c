/*
 * milter_callbacks - the libmilter callbacks and the two contexts.
 *
 * SECURITY: everything here comes from the SMTP client through Postfix and
 * is untrusted: names, addresses and header text are copied bounded, used
 * only as lookup keys or header/log text (sanitized where it is echoed).
 * Decisions read the policy snapshot (no SQL here); a failed lookup maps to
 * a temporary failure, never to "allowed".
 *
 * Contexts: struct milter_conn from connect to close (conn_close), struct
 * milter_msg from MAIL to eom/abort (msg_cleanup; also called at the next
 * MAIL and at close, since Postfix does not always send abort after a
 * rejected MAIL or RCPT).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "events.h"
#include "log.h"
#include "milter.h"
#include "net.h"


#define CONN(ctx) ((struct milter_conn *)smfi_getpriv(ctx))

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
msg_cleanup(struct milter_conn *cc)
{
	struct milter_msg *mc;

	if (cc == NULL || (mc = cc->cc_msg) == NULL)
		return;
	for (size_t i = 0; i < mc->mc_nrcpts; i++)
		free(mc->mc_rcpts[i].mr_addr);
	free(mc->mc_rcpts);
	free(mc->mc_sender);
	free(mc->mc_subject);
	msgbuf_free(&mc->mc_spool);
	policy_unref(mc->mc_snap);
	free(mc);
	cc->cc_msg = NULL;
}

static void
conn_close(SMFICTX *ctx)
{
	struct milter_conn *cc = CONN(ctx);

	if (cc == NULL)
		return;
	msg_cleanup(cc);
	free(cc);
	smfi_setpriv(ctx, NULL);
}

/* The Postfix queue ID, once the MTA has sent it ({i}). */
static void
msg_qid(SMFICTX *ctx, struct milter_msg *mc)
{
	const char *i;

	if (mc != NULL && mc->mc_qid[0] == '\0' && (i = smfi_getsymval(ctx, "i")) != NULL)
		snprintf(mc->mc_qid, sizeof(mc->mc_qid), "%s", i);
}

static const char *
qid_of(struct milter_conn *cc)
{
	return cc->cc_msg && cc->cc_msg->mc_qid[0] ? cc->cc_msg->mc_qid : NULL;
}

static const char *const threat_kind_text[] = {
	[THREAT_IP] = "ip", [THREAT_CIDR] = "cidr", [THREAT_DOMAIN] = "domain",
	[THREAT_SUSPECT_DOMAIN] = "suspect_domain",
};

/* Copies src into dst (len bytes) as printable ASCII: anything else is
 * '?'.  For untrusted text echoed in logs, headers and replies. */
static void
printable(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	for (; src != NULL && *src != '\0' && o + 1 < len; src++)
		dst[o++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	if (len > 0)
		dst[o] = '\0';
}

/* The listings that cost a refusal under milter.threat_action; a
 * suspect_domain listing only ever tags. */
static int
threat_blocks(enum threat_kind k)
{
	return k != THREAT_SUSPECT_DOMAIN;
}

/*
 * One threat check: every live listing that matches value (addr: an
 * address, or an address literal "[192.0.2.1]"; else a name) is kept, the
 * block listings first, at most MILTER_MAXTHREATS / 4 per check so that
 * each of the four checks always has room.
 */
static void
conn_threat(struct milter_conn *cc, const struct policy_snapshot *snap,
    const char *source, const char *value, int addr)
{
	const struct threat *t[MILTER_MAXTHREATS];
	size_t kept = 0;
	int n;

	if (value == NULL || value[0] == '\0')
		return;
	n = addr ? policy_threats_by_addr(snap, value, time(NULL), t, MILTER_MAXTHREATS) :
	    policy_threats_by_name(snap, value, time(NULL), t, MILTER_MAXTHREATS);
	for (int pass = 1; pass >= 0; pass--)
		for (int i = 0; i < n; i++) {
			struct milter_hit *h;

			if (threat_blocks(t[i]->kind) != pass ||
			    kept == MILTER_MAXTHREATS / 4 || cc->cc_nthreats == MILTER_MAXTHREATS)
				continue;
			h = &cc->cc_threats[cc->cc_nthreats++];
			kept++;
			h->mt_source = source;
			h->mt_kind = t[i]->kind;
			h->mt_id = t[i]->id;
			printable(h->mt_value, sizeof(h->mt_value), value);
			printable(h->mt_listed, sizeof(h->mt_listed), t[i]->value);
			printable(h->mt_reason, sizeof(h->mt_reason),
			    t[i]->reason ? t[i]->reason : "listed");
		}
}

/* cc_threat and cc_threat_list from the hits kept.  Returns the first
 * block listing (the one a refusal names), or the first hit. */
static const struct milter_hit *
threat_sum(struct milter_conn *cc)
{
	const struct milter_hit *first = NULL;
	size_t o = 0;
	int w;

	cc->cc_threat = 0;
	cc->cc_threat_list[0] = '\0';
	for (size_t i = 0; i < cc->cc_nthreats; i++) {
		const struct milter_hit *h = &cc->cc_threats[i];

		if (threat_blocks(h->mt_kind) && (first == NULL || !threat_blocks(first->mt_kind)))
			first = h;
		else if (first == NULL)
			first = h;
		w = snprintf(cc->cc_threat_list + o, sizeof(cc->cc_threat_list) - o,
		    "%s%s %s: %s %s (%s)", i ? "; " : "", h->mt_source, h->mt_value,
		    threat_kind_text[h->mt_kind], h->mt_listed, h->mt_reason);
		if (w < 0 || (size_t)w >= sizeof(cc->cc_threat_list) - o) {
			/* Cut at a whole hit; the event's count has them all. */
			cc->cc_threat_list[o] = '\0';
			snprintf(cc->cc_threat_list + o, sizeof(cc->cc_threat_list) - o,
			    "%s...", o ? "; " : "");
			break;
		}
		o += (size_t)w;
	}
	if (first != NULL)
		cc->cc_threat = threat_blocks(first->mt_kind) ? 1 : 2;
	return first;
}

static void
threat_event(struct milter_conn *cc, const struct milter_hit *first, const char *action)
{
	char detail[4096], match[600];
	struct jbuf j;
	struct milter_msg *mc = cc->cc_msg;

	snprintf(match, sizeof(match), "%s %s", first->mt_source, first->mt_value);
	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "queue_id", mc && mc->mc_qid[0] ? mc->mc_qid : NULL);
	jbuf_str(&j, "match", match);
	jbuf_str(&j, "reason", first->mt_reason);
	jbuf_str(&j, "matches", cc->cc_threat_list);
	jbuf_int(&j, "nmatches", (long long)cc->cc_nthreats);
	jbuf_str(&j, "helo", cc->cc_helo);
	jbuf_str(&j, "sender", mc ? mc->mc_sender : NULL);
	jbuf_str(&j, "action", action);
	event_emit(EV_MAIL_THREAT_SOURCE, SEV_WARNING, 0, cc->cc_addr, jbuf_end(&j));
}

/* A name or an address literal ("[192.0.2.1]", "[IPv6:...]"): the literal is
 * checked against the address listings. */
static void
conn_threat_name(struct milter_conn *cc, const struct policy_snapshot *snap,
    const char *source, const char *name)
{
	conn_threat(cc, snap, source, name, name != NULL && name[0] == '[');
}

/* A reply text libmilter accepts: no '%', no line breaks. */
static void
reply_text(char *dst, size_t len, const char *fmt, const char *a, const char *b)
{
	snprintf(dst, len, fmt, a, b ? b : "");
	for (char *p = dst; *p; p++)
		if (*p == '%' || (unsigned char)*p < 0x20)
			*p = ' ';
}

/*
 * The steps that never refuse (a threat source is refused at MAIL, a
 * failure while buffering at end of message), so the MTA need not wait for
 * their replies: on a UNIX socket it then writes a message's headers and
 * body without waiting, about half the round trips.  Not over TCP: the
 * MTA's small writes then wait on Nagle for our delayed ACKs, and the bench
 * ran 25 % slower (docs/BENCHMARKS.md).  libmilter offers every no-reply
 * bit, faking those the MTA lacks, so the socket kind alone decides.
 */
#define NR_STEPS (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

static int
no_reply_steps(void)
{
	return milter_socket_path(milter_cf->socket) != NULL;
}

/* The reply of a step in NR_STEPS. */
static sfsistat
no_reply(void)
{
	return no_reply_steps() ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* The failure of a step in NR_STEPS: where it has no reply, MAIL (which
 * finds no connection context) refuses instead. */
static sfsistat
no_reply_fail(void)
{
	return no_reply_steps() ? SMFIS_NOREPLY : SMFIS_TEMPFAIL;
}

static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
    unsigned long *pf3)
{
	unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;

	if ((f0 & want) != want) {
		log_warnx("MTA does not offer header and body changes (0x%lx)", f0);
		return SMFIS_REJECT;
	}
	*pf0 = want;
	/* Header values exactly as received (the message is rebuilt byte for
	 * byte).  No DATA or unknown-command callbacks. */
	*pf1 = f1 & (SMFIP_HDR_LEADSPC | SMFIP_NODATA | SMFIP_NOUNKNOWN);
	if (no_reply_steps())
		*pf1 |= NR_STEPS;
	*pf2 = *pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct milter_conn *cc;
	struct policy_snapshot *snap;
	const char *cn;

	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		log_warn("connect: calloc");
		return no_reply_fail();
	}
	smfi_setpriv(ctx, cc);
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, cc->cc_addr,
		    sizeof(cc->cc_addr));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, cc->cc_addr,
		    sizeof(cc->cc_addr));
	/* Only a verified reverse name: Postfix passes "[addr]" otherwise. */
	cn = smfi_getsymval(ctx, "{client_name}");
	if (hostname != NULL && hostname[0] != '[' && (cn == NULL || strcmp(cn, "unknown") != 0))
		snprintf(cc->cc_name, sizeof(cc->cc_name), "%s", hostname);

	/* Every check runs: a listing of one never hides another's. */
	snap = policy_watch_current();
	conn_threat(cc, snap, "client", cc->cc_addr, 1);
	conn_threat(cc, snap, "reverse name", cc->cc_name, 0);
	policy_unref(snap);
	cc->cc_nthreats_conn = cc->cc_nthreats_helo = cc->cc_nthreats;
	return no_reply();
}

static sfsistat
mlfi_helo(SMFICTX *ctx, char *helo)
{
	struct milter_conn *cc = CONN(ctx);
	struct policy_snapshot *snap;

	if (cc == NULL)
		return no_reply_fail();
	snprintf(cc->cc_helo, sizeof(cc->cc_helo), "%s", helo ? helo : "");
	/* A second HELO replaces the first one's hits. */
	cc->cc_nthreats = cc->cc_nthreats_conn;
	snap = policy_watch_current();
	conn_threat_name(cc, snap, "HELO", cc->cc_helo);
	policy_unref(snap);
	cc->cc_nthreats_helo = cc->cc_nthreats;
	return no_reply();
}

static void refused_event(struct milter_conn *, const char *, const struct subscriber *,
    const char *);

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct milter_conn *cc = CONN(ctx);
	struct milter_msg *mc;
	const struct milter_hit *first;
	enum addr_status as;
	const char *auth;
	char buf[ADDR_MAX + 1], text[1024], raw[120];

	if (cc == NULL)
		return SMFIS_TEMPFAIL;
	msg_cleanup(cc);
	if ((mc = calloc(1, sizeof(*mc))) == NULL) {
		log_warn("envfrom: calloc");
		return SMFIS_TEMPFAIL;
	}
	cc->cc_msg = mc;
	clock_gettime(CLOCK_MONOTONIC, &mc->mc_start);
	msgbuf_init(&mc->mc_spool, (size_t)milter_cf->memory_buffer, milter_cf->spool);
	mc->mc_snap = policy_watch_current();
	msg_qid(ctx, mc);
	/* The canonical sender ("" for <>), or a clear refusal: an address
	 * past a limit is never truncated nor read as <>. */
	as = addr_canon(argv[0], buf, sizeof(buf));
	if ((mc->mc_sender = strdup(buf)) == NULL) {
		msg_cleanup(cc);
		return SMFIS_TEMPFAIL;
	}
	if (as != ADDR_OK && as != ADDR_NULL) {
		reply_text(text, sizeof(text), "Bad sender address: %s%s", addr_status_text(as), NULL);
		smfi_setreply(ctx, "553", "5.1.7", text);
		printable(raw, sizeof(raw), argv[0]);
		log_mail(LOGL_INFO, qid_of(cc), "from=%s%s (%zu octets) client=%s refused: %s",
		    raw, strlen(argv[0]) >= sizeof(raw) - 1 ? "..." : "", strlen(argv[0]),
		    cc->cc_addr, addr_status_text(as));
		refused_event(cc, NULL, NULL, addr_status_text(as));
		msg_cleanup(cc);
		return SMFIS_REJECT;
	}
	if (as == ADDR_OK && addr_domain(buf, mc->mc_sender_domain, sizeof(mc->mc_sender_domain)) == -1)
		mc->mc_sender_domain[0] = '\0';         /* a local part alone */
	/* The SMTP AUTH login Postfix's SASL server verified, sent at MAIL
	 * (milter_mail_macros); empty when the session did not authenticate.
	 * One longer than any stored login proves nothing. */
	if ((auth = smfi_getsymval(ctx, "{auth_authen}")) != NULL && auth[0] != '\0' &&
	    snprintf(mc->mc_login, sizeof(mc->mc_login), "%s", auth) >= (int)sizeof(mc->mc_login)) {
		log_mail(LOGL_WARN, qid_of(cc), "SMTP AUTH login of %zu bytes ignored", strlen(auth));
		mc->mc_login[0] = '\0';
	}
	/* This MAIL's hits replace the previous one's. */
	cc->cc_nthreats = cc->cc_nthreats_helo;
	conn_threat_name(cc, mc->mc_snap, "sender domain", mc->mc_sender_domain);
	if ((first = threat_sum(cc)) == NULL)
		return SMFIS_CONTINUE;
	if (cc->cc_threat == 1 && milter_cf->threat_action != THREAT_ACT_TAG) {
		int reject = milter_cf->threat_action == THREAT_ACT_REJECT;
		char what[600];

		snprintf(what, sizeof(what), "%s %s", first->mt_source, first->mt_value);
		reply_text(text, sizeof(text), "Refused: %s is a known threat source (%s)",
		    what, first->mt_reason);
		smfi_setreply(ctx, reject ? "550" : "451", reject ? "5.7.1" : "4.7.1", text);
		printable(raw, sizeof(raw), cc->cc_helo);
		log_mail(LOGL_INFO, qid_of(cc), "from=<%s> client=%s helo=%s threat=\"%s\" action=%s",
		    mc->mc_sender, cc->cc_addr, raw, cc->cc_threat_list,
		    reject ? "reject" : "tempfail");
		threat_event(cc, first, reject ? "reject" : "tempfail");
		msg_cleanup(cc);
		return reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	}
	threat_event(cc, first, "tag");
	return SMFIS_CONTINUE;
}

static void
refused_event(struct milter_conn *cc, const char *rcpt, const struct subscriber *sub,
    const char *why)
{
	char detail[1024];
	struct jbuf j;
	struct milter_msg *mc = cc->cc_msg;

	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "queue_id", mc->mc_qid[0] ? mc->mc_qid : NULL);
	jbuf_str(&j, "sender", mc->mc_sender);
	jbuf_str(&j, "rcpt", rcpt);
	jbuf_str(&j, "reason", why);
	event_emit(EV_MAIL_REFUSED, SEV_NOTICE, sub ? sub->id : 0, cc->cc_addr, jbuf_end(&j));
}

/*
 * mixed_recipients = defer: a recipient whose policy differs from the first
 * accepted recipient's gets 452 (RFC 5321 4.5.3.1.10: the client sends the
 * rest in a later transaction), so each transaction carries one policy.
 * Either side's policy saying defer is enough: the first recipient's
 * subscriber asked for its mail to travel alone, or the new one's did.  An
 * unserved recipient has no policy, which differs from any.  Refused
 * recipients (suspended, unserved refused) are refused, not deferred, and
 * the first accepted recipient always passes, so every attempt delivers at
 * least one recipient and the client's retries end.
 */
static int
rcpt_defer(const struct milter_msg *mc, const struct rcpt_decision *d)
{
	const struct policy *p = d->status == RCPT_SERVED ? d->policy : NULL;
	const struct policy *f = mc->mc_first;

	if (!mc->mc_first_set || d->status == RCPT_SUSPENDED ||
	    (d->status == RCPT_UNSERVED && milter_cf->unserved_action == UNSERVED_REJECT))
		return 0;
	if (p == f || (p != NULL && f != NULL && p->id == f->id))
		return 0;
	return (p != NULL && p->mixed_recipients == MIXED_DEFER) ||
	    (f != NULL && f->mixed_recipients == MIXED_DEFER);
}

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct milter_conn *cc = CONN(ctx);
	struct milter_msg *mc;
	struct rcpt_decision d;
	struct milter_rcpt *r;
	enum addr_status as;
	char addr[ADDR_MAX + 1], text[600], raw[120];

	if (cc == NULL || (mc = cc->cc_msg) == NULL)
		return SMFIS_TEMPFAIL;
	msg_qid(ctx, mc);
	/* One canonical form for every lookup; refused, never truncated. */
	if ((as = addr_canon(argv[0], addr, sizeof(addr))) != ADDR_OK) {
		reply_text(text, sizeof(text), "Bad recipient address: %s%s",
		    as == ADDR_NULL ? "null recipient" : addr_status_text(as), NULL);
		smfi_setreply(ctx, "553", "5.1.3", text);
		printable(raw, sizeof(raw), argv[0]);
		log_mail(LOGL_INFO, qid_of(cc), "from=<%s> to=%s%s (%zu octets) client=%s refused: %s",
		    mc->mc_sender, raw, strlen(argv[0]) >= sizeof(raw) - 1 ? "..." : "",
		    strlen(argv[0]), cc->cc_addr, addr_status_text(as));
		refused_event(cc, raw, NULL, addr_status_text(as));
		return SMFIS_REJECT;
	}
	if (milter_policy_rcpt(mc->mc_snap, cc->cc_addr, mc->mc_login, addr, &d) == -1) {
		smfi_setreply(ctx, "451", "4.3.0", "Temporary policy lookup failure");
		log_mail(LOGL_WARN, qid_of(cc), "to=<%s>: policy lookup failed: tempfail", addr);
		return SMFIS_TEMPFAIL;
	}
	if (rcpt_defer(mc, &d)) {
		reply_text(text, sizeof(text), "<%s>: other policy, send separately%s", addr, "");
		smfi_setreply(ctx, "452", "4.5.3", text);
		log_mail(LOGL_INFO, qid_of(cc), "from=<%s> to=<%s> deferred: mixed policies",
		    mc->mc_sender, addr);
		return SMFIS_TEMPFAIL;
	}
	switch (d.status) {
	case RCPT_SUSPENDED:
		reply_text(text, sizeof(text), "<%s>: service for this %s is suspended", addr,
		    d.outbound ? "sender" : "recipient");
		smfi_setreply(ctx, "550", "5.7.1", text);
		log_mail(LOGL_INFO, qid_of(cc), "from=<%s> to=<%s> subscriber=%s%s%s refused: suspended",
		    mc->mc_sender, addr, d.sub->name, d.outbound ? " via=" : "",
		    d.outbound ? milter_policy_via_name(d.via) : "");
		refused_event(cc, addr, d.sub, "suspended");
		return SMFIS_REJECT;
	case RCPT_UNSERVED:
		if (milter_cf->unserved_action == UNSERVED_REJECT) {
			reply_text(text, sizeof(text), "<%s>: relay not permitted%s", addr, "");
			smfi_setreply(ctx, "550", "5.7.1", text);
			log_mail(LOGL_INFO, qid_of(cc), "from=<%s> to=<%s> client=%s refused: unserved",
			    mc->mc_sender, addr, cc->cc_addr);
			refused_event(cc, addr, NULL, "unserved");
			return SMFIS_REJECT;
		}
		mc->mc_unserved++;
		break;
	case RCPT_SERVED:
		if (d.outbound)
			log_mail(LOGL_INFO, qid_of(cc), "from=<%s> to=<%s> client=%s login=%s "
			    "outbound for subscriber=%s via=%s", mc->mc_sender, addr, cc->cc_addr,
			    mc->mc_login[0] ? mc->mc_login : "-", d.sub->name,
			    milter_policy_via_name(d.via));
		break;
	}
	if (mc->mc_nrcpts == mc->mc_rcptcap) {
		size_t cap = mc->mc_rcptcap ? mc->mc_rcptcap * 2 : 4;

		if (cap > MILTER_MAXRCPT || (r = realloc(mc->mc_rcpts, cap * sizeof(*r))) == NULL) {
			smfi_setreply(ctx, "452", "4.5.3", "Too many recipients");
			return SMFIS_TEMPFAIL;
		}
		mc->mc_rcpts = r;
		mc->mc_rcptcap = cap;
	}
	r = &mc->mc_rcpts[mc->mc_nrcpts];
	memset(r, 0, sizeof(*r));
	if ((r->mr_addr = strdup(addr)) == NULL)
		return SMFIS_TEMPFAIL;
	mc->mc_nrcpts++;
	if (!mc->mc_first_set) {
		mc->mc_first_set = 1;
		mc->mc_first = d.status == RCPT_SERVED ? d.policy : NULL;
	}
	if (d.status == RCPT_SERVED) {
		r->mr_sub = d.sub;
		r->mr_policy = d.policy;
		r->mr_outbound = d.outbound;
		/* Combined on every dimension (policy_combine); the scan goes
		 * as far as the largest limit of a policy that scans. */
		if (mc->mc_policy == NULL)
			mc->mc_comb = *d.policy;
		else
			policy_combine(&mc->mc_comb, d.policy);
		mc->mc_policy = &mc->mc_comb;
		if (d.policy->scan_mode != SCAN_NONE && d.policy->max_scan_bytes > mc->mc_scan_bytes)
			mc->mc_scan_bytes = d.policy->max_scan_bytes;
	}
	return SMFIS_CONTINUE;
}

/* Appends s with bare LFs turned into CRLF (Postfix sends folded header
 * lines with LF). */
static int
msgbuf_crlf(struct msgbuf *sp, const char *s)
{
	const char *p = s;

	for (; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r')) {
			if ((p > s && msgbuf_write(sp, s, (size_t)(p - s)) == -1) ||
			    msgbuf_write(sp, "\r\n", 2) == -1)
				return -1;
			s = p + 1;
		}
	}
	return p > s ? msgbuf_write(sp, s, (size_t)(p - s)) : 0;
}

/* The usage key of a message (usage_seen): FNV-1a over its Message-ID
 * (blanks ignored) and sender; never 0. */
static uint64_t
msgid_key(const char *id, const char *sender)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *id; id++)
		if (*id != ' ' && *id != '\t' && *id != '\r' && *id != '\n')
			h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (; sender != NULL && *sender; sender++)
		h = (h ^ (unsigned char)*sender) * 1099511628211ULL;
	return h | 1;
}

static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct milter_conn *cc = CONN(ctx);
	struct milter_msg *mc;
	uint64_t t0 = now_ns();

	/* Without a message the end of message tempfails it. */
	if (cc == NULL || (mc = cc->cc_msg) == NULL)
		return no_reply();
	msg_qid(ctx, mc);
	if (strcasecmp(name, "Subject") == 0 && mc->mc_subject == NULL)
		mc->mc_subject = strdup(value);
	else if (strcasecmp(name, "X-Virus-Scanned") == 0)
		mc->mc_nscanned_hdr++;
	else if (strcasecmp(name, "X-Moat-Status") == 0)
		mc->mc_nstatus_hdr++;
	else if (strcasecmp(name, "X-Moat-Threat") == 0)
		mc->mc_nthreat_hdr++;
	else if (mc->mc_msgid == 0 && strcasecmp(name, "Message-ID") == 0)
		mc->mc_msgid = msgid_key(value, mc->mc_sender);
	(void)(msgbuf_write(&mc->mc_spool, name, strlen(name)) == -1 ||
	    msgbuf_write(&mc->mc_spool, ":", 1) == -1 ||
	    msgbuf_crlf(&mc->mc_spool, value) == -1 ||
	    msgbuf_write(&mc->mc_spool, "\r\n", 2) == -1);
	mc->mc_busy_ns += now_ns() - t0;
	return no_reply();
}

static sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	struct milter_conn *cc = CONN(ctx);
	struct milter_msg *mc;

	if (cc == NULL || (mc = cc->cc_msg) == NULL)
		return no_reply();
	msg_qid(ctx, mc);
	(void)msgbuf_write(&mc->mc_spool, "\r\n", 2);
	msgbuf_end_headers(&mc->mc_spool);
	/* Bodies that will not be scanned are not kept: unserved mail, and
	 * policies that scan nothing. */
	if (mc->mc_policy == NULL || mc->mc_policy->scan_mode == SCAN_NONE)
		mc->mc_skip_body = 1;
	return no_reply();
}

static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct milter_conn *cc = CONN(ctx);
	struct milter_msg *mc;
	uint64_t t0 = now_ns();

	if (cc == NULL || (mc = cc->cc_msg) == NULL)
		return no_reply();
	if (mc->mc_skip_body) {
		mc->mc_spool.mb_total += len;     /* size for the log and billing */
		return no_reply();
	}
	(void)msgbuf_write(&mc->mc_spool, chunk, len);
	mc->mc_busy_ns += now_ns() - t0;
	return no_reply();
}

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct milter_conn *cc = CONN(ctx);
	sfsistat rc;

	if (cc == NULL || cc->cc_msg == NULL)
		return SMFIS_TEMPFAIL;
	msg_qid(ctx, cc->cc_msg);
	rc = action_eom(ctx, cc, cc->cc_msg);
	msg_cleanup(cc);
	return rc;
}

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	msg_cleanup(CONN(ctx));
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_close(SMFICTX *ctx)
{
	conn_close(ctx);
	return SMFIS_CONTINUE;
}

struct smfiDesc milter_desc = {
	.xxfi_name = MILTER_NAME,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY,
	.xxfi_connect = mlfi_connect,
	.xxfi_helo = mlfi_helo,
	.xxfi_envfrom = mlfi_envfrom,
	.xxfi_envrcpt = mlfi_envrcpt,
	.xxfi_header = mlfi_header,
	.xxfi_eoh = mlfi_eoh,
	.xxfi_body = mlfi_body,
	.xxfi_eom = mlfi_eom,
	.xxfi_abort = mlfi_abort,
	.xxfi_close = mlfi_close,
	.xxfi_negotiate = mlfi_negotiate,
};
