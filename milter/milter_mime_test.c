/*
 * milter_mime_test - table-driven tests of milter_mime.c: repair, appended
 * and attached notices, top headers.  Inputs are golden files in
 * testdata/mime/NAME.eml or generated (huge, malformed); expected outputs are
 * testdata/mime/NAME.ref where the output is deterministic (MIME_TEST_UPDATE=1
 * rewrites them).  Every rewrite is also checked against the contract of
 * milter_mime.h: header block byte-identical but for the MIME lines, top
 * headers as mime_top_headers() reports them, nothing "EVIL" left.
 *
 * The fake scanner flags any decoded part containing "EVIL" as "Test.Sig"
 * (a name the notices repeat, so not "EVIL" itself).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "milter_mime.h"
#include "moat_test.h"

#define NOTICE "The attachment {files} contained the virus {virus} and was removed.\n"

struct buf { char *data; size_t len; };

/* ------------------------------------------------------------ helpers */

static const char *
testdata(void)
{
	static char dir[4096];
	const char *src = getenv("MOAT_SRC"), *slash;

	if (src != NULL)
		snprintf(dir, sizeof(dir), "%s/milter/testdata/mime", src);
	else if ((slash = strrchr(__FILE__, '/')) != NULL)
		snprintf(dir, sizeof(dir), "%.*s/testdata/mime", (int)(slash - __FILE__), __FILE__);
	else
		snprintf(dir, sizeof(dir), "testdata/mime");
	return dir;
}

static int
load(const char *name, struct buf *b)
{
	char path[4352];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", testdata(), name);
	b->data = NULL;
	b->len = 0;
	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	b->len = (size_t)st.st_size;
	b->data = malloc(b->len + 1);
	if (b->data == NULL || read(fd, b->data, b->len) != (ssize_t)b->len) {
		close(fd);
		return -1;
	}
	b->data[b->len] = '\0';
	close(fd);
	return 0;
}

static void
save(const char *name, const struct buf *b)
{
	char path[4352];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", testdata(), name);
	if ((f = fopen(path, "w")) != NULL) {
		fwrite(b->data, 1, b->len, f);
		fclose(f);
	}
}

static int
fd_of(const struct buf *b)
{
	int fd = memfd_create("mime-test", MFD_CLOEXEC);

	if (fd == -1 || write(fd, b->data, b->len) != (ssize_t)b->len)
		abort();
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void
slurp(int fd, struct buf *b)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		abort();
	b->len = (size_t)st.st_size;
	if ((b->data = malloc(b->len + 1)) == NULL ||
	    pread(fd, b->data, b->len, 0) != (ssize_t)b->len)
		abort();
	b->data[b->len] = '\0';
}

static void
crlf_of(const struct buf *in, struct buf *out)
{
	out->data = malloc(in->len * 2 + 1);
	out->len = 0;
	for (size_t i = 0; i < in->len; i++) {
		if (in->data[i] == '\n' && (i == 0 || in->data[i - 1] != '\r'))
			out->data[out->len++] = '\r';
		out->data[out->len++] = in->data[i];
	}
	out->data[out->len] = '\0';
}

/* The header block (up to the first empty line) without the fields the
 * contract lets change; malloc'd. */
static char *
stable_headers(const struct buf *b, size_t *lenp)
{
	static const char *const mime[] = { "mime-version:", "content-type:",
	    "content-transfer-encoding:", "content-disposition:" };
	char *out = malloc(b->len + 1);
	size_t i = 0, o = 0;
	int skip = 0;

	while (i < b->len) {
		size_t e = i;

		while (e < b->len && b->data[e] != '\n')
			e++;
		if (e < b->len)
			e++;
		if (e - i <= 2 && (b->data[i] == '\n' || b->data[i] == '\r'))
			break;                          /* the empty line */
		if (b->data[i] != ' ' && b->data[i] != '\t') {
			skip = 0;
			for (size_t k = 0; k < sizeof(mime) / sizeof(mime[0]); k++)
				if (e - i >= strlen(mime[k]) &&
				    strncasecmp(b->data + i, mime[k], strlen(mime[k])) == 0)
					skip = 1;
		}
		if (!skip) {
			memcpy(out + o, b->data + i, e - i);
			o += e - i;
		}
		i = e;
	}
	*lenp = o;
	return out;
}

/* ------------------------------------------------------------ scanner */

struct scan_ctx { int error; size_t calls; };

