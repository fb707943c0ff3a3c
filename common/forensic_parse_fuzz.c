/*
 * forensic_parse_fuzz - libFuzzer target for the forensic log's verifier:
 * the input is split at its first newline; that line goes through
 * forensic_rec_parse (and, when it is a checkpoint, forensic_rec_cp_parse;
 * and forensic_rec_export_parse); then the whole input, as a file (memfd),
 * through forensic_walk, as a log and as an export.  Invariants checked:
 * a parsed record's payload and hashed prefix lie inside the line; the walk
 * never reports more good records than lines.
 * Seed corpus: fuzz/corpus/forensic_parse/.  Built by common/forensic_parse_fuzz.cmake.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "forensic.h"
#include "forensic_rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	const char *nl = memchr(data, '\n', size);
	size_t len = nl != NULL ? (size_t)(nl - line) : size, nlines = 0;
	struct forensic_report rep;
	struct forensic_rec r;
	struct forensic_cp cp;
	char why[200], prev[FORENSIC_HEX_LEN + 1];
	uint64_t from, to;
	int fd;

	if (forensic_rec_parse(line, len, &r, why, sizeof(why)) == 0) {
		if (r.payload < line || r.payload + r.payload_len > line + len ||
		    r.hashed_len > len || r.seq == 0)
			abort();
		(void)forensic_rec_cp_parse(&r, &cp, why, sizeof(why));
	}
	(void)forensic_rec_export_parse(line, len, &from, &to, prev, why, sizeof(why));
	if ((fd = memfd_create("forensic_fuzz", 0)) == -1)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		for (size_t i = 0; i < size; i++)
			nlines += data[i] == '\n';
		for (unsigned flags = 0; flags <= FORENSIC_VERIFY_CLOSED; flags++)
			if (forensic_walk(fd, NULL, flags, &rep) == 0 && rep.records > nlines)
				abort();
		(void)forensic_walk(fd, NULL, FORENSIC_VERIFY_RANGE, &rep);
	}
	close(fd);
	return 0;
}
