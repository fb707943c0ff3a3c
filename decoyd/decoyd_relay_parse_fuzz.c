/* libFuzzer target: any bytes as a message from the loop process; a fact
 * goes into an alert book, and every mail it makes must be 7-bit CRLF text
 * whose header block holds only our eleven headers. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decoyd_keeper.h"

static char fz_scratch[RELAY_MAX + RELAY_FIELDS];

static void
fz_check(struct alert_mail *m)
{
	const char *p, *end;
	int heads = 0;

	if (m == NULL)
		return;
	for (p = m->text; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80 || (*p == '\r' && p[1] != '\n') ||
		    (*p == '\n' && (p == m->text || p[-1] != '\r')))
			__builtin_trap();
	end = strstr(m->text, "\r\n\r\n");
	if (end == NULL)
		__builtin_trap();
	for (p = m->text; p < end; p = strstr(p, "\r\n") + 2)
		heads++;
	if (heads != 11)
		__builtin_trap();
	alert_mail_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay_rec r;
	struct alert_fact f;
	struct alert_book *b;
	ssize_t k;

	/* A message: records back to back; the last one is the fact. */
	while ((k = relay_parse(data, size, fz_scratch, &r)) > 0 && (size_t)k < size) {
		if ((size_t)k > size || k > RELAY_MAX)
			__builtin_trap();
		data += k;
		size -= (size_t)k;
	}
	if (k <= 0 || r.h.type != RELAY_FACT)
		return 0;
	if ((b = alert_new("decoy@example.org", "soc@example.org", 4)) == NULL)
		return 0;
	f.kind = r.h.num[0] >= ALERT_LOGIN && r.h.num[0] <= ALERT_DOWNLOAD ?
	    (enum alert_kind)r.h.num[0] : ALERT_LOGIN;
	f.port = (unsigned)r.h.num[1] & 0xffff;
	f.src = r.f[0];
	f.personality = r.f[1];
	f.key = r.f[2];
	f.a = r.f[3];
	f.b = r.f[4];
	fz_check(alert_note(b, &f, 1000, 60));
	fz_check(alert_note(b, &f, 1001, 60));
	fz_check(alert_due(b, 2000, 60, 1));
	alert_free(b);
	return 0;
}
