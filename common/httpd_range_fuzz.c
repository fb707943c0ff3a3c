/*
 * httpd_range_fuzz - libFuzzer target for httpd_range_parse(), the Range
 * header of file replies.  The first 8 bytes of the input are the file's
 * size (little-endian; small sizes are the interesting ones, so only the
 * low 20 bits count unless bit 63 is set), the rest is the header.  A
 * range that leaves the file, is empty, or is set on a non-1 answer aborts.
 * Seed corpus: fuzz/corpus/httpd_range/.  Built by common/httpd_range_fuzz.cmake.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t fsize = 0, off = UINT64_MAX, len = UINT64_MAX;
	char *h;
	int rc;

	if (size < 8)
		return 0;
	for (int i = 7; i >= 0; i--)
		fsize = fsize << 8 | data[i];
	if ((fsize >> 63) == 0)
		fsize &= 0xfffff;
	if ((h = malloc(size - 8 + 1)) == NULL)
		return 0;
	memcpy(h, data + 8, size - 8);
	h[size - 8] = '\0';
	rc = httpd_range_parse(h, fsize, &off, &len);
	if (rc < -1 || rc > 1)
		abort();
	if (rc == 1 && (len == 0 || off >= fsize || len > fsize - off))
		abort();                /* a byte outside the file */
	if (rc != 1 && (off != UINT64_MAX || len != UINT64_MAX))
		abort();                /* written on a refusal */
	free(h);
	return 0;
}
