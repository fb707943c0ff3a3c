/*
 * mirror - the private signature mirror stock freshclam updates from
 * (updated_mirror.c): GET/HEAD of /<db>.cvd, /<db>.cld, /<db>-N.cdiff and
 * their .sign files from mirror_dir; Range (206, 416); If-Modified-Since
 * against the CVD header's build time (304); 404 -- never 403, which makes
 * freshclam stop for 24 hours -- for anything it does not have; 429 with
 * Retry-After above mirror_max_inflight downloads at once.
 */
#ifndef MOAT_UPDATED_MIRROR_H
#define MOAT_UPDATED_MIRROR_H

#include <stdint.h>
#include <microhttpd.h>

struct httpd_req;
struct ud_conf;
struct ud_who;

/* Serves the file named by the request's last path segment (already
 * decoded; anything that is not a mirror file name is 404), taking a slot
 * (who->mirror_slot = 1) and naming the download (who->what) when it
 * serves one. */
enum MHD_Result mirror_serve(struct httpd_req *r, const struct ud_conf *c,
    const char *name, struct ud_who *who);
/* The route handler of GET/HEAD /{}: a mirror name (else 404 at once),
 * then who asks (access_decide) -- refused is 404 here, not the denial
 * page's 403, with an update.denied event; bad credentials 401, throttled
 * 429 -- then mirror_serve. */
enum MHD_Result mirror_get(struct httpd_req *r);
/* The end of a request whose who->mirror_slot mirror_serve set: frees the
 * slot (called by updated_http.c's request cleanup, whatever happened). */
void mirror_release(void);

#endif
