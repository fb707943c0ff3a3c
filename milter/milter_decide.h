/*
 * milter_decide.h - the end-of-message decision as a pure function.
 *
 * decide() maps what is known about a message (the verdict, its recipients
 * and their policies, the outcomes of the steps taken so far) to what to do
 * with it: the reply, the header changes, the notices, the usage counts,
 * the events.  No libmilter, no I/O, no allocation: milter_action.c applies
 * the result, and the golden tests (milter_decide_test.c,
 * testdata/decide/) read it.
 *
 * Some decisions need an outcome first (is the original stored in the
 * quarantine?  did the repair work?): decide() then returns a step, the
 * caller performs it, records the outcome in the input and calls decide()
 * again.  Each step is asked for at most once, so the loop ends after at
 * most three calls.
 */
#ifndef MOAT_MILTER_DECIDE_H
#define MOAT_MILTER_DECIDE_H

#include <stddef.h>

#include "events.h"
#include "milter.h"

enum decide_step  { STEP_DONE, STEP_QUARANTINE, STEP_REPAIR };
/* What the MTA is told: SMFIS_CONTINUE, _ACCEPT, _REJECT, _DISCARD, _TEMPFAIL. */
enum decide_final { FINAL_CONTINUE, FINAL_ACCEPT, FINAL_REJECT, FINAL_DISCARD, FINAL_TEMPFAIL };
/* The outcome of a step: not tried yet, done, refused (not configured, not
 * repairable, still infected), failed (transport or I/O error). */
enum decide_outcome { OUT_NOT_TRIED, OUT_OK, OUT_NO, OUT_FAILED };

struct decide_in {
	enum verdict               verdict;      /* of the scan under the combined policy */
	const char                *virus;        /* INFECTED: the name, else "" */
	const char                *reason;       /* UNSCANNABLE, ERROR, UNSCANNED: why, else "" */
	const struct policy       *pol;          /* combined (policy_combine); NULL: all unserved */
	size_t                     size;         /* message bytes */
	const struct milter_rcpt  *rcpts;        /* mr_addr, mr_policy (NULL: unserved) */
	size_t                     nrcpts;
	int                        threat;       /* a threat source tagged the connection */
	int                        forged;       /* the virus belongs to a sender-forging family */
	int                        has_sender;   /* MAIL FROM was not <> */
	int                        has_subject;
	int                        quarantine_configured;
	/* Copies of Moat's own headers that arrived with the message. */
	int                        old_scanned, old_status, old_threat;
	/* Outcomes, filled in by the caller between calls. */
	enum decide_outcome        quarantined, repaired, applied;
};

struct decision {
	enum decide_step   step;           /* not DONE: perform, record, decide again */
	enum decide_final  final;
	const char        *action;         /* pass tag reject discard quarantine repair
	                                      repair+quarantine tempfail */
	enum verdict       verdict;        /* as shown: REPAIRED after a repair */
	const char        *reason;         /* as shown: may say "over size limit" */
	char               reason_buf[160];
	int                delivered;      /* the message goes on (maybe changed) */
	/* The reply (REJECT, TEMPFAIL): code, extended code, one-line text. */
	const char        *code, *xcode;
	char               text[400];
	/* Headers (delivered only): forged copies to delete, ours to add. */
	int                del_scanned, del_status, del_threat;
	int                add_status, add_threat;
	const char        *subject_prefix; /* NULL: subject unchanged */
	/* Notices (infected, not tempfailed). */
	int                notice;
	int                notify_sender;
	int                copy_notice;    /* -1 none, else NOTIFY_APPEND / NOTIFY_ATTACHMENT */
	/* Usage: counted once per served subscriber unless tempfailed. */
	int                count;
	struct usage_delta usage;
	/* Events, kinds from event_kinds.h (NULL: none). */
	const char        *event[2];
	enum event_severity event_sev[2];
};

/* Fills d from in.  Always succeeds. */
void        decide(const struct decide_in *in, struct decision *d);
/* 1 when recipient i gets a separate notice message (by its own policy). */
int         decide_rcpt_notice(const struct decision *d, const struct decide_in *in, size_t i);
/* The admin address of recipient i's policy when it gets a notice and no
 * earlier recipient's policy names the same address; NULL otherwise. */
const char *decide_admin_notice(const struct decision *d, const struct decide_in *in, size_t i);
/* Names for logs and the golden files. */
const char *decide_final_name(enum decide_final f);
const char *decide_step_name(enum decide_step s);

#endif
