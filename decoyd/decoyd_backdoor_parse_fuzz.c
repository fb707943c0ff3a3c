/* libFuzzer target: the backdoor parser and both classifiers on any bytes,
 * in two pieces, then a flush (the SubSeven quiet timer). */
#include <stddef.h>
#include <stdint.h>

#include "decoyd_backdoor_parse.h"

static size_t fz_total;

static void
fz_message(void *arg, const uint8_t *msg, size_t len, int cut)
{
	struct bp_field f[BP_FIELDS_MAX];
	const uint8_t *a;
	size_t alen, n, i;

	(void)arg;
	if (len > BP_LINE_MAX)
		__builtin_trap();
	for (i = 0; i < len; i++)
		if (msg[i] == '\r' || msg[i] == '\n' || msg[i] == '\0')
			__builtin_trap();
	n = bp_fields(msg, len, f);
	if (n == 0 || n > BP_FIELDS_MAX)
		__builtin_trap();
	for (i = 0; i < n; i++)
		if (f[i].p < msg || f[i].p + f[i].len > msg + len)
			__builtin_trap();
	fz_total += bp_netbus_kind(msg, len) + cut;
	fz_total += bp_subseven_kind(msg, len, &a, &alen);
	if (a < msg || a + alen != msg + len)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bp bp;
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;

	bp_init(&bp, size > 1 ? data[1] * 17u : 0);
	bp_feed(&bp, data, cut, fz_message, NULL);
	bp_feed(&bp, data + cut, size - cut, fz_message, NULL);
	bp_flush(&bp, fz_message, NULL);
	return 0;
}
