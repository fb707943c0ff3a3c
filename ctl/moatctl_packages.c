/*
 * moatctl packages: the client anti-virus packages moat-updated offers on
 * its install page and puts into install bundles -- av_packages rows and
 * their files in updated.packages_dir.
 *
 * add copies the operator's FILE into packages_dir under a name built only
 * from validated text, NAME_VERSION_PLATFORM.EXT (letters, digits and
 * ". + ~ -" in NAME and VERSION, so "_" separates unambiguously; never "/",
 * "..", or a leading "."), through a temporary ".moatctl-*" file that is
 * written, fsync'd and set to mode 0644, then renamed into place without
 * replacing anything.  The SHA-256 is computed on the way (nettle).  The
 * row is inserted in the transaction that the rename happens in: a failure
 * before the commit removes the file again, so there is never a row without
 * its file, nor a published file without its row.  remove deletes the row,
 * then the file.
 *
 * SECURITY: FILE and packages_dir are opened before the store, so a root
 * operator's FILE need not be readable by the store's owner; files are then
 * created as that owner (ctl_open switches to it), who must be able to
 * write packages_dir, as moat-updated's vendor puller does.  A file name
 * read back from the store is checked again before it is unlinked.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "jsonstr.h"
#include "moatctl.h"
#include "updated_conf.h"

#define PKGCTL_NAME_MAX     128     /* as updated/updated_packages.h */
#define PKGCTL_VERSION_MAX  64
#define PKGCTL_FILE_MAX     255

static const char pkg_usage[] =
    "usage: moatctl packages add debian|rpm|windows NAME VERSION FILE\n"
    "       moatctl packages list [--json] | remove ID\n"
    "  NAME, VERSION: letters, digits and . + ~ - (no \"..\"); FILE: a .deb for\n"
    "  debian, an .rpm for rpm, an .msi or .exe for windows.  FILE is copied into\n"
    "  updated.packages_dir as NAME_VERSION_PLATFORM.EXT; its SHA-256 is computed.\n";

static const char sql_pkg_find[] =
    "SELECT id FROM av_packages WHERE platform = ?1 AND name = ?2 AND version = ?3";
static const char sql_pkg_add[] =
    "INSERT INTO av_packages(platform, name, version, path, sha256, size, published) "
    "VALUES (?1, ?2, ?3, ?4, ?5, CAST(?6 AS INTEGER), CAST(?7 AS INTEGER))";
static const char sql_pkg_list[] =
    "SELECT id, platform, name, version, size, sha256, "
    " datetime(published, 'unixepoch') AS published "
    "FROM av_packages ORDER BY platform, name, published, id";
static const char sql_pkg_json[] =
    "SELECT id, platform, name, version, path, size, sha256, published "
    "FROM av_packages ORDER BY platform, name, published, id";
static const char sql_pkg_path[] = "SELECT path FROM av_packages WHERE id = ?1";
static const char sql_pkg_remove[] = "DELETE FROM av_packages WHERE id = ?1";
static const char sql_pkg_shared[] = "SELECT count(*) FROM av_packages WHERE path = ?1";

/* A platform a bundle can be built for, and the file extensions its
 * package tool takes. */
static const struct pkgctl_platform {
	const char *name;
	const char *ext[3];
} pkgctl_platforms[] = {
	{ "debian",  { "deb", NULL } },
	{ "rpm",     { "rpm", NULL } },
	{ "windows", { "msi", "exe", NULL } },
	{ NULL,      { NULL } },
};

static const struct pkgctl_platform *
pkgctl_platform(const char *name)
{
	for (const struct pkgctl_platform *p = pkgctl_platforms; p->name != NULL; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* NAME or VERSION text: 1..max bytes of [A-Za-z0-9.+~-], starting with a
 * letter or digit, without "..".  1 when good. */
static int
pkgctl_text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !isalnum((unsigned char)s[0]) || strstr(s, "..") != NULL)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(".+~-", *s) == NULL)
			return 0;
	return 1;
}

/* Argument text as an error message may echo it: at most 64 bytes, control
 * characters and non-ASCII bytes as '?'. */
static const char *
pkgctl_shown(const char *s, char *out, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < 64 && i + 1 < len; i++)
		out[i] = s[i] < 0x20 || s[i] >= 0x7f ? '?' : s[i];
	out[i] = '\0';
	return out;
}

