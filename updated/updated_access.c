/*
 * updated_access - who may download: a client whose address lies in an
 * active subscriber's networks (the policy snapshot, no SQL), or one that
 * presents Basic credentials of a subscriber's login (the same yescrypt
 * hashes as SMTP AUTH: httpd_basic), or a TLS client certificate whose
 * SHA-256 is registered to a subscriber (subscriber_credentials kind
 * 'cert').  Explicit credentials win over the address: a bundle carries
 * its login, and a wrong password is refused even inside a network.
 *
 * The client address is the TCP peer's; X-Forwarded-For counts only when
 * the peer is one of trusted_proxies, and then the right-most address in it
 * that is not itself a trusted proxy is the client (everything left of it
 * was written by whoever the proxy talked to); a malformed header counts
 * for nothing.
 *
 * Bad credentials are slow to check on purpose (yescrypt), so a client is
 * allowed ACCESS_FAIL_MAX failures per ACCESS_FAIL_WINDOW seconds; beyond
 * that its attempts are refused (429) without hashing, and at most
 * ACCESS_HASH_MAX hashes run at once, so a flood of guesses cannot take the
 * CPUs from everyone else.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "httpd.h"
#include "log.h"
#include "net.h"
#include "policy.h"
#include "store.h"
#include "updated.h"
#include "updated_parse.h"

#define ACCESS_FAIL_SLOTS   1024
#define ACCESS_FAIL_MAX     10
#define ACCESS_FAIL_WINDOW  60
#define ACCESS_HASH_MAX     2
#define ACCESS_PROXIES_MAX  4096

struct access_fail {
	char     addr[UD_CLIENT_MAX];
	time_t   since;
	unsigned count;
};

static pthread_mutex_t access_lock = PTHREAD_MUTEX_INITIALIZER;
static struct access_fail access_fails[ACCESS_FAIL_SLOTS];
static pthread_once_t access_once = PTHREAD_ONCE_INIT;
static sem_t access_hashing;

static void
access_init(void)
{
	sem_init(&access_hashing, 0, ACCESS_HASH_MAX);
}

static struct access_fail *
access_slot(const char *addr)
{
	uint32_t h = 2166136261u;

	for (const char *p = addr; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &access_fails[h % ACCESS_FAIL_SLOTS];
}

/* 1 when addr used up its failures in the current window. */
static int
access_throttled(const char *addr)
{
	struct access_fail *f = access_slot(addr);
	time_t now = time(NULL);
	int rc;

	pthread_mutex_lock(&access_lock);
	rc = strcmp(f->addr, addr) == 0 && now - f->since < ACCESS_FAIL_WINDOW &&
	    f->count >= ACCESS_FAIL_MAX;
	pthread_mutex_unlock(&access_lock);
	return rc;
}

/* One more failure of addr (a slot shared by two addresses goes to the
 * newer: the table bounds memory, not precision). */
static void
access_failed(const char *addr)
{
	struct access_fail *f = access_slot(addr);
	time_t now = time(NULL);

	pthread_mutex_lock(&access_lock);
	if (strcmp(f->addr, addr) != 0 || now - f->since >= ACCESS_FAIL_WINDOW) {
		snprintf(f->addr, sizeof(f->addr), "%s", addr);
		f->since = now;
		f->count = 0;
	}
	f->count++;
	pthread_mutex_unlock(&access_lock);
}

static int
access_proxy(void *arg, const char *addr)
{
	int m = cidrset_match(arg, addr, NULL);

	return m == 1 ? 1 : m == 0 ? 0 : -1;
}

/*
 * The client behind trusted proxies (uparse_xff reads the header from the
 * right while the hop is a trusted proxy); a malformed header leaves the
 * TCP peer -- the proxy -- as the client.
 */
