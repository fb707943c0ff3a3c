/*
 * strings - the visible text of moat-updated's pages (updated_strings.c):
 * a built-in English table, and strings files that translate it.
 *
 * A strings file is UTF-8 text of "KEY = text" lines; blank lines and lines
 * starting with '#' are ignored; the text runs to the end of the line
 * (surrounding blanks trimmed).  A key the table does not know, a key given
 * twice, bytes that are not UTF-8, control characters, or a line or file
 * over its limit refuse the whole file; a key the file leaves out keeps its
 * English text.  updated/strings/en.txt is the reference: every key, with
 * the built-in text.  Texts are plain text: the pages HTML-escape them.  In
 * install.heading, "{subscriber}" stands for the subscriber's name.
 *
 * Ownership: a table is immutable once loaded.  strings_get() hands out
 * references to a process-wide cache (one table per language setting,
 * reloaded when its file changes), given back with strings_put(); the
 * English table is static and never freed.  Thread safe.
 */
#ifndef MOAT_UPDATED_STRINGS_H
#define MOAT_UPDATED_STRINGS_H

#include <stddef.h>

/* X(enum, "key", "English text") */
#define STRINGS_TABLE(X)						\
	X(S_LANG, "lang", "en")						\
	X(S_DECIMAL, "number.decimal", ".")				\
	X(S_BYTES, "unit.bytes", "bytes")				\
	X(S_INSTALL_TITLE, "install.title", "Anti-virus software")	\
	X(S_INSTALL_HEADING, "install.heading",				\
	    "Anti-virus software for {subscriber}")			\
	X(S_INSTALL_INTRO, "install.intro",				\
	    "Choose the platform of this computer and press Install. The "	\
	    "download holds the anti-virus package, the current signature " \
	    "database and a configuration that fetches new signatures from " \
	    "this server every night.")					\
	X(S_PLATFORM_DEBIAN, "platform.debian", "Debian and Ubuntu (.deb)") \
	X(S_PLATFORM_RPM, "platform.rpm", "Fedora, Red Hat and SUSE (.rpm)") \
	X(S_PLATFORM_WINDOWS, "platform.windows", "Windows")		\
	X(S_FIELD_PACKAGE, "field.package", "Package")			\
	X(S_FIELD_VERSION, "field.version", "Version")			\
	X(S_FIELD_SIZE, "field.size", "Size")				\
	X(S_FIELD_SHA256, "field.sha256", "SHA-256")			\
	X(S_FIELD_PUBLISHED, "field.published", "Published")		\
	X(S_INSTALL_BUTTON, "install.button", "Install")		\
	X(S_INSTALL_NONE, "install.none",				\
	    "No package published yet for this platform.")		\
	X(S_DENY_TITLE, "deny.title", "Access refused")			\
	X(S_DENY_TEXT, "deny.text",					\
	    "This server only serves the computers of its provider's "	\
	    "subscribers, and this request did not come from one of them.") \
	X(S_DENY_ADVICE, "deny.advice",					\
	    "If your organisation subscribes, connect from its network or " \
	    "sign in with the login your administrator gave you; otherwise " \
	    "contact your administrator.")				\
	X(S_DENY_LOGIN, "deny.login", "Sign in with a subscriber login") \
	X(S_SUSPENDED_TITLE, "suspended.title", "Subscription suspended") \
	X(S_SUSPENDED_TEXT, "suspended.text",				\
	    "Your organisation's subscription to this service is suspended, " \
	    "so no software can be downloaded for now.")		\
	X(S_SUSPENDED_ADVICE, "suspended.advice",			\
	    "Please contact your administrator.")			\
	X(S_LOGIN_TITLE, "login.title", "Sign in")			\
	X(S_LOGIN_TEXT, "login.text",					\
	    "This page needs a subscriber login. Your browser asks for it; " \
	    "if it did not, or the login was refused, contact your "	\
	    "administrator.")						\
	X(S_LOGIN_BACK, "login.back", "Back to the install page")	\
	X(S_THROTTLED_TITLE, "throttled.title", "Too many attempts")	\
	X(S_THROTTLED_TEXT, "throttled.text",				\
	    "Too many sign-ins from this address failed. Wait a minute, then " \
	    "try again with the login your administrator gave you.")	\
	X(S_ERROR_TITLE, "error.title", "Service unavailable")		\
	X(S_ERROR_TEXT, "error.text",					\
	    "The server cannot answer this request right now. Please try " \
	    "again in a few minutes.")

#define STRINGS_ENUM(e, k, t) e,
enum strings_key {
	STRINGS_TABLE(STRINGS_ENUM)
	S_NKEYS
};
#undef STRINGS_ENUM

#define STRINGS_LINE_MAX  2048           /* bytes of one line */
#define STRINGS_FILE_MAX  (64 * 1024)    /* bytes of a file */

struct strings;

/* The built-in English table (static). */
const struct strings *strings_english(void);
/* The text of key k (never NULL). */
const char *strings_text(const struct strings *s, enum strings_key k);
/* The key's name ("install.button"). */
const char *strings_key_name(enum strings_key k);
/* Loads a strings file (its own reference).  NULL with err set to
 * "PATH:LINE: reason" (or "PATH: reason") when it is refused. */
struct strings *strings_load(const char *path, char *err, size_t errlen);
/* Checks updated.language: "en" or the absolute path of a file that
 * strings_load() accepts.  0, or -1 with err. */
int strings_check(const char *language, char *err, size_t errlen);
/* The table of updated.language (a reference): English for "en", else the
 * file (loaded once, again when it changes).  A file refused or gone gives
 * English and one logged warning per change.  Never NULL. */
const struct strings *strings_get(const char *language);
/* Gives a reference back.  Accepts NULL and the English table. */
void strings_put(const struct strings *s);
/* The length (1..4) of the well-formed UTF-8 sequence at p (n bytes
 * left), or 0: a stray, overlong, surrogate or truncated sequence. */
size_t strings_utf8(const unsigned char *p, size_t n);

#endif
