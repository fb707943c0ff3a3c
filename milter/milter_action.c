/*
 * milter_action - end of message: scan by policy, act on the verdict, mark
 * the message, notify, count and log.
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
#include "milter_mime.h"
#include "milter_quarantine.h"
#include "qclient.h"

struct eom {
	SMFICTX                 *ctx;
	struct milter_conn      *cc;
	struct milter_msg       *mc;
	const struct policy     *pol;
	const struct subscriber *sub;        /* the subscriber whose policy decides */
	struct engine           *en;
	struct scan_result       res;
	const char              *action;     /* for header, log, events */
	sfsistat                 rc;
	int                      delivered;  /* the message goes on (maybe changed) */
	int                      quarantined, rejected;
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
reply(struct eom *e, const char *code, const char *xcode, const char *fmt, const char *arg)
{
	char text[512];

	snprintf(text, sizeof(text), fmt, arg ? arg : "");
	for (char *p = text; *p; p++)
		if (*p == '%' || (unsigned char)*p < 0x20)
			*p = ' ';
	smfi_setreply(e->ctx, (char *)code, (char *)xcode, text);
}

static void
tempfail(struct eom *e, const char *why)
{
	reply(e, "451", "4.3.0", "Temporary failure, try again later (%s)", why);
	e->rc = SMFIS_TEMPFAIL;
	e->delivered = 0;
	e->action = "tempfail";
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
	if (e->res.reason[0])
		jbuf_str(&j, "reason", e->res.reason);
	if (e->files)
		jbuf_str(&j, "files", e->files);
	jbuf_str(&j, "action", e->action);
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
	rc = quarantine_submit(e->cc, e->mc, e->pol, e->sub, e->en, &e->res, &e->qid_store,
	    e->err, sizeof(e->err));
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
	int fd = spool_fd(&e->mc->mc_spool), n = 0;
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
	int fd = e->out_fd != -1 ? e->out_fd : spool_fd(&e->mc->mc_spool);

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

/* ------------------------------------------------------------ actions */

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

/* Quarantines, then discards; tempfail when not stored. */
static void
act_quarantine_only(struct eom *e)
{
	if (quarantine(e) == 1) {
		e->rc = SMFIS_DISCARD;
		e->delivered = 0;
		e->action = "quarantine";
	} else {
		tempfail(e, "quarantine unavailable");
	}
}

static void
act_infected(struct eom *e)
{
	const struct policy *p = e->pol;

	/* quarantine = 1: the original is kept whatever else happens. */
	if (p->quarantine && p->on_infected != INF_QUARANTINE && quarantine(e) != 1) {
		tempfail(e, "quarantine unavailable");
		return;
	}
	switch (p->on_infected) {
	case INF_REJECT:
		reply(e, "550", "5.7.1", "Virus found: %s", e->res.virus);
		e->rc = SMFIS_REJECT;
		e->action = "reject";
		e->rejected = 1;
		return;
	case INF_DISCARD:
		e->rc = SMFIS_DISCARD;
		e->action = "discard";
		return;
	case INF_QUARANTINE:
		act_quarantine_only(e);
		return;
	case INF_TAG:
		e->rc = SMFIS_CONTINUE;
		e->delivered = 1;
		e->action = "tag";
		add_subject_prefix(e, "[VIRUS]");
		return;
	case INF_REPAIR:
		break;
	}
	switch (repair(e)) {
	case 1:
		e->rc = SMFIS_CONTINUE;
		e->delivered = 1;
		e->action = e->quarantined ? "repair+quarantine" : "repair";
		e->res.verdict = VERDICT_REPAIRED;
		return;
	case 0:
		log_mail(LOGL_INFO, e->mc->mc_qid, "not repairable: quarantine instead");
		if (milter_cf->quarantine != NULL) {
			act_quarantine_only(e);
		} else {
			reply(e, "550", "5.7.1", "Virus found: %s", e->res.virus);
			e->rc = SMFIS_REJECT;
			e->action = "reject";
			e->rejected = 1;
		}
		return;
	default:
		tempfail(e, "repair failed");
		return;
	}
}

static void
act_unscannable(struct eom *e)
{
	switch (e->pol->on_unscannable) {
	case UNS_TEMPFAIL:
		reply(e, "451", "4.7.0", "Message could not be scanned (%s), try again later",
		    e->res.reason);
		e->rc = SMFIS_TEMPFAIL;
		e->action = "tempfail";
		return;
	case UNS_REJECT:
		reply(e, "550", "5.7.1", "Message could not be scanned (%s)", e->res.reason);
		e->rc = SMFIS_REJECT;
		e->action = "reject";
		e->rejected = 1;
		return;
	case UNS_PASS:
		e->rc = SMFIS_CONTINUE;
		e->delivered = 1;
		e->action = "pass";
		return;
	case UNS_TAG:
		e->rc = SMFIS_CONTINUE;
		e->delivered = 1;
		e->action = "tag";
		add_subject_prefix(e, "[UNSCANNED]");
		return;
	case UNS_QUARANTINE:
		act_quarantine_only(e);
		return;
	}
}

static void
act_error(struct eom *e)
{
	switch (e->pol->on_error) {
	case ERR_TEMPFAIL:
		tempfail(e, e->res.reason);
		return;
	case ERR_REJECT:
		reply(e, "550", "5.7.1", "Message could not be scanned (%s)", e->res.reason);
		e->rc = SMFIS_REJECT;
		e->action = "reject";
		e->rejected = 1;
		return;
	case ERR_PASS:
		e->rc = SMFIS_CONTINUE;
		e->delivered = 1;
		e->action = "pass";
		return;
	}
}

/* ------------------------------------------------------------ marks */

static void
add_headers(struct eom *e)
{
	char v[1024], desc[128];

	if (e->cc->cc_threat) {
		snprintf(v, sizeof(v), " %s (%s)", e->cc->cc_threat_what, e->cc->cc_threat_reason);
		for (char *p = v; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		smfi_addheader(e->ctx, "X-Moat-Threat", v);
	}
	if (e->pol == NULL || e->pol->header_mode == HDR_NONE)
		return;
	if (e->pol->header_mode == HDR_REPLACE) {
		/* Earlier hops' claims are not ours to vouch for. */
		for (int i = e->mc->mc_nscanned_hdr; i > 0; i--)
			smfi_chgheader(e->ctx, "X-Virus-Scanned", i, NULL);
		for (int i = e->mc->mc_nstatus_hdr; i > 0; i--)
			smfi_chgheader(e->ctx, "X-Moat-Status", i, NULL);
	}
	engine_describe(desc, sizeof(desc));
	status_scanned_value(v, sizeof(v), desc);
	smfi_addheader(e->ctx, "X-Virus-Scanned", v);
	status_value(v, sizeof(v), &e->res,
	    e->res.verdict == VERDICT_CLEAN || e->res.verdict == VERDICT_REPAIRED ? NULL : e->action);
	smfi_addheader(e->ctx, "X-Moat-Status", v);
}

/*
 * Notices for infected mail.  Two stages, because a notice inside the
 * delivered copy must be written before apply_message, while separate
 * notices (milter_notify.c sends them) must wait until the attempt is known
 * to end the message: a tempfailed attempt comes back and would tell the
 * sender twice.  in_copy 1: the recipients' notice in the copy only;
 * 0: every separate notice.
 */
static void
notify(struct eom *e, int in_copy)
{
	const struct policy *p = e->pol;
	struct notify_vars v;
	char rcpts[2048], date[64];
	const char *subj, *body;
	char *s, *b;
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm);
	status_rcpt_list(rcpts, sizeof(rcpts), e->mc, ", ", 0);
	memset(&v, 0, sizeof(v));
	v.virus = e->res.virus;
	v.sender = e->mc->mc_sender[0] ? e->mc->mc_sender : "<>";
	v.recipients = rcpts;
	v.queue_id = e->mc->mc_qid;
	v.subscriber = e->sub ? e->sub->name : "";
	v.action = e->action;
	v.files = e->files ? e->files : "";
	v.client = e->cc->cc_addr;
	v.date = date;

	if (!in_copy && p->notify_sender && e->mc->mc_sender[0] &&
	    !(p->skip_forged_senders && notify_forged(e->res.virus, milter_cf->forged_senders)) &&
	    policy_template(e->mc->mc_snap, "sender", &subj, &body) == 1 &&
	    (s = notify_expand(subj, &v)) != NULL) {
		if ((b = notify_expand(body, &v)) != NULL)
			notify_enqueue(e->mc->mc_qid, e->mc->mc_sender, s, b);
		free(s);
		free(b);
	}
	if (!in_copy && p->notify_admin && policy_template(e->mc->mc_snap, "admin", &subj, &body) == 1 &&
	    (s = notify_expand(subj, &v)) != NULL) {
		if ((b = notify_expand(body, &v)) != NULL)
			notify_enqueue(e->mc->mc_qid, p->notify_admin, s, b);
		free(s);
		free(b);
	}
	if (!p->notify_recipients || policy_template(e->mc->mc_snap, "recipient", &subj, &body) != 1)
		return;
	if (e->delivered && p->notify_style != NOTIFY_MESSAGE) {
		if (!in_copy)
			return;
		/* In the delivered copy itself. */
		int in = current_fd(e), out = memfd_create("moat-notice", MFD_CLOEXEC), r = -1;

		if ((b = notify_expand(body, &v)) != NULL && in != -1 && out != -1)
			r = p->notify_style == NOTIFY_APPEND ? mime_append_text(in, out, b) :
			    mime_attach_text(in, out, "virus-notice.txt", b);
		free(b);
		if (r == 0)
			set_out(e, out);
		else {
			if (out != -1)
				close(out);
			log_mail(LOGL_WARN, e->mc->mc_qid, "recipient notice could not be added");
		}
		return;
	}
	if (in_copy)
		return;
	for (size_t i = 0; i < e->mc->mc_nrcpts; i++) {
		if (e->mc->mc_rcpts[i].mr_sub == NULL)
			continue;        /* unserved recipient passed untouched */
		if ((s = notify_expand(subj, &v)) == NULL)
			continue;
		if ((b = notify_expand(body, &v)) != NULL)
			notify_enqueue(e->mc->mc_qid, e->mc->mc_rcpts[i].mr_addr, s, b);
		free(s);
		free(b);
	}
}

static void
count_usage(struct eom *e)
{
	struct usage_delta d = {
		.messages = 1, .bytes = (int64_t)e->mc->mc_spool.sp_total,
		.infected = e->res.verdict == VERDICT_INFECTED || e->res.verdict == VERDICT_REPAIRED,
		.quarantined = e->quarantined, .rejected = e->rejected,
	};
	int64_t seen[MILTER_MAXSUBS];
	int dirs[MILTER_MAXSUBS];
	size_t n = 0, j;

	for (size_t i = 0; i < e->mc->mc_nrcpts; i++) {
		const struct milter_rcpt *r = &e->mc->mc_rcpts[i];

		if (r->mr_sub == NULL)
			continue;
		for (j = 0; j < n; j++)
			if (seen[j] == r->mr_sub->id && dirs[j] == r->mr_outbound)
				break;
		if (j < n || n == MILTER_MAXSUBS)
			continue;
		seen[n] = r->mr_sub->id;
		dirs[n++] = r->mr_outbound;
		usage_count(r->mr_sub->id, r->mr_outbound ? USAGE_OUT : USAGE_IN, &d);
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
	else if (e->res.reason[0])
		snprintf(extra, sizeof(extra), " reason=\"%s\"", e->res.reason);
	if (e->files)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), " files=\"%s\"", e->files);
	if (e->en != NULL)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), " parse=%s",
		    e->res.walked ? "walk" : "libclamav");
	log_mail(LOGL_INFO, e->mc->mc_qid,
	    "from=<%s> to=%s size=%zu client=%s subscriber=%s policy=%s verdict=%s%s action=%s "
	    "time=%.1fms scan=%.1fms wait=%.1fms wall=%.1fms",
	    e->mc->mc_sender, rcpts, e->mc->mc_spool.sp_total, e->cc->cc_addr,
	    e->sub ? e->sub->name : "-", e->pol ? e->pol->name : "-",
	    verdict_name(e->res.verdict), extra, e->action, e->mc->mc_busy_ns / 1e6, e->scan_ms,
	    e->wait_ms, wall / 1e6);
}

