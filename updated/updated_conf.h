/*
 * updated_conf - the "updated" option group of moat.conf.  It lives in its
 * own static library (updatedconf) so that `moatctl config sample` prints it
 * and `moatctl packages` / `moatctl mirror` find the daemon's directories.
 */
#ifndef MOAT_UPDATED_CONF_H
#define MOAT_UPDATED_CONF_H

struct updated_conf {
	char      *listen;          /* plain HTTP "ADDRESS:PORT", NULL = none */
	char      *listen_https;    /* HTTPS "ADDRESS:PORT", NULL = none */
	char      *tls_cert;        /* PEM files of the HTTPS listener */
	char      *tls_key;
	char      *tls_client_ca;   /* PEM: ask clients for a certificate (fingerprints) */
	char      *public_url;      /* "http://gw.example:8080": what bundles point at */
	char      *public_https_url;
	char      *mirror_dir;      /* published signatures (.cvd .cld .cdiff .sign) */
	char      *packages_dir;    /* operator-published client packages */
	char      *staging_dir;     /* vendor pulls land here before they are verified */
	char      *signatures;      /* the gateway's own database directory (moat-milter's) */
	char      *trusted_proxies; /* addresses/CIDRs whose X-Forwarded-For counts */
	char      *window;          /* "22:00-06:00": the clients' update window */
	char      *language;        /* strings of the pages: "en", or a strings file */
	long long  max_connections;
	long long  per_client;      /* connections per client address */
	long long  timeout;         /* seconds of client silence */
	long long  mirror_max_inflight; /* mirror downloads at once before 429 */
	long long  retry_after;     /* seconds, the 429's Retry-After */
	long long  threads;         /* 0: a thread per connection, N: N epoll threads */
	int        access_log;
	char      *vendor_mirror;   /* DatabaseMirror of the signature vendor, NULL = none */
	char      *vendor_databases;/* "daily,main,bytecode" */
	char      *vendor_packages; /* URL of the package manifest (JSON), NULL = none */
	long long  vendor_interval; /* seconds between pulls, 0 = only on request */
	long long  vendor_jitter;   /* up to this many seconds added to each interval */
	long long  vendor_timeout;  /* one transfer */
	long long  vendor_retries;
};

extern const struct cfg_group updated_cfg_group;

#endif
