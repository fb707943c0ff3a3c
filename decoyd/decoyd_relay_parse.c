/*
 * decoyd_relay_parse - the keeper's check of a record from the loop process
 * (see decoyd_keeper.h).  Pure; fuzzed (relay_parse_fuzz.cmake), since the
 * loop may be an intruder's.
 */
#include <string.h>

#include "decoyd_keeper.h"

ssize_t
relay_parse(const void *msg, size_t n, char *scratch, struct relay_rec *r)
{
	const char *p = (const char *)msg + sizeof(struct relay_head);
	size_t left, i;

	if (n < sizeof(struct relay_head))
		return -1;
	if (n > RELAY_MAX)
		n = RELAY_MAX;          /* one record is never longer */
	memcpy(&r->h, msg, sizeof(r->h));
	if (r->h.type < RELAY_EVENT || r->h.type > RELAY_FACT)
		return -1;
	left = n - sizeof(struct relay_head);
	for (i = 0; i < RELAY_FIELDS; i++) {
		if (r->h.len[i] > left || memchr(p, '\0', r->h.len[i]) != NULL)
			return -1;
		memcpy(scratch, p, r->h.len[i]);
		scratch[r->h.len[i]] = '\0';
		r->f[i] = scratch;
		scratch += r->h.len[i] + 1;
		p += r->h.len[i];
		left -= r->h.len[i];
	}
	return (ssize_t)(n - left);
}
