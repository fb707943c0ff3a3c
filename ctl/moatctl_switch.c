/*
 * moatctl switch: the front-end switch's nftables table (common/nftswitch.h).
 *
 *   render   prints the ruleset built from the store and the switch group;
 *   apply    loads it with `nft -f -` (one transaction that replaces the
 *            table), after billing the old table's counters, and records a
 *            switch.applied event;
 *   diff     shows what apply would change: the loaded table against the
 *            rendered one as nft lists it (loaded into a throwaway network
 *            namespace, `unshare -n`), both normalised (counter values,
 *            element timeouts and expiries, the flood meters' entries are
 *            state, not rules), as a unified diff;
 *   collect  reads the table's named counters and adds what each grew since
 *            the last collect (switch_counters) to usage.net_bytes of the
 *            subscriber, the day (UTC) of the collect and the direction.
 *
 * Privileges: nft needs CAP_NET_ADMIN, and moatctl run as root becomes the
 * store's owner when it opens the store (ctl_open).  So every nft process is
 * started before the store is opened: the ones that only read are read to
 * their end first; `nft -f -` waits on a pipe for the ruleset.
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

#include <jansson.h>

#include "event_kinds.h"
#include "fdio.h"
#include "events.h"
#include "moatctl.h"
#include "nftswitch.h"

static const char switch_usage[] =
    "usage: moatctl switch render | apply | diff | collect\n";

/* A child process and our ends of its pipes (-1: none). */
struct switch_proc {
	pid_t   pid;
	int     in, out;
};

static int
switch_spawn(char *const argv[], struct switch_proc *p, int want_in, int want_out)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 };

	p->pid = -1;
	p->in = p->out = -1;
	if ((want_in && pipe2(pin, O_CLOEXEC) == -1) ||
	    (want_out && pipe2(pout, O_CLOEXEC) == -1))
		goto fail;
	if ((p->pid = fork()) == -1)
		goto fail;
	if (p->pid == 0) {
		if ((want_in && dup2(pin[0], 0) == -1) || (want_out && dup2(pout[1], 1) == -1))
			_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "moatctl: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (want_in) {
		close(pin[0]);
		p->in = pin[1];
	}
	if (want_out) {
		close(pout[1]);
		p->out = pout[0];
	}
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (pin[i] != -1)
			close(pin[i]);
		if (pout[i] != -1)
			close(pout[i]);
	}
	return ctl_err("cannot run %s: %s", argv[0], strerror(errno));
}

