/*
 * moatctl forensic: checks moat-secmgr's forensic log (common/forensic.h,
 * docs/FORENSIC.md), exports a range of it with its proof, and makes the
 * Ed25519 key pair that signs its checkpoints.
 *
 * Exit status of verify: 0 the log (or export) verifies; 1 it does not
 * (one line naming the first bad record) or cannot be checked; 3 a torn
 * tail: every whole record verifies but the last line is partial (an
 * interrupted write, not an edit); 2 usage.
 *
 * The log file and key default to secmgr.forensic_log and
 * secmgr.forensic_key of the config (the private key: its public half is
 * what verifies).  Those options belong to moat-secmgr's option group;
 * until moatctl links that group, forensic_conf() reads the two settings
 * from the file with libconfig directly (no defaults, no validation: an
 * absent setting means "give --file/--key").
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forensic.h"
#include "forensic_rec.h"
#include "moatctl.h"

static const char forensic_usage[] =
    "usage: moatctl forensic verify [--key KEY.pem] [--closed] [--range] [--file] [FILE]\n"
    "       moatctl forensic export --from SEQ --to SEQ [-o OUT] [--key KEY.pem] [--file] [FILE]\n"
    "       moatctl forensic keygen OUT.pem [--pub PUB.pem]\n"
    "  FILE and KEY default to secmgr.forensic_log and secmgr.forensic_key of the config;\n"
    "  KEY is the public key, or the private one (its public half is used).\n"
    "  verify exits 0 ok, 1 bad (naming the first bad record), 3 torn tail.\n";

#define FORENSIC_EXIT_TORN 3

/* File and key from the config's secmgr group when not given (strdup'd
 * into *file and *key; the caller frees).  0, or 1 (printed). */
static int
forensic_conf(struct ctl *ctl, char **file, char **key)
{
	const char *v;
	config_t cfg;

	if (*file != NULL && *key != NULL)
		return 0;
	if (!ctl->conf_explicit && access(ctl->conf_path, F_OK) == -1)
		return 0;
	config_init(&cfg);
	if (config_read_file(&cfg, ctl->conf_path) != CONFIG_TRUE) {
		ctl_err("%s:%d: %s", ctl->conf_path, config_error_line(&cfg),
		    config_error_text(&cfg));
		config_destroy(&cfg);
		return 1;
	}
	if (*file == NULL && config_lookup_string(&cfg, "secmgr.forensic_log", &v) &&
	    *v != '\0')
		*file = strdup(v);
	if (*key == NULL && config_lookup_string(&cfg, "secmgr.forensic_key", &v) &&
	    *v != '\0')
		*key = strdup(v);
	config_destroy(&cfg);
	return 0;
}

/* Options shared by the subcommands. */
struct fopts {
	char       *file, *key, *out, *pub;
	const char *from, *to;
	unsigned    flags;
};

static int
forensic_args(int argc, char **argv, struct fopts *o)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
		char **slot = NULL;

		if (strcmp(a, "--closed") == 0)
			o->flags |= FORENSIC_VERIFY_CLOSED;
		else if (strcmp(a, "--range") == 0)
			o->flags |= FORENSIC_VERIFY_RANGE;
		else if (strcmp(a, "--from") == 0 && next != NULL)
			o->from = argv[++i];
		else if (strcmp(a, "--to") == 0 && next != NULL)
			o->to = argv[++i];
		else if (strcmp(a, "--key") == 0 && next != NULL)
			slot = &o->key;
		else if (strcmp(a, "--file") == 0 && next != NULL)
			slot = &o->file;
		else if (strcmp(a, "-o") == 0 && next != NULL)
			slot = &o->out;
		else if (strcmp(a, "--pub") == 0 && next != NULL)
			slot = &o->pub;
		else if (a[0] != '-' && o->file == NULL) {
			if ((o->file = strdup(a)) == NULL)
				return ctl_err("out of memory");
		} else
			return ctl_usage(forensic_usage);
		if (slot != NULL) {
			if (*slot != NULL)
				return ctl_usage(forensic_usage);
			if ((*slot = strdup(argv[++i])) == NULL)
				return ctl_err("out of memory");
		}
	}
	return 0;
}

static int
forensic_verify_cmd(struct ctl *ctl, struct fopts *o)
{
	struct forensic_report rep;
	int rc;

	if (o->file == NULL)
		return ctl_err("no log: give FILE (or secmgr.forensic_log in %s)", ctl->conf_path);
	rc = forensic_verify(o->file, o->key, o->flags, &rep);
	if (rc == -1)
		return ctl_err("%s: cannot verify: %s", o->file, rep.reason);
	if (rep.status == FORENSIC_TORN) {
		ctl_err("%s: %s", o->file, rep.reason);
		return FORENSIC_EXIT_TORN;
	}
	if (rep.status == FORENSIC_BAD)
		return ctl_err("%s: bad at record %" PRIu64 ": %s", o->file, rep.bad_seq,
		    rep.reason);
	if (o->flags & FORENSIC_VERIFY_RANGE)
		ctl_say(ctl, "%s: ok: records %" PRIu64 "..%" PRIu64 " proven by checkpoint %"
		    PRIu64 " (%" PRIu64 " records in the export)", o->file, rep.from, rep.to,
		    rep.signed_seq, rep.records);
	else if (rep.keyed)
		ctl_say(ctl, "%s: ok: %" PRIu64 " records, %" PRIu64 " checkpoints verified, "
		    "signed up to record %" PRIu64, o->file, rep.records, rep.checkpoints,
		    rep.signed_seq);
	else
		ctl_say(ctl, "%s: ok: %" PRIu64 " records chain (checkpoint signatures NOT "
		    "checked: no key)", o->file, rep.records);
	if (!rep.keyed)
		fprintf(stderr, "moatctl: warning: no key: only the chain was checked; "
		    "anyone can rewrite a whole chain (give --key)\n");
	else if (rep.signed_seq < rep.last_seq && !(o->flags & FORENSIC_VERIFY_RANGE))
		fprintf(stderr, "moatctl: warning: records %" PRIu64 "..%" PRIu64 " follow the "
		    "last checkpoint: not signed yet (the log is open, its writer crashed, or "
		    "its end was cut off; --closed makes this an error)\n",
		    rep.signed_seq + 1, rep.last_seq);
	return 0;
}

