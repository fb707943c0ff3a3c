/*
 * moatctl mirror: the state of moat-updated's signature mirror
 * (updated.mirror_dir) and a vendor pull on request.
 *
 * status lists the files stock freshclam may fetch: for each, its size; for
 * a .cvd or .cld the header's version, signature count and build time
 * (the header's Unix time, shown in UTC); for a .cdiff the version it
 * patches to; whether the .sign beside it exists.  Then each database's
 * cdiff chain (lowest to highest, and the versions missing in between), and
 * the last "update.published" and "update.vendor_failed" events (by kind
 * text: the vendor puller records them).  Symbolic links and other
 * non-regular entries are shown as such: moat-updated never serves them.
 *
 * pull sends SIGUSR1 to moat-updated, which makes it pull from the vendors
 * now rather than at its next interval.  The pid comes from
 * common.run_dir/moat-updated.pid and is signalled only when it is the
 * process holding the pidfile's lock (daemon_pidfile) or, for a pidfile
 * written by a supervisor without a lock (ctl/moat-stack), a process whose
 * name is moat-updated: a stale pid is never signalled.
 *
 * SECURITY: file contents are read through descriptors opened relative to
 * mirror_dir with O_NOFOLLOW; header fields are printed only after parsing
 * as numbers.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "moatctl.h"
#include "updated_conf.h"

#define MIRCTL_HDR 512                  /* a CVD header, space-padded */
#define MIRCTL_NAME_MAX 255
#define MIRCTL_FILES_MAX 10000          /* more is not a mirror directory */
#define MIRCTL_DAEMON "moat-updated"

static const char mirror_usage[] =
    "usage: moatctl mirror status | pull\n"
    "  status: the files of updated.mirror_dir (versions, signatures, build times,\n"
    "          .sign files), the cdiff chains, the last publish and vendor failure\n"
    "  pull:   asks moat-updated (SIGUSR1, pid from common.run_dir/moat-updated.pid)\n"
    "          to pull signatures and packages from the vendors now\n";

static const char sql_last_event[] =
    "SELECT datetime(ts, 'unixepoch'), detail_json FROM events WHERE kind = ?1 "
    "ORDER BY ts DESC, id DESC LIMIT 1";

enum mirctl_kind { MF_OTHER, MF_CVD, MF_CLD, MF_CDIFF, MF_SIGN };

struct mirctl_file {
	char              name[MIRCTL_NAME_MAX + 1];
	char              shown[MIRCTL_NAME_MAX + 1];  /* name, control bytes as '?' */
	enum mirctl_kind  kind;
	char              db[MIRCTL_NAME_MAX + 1];  /* "daily" of daily.cvd, daily-9.cdiff */
	long long         n;                        /* N of DB-N.cdiff */
	int               regular;                  /* else a link, directory, ... */
	long long         size;
};

/* The kind of a mirror file name, with its database name and cdiff N. */
static enum mirctl_kind
mirctl_classify(const char *name, char *db, size_t dblen, long long *n)
{
	size_t len = strlen(name);
	const char *dash;
	char *end;

	if (len > 5 && strcmp(name + len - 5, ".sign") == 0) {
		snprintf(db, dblen, "%s", name);
		return MF_SIGN;
	}
	if (len > 4 && (strcmp(name + len - 4, ".cvd") == 0 ||
	    strcmp(name + len - 4, ".cld") == 0)) {
		snprintf(db, dblen, "%.*s", (int)(len - 4), name);
		return name[len - 2] == 'v' ? MF_CVD : MF_CLD;
	}
	if (len > 6 && strcmp(name + len - 6, ".cdiff") == 0 &&
	    (dash = strrchr(name, '-')) != NULL && dash > name &&
	    dash[1] >= '1' && dash[1] <= '9') {
		*n = strtoll(dash + 1, &end, 10);
		if (end != name + len - 6 || *n <= 0)
			return MF_OTHER;
		snprintf(db, dblen, "%.*s", (int)(dash - name), name);
		return MF_CDIFF;
	}
	return MF_OTHER;
}

