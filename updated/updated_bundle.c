/*
 * The per-client install bundle (see updated_bundle.h).
 *
 * Linux ("debian", "rpm"): one POSIX sh script, a head with the client's
 * values as sh-quoted assignments, the fixed body (updated_bundle_sh.h),
 * the marker line, then a ustar payload (updated_archive.c) that the
 * script unpacks with tail and tar.  Windows: a stored zip with the
 * package, freshclam.conf, the databases and install.cmd (certutil,
 * msiexec, schtasks).
 *
 * Trusts: the package row and file (the operator published them), the
 * configured mirror_url (checked all the same: it is written into files a
 * client runs).  Does not trust: the subscriber's name, the client key, the
 * login and secret (the client typed them): refused when they hold control
 * characters, sh-quoted in the script, URL-escaped in freshclam.conf, never
 * written into install.cmd.  Nor the mirror directory's entries: only
 * *.cvd and *.cld with plain names, opened with O_NOFOLLOW, regular files.
 *
 * The output is a function of the inputs: entries in name order, every
 * mtime the package's publish time, no host or clock in it (golden tests).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "updated_archive.h"
#include "updated_bundle.h"
#include "updated_bundle_sh.h"
#include "updated_packages.h"

#define BUNDLE_DB_MAX     64       /* databases carried */
#define BUNDLE_TEXT_MAX   16384    /* a generated text file */
#define BUNDLE_NELEM(a)   (sizeof(a) / sizeof((a)[0]))
#define FRESHCLAM_LINE    500      /* freshclam reads 511-byte lines: a longer
                                      one would be split into two options */

/* The standard databases freshclam fetches unless excluded. */
static const char *const bundle_std_db[] = { "bytecode", "daily", "main" };

struct bundle_db {
	char      name[80];    /* "test.cvd" */
	int       fd;
	uint64_t  size;
};

/* A growing text buffer; on overflow it is marked bad and the build fails. */
struct text {
	char    buf[BUNDLE_TEXT_MAX];
	size_t  len;
	int     bad;
};

/* One bundle between bundle_open and bundle_close: the checked inputs, the
 * databases' descriptors and the generated files; bundle_close() releases
 * it on every path. */
struct bundle {
	const struct bundle_in  *in;
	struct bundle_db         db[BUNDLE_DB_MAX];
	size_t                   ndb;
	char                     mirror[512];    /* mirror_url without a trailing '/' */
	char                     hhmm[8];
	const char              *member;         /* the package's name inside */
	struct text              head;           /* Linux: the script before the payload */
	struct text              conf, svc, tmr, cron;
	struct text              cmd;            /* Windows: install.cmd */
	char                    *err;
	size_t                   errlen;
};

static int
bundle_fail(struct bundle *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->err, b->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void __attribute__((format(printf, 2, 3)))
text_add(struct text *t, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (t->bad)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t->buf) - t->len)
		t->bad = 1;
	else
		t->len += (size_t)n;
}

/* s as one sh word: '...' with each ' written as '\''. */
static void
text_sh_quote(struct text *t, const char *s)
{
	text_add(t, "'");
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			text_add(t, "'\\''");
		else
			text_add(t, "%c", *s);
	}
	text_add(t, "'");
}

/* RFC 3986 userinfo: everything but the unreserved characters escaped, so
 * the value holds no ':', '@', '/', space, quote or '#' for curl or for
 * freshclam's parser to misread. */
static void
text_url_escape(struct text *t, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			text_add(t, "%c", *p);
		else
			text_add(t, "%%%02X", *p);
	}
}

/* 1 when s holds no control character (C0, DEL); bytes >= 0x80 pass. */
static int
bundle_text_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* "http(s)://host[:port][/path]" of plain characters. */
static int
bundle_url_ok(const char *u)
{
	const char *p;

	if (strncmp(u, "http://", 7) == 0)
		p = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		p = u + 8;
	else
		return 0;
	if (*p == '\0' || *p == '/')
		return 0;
	for (; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(".-_~:/[]", *p) != NULL))
			return 0;
	return 1;
}

