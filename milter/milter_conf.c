/* The "milter" option group (see milter_conf.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "milter_conf.h"

static const char *const reload_modes[] = { "concurrent", "lowmem", NULL };
static const char *const unserved_actions[] = { "reject", "pass", NULL };
static const char *const threat_actions[] = { "reject", "tempfail", "tag", NULL };

static int milter_check_socket(const void *, char *, size_t);

#define M(f) offsetof(struct milter_conf, f)
#define NOBOUND 0, -1
static const struct cfg_opt milter_opts[] = {
	{ "socket", CFG_STR, "inet:8891@127.0.0.1", NOBOUND, NULL, M(socket),
	  "libmilter connection spec Postfix's smtpd_milters points at: "
	  "\"inet:PORT@ADDRESS\", \"inet6:PORT@ADDRESS\" or \"unix:/path\".  A UNIX "
	  "socket is faster: Postfix then sends headers and body without waiting "
	  "for a reply to each.", milter_check_socket, CFG_RESTART },
	{ "socket_mode", CFG_STR, "0660", NOBOUND, NULL, M(socket_mode),
	  "Permissions (octal) of a UNIX milter socket; Postfix's smtpd must be able "
	  "to write to it.", cfg_check_mode, CFG_RESTART },
	{ "socket_group", CFG_STR, NULL, NOBOUND, NULL, M(socket_group),
	  "Group of a UNIX milter socket (e.g. \"postfix\"); unset: the group "
	  "moat-milter starts as.", cfg_check_group, CFG_RESTART },
	{ "signatures", CFG_STR, "/var/lib/clamav", NOBOUND, NULL, M(signatures),
	  "ClamAV signature directory (.cvd, .cld, .hdb, .ndb, ...), loaded at "
	  "start and reloaded when its files change.", NULL, CFG_RESTART },
	{ "spool", CFG_STR, "/var/spool/moat/milter", NOBOUND, NULL, M(spool),
	  "Private directory for messages larger than memory_buffer (unlinked "
	  "files, gone when the message ends) and libclamav's temporary files.", NULL, CFG_RESTART },
	{ "scan_tmpdir", CFG_STR, "/dev/shm/moat-milter", NOBOUND, NULL, M(scan_tmpdir),
	  "Private directory for libclamav's temporary files (its mail parser "
	  "writes every MIME part of every message there).  On tmpfs a scan costs "
	  "about 30% less.  Created 0700 for common.user at start; empty or not "
	  "creatable: spool is used.", NULL, CFG_RESTART },
	{ "quarantine", CFG_STR, NULL, NOBOUND, NULL, M(quarantine),
	  "moat-quarantined endpoint (\"unix:/path\" or \"https://host:port\"). "
	  "Unset: quarantine actions fail safe (tempfail).", NULL, CFG_RESTART },
	{ "quarantine_token", CFG_STR, NULL, NOBOUND, NULL, M(quarantine_token),
	  "Bearer token for a TCP quarantine endpoint.  Unset: none.", NULL, CFG_RESTART },
	{ "reinject", CFG_STR, "smtp://127.0.0.1:10025", NOBOUND, NULL, M(reinject),
	  "Postfix re-injection port (no milter) that separate notification "
	  "messages are submitted to.", cfg_check_smtp_url, CFG_RESTART },
	{ "notify_from", CFG_STR, "postmaster@localhost", NOBOUND, NULL, M(notify_from),
	  "Envelope and header sender of notification messages.", NULL, CFG_RESTART },
	{ "forged_senders", CFG_STR, NULL, NOBOUND, NULL, M(forged_senders),
	  "Extra virus name patterns (shell globs, comma separated) of families "
	  "that forge senders; added to the built-in list.  Senders are never "
	  "notified for these when the policy sets skip_forged_senders.", NULL, CFG_RESTART },
	{ "pidfile", CFG_STR, NULL, NOBOUND, NULL, M(pidfile),
	  "Pidfile.  Unset: none.", NULL, CFG_RESTART },
	{ "threads", CFG_INT, "0", 0, 1024, NULL, M(threads),
	  "Scans running at once; more messages wait (sending progress to "
	  "Postfix).  0: the number of CPUs.", NULL, CFG_RESTART },
	{ "mime_walk", CFG_BOOL, "true", NOBOUND, NULL, M(mime_walk),
	  "Decode the message's MIME parts in memory and scan each with libclamav, "
	  "plus one raw pass over the whole message; messages whose structure has "
	  "more than one reading (see milter_parts.c) still go to libclamav's own "
	  "mail parser.  false: libclamav's mail parser for every message (slower: "
	  "it writes every part to scan_tmpdir).", NULL, 0 },
	{ "reload_mode", CFG_ENUM, "concurrent", NOBOUND, reload_modes, M(reload_mode),
	  "concurrent: build the new engine beside the old one and swap (twice "
	  "the memory for a moment); lowmem: new scans wait while the old engine "
	  "is freed and the new one loads.  No mail is refused in either mode.", NULL, CFG_RESTART },
	{ "signature_check", CFG_DURATION, "5s", 1, 86400, NULL, M(signature_check),
	  "How often the signature directory is checked for changes.", NULL, CFG_RESTART },
	{ "policy_poll", CFG_INT, "1000", 50, 600000, NULL, M(policy_poll),
	  "Milliseconds between checks of the store's policy generation.", NULL, CFG_RESTART },
	{ "unserved_action", CFG_ENUM, "reject", NOBOUND, unserved_actions, M(unserved_action),
	  "Mail no active subscriber is served for (recipient domain, sender "
	  "domain, client address): reject at RCPT (550 5.7.1) or pass untouched.", NULL, 0 },
	{ "threat_action", CFG_ENUM, "reject", NOBOUND, threat_actions, M(threat_action),
	  "Mail from a threat source (client address, HELO, reverse name, sender "
	  "domain): reject (550 5.7.1), tempfail (451 4.7.1) or tag (X-Moat-Threat).", NULL, 0 },
	{ "memory_buffer", CFG_SIZE, "1M", 4096, 1LL << 32, NULL, M(memory_buffer),
	  "Bytes of a message kept in memory; the rest goes to an unlinked file "
	  "in spool.", NULL, 0 },
	{ "max_scansize", CFG_SIZE, "100M", 1, 1LL << 40, NULL, M(max_scansize),
	  "libclamav: most data scanned per message (archives expanded).", NULL, CFG_RESTART },
	{ "max_filesize", CFG_SIZE, "100M", 1, 1LL << 40, NULL, M(max_filesize),
	  "libclamav: largest single file scanned.  Keep it >= max_scansize: "
	  "libclamav skips an archive member over max_filesize without any alert "
	  "when the message is still under max_scansize (it would pass unscanned); "
	  "over max_scansize it raises Heuristics.Limits.Exceeded (unscannable).", NULL, CFG_RESTART },
	{ "max_recursion", CFG_INT, "25", 1, 100, NULL, M(max_recursion),
	  "libclamav: deepest nesting of archives and attachments.  The message "
	  "and its MIME layers take 2-3 levels before the first attachment, so "
	  "this is clamd's 17 plus room for them.", NULL, CFG_RESTART },
	{ "max_files", CFG_INT, "10000", 1, 1000000, NULL, M(max_files),
	  "libclamav: most files scanned inside one message.", NULL, CFG_RESTART },
	{ "quarantine_timeout", CFG_DURATION, "30s", 1, 3600, NULL, M(quarantine_timeout),
	  "Longest wait for moat-quarantined to store a message; past it the "
	  "message is tempfailed (the client retries).", NULL, 0 },
	{ "notify_timeout", CFG_DURATION, "30s", 1, 3600, NULL, M(notify_timeout),
	  "Longest SMTP exchange for one notification message.", NULL, 0 },
	{ "notify_queue", CFG_INT, "1000", 1, 1000000, NULL, M(notify_queue),
	  "Notification messages waiting to be sent; more are dropped and logged.", NULL, CFG_RESTART },
	{ "usage_flush", CFG_DURATION, "60s", 1, 86400, NULL, M(usage_flush),
	  "How often billing counters are written to the store (one transaction).", NULL, CFG_RESTART },
	{ "milter_timeout", CFG_DURATION, "300s", 1, 86400, NULL, M(milter_timeout),
	  "libmilter I/O timeout towards Postfix.", NULL, CFG_RESTART },
	{ "progress_interval", CFG_DURATION, "5s", 1, 60, NULL, M(progress_interval),
	  "While a message waits for a scan slot or a reload, progress is sent to "
	  "Postfix this often so its milter timeouts do not fire.", NULL, CFG_RESTART },
	{ NULL, 0, NULL, 0, 0, NULL, 0, NULL, NULL, 0 }
};

const struct cfg_group milter_cfg_group = {
	"milter", "moat-milter: the scanning mail proxy Postfix calls (smtpd_milters).",
	milter_opts, NULL
};

/* moat-milter's settings (declared in milter.h): the current generation's
 * milter group.  Set before any thread starts; a HUP publishes the next
 * generation here (milter_life.c), and every published generation lives
 * until the milter stops, because readers hold no reference. */