/* Closes our pipe ends and reaps the child: its exit status, or -1. */
static int
switch_wait(struct switch_proc *p)
{
	int ws;

	if (p->in != -1)
		close(p->in);
	if (p->out != -1)
		close(p->out);
	p->in = p->out = -1;
	if (p->pid <= 0)
		return -1;
	while (waitpid(p->pid, &ws, 0) == -1)
		if (errno != EINTR)
			return -1;
	p->pid = -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* Reads fd to its end into a NUL-terminated buffer (caller frees); NULL
 * on error or past 64 MiB. */
static char *
switch_slurp(int fd, size_t *lenp)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t r;

	for (;;) {
		if (cap - len < 4096) {
			if (cap > (64u << 20) || (nb = realloc(buf, cap = cap ? cap * 2 : 65536)) == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		if ((r = read(fd, buf + len, cap - len - 1)) == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

/* Runs argv to its end and returns its standard output (NULL when it
 * failed; *status its exit status). */
static char *
switch_capture(char *const argv[], int *status)
{
	struct switch_proc p;
	char *out;

	if (switch_spawn(argv, &p, 0, 1) != 0)
		return NULL;
	out = switch_slurp(p.out, NULL);
	*status = switch_wait(&p);
	if (*status != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int
switch_conf(struct ctl *ctl, struct switch_conf *sc)
{
	const struct cfg_group *groups[] = { &switch_cfg_group };
	void *vals[] = { sc };
	const char *path = ctl->conf_path;
	char err[1024];

	memset(sc, 0, sizeof(*sc));
	/* No config file: the group's defaults (no decoys: sets, flood guard
	 * and counters only). */
	if (!ctl->conf_explicit && access(path, F_OK) == -1)
		path = "/dev/null";
	if (config_load(path, groups, vals, 1, err, sizeof(err)) == -1)
		return ctl_err("%s", err);
	return 0;
}

static void
switch_warn(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "moatctl: warning: %s\n", msg);
}

/* Renders into a malloc'd buffer (caller frees).  0, or 1 (printed). */
static int
switch_render_buf(struct ctl *ctl, const struct switch_conf *sc, char **buf, size_t *len,
    struct nftswitch_stats *sx)
{
	struct nftswitch_ctx cx = { .conf = sc, .now = time(NULL), .warn = switch_warn };
	FILE *fp;
	int r;

	*buf = NULL;
	if ((fp = open_memstream(buf, len)) == NULL)
		return ctl_err("out of memory");
	r = nftswitch_render(ctl->st, &cx, fp, sx);
	if (fclose(fp) == EOF || r == -1) {
		free(*buf);
		*buf = NULL;
		return store_kind(ctl->st) != STORE_OK ? ctl_sqlerr(ctl) :
		    ctl_err("cannot render the switch's ruleset");
	}
	return 0;
}

static int
switch_render(struct ctl *ctl, const struct switch_conf *sc)
{
	char *buf;
	size_t len;

	if (ctl_open(ctl, 0) != 0 || switch_render_buf(ctl, sc, &buf, &len, NULL) != 0)
		return 1;
	fwrite(buf, 1, len, stdout);
	free(buf);
	return 0;
}

/* --- collect ------------------------------------------------------------ */

static const char sql_last[] = "SELECT bytes FROM switch_counters WHERE name = ?1";
static const char sql_state[] =
    "INSERT INTO switch_counters(name, packets, bytes, updated) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT(name) DO UPDATE SET packets = excluded.packets, bytes = excluded.bytes, "
    " updated = excluded.updated";
static const char sql_bill[] =
    "INSERT INTO usage(day, subscriber_id, direction, net_bytes) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT(day, subscriber_id, direction) DO UPDATE SET "
    " net_bytes = net_bytes + excluded.net_bytes";
/* Rows of counters the table no longer has (a network removed or moved to
 * another subscriber): every counter read was just stamped with now. */
static const char sql_prune[] = "DELETE FROM switch_counters WHERE updated < ?1";
static const char sql_zero[] = "UPDATE switch_counters SET packets = 0, bytes = 0, updated = ?1";

/*
 * Bills the counters of nft's JSON (`nft -j list counters table ...`) inside
 * the caller's transaction.  nft's output is trusted no more than it must
 * be: only counters named as the switch names them, integers >= 0.
 * Returns 0 with the number of counters and bytes billed, or 1 (printed).
 */
static int
switch_bill(struct ctl *ctl, const char *json, const char *table, int *ncounters,
    long long *nbytes)
{
	json_error_t je;
	json_t *root, *arr, *it;
	sqlite3_stmt *q;
	char day[16];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	int status = 1;

	*ncounters = 0;
	*nbytes = 0;
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	if ((root = json_loads(json, 0, &je)) == NULL)
		return ctl_err("nft's counters: not JSON: %s", je.text);
	if (!json_is_array(arr = json_object_get(root, "nftables"))) {
		ctl_err("nft's counters: no \"nftables\" array");
		goto done;
	}
	json_array_foreach(arr, i, it) {
		json_t *c = json_object_get(it, "counter");
		const char *name, *tbl;
		json_int_t bytes, packets;
		long long sub, last = 0, delta;
		int in, r;

		if (!json_is_object(c))
			continue;
		name = json_string_value(json_object_get(c, "name"));
		tbl = json_string_value(json_object_get(c, "table"));
		if (name == NULL || tbl == NULL || strcmp(tbl, table) != 0 || strlen(name) > 128 ||
		    !nftswitch_counter_parse(name, &sub, &in) ||
		    !json_is_integer(json_object_get(c, "bytes")) ||
		    !json_is_integer(json_object_get(c, "packets")))
			continue;
		bytes = json_integer_value(json_object_get(c, "bytes"));
		packets = json_integer_value(json_object_get(c, "packets"));
		if (bytes < 0 || packets < 0)
			continue;
		if ((q = store_prepare(ctl->st, sql_last)) == NULL)
			goto sqlerr;
		sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
		if ((r = store_step(ctl->st, q, "switch counter")) == STORE_STEP_ERROR)
			goto sqlerr;
		if (r == STORE_STEP_ROW) {
			last = sqlite3_column_int64(q, 0);
			sqlite3_reset(q);
		}
		/* A counter below its last reading was reset (the table was
		 * reloaded without apply's billing): all of it is new. */
		delta = bytes >= last ? bytes - last : bytes;
		if ((q = store_prepare(ctl->st, sql_state)) == NULL)
			goto sqlerr;
		sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 2, packets);
		sqlite3_bind_int64(q, 3, bytes);
		sqlite3_bind_int64(q, 4, (sqlite3_int64)now);
		if (store_run_stmt(ctl->st, q, "switch counter") == -1)
			goto sqlerr;
		if (delta > 0) {
			if ((q = store_prepare(ctl->st, sql_bill)) == NULL)
				goto sqlerr;
			sqlite3_bind_text(q, 1, day, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(q, 2, sub);
			sqlite3_bind_text(q, 3, in ? "in" : "out", -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 4, delta);
			if (store_run_stmt(ctl->st, q, "switch usage") == -1)
				goto sqlerr;
		}
		(*ncounters)++;
		*nbytes += delta;
	}
	if ((q = store_prepare(ctl->st, sql_prune)) == NULL)
		goto sqlerr;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)now);
	if (store_run_stmt(ctl->st, q, "switch counters") == -1)
		goto sqlerr;
	status = 0;
	goto done;
sqlerr:
	status = ctl_sqlerr(ctl);
done:
	json_decref(root);
	return status;
}

static int
switch_collect(struct ctl *ctl, const struct switch_conf *sc)
{
	char *argv[] = { sc->nft, "-j", "list", "counters", "table", "inet", sc->table, NULL };
	char *json;
	long long bytes;
	int n, st;

	if ((json = switch_capture(argv, &st)) == NULL)
		return ctl_err("%s list counters table inet %s failed (exit %d): is the "
		    "switch applied?", sc->nft, sc->table, st);
	if (ctl_open(ctl, 0) != 0 || ctl_begin(ctl) != 0) {
		free(json);
		return 1;
	}
	st = ctl_end(ctl, switch_bill(ctl, json, sc->table, &n, &bytes));
	free(json);
	if (st == 0)
		ctl_say(ctl, "collected %d counters: %lld bytes", n, bytes);
	return st;
}

/* --- apply -------------------------------------------------------------- */

static const char sql_event[] =
    "INSERT INTO events(ts, daemon, kind, severity, detail_json) VALUES (?1, 'moatctl', ?2, 1, ?3)";

static int
switch_apply(struct ctl *ctl, const struct switch_conf *sc)
{
	char *cargv[] = { sc->nft, "-j", "list", "counters", "table", "inet", sc->table, NULL };
	struct nftswitch_stats sx;
	struct nftswitch_load ld;
	struct jbuf j;
	char *counters, *rules = NULL, detail[512], err[512];
	size_t len = 0;
	sqlite3_stmt *q;
	long long bytes;
	int st, n, status = 1;

	/* The old table's counters, billed once the new one is loaded (its
	 * counters start at zero).  No table yet: nothing to bill.  nft runs
	 * before the store is opened (common/nftswitch_apply.c's two steps,
	 * which moat-secmgr runs too). */
	counters = switch_capture(cargv, &st);
	if (nftswitch_load_start(sc->nft, &ld, err, sizeof(err)) == -1) {
		free(counters);
		return ctl_err("%s", err);
	}
	if (ctl_open(ctl, 0) != 0 || switch_render_buf(ctl, sc, &rules, &len, &sx) != 0) {
		/* an empty ruleset: nft loads nothing */
		nftswitch_load_finish(&ld, sc->nft, NULL, 0, err, sizeof(err));
		goto done;
	}
	if (nftswitch_load_finish(&ld, sc->nft, rules, len, err, sizeof(err)) == -1) {
		ctl_err("%s (see moatctl switch render)", err);
		goto done;
	}
	jbuf_init(&j, detail, sizeof(detail));
	jbuf_str(&j, "table", sc->table);
	jbuf_int(&j, "threats4", sx.threats4);
	jbuf_int(&j, "threats6", sx.threats6);
	jbuf_int(&j, "names", sx.names);
	jbuf_int(&j, "names_failed", sx.names_failed);
	jbuf_int(&j, "services", sx.services);
	jbuf_int(&j, "networks", sx.networks);
	jbuf_int(&j, "skipped", sx.skipped);
	if (ctl_begin(ctl) != 0)
		goto done;
	status = 0;
	if (counters != NULL)
		status = switch_bill(ctl, counters, sc->table, &n, &bytes);
	if (status == 0 && ((q = store_prepare(ctl->st, sql_zero)) == NULL ||
	    (sqlite3_bind_int64(q, 1, (sqlite3_int64)time(NULL)),
	    store_run_stmt(ctl->st, q, "switch counters")) == -1))
		status = ctl_sqlerr(ctl);
	if (status == 0 && ((q = store_prepare(ctl->st, sql_event)) == NULL ||
	    (sqlite3_bind_int64(q, 1, (sqlite3_int64)time(NULL)),
	    sqlite3_bind_text(q, 2, EV_SWITCH_APPLIED, -1, SQLITE_STATIC),
	    sqlite3_bind_text(q, 3, jbuf_end(&j), -1, SQLITE_TRANSIENT),
	    store_run_stmt(ctl->st, q, "switch event")) == -1))
		status = ctl_sqlerr(ctl);
	if ((status = ctl_end(ctl, status)) != 0)
		ctl_err("the table is loaded, but its old counters were not billed");
	else
		ctl_say(ctl, "applied table inet %s: %d+%d threat elements, %d services, "
		    "%d networks, %d rows skipped", sc->table, sx.threats4, sx.threats6,
		    sx.services, sx.networks, sx.skipped);
done:
	free(counters);
	free(rules);
	return status;
}

/* --- diff --------------------------------------------------------------- */

/*
 * What a listing says about rules, not state: counter values, element
 * timeouts and expiries, and the flood meters' entries are dropped.
 */
static void
switch_normalise(const char *text, FILE *out)
{
	const char *p = text, *nl;
	int in_flood = 0, in_counter = 0;
	char line[4096];

	for (; *p != '\0'; p = nl + (*nl != '\0')) {
		size_t n;
		char *t;

		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		n = (size_t)(nl - p);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		if (strncmp(line, "\tset flood", 10) == 0)
			in_flood = 1;
		if (strncmp(line, "\tcounter ", 9) == 0)
			in_counter = 1;
		if (strcmp(line, "\t}") == 0)
			in_flood = in_counter = 0;
		if (in_counter && strstr(line, "packets ") != NULL)
			continue;
		if (in_flood && strncmp(line, "\t\ttype", 6) != 0 && strncmp(line, "\t\tsize", 6) != 0 &&
		    strncmp(line, "\t\tflags", 7) != 0 && strncmp(line, "\t\ttimeout", 9) != 0 &&
		    strncmp(line, "\tset", 4) != 0)
			continue;
		if (line[0] == '\0')
			continue;
		/* " timeout X" and " expires X" inside element lists. */
		while ((t = strstr(line, " expires ")) != NULL || (strncmp(line, "\t\ttimeout", 9) != 0 &&
		    (t = strstr(line, " timeout ")) != NULL)) {
			char *end = t + 9;

			end += strcspn(end, ",} ");
			memmove(t, end, strlen(end) + 1);
		}
		fprintf(out, "%s\n", line);
	}
}

static int
switch_diff(struct ctl *ctl, const struct switch_conf *sc)
{
	char *largv[] = { sc->nft, "list", "table", "inet", sc->table, NULL };
	char *sargv[] = { "/usr/bin/unshare", "-n", "/bin/sh", "-c",
	    "\"$0\" -f - && \"$0\" list table inet \"$1\"", sc->nft, sc->table, NULL };
	char dir[] = "/tmp/moatctl-switch.XXXXXX", a[64], b[64];
	char *loaded, *rules = NULL, *rendered = NULL;
	struct switch_proc scratch;
	size_t len;
	FILE *fa = NULL, *fb = NULL;
	int st, status = 1, w;

	if ((loaded = switch_capture(largv, &st)) == NULL)
		loaded = strdup("");   /* no table loaded: everything is new */
	if (loaded == NULL || switch_spawn(sargv, &scratch, 1, 1) != 0) {
		free(loaded);
		return 1;
	}
	if (ctl_open(ctl, 0) != 0 || switch_render_buf(ctl, sc, &rules, &len, NULL) != 0)
		goto done;
	/* nft reads the whole ruleset before it lists anything. */
	w = fdio_write_all(scratch.in, rules, len);
	close(scratch.in);
	scratch.in = -1;
	rendered = switch_slurp(scratch.out, NULL);
	if ((st = switch_wait(&scratch)) != 0 || w == -1 || rendered == NULL) {
		ctl_err("the rendered ruleset did not load in a scratch namespace "
		    "(unshare -n %s -f -: exit %d)", sc->nft, st);
		goto done;
	}
	if (mkdtemp(dir) == NULL) {
		ctl_err("mkdtemp: %s", strerror(errno));
		goto done;
	}
	snprintf(a, sizeof(a), "%s/loaded", dir);
	snprintf(b, sizeof(b), "%s/rendered", dir);
	if ((fa = fopen(a, "w")) == NULL || (fb = fopen(b, "w")) == NULL) {
		ctl_err("%s: %s", dir, strerror(errno));
		goto cleanup;
	}
	switch_normalise(loaded, fa);
	switch_normalise(rendered, fb);
	if (fclose(fa) == EOF || fclose(fb) == EOF) {
		fa = fb = NULL;
		ctl_err("%s: %s", dir, strerror(errno));
		goto cleanup;
	}
	fa = fb = NULL;
	fflush(stdout);
	{
		char *dargv[] = { "/usr/bin/diff", "-u", "--label", "loaded", "--label",
		    "rendered", a, b, NULL };
		struct switch_proc d;

		if (switch_spawn(dargv, &d, 0, 0) != 0)
			goto cleanup;
		st = switch_wait(&d);
		if (st == 0)
			ctl_say(ctl, "no change");
		status = st == 0 || st == 1 ? 0 : ctl_err("diff failed (exit %d)", st);
	}
cleanup:
	if (fa != NULL)
		fclose(fa);
	if (fb != NULL)
		fclose(fb);
	unlink(a);
	unlink(b);
	rmdir(dir);
done:
	if (scratch.pid > 0)
		switch_wait(&scratch);
	free(loaded);
	free(rules);
	free(rendered);
	return status;
}

int
moatctl_switch(struct ctl *ctl, int argc, char **argv)
{
	struct switch_conf sc;
	int status;

	if (argc != 1)
		return ctl_usage(switch_usage);
	if (switch_conf(ctl, &sc) != 0)
		return 1;
	if (strcmp(argv[0], "render") == 0)
		status = switch_render(ctl, &sc);
	else if (strcmp(argv[0], "apply") == 0)
		status = switch_apply(ctl, &sc);
	else if (strcmp(argv[0], "diff") == 0)
		status = switch_diff(ctl, &sc);
	else if (strcmp(argv[0], "collect") == 0)
		status = switch_collect(ctl, &sc);
	else
		status = ctl_usage(switch_usage);
	config_free_values(&switch_cfg_group, &sc);
	return status;
}
