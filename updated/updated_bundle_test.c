/*
 * bundle_test - the install bundle from fixed inputs: the Linux script's
 * head and the files it carries (freshclam.conf, the timer, the service,
 * the cron line) and the Windows zip's install.cmd and freshclam.conf are
 * compared byte for byte with updated/testdata/bundle/ (MOAT_UPDATE_GOLDEN=1
 * rewrites them); the tar and zip are parsed here (checksums, CRC-32,
 * central directory, mtimes); two builds are the same bytes; hostile names
 * come out of a real sh unchanged; bad inputs are refused before a byte is
 * written; the mirror directory's symlinks, directories and odd names are
 * left out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "updated_bundle.h"
#include "updated_packages.h"
#include "moat_test.h"

#define PUBLISHED 1767225600LL    /* 2026-01-01 00:00:00 UTC */
#define MAX_MEMBERS 16

static const char *src_dir;
static char mirror_dir[1024];
static int mirror_fd = -1, pkg_fd = -1, msi_fd = -1;

static const char pkg_bytes[] = "!<arch>\nnot really a .deb, a fixed fixture\n";
static const char msi_bytes[] = "MSI fixture bytes\n";
static const char test_cvd[] = "ClamAV-VDB:fixture test.cvd\n";
static const char daily_cld[] = "ClamAV-VDB:fixture daily.cld, longer than the other one\n";

/* The hostile names a subscriber and its user can choose. */
static const char HOSTILE_SUB[] = "Acme's \"R&D\" $(touch pwned) `id` ${HOME} \\ ; # é";
static const char HOSTILE_LOGIN[] = "bob o'neil";
static const char HOSTILE_SECRET[] = "p@ss:w/rd%#\" x'$(id)";

struct member {
	char         name[101];
	const char  *data;
	size_t       len;
	long long    mtime;
	unsigned     mode;
};

struct buf {
	char    *p;
	size_t   len;
};

static struct pkg
fixture_pkg(const char *platform)
{
	struct pkg p;

	memset(&p, 0, sizeof(p));
	p.id = 1;
	snprintf(p.platform, sizeof(p.platform), "%s", platform);
	snprintf(p.name, sizeof(p.name), "moat-av-demo");
	snprintf(p.version, sizeof(p.version), "1.0");
	if (strcmp(platform, "windows") == 0) {
		snprintf(p.file, sizeof(p.file), "moat-av-demo-1.0.msi");
		p.size = sizeof(msi_bytes) - 1;
	} else {
		snprintf(p.file, sizeof(p.file), "moat-av-demo_1.0_all.deb");
		p.size = sizeof(pkg_bytes) - 1;
	}
	snprintf(p.sha256, sizeof(p.sha256), "%s",
	    "5b1f0d5f7c3c1e8a9a3f0e2d4c6b8a0912345678901234567890abcdefabcdef");
	p.published = PUBLISHED;
	return p;
}

static struct bundle_in
fixture_in(const struct pkg *p)
{
	struct bundle_in in;

	memset(&in, 0, sizeof(in));
	in.pkg = p;
	in.pkg_fd = strcmp(p->platform, "windows") == 0 ? msi_fd : pkg_fd;
	in.mirror_fd = mirror_fd;
	in.mirror_url = "http://127.0.0.1:8080/";
	in.login = HOSTILE_LOGIN;
	in.secret = HOSTILE_SECRET;
	in.minute = 137;    /* 02:17 */
	in.subscriber = HOSTILE_SUB;
	in.client = "login:bob o'neil";
	return in;
}

static void
write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd == -1 || write(fd, data, len) != (ssize_t)len) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
}

static int
mem_fd(const char *data, size_t len)
{
	int fd = memfd_create("fixture", MFD_CLOEXEC);

	if (fd == -1 || write(fd, data, len) != (ssize_t)len) {
		perror("memfd");
		exit(1);
	}
	return fd;
}

/* The mirror directory: two databases (and daily.cvd, left out for its
 * .cld), a symlink to a file outside, a directory, odd names. */
