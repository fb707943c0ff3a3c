/*
 * qclient - client stub for moat-quarantined's HTTP/JSON API, shared by
 * moat-milter (submit) and moatctl (everything else).  Protocol constants
 * live here so both sides include one definition.
 *
 * API (HTTP/1.1 over a UNIX socket, or TCP+TLS with "Authorization: Bearer"):
 *   POST   /v1/items            body = raw message (Content-Type: message/rfc822),
 *                               metadata in the query string (QARG_* below):
 *                               queue_id, subscriber (id), sender, rcpt (repeated:
 *                               a recipient of `subscriber`), rcpt_of (repeated:
 *                               "SUBSCRIBER_ID:address", 0 = no subscriber), virus
 *                               (repeated), client, policy (id: the policy that
 *                               decided, kept on the item of `subscriber`; the other
 *                               items follow their own subscriber's policy), hold
 *                               (virus|heuristic|unscannable), scan (the scan
 *                               settings as JSON, common/scanopts.h)
 *                               -> 201 {"id":N,"sha256":"..","size":N,
 *                                       "items":[{"id":N,"subscriber":N|null},..]}
 *                               One stored file; one item per subscriber among the
 *                               recipients, each listing only that subscriber's
 *                               recipients (recipients of no subscriber: an item
 *                               with subscriber null, seen by operators only).
 *                               The 201 is sent only after the bytes are fsync'd,
 *                               renamed, the directory fsync'd and the rows committed.
 *   GET    /v1/items?subscriber=&status=&since=&until=&virus=&sender=&recipient=&limit=&offset=
 *                               -> 200 {"items":[...],"total":N}
 *   GET    /v1/items/ID         -> 200 {item}
 *   GET    /v1/items/ID/raw     -> 200 message/rfc822
 *   POST   /v1/items/ID/release body optional {"recipients":["a@b",..]}
 *                               -> 200 {"id":N,"reply":"250 ..."} | 409 already released | 502 {"error":..}
 *                               A subscriber token: 404 for an item not its own, 403
 *                               for a heuristic or unscannable hold (operators only)
 *                               and for any recipient not among the item's own.
 *   DELETE /v1/items/ID         -> 200
 *   POST   /v1/rescan           -> 200 {"rescanned":N,"clean":N,"released":N}
 *   POST   /v1/purge            -> 200 {"purged":N}
 *   POST   /v1/digests          -> 200 {"sent":N}
 *   GET    /v1/health           -> 200 {"status":"ok"}
 * Errors: 4xx/5xx with {"error":"text"}.
 */
#ifndef MOAT_QCLIENT_H
#define MOAT_QCLIENT_H

#include <stddef.h>
#include <stdint.h>

#define QUARANTINE_API_PREFIX "/v1"

/* Submission metadata: query parameters of POST /v1/items. */
#define QARG_QUEUE_ID    "queue_id"
#define QARG_SUBSCRIBER  "subscriber"
#define QARG_POLICY      "policy"
#define QARG_SENDER      "sender"
#define QARG_CLIENT      "client"
#define QARG_RCPT        "rcpt"        /* a recipient of QARG_SUBSCRIBER */
#define QARG_RCPT_OF     "rcpt_of"     /* "SUBSCRIBER_ID:address", 0 = none */
#define QARG_VIRUS       "virus"
#define QARG_HOLD        "hold"
#define QARG_SCAN        "scan"

/* Filters: query parameters of GET /v1/items. */
#define QLIST_SUBSCRIBER "subscriber"
#define QLIST_STATUS     "status"       /* QSTATUS_* */
#define QLIST_SINCE      "since"
#define QLIST_UNTIL      "until"
#define QLIST_VIRUS      "virus"
#define QLIST_SENDER     "sender"
#define QLIST_RECIPIENT  "recipient"
#define QLIST_LIMIT      "limit"
#define QLIST_OFFSET     "offset"

/* An item's status (quarantine.status). */
#define QSTATUS_HELD     "held"
#define QSTATUS_RELEASED "released"
#define QSTATUS_DELETED  "deleted"