static int
scan_evil(void *arg, const void *data, size_t len, const char *filename, char **virus)
{
	struct scan_ctx *sc = arg;

	if (sc != NULL) {
		sc->calls++;
		if (sc->error)
			return -1;
	}
	if (filename == NULL)
		return -1;
	if (memmem(data, len, "EVIL", 4) == NULL)
		return 0;
	*virus = strdup("Test.Sig");
	return 1;
}

/* ------------------------------------------------------------ structure */

static GMimeMessage *
parse(const struct buf *b)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(b->data, b->len);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

	g_object_unref(p);
	g_object_unref(s);
	return m;
}

/* Decoded content of the first leaf named filename, or of the last leaf
 * when filename is NULL; g_free'd. */
struct find { const char *name; GMimePart *part; };

static void
find_cb(GMimeObject *parent, GMimeObject *obj, gpointer arg)
{
	struct find *f = arg;
	const char *fn;

	if (!GMIME_IS_PART(obj))
		return;
	fn = g_mime_part_get_filename(GMIME_PART(obj));
	if (f->name == NULL || (f->part == NULL && fn != NULL && strcmp(fn, f->name) == 0))
		f->part = GMIME_PART(obj);
}

static char *
decoded(GMimeMessage *m, const char *filename, size_t *lenp)
{
	struct find f = { filename, NULL };
	GMimeStream *mem;
	GByteArray *ba;
	char *out;

	*lenp = 0;
	g_mime_message_foreach(m, find_cb, &f);
	if (f.part == NULL || g_mime_part_get_content(f.part) == NULL)
		return NULL;
	mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(f.part), mem);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	out = g_malloc(ba->len + 1);
	memcpy(out, ba->data, ba->len);
	out[ba->len] = '\0';
	*lenp = ba->len;
	g_object_unref(mem);
	return out;
}

/* The contract checks every rewrite must pass. */
static void
check_contract(const char *name, const struct buf *in, const struct buf *out, int rescan)
{
	char *a, *b, *vals[MIME_TOP_N], *mv, *ct;
	size_t alen, blen;
	GMimeMessage *m;
	int fd;

	a = stable_headers(in, &alen);
	b = stable_headers(out, &blen);
	if (alen != blen || memcmp(a, b, alen) != 0)
		TEST_FAIL("%s: header block changed beyond the MIME lines (got %zu bytes, want %zu)", name,
		    blen, alen);
	free(a);
	free(b);

	fd = fd_of(out);
	if (mime_top_headers(fd, vals) == -1)
		TEST_FAIL("%s: mime_top_headers failed", name);
	else {
		mv = vals[MIME_TOP_VERSION];
		ct = vals[MIME_TOP_TYPE];
		if ((m = parse(out)) == NULL)
			TEST_FAIL("%s: output does not parse", name);
		else {
			GMimeObject *top = g_mime_message_get_mime_part(m);
			char *want = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(top));

			if (ct != NULL && strncasecmp(ct, want, strlen(want)) != 0)
				TEST_FAIL("%s: top Content-Type: got %s, want %s...", name, ct, want);
			if (GMIME_IS_MULTIPART(top) && (ct == NULL || mv == NULL))
				TEST_FAIL("%s: multipart top without Content-Type/MIME-Version", name);
			g_free(want);
			g_object_unref(m);
		}
		for (int i = 0; i < MIME_TOP_N; i++)
			free(vals[i]);
	}
	if (rescan) {
		struct mime_report rep;
		int devnull = open("/dev/null", O_WRONLY), r;

		lseek(fd, 0, SEEK_SET);
		r = mime_repair(fd, devnull, scan_evil, NULL, NOTICE, &rep);
		if (r != 0)
			TEST_FAIL("%s: rescan of the output: got %d, want 0 (infected parts left)", name, r);
		mime_report_free(&rep);
		close(devnull);
	}
	close(fd);
}

static void
check_ref(const char *name, const char *ref, const struct buf *out, int crlf)
{
	struct buf want, w2;

	if (getenv("MIME_TEST_UPDATE") != NULL && !crlf) {
		save(ref, out);
		return;
	}
	if (load(ref, &want) == -1) {
		TEST_FAIL("%s: cannot read %s", name, ref);
		return;
	}
	if (crlf) {
		crlf_of(&want, &w2);
		free(want.data);
		want = w2;
	}
	if (want.len != out->len || memcmp(want.data, out->data, want.len) != 0)
		TEST_FAIL("%s: output differs from %s (got %zu bytes, want %zu):\n%.*s", name, ref,
		    out->len, want.len, out->len > 4000 ? 4000 : (int)out->len, out->data);
	free(want.data);
}

