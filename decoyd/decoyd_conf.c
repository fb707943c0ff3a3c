/* The "decoyd" option group (see decoyd_conf.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decoyd_conf.h"

/* Personalities this build knows; the listener words name them. */
static const char *const decoyd_personalities[] = {
	"telnet", "ftp", "http", "smtp", "subseven", "netbus", NULL
};

int
decoyd_conf_word(const char *word, char *pers, char *addr, unsigned *port)
{
	const char *c1, *c2;
	char *end;
	unsigned long p;
	size_t i;

	if ((c1 = strchr(word, ':')) == NULL || (c2 = strrchr(word, ':')) == c1 ||
	    c1 - word >= 64 || c2 - c1 - 1 >= 64 || c2 - c1 - 1 == 0)
		return -1;
	memcpy(pers, word, c1 - word);
	pers[c1 - word] = '\0';
	memcpy(addr, c1 + 1, c2 - c1 - 1);
	addr[c2 - c1 - 1] = '\0';
	if (addr[0] == '[' && addr[strlen(addr) - 1] == ']') {
		memmove(addr, addr + 1, strlen(addr) - 2);
		addr[strlen(addr) - 2] = '\0';
	}
	p = strtoul(c2 + 1, &end, 10);
	if (c2[1] == '\0' || *end != '\0' || p == 0 || p > 65535)
		return -1;
	*port = p;
	for (i = 0; decoyd_personalities[i] != NULL; i++)
		if (strcmp(pers, decoyd_personalities[i]) == 0)
			return 0;
	return -1;
}