static int
bundle_sha_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 64;
}

static int
bundle_linux(const char *platform)
{
	return strcmp(platform, "debian") == 0 || strcmp(platform, "rpm") == 0;
}

/* The package's name inside the bundle: fixed, by platform and kind. */
static const char *
bundle_pkg_member(const struct pkg *p)
{
	size_t n = strlen(p->file);

	if (strcmp(p->platform, "debian") == 0)
		return "package.deb";
	if (strcmp(p->platform, "rpm") == 0)
		return "package.rpm";
	if (n > 4 && strcasecmp(p->file + n - 4, ".msi") == 0)
		return "package.msi";
	if (n > 4 && strcasecmp(p->file + n - 4, ".exe") == 0)
		return "package.exe";
	return NULL;
}

static int
bundle_db_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bundle_db *)a)->name, ((const struct bundle_db *)b)->name);
}

/* A database name: [A-Za-z0-9_-]{1,64} then .cvd or .cld. */
static int
bundle_db_name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (n < 5 || n > 68 || (strcmp(name + n - 4, ".cvd") != 0 &&
	    strcmp(name + n - 4, ".cld") != 0))
		return 0;
	for (i = 0; i < n - 4; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-'))
			return 0;
	return 1;
}

/* 1 when the database "base" (no suffix) is among b's. */
static int
bundle_has_db(const struct bundle *b, const char *base)
{
	size_t n = strlen(base);

	for (size_t i = 0; i < b->ndb; i++)
		if (strncmp(b->db[i].name, base, n) == 0 && b->db[i].name[n] == '.')
			return 1;
	return 0;
}

/* The databases directly in the mirror directory, sorted; a database that
 * is there as both .cld and .cvd is carried once, as .cld (what freshclam
 * asks a mirror for first).  Symlinks and other non-regular entries are
 * skipped. */
static int
bundle_scan_dbs(struct bundle *b)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	int		 dfd, fd;

	if (b->in->mirror_fd == -1)
		return 0;
	if ((dfd = dup(b->in->mirror_fd)) == -1)
		return bundle_fail(b, "mirror directory: %s", strerror(errno));
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return bundle_fail(b, "mirror directory: %s", strerror(errno));
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!bundle_db_name_ok(de->d_name))
			continue;
		fd = openat(b->in->mirror_fd, de->d_name,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd == -1)
			continue;    /* a symlink (ELOOP) or gone since readdir */
		if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
			close(fd);
			continue;
		}
		if (b->ndb == BUNDLE_DB_MAX) {
			close(fd);
			closedir(d);
			return bundle_fail(b, "mirror directory: more than %d databases",
			    BUNDLE_DB_MAX);
		}
		/* bundle_db_name_ok bounds the name; the check says so to the compiler. */
		if (strlen(de->d_name) >= sizeof(b->db[b->ndb].name)) {
			close(fd);
			continue;
		}
		memcpy(b->db[b->ndb].name, de->d_name, strlen(de->d_name) + 1);
		b->db[b->ndb].fd = fd;
		b->db[b->ndb].size = (uint64_t)sb.st_size;
		b->ndb++;
	}
	closedir(d);
	qsort(b->db, b->ndb, sizeof(b->db[0]), bundle_db_cmp);
	/* "x.cld" sorts before "x.cvd": drop a .cvd that follows its .cld. */
	for (size_t i = 1; i < b->ndb; ) {
		size_t n = strlen(b->db[i].name) - 4;

		if (strncmp(b->db[i - 1].name, b->db[i].name, n + 1) == 0 &&
		    strlen(b->db[i - 1].name) == n + 4) {
			close(b->db[i].fd);
			memmove(&b->db[i], &b->db[i + 1], (b->ndb - i - 1) * sizeof(b->db[0]));
			b->ndb--;
		} else
			i++;
	}
	return 0;
}

/* freshclam.conf.  dbdir NULL: no DatabaseDirectory (Windows: install.cmd
 * puts it first, where the machine's ProgramData is known). */
