/*
 * quarantined_api - the request context shared by the route table
 * (quarantined_http.c, served by common/httpd) and the route handlers
 * (quarantined_api.c).  Private to moat-quarantined.
 */
#ifndef MOAT_QUARANTINED_API_H
#define MOAT_QUARANTINED_API_H

#include <microhttpd.h>

#include "httpd.h"
#include "quarantined.h"

enum route {
	R_NONE, R_HEALTH, R_ITEMS, R_ITEM, R_RAW, R_RELEASE, R_RESCAN, R_PURGE, R_DIGESTS
};

/* One request: httpd's part first (httpd allocates the whole, req_size),
 * freed by httpd after http_req_done() whatever happened to it.  h.status
 * and h.err hold an error decided early, h.body a collected JSON body. */
struct hreq {
	struct httpd_req     h;
	struct qd           *qd;
	enum route           route;
	int64_t              id;
	struct qauth         auth;
	int                  uploading;   /* up holds a temporary file */
	struct qspool_upload  up;
	long long            max_upload;
	struct submit_meta   meta;
	int                  meta_bad;
};

/* Decides an error now; it is sent when the request is complete.  The
 * first decision wins. */
void hreq_fail(struct hreq *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Pure parts of the HTTP layer, exposed for unit and fuzz tests. */
/* The route and id of a decoded path: 0, or 404 / 400 (malformed id). */
unsigned http_route(const char *url, enum route *route, int64_t *id);
/* In-place percent-decoding that keeps "%00" encoded; the new length. */
size_t http_unescape(void *cls, struct MHD_Connection *c, char *s);

/* POST /v1/items: first call, each body chunk, end of body. */
void submit_begin(struct hreq *r, struct MHD_Connection *c);
void submit_data(struct hreq *r, const char *data, size_t len);
enum MHD_Result submit_end(struct hreq *r, struct MHD_Connection *c);
/* The other routes, called once the request is complete. */
enum MHD_Result api_list(struct hreq *r, struct MHD_Connection *c);
enum MHD_Result api_show(struct hreq *r, struct MHD_Connection *c);
enum MHD_Result api_raw(struct hreq *r, struct MHD_Connection *c);
enum MHD_Result api_release(struct hreq *r, struct MHD_Connection *c);
enum MHD_Result api_delete(struct hreq *r, struct MHD_Connection *c);
enum MHD_Result api_job(struct hreq *r, struct MHD_Connection *c);

#endif
