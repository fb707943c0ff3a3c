/*
 * libFuzzer target: the HTTP request parser on any bytes, cut in two at a
 * point the first byte chooses, with small limits so they are reached;
 * every request it completes goes through the helpers the personality uses
 * (form fields of the body, download commands of the decoded target).
 * Invariants checked: the bytes used never exceed those given, a request's
 * lengths stay inside the limits.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decoyd_http_parse.h"

#define FZ_LINE    256
#define FZ_BODY    128
#define FZ_HEADERS 16

static size_t fz_total;

static void
fz_request(const struct hp_req *r)
{
	char dec[FZ_LINE + 1], out[64], tool[8], url[64];
	size_t at, off = 0;

	if (r->target_len >= FZ_LINE || r->body_len > FZ_BODY || r->body_len != r->content_length)
		__builtin_trap();
	hp_urldecode(dec, sizeof(dec), r->target, r->target_len, 1);
	while ((at = hp_download(dec + off, tool, url, sizeof(url))) != 0) {
		fz_total += strlen(url);
		off += at;
	}
	fz_total += hp_form_field((const char *)r->body, r->body_len, "password", out, sizeof(out));
}

static void
fz_feed(struct hp *p, const uint8_t *buf, size_t len)
{
	enum hp_result r;
	size_t used;

	while (len > 0) {
		r = hp_feed(p, buf, len, &used);
		if (used > len)
			__builtin_trap();
		if (r != HP_DONE)
			return;
		fz_request(&p->req);
		hp_reset(p);
		buf += used;
		len -= used;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t mem[FZ_LINE * 2 + FZ_BODY + 2];
	struct hp p;
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;

	if (hp_mem_size(FZ_LINE, FZ_BODY) > sizeof(mem))
		__builtin_trap();
	hp_init(&p, mem, FZ_LINE, FZ_BODY, FZ_HEADERS);
	fz_feed(&p, data, cut);
	fz_feed(&p, data + cut, size - cut);
	return 0;
}
