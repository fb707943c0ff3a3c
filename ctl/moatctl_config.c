/*
 * moatctl config: the commented sample of every option group this build
 * knows (etc/moat.conf.sample is its output), and a check of a config file
 * against all of them that prints the effective settings.
 *
 * Every daemon's group is linked in from its option-table library, so the
 * sample lists exactly the options the programs read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moatctl.h"
#include "milter_conf.h"
#include "quarantined_conf.h"
#include "nftswitch.h"
#include "updated_conf.h"
#include "decoyd_conf.h"
#include "secmgr_conf.h"

static const char config_usage[] = "usage: moatctl config sample | check [-c FILE]\n";

static const struct cfg_group *const config_groups[] = {
	&common_cfg_group,
	&milter_cfg_group,
	&quarantined_cfg_group,
	&updated_cfg_group,
	&switch_cfg_group,
	&decoyd_cfg_group,
	&secmgr_cfg_group,
};
#define CONFIG_NGROUPS (sizeof(config_groups) / sizeof(config_groups[0]))

/*
 * moatctl sees only the option tables, not each daemon's struct, so it
 * allocates a zeroed block reaching past the last option's offset (every
 * field is at most a long long or a pointer; calloc aligns for both).
 */
static void *
config_vals_new(const struct cfg_group *g)
{
	size_t end = 0;

	for (const struct cfg_opt *o = g->opts; o->name != NULL; o++)
		if (o->offset + sizeof(long long) > end)
			end = o->offset + sizeof(long long);
	return calloc(1, end + sizeof(void *));
}

static int
config_check(struct ctl *ctl, const char *path)
{
	void *vals[CONFIG_NGROUPS] = { NULL };
	char err[1024];
	int st = 0;

	for (size_t i = 0; i < CONFIG_NGROUPS; i++)
		if ((vals[i] = config_vals_new(config_groups[i])) == NULL) {
			st = ctl_err("out of memory");
			goto done;
		}
	if (config_load(path, config_groups, vals, CONFIG_NGROUPS, err, sizeof(err)) == -1) {
		st = ctl_err("%s", err);
		goto done;
	}
	if (!ctl->quiet)
		config_print(stdout, config_groups, vals, CONFIG_NGROUPS);
	for (size_t i = 0; i < CONFIG_NGROUPS; i++)
		config_free_values(config_groups[i], vals[i]);
done:
	for (size_t i = 0; i < CONFIG_NGROUPS; i++)
		free(vals[i]);
	return st;
}

int
moatctl_config(struct ctl *ctl, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "sample") == 0) {
		config_sample(stdout, config_groups, CONFIG_NGROUPS);
		return 0;
	}
	if (argc >= 1 && strcmp(argv[0], "check") == 0) {
		if (argc == 1)
			return config_check(ctl, ctl->conf_path);
		if (argc == 3 && strcmp(argv[1], "-c") == 0)
			return config_check(ctl, argv[2]);
	}
	return ctl_usage(config_usage);
}
