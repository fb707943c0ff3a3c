/*
 * milter_action - end of message: scan by the combined policy, let
 * decide() (milter_decide.c) choose, and apply its decision through
 * libmilter: quarantine, repair, header and body changes, reply, notices,
 * usage, events, the log line.  Nothing here chooses an action.
 *
 * Never lose mail, never pass it silently:
 *   - quarantine means moat-quarantined answered "stored" (qclient 1) before
 *     the milter discards or changes anything; any other answer tempfails
 *     (451 4.3.0) and the client retries with the message intact;
 *   - repair delivers a copy only when the repaired message re-scans clean;
 *     otherwise the original is quarantined (or rejected without one);
 *   - unscannable and error outcomes follow on_unscannable / on_error, and
 *     "pass" or "tag" still write the status header with the reason.
 *
 * Ownership: everything allocated here lives in struct eom (one per call)
 * and is released by eom_free(); the message context itself belongs to the
 * caller (msg_cleanup).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "events.h"
#include "log.h"
#include "milter.h"
#include "milter_decide.h"
#include "milter_mime.h"
#include "milter_quarantine.h"
#include "qclient.h"

struct eom {
	SMFICTX                 *ctx;
	struct milter_conn      *cc;
	struct milter_msg       *mc;
	const struct policy     *pol;        /* combined, or NULL (unserved only) */
	const struct subscriber *sub;        /* the first served recipient's */
	struct engine           *en;
	struct policy            scanned;    /* what scan() ran with (pol, largest limit) */
	struct scan_result       res;
	struct decide_in         in;
	struct decision          d;
	int                      quarantined;
	int64_t                  qid_store;  /* quarantine id */
	int                      out_fd;     /* modified message to deliver, or -1 */
	char                    *files;      /* infected parts ("a.exe, b.zip") */
	char                     err[256];
	double                   wait_ms, scan_ms;   /* scan slot wait, libclamav pass */
};

static void
eom_free(struct eom *e)
{
	if (e->out_fd != -1)
		close(e->out_fd);
	free(e->files);
	engine_release(e->en);
}

static void
detail_base(struct eom *e, struct jbuf *j, char *buf, size_t len)
{
	char rcpts[2048];

	status_rcpt_list(rcpts, sizeof(rcpts), e->mc, ",", 0);
	jbuf_init(j, buf, len);
	jbuf_str(j, "queue_id", e->mc->mc_qid[0] ? e->mc->mc_qid : NULL);
	jbuf_str(j, "sender", e->mc->mc_sender);
	jbuf_str(j, "rcpts", rcpts);
	jbuf_str(j, "subscriber", e->sub ? e->sub->name : NULL);
}

static void
action_event(struct eom *e, const char *kind, enum event_severity sev)
{
	char buf[4096];
	struct jbuf j;

	detail_base(e, &j, buf, sizeof(buf));
	if (e->res.virus[0])
		jbuf_str(&j, "virus", e->res.virus);
	if (e->d.reason[0])
		jbuf_str(&j, "reason", e->d.reason);
	if (e->files)
		jbuf_str(&j, "files", e->files);
	jbuf_str(&j, "action", e->d.action);
	if (e->qid_store)
		jbuf_int(&j, "quarantine_id", e->qid_store);
	event_emit(kind, sev, e->sub ? e->sub->id : 0, e->cc->cc_addr, jbuf_end(&j));
}

/* ------------------------------------------------------------ quarantine */

/* Stores the original.  1 stored, 0 refused or not configured, -1 transport
 * error (err set). */
static int
quarantine(struct eom *e)
{
	int rc;

	if (e->quarantined)
		return 1;
	/* The settings the scan ran with, so a rescan repeats them. */
	rc = quarantine_submit(e->cc, e->mc, e->en != NULL ? &e->scanned : e->pol, e->sub, e->en,
	    &e->res, &e->qid_store, e->err, sizeof(e->err));
	if (rc == 1) {
		e->quarantined = 1;
		log_mail(LOGL_INFO, e->mc->mc_qid, "quarantined as id %lld", (long long)e->qid_store);
	} else if (milter_cf->quarantine != NULL) {
		log_mail(LOGL_WARN, e->mc->mc_qid, "quarantine %s: %s",
		    rc == 0 ? "refused" : "failed", e->err);
	}
	return rc;
}

