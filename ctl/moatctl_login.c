/*
 * moatctl login: SMTP AUTH logins of subscribers (subscriber_credentials
 * rows of kind 'password').  Postfix authenticates them through Dovecot
 * SASL, whose SQL passdb reads the same rows (ctl/moat-stack, README.md
 * "SMTP AUTH"); moat-milter maps an authenticated login to its subscriber
 * for outbound service.
 *
 * SECURITY: the secret is read from a terminal prompt (no echo), stdin
 * (--password-stdin) or a file (--password-file), never from argv, which
 * every user sees in ps.  Only its yescrypt hash (libxcrypt, "$y$", a fresh
 * random salt per hash) reaches the store; the plain text is wiped from
 * memory once hashed and is never printed or logged.  The secret is read
 * before the store is opened, so a root operator's --password-file need not
 * be readable by the store's owner (ctl_open switches to that user).
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "moatctl.h"
#include "policy.h"

#define PW_MIN 8
#define PW_MAX 1024

static const char login_usage[] =
    "usage: moatctl login add LOGIN SUBSCRIBER [--password-stdin | --password-file FILE]\n"
    "       moatctl login list [SUBSCRIBER] | remove LOGIN\n"
    "       moatctl login passwd LOGIN [--password-stdin | --password-file FILE]\n"
    "  LOGIN: letters, digits and . - _ @ (stored lower case, at most 320 bytes).\n"
    "  The password (8 to 1024 bytes, one line) is prompted for twice on a terminal,\n"
    "  or read from the first line of stdin or FILE; never give it as an argument.\n";

static const char sql_sub_id[] = "SELECT id FROM subscribers WHERE name = ?1";
static const char sql_login_id[] =
    "SELECT id FROM subscriber_credentials WHERE login = ?1";
static const char sql_login_add[] =
    "INSERT INTO subscriber_credentials(subscriber_id, kind, secret_hash, login) "
    "SELECT id, 'password', ?2, ?1 FROM subscribers WHERE name = ?3";
static const char sql_login_passwd[] =
    "UPDATE subscriber_credentials SET secret_hash = ?2, created = strftime('%s', 'now') "
    "WHERE login = ?1 AND kind = 'password'";
static const char sql_login_remove[] =
    "DELETE FROM subscriber_credentials WHERE login = ?1 AND kind = 'password'";
/* Never the hash: nothing a reader of this listing could attack offline. */
static const char sql_login_list[] =
    "SELECT c.login, s.name AS subscriber, s.status, "
    " datetime(c.created, 'unixepoch') AS changed "
    "FROM subscriber_credentials c JOIN subscribers s ON s.id = c.subscriber_id "
    "WHERE c.kind = 'password' AND c.login IS NOT NULL AND (?1 IS NULL OR s.name = ?1) "
    "ORDER BY c.login";

/* Lower-cased login into out: Dovecot's default auth_username_chars
 * (letters, digits, ". - _ @"), 1..POLICY_LOGIN_MAX bytes.  0, or -1. */
static int
login_canon(const char *in, char *out, size_t len)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz0123456789.-_@";
	size_t n;

	for (n = 0; in[n] != '\0'; n++) {
		char c = in[n] >= 'A' && in[n] <= 'Z' ? (char)(in[n] - 'A' + 'a') : in[n];

		if (n >= POLICY_LOGIN_MAX || n + 1 >= len || strchr(ok, c) == NULL)
			return -1;
		out[n] = c;
	}
	out[n] = '\0';
	return n == 0 ? -1 : 0;
}

/* One line from f into buf (the line end removed).  0, or 1 after printing
 * why (empty input, too long, NUL byte). */
static int
read_line(FILE *f, const char *what, char *buf, size_t len)
{
	size_t n = 0;
	int c;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (c == '\0' || n + 1 >= len) {
			explicit_bzero(buf, len);
			return ctl_err("%s: %s", what, c == '\0' ? "NUL byte in the password" :
			    "password longer than 1024 bytes");
		}
		buf[n++] = (char)c;
	}
	if (ferror(f)) {
		explicit_bzero(buf, len);
		return ctl_err("%s: %s", what, strerror(errno));
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return 0;
}

