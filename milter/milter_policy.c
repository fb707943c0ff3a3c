/*
 * milter_policy - who a message is served for, read from the policy
 * snapshot only (no SQL on the mail path).
 *
 * A recipient is served (DESIGN.md "Mail path" 2):
 *   inbound   its domain belongs to a subscriber: active -> served with the
 *             recipient's override policy or the subscriber's; suspended ->
 *             refused (that recipient only);
 *   outbound  otherwise, the client proved it is one of a subscriber's:
 *             the SMTP session authenticated ({auth_authen}) as a login of
 *             that subscriber, or else the client address is in that
 *             subscriber's networks.  Active -> served with that
 *             subscriber's policy (its organization pays for and configures
 *             outbound scanning); suspended -> refused;
 *   unserved  otherwise (the caller applies milter.unserved_action).
 *
 * The sender domain is not an argument: MAIL FROM is whatever the client
 * typed and proves nothing (issue 8, hole 3).  When the login's subscriber
 * differs from the sender domain's, or from the network's, the login's is
 * served: a login is a secret that one subscriber was given, while a
 * sender domain is a claim and a network may be shared (NAT, a hosting
 * provider); the authenticated subscriber is also the one accountable for
 * the mail it sends.  A login the snapshot does not know (removed, not
 * loaded yet, or not a login at all) proves nothing either: the client
 * address decides then.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "milter.h"
#include "net.h"

/* The schema's column defaults (sql/schema.sql, policies). */
static const struct policy default_policy = {
	.id = 0, .name = "default",
	.scan_mode = SCAN_ALL, .max_scan_bytes = 26214400,
	.on_infected = INF_REJECT, .on_unscannable = UNS_TEMPFAIL, .on_error = ERR_TEMPFAIL,
	.repair = 0, .quarantine = 0, .heuristics = 1,
	.notify_sender = 0, .notify_recipients = 0, .notify_admin = NULL,
	.notify_style = NOTIFY_MESSAGE, .skip_forged_senders = 1, .header_mode = HDR_ADD,
	.retention_days = 30,
};

const struct policy *
milter_policy_default(void)
{
	return &default_policy;
}

static const struct policy *
sub_policy(const struct subscriber *s)
{
	return s->policy != NULL ? s->policy : &default_policy;
}

/* The subscriber the client proved to be, and how: 1 found, 0 none, -1
 * lookup error. */
static int
client_subscriber(const struct policy_snapshot *snap, const char *client_ip,
    const char *login, const struct subscriber **sub, enum rcpt_via *via)
{
	int r;

	/* A login that cannot be a stored one (-1: too long, a space or a
	 * control character; only a SASL backend other than the store's could
	 * pass it) proves nothing, like an unknown one. */
	if (login != NULL && login[0] != '\0' &&
	    policy_subscriber_by_login(snap, login, sub) == 1) {
		*via = RCPT_VIA_LOGIN;
		return 1;
	}
	if (client_ip != NULL && client_ip[0] != '\0') {
		if ((r = policy_subscriber_by_addr(snap, client_ip, sub)) == -1)
			return -1;
		if (r == 1) {
			*via = RCPT_VIA_NETWORK;
			return 1;
		}
	}
	return 0;
}

int
milter_policy_rcpt(const struct policy_snapshot *snap, const char *client_ip,
    const char *login, const char *rcpt, struct rcpt_decision *out)
{
	char domain[256], addr[512];
	const struct subscriber *sub = NULL;
	const struct policy *ovr = NULL;
	enum rcpt_via via = RCPT_VIA_NONE;
	int r;

	memset(out, 0, sizeof(*out));
	out->status = RCPT_UNSERVED;
	if (addr_normalize(rcpt, addr, sizeof(addr)) == 0 &&
	    addr_domain(rcpt, domain, sizeof(domain)) == 0 &&
	    policy_subscriber_by_domain(snap, domain, &sub) == 1) {
		out->sub = sub;
		if (!sub->active) {
			out->status = RCPT_SUSPENDED;
			return 0;
		}
		out->status = RCPT_SERVED;
		out->policy = policy_by_recipient(snap, addr, &ovr) == 1 ? ovr : sub_policy(sub);
		return 0;
	}
	/* Outbound: only for a client that proved whose it is. */
	if ((r = client_subscriber(snap, client_ip, login, &sub, &via)) != 1)
		return r;
	out->sub = sub;
	out->outbound = 1;
	out->via = via;
	if (!sub->active) {
		out->status = RCPT_SUSPENDED;
		return 0;
	}
	out->status = RCPT_SERVED;
	out->policy = sub_policy(sub);
	return 0;
}

const char *
milter_policy_via_name(enum rcpt_via via)
{
	switch (via) {
	case RCPT_VIA_LOGIN:   return "login";
	case RCPT_VIA_NETWORK: return "network";
	default:               return "none";
	}
}

int
milter_policy_threat_addr(const struct policy_snapshot *snap, const char *ip,
    const struct threat **out)
{
	if (ip == NULL || ip[0] == '\0')
		return 0;
	return policy_threat_by_addr(snap, ip, time(NULL), out);
}

int
milter_policy_threat_name(const struct policy_snapshot *snap, const char *name,
    const struct threat **out)
{
	if (name == NULL || name[0] == '\0' || name[0] == '[')
		return 0;
	return policy_threat_by_name(snap, name, time(NULL), out);
}
