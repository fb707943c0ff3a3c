/*
 * quarantined_parse_fuzz - libFuzzer target for moat-quarantined's parsers
 * of outside input: request paths (percent-decoding, routing, ids), query
 * values (ids, times, addresses, tokens), stored paths and scan settings
 * (common/scanopts.h).  The input is
 * split at newlines; each piece goes through every parser.  Seed corpus:
 * fuzz/corpus/quarantine/.  Built by quarantined/parse_fuzz.cmake.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quarantined_api.h"
#include "scanopts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_one(char *s)
{
	enum route r;
	int64_t v;
	unsigned mode;
	char sha[QD_SHA256_HEX];

	(void)parse_id(s, &v);
	(void)parse_uint(s, &v);
	(void)parse_time(s, &v);
	(void)parse_addr_ok(s);
	(void)parse_token_ok(s, QD_QUEUE_ID_MAX);
	(void)parse_text_ok(s, QD_ADDR_MAX);
	(void)parse_sha256_ok(s);
	(void)parse_mode(s, &mode);
	if (parse_spool_path_ok(s) && (strstr(s, "..") != NULL || s[0] == '/'))
		abort();                    /* containment broken */
	http_unescape(NULL, NULL, s);
	if (http_route(s, &r, &v) == 0 && r >= R_ITEM && r <= R_RELEASE && v <= 0)
		abort();                    /* an item route without a valid id */
	sha256_hex(s, strlen(s), sha);
	/* Scan settings (the milter's submission, an operator's edit): what
	 * decodes re-encodes to a form that decodes to the same settings. */
	{
		struct scanopts a, b;
		char err[256], *enc, *again = NULL;
		if (scanopts_decode(s, &a, err, sizeof(err)) == 0) {
			if ((enc = scanopts_encode(&a)) == NULL)
				return;
			/* The encoding is canonical: equal settings, equal text. */
			if (scanopts_decode(enc, &b, err, sizeof(err)) == -1 ||
			    (again = scanopts_encode(&b)) == NULL || strcmp(enc, again) != 0)
				abort();            /* the wire form does not round-trip */
			free(enc);
			free(again);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *p, *nl;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (p = buf; p != NULL; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		fuzz_one(p);
	}
	free(buf);
	return 0;
}
