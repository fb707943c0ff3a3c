/*
 * moat-decoyd - decoy servers for intruders: listening ports that answer as
 * a real server would (telnet today: netkit telnetd's negotiation, login(1)'s
 * prompts, then a shell on a fake filesystem), recording every byte both
 * ways with its time as an asciicast v2 file, the intruder's credentials,
 * commands and download attempts as events, each session as a
 * decoy_sessions row, and condensed e-mail alerts to the operator (one per
 * source per decoyd.alert_window).
 *
 * SECURITY
 * Two processes, in the OpenSMTPD manner (decoyd_keeper.h).
 * The loop process talks to intruders.  Trusts: the config file.  Does not
 * trust: anything a client sends.  Every byte is recorded and then only
 * parsed (the telnet parser holds bounded state; lines are bounded by
 * decoyd.max_line, sessions by max_bytes, idle and duration); nothing a
 * client sends is executed, looked up on the network or written anywhere
 * but its own recording: the shell is a table of functions over a read-only
 * template, download tools record the URL and fetch nothing, and the
 * recording's name is made by the daemon (time, pid, counter), created with
 * openat(O_EXCL | O_NOFOLLOW) in the record directory opened as root (by
 * its first write: each write opens and closes it).  No exec, no outbound
 * connection: the FTP decoy refuses active mode (PORT, EPRT) and serves
 * listings over passive data channels only, a listener on the session's own
 * local address that accepts one connection from the client's address (at
 * most 32 at once, each closed within 60 s; bind and listen are in the
 * seccomp list for them).  The SMTP decoy answers a message "queued" and
 * relays nothing.  Sessions over decoyd.max_sessions or decoyd.per_source
 * are closed at accept; a client that does not read its output is dropped
 * when 64 KiB pile up; an option flood ends the session.
 * Privileges: listeners bound and the record directory opened as root
 * (decoyd_life.c's bind hook); then it runs as common.user chrooted in
 * decoyd.record_dir (nothing else of the host is visible, the store
 * included) under a seccomp allow list with no_outbound (decoyd_life.c,
 * common/daemon.h): no execve, no fork or clone, connect and sendmsg
 * refused, sendto only without an address.  It holds no store connection:
 * events, decoy_sessions rows and alert facts go to the keeper over a
 * socketpair, never waiting (a full socket drops, counted and logged; a
 * dead keeper is logged and the recordings go on).
 * The keeper (decoyd_keeper.c), forked as root in the bind hook, drops to
 * common.user itself (not chrooted: it owns the store connections and
 * libcurl for the alert mail) under its own seccomp list (no exec).  It
 * trusts the config file and the store, and not the loop process's
 * records: shape checked (decoyd_relay_parse.c, fuzzed), event kinds
 * limited to decoy.*, details must be JSON objects, SQL by bound
 * parameters, the intruder's bytes escaped and the body quoted-printable in
 * alert mail (decoyd_alert.c).
 * Not yet: HUP cannot re-read moat.conf inside the chroot (the loop keeps
 * its settings, logged; the keeper reloads on its own HUP); restart to
 * change limits or identity.
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
