/*
 * decoyd_conf - the "decoyd" option group of moat.conf, in its own static
 * library (decoydconf) so that `moatctl config sample` prints it.
 */
#ifndef MOAT_DECOYD_CONF_H
#define MOAT_DECOYD_CONF_H

struct decoyd_conf {
	char      *listen;          /* "telnet:127.0.0.1:2323 ..." words */
	char      *record_dir;      /* asciicast files, one per session */
	char      *hostname;        /* host identity shown to intruders */
	char      *kernel;          /* uname -r */
	char      *kernel_version;  /* uname -v */
	char      *issue;           /* the line before the login prompt */
	long long  max_sessions;    /* global cap (the session table's size) */
	long long  per_source;      /* sessions from one address */
	long long  idle;            /* seconds of silence */
	long long  duration;        /* seconds a session may last */
	long long  max_line;        /* bytes of one input line */
	long long  max_bytes;       /* bytes a session may send us */
	/* http personality (decoyd_http.c) */
	long long  http_max_fields;     /* header fields of one request */
	long long  http_max_requests;   /* requests on one connection */
	long long  http_keepalive;      /* seconds between kept-alive requests */
	long long  http_request_timeout; /* seconds for a whole request */
	/* alerts (decoyd_alert.c, sent by the keeper: decoyd_keeper.c) */
	char      *alert_to;        /* operator's address; "" = no alerts */
	char      *alert_from;      /* envelope and From: of the alerts */
	char      *alert_url;       /* smtp://HOST:PORT (libcurl) */
	long long  alert_window;    /* seconds: at most one mail per source */
	long long  alert_queue;     /* mails waiting to be sent, at most */
};

extern const struct cfg_group decoyd_cfg_group;

/* A listener word "personality:ADDRESS:PORT" split in place into buffers
 * of at least 64 bytes.  Returns 0, or -1 when malformed. */
int decoyd_conf_word(const char *word, char *pers, char *addr, unsigned *port);

#endif
