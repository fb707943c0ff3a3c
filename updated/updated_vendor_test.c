/*
 * updated_vendor_test - the vendor puller's pure parts: the package
 * manifest parser (table-driven: what is taken, what is refused and why),
 * the .cdiff signature check against ClamAV's signed test patches
 * (tests/fixtures/clamav-test-cvd), and atomic publishing into a directory.
 * The pulls themselves run against a local vendor in
 * tests/integration/test_updated_vendor.py.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "moat_test.h"
#include "updated_vendor.h"

#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA_U "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define BASE  "http://vendor.example/av/manifest.json"

struct manifest_case {
	const char *name;
	const char *json;
	int         rc;           /* vendor_manifest_parse's */
	size_t      n;            /* entries taken */
	size_t      rejected;
	const char *err;          /* a substring of the reason, NULL: none */
	const char *url;          /* the first entry's resolved url */
	const char *file;         /* and file name */
};

#define ONE(platform, name, version, url, sha) \
	"[{\"platform\":\"" platform "\",\"name\":\"" name "\",\"version\":\"" version \
	"\",\"url\":\"" url "\",\"sha256\":\"" sha "\"}]"

static const struct manifest_case manifest_cases[] = {
	{ "absolute url", ONE("debian", "Moat AV", "1.2.3-1", "https://cdn.example/p/moat-av_1.2.3_all.deb", SHA_A),
	  0, 1, 0, NULL, "https://cdn.example/p/moat-av_1.2.3_all.deb", "moat-av_1.2.3_all.deb" },
	{ "relative url resolved against the manifest", ONE("rpm", "moat-av", "2.0", "pkgs/moat-av-2.0.rpm", SHA_A),
	  0, 1, 0, NULL, "http://vendor.example/av/pkgs/moat-av-2.0.rpm", "moat-av-2.0.rpm" },
	{ "upper-case sha256 taken", ONE("debian", "x", "1", "x_1.deb", SHA_U), 0, 1, 0, NULL,
	  "http://vendor.example/av/x_1.deb", "x_1.deb" },
	{ "empty array", "[]", 0, 0, 0, NULL, NULL, NULL },
	{ "not JSON", "[{", -1, 0, 0, "not JSON", NULL, NULL },
	{ "not an array", "{\"platform\":\"debian\"}", -1, 0, 0, "not an array", NULL, NULL },
	{ "duplicate key", "[{\"name\":\"a\",\"name\":\"b\"}]", -1, 0, 0, "not JSON", NULL, NULL },
	{ "unknown platform", ONE("amiga", "x", "1", "x.lha", SHA_A), 0, 0, 1, "platform", NULL, NULL },
	{ "short sha256", ONE("debian", "x", "1", "x.deb", "abc"), 0, 0, 1, "sha256", NULL, NULL },
	{ "non-hex sha256", ONE("debian", "x", "1", "x.deb",
	  "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), 0, 0, 1, "sha256", NULL, NULL },
	{ "ftp url", ONE("debian", "x", "1", "ftp://vendor.example/x.deb", SHA_A), 0, 0, 1, "http", NULL, NULL },
	{ "file url", ONE("debian", "x", "1", "file:///etc/passwd", SHA_A), 0, 0, 1, "url", NULL, NULL },
	{ "credentials in url", ONE("debian", "x", "1", "http://u:p@vendor.example/x.deb", SHA_A),
	  0, 0, 1, "credentials", NULL, NULL },
	{ "dot-dot file name", ONE("debian", "x", "1", "http://vendor.example/a/..", SHA_A),
	  0, 0, 1, "file name", NULL, NULL },
	{ "url ends with a slash", ONE("debian", "x", "1", "http://vendor.example/dir/", SHA_A),
	  0, 0, 1, "file name", NULL, NULL },
	{ "hidden file name", ONE("debian", "x", "1", "http://vendor.example/.profile", SHA_A),
	  0, 0, 1, "file name", NULL, NULL },
	{ "encoded slash stays one segment", ONE("debian", "x", "1", "http://vendor.example/a%2f..%2fb.deb", SHA_A),
	  0, 0, 1, "file name", NULL, NULL },
	{ "space in url", ONE("debian", "x", "1", "http://vendor.example/a b.deb", SHA_A),
	  0, 0, 1, "url", NULL, NULL },
	{ "markup in name", ONE("debian", "<script>", "1", "x.deb", SHA_A), 0, 0, 1, "name", NULL, NULL },
	{ "empty version", ONE("debian", "x", "", "x.deb", SHA_A), 0, 0, 1, "version", NULL, NULL },
	{ "slash in version", ONE("debian", "x", "1/2", "x.deb", SHA_A), 0, 0, 1, "version", NULL, NULL },
	{ "number where a string goes",
	  "[{\"platform\":\"debian\",\"name\":\"x\",\"version\":1,\"url\":\"x.deb\",\"sha256\":\"" SHA_A "\"}]",
	  0, 0, 1, "strings", NULL, NULL },
	{ "NUL inside a string",
	  "[{\"platform\":\"debian\",\"name\":\"x\\u0000y\",\"version\":\"1\",\"url\":\"x.deb\",\"sha256\":\"" SHA_A "\"}]",
	  -1, 0, 0, "not JSON", NULL, NULL },
	{ "missing field", "[{\"platform\":\"debian\",\"name\":\"x\",\"version\":\"1\",\"url\":\"x.deb\"}]",
	  0, 0, 1, "strings", NULL, NULL },
	{ "entry not an object", "[1, \"x\"]", 0, 0, 2, "not an object", NULL, NULL },
	{ "one good, one bad", "[{\"platform\":\"windows\",\"name\":\"x\",\"version\":\"1\",\"url\":\"x.msi\","
	  "\"sha256\":\"" SHA_A "\",\"extra\":[1,2]}, {\"platform\":\"x\"}]",
	  0, 1, 1, "entry 1", "http://vendor.example/av/x.msi", "x.msi" },
};

static void
case_manifest(void)
{
	for (size_t i = 0; i < TEST_NELEM(manifest_cases); i++) {
		const struct manifest_case *c = &manifest_cases[i];
		struct vendor_item *items = NULL;
		size_t n = 99, rej = 99;
		char err[VENDOR_ERR_MAX];
		int rc;

		err[0] = '\0';
		rc = vendor_manifest_parse(c->json, strlen(c->json), BASE, &items, &n, &rej,
		    err, sizeof(err));
		if (rc != c->rc || (rc == 0 && (n != c->n || rej != c->rejected)))
			TEST_FAIL("%s: got rc %d n %zu rejected %zu (%s), want rc %d n %zu rejected %zu",
			    c->name, rc, n, rej, err, c->rc, c->n, c->rejected);
		if (c->err != NULL && strstr(err, c->err) == NULL)
			TEST_FAIL("%s: reason \"%s\" does not say \"%s\"", c->name, err, c->err);
		if (c->err == NULL && err[0] != '\0')
			TEST_FAIL("%s: unexpected reason \"%s\"", c->name, err);
		if (c->url != NULL && items != NULL) {
			TEST_STR_EQ(c->name, items[0].url, c->url);
			TEST_STR_EQ(c->name, items[0].file, c->file);
			TEST_STR_EQ(c->name, items[0].sha256, SHA_A);
		}
		free(items);
	}
}

/* The limits: too long, too many entries. */
static void
case_manifest_bounds(void)
{
	struct vendor_item *items;
	size_t n, rej, len;
	char err[VENDOR_ERR_MAX], *big, *p;
	const char *one = ONE("debian", "x", "1", "x.deb", SHA_A);
	int rc;

	/* VENDOR_MANIFEST_ITEMS + 1 entries, under the byte limit. */
	len = (VENDOR_MANIFEST_ITEMS + 1) * strlen(one) + 16;
	if ((big = malloc(len > VENDOR_MANIFEST_MAX + 2 ? len : VENDOR_MANIFEST_MAX + 2)) == NULL)
		TEST_FATAL("malloc");
	p = big;
	*p++ = '[';
	for (int i = 0; i <= VENDOR_MANIFEST_ITEMS; i++) {
		size_t l = strlen(one) - 2;

		memcpy(p, one + 1, l);
		p += l;
		*p++ = i < VENDOR_MANIFEST_ITEMS ? ',' : ']';
	}
	rc = vendor_manifest_parse(big, (size_t)(p - big), BASE, &items, &n, &rej, err, sizeof(err));
	TEST_INT_EQ("too many entries: rc", rc, -1);
	TEST_CHECK(strstr(err, "more than") != NULL, "too many entries: reason %s", err);

	memset(big, ' ', VENDOR_MANIFEST_MAX + 1);
	big[0] = '[';
	big[VENDOR_MANIFEST_MAX] = ']';
	rc = vendor_manifest_parse(big, VENDOR_MANIFEST_MAX + 1, BASE, &items, &n, &rej,
	    err, sizeof(err));
	TEST_INT_EQ("too long: rc", rc, -1);
	TEST_CHECK(strstr(err, "longer than") != NULL, "too long: reason %s", err);
	free(big);
}

/* A copy of a fixture file in a temporary file (unlinked), or -1. */
static int
fixture(const char *name, char *path, size_t len)
{
	const char *src = getenv("MOAT_SRC");

	snprintf(path, len, "%s/tests/fixtures/clamav-test-cvd/%s", src != NULL ? src : "..", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int
copy_to_tmp(int fd)
{
	char tmpl[] = "/tmp/vendor-test-XXXXXX", err[VENDOR_ERR_MAX];
	int t = mkstemp(tmpl);

	if (t == -1)
		return -1;
	unlink(tmpl);
	if (vendor_copy(fd, t, err, sizeof(err)) == -1) {
		close(t);
		return -1;
	}
	return t;
}

struct cdiff_case {
	const char *name;
	const char *file;
	unsigned    version;
	int         damage;        /* 0 none, 1 a body byte, 2 the signature, 3 cut */
	int         rc;
	const char *err;
};

static const struct cdiff_case cdiff_cases[] = {
	{ "test-2 as 2", "test-2.cdiff", 2, 0, 0, NULL },
	{ "test-6 as 6", "test-6.cdiff", 6, 0, 0, NULL },
	{ "test-2 as 3", "test-2.cdiff", 3, 0, -1, "header" },
	{ "a body byte changed", "test-3.cdiff", 3, 1, -1, "bad signature" },
	{ "a signature byte changed", "test-3.cdiff", 3, 2, -1, "bad signature" },
	{ "signature cut off", "test-4.cdiff", 4, 3, -1, NULL },
	{ "a CVD is no cdiff", "test-2.cvd", 2, 0, -1, "header" },
};

static void
case_cdiff(void)
{
	for (size_t i = 0; i < TEST_NELEM(cdiff_cases); i++) {
		const struct cdiff_case *c = &cdiff_cases[i];
		char path[4096], err[VENDOR_ERR_MAX];
		struct stat st;
		int fd, t, rc;

		if ((fd = fixture(c->file, path, sizeof(path))) == -1)
			TEST_FATAL("%s: %s", path, strerror(errno));
		t = copy_to_tmp(fd);
		close(fd);
		if (t == -1 || fstat(t, &st) == -1)
			TEST_FATAL("%s: copy", c->name);
		if (c->damage == 1) {
			char b;

			pread(t, &b, 1, 100);
			b ^= 0x20;
			pwrite(t, &b, 1, 100);
		} else if (c->damage == 2) {
			char b;

			pread(t, &b, 1, st.st_size - 10);
			b = b == 'A' ? 'B' : 'A';
			pwrite(t, &b, 1, st.st_size - 10);
		} else if (c->damage == 3)
			ftruncate(t, st.st_size - 200);
		err[0] = '\0';
		rc = vendor_cdiff_verify(t, c->version, err, sizeof(err));
		if (rc != c->rc)
			TEST_FAIL("%s: got %d (%s), want %d", c->name, rc, err, c->rc);
		if (c->err != NULL && strstr(err, c->err) == NULL)
			TEST_FAIL("%s: reason \"%s\" does not say \"%s\"", c->name, err, c->err);
		close(t);
	}
}

/* Publishing leaves the whole file under its name and nothing else. */
static void
case_publish(void)
{
	char dir[] = "/tmp/vendor-pub-XXXXXX", err[VENDOR_ERR_MAX], buf[64];
	struct dirent *de;
	DIR *d;
	int dfd, src, fd, names = 0;
	ssize_t n;

	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		TEST_FATAL("mkdtemp");
	{
		char tmpl[] = "/tmp/vendor-src-XXXXXX";

		if ((src = mkstemp(tmpl)) == -1)
			TEST_FATAL("mkstemp");
		unlink(tmpl);
		TEST_CHECK(write(src, "first", 5) == 5, "write");
	}
	TEST_INT_EQ("publish", vendor_publish_fd(src, dfd, "a.cvd", err, sizeof(err)), 0);
	ftruncate(src, 0);
	lseek(src, 0, SEEK_SET);
	TEST_CHECK(write(src, "second", 6) == 6, "write");
	TEST_INT_EQ("publish over", vendor_publish_fd(src, dfd, "a.cvd", err, sizeof(err)), 0);
	if ((fd = openat(dfd, "a.cvd", O_RDONLY)) == -1)
		TEST_FATAL("a.cvd: %s", strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	TEST_STR_EQ("content", buf, "second");
	close(fd);
	if ((d = fdopendir(dup(dfd))) == NULL)
		TEST_FATAL("fdopendir");
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' || strncmp(de->d_name, ".vendor-", 8) == 0) {
			names++;
			TEST_CHECK(strcmp(de->d_name, "a.cvd") == 0, "left behind: %s", de->d_name);
		}
	closedir(d);
	TEST_INT_EQ("files", names, 1);
	unlinkat(dfd, "a.cvd", 0);
	close(dfd);
	close(src);
	rmdir(dir);
}

static const struct test_case cases[] = {
	{ "manifest", case_manifest },
	{ "manifest_bounds", case_manifest_bounds },
	{ "cdiff", case_cdiff },
	{ "publish", case_publish },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
