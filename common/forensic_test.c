/*
 * forensic_test - the forensic log: append, resume, verify; every way an
 * attacker can change the file (edit, delete, insert, swap, truncate, a
 * checkpoint signed with another key, an edit re-chained to the end) fails
 * verification naming the first bad record; a torn tail is told apart; a
 * write that the file size limit cuts short returns -1 and leaves nothing
 * behind; exports verify alone; hostile lines are refused by the parser.
 *
 * Also the test driver of tests/integration/test_moatctl_forensic.py:
 *   forensic_test write LOG KEY|- EVERY N [--no-close | --batch]
 * appends N "event" records (KEY "-": no checkpoints); --no-close exits
 * without forensic_close, as a crashed writer would; --batch appends with
 * forensic_append_batch (one fdatasync, at close).  close_it of
 * write_log: 1 close, 0 crash in a child, -1 return without closing.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forensic.h"
#include "forensic_rec.h"
#include "log.h"
#include "moat_test.h"

#define MAXLINES 64

static char dir[256], key_a[300], pub_a[300], key_b[300], pub_b[300];
static int driver_batch;        /* write_log: forensic_append_batch, one sync */

/* A log of n events with a checkpoint every `every`: with 4 and 10 its
 * lines are events 1-4, cp 5, events 6-9, cp 10, events 11-12, cp 13. */
static int
write_log(const char *path, const char *key, unsigned every, int n, int close_it)
{
	char err[512], payload[64];
	struct forensic *f;
	int status;
	pid_t pid;

	/* A crash: a child that exits without forensic_close. */
	if (close_it == 0) {
		if ((pid = fork()) == 0)
			_exit(write_log(path, key, every, n, -1) == 0 ? 0 : 1);
		return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0 ? 0 : -1;
	}

	if ((f = forensic_open(path, key, every, err, sizeof(err))) == NULL) {
		fprintf(stderr, "forensic_open: %s\n", err);
		return -1;
	}
	for (int i = 1; i <= n; i++) {
		snprintf(payload, sizeof(payload), "{\"n\":%d,\"src\":\"192.0.2.%d\"}", i, i);
		if ((driver_batch ? forensic_append_batch(f, "event", 1000 + i, payload) :
		    forensic_append(f, "event", 1000 + i, payload)) == -1) {
			fprintf(stderr, "forensic_append: %s\n", forensic_error(f));
			forensic_close(f);
			return -1;
		}
	}
	if (close_it > 0)
		forensic_close(f);
	return 0;       /* close_it < 0: the crashing child, about to exit */
}

struct lines {
	int   n;
	char *l[MAXLINES];      /* each with its '\n' (the last may lack it) */
};

static int
lines_read(const char *path, struct lines *ls)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	ls->n = 0;
	if (fp == NULL)
		return -1;
	while (ls->n < MAXLINES && getline(&line, &cap, fp) > 0)
		ls->l[ls->n++] = strdup(line);
	free(line);
	fclose(fp);
	return 0;
}

static int
lines_write(const char *path, const struct lines *ls)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		return -1;
	for (int i = 0; i < ls->n; i++)
		fputs(ls->l[i], fp);
	return fclose(fp);
}

static void
lines_free(struct lines *ls)
{
	for (int i = 0; i < ls->n; i++)
		free(ls->l[i]);
	ls->n = 0;
}

/* Re-formats line i with prev as its previous hash (same fields); the new
 * hash goes to hash.  What an attacker without the key can always do. */
static void
lines_rehash(struct lines *ls, int i, const char *prev, char hash[FORENSIC_HEX_LEN + 1])
{
	static char buf[FORENSIC_LINE_MAX + 2];
	char payload[FORENSIC_PAYLOAD_MAX + 1];
	struct forensic_rec r;

	if (forensic_rec_parse(ls->l[i], strlen(ls->l[i]) - 1, &r, NULL, 0) == -1)
		return;
	memcpy(payload, r.payload, r.payload_len);
	payload[r.payload_len] = '\0';
	/* A checkpoint's chain follows too (its signature cannot). */
	if (strcmp(r.type, FORENSIC_CHECKPOINT) == 0) {
		struct forensic_cp cp;
		char *p;
		if (forensic_rec_cp_parse(&r, &cp, NULL, 0) == 0 &&
		    (p = strstr(payload, cp.chain)) != NULL)
			memcpy(p, prev, FORENSIC_HEX_LEN);
	}
	forensic_rec_format(buf, sizeof(buf), r.seq, r.time, r.type, r.event_id, prev,
	    payload, hash);
	free(ls->l[i]);
	ls->l[i] = strdup(buf);
}

