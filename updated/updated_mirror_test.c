/*
 * Unit tests of updated_mirror: mirror_serve behind a real httpd server on
 * a loopback port, serving a real directory (a copy of the signed test
 * database test-6.cvd when the fixtures are there, else a made-up header)
 * and talked to with libcurl and a raw socket: names (404 for absent,
 * traversal, upper case, dot files, a symlink pointing outside, a
 * directory, a FIFO), Last-Modified from the CVD header's build time,
 * If-Modified-Since (304), Range (206, 416), HEAD, and 429 with
 * Retry-After while a slow client holds the only download slot, which its
 * disconnection frees.
 *
 * The one stand-in: ud_mirror_fd(), which the daemon's updated_life.c
 * provides, is this file's directory descriptor (updated_mirror.o needs
 * nothing else of the daemon, so updated_life.o is never linked in; the
 * route with its access check is updated_mirror_route.c, tested through a
 * stack in tests/integration/test_updated_mirror.py).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "httpd.h"
#include "moat_test.h"
#include "moat_test_http.h"
#include "updated.h"
#include "updated_mirror.h"
#include "updated_parse.h"

static char dir[256], mdir[300];
static int mirror_fd = -1, port;
static struct httpd *srv;
static struct ud_conf uc;
static int64_t cvd_stime;
/* Each request's who->what by its start number (t_init), so a test reads
 * the one it sent even when an earlier request's end runs late. */
#define T_SEQ 256
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static char seq_what[T_SEQ][96];
static int seq_done[T_SEQ];
static atomic_int slots_freed, started_count;

int
ud_mirror_fd(void)
{
	return mirror_fd;
}

struct t_req {
	struct httpd_req  r;
	struct ud_who     who;
	int               seq;
};

static int
t_init(struct httpd_req *r)
{
	struct t_req *t = (struct t_req *)r;

	t->seq = atomic_fetch_add(&started_count, 1);
	pthread_mutex_lock(&last_lock);
	seq_done[t->seq % T_SEQ] = 0;
	pthread_mutex_unlock(&last_lock);
	return 0;
}

static enum MHD_Result
h_mirror(struct httpd_req *r)
{
	struct t_req *t = (struct t_req *)r;

	return mirror_serve(r, &uc, r->arg[0], &t->who);
}

static void
t_done(struct httpd_req *r, int completed)
{
	struct t_req *t = (struct t_req *)r;

	(void)completed;
	if (t->who.mirror_slot) {
		mirror_release();
		atomic_fetch_add(&slots_freed, 1);
	}
	pthread_mutex_lock(&last_lock);
	memcpy(seq_what[t->seq % T_SEQ], t->who.what, sizeof(seq_what[0]));
	seq_done[t->seq % T_SEQ] = 1;
	pthread_mutex_unlock(&last_lock);
}

static const struct httpd_route routes[] = {
	{ "GET", "/{}", HTTPD_OPEN, h_mirror, NULL, NULL },
	{ NULL, NULL, 0, NULL, NULL, NULL }
};

static const struct httpd_conf conf = {
	.name = "mirror",
	.routes = routes,
	.timeout = 5,
	.head_as_get = 1,
	.access_log = 1,
	.req_size = sizeof(struct t_req),
	.req_init = t_init,
	.req_done = t_done,
};

/* ---------------------------------------------------------- clients */

/* The who->what of the request that started as number seq, once it ended
 * (a reply reaches curl before req_done runs); "(not ended)" after 5 s. */
static void
what_was(int seq, char *buf, size_t len)
{
	int done = 0;

	for (int i = 0; i < 500 && !done; i++) {
		pthread_mutex_lock(&last_lock);
		if ((done = seq_done[seq % T_SEQ]) != 0)
			snprintf(buf, len, "%s", seq_what[seq % T_SEQ]);
		pthread_mutex_unlock(&last_lock);
		if (!done)
			usleep(10 * 1000);
	}
	if (!done)
		snprintf(buf, len, "(not ended)");
}

/* path as sent (no normalisation by curl); extra: one header or NULL. */
static void
req(struct test_reply *out, const char *method, const char *path, const char *extra)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hs = NULL;
	char u[512], ended[96];
	int seq;

	test_http_start(c, out, method);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (extra != NULL)
		hs = curl_slist_append(hs, extra);
	seq = atomic_load(&started_count);
	test_http_perform(c, hs, out);
	/* Its end (slot freed, who recorded) before the next request: curl
	 * has the reply before req_done runs. */
	what_was(seq, ended, sizeof(ended));
}

/* ---------------------------------------------------------- fixture */

