/*
 * forensic_rec - the forensic log's line format and its keys, shared by the
 * writer (forensic.c), the verifier (forensic_verify.c), moatctl and the
 * fuzz target.  docs/FORENSIC.md describes the format for third parties:
 *
 *   SEQ \t TIME \t TYPE \t EVENT_ID \t PREV \t PAYLOAD \t HASH \n
 *
 * HASH is the hex SHA-256 of the line up to and including the tab before
 * it; PREV is the HASH of the record before (64 zeros for seq 1).  A
 * checkpoint is a record of type "checkpoint" whose payload is
 * {"covers":N,"chain":HEX,"key":KEYID,"sig":HEX}: an Ed25519 signature of
 * forensic_rec_cp_message(N, chain), where chain is record N's HASH.
 *
 * Every line read is hostile: forensic_rec_parse checks every field's
 * syntax and bounds and never reads past len.
 */
#ifndef MOAT_FORENSIC_REC_H
#define MOAT_FORENSIC_REC_H

#include <stddef.h>
#include <stdint.h>

#include <gnutls/abstract.h>

#define FORENSIC_HEX_LEN      64            /* a SHA-256 in lower-case hex */
#define FORENSIC_SIG_HEX_LEN  128           /* an Ed25519 signature in hex */
#define FORENSIC_TYPE_MAX     32
#define FORENSIC_TIME_LEN     27            /* 2026-12-07T16:05:18.123456Z */
#define FORENSIC_PAYLOAD_MAX  (60 * 1024)
#define FORENSIC_LINE_MAX     (FORENSIC_PAYLOAD_MAX + 512)
#define FORENSIC_CHECKPOINT   "checkpoint"
/* The first line of an export (forensic_export): FROM, TO, and the HASH of
 * the record before FROM. */
#define FORENSIC_EXPORT_MAGIC "#moat-forensic-export"

/* One parsed line.  payload points into the parsed line (not copied). */
struct forensic_rec {
	uint64_t    seq;
	char        time[FORENSIC_TIME_LEN + 1];
	char        type[FORENSIC_TYPE_MAX + 1];
	int64_t     event_id;
	char        prev[FORENSIC_HEX_LEN + 1];
	const char *payload;
	size_t      payload_len;
	char        hash[FORENSIC_HEX_LEN + 1];
	size_t      hashed_len;     /* bytes of the line HASH covers */
};

/* A checkpoint's payload. */
struct forensic_cp {
	uint64_t covers;
	char     chain[FORENSIC_HEX_LEN + 1];
	char     key[FORENSIC_HEX_LEN + 1];
	char     sig[FORENSIC_SIG_HEX_LEN + 1];
};

/* Parses one line (without its '\n') of len bytes.  0, or -1 with why. */
int    forensic_rec_parse(const char *line, size_t len, struct forensic_rec *r,
    char *why, size_t whylen);
/* Parses a checkpoint record's payload.  0, or -1 with why. */
int    forensic_rec_cp_parse(const struct forensic_rec *r, struct forensic_cp *cp,
    char *why, size_t whylen);
/* Writes the whole line (with '\n', NUL-terminated) into buf and its HASH
 * into hash.  Returns its length, or 0 when a field is invalid or buf too
 * small.  payload must already be a one-line JSON object. */
size_t forensic_rec_format(char *buf, size_t cap, uint64_t seq, const char *time,
    const char *type, int64_t event_id, const char *prev, const char *payload,
    char hash[FORENSIC_HEX_LEN + 1]);
/* The hex SHA-256 of len bytes.  0, or -1. */
int    forensic_rec_sha256(const void *data, size_t len, char hex[FORENSIC_HEX_LEN + 1]);
/* The bytes a checkpoint signs.  Returns their length. */
size_t forensic_rec_cp_message(char *buf, size_t cap, uint64_t covers, const char *chain);
/* 1 when type is a valid record type ([a-z0-9._-], 1..32 bytes). */
int    forensic_rec_type_ok(const char *type);
/* Parses the export header line.  0, or -1 with why. */
int    forensic_rec_export_parse(const char *line, size_t len, uint64_t *from,
    uint64_t *to, char prev[FORENSIC_HEX_LEN + 1], char *why, size_t whylen);

/* Keys (Ed25519, PEM).  The load functions read at most 64 KiB. */
int  forensic_key_load_priv(const char *path, gnutls_privkey_t *out, char *err, size_t errlen);
/* A public key from a "PUBLIC KEY" PEM, or derived from a private key PEM
 * (the operator may hand secmgr's own key file to the verifier). */
int  forensic_key_load_pub(const char *path, gnutls_pubkey_t *out, char *err, size_t errlen);
int  forensic_key_pub_of(gnutls_privkey_t priv, gnutls_pubkey_t *out, char *err, size_t errlen);
/* The key's id: hex SHA-256 of its SubjectPublicKeyInfo.  0, or -1. */
int  forensic_key_id(gnutls_pubkey_t pub, char hex[FORENSIC_HEX_LEN + 1]);
int  forensic_key_sign(gnutls_privkey_t priv, const void *msg, size_t len,
    char hex[FORENSIC_SIG_HEX_LEN + 1], char *err, size_t errlen);
/* 0 when hex is a good signature of msg by pub, else -1. */
int  forensic_key_verify(gnutls_pubkey_t pub, const void *msg, size_t len, const char *hex);
/* A new key pair: the private key (PKCS#8 PEM) in a new file priv_path,
 * mode 0600, the public key in a new file pub_path, 0644; neither file may
 * exist.  0, or -1 with err (nothing left behind). */
int  forensic_key_generate(const char *priv_path, const char *pub_path, char *err,
    size_t errlen);

/* Walks the log in fd from the start (pread: the file offset is not used),
 * as forensic_verify does with these flags; pub NULL checks the chain only.
 * Returns as forensic_verify.  The writer resumes from what it reports. */
struct forensic_report;
int  forensic_walk(int fd, gnutls_pubkey_t pub, unsigned flags, struct forensic_report *rep);

#endif