/* ------------------------------------------------------------ generators */

static void
gen_many(struct buf *b, int nparts, int evil_at)
{
	GString *s = g_string_new("From: a@example.org\nTo: b@example.net\nSubject: many\n"
	    "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n");

	for (int i = 0; i < nparts; i++)
		g_string_append_printf(s, "--B\nContent-Type: text/plain\n\npart %d%s\n", i,
		    i == evil_at ? " EVIL" : "");
	g_string_append(s, "--B--\n");
	b->len = s->len;
	b->data = g_string_free(s, FALSE);
}

static void
gen_nul_headers(struct buf *b)
{
	static const char m[] = "From: a@example.org\nX-Nul: a\0b\0c\nSubj\0ect: x\n"
	    "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"N\"\0; x=\"\0\"\n\n"
	    "--N\nContent-Type: text/plain\n\nhello\n--N\nContent-Type: application/x\0y\n"
	    "Content-Transfer-Encoding: base64\n\nRVZJTA==\n--N--\n";

	b->len = sizeof(m) - 1;
	b->data = malloc(b->len + 1);
	memcpy(b->data, m, sizeof(m));
}

static void
gen_huge_header(struct buf *b)
{
	GString *s = g_string_new("From: a@example.org\nX-Huge: ");

	for (int i = 0; i < 1024 * 1024; i++)
		g_string_append_c(s, (char)('a' + i % 26));
	g_string_append(s, "\nContent-Type: application/octet-stream\n"
	    "Content-Transfer-Encoding: base64\n\nRVZJTA==\n");
	b->len = s->len;
	b->data = g_string_free(s, FALSE);
}

static void
gen_deep(struct buf *b)
{
	GString *s = g_string_new("From: a@example.org\nMIME-Version: 1.0\n");

	for (int i = 0; i < 2000; i++)
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=\"d%d\"\n\n--d%d\n",
		    i, i);
	g_string_append(s, "Content-Type: text/plain\n\nEVIL at the bottom\n");
	b->len = s->len;
	b->data = g_string_free(s, FALSE);
}

static void
gen_garbage(struct buf *b)
{
	static const char m[] = "\x01\x02 not a header line\n\xff\xfe binary\n";

	b->len = sizeof(m) - 1;
	b->data = malloc(b->len + 1);
	memcpy(b->data, m, sizeof(m));
}

/* ------------------------------------------------------------ repair */

struct repair_case {
	const char *name;
	const char *input;              /* testdata file, or NULL: gen */
	void      (*gen)(struct buf *);
	int         crlf;               /* input converted to CRLF first */
	int         scan_error;
	int         want_rc;
	const char *want_hit;           /* filename of the first hit */
	size_t      want_parts;         /* 0: not checked */
	int         want_truncated;
	const char *ref;
	const char *clean[3];           /* attachments that must decode identically */
	double      max_seconds;        /* 0: not checked */
};

static void gen_10000(struct buf *b) { gen_many(b, 10000, 9999); }
static void gen_too_many(struct buf *b) { gen_many(b, MIME_MAX_PARTS + 5, MIME_MAX_PARTS + 2); }
static void gen_empty(struct buf *b) { b->data = calloc(1, 1); b->len = 0; }