static int
mirctl_cmp(const void *a, const void *b)
{
	const struct mirctl_file *x = a, *y = b;
	int c = strcmp(x->db, y->db);

	/* Databases together: the .cvd/.cld first, then cdiffs by number. */
	if (c != 0 || x->kind == MF_OTHER || y->kind == MF_OTHER)
		return c != 0 ? c : strcmp(x->name, y->name);
	if (x->kind == MF_CDIFF && y->kind == MF_CDIFF)
		return x->n < y->n ? -1 : x->n > y->n;
	if ((x->kind == MF_CDIFF) != (y->kind == MF_CDIFF))
		return x->kind == MF_CDIFF ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* An unsigned decimal field of a header: 0 with *v, or -1. */
static int
mirctl_num(const char *s, long long *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return *end == '\0' && errno == 0 ? 0 : -1;
}

/*
 * The header of a .cvd/.cld ("ClamAV-VDB:time:version:sigs:flevel:md5:
 * dsig:builder:stime", space-padded to 512 bytes) or of a .cdiff
 * ("ClamAV-Diff:version:length:").  Fills text columns; "?" where the
 * header is not what it should be.
 */
static void
mirctl_header(int dir, const struct mirctl_file *f, char *ver, char *sigs,
    char *built, size_t len)
{
	char hdr[MIRCTL_HDR + 1], *field[10], *p;
	long long v, s, t;
	struct tm tm;
	time_t tt;
	ssize_t n;
	int fd, nf = 0;

	snprintf(ver, len, "?");
	snprintf(sigs, len, f->kind == MF_CDIFF ? "-" : "?");
	snprintf(built, len, f->kind == MF_CDIFF ? "-" : "?");
	if ((fd = openat(dir, f->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
		return;
	n = pread(fd, hdr, MIRCTL_HDR, 0);
	close(fd);
	if (n <= 0)
		return;
	hdr[n] = '\0';
	if (f->kind == MF_CDIFF) {
		if (strncmp(hdr, "ClamAV-Diff:", 12) != 0)
			return;
		hdr[12 + strcspn(hdr + 12, ":")] = '\0';
		if (mirctl_num(hdr + 12, &v) == 0)
			snprintf(ver, len, "%lld", v);
		return;
	}
	if (n != MIRCTL_HDR || strncmp(hdr, "ClamAV-VDB:", 11) != 0 ||
	    memchr(hdr, '\0', MIRCTL_HDR) != NULL)
		return;
	for (p = hdr + MIRCTL_HDR; p > hdr && p[-1] == ' '; p--)
		p[-1] = '\0';
	for (p = hdr; nf < 10 && p != NULL; nf++) {
		field[nf] = p;
		if ((p = strchr(p, ':')) != NULL)
			*p++ = '\0';
	}
	if (nf < 9)
		return;
	if (mirctl_num(field[2], &v) == 0)
		snprintf(ver, len, "%lld", v);
	if (mirctl_num(field[3], &s) == 0)
		snprintf(sigs, len, "%lld", s);
	tt = 0;
	if (mirctl_num(field[8], &t) == 0 && (tt = (time_t)t) == t &&
	    gmtime_r(&tt, &tm) != NULL)
		strftime(built, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* The entries of mirror_dir, sorted (*files malloc'd).  0, or 1 (printed). */
static int
mirctl_scan(int dir, const char *dirpath, struct mirctl_file **files, size_t *nfiles)
{
	struct mirctl_file *v = NULL, *nv;
	struct dirent *de;
	struct stat sb;
	size_t n = 0, cap = 0;
	DIR *d;
	int fd;

	if ((fd = dup(dir)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return ctl_err("%s: %s", dirpath, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;               /* ".", "..", temporaries */
		if (n == MIRCTL_FILES_MAX) {
			printf("(more than %d entries: only the first are shown)\n",
			    MIRCTL_FILES_MAX);
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				free(v);
				closedir(d);
				return ctl_err("out of memory");
			}
			v = nv;
		}
		memset(&v[n], 0, sizeof(v[n]));
		snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
		for (size_t i = 0; (v[n].shown[i] = v[n].name[i]) != '\0'; i++)
			if ((unsigned char)v[n].name[i] < 0x20 || v[n].name[i] == 0x7f)
				v[n].shown[i] = '?';
		v[n].kind = mirctl_classify(v[n].name, v[n].db, sizeof(v[n].db), &v[n].n);
		if (fstatat(dir, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
			v[n].regular = S_ISREG(sb.st_mode);
			v[n].size = (long long)sb.st_size;
		}
		if (v[n].kind == MF_OTHER)
			snprintf(v[n].db, sizeof(v[n].db), "%s", v[n].name);
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), mirctl_cmp);
	*files = v;
	*nfiles = n;
	return 0;
}

/* 1 when a regular file name.sign is among files. */
static int
mirctl_signed(const struct mirctl_file *files, size_t n, const char *name)
{
	char sign[MIRCTL_NAME_MAX + 8];

	snprintf(sign, sizeof(sign), "%s.sign", name);
	for (size_t i = 0; i < n; i++)
		if (files[i].regular && strcmp(files[i].name, sign) == 0)
			return 1;
	return 0;
}

/* Each database's cdiff chain: lowest-highest and the gaps. */
static void
mirctl_chains(const struct mirctl_file *files, size_t n)
{
	int any = 0;

	for (size_t i = 0; i < n; ) {
		size_t j = i;
		long long lo, hi, prev, missing = 0;

		if (files[i].kind != MF_CDIFF || !files[i].regular) {
			i++;
			continue;
		}
		lo = prev = files[i].n;
		while (j + 1 < n && files[j + 1].kind == MF_CDIFF && files[j + 1].regular &&
		    strcmp(files[j + 1].db, files[i].db) == 0) {
			j++;
			missing += files[j].n - prev - 1;
			prev = files[j].n;
		}
		hi = prev;
		if (!any++)
			printf("\ncdiff chains:\n");
		/* The database name is the start of the file name: shown from
		 * the sanitized copy. */
		printf("  %.*s: %lld-%lld (%zu file%s", (int)(strlen(files[i].db)),
		    files[i].shown, lo, hi, j - i + 1,
		    j > i ? "s" : "");
		if (missing > 0)
			printf("; %lld missing:", missing);
		for (size_t k = i; missing > 0 && k < j; k++)
			for (long long m = files[k].n + 1; m < files[k + 1].n; m++)
				printf(" %lld", m);
		printf(")\n");
		i = j + 1;
	}
	if (!any)
		printf("\ncdiff chains: none\n");
}

/* The last event of a kind: "when detail", or "none".  0, or 1 (printed). */
static int
mirctl_last(struct ctl *ctl, const char *kind)
{
	sqlite3_stmt *stmt;
	const char *when, *detail;
	int rc;

	if ((stmt = store_prepare(ctl->st, sql_last_event)) == NULL ||
	    sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC) != SQLITE_OK)
		return ctl_sqlerr(ctl);
	rc = store_step(ctl->st, stmt, "events");
	if (rc == STORE_STEP_DONE) {
		printf("last %s: none\n", kind);
		return 0;
	}
	if (rc != STORE_STEP_ROW)
		return ctl_sqlerr(ctl);
	when = (const char *)sqlite3_column_text(stmt, 0);
	detail = (const char *)sqlite3_column_text(stmt, 1);
	/* Stored JSON is printed as data: no control characters reach the
	 * terminal. */
	printf("last %s: %s ", kind, when != NULL ? when : "?");
	for (const char *p = detail != NULL ? detail : "-"; *p != '\0'; p++)
		putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
	putchar('\n');
	sqlite3_reset(stmt);
	return 0;
}

static int
mirctl_status(struct ctl *ctl)
{
	struct common_conf cc;
	struct updated_conf uc;
	struct mirctl_file *files = NULL;
	size_t n = 0, w = 4;
	char ver[32], sigs[32], built[32];
	int dir = -1, st;

	if (ctl_updated_conf(ctl, &cc, &uc) != 0)
		return 1;
	if ((dir = open(uc.mirror_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		st = ctl_err("updated.mirror_dir %s: %s", uc.mirror_dir, strerror(errno));
	else if ((st = ctl_open(ctl, 0)) == 0)
		st = mirctl_scan(dir, uc.mirror_dir, &files, &n);
	if (st != 0)
		goto done;
	printf("mirror_dir %s\n\n", uc.mirror_dir);
	for (size_t i = 0; i < n; i++)
		if (files[i].kind != MF_SIGN && strlen(files[i].shown) > w)
			w = strlen(files[i].shown);
	printf("%-*s  %12s  %7s  %10s  %-19s  %s\n", (int)w, "file", "size", "version",
	    "signatures", "built (UTC)", "sign");
	for (size_t i = 0; i < n; i++) {
		const struct mirctl_file *f = &files[i];

		if (f->kind == MF_SIGN && f->regular)
			continue;               /* shown as its file's sign column */
		if (!f->regular) {
			printf("%-*s  (not a regular file: never served)\n", (int)w, f->shown);
			continue;
		}
		if (f->kind == MF_OTHER || f->kind == MF_SIGN) {
			printf("%-*s  %12lld  (not a mirror file)\n", (int)w, f->shown, f->size);
			continue;
		}
		mirctl_header(dir, f, ver, sigs, built, sizeof(ver));
		printf("%-*s  %12lld  %7s  %10s  %-19s  %s\n", (int)w, f->shown, f->size, ver,
		    sigs, built, mirctl_signed(files, n, f->name) ? "yes" : "no");
	}
	if (n == 0)
		printf("(empty)\n");
	mirctl_chains(files, n);
	putchar('\n');
	if ((st = mirctl_last(ctl, "update.published")) == 0)
		st = mirctl_last(ctl, "update.vendor_failed");
done:
	free(files);
	if (dir != -1)
		close(dir);
	ctl_updated_conf_free(&cc, &uc);
	return st;
}

/* 1 when pid is the process holding fd's lock, or is named moat-updated. */
static int
mirctl_is_daemon(int fd, pid_t pid)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[64], comm[32];
	ssize_t n;
	int cfd;

	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid == pid)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((cfd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(cfd, comm, sizeof(comm) - 1);
	close(cfd);
	if (n <= 0)
		return 0;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, MIRCTL_DAEMON) == 0;
}

static int
mirctl_pull(struct ctl *ctl)
{
	struct common_conf cc;
	struct updated_conf uc;
	char path[4096], buf[32];
	long long pid = 0;
	ssize_t n;
	int fd = -1, st = 0;

	if (ctl_updated_conf(ctl, &cc, &uc) != 0)
		return 1;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.pid", cc.run_dir, MIRCTL_DAEMON) >=
	    sizeof(path)) {
		st = ctl_err("common.run_dir too long");
		goto done;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		st = ctl_err("%s: %s%s", path, strerror(errno), errno == ENOENT ?
		    " (is moat-updated running?)" : "");
		goto done;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (mirctl_num(buf, &pid) == -1 || pid <= 1 || (pid_t)pid != pid) {
		st = ctl_err("%s: no pid in it", path);
		goto done;
	}
	if (!mirctl_is_daemon(fd, (pid_t)pid)) {
		st = ctl_err("%s: pid %lld is not moat-updated (a stale pidfile?)", path, pid);
		goto done;
	}
	if (kill((pid_t)pid, SIGUSR1) == -1) {
		st = ctl_err("signalling moat-updated (pid %lld): %s", pid, strerror(errno));
		goto done;
	}
	ctl_say(ctl, "asked moat-updated (pid %lld) to pull from the vendors now", pid);
done:
	if (fd != -1)
		close(fd);
	ctl_updated_conf_free(&cc, &uc);
	return st;
}

int
moatctl_mirror(struct ctl *ctl, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "status") == 0)
		return mirctl_status(ctl);
	if (argc == 1 && strcmp(argv[0], "pull") == 0)
		return mirctl_pull(ctl);
	return ctl_usage(mirror_usage);
}
