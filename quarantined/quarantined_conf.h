/*
 * quarantined_conf - the "quarantined" option group of moat.conf.  It lives
 * in its own static library (quarantinedconf) so that `moatctl config
 * sample` prints it and `moatctl quarantine` finds the daemon's socket.
 */
#ifndef MOAT_QUARANTINED_CONF_H
#define MOAT_QUARANTINED_CONF_H

struct quarantined_conf {
	char      *socket;          /* UNIX socket path of the API */
	char      *socket_mode;     /* octal permission bits of the socket */
	char      *socket_group;    /* group owning the socket, NULL = user's */
	char      *listen_tcp;      /* "127.0.0.1:PORT", NULL = no TCP listener */
	char      *tls_cert;        /* PEM files for the TCP listener */
	char      *tls_key;
	char      *tokens;          /* file of "sha256hex subscriber-id|*" lines */
	char      *spool;           /* content-addressed message store */
	long long  max_upload;      /* bytes */
	char      *reinject;        /* "smtp://127.0.0.1:PORT" */
	char      *release_from;    /* envelope sender when the original is <> */
	char      *signatures;      /* libclamav database directory (rescan) */
	long long  retention_days;  /* when neither item nor subscriber has a policy */
	long long  purge_interval;  /* seconds, 0 = only on request */
	long long  digest_interval;
	long long  rescan_interval;
	long long  commit_window_ms;/* group-commit wait for more submissions */
	long long  commit_batch;    /* most submissions per group commit */
	long long  smtp_timeout;    /* seconds for one release or digest */
	long long  max_connections;
};

extern const struct cfg_group quarantined_cfg_group;

#endif
