/*
 * milter_decide_test - golden tests of the end-of-message decision.
 *
 * Every testdata/decide/NAME.in is a script of cases; its decisions printed
 * must equal NAME.ref byte for byte.  DECIDE_TEST_UPDATE=1 rewrites the
 * .ref files (review the diff before committing).  Each case also runs with
 * its recipients in reverse order and must print the same decision: the
 * RCPT order never changes a message's fate.
 *
 * Script lines (# starts a comment):
 *   policy NAME [key=value ...]   keys as the policies columns; the rest
 *                                 are the schema defaults; lasts the file
 *   case NAME                     starts a case (ends at the next or EOF)
 *   rcpt ADDRESS POLICY|-         a recipient (- unserved)
 *   verdict clean|infected|unscannable|error|unscanned [TEXT]
 *   size BYTES                    default 1000
 *   sender ADDRESS|<>             default someone@example.net
 *   flags threat forged subject noquarantine
 *   old scanned=N status=N threat=N   copies that arrived with the message
 *   outcome quarantine=ok|no|failed repair=ok|no|failed apply=ok|failed
 *                                 what a step returns when asked (ok)
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter.h"
#include "milter_decide.h"
#include "moat_test.h"

#define MAXPOL  32
#define MAXRCPT 16
#define OUTLEN  8192

struct tcase {
	char                name[128];
	struct milter_rcpt  rcpts[MAXRCPT];
	char                addrs[MAXRCPT][128];
	size_t              nrcpts;
	enum verdict        verdict;
	char                text[256];
	size_t              size;
	int                 threat, forged, subject, noquar, has_sender;
	int                 old[3];
	enum decide_outcome want_q, want_r, want_a;
};

static struct policy pols[MAXPOL];
static char polnames[MAXPOL][64], poladmins[MAXPOL][128];
static size_t npols;

static const struct policy *
find_policy(const char *name)
{
	for (size_t i = 0; i < npols; i++)
		if (strcmp(pols[i].name, name) == 0)
			return &pols[i];
	return NULL;
}

static int
parse_bool(const char *v)
{
	return strcmp(v, "1") == 0 || strcmp(v, "yes") == 0;
}

/* One key=value of a policy line; -1 when unknown. */
static int
policy_key(struct policy *p, size_t slot, const char *k, const char *v)
{
	int e = 0;

#define ENUMKEY(key, field, names) \
	if (strcmp(k, key) == 0) { \
		if ((e = policy_enum_parse(names, v)) == -1) return -1; \
		field = e; return 0; }
#define BOOLKEY(key, field) \
	if (strcmp(k, key) == 0) { field = parse_bool(v); return 0; }
	ENUMKEY("scan_mode", p->scan_mode, policy_scan_mode_names);
	ENUMKEY("on_infected", p->on_infected, policy_infected_names);
	ENUMKEY("on_unscannable", p->on_unscannable, policy_unscannable_names);
	ENUMKEY("on_error", p->on_error, policy_error_names);
	ENUMKEY("notify_style", p->notify_style, policy_notify_style_names);
	ENUMKEY("header_mode", p->header_mode, policy_header_mode_names);
	ENUMKEY("mixed_recipients", p->mixed_recipients, policy_mixed_names);
	BOOLKEY("repair", p->repair);
	BOOLKEY("quarantine", p->quarantine);
	BOOLKEY("heuristics", p->heuristics);
	BOOLKEY("notify_sender", p->notify_sender);
	BOOLKEY("notify_recipients", p->notify_recipients);
	BOOLKEY("skip_forged_senders", p->skip_forged_senders);
	if (strcmp(k, "max_scan_bytes") == 0) {
		p->max_scan_bytes = strtoll(v, NULL, 10);
		return 0;
	}
	if (strcmp(k, "notify_admin") == 0) {
		snprintf(poladmins[slot], sizeof(poladmins[slot]), "%s", v);
		p->notify_admin = poladmins[slot];
		return 0;
	}
#undef ENUMKEY
#undef BOOLKEY
	return -1;
}

static enum decide_outcome
parse_outcome(const char *v)
{
	return strcmp(v, "no") == 0 ? OUT_NO : strcmp(v, "failed") == 0 ? OUT_FAILED : OUT_OK;
}

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
out(char *buf, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#include <stdarg.h>
static void
out(char *buf, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*n >= OUTLEN)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *n, OUTLEN - *n, fmt, ap);
	va_end(ap);
	if (w > 0)
		*n = *n + (size_t)w >= OUTLEN ? OUTLEN - 1 : *n + (size_t)w;
}

