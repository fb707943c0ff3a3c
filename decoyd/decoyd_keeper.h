/*
 * decoyd_keeper - moat-decoyd's second process and what it shares with the
 * first, in the OpenSMTPD manner (privilege separation).
 *
 * The loop process (decoyd_loop.c) talks to intruders: it runs chrooted in
 * decoyd.record_dir as common.user under a seccomp list with no exec, no
 * fork and no outbound traffic (struct daemon_desc no_outbound), and holds
 * no store connection.  The keeper (decoyd_keeper.c), forked as root in the
 * bind hook, drops to common.user itself (no chroot: it reaches the store
 * and the SMTP server), installs its own seccomp list and owns the store
 * connections (events, decoy_sessions) and libcurl (alerts).
 *
 * Between them, one SOCK_SEQPACKET socketpair, loop -> keeper only: each
 * message holds records back to back, each struct relay_head then its
 * fields' bytes in order.  The loop gathers records and sends a message
 * when the next one would not fit and after each round of its events
 * (decoyd_relay.c), never waiting: a full socket drops the message's records (counted, logged once
 * per burst); a dead keeper is logged and the loop goes on recording to
 * files.  (A message per record cost a wake-up of the keeper per record:
 * 0.6 of the sessions per second of one process.)  The keeper trusts nothing in a record
 * (a loop that an intruder took over writes them): relay_parse()
 * checks the sizes, kinds are checked against the catalog, text is bound
 * into SQL as parameters and sanitised for mail.  The keeper exits at the
 * channel's end of file (the loop process is gone).
 */
#ifndef MOAT_DECOYD_KEEPER_H
#define MOAT_DECOYD_KEEPER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "decoyd.h"
#include "events.h"

/* ---------------------------------------------------------- the records */

#define RELAY_MAX     (48 * 1024)   /* one record, head included */
#define RELAY_BATCH   (64 * 1024)   /* one message: records back to back */
#define RELAY_FIELDS  5

enum relay_type {
	RELAY_EVENT = 1,    /* num: severity, subscriber_id, has_src;
	                     * fields: kind, src_ip, detail_json */
	RELAY_ROW,          /* num: started, ended, port, has_path;
	                     * fields: src, personality, path, summary */
	RELAY_FACT,         /* num: enum alert_kind, port;
	                     * fields: src, personality, session key, a, b */
};

struct relay_head {
	uint32_t type;
	uint32_t len[RELAY_FIELDS];     /* bytes of each field after the head */
	int64_t  num[4];
};

/* A checked record: fields NUL-terminated in the caller's scratch (at
 * least RELAY_MAX + RELAY_FIELDS bytes); a field may hold no NUL. */
struct relay_rec {
	struct relay_head h;
	const char       *f[RELAY_FIELDS];
};
/* Checks the record at the start of msg (n bytes left in the message) and
 * fills r.  Returns the record's length, or -1 when it is malformed (short,
 * unknown type, lengths past the message or RELAY_MAX, a NUL inside a
 * field): the rest of that message cannot be framed and is dropped. */
ssize_t relay_parse(const void *msg, size_t n, char *scratch, struct relay_rec *r);

/* ---------------------------------------------------------- loop side
 * decoyd_relay.c; called from the loop's one thread. */

/* As root (bind hook): the socketpair, the keeper forked, events diverted
 * to it.  Returns 0 or -1 (logged). */
int  relay_open(struct dd_conf *c);
/* Facts for alerts, from rec_login/rec_command/rec_download. */
enum alert_kind { ALERT_LOGIN = 1, ALERT_COMMAND, ALERT_DOWNLOAD };
void relay_fact(const struct dd_session *s, enum alert_kind kind, const char *a,
    const char *b);
/* The decoy_sessions row of an ended session. */
void relay_row(int64_t started, int64_t ended, const char *src, unsigned port,
    const char *personality, const char *path, const char *summary);
/* Sends the gathered records as one message, or counts them dropped; the
 * loop calls it after each round of events. */
void relay_flush(void);
/* Sends what is gathered and notices a dead keeper (logs it once); called
 * every second. */
void relay_check(void);
/* Ends the channel and waits (bounded) for the keeper to write what it
 * holds and exit. */
void relay_close(void);
/* Records dropped (full socket or dead keeper) since start. */
uint64_t relay_dropped(void);

/* ---------------------------------------------------------- keeper side */

/* decoyd_keeper.c: the keeper process's life; never returns. */
void keeper_main(struct dd_conf *c, int fd) __attribute__((noreturn));
/* The keeper's seccomp allow list (for daemon_seccomp; tests read it). */
extern const char *const keeper_seccomp[];
/* The loop process's list (decoyd_life.c), installed with no_outbound. */
extern const char *const dd_seccomp_allow[];

/* decoyd_rows.c: the decoy_sessions writer thread. */
int  rows_start(const char *store, char *err, size_t errlen);
/* Queues a row (copies everything).  A full queue drops it, logged. */
void rows_put(int64_t started, int64_t ended, const char *src, unsigned port,
    const char *personality, const char *path, const char *summary);
void rows_stop(void);

/* decoyd_alert.c: condensing facts into mails, pure (no I/O, time given).
 * One state per source address: the first fact mails at once and opens a
 * window; facts inside it are gathered and mailed as one summary when it
 * ends, which opens the next window; a window that ends with nothing new
 * forgets the source. */
struct alert_book;
struct alert_fact {
	enum alert_kind kind;
	const char     *src, *personality, *key;
	unsigned        port;
	const char     *a, *b;          /* user, password | command | tool, URL */
};
/* A mail ready to submit: text is the whole message (headers, CRLF). */
struct alert_mail {
	char   *text;
	char    src[64];
	char   *keys;                   /* session keys, space-separated */
	int     summary;                /* 0: first mail of a window */
	unsigned logins, commands, downloads;
};
/* from, to: header addresses; max_sources bounds the book. NULL: no memory. */
struct alert_book *alert_new(const char *from, const char *to, size_t max_sources);
void alert_free(struct alert_book *b);      /* accepts NULL */
/* Notes a fact at now; returns a mail to send at once (the caller owns it,
 * alert_mail_free) or NULL. */
struct alert_mail *alert_note(struct alert_book *b, const struct alert_fact *f,
    time_t now, long long window);
/* The next window that ends (0: none). */
time_t alert_next(const struct alert_book *b);
/* A summary whose window ended by now (force: every window), or NULL; call
 * until NULL. */
struct alert_mail *alert_due(struct alert_book *b, time_t now, long long window,
    int force);
void alert_mail_free(struct alert_mail *m);  /* accepts NULL */
/* Attacker bytes as one line of text for a mail body: printable ASCII and
 * well-formed printable UTF-8 kept, '\\' doubled, everything else \xHH;
 * at most cap - 1 bytes, never a split sequence ("..." when cut).  Returns
 * out. */
char *alert_clean(char *out, size_t cap, const char *in);
/* Facts counted but not kept: sources over max_sources. */
uint64_t alert_dropped(const struct alert_book *b);

/* decoyd_alertmail.c: the mailer thread (libcurl SMTP), bounded queue,
 * retries with back-off; a decoy.alert event per mail sent. */
int  alertmail_start(const char *url, const char *from, const char *to, size_t max);
/* Takes m (freed by the mailer).  A full queue drops it, logged. */
void alertmail_put(struct alert_mail *m);
/* One last attempt at what is queued, within about secs seconds, then
 * stops the thread; what is left is logged as lost. */
void alertmail_stop(int secs);

#endif
