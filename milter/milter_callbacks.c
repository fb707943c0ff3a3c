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
	spool_free(&mc->mc_spool);
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

/* Records the first threat-source hit of the connection. */
static void
conn_threat(struct milter_conn *cc, const char *what, const char *value,
    const struct threat *t)
{
	if (cc->cc_threat)
		return;
	cc->cc_threat = t->kind == THREAT_SUSPECT_DOMAIN ? 2 : 1;   /* 2: tag only */
	snprintf(cc->cc_threat_what, sizeof(cc->cc_threat_what), "%s %s", what, value);
	snprintf(cc->cc_threat_reason, sizeof(cc->cc_threat_reason), "%s",
	    t->reason ? t->reason : "listed");
}

static void
threat_event(struct milter_conn *cc, const char *action)
{
	char detail[1024];
	struct jbuf j;
	struct milter_msg *mc = cc->cc_msg;

	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "queue_id", mc && mc->mc_qid[0] ? mc->mc_qid : NULL);
	jbuf_str(&j, "match", cc->cc_threat_what);
	jbuf_str(&j, "reason", cc->cc_threat_reason);
	jbuf_str(&j, "helo", cc->cc_helo);
	jbuf_str(&j, "sender", mc ? mc->mc_sender : NULL);
	jbuf_str(&j, "action", action);
	event_emit(EV_MAIL_THREAT_SOURCE, SEV_WARNING, 0, cc->cc_addr, jbuf_end(&j));
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
	const struct threat *t;
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

	snap = policy_watch_current();
	if (milter_policy_threat_addr(snap, cc->cc_addr, &t) == 1)
		conn_threat(cc, "client", cc->cc_addr, t);
	else if (milter_policy_threat_name(snap, cc->cc_name, &t) == 1)
		conn_threat(cc, "reverse name", cc->cc_name, t);
	policy_unref(snap);
	return no_reply();
}

static sfsistat
mlfi_helo(SMFICTX *ctx, char *helo)
{
	struct milter_conn *cc = CONN(ctx);
	struct policy_snapshot *snap;
	const struct threat *t;

	if (cc == NULL)
		return no_reply_fail();
	snprintf(cc->cc_helo, sizeof(cc->cc_helo), "%s", helo ? helo : "");
	snap = policy_watch_current();
	if (milter_policy_threat_name(snap, cc->cc_helo, &t) == 1)
		conn_threat(cc, "HELO", cc->cc_helo, t);
	policy_unref(snap);
	return no_reply();
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct milter_conn *cc = CONN(ctx);
	struct milter_msg *mc;
	const struct threat *t;
	const char *auth;
	char buf[512], text[1024];

	if (cc == NULL)
		return SMFIS_TEMPFAIL;
	msg_cleanup(cc);
	if ((mc = calloc(1, sizeof(*mc))) == NULL) {
		log_warn("envfrom: calloc");
		return SMFIS_TEMPFAIL;
	}
	cc->cc_msg = mc;
	clock_gettime(CLOCK_MONOTONIC, &mc->mc_start);
	spool_init(&mc->mc_spool, (size_t)milter_cf->memory_buffer, milter_cf->spool);
	mc->mc_snap = policy_watch_current();
	msg_qid(ctx, mc);
	if (addr_normalize(argv[0], buf, sizeof(buf)) == -1)
		buf[0] = '\0';
	if ((mc->mc_sender = strdup(buf)) == NULL) {
		msg_cleanup(cc);
		return SMFIS_TEMPFAIL;
	}
	if (addr_domain(argv[0], mc->mc_sender_domain, sizeof(mc->mc_sender_domain)) == -1)
		mc->mc_sender_domain[0] = '\0';
	/* The SMTP AUTH login Postfix's SASL server verified, sent at MAIL
	 * (milter_mail_macros); empty when the session did not authenticate.
	 * One longer than any stored login proves nothing. */
	if ((auth = smfi_getsymval(ctx, "{auth_authen}")) != NULL && auth[0] != '\0' &&
	    snprintf(mc->mc_login, sizeof(mc->mc_login), "%s", auth) >= (int)sizeof(mc->mc_login)) {
		log_mail(LOGL_WARN, qid_of(cc), "SMTP AUTH login of %zu bytes ignored", strlen(auth));
		mc->mc_login[0] = '\0';
	}
	if (milter_policy_threat_name(mc->mc_snap, mc->mc_sender_domain, &t) == 1)
		conn_threat(cc, "sender domain", mc->mc_sender_domain, t);

	if (cc->cc_threat == 1 && milter_cf->threat_action != THREAT_ACT_TAG) {
		int reject = milter_cf->threat_action == THREAT_ACT_REJECT;

		reply_text(text, sizeof(text), "Refused: %s is a known threat source (%s)",
		    cc->cc_threat_what, cc->cc_threat_reason);
		smfi_setreply(ctx, reject ? "550" : "451", reject ? "5.7.1" : "4.7.1", text);
		log_mail(LOGL_INFO, qid_of(cc), "from=<%s> client=%s helo=%s threat=\"%s\" action=%s",
		    mc->mc_sender, cc->cc_addr, cc->cc_helo, cc->cc_threat_what,
		    reject ? "reject" : "tempfail");
		threat_event(cc, reject ? "reject" : "tempfail");
		msg_cleanup(cc);
		return reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	}
	if (cc->cc_threat)
		threat_event(cc, "tag");
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

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct milter_conn *cc = CONN(ctx);
	struct milter_msg *mc;
	struct rcpt_decision d;
	struct milter_rcpt *r;
	char addr[512], text[600];

	if (cc == NULL || (mc = cc->cc_msg) == NULL)
		return SMFIS_TEMPFAIL;
	msg_qid(ctx, mc);
	if (addr_normalize(argv[0], addr, sizeof(addr)) == -1)
		snprintf(addr, sizeof(addr), "%s", argv[0]);
	if (milter_policy_rcpt(mc->mc_snap, cc->cc_addr, mc->mc_login, argv[0], &d) == -1) {
		smfi_setreply(ctx, "451", "4.3.0", "Temporary policy lookup failure");
		log_mail(LOGL_WARN, qid_of(cc), "to=<%s>: policy lookup failed: tempfail", addr);
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
	if (d.status == RCPT_SERVED) {
		r->mr_sub = d.sub;
		r->mr_policy = d.policy;
		r->mr_outbound = d.outbound;
		mc->mc_policy = policy_stricter(mc->mc_policy, d.policy);
	}
	return SMFIS_CONTINUE;
}

/* Appends s with bare LFs turned into CRLF (Postfix sends folded header
 * lines with LF). */
static int
spool_crlf(struct spool *sp, const char *s)
{
	const char *p = s;

	for (; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r')) {
			if ((p > s && spool_write(sp, s, (size_t)(p - s)) == -1) ||
			    spool_write(sp, "\r\n", 2) == -1)
				return -1;
			s = p + 1;
		}
	}
	return p > s ? spool_write(sp, s, (size_t)(p - s)) : 0;
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
	(void)(spool_write(&mc->mc_spool, name, strlen(name)) == -1 ||
	    spool_write(&mc->mc_spool, ":", 1) == -1 ||
	    spool_crlf(&mc->mc_spool, value) == -1 ||
	    spool_write(&mc->mc_spool, "\r\n", 2) == -1);
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
	(void)spool_write(&mc->mc_spool, "\r\n", 2);
	spool_end_headers(&mc->mc_spool);
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
		mc->mc_spool.sp_total += len;     /* size for the log and billing */
		return no_reply();
	}
	(void)spool_write(&mc->mc_spool, chunk, len);
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
