/* The "updated" option group (see updated_conf.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "updated_conf.h"
#include "updated_strings.h"
#include "updated_window.h"

static int updated_conf_check(const void *, char *, size_t);

static int
updated_check_window(const void *value, char *err, size_t errlen)
{
	unsigned start, len;

	if (window_parse(*(char *const *)value, &start, &len) == -1) {
		snprintf(err, errlen, "expected \"HH:MM-HH:MM\" (a window of 1 minute to 24 hours)");
		return -1;
	}
	return 0;
}

static int
updated_check_url(const void *value, char *err, size_t errlen)
{
	const char *s = *(char *const *)value;

	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
		snprintf(err, errlen, "expected an http:// or https:// URL");
		return -1;
	}
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '"' || *s == '\\') {
			snprintf(err, errlen, "a URL has no spaces, quotes or control characters");
			return -1;
		}
	return 0;
}

static int
updated_check_language(const void *value, char *err, size_t errlen)
{
	return strings_check(*(char *const *)value, err, errlen);
}

#define U(f) offsetof(struct updated_conf, f)
static const struct cfg_opt updated_opts[] = {
	{ "listen", CFG_STR, "127.0.0.1:8080", 0, -1, NULL, U(listen),
	  "Plain HTTP listener \"ADDRESS:PORT\" (install page, bundles, signature "
	  "mirror; freshclam checks the signatures it downloads).  Unset: none.", NULL, CFG_RESTART },
	{ "listen_https", CFG_STR, NULL, 0, -1, NULL, U(listen_https),
	  "HTTPS listener \"ADDRESS:PORT\" (needs tls_cert and tls_key).  Unset: none.", NULL, CFG_RESTART },
	{ "tls_cert", CFG_STR, NULL, 0, -1, NULL, U(tls_cert),
	  "PEM certificate of the HTTPS listener.", cfg_check_abspath, CFG_RESTART },
	{ "tls_key", CFG_STR, NULL, 0, -1, NULL, U(tls_key),
	  "PEM private key of the HTTPS listener (read as root).", cfg_check_abspath, CFG_RESTART },
	{ "tls_client_ca", CFG_STR, NULL, 0, -1, NULL, U(tls_client_ca),
	  "PEM file; when set, HTTPS clients are asked for a certificate, and one whose "
	  "SHA-256 fingerprint is registered to a subscriber (moatctl cert add) "
	  "identifies it.  Unset: no client certificates.", cfg_check_abspath, CFG_RESTART },
	{ "public_url", CFG_STR, NULL, 0, -1, NULL, U(public_url),
	  "Base URL clients reach the plain listener at, written into bundles "
	  "(\"http://updates.isp.example\").  Unset: http://LISTEN.", updated_check_url, 0 },
	{ "public_https_url", CFG_STR, NULL, 0, -1, NULL, U(public_https_url),
	  "Base URL of the HTTPS listener, preferred in bundles.  Unset: "
	  "https://LISTEN_HTTPS.", updated_check_url, 0 },
	{ "mirror_dir", CFG_STR, "/var/lib/moat/mirror", 0, -1, NULL, U(mirror_dir),
	  "Published signature databases served to freshclam (.cvd, .cld, .cdiff, "
	  ".sign).  Only regular files directly in it are served.", cfg_check_abspath, CFG_RESTART },
	{ "packages_dir", CFG_STR, "/var/lib/moat/packages", 0, -1, NULL, U(packages_dir),
	  "Client packages published with moatctl packages add, and by vendor pulls "
	  "(then common.user must be able to write it).", cfg_check_abspath, CFG_RESTART },
	{ "staging_dir", CFG_STR, "/var/lib/moat/staging", 0, -1, NULL, U(staging_dir),
	  "Where vendor pulls land before they are verified and published.", cfg_check_abspath, CFG_RESTART },
	{ "signatures", CFG_STR, NULL, 0, -1, NULL, U(signatures),
	  "The gateway's own signature directory (moat-milter's milter.signatures): "
	  "verified vendor databases are copied there too (common.user must be able "
	  "to write it).  Unset: not updated.", cfg_check_abspath, 0 },
	{ "trusted_proxies", CFG_STR, NULL, 0, -1, NULL, U(trusted_proxies),
	  "Space- or comma-separated addresses and CIDRs of reverse proxies whose "
	  "X-Forwarded-For is honoured.  Unset: the header is ignored.", NULL, 0 },
	{ "window", CFG_STR, "22:00-06:00", 0, -1, NULL, U(window),
	  "Clients' daily update time is drawn uniformly in this local-time window "
	  "(it may wrap midnight), once per client, and kept.", updated_check_window, 0 },
	{ "language", CFG_STR, "en", 0, -1, NULL, U(language),
	  "Strings of the install and denial pages: \"en\", or the path of a strings "
	  "file (KEY = text lines; see updated/strings/en.txt).", updated_check_language, 0 },
	{ "max_connections", CFG_INT, "1024", 4, 100000, NULL, U(max_connections),
	  "Most concurrent connections per listener.", NULL, CFG_RESTART },
	{ "per_client", CFG_INT, "32", 0, 10000, NULL, U(per_client),
	  "Most concurrent connections from one client address.  0: no limit.", NULL, CFG_RESTART },
	{ "timeout", CFG_DURATION, "30s", 1, 3600, NULL, U(timeout),
	  "A connection silent this long is closed (slow clients).", NULL, CFG_RESTART },
	{ "mirror_max_inflight", CFG_INT, "256", 1, 100000, NULL, U(mirror_max_inflight),
	  "Signature downloads served at once; more get 429 with Retry-After "
	  "(freshclam waits that long; 403 would stop it for 24 hours).", NULL, 0 },
	{ "retry_after", CFG_DURATION, "60s", 1, 86400, NULL, U(retry_after),
	  "The Retry-After of a 429.", NULL, 0 },
	{ "threads", CFG_INT, "0", 0, 256, NULL, U(threads),
	  "0: a thread per connection; N: N event-loop threads.", NULL, CFG_RESTART },
	{ "access_log", CFG_BOOL, "true", 0, 0, NULL, U(access_log),
	  "One log line per request.", NULL, CFG_RESTART },
	{ "vendor_mirror", CFG_STR, NULL, 0, -1, NULL, U(vendor_mirror),
	  "The signature vendor's database mirror, pulled with libfreshclam as "
	  "freshclam's DatabaseMirror without DNS: whole signed .cvd files (verified "
	  "before they are published), plus the .cdiff patches between the published "
	  "versions for this mirror's clients.  Unset: no signature pulls.", updated_check_url, 0 },
	{ "vendor_databases", CFG_STR, "daily,main,bytecode", 0, -1, NULL, U(vendor_databases),
	  "Databases pulled from the vendor, comma-separated.", NULL, 0 },
	{ "vendor_packages", CFG_STR, NULL, 0, -1, NULL, U(vendor_packages),
	  "URL of the vendor's package manifest (JSON: [{platform, name, version, "
	  "url, sha256}]).  Unset: packages only from moatctl packages add.", updated_check_url, 0 },
	{ "vendor_interval", CFG_DURATION, "4h", 0, 30LL * 86400, NULL, U(vendor_interval),
	  "Time between vendor pulls.  0: only on request (SIGUSR1).", NULL, 0 },
	{ "vendor_jitter", CFG_DURATION, "10m", 0, 86400, NULL, U(vendor_jitter),
	  "Up to this much random time is added to each interval.", NULL, 0 },
	{ "vendor_timeout", CFG_DURATION, "5m", 1, 86400, NULL, U(vendor_timeout),
	  "Time limit of one vendor transfer.", NULL, 0 },
	{ "vendor_retries", CFG_INT, "3", 0, 20, NULL, U(vendor_retries),
	  "Retries of a failed vendor transfer (exponential backoff; a "
	  "Retry-After is honoured).", NULL, 0 },
	{ NULL, 0, NULL, 0, 0, NULL, 0, NULL, NULL, 0 }
};

const struct cfg_group updated_cfg_group = {
	"updated",
	"moat-updated: the client anti-virus server (install page, install "
	"bundles, freshclam mirror, vendor pulls).",
	updated_opts, updated_conf_check
};

static int
updated_conf_check(const void *vals, char *err, size_t errlen)
{
	const struct updated_conf *u = vals;

	if ((u->tls_cert == NULL) != (u->tls_key == NULL)) {
		snprintf(err, errlen, "tls_cert and tls_key go together");
		return -1;
	}
	if (u->listen_https != NULL && u->tls_cert == NULL) {
		snprintf(err, errlen, "listen_https needs tls_cert and tls_key");
		return -1;
	}
	if (u->tls_client_ca != NULL && u->listen_https == NULL) {
		snprintf(err, errlen, "tls_client_ca needs listen_https");
		return -1;
	}
	if (u->listen == NULL && u->listen_https == NULL) {
		snprintf(err, errlen, "set listen, listen_https or both");
		return -1;
	}
	return 0;
}
