/*
 * GET /bundle/PLATFORM (see updated_bundle.h, bundle_serve): the admitted
 * client's install bundle, built on request into a memfd and sent from it.
 *
 * The client key that fixes the update time is who asks: "login:NAME" for
 * Basic credentials, "cert:SHA256" for a certificate, "ip:ADDRESS" for a
 * subscriber's network.  freshclam.conf points at the listener the request
 * came through (public_https_url for HTTPS, public_url for plain HTTP,
 * else the listen address): a client that reached us there can reach the
 * mirror there, and a bundle fetched over HTTPS does not send its
 * credentials in the clear afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "log.h"
#include "store.h"
#include "updated.h"
#include "updated_bundle.h"
#include "updated_packages.h"
#include "updated_window.h"

/* No control characters (they cannot be written safely into a bundle). */
static int
bundle_serve_text_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* The base URL freshclam is pointed at, into buf. */
static void
bundle_serve_url(const struct ud_conf *c, const struct ud_who *who, char *buf, size_t len)
{
	if (who->https && c->u.public_https_url != NULL)
		snprintf(buf, len, "%s", c->u.public_https_url);
	else if (who->https && c->u.listen_https != NULL)
		snprintf(buf, len, "https://%s", c->u.listen_https);
	else if (c->u.public_url != NULL)
		snprintf(buf, len, "%s", c->u.public_url);
	else if (c->u.listen != NULL)
		snprintf(buf, len, "http://%s", c->u.listen);
	else if (c->u.public_https_url != NULL)
		snprintf(buf, len, "%s", c->u.public_https_url);
	else
		snprintf(buf, len, "https://%s", c->u.listen_https ? c->u.listen_https : "");
}

static enum MHD_Result
bundle_serve_fd(struct httpd_req *r, int fd, uint64_t size, const char *platform)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 rc;
	char			 name[64], disp[96];

	if ((resp = MHD_create_response_from_fd64(size, fd)) == NULL) {
		close(fd);
		return MHD_NO;
	}
	bundle_filename(platform, name, sizeof(name));
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, bundle_ctype(platform));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
	/* It may carry the client's credentials: no cache keeps it. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	rc = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	if (rc == MHD_YES) {
		r->reply_status = MHD_HTTP_OK;
		r->reply_bytes = strcmp(r->method, "HEAD") == 0 ? 0 : size;
	}
	return rc;
}

enum MHD_Result
bundle_serve(struct httpd_req *r, const struct ud_conf *c, const char *platform,
    struct ud_who *who)
{
	struct bundle_in	 in;
	struct pkg		 pkg;
	struct store		*st;
	struct stat		 sb;
	char			 client[UD_LOGIN_MAX + 16], fp[65], url[512], err[256];
	unsigned		 start, len, minute;
	int			 got, pfd, out;

	if (!packages_platform_ok(platform))
		return httpd_error(r, MHD_HTTP_NOT_FOUND, "no bundle for this platform");
	if (!bundle_serve_text_ok(who->login) || !bundle_serve_text_ok(who->secret) ||
	    !bundle_serve_text_ok(who->name))
		return httpd_error(r, MHD_HTTP_BAD_REQUEST,
		    "control characters in the credentials or name cannot go into a bundle");
	if (strcmp(who->how, "login") == 0)
		snprintf(client, sizeof(client), "login:%s", who->login);
	else if (strcmp(who->how, "cert") == 0 && httpd_peer_sha256(r, fp) == 1)
		snprintf(client, sizeof(client), "cert:%s", fp);
	else
		snprintf(client, sizeof(client), "ip:%s", who->client);
	if (window_parse(c->u.window, &start, &len) == -1)
		return httpd_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "bad update window");

	st = ud_store_get();
	got = packages_for(st, platform, &pkg);
	if (got == 1 && schedule_get(st, who->subscriber, client, platform, start, len,
	    &minute) == -1)
		got = -1;
	ud_store_put(st);
	if (got == -1)
		return httpd_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "store error");
	if (got == 0)
		return httpd_error(r, MHD_HTTP_NOT_FOUND, "no package published for this platform");

	if (!packages_file_ok(pkg.file) || (pfd = openat(ud_packages_fd(), pkg.file,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) == -1) {
		log_warnx("bundle %s: package %s: %s", platform, pkg.file, strerror(errno));
		return httpd_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "package file missing");
	}
	if ((out = memfd_create("moat-bundle", MFD_CLOEXEC)) == -1) {
		log_warn("bundle %s: memfd_create", platform);
		close(pfd);
		return httpd_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "out of resources");
	}
	bundle_serve_url(c, who, url, sizeof(url));
	memset(&in, 0, sizeof(in));
	in.pkg = &pkg;
	in.pkg_fd = pfd;
	in.mirror_fd = ud_mirror_fd();
	in.mirror_url = url;
	if (strcmp(who->how, "login") == 0) {
		in.login = who->login;
		in.secret = who->secret;
	}
	in.minute = minute;
	in.subscriber = who->name;
	in.client = client;
	got = bundle_build(&in, out, err, sizeof(err));
	close(pfd);
	if (got == -1 || fstat(out, &sb) == -1 || lseek(out, 0, SEEK_SET) == -1) {
		log_warnx("bundle %s for %s: %s", platform, client, got == -1 ? err : strerror(errno));
		close(out);
		return httpd_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "the bundle could not be built");
	}
	snprintf(who->what, sizeof(who->what), "bundle:%s", platform);
	return bundle_serve_fd(r, out, (uint64_t)sb.st_size, platform);
}