/* A name that may be unlinked in packages_dir: what updated's
 * packages_file_ok() serves (1..255 bytes of [A-Za-z0-9._+~-], no leading
 * "."), restated here because moatctl does not link the daemon's core. */
static int
pkgctl_file_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PKGCTL_FILE_MAX || s[0] == '.')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._+~-", *s) == NULL)
			return 0;
	return 1;
}

/* The extension of path's last component, lower-cased into ext, when it is
 * one platform p takes.  0, or -1. */
static int
pkgctl_ext(const struct pkgctl_platform *p, const char *path, char *ext, size_t len)
{
	const char *base = strrchr(path, '/'), *dot;
	size_t i;

	base = base != NULL ? base + 1 : path;
	if ((dot = strrchr(base, '.')) == NULL || dot == base || strlen(dot + 1) >= len)
		return -1;
	for (i = 0; dot[1 + i] != '\0'; i++)
		ext[i] = (char)tolower((unsigned char)dot[1 + i]);
	ext[i] = '\0';
	for (i = 0; p->ext[i] != NULL; i++)
		if (strcmp(p->ext[i], ext) == 0)
			return 0;
	return -1;
}

/* The file being published: the source, packages_dir, the temporary file
 * in it; pkgctl_pub_close() closes and, unless published, unlinks. */
struct pkgctl_pub {
	int       src, dir, tmp;
	char      tmpname[64];
	char      file[PKGCTL_FILE_MAX + 1];
	int       linked;             /* file exists under its final name */
	uint64_t  size;
	char      sha256[SHA256_DIGEST_SIZE * 2 + 1];
};

static void
pkgctl_pub_close(struct pkgctl_pub *pb, int published)
{
	if (pb->tmp != -1) {
		close(pb->tmp);
		(void)unlinkat(pb->dir, pb->tmpname, 0);
	}
	if (pb->linked && !published)
		(void)unlinkat(pb->dir, pb->file, 0);
	if (pb->src != -1)
		close(pb->src);
	if (pb->dir != -1)
		close(pb->dir);
}

/* Copies the source into a fresh temporary file of packages_dir, hashing
 * it; the copy is fsync'd and mode 0644.  0, or 1 (printed). */
