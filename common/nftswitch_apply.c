/*
 * nftswitch_apply - loads the switch's ruleset, rendered from the store,
 * with `nft -f -` (one nft transaction that replaces the table).  Library
 * code for daemons (moat-secmgr re-applies after its threat sources change);
 * the caller needs CAP_NET_ADMIN.  `moatctl switch apply` runs the same two
 * load steps, with billing of the old table's counters around them, and
 * starts nft before it opens the store (it drops to the store's owner
 * then): hence the split into start and finish.
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

#include "fdio.h"
#include "nftswitch.h"

int
nftswitch_load_start(const char *nft, struct nftswitch_load *ld, char *err, size_t errlen)
{
	char *argv[] = { (char *)nft, "-f", "-", NULL };
	int p[2];

	ld->pid = -1;
	ld->fd = -1;
	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "cannot run %s: %s", nft, strerror(errno));
		return -1;
	}
	if ((ld->pid = fork()) == -1) {
		snprintf(err, errlen, "cannot run %s: %s", nft, strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (ld->pid == 0) {
		if (dup2(p[0], 0) == -1)
			_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	ld->fd = p[1];
	return 0;
}

int
nftswitch_load_finish(struct nftswitch_load *ld, const char *nft, const char *rules,
    size_t len, char *err, size_t errlen)
{
	void (*opipe)(int);
	int w = 0, ws;

	if (ld->pid <= 0)
		return -1;
	if (len > 0) {
		opipe = signal(SIGPIPE, SIG_IGN);
		w = fdio_write_all(ld->fd, rules, len);
		signal(SIGPIPE, opipe);
	}
	close(ld->fd);
	ld->fd = -1;
	while (waitpid(ld->pid, &ws, 0) == -1)
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			ld->pid = -1;
			return -1;
		}
	ld->pid = -1;
	if (w == -1 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		snprintf(err, errlen, "%s -f - refused the ruleset (exit %d); the loaded "
		    "table is unchanged", nft, WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
		return -1;
	}
	return 0;
}

int
nftswitch_apply(struct store *st, const struct switch_conf *sc,
    struct nftswitch_stats *sx, char *err, size_t errlen)
{
	struct nftswitch_ctx cx = { .conf = sc, .now = time(NULL) };
	struct nftswitch_load ld;
	char *rules = NULL;
	size_t len = 0;
	FILE *fp;
	int r;

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
	if (nftswitch_load_start(sc->nft, &ld, err, errlen) == -1) {
		free(rules);
		return -1;
	}
	r = nftswitch_load_finish(&ld, sc->nft, rules, len, err, errlen);
	free(rules);
	return r;
}