const struct milter_conf *milter_cf;

const char *
milter_socket_path(const char *spec)
{
	if (spec == NULL)
		return NULL;
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return spec[0] == '/' ? spec : NULL;
}

/* A libmilter connection spec: a UNIX path that fits a sockaddr_un, or
 * "inet:PORT@HOST" / "inet6:PORT@HOST" with a port 1..65535. */
static int
milter_check_socket(const void *value, char *err, size_t errlen)
{
	const char *spec = *(char *const *)value, *path, *port;
	char *end;
	long n;

	if ((path = milter_socket_path(spec)) != NULL) {
		if (path[0] != '/' || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, errlen, "\"%s\": a UNIX socket needs an absolute "
			    "path shorter than %zu bytes", spec,
			    sizeof(((struct sockaddr_un *)0)->sun_path));
			return -1;
		}
		return 0;
	}
	if (strncmp(spec, "inet:", 5) == 0)
		port = spec + 5;
	else if (strncmp(spec, "inet6:", 6) == 0)
		port = spec + 6;
	else {
		snprintf(err, errlen, "\"%s\" is not \"unix:/path\", \"inet:PORT@ADDRESS\" "
		    "or \"inet6:PORT@ADDRESS\"", spec);
		return -1;
	}
	n = strtol(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || n < 1 || n > 65535 ||
	    (*end != '@' && *end != '\0') || (*end == '@' && end[1] == '\0')) {
		snprintf(err, errlen, "\"%s\": expected a port 1..65535 and an address "
		    "after '@'", spec);
		return -1;
	}
	return 0;
}
