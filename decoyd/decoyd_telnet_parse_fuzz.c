/* libFuzzer target: the telnet parser on any bytes, in two pieces. */
#include <stddef.h>
#include <stdint.h>

#include "decoyd_telnet_parse.h"

static size_t fz_total;

static void fz_data(void *a, const uint8_t *b, size_t n) { (void)a; for (size_t i = 0; i < n; i++) fz_total += b[i]; }
static void fz_option(void *a, int v, int o) { (void)a; fz_total += v + o; }
static void fz_command(void *a, int c) { (void)a; fz_total += c; }
static void fz_sb(void *a, int o, const uint8_t *b, size_t n) { (void)a; (void)o; if (n > TP_SB_MAX) __builtin_trap(); for (size_t i = 0; i < n; i++) fz_total += b[i]; }

static const struct tp_ops fz_ops = { fz_data, fz_option, fz_command, fz_sb };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp tp;
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;

	tp_init(&tp);
	tp_feed(&tp, &fz_ops, NULL, data, cut);
	tp_feed(&tp, &fz_ops, NULL, data + cut, size - cut);
	return 0;
}
