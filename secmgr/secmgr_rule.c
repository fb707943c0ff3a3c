/* secmgr_rule - a correlation rule's JSON, parsed and checked (secmgr_rule.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "secmgr_rule.h"
#include "units.h"

#define JSON_MAX 8192                   /* params_json / response_json bytes */

static const char *const rule_kind_names[] = { "threshold", "multi", "sequence", NULL };
static const char *const rule_key_names[] = { "src_ip", "src_net", "subscriber",
	"sender_domain", NULL };

const char *
secmgr_rule_kind_name(enum secmgr_rule_kind k)
{
	return rule_kind_names[k];
}

const char *
secmgr_key_name(enum secmgr_key k)
{
	return rule_key_names[k];
}

static int
rule_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
rule_lookup(const char *const *names, const char *s)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* An event kind's name: 1..63 of [a-z0-9_.-], as event_kinds.h spells them. */
static int
rule_kind_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= SECMGR_KIND_LEN)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* A duration member: a string "10m" (units.h) or whole seconds. */
static int
rule_duration(json_t *v, const char *what, long long max, long long *out, char *err,
    size_t errlen)
{
	long long d;

	if (json_is_string(v)) {
		if (parse_duration(json_string_value(v), &d) == -1)
			return rule_err(err, errlen, "%s: \"%.32s\" is not a duration "
			    "(\"30s\", \"10m\", \"1h\", \"1d\")", what, json_string_value(v));
	} else if (json_is_integer(v))
		d = json_integer_value(v);
	else
		return rule_err(err, errlen, "%s: expected a duration", what);
	if (d < 1 || d > max)
		return rule_err(err, errlen, "%s: %lld s is out of range (1 s to %lld s)",
		    what, d, max);
	*out = d;
	return 0;
}

static int
rule_int(json_t *v, const char *what, int min, int max, int *out, char *err, size_t errlen)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return rule_err(err, errlen, "%s: expected an integer from %d to %d", what,
		    min, max);
	*out = (int)json_integer_value(v);
	return 0;
}

static int
rule_bool(json_t *v, const char *what, int *out, char *err, size_t errlen)
{
	if (!json_is_boolean(v))
		return rule_err(err, errlen, "%s: expected true or false", what);
	*out = json_is_true(v);
	return 0;
}

/* An array of distinct event kinds into r->kinds. */
static int
rule_kinds(json_t *v, const char *what, int min, int max, struct secmgr_rule *r,
    char *err, size_t errlen)
{
	size_t i, j;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) < (size_t)min ||
	    json_array_size(v) > (size_t)max)
		return rule_err(err, errlen, "%s: expected an array of %d to %d event kinds",
		    what, min, max);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || !rule_kind_ok(json_string_value(e)))
			return rule_err(err, errlen, "%s[%zu]: not an event kind (1 to %d "
			    "characters of a-z 0-9 _ . -)", what, i, SECMGR_KIND_LEN - 1);
		for (j = 0; j < i; j++)
			if (strcmp(r->kinds[j], json_string_value(e)) == 0)
				return rule_err(err, errlen, "%s: \"%s\" twice", what,
				    r->kinds[j]);
		snprintf(r->kinds[i], SECMGR_KIND_LEN, "%s", json_string_value(e));
	}
	r->nkinds = (int)json_array_size(v);
	return 0;
}

/* Refuses members not in allowed (NULL-terminated). */
static int
rule_members(json_t *o, const char *what, const char *const *allowed, char *err,
    size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		if (rule_lookup(allowed, k) == -1)
			return rule_err(err, errlen, "%s: unknown member \"%.32s\"", what, k);
	}
	return 0;
}

