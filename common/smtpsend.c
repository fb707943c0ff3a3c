/* smtpsend - one message over SMTP with libcurl (smtpsend.h). */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "smtpsend.h"

struct smtpsend_up { const char *p; size_t left; };

static size_t
smtpsend_read(char *buf, size_t size, size_t n, void *arg)
{
	struct smtpsend_up *u = arg;
	size_t k = size * n < u->left ? size * n : u->left;

	memcpy(buf, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

static int
smtpsend_addr_ok(const char *a)
{
	return a != NULL && a[0] != '\0' && strlen(a) < 512 && strpbrk(a, "\r\n<> ") == NULL;
}

int
smtpsend(const char *url, const char *from, const char *to, const char *msg,
    long timeout, char *err, size_t errlen)
{
	struct smtpsend_up u = { msg, strlen(msg) };
	struct curl_slist *rcpt = NULL;
	CURLcode rc;
	CURL *c;

	if (url == NULL || (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0)) {
		snprintf(err, errlen, "not an smtp:// URL");
		return -1;
	}
	if (!smtpsend_addr_ok(from) || !smtpsend_addr_ok(to)) {
		snprintf(err, errlen, "refused address (empty, long, or with <, >, space, CR, LF)");
		return -1;
	}
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	if ((rcpt = curl_slist_append(NULL, to)) == NULL) {
		curl_easy_cleanup(c);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, smtpsend_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}
