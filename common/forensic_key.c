/*
 * forensic_key - the Ed25519 keys that sign the forensic log's checkpoints
 * (GnuTLS abstract keys, PEM files).  Key files are read whole, at most
 * 64 KiB; only Ed25519 keys are accepted, so a verifier can never be
 * talked into a weaker algorithm by the file.
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

#include "fdio.h"
#include "forensic_rec.h"

#define KEY_FILE_MAX (64 * 1024)

/* Reads path whole into d (free d->data with gnutls_free).  0, or -1. */
static int
key_read(const char *path, gnutls_datum_t *d, char *err, size_t errlen)
{
	unsigned char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = gnutls_malloc(KEY_FILE_MAX + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while ((n = read(fd, buf + len, KEY_FILE_MAX + 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n == -1 || len > KEY_FILE_MAX || len == 0) {
		snprintf(err, errlen, "%s: %s", path, n == -1 ? strerror(errno) :
		    len == 0 ? "empty" : "larger than 64 KiB: not a key");
		gnutls_free(buf);
		return -1;
	}
	buf[len] = '\0';
	d->data = buf;
	d->size = (unsigned)len;
	return 0;
}

int
forensic_key_load_priv(const char *path, gnutls_privkey_t *out, char *err, size_t errlen)
{
	gnutls_datum_t d;
	int rc;

	*out = NULL;
	if (key_read(path, &d, err, errlen) == -1)
		return -1;
	if ((rc = gnutls_privkey_init(out)) >= 0)
		rc = gnutls_privkey_import_x509_raw(*out, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_memset(d.data, 0, d.size);
	gnutls_free(d.data);
	if (rc < 0) {
		snprintf(err, errlen, "%s: not a PEM private key: %s", path, gnutls_strerror(rc));
		goto fail;
	}
	if (gnutls_privkey_get_pk_algorithm(*out, NULL) != GNUTLS_PK_EDDSA_ED25519) {
		snprintf(err, errlen, "%s: not an Ed25519 key", path);
		goto fail;
	}
	return 0;
fail:
	gnutls_privkey_deinit(*out);
	*out = NULL;
	return -1;
}

int
forensic_key_pub_of(gnutls_privkey_t priv, gnutls_pubkey_t *out, char *err, size_t errlen)
{
	int rc;

	if ((rc = gnutls_pubkey_init(out)) >= 0 &&
	    (rc = gnutls_pubkey_import_privkey(*out, priv, 0, 0)) >= 0)
		return 0;
	snprintf(err, errlen, "public key: %s", gnutls_strerror(rc));
	gnutls_pubkey_deinit(*out);
	*out = NULL;
	return -1;
}

int
forensic_key_load_pub(const char *path, gnutls_pubkey_t *out, char *err, size_t errlen)
{
	gnutls_privkey_t priv;
	gnutls_datum_t d;
	int rc;

	*out = NULL;
	if (key_read(path, &d, err, errlen) == -1)
		return -1;
	if (strstr((const char *)d.data, "PRIVATE KEY-----") != NULL) {
		gnutls_memset(d.data, 0, d.size);
		gnutls_free(d.data);
		if (forensic_key_load_priv(path, &priv, err, errlen) == -1)
			return -1;
		rc = forensic_key_pub_of(priv, out, err, errlen);
		gnutls_privkey_deinit(priv);
		return rc;
	}
	if ((rc = gnutls_pubkey_init(out)) >= 0)
		rc = gnutls_pubkey_import(*out, &d, GNUTLS_X509_FMT_PEM);
	gnutls_free(d.data);
	if (rc < 0) {
		snprintf(err, errlen, "%s: not a PEM public key: %s", path, gnutls_strerror(rc));
		goto fail;
	}
	if (gnutls_pubkey_get_pk_algorithm(*out, NULL) != GNUTLS_PK_EDDSA_ED25519) {
		snprintf(err, errlen, "%s: not an Ed25519 key", path);
		goto fail;
	}
	return 0;
fail:
	gnutls_pubkey_deinit(*out);
	*out = NULL;
	return -1;
}

static void
key_hex(const unsigned char *b, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 15];
	}
	hex[2 * n] = '\0';
}

int
forensic_key_id(gnutls_pubkey_t pub, char hex[FORENSIC_HEX_LEN + 1])
{
	unsigned char id[32];
	size_t n = sizeof(id);

	if (gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, id, &n) < 0 || n != 32)
		return -1;
	key_hex(id, n, hex);
	return 0;
}

int
forensic_key_sign(gnutls_privkey_t priv, const void *msg, size_t len,
    char hex[FORENSIC_SIG_HEX_LEN + 1], char *err, size_t errlen)
{
	gnutls_datum_t data = { (unsigned char *)msg, (unsigned)len }, sig = { 0 };
	int rc;

	rc = gnutls_privkey_sign_data2(priv, GNUTLS_SIGN_EDDSA_ED25519, 0, &data, &sig);
	if (rc < 0 || sig.size != FORENSIC_SIG_HEX_LEN / 2) {
		snprintf(err, errlen, "signing a checkpoint: %s",
		    rc < 0 ? gnutls_strerror(rc) : "unexpected signature size");
		gnutls_free(sig.data);
		return -1;
	}
	key_hex(sig.data, sig.size, hex);
	gnutls_free(sig.data);
	return 0;
}

int
forensic_key_verify(gnutls_pubkey_t pub, const void *msg, size_t len, const char *hex)
{
	unsigned char raw[FORENSIC_SIG_HEX_LEN / 2];
	gnutls_datum_t data = { (unsigned char *)msg, (unsigned)len };
	gnutls_datum_t sig = { raw, sizeof(raw) };

	if (strlen(hex) != FORENSIC_SIG_HEX_LEN)
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		raw[i] = (unsigned char)v;
	}
	return gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_EDDSA_ED25519, 0, &data, &sig) < 0 ?
	    -1 : 0;
}

