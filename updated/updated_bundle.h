/*
 * bundle - the per-client install bundle (updated_bundle.c), built on
 * request: the operator's package, the current signature databases and the
 * configuration that points the client back here (freshclam.conf with
 * PrivateMirror, the client's credentials when it has any, and its update
 * time: a systemd timer with OnCalendar, a cron line, or for Windows a
 * schtasks command file).  Linux platforms get one self-contained
 * installer script (sh) that verifies the package's SHA-256, installs it
 * with the platform's package tool, writes the configuration, enables the
 * timer and runs a first update; it accepts --root DIR so that a test can
 * run it for real without changing the machine.  Windows gets a zip.
 *
 * The client's update time is drawn once (window_draw) and recorded in
 * client_installs (schedule_get): a client keeps its time.
 */
#ifndef MOAT_UPDATED_BUNDLE_H
#define MOAT_UPDATED_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <microhttpd.h>

struct store;
struct pkg;
struct httpd_req;
struct ud_conf;
struct ud_who;

struct bundle_in {
	const struct pkg  *pkg;
	int                pkg_fd;        /* the package file, open for reading */
	int                mirror_fd;     /* mirror_dir: the databases to include */
	const char        *mirror_url;    /* "http://host:port" freshclam is pointed at */
	const char        *login;         /* NULL: no credentials (network access) */
	const char        *secret;
	unsigned           minute;        /* update time, minute of the day */
	const char        *subscriber;    /* its name, for comments */
	const char        *client;        /* the client key, for comments */
};

/* Writes the bundle to out_fd (a file, memfd or pipe, sequentially):
 * bundle_open, bundle_write, bundle_close.  0, or -1 with err set. */
int         bundle_build(const struct bundle_in *in, int out_fd, char *err, size_t errlen);

/* The same in steps, for a server that streams: bundle_open checks
 * everything that can be refused (names, credentials, URL, the package
 * file against its row), opens the databases and generates the small
 * files, so nothing is refused after the first byte; bundle_size is then
 * the exact length bundle_write will write.  in (and what it points to)
 * must outlive the bundle.  bundle_open: NULL with err set; bundle_write:
 * 0, or -1 with err set (a write failed, a file shrank); bundle_close
 * accepts NULL and closes what bundle_open opened (not in's descriptors). */
struct bundle;
struct bundle *bundle_open(const struct bundle_in *in, char *err, size_t errlen);
uint64_t    bundle_size(const struct bundle *b);
int         bundle_write(struct bundle *b, int out_fd, char *err, size_t errlen);
void        bundle_close(struct bundle *b);
/* The download's file name ("moat-install-debian.sh") and content type. */
void        bundle_filename(const char *platform, char *buf, size_t len);
const char *bundle_ctype(const char *platform);

/* The client's update minute: the recorded one, or a fresh draw in the
 * window recorded now (client_installs, unique per subscriber, client and
 * platform).  client is a key: "ip:ADDR", "login:NAME" or "cert:SHA256".
 * 1 recorded earlier, 0 drawn now, -1 store error. */
int         schedule_get(struct store *st, int64_t subscriber, const char *client,
    const char *platform, unsigned win_start, unsigned win_len, unsigned *minute);

/* GET /bundle/PLATFORM for an admitted who (updated_bundle_serve.c): the
 * newest package of the platform, the client's recorded (or drawn) time,
 * freshclam.conf pointing at the listener the request came through with
 * the request's Basic credentials when it had any; names the download
 * (who->what = "bundle:PLATFORM").  404 for an unknown platform or none
 * published, 503 on a store error. */
enum MHD_Result bundle_serve(struct httpd_req *r, const struct ud_conf *c,
    const char *platform, struct ud_who *who);

#endif
