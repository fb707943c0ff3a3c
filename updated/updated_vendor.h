/*
 * vendor - pulls from the vendors (updated_vendor.c), on its own thread:
 * signatures through libfreshclam into staging_dir, verified with
 * libclamav, then published atomically into mirror_dir (temporary file,
 * fsync, rename; the .cdiff history kept) and copied into the gateway's own
 * signature directory so moat-milter reloads; packages through libcurl
 * (conditional requests, timeouts, retries with backoff, Retry-After
 * honoured) from vendor_packages' manifest into packages_dir and
 * av_packages.  Every interval (with jitter), or at once on vendor_kick().
 * What changed is recorded as events.
 *
 * Files: updated_vendor.c (the thread, the schedule, one pull),
 * updated_vendor_sigs.c (libfreshclam, verification, publishing, cdiffs),
 * updated_vendor_pkg.c (the manifest's packages), updated_vendor_manifest.c
 * (the manifest parser: outside input), updated_vendor_fetch.c (one libcurl
 * transfer with its bounds and retries).
 */
#ifndef MOAT_UPDATED_VENDOR_H
#define MOAT_UPDATED_VENDOR_H

#include <stddef.h>
#include <stdint.h>

#include "updated_packages.h"

struct ud_conf;

/* After the drop.  0, or -1 with err set. */
int  vendor_start(char *err, size_t errlen);
/* Asks for a pull now (SIGUSR1, moatctl mirror pull). */
void vendor_kick(void);
/* A new configuration generation c (HUP, the reload hook: c is not current
 * yet): the next pull is re-planned with its vendor_interval and
 * vendor_jitter, from the end of the last pull. */
void vendor_reconf(const struct ud_conf *c);
/* Waits for a pull in progress to end, then stops the thread.  Transfers of
 * packages, patches and .sign files end at once (a progress callback), and
 * so do sleeps between retries; a libfreshclam transfer ends by its own
 * limits: connecting at most min(vendor_timeout, 30 s), stalled (under
 * 1 byte/s) at most vendor_timeout. */
void vendor_stop(void);
/* One pull, synchronously, in the caller's thread (tests; the thread must
 * not be running).  0 when everything pulled (or nothing was configured),
 * -1 when a part failed (logged, and an update.vendor_failed event). */
int  vendor_pull_once(void);

/* ---- inside the module (and its unit test) ---- */

#define VENDOR_MANIFEST_MAX   (1024 * 1024)          /* bytes */
#define VENDOR_PACKAGE_MAX    (2ULL << 30)           /* 2 GiB */
#define VENDOR_MANIFEST_ITEMS 256
#define VENDOR_URL_MAX        2048
#define VENDOR_ERR_MAX        (VENDOR_URL_MAX + 512)   /* a reason text */

/* One validated manifest entry: every field checked, url absolute
 * (resolved against the manifest's), file its last path segment. */
struct vendor_item {
	char  platform[PKG_PLATFORM_MAX + 1];
	char  name[PKG_NAME_MAX + 1];
	char  version[PKG_VERSION_MAX + 1];
	char  url[VENDOR_URL_MAX + 1];
	char  file[PKG_FILE_MAX + 1];
	char  sha256[65];                 /* lower-case hex */
};

/*
 * Parses a manifest: a JSON array (at most VENDOR_MANIFEST_ITEMS) of
 * objects {platform, name, version, url, sha256}, all strings; other keys
 * are ignored.  An entry that fails a check is left out and counted in
 * *rejected (the first reason in err).  Returns 0 with *out (malloc'd, free
 * it; NULL when *n is 0), or -1 when the whole text is refused (not JSON,
 * not an array, too long, too many entries) with err set.
 */
int  vendor_manifest_parse(const char *text, size_t len, const char *base_url,
    struct vendor_item **out, size_t *n, size_t *rejected, char *err, size_t errlen);

/* One transfer (updated_vendor_fetch.c). */
struct vendor_fetch {
	/* In. */
	const char *url;
	int         fd;             /* the body goes here; -1: into body/len */
	uint64_t    max;            /* bytes; more is an error */
	long        timeout;        /* seconds, each attempt */
	int         retries;        /* after the first attempt */
	int         conditional;    /* send the validators below */
	/* In and out: the validators of the last 200 (kept between pulls). */
	char        etag[256];
	char        last_modified[64];
	/* Out. */
	long        status;         /* the last HTTP status, 0 none */
	char       *body;           /* fd == -1: malloc'd, NUL-terminated */
	size_t      len;
	uint64_t    size;           /* bytes of the 200's body */
	uint8_t     sha256[32];     /* of those bytes */
	int         attempts;
	long        waited;         /* seconds slept between attempts */
};

/* 1 a body (200), 0 not modified (304) or absent (404: status says which),
 * -1 failed after the retries (err says why).  Retries connection errors,
 * timeouts, 5xx and 429 with exponential backoff (1, 2, 4 ... s, at most
 * 300), or after Retry-After on 429/503 when it is given (at most
 * timeout).  Sleeps end at once when the puller is stopping (-1). */
int  vendor_fetch_run(struct vendor_fetch *f, char *err, size_t errlen);
void vendor_fetch_free(struct vendor_fetch *f);

/* updated_vendor.c: sleeps up to secs, 0, or -1 at once when stopping. */
int  vendor_sleep(long secs);
int  vendor_stopping(void);
/* Records and logs a failed part: what ("signatures", "package"), about
 * (a database, a package name or NULL) and why. */
void vendor_failed(const char *what, const char *about, const char *why);

/* updated_vendor_sigs.c: signatures.  0, or -1 (recorded). */
int  vendor_sigs_pull(struct ud_conf *c);
/* Checks a .cdiff's embedded signature (ClamAV's key) and that its header
 * names version.  fd: the whole file.  0, or -1 with err set. */
int  vendor_cdiff_verify(int fd, unsigned version, char *err, size_t errlen);

/* updated_vendor_pkg.c: packages.  0, or -1 (recorded). */
int  vendor_pkg_pull(struct ud_conf *c);

/* Copies src_fd from its start to dst_fd.  0, or -1 with err set. */
int  vendor_copy(int src_fd, int dst_fd, char *err, size_t errlen);
/* Copies the regular file src_fd into dir_fd as name atomically: a
 * temporary file in dir_fd, fsync, renameat, fsync of the directory.  0, or
 * -1 with err set (nothing left behind). */
int  vendor_publish_fd(int src_fd, int dir_fd, const char *name, char *err, size_t errlen);
/* An O_EXCL temporary file in dir_fd for name: ".vendor-XXXXXXXX-NAME"
 * (hidden: the mirror serves no name starting with '.'; the real extension
 * kept: libclamav tells a .cvd from a .cld by it).  Its fd with the name in
 * tmp, or -1 (errno). */
#define VENDOR_TMP_MAX (PKG_FILE_MAX + 20)
int  vendor_tmp_open(int dir_fd, const char *name, char tmp[VENDOR_TMP_MAX]);
/* fsync fd, renameat tmp to name in dir_fd, fsync dir_fd.  Unlinks tmp on
 * failure.  0, or -1 with err set. */
int  vendor_tmp_commit(int fd, int dir_fd, const char *tmp, const char *name,
    char *err, size_t errlen);

#endif
