/*
 * decoyd_ftp - the FTP personality: Debian 12's vsftpd 3.0.3 with Debian's
 * vsftpd.conf (local users, no anonymous, write_enable off), as a client
 * and nmap see it.
 *
 * nmap's NULL probe reads the greeting only: "220 (vsFTPd 3.0.3)\r\n" is
 * what nmap-service-probes names "vsftpd 3.0.3" (match ftp m|^220 \(vsFTPd
 * ([-.\w]+)\)\r\n$|).  Before login, as vsftpd's prelogin.c: USER, PASS,
 * QUIT, FEAT and OPTS are served, an empty line is ignored, anything else is
 * "530 Please login with USER and PASS.".  Every password is accepted, like
 * a server whose PAM lets anyone in (each attempt is a decoy.login event),
 * and the intruder lands in the home directory of the fake filesystem the
 * telnet shell shows (decoyd_shell.c's tree, listed as vsftpd's ls.c
 * formats it).  Listings go over a passive data channel (PASV/EPSV, the
 * loop's sess_data_listen); active mode is refused ("500 Illegal PORT
 * command.", as vsftpd says to a PORT naming another host), so the daemon
 * never connects out.  Downloads fail ("550 Failed to open file."), every
 * write is "550 Permission denied." (write_enable=NO).  Every command line
 * is a decoy.command event; every byte is in the recording.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decoyd.h"
#include "decoyd_cmd_parse.h"

#define FTP_PATH     256
#define FTP_LIST_MAX (32 * 1024)

struct ftp {
	struct cmdp  cp;
	int          logged_in;
	int          have_user;         /* USER given, PASS expected */
	int          binary;
	int          xfer;              /* a transfer is queued on the data channel */
	char         user[512];         /* as typed (bounded as decoy.login bounds it) */
	char         name[33];          /* the user's name in paths */
	char         home[FTP_PATH];
	char         cwd[FTP_PATH];
};

static void
ftp_reply(struct dd_session *s, const char *text)
{
	char buf[1024];
	size_t n = snprintf(buf, sizeof(buf), "%s\r\n", text);

	sess_sendtext(s, buf, n < sizeof(buf) ? n : sizeof(buf) - 1);
}

/* ---------------------------------------------------------- listings */

struct ftp_list {
	char   *buf;
	size_t  len;
	int     names;              /* NLST: names only */
	int     all;                /* -a: dot files too */
	const char *prefix;         /* NLST DIR: "DIR/" before each name */
};

