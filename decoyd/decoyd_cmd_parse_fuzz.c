/* libFuzzer target: the FTP/SMTP command-line parser on any bytes, in two
 * pieces with a small line bound, then base64 and AUTH PLAIN on each line. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decoyd_cmd_parse.h"

static size_t fz_total;

static int
fz_line(void *arg, const struct cmdp_line *l)
{
	size_t max = *(size_t *)arg, i;
	uint8_t out[64];
	char u[16], p[16], e[32];
	long n;

	if (l->len > max - 1 || l->line[l->len] != '\0' || memchr(l->line, '\n', l->len) != NULL)
		__builtin_trap();
	if (l->arg < l->line || l->arg > l->line + l->len)
		__builtin_trap();
	for (i = 0; l->verb[i] != '\0'; i++)
		if (i >= CMDP_VERB_MAX || l->verb[i] <= ' ' || l->verb[i] >= 0x7f ||
		    (l->verb[i] >= 'a' && l->verb[i] <= 'z'))
			__builtin_trap();
	n = cmdp_b64decode(l->arg, l->len - (l->arg - l->line), out, sizeof(out));
	if (n > (long)sizeof(out))
		__builtin_trap();
	if (n >= 0 && cmdp_plain(out, n, u, sizeof(u), p, sizeof(p)) == 0 &&
	    (strlen(u) >= sizeof(u) || strlen(p) >= sizeof(p)))
		__builtin_trap();
	cmdp_printable(e, sizeof(e), l->line, l->len);
	fz_total += l->len + strlen(e);
	return l->len > 0 && l->line[0] == 'Q';         /* stop, as QUIT does */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmdp p;
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;
	size_t max = size > 1 ? 2 + data[1] % 64 : 16;

	cmdp_init(&p, max);
	if (cmdp_feed(&p, data, cut, fz_line, &max) == 0)
		cmdp_feed(&p, data + cut, size - cut, fz_line, &max);
	if (p.cap > max + 1)
		__builtin_trap();
	cmdp_free(&p);
	return 0;
}
