/*
 * GET /bundle/PLATFORM (see updated_bundle.h, bundle_serve): the admitted
 * client's install bundle, built on request and streamed: bundle_open
 * checks and prepares it in the request (every refusal is an HTTP error,
 * and its exact length is the Content-Length), then a writer thread runs
 * bundle_write into a pipe that the response reads from, so a download
 * holds a pipe's worth of memory, not the bundle (the signature databases
 * are hundreds of MB in production).  A failure after the 200 (a file that
 * shrank) ends the response short of its length: the client sees a cut
 * transfer, and the installer refuses a cut payload.  HEAD builds nothing.
 *
 * Ownership: struct bundle_job is shared by the response (its reader and
 * free callbacks) and the writer thread; the last of the two to let go
 * frees it (closing the package, the databases, the pipe's ends, and
 * wiping the secret).
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

struct bundle_job {
	pthread_mutex_t    lock;
	int                refs;
	struct bundle_in   in;
	struct pkg         pkg;
	struct bundle     *b;
	int                pkg_fd, mirror_fd, rfd, wfd;
	char               url[512];
	char               client[UD_LOGIN_MAX + 16];
	char               subscriber[UD_NAME_MAX + 1];
	char               login[UD_LOGIN_MAX + 1];
	char               secret[UD_SECRET_MAX + 1];
};

static void
bundle_job_close(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

/* Drops one reference; the last frees the job. */
static void
bundle_job_put(struct bundle_job *j)
{
	int left;

	pthread_mutex_lock(&j->lock);
	left = --j->refs;
	pthread_mutex_unlock(&j->lock);
	if (left > 0)
		return;
	bundle_close(j->b);
	bundle_job_close(&j->pkg_fd);
	bundle_job_close(&j->mirror_fd);
	bundle_job_close(&j->rfd);
	bundle_job_close(&j->wfd);
	explicit_bzero(j->secret, sizeof(j->secret));
	pthread_mutex_destroy(&j->lock);
	free(j);
}

static void *
bundle_serve_writer(void *arg)
{
	struct bundle_job	*j = arg;
	char			 err[256];

	if (bundle_write(j->b, j->wfd, err, sizeof(err)) == -1 && errno != EPIPE)
		log_warnx("bundle %s for %s: %s (response cut)", j->pkg.platform, j->client, err);
	close(j->wfd);          /* the reader sees the end */
	j->wfd = -1;
	bundle_job_put(j);
	return NULL;
}

/* libmicrohttpd's reader: the next bytes from the pipe; its end before the
 * announced length is an error (the connection is closed). */
static ssize_t
bundle_serve_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct bundle_job	*j = cls;
	ssize_t			 n;

	(void)pos;
	do
		n = read(j->rfd, buf, max);
	while (n == -1 && errno == EINTR);
	return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void
bundle_serve_done(void *cls)
{
	struct bundle_job *j = cls;

	/* A writer still writing gets EPIPE and stops. */
	close(j->rfd);
	j->rfd = -1;
	bundle_job_put(j);
}

enum MHD_Result
bundle_serve(struct httpd_req *r, const struct ud_conf *c, const char *platform,
    struct ud_who *who)
{
	struct bundle_job	*j;
	struct pkg		 pkg;
	struct store		*st;
	struct MHD_Response	*resp;
	struct stat		 sb;
	pthread_attr_t		 attr;
	pthread_t		 t;
	enum MHD_Result		 rc;
	char			 client[UD_LOGIN_MAX + 16], fp[65], err[256], name[64], disp[96];
	unsigned		 start, len, minute;
	uint64_t		 size;
	int			 got, pfd, p[2], e, head;

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
	if (fstat(pfd, &sb) == -1 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != pkg.size) {
		log_warnx("bundle %s: package %s: not the %llu-byte file published", platform,
		    pkg.file, (unsigned long long)pkg.size);
		close(pfd);
		return httpd_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "package file changed");
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		close(pfd);
		return httpd_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
	}
	pthread_mutex_init(&j->lock, NULL);
	j->refs = 1;
	j->pkg = pkg;
	j->pkg_fd = pfd;
	j->rfd = j->wfd = -1;
	/* The job's own descriptor: the daemon's may close at a reload. */
	j->mirror_fd = ud_mirror_fd() == -1 ? -1 : fcntl(ud_mirror_fd(), F_DUPFD_CLOEXEC, 0);
	bundle_serve_url(c, who, j->url, sizeof(j->url));
	snprintf(j->client, sizeof(j->client), "%s", client);
	snprintf(j->subscriber, sizeof(j->subscriber), "%s", who->name);
	j->in.pkg = &j->pkg;
	j->in.pkg_fd = j->pkg_fd;
	j->in.mirror_fd = j->mirror_fd;
	j->in.mirror_url = j->url;
	if (strcmp(who->how, "login") == 0) {
		snprintf(j->login, sizeof(j->login), "%s", who->login);
		snprintf(j->secret, sizeof(j->secret), "%s", who->secret);
		j->in.login = j->login;
		j->in.secret = j->secret;
	}
	j->in.minute = minute;
	j->in.subscriber = j->subscriber;
	j->in.client = j->client;
	if ((j->b = bundle_open(&j->in, err, sizeof(err))) == NULL) {
		log_warnx("bundle %s for %s: %s", platform, client, err);
		bundle_job_put(j);
		return httpd_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "no bundle can carry this");
	}
	size = bundle_size(j->b);
	head = strcmp(r->method, "HEAD") == 0;
	if (!head && pipe2(p, O_CLOEXEC) == -1) {
		log_warn("bundle %s: pipe", platform);
		bundle_job_put(j);
		return httpd_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "out of resources");
	}
	if (!head) {
		j->rfd = p[0];
		j->wfd = p[1];
	}
	/* The response holds the job's reference from here. */
	if ((resp = MHD_create_response_from_callback(size, 64 * 1024, bundle_serve_read, j,
	    bundle_serve_done)) == NULL) {
		bundle_job_put(j);
		return MHD_NO;
	}
	if (!head) {
		j->refs++;      /* the writer's; no other thread has j yet */
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		e = pthread_create(&t, &attr, bundle_serve_writer, j);
		pthread_attr_destroy(&attr);
		if (e != 0) {
			j->refs--;
			log_warnx("bundle %s: pthread_create: %s", platform, strerror(e));
			MHD_destroy_response(resp);
			return httpd_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "out of resources");
		}
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
		r->reply_bytes = head ? 0 : size;
	}
	snprintf(who->what, sizeof(who->what), "bundle:%s", platform);
	return rc;
}