static void
access_forwarded(const char *proxies, const char *xff, char *client, size_t len)
{
	struct cidrset *set = cidrset_new();
	char buf[ACCESS_PROXIES_MAX + 1], out[UPARSE_ADDR_MAX + 1];
	char *end;

	if (set == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", proxies);
	for (char *p = strtok_r(buf, " ,\t", &end); p != NULL; p = strtok_r(NULL, " ,\t", &end))
		if (cidrset_add(set, p, NULL) == -1)
			log_warnx("trusted_proxies: \"%s\" is not an address or CIDR", p);
	if (cidrset_match(set, client, NULL) == 1 &&
	    uparse_xff(xff, access_proxy, set, out, sizeof(out)) == 1)
		snprintf(client, len, "%s", out);
	cidrset_free(set);
}

/* The subscriber of a registered certificate fingerprint: 1, 0, -1. */
static int
access_cert(const char *hex, int64_t *sub, int *active)
{
	static const char sql[] =
	    "SELECT c.subscriber_id, s.status = 'active'"
	    " FROM subscriber_credentials c JOIN subscribers s ON s.id = c.subscriber_id"
	    " WHERE c.kind = 'cert' AND c.secret_hash = ?1";
	struct store *st = ud_store_get();
	sqlite3_stmt *stmt = store_prepare(st, sql);
	int rc = -1;

	if (stmt != NULL) {
		sqlite3_bind_text(stmt, 1, hex, -1, SQLITE_STATIC);
		switch (store_step(st, stmt, "certificate lookup")) {
		case STORE_STEP_ROW:
			*sub = sqlite3_column_int64(stmt, 0);
			*active = sqlite3_column_int(stmt, 1);
			rc = 1;
			break;
		case STORE_STEP_DONE:
			rc = 0;
			break;
		}
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	}
	ud_store_put(st);
	return rc;
}

/* Basic credentials: 1 (who->subscriber and ->suspended set), 0 wrong, -1
 * store error. */
static int
access_basic(struct httpd_req *r, struct ud_who *who)
{
	char *pass = NULL, *user = MHD_basic_auth_get_username_password(r->conn, &pass);
	int64_t sub = 0;
	int rc = 0, active = 0;

	if (user != NULL && pass != NULL && strlen(user) <= UD_LOGIN_MAX &&
	    strlen(pass) <= UD_SECRET_MAX) {
		struct store *st;

		pthread_once(&access_once, access_init);
		sem_wait(&access_hashing);
		st = ud_store_get();
		rc = httpd_login_check(st, user, pass, &sub, &active);
		ud_store_put(st);
		sem_post(&access_hashing);
		if (rc == 1) {
			who->subscriber = sub;
			who->suspended = !active;
			snprintf(who->login, sizeof(who->login), "%s", user);
			snprintf(who->secret, sizeof(who->secret), "%s", pass);
		}
	}
	if (pass != NULL)
		explicit_bzero(pass, strlen(pass));
	MHD_free(user);
	MHD_free(pass);
	return rc;
}

int
access_decide(struct httpd_req *r, struct ud_who *who)
{
	struct ud_conf *c = ud_conf_get();
	struct policy_snapshot *snap = policy_watch_current();
	const struct subscriber *s = NULL;
	const char *xff, *auth;
	char fp[65];
	int64_t sub = 0;
	int rc = 0, active = 0;

	httpd_client_addr(r, who->peer, sizeof(who->peer));
	snprintf(who->client, sizeof(who->client), "%s", who->peer);
	who->https = r->tls;
	who->how = "";
	if (c->u.trusted_proxies != NULL && (xff = MHD_lookup_connection_value(r->conn,
	    MHD_HEADER_KIND, "X-Forwarded-For")) != NULL)
		access_forwarded(c->u.trusted_proxies, xff, who->client, sizeof(who->client));
	ud_conf_put(c);

	auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth != NULL && strncasecmp(auth, "Basic ", 6) == 0) {
		if (access_throttled(who->client)) {
			rc = -3;
		} else if ((rc = access_basic(r, who)) == 1) {
			who->how = "login";
			sub = who->subscriber;
			active = !who->suspended;
		} else if (rc == 0) {
			access_failed(who->client);
			rc = -2;
		}
	} else if (httpd_peer_sha256(r, fp) == 1 && (rc = access_cert(fp, &sub, &active)) == 1) {
		who->how = "cert";
	} else if (rc != -1 && policy_subscriber_by_addr(snap, who->client, &s) == 1) {
		who->how = "network";
		sub = s->id;
		active = s->active;
		rc = 1;
	} else if (rc != -1) {
		rc = 0;
	}
	if (rc == 1) {
		if (sub != 0 && (s != NULL || policy_subscriber_by_id(snap, sub, &s) == 1))
			snprintf(who->name, sizeof(who->name), "%s", s->name);
		if (!active) {
			who->suspended = 1;
			rc = 0;
		} else {
			who->subscriber = sub;
		}
	}
	if (rc != 1) {
		who->subscriber = 0;
		explicit_bzero(who->secret, sizeof(who->secret));
	}
	policy_unref(snap);
	return rc;
}