/* ------------------------------------------------------------ rewriting */

/* How many times header `name` occurs in the header block of the original
 * message (continuation lines not counted).  Reads at most 1 MB of headers;
 * 1 when it cannot tell (the first copy is always replaced anyway). */
static int
orig_header_count(struct eom *e, const char *name)
{
	int fd = msgbuf_fd(&e->mc->mc_spool), n = 0;
	size_t nlen = strlen(name), len;
	char *buf;
	ssize_t got;

	if (fd == -1 || (buf = malloc(1 << 20)) == NULL)
		return 1;
	got = pread(fd, buf, (1 << 20) - 1, 0);
	len = got > 0 ? (size_t)got : 0;
	buf[len] = '\0';
	for (char *line = buf; line != NULL && *line != '\0';) {
		if (*line == '\r' || *line == '\n')
			break;                          /* end of the header block */
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':')
			n++;
		if ((line = strchr(line, '\n')) != NULL)
			line++;
	}
	free(buf);
	return n > 0 ? n : 1;
}

/* Reads the modified message in fd and applies it: the top MIME headers by
 * smfi_chgheader, the body by smfi_replacebody.  0 or -1.  Extra copies of
 * a top MIME header in the original are deleted: a second Content-Type left
 * behind would contradict the rewritten body (and is an evasion trick).  A
 * top MIME header the rewritten message no longer has is deleted (say the
 * Content-Disposition of a single-part virus replaced by a notice: left
 * behind, mail programs would show the notice as the removed file). */
static int
apply_message(struct eom *e, int fd)
{
	struct stat st;
	char *map, *body, *vals[MIME_TOP_N] = { NULL };
	size_t off, len, n;
	int rc = -1;

	if (mime_top_headers(fd, vals) == -1 || fstat(fd, &st) == -1 ||
	    st.st_size == 0)
		goto out;
	if ((map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
		goto out;
	len = (size_t)st.st_size;
	body = memmem(map, len, "\n\n", 2);
	char *crlf = memmem(map, len, "\r\n\r\n", 4);
	if (crlf != NULL && (body == NULL || crlf < body))
		off = (size_t)(crlf - map) + 4;
	else if (body != NULL)
		off = (size_t)(body - map) + 2;
	else
		off = len;
	for (int i = 0; i < MIME_TOP_N; i++) {
		char *name = (char *)mime_top_names[i], *v = NULL;
		int ok;

		/* Every original copy goes but the first, which takes the new
		 * value; all go when the rewrite has none. */
		for (int k = orig_header_count(e, name); k > (vals[i] != NULL); k--)
			if (smfi_chgheader(e->ctx, name, k, NULL) != MI_SUCCESS)
				goto unmap;
		if (vals[i] == NULL)
			continue;
		/* No fixed buffer: a long boundary parameter must not be cut. */
		if (asprintf(&v, " %s", vals[i]) == -1)
			goto unmap;
		ok = smfi_chgheader(e->ctx, name, 1, v) == MI_SUCCESS;
		free(v);
		if (!ok)
			goto unmap;
	}
	for (; off < len; off += n) {
		n = len - off > 65536 ? 65536 : len - off;
		if (smfi_replacebody(e->ctx, (unsigned char *)map + off, (int)n) != MI_SUCCESS)
			goto unmap;
	}
	rc = 0;
unmap:
	munmap(map, len);
out:
	for (int i = 0; i < MIME_TOP_N; i++)
		free(vals[i]);
	return rc;
}

struct repair_ctx { struct eom *e; };

static int
repair_scan(void *arg, const void *data, size_t len, const char *filename, char **virus)
{
	struct eom *e = ((struct repair_ctx *)arg)->e;

	return scan_buffer(e->en, data, len, filename, e->pol->heuristics, virus);
}

/* The file the next rewrite reads: the last rewrite, or the original. */
static int
current_fd(struct eom *e)
{
	int fd = e->out_fd != -1 ? e->out_fd : msgbuf_fd(&e->mc->mc_spool);

	if (fd != -1)
		lseek(fd, 0, SEEK_SET);
	return fd;
}

static void
set_out(struct eom *e, int fd)
{
	if (e->out_fd != -1)
		close(e->out_fd);
	e->out_fd = fd;
}

/* Repairs into e->out_fd.  1 repaired and re-scanned clean, 0 not
 * repairable (or still infected), -1 error. */
static int
repair(struct eom *e)
{
	struct mime_report rep;
	struct repair_ctx rc = { e };
	const char *subj, *notice = "The attachment {files} contained the virus {virus} and was "
	    "removed by the mail gateway.\n";
	struct stat st;
	char *map, *virus = NULL;
	int in, out, n, r;
	size_t flen = 0;

	memset(&rep, 0, sizeof(rep));
	(void)policy_template(e->mc->mc_snap, "repair_notice", &subj, &notice);
	if ((in = current_fd(e)) == -1 || (out = memfd_create("moat-repair", MFD_CLOEXEC)) == -1)
		return -1;
	n = mime_repair(in, out, repair_scan, &rc, notice, &rep);
	for (size_t i = 0; i < rep.nhits; i++)
		flen += strlen(rep.hits[i].filename ? rep.hits[i].filename : "(unnamed)") + 2;
	if (rep.nhits > 0 && (e->files = calloc(1, flen + 1)) != NULL)
		for (size_t i = 0; i < rep.nhits; i++) {
			if (i)
				strcat(e->files, ", ");
			strcat(e->files, rep.hits[i].filename ? rep.hits[i].filename : "(unnamed)");
		}
	mime_report_free(&rep);
	if (n <= 0) {
		close(out);
		return n;
	}
	/* The result must be clean as a whole before anyone receives it. */
	if (fstat(out, &st) == -1 || st.st_size == 0 ||
	    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, out, 0)) == MAP_FAILED) {
		close(out);
		return -1;
	}
	r = scan_buffer(e->en, map, (size_t)st.st_size, NULL, e->pol->heuristics, &virus);
	munmap(map, (size_t)st.st_size);
	if (r != 0) {
		log_mail(LOGL_WARN, e->mc->mc_qid, "repaired message not clean (%s): not delivered",
		    r == 1 ? virus : "scan error");
		free(virus);
		close(out);
		return r == 1 ? 0 : -1;
	}
	set_out(e, out);
	return 1;
}

