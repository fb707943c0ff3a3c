/*
 * updated_vendor_manifest_fuzz - libFuzzer target for the vendor's package
 * manifest parser (updated_vendor_manifest.c), outside input.  Every entry
 * it takes must hold what the puller relies on: a package file name that
 * cannot leave packages_dir, an http(s) url, 64 lower-case hex digits.
 * Seed corpus: fuzz/corpus/vendor_manifest/.  Built by
 * updated/vendor_manifest_fuzz.cmake.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "updated_packages.h"
#include "updated_vendor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vendor_item *items;
	size_t n, rejected;
	char err[VENDOR_ERR_MAX];

	if (vendor_manifest_parse((const char *)data, size, "http://vendor.example/m/manifest.json",
	    &items, &n, &rejected, err, sizeof(err)) == -1)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct vendor_item *it = &items[i];

		if (!packages_file_ok(it->file) || strchr(it->file, '/') != NULL ||
		    strcmp(it->file, "..") == 0 || it->file[0] == '.')
			abort();            /* a name that leaves packages_dir */
		if (strncmp(it->url, "http://", 7) != 0 && strncmp(it->url, "https://", 8) != 0)
			abort();
		if (strlen(it->sha256) != 64 || strspn(it->sha256, "0123456789abcdef") != 64)
			abort();
		if (!packages_platform_ok(it->platform))
			abort();
	}
	free(items);
	return 0;
}