/* Re-chains lines from..end after an edit, as a forger would. */
static void
lines_rechain(struct lines *ls, int from)
{
	char prev[FORENSIC_HEX_LEN + 1], hash[FORENSIC_HEX_LEN + 1];
	struct forensic_rec r;

	if (from == 0)
		memset(prev, '0', FORENSIC_HEX_LEN);
	else {
		forensic_rec_parse(ls->l[from - 1], strlen(ls->l[from - 1]) - 1, &r, NULL, 0);
		memcpy(prev, r.hash, sizeof(prev));
	}
	prev[FORENSIC_HEX_LEN] = '\0';
	for (int i = from; i < ls->n; i++) {
		lines_rehash(ls, i, prev, hash);
		memcpy(prev, hash, sizeof(prev));
	}
}

static void
lines_delete(struct lines *ls, int i)
{
	free(ls->l[i]);
	memmove(&ls->l[i], &ls->l[i + 1], (size_t)(ls->n - i - 1) * sizeof(ls->l[0]));
	ls->n--;
}

static void
lines_insert(struct lines *ls, int i, char *line)
{
	memmove(&ls->l[i + 1], &ls->l[i], (size_t)(ls->n - i) * sizeof(ls->l[0]));
	ls->l[i] = line;
	ls->n++;
}

/* The tampering cases: each changes the 13-line log (see write_log). */
static void
t_edit(struct lines *ls)
{
	char *p = strstr(ls->l[2], "192.0.2.3");

	p[8] = '4';
}

static void t_delete(struct lines *ls) { lines_delete(ls, 2); }

static void
t_insert(struct lines *ls)
{
	char prev[FORENSIC_HEX_LEN + 1], hash[FORENSIC_HEX_LEN + 1];
	struct forensic_rec r;

	/* A well-formed record 3 chained to record 2, before the real one. */
	forensic_rec_parse(ls->l[1], strlen(ls->l[1]) - 1, &r, NULL, 0);
	memcpy(prev, r.hash, sizeof(prev));
	lines_insert(ls, 2, strdup(ls->l[2]));
	strstr(ls->l[2], "192.0.2.3")[8] = '9';
	lines_rehash(ls, 2, prev, hash);
}

static void
t_swap(struct lines *ls)
{
	char *t = ls->l[2];

	ls->l[2] = ls->l[3];
	ls->l[3] = t;
}

static void
t_torn(struct lines *ls)
{
	ls->l[12][strlen(ls->l[12]) / 2] = '\0';
}

static void t_cut(struct lines *ls) { lines_delete(ls, 12); lines_delete(ls, 11); }
static void t_head(struct lines *ls) { lines_delete(ls, 0); }

/* Record 3 edited, then everything after it re-chained: the chain holds,
 * the first checkpoint after the edit does not. */
static void
t_rechain(struct lines *ls)
{
	t_edit(ls);
	lines_rechain(ls, 2);
}

/* Checkpoint 5 re-signed with key B (and the rest re-chained). */
static void
t_forge_cp(struct lines *ls)
{
	char err[200], msg[160], sig[FORENSIC_SIG_HEX_LEN + 1], *p;
	gnutls_privkey_t kb;
	struct forensic_cp cp;
	struct forensic_rec r;
	size_t n;

	if (forensic_key_load_priv(key_b, &kb, err, sizeof(err)) == -1)
		return;
	forensic_rec_parse(ls->l[4], strlen(ls->l[4]) - 1, &r, NULL, 0);
	forensic_rec_cp_parse(&r, &cp, NULL, 0);
	n = forensic_rec_cp_message(msg, sizeof(msg), cp.covers, cp.chain);
	forensic_key_sign(kb, msg, n, sig, err, sizeof(err));
	gnutls_privkey_deinit(kb);
	p = strstr(ls->l[4], cp.sig);
	memcpy(p, sig, FORENSIC_SIG_HEX_LEN);
	lines_rechain(ls, 4);
}

