/*
 * decoyd - moat-decoyd's internal API.
 *
 * One thread runs one epoll loop (decoyd_loop.c) over the listeners and
 * every session; personalities (decoyd_telnet.c) are sets of callbacks the
 * loop calls with a session's bytes, and they answer through sess_send().
 * Each session is recorded (decoyd_record.c) as an asciicast v2 file, JSON
 * events and, at its end, a decoy_sessions row; events and rows go to the
 * keeper process, which owns the store (decoyd_keeper.h), so the loop never
 * waits on SQLite and holds no store.
 *
 * Ownership: the loop owns every struct dd_session: it allocates one at
 * accept and frees it in sess_free() (the one cleanup: personality close,
 * recording end, fd, timer, table slot), on every path.  A personality owns
 * sess->pers_state (allocated in its open, freed in its close).  The
 * recording (struct dd_rec) belongs to the session.  Personalities never
 * close a session themselves: they call sess_end(), and the loop frees it
 * once its output is flushed (or cannot be).
 */
#ifndef MOAT_DECOYD_H
#define MOAT_DECOYD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "daemon.h"
#include "decoyd_conf.h"

struct dd_conf {
	DAEMON_CONF_HEAD;
	struct decoyd_conf d;
};

struct dd_session;

/* A personality: callbacks of the loop.  open sends the greeting; input
 * gets every byte the client sends (already recorded); timer is called
 * when sess->pers_deadline passes; close frees pers_state. */
struct dd_personality {
	const char *name;
	int   (*open)(struct dd_session *s);            /* 0, or -1: close now */
	void  (*input)(struct dd_session *s, const uint8_t *buf, size_t len);
	void  (*timer)(struct dd_session *s);
	void  (*close)(struct dd_session *s);
};
extern const struct dd_personality dd_telnet;     /* decoyd_telnet.c */
extern const struct dd_personality dd_ftp;        /* decoyd_ftp.c */
extern const struct dd_personality dd_http;       /* decoyd_http.c */
extern const struct dd_personality dd_smtp;       /* decoyd_smtp.c */
extern const struct dd_personality dd_subseven;   /* decoyd_backdoor.c */
extern const struct dd_personality dd_netbus;     /* decoyd_backdoor.c */

#define DD_OUTQ_MAX   (64 * 1024)    /* unsent output before the session is dropped */
#define DD_DATA_MAX   32             /* passive data channels open at once, in all */
#define DD_DATA_MS    60000          /* a data channel's whole life (vsftpd's accept_timeout) */

struct dd_rec;
struct dd_data;

struct dd_session {
	int                          fd;
	unsigned                     slot;        /* in the session table */
	size_t                       heap_at;     /* in the timer heap */
	const struct dd_personality *pers;
	void                        *pers_state;
	struct dd_conf              *conf;        /* held for the session's life */
	char                         src[64];     /* client address text */
	unsigned                     src_port;
	unsigned                     port;        /* our listening port */
	char                         dst[48];     /* the address the client meant (decoyd_ident.c) */
	char                         local[48];   /* ours: which decoy took it */
	long long                    subscriber;  /* whose network that is, 0 none */
	char                         fqdn[256];   /* the identity worn: HOSTNAME[.DOMAIN] */
	char                         key[48];     /* "20261202T110000-123-4": events, rows, file */
	struct timespec              start;       /* CLOCK_MONOTONIC */
	time_t                       started;     /* wall clock, seconds */
	int64_t                      deadline;    /* ms, monotonic: idle/duration/personality */
	int64_t                      last_input;  /* ms */
	int64_t                      pers_deadline; /* ms, 0 = none */
	uint64_t                     bytes_in, bytes_out;
	uint8_t                     *outq;        /* unsent output */
	size_t                       outq_len;
	int                          ending;      /* sess_end called: close once flushed */
	int                          reading;     /* EPOLLIN armed */
	struct dd_rec               *rec;
	struct dd_data              *data;        /* passive data channel (FTP) or NULL */
	/* Summary for the decoy_sessions row. */
	char                         user[64];
	unsigned                     logins, commands, downloads;
	const char                  *end_reason;
};

/* decoyd_loop.c */
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t dd_now_ms(void);
/* Queues len bytes for the client (recorded as output when record is set).
 * Never blocks; a client that lets DD_OUTQ_MAX pile up is dropped. */
void sess_send(struct dd_session *s, const void *buf, size_t len, int record);
/* Shell output: bytes that are not valid UTF-8 become '?' (the "o" record
 * must stay playable). */
void sess_sendtext(struct dd_session *s, const char *buf, size_t len);
void sess_sendstr(struct dd_session *s, const char *str);
/* Ends the session once its output is flushed; why goes into the summary. */
void sess_end(struct dd_session *s, const char *why);
/* Re-arms the personality's timer (ms from now, 0 = none). */
void sess_timer(struct dd_session *s, int64_t ms);
/*
 * A passive data channel (FTP's PASV/EPSV), the one other socket a session
 * may have: a listener on the session's own local address with an ephemeral
 * port, one connection accepted from the client's address only, the bytes of
 * one transfer sent through the loop without blocking, then closed.  One per
 * session (a new one replaces the old), DD_DATA_MAX in all, each closed
 * DD_DATA_MS after it opened whatever happens; the loop owns it and frees it
 * in sess_free() on every path.  Never an outbound connection.
 */
