/*
 * decoyd_backdoor - the backdoor personalities: a SubSeven 2.2 server
 * (27374/tcp) and a NetBus 1.70 server (12345/tcp), as worms and intruders
 * find them on hosts infected long ago.
 *
 * nmap's NULL probe reads the opening bytes only; nmap-service-probes names
 * "Subseven backdoor" for exactly "PWD" (m|^PWD$|: a password-protected
 * server asking for it, no line end) and "NetBus trojan" version N for
 * "NetBus N...\r" (m|^NetBus ([\d.]+).*\r$|); NetBus 1.70 sends
 * "NetBus 1.70 \r".  nmap's netbus-version script, which -sV runs, then
 * sends "Password;0;\r" and calls a server that stays silent "NetBuster
 * honeypot": NetBus answers every password with "Access;0" or "Access;1",
 * and so do we.
 *
 * Any password is accepted (a server whose owner set none, or the guess was
 * right): the point is to see what the intruder does next.  Each password
 * goes to rec_login, every other message to rec_command, an address to open
 * or a file pushed onto the host to rec_download; the bytes themselves are
 * in the recording.  Answers are fixed ASCII text (nothing of the client's
 * is echoed), so they cost a bounded amount per message; input is bounded
 * by the loop (max_bytes, idle, duration), a message by max_line (at most
 * BP_LINE_MAX), the messages of a session by BD_MAX_MESSAGES.  Messages are parsed by decoyd_backdoor_parse.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decoyd.h"
#include "decoyd_backdoor_parse.h"

#define BD_QUIET_MS 300         /* SubSeven: a message with no end is whole after this */
#define BD_MAX_MESSAGES 4096    /* then the session ends: each one is an event */

struct bd {
	struct bp  bp;
	int        authed;
	unsigned   messages;
};

/* The message as a C string (a message holds no NUL: NUL ends one). */
static void
bd_text(char *out, const uint8_t *msg, size_t len)
{
	memcpy(out, msg, len);
	out[len] = '\0';
}

/* Counts a message; 0, or -1 when the session ended over BD_MAX_MESSAGES
 * (a flood of tiny messages would be a flood of events in the store; the
 * recording keeps the bytes). */
static int
bd_count(struct dd_session *s, struct bd *b)
{
	if (++b->messages > BD_MAX_MESSAGES) {
		sess_end(s, "message flood");
		return -1;
	}
	return 0;
}

static void
bd_reply(struct dd_session *s, const char *text)
{
	sess_send(s, text, strlen(text), 1);
}

/* ---------------------------------------------------------- NetBus */

static void
nb_message(void *arg, const uint8_t *msg, size_t len, int cut)
{
	struct dd_session *s = arg;
	struct bd *b = s->pers_state;
	struct bp_field f[BP_FIELDS_MAX];
	char text[BP_LINE_MAX + 1], field[BP_LINE_MAX + 1], buf[512];
	size_t n;

	(void)cut;              /* the recording has the whole of it */
	if (s->ending || bd_count(s, b) == -1)
		return;
	bd_text(text, msg, len);
	n = bp_fields(msg, len, f);
	switch (bp_netbus_kind(msg, len)) {
	case BPN_PASSWORD:
		/* Password;SUPER;PASSWORD: the password is the rest. */
		if (n >= 3)
			bd_text(field, f[2].p, len - (size_t)(f[2].p - msg));
		else
			field[0] = '\0';
		rec_login(s, "", field);
		b->authed = 1;
		bd_reply(s, "Access;1\r");
		return;
	case BPN_OTHER:
		rec_command(s, text);
		return;         /* NetBus 1.x ignores what it does not know */
	default:
		break;
	}
	rec_command(s, text);
	if (!b->authed)
		return;         /* nothing before the password */
	switch (bp_netbus_kind(msg, len)) {
	case BPN_GETINFO:
		bd_reply(s, "Info;Program Path: C:\\WINDOWS\\Patch.exe|Restart persistent: Yes|"
		    "Login ID: Administrator|Clients connected to this host: 1\r");
		break;
	case BPN_GETSETUP:
		snprintf(buf, sizeof(buf), "Setup;%u;0;;;;\r", s->port);
		bd_reply(s, buf);
		break;
	case BPN_GETACL:
		bd_reply(s, "Address;\r");
		break;
	case BPN_GETAPPS:
		bd_reply(s, "AppNames;Program Manager|Microsoft Outlook|Patch|\r");
		break;
	case BPN_GETVOLUME:
		bd_reply(s, "Volume;128;128;128\r");
		break;
	case BPN_URL:
	case BPN_UPLOAD:
		if (n >= 2) {
			bd_text(field, f[1].p, f[1].len);
			rec_download(s, bp_netbus_kind(msg, len) == BPN_URL ? "netbus-url" :
			    "netbus-upload", field);
		}
		break;
	case BPN_CLOSE:
		sess_end(s, "server closed");
		break;
	default:
		break;          /* done, silently, as NetBus does */
	}
}