/* Writes d to a new file path (never over an existing one) with mode. */
static int
key_write(const char *path, const gnutls_datum_t *d, mode_t mode, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) == -1 || fdio_write_all(fd, d->data, d->size) == -1 ||
	    fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int
forensic_key_generate(const char *priv_path, const char *pub_path, char *err, size_t errlen)
{
	gnutls_privkey_t priv = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_x509_privkey_t x509 = NULL;
	gnutls_datum_t pem_priv = { 0 }, pem_pub = { 0 };
	int rc, status = -1;

	if ((rc = gnutls_privkey_init(&priv)) < 0 ||
	    (rc = gnutls_privkey_generate2(priv, GNUTLS_PK_EDDSA_ED25519, 256, 0, NULL, 0)) < 0 ||
	    (rc = gnutls_privkey_export_x509(priv, &x509)) < 0 ||
	    (rc = gnutls_x509_privkey_export2_pkcs8(x509, GNUTLS_X509_FMT_PEM, NULL,
	        GNUTLS_PKCS_PLAIN, &pem_priv)) < 0) {
		snprintf(err, errlen, "generating an Ed25519 key: %s", gnutls_strerror(rc));
		goto out;
	}
	if (forensic_key_pub_of(priv, &pub, err, errlen) == -1)
		goto out;
	if ((rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &pem_pub)) < 0) {
		snprintf(err, errlen, "exporting the public key: %s", gnutls_strerror(rc));
		goto out;
	}
	if (key_write(priv_path, &pem_priv, 0600, err, errlen) == -1)
		goto out;
	if (key_write(pub_path, &pem_pub, 0644, err, errlen) == -1) {
		unlink(priv_path);
		goto out;
	}
	status = 0;
out:
	if (pem_priv.data != NULL)
		gnutls_memset(pem_priv.data, 0, pem_priv.size);
	gnutls_free(pem_priv.data);
	gnutls_free(pem_pub.data);
	gnutls_x509_privkey_deinit(x509);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(priv);
	return status;
}
