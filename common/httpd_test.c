/*
 * Unit tests of httpd: a real server on a loopback TCP port, a UNIX socket
 * and a TLS port, talked to with libcurl (and raw sockets for what curl
 * will not send): routing (404, 405 with Allow), JSON errors, bearer and
 * Basic authentication against a temporary store (yescrypt hashes),
 * limits (oversized head and body, a slow client, connections per
 * client) after which the server still serves, file replies with Range
 * and HEAD, TLS (a self-signed certificate made with openssl), and the
 * pure matcher.
 */
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "httpd.h"
#include "moat_test.h"
#include "store.h"

static char dir[256], sock_path[300], file_path[300], cert_pem[300], key_pem[300];
static struct store *st;
static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;
static struct httpd *srv, *tls_srv;
static int tcp_port, tls_port;

/* ---------------------------------------------------------- the server */

static struct store *
t_store_get(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&st_lock);
	return st;
}

static void
t_store_put(void *arg, struct store *s)
{
	(void)arg;
	(void)s;
	pthread_mutex_unlock(&st_lock);
}

static enum MHD_Result
h_open(struct httpd_req *r)
{
	return httpd_json(r, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1));
}

static enum MHD_Result
h_who(struct httpd_req *r)
{
	return httpd_json(r, MHD_HTTP_OK, json_pack("{s:b, s:I, s:s}", "admin", r->auth.admin,
	    "subscriber", (json_int_t)r->auth.subscriber, "arg", r->nargs > 0 ? r->arg[0] : ""));
}

static enum MHD_Result
h_echo(struct httpd_req *r)
{
	return httpd_json(r, MHD_HTTP_OK, json_pack("{s:I}", "len", (json_int_t)r->bodylen));
}

static char big_value[HTTPD_XHDR_MAX];

static enum MHD_Result
h_file(struct httpd_req *r)
{
	int fd = open(file_path, O_RDONLY | O_CLOEXEC);
	struct stat sb;

	if (fd == -1 || fstat(fd, &sb) == -1) {
		if (fd != -1)
			close(fd);
		return httpd_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "no file");
	}
	/* Extra headers: one good, two refused (a control, no room). */
	if (httpd_header(r, "X-Extra", "one two") == -1 ||
	    httpd_header(r, "X-Bad", "a\r\nX-Injected: 1") != -1 ||
	    httpd_header(r, "X-Big", big_value) != -1)
		return httpd_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "httpd_header");
	return httpd_file(r, fd, (uint64_t)sb.st_size, "text/plain");
}

static const struct httpd_route routes[] = {
	{ "GET",  "/open",          HTTPD_OPEN,   h_open, NULL, NULL },
	{ "GET",  "/items/{}",      HTTPD_BEARER, h_who, NULL, NULL },
	{ "POST", "/items",         HTTPD_BEARER | HTTPD_ADMIN, h_echo, NULL, NULL },
	{ "GET",  "/page",          HTTPD_BASIC,  h_who, NULL, NULL },
	{ "POST", "/echo",          HTTPD_OPEN,   h_echo, NULL, NULL },
	{ "GET",  "/file",          HTTPD_OPEN,   h_file, NULL, NULL },
	{ NULL, NULL, 0, NULL, NULL, NULL }
};

static const struct httpd_conf conf = {
	.name = "test",
	.routes = routes,
	.timeout = 1,
	.head_max = 16 * 1024,
	.body_max = 1024,
	.drain_max = 64 * 1024,
	.per_client = 8,
	.head_as_get = 1,
	.access_log = 1,
	.store_get = t_store_get,
	.store_put = t_store_put,
};

/* ---------------------------------------------------------- clients */

struct reply {
	long    status;
	char    body[8192];
	size_t  len;
	char    head[8192];
	size_t  hlen;
	CURLcode rc;
};

static size_t
cb_body(char *p, size_t sz, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t k = sz * n;

	if (k > sizeof(r->body) - 1 - r->len)
		k = sizeof(r->body) - 1 - r->len;
	memcpy(r->body + r->len, p, k);
	r->len += k;
	r->body[r->len] = '\0';
	return sz * n;
}