/* Runs one case as milter_action.c would, recipients in the given order,
 * and prints the decision into buf. */
static void
run_case(const struct tcase *c, const struct milter_rcpt *rcpts, char *buf)
{
	struct policy comb;
	struct decide_in in;
	struct decision d;
	const struct policy *pol = NULL;
	char steps[128] = "", *lines[2 * MAXRCPT];
	size_t n = 0, nl = 0;

	for (size_t i = 0; i < c->nrcpts; i++) {
		if (rcpts[i].mr_policy == NULL)
			continue;
		if (pol == NULL)
			comb = *rcpts[i].mr_policy;
		else
			policy_combine(&comb, rcpts[i].mr_policy);
		pol = &comb;
	}
	memset(&in, 0, sizeof(in));
	in.verdict = c->verdict;
	in.virus = c->verdict == VERDICT_INFECTED ? c->text : "";
	in.reason = c->verdict == VERDICT_INFECTED ? "" : c->text;
	in.pol = pol;
	in.size = c->size;
	in.rcpts = rcpts;
	in.nrcpts = c->nrcpts;
	in.threat = c->threat;
	in.forged = c->forged;
	in.has_sender = c->has_sender;
	in.has_subject = c->subject;
	in.quarantine_configured = !c->noquar;
	in.old_scanned = c->old[0];
	in.old_status = c->old[1];
	in.old_threat = c->old[2];
	for (int round = 0; round < 4; round++) {
		decide(&in, &d);
		if (d.step == STEP_QUARANTINE) {
			in.quarantined = c->noquar ? OUT_NO : c->want_q;
			strcat(steps, " quarantine");
			continue;
		}
		if (d.step == STEP_REPAIR) {
			in.repaired = c->want_r;
			strcat(steps, " repair");
			continue;
		}
		if (d.final != FINAL_CONTINUE || in.applied != OUT_NOT_TRIED ||
		    c->want_a == OUT_NOT_TRIED)
			break;
		in.applied = c->want_a;
		strcat(steps, " apply");
	}
	if (d.step != STEP_DONE)
		out(buf, &n, "  ERROR: steps did not end\n");
	if (pol != NULL)
		out(buf, &n, "  combined: scan=%s bytes=%lld heuristics=%d infected=%s "
		    "unscannable=%s error=%s quarantine=%d header=%s\n",
		    policy_scan_mode_names[pol->scan_mode], (long long)pol->max_scan_bytes,
		    pol->heuristics, policy_infected_names[pol->on_infected],
		    policy_unscannable_names[pol->on_unscannable], policy_error_names[pol->on_error],
		    pol->quarantine, policy_header_mode_names[pol->header_mode]);
	else
		out(buf, &n, "  combined: none (unserved only)\n");
	out(buf, &n, "  steps:%s\n", steps[0] ? steps : " none");
	out(buf, &n, "  final=%s action=%s verdict=%s delivered=%d\n", decide_final_name(d.final),
	    d.action, verdict_name(d.verdict), d.delivered);
	if (d.reason[0])
		out(buf, &n, "  reason: %s\n", d.reason);
	if (d.code != NULL)
		out(buf, &n, "  reply: %s %s %s\n", d.code, d.xcode, d.text);
	if (d.final == FINAL_CONTINUE)
		out(buf, &n, "  headers: delete scanned=%d status=%d threat=%d; add status=%d "
		    "threat=%d; subject=%s\n", d.del_scanned, d.del_status, d.del_threat,
		    d.add_status, d.add_threat, d.subject_prefix ? d.subject_prefix : "-");
	if (d.notice)
		out(buf, &n, "  notices: sender=%d in-copy=%s\n", d.notify_sender,
		    d.copy_notice == -1 ? "-" : policy_notify_style_names[d.copy_notice]);
	for (size_t i = 0; i < c->nrcpts && nl < 2 * MAXRCPT; i++) {
		const char *a = decide_admin_notice(&d, &in, i);
		char *l;

		if (decide_rcpt_notice(&d, &in, i) &&
		    asprintf(&l, "  notice to recipient %s\n", rcpts[i].mr_addr) != -1)
			lines[nl++] = l;
		if (a != NULL && asprintf(&l, "  notice to admin %s\n", a) != -1)
			lines[nl++] = l;
	}
	qsort(lines, nl, sizeof(lines[0]), cmp_line);
	for (size_t i = 0; i < nl; i++) {
		out(buf, &n, "%s", lines[i]);
		free(lines[i]);
	}
	if (d.count)
		out(buf, &n, "  usage: messages=%lld bytes=%lld infected=%lld quarantined=%lld "
		    "rejected=%lld\n", (long long)d.usage.messages, (long long)d.usage.bytes,
		    (long long)d.usage.infected, (long long)d.usage.quarantined,
		    (long long)d.usage.rejected);
	else
		out(buf, &n, "  usage: not counted\n");
	for (int i = 0; i < 2 && d.event[i] != NULL; i++)
		out(buf, &n, "  event: %s severity=%d\n", d.event[i], (int)d.event_sev[i]);
}

