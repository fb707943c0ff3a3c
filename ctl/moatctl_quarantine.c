/*
 * moatctl quarantine - the operator's side of moat-quarantined's API
 * (common/qclient.h).  No SQL here: everything goes through the daemon, which
 * owns the quarantine rows and spool files and enforces release/purge rules.
 *
 * The endpoint is --endpoint, else the config's quarantined.socket
 * ("unix:" + path).  A token (--token, or MOAT_QUARANTINE_TOKEN) is sent as
 * a bearer token, for TCP endpoints.
 *
 * Owner: engineer "quarantine".  Trusts the daemon's replies only as JSON
 * to print; raw message bytes go to stdout untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "moatctl.h"
#include "qclient.h"
#include "quarantined_conf.h"

#define QCTL_TIMEOUT_MS 600000     /* rescans of a large spool take a while */

static const char quarantine_usage[] =
    "usage: moatctl quarantine [--endpoint unix:/PATH|https://HOST:PORT] [--token T] COMMAND\n"
    "  list [--subscriber ID] [--status held|released|deleted] [--since T] [--until T]\n"
    "       [--virus TEXT] [--sender TEXT] [--recipient TEXT] [--limit N] [--offset N] [--json]\n"
    "  show ID | raw ID | delete ID\n"
    "  release ID [--to ADDR]...\n"
    "  rescan | purge | digest\n"
    "  (T: unix seconds or YYYY-MM-DD)\n";

struct qctl {
	struct ctl  *ctl;
	const char  *endpoint;
	const char  *token;
	char        *owned;        /* endpoint built from the config */
};

/* The endpoint from the config's quarantined group.  0 or 1 (printed). */
static int
qctl_endpoint(struct qctl *q)
{
	const struct cfg_group *groups[] = { &common_cfg_group, &quarantined_cfg_group };
	struct common_conf cc;
	struct quarantined_conf qc;
	void *vals[] = { &cc, &qc };
	char err[1024];

	if (q->endpoint != NULL)
		return 0;
	if (q->ctl->endpoint != NULL) {
		q->endpoint = q->ctl->endpoint;
		return 0;
	}
	memset(&cc, 0, sizeof(cc));
	memset(&qc, 0, sizeof(qc));
	if (access(q->ctl->conf_path, F_OK) == -1 && !q->ctl->conf_explicit)
		return ctl_err("no quarantine endpoint: use --endpoint or a config (-c) "
		    "with quarantined.socket");
	if (config_load(q->ctl->conf_path, groups, vals, 2, err, sizeof(err)) == -1)
		return ctl_err("%s", err);
	if (asprintf(&q->owned, "unix:%s", qc.socket) == -1)
		q->owned = NULL;
	config_free_values(&common_cfg_group, &cc);
	config_free_values(&quarantined_cfg_group, &qc);
	if (q->owned == NULL)
		return ctl_err("out of memory");
	q->endpoint = q->owned;
	return 0;
}

/* One request; prints the server's error.  Returns 0 with *resp (caller
 * frees), or 1. */
static int
qctl_call(struct qctl *q, const char *method, const char *path, const char *body,
    long want, char **resp, size_t *resplen)
{
	char err[512];
	long status;
	json_t *o;

	*resp = NULL;
	if (qctl_endpoint(q) != 0)
		return 1;
	if (qclient_request(q->endpoint, q->token, method, path, body,
	    body != NULL ? strlen(body) : 0, body != NULL ? "application/json" : NULL,
	    QCTL_TIMEOUT_MS, &status, resp, resplen, err, sizeof(err)) == -1)
		return ctl_err("%s", err);
	if (status == want)
		return 0;
	o = json_loads(*resp, 0, NULL);
	ctl_err("%s %s: HTTP %ld: %s", method, path, status,
	    json_string_value(json_object_get(o, QJ_ERROR)) != NULL ?
	    json_string_value(json_object_get(o, QJ_ERROR)) : *resp);
	json_decref(o);
	free(*resp);
	*resp = NULL;
	return 1;
}

static int
qctl_id(const char *s, long long *id)
{
	char *end;

	if (s == NULL || *s < '1' || *s > '9')
		return -1;
	*id = strtoll(s, &end, 10);
	return *end == '\0' && *id > 0 ? 0 : -1;
}

