/*
 * vendor_sigs - signature pulls.  libfreshclam (freshclam's own protocol:
 * the CVD header read with If-Modified-Since, freshclam.dat's cool-down
 * after a 429/403 honoured, one database per call so one bad database does
 * not hold back the others) downloads whole CVDs from vendor_mirror, used
 * as a DatabaseMirror without DNS, into staging_dir.  A whole CVD carries
 * the vendor's signature, so each is checked with libclamav
 * (cl_cvdverify: digest, RSA signature, the archive loads) twice: in
 * libfreshclam's download-complete callback, and again on the copy that
 * is about to be published.  A database newer than mirror_dir's is
 * published in this order so a client never finds a header it cannot
 * follow: the .cdiff patches between the two versions (fetched from the
 * vendor, each one's embedded signature checked with ClamAV's key) and
 * the .sign files the vendor has, then the .cvd itself; each file a
 * temporary file in mirror_dir, fsync, rename, fsync of the directory.
 * Last the verified database is copied the same way into the gateway's
 * signature directory (moat-milter reloads on its change).
 *
 * libfreshclam changes the process's working directory (to staging_dir);
 * moat-updated opens nothing by a relative path, and the previous one is
 * restored after each pull.  Its global state is only used here, on the
 * puller thread.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clamav.h>
#include <libfreshclam.h>
#include <nettle/sha2.h>

#include "events.h"
#include "log.h"
#include "updated.h"
#include "updated_vendor.h"

#define VENDOR_DB_MAX     16
#define VENDOR_DBNAME_MAX 64
#define VENDOR_CDIFF_MAX  (256ULL << 20)
#define VENDOR_SIGN_MAX   (64ULL << 10)
#define VENDOR_CDIFF_GAP  1000      /* more patches than this: the .cvd alone */

/*
 * libclamav's verifier of ClamAV's RSA-PSS style signatures (libclamav's
 * dsig.h; exported by libclamav12, version CLAMAV_PRIVATE, and used by
 * libclamav's own cdiff_apply, which is not exported).  The key is the one
 * ClamAV signs .cdiff files with (libclamav_rust/src/cdiff.rs).
 */
int cli_versig2(const unsigned char *sha256, const char *dsig_str, const char *n_str,
    const char *e_str);
#define VENDOR_CDIFF_N \
	"1478390587407746709026222851655791757025459963837620353203198921410555284726" \
	"9687489771975792123442185817287694951949800908791527542017115600501303394778" \
	"6185358648452357000415900563182301024496122174585490160893133065913885907907" \
	"9651581965410232072571230082235634872401123265483750324173617790778419870083" \
	"4440681124727060540035754699658105895050096576226753008596881698828185652424" \
	"9019216687583265784620032479064709820922981067896572119054889862810783463614" \
	"6952448482955956088622719809199549844067663963983046359321138605506536028842" \
	"2394053998134458623712540683294034953818412458362198117811990006021989844180" \
	"721010947"
#define VENDOR_CDIFF_E "100002053"
#define VENDOR_DSIG_MAX 350

/* What the download-complete callback saw. */
struct vendor_sigs_ctx {
	char  why[256];
};

/* A CVD header read from fd: version and build time; 0, or -1 (not one). */
static int
vendor_cvd_head(int fd, unsigned *version, unsigned *stime)
{
	char head[513];
	struct cl_cvd *cvd;
	ssize_t n;
	int i;

	n = pread(fd, head, 512, 0);
	if (n != 512)
		return -1;
	head[512] = '\0';
	for (i = 511; i > 0 && (head[i] == ' ' || head[i] == '\n'); i--)
		head[i] = '\0';
	if ((cvd = cl_cvdparse(head)) == NULL)
		return -1;
	*version = cvd->version;
	if (stime != NULL)
		*stime = cvd->stime;
	cl_cvdfree(cvd);
	return 0;
}

