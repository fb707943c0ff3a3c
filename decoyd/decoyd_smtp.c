/*
 * decoyd_smtp - the SMTP personality: Debian 12's Postfix smtpd with
 * Debian's main.cf (smtpd_banner "$myhostname ESMTP $mail_name
 * (Debian/GNU)", SASL through Dovecot), as a client and nmap see it.
 *
 * $myhostname is the identity the session wears (decoyd_ident.c): the
 * subscriber's FQDN when the switch sent it here for one.
 * nmap's NULL probe reads the greeting only: "220 HOSTNAME ESMTP Postfix
 * (Debian/GNU)\r\n" is what nmap-service-probes names "Postfix smtpd"
 * (match smtp m|^220([\s-]\S+) ESMTP Postfix|).  Replies are Postfix's own
 * texts, enhanced status codes included; its limits too: after 20 error
 * replies the next command gets "421 4.7.0 ... Error: too many errors" and
 * the connection closes (smtpd_hard_error_limit); an HTTP request is "221
 * 2.7.0 Error: I can break rules, too. Goodbye." (smtpd_forbidden_commands).
 *
 * What it captures: AUTH PLAIN and LOGIN credentials (base64 decoded: a
 * decoy.login event each; every attempt succeeds, as on a server that lets
 * anyone relay once authenticated), every command line (decoy.command),
 * and the messages, whose bytes are in the recording like every byte the
 * client sends (bounded by decoyd.max_bytes).  A message is answered "250
 * 2.0.0 Ok: queued as ID" and goes nowhere: this file opens no socket.
 * STARTTLS is not offered (and not implemented), nor CHUNKING.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "decoyd.h"
#include "decoyd_cmd_parse.h"

#define SM_ERRORS_MAX  20               /* smtpd_hard_error_limit */
#define SM_RCPT_MAX    1000             /* smtpd_recipient_limit */
#define SM_SIZE_MAX    10240000         /* message_size_limit */
#define SM_CRED_MAX    512

enum sm_phase { SM_CMD, SM_DATA, SM_AUTH_PLAIN, SM_AUTH_USER, SM_AUTH_PASS };

struct smtp {
	struct cmdp    cp;
	enum sm_phase  phase;
	int            helo;            /* HELO or EHLO given */
	int            authed;
	int            mail;            /* MAIL FROM given */
	unsigned       rcpts;
	unsigned       errors;
	uint64_t       msg_bytes;
	char           auth_user[SM_CRED_MAX];
};

/* One reply; 4xx and 5xx count toward the hard error limit. */
static void
sm_reply(struct dd_session *s, struct smtp *m, const char *text)
{
	char buf[1024];
	size_t n = snprintf(buf, sizeof(buf), "%s\r\n", text);

	if (text[0] == '4' || text[0] == '5')
		m->errors++;
	sess_sendtext(s, buf, n < sizeof(buf) ? n : sizeof(buf) - 1);
}

static void
sm_reset(struct smtp *m)
{
	m->mail = 0;
	m->rcpts = 0;
}

/* A Postfix short queue ID: 10 or 11 upper-case hex digits. */
static void
sm_queue_id(char *out, size_t cap)
{
	unsigned long long r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (unsigned long long)dd_now_ms() * 2654435761u;
	snprintf(out, cap, "%llX", (r & 0xfffffffffffULL) | 0x10000000000ULL);
}

static void
sm_ehlo(struct dd_session *s, struct smtp *m, const char *arg, int extended)
{
	char buf[1024];

	if (arg[0] == '\0') {
		sm_reply(s, m, extended ? "501 Syntax: EHLO hostname" : "501 Syntax: HELO hostname");
		return;
	}
	m->helo = 1;
	sm_reset(m);
	if (!extended) {
		snprintf(buf, sizeof(buf), "250 %s", s->fqdn);
		sm_reply(s, m, buf);
		return;
	}
	snprintf(buf, sizeof(buf), "250-%s\r\n250-PIPELINING\r\n250-SIZE %d\r\n250-VRFY\r\n"
	    "250-ETRN\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
	    "250-DSN\r\n250 SMTPUTF8", s->fqdn, SM_SIZE_MAX);
	sm_reply(s, m, buf);
}