/* ------------------------------------------------------------ marks */

static void
add_subject_prefix(struct eom *e, const char *prefix)
{
	char v[2048];
	const char *s = e->mc->mc_subject ? e->mc->mc_subject : "";

	while (*s == ' ' || *s == '\t')
		s++;
	snprintf(v, sizeof(v), " %s %s", prefix, s);
	for (char *p = v; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	if (e->mc->mc_subject != NULL)
		smfi_chgheader(e->ctx, "Subject", 1, v);
	else
		smfi_addheader(e->ctx, "Subject", v);
}

/* Deletes copies 1..n of a header, last first, so the MTA's indexes (the
 * n-th occurrence of that name as mlfi_header saw them) stay valid. */
static void
delete_headers(struct eom *e, const char *name, int n)
{
	for (int i = n; i > 0; i--)
		smfi_chgheader(e->ctx, (char *)name, i, NULL);
}

static void
add_headers(struct eom *e)
{
	const struct decision *d = &e->d;
	struct scan_result shown = e->res;
	char v[1024], desc[128];

	delete_headers(e, "X-Virus-Scanned", d->del_scanned);
	delete_headers(e, "X-Moat-Status", d->del_status);
	delete_headers(e, "X-Moat-Threat", d->del_threat);
	if (d->add_threat) {
		/* Every listing that matched (milter_callbacks.c threat_sum). */
		snprintf(v, sizeof(v), " %s", e->cc->cc_threat_list);
		for (char *p = v; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		smfi_addheader(e->ctx, "X-Moat-Threat", v);
	}
	if (d->subject_prefix != NULL)
		add_subject_prefix(e, d->subject_prefix);
	if (!d->add_status)
		return;
	engine_describe(desc, sizeof(desc));
	status_scanned_value(v, sizeof(v), desc);
	smfi_addheader(e->ctx, "X-Virus-Scanned", v);
	shown.verdict = d->verdict;
	snprintf(shown.reason, sizeof(shown.reason), "%s", d->reason);
	status_value(v, sizeof(v), &shown,
	    d->verdict == VERDICT_CLEAN || d->verdict == VERDICT_REPAIRED ? NULL : d->action);
	smfi_addheader(e->ctx, "X-Moat-Status", v);
}

/* ------------------------------------------------------------ notices */

static void
notice_vars(struct eom *e, struct notify_vars *v, const char *rcpts, char *date, size_t dlen)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, dlen, "%Y-%m-%d %H:%M:%S UTC", &tm);
	memset(v, 0, sizeof(*v));
	v->virus = e->res.virus;
	v->sender = e->mc->mc_sender[0] ? e->mc->mc_sender : "<>";
	v->recipients = rcpts;
	v->queue_id = e->mc->mc_qid;
	v->subscriber = e->sub ? e->sub->name : "";
	v->action = e->d.action;
	v->files = e->files ? e->files : "";
	v->client = e->cc->cc_addr;
	v->date = date;
}

