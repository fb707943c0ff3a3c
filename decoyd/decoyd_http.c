/*
 * decoyd_http - the http personality: a device's "Administration" login
 * page served as Debian's Apache 2.4 serves a static page, credentials
 * captured from the form's POST.
 *
 * What a client sees is Apache/2.4.62 (Debian) with Debian's defaults
 * (ServerTokens OS, ServerSignature On, KeepAliveTimeout 5,
 * MaxKeepAliveRequests 100, TraceEnable Off): its header order (Date,
 * Server, Last-Modified, ETag, Accept-Ranges, Content-Length, Vary,
 * Keep-Alive, Connection, Content-Type), its keep-alive rules
 * (ap_set_keepalive: "Keep-Alive: timeout=5, max=N" and "Connection:
 * Keep-Alive" only to a client that sent the keep-alive token, "Connection:
 * close" on the last answer), its error pages (the HTML 2.0 bodies with the
 * <address> signature, charset=iso-8859-1), 408 after mod_reqtimeout's
 * 20 s.  nmap's GetRequest probe matches "Server: Apache/([\d.]+) (...)"
 * in nmap-service-probes: "Apache httpd 2.4.62 ((Debian))".
 *
 * Routes: GET/HEAD of / (and the usual index and login names) the login
 * page; POST of /login (or /): the form's fields go to rec_login() and the
 * page comes back with "Invalid credentials"; OPTIONS: Allow; other
 * methods 405 or 501; every other path 404.  Every request is a command
 * event ("GET /path"); a wget/curl/tftp command in a decoded query or body
 * (the usual router exploits: /shell?cmd=wget+http://...) is a download
 * event.  Requests are parsed by decoyd_http_parse.c.
 *
 * Cost: the two login pages (body, ETag) are rendered once per host name
 * (conf reload) and shared by every session; the Date header once per
 * second; a request costs one header snprintf and one sess_send.  The
 * parser's buffer (2 * max_line) is allocated at a session's first byte, so
 * idle connections cost only struct ht.  Pipelined requests are answered
 * while the unsent output stays under HT_OUT_HIGH; past it the rest waits
 * in t->pend (bounded) and a short timer resumes once the client reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "decoyd.h"
#include "decoyd_http_parse.h"

#define HT_SERVER     "Apache/2.4.62 (Debian)"
#define HT_MTIME      1728724211LL  /* the page's Last-Modified (2024-10-12 09:10:11 UTC) */
#define HT_OUT_HIGH   (DD_OUTQ_MAX / 2)
#define HT_PEND_MAX   (DD_OUTQ_MAX)
#define HT_RESUME_MS  5
#define HT_RESUME_MAX_MS 500
#define HT_LINGER_MS  2000          /* Apache's lingering close */
#define HT_DL_MAX     8             /* download events per request */
#define HT_ISO        "text/html; charset=iso-8859-1"

struct ht {
	struct hp  hp;
	uint8_t   *mem;             /* the parser's buffer, from the first byte */
	uint8_t   *pend;            /* input not parsed yet (output backlog) */
	size_t     pend_len, pend_cap;
	unsigned   requests;        /* answered on this connection */
	int        in_request;      /* bytes of a request seen: request timeout runs */
	int        paused;          /* output backlog: resume by timer */
	int64_t    backoff;         /* ms of the resume timer */
	const char *closing;        /* the last answer is queued: why we close */
	int        shut;            /* lingering: our side shut down */
	int64_t    linger_end;      /* ms: lingering stops */
};

/* The pages, rendered once per host name, shared by every session. */
static struct {
	char    host[256];
	char   *login, *denied;
	size_t  login_len, denied_len;
	char    etag[48];
	char    lastmod[40];
} ht_pages;

static char ht_date[40];
static time_t ht_date_at = -1;

