/*
 * milter_msgbuf - the bytes of one message, as the milter received them.
 *
 * Small messages (the common case) stay in one malloc'd buffer, which the
 * scanner maps directly (cl_fmap_open_memory): no file system work at all.
 * Past mb_limit everything moves to a file in the private spool directory
 * that is unlinked at once (O_TMPFILE; mkstemp + unlink on a file system
 * without it), so a crash
 * leaves nothing behind and no other process can open it.
 *
 * Ownership: the spool owns mb_mem, mb_fd and mb_memfd; msgbuf_free() releases
 * them and is safe on a zeroed or already freed spool.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "milter.h"

void
msgbuf_init(struct msgbuf *sp, size_t limit, const char *dir)
{
	memset(sp, 0, sizeof(*sp));
	sp->mb_limit = limit;
	sp->mb_dir = dir;
	sp->mb_fd = -1;
	sp->mb_memfd = -1;
}

/* An unlinked file in the spool directory; -1 on error (logged). */
static int
msgbuf_tmpfile(const char *dir)
{
	char path[4096];
	int fd;

	/* Linux (every kernel Debian 12 ships) has O_TMPFILE; only a file
	 * system that does not support it (EOPNOTSUPP, or EISDIR from an old
	 * one) gets the named file, unlinked at once. */
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) != -1)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR) {
		log_warn("spool: O_TMPFILE in %s", dir);
		return -1;
	}
	if (snprintf(path, sizeof(path), "%s/msg.XXXXXX", dir) >= (int)sizeof(path)) {
		log_warnx("spool directory name too long: %s", dir);
		return -1;
	}
	if ((fd = mkostemp(path, O_CLOEXEC)) == -1) {
		log_warn("spool: mkstemp in %s", dir);
		return -1;
	}
	(void)unlink(path);
	return fd;
}

int
msgbuf_write(struct msgbuf *sp, const void *data, size_t len)
{
	if (sp->mb_failed)
		return -1;
	if (sp->mb_fd == -1 && sp->mb_len + len > sp->mb_limit) {
		/* Spill: everything so far, then append to the file. */
		if ((sp->mb_fd = msgbuf_tmpfile(sp->mb_dir)) == -1 ||
		    fdio_write_all(sp->mb_fd, sp->mb_mem, sp->mb_len) == -1) {
			if (sp->mb_fd != -1)
				log_warn("spool: write to %s", sp->mb_dir);
			sp->mb_failed = 1;
			return -1;
		}
		free(sp->mb_mem);
		sp->mb_mem = NULL;
		sp->mb_len = sp->mb_cap = 0;
	}
	if (sp->mb_fd != -1) {
		if (fdio_write_all(sp->mb_fd, data, len) == -1) {
			log_warn("spool: write to %s", sp->mb_dir);
			sp->mb_failed = 1;
			return -1;
		}
	} else {
		if (sp->mb_len + len > sp->mb_cap) {
			size_t cap = sp->mb_cap ? sp->mb_cap : 16384;
			char *p;

			while (cap < sp->mb_len + len)
				cap *= 2;
			if (cap > sp->mb_limit)
				cap = sp->mb_limit;
			if ((p = realloc(sp->mb_mem, cap)) == NULL) {
				log_warn("spool: realloc %zu", cap);
				sp->mb_failed = 1;
				return -1;
			}
			sp->mb_mem = p;
			sp->mb_cap = cap;
		}
		memcpy(sp->mb_mem + sp->mb_len, data, len);
		sp->mb_len += len;
	}
	sp->mb_total += len;
	return 0;
}

void
msgbuf_end_headers(struct msgbuf *sp)
{
	sp->mb_hdrlen = sp->mb_total;
}

int
msgbuf_fd(struct msgbuf *sp)
{
	if (sp->mb_fd != -1)
		return sp->mb_fd;
	if (sp->mb_memfd != -1)
		return sp->mb_memfd;
	/* In memory: a sealed-off anonymous file for APIs that want an fd
	 * (GMime, the quarantine client). Only on hits, never for clean mail. */
	if ((sp->mb_memfd = memfd_create("moat-msg", MFD_CLOEXEC)) == -1) {
		log_warn("spool: memfd_create");
		return -1;
	}
	if (fdio_write_all(sp->mb_memfd, sp->mb_mem, sp->mb_len) == -1) {
		log_warn("spool: memfd write");
		close(sp->mb_memfd);
		sp->mb_memfd = -1;
		return -1;
	}
	return sp->mb_memfd;
}

void
msgbuf_free(struct msgbuf *sp)
{
	free(sp->mb_mem);
	if (sp->mb_fd != -1)
		close(sp->mb_fd);
	if (sp->mb_memfd != -1)
		close(sp->mb_memfd);
	msgbuf_init(sp, sp->mb_limit, sp->mb_dir);
}
