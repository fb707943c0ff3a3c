/*
 * httpd_cred - credentials against the store for common/httpd and the
 * daemons: bearer tokens and Basic logins (subscriber_credentials).
 *
 * Credentials are compared by hash only: tokens by their SHA-256 (a token
 * is long and random, so one fast hash suffices), passwords by yescrypt
 * (crypt_rn); an unknown login costs the same yescrypt run as a known one.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>
#include <sqlite3.h>

#include "httpd.h"
#include "store.h"

#define HTTPD_LOGIN_MAX  320

int
httpd_token(struct store *st, const char *token, struct httpd_auth *out)
{
	static const char sql[] =
	    "SELECT c.subscriber_id FROM subscriber_credentials c"
	    " JOIN subscribers s ON s.id = c.subscriber_id"
	    " WHERE c.kind = 'token' AND c.secret_hash = ?1 AND s.status = 'active'";
	static const char hex[] = "0123456789abcdef";
	uint8_t d[SHA256_DIGEST_SIZE];
	char hash[2 * SHA256_DIGEST_SIZE + 1];
	struct sha256_ctx ctx;
	sqlite3_stmt *stmt;
	int rc;

	sha256_init(&ctx);
	sha256_update(&ctx, strlen(token), (const uint8_t *)token);
	sha256_digest(&ctx, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++) {
		hash[2 * i] = hex[d[i] >> 4];
		hash[2 * i + 1] = hex[d[i] & 15];
	}
	hash[sizeof(hash) - 1] = '\0';
	if ((stmt = store_prepare(st, sql)) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
	switch (store_step(st, stmt, "token lookup")) {
	case STORE_STEP_ROW:
		out->admin = 0;
		out->subscriber = sqlite3_column_int64(stmt, 0);
		rc = 1;
		break;
	case STORE_STEP_DONE:
		rc = 0;
		break;
	default:
		rc = -1;        /* logged */
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc;
}

/* Constant time in the length of b. */
static int
httpd_same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < lb; i++)
		d |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
	return d == 0;
}

int
httpd_basic(struct store *st, const char *login, const char *password,
    struct httpd_auth *out)
{
	int64_t sub;
	int active, rc = httpd_login_check(st, login, password, &sub, &active);

	if (rc == 1 && !active)
		rc = 0;
	if (rc == 1) {
		out->admin = 0;
		out->subscriber = sub;
	}
	return rc;
}

int
httpd_login_check(struct store *st, const char *login, const char *password,
    int64_t *subscriber, int *active)
{
	static const char sql[] =
	    "SELECT c.secret_hash, c.subscriber_id, s.status = 'active'"
	    " FROM subscriber_credentials c JOIN subscribers s ON s.id = c.subscriber_id"
	    " WHERE c.kind = 'password' AND c.login = ?1";
	char canon[HTTPD_LOGIN_MAX + 1], setting[CRYPT_GENSALT_OUTPUT_SIZE];
	char stored[CRYPT_OUTPUT_SIZE];
	struct crypt_data *cd;
	sqlite3_stmt *stmt;
	int64_t sub = 0;
	int found = 0, on = 0, rc;
	size_t n = strlen(login);
	const char *h;

	if (n == 0 || n > HTTPD_LOGIN_MAX || strlen(password) > 1024)
		return 0;
	for (size_t i = 0; i <= n; i++)      /* logins are kept in lower case */
		canon[i] = (login[i] >= 'A' && login[i] <= 'Z') ? (char)(login[i] + 32) : login[i];
	if ((stmt = store_prepare(st, sql)) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, canon, -1, SQLITE_STATIC);
	switch (store_step(st, stmt, "password lookup")) {
	case STORE_STEP_ROW:
		h = (const char *)sqlite3_column_text(stmt, 0);
		if (h != NULL && strlen(h) < sizeof(stored)) {
			memcpy(stored, h, strlen(h) + 1);
			found = 1;
		}
		sub = sqlite3_column_int64(stmt, 1);
		on = sqlite3_column_int(stmt, 2);
		rc = 0;
		break;
	case STORE_STEP_DONE:
		rc = 0;
		break;
	default:
		rc = -1;        /* logged */
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc == -1)
		return -1;
	/* An unknown login costs a yescrypt run too. */
	if (!found && crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) == NULL)
		return -1;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	h = crypt_rn(password, found ? stored : setting, cd, (int)sizeof(*cd));
	rc = found && h != NULL && h[0] != '*' && httpd_same(h, stored);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	if (rc) {
		*subscriber = sub;
		*active = on;
	}
	return rc;
}