static json_t *
rule_load(const char *text, const char *what, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o;

	if (text == NULL || strlen(text) > JSON_MAX) {
		rule_err(err, errlen, "%s: missing or longer than %d bytes", what, JSON_MAX);
		return NULL;
	}
	if ((o = json_loads(text, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		rule_err(err, errlen, "%s: not JSON: %s (column %d)", what, je.text, je.column);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		rule_err(err, errlen, "%s: expected a JSON object", what);
		return NULL;
	}
	return o;
}

static int
rule_params(json_t *p, struct secmgr_rule *r, char *err, size_t errlen)
{
	static const char *const thr[] = { "kinds", "key", "count", "window", NULL };
	static const char *const mul[] = { "kinds", "key", "min_kinds", "min_daemons",
		"window", NULL };
	static const char *const seq[] = { "steps", "key", "window", NULL };
	static const char *const *const allowed[] = { thr, mul, seq };
	json_t *v;
	int k;

	if (rule_members(p, "params", allowed[r->kind], err, errlen) == -1)
		return -1;
	if (!json_is_string(v = json_object_get(p, "key")) ||
	    (k = rule_lookup(rule_key_names, json_string_value(v))) == -1)
		return rule_err(err, errlen, "params.key: expected one of src_ip, src_net, "
		    "subscriber, sender_domain");
	r->key = (enum secmgr_key)k;
	if (rule_duration(json_object_get(p, "window"), "params.window", SECMGR_MAX_WINDOW,
	    &r->window, err, errlen) == -1)
		return -1;
	switch (r->kind) {
	case SECMGR_THRESHOLD:
		if (rule_kinds(json_object_get(p, "kinds"), "params.kinds", 1,
		    SECMGR_MAX_KINDS, r, err, errlen) == -1 ||
		    rule_int(json_object_get(p, "count"), "params.count", 1, SECMGR_MAX_COUNT,
		    &r->count, err, errlen) == -1)
			return -1;
		break;
	case SECMGR_MULTI:
		if ((v = json_object_get(p, "kinds")) != NULL &&
		    rule_kinds(v, "params.kinds", 1, SECMGR_MAX_KINDS, r, err, errlen) == -1)
			return -1;
		if ((json_object_get(p, "min_kinds") != NULL) ==
		    (json_object_get(p, "min_daemons") != NULL))
			return rule_err(err, errlen, "params: exactly one of min_kinds and "
			    "min_daemons");
		if ((v = json_object_get(p, "min_kinds")) != NULL &&
		    rule_int(v, "params.min_kinds", 2, SECMGR_MAX_M, &r->min_kinds, err,
		    errlen) == -1)
			return -1;
		if ((v = json_object_get(p, "min_daemons")) != NULL &&
		    rule_int(v, "params.min_daemons", 2, SECMGR_MAX_M, &r->min_daemons, err,
		    errlen) == -1)
			return -1;
		if (r->min_kinds > 0 && r->nkinds > 0 && r->min_kinds > r->nkinds)
			return rule_err(err, errlen, "params.min_kinds: %d, but only %d kinds "
			    "count", r->min_kinds, r->nkinds);
		break;
	case SECMGR_SEQUENCE:
		if (rule_kinds(json_object_get(p, "steps"), "params.steps", 2,
		    SECMGR_MAX_STEPS, r, err, errlen) == -1)
			return -1;
		break;
	}
	return 0;
}

static int
rule_response(json_t *o, struct secmgr_rule *r, char *err, size_t errlen)
{
	static const char *const top[] = { "threat", "switch", "mail", "incident", NULL };
	static const char *const thr[] = { "expiry", NULL };
	json_t *v, *e;
	size_t i;

	if (rule_members(o, "response", top, err, errlen) == -1)
		return -1;
	r->incident = 1;
	if ((v = json_object_get(o, "threat")) != NULL) {
		if (!json_is_object(v) || rule_members(v, "response.threat", thr, err,
		    errlen) == -1)
			return rule_err(err, errlen, "response.threat: expected "
			    "{\"expiry\": [\"1h\", ...]}");
		e = json_object_get(v, "expiry");
		if (!json_is_array(e) || json_array_size(e) < 1 ||
		    json_array_size(e) > SECMGR_MAX_EXPIRY)
			return rule_err(err, errlen, "response.threat.expiry: expected an "
			    "array of 1 to %d durations", SECMGR_MAX_EXPIRY);
		json_array_foreach(e, i, v) {
			if (rule_duration(v, "response.threat.expiry", SECMGR_MAX_EXPIRE,
			    &r->expiry[i], err, errlen) == -1)
				return -1;
		}
		r->nexpiry = (int)json_array_size(e);
		if (r->key == SECMGR_KEY_SUBSCRIBER)
			return rule_err(err, errlen, "response.threat: a subscriber is not "
			    "a threat source (key subscriber)");
	}
	if ((v = json_object_get(o, "switch")) != NULL &&
	    rule_bool(v, "response.switch", &r->sw, err, errlen) == -1)
		return -1;
	if ((v = json_object_get(o, "mail")) != NULL &&
	    rule_bool(v, "response.mail", &r->mail, err, errlen) == -1)
		return -1;
	if ((v = json_object_get(o, "incident")) != NULL &&
	    rule_bool(v, "response.incident", &r->incident, err, errlen) == -1)
		return -1;
	if (r->sw && r->nexpiry == 0)
		return rule_err(err, errlen, "response.switch: the switch only acts on "
		    "threat sources (add response.threat)");
	return 0;
}

int
secmgr_rule_parse(const char *kind, const char *params, const char *response,
    struct secmgr_rule *r, char *err, size_t errlen)
{
	json_t *p = NULL, *o = NULL;
	int k, rc = -1;

	r->nkinds = r->count = r->min_kinds = r->min_daemons = 0;
	r->nexpiry = r->sw = r->mail = r->incident = 0;
	r->window = 0;
	if (kind == NULL || (k = rule_lookup(rule_kind_names, kind)) == -1)
		return rule_err(err, errlen, "kind: expected threshold, multi or sequence");
	r->kind = (enum secmgr_rule_kind)k;
	if ((p = rule_load(params, "params", err, errlen)) == NULL ||
	    (o = rule_load(response, "response", err, errlen)) == NULL)
		goto done;
	if (rule_params(p, r, err, errlen) == 0 && rule_response(o, r, err, errlen) == 0)
		rc = 0;
done:
	json_decref(p);
	json_decref(o);
	return rc;
}
