/*
 * decoyd_http_parse - HTTP/1.x requests (RFC 9112) as a pure, incremental
 * parser of a client's bytes, for the http personality, plus the helpers
 * that read what a request carries (form fields, percent-decoding, the URL
 * of a wget/curl/tftp command smuggled in a query).
 *
 * It reads one request at a time: the request line, the header fields, and
 * a Content-Length body; hp_feed() stops at the end of a request and says
 * how many bytes it used, so pipelined requests are parsed one after the
 * other (hp_reset() between them).  It is strict where two readers could
 * disagree (request smuggling), and refuses with the status a server
 * answers:
 *   400  malformed request line or field, a CR not followed by LF, obs-fold
 *        (a line starting with SP/HTAB), a control byte, a second
 *        Content-Length (even equal), Content-Length with
 *        Transfer-Encoding, a second Host, HTTP/1.1 without Host, more
 *        than max_headers fields, a field line of max_line bytes or more
 *   411  Transfer-Encoding: chunked (bodies are read by length only)
 *   413  a body longer than max_body
 *   414  a request line of max_line bytes or more
 *   505  an HTTP major version other than 1
 * A bare LF ends a line as CR LF does; up to HP_BLANK_MAX empty lines
 * before a request line are skipped.
 *
 * Memory: the caller gives one buffer of hp_mem_size() bytes and owns it;
 * the parser never allocates.  Only the fields a server acts on are kept
 * (method, target, version, Host, Content-Type, Content-Length,
 * Connection); the rest are checked and counted, never stored.
 */
#ifndef MOAT_DECOYD_HTTP_PARSE_H
#define MOAT_DECOYD_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HP_METHOD_MAX 32
#define HP_HOST_MAX   256
#define HP_CTYPE_MAX  128
#define HP_BLANK_MAX  10
#define HP_CL_DIGITS  15

enum hp_result { HP_MORE, HP_DONE, HP_ERROR };

struct hp_req {
	char      method[HP_METHOD_MAX];    /* "" until the request line is read */
	char     *target;       /* NUL-terminated in the parser's buffer; on a
				 * request-line error, the raw line so far */
	size_t    target_len;
	int       major, minor;
	char      host[HP_HOST_MAX];        /* "" when absent */
	int       has_host;
	char      ctype[HP_CTYPE_MAX];      /* cut to HP_CTYPE_MAX - 1 bytes */
	int       conn_close, conn_keepalive;
	int       has_cl, has_te, te_chunked;
	uint64_t  content_length;
	unsigned  nfields;
	uint8_t  *body;         /* content_length bytes, in the buffer */
	size_t    body_len;
};

struct hp {
	int            state;
	int            status;          /* the refusal's status (HP_ERROR) */
	const char    *why;             /* the refusal in words */
	uint8_t       *mem;
	size_t         max_line, max_body;
	unsigned       max_headers;
	size_t         base;            /* where the current line starts in mem */
	size_t         len;             /* bytes of the current line or body */
	unsigned       blank;           /* empty lines before the request line */
	int            cr;              /* the last byte was a CR */
	struct hp_req  req;
};

/* Bytes of the buffer hp_init() needs for these limits. */
size_t hp_mem_size(size_t max_line, size_t max_body);
/* mem: hp_mem_size(max_line, max_body) bytes, owned by the caller. */
void hp_init(struct hp *p, uint8_t *mem, size_t max_line, size_t max_body,
    unsigned max_headers);
/* Forgets the request read so far: ready for the next one. */
void hp_reset(struct hp *p);
/* Feeds len bytes; *used is set to the bytes consumed.  HP_MORE: all used,
 * the request is not complete.  HP_DONE: p->req holds a whole request (valid
 * until hp_reset); the bytes after *used belong to the next one.  HP_ERROR:
 * p->status and p->why say why; the parser stays in error until hp_reset. */
enum hp_result hp_feed(struct hp *p, const uint8_t *buf, size_t len, size_t *used);

/* Decodes %XX (invalid escapes are kept as they are) and, when plus is set,
 * '+' as a space, from in[0..len) into out (cap bytes, NUL-terminated; a NUL
 * decoded from %00 becomes '?').  Returns the length written. */
size_t hp_urldecode(char *out, size_t cap, const char *in, size_t len, int plus);
/* The first field named name (compared after decoding, case-insensitive)
 * of an application/x-www-form-urlencoded text, decoded into out.  Returns 1
 * found, 0 absent. */
int hp_form_field(const char *form, size_t len, const char *name, char *out, size_t cap);
/* Looks in text (decoded) for a download command: "wget", "curl" or "tftp"
 * followed, before a shell separator (; | & ` newline), by a word with
 * "://" (tftp with none: its arguments, as they are).  Fills
 * tool (8 bytes) and url (cap bytes) and returns the offset just past the
 * URL for the next search, or 0 when there is none. */
size_t hp_download(const char *text, char *tool, char *url, size_t cap);

#endif
