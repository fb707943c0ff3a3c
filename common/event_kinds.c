/* The event catalog (see event_kinds.h). */
#include <string.h>

#include "event_kinds.h"

const char *const event_kinds[] = {
	EV_MAIL_INFECTED, EV_MAIL_UNSCANNABLE, EV_MAIL_SCAN_ERROR,
	EV_MAIL_THREAT_SOURCE, EV_MAIL_REFUSED, EV_MAIL_ACTION, EV_MAIL_RELOAD,
	EV_QUARANTINE_STORED, EV_QUARANTINE_RELEASED, EV_QUARANTINE_DELETED,
	EV_QUARANTINE_RESCAN, EV_QUARANTINE_DENIED, EV_UPDATE_DENIED, EV_UPDATE_DOWNLOAD,
	EV_UPDATE_PUBLISHED, EV_UPDATE_VENDOR_FAILED,
	EV_DECOY_CONNECT, EV_DECOY_LOGIN, EV_DECOY_COMMAND, EV_DECOY_DOWNLOAD, EV_DECOY_DISCONNECT,
	EV_SECMGR_RESPONSE,
	EV_POLICY_RELOADED, EV_SWITCH_APPLIED, NULL
};

int
event_kind_known(const char *kind)
{
	for (size_t i = 0; kind != NULL && event_kinds[i] != NULL; i++)
		if (strcmp(kind, event_kinds[i]) == 0)
			return 1;
	return 0;
}
