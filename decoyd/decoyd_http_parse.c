/* The HTTP/1.x request parser (see decoyd_http_parse.h). */
#include <string.h>
#include <strings.h>

#include "decoyd_http_parse.h"

enum { HP_LINE, HP_BODY, HP_END, HP_FAIL };

/* Memory: the target (max_line + NUL), then the current field line or the
 * body, whichever is longer (+ NUL). */
size_t
hp_mem_size(size_t max_line, size_t max_body)
{
	return max_line + 1 + (max_line > max_body ? max_line : max_body) + 1;
}

void
hp_init(struct hp *p, uint8_t *mem, size_t max_line, size_t max_body, unsigned max_headers)
{
	memset(p, 0, sizeof(*p));
	p->mem = mem;
	p->max_line = max_line;
	p->max_body = max_body;
	p->max_headers = max_headers;
	hp_reset(p);
}

void
hp_reset(struct hp *p)
{
	p->state = HP_LINE;
	p->status = 0;
	p->why = NULL;
	p->base = 0;
	p->len = 0;
	p->blank = 0;
	p->cr = 0;
	memset(&p->req, 0, sizeof(p->req));
	p->req.target = (char *)p->mem;
	p->mem[0] = '\0';
}

static enum hp_result
hp_fail(struct hp *p, int status, const char *why)
{
	p->state = HP_FAIL;
	p->status = status;
	p->why = why;
	if (p->req.method[0] == '\0') {         /* the raw request line so far */
		p->mem[p->len] = '\0';
		p->req.target = (char *)p->mem;
		p->req.target_len = p->len;
	}
	return HP_ERROR;
}

/* RFC 9110 tchar. */
static int
hp_tchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The request line in mem[0..len). */
static enum hp_result
hp_request_line(struct hp *p)
{
	uint8_t *l = p->mem;
	size_t n = p->len, i = 0, m, t0;

	while (i < n && hp_tchar(l[i]))
		i++;
	if (i == 0 || i >= HP_METHOD_MAX || i == n || l[i] != ' ')
		return hp_fail(p, 400, "malformed method");
	m = i++;
	t0 = i;
	while (i < n && l[i] > 0x20 && l[i] < 0x7f)
		i++;
	if (i == t0 || i == n || l[i] != ' ')
		return hp_fail(p, 400, "malformed request target");
	if (n - i - 1 != 8 || memcmp(l + i + 1, "HTTP/", 5) != 0 ||
	    l[i + 6] < '0' || l[i + 6] > '9' || l[i + 7] != '.' ||
	    l[i + 8] < '0' || l[i + 8] > '9')
		return hp_fail(p, 400, "malformed protocol");
	p->req.major = l[i + 6] - '0';
	p->req.minor = l[i + 8] - '0';
	memcpy(p->req.method, l, m);
	p->req.method[m] = '\0';
	p->req.target_len = i - t0;
	memmove(l, l + t0, p->req.target_len);
	l[p->req.target_len] = '\0';
	p->req.target = (char *)l;
	p->base = p->req.target_len + 1;
	if (p->req.major != 1)
		return hp_fail(p, 505, "HTTP version not supported");
	return HP_MORE;
}

/* A comma list of tokens in v[0..n): Connection. */
static void
hp_connection(struct hp_req *r, const char *v, size_t n)
{
	size_t i = 0, a, b;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		a = i;
		while (i < n && v[i] != ',')
			i++;
		b = i;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (b - a == 5 && strncasecmp(v + a, "close", 5) == 0)
			r->conn_close = 1;
		else if (b - a == 10 && strncasecmp(v + a, "keep-alive", 10) == 0)
			r->conn_keepalive = 1;
	}
}

#define HP_IS(name, lit) (nlen == sizeof(lit) - 1 && strncasecmp(name, lit, nlen) == 0)