/* Writes the export to o->out through a temporary file renamed into place
 * on success, or to stdout. */
static int
forensic_export_cmd(struct ctl *ctl, struct fopts *o)
{
	struct forensic_report rep;
	long long from, to;
	char *tmp = NULL;
	int fd = STDOUT_FILENO, rc;

	if (o->from == NULL || o->to == NULL)
		return ctl_usage(forensic_usage);
	if (ctl_parse_id(o->from, &from) == -1 || ctl_parse_id(o->to, &to) == -1 || to < from)
		return ctl_err("bad range --from %s --to %s (record numbers, from <= to)",
		    o->from, o->to);
	if (o->file == NULL)
		return ctl_err("no log: give FILE (or secmgr.forensic_log in %s)", ctl->conf_path);
	if (o->out != NULL) {
		if (asprintf(&tmp, "%s.tmp.XXXXXX", o->out) == -1)
			return ctl_err("out of memory");
		if ((fd = mkstemp(tmp)) == -1) {
			rc = ctl_err("%s: %s", tmp, strerror(errno));
			free(tmp);
			return rc;
		}
	}
	rc = forensic_export(o->file, o->key, (uint64_t)from, (uint64_t)to, fd, &rep);
	if (rc == 0 && o->out != NULL && (fsync(fd) == -1 || rename(tmp, o->out) == -1))
		rc = ctl_err("%s: %s", o->out, strerror(errno));
	else if (rc != 0)
		rc = ctl_err("%s: no export: %s", o->file, rep.reason);
	else
		ctl_say(ctl, "%s: records %lld..%lld with their proof%s%s", o->file, from, to,
		    o->out != NULL ? " in " : "", o->out != NULL ? o->out : "");
	if (o->out != NULL) {
		close(fd);
		if (rc != 0)
			unlink(tmp);
	}
	free(tmp);
	return rc;
}

static int
forensic_keygen_cmd(struct ctl *ctl, struct fopts *o)
{
	gnutls_pubkey_t pub;
	char err[512], id[FORENSIC_HEX_LEN + 1], *pubpath = o->pub;
	size_t n;

	if (o->file == NULL || o->key != NULL || o->from != NULL || o->flags != 0)
		return ctl_usage(forensic_usage);
	/* OUT.pem -> OUT.pub.pem, anything else -> OUT.pub */
	if (pubpath == NULL) {
		n = strlen(o->file);
		if (n > 4 && strcmp(o->file + n - 4, ".pem") == 0 ?
		    asprintf(&pubpath, "%.*s.pub.pem", (int)(n - 4), o->file) == -1 :
		    asprintf(&pubpath, "%s.pub", o->file) == -1)
			return ctl_err("out of memory");
		o->pub = pubpath;
	}
	if (forensic_key_generate(o->file, pubpath, err, sizeof(err)) == -1)
		return ctl_err("%s", err);
	if (forensic_key_load_pub(pubpath, &pub, err, sizeof(err)) == -1 ||
	    forensic_key_id(pub, id) == -1)
		return ctl_err("%s", err);
	gnutls_pubkey_deinit(pub);
	ctl_say(ctl, "private key %s (mode 0600), public key %s, key id %.16s", o->file,
	    pubpath, id);
	return 0;
}

int
moatctl_forensic(struct ctl *ctl, int argc, char **argv)
{
	struct fopts o = { 0 };
	int status;

	if (argc < 1)
		return ctl_usage(forensic_usage);
	if ((status = forensic_args(argc - 1, argv + 1, &o)) != 0)
		goto out;
	if (strcmp(argv[0], "keygen") == 0) {
		status = forensic_keygen_cmd(ctl, &o);
		goto out;
	}
	if (strcmp(argv[0], "verify") != 0 && strcmp(argv[0], "export") != 0) {
		status = ctl_usage(forensic_usage);
		goto out;
	}
	if (o.out != NULL && argv[0][0] == 'v') {
		status = ctl_usage(forensic_usage);
		goto out;
	}
	if ((status = forensic_conf(ctl, &o.file, &o.key)) != 0)
		goto out;
	status = argv[0][0] == 'v' ? forensic_verify_cmd(ctl, &o) : forensic_export_cmd(ctl, &o);
out:
	free(o.file);
	free(o.key);
	free(o.out);
	free(o.pub);
	return status;
}
