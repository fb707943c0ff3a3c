/*
 * decoyd_telnet - the telnet personality: negotiates as Debian's netkit
 * telnetd (inetutils-telnetd / telnetd) does, then login(1)'s prompts, then
 * the fake shell.
 *
 * nmap's NULL probe reads the opening bytes and nothing else: netkit's
 * telnetd sends DO TTYPE, DO TSPEED, DO XDISPLOC, DO NEW-ENVIRON and waits
 * for the answers (getterminaltype()), which nmap-service-probes names
 * "Linux telnetd"; so do we.  (cowrie sends a lone DO NAWS before "login: "
 * and nmap names it "Cowrie Honeypot telnetd".)  Once the client answered
 * all four (or sent data, as bots do), the rest follows: SB TTYPE SEND when
 * it will, WILL ECHO, WILL SGA, DO NAWS, the issue line and "login: ".
 *
 * Every option is answered once per direction (a refusal is never repeated),
 * so an option flood costs a bounded answer; past TN_MAX_OPTIONS commands
 * the session ends.
 */
#include <stdlib.h>
#include <string.h>

#include "decoyd.h"
#include "decoyd_telnet_parse.h"

#define TN_MAX_OPTIONS 4096
#define TN_LINE_START  256

enum tn_phase { TN_NEG, TN_LOGIN, TN_PASSWORD, TN_SHELL, TN_DONE };

struct tn {
	struct tp         tp;
	enum tn_phase     phase;
	unsigned          asked;          /* bits: the four opening DOs answered */
	unsigned          options;        /* option commands received */
	uint8_t           we[32], he[32]; /* bitsets: option answered (us, him) */
	uint8_t          *line;
	size_t            len, cap;
	int               esc;            /* inside an ESC [ ... sequence */
	int               dropping;       /* the line is over max_line */
	char              user[64];
	struct dd_shell  *sh;
};

static const uint8_t tn_opening[] = {
	TN_IAC, TN_DO, TO_TTYPE, TN_IAC, TN_DO, TO_TSPEED,
	TN_IAC, TN_DO, TO_XDISPLOC, TN_IAC, TN_DO, TO_NEWENV
};

#define BIT(set, o)  ((set)[(o) >> 3] & (1u << ((o) & 7)))
#define SETBIT(set, o) ((set)[(o) >> 3] |= (1u << ((o) & 7)))

static void
tn_cmd(struct dd_session *s, int verb, int opt)
{
	uint8_t b[3] = { TN_IAC, (uint8_t)verb, (uint8_t)opt };

	sess_send(s, b, 3, 0);
	rec_net(s, b, 3);
}

static void
tn_prompt_login(struct dd_session *s)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s login: ", s->conf->d.hostname);
	sess_sendstr(s, buf);
}

/* After the opening: the rest of netkit's negotiation, the issue, login. */
static void
tn_begin(struct dd_session *s, struct tn *t)
{
	static const uint8_t ttype_send[] = { TN_IAC, TN_SB, TO_TTYPE, 1, TN_IAC, TN_SE };
	char buf[512];

	if (BIT(t->he, TO_TTYPE)) {
		sess_send(s, ttype_send, sizeof(ttype_send), 0);
		rec_net(s, ttype_send, sizeof(ttype_send));
	}
	tn_cmd(s, TN_WILL, TO_ECHO);
	SETBIT(t->we, TO_ECHO);
	tn_cmd(s, TN_WILL, TO_SGA);
	SETBIT(t->we, TO_SGA);
	if (!BIT(t->he, TO_NAWS))
		tn_cmd(s, TN_DO, TO_NAWS);
	snprintf(buf, sizeof(buf), "%s\r\n", s->conf->d.issue);
	sess_sendstr(s, buf);
	t->phase = TN_LOGIN;
	tn_prompt_login(s);
}

static void
tn_option(void *arg, int verb, int opt)
{
	struct dd_session *s = arg;
	struct tn *t = s->pers_state;

	if (++t->options > TN_MAX_OPTIONS) {
		sess_end(s, "telnet option flood");
		return;
	}
	if (verb == TN_WILL || verb == TN_WONT) {
		if (t->phase == TN_NEG) {
			if (opt == TO_TTYPE) t->asked |= 1;
			if (opt == TO_TSPEED) t->asked |= 2;
			if (opt == TO_XDISPLOC) t->asked |= 4;
			if (opt == TO_NEWENV) t->asked |= 8;
		}
		if (BIT(t->he, opt))
			return;
		SETBIT(t->he, opt);
		if (verb == TN_WILL && opt != TO_TTYPE && opt != TO_NAWS && opt != TO_TSPEED &&
		    opt != TO_XDISPLOC && opt != TO_NEWENV && opt != TO_SGA && opt != TO_LFLOW)
			tn_cmd(s, TN_DONT, opt);
		/* WONT: nothing to answer (we asked, or he refuses anyway). */
	} else {
		if (BIT(t->we, opt))
			return;
		SETBIT(t->we, opt);
		if (verb == TN_DO)
			tn_cmd(s, opt == TO_ECHO || opt == TO_SGA ? TN_WILL : TN_WONT, opt);
	}
	if (t->phase == TN_NEG && t->asked == 15)
		tn_begin(s, t);
}

static void
tn_command(void *arg, int cmd)
{
	struct dd_session *s = arg;
	struct tn *t = s->pers_state;

	if (cmd == TN_IP && t->phase == TN_SHELL) {
		t->len = 0;
		sess_sendstr(s, "^C\r\n");
		shell_prompt(t->sh);
	} else if (cmd == TN_AYT) {
		sess_sendstr(s, "\r\n[Yes]\r\n");
	}
}