static int
decoyd_check_listen(const void *value, char *err, size_t errlen)
{
	char *s, *w, *save = NULL, pers[64], addr[64];
	unsigned port;
	int n = 0;

	if ((s = strdup(*(char *const *)value)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (w = strtok_r(s, " ,\t", &save); w != NULL; w = strtok_r(NULL, " ,\t", &save)) {
		if (decoyd_conf_word(w, pers, addr, &port) == -1 || ++n > 16) {
			snprintf(err, errlen, "\"%.64s\": expected up to 16 words "
			    "\"PERSONALITY:ADDRESS:PORT\"", w);
			free(s);
			return -1;
		}
	}
	free(s);
	if (n == 0) {
		snprintf(err, errlen, "no listener");
		return -1;
	}
	return 0;
}

/* Identity strings go out verbatim to clients: printable text only. */
static int
decoyd_check_text(const void *value, char *err, size_t errlen)
{
	const unsigned char *s = *(const unsigned char *const *)value;

	for (; *s != '\0'; s++)
		if (*s < ' ' || *s == 0x7f) {
			snprintf(err, errlen, "control characters are not allowed");
			return -1;
		}
	return 0;
}

/* A mail address for an envelope and a header: printable ASCII, no space,
 * no <>, at most one line (empty: none). */
static int
decoyd_check_addr(const void *value, char *err, size_t errlen)
{
	const unsigned char *s = *(const unsigned char *const *)value;

	if (strlen((const char *)s) > 254) {
		snprintf(err, errlen, "longer than 254 bytes");
		return -1;
	}
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == '<' || *s == '>' || *s == ',') {
			snprintf(err, errlen, "expected one address, printable ASCII");
			return -1;
		}
	return 0;
}

#define D(f) offsetof(struct decoyd_conf, f)
static const struct cfg_opt decoyd_opts[] = {
	{ "listen", CFG_STR, "telnet:127.0.0.1:2323", 0, -1, NULL, D(listen),
	  "Listeners, words \"personality:ADDRESS:PORT\" separated by spaces "
	  "(personalities: telnet, ftp, http, smtp, subseven, netbus).  Bound as root, so port 23 works.",
	  decoyd_check_listen, CFG_RESTART },
	{ "record_dir", CFG_STR, "/var/lib/moat/decoy", 0, -1, NULL, D(record_dir),
	  "Every session's asciicast v2 recording; the only place the daemon "
	  "writes.", cfg_check_abspath, CFG_RESTART },
	{ "hostname", CFG_STR, "srv01", 0, -1, NULL, D(hostname),
	  "The host name intruders see (prompt, uname -n, /etc/hostname).",
	  decoyd_check_text, 0 },
	{ "kernel", CFG_STR, "6.1.0-18-amd64", 0, -1, NULL, D(kernel),
	  "Kernel release shown by uname -r and the login banner.", decoyd_check_text, 0 },
	{ "kernel_version", CFG_STR, "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
	  0, -1, NULL, D(kernel_version), "Kernel version shown by uname -v.",
	  decoyd_check_text, 0 },
	{ "issue", CFG_STR, "Debian GNU/Linux 12", 0, -1, NULL, D(issue),
	  "The line before the login prompt (/etc/issue.net).", decoyd_check_text, 0 },
	{ "max_sessions", CFG_INT, "10000", 1, 1000000, NULL, D(max_sessions),
	  "Most sessions at once; a connection over it is closed at accept.",
	  NULL, CFG_RESTART },
	{ "per_source", CFG_INT, "32", 1, 1000000, NULL, D(per_source),
	  "Most sessions at once from one address; more are closed at accept.", NULL, 0 },
	{ "idle", CFG_DURATION, "5m", 1, 86400, NULL, D(idle),
	  "A session silent this long is closed.", NULL, 0 },
	{ "duration", CFG_DURATION, "1h", 1, 7 * 86400, NULL, D(duration),
	  "A session is closed after this long, whatever it does.", NULL, 0 },
	{ "max_line", CFG_SIZE, "4K", 64, 1024 * 1024, NULL, D(max_line),
	  "Longest input line; the rest of a longer one is dropped (and recorded).", NULL, 0 },
	{ "max_bytes", CFG_SIZE, "1M", 1024, 1024LL * 1024 * 1024, NULL, D(max_bytes),
	  "Bytes a session may send before it is closed.", NULL, 0 },
	/* http personality (decoyd_http.c): Apache 2.4's own limits by default. */
	{ "http_max_fields", CFG_INT, "100", 1, 10000, NULL, D(http_max_fields),
	  "http: most header fields in one request (Apache's LimitRequestFields); "
	  "more are refused with 400.  Each field line is bounded by max_line.", NULL, 0 },
	{ "http_max_requests", CFG_INT, "100", 1, 1000000, NULL, D(http_max_requests),
	  "http: requests kept alive on one connection (Apache's "
	  "MaxKeepAliveRequests); the next one is answered with Connection: close.",
	  NULL, 0 },
	{ "http_keepalive", CFG_DURATION, "5s", 1, 3600, NULL, D(http_keepalive),
	  "http: how long a kept-alive connection waits for its next request "
	  "(Apache's KeepAliveTimeout).", NULL, 0 },
	{ "http_request_timeout", CFG_DURATION, "20s", 1, 3600, NULL,
	  D(http_request_timeout),
	  "http: a request (line, fields, body) must arrive within this once it "
	  "started, or it is answered 408 and closed (Apache's mod_reqtimeout).", NULL, 0 },
	/* alerts: mailed by the keeper process (decoyd_keeper.c) */
	{ "alert_to", CFG_STR, "", 0, -1, NULL, D(alert_to),
	  "The operator's address for e-mail alerts of penetration attempts "
	  "(a login attempt or a command); empty: no alerts.",
	  decoyd_check_addr, 0 },
	{ "alert_from", CFG_STR, "moat-decoyd@localhost", 0, -1, NULL, D(alert_from),
	  "Sender (envelope and From:) of the alerts.", decoyd_check_addr, 0 },
	{ "alert_url", CFG_STR, "smtp://127.0.0.1:25", 0, -1, NULL, D(alert_url),
	  "Where alerts are submitted (libcurl SMTP URL), e.g. the Postfix "
	  "re-injection port.", decoyd_check_text, 0 },
	{ "alert_window", CFG_DURATION, "10m", 1, 86400, NULL, D(alert_window),
	  "At most one alert per source address per window: the first attempt "
	  "is mailed at once, later ones in one summary when the window ends.",
	  NULL, 0 },
	{ "alert_queue", CFG_INT, "100", 1, 10000, NULL, D(alert_queue),
	  "Alerts waiting to be sent (or retried), at most; more are dropped "
	  "and logged.", NULL, 0 },
	{ NULL, 0, NULL, 0, 0, NULL, 0, NULL, NULL, 0 }
};

const struct cfg_group decoyd_cfg_group = {
	"decoyd",
	"moat-decoyd: decoy servers that record intruders (telnet with a fake "
	"shell on a fake filesystem).",
	decoyd_opts, NULL
};
