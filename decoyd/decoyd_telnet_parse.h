/*
 * decoyd_telnet_parse - the telnet protocol (RFC 854/855) as a pure parser
 * of a client's bytes: data, option commands (WILL/WONT/DO/DONT), other
 * commands and subnegotiations come out through callbacks, with NVT line
 * ends normalized (CR LF and CR NUL become one CR... see tp_feed).  It holds
 * no buffer but the subnegotiation's (bounded: a longer one is cut, counted
 * in tp->sb_cut), never allocates, and accepts any bytes in any split.
 */
#ifndef MOAT_DECOYD_TELNET_PARSE_H
#define MOAT_DECOYD_TELNET_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define TN_IAC   255
#define TN_DONT  254
#define TN_DO    253
#define TN_WONT  252
#define TN_WILL  251
#define TN_SB    250
#define TN_GA    249
#define TN_EL    248
#define TN_EC    247
#define TN_AYT   246
#define TN_AO    245
#define TN_IP    244
#define TN_BRK   243
#define TN_DM    242
#define TN_NOP   241
#define TN_SE    240

#define TO_ECHO      1
#define TO_SGA       3
#define TO_TTYPE     24
#define TO_NAWS      31
#define TO_TSPEED    32
#define TO_LFLOW     33
#define TO_LINEMODE  34
#define TO_XDISPLOC  35
#define TO_NEWENV    39

#define TP_SB_MAX 256

struct tp_ops {
	/* Plain data bytes (a run; CR LF / CR NUL already folded to CR). */
	void (*data)(void *arg, const uint8_t *buf, size_t len);
	/* verb: TN_WILL, TN_WONT, TN_DO or TN_DONT. */
	void (*option)(void *arg, int verb, int opt);
	/* Any other command (TN_IP, TN_AYT, TN_NOP ...). */
	void (*command)(void *arg, int cmd);
	/* A whole subnegotiation: its option and up to TP_SB_MAX bytes. */
	void (*sb)(void *arg, int opt, const uint8_t *buf, size_t len);
};

struct tp {
	int      state;
	int      verb;
	size_t   sb_len;
	uint64_t sb_cut;        /* bytes of subnegotiations dropped (over TP_SB_MAX) */
	uint8_t  sb[TP_SB_MAX];
};

void tp_init(struct tp *tp);
/* Feeds len bytes.  CR followed by LF or NUL yields one CR; a lone CR
 * followed by anything else yields the CR then that byte. */
void tp_feed(struct tp *tp, const struct tp_ops *ops, void *arg,
    const uint8_t *buf, size_t len);

#endif