static void
setup(void)
{
	const char	*tmp = getenv("TMPDIR");
	char		 path[1200], outside[1200];

	if ((src_dir = getenv("MOAT_SRC")) == NULL)
		src_dir = ".";
	snprintf(mirror_dir, sizeof(mirror_dir), "%s/bundle_test.%ld", tmp ? tmp : "/tmp",
	    (long)getpid());
	if (mkdir(mirror_dir, 0700) == -1) {
		perror(mirror_dir);
		exit(1);
	}
	snprintf(outside, sizeof(outside), "%s.secret", mirror_dir);
	write_file(outside, "SECRET OUTSIDE\n", 15);
#define IN_MIRROR(n) (snprintf(path, sizeof(path), "%s/%s", mirror_dir, (n)), path)
	write_file(IN_MIRROR("test.cvd"), test_cvd, sizeof(test_cvd) - 1);
	write_file(IN_MIRROR("daily.cld"), daily_cld, sizeof(daily_cld) - 1);
	write_file(IN_MIRROR("daily.cvd"), "older daily\n", 12);
	write_file(IN_MIRROR("bad name.cvd"), "x\n", 2);
	write_file(IN_MIRROR(".hidden.cvd"), "x\n", 2);
	write_file(IN_MIRROR("test-3.cdiff"), "x\n", 2);
	write_file(IN_MIRROR("notes.txt"), "x\n", 2);
	if (symlink(outside, IN_MIRROR("evil.cvd")) == -1 ||
	    mkdir(IN_MIRROR("dir.cvd"), 0700) == -1) {
		perror("mirror fixture");
		exit(1);
	}
	if ((mirror_fd = open(mirror_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		perror(mirror_dir);
		exit(1);
	}
	pkg_fd = mem_fd(pkg_bytes, sizeof(pkg_bytes) - 1);
	msi_fd = mem_fd(msi_bytes, sizeof(msi_bytes) - 1);
}

/* Builds into a memfd; 0 with *out (malloc'd), or -1 with err. */
static int
build(const struct bundle_in *in, struct buf *out, char *err, size_t errlen)
{
	int		fd = memfd_create("bundle", MFD_CLOEXEC);
	struct stat	sb;
	int		rc;

	out->p = NULL;
	out->len = 0;
	if (fd == -1)
		return -1;
	rc = bundle_build(in, fd, err, errlen);
	if (fstat(fd, &sb) == -1 || (out->p = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	out->len = (size_t)sb.st_size;
	if (pread(fd, out->p, out->len, 0) != (ssize_t)out->len)
		rc = -1;
	out->p[out->len] = '\0';
	close(fd);
	return rc;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*p;
	long	 n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n < 0 || (p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	p[n] = '\0';
	*len = (size_t)n;
	return p;
}

/* Compares got with testdata/bundle/name, or rewrites it under
 * MOAT_UPDATE_GOLDEN=1. */
static void
golden(const char *name, const char *got, size_t len)
{
	char	 path[1200];
	char	*want;
	size_t	 wlen, i;

	snprintf(path, sizeof(path), "%s/updated/testdata/bundle/%s", src_dir, name);
	if (getenv("MOAT_UPDATE_GOLDEN") != NULL && strcmp(getenv("MOAT_UPDATE_GOLDEN"), "1") == 0) {
		write_file(path, got, len);
		printf("  rewrote %s\n", path);
		return;
	}
	if ((want = slurp(path, &wlen)) == NULL) {
		TEST_FAIL("%s: %s (MOAT_UPDATE_GOLDEN=1 writes it)", path, strerror(errno));
		return;
	}
	if (wlen != len || memcmp(want, got, len) != 0) {
		for (i = 0; i < len && i < wlen && want[i] == got[i]; i++)
			;
		TEST_FAIL("%s: differs at byte %zu (got %zu bytes, want %zu): got \"%.40s\", want \"%.40s\"",
		    name, i, len, wlen, got + i, i < wlen ? want + i : "");
	}
	free(want);
}

static unsigned long long
octal(const char *p, size_t n)
{
	unsigned long long v = 0;

	for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (unsigned)(p[i] - '0');
	return v;
}

/* Parses a ustar stream; the number of members, or -1 (reported). */
static int
parse_tar(const char *p, size_t len, struct member *m, int max)
{
	size_t	off = 0;
	int	n = 0;

	while (off + 512 <= len) {
		const unsigned char *h = (const unsigned char *)p + off;
		unsigned sum = 0;
		int zero = 1;

		for (int i = 0; i < 512; i++)
			zero &= h[i] == 0;
		if (zero) {
			/* The end: two zero blocks and nothing after them. */
			if (off + 1024 != len)
				TEST_FAIL("tar: %zu bytes after the first zero block, want 1024",
				    len - off);
			return n;
		}
		for (int i = 0; i < 512; i++)
			sum += i >= 148 && i < 156 ? ' ' : h[i];
		if (sum != octal((const char *)h + 148, 8)) {
			TEST_FAIL("tar: member %d: checksum %u, header says %llo", n, sum,
			    octal((const char *)h + 148, 8));
			return -1;
		}
		if (memcmp(h + 257, "ustar", 6) != 0 || memcmp(h + 263, "00", 2) != 0 || h[156] != '0') {
			TEST_FAIL("tar: member %d: not a ustar regular file", n);
			return -1;
		}
		if (n == max)
			return -1;
		memcpy(m[n].name, h, 100);
		m[n].name[100] = '\0';
		m[n].len = (size_t)octal((const char *)h + 124, 12);
		m[n].mtime = (long long)octal((const char *)h + 136, 12);
		m[n].mode = (unsigned)octal((const char *)h + 100, 8);
		m[n].data = p + off + 512;
		off += 512 + (m[n].len + 511) / 512 * 512;
		n++;
	}
	TEST_FAIL("tar: no end blocks");
	return -1;
}

static unsigned
get16(const unsigned char *p)
{
	return p[0] | (unsigned)p[1] << 8;
}

static unsigned long
get32(const unsigned char *p)
{
	return get16(p) | (unsigned long)get16(p + 2) << 16;
}

/* Parses a stored zip: local headers in order, then the central directory
 * that must name the same entries at the same offsets, then the end. */
static int
parse_zip(const char *p, size_t len, struct member *m, int max)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t	off = 0, offs[MAX_MEMBERS];
	int	n = 0;

	while (off + 30 <= len && get32(u + off) == 0x04034b50) {
		unsigned long crc = get32(u + off + 14), csize = get32(u + off + 18);
		unsigned nlen = get16(u + off + 26), elen = get16(u + off + 28);

		if (n == max || get16(u + off + 8) != 0 || csize != get32(u + off + 22) ||
		    nlen > 100) {
			TEST_FAIL("zip: entry %d: bad local header", n);
			return -1;
		}
		offs[n] = off;
		memcpy(m[n].name, p + off + 30, nlen);
		m[n].name[nlen] = '\0';
		m[n].data = p + off + 30 + nlen + elen;
		m[n].len = csize;
		if (crc32(0, (const Bytef *)m[n].data, (uInt)csize) != crc)
			TEST_FAIL("zip: %s: CRC-32 mismatch", m[n].name);
		/* 2026-01-01 00:00:00 as MS-DOS date and time. */
		if (get16(u + off + 10) != 0 || get16(u + off + 12) != ((46u << 9) | (1 << 5) | 1))
			TEST_FAIL("zip: %s: time %04x date %04x", m[n].name,
			    get16(u + off + 10), get16(u + off + 12));
		off += 30 + nlen + elen + csize;
		n++;
	}
	size_t cd = off;
	for (int i = 0; i < n; i++) {
		unsigned nlen;

		if (off + 46 > len || get32(u + off) != 0x02014b50) {
			TEST_FAIL("zip: central entry %d missing", i);
			return -1;
		}
		nlen = get16(u + off + 28);
		if (get32(u + off + 42) != offs[i] || nlen != strlen(m[i].name) ||
		    memcmp(p + off + 46, m[i].name, nlen) != 0)
			TEST_FAIL("zip: central entry %d does not match %s", i, m[i].name);
		m[i].mode = (unsigned)(get32(u + off + 38) >> 16) & 07777;
		m[i].mtime = PUBLISHED;
		off += 46 + nlen + get16(u + off + 30) + get16(u + off + 32);
	}
	if (off + 22 != len || get32(u + off) != 0x06054b50 || get16(u + off + 10) != (unsigned)n ||
	    get32(u + off + 12) != off - cd || get32(u + off + 16) != cd) {
		TEST_FAIL("zip: bad end of central directory");
		return -1;
	}
	return n;
}

static const struct member *
find(const struct member *m, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(m[i].name, name) == 0)
			return &m[i];
	TEST_FAIL("member %s missing", name);
	return NULL;
}

static void
check_member(const struct member *m, int n, const char *name, const char *data, size_t len)
{
	const struct member *e = find(m, n, name);

	if (e != NULL && (e->len != len || memcmp(e->data, data, len) != 0))
		TEST_FAIL("%s: content differs (%zu bytes, want %zu)", name, e->len, len);
}

static void
check_names(const struct member *m, int n, const char *const *want, int nwant)
{
	if (n != nwant)
		TEST_FAIL("%d members, want %d", n, nwant);
	for (int i = 0; i < n && i < nwant; i++) {
		TEST_STR_EQ("member", m[i].name, want[i]);
		TEST_INT_EQ(m[i].name, m[i].mtime, PUBLISHED);
	}
}

static void
case_debian(void)
{
	struct pkg		 p = fixture_pkg("debian");
	struct bundle_in	 in = fixture_in(&p);
	struct member		 m[MAX_MEMBERS];
	struct buf		 b;
	char			 err[256] = "";
	const char		*marker;
	static const char *const want[] = {
		"freshclam.conf", "moat-av-update.cron", "moat-av-update.service",
		"moat-av-update.timer", "db/daily.cld", "db/test.cvd", "package.deb",
	};
	int			 n;

	if (build(&in, &b, err, sizeof(err)) != 0)
		TEST_FATAL("build: %s", err);
	if (strncmp(b.p, "#!/bin/sh\n", 10) != 0)
		TEST_FAIL("no #!/bin/sh");
	if ((marker = strstr(b.p, "\n__MOAT_PAYLOAD__\n")) == NULL) {
		free(b.p);
		TEST_FATAL("no marker line");
	}
	marker += strlen("\n__MOAT_PAYLOAD__\n");
	golden("debian-head.sh", b.p, (size_t)(marker - b.p));
	n = parse_tar(marker, b.len - (size_t)(marker - b.p), m, MAX_MEMBERS);
	if (n < 0) {
		free(b.p);
		TEST_FATAL("payload does not parse");
	}
	check_names(m, n, want, (int)TEST_NELEM(want));
	const struct member *e;
	if ((e = find(m, n, "freshclam.conf")) != NULL) {
		golden("debian-freshclam.conf", e->data, e->len);
		TEST_INT_EQ("freshclam.conf mode", e->mode, 0600);
	}
	if ((e = find(m, n, "moat-av-update.timer")) != NULL)
		golden("debian.timer", e->data, e->len);
	if ((e = find(m, n, "moat-av-update.service")) != NULL)
		golden("debian.service", e->data, e->len);
	if ((e = find(m, n, "moat-av-update.cron")) != NULL)
		golden("debian.cron", e->data, e->len);
	check_member(m, n, "package.deb", pkg_bytes, sizeof(pkg_bytes) - 1);
	check_member(m, n, "db/test.cvd", test_cvd, sizeof(test_cvd) - 1);
	check_member(m, n, "db/daily.cld", daily_cld, sizeof(daily_cld) - 1);
	TEST_CHECK(memmem(b.p, b.len, "SECRET OUTSIDE", 14) == NULL, "the symlink was followed");
	free(b.p);
}

static void
case_windows(void)
{
	struct pkg		 p = fixture_pkg("windows");
	struct bundle_in	 in = fixture_in(&p);
	struct member		 m[MAX_MEMBERS];
	struct buf		 b;
	char			 err[256] = "";
	static const char *const want[] = {
		"install.cmd", "freshclam.conf", "db/daily.cld", "db/test.cvd", "package.msi",
	};
	int			 n;

	if (build(&in, &b, err, sizeof(err)) != 0)
		TEST_FATAL("build: %s", err);
	if ((n = parse_zip(b.p, b.len, m, MAX_MEMBERS)) < 0) {
		free(b.p);
		TEST_FATAL("zip does not parse");
	}
	check_names(m, n, want, (int)TEST_NELEM(want));
	const struct member *e;
	if ((e = find(m, n, "install.cmd")) != NULL) {
		golden("windows-install.cmd", e->data, e->len);
		/* Nothing a subscriber or client chose reaches cmd.exe. */
		TEST_CHECK(memmem(e->data, e->len, "Acme", 4) == NULL &&
		    memmem(e->data, e->len, "bob", 3) == NULL, "a name in install.cmd");
	}
	if ((e = find(m, n, "freshclam.conf")) != NULL)
		golden("windows-freshclam.conf", e->data, e->len);
	check_member(m, n, "package.msi", msi_bytes, sizeof(msi_bytes) - 1);
	free(b.p);
}

/* Two builds are the same bytes; bundle_size is their length. */
static void
case_deterministic(void)
{
	static const char *const plat[] = { "debian", "rpm", "windows" };

	for (size_t i = 0; i < TEST_NELEM(plat); i++) {
		struct pkg		p = fixture_pkg(plat[i]);
		struct bundle_in	in = fixture_in(&p);
		struct buf		a, b;
		char			err[256] = "";

		if (build(&in, &a, err, sizeof(err)) != 0 || build(&in, &b, err, sizeof(err)) != 0) {
			TEST_FAIL("%s: build: %s", plat[i], err);
			continue;
		}
		TEST_CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
		    "%s: two builds differ", plat[i]);
		/* bundle_size announces what bundle_write writes. */
		struct bundle *bb = bundle_open(&in, err, sizeof(err));
		if (bb == NULL)
			TEST_FAIL("%s: bundle_open: %s", plat[i], err);
		else
			TEST_INT_EQ(plat[i], bundle_size(bb), a.len);
		bundle_close(bb);
		free(a.p);
		free(b.p);
	}
}

/* The head's assignments run by a real sh give back the hostile values. */
static void
case_sh_quoting(void)
{
	struct pkg		 p = fixture_pkg("debian");
	struct bundle_in	 in = fixture_in(&p);
	struct buf		 b;
	char			 err[256] = "", path[1200], cmd[1400], out[512];
	FILE			*f;
	size_t			 n;
	char			*body;

	in.client = "ip:1'2\"3`4$5\\6";
	if (build(&in, &b, err, sizeof(err)) != 0)
		TEST_FATAL("build: %s", err);
	/* The head up to the fixed body, then print the two values. */
	if ((body = strstr(b.p, "\ndie() {")) == NULL) {
		free(b.p);
		TEST_FATAL("no body");
	}
	snprintf(path, sizeof(path), "%s/quote.sh", mirror_dir);
	f = fopen(path, "w");
	fwrite(b.p, 1, (size_t)(body - b.p), f);
	fprintf(f, "\nprintf '%%s|%%s' \"$MOAT_SUBSCRIBER\" \"$MOAT_CLIENT\"\n");
	fclose(f);
	free(b.p);
	snprintf(cmd, sizeof(cmd), "cd '%s' && sh ./quote.sh", mirror_dir);
	if ((f = popen(cmd, "r")) == NULL)
		TEST_FATAL("popen");
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	TEST_INT_EQ("sh status", pclose(f), 0);
	char want[512];
	snprintf(want, sizeof(want), "%s|%s", HOSTILE_SUB, in.client);
	TEST_STR_EQ("values through sh", out, want);
	/* The quoting broken, the command runs in mirror_dir (sh's cwd). */
	snprintf(path, sizeof(path), "%s/pwned", mirror_dir);
	TEST_CHECK(access(path, F_OK) == -1, "the subscriber's name ran a command");
}

/* The whole script head passes shellcheck (POSIX sh, every severity, an
 * unquoted expansion included), when the host has it.  Two notes are meant:
 * SC2015 ("A && B || die": die when either fails) and SC2016 (the hostile
 * name's $(...) stays literal in single quotes: the point). */
static void
case_shellcheck(void)
{
	struct pkg		 p = fixture_pkg("debian");
	struct bundle_in	 in = fixture_in(&p);
	struct buf		 b;
	char			 err[256] = "", path[1200], cmd[1400];
	char			*end;
	FILE			*f;

	if (system("command -v shellcheck >/dev/null 2>&1") != 0) {
		printf("  shellcheck not installed: case skipped\n");
		return;
	}
	if (build(&in, &b, err, sizeof(err)) != 0)
		TEST_FATAL("build: %s", err);
	if ((end = strstr(b.p, "\n__MOAT_PAYLOAD__\n")) == NULL) {
		free(b.p);
		TEST_FATAL("no marker");
	}
	snprintf(path, sizeof(path), "%s/head.sh", mirror_dir);
	f = fopen(path, "w");
	fwrite(b.p, 1, (size_t)(end - b.p) + 1, f);
	fclose(f);
	free(b.p);
	snprintf(cmd, sizeof(cmd), "shellcheck -s sh -e SC2015,SC2016 '%s' >&2", path);
	TEST_INT_EQ("shellcheck status", system(cmd), 0);
}

/* Refused before a byte is written. */
static void
case_refused(void)
{
	static const struct {
		const char *what, *platform, *sub, *client, *login, *secret, *url, *sha;
		unsigned minute;
	} t[] = {
		{ "newline in the name", "debian", "a\nrm -rf /", NULL, NULL, NULL, NULL, NULL, 0 },
		{ "tab in the name", "debian", "a\tb", NULL, NULL, NULL, NULL, NULL, 0 },
		{ "DEL in the client", "debian", NULL, "ip:\x7f", NULL, NULL, NULL, NULL, 0 },
		{ "newline in the login", "debian", NULL, NULL, "bob\nDatabaseDirectory /", NULL, NULL, NULL, 0 },
		{ "CR in the secret", "windows", NULL, NULL, NULL, "pw\r", NULL, NULL, 0 },
		{ "space in the URL", "debian", NULL, NULL, NULL, NULL, "http://a b", NULL, 0 },
		{ "quote in the URL", "debian", NULL, NULL, NULL, NULL, "http://a\"b", NULL, 0 },
		{ "ftp URL", "debian", NULL, NULL, NULL, NULL, "ftp://a", NULL, 0 },
		{ "no host", "debian", NULL, NULL, NULL, NULL, "http:///x", NULL, 0 },
		{ "userinfo in the URL", "debian", NULL, NULL, NULL, NULL, "http://u@h", NULL, 0 },
		{ "upper-case SHA", "debian", NULL, NULL, NULL, NULL, NULL,
		  "5B1F0D5F7C3C1E8A9A3F0E2D4C6B8A0912345678901234567890ABCDEFABCDEF", 0 },
		{ "short SHA", "debian", NULL, NULL, NULL, NULL, NULL, "abc", 0 },
		{ "minute 1440", "debian", NULL, NULL, NULL, NULL, NULL, NULL, 1440 },
		{ "platform", "solaris", NULL, NULL, NULL, NULL, NULL, NULL, 0 },
		{ "long name", "debian",
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789",
		  NULL, NULL, NULL, NULL, NULL, 0 },
	};

	for (size_t i = 0; i < TEST_NELEM(t); i++) {
		struct pkg		p = fixture_pkg(strcmp(t[i].platform, "windows") == 0 ?
					    "windows" : "debian");
		struct bundle_in	in = fixture_in(&p);
		struct buf		b;
		char			err[256] = "";

		snprintf(p.platform, sizeof(p.platform), "%s", t[i].platform);
		if (t[i].sub) in.subscriber = t[i].sub;
		if (t[i].client) in.client = t[i].client;
		if (t[i].login) in.login = t[i].login;
		if (t[i].secret) in.secret = t[i].secret;
		if (t[i].url) in.mirror_url = t[i].url;
		if (t[i].sha) snprintf(p.sha256, sizeof(p.sha256), "%s", t[i].sha);
		if (t[i].minute) in.minute = t[i].minute;
		int rc = build(&in, &b, err, sizeof(err));
		TEST_CHECK(rc == -1, "%s: built", t[i].what);
		TEST_CHECK(rc == 0 || b.len == 0, "%s: %zu bytes written before the refusal",
		    t[i].what, b.len);
		TEST_CHECK(rc == 0 || err[0] != '\0', "%s: no reason", t[i].what);
		free(b.p);
	}

	/* A package that is not what was published. */
	struct pkg p = fixture_pkg("debian");
	struct bundle_in in = fixture_in(&p);
	struct buf b;
	char err[256] = "";
	p.size++;
	TEST_CHECK(build(&in, &b, err, sizeof(err)) == -1, "size mismatch: built");
	free(b.p);
}

/* No credentials, no databases: a bare PrivateMirror, every standard
 * database excluded. */
static void
case_plain(void)
{
	struct pkg		 p = fixture_pkg("debian");
	struct bundle_in	 in = fixture_in(&p);
	struct member		 m[MAX_MEMBERS];
	struct buf		 b;
	char			 err[256] = "", *marker;
	int			 n;

	in.login = in.secret = NULL;
	in.mirror_fd = -1;
	in.mirror_url = "https://gw.example:8443/moat";
	in.subscriber = "acme";
	in.client = "ip:192.0.2.7";
	in.minute = 1439;
	if (build(&in, &b, err, sizeof(err)) != 0)
		TEST_FATAL("build: %s", err);
	if ((marker = strstr(b.p, "\n__MOAT_PAYLOAD__\n")) == NULL ||
	    (n = parse_tar(marker + 18, b.len - (size_t)(marker + 18 - b.p), m, MAX_MEMBERS)) < 0) {
		free(b.p);
		TEST_FATAL("no payload");
	}
	const struct member *e = find(m, n, "freshclam.conf");
	if (e != NULL)
		golden("plain-freshclam.conf", e->data, e->len);
	if ((e = find(m, n, "moat-av-update.cron")) != NULL)
		TEST_CHECK(memmem(e->data, e->len, "\n59 23 * * * root ", 18) != NULL,
		    "cron line for 23:59");
	free(b.p);
}

static void
case_names(void)
{
	char buf[64];

	bundle_filename("debian", buf, sizeof(buf));
	TEST_STR_EQ("debian", buf, "moat-install-debian.sh");
	bundle_filename("rpm", buf, sizeof(buf));
	TEST_STR_EQ("rpm", buf, "moat-install-rpm.sh");
	bundle_filename("windows", buf, sizeof(buf));
	TEST_STR_EQ("windows", buf, "moat-install-windows.zip");
	bundle_filename("../x", buf, sizeof(buf));
	TEST_STR_EQ("other", buf, "moat-install.bin");
	TEST_STR_EQ("ctype debian", bundle_ctype("debian"), "application/x-sh");
	TEST_STR_EQ("ctype windows", bundle_ctype("windows"), "application/zip");
}

static const struct test_case cases[] = {
	{ "debian", case_debian },
	{ "windows", case_windows },
	{ "deterministic", case_deterministic },
	{ "sh_quoting", case_sh_quoting },
	{ "shellcheck", case_shellcheck },
	{ "refused", case_refused },
	{ "plain", case_plain },
	{ "names", case_names },
	{ NULL, NULL }
};

int
main(void)
{
	char	outside[1200];
	int	rc;

	setup();
	rc = test_run(cases);
	/* The fixtures go; a failed run keeps them (and says where). */
	if (rc == 0) {
		snprintf(outside, sizeof(outside), "%s.secret", mirror_dir);
		unlink(outside);
		test_rmtree(mirror_dir);
	} else
		fprintf(stderr, "fixtures kept in %s\n", mirror_dir);
	return rc;
}