static size_t
cb_head(char *p, size_t sz, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t k = sz * n;

	if (k > sizeof(r->head) - 1 - r->hlen)
		k = sizeof(r->head) - 1 - r->hlen;
	memcpy(r->head + r->hlen, p, k);
	r->hlen += k;
	r->head[r->hlen] = '\0';
	return sz * n;
}

/*
 * One request.  url: "http://127.0.0.1:PORT/..." (PORT is replaced), or
 * "unix:/path" for the UNIX socket.  extra: header lines separated by
 * '\n', or NULL.
 */
static void
req(struct reply *out, const char *method, const char *url, const char *extra,
    const char *body, size_t bodylen, const char *userpwd)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hs = NULL;
	char u[512];

	memset(out, 0, sizeof(*out));
	if (strncmp(url, "unix:", 5) == 0) {
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock_path);
		snprintf(u, sizeof(u), "http://localhost%s", url + 5);
	} else if (strncmp(url, "https:", 6) == 0) {
		snprintf(u, sizeof(u), "https://127.0.0.1:%d%s", tls_port, url + 6);
		curl_easy_setopt(c, CURLOPT_CAINFO, cert_pem);
	} else if (strncmp(url, "plain-tls:", 10) == 0) {
		snprintf(u, sizeof(u), "http://127.0.0.1:%d%s", tls_port, url + 10);
	} else {
		snprintf(u, sizeof(u), "http://127.0.0.1:%d%s", tcp_port, url);
	}
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cb_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, cb_head);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	hs = curl_slist_append(hs, "Expect:");
	for (const char *p = extra; p != NULL && *p != '\0';) {
		char line[512];
		size_t n = strcspn(p, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		hs = curl_slist_append(hs, line);
		p += n + (p[n] == '\n');
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)bodylen);
	}
	if (userpwd != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
	}
	out->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hs);
	curl_easy_cleanup(c);
}

/* A raw TCP connection to the plain port, or -1. */
static int
raw_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_port = htons((uint16_t)tcp_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd != -1 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads until EOF or ms: the bytes read, -1 on timeout. */
static ssize_t
raw_read(int fd, char *buf, size_t len, int ms)
{
	size_t got = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		if (poll(&p, 1, ms) <= 0)
			return -1;
		n = read(fd, buf + got, len - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == len - 1)
			break;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

/* Whether the plain server still answers. */
static int
still_serving(void)
{
	struct reply r;

	req(&r, "GET", "/open", NULL, NULL, 0, NULL);
	return r.status == 200;
}

/* ---------------------------------------------------------- fixtures */

static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd != -1 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == 0)
		port = ntohs(sin.sin_port);
	if (fd != -1)
		close(fd);
	return port;
}

static int
sql(const char *text)
{
	char err[256];

	if (store_exec_script(st, text, err, sizeof(err)) == -1) {
		fprintf(stderr, "sql: %s\n", err);
		return -1;
	}
	return 0;
}

/* A credential row; secret is hashed as httpd expects. */
static int
add_password(int64_t sub, const char *login, const char *pw)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE], q[1024];
	struct crypt_data cd;
	const char *h;

	memset(&cd, 0, sizeof(cd));
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL ||
	    (h = crypt_rn(pw, salt, &cd, (int)sizeof(cd))) == NULL || h[0] == '*')
		return -1;
	snprintf(q, sizeof(q), "INSERT INTO subscriber_credentials(subscriber_id, kind,"
	    " secret_hash, login) VALUES (%lld, 'password', '%s', '%s')", (long long)sub, h,
	    login);
	return sql(q);
}

static int
add_token(int64_t sub, const char *token)
{
	char q[512];

	/* SHA-256 in SQL is not there: the hex is computed by the shell. */
	char cmd[512], hex[80] = "";
	FILE *p;
	snprintf(cmd, sizeof(cmd), "printf %%s '%s' | sha256sum", token);
	if ((p = popen(cmd, "r")) == NULL || fscanf(p, "%64s", hex) != 1) {
		if (p != NULL)
			pclose(p);
		return -1;
	}
	pclose(p);
	snprintf(q, sizeof(q), "INSERT INTO subscriber_credentials(subscriber_id, kind,"
	    " secret_hash) VALUES (%lld, 'token', '%s')", (long long)sub, hex);
	return sql(q);
}