/* Prompts on the terminal with echo off. 0, or 1 (printed). */
static int
prompt(const char *text, char *buf, size_t len)
{
	struct termios old, quiet;
	FILE *tty;
	int st;

	if ((tty = fopen("/dev/tty", "r+")) == NULL)
		return ctl_err("no terminal to prompt on: give --password-stdin or "
		    "--password-file FILE");
	if (tcgetattr(fileno(tty), &old) == -1) {
		fclose(tty);
		return ctl_err("/dev/tty: %s", strerror(errno));
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	fputs(text, tty);
	fflush(tty);
	(void)tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	st = read_line(tty, "terminal", buf, len);
	(void)tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	return st;
}

/*
 * The new password from the options after the command's arguments
 * (--password-stdin | --password-file FILE | none: the terminal, twice).
 * 0 with buf filled, 1 (printed) or CTL_USAGE.
 */
static int
read_secret(int argc, char **argv, char *buf, size_t len)
{
	char again[PW_MAX + 2];
	FILE *f;
	int st;

	if (argc == 1 && strcmp(argv[0], "--password-stdin") == 0) {
		st = read_line(stdin, "stdin", buf, len);
	} else if (argc == 2 && strcmp(argv[0], "--password-file") == 0) {
		if ((f = fopen(argv[1], "r")) == NULL)
			return ctl_err("%s: %s", argv[1], strerror(errno));
		st = read_line(f, argv[1], buf, len);
		fclose(f);
	} else if (argc == 0) {
		if ((st = prompt("New password: ", buf, len)) == 0 &&
		    (st = prompt("Again: ", again, sizeof(again))) == 0 &&
		    strcmp(buf, again) != 0)
			st = ctl_err("the two passwords differ");
		explicit_bzero(again, sizeof(again));
	} else
		return ctl_usage(login_usage);
	if (st == 0 && strlen(buf) < PW_MIN)
		st = ctl_err("password shorter than %d bytes", PW_MIN);
	if (st != 0)
		explicit_bzero(buf, len);
	return st;
}

/* The yescrypt hash of pw, fresh salt, libxcrypt's default cost.  0, or 1
 * (printed).  The work area, which holds pw's traces, is wiped. */
static int
hash_secret(const char *pw, char *out, size_t len)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int st = 0;

	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return ctl_err("crypt_gensalt_rn($y$): %s", strerror(errno));
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return ctl_err("out of memory");
	h = crypt_rn(pw, salt, cd, (int)sizeof(*cd));
	if (h == NULL || strncmp(h, "$y$", 3) != 0)
		st = ctl_err("crypt(yescrypt) failed: %s", strerror(errno));
	else if ((size_t)snprintf(out, len, "%s", h) >= len)
		st = ctl_err("yescrypt hash too long");
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return st;
}

/* add LOGIN SUB [opts] and passwd LOGIN [opts]: read, hash, then open the
 * store and write in one transaction. */
static int
login_set(struct ctl *ctl, int add, const char *login, const char *sub, int argc,
    char **argv)
{
	char pw[PW_MAX + 2], hash[CRYPT_OUTPUT_SIZE];
	long long id;
	int st;

	if ((st = read_secret(argc, argv, pw, sizeof(pw))) != 0)
		return st;
	st = hash_secret(pw, hash, sizeof(hash));
	explicit_bzero(pw, sizeof(pw));
	if (st != 0)
		return st;
	if (ctl_open(ctl, 0) != 0 || ctl_begin(ctl) != 0)
		return 1;
	const char *a[] = { login, hash, sub };
	if (add) {
		if ((st = ctl_need(ctl, sql_sub_id, "subscriber", sub, NULL)) != 0)
			;
		else if ((st = ctl_query_int(ctl, sql_login_id, 1, a, &id)) == 1)
			st = ctl_err("login '%s' already exists", login);
		else if (st < 0 || ctl_exec(ctl, sql_login_add, 3, a) != 1)
			st = 1;
	} else
		st = ctl_exec_one(ctl, sql_login_passwd, 2, a, "no login '%s'", login);
	if ((st = ctl_end(ctl, st)) == 0) {
		if (add)
			ctl_say(ctl, "login %s added to %s", login, sub);
		else
			ctl_say(ctl, "login %s: password changed", login);
	}
	return st;
}

static int
login_remove(struct ctl *ctl, const char *login)
{
	const char *a[] = { login };
	int st;

	if (ctl_open(ctl, 0) != 0 || ctl_begin(ctl) != 0)
		return 1;
	st = ctl_exec_one(ctl, sql_login_remove, 1, a, "no login '%s'", login);
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "login %s removed", login);
	return st;
}

int
moatctl_login(struct ctl *ctl, int argc, char **argv)
{
	char login[POLICY_LOGIN_MAX + 1];
	int st;

	if (argc < 1)
		return ctl_usage(login_usage);
	if (strcmp(argv[0], "list") == 0 && argc <= 2) {
		const char *a[] = { argc == 2 ? argv[1] : NULL };
		if (ctl_open(ctl, 0) != 0)
			return 1;
		if (argc == 2 && (st = ctl_need(ctl, sql_sub_id, "subscriber", argv[1],
		    NULL)) != 0)
			return st;
		return ctl_print(ctl, CTL_TABLE, sql_login_list, 1, a);
	}
	if (argc < 2)
		return ctl_usage(login_usage);
	if (login_canon(argv[1], login, sizeof(login)) == -1)
		return ctl_err("'%.64s%s' is not a valid login (letters, digits, . - _ @; "
		    "at most %d bytes)", argv[1], strlen(argv[1]) > 64 ? "..." : "",
		    POLICY_LOGIN_MAX);
	if (strcmp(argv[0], "add") == 0 && argc >= 3)
		return login_set(ctl, 1, login, argv[2], argc - 3, argv + 3);
	if (strcmp(argv[0], "passwd") == 0)
		return login_set(ctl, 0, login, NULL, argc - 2, argv + 2);
	if (strcmp(argv[0], "remove") == 0 && argc == 2)
		return login_remove(ctl, login);
	return ctl_usage(login_usage);
}
