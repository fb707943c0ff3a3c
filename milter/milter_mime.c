/*
 * milter_mime - see milter_mime.h.
 *
 * How a rewrite keeps the header promise: GMime parses the input with a
 * persistent stream, so every part left alone is written back from the
 * input's own encoded bytes.  The top header block is never re-serialized by
 * GMime (which may re-fold or re-order it): it is copied from the input byte
 * for byte and only its MIME lines (MIME-Version, Content-Type,
 * Content-Transfer-Encoding, with their continuation lines) are replaced by
 * the top entity's as GMime sees them.  The body is the top entity's content
 * as GMime writes it.  Output uses the input's newline convention (the
 * milter's spool is CRLF), so untouched parts keep their bytes.
 *
 * SECURITY: everything here is outside input.  Depth and leaf count are
 * bounded; GMime itself stops nesting at 1024 levels.  Names taken from the
 * message (file names) lose their control characters and are cut to
 * MIME_NAME_MAX bytes before they go into notices, headers or the report.
 *
 * Ownership: a struct mime_doc owns the input stream, the parsed message and
 * the copy of the top header block; doc_close() frees them on every path.
 * Report contents belong to the caller (mime_report_free).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "log.h"
#include "milter_mime.h"

#define MIME_NAME_MAX   255             /* bytes of a file name we repeat */
#define MIME_UNNAMED    "(unnamed)"

struct mime_doc {
	GMimeStream        *md_in;      /* the input: untouched parts read from it */
	GMimeMessage       *md_msg;
	GMimeFormatOptions *md_fmt;     /* the input's newline convention */
	char               *md_hdr;     /* top header block, verbatim, no empty line */
	size_t              md_hdrlen;
	int                 md_crlf;
};

/* One mime_repair() walk. */
struct mime_walk {
	mime_scan_fn        mw_scan;
	void               *mw_ctx;
	const char         *mw_notice;
	struct mime_report *mw_rep;
	int                 mw_replaced;
	int                 mw_error;
};

void
mime_init(void)
{
	g_mime_init();
}

void
mime_shutdown(void)
{
	g_mime_shutdown();
}

void
mime_report_free(struct mime_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nhits; i++) {
		free(r->hits[i].filename);
		free(r->hits[i].virus);
	}
	free(r->hits);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------ the document */

static void
doc_close(struct mime_doc *d)
{
	if (d->md_msg != NULL)
		g_object_unref(d->md_msg);
	if (d->md_in != NULL)
		g_object_unref(d->md_in);
	if (d->md_fmt != NULL)
		g_mime_format_options_free(d->md_fmt);
	free(d->md_hdr);
	memset(d, 0, sizeof(*d));
}