struct tamper {
	const char  *name;
	void       (*fn)(struct lines *);
	unsigned     flags;
	enum forensic_status want;
	uint64_t     bad_seq;
	const char  *reason;        /* a word the reason must hold */
};

static const struct tamper tampers[] = {
	{ "untouched",       NULL,        FORENSIC_VERIFY_CLOSED, FORENSIC_OK,   0, "" },
	{ "edit payload",    t_edit,      0, FORENSIC_BAD,  3, "altered" },
	{ "delete record",   t_delete,    0, FORENSIC_BAD,  3, "missing" },
	{ "insert forged",   t_insert,    0, FORENSIC_BAD,  3, "inserted" },
	{ "swap two",        t_swap,      0, FORENSIC_BAD,  3, "reordered" },
	{ "torn tail",       t_torn,      0, FORENSIC_TORN, 13, "torn tail" },
	{ "cut at a line",   t_cut,       0, FORENSIC_OK,   0, "" },
	{ "cut, closed",     t_cut,       FORENSIC_VERIFY_CLOSED, FORENSIC_BAD, 11, "cut off" },
	{ "head removed",    t_head,      0, FORENSIC_BAD,  1, "missing" },
	{ "edit re-chained", t_rechain,   0, FORENSIC_BAD,  5, "signature" },
	{ "forged cp sig",   t_forge_cp,  0, FORENSIC_BAD,  5, "signature" },
};

static void
case_append_verify(void)
{
	struct forensic_report rep;
	char log[400];

	snprintf(log, sizeof(log), "%s/plain.log", dir);
	if (write_log(log, key_a, 4, 10, 1) == -1)
		TEST_FATAL("write_log");
	TEST_INT_EQ("verify", forensic_verify(log, pub_a, FORENSIC_VERIFY_CLOSED, &rep), 0);
	TEST_INT_EQ("status", rep.status, FORENSIC_OK);
	TEST_INT_EQ("records", rep.records, 13);
	TEST_INT_EQ("last_seq", rep.last_seq, 13);
	TEST_INT_EQ("checkpoints", rep.checkpoints, 3);
	TEST_INT_EQ("signed_seq", rep.signed_seq, 13);
	TEST_INT_EQ("keyed", rep.keyed, 1);
	/* The private key works as the verifier's key too; no key: chain only. */
	TEST_INT_EQ("verify with private", forensic_verify(log, key_a, 0, &rep), 0);
	TEST_INT_EQ("verify unkeyed", forensic_verify(log, NULL, 0, &rep), 0);
	TEST_INT_EQ("unkeyed checkpoints", rep.checkpoints, 0);
	TEST_INT_EQ("unkeyed keyed", rep.keyed, 0);
	TEST_INT_EQ("other key", forensic_verify(log, pub_b, 0, &rep), 1);
	TEST_INT_EQ("other key bad_seq", rep.bad_seq, 5);
	TEST_INT_EQ("missing file", forensic_verify("/nonexistent/x", pub_a, 0, &rep), -1);
	TEST_INT_EQ("missing file status", rep.status, FORENSIC_ERROR);
	TEST_INT_EQ("range needs key", forensic_verify(log, NULL, FORENSIC_VERIFY_RANGE, &rep), -1);
}