static void
send_notice(struct eom *e, const char *tpl, const char *to, const struct notify_vars *v)
{
	const char *subj, *body;
	char *s, *b = NULL;

	if (policy_template(e->mc->mc_snap, tpl, &subj, &body) != 1 ||
	    (s = notify_expand(subj, v)) == NULL)
		return;
	if ((b = notify_expand(body, v)) != NULL)
		notify_enqueue(e->mc->mc_qid, to, s, b);
	free(s);
	free(b);
}

/* The notice inside the delivered copy (before apply_message), for every
 * recipient whose policy asks for one in the copy. */
static void
notify_in_copy(struct eom *e)
{
	struct notify_vars v;
	char rcpts[2048], date[64];
	const char *subj, *body;
	char *b;
	int in, out, r = -1;

	if (policy_template(e->mc->mc_snap, "recipient", &subj, &body) != 1)
		return;
	status_rcpt_list(rcpts, sizeof(rcpts), e->mc, ", ", 0);
	notice_vars(e, &v, rcpts, date, sizeof(date));
	in = current_fd(e);
	out = memfd_create("moat-notice", MFD_CLOEXEC);
	if ((b = notify_expand(body, &v)) != NULL && in != -1 && out != -1)
		r = e->d.copy_notice == NOTIFY_APPEND ? mime_append_text(in, out, b) :
		    mime_attach_text(in, out, "virus-notice.txt", b);
	free(b);
	if (r == 0)
		set_out(e, out);
	else {
		if (out != -1)
			close(out);
		log_mail(LOGL_WARN, e->mc->mc_qid, "recipient notice could not be added");
	}
}

/* Recipients whose policy names admin, for that admin's notice: an admin
 * sees only the recipients its own policy serves. */
static void
admin_rcpts(struct eom *e, const char *admin, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < e->mc->mc_nrcpts; i++) {
		const struct policy *p = e->mc->mc_rcpts[i].mr_policy;
		int w;

		if (p == NULL || p->notify_admin == NULL || strcasecmp(p->notify_admin, admin) != 0)
			continue;
		w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", e->mc->mc_rcpts[i].mr_addr);
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
}

/* Separate notices, queued only once the attempt is known to end the
 * message (a tempfailed attempt comes back and would tell them twice). */
static void
notify_separate(struct eom *e)
{
	struct notify_vars v;
	char rcpts[2048], date[64];
	const char *admin;

	status_rcpt_list(rcpts, sizeof(rcpts), e->mc, ", ", 0);
	notice_vars(e, &v, rcpts, date, sizeof(date));
	if (e->d.notify_sender)
		send_notice(e, "sender", e->mc->mc_sender, &v);
	for (size_t i = 0; i < e->mc->mc_nrcpts; i++) {
		if ((admin = decide_admin_notice(&e->d, &e->in, i)) != NULL) {
			admin_rcpts(e, admin, rcpts, sizeof(rcpts));
			send_notice(e, "admin", admin, &v);
		}
	}
	for (size_t i = 0; i < e->mc->mc_nrcpts; i++) {
		if (!decide_rcpt_notice(&e->d, &e->in, i))
			continue;
		/* Each recipient sees itself only: never another's address
		 * (a Bcc among them). */
		v.recipients = e->mc->mc_rcpts[i].mr_addr;
		send_notice(e, "recipient", e->mc->mc_rcpts[i].mr_addr, &v);
	}
}