static void
ftp_list_add(struct ftp_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
ftp_list_add(struct ftp_list *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= FTP_LIST_MAX - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, FTP_LIST_MAX - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < FTP_LIST_MAX - l->len ? (size_t)n : FTP_LIST_MAX - 1 - l->len;
}

/* Numeric ids, as vsftpd shows them (text_userdb_names=NO). */
static unsigned
ftp_uid(const char *owner)
{
	if (owner == NULL)
		return 1000;
	if (strcmp(owner, "root") == 0)
		return 0;
	if (strcmp(owner, "www-data") == 0)
		return 33;
	return 1000;
}

/* One line of vsftpd's ls.c: perms, links (%4), uid and gid (%-8), size
 * (%8), date, name, " -> target" for links, CR LF. */
static void
ftp_list_entry(void *arg, const struct shell_entry *e)
{
	struct ftp_list *l = arg;
	unsigned id = ftp_uid(e->owner);

	if (e->name[0] == '.' && !l->all)
		return;
	if (l->names) {
		ftp_list_add(l, "%s%s\r\n", l->prefix != NULL ? l->prefix : "", e->name);
		return;
	}
	ftp_list_add(l, "%s %4d %-8u %-8u %8zu Jan 12  2024 %s%s%s\r\n", e->mode,
	    e->type == 'd' && e->link == NULL ? 2 : 1, id, id, e->size, e->name,
	    e->link != NULL ? " -> " : "", e->link != NULL ? e->link : "");
}

static void
ftp_xfer_done(struct dd_session *s, int ok)
{
	struct ftp *f = s->pers_state;

	if (f == NULL)
		return;
	f->xfer = 0;
	ftp_reply(s, ok ? "226 Directory send OK." : "426 Failure writing network stream.");
}

/* LIST and NLST: "[-options] [path]". */
static void
ftp_list(struct dd_session *s, struct ftp *f, const char *arg, int names)
{
	struct ftp_list l = { .names = names };
	struct shell_entry e;
	char path[FTP_PATH], prefix[FTP_PATH + 2], *c;
	char t;

	if (s->data == NULL || f->xfer) {
		ftp_reply(s, "425 Use PORT or PASV first.");
		return;
	}
	while (arg[0] == '-') {                 /* ls options: only -a matters */
		for (arg++; *arg != '\0' && *arg != ' '; arg++)
			l.all |= *arg == 'a' || *arg == 'A';
		while (*arg == ' ')
			arg++;
	}
	if ((l.buf = malloc(FTP_LIST_MAX)) == NULL) {
		ftp_reply(s, "451 Local error.");
		return;
	}
	l.buf[0] = '\0';
	t = shell_fs_stat(f->home, f->cwd, arg[0] != '\0' ? arg : ".", path, sizeof(path), &e);
	if (t == 'd') {
		if (names && arg[0] != '\0') {
			/* The client's own words come back: printable ASCII
			 * only, so the recording's "o" stays text. */
			cmdp_printable(prefix, sizeof(prefix) - 1, arg, strlen(arg));
			for (c = prefix; *c != '\0'; c++)
				if ((unsigned char)*c >= 0x7f)
					*c = '?';
			if (c > prefix && c[-1] != '/')
				*c++ = '/', *c = '\0';
			l.prefix = prefix;
		}
		if (l.all && !names) {
			ftp_list_add(&l, "drwxr-xr-x    2 0        0            4096 Jan 12  2024 .\r\n");
			ftp_list_add(&l, "drwxr-xr-x    2 0        0            4096 Jan 12  2024 ..\r\n");
		}
		shell_fs_list(f->home, path, ftp_list_entry, &l);
	} else if (t == 'f') {
		ftp_list_entry(&l, &e);
	}
	ftp_reply(s, "150 Here comes the directory listing.");
	if (sess_data_send(s, l.buf, l.len, 1, ftp_xfer_done) == -1)
		ftp_reply(s, "425 Failed to establish connection.");
	else
		f->xfer = 1;
	free(l.buf);
}

/* ---------------------------------------------------------- commands */

/* PASV and EPSV: a new channel on our side of the control connection. */
static void
ftp_passive(struct dd_session *s, struct ftp *f, int extended)
{
	char addr[64], buf[128], *c;
	int port;

	if (f->xfer) {                  /* a transfer still waits on the old one */
		sess_data_close(s);
		f->xfer = 0;
	}
	if ((port = sess_data_listen(s, addr, sizeof(addr))) == -1) {
		ftp_reply(s, "500 OOPS: vsf_sysutil_bind");
		return;
	}
	if (extended) {
		snprintf(buf, sizeof(buf), "229 Entering Extended Passive Mode (|||%d|)", port);
	} else if (strchr(addr, ':') != NULL) {
		/* PASV has no room for an IPv6 address. */
		sess_data_close(s);
		snprintf(buf, sizeof(buf), "550 Permission denied.");
	} else {
		for (c = addr; *c != '\0'; c++)
			if (*c == '.')
				*c = ',';
		snprintf(buf, sizeof(buf), "227 Entering Passive Mode (%s,%d,%d).", addr,
		    port >> 8, port & 0xff);
	}
	ftp_reply(s, buf);
}

static void
ftp_cwd(struct dd_session *s, struct ftp *f, const char *arg)
{
	struct shell_entry e;
	char path[FTP_PATH];

	/* Directories closed to others (/root) stay closed but to their owner. */
	if (shell_fs_stat(f->home, f->cwd, arg[0] != '\0' ? arg : f->home, path, sizeof(path),
	    &e) != 'd' || (e.mode[9] != 'x' && e.owner != NULL &&
	    strcmp(e.owner, f->name) != 0 && strcmp(f->name, "root") != 0)) {
		ftp_reply(s, "550 Failed to change directory.");
		return;
	}
	snprintf(f->cwd, sizeof(f->cwd), "%s", path);
	ftp_reply(s, "250 Directory successfully changed.");
}

static void
ftp_size(struct dd_session *s, struct ftp *f, const char *arg, int mdtm)
{
	struct shell_entry e;
	char path[FTP_PATH], buf[64];

	if (arg[0] == '\0' || shell_fs_stat(f->home, f->cwd, arg, path, sizeof(path), &e) != 'f') {
		ftp_reply(s, mdtm ? "550 Could not get file modification time." :
		    "550 Could not get file size.");
		return;
	}
	if (mdtm)
		snprintf(buf, sizeof(buf), "213 20240112093144");
	else
		snprintf(buf, sizeof(buf), "213 %zu", e.size);
	ftp_reply(s, buf);
}

static void
ftp_stat(struct dd_session *s, struct ftp *f)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "211-FTP server status:\r\n"
	    "     Connected to %s\r\n"
	    "     Logged in as %s\r\n"
	    "     TYPE: %s\r\n"
	    "     No session bandwidth limit\r\n"
	    "     Session timeout in seconds is 300\r\n"
	    "     Control connection is plain text\r\n"
	    "     Data connections will be plain text\r\n"
	    "     At session startup, client count was 1\r\n"
	    "     vsFTPd 3.0.3 - secure, fast, stable\r\n"
	    "211 End of status", s->src, f->name, f->binary ? "BINARY" : "ASCII");
	ftp_reply(s, buf);
}

