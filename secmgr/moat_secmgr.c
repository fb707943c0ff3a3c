/*
 * moat-secmgr - the security manager: follows the events every daemon
 * writes, correlates them by the operators' rules (threshold, multi-
 * pronged, multi-phase; keys: source address or network, subscriber,
 * sender domain) and responds by rule: threat sources with escalating
 * expiry, the switch re-applied, operator mail, incidents for a human; every
 * response also a secmgr.response event and a forensic log record.
 * docs/SECMGR.md describes the rules and the guarantees.
 *
 * SECURITY
 * Trusts: the config file; the store's schema.
 * Does not trust: event rows and rule rows (any daemon, operator or
 * attacker-influenced text): every field is bounded and parsed, rules are
 * refused with a reason (a secmgr.rule_invalid event), keys tracked per rule
 * are capped, and nothing from a row is run, opened or sent anywhere but
 * into the store, the forensic log and the operator's mail.
 * Privileges: none needed but the store and the forensic log, as
 * common.user; secmgr.switch = true needs CAP_NET_ADMIN for nft.
 * Life cycle: daemon_main (common/daemon.h); HUP reloads moat.conf and the
 * rules; TERM/INT stop after the batch in hand.
 */
#include "daemon.h"

extern const struct daemon_desc secmgr_desc;

int
main(int argc, char **argv)
{
	return daemon_main(&secmgr_desc, argc, argv);
}