static void
case_resume(void)
{
	struct forensic_report rep;
	struct forensic *f, *g;
	char log[400], err[512];

	snprintf(log, sizeof(log), "%s/resume.log", dir);
	if (write_log(log, key_a, 4, 10, 1) == -1)
		TEST_FATAL("write_log");
	if ((f = forensic_open(log, key_a, 4, err, sizeof(err))) == NULL)
		TEST_FATAL("reopen: %s", err);
	TEST_INT_EQ("seq after reopen", forensic_seq(f), 13);
	/* One writer at a time. */
	g = forensic_open(log, key_a, 4, err, sizeof(err));
	TEST_CHECK(g == NULL, "a second writer was let in");
	TEST_CHECK(strstr(err, "another process") != NULL, "err: %s", err);
	forensic_close(g);
	TEST_INT_EQ("append", forensic_append(f, "response", 0, "{\"a\":1}"), 0);
	TEST_INT_EQ("seq", forensic_seq(f), 14);
	forensic_close(f);
	TEST_INT_EQ("verify", forensic_verify(log, pub_a, FORENSIC_VERIFY_CLOSED, &rep), 0);
	TEST_INT_EQ("last_seq", rep.last_seq, 15);
	TEST_INT_EQ("checkpoints", rep.checkpoints, 4);

	/* A crashed writer leaves an unsigned tail: it verifies (not closed),
	 * resuming signs it first. */
	snprintf(log, sizeof(log), "%s/crash.log", dir);
	if (write_log(log, key_a, 4, 6, 0) == -1)
		TEST_FATAL("write_log crash");
	TEST_INT_EQ("crashed", forensic_verify(log, pub_a, 0, &rep), 0);
	TEST_INT_EQ("crashed signed_seq", rep.signed_seq, 5);
	TEST_INT_EQ("crashed last_seq", rep.last_seq, 7);
	TEST_INT_EQ("crashed closed", forensic_verify(log, pub_a, FORENSIC_VERIFY_CLOSED, &rep), 1);
	TEST_INT_EQ("crashed closed bad_seq", rep.bad_seq, 6);
	if ((f = forensic_open(log, key_a, 4, err, sizeof(err))) == NULL)
		TEST_FATAL("resume crashed: %s", err);
	TEST_INT_EQ("append after crash", forensic_append(f, "event", 7, "{}"), 0);
	TEST_INT_EQ("seq after crash", forensic_seq(f), 9);     /* cp 8, event 9 */
	forensic_close(f);
	TEST_INT_EQ("resumed", forensic_verify(log, pub_a, FORENSIC_VERIFY_CLOSED, &rep), 0);

	/* A torn tail (a crash inside a write) is saved aside, cut off and
	 * recorded; the log goes on and verifies closed.  The log holds
	 * records 1..10 (checkpoint 10 at the last close). */
	static const char partial[] = "11\t2026-12-07T16:05:18.1234";
	char saved[520], buf[64];
	struct lines tl;
	FILE *fp;
	int fd = open(log, O_WRONLY | O_APPEND);
	if (fd == -1 || write(fd, partial, sizeof(partial) - 1) != (ssize_t)sizeof(partial) - 1)
		TEST_FATAL("appending a partial line");
	close(fd);
	TEST_INT_EQ("torn", forensic_verify(log, pub_a, 0, &rep), 1);
	TEST_INT_EQ("torn status", rep.status, FORENSIC_TORN);
	snprintf(saved, sizeof(saved), "%s.torn.%lld", log, (long long)rep.torn_off);
	if ((f = forensic_open(log, key_a, 4, err, sizeof(err))) == NULL)
		TEST_FATAL("resume torn: %s", err);
	TEST_INT_EQ("seq after torn", forensic_seq(f), 11);     /* the "torn" record */
	forensic_close(f);
	TEST_INT_EQ("untorn", forensic_verify(log, pub_a, FORENSIC_VERIFY_CLOSED, &rep), 0);
	lines_read(log, &tl);
	TEST_CHECK(tl.n == 12 && strstr(tl.l[10], "\ttorn\t0\t") != NULL &&
	    strstr(tl.l[10], "\"bytes\":27,") != NULL && strstr(tl.l[10], ".torn.") != NULL,
	    "record 11: %s", tl.n > 10 ? tl.l[10] : "(none)");
	lines_free(&tl);
	/* The saved file holds exactly the partial bytes. */
	if ((fp = fopen(saved, "r")) == NULL)
		TEST_FAIL("%s: %s", saved, strerror(errno));
	else {
		size_t got = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		TEST_CHECK(got == sizeof(partial) - 1 && memcmp(buf, partial, got) == 0,
		    "saved %zu bytes", got);
	}

	/* A tampered log is not resumed (nor signed over). */
	struct lines ls;
	lines_read(log, &ls);
	t_edit(&ls);
	lines_write(log, &ls);
	lines_free(&ls);
	f = forensic_open(log, key_a, 4, err, sizeof(err));
	TEST_CHECK(f == NULL, "a tampered log was resumed");
	TEST_CHECK(strstr(err, "record 3") != NULL, "err: %s", err);
	forensic_close(f);
}

