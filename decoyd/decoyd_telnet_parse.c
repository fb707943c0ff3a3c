/* The telnet parser (see decoyd_telnet_parse.h). */
#include <string.h>

#include "decoyd_telnet_parse.h"

enum { TS_DATA, TS_CR, TS_IAC, TS_OPT, TS_SB, TS_SB_OPT_IAC_WAIT, TS_SB_IAC };

void
tp_init(struct tp *tp)
{
	memset(tp, 0, sizeof(*tp));
	tp->state = TS_DATA;
}

static void
tp_sb_byte(struct tp *tp, uint8_t c)
{
	if (tp->sb_len < TP_SB_MAX)
		tp->sb[tp->sb_len++] = c;
	else
		tp->sb_cut++;
}

void
tp_feed(struct tp *tp, const struct tp_ops *ops, void *arg, const uint8_t *buf,
    size_t len)
{
	size_t i, run = 0;      /* run: start of pending plain data */
	uint8_t c;

#define FLUSH(end) do { if ((end) > run) ops->data(arg, buf + run, (end) - run); } while (0)
	for (i = 0; i < len; i++) {
		c = buf[i];
		switch (tp->state) {
		case TS_DATA:
			if (c == TN_IAC) {
				FLUSH(i);
				tp->state = TS_IAC;
			} else if (c == '\r') {
				FLUSH(i + 1);
				run = i + 1;
				tp->state = TS_CR;
				continue;
			}
			if (c == TN_IAC)
				run = i + 1;
			break;
		case TS_CR:             /* the CR went out; swallow LF or NUL */
			tp->state = TS_DATA;
			if (c == '\n' || c == '\0') {
				run = i + 1;
				break;
			}
			i--;            /* anything else is read again as data */
			run = i + 1;
			break;
		case TS_IAC:
			run = i + 1;
			if (c == TN_IAC) {      /* escaped 255: one data byte */
				ops->data(arg, &c, 1);
				tp->state = TS_DATA;
			} else if (c >= TN_WILL && c <= TN_DONT) {
				tp->verb = c;
				tp->state = TS_OPT;
			} else if (c == TN_SB) {
				tp->state = TS_SB_OPT_IAC_WAIT;
			} else {
				if (ops->command != NULL)
					ops->command(arg, c);
				tp->state = TS_DATA;
			}
			break;
		case TS_OPT:
			run = i + 1;
			ops->option(arg, tp->verb, c);
			tp->state = TS_DATA;
			break;
		case TS_SB_OPT_IAC_WAIT:        /* the option byte of SB */
			run = i + 1;
			tp->verb = c;
			tp->sb_len = 0;
			tp->state = TS_SB;
			break;
		case TS_SB:
			run = i + 1;
			if (c == TN_IAC)
				tp->state = TS_SB_IAC;
			else
				tp_sb_byte(tp, c);
			break;
		case TS_SB_IAC:
			run = i + 1;
			if (c == TN_SE) {
				if (ops->sb != NULL)
					ops->sb(arg, tp->verb, tp->sb, tp->sb_len);
				tp->state = TS_DATA;
			} else {
				/* IAC IAC is a 255 inside; anything else is kept
				 * as is (lenient like netkit). */
				if (c != TN_IAC)
					tp_sb_byte(tp, TN_IAC);
				tp_sb_byte(tp, c);
				tp->state = TS_SB;
			}
			break;
		}
	}
	if (tp->state == TS_DATA)
		FLUSH(len);
#undef FLUSH
}
