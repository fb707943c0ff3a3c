/* moatctl config: the generated sample, and checking a config file. */
#include <stdio.h>
#include <string.h>

#include "moatctl.h"
#ifdef MOAT_HAVE_MILTER_CONF
#include "milter_conf.h"
#endif
#ifdef MOAT_HAVE_QUARANTINED_CONF
#include "quarantined_conf.h"
#endif

static const char cfg_usage[] = "usage: moatctl [-c CONF] config sample | check\n";

/* Every group this build knows, in sample order. */
static const struct cfg_group *const cfg_groups[] = {
	&common_cfg_group,
#ifdef MOAT_HAVE_MILTER_CONF
	&milter_cfg_group,
#endif
#ifdef MOAT_HAVE_QUARANTINED_CONF
	&quarantined_cfg_group,
#endif
};
#define NGROUPS (sizeof(cfg_groups) / sizeof(cfg_groups[0]))

int
moatctl_config(struct ctl *ctl, int argc, char **argv)
{
	/* Value structs of every group, large enough for any of them. */
	static long long storage[NGROUPS][256];
	void *vals[NGROUPS];
	char err[1024];

	if (argc == 1 && strcmp(argv[0], "sample") == 0) {
		config_sample(stdout, cfg_groups, NGROUPS);
		return 0;
	}
	if (argc != 1 || strcmp(argv[0], "check") != 0)
		return ctl_usage(cfg_usage);
	for (size_t i = 0; i < NGROUPS; i++)
		vals[i] = storage[i];
	if (config_load(ctl->conf_path, cfg_groups, vals, NGROUPS, err, sizeof(err)) == -1)
		return ctl_err("%s", err);
	config_print(stdout, cfg_groups, vals, NGROUPS);
	for (size_t i = 0; i < NGROUPS; i++)
		config_free_values(cfg_groups[i], vals[i]);
	return 0;
}
