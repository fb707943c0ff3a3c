/*
 * moat-quarantined - the quarantine server: keeps infected originals
 * durably, lets operators (and subscribers, through scoped tokens) search,
 * read, release and delete them, purges them by retention, rescans them,
 * and mails per-subscriber digests.  API: common/qclient.h.
 *
 * SECURITY
 * Trusts: the config file, the store and the signature directory (all
 * operator-owned), and whoever can connect to the UNIX socket (mode
 * socket_mode, group socket_group: the gateway's own users).
 * Does not trust: message content (stored and handed to libclamav, never
 * interpreted), request metadata and bodies (validated before use; bound as
 * SQL parameters), ids (integers only; no path is ever built from client
 * text), TCP clients (bearer tokens, subscriber-scoped: a subscriber sees
 * only its own items -- another's is 404, never 403 -- and releases only a
 * 'virus' hold, only to that item's own recipients; heuristic and
 * unscannable holds are released by operators only).  A message for
 * several subscribers is one file and one item per subscriber, each
 * listing only that subscriber's recipients.
 * Privileges: the socket is bound (daemon_main), the spool directory and
 * the TLS key are opened as root (quarantined_state.c's bind hook); then the
 * daemon runs as common.user.
 * Life cycle: daemon_main (common/daemon.h) with the descriptor qd_desc in
 * quarantined_state.c: HUP reloads moat.conf (restart-only options keep
 * their running value), TERM/INT stop after the requests in flight.
 */
#include "daemon.h"
#include "quarantined.h"

int
main(int argc, char **argv)
{
	return daemon_main(&qd_desc, argc, argv);
}