/* Reads len bytes at offset 0 of fd into a new buffer; NULL on error. */
static char *
read_head(int fd, size_t len)
{
	char *buf;
	size_t off = 0;
	ssize_t n;

	if ((buf = malloc(len + 1)) == NULL)
		return NULL;
	while (off < len) {
		if ((n = pread(fd, buf + off, len - off, (off_t)off)) <= 0) {
			free(buf);
			return NULL;
		}
		off += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/* Parses the message in fd.  0, or -1 (nothing to free) when the input is
 * unreadable or GMime cannot make a message of it. */
static int
doc_open(int fd, struct mime_doc *d)
{
	GMimeParser *parser;
	struct stat st;
	gint64 hend;
	char *nl;
	int dfd;

	memset(d, 0, sizeof(*d));
	if (fstat(fd, &st) == -1 || st.st_size <= 0 || (dfd = dup(fd)) == -1)
		return -1;
	/* The stream owns dfd.  Persisting it lets parts refer to their bytes
	 * in the input instead of copies: memory stays near the input size. */
	d->md_in = g_mime_stream_fs_new_with_bounds(dfd, 0, st.st_size);
	parser = g_mime_parser_new_with_stream(d->md_in);
	g_mime_parser_set_persist_stream(parser, TRUE);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	d->md_msg = g_mime_parser_construct_message(parser, NULL);
	hend = g_mime_parser_get_headers_end(parser);
	g_object_unref(parser);
	if (d->md_msg == NULL || g_mime_message_get_mime_part(d->md_msg) == NULL)
		goto fail;
	if (hend < 0 || hend > st.st_size)
		hend = st.st_size;
	d->md_hdrlen = (size_t)hend;
	if ((d->md_hdr = read_head(fd, d->md_hdrlen)) == NULL)
		goto fail;
	nl = memchr(d->md_hdr, '\n', d->md_hdrlen);
	d->md_crlf = nl != NULL && nl > d->md_hdr && nl[-1] == '\r';
	d->md_fmt = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(d->md_fmt,
	    d->md_crlf ? GMIME_NEWLINE_FORMAT_DOS : GMIME_NEWLINE_FORMAT_UNIX);
	return 0;
fail:
	doc_close(d);
	return -1;
}

/* Writes bytes with every line end (LF or CRLF) in the document's
 * convention, ending with one.  Returns -1 on a write error. */
static int
put_lines(GMimeStream *out, const struct mime_doc *d, const char *s, size_t len)
{
	const char *nl = d->md_crlf ? "\r\n" : "\n", *p, *end = s + len;
	size_t n;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		end = s + --len;
	while (s < end) {
		p = memchr(s, '\n', (size_t)(end - s));
		n = (size_t)((p != NULL ? p : end) - s);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if ((n > 0 && g_mime_stream_write(out, s, n) == -1) ||
		    g_mime_stream_write_string(out, nl) == -1)
			return -1;
		s = p != NULL ? p + 1 : end;
	}
	return 0;
}

/* The last header called name of obj (GMime applies the last one, so the
 * header written must be that one), written in the document's convention. */
static int
put_entity_header(GMimeStream *out, const struct mime_doc *d, GMimeObject *obj,
    const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	GMimeHeader *h, *last = NULL;
	GMimeStream *mem;
	GByteArray *ba;
	int rc = 0;

	for (int i = 0; i < g_mime_header_list_get_count(hl); i++) {
		h = g_mime_header_list_get_header_at(hl, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) == 0)
			last = h;
	}
	if (last == NULL)
		return 0;
	mem = g_mime_stream_mem_new();
	if (g_mime_header_write_to_stream(last, d->md_fmt, mem) == -1)
		rc = -1;
	else {
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		if (ba->len > 0)
			rc = put_lines(out, d, (const char *)ba->data, ba->len);
	}
	g_object_unref(mem);
	return rc;
}

const char *const mime_top_names[MIME_TOP_N] = { "MIME-Version", "Content-Type",
    "Content-Transfer-Encoding", "Content-Disposition" };

/* 1 + the mime_top_names index of the field at p, or 0. */
static int
is_mime_field(const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);
	size_t n;

	if (colon == NULL)
		return 0;
	for (n = (size_t)(colon - p); n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'); n--)
		;
	for (int i = 0; i < MIME_TOP_N; i++)
		if (n == strlen(mime_top_names[i]) && strncasecmp(p, mime_top_names[i], n) == 0)
			return i + 1;
	return 0;
}

/* Length of the header field at p (its first line and continuation lines,
 * line ends included). */
static size_t
field_len(const char *p, const char *end)
{
	const char *q = p, *nl;

	do {
		nl = memchr(q, '\n', (size_t)(end - q));
		q = nl != NULL ? nl + 1 : end;
	} while (q < end && (*q == ' ' || *q == '\t'));
	return (size_t)(q - p);
}

/* The new MIME lines: the input's own MIME-Version line when it had one,
 * then Content-Type and Content-Transfer-Encoding of the top entity. */
static int
put_mime_block(GMimeStream *out, const struct mime_doc *d, const char *mv, size_t mvlen)
{
	GMimeObject *top = g_mime_message_get_mime_part(d->md_msg);

	if (mv != NULL) {
		if (g_mime_stream_write(out, mv, mvlen) == -1)
			return -1;
	} else if (g_mime_object_get_header(top, "Content-Type") != NULL &&
	    put_lines(out, d, "MIME-Version: 1.0", 17) == -1)
		return -1;
	for (int i = MIME_TOP_TYPE; i < MIME_TOP_N; i++)
		if (put_entity_header(out, d, top, mime_top_names[i]) == -1)
			return -1;
	return 0;
}

/* Appends t to s, with CRLF line ends when crlf is set. */
static void
string_add_lines(GString *s, const char *t, int crlf)
{
	char prev = '\0';

	for (; *t; prev = *t++) {
		if (*t == '\n' && crlf && prev != '\r')
			g_string_append_c(s, '\r');
		g_string_append_c(s, *t);
	}
}

/* GMime keeps a multipart's prologue and epilogue with LF line ends and
 * writes them as they are: give them back the input's CRLF. */
static void
faces_crlf(GMimeObject *obj, int depth)
{
	GMimeMultipart *mp;
	GMimeMessage *inner;
	const char *face;
	GString *s;

	if (depth > MIME_MAX_DEPTH)
		return;
	if (GMIME_IS_MESSAGE_PART(obj)) {
		inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (inner != NULL && g_mime_message_get_mime_part(inner) != NULL)
			faces_crlf(g_mime_message_get_mime_part(inner), depth + 1);
		return;
	}
	if (!GMIME_IS_MULTIPART(obj))
		return;
	mp = GMIME_MULTIPART(obj);
	for (int k = 0; k < 2; k++) {
		face = k == 0 ? g_mime_multipart_get_prologue(mp) : g_mime_multipart_get_epilogue(mp);
		if (face == NULL || strchr(face, '\n') == NULL)
			continue;
		s = g_string_sized_new(strlen(face) + 16);
		string_add_lines(s, face, 1);
		if (k == 0)
			g_mime_multipart_set_prologue(mp, s->str);
		else
			g_mime_multipart_set_epilogue(mp, s->str);
		g_string_free(s, TRUE);
	}
	for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
		faces_crlf(g_mime_multipart_get_part(mp, i), depth + 1);
}

/* Writes the document to fd: the input's header block with the MIME lines
 * replaced, an empty line, the top entity's content.  0 or -1. */
static int
doc_write(struct mime_doc *d, int fd)
{
	GMimeStream *fs, *out;
	const char *p, *end = d->md_hdr + d->md_hdrlen, *mv = NULL;
	size_t n, mvlen = 0;
	int done = 0, rc = -1, dfd;

	for (p = d->md_hdr; p < end; p += n) {
		n = field_len(p, end);
		if (is_mime_field(p, n) == MIME_TOP_VERSION + 1) {
			mv = p;
			mvlen = n;
			break;
		}
	}
	if ((dfd = dup(fd)) == -1)
		return -1;
	if (d->md_crlf)
		faces_crlf(g_mime_message_get_mime_part(d->md_msg), 0);
	/* A pipe stream, not an fs one: its flush is no fsync(), and out may
	 * be any writable descriptor. */
	fs = g_mime_stream_pipe_new(dfd);
	out = g_mime_stream_buffer_new(fs, GMIME_STREAM_BUFFER_BLOCK_WRITE);
	g_object_unref(fs);
	for (p = d->md_hdr; p < end; p += n) {
		n = field_len(p, end);
		if (!is_mime_field(p, n)) {
			if (g_mime_stream_write(out, p, n) == -1)
				goto out;
			continue;
		}
		if (!done && put_mime_block(out, d, mv, mvlen) == -1)
			goto out;
		done = 1;
	}
	if (d->md_hdrlen > 0 && end[-1] != '\n' &&
	    g_mime_stream_write_string(out, d->md_crlf ? "\r\n" : "\n") == -1)
		goto out;
	if ((!done && put_mime_block(out, d, mv, mvlen) == -1) ||
	    g_mime_stream_write_string(out, d->md_crlf ? "\r\n" : "\n") == -1 ||
	    g_mime_object_write_content_to_stream(g_mime_message_get_mime_part(d->md_msg),
	    d->md_fmt, out) == -1 || g_mime_stream_flush(out) == -1)
		goto out;
	rc = 0;
out:
	g_object_unref(out);
	return rc;
}

/* ------------------------------------------------------------ new parts */

/* A copy of s without control characters, cut to MIME_NAME_MAX bytes at a
 * character boundary.  NULL s gives "(unnamed)". */
static char *
clean_name(const char *s)
{
	size_t n;
	char *c;

	if (s == NULL || *s == '\0')
		s = MIME_UNNAMED;
	n = strlen(s);
	if (n > MIME_NAME_MAX)
		for (n = MIME_NAME_MAX; n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80; n--)
			;
	if ((c = strndup(s, n)) == NULL)
		return NULL;
	for (char *p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '_';
	return c;
}

static int
is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

/* Sets the UTF-8 text of part (text/...; charset=utf-8).  enc is the
 * transfer encoding to keep; 7bit (or none) turns into quoted-printable when
 * the text is not ASCII. */
static void
part_set_utf8(GMimePart *part, const char *text, size_t len, GMimeContentEncoding enc)
{
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(text, len);
	GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(mem,
	    GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_part_set_content(part, dw);
	g_object_unref(dw);
	g_object_unref(mem);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
	if ((enc == GMIME_CONTENT_ENCODING_DEFAULT || enc == GMIME_CONTENT_ENCODING_7BIT) &&
	    !is_ascii(text, len))
		enc = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	else if (enc == GMIME_CONTENT_ENCODING_DEFAULT)
		enc = GMIME_CONTENT_ENCODING_7BIT;
	g_mime_part_set_content_encoding(part, enc);
}

/* A new text/plain part with text; disposition "inline" or "attachment"
 * (with filename).  The caller owns the reference. */
static GMimeObject *
part_new_text(const char *text, const char *disposition, const char *filename)
{
	GMimeTextPart *tp = g_mime_text_part_new_with_subtype("plain");
	GMimeContentDisposition *cd = g_mime_content_disposition_new();

	part_set_utf8(GMIME_PART(tp), text, strlen(text), GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_content_disposition_set_disposition(cd, disposition);
	if (filename != NULL)
		g_mime_content_disposition_set_parameter(cd, "filename", filename);
	g_mime_object_set_content_disposition(GMIME_OBJECT(tp), cd);
	g_object_unref(cd);
	return GMIME_OBJECT(tp);
}

/* notice_fmt with {files} and {virus} expanded; g_free'd by the caller. */
static char *
notice_expand(const char *fmt, const char *file, const char *virus)
{
	GString *s = g_string_sized_new(256);

	while (*fmt) {
		if (strncmp(fmt, "{files}", 7) == 0) {
			g_string_append(s, file);
			fmt += 7;
		} else if (strncmp(fmt, "{virus}", 7) == 0) {
			g_string_append(s, virus);
			fmt += 7;
		} else
			g_string_append_c(s, *fmt++);
	}
	return g_string_free(s, FALSE);
}

/* Puts part where the entity at (parent, index) or (msg) was. */
static void
entity_replace(GMimeMultipart *parent, int index, GMimeMessage *msg, GMimeObject *part)
{
	if (parent != NULL)
		g_object_unref(g_mime_multipart_replace(parent, index, part));
	else
		g_mime_message_set_mime_part(msg, part);
}

/* ------------------------------------------------------------ repair */

/* The decoded content of a leaf, in a mem stream the caller unrefs. */
static GMimeStream *
leaf_decode(GMimeObject *obj)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeDataWrapper *dw;
	const char *pro;

	if (GMIME_IS_PART(obj)) {
		if ((dw = g_mime_part_get_content(GMIME_PART(obj))) != NULL &&
		    g_mime_data_wrapper_write_to_stream(dw, mem) == -1) {
			g_object_unref(mem);
			return NULL;
		}
	} else if ((pro = g_mime_multipart_get_prologue(GMIME_MULTIPART(obj))) != NULL)
		g_mime_stream_write_string(mem, pro);
	return mem;
}

/* Scans one leaf (a part, or a multipart GMime found no parts in, whose
 * text is its prologue) and replaces it when infected.  -1 stops the walk. */
static int
walk_leaf(struct mime_walk *w, GMimeObject *obj, GMimeMultipart *parent, int index,
    GMimeMessage *msg)
{
	struct mime_report *rep = w->mw_rep;
	struct mime_hit *hits;
	GMimeStream *mem;
	GByteArray *ba;
	char *virus = NULL, *name, *vname, *text;
	GMimeObject *notice;
	int r;

	if (rep->nparts >= MIME_MAX_PARTS) {
		rep->truncated = 1;
		return 0;
	}
	rep->nparts++;
	if ((mem = leaf_decode(obj)) == NULL)
		return -1;
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	name = clean_name(GMIME_IS_PART(obj) ? g_mime_part_get_filename(GMIME_PART(obj)) : NULL);
	r = name == NULL ? -1 : w->mw_scan(w->mw_ctx, ba->len ? ba->data : (const void *)"",
	    ba->len, name, &virus);
	g_object_unref(mem);
	if (r != 1) {
		free(name);
		free(virus);
		return r == 0 ? 0 : -1;
	}
	vname = clean_name(virus != NULL ? virus : "unknown");
	free(virus);
	hits = reallocarray(rep->hits, rep->nhits + 1, sizeof(*hits));
	if (vname == NULL || hits == NULL) {
		if (hits != NULL)
			rep->hits = hits;
		free(name);
		free(vname);
		return -1;
	}
	rep->hits = hits;
	hits[rep->nhits].filename = name;
	hits[rep->nhits].virus = vname;
	rep->nhits++;

	text = notice_expand(w->mw_notice, name, vname);
	notice = part_new_text(text, "inline", NULL);
	g_free(text);
	g_mime_object_set_header(notice, "X-Moat-Removed", name, "utf-8");
	entity_replace(parent, index, msg, notice);
	g_object_unref(notice);
	w->mw_replaced++;
	return 0;
}

/* Walks the entity at (parent, index), or the body of msg when parent is
 * NULL.  Returns -1 when a scan failed. */
static int
walk(struct mime_walk *w, GMimeObject *obj, GMimeMultipart *parent, int index,
    GMimeMessage *msg, int depth)
{
	GMimeMessage *inner;
	GMimeMultipart *mp;
	int n;

	if (depth > MIME_MAX_DEPTH) {
		w->mw_rep->truncated = 1;
		return 0;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (inner == NULL || g_mime_message_get_mime_part(inner) == NULL)
			return 0;
		return walk(w, g_mime_message_get_mime_part(inner), NULL, 0, inner, depth + 1);
	}
	if (!GMIME_IS_MULTIPART(obj))
		return GMIME_IS_PART(obj) ? walk_leaf(w, obj, parent, index, msg) : 0;
	mp = GMIME_MULTIPART(obj);
	if ((n = g_mime_multipart_get_count(mp)) == 0)
		return walk_leaf(w, obj, parent, index, msg);
	for (int i = 0; i < n; i++) {
		if (w->mw_rep->truncated && w->mw_rep->nparts >= MIME_MAX_PARTS)
			break;
		if (walk(w, g_mime_multipart_get_part(mp, i), mp, i, NULL, depth + 1) == -1)
			return -1;
	}
	return 0;
}

int
mime_repair(int in_fd, int out_fd, mime_scan_fn scan, void *ctx,
    const char *notice_fmt, struct mime_report *rep)
{
	struct mime_walk w;
	struct mime_doc d;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	if (doc_open(in_fd, &d) == -1)
		return -1;
	memset(&w, 0, sizeof(w));
	w.mw_scan = scan;
	w.mw_ctx = ctx;
	w.mw_notice = notice_fmt;
	w.mw_rep = rep;
	if (walk(&w, g_mime_message_get_mime_part(d.md_msg), NULL, 0, d.md_msg, 0) == -1)
		goto out;
	if (w.mw_replaced > 0 && doc_write(&d, out_fd) == -1)
		goto out;
	rc = w.mw_replaced;
out:
	doc_close(&d);
	return rc;
}

/* ------------------------------------------------------------ notices */

/* The first text/plain part that is not an attachment, outside signed or
 * encrypted parts and attached messages (appending there would break a
 * signature or change someone else's message); NULL when there is none. */
static GMimeTextPart *
find_text(GMimeObject *obj, int depth, size_t *seen)
{
	GMimeContentDisposition *cd;
	GMimeTextPart *tp;
	GMimeMultipart *mp;

	if (depth > MIME_MAX_DEPTH || ++*seen > MIME_MAX_PARTS)
		return NULL;
	if (GMIME_IS_MULTIPART_SIGNED(obj) || GMIME_IS_MULTIPART_ENCRYPTED(obj))
		return NULL;
	if (GMIME_IS_MULTIPART(obj)) {
		mp = GMIME_MULTIPART(obj);
		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			if ((tp = find_text(g_mime_multipart_get_part(mp, i), depth + 1, seen)) != NULL)
				return tp;
		return NULL;
	}
	if (!GMIME_IS_TEXT_PART(obj) ||
	    !g_mime_content_type_is_type(g_mime_object_get_content_type(obj), "text", "plain"))
		return NULL;
	cd = g_mime_object_get_content_disposition(obj);
	if (cd != NULL && g_mime_content_disposition_is_attachment(cd))
		return NULL;
	return GMIME_TEXT_PART(obj);
}

/* Appends "\n\n-- \n" and text to tp, in UTF-8, keeping its transfer
 * encoding and its line ends.  -1 when its text cannot be read. */
static int
text_append(GMimeTextPart *tp, const char *text)
{
	GString *s;
	char *old, *valid;
	int crlf;

	if ((old = g_mime_text_part_get_text(tp)) == NULL)
		return -1;
	valid = g_utf8_make_valid(old, -1);
	g_free(old);
	crlf = strstr(valid, "\r\n") != NULL;
	s = g_string_new(valid);
	g_free(valid);
	string_add_lines(s, "\n\n-- \n", crlf);
	string_add_lines(s, text, crlf);
	part_set_utf8(GMIME_PART(tp), s->str, s->len,
	    g_mime_part_get_content_encoding(GMIME_PART(tp)));
	g_string_free(s, TRUE);
	return 0;
}

/* Adds part at the end of the top multipart/mixed, or wraps the top entity
 * and part into a new multipart/mixed (other multiparts have meanings a new
 * last part would change: the last alternative is the preferred one). */
static void
top_add(struct mime_doc *d, GMimeObject *part)
{
	GMimeObject *top = g_mime_message_get_mime_part(d->md_msg);
	GMimeMultipart *mp;
	GMimePart *leaf;
	const char *cte = "7bit";

	if (GMIME_IS_MULTIPART(top) && !GMIME_IS_MULTIPART_SIGNED(top) &&
	    !GMIME_IS_MULTIPART_ENCRYPTED(top) && g_mime_multipart_get_count(GMIME_MULTIPART(top)) > 0 &&
	    g_mime_content_type_is_type(g_mime_object_get_content_type(top), "multipart", "mixed")) {
		mp = GMIME_MULTIPART(top);
		g_mime_multipart_add(mp, part);
		mp->write_end_boundary = TRUE;
		return;
	}
	if (GMIME_IS_PART(top)) {
		leaf = GMIME_PART(top);
		if (g_mime_part_get_content_encoding(leaf) == GMIME_CONTENT_ENCODING_8BIT ||
		    g_mime_part_get_content_encoding(leaf) == GMIME_CONTENT_ENCODING_BINARY)
			cte = "8bit";
	} else if (g_mime_object_get_header(top, "Content-Transfer-Encoding") != NULL)
		cte = g_mime_object_get_header(top, "Content-Transfer-Encoding");
	mp = g_mime_multipart_new_with_subtype("mixed");
	g_mime_multipart_set_boundary(mp, NULL);
	/* A multipart's transfer encoding says what its parts hold; written so
	 * the input's top one (say base64) is replaced, never left behind. */
	g_mime_object_set_header(GMIME_OBJECT(mp), "Content-Transfer-Encoding",
	    g_ascii_strcasecmp(cte, "binary") == 0 || g_ascii_strcasecmp(cte, "8bit") == 0 ?
	    "8bit" : "7bit", NULL);
	g_mime_multipart_add(mp, top);          /* takes its own reference */
	g_mime_multipart_add(mp, part);
	g_mime_message_set_mime_part(d->md_msg, GMIME_OBJECT(mp));
	g_object_unref(mp);
}

int
mime_append_text(int in_fd, int out_fd, const char *text)
{
	struct mime_doc d;
	GMimeTextPart *tp;
	GMimeObject *part;
	size_t seen = 0;
	int rc;

	if (doc_open(in_fd, &d) == -1)
		return -1;
	tp = find_text(g_mime_message_get_mime_part(d.md_msg), 0, &seen);
	if (tp == NULL || text_append(tp, text) == -1) {
		part = part_new_text(text, "inline", NULL);
		top_add(&d, part);
		g_object_unref(part);
	}
	rc = doc_write(&d, out_fd);
	doc_close(&d);
	return rc;
}

int
mime_attach_text(int in_fd, int out_fd, const char *filename, const char *text)
{
	struct mime_doc d;
	GMimeObject *part;
	char *name;
	int rc;

	if ((name = clean_name(filename)) == NULL)
		return -1;
	if (doc_open(in_fd, &d) == -1) {
		free(name);
		return -1;
	}
	part = part_new_text(text, "attachment", name);
	top_add(&d, part);
	g_object_unref(part);
	rc = doc_write(&d, out_fd);
	doc_close(&d);
	free(name);
	return rc;
}

/* ------------------------------------------------------------ top headers */

/* The value of the field at p (length n): unfolded, without CR/LF, trimmed. */
static char *
field_value(const char *p, size_t n)
{
	const char *v = memchr(p, ':', n) + 1, *end = p + n;
	char *out, *o;

	if ((out = malloc((size_t)(end - v) + 1)) == NULL)
		return NULL;
	for (o = out; v < end; v++)
		if (*v != '\r' && *v != '\n' && *v != '\0')
			*o++ = *v;
	while (o > out && (o[-1] == ' ' || o[-1] == '\t'))
		o--;
	*o = '\0';
	for (o = out; *o == ' ' || *o == '\t'; o++)
		;
	memmove(out, o, strlen(o) + 1);
	return out;
}

int
mime_top_headers(int fd, char *vals[MIME_TOP_N])
{
	char *buf = NULL, *nb, *blank, *p, *end;
	size_t len = 0, cap = 0, n;
	ssize_t r;
	int k;

	for (k = 0; k < MIME_TOP_N; k++)
		vals[k] = NULL;
	/* The header block: up to the first empty line (or the end). */
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16384;
			if ((nb = realloc(buf, cap + 1)) == NULL)
				goto fail;
			buf = nb;
		}
		if ((r = pread(fd, buf + len, cap - len, (off_t)len)) == -1)
			goto fail;
		len += (size_t)r;
		buf[len] = '\0';
		if (r == 0 || (len >= 2 && memmem(buf, len, "\n\n", 2) != NULL) ||
		    memmem(buf, len, "\n\r\n", 3) != NULL)
			break;
	}
	end = buf + len;
	if ((blank = memmem(buf, len, "\n\n", 2)) != NULL)
		end = blank + 1;
	if ((p = memmem(buf, len, "\n\r\n", 3)) != NULL && p + 1 < end)
		end = p + 1;
	for (p = buf; p < end; p += n) {
		n = field_len(p, end);
		if ((k = is_mime_field(p, n)) == 0 || vals[k - 1] != NULL)
			continue;
		if ((vals[k - 1] = field_value(p, n)) == NULL)
			goto fail;
	}
	free(buf);
	return 0;
fail:
	free(buf);
	for (k = 0; k < MIME_TOP_N; k++) {
		free(vals[k]);
		vals[k] = NULL;
	}
	return -1;
}
