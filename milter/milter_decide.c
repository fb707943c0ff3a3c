/*
 * milter_decide - the end-of-message decision (milter_decide.h).
 *
 * One decision per message, never weaker than any recipient's own policy:
 * the input policy is the combination of every served recipient's
 * (policy_combine: the strictest on every dimension), and what cannot be
 * combined into one value is decided per recipient here:
 *   - the sender is told when any recipient's policy says so (and, for a
 *     virus family that forges senders, does not skip forged senders);
 *   - each recipient gets a separate notice by its own policy's
 *     notify_recipients, whenever its copy carries none: always when the
 *     message is not delivered (reject, discard, quarantine, and the
 *     sender also learns of a reject from its bounce), and for the
 *     "message" style when it is;
 *   - each distinct notify_admin address of the recipients' policies gets
 *     one admin notice.
 *
 * Size limits: the combined max_scan_bytes is the smallest limit, but the
 * message is scanned up to the largest (milter_action.c), so a recipient
 * with the larger limit loses no scan.  A message over the smallest limit
 * is therefore both scanned and unscannable for some recipient: the
 * decision is the more severe of the verdict's action and on_unscannable,
 * on one scale across kinds:
 *     reject > discard > quarantine > tempfail > repair > tag > pass
 * (nothing delivered, ever; nothing delivered now; a cleaned copy; the
 * message as it came).
 *
 * Moat's own headers that arrived with the message are forged or an
 * earlier hop's claims: every copy is deleted before ours are added,
 * whatever header_mode (header_mode "add" and "replace" now differ in
 * nothing; "none" adds nothing but still deletes).
 *
 * Everything not delivered nor tempfailed is counted in usage; a tempfailed
 * attempt comes back and is counted then.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "event_kinds.h"
#include "milter_decide.h"

/* The scale across kinds (see above). */
enum level { LV_PASS, LV_TAG, LV_REPAIR, LV_TEMPFAIL, LV_QUARANTINE, LV_DISCARD, LV_REJECT };

static enum level
infected_level(enum act_infected a)
{
	switch (a) {
	case INF_REJECT:	return LV_REJECT;
	case INF_DISCARD:	return LV_DISCARD;
	case INF_QUARANTINE:	return LV_QUARANTINE;
	case INF_REPAIR:	return LV_REPAIR;
	case INF_TAG:		return LV_TAG;
	}
	return LV_REJECT;
}

static enum level
unscannable_level(enum act_unscannable a)
{
	switch (a) {
	case UNS_REJECT:	return LV_REJECT;
	case UNS_QUARANTINE:	return LV_QUARANTINE;
	case UNS_TEMPFAIL:	return LV_TEMPFAIL;
	case UNS_TAG:		return LV_TAG;
	case UNS_PASS:		return LV_PASS;
	}
	return LV_REJECT;
}

static enum level
error_level(enum act_error a)
{
	switch (a) {
	case ERR_REJECT:	return LV_REJECT;
	case ERR_TEMPFAIL:	return LV_TEMPFAIL;
	case ERR_PASS:		return LV_PASS;
	}
	return LV_REJECT;
}

