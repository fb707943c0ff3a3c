/*
 * vendor_manifest - the vendor's package manifest, outside input: a JSON
 * array of {platform, name, version, url, sha256}.  Every field is checked
 * here, before anything is fetched or written: the platform is one a
 * bundle can be built for, name and version are short printable words, the
 * sha256 is 64 hex digits, the url is http(s) (resolved against the
 * manifest's own URL, so a manifest may name its files relatively) and its
 * last path segment is the file name in packages_dir.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "updated_packages.h"
#include "updated_vendor.h"

/* 1 when s is 1..max bytes of [A-Za-z0-9] and the characters in extra. */
static int
vendor_word_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) || (unsigned char)*s > 0x7f) {
			if (strchr(extra, *s) == NULL)
				return 0;
		}
	return 1;
}

/* A string member of o, or NULL (absent or not a string); NUL bytes inside
 * refuse it (jansson allows them, C strings would cut them). */
static const char *
vendor_member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* Resolves url against base into it->url and takes its last path segment as
 * it->file.  0, or -1 with err set. */
static int
vendor_item_url(struct vendor_item *it, const char *base, const char *url,
    char *err, size_t errlen)
{
	CURLU *u;
	char *full = NULL, *scheme = NULL, *path = NULL, *user = NULL, *host = NULL;
	const char *seg;
	int rc = -1;

	if (strlen(url) == 0 || strlen(url) > VENDOR_URL_MAX) {
		snprintf(err, errlen, "url: empty or longer than %d bytes", VENDOR_URL_MAX);
		return -1;
	}
	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '\\') {
			snprintf(err, errlen, "url: spaces, controls or non-ASCII");
			return -1;
		}
	if ((u = curl_url()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (base != NULL && curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK) {
		snprintf(err, errlen, "the manifest's own URL does not parse");
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		snprintf(err, errlen, "url: does not parse");
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		snprintf(err, errlen, "url: not http or https");
		goto out;
	}
	/* Credentials in a manifest would end up in logs and events. */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(err, errlen, "url: carries credentials");
		goto out;
	}
	if (strlen(full) > VENDOR_URL_MAX) {
		snprintf(err, errlen, "url: longer than %d bytes resolved", VENDOR_URL_MAX);
		goto out;
	}
	seg = strrchr(path, '/');
	seg = seg != NULL ? seg + 1 : path;
	if (!packages_file_ok(seg)) {
		snprintf(err, errlen, "url: its last path segment is not a package file name");
		goto out;
	}
	snprintf(it->url, sizeof(it->url), "%s", full);
	snprintf(it->file, sizeof(it->file), "%s", seg);
	rc = 0;
out:
	curl_free(full);
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_free(user);
	curl_url_cleanup(u);
	return rc;
}

/* Checks one entry into it.  0, or -1 with err set. */
static int
vendor_item_check(json_t *o, const char *base, struct vendor_item *it,
    char *err, size_t errlen)
{
	const char *platform, *name, *version, *url, *sha;

	memset(it, 0, sizeof(*it));
	if (!json_is_object(o)) {
		snprintf(err, errlen, "not an object");
		return -1;
	}
	platform = vendor_member(o, "platform");
	name = vendor_member(o, "name");
	version = vendor_member(o, "version");
	url = vendor_member(o, "url");
	sha = vendor_member(o, "sha256");
	if (platform == NULL || name == NULL || version == NULL || url == NULL || sha == NULL) {
		snprintf(err, errlen, "platform, name, version, url and sha256 are strings");
		return -1;
	}
	if (strlen(platform) > PKG_PLATFORM_MAX || !packages_platform_ok(platform)) {
		snprintf(err, errlen, "platform: not one a bundle can be built for");
		return -1;
	}
	/* Shown on the install page and in events: a plain word or phrase. */
	if (!vendor_word_ok(name, PKG_NAME_MAX, " ._+~()-") || name[0] == ' ' ||
	    name[strlen(name) - 1] == ' ') {
		snprintf(err, errlen, "name: 1..%d of letters, digits, space and ._+~()-",
		    PKG_NAME_MAX);
		return -1;
	}
	if (!vendor_word_ok(version, PKG_VERSION_MAX, "._+~:-")) {
		snprintf(err, errlen, "version: 1..%d of letters, digits and ._+~:-",
		    PKG_VERSION_MAX);
		return -1;
	}
	if (strlen(sha) != 64 || strspn(sha, "0123456789abcdefABCDEF") != 64) {
		snprintf(err, errlen, "sha256: not 64 hex digits");
		return -1;
	}
	if (vendor_item_url(it, base, url, err, errlen) == -1)
		return -1;
	snprintf(it->platform, sizeof(it->platform), "%s", platform);
	snprintf(it->name, sizeof(it->name), "%s", name);
	snprintf(it->version, sizeof(it->version), "%s", version);
	for (int i = 0; i < 64; i++)
		it->sha256[i] = (char)tolower((unsigned char)sha[i]);
	it->sha256[64] = '\0';
	return 0;
}

int
vendor_manifest_parse(const char *text, size_t len, const char *base_url,
    struct vendor_item **out, size_t *n, size_t *rejected, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	struct vendor_item *items;
	char why[160];
	size_t count;

	*out = NULL;
	*n = 0;
	*rejected = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > VENDOR_MANIFEST_MAX) {
		snprintf(err, errlen, "manifest longer than %d bytes", VENDOR_MANIFEST_MAX);
		return -1;
	}
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		snprintf(err, errlen, "manifest: not JSON (line %d: %s)", jerr.line, jerr.text);
		return -1;
	}
	if (!json_is_array(root)) {
		snprintf(err, errlen, "manifest: not an array");
		json_decref(root);
		return -1;
	}
	if ((count = json_array_size(root)) > VENDOR_MANIFEST_ITEMS) {
		snprintf(err, errlen, "manifest: more than %d entries", VENDOR_MANIFEST_ITEMS);
		json_decref(root);
		return -1;
	}
	if (count == 0) {
		json_decref(root);
		return 0;
	}
	if ((items = calloc(count, sizeof(*items))) == NULL) {
		snprintf(err, errlen, "out of memory");
		json_decref(root);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (vendor_item_check(json_array_get(root, i), base_url, &items[*n],
		    why, sizeof(why)) == -1) {
			if (*rejected == 0)
				snprintf(err, errlen, "entry %zu: %s", i, why);
			(*rejected)++;
			continue;
		}
		(*n)++;
	}
	json_decref(root);
	if (*n == 0) {
		free(items);
		items = NULL;
	}
	*out = items;
	return 0;
}