static void
tn_sb(void *arg, int opt, const uint8_t *buf, size_t len)
{
	(void)arg, (void)opt, (void)buf, (void)len;     /* recorded as input */
}

static void
tn_echo(struct dd_session *s, struct tn *t, const uint8_t *buf, size_t len)
{
	if (t->phase != TN_PASSWORD)
		sess_send(s, buf, len, 1);
}

/* A whole line (NUL-terminated in t->line). */
static void
tn_line(struct dd_session *s, struct tn *t)
{
	char *line = (char *)t->line;

	line[t->len] = '\0';
	sess_sendstr(s, "\r\n");
	switch (t->phase) {
	case TN_LOGIN:
		if (t->len == 0) {
			tn_prompt_login(s);
			break;
		}
		snprintf(t->user, sizeof(t->user), "%s", line);
		t->phase = TN_PASSWORD;
		sess_sendstr(s, "Password: ");
		break;
	case TN_PASSWORD:
		rec_login(s, t->user, line);
		if ((t->sh = shell_new(s, t->user)) == NULL) {
			sess_end(s, "out of memory");
			break;
		}
		t->phase = TN_SHELL;
		shell_prompt(t->sh);
		break;
	case TN_SHELL:
		if (shell_line(t->sh, line) == 1) {
			t->phase = TN_DONE;
			sess_end(s, "logout");
		} else {
			shell_prompt(t->sh);
		}
		break;
	default:
		break;
	}
	t->len = 0;
	t->dropping = 0;
}

/* Room for one more byte and the NUL.  0, or -1 out of memory. */
static int
tn_grow(struct dd_session *s, struct tn *t)
{
	uint8_t *n;
	size_t ncap;

	if (t->len + 1 < t->cap)
		return 0;
	ncap = t->cap == 0 ? TN_LINE_START : t->cap * 2;
	if (ncap > (size_t)s->conf->d.max_line)
		ncap = s->conf->d.max_line;
	if ((n = realloc(t->line, ncap)) == NULL)
		return -1;
	t->line = n;
	t->cap = ncap;
	return 0;
}

/* 1 kept, 0 dropped (over max_line: recorded as input only), -1 no memory. */
static int
tn_addc(struct dd_session *s, struct tn *t, uint8_t c)
{
	if (t->len + 1 >= (size_t)s->conf->d.max_line) {
		t->dropping = 1;
		return 0;
	}
	if (tn_grow(s, t) == -1)
		return -1;
	t->line[t->len++] = c;
	return 1;
}

static void
tn_data(void *arg, const uint8_t *buf, size_t len)
{
	struct dd_session *s = arg;
	struct tn *t = s->pers_state;
	size_t i;
	uint8_t c;
	int r;

	if (t->phase == TN_NEG)
		tn_begin(s, t);         /* a client that does not negotiate */
	for (i = 0; i < len && !s->ending; i++) {
		c = buf[i];
		if (t->esc) {           /* ESC [ params final: arrows, F-keys */
			if (t->esc == 1 && c != '[' && c != 'O')
				t->esc = 0;
			else if (t->esc == 1)
				t->esc = 2;
			else if (c >= 0x40 && c <= 0x7e)
				t->esc = 0;
			continue;
		}
		if (c == '\r' || c == '\n') {
			if (t->line == NULL && tn_grow(s, t) == -1) {
				sess_end(s, "out of memory");
				return;
			}
			tn_line(s, t);
		} else if (c == 0x7f || c == 0x08) {
			if (t->len > 0) {
				t->len--;
				tn_echo(s, t, (const uint8_t *)"\b \b", 3);
			}
		} else if (c == 0x03) {
			t->len = 0;
			sess_sendstr(s, "^C\r\n");
			if (t->phase == TN_SHELL)
				shell_prompt(t->sh);
			else if (t->phase == TN_LOGIN || t->phase == TN_PASSWORD) {
				t->phase = TN_LOGIN;
				tn_prompt_login(s);
			}
		} else if (c == 0x04) {
			if (t->len == 0 && t->phase == TN_SHELL) {
				sess_sendstr(s, "logout\r\n");
				sess_end(s, "logout");
			}
		} else if (c == 0x1b) {
			t->esc = 1;
		} else if (c == 0x15) {         /* ^U: kill the line */
			while (t->len > 0) {
				t->len--;
				tn_echo(s, t, (const uint8_t *)"\b \b", 3);
			}
		} else if (c >= 0x20 || c == '\t') {
			if ((r = tn_addc(s, t, c)) == -1) {
				sess_end(s, "out of memory");
				return;
			}
			/* Echo printable ASCII only: the output (and its "o"
			 * record) stays valid UTF-8; the bytes are in "i". */
			if (r == 1 && c >= 0x20 && c < 0x7f)
				tn_echo(s, t, &c, 1);
		}
	}
}

static const struct tp_ops tn_ops = { tn_data, tn_option, tn_command, tn_sb };

static int
tn_open(struct dd_session *s)
{
	struct tn *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	tp_init(&t->tp);
	s->pers_state = t;
	sess_send(s, tn_opening, sizeof(tn_opening), 0);
	rec_net(s, tn_opening, sizeof(tn_opening));
	return 0;
}

static void
tn_input(struct dd_session *s, const uint8_t *buf, size_t len)
{
	struct tn *t = s->pers_state;

	tp_feed(&t->tp, &tn_ops, s, buf, len);
}

static void
tn_close(struct dd_session *s)
{
	struct tn *t = s->pers_state;

	if (t == NULL)
		return;
	shell_free(t->sh);
	free(t->line);
	free(t);
	s->pers_state = NULL;
}

const struct dd_personality dd_telnet = {
	"telnet", tn_open, tn_input, NULL, tn_close
};