static const struct repair_case repair_cases[] = {
	{ "single-part infected", "single.eml", NULL, 0, 0, 1, "evil.exe", 1, 0, "single.ref",
	  { NULL }, 0 },
	{ "one infected among two clean", "multi.eml", NULL, 0, 0, 1, "invoice.exe", 4, 0,
	  "multi.ref", { "table.bin", "report.pdf", NULL }, 0 },
	{ "one infected among two clean, CRLF", "multi.eml", NULL, 1, 0, 1, "invoice.exe", 4, 0,
	  "multi.ref", { "table.bin", "report.pdf", NULL }, 0 },
	{ "alternative nested in mixed", "nested.eml", NULL, 0, 0, 1, "(unnamed)", 3, 0,
	  "nested.ref", { "data.zip", NULL }, 0 },
	{ "message/rfc822 attachment", "rfc822.eml", NULL, 0, 0, 1, "inner.scr", 3, 0,
	  "rfc822.ref", { NULL }, 0 },
	{ "broken base64", "badb64.eml", NULL, 0, 0, 1, "broken.bin", 2, 0, "badb64.ref",
	  { NULL }, 0 },
	{ "missing closing boundary", "noclose.eml", NULL, 0, 0, 1, "last.exe", 2, 0,
	  "noclose.ref", { NULL }, 0 },
	{ "boundary never declared", "noboundary.eml", NULL, 0, 0, 1, "(unnamed)", 1, 0,
	  "noboundary.ref", { NULL }, 0 },
	{ "no MIME headers at all", "noctype.eml", NULL, 0, 0, 1, "(unnamed)", 1, 0,
	  "noctype.ref", { NULL }, 0 },
	{ "no infected part", "plain.eml", NULL, 0, 0, 0, NULL, 1, 0, NULL, { NULL }, 0 },
	{ "scan error", "multi.eml", NULL, 0, 1, -1, NULL, 0, 0, NULL, { NULL }, 0 },
	{ "10,000 parts", NULL, gen_10000, 0, 0, 1, "(unnamed)", 10000, 0, NULL, { NULL }, 1.0 },
	{ "more parts than MIME_MAX_PARTS", NULL, gen_too_many, 0, 0, 0, NULL, MIME_MAX_PARTS, 1,
	  NULL, { NULL }, 3.0 },
	{ "NUL bytes in headers", NULL, gen_nul_headers, 0, 0, 1, "(unnamed)", 2, 0, NULL,
	  { NULL }, 0 },
	{ "1 MB header line", NULL, gen_huge_header, 0, 0, 1, "(unnamed)", 1, 0, NULL,
	  { NULL }, 0 },
	{ "2000 nested multiparts", NULL, gen_deep, 0, 0, 0, NULL, 0, 1, NULL, { NULL }, 0 },
	{ "not a message", NULL, gen_garbage, 0, 0, -1, NULL, 0, 0, NULL, { NULL }, 0 },
	{ "empty input", NULL, gen_empty, 0, 0, -1, NULL, 0, 0, NULL, { NULL }, 0 },
};

static void
run_repair(const struct repair_case *c)
{
	struct scan_ctx sc = { c->scan_error, 0 };
	struct mime_report rep;
	struct buf in, raw, out;
	struct timespec t0, t1;
	GMimeMessage *mi, *mo;
	int in_fd, out_fd, rc;
	double secs;

	if (c->input != NULL) {
		if (load(c->input, &raw) == -1) {
			TEST_FAIL("%s: cannot read %s", c->name, c->input);
			return;
		}
	} else
		c->gen(&raw);
	if (c->crlf) {
		crlf_of(&raw, &in);
		free(raw.data);
	} else
		in = raw;
	in_fd = fd_of(&in);
	out_fd = memfd_create("mime-out", MFD_CLOEXEC);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = mime_repair(in_fd, out_fd, scan_evil, &sc, NOTICE, &rep);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	slurp(out_fd, &out);

	if (rc != c->want_rc)
		TEST_FAIL("%s: rc: got %d, want %d", c->name, rc, c->want_rc);
	if (c->want_hit != NULL && (rep.nhits < 1 || strcmp(rep.hits[0].filename, c->want_hit) != 0 ||
	    strcmp(rep.hits[0].virus, "Test.Sig") != 0))
		TEST_FAIL("%s: hit: got %s/%s, want %s/Test.EVIL", c->name,
		    rep.nhits ? rep.hits[0].filename : "none", rep.nhits ? rep.hits[0].virus : "none",
		    c->want_hit);
	if (c->want_parts != 0 && rep.nparts != c->want_parts)
		TEST_FAIL("%s: parts: got %zu, want %zu", c->name, rep.nparts, c->want_parts);
	if (rep.truncated != c->want_truncated)
		TEST_FAIL("%s: truncated: got %d, want %d", c->name, rep.truncated, c->want_truncated);
	if (c->max_seconds > 0 && secs > c->max_seconds)
		TEST_FAIL("%s: took %.3f s, want < %.1f s", c->name, secs, c->max_seconds);
	if (rc <= 0 && out.len != 0)
		TEST_FAIL("%s: wrote %zu bytes with rc %d", c->name, out.len, rc);
	if (rc > 0) {
		check_contract(c->name, &in, &out, 1);
		if (c->ref != NULL)
			check_ref(c->name, c->ref, &out, c->crlf);
		if (c->input == NULL && c->gen == gen_huge_header &&
		    memmem(out.data, out.len, in.data, 1024 * 1024) == NULL)
			TEST_FAIL("%s: the 1 MB header line is not in the output", c->name);
	}
	if (rc > 0 && c->clean[0] != NULL && (mi = parse(&in)) != NULL) {
		if ((mo = parse(&out)) != NULL) {
			for (int i = 0; i < 3 && c->clean[i] != NULL; i++) {
				size_t la, lb;
				char *a = decoded(mi, c->clean[i], &la), *b = decoded(mo, c->clean[i], &lb);

				if (a == NULL || b == NULL || la != lb || memcmp(a, b, la) != 0)
					TEST_FAIL("%s: %s: decoded bytes differ (got %zu, want %zu)", c->name,
					    c->clean[i], lb, la);
				g_free(a);
				g_free(b);
			}
			g_object_unref(mo);
		}
		g_object_unref(mi);
	}
	printf("%-40s rc=%d parts=%zu hits=%zu %.3fs\n", c->name, rc, rep.nparts, rep.nhits, secs);
	mime_report_free(&rep);
	close(in_fd);
	close(out_fd);
	free(in.data);
	free(out.data);
}

