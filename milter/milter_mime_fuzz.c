/*
 * milter_mime_fuzz - libFuzzer target for milter_mime.c: the input bytes are
 * a message given to mime_repair (with a fake scanner that flags parts
 * containing "EVIL"), mime_append_text and mime_attach_text, and every output
 * is read back with mime_top_headers.  A repaired message must scan clean
 * when repaired again (unless limits cut the first walk short): a rewrite
 * whose structure hides or revives a flagged part aborts.  Seed corpus:
 * fuzz/corpus/mime/.
 * Built by milter/mime_fuzz.cmake when MOAT_FUZZ is ON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "milter_mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_scan(void *ctx, const void *data, size_t len, const char *filename, char **virus)
{
	if (memmem(data, len, "EVIL", 4) == NULL)
		return 0;
	*virus = strdup("Fuzz.Sig");
	return 1;
}

static int
fuzz_fd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("mime-fuzz", MFD_CLOEXEC);

	if (fd == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	return fd;
}

/* Repairs the repaired output again: nothing may be left to replace. */
static void
fuzz_recheck(int fd)
{
	struct mime_report rep;
	int out = fuzz_fd(NULL, 0), r;

	lseek(fd, 0, SEEK_SET);
	r = mime_repair(fd, out, fuzz_scan, NULL, "{virus} removed.\n", &rep);
	if (r > 0 && !rep.truncated)
		abort();
	mime_report_free(&rep);
	close(out);
}

/* Reads the output back as the milter does; closes fd. */
static void
fuzz_top(int fd)
{
	char *vals[MIME_TOP_N];

	if (mime_top_headers(fd, vals) == 0)
		for (int i = 0; i < MIME_TOP_N; i++)
			free(vals[i]);
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct mime_report rep;
	int in, out;

	if (!inited) {
		mime_init();
		inited = 1;
	}
	in = fuzz_fd(data, size);

	out = fuzz_fd(NULL, 0);
	/* The notice names no file: a name may hold the scanner's pattern. */
	if (mime_repair(in, out, fuzz_scan, NULL, "{virus} removed.\n", &rep) > 0 &&
	    !rep.truncated)
		fuzz_recheck(out);
	mime_report_free(&rep);
	fuzz_top(out);

	out = fuzz_fd(NULL, 0);
	(void)mime_append_text(in, out, "Notice: caf\xc3\xa9.\n");
	fuzz_top(out);

	out = fuzz_fd(NULL, 0);
	(void)mime_attach_text(in, out, "notice.txt", "Notice.\n");
	fuzz_top(out);

	close(in);
	return 0;
}
