/*
 * gmime_leaves - prints GMime 3's leaves of each message file named on the
 * command line, in leaves_out.h's format.  Part of the MIME differential
 * test (differential.py).
 */
#include <gmime/gmime.h>

#include "gleaves.h"
#include "leaves_out.h"

static void
put(void *arg, const unsigned char *d, size_t n, int text)
{
	(void)arg;
	leaves_put(text ? 'T' : 'L', d, n);
}

int
main(int argc, char **argv)
{
	g_mime_init();
	for (int i = 1; i < argc; i++) {
		char *buf;
		size_t len;

		if (leaves_slurp(argv[i], &buf, &len) == -1) {
			perror(argv[i]);
			return 2;
		}
		printf("F %s\n", argv[i]);
		printf("E %d\n", gleaves_walk(buf, len, put, NULL));
		free(buf);
	}
	g_mime_shutdown();
	return 0;
}