static void
case_tamper(void)
{
	struct forensic_report rep;
	struct lines base, ls;
	char log[400], bad[400];

	snprintf(log, sizeof(log), "%s/tamper.log", dir);
	snprintf(bad, sizeof(bad), "%s/tampered.log", dir);
	if (write_log(log, key_a, 4, 10, 1) == -1 || lines_read(log, &base) == -1)
		TEST_FATAL("write_log");
	if (base.n != 13)
		TEST_FATAL("%d lines, want 13", base.n);
	for (size_t i = 0; i < TEST_NELEM(tampers); i++) {
		const struct tamper *t = &tampers[i];
		ls.n = base.n;
		for (int j = 0; j < base.n; j++)
			ls.l[j] = strdup(base.l[j]);
		if (t->fn != NULL)
			t->fn(&ls);
		lines_write(bad, &ls);
		lines_free(&ls);
		int rc = forensic_verify(bad, pub_a, t->flags, &rep);
		if (rc != (t->want == FORENSIC_OK ? 0 : 1) || rep.status != t->want ||
		    rep.bad_seq != t->bad_seq || strstr(rep.reason, t->reason) == NULL)
			TEST_FAIL("%s: got rc %d status %d bad_seq %" PRIu64 " (%s), want "
			    "status %d bad_seq %" PRIu64 " with '%s'", t->name, rc, rep.status,
			    rep.bad_seq, rep.reason, t->want, t->bad_seq, t->reason);
	}
	lines_free(&base);
}

/* A write the file-size limit cuts short: -1, the error kept, the partial
 * line cut off again (the log still verifies), the next append works. */
static void
case_full(void)
{
	struct forensic_report rep;
	struct rlimit old, lim;
	struct forensic *f;
	char log[400], err[512], big[2048];
	struct stat sb;
	off_t before;
	int rc;

	snprintf(log, sizeof(log), "%s/full.log", dir);
	if ((f = forensic_open(log, key_a, 100, err, sizeof(err))) == NULL)
		TEST_FATAL("open: %s", err);
	TEST_INT_EQ("first", forensic_append(f, "event", 1, "{\"a\":1}"), 0);
	stat(log, &sb);
	before = sb.st_size;
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"pad\":\"", 8);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)before + 500;    /* half of the next record fits */
	setrlimit(RLIMIT_FSIZE, &lim);
	rc = forensic_append(f, "event", 2, big);
	setrlimit(RLIMIT_FSIZE, &old);
	TEST_INT_EQ("append over the limit", rc, -1);
	TEST_CHECK(strstr(forensic_error(f), "File too large") != NULL, "error: '%s'",
	    forensic_error(f));
	stat(log, &sb);
	TEST_INT_EQ("size after failure", sb.st_size, before);
	TEST_INT_EQ("seq after failure", forensic_seq(f), 1);
	TEST_INT_EQ("append again", forensic_append(f, "event", 2, big), 0);
	TEST_STR_EQ("error cleared", forensic_error(f), "");
	forensic_close(f);
	TEST_INT_EQ("verify", forensic_verify(log, pub_a, FORENSIC_VERIFY_CLOSED, &rep), 0);
	TEST_INT_EQ("last_seq", rep.last_seq, 3);

	/* Not a regular file (/dev/full): refused at open. */
	f = forensic_open("/dev/full", NULL, 10, err, sizeof(err));
	TEST_CHECK(f == NULL, "/dev/full accepted");
	forensic_close(f);
}

/* Batches: records written with forensic_append_batch verify once synced;
 * a sync on a healthy log is 0, twice too. */