static int
bundle_freshclam_conf(struct bundle *b, struct text *t, const char *dbdir)
{
	const struct bundle_in *in = b->in;
	const char *p, *nl;

	text_add(t, "# freshclam.conf of the Moat anti-virus client, written by moat-updated.\n");
	text_add(t, "# Subscriber: %s\n", in->subscriber);
	text_add(t, "# Client: %s\n", in->client);
	text_add(t, "# Signatures come from the gateway's private mirror only.  NotifyClamd is\n"
	    "# left out (freshclam reads its value as the path of clamd.conf).\n");
	if (dbdir != NULL)
		text_add(t, "DatabaseDirectory %s\n", dbdir);
	text_add(t, "PrivateMirror ");
	text_add(t, "%.*s", (int)(strchr(b->mirror, ':') - b->mirror + 3), b->mirror);
	if (in->login != NULL && in->login[0] != '\0') {
		text_url_escape(t, in->login);
		text_add(t, ":");
		text_url_escape(t, in->secret != NULL ? in->secret : "");
		text_add(t, "@");
	}
	text_add(t, "%s\n", strchr(b->mirror, ':') + 3);
	text_add(t, "ScriptedUpdates no\n");
	/* Only what the mirror has: a standard database it lacks would fail
	 * every update with a 404. */
	for (size_t i = 0; i < BUNDLE_NELEM(bundle_std_db); i++)
		if (!bundle_has_db(b, bundle_std_db[i]))
			text_add(t, "ExcludeDatabase %s\n", bundle_std_db[i]);
	for (size_t i = 0; i < b->ndb; i++) {
		size_t n = strlen(b->db[i].name) - 4, j;

		for (j = 0; j < BUNDLE_NELEM(bundle_std_db); j++)
			if (strlen(bundle_std_db[j]) == n &&
			    strncmp(bundle_std_db[j], b->db[i].name, n) == 0)
				break;
		if (j == BUNDLE_NELEM(bundle_std_db))
			text_add(t, "ExtraDatabase %.*s\n", (int)n, b->db[i].name);
	}
	if (t->bad)
		return bundle_fail(b, "freshclam.conf: too long");
	for (p = t->buf; p < t->buf + t->len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(t->buf + t->len - p));
		if (nl == NULL || nl - p > FRESHCLAM_LINE)
			return bundle_fail(b, "freshclam.conf: a line longer than %d bytes",
			    FRESHCLAM_LINE);
	}
	return 0;
}

static int
bundle_units(struct bundle *b, struct text *svc, struct text *tmr, struct text *cron)
{
	unsigned m = b->in->minute;

	text_add(svc,
	    "[Unit]\n"
	    "Description=Moat anti-virus signature update (from the gateway's mirror)\n"
	    "Wants=network-online.target\n"
	    "After=network-online.target\n"
	    "\n"
	    "[Service]\n"
	    "Type=oneshot\n"
	    "ExecStart=/usr/bin/freshclam --config-file=" BUNDLE_CONF_DIR "/freshclam.conf --foreground\n");
	text_add(tmr,
	    "[Unit]\n"
	    "Description=Daily Moat anti-virus signature update at %s (drawn in the gateway's night window)\n"
	    "\n"
	    "[Timer]\n"
	    "OnCalendar=*-*-* %s:00\n"
	    "Persistent=true\n"
	    "\n"
	    "[Install]\n"
	    "WantedBy=timers.target\n", b->hhmm, b->hhmm);
	text_add(cron,
	    "# Moat anti-virus: the daily signature update at %s, for hosts without\n"
	    "# systemd (where systemd runs, " BUNDLE_UNIT ".timer does it).\n"
	    "SHELL=/bin/sh\n"
	    "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
	    "%u %u * * * root [ -d /run/systemd/system ] || freshclam --config-file="
	    BUNDLE_CONF_DIR "/freshclam.conf --quiet\n", b->hhmm, m % 60, m / 60);
	if (svc->bad || tmr->bad || cron->bad)
		return bundle_fail(b, "units: too long");
	return 0;
}

