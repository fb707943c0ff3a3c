/*
 * milter_spool - the bytes of one message, as the milter received them.
 *
 * Small messages (the common case) stay in one malloc'd buffer, which the
 * scanner maps directly (cl_fmap_open_memory): no file system work at all.
 * Past sp_limit everything moves to a file in the private spool directory
 * that is unlinked at once (O_TMPFILE; mkstemp + unlink on a file system
 * without it), so a crash
 * leaves nothing behind and no other process can open it.
 *
 * Ownership: the spool owns sp_mem, sp_fd and sp_memfd; spool_free() releases
 * them and is safe on a zeroed or already freed spool.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "milter.h"

void
spool_init(struct spool *sp, size_t limit, const char *dir)
{
	memset(sp, 0, sizeof(*sp));
	sp->sp_limit = limit;
	sp->sp_dir = dir;
	sp->sp_fd = -1;
	sp->sp_memfd = -1;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* An unlinked file in the spool directory; -1 on error (logged). */
static int
spool_tmpfile(const char *dir)
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
spool_write(struct spool *sp, const void *data, size_t len)
{
	if (sp->sp_failed)
		return -1;
	if (sp->sp_fd == -1 && sp->sp_len + len > sp->sp_limit) {
		/* Spill: everything so far, then append to the file. */
		if ((sp->sp_fd = spool_tmpfile(sp->sp_dir)) == -1 ||
		    write_all(sp->sp_fd, sp->sp_mem, sp->sp_len) == -1) {
			if (sp->sp_fd != -1)
				log_warn("spool: write to %s", sp->sp_dir);
			sp->sp_failed = 1;
			return -1;
		}
		free(sp->sp_mem);
		sp->sp_mem = NULL;
		sp->sp_len = sp->sp_cap = 0;
	}
	if (sp->sp_fd != -1) {
		if (write_all(sp->sp_fd, data, len) == -1) {
			log_warn("spool: write to %s", sp->sp_dir);
			sp->sp_failed = 1;
			return -1;
		}
	} else {
		if (sp->sp_len + len > sp->sp_cap) {
			size_t cap = sp->sp_cap ? sp->sp_cap : 16384;
			char *p;

			while (cap < sp->sp_len + len)
				cap *= 2;
			if (cap > sp->sp_limit)
				cap = sp->sp_limit;
			if ((p = realloc(sp->sp_mem, cap)) == NULL) {
				log_warn("spool: realloc %zu", cap);
				sp->sp_failed = 1;
				return -1;
			}
			sp->sp_mem = p;
			sp->sp_cap = cap;
		}
		memcpy(sp->sp_mem + sp->sp_len, data, len);
		sp->sp_len += len;
	}
	sp->sp_total += len;
	return 0;
}

void
spool_end_headers(struct spool *sp)
{
	sp->sp_hdrlen = sp->sp_total;
}

int
spool_fd(struct spool *sp)
{
	if (sp->sp_fd != -1)
		return sp->sp_fd;
	if (sp->sp_memfd != -1)
		return sp->sp_memfd;
	/* In memory: a sealed-off anonymous file for APIs that want an fd
	 * (GMime, the quarantine client). Only on hits, never for clean mail. */
	if ((sp->sp_memfd = memfd_create("moat-msg", MFD_CLOEXEC)) == -1) {
		log_warn("spool: memfd_create");
		return -1;
	}
	if (write_all(sp->sp_memfd, sp->sp_mem, sp->sp_len) == -1) {
		log_warn("spool: memfd write");
		close(sp->sp_memfd);
		sp->sp_memfd = -1;
		return -1;
	}
	return sp->sp_memfd;
}

void
spool_free(struct spool *sp)
{
	free(sp->sp_mem);
	if (sp->sp_fd != -1)
		close(sp->sp_fd);
	if (sp->sp_memfd != -1)
		close(sp->sp_memfd);
	spool_init(sp, sp->sp_limit, sp->sp_dir);
}
