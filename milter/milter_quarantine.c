/*
 * milter_quarantine - builds a quarantine submission from the message
 * context and hands it to qclient_submit() (see milter_quarantine.h).
 *
 * What the server needs to keep subscribers apart and to rescan honestly:
 *   - each recipient with its subscriber id (0 for an unserved one), so one
 *     stored file becomes one item per subscriber that lists only that
 *     subscriber's recipients;
 *   - the hold kind, so heuristic alerts and unscannable content are never
 *     released automatically or by a subscriber;
 *   - the scan settings this message was scanned with (scan_settings()),
 *     so a rescan repeats them exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "milter_quarantine.h"
#include "qclient.h"
#include "scanopts.h"

const char *
quarantine_hold(const struct scan_result *res)
{
	if (res->verdict == VERDICT_UNSCANNABLE)
		return QHOLD_UNSCANNABLE;
	if (scan_alert_unscannable(res->virus))
		return QHOLD_UNSCANNABLE;
	if (strncmp(res->virus, "Heuristics.", 11) == 0)
		return QHOLD_HEURISTIC;
	return QHOLD_VIRUS;
}

int
quarantine_submit(const struct milter_conn *cc, struct milter_msg *mc,
    const struct policy *pol, const struct subscriber *sub, const struct engine *en,
    const struct scan_result *res, int64_t *id, char *err, size_t errlen)
{
	const char **rcpts = NULL, *virus = res->virus[0] ? res->virus : res->reason;
	int64_t *subs = NULL;
	struct msgbuf *sp = &mc->mc_spool;
	struct scanopts so;
	struct qmeta m;
	char *settings = NULL;
	int rc = -1, fd = -1;

	*id = 0;
	if (milter_cf->quarantine == NULL) {
		snprintf(err, errlen, "no quarantine configured");
		return 0;
	}
	if (en != NULL) {
		scan_settings(en, pol, &so);
	} else {
		scanopts_default(&so);
		so.mime_walk = milter_cf->mime_walk;
		so.heuristics = pol->heuristics;
		so.scan_mode = pol->scan_mode;
		so.max_scan_bytes = pol->max_scan_bytes;
	}
	if ((rcpts = calloc(mc->mc_nrcpts + 1, sizeof(*rcpts))) == NULL ||
	    (subs = calloc(mc->mc_nrcpts + 1, sizeof(*subs))) == NULL ||
	    (settings = scanopts_encode(&so)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < mc->mc_nrcpts; i++) {
		rcpts[i] = mc->mc_rcpts[i].mr_addr;
		subs[i] = mc->mc_rcpts[i].mr_sub != NULL ? mc->mc_rcpts[i].mr_sub->id : 0;
	}
	memset(&m, 0, sizeof(m));
	m.queue_id = mc->mc_qid;
	m.subscriber_id = sub != NULL ? sub->id : 0;
	m.policy_id = pol->id;
	m.sender = mc->mc_sender;
	m.client_addr = cc->cc_addr;
	m.rcpts = rcpts;
	m.nrcpts = mc->mc_nrcpts;
	m.rcpt_subscribers = subs;
	m.viruses = &virus;
	m.nviruses = 1;
	m.hold = quarantine_hold(res);
	m.scan_settings = settings;
	if (sp->mb_fd != -1 && (fd = msgbuf_fd(sp)) != -1)
		lseek(fd, 0, SEEK_SET);
	rc = qclient_submit(milter_cf->quarantine, milter_cf->quarantine_token, &m, fd,
	    fd == -1 ? sp->mb_mem : NULL, fd == -1 ? sp->mb_len : 0,
	    (int)milter_cf->quarantine_timeout * 1000, id, err, errlen);
done:
	free(settings);
	free(subs);
	free(rcpts);
	return rc;
}