/* One field line in mem[base..base+len). */
static enum hp_result
hp_field(struct hp *p)
{
	struct hp_req *r = &p->req;
	char *l = (char *)p->mem + p->base;
	size_t n = p->len, nlen = 0, i, vlen;
	const char *v;
	uint64_t cl = 0;

	if (l[0] == ' ' || l[0] == '\t')
		return hp_fail(p, 400, "obsolete line folding");
	if (++r->nfields > p->max_headers)
		return hp_fail(p, 400, "too many header fields");
	while (nlen < n && hp_tchar((uint8_t)l[nlen]))
		nlen++;
	if (nlen == 0 || nlen == n || l[nlen] != ':')
		return hp_fail(p, 400, "malformed header field");
	for (i = nlen + 1; i < n; i++) {
		uint8_t c = (uint8_t)l[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return hp_fail(p, 400, "control byte in a header field");
	}
	v = l + nlen + 1;
	vlen = n - nlen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (HP_IS(l, "content-length")) {
		if (r->has_cl)
			return hp_fail(p, 400, "repeated Content-Length");
		if (vlen == 0 || vlen > HP_CL_DIGITS)
			return hp_fail(p, 400, "malformed Content-Length");
		for (i = 0; i < vlen; i++) {
			if (v[i] < '0' || v[i] > '9')
				return hp_fail(p, 400, "malformed Content-Length");
			cl = cl * 10 + (uint64_t)(v[i] - '0');
		}
		r->has_cl = 1;
		r->content_length = cl;
	} else if (HP_IS(l, "transfer-encoding")) {
		if (r->has_te)
			return hp_fail(p, 400, "repeated Transfer-Encoding");
		r->has_te = 1;
		r->te_chunked = vlen == 7 && strncasecmp(v, "chunked", 7) == 0;
	} else if (HP_IS(l, "host")) {
		if (r->has_host)
			return hp_fail(p, 400, "repeated Host");
		if (vlen >= HP_HOST_MAX)
			return hp_fail(p, 400, "Host too long");
		memcpy(r->host, v, vlen);
		r->host[vlen] = '\0';
		r->has_host = 1;
	} else if (HP_IS(l, "connection")) {
		hp_connection(r, v, vlen);
	} else if (HP_IS(l, "content-type")) {
		if (vlen >= HP_CTYPE_MAX)
			vlen = HP_CTYPE_MAX - 1;
		memcpy(r->ctype, v, vlen);
		r->ctype[vlen] = '\0';
	}
	return HP_MORE;
}

/* The empty line after the fields: what the head says about a body. */
static enum hp_result
hp_head_end(struct hp *p)
{
	struct hp_req *r = &p->req;

	if (r->major == 1 && r->minor >= 1 && !r->has_host)
		return hp_fail(p, 400, "HTTP/1.1 without Host");
	if (r->has_te && r->has_cl)
		return hp_fail(p, 400, "Content-Length with Transfer-Encoding");
	if (r->has_te)
		return r->te_chunked ? hp_fail(p, 411, "chunked body") :
		    hp_fail(p, 400, "unknown Transfer-Encoding");
	if (r->content_length > p->max_body)
		return hp_fail(p, 413, "body too long");
	r->body = p->mem + p->base;
	r->body[0] = '\0';
	p->len = 0;
	if (r->content_length == 0) {
		p->state = HP_END;
		return HP_DONE;
	}
	p->state = HP_BODY;
	return HP_MORE;
}

/* A whole line (its CR LF or LF excluded) in mem[base..base+len). */
static enum hp_result
hp_line_end(struct hp *p)
{
	enum hp_result r;

	p->mem[p->base + p->len] = '\0';
	if (p->req.method[0] == '\0') {
		if (p->len == 0) {
			if (++p->blank > HP_BLANK_MAX)
				return hp_fail(p, 400, "empty lines");
			return HP_MORE;
		}
		r = hp_request_line(p);
	} else if (p->len == 0) {
		r = hp_head_end(p);
	} else {
		r = hp_field(p);
	}
	p->len = 0;
	return r;
}

enum hp_result
hp_feed(struct hp *p, const uint8_t *buf, size_t len, size_t *used)
{
	enum hp_result r;
	size_t i = 0, n;
	uint8_t c;

	*used = 0;
	if (p->state == HP_FAIL)
		return HP_ERROR;
	if (p->state == HP_END)
		return HP_DONE;
	while (i < len) {
		if (p->state == HP_BODY) {
			n = p->req.content_length - p->req.body_len;
			if (n > len - i)
				n = len - i;
			memcpy(p->req.body + p->req.body_len, buf + i, n);
			p->req.body_len += n;
			i += n;
			if (p->req.body_len == p->req.content_length) {
				p->req.body[p->req.body_len] = '\0';
				p->state = HP_END;
				*used = i;
				return HP_DONE;
			}
			continue;
		}
		c = buf[i++];
		if (p->cr) {
			p->cr = 0;
			if (c != '\n') {
				*used = i;
				return hp_fail(p, 400, "CR without LF");
			}
		}
		if (c == '\r') {
			p->cr = 1;
			continue;
		}
		if (c == '\n') {
			r = hp_line_end(p);
			if (r != HP_MORE || p->state == HP_END) {
				*used = i;
				return r;
			}
			continue;
		}
		if (p->len >= p->max_line) {
			*used = i;
			return p->req.method[0] == '\0' ? hp_fail(p, 414, "request line too long") :
			    hp_fail(p, 400, "header field too long");
		}
		p->mem[p->base + p->len++] = c;
	}
	*used = i;
	return HP_MORE;
}

/* ---------------------------------------------------------- contents */

static int
hp_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
hp_urldecode(char *out, size_t cap, const char *in, size_t len, int plus)
{
	size_t i = 0, o = 0;
	int h, l;
	char c;

	if (cap == 0)
		return 0;
	while (i < len && o + 1 < cap) {
		c = in[i++];
		if (c == '%' && i + 1 < len && (h = hp_hex(in[i])) >= 0 &&
		    (l = hp_hex(in[i + 1])) >= 0) {
			c = (char)(h << 4 | l);
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		out[o++] = c == '\0' ? '?' : c;
	}
	out[o] = '\0';
	return o;
}

int
hp_form_field(const char *form, size_t len, const char *name, char *out, size_t cap)
{
	char key[64];
	size_t i = 0, a, eq, nlen = strlen(name);

	while (i < len) {
		a = i;
		while (i < len && form[i] != '&')
			i++;
		for (eq = a; eq < i && form[eq] != '='; eq++)
			;
		hp_urldecode(key, sizeof(key), form + a, eq - a, 1);
		if (strlen(key) == nlen && strcasecmp(key, name) == 0) {
			if (eq < i)
				hp_urldecode(out, cap, form + eq + 1, i - eq - 1, 1);
			else if (cap > 0)
				out[0] = '\0';
			return 1;
		}
		i++;                    /* the '&' */
	}
	return 0;
}

static int
hp_sep(char c)
{
	return c == '\0' || c == ';' || c == '|' || c == '&' || c == '`' || c == '\n' ||
	    c == '\r';
}

/* The start of the next tool name at or after text (a whole word). */
static const char *
hp_tool(const char *text, char *tool)
{
	static const char *const tools[] = { "wget", "curl", "tftp" };
	const char *best = NULL, *q;
	size_t i;

	for (i = 0; i < 3; i++) {
		for (q = text; (q = strstr(q, tools[i])) != NULL; q += 4) {
			if ((q == text || !((q[-1] >= 'a' && q[-1] <= 'z') ||
			    (q[-1] >= 'A' && q[-1] <= 'Z') || (q[-1] >= '0' && q[-1] <= '9'))) &&
			    (q[4] == ' ' || q[4] == '\t' || q[4] == '$' || q[4] == '+')) {
				if (best == NULL || q < best) {
					best = q;
					memcpy(tool, tools[i], 5);
				}
				break;
			}
		}
	}
	return best;
}

size_t
hp_download(const char *text, char *tool, char *url, size_t cap)
{
	const char *q = text, *w, *e, *u, *args;
	size_t n;

	if (cap == 0)
		return 0;
	while ((q = hp_tool(q, tool)) != NULL) {
		args = q + 4;
		for (w = args; !hp_sep(*w); w = e) {
			while (*w == ' ' || *w == '\t' || *w == '+' || *w == '$' ||
			    *w == '{' || *w == '}')
				w++;
			for (e = w; !hp_sep(*e) && *e != ' ' && *e != '\t' && *e != '+'; e++)
				;
			if (e - w > 3 && (u = memmem(w, e - w, "://", 3)) != NULL) {
				/* The scheme's start: "${IFS}http://" is a URL too. */
				while (u > w && ((u[-1] >= 'a' && u[-1] <= 'z') ||
				    (u[-1] >= 'A' && u[-1] <= 'Z')))
					u--;
				n = (size_t)(e - u) < cap ? (size_t)(e - u) : cap - 1;
				memcpy(url, u, n);
				url[n] = '\0';
				return (size_t)(e - text);
			}
			if (e == w)
				break;
		}
		if (strcmp(tool, "tftp") == 0) {
			while (*args == ' ' || *args == '\t' || *args == '+')
				args++;
			for (e = args; !hp_sep(*e); e++)
				;
			while (e > args && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e > args) {
				n = (size_t)(e - args) < cap ? (size_t)(e - args) : cap - 1;
				memcpy(url, args, n);
				url[n] = '\0';
				return (size_t)(e - text);
			}
		}
		q += 4;
	}
	return 0;
}