static int
bundle_put_text(struct bundle *b, struct archive *a, const char *name, unsigned mode,
    const struct text *t)
{
	if (archive_add_mem(a, name, mode, t->buf, t->len) == -1)
		return bundle_fail(b, "%s: %s", name, a->err);
	return 0;
}

static int
bundle_put_dbs(struct bundle *b, struct archive *a)
{
	char name[96];

	for (size_t i = 0; i < b->ndb; i++) {
		snprintf(name, sizeof(name), "db/%s", b->db[i].name);
		if (archive_add_fd(a, name, 0644, b->db[i].fd, b->db[i].size) == -1)
			return bundle_fail(b, "%s: %s", b->db[i].name, a->err);
	}
	return 0;
}

static int
bundle_put_pkg(struct bundle *b, struct archive *a)
{
	const struct pkg	*p = b->in->pkg;

	if (archive_add_fd(a, b->member, 0644, b->in->pkg_fd, p->size) == -1)
		return bundle_fail(b, "package %s: %s", p->file, a->err);
	return 0;
}

/* The Linux bundle's generated files: the script head, freshclam.conf, the
 * units and the cron line. */
static int
bundle_script_texts(struct bundle *b)
{
	const struct bundle_in	*in = b->in;
	struct text		*head = &b->head;
	char			 pkgdesc[PKG_NAME_MAX + PKG_VERSION_MAX + 2];

	snprintf(pkgdesc, sizeof(pkgdesc), "%s %s", in->pkg->name, in->pkg->version);

	text_add(head, "#!/bin/sh\n");
	text_add(head, "# Moat anti-virus client installer (%s), written by moat-updated.\n",
	    in->pkg->platform);
	text_add(head,
	    "# It verifies the package's SHA-256, installs the package, writes\n"
	    "# " BUNDLE_CONF_DIR "/freshclam.conf (signatures from the gateway's mirror),\n"
	    "# copies the current databases into " BUNDLE_DB_DIR ", enables the daily\n"
	    "# update (a systemd timer, and a cron line for hosts without systemd) and\n"
	    "# runs a first update.\n"
	    "#\n"
	    "# usage: sh moat-install-%s.sh [--root DIR] [--no-install] [--no-update]\n"
	    "#   --root DIR    install into DIR (an image, a test) instead of /\n"
	    "#   --no-install  leave the package out (configuration only)\n"
	    "#   --no-update   no first signature update\n"
	    "set -eu\n"
	    "umask 022\n"
	    "\n", in->pkg->platform);
	text_add(head, "MOAT_PLATFORM=");
	text_sh_quote(head, in->pkg->platform);
	text_add(head, "\nMOAT_SUBSCRIBER=");
	text_sh_quote(head, in->subscriber);
	text_add(head, "\nMOAT_CLIENT=");
	text_sh_quote(head, in->client);
	text_add(head, "\nMOAT_PACKAGE=");
	text_sh_quote(head, pkgdesc);
	text_add(head, "\nMOAT_SHA256=");
	text_sh_quote(head, in->pkg->sha256);
	text_add(head, "\nMOAT_UPDATE_TIME=");
	text_sh_quote(head, b->hhmm);
	text_add(head, "\n%s" BUNDLE_MARKER "\n", bundle_sh_body);
	if (head->bad)
		return bundle_fail(b, "installer script: too long");

	if (bundle_freshclam_conf(b, &b->conf, BUNDLE_DB_DIR) == -1 ||
	    bundle_units(b, &b->svc, &b->tmr, &b->cron) == -1)
		return -1;
	return 0;
}

