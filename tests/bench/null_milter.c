/*
 * null_milter - the floor of any libmilter filter, for the benchmarks.
 *
 * A libmilter milter that negotiates exactly what moat-milter negotiates
 * (milter/milter_callbacks.c, mlfi_negotiate): the actions ADDHDRS, CHGHDRS
 * and CHGBODY; the protocol bits HDR_LEADSPC, NODATA and NOUNKNOWN where
 * the MTA offers them; and on a UNIX socket the no-reply steps (NR_CONN,
 * NR_HELO, NR_HDR, NR_EOH, NR_BODY), so the MTA sends the same commands and
 * waits for the same replies.  It has the same callbacks, receives every
 * header and body chunk (counting the bytes, so nothing is optimised away)
 * and accepts every message at end of message, without any header change.
 * What remains is libmilter's cost: its thread per connection, its poll and
 * read per command, the macros it stores.
 *
 *   null_milter -s unix:/path/sock|inet:port@addr [-m mode] [-p pidfile]
 *
 * -m: the octal mode of a UNIX socket (default 0666, so that Postfix's
 * smtpd, another user, can connect).  Runs in the foreground until TERM or
 * INT (libmilter's signal thread).  tests/bench/milter_null_bench.sh
 * starts it; it is not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#define NR_STEPS (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

static const char *sock_spec;

/* The bytes one message brought, per connection (moat-milter keeps a
 * context too). */
struct null_conn {
	size_t bytes;
};

static const char *
socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return spec[0] == '/' ? spec : NULL;
}

static sfsistat
no_reply(void)
{
	return socket_path(sock_spec) != NULL ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
nf_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
    unsigned long *pf3)
{
	unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;

	if ((f0 & want) != want)
		return SMFIS_REJECT;
	*pf0 = want;
	*pf1 = f1 & (SMFIP_HDR_LEADSPC | SMFIP_NODATA | SMFIP_NOUNKNOWN);
	if (socket_path(sock_spec) != NULL)
		*pf1 |= NR_STEPS;
	*pf2 = *pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
nf_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct null_conn *nc = calloc(1, sizeof(*nc));

	smfi_setpriv(ctx, nc);
	return no_reply();
}

static sfsistat
nf_helo(SMFICTX *ctx, char *helo)
{
	return no_reply();
}

static sfsistat
nf_envfrom(SMFICTX *ctx, char **argv)
{
	struct null_conn *nc = smfi_getpriv(ctx);

	if (nc == NULL)
		return SMFIS_TEMPFAIL;
	nc->bytes = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
nf_envrcpt(SMFICTX *ctx, char **argv)
{
	return SMFIS_CONTINUE;
}

static sfsistat
nf_header(SMFICTX *ctx, char *name, char *value)
{
	struct null_conn *nc = smfi_getpriv(ctx);

	if (nc != NULL)
		nc->bytes += strlen(name) + strlen(value) + 3;
	return no_reply();
}

static sfsistat
nf_eoh(SMFICTX *ctx)
{
	return no_reply();
}

static sfsistat
nf_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct null_conn *nc = smfi_getpriv(ctx);

	if (nc != NULL)
		nc->bytes += len;
	return no_reply();
}

static sfsistat
nf_eom(SMFICTX *ctx)
{
	return SMFIS_ACCEPT;
}

static sfsistat
nf_abort(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat
nf_close(SMFICTX *ctx)
{
	free(smfi_getpriv(ctx));
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc null_desc = {
	.xxfi_name = "null-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY,
	.xxfi_connect = nf_connect,
	.xxfi_helo = nf_helo,
	.xxfi_envfrom = nf_envfrom,
	.xxfi_envrcpt = nf_envrcpt,
	.xxfi_header = nf_header,
	.xxfi_eoh = nf_eoh,
	.xxfi_body = nf_body,
	.xxfi_eom = nf_eom,
	.xxfi_abort = nf_abort,
	.xxfi_close = nf_close,
	.xxfi_negotiate = nf_negotiate,
};

static void
usage(void)
{
	fprintf(stderr, "usage: null_milter -s socket [-m mode] [-p pidfile]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *pidfile = NULL, *path;
	long mode = 0666;
	char *end;
	FILE *f;
	int ch;

	while ((ch = getopt(argc, argv, "m:p:s:")) != -1) {
		switch (ch) {
		case 'm':
			mode = strtol(optarg, &end, 8);
			if (*optarg == '\0' || *end != '\0' || mode < 0 || mode > 0777)
				usage();
			break;
		case 'p': pidfile = optarg; break;
		case 's': sock_spec = optarg; break;
		default: usage();
		}
	}
	if (sock_spec == NULL || optind != argc)
		usage();
	if (smfi_setconn((char *)sock_spec) == MI_FAILURE || smfi_register(null_desc) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "null_milter: cannot open %s\n", sock_spec);
		return 1;
	}
	if ((path = socket_path(sock_spec)) != NULL && chmod(path, (mode_t)mode) == -1) {
		perror(path);
		return 1;
	}
	if (pidfile != NULL) {
		if ((f = fopen(pidfile, "w")) == NULL) {
			perror(pidfile);
			return 1;
		}
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
