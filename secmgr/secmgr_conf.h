/*
 * secmgr_conf - the "secmgr" option group of moat.conf, in its own static
 * library (secmgrconf) so that `moatctl config sample` prints it.
 */
#ifndef MOAT_SECMGR_CONF_H
#define MOAT_SECMGR_CONF_H

#include "config.h"

struct secmgr_conf {
	long long  batch;            /* events read per transaction */
	long long  max_keys;         /* keys tracked per rule */
	long long  expire_every;     /* seconds between withdrawals of lapsed threats */
	char      *forensic_log;     /* the forensic log file */
	char      *forensic_key;     /* PEM Ed25519 key for checkpoints, NULL none */
	long long  forensic_every;   /* records between checkpoints */
	int        sw;               /* re-apply the switch in process (needs CAP_NET_ADMIN) */
	char      *mail_url;         /* smtp://host:port (Postfix's re-injection port), NULL: no mail */
	char      *mail_from;
	char      *mail_to;          /* the operator */
	long long  mail_timeout;
	char      *ready_file;
	char      *exempt;           /* "CIDR ..." never keyed by address */       /* touched once following (moat-stack waits on it) */
};

extern const struct cfg_group secmgr_cfg_group;

#endif
