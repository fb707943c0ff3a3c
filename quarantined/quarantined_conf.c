/* The "quarantined" option group (see quarantined_conf.h). */
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "quarantined_conf.h"

static int quarantined_conf_check(const void *, char *, size_t);

#define Q(f) offsetof(struct quarantined_conf, f)
static const struct cfg_opt quarantined_opts[] = {
	{ "socket", CFG_STR, "/run/moat/quarantined.sock", 0, -1, NULL, Q(socket),
	  "UNIX socket of the HTTP/JSON API (moat-milter submits here, moatctl "
	  "manages).  Whoever can connect has full access: keep socket_mode tight.", cfg_check_unix_path, CFG_RESTART },
	{ "socket_mode", CFG_STR, "0660", 0, -1, NULL, Q(socket_mode),
	  "Permission bits of the socket, octal.", cfg_check_mode, CFG_RESTART },
	{ "socket_group", CFG_STR, NULL, 0, -1, NULL, Q(socket_group),
	  "Group of the socket (for example the milter's group).  Unset: the "
	  "group of common.user.", cfg_check_group, CFG_RESTART },
	{ "listen_tcp", CFG_STR, NULL, 0, -1, NULL, Q(listen_tcp),
	  "Optional TCP listener \"ADDRESS:PORT\" (for a subscriber portal).  "
	  "Every TCP request needs \"Authorization: Bearer TOKEN\".  Unset: off.", NULL, CFG_RESTART },
	{ "tls_cert", CFG_STR, NULL, 0, -1, NULL, Q(tls_cert),
	  "PEM certificate of the TCP listener.  Unset: plain HTTP (loopback only).", NULL, CFG_RESTART },
	{ "tls_key", CFG_STR, NULL, 0, -1, NULL, Q(tls_key),
	  "PEM private key of the TCP listener.", NULL, CFG_RESTART },
	{ "tokens", CFG_STR, NULL, 0, -1, NULL, Q(tokens),
	  "File of operator tokens: lines \"SHA256HEX *\" (all items) or "
	  "\"SHA256HEX SUBSCRIBER_ID\".  Tokens in subscriber_credentials (kind "
	  "token, secret_hash = sha256 hex) see only their subscriber's items.", NULL, 0 },
	{ "spool", CFG_STR, "/var/spool/moat/quarantine", 0, -1, NULL, Q(spool),
	  "Directory of held messages, stored once per content under "
	  "XX/SHA256; tmp/ holds uploads in progress.", cfg_check_abspath, CFG_RESTART },
	{ "max_upload", CFG_SIZE, "50M", 1024, 4LL << 30, NULL, Q(max_upload),
	  "Largest message accepted; larger uploads get 413.", NULL, 0 },
	{ "reinject", CFG_STR, "smtp://127.0.0.1:10026", 0, -1, NULL, Q(reinject),
	  "Postfix's re-injection SMTP service (no milter) for releases and digests.", cfg_check_smtp_url, 0 },
	{ "release_from", CFG_STR, "quarantine@localhost", 0, -1, NULL, Q(release_from),
	  "Envelope sender of digests, and of releases whose original sender was empty.", NULL, 0 },
	{ "signatures", CFG_STR, "/var/lib/clamav", 0, -1, NULL, Q(signatures),
	  "ClamAV database directory used by rescans.", NULL, 0 },
	{ "retention_days", CFG_INT, "30", 0, 36500, NULL, Q(retention_days),
	  "Days items are kept when neither the item nor its subscriber has a "
	  "policy.  0 keeps them forever (as does a policy's retention_days 0).", NULL, 0 },
	{ "purge_interval", CFG_DURATION, "1h", 0, 365LL * 86400, NULL, Q(purge_interval),
	  "How often the retention purge runs.  0: only on request.", NULL, 0 },
	{ "digest_interval", CFG_DURATION, "1d", 0, 365LL * 86400, NULL, Q(digest_interval),
	  "How often digests of newly held items are mailed.  0: only on request.", NULL, 0 },
	{ "rescan_interval", CFG_DURATION, "0", 0, 365LL * 86400, NULL, Q(rescan_interval),
	  "How often held items are rescanned with the current signatures.  0: "
	  "only on request.", NULL, 0 },
	{ "commit_window_ms", CFG_INT, "0", 0, 1000, NULL, Q(commit_window_ms),
	  "Group commit: milliseconds the committer waits for more submissions "
	  "before one directory fsync and one SQLite commit cover them all.  0: "
	  "no wait; submissions that arrive while a commit runs still share the "
	  "next one.  Every message is fsync'd before its 201 either way.", NULL, 0 },
	{ "commit_batch", CFG_INT, "64", 1, 4096, NULL, Q(commit_batch),
	  "Most submissions covered by one group commit.", NULL, 0 },
	{ "smtp_timeout", CFG_DURATION, "60s", 1, 3600, NULL, Q(smtp_timeout),
	  "Time limit of one release or digest SMTP transaction.", NULL, 0 },
	{ "max_connections", CFG_INT, "256", 4, 10000, NULL, Q(max_connections),
	  "Most concurrent API connections (one thread each).", NULL, CFG_RESTART },
	{ NULL, 0, NULL, 0, 0, NULL, 0, NULL, NULL, 0 }
};

const struct cfg_group quarantined_cfg_group = {
	"quarantined",
	"moat-quarantined: the quarantine server (HTTP/JSON API, durable spool, "
	"release, retention, rescan, digests).",
	quarantined_opts, quarantined_conf_check
};

/* Options that only make sense together. */
static int
quarantined_conf_check(const void *vals, char *err, size_t errlen)
{
	const struct quarantined_conf *q = vals;

	if ((q->tls_cert == NULL) != (q->tls_key == NULL)) {
		snprintf(err, errlen, "tls_cert and tls_key go together");
		return -1;
	}
	return 0;
}
