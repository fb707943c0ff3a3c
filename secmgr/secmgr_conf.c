/* The "secmgr" option group (see secmgr_conf.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

#include "config.h"
#include "secmgr_conf.h"

static int
secmgr_check_url(const void *value, char *err, size_t errlen)
{
	const char *s = *(const char *const *)value;

	if (strncmp(s, "smtp://", 7) != 0 && strncmp(s, "smtps://", 8) != 0) {
		snprintf(err, errlen, "expected smtp://HOST:PORT");
		return -1;
	}
	return 0;
}

static int
secmgr_check_addr(const void *value, char *err, size_t errlen)
{
	const char *s = *(const char *const *)value;

	if (s[0] == '\0' || strlen(s) > 254 || strpbrk(s, "\r\n<> \t") != NULL ||
	    strchr(s, '@') == NULL) {
		snprintf(err, errlen, "expected a mail address user@domain");
		return -1;
	}
	return 0;
}

/* Words of CIDRs or addresses, as cidrset_add takes them. */
static int
secmgr_check_exempt(const void *value, char *err, size_t errlen)
{
	char *s, *w, *save = NULL, canon[64], why[128];
	int n = 0;

	if ((s = strdup(*(char *const *)value)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (w = strtok_r(s, " ,\t", &save); w != NULL; w = strtok_r(NULL, " ,\t", &save))
		if (cidr_canon(w, canon, sizeof(canon), why, sizeof(why)) == -1 || ++n > 256) {
			snprintf(err, errlen, "\"%.64s\": expected up to 256 addresses or "
			    "networks%s", w, why);
			free(s);
			return -1;
		}
	free(s);
	return 0;
}

#define S(f) offsetof(struct secmgr_conf, f)
static const struct cfg_opt secmgr_opts[] = {
	{ "batch", CFG_INT, "5000", 1, 100000, NULL, S(batch),
	  "Events read, correlated and answered in one transaction (the cursor "
	  "moves with the responses).", NULL, 0 },
	{ "max_keys", CFG_INT, "10000", 1, 10000000, NULL, S(max_keys),
	  "Keys (addresses, networks, subscribers, domains) one rule tracks at "
	  "once; past it the oldest are dropped (logged once per rule).", NULL, 0 },
	{ "expire_every", CFG_DURATION, "10s", 1, 3600, NULL, S(expire_every),
	  "How often threat sources secmgr added and that lapsed are withdrawn.",
	  NULL, 0 },
	{ "forensic_log", CFG_STR, "/var/lib/moat/forensic.log", 0, -1, NULL, S(forensic_log),
	  "The tamper-evident log of every response (moatctl forensic verify).",
	  cfg_check_abspath, CFG_RESTART },
	{ "forensic_key", CFG_STR, NULL, 0, -1, NULL, S(forensic_key),
	  "PEM Ed25519 private key that signs the forensic log's checkpoints "
	  "(unset: no checkpoints).", cfg_check_abspath, CFG_RESTART },
	{ "forensic_every", CFG_INT, "1000", 1, 1000000, NULL, S(forensic_every),
	  "Records between signed checkpoints.", NULL, CFG_RESTART },
	{ "switch", CFG_BOOL, "false", 0, 0, NULL, S(sw),
	  "Re-apply the switch's nftables table (moatctl switch apply's code, in "
	  "process) after rules add or withdraw threat sources; the daemon then "
	  "needs CAP_NET_ADMIN.", NULL, 0 },
	{ "mail_url", CFG_STR, NULL, 0, -1, NULL, S(mail_url),
	  "Where operator mail is submitted: Postfix's re-injection port, "
	  "smtp://127.0.0.1:10025 (unset: no mail).", secmgr_check_url, 0 },
	{ "mail_from", CFG_STR, "moat-secmgr@localhost", 0, -1, NULL, S(mail_from),
	  "Envelope and header sender of operator mail.", secmgr_check_addr, 0 },
	{ "mail_to", CFG_STR, NULL, 0, -1, NULL, S(mail_to),
	  "The operator's address (unset: no mail).", secmgr_check_addr, 0 },
	{ "mail_timeout", CFG_DURATION, "30s", 1, 600, NULL, S(mail_timeout),
	  "Longest an operator mail submission may take.", NULL, 0 },
	{ "ready_file", CFG_STR, NULL, 0, -1, NULL, S(ready_file),
	  "A file created once the daemon follows the events (for supervisors "
	  "and moat-stack); unset: none.", cfg_check_abspath, 0 },
	{ "exempt", CFG_STR, NULL, 0, -1, NULL, S(exempt),
	  "Addresses and networks (\"192.0.2.0/24 2001:db8::/32\") never keyed by "
	  "address: the provider's own relays and monitors, never made threat "
	  "sources.  Their events still count for subscriber and sender_domain "
	  "keys.", secmgr_check_exempt, 0 },
	{ NULL, 0, NULL, 0, 0, NULL, 0, NULL, NULL, 0 }
};

const struct cfg_group secmgr_cfg_group = {
	"secmgr",
	"moat-secmgr: the security manager (correlates events, responds by rule, "
	"keeps the forensic log).",
	secmgr_opts, NULL
};
