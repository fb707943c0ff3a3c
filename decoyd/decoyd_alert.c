/*
 * decoyd_alert - condensed alerts: what the keeper mails the operator about
 * penetration attempts (login attempts, commands, download attempts), at
 * most one mail per source address per window (see decoyd_keeper.h for the
 * window's rule).  Pure: no I/O, the time is an argument; the mailer
 * (decoyd_alertmail.c) sends what this module writes.
 *
 * Nothing in a fact is trusted (it comes from the loop process, which an
 * intruder may own): the source address and session keys are reduced to the
 * characters they are made of, personality names to [a-z0-9]; the
 * intruder's bytes (credentials, commands, URLs) appear only in the body,
 * each as one escaped, quoted, bounded line (alert_clean), and the body goes
 * out quoted-printable, so no byte of theirs can end a header, start one,
 * or reach the wire as 8-bit.  Headers hold only our text and the
 * configured addresses (checked at load: printable ASCII).
 *
 * Ownership: the book owns the per-source states; a mail returned belongs
 * to the caller (alert_mail_free).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "decoyd_keeper.h"
#include "utf8.h"

#define AL_KEYS   16            /* session keys listed per mail */
#define AL_WHERE  6             /* personality/port pairs */
#define AL_CREDS  10            /* credentials tried */
#define AL_CMDS   10            /* first commands */
#define AL_URLS   5             /* download attempts */
#define AL_ITEM   200           /* bytes of one escaped item */

struct al_src {
	struct al_src *next;
	char      src[64];
	time_t    window_start, window_end;
	unsigned  fresh;            /* facts since the last mail */
	unsigned  logins, commands, downloads;
	char      keys[AL_KEYS][48];
	unsigned  nkeys, keys_more;
	char      where[AL_WHERE][40];
	unsigned  nwhere;
	char      creds[AL_CREDS][2 * AL_ITEM + 8];
	unsigned  ncreds;
	char      cmds[AL_CMDS][AL_ITEM + 8];
	unsigned  ncmds;
	char      urls[AL_URLS][2 * AL_ITEM + 8];
	unsigned  nurls;
};

struct alert_book {
	struct al_src *head;
	size_t         n, max;
	char           from[256], to[256];
	uint64_t       dropped;
	unsigned long  seq;
};

struct alert_book *
alert_new(const char *from, const char *to, size_t max_sources)
{
	struct alert_book *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	snprintf(b->from, sizeof(b->from), "%s", from);
	snprintf(b->to, sizeof(b->to), "%s", to);
	b->max = max_sources;
	return b;
}

void
alert_free(struct alert_book *b)
{
	struct al_src *s, *n;

	if (b == NULL)
		return;
	for (s = b->head; s != NULL; s = n) {
		n = s->next;
		free(s);
	}
	free(b);
}

uint64_t
alert_dropped(const struct alert_book *b)
{
	return b->dropped;
}

void
alert_mail_free(struct alert_mail *m)
{
	if (m == NULL)
		return;
	free(m->text);
	free(m->keys);
	free(m);
}

/* ---------------------------------------------------------- text */

char *
alert_clean(char *out, size_t cap, const char *in)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t len = strlen(in), i = 0, o = 0, n, k;
	char piece[16];
	uint32_t cp;

	if (cap == 0)
		return out;
	while (i < len) {
		if (p[i] == '\\' || p[i] == '"') {
			piece[0] = '\\', piece[1] = (char)p[i], n = 2, k = 1;
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			piece[0] = (char)p[i], n = 1, k = 1;
		} else if (p[i] >= 0x80 && (k = utf8_seq(p + i, len - i, &cp)) != 0 &&
		    !utf8_unsafe(cp) && !(cp >= 0xfff9 && cp <= 0xfffb)) {
			memcpy(piece, p + i, k), n = k;
		} else {
			n = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", p[i]), k = 1;
		}
		if (o + n + 4 > cap) {          /* room for "..." and the NUL */
			if (cap >= 4)
				memcpy(out + o, "...", 3), o += 3;
			break;
		}
		memcpy(out + o, piece, n);
		o += n;
		i += k;
	}
	out[o < cap ? o : cap - 1] = '\0';
	return out;
}

/* Keeps the characters an address is made of; anything else is '?'. */
static void
al_addr(char *out, size_t cap, const char *in)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < cap; i++)
		out[i] = strchr("0123456789abcdefABCDEF.:%", in[i]) != NULL ? in[i] : '?';
	out[i] = '\0';
	if (i == 0)
		snprintf(out, cap, "?");
}

/* Session keys: [0-9A-Za-z-]; personality names: [a-z0-9]. */
static void
al_word(char *out, size_t cap, const char *in, const char *extra)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < cap; i++) {
		char c = in[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c != '\0' && strchr(extra, c) != NULL) ? c : '?';
	}
	out[i] = '\0';
	if (i == 0)
		snprintf(out, cap, "?");
}

/* ---------------------------------------------------------- the book */

static struct al_src **
al_find(struct alert_book *b, const char *src)
{
	struct al_src **p;

	for (p = &b->head; *p != NULL; p = &(*p)->next)
		if (strcmp((*p)->src, src) == 0)
			break;
	return p;
}

