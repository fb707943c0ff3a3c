/*
 * leaves_out.h - the record format both leaf printers write, read by
 * differential.py:
 *   "F <path>\n", per leaf "L <len>\n" <len bytes> "\n", then "E <rc>\n"
 * A leaf GMime gives only up to a NUL (a prologue or epilogue) is "T"
 * instead of "L": it is matched as a prefix.
 * rc is the reader's result: for the walker 0, or -2 (PARTS_FALLBACK), or
 * -1; for GMime 0 or -1.
 */
#ifndef MOAT_LEAVES_OUT_H
#define MOAT_LEAVES_OUT_H

#include <stdio.h>
#include <stdlib.h>

/* The whole file path into *buf (malloc'd); -1 when it cannot be read. */
static inline int
leaves_slurp(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 65536, n = 0, r;
	char *b = malloc(cap);

	if (f == NULL || b == NULL) {
		if (f)
			fclose(f);
		free(b);
		return -1;
	}
	while ((r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *nb = realloc(b, cap *= 2);

			if (nb == NULL) {
				free(b);
				fclose(f);
				return -1;
			}
			b = nb;
		}
	}
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

static inline void
leaves_put(int kind, const unsigned char *d, size_t n)
{
	printf("%c %zu\n", kind, n);
	if (n > 0)
		fwrite(d, 1, n, stdout);
	putchar('\n');
}

#endif
