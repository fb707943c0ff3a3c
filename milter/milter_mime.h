/*
 * milter_mime - message structure work for moat-milter, with GMime: locate
 * infected parts for repair, replace them by a text/plain notice, and build
 * the "append" and "attachment" notification styles.  Clean mail never comes
 * here (one libclamav pass decides it); this runs only on hits and notices.
 *
 * Input is a whole RFC 5322 message (headers + body) in a file descriptor,
 * read from offset 0.  Output is a whole message written to out_fd whose
 * header block is byte-identical to the input's except for the MIME headers
 * of the top entity (mime_top_names), which mime_top_headers() reports so
 * the milter can apply them with smfi_chgheader, and the body with
 * smfi_replacebody.
 *
 * Never trusts the input: malformed MIME, broken encodings, missing or nested
 * boundaries and 10,000-part messages return a result or -1, never crash;
 * depth and part count are bounded (MIME_MAX_DEPTH, MIME_MAX_PARTS).
 */
#ifndef MOAT_MILTER_MIME_H
#define MOAT_MILTER_MIME_H

#include <stddef.h>

#define MIME_MAX_DEPTH  32
#define MIME_MAX_PARTS  20000

void mime_init(void);      /* once per process (g_mime_init) */
void mime_shutdown(void);

/* Scans one decoded leaf part.  Returns 1 infected (*virus set to a malloc'd
 * name), 0 clean, -1 error. */
typedef int (*mime_scan_fn)(void *ctx, const void *data, size_t len,
    const char *filename, char **virus);

struct mime_hit { char *filename; char *virus; };   /* filename may be "(unnamed)" */
struct mime_report {
	struct mime_hit *hits;  size_t nhits;
	size_t           nparts;                          /* leaf parts seen */
	int              truncated;                       /* limits hit: not every part seen */
};
void mime_report_free(struct mime_report *r);        /* frees contents; accepts NULL */

/*
 * Repair: every leaf part that scan reports infected is replaced by a
 * text/plain part whose text is notice_fmt with {files} and {virus} expanded;
 * other parts are kept as they were (same bytes, same encoding).  Returns the
 * number of parts replaced (0: no single part is infected, the caller cannot
 * repair), or -1 when the message cannot be parsed or a scan failed.
 */
int mime_repair(int in_fd, int out_fd, mime_scan_fn scan, void *ctx,
    const char *notice_fmt, struct mime_report *rep);

/* Appends text to the message: to the first text/plain part, else as a new
 * text/plain part (wrapping a single-part message into multipart/mixed).
 * Returns 0 or -1. */
int mime_append_text(int in_fd, int out_fd, const char *text);
/* Adds a text/plain attachment named filename.  Returns 0 or -1. */
int mime_attach_text(int in_fd, int out_fd, const char *filename, const char *text);

/* The top entity's headers a rewrite may change.  Content-Disposition is
 * one: copied, a removed file's "attachment; filename=" would stay on the
 * notice that replaced it. */
enum { MIME_TOP_VERSION, MIME_TOP_TYPE, MIME_TOP_CTE, MIME_TOP_DISPOSITION, MIME_TOP_N };
extern const char *const mime_top_names[MIME_TOP_N];

/* Reads the top entity's MIME headers (mime_top_names order) of a message
 * written by the functions above.  Each vals[i] is malloc'd, or NULL when
 * absent.  Returns 0 or -1. */
int mime_top_headers(int fd, char *vals[MIME_TOP_N]);

#endif
