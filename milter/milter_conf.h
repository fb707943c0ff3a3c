/*
 * milter_conf - the "milter" option group of moat.conf (moat-milter's
 * settings).  The table in milter_conf.c parses, validates, prints (-n) and
 * generates the sample file; moatctl links it (`moatctl config sample`).
 */
#ifndef MOAT_MILTER_CONF_H
#define MOAT_MILTER_CONF_H

#include "config.h"
#include "daemon.h"

enum milter_reload_mode { RELOAD_CONCURRENT, RELOAD_LOWMEM };
enum milter_unserved { UNSERVED_REJECT, UNSERVED_PASS };
enum milter_threat { THREAT_ACT_REJECT, THREAT_ACT_TEMPFAIL, THREAT_ACT_TAG };

struct milter_conf {
	char      *socket;           /* libmilter connection spec */
	char      *socket_mode;      /* octal permissions of a UNIX socket */
	char      *socket_group;     /* its group, NULL = ours */
	char      *signatures;       /* signature directory */
	char      *spool;            /* overflow files of large messages (unlinked) */
	char      *scan_tmpdir;      /* libclamav's temporary files; "" = spool */
	char      *quarantine;       /* qclient endpoint; NULL = no quarantine */
	char      *quarantine_token;
	char      *reinject;         /* smtp://host:port for separate notices */
	char      *notify_from;
	char      *forged_senders;   /* extra sender-forging families, comma separated */
	char      *pidfile;
	long long  threads;          /* scan concurrency; 0 = CPU count */
	int        reload_mode;      /* enum milter_reload_mode */
	int        mime_walk;        /* decode MIME in memory (milter_parts.c) */
	long long  signature_check;  /* seconds */
	long long  policy_poll;      /* milliseconds */
	int        unserved_action;  /* enum milter_unserved */
	int        threat_action;    /* enum milter_threat */
	long long  memory_buffer;    /* bytes kept in memory per message */
	long long  max_scansize, max_filesize, max_recursion, max_files;
	long long  quarantine_timeout;   /* seconds */
	long long  notify_timeout;       /* seconds */
	long long  notify_queue;         /* pending notices */
	long long  usage_flush;          /* seconds */
	long long  milter_timeout;       /* seconds, smfi_settimeout */
	long long  progress_interval;    /* seconds between smfi_progress while waiting */
};

extern const struct cfg_group milter_cfg_group;

/* moat-milter's configuration generation (daemon.h). */
struct milter_gen {
	DAEMON_CONF_HEAD;
	struct milter_conf  m;
};

/* moat-milter's descriptor for daemon_main (milter_life.c). */
extern const struct daemon_desc milter_daemon;

/* The path of a libmilter connection spec naming a UNIX socket ("unix:",
 * "local:" or a bare path), or NULL (inet, inet6). */
const char *milter_socket_path(const char *spec);

#endif
