/*
 * parts_leaves - prints the walker's (milter/milter_parts.c) leaves of each
 * message file named on the command line and its result: 0, or
 * PARTS_FALLBACK (-2) when the milter would hand the message to libclamav's
 * mail parser.  leaves_out.h's format; part of the MIME differential test.
 */
#include "leaves_out.h"
#include "milter_parts.h"

static int
put(void *arg, const unsigned char *d, size_t n, const char *name)
{
	(void)arg;
	(void)name;
	leaves_put('L', d, n);
	return 0;
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *buf;
		size_t len;

		if (leaves_slurp(argv[i], &buf, &len) == -1) {
			perror(argv[i]);
			return 2;
		}
		printf("F %s\n", argv[i]);
		printf("E %d\n", parts_walk(buf, len, put, NULL));
		free(buf);
	}
	return 0;
}