static void
case_batch(void)
{
	struct forensic_report rep;
	struct forensic *f;
	char log[400], err[512];
	int bad = 0;

	snprintf(log, sizeof(log), "%s/batch.log", dir);
	if ((f = forensic_open(log, key_a, 100, err, sizeof(err))) == NULL)
		TEST_FATAL("open: %s", err);
	for (int i = 1; i <= 1000; i++)
		bad += forensic_append_batch(f, "event", i, "{\"batch\":true}") != 0;
	TEST_INT_EQ("batch appends failed", bad, 0);
	TEST_INT_EQ("sync", forensic_sync(f), 0);
	TEST_INT_EQ("sync again", forensic_sync(f), 0);
	TEST_INT_EQ("seq", forensic_seq(f), 1010);      /* 10 checkpoints among them */
	TEST_INT_EQ("unbatched", forensic_append(f, "response", 0, "{}"), 0);
	forensic_close(f);
	TEST_INT_EQ("verify", forensic_verify(log, pub_a, FORENSIC_VERIFY_CLOSED, &rep), 0);
	TEST_INT_EQ("checkpoints", rep.checkpoints, 11);
}

/* Payloads that are not one clean line of JSON are kept, made safe. */
static void
case_payloads(void)
{
	static const struct { const char *name, *in, *want; } cases[] = {
		{ "clean",     "{\"k\":\"v\"}",            "{\"k\":\"v\"}" },
		{ "newlines",  "{\n\t\"k\": \"v\"\n}",      "{\"k\":\"v\"}" },
		{ "not json",  "oops\x1b[31m\ttab",        "{\"invalid_json\":\"oops\\u001b[31m\\ttab\"}" },
		{ "an array",  "[1,2]",                    "{\"invalid_json\":\"[1,2]\"}" },
		{ "bad utf-8", "{\"k\":\"\xff\"}",          "{\"invalid_json\":\"{\\\"k\\\":\\\"\\u00ff\\\"}\"}" },
		/* The flat shape copied without jansson, and near misses of it. */
		{ "flat",      "{\"a\":\"x\\\"y\\n\",\"n\":-12,\"z\":0,\"t\":true,\"f\":false,\"u\":null,\"e\":\"\"}",
		  "{\"a\":\"x\\\"y\\n\",\"n\":-12,\"z\":0,\"t\":true,\"f\":false,\"u\":null,\"e\":\"\"}" },
		{ "empty",     "{}",                       "{}" },
		{ "comma",     "{\"a\":1,}",                "{\"invalid_json\":\"{\\\"a\\\":1,}\"}" },
		{ "zero lead", "{\"a\":01}",                "{\"invalid_json\":\"{\\\"a\\\":01}\"}" },
		{ "bad esc",   "{\"a\":\"\\x\"}",            "{\"invalid_json\":\"{\\\"a\\\":\\\"\\\\x\\\"}\"}" },
		{ "tail",      "{\"a\":1}}",               "{\"invalid_json\":\"{\\\"a\\\":1}}\"}" },
		{ "no value",  "{\"a\":}",                 "{\"invalid_json\":\"{\\\"a\\\":}\"}" },
		{ "too big",   "{\"a\":123456789012345678901234}", "{\"invalid_json\":\"{\\\"a\\\":123456789012345678901234}\"}" },
	};
	struct forensic_report rep;
	struct forensic_rec r;
	struct forensic *f;
	struct lines ls;
	char log[400], err[512], *huge;

	snprintf(log, sizeof(log), "%s/payload.log", dir);
	if ((f = forensic_open(log, NULL, 10, err, sizeof(err))) == NULL)
		TEST_FATAL("open: %s", err);
	for (size_t i = 0; i < TEST_NELEM(cases); i++)
		TEST_INT_EQ(cases[i].name, forensic_append(f, "event", 1, cases[i].in), 0);
	huge = malloc(FORENSIC_PAYLOAD_MAX + 100);
	memset(huge, 'a', FORENSIC_PAYLOAD_MAX + 99);
	huge[FORENSIC_PAYLOAD_MAX + 99] = '\0';
	TEST_INT_EQ("huge", forensic_append(f, "event", 1, huge), 0);
	free(huge);
	TEST_INT_EQ("bad type", forensic_append(f, "Bad Type", 1, "{}"), -1);
	TEST_INT_EQ("negative id", forensic_append(f, "event", -1, "{}"), -1);
	forensic_close(f);
	TEST_INT_EQ("verify", forensic_verify(log, NULL, 0, &rep), 0);
	lines_read(log, &ls);
	TEST_INT_EQ("lines", ls.n, (int)TEST_NELEM(cases) + 1);
	for (int i = 0; i < ls.n; i++) {
		char got[512];
		forensic_rec_parse(ls.l[i], strlen(ls.l[i]) - 1, &r, NULL, 0);
		snprintf(got, sizeof(got), "%.*s", (int)r.payload_len, r.payload);
		if (i < (int)TEST_NELEM(cases))
			TEST_STR_EQ(cases[i].name, got, cases[i].want);
		else
			TEST_CHECK(strncmp(got, "{\"oversize\":", 12) == 0, "huge: %s", got);
	}
	lines_free(&ls);
}

