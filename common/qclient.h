/*
 * qclient - client stub for moat-quarantined's HTTP/JSON API, shared by
 * moat-milter (submit) and moatctl (everything else).  Protocol constants
 * live here so both sides include one definition.
 *
 * API (HTTP/1.1 over a UNIX socket, or TCP+TLS with "Authorization: Bearer"):
 *   POST   /v1/items            body = raw message (Content-Type: message/rfc822),
 *                               metadata in the query string:
 *                               queue_id, subscriber (id), sender, rcpt (repeated),
 *                               virus (repeated), client, policy (id)
 *                               -> 201 {"id":N,"sha256":"..","size":N}
 *                               The 201 is sent only after the bytes are fsync'd,
 *                               renamed, the directory fsync'd and the row committed.
 *   GET    /v1/items?subscriber=&status=&since=&until=&virus=&sender=&recipient=&limit=&offset=
 *                               -> 200 {"items":[...],"total":N}
 *   GET    /v1/items/ID         -> 200 {item}
 *   GET    /v1/items/ID/raw     -> 200 message/rfc822
 *   POST   /v1/items/ID/release body optional {"recipients":["a@b",..]}
 *                               -> 200 {"id":N,"reply":"250 ..."} | 409 already released | 502 {"error":..}
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

struct qmeta {
	const char  *queue_id;
	int64_t      subscriber_id;   /* 0 = none */
	int64_t      policy_id;       /* 0 = none */
	const char  *sender;
	const char  *client_addr;
	const char *const *rcpts;     size_t nrcpts;
	const char *const *viruses;   size_t nviruses;
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
