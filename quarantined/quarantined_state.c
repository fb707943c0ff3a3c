/*
 * quarantined_state - the daemon's configuration generations: loading and
 * checking one (qd_conf_load), and the references requests hold on the
 * current one while HUP swaps in the next (qd_conf_get/qd_conf_put).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "quarantined.h"

struct qd_conf *
qd_conf_get(struct qd *qd)
{
	struct qd_conf *c;

	pthread_mutex_lock(&qd->conf_lock);
	c = qd->conf;
	c->refs++;
	pthread_mutex_unlock(&qd->conf_lock);
	return c;
}

void
qd_conf_put(struct qd *qd, struct qd_conf *c)
{
	int last;

	if (c == NULL)
		return;
	pthread_mutex_lock(&qd->conf_lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&qd->conf_lock);
	if (last) {
		config_free_values(&common_cfg_group, &c->common);
		config_free_values(&quarantined_cfg_group, &c->q);
		free(c);
	}
}

/* Loads and checks a configuration generation.  NULL with err set. */
struct qd_conf *
qd_conf_load(const char *path, char *err, size_t errlen)
{
	const struct cfg_group *groups[] = { &common_cfg_group, &quarantined_cfg_group };
	struct qd_conf *c = calloc(1, sizeof(*c));
	void *vals[2];

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	vals[0] = &c->common;
	vals[1] = &c->q;
	if (config_load(path, groups, vals, 2, err, errlen) == -1) {
		free(c);
		return NULL;
	}
	c->refs = 1;
	if (parse_mode(c->q.socket_mode, &c->socket_mode) == -1)
		snprintf(err, errlen, "%s: quarantined.socket_mode \"%s\" is not octal "
		    "permission bits", path, c->q.socket_mode);
	else if (c->q.socket == NULL || c->q.socket[0] != '/' ||
	    strlen(c->q.socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		snprintf(err, errlen, "%s: quarantined.socket must be an absolute path "
		    "shorter than %zu bytes", path, sizeof(((struct sockaddr_un *)0)->sun_path));
	else if (c->q.spool == NULL || c->q.spool[0] != '/')
		snprintf(err, errlen, "%s: quarantined.spool must be an absolute path", path);
	else if (strncmp(c->q.reinject, "smtp://", 7) != 0 &&
	    strncmp(c->q.reinject, "smtps://", 8) != 0)
		snprintf(err, errlen, "%s: quarantined.reinject must be an smtp:// URL", path);
	else if (!parse_addr_ok(c->q.release_from))
		snprintf(err, errlen, "%s: quarantined.release_from is not an address", path);
	else if ((c->q.tls_cert == NULL) != (c->q.tls_key == NULL))
		snprintf(err, errlen, "%s: quarantined.tls_cert and tls_key go together", path);
	else
		return c;
	config_free_values(&common_cfg_group, &c->common);
	config_free_values(&quarantined_cfg_group, &c->q);
	free(c);
	return NULL;
}