/* Paths under QUARANTINE_API_PREFIX. */
#define QPATH_ITEMS      "/items"
#define QPATH_RAW        "raw"          /* /items/ID/raw */
#define QPATH_RELEASE    "release"      /* /items/ID/release */
#define QPATH_RESCAN     "/rescan"
#define QPATH_PURGE      "/purge"
#define QPATH_DIGESTS    "/digests"
#define QPATH_HEALTH     "/health"

/* JSON member names of requests and replies.  An item's own members are its
 * quarantine columns (quarantined_index.c); the ones clients read are here. */
#define QJ_ERROR         "error"
#define QJ_ID            "id"
#define QJ_SHA256        "sha256"
#define QJ_SIZE          "size"
#define QJ_ITEMS         "items"
#define QJ_TOTAL         "total"
#define QJ_SUBSCRIBER    "subscriber"
#define QJ_STATUS        "status"
#define QJ_RECIPIENTS    "recipients"   /* release body; an item's recipients */
#define QJ_BY            "by"           /* release body: who released */
#define QJ_REPLY         "reply"
#define QJ_RESCANNED     "rescanned"
#define QJ_CLEAN         "clean"
#define QJ_RELEASED      "released"
#define QJ_INFECTED      "infected"
#define QJ_CHANGED       "changed"
#define QJ_ERRORS        "errors"
#define QJ_PURGED        "purged"
#define QJ_SENT          "sent"
/* Item members (quarantine columns) that moatctl shows. */
#define QJ_RECEIVED      "received"
#define QJ_SENDER        "sender"
#define QJ_VIRUSES       "viruses"
#define QJ_HOLD          "hold"
#define QJ_SUBSCRIBER_ID "subscriber_id"
#define QJ_FP_CANDIDATE  "fp_candidate"
#define QJ_QUEUE_ID      "queue_id"

/* Why an item is held (quarantine.hold).  Only a 'virus' hold is ever
 * released automatically or by a subscriber; heuristic alerts and
 * unscannable content are released by an operator. */
#define QHOLD_VIRUS       "virus"
#define QHOLD_HEURISTIC   "heuristic"
#define QHOLD_UNSCANNABLE "unscannable"

struct qmeta {
	const char  *queue_id;
	int64_t      subscriber_id;   /* 0 = none */
	int64_t      policy_id;       /* 0 = none */
	const char  *sender;
	const char  *client_addr;
	const char *const *rcpts;     size_t nrcpts;
	/* Each recipient's subscriber (0 = none), parallel to rcpts; NULL: all
	 * recipients are subscriber_id's (sent as QARG_RCPT). */
	const int64_t *rcpt_subscribers;
	const char *const *viruses;   size_t nviruses;
	const char  *hold;            /* QHOLD_*, NULL: the server infers it from the names */
	const char  *scan_settings;   /* scanopts_encode() text, NULL = not sent */
};

/*
 * endpoint: "unix:/path/to/sock" or "http(s)://host:port".  token may be NULL.
 * Submits the message (fd read from offset 0 to EOF, or buf/len when fd < 0).
 * Returns 1 stored (*id set), 0 refused by the server (err says why: the
 * caller must not treat the message as quarantined), -1 transport error.
 * timeout_ms bounds the whole exchange.
 */
int qclient_submit(const char *endpoint, const char *token, const struct qmeta *m,
    int fd, const void *buf, size_t len, int timeout_ms, int64_t *id,
    char *err, size_t errlen);

/*
 * Generic request for moatctl: method, path (with query), optional body.
 * On return *status is the HTTP status and *resp a malloc'd NUL-terminated
 * body (caller frees).  Returns 0, or -1 on transport error (err set).
 */
int qclient_request(const char *endpoint, const char *token, const char *method,
    const char *path, const void *body, size_t bodylen, const char *content_type,
    int timeout_ms, long *status, char **resp, size_t *resplen, char *err, size_t errlen);

#endif