static void
finish_case(struct tcase *c, FILE *ref)
{
	char fwd[OUTLEN] = "", rev[OUTLEN] = "";
	struct milter_rcpt back[MAXRCPT];

	if (c->name[0] == '\0')
		return;
	for (size_t i = 0; i < c->nrcpts; i++)
		back[i] = c->rcpts[c->nrcpts - 1 - i];
	run_case(c, c->rcpts, fwd);
	run_case(c, back, rev);
	if (strcmp(fwd, rev) != 0) {
		TEST_FAIL("%s: the RCPT order changes the decision:"
		    "forward:\n%sreversed:\n%s", c->name, fwd, rev);
	}
	fprintf(ref, "case %s\n%s\n", c->name, fwd);
}

static void
new_case(struct tcase *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->size = 1000;
	c->has_sender = 1;
	c->want_q = c->want_r = OUT_OK;
	c->want_a = OUT_NOT_TRIED;
}

/* Runs one script; its output goes to got (a memory stream). */
static int
run_script(const char *path, FILE *got)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	struct tcase c;
	int lineno = 0;

	if (f == NULL) {
		TEST_FAIL("cannot open %s", path);
		return -1;
	}
	npols = 0;
	memset(&c, 0, sizeof(c));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *w[16], *save = NULL, *t;
		int nw = 0;

		lineno++;
		line[strcspn(line, "\r\n#")] = '\0';
		for (t = strtok_r(line, " \t", &save); t != NULL && nw < 16;
		    t = strtok_r(NULL, " \t", &save))
			w[nw++] = t;
		if (nw == 0)
			continue;
