/*
 * moat-decoyd - decoy servers for intruders: listening ports that answer as
 * a real server would (telnet today: netkit telnetd's negotiation, login(1)'s
 * prompts, then a shell on a fake filesystem), recording every byte both
 * ways with its time as an asciicast v2 file, the intruder's credentials,
 * commands and download attempts as events, and each session as a
 * decoy_sessions row.
 *
 * SECURITY
 * Trusts: the config file and the store.
 * Does not trust: anything a client sends.  Every byte is recorded and then
 * only parsed (the telnet parser holds bounded state; lines are bounded by
 * decoyd.max_line, sessions by max_bytes, idle and duration); nothing a
 * client sends is executed, looked up on the network or written anywhere
 * but its own recording: the shell is a table of functions over a read-only
 * template, download tools record the URL and fetch nothing, and the
 * recording's name is made by the daemon (time, pid, counter), created with
 * openat(O_EXCL | O_NOFOLLOW) in the record directory opened as root.  No
 * exec, no outbound connection (the daemon never calls connect, apart from
 * the store's SQLite file): the FTP decoy refuses active mode (PORT, EPRT)
 * and serves listings over passive data channels only, a listener on the
 * session's own local address that accepts one connection from the
 * client's address (at most 32 at once, each closed within 60 s; bind and
 * listen are in the seccomp list for them).  The SMTP decoy answers a
 * message "queued" and relays nothing.  Sessions over decoyd.max_sessions or
 * decoyd.per_source are closed at accept; a client that does not read its
 * output is dropped when 64 KiB pile up; an option flood ends the session.
 * Privileges: listeners bound and the record directory opened as root
 * (decoyd_life.c's bind hook); then the daemon runs as common.user under a
 * seccomp allow list (decoyd_life.c: no execve, no fork; the frame's base
 * list still allows socket and connect, for syslog).
 * Not yet: chroot (the store is reached by path).
 * Life cycle: daemon_main (common/daemon.h): HUP reloads moat.conf (limits
 * and host identity apply to new sessions; listeners need a restart),
 * TERM/INT end every session (recorded as "daemon stopped") and stop.
 */
#include "daemon.h"
#include "decoyd.h"

extern const struct daemon_desc dd_desc;

int
main(int argc, char **argv)
{
	return daemon_main(&dd_desc, argc, argv);
}