/* ------------------------------------------------------------ notices */

struct notice_case {
	const char *name;
	const char *input;
	int         attach;             /* mime_attach_text, else mime_append_text */
	const char *want_top;           /* mime type of the output's top entity */
	int         want_parts;         /* leaves in the output; 0: not checked */
	const char *want_boundary;      /* top boundary kept; NULL: not checked */
	const char *ref;                /* deterministic outputs only */
	const char *want_in;            /* filename or NULL: leaf holding the notice */
};

#define TEXT "Virus notice: ünïcode text.\nSecond line.\n"

static const struct notice_case notice_cases[] = {
	{ "append to text/plain", "plain.eml", 0, "text/plain", 1, NULL, "plain-append.ref", NULL },
	{ "append to multipart", "multi.eml", 0, "multipart/mixed", 4, "=-outer-boundary",
	  "multi-append.ref", NULL },
	{ "append to HTML-only", "html.eml", 0, "multipart/mixed", 2, NULL, NULL, NULL },
	{ "append to HTML in mixed", "althtml.eml", 0, "multipart/mixed", 3, "m1", NULL, NULL },
	{ "append to alternative", "nested.eml", 0, "multipart/mixed", 3, "mixed-1", NULL, NULL },
	{ "attach to single part", "single.eml", 1, "multipart/mixed", 2, NULL, NULL,
	  "virus-notice.txt" },
	{ "attach to multipart", "multi.eml", 1, "multipart/mixed", 5, "=-outer-boundary", NULL,
	  "virus-notice.txt" },
};

static void
count_cb(GMimeObject *parent, GMimeObject *obj, gpointer arg)
{
	if (GMIME_IS_PART(obj))
		(*(int *)arg)++;
}

