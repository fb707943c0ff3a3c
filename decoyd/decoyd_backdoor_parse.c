/* The backdoor clients' messages (see decoyd_backdoor_parse.h). */
#include <string.h>

#include "decoyd_backdoor_parse.h"

void
bp_init(struct bp *bp, size_t max)
{
	bp->max = max == 0 || max > BP_LINE_MAX ? BP_LINE_MAX : max;
	bp->len = 0;
	bp->cutting = 0;
	bp->cut = 0;
}

static int
bp_end(struct bp *bp, bp_message_fn fn, void *arg)
{
	int had = bp->len > 0 || bp->cutting;

	if (had)
		fn(arg, bp->buf, bp->len, bp->cutting);
	bp->len = 0;
	bp->cutting = 0;
	return had;
}

void
bp_feed(struct bp *bp, const uint8_t *buf, size_t len, bp_message_fn fn, void *arg)
{
	size_t i, run, n;

	for (i = 0; i < len; i = run) {
		/* A run of plain bytes, copied at once. */
		for (run = i; run < len && buf[run] != '\r' && buf[run] != '\n' &&
		    buf[run] != '\0'; run++)
			;
		n = run - i;
		if (bp->len + n > bp->max) {
			bp->cut += bp->len + n - bp->max;
			n = bp->max - bp->len;
			bp->cutting = 1;
		}
		memcpy(bp->buf + bp->len, buf + i, n);
		bp->len += n;
		if (run < len) {                /* a terminator */
			bp_end(bp, fn, arg);
			run++;
		}
	}
}

int
bp_flush(struct bp *bp, bp_message_fn fn, void *arg)
{
	return bp_end(bp, fn, arg);
}

/* ---------------------------------------------------------- NetBus */

size_t
bp_fields(const uint8_t *msg, size_t len, struct bp_field *f)
{
	size_t n = 0, start = 0, i;

	for (i = 0; i < len && n + 1 < BP_FIELDS_MAX; i++)
		if (msg[i] == ';') {
			f[n].p = msg + start;
			f[n++].len = i - start;
			start = i + 1;
		}
	f[n].p = msg + start;
	f[n++].len = len - start;
	return n;
}

static const struct {
	const char     *name;
	enum bp_netbus  kind;
} bp_netbus_cmds[] = {
	{ "Password", BPN_PASSWORD },
	{ "GetInfo", BPN_GETINFO },
	{ "GetSetup", BPN_GETSETUP },
	{ "GetACL", BPN_GETACL },
	{ "GetApps", BPN_GETAPPS },
	{ "GetVolume", BPN_GETVOLUME },
	{ "GetDisks", BPN_GETDISKS },
	{ "GetFiles", BPN_GETFILES },
	{ "URL", BPN_URL },
	{ "UploadFile", BPN_UPLOAD },
	{ "DownloadFile", BPN_DOWNLOAD },
	{ "StartApp", BPN_STARTAPP },
	{ "Eject", BPN_ACTION },
	{ "Message", BPN_ACTION },
	{ "KeyClick", BPN_ACTION },
	{ "SendKeys", BPN_ACTION },
	{ "SwapButton", BPN_ACTION },
	{ "SetMousePos", BPN_ACTION },
	{ "PlaySound", BPN_ACTION },
	{ "ShowImage", BPN_ACTION },
	{ "ScreenDump", BPN_ACTION },
	{ "DeleteFile", BPN_ACTION },
	{ "ExitWindows", BPN_ACTION },
	{ "ServerPwd", BPN_ACTION },
	{ "CloseServer", BPN_CLOSE },
	{ "RemoveServer", BPN_CLOSE },
};

enum bp_netbus
bp_netbus_kind(const uint8_t *msg, size_t len)
{
	struct bp_field f[BP_FIELDS_MAX];
	size_t i;

	bp_fields(msg, len, f);
	for (i = 0; i < sizeof(bp_netbus_cmds) / sizeof(bp_netbus_cmds[0]); i++)
		if (strlen(bp_netbus_cmds[i].name) == f[0].len &&
		    memcmp(bp_netbus_cmds[i].name, f[0].p, f[0].len) == 0)
			return bp_netbus_cmds[i].kind;
	return BPN_OTHER;
}

/* ---------------------------------------------------------- SubSeven */

static const struct {
	char              code[4];
	enum bp_subseven  kind;
} bp_subseven_codes[] = {
	{ "PWD", BPS_PASSWORD },
	{ "SIN", BPS_INFO },
	{ "URL", BPS_URL },
	{ "UPL", BPS_UPLOAD },
	{ "DWL", BPS_DOWNLOAD },
	{ "RUN", BPS_RUN },
	{ "MSG", BPS_MESSAGE },
	{ "PNG", BPS_PING },
	{ "CLS", BPS_CLOSE },
};

enum bp_subseven
bp_subseven_kind(const uint8_t *msg, size_t len, const uint8_t **arg, size_t *arglen)
{
	size_t i;

	*arg = msg + (len < 3 ? len : 3);
	*arglen = len < 3 ? 0 : len - 3;
	if (len < 3)
		return BPS_OTHER;
	for (i = 0; i < sizeof(bp_subseven_codes) / sizeof(bp_subseven_codes[0]); i++)
		if (memcmp(bp_subseven_codes[i].code, msg, 3) == 0)
			return bp_subseven_codes[i].kind;
	return BPS_OTHER;
}
