/*
 * secmgr_life - moat-secmgr's life cycle under daemon_main(): its
 * descriptor (the secmgr and switch option groups, no sockets), the hooks
 * (libcurl and the follower started after the drop; the follower on the
 * tick; HUP reloads the rules as well; stop).
 */
#include <stddef.h>
#include <stdio.h>

#include <curl/curl.h>

#include "daemon.h"
#include "log.h"
#include "secmgr.h"

#define SECMGR_TICK_MS 250

static int
secmgr_check(const void *conf, char *err, size_t errlen)
{
	const struct secmgr_conf_gen *c = conf;

	if (c->s.sw && nftswitch_conf_check(&c->sw, err, errlen) == -1)
		return -1;
	if ((c->s.mail_url == NULL) != (c->s.mail_to == NULL)) {
		snprintf(err, errlen, "secmgr.mail_url and secmgr.mail_to go together");
		return -1;
	}
	return 0;
}

static int
secmgr_start(void *conf)
{
	struct secmgr_conf_gen *c = conf;
	char err[1024];

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("curl_global_init failed");
		return -1;
	}
	if (secmgr_follow_start(c, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	log_info("started (store %s, forensic log %s, batch %lld, switch %s, mail %s)",
	    c->common.store, c->s.forensic_log, c->s.batch, c->s.sw ? "on" : "off",
	    c->s.mail_to ? c->s.mail_to : "off");
	return 0;
}

static void
secmgr_reload(void *conf, const void *old)
{
	(void)conf;
	(void)old;
	secmgr_follow_reload();
}

static void
secmgr_stop(void)
{
	secmgr_follow_stop();
	curl_global_cleanup();
}

static const struct cfg_group *const secmgr_groups[] = { &secmgr_cfg_group, &switch_cfg_group };
static const size_t secmgr_group_off[] = { offsetof(struct secmgr_conf_gen, s),
	offsetof(struct secmgr_conf_gen, sw) };

const struct daemon_desc secmgr_desc = {
	.name = "moat-secmgr",
	.groups = secmgr_groups, .group_off = secmgr_group_off, .ngroups = 2,
	.conf_size = sizeof(struct secmgr_conf_gen),
	.check = secmgr_check,
	.start = secmgr_start,
	.tick = secmgr_follow_tick, .tick_ms = SECMGR_TICK_MS,
	.reload = secmgr_reload, .stop = secmgr_stop,
};