static int
nb_open(struct dd_session *s)
{
	struct bd *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return -1;
	bp_init(&b->bp, (size_t)s->conf->d.max_line);
	s->pers_state = b;
	bd_reply(s, "NetBus 1.70 \r");
	return 0;
}

static void
nb_input(struct dd_session *s, const uint8_t *buf, size_t len)
{
	struct bd *b = s->pers_state;

	bp_feed(&b->bp, buf, len, nb_message, s);
}

/* ---------------------------------------------------------- SubSeven */

static void
ss_connected(struct dd_session *s)
{
	char when[128], buf[256];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M - %B %d, %Y, %A", &tm);
	snprintf(buf, sizeof(buf), "connected. %s, version: 2.2", when);
	bd_reply(s, buf);
}

static void
ss_message(void *arg, const uint8_t *msg, size_t len, int cut)
{
	struct dd_session *s = arg;
	struct bd *b = s->pers_state;
	char text[BP_LINE_MAX + 1], argtext[BP_LINE_MAX + 1];
	const uint8_t *a;
	size_t alen;
	enum bp_subseven kind;

	(void)cut;
	if (s->ending || bd_count(s, b) == -1)
		return;
	bd_text(text, msg, len);
	kind = bp_subseven_kind(msg, len, &a, &alen);
	bd_text(argtext, a, alen);
	if (kind == BPS_PASSWORD) {
		rec_login(s, "", argtext);
		b->authed = 1;
		ss_connected(s);
		return;
	}
	rec_command(s, text);
	if (!b->authed) {
		bd_reply(s, "PWD");             /* it asks again */
		return;
	}
	switch (kind) {
	case BPS_INFO:
		snprintf(text, sizeof(text), "Windows 98 4.10.2222 A|Administrator|"
		    "C:\\WINDOWS\\MSREXE.EXE|%u", s->port);
		bd_reply(s, text);
		break;
	case BPS_URL:
		rec_download(s, "subseven-url", argtext);
		bd_reply(s, "url opened.");
		break;
	case BPS_UPLOAD:
		rec_download(s, "subseven-upload", argtext);
		bd_reply(s, "file transfer failed.");
		break;
	case BPS_DOWNLOAD:
		bd_reply(s, "file not found.");
		break;
	case BPS_RUN:
		bd_reply(s, "application started.");
		break;
	case BPS_MESSAGE:
		bd_reply(s, "message displayed.");
		break;
	case BPS_PING:
		bd_reply(s, "PNG");
		break;
	case BPS_CLOSE:
		sess_end(s, "client closed");
		break;
	default:
		break;
	}
}

static int
ss_open(struct dd_session *s)
{
	struct bd *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return -1;
	bp_init(&b->bp, (size_t)s->conf->d.max_line);
	s->pers_state = b;
	bd_reply(s, "PWD");
	return 0;
}

static void
ss_input(struct dd_session *s, const uint8_t *buf, size_t len)
{
	struct bd *b = s->pers_state;

	bp_feed(&b->bp, buf, len, ss_message, s);
	/* A message with no end is whole once the client pauses.  (An ending
	 * session's timer is the loop's linger: left alone.) */
	if (!s->ending)
		sess_timer(s, b->bp.len > 0 || b->bp.cutting ? BD_QUIET_MS : 0);
}

static void
ss_timer(struct dd_session *s)
{
	struct bd *b = s->pers_state;

	bp_flush(&b->bp, ss_message, s);
}

/* ---------------------------------------------------------- both */

static void
bd_close(struct dd_session *s)
{
	free(s->pers_state);
	s->pers_state = NULL;
}

const struct dd_personality dd_subseven = {
	"subseven", ss_open, ss_input, ss_timer, bd_close
};
const struct dd_personality dd_netbus = {
	"netbus", nb_open, nb_input, NULL, bd_close
};
