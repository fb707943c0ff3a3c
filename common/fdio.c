/*
 * fdio - whole writes to a descriptor (see fdio.h).
 */
#include <errno.h>
#include <unistd.h>

#include "fdio.h"

int
fdio_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

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