static void
al_add(struct al_src *s, const struct alert_fact *f)
{
	char key[48], pers[16], where[40], a[AL_ITEM], bb[AL_ITEM];
	unsigned i;

	al_word(key, sizeof(key), f->key != NULL ? f->key : "", "ABCDEFGHIJKLMNOPQRSTUVWXYZ-");
	al_word(pers, sizeof(pers), f->personality != NULL ? f->personality : "", "");
	snprintf(where, sizeof(where), "%s/%u", pers, f->port);
	for (i = 0; i < s->nkeys && strcmp(s->keys[i], key) != 0; i++)
		;
	if (i == s->nkeys) {
		if (s->nkeys < AL_KEYS)
			snprintf(s->keys[s->nkeys++], sizeof(s->keys[0]), "%s", key);
		else
			s->keys_more++;
	}
	for (i = 0; i < s->nwhere && strcmp(s->where[i], where) != 0; i++)
		;
	if (i == s->nwhere && s->nwhere < AL_WHERE)
		snprintf(s->where[s->nwhere++], sizeof(s->where[0]), "%s", where);
	alert_clean(a, sizeof(a), f->a != NULL ? f->a : "");
	alert_clean(bb, sizeof(bb), f->b != NULL ? f->b : "");
	switch (f->kind) {
	case ALERT_LOGIN:
		s->logins++;
		if (s->ncreds < AL_CREDS)
			snprintf(s->creds[s->ncreds++], sizeof(s->creds[0]), "\"%s\" / \"%s\"", a, bb);
		break;
	case ALERT_COMMAND:
		s->commands++;
		if (s->ncmds < AL_CMDS)
			snprintf(s->cmds[s->ncmds++], sizeof(s->cmds[0]), "\"%s\"", a);
		break;
	case ALERT_DOWNLOAD:
		s->downloads++;
		if (s->nurls < AL_URLS)
			snprintf(s->urls[s->nurls++], sizeof(s->urls[0]), "%s \"%s\"", a, bb);
		break;
	}
	s->fresh++;
}

/* Empties the window's facts (the source stays known). */
static void
al_reset(struct al_src *s)
{
	char src[64];
	struct al_src *next = s->next;

	memcpy(src, s->src, sizeof(src));
	memset(s, 0, sizeof(*s));
	memcpy(s->src, src, sizeof(src));
	s->next = next;
}

/* ---------------------------------------------------------- the mail */

/* Quoted-printable (RFC 2045 6.7) of text with '\n' line ends, CRLF out. */
static void
al_qp(FILE *fp, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	int col = 0;

	for (; *p != '\0'; p++) {
		int lit = (*p >= 33 && *p <= 126 && *p != '=') ||
		    (*p == ' ' && p[1] != '\n' && p[1] != '\0');

		if (*p == '\n') {
			fputs("\r\n", fp);
			col = 0;
			continue;
		}
		if (col + (lit ? 1 : 3) > 75) {
			fputs("=\r\n", fp);
			col = 0;
		}
		if (lit)
			fputc(*p, fp), col++;
		else
			fprintf(fp, "=%02X", *p), col += 3;
	}
	if (col > 0)
		fputs("\r\n", fp);
}

static const char *
al_kind(enum alert_kind k)
{
	return k == ALERT_LOGIN ? "a login attempt" : k == ALERT_COMMAND ? "a command" :
	    "a download attempt";
}

static struct alert_mail *
al_compose(struct alert_book *b, const struct al_src *s, int summary,
    enum alert_kind first, time_t now, long long window)
{
	struct alert_mail *m;
	char *body = NULL, date[64], t0[32], t1[32], host[128] = "localhost";
	size_t blen = 0, tlen = 0, klen = 0, i;
	FILE *fp;
	struct tm tm;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	snprintf(m->src, sizeof(m->src), "%s", s->src);
	m->summary = summary;
	m->logins = s->logins;
	m->commands = s->commands;
	m->downloads = s->downloads;
	if ((fp = open_memstream(&m->keys, &klen)) == NULL)
		goto fail;
	for (i = 0; i < s->nkeys; i++)
		fprintf(fp, "%s%s", i > 0 ? " " : "", s->keys[i]);
	if (fclose(fp) != 0)
		goto fail;
	gmtime_r(&s->window_start, &tm);
	strftime(t0, sizeof(t0), "%Y-%m-%d %H:%M:%S UTC", &tm);
	gmtime_r(&s->window_end, &tm);
	strftime(t1, sizeof(t1), "%Y-%m-%d %H:%M:%S UTC", &tm);