static const char ftp_feat[] =
    "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n"
    " UTF8\r\n211 End";
static const char ftp_help[] =
    "214-The following commands are recognized.\r\n"
    " ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST MDTM MKD\r\n"
    " MODE NLST NOOP OPTS PASS PASV PORT PWD  QUIT REIN REST RETR RMD  RNFR\r\n"
    " RNTO SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD\r\n"
    " XPWD XRMD\r\n214 Help OK.";

/* Writes, with write_enable=NO: vsftpd's answer to all of them. */
static const char *const ftp_denied[] = {
	"STOR", "STOU", "APPE", "DELE", "MKD", "XMKD", "RMD", "XRMD", "RNFR", "RNTO", NULL
};

static int
ftp_is(const char *verb, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(verb, *list) == 0)
			return 1;
	return 0;
}

/* USER and PASS: the session's name and home once PASS comes. */
static void
ftp_login(struct dd_session *s, struct ftp *f, const char *pass)
{
	size_t i, o = 0;

	rec_login(s, f->user, pass);
	for (i = 0; f->user[i] != '\0' && o < sizeof(f->name) - 1; i++)
		if (f->user[i] > ' ' && f->user[i] < 0x7f && f->user[i] != '/')
			f->name[o++] = f->user[i];
	f->name[o] = '\0';
	if (o == 0)
		snprintf(f->name, sizeof(f->name), "ftp");
	if (strcmp(f->name, "root") == 0)
		snprintf(f->home, sizeof(f->home), "/root");
	else
		snprintf(f->home, sizeof(f->home), "/home/%s", f->name);
	snprintf(f->cwd, sizeof(f->cwd), "%s", f->home);
	f->logged_in = 1;
	f->have_user = 0;
	ftp_reply(s, "230 Login successful.");
}

