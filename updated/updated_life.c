/*
 * updated_life - moat-updated's life cycle under daemon_main(): its
 * descriptor (option group, the two TCP listeners), the hooks (directories
 * and TLS files opened as root; the store pool, events, policy watcher and
 * HTTP server started after the drop; downloads flushed on the tick; HUP;
 * stop), and the process-wide state the modules reach through updated.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "daemon.h"
#include "events.h"
#include "httpd.h"
#include "log.h"
#include "policy.h"
#include "store_pool.h"
#include "updated.h"
#include "updated_vendor.h"

#define UD_POOL_SIZE     8
#define UD_POLICY_POLL   1000          /* ms between policy generation checks */

static struct store_pool *ud_pool;
static struct ud_http *ud_srv;
static char *ud_cert, *ud_key, *ud_ca;
static int ud_mirror = -1, ud_packages = -1;
static int ud_fds[2] = { -1, -1 };

struct ud_conf *
ud_conf_get(void)
{
	return daemon_conf_get();
}

void
ud_conf_put(struct ud_conf *c)
{
	daemon_conf_put(c);
}

struct store *
ud_store_get(void)
{
	return store_pool_get(ud_pool);
}

void
ud_store_put(struct store *st)
{
	store_pool_put(ud_pool, st);
}

int
ud_mirror_fd(void)
{
	return ud_mirror;
}

int
ud_packages_fd(void)
{
	return ud_packages;
}

/*
 * A directory the daemon owns (created when absent, handed to common.user
 * when root made it), opened as root: the descriptor stays valid after the
 * drop, whatever the path's later fate.
 */
static int
ud_dir(const char *path, const char *user, int own)
{
	uid_t uid;
	gid_t gid;
	int fd;

	if (mkdir(path, 0755) == 0 && own && geteuid() == 0 && user != NULL &&
	    user[0] != '\0' && daemon_user_ids(user, &uid, &gid) == 0 &&
	    chown(path, uid, gid) == -1) {
		log_warn("chown %s", path);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		log_warn("cannot open the directory %s", path);
	return fd;
}

/* As root: directories, TLS files; fds[0] plain HTTP, fds[1] HTTPS. */
static int
ud_bind(void *conf, const int *fds)
{
	struct ud_conf *c = conf;
	char err[1024];

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("curl_global_init failed");
		return -1;
	}
	ud_fds[0] = fds[0];
	ud_fds[1] = fds[1];
	if ((ud_mirror = ud_dir(c->u.mirror_dir, c->common.user, 1)) == -1 ||
	    (ud_packages = ud_dir(c->u.packages_dir, c->common.user, 0)) == -1)
		return -1;
	if (c->u.listen_https != NULL &&
	    ((ud_cert = httpd_slurp(c->u.tls_cert, err, sizeof(err))) == NULL ||
	    (ud_key = httpd_slurp(c->u.tls_key, err, sizeof(err))) == NULL ||
	    (c->u.tls_client_ca != NULL &&
	    (ud_ca = httpd_slurp(c->u.tls_client_ca, err, sizeof(err))) == NULL))) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

/* As common.user. */
static int
ud_start(void *conf)
{
	struct ud_conf *c = conf;
	char err[1024];

	if ((ud_pool = store_pool_open(c->common.store, UD_POOL_SIZE, 0, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	if (events_start(c->common.store, "updated", err, sizeof(err)) == -1) {
		log_warnx("events: %s", err);
		return -1;
	}
	if (policy_watch_start(c->common.store, UD_POLICY_POLL, err, sizeof(err)) == -1) {
		log_warnx("policy: %s", err);
		return -1;
	}
	ud_srv = ud_http_start(c, ud_fds, ud_cert, ud_key, ud_ca, err, sizeof(err));
	ud_cert = ud_key = ud_ca = NULL;        /* taken over */
	if (ud_srv == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	if (vendor_start(err, sizeof(err)) == -1) {
		log_warnx("vendor: %s", err);
		return -1;
	}
	log_info("serving%s%s%s%s (mirror %s, packages %s, store %s)",
	    c->u.listen != NULL ? " http://" : "", c->u.listen != NULL ? c->u.listen : "",
	    c->u.listen_https != NULL ? " https://" : "",
	    c->u.listen_https != NULL ? c->u.listen_https : "",
	    c->u.mirror_dir, c->u.packages_dir, c->common.store);
	return 0;
}

static void
ud_tick(void)
{
	downloads_flush();
}

static void
ud_reload(void *conf, const void *old)
{
	(void)old;
	policy_watch_reload();
	vendor_reconf(conf);
}

static void
ud_stop(void)
{
	vendor_stop();                  /* uses the store pool and events */
	ud_http_stop(ud_srv);           /* waits for requests in flight */
	downloads_flush();
	policy_watch_stop();
	events_stop();
	store_pool_close(ud_pool);
	if (ud_mirror != -1)
		close(ud_mirror);
	if (ud_packages != -1)
		close(ud_packages);
	free(ud_cert);
	if (ud_key != NULL)
		explicit_bzero(ud_key, strlen(ud_key));
	free(ud_key);
	free(ud_ca);
	curl_global_cleanup();
}

/* The generation has both listeners' specs; the frame binds them as root. */
static const struct cfg_group *const ud_groups[] = { &updated_cfg_group };
static const size_t ud_group_off[] = { offsetof(struct ud_conf, u) };
static const struct daemon_listen ud_listen[] = {
	{ DAEMON_TCP, offsetof(struct ud_conf, u.listen), DAEMON_NONE, DAEMON_NONE },
	{ DAEMON_TCP, offsetof(struct ud_conf, u.listen_https), DAEMON_NONE, DAEMON_NONE },
};

const struct daemon_desc ud_desc = {
	.name = "moat-updated",
	.groups = ud_groups, .group_off = ud_group_off, .ngroups = 1,
	.conf_size = sizeof(struct ud_conf),
	.listen = ud_listen, .nlisten = 2,
	.bind = ud_bind, .start = ud_start,
	.tick = ud_tick, .tick_ms = 1000, .reload = ud_reload, .stop = ud_stop,
	.usr1 = vendor_kick,
};
