/*
 * forensic_rec - the forensic log's line format (see forensic_rec.h and
 * docs/FORENSIC.md).  The parser is strict: one spelling per value (no
 * leading zeros, lower-case hex, fixed time layout), so two different lines
 * never mean the same record.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <jansson.h>

#include "forensic_rec.h"

#define WHY(...) do { if (whylen > 0) snprintf(why, whylen, __VA_ARGS__); } while (0)

int
forensic_rec_sha256(const void *data, size_t len, char hex[FORENSIC_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, md) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(md); i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[FORENSIC_HEX_LEN] = '\0';
	return 0;
}

int
forensic_rec_type_ok(const char *type)
{
	size_t n = strlen(type);

	if (n == 0 || n > FORENSIC_TYPE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789._-", type[i]) == NULL)
			return 0;
	return 1;
}

/* Decimal without sign or leading zero ("0" alone allowed), <= INT64_MAX. */
static int
rec_uint(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*out = v;
	return 0;
}

static int
rec_hex(const char *s, size_t n, size_t want, char *out)
{
	if (n != want)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0')
			return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* 2026-12-07T16:05:18.123456Z: digits where the template has 9. */
static int
rec_time(const char *s, size_t n, char *out)
{
	static const char tmpl[] = "9999-99-99T99:99:99.999999Z";

	if (n != FORENSIC_TIME_LEN)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (tmpl[i] == '9' ? (s[i] < '0' || s[i] > '9') : s[i] != tmpl[i])
			return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int
forensic_rec_parse(const char *line, size_t len, struct forensic_rec *r,
    char *why, size_t whylen)
{
	const char *f[7];
	size_t fl[7], nf = 0, start = 0;
	uint64_t u;

	memset(r, 0, sizeof(*r));
	if (len > FORENSIC_LINE_MAX) {
		WHY("line longer than %d bytes", FORENSIC_LINE_MAX);
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t')
			continue;
		if (nf == 7) {
			WHY("more than 7 tab-separated fields");
			return -1;
		}
		f[nf] = line + start;
		fl[nf++] = i - start;
		start = i + 1;
	}
	if (nf != 7) {
		WHY("%zu tab-separated fields, want 7", nf);
		return -1;
	}
	if (rec_uint(f[0], fl[0], &u) == -1 || u == 0) {
		WHY("bad sequence number");
		return -1;
	}
	r->seq = u;
	if (rec_time(f[1], fl[1], r->time) == -1) {
		WHY("bad time (want YYYY-MM-DDTHH:MM:SS.uuuuuuZ)");
		return -1;
	}
	if (fl[2] == 0 || fl[2] > FORENSIC_TYPE_MAX) {
		WHY("bad type");
		return -1;
	}
	memcpy(r->type, f[2], fl[2]);
	r->type[fl[2]] = '\0';
	if (strlen(r->type) != fl[2] || !forensic_rec_type_ok(r->type)) {
		WHY("bad type");
		return -1;
	}
	if (rec_uint(f[3], fl[3], &u) == -1) {
		WHY("bad event id");
		return -1;
	}
	r->event_id = (int64_t)u;
	if (rec_hex(f[4], fl[4], FORENSIC_HEX_LEN, r->prev) == -1) {
		WHY("bad previous hash");
		return -1;
	}
	if (fl[5] < 2 || fl[5] > FORENSIC_PAYLOAD_MAX || f[5][0] != '{' ||
	    f[5][fl[5] - 1] != '}') {
		WHY("payload is not a JSON object of at most %d bytes", FORENSIC_PAYLOAD_MAX);
		return -1;
	}
	for (size_t i = 0; i < fl[5]; i++)
		if ((unsigned char)f[5][i] < 0x20 || f[5][i] == 0x7f) {
			WHY("control byte 0x%02x in the payload", (unsigned char)f[5][i]);
			return -1;
		}
	r->payload = f[5];
	r->payload_len = fl[5];
	if (rec_hex(f[6], fl[6], FORENSIC_HEX_LEN, r->hash) == -1) {
		WHY("bad hash");
		return -1;
	}
	r->hashed_len = (size_t)(f[6] - line);
	return 0;
}

/* The string member key of o when it is hex of want digits. */
static int
cp_hex(json_t *o, const char *key, size_t want, char *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return -1;
	return rec_hex(json_string_value(v), json_string_length(v), want, out);
}

int
forensic_rec_cp_parse(const struct forensic_rec *r, struct forensic_cp *cp,
    char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *o, *covers;
	int rc = -1;

	memset(cp, 0, sizeof(*cp));
	if (strcmp(r->type, FORENSIC_CHECKPOINT) != 0) {
		WHY("not a checkpoint");
		return -1;
	}
	if ((o = json_loadb(r->payload, r->payload_len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		WHY("checkpoint payload is not JSON: %s", jerr.text);
		return -1;
	}
	covers = json_object_get(o, "covers");
	if (!json_is_object(o) || json_object_size(o) != 4 || !json_is_integer(covers) ||
	    json_integer_value(covers) < 0) {
		WHY("checkpoint payload needs covers, chain, key and sig");
		goto out;
	}
	cp->covers = (uint64_t)json_integer_value(covers);
	if (cp_hex(o, "chain", FORENSIC_HEX_LEN, cp->chain) == -1 ||
	    cp_hex(o, "key", FORENSIC_HEX_LEN, cp->key) == -1 ||
	    cp_hex(o, "sig", FORENSIC_SIG_HEX_LEN, cp->sig) == -1) {
		WHY("checkpoint chain, key or sig is not hex of the right length");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

size_t
forensic_rec_format(char *buf, size_t cap, uint64_t seq, const char *time,
    const char *type, int64_t event_id, const char *prev, const char *payload,
    char hash[FORENSIC_HEX_LEN + 1])
{
	int n;

	if (!forensic_rec_type_ok(type) || event_id < 0 || seq == 0 ||
	    strlen(payload) > FORENSIC_PAYLOAD_MAX)
		return 0;
	n = snprintf(buf, cap, "%" PRIu64 "\t%s\t%s\t%" PRId64 "\t%s\t%s\t",
	    seq, time, type, event_id, prev, payload);
	if (n < 0 || (size_t)n + FORENSIC_HEX_LEN + 2 > cap)
		return 0;
	if (forensic_rec_sha256(buf, (size_t)n, hash) == -1)
		return 0;
	memcpy(buf + n, hash, FORENSIC_HEX_LEN);
	buf[n + FORENSIC_HEX_LEN] = '\n';
	buf[n + FORENSIC_HEX_LEN + 1] = '\0';
	return (size_t)n + FORENSIC_HEX_LEN + 1;
}

size_t
forensic_rec_cp_message(char *buf, size_t cap, uint64_t covers, const char *chain)
{
	int n = snprintf(buf, cap, "moat-forensic-checkpoint\t1\t%" PRIu64 "\t%s\n",
	    covers, chain);

	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int
forensic_rec_export_parse(const char *line, size_t len, uint64_t *from, uint64_t *to,
    char prev[FORENSIC_HEX_LEN + 1], char *why, size_t whylen)
{
	const char *f[5];
	size_t fl[5], nf = 0, start = 0;
	uint64_t version;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t')
			continue;
		if (nf == 5) {
			WHY("export header: more than 5 fields");
			return -1;
		}
		f[nf] = line + start;
		fl[nf++] = i - start;
		start = i + 1;
	}
	if (nf != 5 || fl[0] != strlen(FORENSIC_EXPORT_MAGIC) ||
	    memcmp(f[0], FORENSIC_EXPORT_MAGIC, fl[0]) != 0 ||
	    rec_uint(f[1], fl[1], &version) == -1 || version != 1) {
		WHY("not a forensic export (want a first line '%s\\t1\\tFROM\\tTO\\tPREV')",
		    FORENSIC_EXPORT_MAGIC);
		return -1;
	}
	if (rec_uint(f[2], fl[2], from) == -1 || rec_uint(f[3], fl[3], to) == -1 ||
	    *from == 0 || *to < *from || rec_hex(f[4], fl[4], FORENSIC_HEX_LEN, prev) == -1) {
		WHY("export header: bad FROM, TO or PREV");
		return -1;
	}
	return 0;
}
