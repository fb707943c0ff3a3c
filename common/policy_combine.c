/*
 * policy_combine - the policy a message's recipients share (policy.h):
 * pure functions over struct policy, no snapshot, no store.
 */
#include "policy.h"

/*
 * Combining the policies of one message's recipients: the result is, on
 * every dimension, at least as strict as each of them, so no recipient gets
 * less than its own policy (milter_decide.c then applies the notices per
 * recipient, by each recipient's own policy).
 *
 *   scan_mode        union of coverage: none < executables, macros <
 *                    executables_macros < all; executables + macros gives
 *                    executables_macros.
 *   heuristics       on if any.
 *   max_scan_bytes   the smallest of the policies that scan: a message
 *                    over it is unscannable for that recipient.  The milter still scans up to the
 *                    largest limit (milter_decide.h, over_limit) so that a
 *                    recipient with the larger limit loses no scan.
 *   on_infected      reject > discard > quarantine > repair > tag.  Each
 *                    step keeps the virus further from the recipient:
 *                    discard delivers nothing, quarantine delivers nothing
 *                    now but an operator may release it, repair delivers a
 *                    cleaned copy, tag the virus itself.
 *   on_unscannable   reject > quarantine > tempfail > tag > pass.  Reject
 *                    and quarantine end the message undelivered; tempfail
 *                    delivers nothing now, but the client may retry and a
 *                    retry may pass (a limit, an engine that changed); tag
 *                    delivers with a warning, pass without one.
 *   on_error         reject > tempfail > pass (same reasoning).
 *   quarantine,      on if any: an original that one policy keeps is kept.
 *   repair, digest
 *   retention_days   the longest.
 *   auto_release_fp  on only if all: an automatic release is the weaker.
 *   notify_*         union: notify_sender and notify_recipients if any,
 *                    skip_forged_senders only if all.  notify_admin and
 *                    notify_style are not merged here (one address, one
 *                    style): the decision sends every recipient's own.
 *   header_mode      replace > add > none: the status headers are written
 *                    if any recipient's policy wants them.
 *   mixed_recipients defer if any.
 */
static int
scan_bits(enum scan_mode m)
{
	switch (m) {
	case SCAN_ALL:		return 7;
	case SCAN_EXEC_MACROS:	return 3;
	case SCAN_EXECUTABLES:	return 1;
	case SCAN_MACROS:	return 2;
	case SCAN_NONE:		return 0;
	}
	return 7;
}

int
policy_infected_rank(enum act_infected a)
{
	switch (a) {
	case INF_REJECT:	return 4;
	case INF_DISCARD:	return 3;
	case INF_QUARANTINE:	return 2;
	case INF_REPAIR:	return 1;
	case INF_TAG:		return 0;
	}
	return 4;
}

int
policy_unscannable_rank(enum act_unscannable a)
{
	switch (a) {
	case UNS_REJECT:	return 4;
	case UNS_QUARANTINE:	return 3;
	case UNS_TEMPFAIL:	return 2;
	case UNS_TAG:		return 1;
	case UNS_PASS:		return 0;
	}
	return 4;
}

int
policy_error_rank(enum act_error a)
{
	switch (a) {
	case ERR_REJECT:	return 2;
	case ERR_TEMPFAIL:	return 1;
	case ERR_PASS:		return 0;
	}
	return 2;
}

static int
header_rank(enum header_mode m)
{
	return m == HDR_REPLACE ? 2 : m == HDR_ADD ? 1 : 0;
}

void
policy_combine(struct policy *acc, const struct policy *p)
{
	int bits = scan_bits(acc->scan_mode) | scan_bits(p->scan_mode);

	/* A policy that scans nothing has no limit to contribute. */
	if (p->scan_mode != SCAN_NONE && (acc->scan_mode == SCAN_NONE ||
	    p->max_scan_bytes < acc->max_scan_bytes))
		acc->max_scan_bytes = p->max_scan_bytes;
	acc->scan_mode = bits == 0 ? SCAN_NONE : bits == 1 ? SCAN_EXECUTABLES :
	    bits == 2 ? SCAN_MACROS : bits == 3 ? SCAN_EXEC_MACROS : SCAN_ALL;
	acc->heuristics |= p->heuristics;
	if (policy_infected_rank(p->on_infected) > policy_infected_rank(acc->on_infected))
		acc->on_infected = p->on_infected;
	if (policy_unscannable_rank(p->on_unscannable) >
	    policy_unscannable_rank(acc->on_unscannable))
		acc->on_unscannable = p->on_unscannable;
	if (policy_error_rank(p->on_error) > policy_error_rank(acc->on_error))
		acc->on_error = p->on_error;
	acc->quarantine |= p->quarantine;
	acc->repair |= p->repair;
	acc->digest |= p->digest;
	if (p->retention_days > acc->retention_days)
		acc->retention_days = p->retention_days;
	acc->auto_release_fp &= p->auto_release_fp;
	acc->notify_sender |= p->notify_sender;
	acc->notify_recipients |= p->notify_recipients;
	acc->skip_forged_senders &= p->skip_forged_senders;
	if (acc->notify_admin == NULL)
		acc->notify_admin = p->notify_admin;
	if (header_rank(p->header_mode) > header_rank(acc->header_mode))
		acc->header_mode = p->header_mode;
	if (p->mixed_recipients == MIXED_DEFER)
		acc->mixed_recipients = MIXED_DEFER;
}