static void
case_export(void)
{
	struct forensic_report rep;
	char log[400], out[400];
	struct lines ls;
	int fd;

	snprintf(log, sizeof(log), "%s/export.log", dir);
	snprintf(out, sizeof(out), "%s/export.out", dir);
	if (write_log(log, key_a, 4, 10, 1) == -1)
		TEST_FATAL("write_log");
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	TEST_INT_EQ("export 3..6", forensic_export(log, pub_a, 3, 6, fd, &rep), 0);
	close(fd);
	lines_read(out, &ls);
	TEST_INT_EQ("export lines", ls.n, 9);   /* header + records 3..10 */
	TEST_INT_EQ("verify range", forensic_verify(out, pub_a, FORENSIC_VERIFY_RANGE, &rep), 0);
	TEST_INT_EQ("range from", rep.from, 3);
	TEST_INT_EQ("range to", rep.to, 6);
	TEST_INT_EQ("range other key", forensic_verify(out, pub_b, FORENSIC_VERIFY_RANGE, &rep), 1);
	/* Record 4 edited in the export. */
	strstr(ls.l[2], "192.0.2.4")[8] = '5';
	lines_write(out, &ls);
	TEST_INT_EQ("edited range", forensic_verify(out, pub_a, FORENSIC_VERIFY_RANGE, &rep), 1);
	TEST_INT_EQ("edited range bad_seq", rep.bad_seq, 4);
	/* The checkpoint dropped: the range is no longer proven. */
	free(ls.l[ls.n - 1]);
	ls.n--;
	lines_write(out, &ls);
	TEST_INT_EQ("no checkpoint", forensic_verify(out, pub_a, FORENSIC_VERIFY_RANGE, &rep), 1);
	lines_free(&ls);
	/* A plain log is not an export. */
	TEST_INT_EQ("not an export", forensic_verify(log, pub_a, FORENSIC_VERIFY_RANGE, &rep), 1);
	TEST_INT_EQ("not an export line", rep.bad_line, 1);
	/* Beyond the end, and not yet signed. */
	fd = open(out, O_WRONLY | O_TRUNC);
	TEST_INT_EQ("past the end", forensic_export(log, pub_a, 3, 99, fd, &rep), 1);
	snprintf(log, sizeof(log), "%s/export-crash.log", dir);
	write_log(log, key_a, 4, 6, 0);
	TEST_INT_EQ("unsigned", forensic_export(log, pub_a, 6, 6, fd, &rep), 1);
	TEST_CHECK(strstr(rep.reason, "not covered") != NULL, "reason: %s", rep.reason);
	close(fd);
}

