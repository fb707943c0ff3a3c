/*
 * vendor_pkg - package pulls: the manifest at vendor_packages (at most
 * 1 MiB, fetched conditionally: the ETag and Last-Modified of its last 200
 * are kept between pulls, so an unchanged manifest costs a 304 and changes
 * nothing), each entry checked (updated_vendor_manifest.c); an entry not
 * yet in av_packages is downloaded into a temporary file of packages_dir
 * (at most VENDOR_PACKAGE_MAX bytes), kept only when its SHA-256 is the
 * manifest's (fsync, rename to its file name, fsync of the directory), then
 * recorded as an av_packages row.  A file name another row already uses
 * with other content is refused: a published package never changes under
 * its row.
 *
 * Ownership: the validators live here, used by the puller thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "store.h"
#include "updated.h"
#include "updated_vendor.h"

/* The manifest's validators, and the URL they belong to. */
static char vendor_pkg_url[VENDOR_URL_MAX + 1];
static char vendor_pkg_etag[256];
static char vendor_pkg_lastmod[64];

static const char VENDOR_SQL_HAVE[] =
    "SELECT id FROM av_packages WHERE platform = ?1 AND name = ?2 AND version = ?3"
    " AND sha256 = ?4";
static const char VENDOR_SQL_PATH[] =
    "SELECT sha256 FROM av_packages WHERE path = ?1 LIMIT 1";
static const char VENDOR_SQL_ADD[] =
    "INSERT INTO av_packages (platform, name, version, path, sha256, size, published)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/* 1 when the entry is recorded already, 0 not, -1 store error; *clash set
 * when its file name is another content's. */
static int
vendor_pkg_known(struct store *st, const struct vendor_item *it, int *clash)
{
	sqlite3_stmt *s;
	int r;

	*clash = 0;
	if ((s = store_prepare(st, VENDOR_SQL_HAVE)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, it->platform, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, it->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, it->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, it->sha256, -1, SQLITE_STATIC);
	if ((r = store_step(st, s, "av_packages lookup")) == STORE_STEP_ERROR)
		return -1;
	if (r == STORE_STEP_ROW) {
		sqlite3_reset(s);
		return 1;
	}
	if ((s = store_prepare(st, VENDOR_SQL_PATH)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, it->file, -1, SQLITE_STATIC);
	if ((r = store_step(st, s, "av_packages path")) == STORE_STEP_ERROR)
		return -1;
	if (r == STORE_STEP_ROW) {
		const unsigned char *sha = sqlite3_column_text(s, 0);

		*clash = sha == NULL || strcmp((const char *)sha, it->sha256) != 0;
		sqlite3_reset(s);
	}
	return 0;
}

static int
vendor_pkg_record(struct store *st, const struct vendor_item *it, uint64_t size)
{
	sqlite3_stmt *s;

	if ((s = store_prepare(st, VENDOR_SQL_ADD)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, it->platform, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, it->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, it->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, it->file, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, it->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)size);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)time(NULL));
	return store_run_stmt(st, s, "av_packages insert");
}