/* The Linux bundle's members, in order (bundle_size counts the same). */
#define BUNDLE_SCRIPT_TEXTS(b) { \
	{ "freshclam.conf", 0600, &(b)->conf }, \
	{ BUNDLE_UNIT ".cron", 0644, &(b)->cron }, \
	{ BUNDLE_UNIT ".service", 0644, &(b)->svc }, \
	{ BUNDLE_UNIT ".timer", 0644, &(b)->tmr }, \
}
#define BUNDLE_ZIP_TEXTS(b) { \
	{ "install.cmd", 0644, &(b)->cmd }, \
	{ "freshclam.conf", 0600, &(b)->conf }, \
}

struct bundle_member {
	const char         *name;
	unsigned            mode;
	const struct text  *t;
};

/* The archive of kind k to out_fd: the texts m[0..nm-1], the databases,
 * the package.  what names the archive in the error of its close. */
static int
bundle_archive_write(struct bundle *b, enum archive_kind k, int out_fd,
    const struct bundle_member *m, size_t nm, const char *what)
{
	struct archive a;

	archive_open(&a, k, out_fd, b->in->pkg->published);
	for (size_t i = 0; i < nm; i++)
		if (bundle_put_text(b, &a, m[i].name, m[i].mode, m[i].t) == -1) {
			archive_free(&a);
			return -1;
		}
	if (bundle_put_dbs(b, &a) == -1 || bundle_put_pkg(b, &a) == -1) {
		archive_free(&a);
		return -1;
	}
	if (archive_close(&a) == -1)
		return bundle_fail(b, "%s: %s", what, a.err);
	return 0;
}

static int
bundle_script_write(struct bundle *b, int out_fd)
{
	const struct bundle_member m[] = BUNDLE_SCRIPT_TEXTS(b);

	if (fdio_write_all(out_fd, b->head.buf, b->head.len) == -1)
		return bundle_fail(b, "write: %s", strerror(errno));
	return bundle_archive_write(b, ARCHIVE_TAR, out_fd, m, BUNDLE_NELEM(m), "payload");
}

/* install.cmd: CRLF lines; nothing in it comes from a client or subscriber. */
static int
bundle_install_cmd(struct bundle *b, struct text *t, const char *member)
{
	const char *sha = b->in->pkg->sha256;
	int msi = strcmp(member, "package.msi") == 0;

	text_add(t,
	    "@echo off\r\n"
	    "rem Moat anti-virus client installer (windows), written by moat-updated.\r\n"
	    "rem Run it as an administrator from the unpacked folder.  It verifies the\r\n"
	    "rem package's SHA-256, installs it, writes %%ProgramData%%\\Moat\\freshclam.conf\r\n"
	    "rem (signatures from the gateway's mirror), copies the current databases and\r\n"
	    "rem registers the daily update at %s with schtasks, then runs a first update.\r\n"
	    "setlocal EnableExtensions DisableDelayedExpansion\r\n"
	    "cd /d \"%%~dp0\" || exit /b 1\r\n"
	    "set \"WANT=%s\"\r\n"
	    "set \"GOT=\"\r\n"
	    "for /f \"skip=1 delims=\" %%%%h in ('certutil -hashfile \"%s\" SHA256') do if not defined GOT set \"GOT=%%%%h\"\r\n"
	    "if not defined GOT goto :badhash\r\n"
	    "set \"GOT=%%GOT: =%%\"\r\n"
	    "if /i not \"%%GOT%%\"==\"%%WANT%%\" goto :badhash\r\n"
	    "echo moat-install: package verified (SHA-256 %%WANT%%)\r\n",
	    b->hhmm, sha, member);
	if (msi)
		text_add(t, "msiexec /i \"%%~dp0%s\" /qn /norestart\r\n", member);
	else
		text_add(t, "start \"\" /wait \"%%~dp0%s\"\r\n", member);
	text_add(t,
	    "if errorlevel 1 (echo moat-install: error: the package did not install 1>&2 & exit /b 1)\r\n"
	    "set \"MOAT=%%ProgramData%%\\Moat\"\r\n"
	    "set \"FRESHCLAM=%%ProgramFiles%%\\ClamAV\\freshclam.exe\"\r\n"
	    "if not exist \"%%MOAT%%\\db\" mkdir \"%%MOAT%%\\db\"\r\n"
	    "if not exist \"%%MOAT%%\\db\" (echo moat-install: error: cannot make %%MOAT%%\\db 1>&2 & exit /b 1)\r\n"
	    "> \"%%MOAT%%\\freshclam.conf\" echo DatabaseDirectory %%MOAT%%\\db\r\n"
	    "type freshclam.conf >> \"%%MOAT%%\\freshclam.conf\"\r\n"
	    "if errorlevel 1 (echo moat-install: error: cannot write %%MOAT%%\\freshclam.conf 1>&2 & exit /b 1)\r\n"
	    "if exist db\\ copy /y db\\* \"%%MOAT%%\\db\\\" >nul\r\n"
	    "if errorlevel 1 (echo moat-install: error: cannot copy the databases 1>&2 & exit /b 1)\r\n"
	    "schtasks /Create /F /TN \"Moat\\AV update\" /SC DAILY /ST %s /RU SYSTEM /TR \"\\\"%%FRESHCLAM%%\\\" --config-file=\\\"%%MOAT%%\\freshclam.conf\\\"\"\r\n"
	    "if errorlevel 1 (echo moat-install: error: schtasks could not register the update 1>&2 & exit /b 1)\r\n"
	    "echo moat-install: signature update every day at %s (task Moat\\AV update)\r\n"
	    "\"%%FRESHCLAM%%\" --config-file=\"%%MOAT%%\\freshclam.conf\"\r\n"
	    "if errorlevel 1 (echo moat-install: error: the first signature update failed 1>&2 & exit /b 1)\r\n"
	    "echo moat-install: done\r\n"
	    "exit /b 0\r\n"
	    ":badhash\r\n"
	    "echo moat-install: error: package SHA-256 mismatch (got %%GOT%%, want %%WANT%%); nothing was installed 1>&2\r\n"
	    "exit /b 1\r\n", b->hhmm, b->hhmm);
	return t->bad ? bundle_fail(b, "install.cmd: too long") : 0;
}

