/*
 * decoyd_cmd_parse - the line-based command protocols (FTP, SMTP) as a pure
 * parser of a client's bytes, shared by decoyd_ftp.c and decoyd_smtp.c.
 *
 * Lines end at LF; one CR right before it is dropped (CR LF and bare LF
 * both end a line, as vsftpd and Postfix accept).  A line is at most
 * max - 1 bytes: the rest of a longer one is dropped up to its LF (counted
 * in cmdp.dropped) and the line comes out cut, as Postfix's smtpd does with
 * its line_length_limit.  Each line comes out split as vsftpd splits it: the
 * first word (up to the first space) upper-cased as the verb, the rest as
 * the argument.  The buffer grows to max + 1 bytes at most; a partial line at
 * the end of the input stays buffered for the next feed.
 *
 * Beside it, what SMTP AUTH needs of outside input: base64 decoding and the
 * AUTH PLAIN message's split.  None of these trusts its input.
 */
#ifndef MOAT_DECOYD_CMD_PARSE_H
#define MOAT_DECOYD_CMD_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define CMDP_VERB_MAX 15

struct cmdp_line {
	const char *line;       /* the line, NUL-terminated (NUL bytes may come before len) */
	size_t      len;
	/* The first word upper-cased when it is 1..CMDP_VERB_MAX printable
	 * ASCII bytes; "" otherwise (an empty line, a line starting with a
	 * space, an over-long or binary first word). */
	char        verb[CMDP_VERB_MAX + 1];
	const char *arg;        /* after the first space; "" when none */
	int         cut;        /* the line was longer than max - 1 and is cut */
};

struct cmdp {
	char     *buf;          /* owned; grows to max + 1 */
	size_t    len, cap, max;
	int       dropping;     /* inside the dropped rest of a long line */
	uint64_t  dropped;      /* bytes dropped from long lines */
};

/* Called for each whole line (valid only during the call).  Returns 0 to go
 * on, 1 to stop: the rest of this feed is not parsed (QUIT). */
typedef int cmdp_fn(void *arg, const struct cmdp_line *l);

/* max: longest line plus one (at least 2). */
void cmdp_init(struct cmdp *p, size_t max);
/* Feeds len bytes, any split.  Returns 0, 1 when fn stopped it, or -1 out
 * of memory (the parser stays usable). */
int  cmdp_feed(struct cmdp *p, const uint8_t *buf, size_t len, cmdp_fn *fn, void *arg);
/* Frees the buffer; the parser may be fed again.  Accepts a zeroed one. */
void cmdp_free(struct cmdp *p);

/* Decodes base64 (RFC 4648 alphabet, '=' padding optional at the end only,
 * no white space) into out.  Returns the length, or -1 when the text is not
 * base64 or would not fit in cap. */
long cmdp_b64decode(const char *in, size_t len, uint8_t *out, size_t cap);

/* Splits an AUTH PLAIN message "authzid NUL authcid NUL password" into user
 * (the authcid) and password, NUL-terminated and cut to their caps.  Returns
 * 0, or -1 when it is not made of three parts. */
int  cmdp_plain(const uint8_t *msg, size_t len, char *user, size_t ucap, char *pass,
    size_t pcap);

/* Copies in (len bytes) to out for an answer that echoes the client's text:
 * control bytes become '?'; cut to cap - 1.  Returns out. */
char *cmdp_printable(char *out, size_t cap, const char *in, size_t len);

#endif