/* Opens one; returns its port, with the local address's text in addr (cap
 * bytes), or -1 (none free, or a socket error: logged). */
int  sess_data_listen(struct dd_session *s, char *addr, size_t cap);
/* Queues the whole transfer (recorded as output when record is set); sent
 * once the client has connected, then the channel closes and done(s, ok)
 * is called: ok 1 when every byte went out, 0 when the client never
 * connected, went away or ran out of time.  0, or -1 when there is no
 * channel, a transfer is queued already or len is over DD_OUTQ_MAX. */
typedef void sess_data_fn(struct dd_session *s, int ok);
int  sess_data_send(struct dd_session *s, const void *buf, size_t len, int record,
    sess_data_fn *done);
/* Closes the session's channel, if any (no data_done). */
void sess_data_close(struct dd_session *s);
/* Listeners bound as root: parses conf listen words, returns 0 or -1. */
int  dd_loop_bind(const struct dd_conf *c);
/* Runs until daemon_stop_requested; returns 0 or -1. */
int  dd_loop_run(void);
void dd_loop_stop(void);
/* Slot i of the session table (NULL when free), for the recorder's flush. */
struct dd_session *dd_loop_session(size_t i);
size_t dd_loop_cap(void);

/* decoyd_record.c */
/* Opens the recording of a new session in the directory fd dirfd and emits
 * decoy.connect.  Returns 0, or -1 (logged; the session runs unrecorded). */
int  rec_open(struct dd_session *s, int dirfd);
/* Input bytes ("i") and output bytes ("o"), any bytes, kept losslessly. */
void rec_input(struct dd_session *s, const uint8_t *buf, size_t len);
void rec_output(struct dd_session *s, const uint8_t *buf, size_t len);
/* Protocol bytes we send that no terminal shows (telnet negotiation): an
 * "n" event, which asciinema's player skips. */
void rec_net(struct dd_session *s, const uint8_t *buf, size_t len);
/* Events of what the intruder did (the text is attacker's bytes). */
void rec_login(struct dd_session *s, const char *user, const char *password);
void rec_command(struct dd_session *s, const char *line);
void rec_download(struct dd_session *s, const char *tool, const char *url);
/* Flushes, closes the file, emits the disconnect event and queues the
 * decoy_sessions row.  Accepts a session with no recording. */
void rec_close(struct dd_session *s);
/* Writes buffered recordings of every session (called from the loop). */
void rec_flush_all(void);
/* Logs the recordings' write times (at stop). */
void rec_stop(void);
/* Escapes len bytes as JSON string content into out (cap bytes, NUL-
 * terminated): valid UTF-8 kept, controls as \uXXXX, every other byte B as
 * \u00B... see decoyd_record.c.  Returns the length written. */
size_t rec_json_bytes(char *out, size_t cap, const uint8_t *buf, size_t len);

/* decoyd_ident.c: subscriber identities (as root at bind, again at reload). */
int  ident_load(const char *store);
void ident_unload(void);
/* Sets s->dst, s->local, s->subscriber and s->fqdn from the accepted
 * socket; bound: the listener's own address when it is not a wildcard (our
 * end without asking), else NULL. */
struct sockaddr;
void ident_pick(struct dd_session *s, const struct sockaddr *bound);

/* decoyd_shell.c: a fake shell for one session. */
struct dd_shell;
struct dd_shell *shell_new(struct dd_session *s, const char *user);
/* Runs one line; returns 1 when the shell exits. */
int  shell_line(struct dd_shell *sh, const char *line);
void shell_prompt(struct dd_shell *sh);
void shell_free(struct dd_shell *sh);
/* The same read-only fake filesystem for other personalities (FTP). */
struct shell_entry {
	const char *name;       /* base name */
	char        type;       /* 'd' or 'f' */
	const char *mode;       /* "drwxr-xr-x"; 'l' first for /bin and the like */
	const char *owner;      /* "root", "www-data", "admin"; NULL: the user (a home) */
	const char *link;       /* a link's target, or NULL */
	size_t      size;
};
typedef void shell_fs_fn(void *arg, const struct shell_entry *e);
/* Resolves arg against cwd ("~" against home) into path (cap bytes);
 * returns 'd', 'f' or 0 (absent), and the entry in *e (valid until the
 * next call) when found and e is not NULL. */
char shell_fs_stat(const char *home, const char *cwd, const char *arg, char *path,
    size_t cap, struct shell_entry *e);
/* Calls fn for each entry of directory path (resolved, as shell_fs_stat
 * makes it) in name order; returns how many. */
int  shell_fs_list(const char *home, const char *path, shell_fs_fn *fn, void *arg);

#endif