static const char ht_page_fmt[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
    "<title>%s - Administration</title>\n"
    "<link rel=\"stylesheet\" href=\"/static/css/login.css?v=4.3.7\">\n"
    "<link rel=\"icon\" href=\"/favicon.ico\">\n"
    "</head>\n"
    "<body class=\"login\">\n"
    "<div class=\"panel\">\n"
    "<div class=\"brand\"><img src=\"/static/img/logo.svg\" alt=\"\" width=\"32\" "
    "height=\"32\"> <span>%s</span></div>\n"
    "<h1>Administration</h1>\n"
    "<p class=\"hint\">Sign in to manage this device.</p>\n"
    "%s"
    "<form method=\"post\" action=\"/login\" autocomplete=\"off\">\n"
    "<label for=\"username\">User name</label>\n"
    "<input type=\"text\" id=\"username\" name=\"username\" maxlength=\"64\" required "
    "autofocus>\n"
    "<label for=\"password\">Password</label>\n"
    "<input type=\"password\" id=\"password\" name=\"password\" maxlength=\"128\" "
    "required>\n"
    "<label class=\"check\"><input type=\"checkbox\" name=\"remember\" value=\"1\"> "
    "Keep me signed in</label>\n"
    "<input type=\"hidden\" name=\"lang\" value=\"en\">\n"
    "<button type=\"submit\">Sign in</button>\n"
    "</form>\n"
    "<p class=\"foot\">Firmware 4.3.7 (build 20240930) &middot; "
    "<a href=\"/help/login.html\">Help</a></p>\n"
    "</div>\n"
    "<noscript><p class=\"warn\">Some settings pages need JavaScript.</p></noscript>\n"
    "</body>\n"
    "</html>\n";

static const char ht_denied_msg[] =
    "<p class=\"error\" role=\"alert\">Invalid credentials. Please check your user "
    "name and password and try again.</p>\n";

/* HTML text of s (cap bytes, NUL-terminated), as ap_escape_html does. */
static void
ht_escape(char *out, size_t cap, const char *s)
{
	size_t o = 0;
	const char *e;

	for (; *s != '\0'; s++) {
		e = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" :
		    *s == '"' ? "&quot;" : NULL;
		if (e != NULL) {
			if (o + strlen(e) >= cap)
				break;
			memcpy(out + o, e, strlen(e));
			o += strlen(e);
		} else {
			if (o + 1 >= cap)
				break;
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

static char *
ht_render(const char *host, const char *msg, size_t *len)
{
	int n = snprintf(NULL, 0, ht_page_fmt, host, host, msg);
	char *p;

	if (n < 0 || (p = malloc((size_t)n + 1)) == NULL)
		return NULL;
	snprintf(p, (size_t)n + 1, ht_page_fmt, host, host, msg);
	*len = (size_t)n;
	return p;
}

/* The pages for this host name: 0, or -1 out of memory. */
static int
ht_pages_for(const char *hostname)
{
	char host[sizeof(ht_pages.host) * 6];
	char *login, *denied;
	size_t ll, dl;
	time_t m = HT_MTIME;
	struct tm tm;

	if (ht_pages.login != NULL && strcmp(ht_pages.host, hostname) == 0)
		return 0;
	ht_escape(host, sizeof(host), hostname);
	if ((login = ht_render(host, "", &ll)) == NULL)
		return -1;
	if ((denied = ht_render(host, ht_denied_msg, &dl)) == NULL) {
		free(login);
		return -1;
	}
	free(ht_pages.login);
	free(ht_pages.denied);
	snprintf(ht_pages.host, sizeof(ht_pages.host), "%s", hostname);
	ht_pages.login = login, ht_pages.login_len = ll;
	ht_pages.denied = denied, ht_pages.denied_len = dl;
	/* Apache's ETag: size and mtime in microseconds, in hex. */
	snprintf(ht_pages.etag, sizeof(ht_pages.etag), "\"%zx-%llx\"", ll,
	    (unsigned long long)HT_MTIME * 1000000ULL + 417023ULL);
	gmtime_r(&m, &tm);
	strftime(ht_pages.lastmod, sizeof(ht_pages.lastmod), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return 0;
}

static const char *
ht_now(void)
{
	time_t now = time(NULL);
	struct tm tm;

	if (now != ht_date_at) {
		gmtime_r(&now, &tm);
		strftime(ht_date, sizeof(ht_date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		ht_date_at = now;
	}
	return ht_date;
}

/* ---------------------------------------------------------- answers */

struct ht_reply {
	const char *status;         /* "200 OK" */
	const char *pre;            /* fields between Server and Content-Length */
	const char *post;           /* fields between Content-Length and Keep-Alive */
	const char *ctype;          /* NULL: no Content-Type (and no body) */
	const char *body;
	size_t      len;
	int         head;           /* HEAD: the fields only */
	int         close;          /* the status drops the connection */
};

/* Sends r; returns 1 when the connection stays open (Apache's
 * ap_set_keepalive), 0 when it is closing. */
static int
ht_send(struct dd_session *s, struct ht *t, const struct hp_req *q, const struct ht_reply *r)
{
	char buf[8192], conn[96] = "";
	int keep, n;
	long long left = s->conf->d.http_max_requests - (long long)t->requests;

	keep = !r->close && q != NULL && !q->conn_close &&
	    (q->minor >= 1 || q->conn_keepalive) && left > 0;
	if (keep && q->conn_keepalive)
		snprintf(conn, sizeof(conn), "Keep-Alive: timeout=%lld, max=%lld\r\n"
		    "Connection: Keep-Alive\r\n", s->conf->d.http_keepalive, left);
	else if (!keep)
		snprintf(conn, sizeof(conn), "Connection: close\r\n");
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 %s\r\nDate: %s\r\nServer: " HT_SERVER "\r\n"
	    "%sContent-Length: %zu\r\n%s%s%s%s%s\r\n", r->status, ht_now(), r->pre, r->len,
	    r->post, conn, r->ctype != NULL ? "Content-Type: " : "",
	    r->ctype != NULL ? r->ctype : "", r->ctype != NULL ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	if (!r->head && r->len > 0 && (size_t)n + r->len <= sizeof(buf)) {
		memcpy(buf + n, r->body, r->len);
		sess_send(s, buf, (size_t)n + r->len, 1);
	} else {
		sess_send(s, buf, (size_t)n, 1);
		if (!r->head)
			sess_send(s, r->body, r->len, 1);
	}
	t->requests++;
	if (!keep)
		t->closing = "http: connection closed";
	return keep;
}

/* The host name of the <address> signature: the request's Host when it
 * is a plain name[:port], else ours. */
static void
ht_server_at(struct dd_session *s, const struct hp_req *q, char *host, size_t cap,
    unsigned *port)
{
	const char *h = q != NULL ? q->host : "", *c;
	size_t n;

	*port = 80;
	snprintf(host, cap, "%s", s->fqdn);
	if (h[0] == '\0')
		return;
	n = strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
	c = h + n;
	if (n == 0 || n >= cap || (*c != '\0' && (*c != ':' || c[1] == '\0' ||
	    c[1 + strspn(c + 1, "0123456789")] != '\0' || strlen(c + 1) > 5)))
		return;
	memcpy(host, h, n);
	host[n] = '\0';
	if (*c == ':')
		*port = (unsigned)atoi(c + 1);
}

/* An Apache error page: status "404 Not Found", text the <p> inside. */
static int
ht_error(struct dd_session *s, struct ht *t, const struct hp_req *q, const char *status,
    const char *text, const char *pre, int close, int head)
{
	char body[2048], host[HP_HOST_MAX], ehost[HP_HOST_MAX * 6];
	unsigned port;
	struct ht_reply r = { status, pre, "", HT_ISO, body, 0, head, close };
	int n;

	ht_server_at(s, q, host, sizeof(host), &port);
	ht_escape(ehost, sizeof(ehost), host);
	n = snprintf(body, sizeof(body), "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n"
	    "<html><head>\n<title>%s</title>\n</head><body>\n<h1>%s</h1>\n%s<hr>\n"
	    "<address>" HT_SERVER " Server at %s Port %u</address>\n</body></html>\n",
	    status, strchr(status, ' ') + 1, text, ehost, port);
	r.len = n < 0 ? 0 : (size_t)n >= sizeof(body) ? sizeof(body) - 1 : (size_t)n;
	return ht_send(s, t, q, &r);
}

/* A refused request (the parser's status): answered and closed. */
static void
ht_refuse(struct dd_session *s, struct ht *t, int status, const char *why)
{
	const struct hp_req *q = &t->hp.req;
	char text[512], m[HP_METHOD_MAX * 6];

	ht_escape(m, sizeof(m), q->method[0] != '\0' ? q->method : "GET");
	switch (status) {
	case 408:
		ht_error(s, t, q, "408 Request Timeout", "<p>Server timeout waiting for the HTTP "
		    "request from the client.</p>\n", "", 1, 0);
		break;
	case 411:
		snprintf(text, sizeof(text), "<p>A request of the requested method %s requires "
		    "a valid Content-length.<br />\n</p>\n", m);
		ht_error(s, t, q, "411 Length Required", text, "", 1, 0);
		break;
	case 413:
		snprintf(text, sizeof(text), "The requested resource does not allow request "
		    "data with %s requests, or the amount of data provided in\nthe request "
		    "exceeds the capacity limit.\n", m);
		ht_error(s, t, q, "413 Request Entity Too Large", text, "", 1, 0);
		break;
	case 414:
		ht_error(s, t, q, "414 Request-URI Too Long", "<p>The requested URL's length "
		    "exceeds the capacity\nlimit for this server.<br />\n</p>\n", "", 1, 0);
		break;
	case 505:
		ht_error(s, t, q, "505 HTTP Version Not Supported", "<p>The server encountered "
		    "an internal error or\nmisconfiguration and was unable to complete\n"
		    "your request.</p>\n", "", 1, 0);
		break;
	default:
		snprintf(text, sizeof(text), "<p>Your browser sent a request that this server "
		    "could not understand.<br />\n%s</p>\n",
		    strstr(why, "field") != NULL && strstr(why, "too") != NULL ?
		    "Size of a request header field exceeds server limit.<br />\n" : "");
		ht_error(s, t, q, "400 Bad Request", text, "", 1, 0);
		break;
	}
	t->closing = why;
}

/* ---------------------------------------------------------- requests */

/* Download commands in text (decoded), at most HT_DL_MAX. */
static void
ht_downloads(struct dd_session *s, const char *text, unsigned *seen)
{
	char tool[8], url[1024];
	size_t at;

	while (*seen < HT_DL_MAX && (at = hp_download(text, tool, url, sizeof(url))) != 0) {
		rec_download(s, tool, url);
		text += at;
		(*seen)++;
	}
}

static int
ht_is(const char *path, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strcmp(path, *names) == 0)
			return 1;
	return 0;
}

/* The form's credentials: rec_login when it has a user or a password. */
static void
ht_login(struct dd_session *s, const struct hp_req *q)
{
	static const char *const users[] = { "username", "user", "login", "uname", "name",
	    "email", "usr", NULL };
	static const char *const pws[] = { "password", "pass", "passwd", "pwd", "pw", NULL };
	const char *f = (const char *)q->body;
	char user[512] = "", pw[512] = "";
	int got = 0;
	size_t i;

	if (q->body_len == 0)
		return;
	for (i = 0; users[i] != NULL && !got; i++)
		got = hp_form_field(f, q->body_len, users[i], user, sizeof(user));
	for (i = 0; pws[i] != NULL; i++)
		if (hp_form_field(f, q->body_len, pws[i], pw, sizeof(pw)) == 1) {
			got = 1;
			break;
		}
	if (got)
		rec_login(s, user, pw);
}

/* One whole request: recorded, then answered.  Returns 1 kept alive. */
static int
ht_request(struct dd_session *s, struct ht *t)
{
	static const char *const pages[] = { "/", "/index.html", "/index.htm", "/index.php",
	    "/login", "/login.html", "/login.php", "/admin", "/admin/", NULL };
	static const char *const logins[] = { "/login", "/", "/login.php", "/login.cgi",
	    "/index.php", "/admin/login", NULL };
	const struct hp_req *q = &t->hp.req;
	char cmd[2100], path[2048], dec[4096], text[512], m[HP_METHOD_MAX * 6];
	unsigned dls = 0;
	size_t plen;
	int get = strcmp(q->method, "GET") == 0, head = strcmp(q->method, "HEAD") == 0;
	struct ht_reply r = { "200 OK", "", "", "text/html", NULL, 0, head, 0 };

	snprintf(cmd, sizeof(cmd), "%s %s", q->method, q->target);
	rec_command(s, cmd);
	plen = strcspn(q->target, "?");
	if (plen >= sizeof(path))
		plen = sizeof(path) - 1;
	memcpy(path, q->target, plen);
	path[plen] = '\0';
	if (strchr(q->target, '?') != NULL || strchr(q->target, '%') != NULL) {
		hp_urldecode(dec, sizeof(dec), q->target, q->target_len, 1);
		ht_downloads(s, dec, &dls);
	}
	if (q->body_len > 0) {
		hp_urldecode(dec, sizeof(dec), (const char *)q->body, q->body_len, 1);
		ht_downloads(s, dec, &dls);
	}
	if (ht_pages_for(s->conf->d.hostname) == -1) {
		sess_end(s, "out of memory");
		return 0;
	}
	if ((get || head) && ht_is(path, pages)) {
		char pre[160];

		snprintf(pre, sizeof(pre), "Last-Modified: %s\r\nETag: %s\r\nAccept-Ranges: "
		    "bytes\r\n", ht_pages.lastmod, ht_pages.etag);
		r.pre = pre;
		r.post = "Vary: Accept-Encoding\r\n";
		r.body = ht_pages.login;
		r.len = ht_pages.login_len;
		return ht_send(s, t, q, &r);
	}
	if (strcmp(q->method, "POST") == 0 && ht_is(path, logins)) {
		ht_login(s, q);
		r.pre = "Cache-Control: no-store, no-cache, must-revalidate\r\nPragma: no-cache\r\n";
		r.post = "Vary: Accept-Encoding\r\n";
		r.ctype = "text/html; charset=UTF-8";
		r.body = ht_pages.denied;
		r.len = ht_pages.denied_len;
		return ht_send(s, t, q, &r);
	}
	if (get || head || strcmp(q->method, "POST") == 0)
		return ht_error(s, t, q, "404 Not Found", "<p>The requested URL was not found on "
		    "this server.</p>\n", "", 0, head);
	if (strcmp(q->method, "OPTIONS") == 0) {
		r.pre = "Allow: GET,POST,OPTIONS,HEAD\r\n";
		r.ctype = "text/html";
		return ht_send(s, t, q, &r);
	}
	ht_escape(m, sizeof(m), q->method);
	if (ht_is(q->method, (const char *const[]){ "PUT", "DELETE", "PATCH", "TRACE",
	    "CONNECT", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
	    NULL })) {
		snprintf(text, sizeof(text), "<p>The requested method %s is not allowed for this "
		    "URL.</p>\n", m);
		return ht_error(s, t, q, "405 Method Not Allowed", text,
		    "Allow: GET,POST,OPTIONS,HEAD\r\n", 0, 0);
	}
	snprintf(text, sizeof(text), "<p>%s not supported for current URL.<br />\n</p>\n", m);
	return ht_error(s, t, q, "501 Not Implemented", text, "", 1, 0);
}

/* Keeps buf[0..len) for later (the output backlog); from_pend: buf is the
 * tail of t->pend itself.  0, or -1 when the session ends (bound, memory). */
static int
ht_keep(struct dd_session *s, struct ht *t, const uint8_t *buf, size_t len, int from_pend)
{
	uint8_t *n;

	if (from_pend) {
		memmove(t->pend, buf, len);
		t->pend_len = len;
		return 0;
	}
	if (t->pend_len + len > HT_PEND_MAX) {
		sess_end(s, "http: pipelined input over bound");
		return -1;
	}
	if (t->pend_len + len > t->pend_cap) {
		if ((n = realloc(t->pend, t->pend_len + len)) == NULL) {
			sess_end(s, "out of memory");
			return -1;
		}
		t->pend = n;
		t->pend_cap = t->pend_len + len;
	}
	memcpy(t->pend + t->pend_len, buf, len);
	t->pend_len += len;
	return 0;
}

/*
 * The last answer is queued.  Closing a socket with unread input makes the
 * kernel send a RST, which can destroy answers the client has not read yet
 * (pipelined requests, a refusal in the middle of garbage): as Apache's
 * lingering close does, shut our side down once the output is out and read
 * (recorded, ignored) until the client closes or HT_LINGER_MS pass.  With
 * nothing left to read the session simply ends (the common case).  The
 * loop has no shutdown of its own: the personality calls it on s->fd.
 */
static void
ht_linger_step(struct dd_session *s, struct ht *t)
{
	int64_t now = dd_now_ms();

	if (now >= t->linger_end) {
		sess_end(s, t->closing);
		return;
	}
	if (!t->shut && s->outq_len == 0) {
		shutdown(s->fd, SHUT_WR);
		t->shut = 1;
	}
	sess_timer(s, t->shut ? t->linger_end - now : HT_RESUME_MS);
}

static void
ht_linger_start(struct dd_session *s, struct ht *t, size_t left)
{
	uint8_t c;

	/* (recv with MSG_PEEK: ioctl is not in decoyd's seccomp list.) */
	if (left == 0 && t->pend_len == 0 &&
	    recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
		sess_end(s, t->closing);
		return;
	}
	t->paused = 0;
	t->linger_end = dd_now_ms() + HT_LINGER_MS;
	ht_linger_step(s, t);
}

/* Parses and answers what buf holds, pausing on an output backlog. */
static void
ht_run(struct dd_session *s, struct ht *t, const uint8_t *buf, size_t len, int from_pend)
{
	const struct dd_conf *c = s->conf;
	enum hp_result r;
	size_t used;

	t->paused = 0;
	while (len > 0 && !s->ending && t->closing == NULL) {
		if (s->outq_len >= HT_OUT_HIGH) {
			if (ht_keep(s, t, buf, len, from_pend) == 0) {
				t->paused = 1;
				/* Backing off: a client that never reads costs
				 * few wake-ups (idle ends it). */
				t->backoff = t->backoff == 0 ? HT_RESUME_MS :
				    t->backoff * 2 > HT_RESUME_MAX_MS ? HT_RESUME_MAX_MS :
				    t->backoff * 2;
				sess_timer(s, t->backoff);
			}
			return;
		}
		if (!t->in_request) {
			t->in_request = 1;
			sess_timer(s, c->d.http_request_timeout * 1000);
		}
		r = hp_feed(&t->hp, buf, len, &used);
		buf += used;
		len -= used;
		if (r == HP_MORE)
			break;
		if (r == HP_ERROR) {
			if (t->hp.req.method[0] != '\0') {
				char cmd[2100];

				snprintf(cmd, sizeof(cmd), "%s %s", t->hp.req.method,
				    t->hp.req.target);
				rec_command(s, cmd);
			} else if (t->hp.req.target_len > 0) {
				rec_command(s, t->hp.req.target);
			}
			ht_refuse(s, t, t->hp.status, t->hp.why);
			break;
		}
		t->in_request = 0;
		if (ht_request(s, t) == 1 && !s->ending)
			sess_timer(s, c->d.http_keepalive * 1000);
		hp_reset(&t->hp);
	}
	t->backoff = 0;
	if (from_pend)
		t->pend_len = 0;
	if (t->closing != NULL && !s->ending)
		ht_linger_start(s, t, len);
}

static int
ht_open(struct dd_session *s)
{
	struct ht *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	s->pers_state = t;
	/* Apache speaks second: nothing to send.  The first request has
	 * mod_reqtimeout's time from the connection on. */
	sess_timer(s, s->conf->d.http_request_timeout * 1000);
	t->in_request = 1;
	return 0;
}

static void
ht_input(struct dd_session *s, const uint8_t *buf, size_t len)
{
	struct ht *t = s->pers_state;
	const struct dd_conf *c = s->conf;
	size_t line = (size_t)c->d.max_line;

	if (t->closing != NULL) {       /* lingering: recorded, not read */
		ht_linger_step(s, t);
		return;
	}
	if (t->mem == NULL) {
		if ((t->mem = malloc(hp_mem_size(line, line))) == NULL) {
			sess_end(s, "out of memory");
			return;
		}
		hp_init(&t->hp, t->mem, line, line, (unsigned)c->d.http_max_fields);
	}
	if (t->paused) {                /* behind what waits: queue, then try */
		if (ht_keep(s, t, buf, len, 0) == 0 && s->outq_len < HT_OUT_HIGH)
			ht_run(s, t, t->pend, t->pend_len, 1);
		return;
	}
	ht_run(s, t, buf, len, 0);
}

static void
ht_timer(struct dd_session *s)
{
	struct ht *t = s->pers_state;

	if (t->closing != NULL) {
		ht_linger_step(s, t);
	} else if (t->paused) {
		if (s->outq_len < HT_OUT_HIGH)
			ht_run(s, t, t->pend, t->pend_len, 1);
		else {
			t->backoff = t->backoff * 2 > HT_RESUME_MAX_MS ? HT_RESUME_MAX_MS :
			    t->backoff * 2;
			sess_timer(s, t->backoff);
		}
	} else if (t->in_request) {
		if (t->mem != NULL && t->hp.req.method[0] != '\0') {
			char cmd[2100];

			snprintf(cmd, sizeof(cmd), "%s %s", t->hp.req.method, t->hp.req.target);
			rec_command(s, cmd);
		}
		if (t->mem != NULL) {
			ht_refuse(s, t, 408, "http: request timeout");
			ht_linger_start(s, t, 0);
		} else
			sess_end(s, "http: request timeout");  /* not a byte: Apache says nothing */
	} else {
		sess_end(s, "http: keep-alive timeout");
	}
}

static void
ht_close(struct dd_session *s)
{
	struct ht *t = s->pers_state;

	if (t == NULL)
		return;
	if (t->closing != NULL)         /* lingering ended by the client's close */
		s->end_reason = t->closing;
	free(t->mem);
	free(t->pend);
	free(t);
	s->pers_state = NULL;
}

const struct dd_personality dd_http = { "http", ht_open, ht_input, ht_timer, ht_close };