static int
write_file(const char *name, const void *data, size_t len)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", mdir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* test.cvd: the signed test-6.cvd if it is there, else a made-up one. */
static int
make_cvd(void)
{
	const char *fx = getenv("MOAT_CVD_FIXTURES");
	char path[512], buf[16384];
	struct uparse_cvd cvd;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "%s/test-6.cvd",
	    fx != NULL ? fx : "/work/shared/fixtures/clamav-test-cvd");
	if ((fd = open(path, O_RDONLY)) != -1) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	if (n < UPARSE_CVD_HEAD) {
		memset(buf, ' ', sizeof(buf));
		memcpy(buf, "ClamAV-VDB:22 Jun 2021 21-34 -0400:6:14:81:"
		    "3e249e00076b0b15bb54ced37be880c7:x:b:1624412045", 90);
		n = 1000;
	}
	if (uparse_cvd_header(buf, (size_t)n, &cvd) == -1)
		return -1;
	cvd_stime = cvd.stime;
	return write_file("test.cvd", buf, (size_t)n);
}

static int
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[700], err[256];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	struct timespec old[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
	int fd, one = 1;

	snprintf(dir, sizeof(dir), "%s/mirror_test.XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(mdir, sizeof(mdir), "%s/mirror", dir);
	if (mkdir(mdir, 0755) == -1 || make_cvd() == -1 ||
	    write_file("test.cvd.sign", "signature", 9) == -1 ||
	    write_file("test-6.cdiff", "ClamAV-Diff:6:1:", 16) == -1 ||
	    write_file(".test.cvd", "hidden", 6) == -1 ||
	    write_file("TEST.cvd", "upper", 5) == -1)
		return -1;
	/* Outside the mirror: a file a traversal or a symlink would reach. */
	snprintf(path, sizeof(path), "%s/secret.cvd", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0644)) == -1 ||
	    write(fd, "SECRET", 6) != 6 || close(fd) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/evil.cvd", mdir);
	if (symlink("../secret.cvd", path) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/passwd.cvd", mdir);
	if (symlink("/etc/passwd", path) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/dir.cvd", mdir);
	if (mkdir(path, 0755) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/fifo.cvd", mdir);
	if (mkfifo(path, 0644) == -1)
		return -1;
	/* A large (sparse) download for the slot test, and an old mtime for
	 * the cdiff's If-Modified-Since. */
	snprintf(path, sizeof(path), "%s/big-1.cdiff", mdir);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0644)) == -1 ||
	    ftruncate(fd, 256 << 20) == -1 || close(fd) == -1)
		return -1;
	if (utimensat(AT_FDCWD, mdir, NULL, 0) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/test-6.cdiff", mdir);
	if (utimensat(AT_FDCWD, path, old, 0) == -1)
		return -1;
	if ((mirror_fd = open(mdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;

	uc.u.mirror_max_inflight = 1;
	uc.u.retry_after = 7;
	/* A listening socket bound as the daemon binds it before the drop. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1)
		return -1;
	port = ntohs(sin.sin_port);
	struct httpd_listen l = { .fd = fd };
	if ((srv = httpd_start(&conf, &l, 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "httpd_start: %s\n", err);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- cases */

static void
case_names(void)
{
	static const struct {
		const char  *path;
		long         status;
		const char  *body;          /* a prefix of the body, NULL: any */
	} t[] = {
		{ "/test.cvd", 200, "ClamAV-VDB:" },
		{ "/test.cvd.sign", 200, "signature" },
		{ "/test-6.cdiff", 200, "ClamAV-Diff:" },
		{ "/absent.cvd", 404, NULL },
		{ "/test.cld", 404, NULL },
		{ "/test-7.cdiff", 404, NULL },
		{ "/TEST.cvd", 404, NULL },             /* exists, but not a mirror name */
		{ "/test.CVD", 404, NULL },
		{ "/.test.cvd", 404, NULL },
		{ "/evil.cvd", 404, NULL },             /* symlink to ../secret.cvd */
		{ "/passwd.cvd", 404, NULL },           /* symlink to /etc/passwd */
		{ "/dir.cvd", 404, NULL },
		{ "/fifo.cvd", 404, NULL },             /* must not block either */
		{ "/../secret.cvd", 404, NULL },
		{ "/..%2fsecret.cvd", 404, NULL },
		{ "/%2e%2e%2fsecret.cvd", 404, NULL },
		{ "/%2e%2e", 404, NULL },
		{ "/..", 404, NULL },
		{ "/test.cvd%00", 404, NULL },
		{ "/test.cvd%00.sign", 404, NULL },
		{ "/%2ftmp%2fsecret.cvd", 404, NULL },
		{ "//etc/passwd", 404, NULL },
		{ "/test.cvd/", 200, "ClamAV-VDB:" },   /* httpd's segments: "/a/" is a */
		{ "/test%2ecvd", 200, "ClamAV-VDB:" },  /* decoded before the name check */
		{ "/", 404, NULL },
	};
	struct test_reply r;

	for (size_t i = 0; i < TEST_NELEM(t); i++) {
		req(&r, "GET", t[i].path, NULL);
		TEST_CHECK(r.status == t[i].status, "%s: got %ld (%s), want %ld", t[i].path,
		    r.status, curl_easy_strerror(r.rc), t[i].status);
		if (t[i].body != NULL)
			TEST_CHECK(strncmp(r.body, t[i].body, strlen(t[i].body)) == 0,
			    "%s: body \"%.40s\"", t[i].path, r.body);
		TEST_CHECK(strstr(r.body, "SECRET") == NULL && strstr(r.body, "root:") == NULL,
		    "%s: served a file outside the mirror", t[i].path);
	}
}

static void
case_headers(void)
{
	struct test_reply r;
	struct stat sb;
	char want[80], what[96], path[600];
	int before;
	struct tm tm;
	time_t tt = (time_t)cvd_stime;

	gmtime_r(&tt, &tm);
	strftime(want, sizeof(want), "Last-Modified: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
	before = atomic_load(&started_count);
	req(&r, "GET", "/test.cvd", NULL);
	snprintf(path, sizeof(path), "%s/test.cvd", mdir);
	stat(path, &sb);
	TEST_CHECK(r.status == 200 && r.len == (size_t)sb.st_size, "size: %ld %zu", r.status,
	    r.len);
	TEST_CHECK(strstr(r.head, want) != NULL, "want %s in %s", want, r.head);
	TEST_CHECK(strstr(r.head, "Content-Type: application/octet-stream\r\n") != NULL,
	    "content type: %s", r.head);
	TEST_CHECK(strstr(r.head, "Accept-Ranges: bytes\r\n") != NULL, "ranges: %s", r.head);
	what_was(before, what, sizeof(what));
	TEST_STR_EQ("who->what", what, "test.cvd");
	before = atomic_load(&started_count);
	req(&r, "GET", "/absent.cvd", NULL);
	what_was(before, what, sizeof(what));
	TEST_STR_EQ("who->what of a 404", what, "");
	TEST_CHECK(strstr(r.head, "Last-Modified") == NULL, "404 with Last-Modified");

	req(&r, "HEAD", "/test.cvd", NULL);
	snprintf(want, sizeof(want), "Content-Length: %lld\r\n", (long long)sb.st_size);
	TEST_CHECK(r.status == 200 && r.len == 0 && strstr(r.head, want) != NULL,
	    "HEAD: %ld %zu %s", r.status, r.len, r.head);
	req(&r, "HEAD", "/evil.cvd", NULL);
	TEST_INT_EQ("HEAD of a symlink", r.status, 404);
}

static void
case_if_modified_since(void)
{
	char h[128];
	struct test_reply r;
	struct tm tm;
	time_t t;

	/* .cvd: the header's build time, not the file's (new) mtime. */
	t = (time_t)cvd_stime;
	gmtime_r(&t, &tm);
	strftime(h, sizeof(h), "If-Modified-Since: %a, %d %b %Y %H:%M:%S GMT", &tm);
	req(&r, "GET", "/test.cvd", h);
	TEST_CHECK(r.status == 304 && r.len == 0, "same build time: %ld %zu", r.status, r.len);
	TEST_CHECK(strstr(r.head, "Last-Modified: ") != NULL, "304 without Last-Modified");
	t = (time_t)cvd_stime - 1;
	gmtime_r(&t, &tm);
	strftime(h, sizeof(h), "If-Modified-Since: %a, %d %b %Y %H:%M:%S GMT", &tm);
	req(&r, "GET", "/test.cvd", h);
	TEST_INT_EQ("a second older", r.status, 200);
	req(&r, "GET", "/test.cvd", "If-Modified-Since: Wed, 23 Jun 2021 01:34:05 GMT junk");
	TEST_INT_EQ("malformed date: ignored", r.status, 200);
	req(&r, "HEAD", "/test.cvd", "If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT");
	TEST_INT_EQ("HEAD", r.status, 304);
	/* .cdiff: the file's mtime (set to 1000000000: 2001-09-09 01:46:40). */
	req(&r, "GET", "/test-6.cdiff", "If-Modified-Since: Sun, 09 Sep 2001 01:46:40 GMT");
	TEST_INT_EQ("cdiff mtime", r.status, 304);
	req(&r, "GET", "/test-6.cdiff", "If-Modified-Since: Sunday, 09-Sep-01 01:46:39 GMT");
	TEST_INT_EQ("cdiff a second older (RFC 850)", r.status, 200);
	req(&r, "GET", "/test-6.cdiff", "If-Modified-Since: Sun Sep  9 01:46:40 2001");
	TEST_INT_EQ("cdiff asctime", r.status, 304);
}

static void
case_range(void)
{
	struct test_reply r;

	req(&r, "GET", "/test.cvd", "Range: bytes=0-511");
	TEST_CHECK(r.status == 206 && r.len == 512 && strncmp(r.body, "ClamAV-VDB:", 11) == 0,
	    "header probe: %ld %zu", r.status, r.len);
	TEST_CHECK(strstr(r.head, "Content-Range: bytes 0-511/") != NULL, "%s", r.head);
	req(&r, "GET", "/test.cvd.sign", "Range: bytes=-4");
	TEST_CHECK(r.status == 206 && strcmp(r.body, "ture") == 0, "suffix: %ld %s", r.status,
	    r.body);
	req(&r, "GET", "/test.cvd.sign", "Range: bytes=9-");
	TEST_CHECK(r.status == 416 && strstr(r.head, "Content-Range: bytes */9\r\n") != NULL,
	    "unsatisfiable: %ld %s", r.status, r.head);
	req(&r, "GET", "/test.cvd.sign", "Range: bytes=0-1,3-4");
	TEST_CHECK(r.status == 200 && r.len == 9, "list: %ld %zu", r.status, r.len);
	req(&r, "GET", "/test.cvd.sign", "Range: bytes=x-y");
	TEST_INT_EQ("invalid", r.status, 416);
}

/* A GET of the 256 MB file that reads nothing, so its reply stays in
 * flight; -1 on error. */
static int
slow_client(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), small = 4096;
	char rq[128];

	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	snprintf(rq, sizeof(rq), "GET /big-1.cdiff HTTP/1.1\r\nHost: x\r\n\r\n");
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    write(fd, rq, strlen(rq)) != (ssize_t)strlen(rq)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
case_too_many(void)
{
	struct test_reply r;
	char what[96];
	int fd, freed, before;

	if ((fd = slow_client()) == -1)
		TEST_FATAL("slow client: %s", strerror(errno));
	usleep(300 * 1000);
	freed = atomic_load(&slots_freed);
	before = atomic_load(&started_count);
	req(&r, "GET", "/test.cvd", NULL);
	what_was(before, what, sizeof(what));
	TEST_STR_EQ("who->what of a 429 (not a download)", what, "");
	TEST_CHECK(r.status == 429 && strstr(r.head, "Retry-After: 7\r\n") != NULL,
	    "second download: %ld %s", r.status, r.head);
	TEST_CHECK(strstr(r.head, "Last-Modified") == NULL, "429 with Last-Modified");
	req(&r, "GET", "/absent.cvd", NULL);
	TEST_INT_EQ("absent while full", r.status, 404);
	req(&r, "HEAD", "/test.cvd", NULL);
	TEST_INT_EQ("HEAD while full (no slot)", r.status, 200);
	req(&r, "GET", "/test.cvd", "If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT");
	TEST_INT_EQ("304 while full (no slot)", r.status, 304);
	TEST_INT_EQ("slots freed while held", atomic_load(&slots_freed), freed);
	close(fd);
	/* The slot comes back when the aborted request ends. */
	for (int i = 0; i < 50 && atomic_load(&slots_freed) == freed; i++)
		usleep(100 * 1000);
	TEST_INT_EQ("slot freed by the disconnect", atomic_load(&slots_freed), freed + 1);
	req(&r, "GET", "/test.cvd", NULL);
	TEST_INT_EQ("after the slow client", r.status, 200);
	req(&r, "GET", "/test.cvd", NULL);
	TEST_INT_EQ("again (slots do not leak)", r.status, 200);
}

static const struct test_case cases[] = {
	{ "names", case_names },
	{ "headers", case_headers },
	{ "if-modified-since", case_if_modified_since },
	{ "range", case_range },
	{ "too many", case_too_many },
	{ NULL, NULL }
};

int
main(void)
{
	char cmd[600];
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (setup() == -1) {
		fprintf(stderr, "FAIL setup: %s\n", strerror(errno));
		return 1;
	}
	rc = test_run(cases);
	httpd_stop(srv);
	close(mirror_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	curl_global_cleanup();
	return rc;
}