static int
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[300], err[256], cmd[1200], *cert, *key;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int ufd;
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/httpd_test.XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/moat.db", dir);
	if (store_open(path, STORE_NOCHECK, 1000, &st, err, sizeof(err)) == -1 ||
	    store_init(st, err, sizeof(err)) == -1) {
		fprintf(stderr, "store: %s\n", err);
		return -1;
	}
	if (sql("INSERT INTO subscribers(id, name) VALUES (1, 'alpha')") == -1 ||
	    sql("INSERT INTO subscribers(id, name, status) VALUES (2, 'beta', 'suspended')") == -1 ||
	    add_password(1, "alice", "correct horse") == -1 ||
	    add_password(2, "bob", "battery staple") == -1 ||
	    add_token(1, "tok-alpha-0123456789") == -1 ||
	    add_token(2, "tok-beta-0123456789") == -1)
		return -1;

	snprintf(file_path, sizeof(file_path), "%s/file.txt", dir);
	if ((fp = fopen(file_path, "w")) == NULL)
		return -1;
	fputs("abcdefghij", fp);
	fclose(fp);

	/* The UNIX socket, bound as a daemon binds it before the drop. */
	snprintf(sock_path, sizeof(sock_path), "%s/s", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	if ((ufd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(ufd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(ufd, 16) == -1)
		return -1;

	char tcp[64];
	if ((tcp_port = free_port()) == -1)
		return -1;
	snprintf(tcp, sizeof(tcp), "127.0.0.1:%d", tcp_port);
	struct httpd_listen l[2] = {
		{ .fd = ufd, .trusted = 1 },
		{ .fd = -1, .tcp = tcp },
	};
	if ((srv = httpd_start(&conf, l, 2, err, sizeof(err))) == NULL) {
		fprintf(stderr, "httpd_start: %s\n", err);
		return -1;
	}

	/* TLS: a self-signed certificate for 127.0.0.1. */
	snprintf(cert_pem, sizeof(cert_pem), "%s/cert.pem", dir);
	snprintf(key_pem, sizeof(key_pem), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes -days 1"
	    " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s"
	    " >/dev/null 2>&1", key_pem, cert_pem);
	if (system(cmd) != 0)
		return -1;
	if ((cert = httpd_slurp(cert_pem, err, sizeof(err))) == NULL ||
	    (key = httpd_slurp(key_pem, err, sizeof(err))) == NULL)
		return -1;
	char tls[64];
	if ((tls_port = free_port()) == -1)
		return -1;
	snprintf(tls, sizeof(tls), "127.0.0.1:%d", tls_port);
	struct httpd_listen tl = { .fd = -1, .tcp = tls, .cert = cert, .key = key };
	tls_srv = httpd_start(&conf, &tl, 1, err, sizeof(err));
	free(cert);
	free(key);
	if (tls_srv == NULL) {
		fprintf(stderr, "httpd_start (TLS): %s\n", err);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- cases */

static void
case_match(void)
{
	static const struct {
		const char *name, *path, *method;
		int want;
		const char *arg;
	} t[] = {
		{ "open", "/open", "GET", 0, NULL },
		{ "trailing slash", "/open/", "GET", 0, NULL },
		{ "capture", "/items/42", "GET", 1, "42" },
		{ "trailing on POST only", "/items/", "GET", -2, NULL },
		{ "wrong method", "/open", "POST", -2, NULL },
		{ "any method", "/items", NULL, 2, NULL },
		{ "unknown", "/nothing", "GET", -1, NULL },
		{ "root", "/", "GET", -1, NULL },
		{ "relative", "open", "GET", -1, NULL },
		{ "too deep", "/items/1/x", "GET", -1, NULL },
		{ "dotdot", "/items/..", "GET", 1, ".." },
		{ "long segment", "/items/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "GET", -1,
		  NULL },
	};
	char arg[HTTPD_ARGS_MAX][HTTPD_SEG_MAX + 1], allow[64];
	int n;

	for (size_t i = 0; i < TEST_NELEM(t); i++) {
		int got = httpd_match(routes, t[i].path, t[i].method, arg, &n);
		TEST_CHECK(got == t[i].want, "%s: got %d, want %d", t[i].name, got, t[i].want);
		if (got >= 0 && t[i].arg != NULL)
			TEST_CHECK(n == 1 && strcmp(arg[0], t[i].arg) == 0, "%s: arg got %d \"%s\", "
			    "want \"%s\"", t[i].name, n, n > 0 ? arg[0] : "", t[i].arg);
	}
	httpd_allow(routes, "/items", allow, sizeof(allow));
	TEST_CHECK(strcmp(allow, "POST") == 0, "allow /items: got \"%s\"", allow);
	httpd_allow(routes, "/nothing", allow, sizeof(allow));
	TEST_CHECK(allow[0] == '\0', "allow /nothing: got \"%s\"", allow);
}

static void
case_routes(void)
{
	struct reply r;

	req(&r, "GET", "/nothing", NULL, NULL, 0, NULL);
	TEST_CHECK(r.status == 404, "404: got %ld", r.status);
	TEST_CHECK(strstr(r.body, "\"error\"") != NULL, "404 body: got %s", r.body);
	TEST_CHECK(strstr(r.head, "application/json") != NULL, "404 type: got %s", r.head);
	req(&r, "DELETE", "/open", NULL, NULL, 0, NULL);
	TEST_CHECK(r.status == 405, "405: got %ld", r.status);
	TEST_CHECK(strstr(r.head, "Allow: GET\r\n") != NULL, "405 Allow: got %s", r.head);
	req(&r, "GET", "/open", NULL, NULL, 0, NULL);
	TEST_CHECK(r.status == 200 && strcmp(r.body, "{\"ok\":true}") == 0,
	    "open: got %ld %s", r.status, r.body);
	req(&r, "GET", "unix:/open", NULL, NULL, 0, NULL);
	TEST_CHECK(r.status == 200, "open over UNIX: got %ld (%d)", r.status, r.rc);
	req(&r, "GET", "/items/%00", "Authorization: Bearer tok-alpha-0123456789", NULL, 0,
	    NULL);
	TEST_CHECK(r.status == 200 && strstr(r.body, "\"arg\":\"%00\"") != NULL,
	    "%%00 stays encoded: got %ld %s", r.status, r.body);
}

static void
case_bearer(void)
{
	static const struct {
		const char *name, *url, *method, *hdr;
		long status;
		const char *body;
	} t[] = {
		{ "missing", "/items/1", "GET", NULL, 401, "bearer token" },
		{ "bad", "/items/1", "GET", "Authorization: Bearer nope", 401, NULL },
		{ "basic instead", "/items/1", "GET", "Authorization: Basic YWxpY2U6eA==", 401, NULL },
		{ "empty", "/items/1", "GET", "Authorization: Bearer ", 401, NULL },
		{ "good", "/items/7", "GET", "Authorization: Bearer tok-alpha-0123456789", 200,
		  "\"subscriber\":1" },
		{ "suspended", "/items/7", "GET", "Authorization: Bearer tok-beta-0123456789", 401,
		  NULL },
		{ "subscriber on admin route", "/items", "POST",
		  "Authorization: Bearer tok-alpha-0123456789", 403, NULL },
		{ "trusted socket", "unix:/items/7", "GET", NULL, 200, "\"admin\":true" },
		{ "trusted socket admin route", "unix:/items", "POST", NULL, 200, "\"len\":2" },
	};
	struct reply r;

	for (size_t i = 0; i < TEST_NELEM(t); i++) {
		req(&r, t[i].method, t[i].url, t[i].hdr, strcmp(t[i].method, "POST") == 0 ?
		    "{}" : NULL, 2, NULL);
		TEST_CHECK(r.status == t[i].status, "%s: got %ld, want %ld (%s)", t[i].name,
		    r.status, t[i].status, r.body);
		if (t[i].body != NULL)
			TEST_CHECK(strstr(r.body, t[i].body) != NULL, "%s: body %s, want %s",
			    t[i].name, r.body, t[i].body);
		if (t[i].status == 401)
			TEST_CHECK(strstr(r.head, "WWW-Authenticate: Bearer") != NULL,
			    "%s: no WWW-Authenticate: %s", t[i].name, r.head);
	}
}

static void
case_basic(void)
{
	static const struct {
		const char *name, *userpwd;
		long status;
	} t[] = {
		{ "good", "alice:correct horse", 200 },
		{ "login case", "ALICE:correct horse", 200 },
		{ "wrong password", "alice:correct horsf", 401 },
		{ "empty password", "alice:", 401 },
		{ "unknown login", "mallory:correct horse", 401 },
		{ "suspended", "bob:battery staple", 401 },
		{ "none", NULL, 401 },
	};
	struct reply r;

	for (size_t i = 0; i < TEST_NELEM(t); i++) {
		req(&r, "GET", "/page", NULL, NULL, 0, t[i].userpwd);
		TEST_CHECK(r.status == t[i].status, "%s: got %ld, want %ld (%s)", t[i].name,
		    r.status, t[i].status, r.body);
		if (t[i].status == 200)
			TEST_CHECK(strstr(r.body, "\"subscriber\":1") != NULL, "%s: body %s",
			    t[i].name, r.body);
		else
			TEST_CHECK(strstr(r.head, "WWW-Authenticate: Basic realm=") != NULL,
			    "%s: no Basic challenge: %s", t[i].name, r.head);
	}
	req(&r, "GET", "/page", "Authorization: Basic !!!notbase64", NULL, 0, NULL);
	TEST_CHECK(r.status == 401, "malformed Basic: got %ld", r.status);
}

static void
case_body(void)
{
	static char big[4096];
	struct reply r;

	memset(big, 'x', sizeof(big));
	req(&r, "POST", "/echo", NULL, "hello", 5, NULL);
	TEST_CHECK(r.status == 200 && strstr(r.body, "\"len\":5") != NULL, "small: got %ld %s",
	    r.status, r.body);
	req(&r, "POST", "/echo", NULL, big, sizeof(big), NULL);
	TEST_CHECK(r.status == 413, "oversized body: got %ld %s", r.status, r.body);
	TEST_CHECK(still_serving(), "not serving after 413");
}

static void
case_head_limit(void)
{
	char buf[4096];
	size_t n = 32 * 1024;
	char *big = malloc(n + 64);
	int fd = raw_connect();
	ssize_t got;

	if (big == NULL || fd == -1) {
		TEST_FAIL("fixture");
		free(big);
		return;
	}
	int k = snprintf(big, n + 64, "GET /open HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(big + k, 'a', n);
	memcpy(big + k + n, "\r\n\r\n", 5);
	(void)!write(fd, big, strlen(big));
	got = raw_read(fd, buf, sizeof(buf), 5000);
	TEST_CHECK(got > 0 && (strncmp(buf, "HTTP/1.1 431", 12) == 0 ||
	    strncmp(buf, "HTTP/1.1 400", 12) == 0 || strncmp(buf, "HTTP/1.1 414", 12) == 0),
	    "oversized head: got \"%.40s\"", got > 0 ? buf : "(nothing)");
	close(fd);
	free(big);

	/* A malformed request line. */
	fd = raw_connect();
	(void)!write(fd, "GARBAGE\r\n\r\n", 11);
	got = raw_read(fd, buf, sizeof(buf), 5000);
	TEST_CHECK(got == 0 || (got > 0 && strncmp(buf, "HTTP/1.1 400", 12) == 0),
	    "malformed line: got \"%.40s\"", got > 0 ? buf : "(nothing)");
	close(fd);
	TEST_CHECK(still_serving(), "not serving after the oversized head");
}

static void
case_slow_client(void)
{
	char buf[256];
	struct timespec t0, t1;
	int fd = raw_connect();
	ssize_t got;

	if (fd == -1) {
		TEST_FAIL("fixture");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	(void)!write(fd, "GET /open HTTP/1.1\r\nHost: x\r\n", 29);   /* and nothing more */
	got = raw_read(fd, buf, sizeof(buf), 8000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TEST_CHECK(got == 0, "slow client: not closed (%zd)", got);
	TEST_CHECK(t1.tv_sec - t0.tv_sec < 6, "slow client: closed after %lds",
	    (long)(t1.tv_sec - t0.tv_sec));
	close(fd);
	TEST_CHECK(still_serving(), "not serving after a slow client");
}

static void
case_per_client(void)
{
	int fds[10];
	char buf[64];
	size_t n = 0;

	/* 8 idle connections are the limit; the 9th is closed at once. */
	for (; n < 9; n++)
		if ((fds[n] = raw_connect()) == -1)
			break;
	if (n == 9) {
		ssize_t got = raw_read(fds[8], buf, sizeof(buf), 2000);
		TEST_CHECK(got == 0, "9th connection not closed (%zd)", got);
	} else {
		TEST_FAIL("connect: %s", strerror(errno));
	}
	while (n-- > 0)
		close(fds[n]);
	usleep(200 * 1000);
	TEST_CHECK(still_serving(), "not serving after the per-client limit");
}

static void
case_file(void)
{
	struct reply r;

	memset(big_value, 'v', sizeof(big_value) - 1);
	req(&r, "GET", "/file", NULL, NULL, 0, NULL);
	TEST_CHECK(r.status == 200 && strcmp(r.body, "abcdefghij") == 0, "file: %ld %s",
	    r.status, r.body);
	TEST_CHECK(strstr(r.head, "X-Extra: one two\r\n") != NULL &&
	    strstr(r.head, "X-Injected") == NULL && strstr(r.head, "X-Bad") == NULL,
	    "extra headers: %s", r.head);
	req(&r, "GET", "/file", "Range: bytes=2-4", NULL, 0, NULL);
	TEST_CHECK(r.status == 206 && strcmp(r.body, "cde") == 0 &&
	    strstr(r.head, "Content-Range: bytes 2-4/10") != NULL, "range: %ld %s %s",
	    r.status, r.body, r.head);
	req(&r, "GET", "/file", "Range: bytes=-3", NULL, 0, NULL);
	TEST_CHECK(r.status == 206 && strcmp(r.body, "hij") == 0, "suffix: %ld %s",
	    r.status, r.body);
	req(&r, "GET", "/file", "Range: bytes=7-", NULL, 0, NULL);
	TEST_CHECK(r.status == 206 && strcmp(r.body, "hij") == 0, "open end: %ld %s",
	    r.status, r.body);
	req(&r, "GET", "/file", "Range: bytes=10-", NULL, 0, NULL);
	TEST_CHECK(r.status == 416 && strstr(r.head, "Content-Range: bytes */10") != NULL,
	    "unsatisfiable: %ld %s", r.status, r.head);
	req(&r, "GET", "/file", "Range: bytes=1-2,4-5", NULL, 0, NULL);
	TEST_CHECK(r.status == 200 && r.len == 10, "list: %ld %s", r.status, r.body);
	req(&r, "GET", "/file", "Range: bytes=99999999999999999999999-", NULL, 0, NULL);
	TEST_CHECK(r.status == 416, "overflow: %ld %s", r.status, r.body);
	req(&r, "GET", "/file", "Range: bytes=4-2", NULL, 0, NULL);
	TEST_CHECK(r.status == 416, "last < first: %ld %s", r.status, r.body);
	req(&r, "GET", "/file", "Range: lines=1-2", NULL, 0, NULL);
	TEST_CHECK(r.status == 200 && r.len == 10, "other unit: %ld %s", r.status, r.body);
	req(&r, "GET", "/file", "Range: bytes=2-4\nIf-Range: \"x\"", NULL, 0, NULL);
	TEST_CHECK(r.status == 200 && r.len == 10, "If-Range: %ld %s", r.status, r.body);
	req(&r, "HEAD", "/file", "Range: bytes=2-4", NULL, 0, NULL);
	TEST_CHECK(r.status == 200 && strstr(r.head, "Content-Length: 10") != NULL,
	    "HEAD with Range: %ld %s", r.status, r.head);
	req(&r, "HEAD", "/file", NULL, NULL, 0, NULL);
	TEST_CHECK(r.status == 200 && r.len == 0 && strstr(r.head, "Content-Length: 10") != NULL,
	    "HEAD: %ld %s", r.status, r.head);
}

/* The pure Range parser on a 10-byte file (RFC 9110 14). */
static void
case_range(void)
{
	static const struct {
		const char  *h;
		uint64_t     size;
		int          rc;
		uint64_t     off, len;
	} t[] = {
		{ NULL, 10, 0, 0, 0 },
		{ "bytes=0-0", 10, 1, 0, 1 },
		{ "bytes=0-9", 10, 1, 0, 10 },
		{ "bytes=0-511", 10, 1, 0, 10 },          /* freshclam's header probe */
		{ "bytes=2-4", 10, 1, 2, 3 },
		{ "bytes=9-", 10, 1, 9, 1 },
		{ "bytes=9-9", 10, 1, 9, 1 },
		{ "bytes=-1", 10, 1, 9, 1 },
		{ "bytes=-10", 10, 1, 0, 10 },
		{ "bytes=-11", 10, 1, 0, 10 },
		{ "bytes=-99999999999999999999999", 10, 1, 0, 10 },
		{ "bytes=3-99999999999999999999999", 10, 1, 3, 7 },
		{ "BYTES=2-4", 10, 1, 2, 3 },
		{ "bytes= 2-4 ", 10, 1, 2, 3 },
		{ "bytes=,2-4,", 10, 1, 2, 3 },           /* empty list elements */
		{ "bytes=0-0", 1, 1, 0, 1 },
		/* a valid list: ignored, the whole file */
		{ "bytes=0-1,4-5", 10, 0, 0, 0 },
		{ "bytes=0-1, -2", 10, 0, 0, 0 },
		{ "bytes=20-30,40-", 10, 0, 0, 0 },
		/* other units, not a Range we know: ignored */
		{ "lines=1-2", 10, 0, 0, 0 },
		{ "bytes 2-4", 10, 0, 0, 0 },
		{ "bytes", 10, 0, 0, 0 },
		{ "", 10, 0, 0, 0 },
		/* not satisfiable */
		{ "bytes=10-", 10, -1, 0, 0 },
		{ "bytes=10-20", 10, -1, 0, 0 },
		{ "bytes=99999999999999999999999-", 10, -1, 0, 0 },
		{ "bytes=-0", 10, -1, 0, 0 },
		{ "bytes=0-", 0, -1, 0, 0 },
		{ "bytes=-5", 0, -1, 0, 0 },
		/* invalid range sets: 416 */
		{ "bytes=", 10, -1, 0, 0 },
		{ "bytes=,", 10, -1, 0, 0 },
		{ "bytes=-", 10, -1, 0, 0 },
		{ "bytes=4-2", 10, -1, 0, 0 },
		{ "bytes=a-b", 10, -1, 0, 0 },
		{ "bytes=1", 10, -1, 0, 0 },
		{ "bytes=1-2-3", 10, -1, 0, 0 },
		{ "bytes=--1", 10, -1, 0, 0 },
		{ "bytes=+1-2", 10, -1, 0, 0 },
		{ "bytes=1 -2", 10, -1, 0, 0 },
		{ "bytes=0x1-2", 10, -1, 0, 0 },
		{ "bytes=1-2;", 10, -1, 0, 0 },
		{ "bytes=0-1,4-3", 10, -1, 0, 0 },        /* one bad spec spoils the list */
		{ "bytes=0-1,x", 10, -1, 0, 0 },
	};

	for (size_t i = 0; i < TEST_NELEM(t); i++) {
		uint64_t off = 77, len = 77;
		int rc = httpd_range_parse(t[i].h, t[i].size, &off, &len);
		const char *what = t[i].h != NULL ? t[i].h : "NULL";

		TEST_INT_EQ(what, rc, t[i].rc);
		if (rc == 1 && t[i].rc == 1) {
			TEST_INT_EQ(what, off, t[i].off);
			TEST_INT_EQ(what, len, t[i].len);
		} else if (rc != 1) {
			TEST_CHECK(off == 77 && len == 77, "%s: off/len written on %d", what, rc);
		}
	}
}

static void
case_tls(void)
{
	struct reply r;

	req(&r, "GET", "https:/open", NULL, NULL, 0, NULL);
	TEST_CHECK(r.rc == CURLE_OK && r.status == 200, "https: got %ld (%s)", r.status,
	    curl_easy_strerror(r.rc));
	req(&r, "GET", "https:/items/3", "Authorization: Bearer tok-alpha-0123456789", NULL, 0,
	    NULL);
	TEST_CHECK(r.status == 200 && strstr(r.body, "\"subscriber\":1") != NULL,
	    "https bearer: got %ld %s", r.status, r.body);
	req(&r, "GET", "plain-tls:/open", NULL, NULL, 0, NULL);
	TEST_CHECK(r.rc != CURLE_OK || r.status >= 400, "plain HTTP to TLS: got %ld (%s)",
	    r.status, curl_easy_strerror(r.rc));
	TEST_CHECK(r.status != 200, "plain HTTP to TLS served: %s", r.body);
	req(&r, "GET", "https:/open", NULL, NULL, 0, NULL);
	TEST_CHECK(r.status == 200, "https after plain: got %ld", r.status);
}

static void
case_config(void)
{
	static const struct httpd_listen bad[] = {
		{ .fd = -1, .tcp = "127.0.0.1" },
		{ .fd = -1, .tcp = "127.0.0.1:0" },
		{ .fd = -1, .tcp = "127.0.0.1:65536" },
		{ .fd = -1, .tcp = "localhost:80" },
		{ .fd = -1, .tcp = "192.0.2.1:8080" },       /* plain, not loopback */
	};
	char err[256];

	for (size_t i = 0; i < TEST_NELEM(bad); i++) {
		struct httpd *h = httpd_start(&conf, &bad[i], 1, err, sizeof(err));
		TEST_CHECK(h == NULL && err[0] != '\0', "%s: started", bad[i].tcp);
		httpd_stop(h);
	}
}

static void
case_pool(void)
{
	struct httpd_conf pc = conf;
	struct httpd *h;
	struct reply r;
	char tcp[64], err[256];
	int saved = tcp_port, port = free_port();

	/* The same routes served by a pool of two epoll threads. */
	pc.threads = 2;
	snprintf(tcp, sizeof(tcp), "127.0.0.1:%d", port);
	struct httpd_listen l = { .fd = -1, .tcp = tcp };
	if ((h = httpd_start(&pc, &l, 1, err, sizeof(err))) == NULL) {
		TEST_FAIL("httpd_start: %s", err);
		return;
	}
	tcp_port = port;
	req(&r, "GET", "/open", NULL, NULL, 0, NULL);
	TEST_CHECK(r.status == 200, "pool open: got %ld", r.status);
	req(&r, "GET", "/page", NULL, NULL, 0, "alice:correct horse");
	TEST_CHECK(r.status == 200, "pool basic: got %ld", r.status);
	req(&r, "GET", "/nothing", NULL, NULL, 0, NULL);
	TEST_CHECK(r.status == 404, "pool 404: got %ld", r.status);
	tcp_port = saved;
	httpd_stop(h);
}

static const struct test_case cases[] = {
	{ "match", case_match },
	{ "config", case_config },
	{ "routes", case_routes },
	{ "bearer", case_bearer },
	{ "basic", case_basic },
	{ "body", case_body },
	{ "head limit", case_head_limit },
	{ "slow client", case_slow_client },
	{ "per client", case_per_client },
	{ "file", case_file },
	{ "range", case_range },
	{ "tls", case_tls },
	{ "pool", case_pool },
	{ NULL, NULL }
};

int
main(void)
{
	char cmd[400];
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (setup() == -1) {
		fprintf(stderr, "FAIL setup\n");
		return 1;
	}
	rc = test_run(cases);
	httpd_stop(tls_srv);
	httpd_stop(srv);
	store_close(st);
	curl_global_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
