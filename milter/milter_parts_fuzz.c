/*
 * milter_parts_fuzz - libFuzzer target for milter_parts.c: the input bytes
 * are a message given to parts_walk.  Every leaf is read whole (ASan finds
 * a leaf that points outside the message or a freed decode buffer), a walk
 * must end in 0 or PARTS_FALLBACK, and no leaf may be longer than the
 * message (decoding only shrinks).  Seed corpus: fuzz/corpus/mime/ (shared
 * with milter_mime_fuzz: both read whole messages).
 * Built by milter/parts_fuzz.cmake when MOAT_FUZZ is ON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "milter_parts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t limit;

static int
fuzz_leaf(void *arg, const unsigned char *d, size_t len, const char *name)
{
	unsigned int *sum = arg;

	if (len > limit || (name != NULL && strlen(name) > 255))
		abort();
	for (size_t i = 0; i < len; i++)
		*sum += d[i];
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int sum = 0;
	int rc;

	limit = size;
	rc = parts_walk((const char *)data, size, fuzz_leaf, &sum);
	if (rc != 0 && rc != PARTS_FALLBACK)
		abort();
	return 0;
}