/* "FROM:" / "TO:" then an address, spaces allowed after the colon. */
static const char *
sm_path(const char *arg, const char *key)
{
	size_t n = strlen(key);

	if (strncasecmp(arg, key, n) != 0)
		return NULL;
	arg += n;
	while (*arg == ' ')
		arg++;
	return *arg != '\0' ? arg : NULL;
}

static void
sm_mail(struct dd_session *s, struct smtp *m, const char *arg)
{
	const char *p, *size;

	if (m->mail) {
		sm_reply(s, m, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if ((p = sm_path(arg, "FROM:")) == NULL) {
		sm_reply(s, m, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if ((size = strcasestr(p, " SIZE=")) != NULL && strtoull(size + 6, NULL, 10) > SM_SIZE_MAX) {
		sm_reply(s, m, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	m->mail = 1;
	sm_reply(s, m, "250 2.1.0 Ok");
}

static void
sm_rcpt(struct dd_session *s, struct smtp *m, const char *arg)
{
	if (!m->mail)
		sm_reply(s, m, "503 5.5.1 Error: need MAIL command");
	else if (sm_path(arg, "TO:") == NULL)
		sm_reply(s, m, "501 5.5.4 Syntax: RCPT TO:<address>");
	else if (m->rcpts >= SM_RCPT_MAX)
		sm_reply(s, m, "452 4.5.3 Error: too many recipients");
	else {
		m->rcpts++;
		sm_reply(s, m, "250 2.1.5 Ok");
	}
}

/* ---------------------------------------------------------- AUTH */

/* Decodes a client's base64 line into out (NUL-terminated, cut at cap).
 * Returns the length, or -1 (answered). */
static long
sm_b64(struct dd_session *s, struct smtp *m, const char *in, size_t len, uint8_t *out,
    size_t cap)
{
	long n;

	if (len == 1 && in[0] == '=')           /* an empty initial response */
		len = 0;
	if ((n = cmdp_b64decode(in, len, out, cap - 1)) == -1) {
		m->phase = SM_CMD;
		sm_reply(s, m, "501 5.5.2 Cannot decode response");
		return -1;
	}
	out[n] = '\0';
	return n;
}

static void
sm_login(struct dd_session *s, struct smtp *m, const char *user, const char *pass)
{
	rec_login(s, user, pass);
	m->phase = SM_CMD;
	m->authed = 1;
	sm_reply(s, m, "235 2.7.0 Authentication successful");
}

static void
sm_auth_plain(struct dd_session *s, struct smtp *m, const char *b64, size_t len)
{
	uint8_t msg[3 * SM_CRED_MAX];
	char user[SM_CRED_MAX], pass[SM_CRED_MAX];
	long n;

	if ((n = sm_b64(s, m, b64, len, msg, sizeof(msg))) == -1)
		return;
	if (cmdp_plain(msg, n, user, sizeof(user), pass, sizeof(pass)) == -1) {
		m->phase = SM_CMD;
		sm_reply(s, m, "535 5.7.8 Error: authentication failed: Invalid authentication data");
		return;
	}
	sm_login(s, m, user, pass);
}

/* A line while AUTH waits for the client. */
static void
sm_auth_line(struct dd_session *s, struct smtp *m, const struct cmdp_line *l)
{
	uint8_t buf[SM_CRED_MAX];

	if (l->len == 1 && l->line[0] == '*') {
		m->phase = SM_CMD;
		sm_reply(s, m, "501 5.7.0 Authentication aborted");
		return;
	}
	switch (m->phase) {
	case SM_AUTH_PLAIN:
		sm_auth_plain(s, m, l->line, l->len);
		break;
	case SM_AUTH_USER:
		if (sm_b64(s, m, l->line, l->len, buf, sizeof(buf)) == -1)
			return;
		snprintf(m->auth_user, sizeof(m->auth_user), "%s", (char *)buf);
		m->phase = SM_AUTH_PASS;
		sess_sendstr(s, "334 UGFzc3dvcmQ6\r\n");
		break;
	case SM_AUTH_PASS:
		if (sm_b64(s, m, l->line, l->len, buf, sizeof(buf)) == -1)
			return;
		sm_login(s, m, m->auth_user, (char *)buf);
		break;
	default:
		break;
	}
}

static void
sm_auth(struct dd_session *s, struct smtp *m, const char *arg)
{
	const char *init = strchr(arg, ' ');
	size_t mlen = init != NULL ? (size_t)(init - arg) : strlen(arg);
	uint8_t buf[SM_CRED_MAX];

	if (!m->helo) {
		sm_reply(s, m, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (m->authed) {
		sm_reply(s, m, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (m->mail) {
		sm_reply(s, m, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if (arg[0] == '\0') {
		sm_reply(s, m, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	if (init != NULL)
		init++;
	if (mlen == 5 && strncasecmp(arg, "PLAIN", 5) == 0) {
		if (init != NULL) {
			sm_auth_plain(s, m, init, strlen(init));
		} else {
			m->phase = SM_AUTH_PLAIN;
			sess_sendstr(s, "334 \r\n");
		}
	} else if (mlen == 5 && strncasecmp(arg, "LOGIN", 5) == 0) {
		if (init != NULL) {
			if (sm_b64(s, m, init, strlen(init), buf, sizeof(buf)) == -1)
				return;
			snprintf(m->auth_user, sizeof(m->auth_user), "%s", (char *)buf);
			m->phase = SM_AUTH_PASS;
			sess_sendstr(s, "334 UGFzc3dvcmQ6\r\n");
		} else {
			m->phase = SM_AUTH_USER;
			sess_sendstr(s, "334 VXNlcm5hbWU6\r\n");
		}
	} else {
		sm_reply(s, m, "535 5.7.8 Error: authentication failed: "
		    "Invalid authentication mechanism");
	}
}

/* ---------------------------------------------------------- commands */

/* A line of the message: "." alone ends it ("..x" is a stuffed ".x"). */
static void
sm_data_line(struct dd_session *s, struct smtp *m, const struct cmdp_line *l)
{
	char qid[32], buf[128];

	if (l->len == 1 && l->line[0] == '.') {
		m->phase = SM_CMD;
		sm_reset(m);
		if (m->msg_bytes > SM_SIZE_MAX) {
			sm_reply(s, m, "552 5.3.4 Error: message file too big");
			return;
		}
		sm_queue_id(qid, sizeof(qid));
		snprintf(buf, sizeof(buf), "250 2.0.0 Ok: queued as %s", qid);
		sm_reply(s, m, buf);
		return;
	}
	m->msg_bytes += l->len + 2;
}

static void
sm_command(struct dd_session *s, struct smtp *m, const struct cmdp_line *l)
{
	const char *v = l->verb, *a = l->arg;
	char buf[600], echo[512];

	if (strcmp(v, "EHLO") == 0 || strcmp(v, "HELO") == 0) {
		sm_ehlo(s, m, a, v[0] == 'E');
	} else if (strcmp(v, "MAIL") == 0) {
		sm_mail(s, m, a);
	} else if (strcmp(v, "RCPT") == 0) {
		sm_rcpt(s, m, a);
	} else if (strcmp(v, "DATA") == 0) {
		if (!m->mail)
			sm_reply(s, m, "503 5.5.1 Error: need RCPT command");
		else if (m->rcpts == 0)
			sm_reply(s, m, "554 5.5.1 Error: no valid recipients");
		else if (a[0] != '\0')
			sm_reply(s, m, "501 5.5.4 Syntax: DATA");
		else {
			m->phase = SM_DATA;
			m->msg_bytes = 0;
			sess_sendstr(s, "354 End data with <CR><LF>.<CR><LF>\r\n");
		}
	} else if (strcmp(v, "AUTH") == 0) {
		sm_auth(s, m, a);
	} else if (strcmp(v, "RSET") == 0) {
		sm_reset(m);
		sm_reply(s, m, "250 2.0.0 Ok");
	} else if (strcmp(v, "NOOP") == 0) {
		sm_reply(s, m, "250 2.0.0 Ok");
	} else if (strcmp(v, "VRFY") == 0) {
		if (a[0] == '\0') {
			sm_reply(s, m, "501 5.5.4 Syntax: VRFY address");
		} else {
			snprintf(buf, sizeof(buf), "252 2.0.0 %s",
			    cmdp_printable(echo, sizeof(echo), a, strlen(a)));
			sm_reply(s, m, buf);
		}
	} else if (strcmp(v, "ETRN") == 0) {
		if (!m->helo)
			sm_reply(s, m, "503 Error: send HELO/EHLO first");
		else if (a[0] == '\0')
			sm_reply(s, m, "500 Syntax: ETRN domain");
		else
			sm_reply(s, m, "458 4.3.0 Unable to queue messages");
	} else if (strcmp(v, "STARTTLS") == 0 || strcmp(v, "BDAT") == 0) {
		sm_reply(s, m, "502 5.5.1 Error: command not implemented");
	} else if (l->len == 0) {
		sm_reply(s, m, "500 5.5.2 Error: bad syntax");
	} else {
		sm_reply(s, m, "502 5.5.2 Error: command not recognized");
	}
}

static int
sm_line(void *arg, const struct cmdp_line *l)
{
	struct dd_session *s = arg;
	struct smtp *m = s->pers_state;
	char buf[600];

	if (m->phase == SM_DATA) {
		sm_data_line(s, m, l);
		return 0;
	}
	if (m->phase != SM_CMD) {
		sm_auth_line(s, m, l);
		return s->ending;
	}
	if (l->len > 0)
		rec_command(s, l->line);
	if (m->errors >= SM_ERRORS_MAX) {
		snprintf(buf, sizeof(buf), "421 4.7.0 %s Error: too many errors", s->fqdn);
		sm_reply(s, m, buf);
		sess_end(s, "too many errors");
		return 1;
	}
	if (strcmp(l->verb, "QUIT") == 0) {
		sm_reply(s, m, "221 2.0.0 Bye");
		sess_end(s, "quit");
		return 1;
	}
	if (strcmp(l->verb, "GET") == 0 || strcmp(l->verb, "POST") == 0 ||
	    strcmp(l->verb, "CONNECT") == 0) {
		sm_reply(s, m, "221 2.7.0 Error: I can break rules, too. Goodbye.");
		sess_end(s, "forbidden command");
		return 1;
	}
	sm_command(s, m, l);
	return s->ending;
}

static int
sm_open(struct dd_session *s)
{
	struct smtp *m;
	char buf[512];

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	cmdp_init(&m->cp, s->conf->d.max_line);
	s->pers_state = m;
	snprintf(buf, sizeof(buf), "220 %s ESMTP Postfix (Debian/GNU)", s->fqdn);
	sm_reply(s, m, buf);
	return 0;
}

static void
sm_input(struct dd_session *s, const uint8_t *buf, size_t len)
{
	struct smtp *m = s->pers_state;

	if (cmdp_feed(&m->cp, buf, len, sm_line, s) == -1)
		sess_end(s, "out of memory");
}

static void
sm_close(struct dd_session *s)
{
	struct smtp *m = s->pers_state;

	if (m == NULL)
		return;
	cmdp_free(&m->cp);
	free(m);
	s->pers_state = NULL;
}

const struct dd_personality dd_smtp = { "smtp", sm_open, sm_input, NULL, sm_close };
