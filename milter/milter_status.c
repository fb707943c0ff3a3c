/*
 * milter_status - the texts moat-milter writes about a message: the
 * X-Virus-Scanned and X-Moat-Status header values and recipient lists for
 * the per-message log line.  Pure formatting, unit-tested.
 */
#include <stdio.h>
#include <string.h>

#include "milter.h"

const char *
verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_CLEAN:       return "clean";
	case VERDICT_INFECTED:    return "infected";
	case VERDICT_UNSCANNABLE: return "unscannable";
	case VERDICT_ERROR:       return "error";
	case VERDICT_UNSCANNED:   return "unscanned";
	case VERDICT_REPAIRED:    return "repaired";
	}
	return "?";
}

void
status_scanned_value(char *buf, size_t len, const char *engine_desc)
{
	snprintf(buf, len, " %s %s (%s)", MILTER_NAME, MOAT_VERSION, engine_desc);
}

/* Header values must stay one line: anything below 0x20 becomes '?'. */
static void
sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void
status_value(char *buf, size_t len, const struct scan_result *r, const char *action)
{
	switch (r->verdict) {
	case VERDICT_CLEAN:
		snprintf(buf, len, " clean");
		break;
	case VERDICT_INFECTED:
		snprintf(buf, len, " infected (%s); action=%s", r->virus, action);
		break;
	case VERDICT_REPAIRED:
		snprintf(buf, len, " repaired (%s)", r->virus);
		break;
	case VERDICT_UNSCANNABLE:
	case VERDICT_ERROR:
	case VERDICT_UNSCANNED:
		snprintf(buf, len, " unscanned (%s)%s%s", r->reason[0] ? r->reason : verdict_name(r->verdict),
		    action && action[0] ? "; action=" : "", action ? action : "");
		break;
	}
	sanitize(buf);
}

void
status_rcpt_list(char *buf, size_t len, const struct milter_msg *mc, const char *sep,
    int brackets)
{
	size_t used = 0;
	int n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < mc->mc_nrcpts; i++) {
		n = snprintf(buf + used, len - used, "%s%s%s%s", i ? sep : "",
		    brackets ? "<" : "", mc->mc_rcpts[i].mr_addr, brackets ? ">" : "");
		if (n < 0 || (size_t)n >= len - used) {
			/* Truncate on a whole entry and say so. */
			buf[used] = '\0';
			if (used + 4 < len)
				strcat(buf, i ? ",..." : "...");
			return;
		}
		used += (size_t)n;
	}
}