	if ((fp = open_memstream(&body, &blen)) == NULL)
		goto fail;
	if (!summary)
		fprintf(fp, "A penetration attempt is underway on a decoy: %s from %s.\n"
		    "Further attempts from %s until %s are gathered into one summary.\n\n",
		    al_kind(first), s->src, s->src, t1);
	else
		fprintf(fp, "Summary of the penetration attempts from %s between %s and %s.\n\n",
		    s->src, t0, t1);
	fprintf(fp, "Source:     %s\nDecoys:    ", s->src);
	for (i = 0; i < s->nwhere; i++)
		fprintf(fp, " %s", s->where[i]);
	fprintf(fp, "\nLogins:     %u\nCommands:   %u\nDownloads:  %u\n", s->logins,
	    s->commands, s->downloads);
	if (s->ncreds > 0) {
		fprintf(fp, "\nCredentials tried (user / password; the intruder's bytes, "
		    "escaped):\n");
		for (i = 0; i < s->ncreds; i++)
			fprintf(fp, "  %s\n", s->creds[i]);
		if (s->logins > s->ncreds)
			fprintf(fp, "  ... and %u more\n", s->logins - s->ncreds);
	}
	if (s->ncmds > 0) {
		fprintf(fp, "\nFirst commands:\n");
		for (i = 0; i < s->ncmds; i++)
			fprintf(fp, "  %s\n", s->cmds[i]);
		if (s->commands > s->ncmds)
			fprintf(fp, "  ... and %u more\n", s->commands - s->ncmds);
	}
	if (s->nurls > 0) {
		fprintf(fp, "\nDownload attempts (nothing was fetched):\n");
		for (i = 0; i < s->nurls; i++)
			fprintf(fp, "  %s\n", s->urls[i]);
	}
	fprintf(fp, "\nSessions (%u%s):\n", s->nkeys, s->keys_more ? " and more" : "");
	for (i = 0; i < s->nkeys; i++)
		fprintf(fp, "  %s\n", s->keys[i]);
	fprintf(fp, "\nEach session's transcript, events and replay:\n"
	    "  moatctl decoy show KEY    (e.g. moatctl decoy show %s)\n"
	    "\nAt most one alert per source per %lld s.\n-- \nmoat-decoyd\n",
	    s->nkeys > 0 ? s->keys[0] : "KEY", window);
	if (fclose(fp) != 0)
		goto fail;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	(void)gethostname(host, sizeof(host) - 1);
	al_word(host, sizeof(host), host, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-.");
	if ((fp = open_memstream(&m->text, &tlen)) == NULL)
		goto fail;
	fprintf(fp, "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\n", date, b->from, b->to);
	if (!summary)
		fprintf(fp, "Subject: [moat-decoyd] penetration attempt from %s (%s)\r\n",
		    s->src, s->nwhere > 0 ? s->where[0] : "?");
	else
		fprintf(fp, "Subject: [moat-decoyd] summary: %u login(s), %u command(s), "
		    "%u download(s) from %s\r\n", s->logins, s->commands, s->downloads, s->src);
	fprintf(fp, "Message-ID: <moat-decoyd.%lld.%ld.%lu@%s>\r\n"
	    "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "X-Moat-Decoy-Source: %s\r\nX-Moat-Decoy-Sessions: %s\r\n\r\n",
	    (long long)now, (long)getpid(), ++b->seq, host, s->src, m->keys);
	al_qp(fp, body);
	free(body);
	body = NULL;
	if (fclose(fp) != 0)
		goto fail;
	return m;
fail:
	free(body);
	alert_mail_free(m);
	return NULL;
}

struct alert_mail *
alert_note(struct alert_book *b, const struct alert_fact *f, time_t now, long long window)
{
	struct al_src **p, *s;
	struct alert_mail *m;
	char src[64];

	al_addr(src, sizeof(src), f->src != NULL ? f->src : "");
	p = al_find(b, src);
	if ((s = *p) != NULL) {
		al_add(s, f);
		return NULL;
	}
	if (b->n >= b->max || (s = calloc(1, sizeof(*s))) == NULL) {
		b->dropped++;
		return NULL;
	}
	snprintf(s->src, sizeof(s->src), "%s", src);
	s->window_start = now;
	s->window_end = now + window;
	*p = s;
	b->n++;
	al_add(s, f);
	m = al_compose(b, s, 0, f->kind, now, window);
	s->fresh = 0;
	return m;
}

time_t
alert_next(const struct alert_book *b)
{
	const struct al_src *s;
	time_t t = 0;

	for (s = b->head; s != NULL; s = s->next)
		if (t == 0 || s->window_end < t)
			t = s->window_end;
	return t;
}

struct alert_mail *
alert_due(struct alert_book *b, time_t now, long long window, int force)
{
	struct al_src **p, *s;
	struct alert_mail *m;

	for (p = &b->head; (s = *p) != NULL;) {
		if (!force && s->window_end > now) {
			p = &s->next;
			continue;
		}
		if (s->fresh == 0) {            /* a quiet window: forget it */
			*p = s->next;
			free(s);
			b->n--;
			continue;
		}
		if (force)
			s->window_end = now;
		m = al_compose(b, s, 1, ALERT_LOGIN, now, window);
		if (force) {
			*p = s->next;
			free(s);
			b->n--;
		} else {
			/* The summary opens the next window. */
			al_reset(s);
			s->window_start = now;
			s->window_end = now + window;
		}
		if (m != NULL)
			return m;
	}
	return NULL;
}
