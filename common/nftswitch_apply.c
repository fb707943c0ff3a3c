/*
 * nftswitch_apply - loads the switch's ruleset, rendered from the store,
 * with `nft -f -` (one nft transaction that replaces the table).  Library
 * code for daemons (moat-secmgr re-applies after its threat sources change);
 * the caller needs CAP_NET_ADMIN.  `moatctl switch apply` adds billing of
 * the old table's counters around the same steps (ctl/moatctl_switch.c).
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nftswitch.h"

/* Writes all of buf to fd; 0 or -1. */
static int
nftswitch_write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int
nftswitch_apply(struct store *st, const struct switch_conf *sc,
    struct nftswitch_stats *sx, char *err, size_t errlen)
{
	struct nftswitch_ctx cx = { .conf = sc, .now = time(NULL) };
	char *rules = NULL, *argv[] = { sc->nft, "-f", "-", NULL };
	size_t len = 0;
	FILE *fp;
	pid_t pid;
	int p[2], ws, r, w;
	void (*opipe)(int);

	if ((fp = open_memstream(&rules, &len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = nftswitch_render(st, &cx, fp, sx);
	if (fclose(fp) == EOF || r == -1) {
		free(rules);
		snprintf(err, errlen, "cannot render the switch's ruleset");
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		snprintf(err, errlen, "cannot run %s: %s", sc->nft, strerror(errno));
		free(rules);
		return -1;
	}
	if (pid == 0) {
		if (dup2(p[0], 0) == -1)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[0]);
	opipe = signal(SIGPIPE, SIG_IGN);
	w = nftswitch_write_all(p[1], rules, len);
	signal(SIGPIPE, opipe);
	close(p[1]);
	free(rules);
	while (waitpid(pid, &ws, 0) == -1)
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (w == -1 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		snprintf(err, errlen, "%s -f - refused the ruleset (exit %d); the loaded "
		    "table is unchanged", sc->nft, WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
		return -1;
	}
	return 0;
}
