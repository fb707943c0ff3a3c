/*
 * libFuzzer target: correlation_rules rows (operator- or attacker-typed
 * text) through secmgr_rule_parse, and every rule that parses through the
 * engine with events made from the same bytes.
 * Input: a kind selector byte, then params_json NUL response_json NUL
 * event bytes (each event: kind selector, address byte, ts step).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secmgr_engine.h"

static const char *const fz_kinds[] = { "threshold", "multi", "sequence", "bogus" };
static const char *const fz_evkinds[] = { "mail.infected", "decoy.login", "a", "update.denied" };

static void
fz_emit(void *arg, const struct secmgr_match *m)
{
	(void)arg;
	if (m->nids < 0 || m->nids > SECMGR_MAX_IDS || strlen(m->key) >= SECMGR_KEY_LEN)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct secmgr_rule r = { .id = 1, .name = "fuzz" };
	struct secmgr_engine *e;
	char *buf, *params, *resp, *ev, err[256], ip[64];
	size_t nev;

	if (size < 1 || size > 16384)
		return 0;
	if ((buf = malloc(size + 2)) == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = buf[size] = '\0';
	params = buf;
	resp = params + strlen(params) + 1;
	if (resp > buf + size - 1)
		resp = buf + size - 1;
	ev = resp + strlen(resp) + 1;
	nev = ev < buf + size - 1 ? (size_t)(buf + size - 1 - ev) : 0;
	if (secmgr_rule_parse(fz_kinds[data[0] & 3], params, resp, &r, err, sizeof(err)) == 0 &&
	    (e = secmgr_engine_new(&r, 1, 1 + (data[0] >> 4))) != NULL) {
		int64_t ts = 0;

		for (size_t i = 0; i + 3 <= nev; i += 3) {
			struct secmgr_event x = { (int64_t)i + 1, ts, fz_evkinds[ev[i] & 3],
				(ev[i] & 4) ? "milter" : "decoyd", ev[i + 1] & 7, ip,
				(ev[i] & 8) ? "evil.example" : NULL };
			snprintf(ip, sizeof(ip), (ev[i] & 16) ? "2001:db8::%x" : "10.0.%u.1",
			    (unsigned)(unsigned char)ev[i + 1]);
			ts += (signed char)ev[i + 2];
			secmgr_engine_feed(e, &x, fz_emit, NULL);
		}
		secmgr_engine_sweep(e, ts);
		secmgr_engine_free(e);
	}
	free(buf);
	return 0;
}
