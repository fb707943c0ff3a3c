/*
 * The catalog of event kinds: dotted names, one place.  secmgr correlates on
 * these strings; they are part of the store contract.  Add, never rename.
 */
#ifndef MOAT_EVENT_KINDS_H
#define MOAT_EVENT_KINDS_H

#define EV_MAIL_INFECTED        "mail.infected"
#define EV_MAIL_UNSCANNABLE     "mail.unscannable"
#define EV_MAIL_SCAN_ERROR      "mail.scan_error"
#define EV_MAIL_THREAT_SOURCE   "mail.threat_source"
#define EV_MAIL_REFUSED         "mail.refused"         /* unserved / suspended */
#define EV_MAIL_ACTION          "mail.action"          /* quarantine, repair, discard ... */
#define EV_MAIL_RELOAD          "mail.signatures_reloaded"
#define EV_QUARANTINE_STORED    "quarantine.stored"
#define EV_QUARANTINE_RELEASED  "quarantine.released"
#define EV_QUARANTINE_DELETED   "quarantine.deleted"
#define EV_QUARANTINE_RESCAN    "quarantine.rescan"
#define EV_QUARANTINE_DENIED    "quarantine.release_denied"  /* a caller's release refused */
#define EV_UPDATE_DENIED        "update.denied"
#define EV_UPDATE_DOWNLOAD      "update.download"
#define EV_UPDATE_PUBLISHED     "update.published"     /* a vendor database or package */
#define EV_UPDATE_VENDOR_FAILED "update.vendor_failed" /* a pull refused or failed: why */
#define EV_DECOY_CONNECT        "decoy.connect"
#define EV_DECOY_LOGIN          "decoy.login"
#define EV_DECOY_COMMAND        "decoy.command"
#define EV_DECOY_DOWNLOAD       "decoy.download"       /* a URL an intruder asked to fetch */
#define EV_DECOY_DISCONNECT     "decoy.disconnect"
#define EV_DECOY_ALERT          "decoy.alert"          /* an alert mail went out */
#define EV_SECMGR_RESPONSE      "secmgr.response"
#define EV_SECMGR_RULE_INVALID  "secmgr.rule_invalid"  /* a correlation rule skipped: why */
#define EV_POLICY_RELOADED      "policy.reloaded"
#define EV_SWITCH_APPLIED       "switch.applied"       /* moatctl switch apply loaded the table */

/* NULL-terminated list of every kind above, for validation and moatctl. */
extern const char *const event_kinds[];
/* 1 when kind is in the catalog. */
int event_kind_known(const char *kind);

#endif
