/*
 * updated_mirror_route - the mirror's route (GET/HEAD /{}, see
 * updated_mirror.h): the name checked first, then who asks, then
 * mirror_serve.  Apart from updated_mirror.c so that the serving part
 * links without the daemon's state (updated_mirror_test.c).
 */
#include <stdio.h>
#include <string.h>

#include "event_kinds.h"
#include "events.h"
#include "httpd.h"
#include "updated.h"
#include "updated_mirror.h"
#include "updated_parse.h"

/*
 * A refusal on the mirror: never 403 (freshclam would stop for a day), and
 * the same 404 as for a file we do not have, so an outsider learns nothing
 * of what is published; an update.denied event as the other routes emit.
 */
static enum MHD_Result
mirror_refuse(struct httpd_req *r, const struct ud_conf *c, struct ud_who *who, int a)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;
	char detail[512], ra[32];
	struct jbuf j;

	if (a == -1)
		return httpd_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "store error");
	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "path", r->log_path);
	jbuf_str(&j, "reason", a == -2 ? "bad credentials" : a == -3 ? "throttled" :
	    who->suspended ? "suspended" : "not a subscriber");
	jbuf_str(&j, "peer", who->peer);
	event_emit(EV_UPDATE_DENIED, SEV_NOTICE, 0, who->client, jbuf_end(&j));
	if (a == -2) {
		if ((resp = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT)) == NULL)
			return MHD_NO;
		rc = MHD_queue_basic_auth_fail_response(r->conn, "moat-updated", resp);
		MHD_destroy_response(resp);
		r->reply_status = MHD_HTTP_UNAUTHORIZED;
		return rc;
	}
	if (a == -3) {
		snprintf(ra, sizeof(ra), "%lld", c->u.retry_after);
		httpd_header(r, "Retry-After", ra);
		return httpd_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "too many bad passwords");
	}
	return httpd_error(r, MHD_HTTP_NOT_FOUND, "no such file");
}

enum MHD_Result
mirror_get(struct httpd_req *r)
{
	struct ud_who *who = ud_http_who(r);
	struct uparse_name un;
	struct ud_conf *c;
	enum MHD_Result rc;
	int a;

	/* Junk is answered before any credential is hashed. */
	if (uparse_mirror_name(r->arg[0], strlen(r->arg[0]), &un) == -1)
		return httpd_error(r, MHD_HTTP_NOT_FOUND, "no such file");
	a = access_decide(r, who);
	c = ud_conf_get();
	rc = a == 1 ? mirror_serve(r, c, r->arg[0], who) : mirror_refuse(r, c, who, a);
	ud_conf_put(c);
	return rc;
}