int
action_eom(void *smfictx, struct milter_conn *cc, struct milter_msg *mc)
{
	struct eom e;
	struct timespec t0, t1;
	int notice;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&e, 0, sizeof(e));
	e.ctx = smfictx;
	e.cc = cc;
	e.mc = mc;
	e.out_fd = -1;
	e.pol = mc->mc_policy;
	e.rc = SMFIS_CONTINUE;
	e.delivered = 1;
	e.action = "pass";
	for (size_t i = 0; i < mc->mc_nrcpts; i++)
		if (mc->mc_rcpts[i].mr_policy == e.pol) {
			e.sub = mc->mc_rcpts[i].mr_sub;
			break;
		}

	if (e.pol == NULL) {
		/* Unserved only (unserved_action = pass): untouched. */
		e.res.verdict = VERDICT_UNSCANNED;
		snprintf(e.res.reason, sizeof(e.res.reason), "unserved");
		if (cc->cc_threat)
			add_headers(&e);
		e.rc = cc->cc_threat ? SMFIS_CONTINUE : SMFIS_ACCEPT;
		goto done;
	}
	if (e.pol->scan_mode == SCAN_NONE) {
		e.res.verdict = VERDICT_UNSCANNED;
		snprintf(e.res.reason, sizeof(e.res.reason), "policy %s: scan_mode none", e.pol->name);
	} else {
		struct timespec a, b, c;

		clock_gettime(CLOCK_MONOTONIC, &a);
		e.en = engine_acquire(smfictx);
		clock_gettime(CLOCK_MONOTONIC, &b);
		e.wait_ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
		if (e.en == NULL) {
			e.res.verdict = VERDICT_ERROR;
			snprintf(e.res.reason, sizeof(e.res.reason), "no scan engine");
		} else {
			scan_message(e.en, &mc->mc_spool, e.pol, &e.res);
			clock_gettime(CLOCK_MONOTONIC, &c);
			e.scan_ms = (c.tv_sec - b.tv_sec) * 1e3 + (c.tv_nsec - b.tv_nsec) / 1e6;
		}
	}

	switch (e.res.verdict) {
	case VERDICT_INFECTED:
		act_infected(&e);
		break;
	case VERDICT_UNSCANNABLE:
		act_unscannable(&e);
		break;
	case VERDICT_ERROR:
		act_error(&e);
		break;
	default:
		break;
	}
	/* A tempfailed message comes back: notices and counts wait for the
	 * attempt that ends it (a failed body replacement included). */
	notice = e.res.verdict == VERDICT_INFECTED || e.res.verdict == VERDICT_REPAIRED;
	if (notice && e.rc != SMFIS_TEMPFAIL)
		notify(&e, 1);
	if (e.delivered && e.rc == SMFIS_CONTINUE) {
		if (e.out_fd != -1 && apply_message(&e, e.out_fd) == -1) {
			/* Half-applied changes must not be delivered: retry later. */
			log_mail(LOGL_WARN, mc->mc_qid, "could not replace the message body");
			tempfail(&e, "body replacement failed");
		} else {
			add_headers(&e);
		}
	}
	if (notice && e.rc != SMFIS_TEMPFAIL)
		notify(&e, 0);
	switch (e.res.verdict) {
	case VERDICT_INFECTED:
	case VERDICT_REPAIRED:
		action_event(&e, EV_MAIL_INFECTED, SEV_WARNING);
		if (e.quarantined || e.rc == SMFIS_DISCARD || e.res.verdict == VERDICT_REPAIRED)
			action_event(&e, EV_MAIL_ACTION, SEV_NOTICE);
		break;
	case VERDICT_UNSCANNABLE:
		action_event(&e, EV_MAIL_UNSCANNABLE, SEV_NOTICE);
		break;
	case VERDICT_ERROR:
		action_event(&e, EV_MAIL_SCAN_ERROR, SEV_WARNING);
		break;
	default:
		break;
	}
	if (e.rc != SMFIS_TEMPFAIL)
		count_usage(&e);
done:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	mc->mc_busy_ns += (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
	    (uint64_t)(t1.tv_nsec - t0.tv_nsec);
	log_line(&e);
	eom_free(&e);
	return e.rc;
}