/* Prints a JSON array of strings joined by commas. */
static void
qctl_join(json_t *a, char *out, size_t len)
{
	size_t i, used = 0;
	json_t *v;

	out[0] = '\0';
	json_array_foreach(a, i, v) {
		int n = snprintf(out + used, len - used, "%s%s", i > 0 ? "," : "",
		    json_string_value(v) != NULL ? json_string_value(v) : "?");
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

static int
qctl_list(struct qctl *q, int argc, char **argv)
{
	static const char *const keys[] = { QLIST_SUBSCRIBER, QLIST_STATUS,
	    QLIST_SINCE, QLIST_UNTIL, QLIST_VIRUS, QLIST_SENDER, QLIST_RECIPIENT,
	    QLIST_LIMIT, QLIST_OFFSET, NULL };
	char path[4096] = QUARANTINE_API_PREFIX QPATH_ITEMS, *resp;
	size_t used = strlen(path);
	int as_json = 0, first = 1, rc;
	json_t *o, *items, *it;
	CURL *esc = curl_easy_init();
	size_t i;

	if (esc == NULL)
		return ctl_err("out of memory");
	for (int a = 0; a < argc; a++) {
		const char *k = argv[a];
		int known = 0;
		if (strcmp(k, "--json") == 0) {
			as_json = 1;
			continue;
		}
		for (int j = 0; keys[j] != NULL && strncmp(k, "--", 2) == 0; j++)
			if (strcmp(k + 2, keys[j]) == 0 && a + 1 < argc) {
				char *e = curl_easy_escape(esc, argv[++a], 0);
				int n = snprintf(path + used, sizeof(path) - used, "%c%s=%s",
				    first ? '?' : '&', keys[j], e != NULL ? e : "");
				curl_free(e);
				if (n < 0 || (size_t)n >= sizeof(path) - used) {
					curl_easy_cleanup(esc);
					return ctl_err("filters too long");
				}
				used += (size_t)n;
				first = 0;
				known = 1;
				break;
			}
		if (!known) {
			curl_easy_cleanup(esc);
			return ctl_usage(quarantine_usage);
		}
	}
	curl_easy_cleanup(esc);
	if ((rc = qctl_call(q, "GET", path, NULL, 200, &resp, NULL)) != 0)
		return rc;
	if (as_json) {
		printf("%s\n", resp);
		free(resp);
		return 0;
	}
	o = json_loads(resp, 0, NULL);
	free(resp);
	if ((items = json_object_get(o, QJ_ITEMS)) == NULL) {
		json_decref(o);
		return ctl_err("unexpected reply from the quarantine");
	}
	printf("%-6s %-16s %-8s %-4s %-28s %-28s %-24s %s\n", "ID", "RECEIVED", "STATUS",
	    "SUB", "SENDER", "RECIPIENTS", "VIRUSES", "SIZE");
	json_array_foreach(items, i, it) {
		char when[32] = "-", rcpts[256], viruses[256];
		time_t t = (time_t)json_integer_value(json_object_get(it, QJ_RECEIVED));
		struct tm tm;
		const char *sender = json_string_value(json_object_get(it, QJ_SENDER));
		if (gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
		qctl_join(json_object_get(it, QJ_RECIPIENTS), rcpts, sizeof(rcpts));
		qctl_join(json_object_get(it, QJ_VIRUSES), viruses, sizeof(viruses));
		/* The subscriber, "-" for recipients of none (operators only);
		 * a hold other than 'virus' is released by an operator only. */
		const char *hold = json_string_value(json_object_get(it, QJ_HOLD));
		char sub[24] = "-";
		if (json_integer_value(json_object_get(it, QJ_SUBSCRIBER_ID)) > 0)
			snprintf(sub, sizeof(sub), "%lld",
			    (long long)json_integer_value(json_object_get(it, QJ_SUBSCRIBER_ID)));
		printf("%-6lld %-16s %-8s %-4s %-28s %-28s %-24s %lld%s%s%s\n",
		    (long long)json_integer_value(json_object_get(it, QJ_ID)), when,
		    json_string_value(json_object_get(it, QJ_STATUS)), sub,
		    sender != NULL && *sender ? sender : "<>", rcpts, viruses,
		    (long long)json_integer_value(json_object_get(it, QJ_SIZE)),
		    json_integer_value(json_object_get(it, QJ_FP_CANDIDATE)) ? " fp?" : "",
		    hold != NULL && strcmp(hold, QHOLD_VIRUS) != 0 ? " hold=" : "",
		    hold != NULL && strcmp(hold, QHOLD_VIRUS) != 0 ? hold : "");
	}
	if (!q->ctl->quiet)
		printf("(%zu of %lld)\n", json_array_size(items),
		    (long long)json_integer_value(json_object_get(o, QJ_TOTAL)));
	json_decref(o);
	return 0;
}

static int
qctl_release(struct qctl *q, long long id, int argc, char **argv)
{
	json_t *body = json_object(), *to = json_array(), *o;
	char path[64], *text, *resp;
	const char *who = getenv("SUDO_USER") != NULL ? getenv("SUDO_USER") : getenv("USER");
	int rc;

	if (body == NULL || to == NULL)
		return ctl_err("out of memory");
	for (int a = 0; a < argc; a++) {
		if (strcmp(argv[a], "--to") != 0 || a + 1 >= argc) {
			json_decref(body);
			json_decref(to);
			return ctl_usage(quarantine_usage);
		}
		json_array_append_new(to, json_string(argv[++a]));
	}
	if (json_array_size(to) > 0)
		json_object_set(body, QJ_RECIPIENTS, to);
	json_decref(to);
	if (who != NULL && *who != '\0')
		json_object_set_new(body, QJ_BY, json_string(who));
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	snprintf(path, sizeof(path), QUARANTINE_API_PREFIX QPATH_ITEMS "/%lld/"
	    QPATH_RELEASE, id);
	rc = qctl_call(q, "POST", path, text, 200, &resp, NULL);
	free(text);
	if (rc != 0)
		return rc;
	o = json_loads(resp, 0, NULL);
	ctl_say(q->ctl, "released item %lld: %s", id,
	    json_string_value(json_object_get(o, QJ_REPLY)) != NULL ?
	    json_string_value(json_object_get(o, QJ_REPLY)) : resp);
	json_decref(o);
	free(resp);
	return 0;
}

static int
qctl_run(struct qctl *q, int argc, char **argv)
{
	const char *cmd = argv[0];
	char path[64], *resp;
	size_t len;
	long long id = 0;
	int rc;

	if (strcmp(cmd, "list") == 0)
		return qctl_list(q, argc - 1, argv + 1);
	if (strcmp(cmd, "rescan") == 0 || strcmp(cmd, "purge") == 0 ||
	    strcmp(cmd, "digest") == 0) {
		if (argc != 1)
			return ctl_usage(quarantine_usage);
		snprintf(path, sizeof(path), QUARANTINE_API_PREFIX "%s",
		    strcmp(cmd, "digest") == 0 ? QPATH_DIGESTS :
		    strcmp(cmd, "purge") == 0 ? QPATH_PURGE : QPATH_RESCAN);
		if ((rc = qctl_call(q, "POST", path, "", 200, &resp, NULL)) != 0)
			return rc;
		printf("%s\n", resp);
		free(resp);
		return 0;
	}
	if (argc < 2 || qctl_id(argv[1], &id) == -1)
		return ctl_usage(quarantine_usage);
	if (strcmp(cmd, "release") == 0)
		return qctl_release(q, id, argc - 2, argv + 2);
	if (argc != 2)
		return ctl_usage(quarantine_usage);
	if (strcmp(cmd, "show") == 0) {
		snprintf(path, sizeof(path), QUARANTINE_API_PREFIX QPATH_ITEMS "/%lld", id);
		if ((rc = qctl_call(q, "GET", path, NULL, 200, &resp, NULL)) != 0)
			return rc;
		json_t *o = json_loads(resp, 0, NULL);
		char *pretty = o != NULL ? json_dumps(o, JSON_INDENT(2)) : NULL;
		printf("%s\n", pretty != NULL ? pretty : resp);
		free(pretty);
		json_decref(o);
		free(resp);
		return 0;
	}
	if (strcmp(cmd, "raw") == 0) {
		snprintf(path, sizeof(path), QUARANTINE_API_PREFIX QPATH_ITEMS "/%lld/"
		    QPATH_RAW, id);
		if ((rc = qctl_call(q, "GET", path, NULL, 200, &resp, &len)) != 0)
			return rc;
		rc = fwrite(resp, 1, len, stdout) == len ? 0 : ctl_err("stdout: write failed");
		free(resp);
		return rc;
	}
	if (strcmp(cmd, "delete") == 0) {
		snprintf(path, sizeof(path), QUARANTINE_API_PREFIX QPATH_ITEMS "/%lld", id);
		if ((rc = qctl_call(q, "DELETE", path, NULL, 200, &resp, NULL)) != 0)
			return rc;
		ctl_say(q->ctl, "deleted item %lld", id);
		free(resp);
		return 0;
	}
	return ctl_usage(quarantine_usage);
}

int
moatctl_quarantine(struct ctl *ctl, int argc, char **argv)
{
	struct qctl q = { ctl, NULL, getenv("MOAT_QUARANTINE_TOKEN"), NULL };
	int rc;

	while (argc >= 2 && strncmp(argv[0], "--", 2) == 0) {
		if (strcmp(argv[0], "--endpoint") == 0)
			q.endpoint = argv[1];
		else if (strcmp(argv[0], "--token") == 0)
			q.token = argv[1];
		else
			break;
		argc -= 2;
		argv += 2;
	}
	if (argc < 1)
		return ctl_usage(quarantine_usage);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = qctl_run(&q, argc, argv);
	free(q.owned);
	curl_global_cleanup();
	return rc;
}