static void
run_notice(const struct notice_case *c)
{
	struct buf in, out;
	GMimeMessage *m;
	int in_fd, out_fd, rc, n = 0;

	if (load(c->input, &in) == -1) {
		TEST_FAIL("%s: cannot read %s", c->name, c->input);
		return;
	}
	in_fd = fd_of(&in);
	out_fd = memfd_create("mime-out", MFD_CLOEXEC);
	rc = c->attach ? mime_attach_text(in_fd, out_fd, "virus-notice.txt", TEXT) :
	    mime_append_text(in_fd, out_fd, TEXT);
	slurp(out_fd, &out);
	if (rc != 0)
		TEST_FAIL("%s: rc: got %d, want 0", c->name, rc);
	else if ((m = parse(&out)) == NULL)
		TEST_FAIL("%s: output does not parse", c->name);
	else {
		GMimeObject *top = g_mime_message_get_mime_part(m);
		char *type = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(top));
		const char *bd = g_mime_object_get_content_type_parameter(top, "boundary");
		GMimeTextPart *tp;
		struct find f = { c->want_in, NULL };
		char *text;

		if (strcmp(type, c->want_top) != 0)
			TEST_FAIL("%s: top type: got %s, want %s", c->name, type, c->want_top);
		g_mime_message_foreach(m, count_cb, &n);
		if (GMIME_IS_PART(top))
			n = 1;
		if (c->want_parts && n != c->want_parts)
			TEST_FAIL("%s: leaves: got %d, want %d", c->name, n, c->want_parts);
		if (c->want_boundary && (bd == NULL || strcmp(bd, c->want_boundary) != 0))
			TEST_FAIL("%s: boundary: got %s, want %s", c->name, bd ? bd : "none", c->want_boundary);
		/* The notice reads back as UTF-8 text from its part. */
		if (GMIME_IS_PART(top))
			f.part = GMIME_PART(top);
		else
			g_mime_message_foreach(m, find_cb, &f);
		if (f.part == NULL || !GMIME_IS_TEXT_PART(f.part)) {
			/* Appended into the first text/plain part instead. */
			GMimeObject *first = NULL;

			if (GMIME_IS_MULTIPART(top)) {
				first = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
				while (GMIME_IS_MULTIPART(first))
					first = g_mime_multipart_get_part(GMIME_MULTIPART(first), 0);
			}
			f.part = GMIME_IS_TEXT_PART(first) ? GMIME_PART(first) : NULL;
		}
		tp = f.part != NULL && GMIME_IS_TEXT_PART(f.part) ? GMIME_TEXT_PART(f.part) : NULL;
		text = tp != NULL ? g_mime_text_part_get_text(tp) : NULL;
		if (text == NULL || strstr(text, "Virus notice: ünïcode text.") == NULL)
			TEST_FAIL("%s: notice text not found (got %s)", c->name, text ? text : "no text part");
		g_free(text);
		g_free(type);
		g_object_unref(m);
		check_contract(c->name, &in, &out, 0);
		if (c->ref != NULL)
			check_ref(c->name, c->ref, &out, 0);
	}
	printf("%-40s rc=%d leaves=%d\n", c->name, rc, n);
	close(in_fd);
	close(out_fd);
	free(in.data);
	free(out.data);
}

/* ------------------------------------------------------------ top headers */

static void
run_top_headers(void)
{
	static const char m[] = "Subject: x\r\nMIME-Version:  1.0 \r\ncontent-type: multipart/mixed;\r\n"
	    "\tboundary=\"b\"\r\nContent-Type: text/plain\r\nContent-Disposition: inline\r\n"
	    "\r\nContent-Transfer-Encoding: body\r\n";
	struct buf b = { (char *)m, sizeof(m) - 1 };
	char *vals[MIME_TOP_N], *mv, *ct, *cte, *cd;
	int fd = fd_of(&b);

	if (mime_top_headers(fd, vals) == -1)
		TEST_FAIL("%s: rc -1", "top headers");
	else {
		mv = vals[MIME_TOP_VERSION];
		ct = vals[MIME_TOP_TYPE];
		cte = vals[MIME_TOP_CTE];
		cd = vals[MIME_TOP_DISPOSITION];
		if (mv == NULL || strcmp(mv, "1.0") != 0)
			TEST_FAIL("%s: MIME-Version: got [%s], want [1.0]", "top headers", mv ? mv : "NULL");
		if (ct == NULL || strcmp(ct, "multipart/mixed;\tboundary=\"b\"") != 0)
			TEST_FAIL("%s: Content-Type: got [%s], want first, unfolded", "top headers", ct ? ct : "NULL");
		if (cte != NULL)
			TEST_FAIL("%s: Content-Transfer-Encoding: got [%s], want NULL (body)", "top headers", cte);
		if (cd == NULL || strcmp(cd, "inline") != 0)
			TEST_FAIL("%s: Content-Disposition: got [%s], want [inline]", "top headers", cd ? cd : "NULL");
		for (int i = 0; i < MIME_TOP_N; i++)
			free(vals[i]);
	}
	close(fd);
	printf("%-40s done\n", "top headers");
}

static void
repair_table(void)
{
	for (size_t i = 0; i < sizeof(repair_cases) / sizeof(repair_cases[0]); i++)
		run_repair(&repair_cases[i]);
}

static void
notice_table(void)
{
	for (size_t i = 0; i < sizeof(notice_cases) / sizeof(notice_cases[0]); i++)
		run_notice(&notice_cases[i]);
}

static const struct test_case cases[] = {
	{ "repair table",	repair_table },
	{ "notice table",	notice_table },
	{ "top headers",	run_top_headers },
	{ NULL, NULL }
};

int
main(void)
{
	int rc;

	mime_init();
	rc = test_run(cases);
	mime_shutdown();
	return rc;
}