/* ------------------------------------------------------------ usage, log */

static void
count_usage(struct eom *e)
{
	int64_t seen[MILTER_MAXSUBS];
	int dirs[MILTER_MAXSUBS];
	size_t n = 0, j;
	time_t now = time(NULL);

	for (size_t i = 0; i < e->mc->mc_nrcpts; i++) {
		const struct milter_rcpt *r = &e->mc->mc_rcpts[i];
		enum usage_dir dir = r->mr_outbound ? USAGE_OUT : USAGE_IN;

		if (r->mr_sub == NULL)
			continue;
		for (j = 0; j < n; j++)
			if (seen[j] == r->mr_sub->id && dirs[j] == r->mr_outbound)
				break;
		if (j < n || n == MILTER_MAXSUBS)
			continue;
		seen[n] = r->mr_sub->id;
		dirs[n++] = r->mr_outbound;
		if (usage_seen(e->mc->mc_msgid, r->mr_sub->id, dir, now)) {
			log_mail(LOGL_INFO, e->mc->mc_qid, "subscriber %s: message already counted",
			    r->mr_sub->name);
			continue;
		}
		usage_count(r->mr_sub->id, dir, &e->d.usage);
	}
}

static void
log_line(struct eom *e)
{
	struct timespec t;
	char rcpts[2048], extra[512] = "";
	uint64_t wall;

	clock_gettime(CLOCK_MONOTONIC, &t);
	wall = (uint64_t)(t.tv_sec - e->mc->mc_start.tv_sec) * 1000000000u +
	    (uint64_t)(t.tv_nsec - e->mc->mc_start.tv_nsec);
	status_rcpt_list(rcpts, sizeof(rcpts), e->mc, ",", 1);
	if (e->res.virus[0])
		snprintf(extra, sizeof(extra), " virus=%s", e->res.virus);
	else if (e->d.reason[0])
		snprintf(extra, sizeof(extra), " reason=\"%s\"", e->d.reason);
	if (e->files)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), " files=\"%s\"", e->files);
	if (e->en != NULL)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), " parse=%s",
		    e->res.walked ? "walk" : "libclamav");
	log_mail(LOGL_INFO, e->mc->mc_qid,
	    "from=<%s> to=%s size=%zu client=%s subscriber=%s policy=%s verdict=%s%s action=%s "
	    "time=%.1fms scan=%.1fms wait=%.1fms wall=%.1fms",
	    e->mc->mc_sender, rcpts, e->mc->mc_spool.mb_total, e->cc->cc_addr,
	    e->sub ? e->sub->name : "-", e->pol ? e->pol->name : "-",
	    verdict_name(e->d.verdict), extra, e->d.action, e->mc->mc_busy_ns / 1e6, e->scan_ms,
	    e->wait_ms, wall / 1e6);
}

/* ------------------------------------------------------------ eom */

/* Scans under the combined policy, up to the largest recipient limit
 * (decide() applies the smallest). */
static void
scan(struct eom *e)
{
	struct policy p = *e->pol;
	struct timespec a, b, c;

	if (p.scan_mode == SCAN_NONE) {
		e->res.verdict = VERDICT_UNSCANNED;
		snprintf(e->res.reason, sizeof(e->res.reason), "policy %s: scan_mode none", p.name);
		return;
	}
	if (e->mc->mc_scan_bytes > p.max_scan_bytes)
		p.max_scan_bytes = e->mc->mc_scan_bytes;
	clock_gettime(CLOCK_MONOTONIC, &a);
	e->en = engine_acquire(e->ctx);
	clock_gettime(CLOCK_MONOTONIC, &b);
	e->wait_ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
	if (e->en == NULL) {
		e->res.verdict = VERDICT_ERROR;
		snprintf(e->res.reason, sizeof(e->res.reason), "no scan engine");
		return;
	}
	e->scanned = p;
	scan_message(e->en, &e->mc->mc_spool, &p, &e->res);
	clock_gettime(CLOCK_MONOTONIC, &c);
	e->scan_ms = (c.tv_sec - b.tv_sec) * 1e3 + (c.tv_nsec - b.tv_nsec) / 1e6;
}

