/*
 * fdio - whole writes to a descriptor, for the files and pipes Moat's
 * programs write (the milter's spool, moat-updated's bundles).
 */
#ifndef MOAT_FDIO_H
#define MOAT_FDIO_H

#include <stddef.h>

/* Writes all len bytes of buf to fd, retrying short writes and EINTR.
 * Returns 0, or -1 with errno from the failed write(2). */
int fdio_write_all(int fd, const void *buf, size_t len);

#endif
