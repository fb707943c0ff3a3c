/*
 * milter_quarantine - the submission of a message to moat-quarantined
 * (common/qclient.h): the metadata built from the message context and the
 * scan result.
 */
#ifndef MOAT_MILTER_QUARANTINE_H
#define MOAT_MILTER_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

#include "milter.h"

/* The hold kind of a scan result: QHOLD_UNSCANNABLE for unscannable
 * content (encrypted, limits, size), QHOLD_HEURISTIC for a Heuristics.*
 * alert, QHOLD_VIRUS for a signature. */
const char *quarantine_hold(const struct scan_result *res);

/*
 * Stores the original message (mc's spool) in the quarantine: every
 * recipient with its own subscriber (so the server files one item per
 * subscriber, each with only its recipients), the hold kind and the scan
 * settings of en under pol (en may be NULL: the settings are then the
 * defaults with pol's).  sub is the subscriber whose policy decided.
 * Returns 1 stored (*id = the first item), 0 refused or no quarantine
 * configured, -1 transport error; err says why.
 */
int quarantine_submit(const struct milter_conn *cc, struct milter_msg *mc,
    const struct policy *pol, const struct subscriber *sub, const struct engine *en,
    const struct scan_result *res, int64_t *id, char *err, size_t errlen);

#endif