static int
pkgctl_copy(struct pkgctl_pub *pb, const char *dirpath)
{
	static char buf[1 << 16];
	struct sha256_ctx sha;
	uint8_t d[SHA256_DIGEST_SIZE], rnd[8];
	ssize_t n;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return ctl_err("getrandom: %s", strerror(errno));
	snprintf(pb->tmpname, sizeof(pb->tmpname), ".moatctl-%02x%02x%02x%02x%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if ((pb->tmp = openat(pb->dir, pb->tmpname, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) == -1)
		return ctl_err("%s/%s: %s", dirpath, pb->tmpname, strerror(errno));
	sha256_init(&sha);
	pb->size = 0;
	while ((n = read(pb->src, buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return ctl_err("reading the package: %s", strerror(errno));
		}
		sha256_update(&sha, (size_t)n, (const uint8_t *)buf);
		pb->size += (uint64_t)n;
		for (ssize_t off = 0, w; off < n; off += w)
			if ((w = write(pb->tmp, buf + off, (size_t)(n - off))) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				return ctl_err("%s/%s: %s", dirpath, pb->tmpname, strerror(errno));
			}
	}
	sha256_digest(&sha, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(pb->sha256 + 2 * i, 3, "%02x", d[i]);
	/* The mode is explicit: moat-updated must read it whatever our umask. */
	if (fchmod(pb->tmp, 0644) == -1 || fsync(pb->tmp) == -1)
		return ctl_err("%s/%s: %s", dirpath, pb->tmpname, strerror(errno));
	return 0;
}

/* Renames the temporary file to its name, never replacing a file there
 * (renameat2 NOREPLACE; link + unlink where the file system lacks it), and
 * makes the rename durable.  0, or 1 (printed). */
static int
pkgctl_place(struct pkgctl_pub *pb, const char *dirpath)
{
	int r;

	r = renameat2(pb->dir, pb->tmpname, pb->dir, pb->file, RENAME_NOREPLACE);
	if (r == -1 && (errno == EINVAL || errno == ENOSYS)) {
		if ((r = linkat(pb->dir, pb->tmpname, pb->dir, pb->file, 0)) == 0)
			(void)unlinkat(pb->dir, pb->tmpname, 0);
	}
	if (r == -1) {
		if (errno == EEXIST)
			return ctl_err("%s/%s already exists (not a package of the store: "
			    "move it away first)", dirpath, pb->file);
		return ctl_err("%s/%s: %s", dirpath, pb->file, strerror(errno));
	}
	close(pb->tmp);
	pb->tmp = -1;
	pb->linked = 1;
	if (fsync(pb->dir) == -1)
		return ctl_err("%s: fsync: %s", dirpath, strerror(errno));
	return 0;
}

static int
pkgctl_add(struct ctl *ctl, char **argv)
{
	const char *platform = argv[0], *name = argv[1], *version = argv[2], *path = argv[3];
	const struct pkgctl_platform *p;
	struct pkgctl_pub pb = { .src = -1, .dir = -1, .tmp = -1 };
	struct common_conf cc;
	struct updated_conf uc;
	struct stat sb;
	char ext[8], size[32], now[32], shown[72];
	long long id;
	int st;

	if ((p = pkgctl_platform(platform)) == NULL)
		return ctl_err("'%s' is not a platform (debian, rpm, windows)",
		    pkgctl_shown(platform, shown, sizeof(shown)));
	if (!pkgctl_text_ok(name, PKGCTL_NAME_MAX))
		return ctl_err("'%s' is not a valid package name (letters, digits, "
		    ". + ~ -; at most %d bytes; no \"..\")",
		    pkgctl_shown(name, shown, sizeof(shown)), PKGCTL_NAME_MAX);
	if (!pkgctl_text_ok(version, PKGCTL_VERSION_MAX))
		return ctl_err("'%s' is not a valid version (letters, digits, . + ~ -; "
		    "at most %d bytes; no \"..\")",
		    pkgctl_shown(version, shown, sizeof(shown)), PKGCTL_VERSION_MAX);
	if (pkgctl_ext(p, path, ext, sizeof(ext)) == -1)
		return ctl_err("%s: %s packages are .%s%s%s files", path, platform, p->ext[0],
		    p->ext[1] != NULL ? " or ." : "", p->ext[1] != NULL ? p->ext[1] : "");
	snprintf(pb.file, sizeof(pb.file), "%s_%s_%s.%s", name, version, platform, ext);

	if (ctl_updated_conf(ctl, &cc, &uc) != 0)
		return 1;
	st = 0;
	if ((pb.src = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		st = ctl_err("%s: %s", path, strerror(errno));
	else if (fstat(pb.src, &sb) == -1 || !S_ISREG(sb.st_mode))
		st = ctl_err("%s: not a regular file", path);
	else if ((pb.dir = open(uc.packages_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		st = ctl_err("updated.packages_dir %s: %s", uc.packages_dir, strerror(errno));
	if (st != 0 || ctl_open(ctl, 0) != 0) {
		st = 1;
		goto done;
	}

	const char *key[] = { platform, name, version };
	if ((st = ctl_query_int(ctl, sql_pkg_find, 3, key, &id)) != 0) {
		st = st < 0 ? 1 : ctl_err("package %s %s %s is already published (#%lld)",
		    platform, name, version, id);
		goto done;
	}
	if ((st = pkgctl_copy(&pb, uc.packages_dir)) != 0)
		goto done;
	snprintf(size, sizeof(size), "%llu", (unsigned long long)pb.size);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	const char *a[] = { platform, name, version, pb.file, pb.sha256, size, now };
	if ((st = ctl_begin(ctl)) != 0)
		goto done;
	if (ctl_exec(ctl, sql_pkg_add, 7, a) != 1 ||
	    ctl_query_int(ctl, sql_pkg_find, 3, key, &id) != 1)
		st = 1;
	else
		st = pkgctl_place(&pb, uc.packages_dir);
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "package #%lld published: %s (%llu bytes, sha256 %s)", id,
		    pb.file, (unsigned long long)pb.size, pb.sha256);
done:
	pkgctl_pub_close(&pb, st == 0);
	ctl_updated_conf_free(&cc, &uc);
	return st;
}

/* The JSON form of list: an array of objects, numbers as numbers. */
static int
pkgctl_list_json(struct ctl *ctl)
{
	static const char *const keys[] = { "id", "platform", "name", "version", "file",
	    "size", "sha256", "published" };
	sqlite3_stmt *stmt;
	char esc[1024];
	int rc, nrow = 0;

	if ((stmt = store_prepare(ctl->st, sql_pkg_json)) == NULL)
		return ctl_sqlerr(ctl);
	fputs("[", stdout);
	while ((rc = store_step(ctl->st, stmt, "packages")) == STORE_STEP_ROW) {
		printf("%s\n  {", nrow++ > 0 ? "," : "");
		for (int c = 0; c < 8; c++) {
			const char *v = (const char *)sqlite3_column_text(stmt, c);
			printf("%s\"%s\": ", c > 0 ? ", " : "", keys[c]);
			if (c == 0 || c == 5 || c == 7)
				printf("%lld", (long long)sqlite3_column_int64(stmt, c));
			else {
				jsonstr_escape(esc, sizeof(esc), v != NULL ? v : "");
				printf("\"%s\"", esc);
			}
		}
		fputs("}", stdout);
	}
	if (rc != STORE_STEP_DONE)
		return ctl_sqlerr(ctl);
	fputs(nrow > 0 ? "\n]\n" : "]\n", stdout);
	return 0;
}

/* The file name of package id: 1 with out, 0 no such package, -1 (printed). */
static int
pkgctl_path(struct ctl *ctl, long long id, char *out, size_t len)
{
	sqlite3_stmt *stmt;
	const char *v;
	int rc;

	if ((stmt = store_prepare(ctl->st, sql_pkg_path)) == NULL ||
	    sqlite3_bind_int64(stmt, 1, id) != SQLITE_OK) {
		ctl_sqlerr(ctl);
		return -1;
	}
	if ((rc = store_step(ctl->st, stmt, "packages")) == STORE_STEP_DONE)
		return 0;
	if (rc != STORE_STEP_ROW) {
		ctl_sqlerr(ctl);
		return -1;
	}
	v = (const char *)sqlite3_column_text(stmt, 0);
	snprintf(out, len, "%s", v != NULL ? v : "");
	sqlite3_reset(stmt);
	return 1;
}

static int
pkgctl_remove(struct ctl *ctl, const char *idtext)
{
	struct common_conf cc;
	struct updated_conf uc;
	char file[PKGCTL_FILE_MAX + 2];
	long long id, others = 0;
	int dir = -1, st;

	if (ctl_parse_id(idtext, &id) == -1)
		return ctl_err("not a package id (see moatctl packages list)");
	if (ctl_updated_conf(ctl, &cc, &uc) != 0)
		return 1;
	if ((dir = open(uc.packages_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		st = ctl_err("updated.packages_dir %s: %s", uc.packages_dir, strerror(errno));
		goto done;
	}
	if ((st = ctl_open(ctl, 0)) != 0 || (st = ctl_begin(ctl)) != 0)
		goto done;
	const char *a[] = { idtext };
	if ((st = pkgctl_path(ctl, id, file, sizeof(file))) == 0)
		st = ctl_err("no package #%lld", id);
	else if (st < 0 || ctl_exec(ctl, sql_pkg_remove, 1, a) != 1)
		st = 1;
	else {
		const char *f[] = { file };
		st = ctl_query_int(ctl, sql_pkg_shared, 1, f, &others) < 0 ? 1 : 0;
	}
	if ((st = ctl_end(ctl, st)) != 0)
		goto done;
	/* The row is gone; now the file, unless its name is not one we could
	 * have written or another row still names it. */
	if (!pkgctl_file_ok(file) || others > 0)
		ctl_say(ctl, "package #%lld removed (file '%s' left in place)", id, file);
	else if (unlinkat(dir, file, 0) == -1 && errno != ENOENT)
		st = ctl_err("package #%lld removed, but %s/%s: %s", id, uc.packages_dir,
		    file, strerror(errno));
	else
		ctl_say(ctl, "package #%lld removed with %s", id, file);
done:
	if (dir != -1)
		close(dir);
	ctl_updated_conf_free(&cc, &uc);
	return st;
}

int
moatctl_packages(struct ctl *ctl, int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[0], "add") == 0)
		return pkgctl_add(ctl, argv + 1);
	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "list") == 0) {
		if (argc == 2 && strcmp(argv[1], "--json") != 0)
			return ctl_usage(pkg_usage);
		if (ctl_open(ctl, 0) != 0)
			return 1;
		return argc == 2 ? pkgctl_list_json(ctl) :
		    ctl_print(ctl, CTL_TABLE, sql_pkg_list, 0, NULL);
	}
	if (argc == 2 && strcmp(argv[0], "remove") == 0)
		return pkgctl_remove(ctl, argv[1]);
	return ctl_usage(pkg_usage);
}