#define BAD(why) do { TEST_FAIL("%s:%d: %s", path, lineno, why); \
	fclose(f); return -1; } while (0)
		if (strcmp(w[0], "policy") == 0 && nw >= 2) {
			struct policy *p;

			if (npols == MAXPOL)
				BAD("too many policies");
			p = &pols[npols];
			*p = *milter_policy_default();
			p->id = (int64_t)npols + 1;
			p->notify_admin = NULL;
			snprintf(polnames[npols], sizeof(polnames[npols]), "%s", w[1]);
			p->name = polnames[npols];
			for (int i = 2; i < nw; i++) {
				char *eq = strchr(w[i], '=');

				if (eq == NULL)
					BAD("policy: key=value expected");
				*eq = '\0';
				if (policy_key(p, npols, w[i], eq + 1) == -1)
					BAD("policy: unknown key or value");
			}
			npols++;
		} else if (strcmp(w[0], "case") == 0 && nw >= 2) {
			finish_case(&c, got);
			new_case(&c, w[1]);
		} else if (c.name[0] == '\0') {
			BAD("a case line before the first case");
		} else if (strcmp(w[0], "rcpt") == 0 && nw == 3) {
			if (c.nrcpts == MAXRCPT)
				BAD("too many recipients");
			snprintf(c.addrs[c.nrcpts], sizeof(c.addrs[0]), "%s", w[1]);
			c.rcpts[c.nrcpts].mr_addr = c.addrs[c.nrcpts];
			if (strcmp(w[2], "-") != 0 &&
			    (c.rcpts[c.nrcpts].mr_policy = find_policy(w[2])) == NULL)
				BAD("rcpt: unknown policy");
			c.nrcpts++;
		} else if (strcmp(w[0], "verdict") == 0 && nw >= 2) {
			static const char *const v[] = { "clean", "infected", "unscannable",
			    "error", "unscanned", NULL };
			int e = policy_enum_parse(v, w[1]);

			if (e == -1)
				BAD("verdict: unknown");
			c.verdict = (enum verdict)e;
			c.text[0] = '\0';
			for (int i = 2; i < nw; i++)
				snprintf(c.text + strlen(c.text), sizeof(c.text) - strlen(c.text),
				    "%s%s", i > 2 ? " " : "", w[i]);
		} else if (strcmp(w[0], "size") == 0 && nw == 2) {
			c.size = (size_t)strtoull(w[1], NULL, 10);
		} else if (strcmp(w[0], "sender") == 0 && nw == 2) {
			c.has_sender = strcmp(w[1], "<>") != 0;
		} else if (strcmp(w[0], "flags") == 0) {
			for (int i = 1; i < nw; i++) {
				if (strcmp(w[i], "threat") == 0)
					c.threat = 1;
				else if (strcmp(w[i], "forged") == 0)
					c.forged = 1;
				else if (strcmp(w[i], "subject") == 0)
					c.subject = 1;
				else if (strcmp(w[i], "noquarantine") == 0)
					c.noquar = 1;
				else
					BAD("flags: unknown");
			}
		} else if (strcmp(w[0], "old") == 0 || strcmp(w[0], "outcome") == 0) {
			for (int i = 1; i < nw; i++) {
				char *eq = strchr(w[i], '=');

				if (eq == NULL)
					BAD("key=value expected");
				*eq++ = '\0';
				if (strcmp(w[i], "scanned") == 0)
					c.old[0] = atoi(eq);
				else if (strcmp(w[i], "status") == 0)
					c.old[1] = atoi(eq);
				else if (strcmp(w[i], "threat") == 0)
					c.old[2] = atoi(eq);
				else if (strcmp(w[i], "quarantine") == 0)
					c.want_q = parse_outcome(eq);
				else if (strcmp(w[i], "repair") == 0)
					c.want_r = parse_outcome(eq);
				else if (strcmp(w[i], "apply") == 0)
					c.want_a = parse_outcome(eq);
				else
					BAD("unknown key");
			}
		} else {
			BAD("unknown line");
		}
#undef BAD
	}
	finish_case(&c, got);
	fclose(f);
	return 0;
}

static const char *
testdata(void)
{
	static char dir[4096];
	const char *src = getenv("MOAT_SRC"), *slash;

	if (src != NULL)
		snprintf(dir, sizeof(dir), "%s/milter/testdata/decide", src);
	else if ((slash = strrchr(__FILE__, '/')) != NULL)
		snprintf(dir, sizeof(dir), "%.*s/testdata/decide", (int)(slash - __FILE__), __FILE__);
	else
		snprintf(dir, sizeof(dir), "testdata/decide");
	return dir;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (b = malloc((size_t)n + 1)) != NULL) {
		*len = fread(b, 1, (size_t)n, f);
		b[*len] = '\0';
	}
	fclose(f);
	return b;
}

/* One script: testdata/NAME.in run, compared with NAME.ref (rewritten
 * instead when DECIDE_TEST_UPDATE is set).  NAME is the case's name. */
static void
golden(void)
{
	char in[4352], ref[4352], *got = NULL, *want;
	size_t glen = 0, wlen = 0;
	FILE *mem = open_memstream(&got, &glen);

	snprintf(in, sizeof(in), "%s/%s.in", testdata(), test_name);
	snprintf(ref, sizeof(ref), "%s/%s.ref", testdata(), test_name);
	if (mem == NULL || run_script(in, mem) == -1) {
		if (mem != NULL)
			fclose(mem);
		free(got);
		if (mem == NULL)
			TEST_FAIL("open_memstream failed");
		return;
	}
	fclose(mem);
	if (getenv("DECIDE_TEST_UPDATE") != NULL) {
		FILE *f = fopen(ref, "w");

		if (f == NULL || fwrite(got, 1, glen, f) != glen || fclose(f) != 0)
			TEST_FAIL("cannot write %s", ref);
	} else if ((want = slurp(ref, &wlen)) == NULL) {
		TEST_FAIL("cannot read %s", ref);
	} else {
		if (wlen != glen || memcmp(want, got, glen) != 0)
			TEST_FAIL("%s: output differs from %s; got:\n%s", in, ref, got);
		free(want);
	}
	free(got);
}

static const struct test_case cases[] = {
	{ "conflicts",	golden },
	{ "actions",	golden },
	{ "notices",	golden },
	{ "headers",	golden },
	{ "sizes",	golden },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
