/*
 * moat-updated - the client anti-virus server: the page from which the
 * subscribers' users install client anti-virus, per-client install bundles
 * that update at a time drawn in the night window, a private signature
 * mirror for stock freshclam, and pulls from the vendors.
 *
 * SECURITY
 * Trusts: the config file, the store (operators' rows), mirror_dir and
 * packages_dir (written by this daemon's vendor puller and by moatctl as
 * root), the vendor's signatures only once libclamav verified them, and
 * X-Forwarded-For only from trusted_proxies.
 * Does not trust: clients -- who may download is decided per request from
 * the connection's address (an active subscriber's networks), Basic
 * credentials (yescrypt hashes in the store) or a TLS client certificate's
 * SHA-256 registered to a subscriber; everyone else gets 403 and the denial
 * page, except on the mirror's files, which answer 404 (403 stops freshclam
 * for 24 hours).  No path is built from client text: a mirror name must
 * match <db>.cvd|.cld|-N.cdiff[.sign] and is opened with openat(O_NOFOLLOW)
 * in mirror_dir as a regular file; packages are found through the store.
 * Privileges: sockets bound, directories and the TLS key opened as root
 * (updated_life.c's bind hook); then the daemon runs as common.user.
 * Life cycle: daemon_main (common/daemon.h): HUP reloads moat.conf
 * (restart-only options keep their running value), USR1 pulls from the
 * vendors now, TERM/INT stop after the requests in flight.
 */
#include "daemon.h"
#include "updated.h"

int
main(int argc, char **argv)
{
	return daemon_main(&ud_desc, argc, argv);
}