static enum decide_outcome
outcome(int rc)
{
	return rc == 1 ? OUT_OK : rc == 0 ? OUT_NO : OUT_FAILED;
}

/* Runs decide() and the steps it asks for; each step once, so at most four
 * rounds (quarantine, repair, the application of the changed message). */
static void
run_decision(struct eom *e)
{
	for (int round = 0; round < 4; round++) {
		decide(&e->in, &e->d);
		switch (e->d.step) {
		case STEP_QUARANTINE:
			e->in.quarantined = outcome(quarantine(e));
			continue;
		case STEP_REPAIR:
			e->in.repaired = outcome(repair(e));
			if (e->in.repaired == OUT_NO)
				log_mail(LOGL_INFO, e->mc->mc_qid, "not repairable");
			continue;
		case STEP_DONE:
			break;
		}
		if (e->d.final != FINAL_CONTINUE || e->in.applied != OUT_NOT_TRIED)
			return;
		if (e->d.notice && e->d.copy_notice != -1)
			notify_in_copy(e);
		if (e->out_fd == -1)
			return;
		if (apply_message(e, e->out_fd) == 0) {
			e->in.applied = OUT_OK;
			return;
		}
		/* Half-applied changes must not be delivered: decide again. */
		log_mail(LOGL_WARN, e->mc->mc_qid, "could not replace the message body");
		e->in.applied = OUT_FAILED;
	}
}

static sfsistat
smfis(enum decide_final f)
{
	switch (f) {
	case FINAL_CONTINUE:	return SMFIS_CONTINUE;
	case FINAL_ACCEPT:	return SMFIS_ACCEPT;
	case FINAL_REJECT:	return SMFIS_REJECT;
	case FINAL_DISCARD:	return SMFIS_DISCARD;
	case FINAL_TEMPFAIL:	return SMFIS_TEMPFAIL;
	}
	return SMFIS_TEMPFAIL;
}

int
action_eom(void *smfictx, struct milter_conn *cc, struct milter_msg *mc)
{
	struct eom e;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&e, 0, sizeof(e));
	e.ctx = smfictx;
	e.cc = cc;
	e.mc = mc;
	e.out_fd = -1;
	e.pol = mc->mc_policy;
	for (size_t i = 0; i < mc->mc_nrcpts; i++)
		if (mc->mc_rcpts[i].mr_sub != NULL) {
			e.sub = mc->mc_rcpts[i].mr_sub;
			break;
		}
	if (e.pol == NULL) {
		e.res.verdict = VERDICT_UNSCANNED;
		snprintf(e.res.reason, sizeof(e.res.reason), "unserved");
	} else {
		scan(&e);
	}

	e.in.verdict = e.res.verdict;
	e.in.virus = e.res.virus;
	e.in.reason = e.res.reason;
	e.in.pol = e.pol;
	e.in.size = mc->mc_spool.mb_total;
	e.in.rcpts = mc->mc_rcpts;
	e.in.nrcpts = mc->mc_nrcpts;
	e.in.threat = cc->cc_threat != 0;
	e.in.has_sender = mc->mc_sender[0] != '\0';
	e.in.has_subject = mc->mc_subject != NULL;
	e.in.quarantine_configured = milter_cf->quarantine != NULL;
	e.in.old_scanned = mc->mc_nscanned_hdr;
	e.in.old_status = mc->mc_nstatus_hdr;
	e.in.old_threat = mc->mc_nthreat_hdr;
	if (e.res.verdict == VERDICT_INFECTED)
		e.in.forged = notify_forged(e.res.virus, milter_cf->forged_senders);
	run_decision(&e);

	if (e.d.final == FINAL_CONTINUE)
		add_headers(&e);
	if (e.d.code != NULL)
		smfi_setreply(e.ctx, (char *)e.d.code, (char *)e.d.xcode, e.d.text);
	if (e.d.notice)
		notify_separate(&e);
	for (int i = 0; i < 2 && e.d.event[i] != NULL; i++)
		action_event(&e, e.d.event[i], e.d.event_sev[i]);
	if (e.d.count)
		count_usage(&e);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	mc->mc_busy_ns += (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
	    (uint64_t)(t1.tv_nsec - t0.tv_nsec);
	log_line(&e);
	eom_free(&e);
	return smfis(e.d.final);
}
