/*
 * moatctl cert: TLS client certificates that identify a subscriber to
 * moat-updated's HTTPS listener (updated.tls_client_ca asks clients for
 * one).  A row of subscriber_credentials of kind 'cert' whose secret_hash
 * is the SHA-256 fingerprint of the certificate's DER, 64 lower-case hex
 * digits -- what `openssl x509 -noout -fingerprint -sha256` prints, without
 * the colons.  A certificate identifies one subscriber (unique index).
 *
 * The fingerprint is public (it names a certificate, it does not prove
 * possession), so list shows it.  Credentials edits bump the policy
 * generation (the creds_gen_* triggers of schema 4), though the policy
 * snapshot loads only logins: nothing more is needed here.
 *
 * SECURITY: FILE is read (at most 64 KiB) before the store is opened, so a
 * root operator's file need not be readable by the store's owner; it must
 * hold exactly one PEM certificate (GnuTLS parses it: anything else is
 * refused, and a chain is refused rather than guessing which one is meant).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "moatctl.h"

#define CERTCTL_FILE_MAX (64 * 1024)
#define CERTCTL_SHA256_HEX 65

static const char cert_usage[] =
    "usage: moatctl cert add SUBSCRIBER FILE.pem | list [SUBSCRIBER] | remove ID\n"
    "  FILE.pem: the client's certificate alone (PEM); its SHA-256 fingerprint\n"
    "  identifies the subscriber to moat-updated's HTTPS listener.\n";

static const char sql_sub_id[] = "SELECT id FROM subscribers WHERE name = ?1";
static const char sql_cert_find[] =
    "SELECT id FROM subscriber_credentials WHERE kind = 'cert' AND secret_hash = ?1";
static const char sql_cert_add[] =
    "INSERT INTO subscriber_credentials(subscriber_id, kind, secret_hash) "
    "SELECT id, 'cert', ?2 FROM subscribers WHERE name = ?1";
static const char sql_cert_list[] =
    "SELECT c.id, s.name AS subscriber, s.status, c.secret_hash AS sha256, "
    " datetime(c.created, 'unixepoch') AS added "
    "FROM subscriber_credentials c JOIN subscribers s ON s.id = c.subscriber_id "
    "WHERE c.kind = 'cert' AND (?1 IS NULL OR s.name = ?1) ORDER BY s.name, c.id";
static const char sql_cert_remove[] =
    "DELETE FROM subscriber_credentials WHERE id = ?1 AND kind = 'cert'";

/* The whole of a small file into a malloc'd buffer.  0, or 1 (printed). */
static int
certctl_read(const char *path, unsigned char **out, size_t *len)
{
	struct stat sb;
	ssize_t n;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return ctl_err("%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_size > CERTCTL_FILE_MAX) {
		close(fd);
		return ctl_err("%s: not a certificate file (a regular file of at most %d "
		    "bytes)", path, CERTCTL_FILE_MAX);
	}
	if ((*out = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return ctl_err("out of memory");
	}
	*len = 0;
	while (*len <= (size_t)sb.st_size &&
	    (n = read(fd, *out + *len, (size_t)sb.st_size + 1 - *len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int e = errno;
			close(fd);
			free(*out);
			*out = NULL;
			return ctl_err("%s: %s", path, strerror(e));
		}
		*len += (size_t)n;
	}
	close(fd);
	if (*len > (size_t)sb.st_size) {
		free(*out);
		*out = NULL;
		return ctl_err("%s: the file grew while read", path);
	}
	return 0;
}

/* The SHA-256 fingerprint (lower-case hex) of the one PEM certificate in
 * path.  0, or 1 (printed). */
static int
certctl_fingerprint(const char *path, char hex[CERTCTL_SHA256_HEX])
{
	gnutls_x509_crt_t *crts = NULL;
	unsigned char *pem, fp[32];
	unsigned int ncrt = 0;
	size_t len = 0, fplen = sizeof(fp);
	gnutls_datum_t d;
	int rc, st = 0;

	if (certctl_read(path, &pem, &len) != 0)
		return 1;
	d.data = pem;
	d.size = (unsigned int)len;
	rc = gnutls_x509_crt_list_import2(&crts, &ncrt, &d, GNUTLS_X509_FMT_PEM, 0);
	free(pem);
	if (rc < 0 || ncrt == 0)
		return ctl_err("%s: not a PEM certificate (%s)", path,
		    rc < 0 ? gnutls_strerror(rc) : "none found");
	if (ncrt != 1)
		st = ctl_err("%s holds %u certificates: give the client's own certificate "
		    "alone", path, ncrt);
	else if ((rc = gnutls_x509_crt_get_fingerprint(crts[0], GNUTLS_DIG_SHA256, fp,
	    &fplen)) < 0 || fplen != sizeof(fp))
		st = ctl_err("%s: fingerprint: %s", path, rc < 0 ? gnutls_strerror(rc) :
		    "unexpected length");
	else
		for (size_t i = 0; i < sizeof(fp); i++)
			snprintf(hex + 2 * i, 3, "%02x", fp[i]);
	for (unsigned int i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return st;
}

static int
certctl_add(struct ctl *ctl, const char *sub, const char *path)
{
	char hex[CERTCTL_SHA256_HEX];
	long long id;
	int st;

	if ((st = certctl_fingerprint(path, hex)) != 0)
		return st;
	if (ctl_open(ctl, 0) != 0 || ctl_begin(ctl) != 0)
		return 1;
	const char *a[] = { sub, hex };
	const char *f[] = { hex };
	if ((st = ctl_need(ctl, sql_sub_id, "subscriber", sub, NULL)) != 0)
		;
	else if ((st = ctl_query_int(ctl, sql_cert_find, 1, f, &id)) == 1)
		st = ctl_err("certificate sha256 %s is already registered (#%lld)", hex, id);
	else if (st < 0 || ctl_exec(ctl, sql_cert_add, 2, a) != 1 ||
	    ctl_query_int(ctl, sql_cert_find, 1, f, &id) != 1)
		st = 1;
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "certificate #%lld added to %s: sha256 %s", id, sub, hex);
	return st;
}

static int
certctl_remove(struct ctl *ctl, const char *idtext)
{
	long long id;
	int st;

	if (ctl_parse_id(idtext, &id) == -1)
		return ctl_err("not a certificate id (see moatctl cert list)");
	if (ctl_open(ctl, 0) != 0 || ctl_begin(ctl) != 0)
		return 1;
	const char *a[] = { idtext };
	st = ctl_exec_one(ctl, sql_cert_remove, 1, a, "no certificate #%lld", id);
	if ((st = ctl_end(ctl, st)) == 0)
		ctl_say(ctl, "certificate #%lld removed", id);
	return st;
}

int
moatctl_cert(struct ctl *ctl, int argc, char **argv)
{
	int st;

	if (argc == 3 && strcmp(argv[0], "add") == 0)
		return certctl_add(ctl, argv[1], argv[2]);
	if (argc == 2 && strcmp(argv[0], "remove") == 0)
		return certctl_remove(ctl, argv[1]);
	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "list") == 0) {
		const char *a[] = { argc == 2 ? argv[1] : NULL };
		if (ctl_open(ctl, 0) != 0)
			return 1;
		if (argc == 2 && (st = ctl_need(ctl, sql_sub_id, "subscriber", argv[1],
		    NULL)) != 0)
			return st;
		return ctl_print(ctl, CTL_TABLE, sql_cert_list, 1, a);
	}
	return ctl_usage(cert_usage);
}