static int
bundle_zip_texts(struct bundle *b)
{
	if (bundle_freshclam_conf(b, &b->conf, NULL) == -1 ||
	    bundle_install_cmd(b, &b->cmd, b->member) == -1)
		return -1;
	return 0;
}

static int
bundle_zip_write(struct bundle *b, int out_fd)
{
	const struct bundle_member m[] = BUNDLE_ZIP_TEXTS(b);

	return bundle_archive_write(b, ARCHIVE_ZIP, out_fd, m, BUNDLE_NELEM(m), "zip");
}

/* The refusals, filling b (mirror URL, time, the package's member name). */
static int
bundle_prepare(struct bundle *b, const struct bundle_in *in, char *err, size_t errlen)
{
	size_t n;

	b->in = in;
	b->err = err;
	b->errlen = errlen;

	if (in->pkg == NULL || (!bundle_linux(in->pkg->platform) &&
	    strcmp(in->pkg->platform, "windows") != 0))
		return bundle_fail(b, "no bundle for this platform");
	if (!bundle_sha_ok(in->pkg->sha256))
		return bundle_fail(b, "package %s: bad SHA-256 text", in->pkg->file);
	if ((b->member = bundle_pkg_member(in->pkg)) == NULL)
		return bundle_fail(b, "package %s: a Windows package is an .msi or .exe",
		    in->pkg->file);
	if (in->minute >= 1440)
		return bundle_fail(b, "update minute %u out of the day", in->minute);
	if (in->subscriber == NULL || in->client == NULL || !bundle_text_ok(in->subscriber) ||
	    !bundle_text_ok(in->client) || !bundle_text_ok(in->pkg->name) ||
	    !bundle_text_ok(in->pkg->version))
		return bundle_fail(b, "a control character in a name");
	if ((in->login != NULL && !bundle_text_ok(in->login)) ||
	    (in->secret != NULL && !bundle_text_ok(in->secret)))
		return bundle_fail(b, "a control character in the credentials");
	if (in->mirror_url == NULL || !bundle_url_ok(in->mirror_url) ||
	    (n = strlen(in->mirror_url)) >= sizeof(b->mirror))
		return bundle_fail(b, "mirror URL: not a plain http(s)://host[:port][/path]");
	memcpy(b->mirror, in->mirror_url, n + 1);
	while (n > 0 && b->mirror[n - 1] == '/')
		b->mirror[--n] = '\0';
	snprintf(b->hhmm, sizeof(b->hhmm), "%02u:%02u", (in->minute / 60) % 24, in->minute % 60);
	return 0;
}