/* Lines the parser must refuse (the verifier's first defence). */
static void
case_parse(void)
{
	static const char z[] = "0000000000000000000000000000000000000000000000000000000000000000";
	static const char t[] = "2026-12-07T16:05:18.123456Z";
	static const struct { const char *name, *fmt; } bad[] = {
		{ "six fields",    "1\t%2$s\tevent\t0\t%1$s\t{}" },
		{ "eight fields",  "1\t%2$s\tevent\t0\t%1$s\t{}\t%1$s\tx" },
		{ "seq 0",         "0\t%2$s\tevent\t0\t%1$s\t{}\t%1$s" },
		{ "seq leading 0", "01\t%2$s\tevent\t0\t%1$s\t{}\t%1$s" },
		{ "seq sign",      "+1\t%2$s\tevent\t0\t%1$s\t{}\t%1$s" },
		{ "seq huge",      "99999999999999999999\t%2$s\tevent\t0\t%1$s\t{}\t%1$s" },
		{ "bad time",      "1\t2026-12-07 16:05:18\tevent\t0\t%1$s\t{}\t%1$s" },
		{ "upper type",    "1\t%2$s\tEvent\t0\t%1$s\t{}\t%1$s" },
		{ "empty type",    "1\t%2$s\t\t0\t%1$s\t{}\t%1$s" },
		{ "negative id",   "1\t%2$s\tevent\t-1\t%1$s\t{}\t%1$s" },
		{ "short prev",    "1\t%2$s\tevent\t0\t00\t{}\t%1$s" },
		{ "upper hex",     "1\t%2$s\tevent\t0\t%1$s\t{}\t%1$.63sA" },
		{ "not object",    "1\t%2$s\tevent\t0\t%1$s\t[]\t%1$s" },
		{ "control byte",  "1\t%2$s\tevent\t0\t%1$s\t{\x1b}\t%1$s" },
	};
	struct forensic_rec r;
	struct forensic_cp cp;
	char line[512], why[160];

	for (size_t i = 0; i < TEST_NELEM(bad); i++) {
		snprintf(line, sizeof(line), bad[i].fmt, z, t);
		TEST_CHECK(forensic_rec_parse(line, strlen(line), &r, why, sizeof(why)) == -1,
		    "%s: parsed", bad[i].name);
	}
	snprintf(line, sizeof(line), "7\t%s\tevent\t12\t%s\t{\"a\":1}\t%s", t, z, z);
	TEST_INT_EQ("good", forensic_rec_parse(line, strlen(line), &r, why, sizeof(why)), 0);
	TEST_INT_EQ("good seq", r.seq, 7);
	TEST_INT_EQ("good event", r.event_id, 12);
	TEST_INT_EQ("not a checkpoint", forensic_rec_cp_parse(&r, &cp, why, sizeof(why)), -1);
	snprintf(line, sizeof(line), "7\t%s\tcheckpoint\t0\t%s\t{\"covers\":6,\"chain\":\"%s\","
	    "\"key\":\"%s\",\"sig\":\"x\"}\t%s", t, z, z, z, z);
	forensic_rec_parse(line, strlen(line), &r, why, sizeof(why));
	TEST_INT_EQ("short sig", forensic_rec_cp_parse(&r, &cp, why, sizeof(why)), -1);
}

/* The integration tests' driver (see the top). */
static int
driver(int argc, char **argv)
{
	if (argc < 6 || strcmp(argv[1], "write") != 0) {
		fprintf(stderr, "usage: forensic_test write LOG KEY|- EVERY N "
		    "[--no-close | --batch]\n");
		return 2;
	}
	int crash = argc > 6 && strcmp(argv[6], "--no-close") == 0;

	driver_batch = argc > 6 && strcmp(argv[6], "--batch") == 0;
	int rc = write_log(argv[2], strcmp(argv[3], "-") == 0 ? NULL : argv[3],
	    (unsigned)atoi(argv[4]), atoi(argv[5]), crash ? -1 : 1) == 0 ? 0 : 1;
	if (crash)
		_exit(rc);      /* as a crash: no exit handlers (nor leak reports) */
	return rc;
}

static const struct test_case cases[] = {
	{ "append_verify", case_append_verify },
	{ "resume", case_resume },
	{ "tamper", case_tamper },
	{ "full", case_full },
	{ "batch", case_batch },
	{ "payloads", case_payloads },
	{ "export", case_export },
	{ "parse", case_parse },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	char err[512];
	int rc;

	log_init("forensic_test", 1, NULL);
	if (argc > 1)
		return driver(argc, argv);
	snprintf(dir, sizeof(dir), "%s/forensic_test.XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(key_a, sizeof(key_a), "%s/a.pem", dir);
	snprintf(pub_a, sizeof(pub_a), "%s/a.pub.pem", dir);
	snprintf(key_b, sizeof(key_b), "%s/b.pem", dir);
	snprintf(pub_b, sizeof(pub_b), "%s/b.pub.pem", dir);
	if (forensic_key_generate(key_a, pub_a, err, sizeof(err)) == -1 ||
	    forensic_key_generate(key_b, pub_b, err, sizeof(err)) == -1) {
		fprintf(stderr, "keygen: %s\n", err);
		return 1;
	}
	rc = test_run(cases);
	if (rc == 0)
		test_rmtree(dir);
	return rc;
}