/* The reply text: one line, no '%' (libmilter formats it). */
static void
reply(struct decision *d, const char *code, const char *xcode, const char *fmt,
    const char *arg)
{
	d->code = code;
	d->xcode = xcode;
	snprintf(d->text, sizeof(d->text), fmt, arg ? arg : "");
	for (char *p = d->text; *p; p++)
		if (*p == '%' || (unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

static void
tempfail(struct decision *d, const char *why)
{
	reply(d, "451", "4.3.0", "Temporary failure, try again later (%s)", why);
	d->final = FINAL_TEMPFAIL;
	d->delivered = 0;
	d->action = "tempfail";
}

static void
reject(struct decision *d, const struct decide_in *in, int virus)
{
	if (virus)
		reply(d, "550", "5.7.1", "Virus found: %s", in->virus);
	else
		reply(d, "550", "5.7.1", "Message could not be scanned (%s)", d->reason);
	d->final = FINAL_REJECT;
	d->delivered = 0;
	d->action = "reject";
}

static void
deliver(struct decision *d, const char *action, const char *prefix)
{
	d->final = FINAL_CONTINUE;
	d->delivered = 1;
	d->action = action;
	d->subject_prefix = prefix;
}

/* Stored, then discarded; tempfail when not stored. */
static void
quarantine_only(struct decision *d, const struct decide_in *in)
{
	if (in->quarantined == OUT_NOT_TRIED) {
		d->step = STEP_QUARANTINE;
		return;
	}
	if (in->quarantined != OUT_OK) {
		tempfail(d, "quarantine unavailable");
		return;
	}
	d->final = FINAL_DISCARD;
	d->delivered = 0;
	d->action = "quarantine";
}

static void
act_infected(struct decision *d, const struct decide_in *in)
{
	const struct policy *p = in->pol;

	/* quarantine = 1: the original is kept whatever else happens. */
	if (p->quarantine && p->on_infected != INF_QUARANTINE) {
		if (in->quarantined == OUT_NOT_TRIED) {
			d->step = STEP_QUARANTINE;
			return;
		}
		if (in->quarantined != OUT_OK) {
			tempfail(d, "quarantine unavailable");
			return;
		}
	}
	switch (p->on_infected) {
	case INF_REJECT:
		reject(d, in, 1);
		return;
	case INF_DISCARD:
		d->final = FINAL_DISCARD;
		d->delivered = 0;
		d->action = "discard";
		return;
	case INF_QUARANTINE:
		quarantine_only(d, in);
		return;
	case INF_TAG:
		deliver(d, "tag", "[VIRUS]");
		return;
	case INF_REPAIR:
		break;
	}
	switch (in->repaired) {
	case OUT_NOT_TRIED:
		d->step = STEP_REPAIR;
		return;
	case OUT_OK:
		deliver(d, in->quarantined == OUT_OK ? "repair+quarantine" : "repair", NULL);
		d->verdict = VERDICT_REPAIRED;
		return;
	case OUT_NO:
		/* Not repairable: keep it out, stored if a quarantine can. */
		if (in->quarantine_configured)
			quarantine_only(d, in);
		else
			reject(d, in, 1);
		return;
	case OUT_FAILED:
		tempfail(d, "repair failed");
		return;
	}
}

static void
act_unscannable(struct decision *d, const struct decide_in *in, int virus)
{
	switch (in->pol->on_unscannable) {
	case UNS_TEMPFAIL:
		reply(d, "451", "4.7.0", "Message could not be scanned (%s), try again later",
		    d->reason);
		d->final = FINAL_TEMPFAIL;
		d->delivered = 0;
		d->action = "tempfail";
		return;
	case UNS_REJECT:
		reject(d, in, virus);
		return;
	case UNS_PASS:
		deliver(d, "pass", NULL);
		return;
	case UNS_TAG:
		deliver(d, "tag", virus ? "[VIRUS]" : "[UNSCANNED]");
		return;
	case UNS_QUARANTINE:
		quarantine_only(d, in);
		return;
	}
}

static void
act_error(struct decision *d, const struct decide_in *in)
{
	switch (in->pol->on_error) {
	case ERR_TEMPFAIL:
		tempfail(d, d->reason);
		return;
	case ERR_REJECT:
		reject(d, in, 0);
		return;
	case ERR_PASS:
		deliver(d, "pass", NULL);
		return;
	}
}

static void
event(struct decision *d, const char *kind, enum event_severity sev)
{
	int i = d->event[0] == NULL ? 0 : 1;

	d->event[i] = kind;
	d->event_sev[i] = sev;
}

/* Notices, usage and events, once the action is known. */
static void
finish(struct decision *d, const struct decide_in *in)
{
	int infected = in->verdict == VERDICT_INFECTED, served = 0;

	d->notice = infected && d->final != FINAL_TEMPFAIL;
	for (size_t i = 0; i < in->nrcpts; i++) {
		const struct policy *p = in->rcpts[i].mr_policy;

		if (p == NULL)
			continue;
		served = 1;
		if (!d->notice)
			continue;
		if (p->notify_sender && in->has_sender && !(p->skip_forged_senders && in->forged))
			d->notify_sender = 1;
		if (d->delivered && p->notify_recipients && p->notify_style != NOTIFY_MESSAGE &&
		    d->copy_notice != NOTIFY_ATTACHMENT)
			d->copy_notice = (int)p->notify_style;
	}
	if (d->final == FINAL_CONTINUE) {
		d->del_scanned = in->old_scanned;
		d->del_status = in->old_status;
		d->del_threat = in->old_threat;
		d->add_status = in->pol->header_mode != HDR_NONE;
		d->add_threat = in->threat;
	}
	d->count = served && d->final != FINAL_TEMPFAIL;
	d->usage.messages = 1;
	d->usage.bytes = (int64_t)in->size;
	d->usage.infected = infected;
	d->usage.quarantined = in->quarantined == OUT_OK;
	d->usage.rejected = d->final == FINAL_REJECT;
	switch (in->verdict) {
	case VERDICT_INFECTED:
		event(d, EV_MAIL_INFECTED, SEV_WARNING);
		if (in->quarantined == OUT_OK || d->final == FINAL_DISCARD ||
		    d->verdict == VERDICT_REPAIRED)
			event(d, EV_MAIL_ACTION, SEV_NOTICE);
		break;
	case VERDICT_UNSCANNABLE:
		event(d, EV_MAIL_UNSCANNABLE, SEV_NOTICE);
		break;
	case VERDICT_ERROR:
		event(d, EV_MAIL_SCAN_ERROR, SEV_WARNING);
		break;
	default:
		if (d->verdict == VERDICT_UNSCANNABLE)
			event(d, EV_MAIL_UNSCANNABLE, SEV_NOTICE);
		break;
	}
}

void
decide(const struct decide_in *in, struct decision *d)
{
	const struct policy *p = in->pol;
	int over;

	memset(d, 0, sizeof(*d));
	d->copy_notice = -1;
	d->verdict = in->verdict;
	d->reason = in->reason ? in->reason : "";
	d->action = "pass";
	d->final = FINAL_CONTINUE;
	d->delivered = 1;
	if (p == NULL) {
		/* Unserved only (unserved_action = pass): untouched, but for a
		 * threat source's tag. */
		d->final = in->threat ? FINAL_CONTINUE : FINAL_ACCEPT;
		if (in->threat) {
			d->del_scanned = in->old_scanned;
			d->del_status = in->old_status;
			d->del_threat = in->old_threat;
			d->add_threat = 1;
		}
		return;
	}
	/* Over the smallest recipient limit: unscannable for that recipient,
	 * whatever the scan up to the largest found. */
	over = p->scan_mode != SCAN_NONE && (int64_t)in->size > p->max_scan_bytes &&
	    in->verdict != VERDICT_UNSCANNABLE;
	if (over)
		snprintf(d->reason_buf, sizeof(d->reason_buf),
		    "over size limit (%zu > %lld bytes)", in->size, (long long)p->max_scan_bytes);
	switch (in->verdict) {
	case VERDICT_INFECTED:
		if (over && unscannable_level(p->on_unscannable) > infected_level(p->on_infected)) {
			d->reason = d->reason_buf;
			act_unscannable(d, in, 1);
		} else {
			act_infected(d, in);
		}
		break;
	case VERDICT_UNSCANNABLE:
		act_unscannable(d, in, 0);
		break;
	case VERDICT_ERROR:
		if (over && unscannable_level(p->on_unscannable) > error_level(p->on_error)) {
			d->reason = d->reason_buf;
			act_unscannable(d, in, 0);
		} else {
			act_error(d, in);
		}
		break;
	case VERDICT_CLEAN:
	case VERDICT_UNSCANNED:
	case VERDICT_REPAIRED:
		if (over) {
			d->verdict = VERDICT_UNSCANNABLE;
			d->reason = d->reason_buf;
			act_unscannable(d, in, 0);
		}
		break;
	}
	if (d->step != STEP_DONE)
		return;
	/* The changed message could not be applied: nothing half-done may
	 * go out, the client retries. */
	if (d->final == FINAL_CONTINUE && in->applied == OUT_FAILED)
		tempfail(d, "body replacement failed");
	finish(d, in);
}

int
decide_rcpt_notice(const struct decision *d, const struct decide_in *in, size_t i)
{
	const struct policy *p = in->rcpts[i].mr_policy;

	return d->notice && p != NULL && p->notify_recipients &&
	    (!d->delivered || p->notify_style == NOTIFY_MESSAGE);
}

const char *
decide_admin_notice(const struct decision *d, const struct decide_in *in, size_t i)
{
	const struct policy *p = in->rcpts[i].mr_policy;

	if (!d->notice || p == NULL || p->notify_admin == NULL)
		return NULL;
	for (size_t j = 0; j < i; j++) {
		const struct policy *q = in->rcpts[j].mr_policy;

		if (q != NULL && q->notify_admin != NULL &&
		    (q == p || strcasecmp(q->notify_admin, p->notify_admin) == 0))
			return NULL;
	}
	return p->notify_admin;
}

const char *
decide_final_name(enum decide_final f)
{
	switch (f) {
	case FINAL_CONTINUE:	return "continue";
	case FINAL_ACCEPT:	return "accept";
	case FINAL_REJECT:	return "reject";
	case FINAL_DISCARD:	return "discard";
	case FINAL_TEMPFAIL:	return "tempfail";
	}
	return "?";
}

const char *
decide_step_name(enum decide_step s)
{
	switch (s) {
	case STEP_DONE:		return "done";
	case STEP_QUARANTINE:	return "quarantine";
	case STEP_REPAIR:	return "repair";
	}
	return "?";
}