struct bundle *
bundle_open(const struct bundle_in *in, char *err, size_t errlen)
{
	struct bundle	*b;
	struct stat	 sb;
	int		 rc;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (bundle_prepare(b, in, err, errlen) == -1)
		goto fail;
	if (fstat(in->pkg_fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		bundle_fail(b, "package %s: not a regular file", in->pkg->file);
		goto fail;
	}
	if ((uint64_t)sb.st_size != in->pkg->size) {
		bundle_fail(b, "package %s: %lld bytes, published as %llu", in->pkg->file,
		    (long long)sb.st_size, (unsigned long long)in->pkg->size);
		goto fail;
	}
	if (bundle_scan_dbs(b) == -1)
		goto fail;
	rc = bundle_linux(in->pkg->platform) ? bundle_script_texts(b) : bundle_zip_texts(b);
	if (rc == -1)
		goto fail;
	return b;
fail:
	bundle_close(b);
	return NULL;
}

uint64_t
bundle_size(const struct bundle *b)
{
	enum archive_kind	 k = bundle_linux(b->in->pkg->platform) ? ARCHIVE_TAR : ARCHIVE_ZIP;
	const struct bundle_member ms[] = BUNDLE_SCRIPT_TEXTS(b), mz[] = BUNDLE_ZIP_TEXTS(b);
	const struct bundle_member *m = k == ARCHIVE_TAR ? ms : mz;
	size_t			 nm = k == ARCHIVE_TAR ? BUNDLE_NELEM(ms) : BUNDLE_NELEM(mz);
	uint64_t		 n = k == ARCHIVE_TAR ? b->head.len : 0;
	char			 name[96];

	for (size_t i = 0; i < nm; i++)
		n += archive_entry_size(k, m[i].name, m[i].t->len);
	for (size_t i = 0; i < b->ndb; i++) {
		snprintf(name, sizeof(name), "db/%s", b->db[i].name);
		n += archive_entry_size(k, name, b->db[i].size);
	}
	n += archive_entry_size(k, b->member, b->in->pkg->size);
	return n + archive_end_size(k);
}

int
bundle_write(struct bundle *b, int out_fd, char *err, size_t errlen)
{
	b->err = err;
	b->errlen = errlen;
	return bundle_linux(b->in->pkg->platform) ? bundle_script_write(b, out_fd) :
	    bundle_zip_write(b, out_fd);
}

void
bundle_close(struct bundle *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->ndb; i++)
		close(b->db[i].fd);
	free(b);
}

int
bundle_build(const struct bundle_in *in, int out_fd, char *err, size_t errlen)
{
	struct bundle	*b;
	int		 rc;

	if ((b = bundle_open(in, err, errlen)) == NULL)
		return -1;
	rc = bundle_write(b, out_fd, err, errlen);
	bundle_close(b);
	return rc;
}

void
bundle_filename(const char *platform, char *buf, size_t len)
{
	if (bundle_linux(platform))
		snprintf(buf, len, "moat-install-%s.sh", platform);
	else if (strcmp(platform, "windows") == 0)
		snprintf(buf, len, "moat-install-windows.zip");
	else
		snprintf(buf, len, "moat-install.bin");
}

const char *
bundle_ctype(const char *platform)
{
	if (bundle_linux(platform))
		return "application/x-sh";
	if (strcmp(platform, "windows") == 0)
		return "application/zip";
	return "application/octet-stream";
}