static void
vendor_hex(const uint8_t *d, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Downloads, checks, publishes and records one entry.  0, or -1 (recorded). */
static int
vendor_pkg_one(struct ud_conf *c, struct store *st, int pfd, const struct vendor_item *it)
{
	struct vendor_fetch f;
	char tmp[VENDOR_TMP_MAX], err[VENDOR_ERR_MAX], sha[65], buf[1536];
	struct jbuf j;
	int fd, clash, r;

	if ((r = vendor_pkg_known(st, it, &clash)) == 1)
		return 0;
	if (r == -1) {
		vendor_failed("package", it->name, "store error");
		return -1;
	}
	if (clash) {
		snprintf(err, sizeof(err), "%s: file name already published with other content",
		    it->file);
		vendor_failed("package", it->name, err);
		return -1;
	}
	if ((fd = vendor_tmp_open(pfd, it->file, tmp)) == -1) {
		snprintf(err, sizeof(err), "temporary file: %s", strerror(errno));
		vendor_failed("package", it->name, err);
		return -1;
	}
	memset(&f, 0, sizeof(f));
	f.url = it->url;
	f.fd = fd;
	f.max = VENDOR_PACKAGE_MAX;
	f.timeout = (long)c->u.vendor_timeout;
	f.retries = (int)c->u.vendor_retries;
	if ((r = vendor_fetch_run(&f, err, sizeof(err))) != 1) {
		if (r == 0)
			snprintf(err, sizeof(err), "%s: HTTP status %ld", it->url, f.status);
		goto fail;
	}
	vendor_hex(f.sha256, sizeof(f.sha256), sha);
	if (strcmp(sha, it->sha256) != 0) {
		snprintf(err, sizeof(err), "%s: SHA-256 %s, the manifest says %s", it->url,
		    sha, it->sha256);
		goto fail;
	}
	if (vendor_tmp_commit(fd, pfd, tmp, it->file, err, sizeof(err)) == -1) {
		close(fd);
		vendor_failed("package", it->name, err);
		return -1;
	}
	close(fd);
	if (vendor_pkg_record(st, it, f.size) == -1) {
		/* The file stays (the same bytes the row would name); the next
		 * pull records it. */
		vendor_failed("package", it->name, "store error recording it");
		return -1;
	}
	log_info("vendor: published package %s %s (%s) as %s, %llu bytes, sha256 %s",
	    it->name, it->version, it->platform, it->file, (unsigned long long)f.size, sha);
	jbuf_init(&j, buf, sizeof(buf));
	jbuf_str(&j, "package", it->name);
	jbuf_str(&j, "platform", it->platform);
	jbuf_str(&j, "version", it->version);
	jbuf_str(&j, "file", it->file);
	jbuf_str(&j, "sha256", sha);
	jbuf_int(&j, "size", (long long)f.size);
	event_emit(EV_UPDATE_PUBLISHED, SEV_INFO, 0, NULL, jbuf_end(&j));
	return 0;
fail:
	close(fd);
	unlinkat(pfd, tmp, 0);
	vendor_failed("package", it->name, err);
	return -1;
}

int
vendor_pkg_pull(struct ud_conf *c)
{
	struct vendor_fetch f;
	struct vendor_item *items = NULL;
	struct store *st;
	size_t n = 0, rejected = 0;
	char err[VENDOR_ERR_MAX];
	int r, rc = 0;

	memset(&f, 0, sizeof(f));
	f.url = c->u.vendor_packages;
	f.fd = -1;
	f.max = VENDOR_MANIFEST_MAX;
	f.timeout = (long)c->u.vendor_timeout;
	f.retries = (int)c->u.vendor_retries;
	/* Validators of another URL (a reload changed it) do not apply. */
	if (strcmp(vendor_pkg_url, f.url) == 0) {
		f.conditional = 1;
		snprintf(f.etag, sizeof(f.etag), "%s", vendor_pkg_etag);
		snprintf(f.last_modified, sizeof(f.last_modified), "%s", vendor_pkg_lastmod);
	}
	if ((r = vendor_fetch_run(&f, err, sizeof(err))) == -1) {
		vendor_failed("package", "manifest", err);
		return -1;
	}
	if (r == 0) {
		vendor_fetch_free(&f);
		if (f.status == 304) {
			log_info("vendor: package manifest not modified");
			return 0;
		}
		snprintf(err, sizeof(err), "%s: HTTP status %ld", f.url, f.status);
		vendor_failed("package", "manifest", err);
		return -1;
	}
	if (vendor_manifest_parse(f.body, f.len, f.url, &items, &n, &rejected,
	    err, sizeof(err)) == -1) {
		vendor_fetch_free(&f);
		vendor_failed("package", "manifest", err);
		return -1;
	}
	vendor_fetch_free(&f);
	if (rejected > 0) {
		char why[VENDOR_ERR_MAX + 128];

		snprintf(why, sizeof(why), "%zu entries refused; %s", rejected, err);
		vendor_failed("package", "manifest", why);
		rc = -1;
	}
	st = ud_store_get();
	for (size_t i = 0; i < n && !vendor_stopping(); i++)
		if (vendor_pkg_one(c, st, ud_packages_fd(), &items[i]) == -1)
			rc = -1;
	ud_store_put(st);
	free(items);
	/* The validators are kept only once every entry went in: a manifest
	 * with a failed download is fetched whole again next time. */
	if (rc == 0) {
		snprintf(vendor_pkg_url, sizeof(vendor_pkg_url), "%s", f.url);
		snprintf(vendor_pkg_etag, sizeof(vendor_pkg_etag), "%s", f.etag);
		snprintf(vendor_pkg_lastmod, sizeof(vendor_pkg_lastmod), "%s", f.last_modified);
	} else
		vendor_pkg_url[0] = '\0';
	return rc;
}