/* Before login: vsftpd's prelogin.c. */
static void
ftp_prelogin(struct dd_session *s, struct ftp *f, const struct cmdp_line *l)
{
	const char *v = l->verb;

	if (strcmp(v, "USER") == 0) {
		snprintf(f->user, sizeof(f->user), "%s", l->arg);
		f->have_user = 1;
		ftp_reply(s, "331 Please specify the password.");
	} else if (strcmp(v, "PASS") == 0) {
		if (!f->have_user)
			ftp_reply(s, "503 Login with USER first.");
		else
			ftp_login(s, f, l->arg);
	} else if (strcmp(v, "FEAT") == 0) {
		ftp_reply(s, ftp_feat);
	} else if (strcmp(v, "OPTS") == 0) {
		ftp_reply(s, strcasecmp(l->arg, "UTF8 ON") == 0 ? "200 Always in UTF8 mode." :
		    "501 Option not understood.");
	} else {
		ftp_reply(s, "530 Please login with USER and PASS.");
	}
}

/* After login: vsftpd's postlogin.c. */
static void
ftp_command(struct dd_session *s, struct ftp *f, const struct cmdp_line *l)
{
	const char *v = l->verb, *a = l->arg;
	char buf[FTP_PATH + 64];

	if (strcmp(v, "PWD") == 0 || strcmp(v, "XPWD") == 0) {
		snprintf(buf, sizeof(buf), "257 \"%s\" is the current directory", f->cwd);
		ftp_reply(s, buf);
	} else if (strcmp(v, "CWD") == 0 || strcmp(v, "XCWD") == 0) {
		ftp_cwd(s, f, a);
	} else if (strcmp(v, "CDUP") == 0 || strcmp(v, "XCUP") == 0) {
		ftp_cwd(s, f, "..");
	} else if (strcmp(v, "SYST") == 0) {
		ftp_reply(s, "215 UNIX Type: L8");
	} else if (strcmp(v, "FEAT") == 0) {
		ftp_reply(s, ftp_feat);
	} else if (strcmp(v, "HELP") == 0) {
		ftp_reply(s, ftp_help);
	} else if (strcmp(v, "TYPE") == 0) {
		if (strcasecmp(a, "I") == 0 || strcasecmp(a, "L 8") == 0) {
			f->binary = 1;
			ftp_reply(s, "200 Switching to Binary mode.");
		} else if (strcasecmp(a, "A") == 0 || strcasecmp(a, "A N") == 0) {
			f->binary = 0;
			ftp_reply(s, "200 Switching to ASCII mode.");
		} else {
			ftp_reply(s, "500 Unrecognised TYPE command.");
		}
	} else if (strcmp(v, "MODE") == 0) {
		ftp_reply(s, strcasecmp(a, "S") == 0 ? "200 Mode set to S." : "504 Bad MODE command.");
	} else if (strcmp(v, "STRU") == 0) {
		ftp_reply(s, strcasecmp(a, "F") == 0 ? "200 Structure set to F." :
		    "504 Bad STRU command.");
	} else if (strcmp(v, "PASV") == 0) {
		ftp_passive(s, f, 0);
	} else if (strcmp(v, "EPSV") == 0) {
		if (strcasecmp(a, "ALL") == 0)
			ftp_reply(s, "200 EPSV ALL ok.");
		else
			ftp_passive(s, f, 1);
	} else if (strcmp(v, "PORT") == 0) {
		ftp_reply(s, "500 Illegal PORT command.");
	} else if (strcmp(v, "EPRT") == 0) {
		ftp_reply(s, "500 Illegal EPRT command.");
	} else if (strcmp(v, "LIST") == 0 || strcmp(v, "NLST") == 0) {
		ftp_list(s, f, a, v[0] == 'N');
	} else if (strcmp(v, "RETR") == 0) {
		ftp_reply(s, s->data == NULL ? "425 Use PORT or PASV first." :
		    "550 Failed to open file.");
	} else if (strcmp(v, "SIZE") == 0 || strcmp(v, "MDTM") == 0) {
		ftp_size(s, f, a, v[0] == 'M');
	} else if (ftp_is(v, ftp_denied)) {
		ftp_reply(s, "550 Permission denied.");
	} else if (strcmp(v, "SITE") == 0) {
		if (strncasecmp(a, "CHMOD", 5) == 0)
			ftp_reply(s, "550 Permission denied.");
		else if (strncasecmp(a, "UMASK", 5) == 0)
			ftp_reply(s, "200 Your current UMASK is 022");
		else if (strncasecmp(a, "HELP", 4) == 0)
			ftp_reply(s, "214 CHMOD UMASK HELP");
		else
			ftp_reply(s, "500 Unknown SITE command.");
	} else if (strcmp(v, "NOOP") == 0) {
		ftp_reply(s, "200 NOOP ok.");
	} else if (strcmp(v, "REST") == 0) {
		snprintf(buf, sizeof(buf), "350 Restart position accepted (%lld).",
		    atoll(a) < 0 ? 0 : atoll(a));
		ftp_reply(s, buf);
	} else if (strcmp(v, "ABOR") == 0) {
		ftp_reply(s, "225 No transfer to ABOR.");
	} else if (strcmp(v, "ALLO") == 0) {
		ftp_reply(s, "202 ALLO command ignored.");
	} else if (strcmp(v, "STAT") == 0 && a[0] == '\0') {
		ftp_stat(s, f);
	} else if (strcmp(v, "OPTS") == 0) {
		ftp_reply(s, strcasecmp(a, "UTF8 ON") == 0 ? "200 Always in UTF8 mode." :
		    "501 Option not understood.");
	} else if (strcmp(v, "USER") == 0) {
		ftp_reply(s, "530 Can't change to another user.");
	} else if (strcmp(v, "PASS") == 0) {
		ftp_reply(s, "230 Already logged in.");
	} else if (strcmp(v, "REIN") == 0 || strcmp(v, "ACCT") == 0 || strcmp(v, "SMNT") == 0) {
		snprintf(buf, sizeof(buf), "502 %s not implemented.", v);
		ftp_reply(s, buf);
	} else {
		ftp_reply(s, "500 Unknown command.");
	}
}

