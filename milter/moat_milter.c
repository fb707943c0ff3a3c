/*
 * moat-milter - the scanning mail proxy Postfix calls through smtpd_milters
 * (DESIGN.md "Mail path").
 *
 * SECURITY: talks to Postfix only (the milter socket should be loopback or a
 * private UNIX socket); message content and SMTP names are untrusted and
 * handled by libclamav, GMime and bounded copies.  Trusts moat.conf, the
 * store, the signature directory and moat-quarantined.  Runs as common.user
 * after start-up: the engine (which may read root-only signature files) is
 * loaded and the milter socket opened before the drop; store connections
 * are opened after it, so SQLite's -wal/-shm files are never root's.
 *
 * Signals: libmilter's signal thread stops the milter on TERM and INT (and
 * would on HUP); every thread blocks those three before smfi_main, and only
 * the engine watcher unblocks HUP, so HUP reaches daemon.c's flag handler
 * there and means "reload moat.conf (daemon_reload), signatures and policy".
 *
 * Life cycle: daemon_main (common/daemon.h) with the descriptor
 * milter_daemon and its hooks in milter_life.c.
 */
#include "daemon.h"
#include "milter_conf.h"

int
main(int argc, char **argv)
{
	return daemon_main(&milter_daemon, argc, argv);
}
