/*
 * milter_parts_diff_fuzz - differential libFuzzer target: the walker
 * (milter_parts.c) against GMime 3 (tests/differential/gleaves.c) on the
 * same message.  Aborts when GMime decodes a non-empty leaf that is not,
 * modulo trailing white space (and CR LF read as LF, as GMime gives a
 * preamble; a preamble GMime cuts at a NUL as a prefix), one of the
 * walker's leaves, and the walker did not send the
 * message to libclamav's mail parser (PARTS_FALLBACK): that leaf would
 * reach a GMime-based reader unscanned.  Seed corpus: fuzz/corpus/parts_diff/.
 * Built by milter/parts_diff_fuzz.cmake when MOAT_FUZZ is ON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "gleaves.h"
#include "milter_parts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXLEAVES (2 * PARTS_MAXLEAVES + 2)

struct leaves {
	unsigned char *d[MAXLEAVES];
	size_t         n[MAXLEAVES];
	int            text[MAXLEAVES];    /* GMime's C-string prologue/epilogue */
	int            count;
};

/* A leaf for comparison, trailing white space cut; lf: with CR LF read
 * as LF (GMime gives a prologue or epilogue so). */
static void
leaves_add(struct leaves *l, const unsigned char *d, size_t n, int text, int lf)
{
	unsigned char *c;
	size_t k = 0;

	if (l->count == MAXLEAVES || (c = malloc(n + 1)) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (!(lf && d[i] == '\r' && i + 1 < n && d[i + 1] == '\n'))
			c[k++] = d[i];
	while (k > 0 && strchr(" \t\r\n", c[k - 1]) != NULL)
		k--;
	l->text[l->count] = text;
	l->d[l->count] = c;
	l->n[l->count++] = k;
}

static void
leaves_free(struct leaves *l)
{
	for (int i = 0; i < l->count; i++)
		free(l->d[i]);
}

static int
walker_leaf(void *arg, const unsigned char *d, size_t n, const char *name)
{
	(void)name;
	leaves_add(arg, d, n, 0, 0);
	leaves_add(arg, d, n, 0, 1);
	return 0;
}

static void
gmime_leaf(void *arg, const unsigned char *d, size_t n, int text)
{
	leaves_add(arg, d, n, text, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct leaves w = { .count = 0 }, g = { .count = 0 };
	int rc;

	if (!init) {
		g_mime_init();
		init = 1;
	}
	rc = parts_walk((const char *)data, size, walker_leaf, &w);
	if (rc == 0) {
		gleaves_walk((const char *)data, size, gmime_leaf, &g);
		for (int i = 0; i < g.count; i++) {
			int found = g.n[i] == 0;

			for (int j = 0; j < w.count && !found; j++)
				found = (w.n[j] == g.n[i] || (g.text[i] && w.n[j] > g.n[i])) &&
				    memcmp(w.d[j], g.d[i], g.n[i]) == 0;
			if (!found) {
				fprintf(stderr, "GMime leaf %d (%zu bytes) not among the walker's %d/2: "
				    "%.*s\n", i, g.n[i], w.count, (int)(g.n[i] > 200 ? 200 : g.n[i]),
				    (const char *)g.d[i]);
				abort();
			}
		}
	}
	leaves_free(&w);
	leaves_free(&g);
	return 0;
}
