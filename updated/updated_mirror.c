/*
 * updated_mirror - the private signature mirror stock freshclam updates
 * from (updated_mirror.h).
 *
 * No path is built from client text: the requested name must pass
 * uparse_mirror_name() (no '/', no "..", no '%', nothing but
 * [a-z0-9_] before the fixed suffixes) and is opened relative to the
 * mirror_dir descriptor with O_NOFOLLOW (a symlink planted there is not
 * followed: ELOOP, 404) and O_NONBLOCK (a FIFO planted there does not
 * block the thread), then must be a regular file.  Everything that fails
 * is 404, never 403: freshclam stops for 24 hours on a 403.
 *
 * Ownership: the descriptor opened here is given to httpd_file(), which
 * closes it whatever happens.  A download slot taken here
 * (who->mirror_slot) is freed by mirror_release() at the request's end.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"
#include "log.h"
#include "updated.h"
#include "updated_mirror.h"
#include "updated_parse.h"

#define MIRROR_CTYPE  "application/octet-stream"

/* GETs of mirror files being sent now, process-wide. */
static atomic_long mirror_inflight;

/* t as an IMF-fixdate into buf (30 bytes), in any locale. */
static void
mirror_date(int64_t t, char *buf, size_t len)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	    "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		tt = 0;
		gmtime_r(&tt, &tm);
	}
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday], tm.tm_mday,
	    mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * The modification time clients compare with: a CVD's or CLD's build time
 * from its header (freshclam sends the build time of its own copy as
 * If-Modified-Since), else the file's mtime.
 */
static int64_t
mirror_mtime(int fd, const struct stat *sb, const struct uparse_name *un, const char *name)
{
	char head[UPARSE_CVD_HEAD];
	struct uparse_cvd cvd;
	ssize_t n;

	if (un->sign || (un->kind != UPARSE_CVD && un->kind != UPARSE_CLD))
		return (int64_t)sb->st_mtime;
	n = pread(fd, head, sizeof(head), 0);
	if (n == (ssize_t)sizeof(head) && uparse_cvd_header(head, sizeof(head), &cvd) == 0)
		return cvd.stime;
	log_warnx("mirror: %s: no valid CVD header; its mtime stands for the build time", name);
	return (int64_t)sb->st_mtime;
}

enum MHD_Result
mirror_serve(struct httpd_req *r, const struct ud_conf *c, const char *name,
    struct ud_who *who)
{
	struct uparse_name un;
	struct stat sb;
	const char *ims;
	char date[40];
	int64_t lm, since;
	int fd;

	if (uparse_mirror_name(name, strlen(name), &un) == -1)
		return httpd_error(r, MHD_HTTP_NOT_FOUND, "no such file");
	fd = openat(ud_mirror_fd(), name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
			log_warn("mirror: %s", name);
			snprintf(date, sizeof(date), "%lld", c->u.retry_after);
			httpd_header(r, "Retry-After", date);
			return httpd_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy; retry later");
		}
		if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
			log_warn("mirror: %s", name);
		return httpd_error(r, MHD_HTTP_NOT_FOUND, "no such file");
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return httpd_error(r, MHD_HTTP_NOT_FOUND, "no such file");
	}
	snprintf(who->what, sizeof(who->what), "%s", name);
	lm = mirror_mtime(fd, &sb, &un, name);
	ims = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	if (ims != NULL && (since = uparse_http_date(ims)) != -1 && lm <= since) {
		close(fd);
		mirror_date(lm, date, sizeof(date));
		httpd_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, date);
		return httpd_text(r, MHD_HTTP_NOT_MODIFIED, MIRROR_CTYPE, "", 0);
	}
	/* A GET that sends the file holds a slot until the request ends. */
	if (strcmp(r->method, "GET") == 0 && !who->mirror_slot) {
		if (atomic_fetch_add(&mirror_inflight, 1) >= c->u.mirror_max_inflight) {
			atomic_fetch_sub(&mirror_inflight, 1);
			close(fd);
			snprintf(date, sizeof(date), "%lld", c->u.retry_after);
			httpd_header(r, "Retry-After", date);
			return httpd_error(r, MHD_HTTP_TOO_MANY_REQUESTS,
			    "too many downloads at once; retry later");
		}
		who->mirror_slot = 1;
	}
	mirror_date(lm, date, sizeof(date));
	httpd_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, date);
	return httpd_file(r, fd, (uint64_t)sb.st_size, MIRROR_CTYPE);
}

void
mirror_release(void)
{
	atomic_fetch_sub(&mirror_inflight, 1);
}