static int
ftp_line(void *arg, const struct cmdp_line *l)
{
	struct dd_session *s = arg;
	struct ftp *f = s->pers_state;

	if (l->len == 0) {
		/* vsftpd ignores an empty line before login (NAT devices send
		 * them); after it, one is an unknown command. */
		if (f->logged_in)
			ftp_reply(s, "500 Unknown command.");
		return 0;
	}
	rec_command(s, l->line);
	if (strcmp(l->verb, "QUIT") == 0) {
		ftp_reply(s, "221 Goodbye.");
		sess_end(s, "quit");
		return 1;
	}
	if (f->logged_in)
		ftp_command(s, f, l);
	else
		ftp_prelogin(s, f, l);
	return s->ending;
}

static int
ftp_open(struct dd_session *s)
{
	struct ftp *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	cmdp_init(&f->cp, s->conf->d.max_line);
	s->pers_state = f;
	ftp_reply(s, "220 (vsFTPd 3.0.3)");
	return 0;
}

static void
ftp_input(struct dd_session *s, const uint8_t *buf, size_t len)
{
	struct ftp *f = s->pers_state;

	if (cmdp_feed(&f->cp, buf, len, ftp_line, s) == -1)
		sess_end(s, "out of memory");
}

static void
ftp_close(struct dd_session *s)
{
	struct ftp *f = s->pers_state;

	if (f == NULL)
		return;
	cmdp_free(&f->cp);
	free(f);
	s->pers_state = NULL;
}

const struct dd_personality dd_ftp = { "ftp", ftp_open, ftp_input, NULL, ftp_close };
