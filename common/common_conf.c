/* The "common" option group every Moat program reads (see config.h). */
#include <stddef.h>

#include "config.h"

static const char *const common_levels[] = { "error", "warning", "info", "debug", NULL };

#define C(f) offsetof(struct common_conf, f)
static const struct cfg_opt common_opts[] = {
	{ "store", CFG_STR, "/var/lib/moat/moat.db", 0, -1, NULL, C(store),
	  "Path of the SQLite store shared by every Moat program (subscribers, "
	  "policy, quarantine index, events, usage).", NULL, CFG_RESTART },
	{ "user", CFG_STR, "moat", 0, -1, NULL, C(user),
	  "Unprivileged user the daemons switch to after opening their sockets "
	  "and files.  Empty: stay as started (tests only).", cfg_check_user, CFG_RESTART },
	{ "run_dir", CFG_STR, "/run/moat", 0, -1, NULL, C(run_dir),
	  "Directory for pidfiles and UNIX sockets.", cfg_check_abspath, CFG_RESTART },
	{ "log_level", CFG_ENUM, "info", 0, -1, common_levels, C(log_level),
	  "Least important level logged.", NULL, 0 },
	{ "log_json", CFG_STR, NULL, 0, -1, NULL, C(log_json),
	  "Also write every log line as a JSON object (for SIEMs): \"-\" for "
	  "stderr, or a file path.  Unset: off.", NULL, CFG_RESTART },
	{ "syslog_facility_mail", CFG_BOOL, "true", 0, -1, NULL, C(syslog_facility_mail),
	  "Log to syslog's mail facility (else daemon), next to Postfix's own "
	  "lines.", NULL, CFG_RESTART },
	{ NULL, 0, NULL, 0, 0, NULL, 0, NULL, NULL, 0 }
};

const struct cfg_group common_cfg_group = {
	"common", "Settings shared by every Moat program.", common_opts, NULL
};
