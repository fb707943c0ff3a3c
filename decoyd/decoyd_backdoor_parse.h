/*
 * decoyd_backdoor_parse - what a client of the SubSeven and NetBus trojans
 * sends, as a pure parser: no I/O, no allocation, any bytes in any split.
 *
 * Both speak short text messages.  A NetBus 1.x client ends each with CR
 * ("Password;0;secret\r", "GetInfo\r") and separates fields with ';'.  A
 * SubSeven 2.x client sends a three-letter code and its argument in one TCP
 * segment, usually with no terminator ("PWDsecret", "URLhttp://..."), so
 * its messages end at CR, LF or NUL, or when the caller says the client
 * went quiet (bp_flush).
 *
 * bp_feed() cuts messages at CR, LF and NUL (empty ones are skipped, so
 * CR LF is one end).  A message is kept up to the limit given to bp_init()
 * (at most BP_LINE_MAX bytes); the rest of a longer one is dropped, counted
 * in bp->cut, and the message comes out cut with its flag set.  Messages
 * never contain CR, LF or NUL.
 */
#ifndef MOAT_DECOYD_BACKDOOR_PARSE_H
#define MOAT_DECOYD_BACKDOOR_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define BP_LINE_MAX   4096          /* longest message kept (bytes) */
#define BP_FIELDS_MAX 8             /* NetBus fields split out (the last keeps the rest) */

/* One message: its bytes (not NUL-terminated) and whether it was cut. */
typedef void (*bp_message_fn)(void *arg, const uint8_t *msg, size_t len, int cut);

struct bp {
	size_t   max;           /* bytes kept of one message, <= BP_LINE_MAX */
	size_t   len;           /* pending bytes in buf */
	int      cutting;       /* the pending message passed max */
	uint64_t cut;           /* bytes dropped over max, all messages */
	uint8_t  buf[BP_LINE_MAX];
};

/* max: longest message kept (0 or more than BP_LINE_MAX means BP_LINE_MAX). */
void bp_init(struct bp *bp, size_t max);
/* Feeds len bytes; fn gets every message they end. */
void bp_feed(struct bp *bp, const uint8_t *buf, size_t len, bp_message_fn fn, void *arg);
/* Ends the pending message, if any (the client went quiet): 1 when one
 * came out, else 0. */
int  bp_flush(struct bp *bp, bp_message_fn fn, void *arg);

/* ---------------------------------------------------------- NetBus */

enum bp_netbus {
	BPN_OTHER,              /* unknown to NetBus 1.x: ignored silently */
	BPN_PASSWORD,           /* Password;SUPER;PASSWORD */
	BPN_GETINFO, BPN_GETSETUP, BPN_GETACL, BPN_GETAPPS, BPN_GETVOLUME,
	BPN_GETDISKS, BPN_GETFILES,
	BPN_URL,                /* URL;http://... : opens a browser there */
	BPN_UPLOAD,             /* UploadFile;PATH;SIZE : a file pushed onto the host */
	BPN_DOWNLOAD,           /* DownloadFile;PATH : a file taken from the host */
	BPN_STARTAPP,           /* StartApp;PATH */
	BPN_ACTION,             /* Eject, Message, KeyClick ...: done silently */
	BPN_CLOSE               /* CloseServer, RemoveServer: the server goes away */
};

struct bp_field {
	const uint8_t *p;
	size_t         len;
};

/* Splits msg at ';' into at most BP_FIELDS_MAX fields (the last takes the
 * rest, ';' included); returns their count (>= 1). */
size_t bp_fields(const uint8_t *msg, size_t len, struct bp_field *f);
/* What a NetBus message asks, by its first field (the command names are
 * matched exactly, as the server does). */
enum bp_netbus bp_netbus_kind(const uint8_t *msg, size_t len);

/* ---------------------------------------------------------- SubSeven */

enum bp_subseven {
	BPS_OTHER,              /* an unknown code: no answer */
	BPS_PASSWORD,           /* PWDpassword */
	BPS_INFO,               /* SIN: server information */
	BPS_URL,                /* URL: open a browser at an address */
	BPS_UPLOAD,             /* UPL: a file pushed onto the host (name) */
	BPS_DOWNLOAD,           /* DWL: a file taken from the host (name) */
	BPS_RUN,                /* RUN: start a program */
	BPS_MESSAGE,            /* MSG: a message box */
	BPS_PING,               /* PNG: are you there */
	BPS_CLOSE               /* CLS: the client says goodbye */
};

/* The code of a SubSeven message (its first three bytes) and, in *arg and
 * *arglen, the rest. */
enum bp_subseven bp_subseven_kind(const uint8_t *msg, size_t len, const uint8_t **arg,
    size_t *arglen);

#endif