/* The version of name in dir_fd; 0 when absent or not a database. */
static unsigned
vendor_dir_version(int dir_fd, const char *name)
{
	unsigned v = 0;
	int fd;

	if ((fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return 0;
	if (vendor_cvd_head(fd, &v, NULL) == -1)
		v = 0;
	close(fd);
	return v;
}

static fc_error_t
vendor_sigs_check(const char *file, void *context)
{
	struct vendor_sigs_ctx *ctx = context;
	const char *ext = strrchr(file, '.');
	cl_error_t rc;

	/* A .cld is patched locally: no vendor signature covers it. */
	if (ext == NULL || strcmp(ext, ".cvd") != 0) {
		snprintf(ctx->why, sizeof(ctx->why), "not a whole .cvd: no signature to check");
		return FC_ETESTFAIL;
	}
	if ((rc = cl_cvdverify(file)) != CL_SUCCESS) {
		snprintf(ctx->why, sizeof(ctx->why), "CVD verification failed: %s", cl_strerror(rc));
		return FC_ETESTFAIL;
	}
	return FC_SUCCESS;
}

int
vendor_cdiff_verify(int fd, unsigned version, char *err, size_t errlen)
{
	struct sha256_ctx sha;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char tail[VENDOR_DSIG_MAX + 1], head[64], want[40], buf[65536], *colon;
	struct stat st;
	off_t body, off;
	size_t tl;
	ssize_t n;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		return -1;
	}
	n = pread(fd, head, sizeof(head) - 1, 0);
	head[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "ClamAV-Diff:%u:", version);
	if (n <= 0 || strncmp(head, want, strlen(want)) != 0) {
		snprintf(err, errlen, "header does not start with %s", want);
		return -1;
	}
	/* The signature follows the last ':' within the file's last 350 bytes. */
	tl = st.st_size < VENDOR_DSIG_MAX ? (size_t)st.st_size : VENDOR_DSIG_MAX;
	if (tl < 2 || pread(fd, tail, tl, st.st_size - (off_t)tl) != (ssize_t)tl) {
		snprintf(err, errlen, "too short");
		return -1;
	}
	tail[tl] = '\0';
	/* The gzip'd body before it may hold any byte; the signature none of
	 * ':' or NUL. */
	if ((colon = memrchr(tail, ':', tl)) == NULL || colon[1] == '\0' ||
	    strlen(colon) != tl - (size_t)(colon - tail)) {
		snprintf(err, errlen, "no signature at the end");
		return -1;
	}
	body = st.st_size - (off_t)strlen(colon);
	sha256_init(&sha);
	for (off = 0; off < body; off += n) {
		size_t want_n = body - off < (off_t)sizeof(buf) ? (size_t)(body - off) : sizeof(buf);

		if ((n = pread(fd, buf, want_n, off)) <= 0) {
			snprintf(err, errlen, "read: %s", n == 0 ? "short" : strerror(errno));
			return -1;
		}
		sha256_update(&sha, (size_t)n, (const uint8_t *)buf);
	}
	sha256_digest(&sha, sizeof(digest), digest);
	if (cli_versig2(digest, colon + 1, VENDOR_CDIFF_N, VENDOR_CDIFF_E) != 0) {
		snprintf(err, errlen, "bad signature");
		return -1;
	}
	return 0;
}

/* Joins base and name into url ("BASE/NAME", one slash). */
static void
vendor_url(char *url, size_t len, const char *base, const char *name)
{
	size_t b = strlen(base);

	while (b > 0 && base[b - 1] == '/')
		b--;
	snprintf(url, len, "%.*s/%s", (int)b, base, name);
}

/*
 * Fetches name from the vendor into a temporary file of dir_fd.  Returns 1
 * with *fd and tmp (the caller commits or unlinks), 0 when the vendor has
 * no such file, -1 with err set.
 */
static int
vendor_get(struct ud_conf *c, int dir_fd, const char *name, uint64_t max, int *fd,
    char tmp[VENDOR_TMP_MAX], char *err, size_t errlen)
{
	struct vendor_fetch f;
	char url[VENDOR_URL_MAX + 1];
	int rc;

	vendor_url(url, sizeof(url), c->u.vendor_mirror, name);
	if ((*fd = vendor_tmp_open(dir_fd, name, tmp)) == -1) {
		snprintf(err, errlen, "temporary file for %s: %s", name, strerror(errno));
		return -1;
	}
	memset(&f, 0, sizeof(f));
	f.url = url;
	f.fd = *fd;
	f.max = max;
	f.timeout = (long)c->u.vendor_timeout;
	f.retries = (int)c->u.vendor_retries;
	if ((rc = vendor_fetch_run(&f, err, errlen)) != 1) {
		close(*fd);
		*fd = -1;
		unlinkat(dir_fd, tmp, 0);
	}
	return rc;
}

/* Publishes name's .sign from the vendor when it has one (clients check
 * those themselves; libclamav 1.4 has no verifier for them). */
static void
vendor_sign(struct ud_conf *c, int mfd, const char *name)
{
	char sname[VENDOR_DBNAME_MAX + 40], tmp[VENDOR_TMP_MAX], err[VENDOR_ERR_MAX];
	int fd, rc;

	snprintf(sname, sizeof(sname), "%s.sign", name);
	if ((rc = vendor_get(c, mfd, sname, VENDOR_SIGN_MAX, &fd, tmp, err, sizeof(err))) == 1) {
		if (vendor_tmp_commit(fd, mfd, tmp, sname, err, sizeof(err)) == -1)
			log_warnx("vendor: %s: %s", sname, err);
		close(fd);
	} else if (rc == -1)
		log_warnx("vendor: %s: %s", sname, err);
}

/* Fetches, checks and publishes the patches old+1..new.  Returns how many
 * were published. */
static int
vendor_cdiffs(struct ud_conf *c, int mfd, const char *db, unsigned old, unsigned new)
{
	char name[VENDOR_DBNAME_MAX + 32], tmp[VENDOR_TMP_MAX], err[VENDOR_ERR_MAX];
	int fd, rc, published = 0;

	if (old == 0 || new <= old || new - old > VENDOR_CDIFF_GAP)
		return 0;
	for (unsigned v = old + 1; v <= new && !vendor_stopping(); v++) {
		snprintf(name, sizeof(name), "%s-%u.cdiff", db, v);
		rc = vendor_get(c, mfd, name, VENDOR_CDIFF_MAX, &fd, tmp, err, sizeof(err));
		if (rc == 0) {
			/* Clients without it download the whole .cvd. */
			log_info("vendor: %s: the vendor has none", name);
			continue;
		}
		if (rc == -1) {
			vendor_failed("signatures", name, err);
			continue;
		}
		if (vendor_cdiff_verify(fd, v, err, sizeof(err)) == -1) {
			close(fd);
			unlinkat(mfd, tmp, 0);
			vendor_failed("signatures", name, err);
			continue;
		}
		if (vendor_tmp_commit(fd, mfd, tmp, name, err, sizeof(err)) == -1) {
			close(fd);
			vendor_failed("signatures", name, err);
			continue;
		}
		close(fd);
		vendor_sign(c, mfd, name);
		published++;
	}
	return published;
}

/* Copies the mirror's verified db.cvd into the gateway's signature
 * directory when that one is older.  0, or -1 (recorded). */
static int
vendor_gateway(struct ud_conf *c, int mfd, const char *db, unsigned version)
{
	char cvd[VENDOR_DBNAME_MAX + 8], cld[VENDOR_DBNAME_MAX + 8];
	char err[VENDOR_ERR_MAX], why[VENDOR_ERR_MAX + 128];
	int dfd, src, rc = 0;

	if (c->u.signatures == NULL)
		return 0;
	snprintf(cvd, sizeof(cvd), "%s.cvd", db);
	snprintf(cld, sizeof(cld), "%s.cld", db);
	if ((dfd = open(c->u.signatures, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, sizeof(err), "%s: %s", c->u.signatures, strerror(errno));
		vendor_failed("signatures", db, err);
		return -1;
	}
	if (vendor_dir_version(dfd, cvd) >= version || vendor_dir_version(dfd, cld) >= version) {
		close(dfd);
		return 0;
	}
	if ((src = openat(mfd, cvd, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    vendor_publish_fd(src, dfd, cvd, err, sizeof(err)) == -1) {
		if (src == -1)
			snprintf(err, sizeof(err), "%s: %s", cvd, strerror(errno));
		snprintf(why, sizeof(why), "gateway signatures %s: %s", c->u.signatures, err);
		vendor_failed("signatures", db, why);
		rc = -1;
	} else {
		/* An older .cld beside would be loaded instead of nothing, but
		 * libclamav prefers the newer of the two anyway. */
		log_info("vendor: %s version %u copied to %s", cvd, version, c->u.signatures);
	}
	if (src != -1)
		close(src);
	close(dfd);
	return rc;
}

/* Publishes staging's db.cvd when newer than the mirror's.  0 (published
 * or nothing to do), or -1 (recorded). */
static int
vendor_publish_db(struct ud_conf *c, int sfd, int mfd, const char *db)
{
	char cvd[VENDOR_DBNAME_MAX + 8], tmp[VENDOR_TMP_MAX], path[PATH_MAX], err[VENDOR_ERR_MAX];
	char buf[512];
	unsigned old, new = 0;
	int src, fd = -1, n;
	cl_error_t vr;
	struct jbuf j;

	snprintf(cvd, sizeof(cvd), "%s.cvd", db);
	old = vendor_dir_version(mfd, cvd);
	if ((src = openat(sfd, cvd, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return old > 0 ? vendor_gateway(c, mfd, db, old) : 0;
	if (vendor_cvd_head(src, &new, NULL) == -1) {
		close(src);
		vendor_failed("signatures", db, "the staged .cvd has no header");
		return -1;
	}
	if (new <= old) {
		close(src);
		return vendor_gateway(c, mfd, db, old);
	}
	/* The copy in mirror_dir is what gets checked and renamed: no window
	 * between the check and the publication. */
	if ((fd = vendor_tmp_open(mfd, cvd, tmp)) == -1) {
		snprintf(err, sizeof(err), "temporary file: %s", strerror(errno));
		goto fail;
	}
	if (vendor_copy(src, fd, err, sizeof(err)) == -1)
		goto fail_tmp;
	n = snprintf(path, sizeof(path), "%s/%s", c->u.mirror_dir, tmp);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, sizeof(err), "mirror_dir path too long");
		goto fail_tmp;
	}
	if ((vr = cl_cvdverify(path)) != CL_SUCCESS) {
		snprintf(err, sizeof(err), "version %u: CVD verification failed: %s", new,
		    cl_strerror(vr));
		goto fail_tmp;
	}
	n = vendor_cdiffs(c, mfd, db, old, new);
	vendor_sign(c, mfd, cvd);
	if (vendor_tmp_commit(fd, mfd, tmp, cvd, err, sizeof(err)) == -1)
		goto fail;
	close(fd);
	close(src);
	log_info("vendor: published %s version %u (was %u, %d patches)", cvd, new, old, n);
	jbuf_init(&j, buf, sizeof(buf));
	jbuf_str(&j, "db", db);
	jbuf_int(&j, "old", old);
	jbuf_int(&j, "new", new);
	jbuf_int(&j, "cdiffs", n);
	event_emit(EV_UPDATE_PUBLISHED, SEV_INFO, 0, NULL, jbuf_end(&j));
	return vendor_gateway(c, mfd, db, new);
fail_tmp:
	unlinkat(mfd, tmp, 0);
fail:
	if (fd != -1)
		close(fd);
	close(src);
	vendor_failed("signatures", db, err);
	return -1;
}

/* Splits vendor_databases into names (in buf).  The count, or -1 when a
 * name is not [A-Za-z0-9_] (it becomes a file name and a URL path). */
static int
vendor_dbs(const char *list, char *buf, size_t len, char **dbs)
{
	int n = 0;
	char *p, *save = NULL;

	snprintf(buf, len, "%s", list != NULL ? list : "");
	for (p = strtok_r(buf, ", \t", &save); p != NULL; p = strtok_r(NULL, ", \t", &save)) {
		size_t l = strlen(p);

		if (n == VENDOR_DB_MAX || l > VENDOR_DBNAME_MAX)
			return -1;
		for (size_t i = 0; i < l; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '_')
				return -1;
		dbs[n++] = p;
	}
	return n;
}

int
vendor_sigs_pull(struct ud_conf *c)
{
	struct vendor_sigs_ctx ctx;
	char list[VENDOR_DB_MAX * (VENDOR_DBNAME_MAX + 1) + 1], *dbs[VENDOR_DB_MAX];
	char tmpdir[PATH_MAX], server[VENDOR_URL_MAX + 1], *servers[1] = { server };
	fc_config cfg;
	fc_error_t fr;
	int ndb, cwd, sfd, mfd = ud_mirror_fd(), rc = 0;
	size_t sl;

	if ((ndb = vendor_dbs(c->u.vendor_databases, list, sizeof(list), dbs)) <= 0) {
		vendor_failed("signatures", NULL, "vendor_databases: names of [A-Za-z0-9_], "
		    "comma-separated, at most 16");
		return -1;
	}
	snprintf(server, sizeof(server), "%s", c->u.vendor_mirror);
	for (sl = strlen(server); sl > 0 && server[sl - 1] == '/'; sl--)
		server[sl - 1] = '\0';
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", c->u.staging_dir);
	if (mkdir(c->u.staging_dir, 0750) == -1 && errno != EEXIST) {
		vendor_failed("signatures", NULL, "staging_dir cannot be created");
		return -1;
	}
	if (mkdir(tmpdir, 0700) == -1 && errno != EEXIST) {
		vendor_failed("signatures", NULL, "staging_dir/tmp cannot be created");
		return -1;
	}
	if ((sfd = open(c->u.staging_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		vendor_failed("signatures", NULL, "staging_dir cannot be opened");
		return -1;
	}
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	memset(&cfg, 0, sizeof(cfg));
	cfg.msgFlags = FC_CONFIG_MSG_QUIET;
	cfg.maxAttempts = 1;              /* retried by the next pull, not with sleep(5) */
	cfg.connectTimeout = c->u.vendor_timeout < 30 ? (uint32_t)c->u.vendor_timeout : 30;
	cfg.requestTimeout = (uint32_t)c->u.vendor_timeout;
	cfg.databaseDirectory = c->u.staging_dir;
	cfg.tempDirectory = tmpdir;
	if ((fr = fc_initialize(&cfg)) != FC_SUCCESS) {
		vendor_failed("signatures", NULL, fc_strerror(fr));
		rc = -1;
		goto out;
	}
	fc_set_fccb_download_complete(vendor_sigs_check);
	for (int i = 0; i < ndb && !vendor_stopping(); i++) {
		uint32_t updated = 0;
		char why[VENDOR_ERR_MAX + 128];

		memset(&ctx, 0, sizeof(ctx));
		/* One at a time: fc_update_databases() checks the cool-down,
		 * and stops at the first database that fails. */
		fr = fc_update_databases(&dbs[i], 1, servers, 1, 0, NULL, 0, &ctx, &updated);
		if (fr != FC_SUCCESS) {
			snprintf(why, sizeof(why), "%s%s%s", fc_strerror(fr),
			    ctx.why[0] != '\0' ? ": " : "", ctx.why);
			vendor_failed("signatures", dbs[i], why);
			rc = -1;
		}
	}
	fc_cleanup();
	if (cwd != -1 && fchdir(cwd) == -1)
		log_warn("vendor: fchdir back");
	for (int i = 0; i < ndb && !vendor_stopping(); i++)
		if (vendor_publish_db(c, sfd, mfd, dbs[i]) == -1)
			rc = -1;
out:
	if (cwd != -1)
		close(cwd);
	close(sfd);
	return rc;
}
