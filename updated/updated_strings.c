/*
 * strings - the pages' text tables (see updated_strings.h): the built-in
 * English one, the strings-file loader and the cache behind strings_get().
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "updated_strings.h"

struct strings {
	int          refs;               /* under strings_lock; the English one: 0 */
	const char  *text[S_NKEYS];      /* English literals or into buf */
	char        *buf;                /* the file's bytes, NUL-split */
};

#define STRINGS_KEY(e, k, t) k,
static const char *const strings_keys[S_NKEYS] = { STRINGS_TABLE(STRINGS_KEY) };
#undef STRINGS_KEY
#define STRINGS_TEXT(e, k, t) t,
static const struct strings strings_en = { 0, { STRINGS_TABLE(STRINGS_TEXT) }, NULL };
#undef STRINGS_TEXT

/*
 * The cache of strings_get(): the table of one language setting, known by
 * the identity of the file it was read from (device, inode, size, mtime).
 * table NULL with a path: that version of the file was refused (and
 * logged once).
 */
static pthread_mutex_t strings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char             *path;
	dev_t             dev;
	ino_t             ino;
	off_t             size;
	struct timespec   mtime;
	int               err;            /* errno of a failed stat/open, or 0 */
	struct strings   *table;          /* a reference held by the cache */
} strings_cache;

const struct strings *
strings_english(void)
{
	return &strings_en;
}

const char *
strings_text(const struct strings *s, enum strings_key k)
{
	if (s == NULL)
		s = &strings_en;
	if ((unsigned)k >= S_NKEYS)
		return "";
	return s->text[k];
}

const char *
strings_key_name(enum strings_key k)
{
	return (unsigned)k < S_NKEYS ? strings_keys[k] : "";
}

size_t
strings_utf8(const unsigned char *p, size_t n)
{
	unsigned c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

static void
strings_free(struct strings *s)
{
	if (s == NULL || s == &strings_en)
		return;
	free(s->buf);
	free(s);
}

static int
strings_err(char *err, size_t errlen, const char *path, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int
strings_err(char *err, size_t errlen, const char *path, unsigned line, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(err, errlen, "%s:%u: %s", path, line, why);
	else
		snprintf(err, errlen, "%s: %s", path, why);
	return -1;
}

/* A BCP 47-shaped tag for the lang attribute: "de", "pt-BR", "zh-Hant-TW". */
static int
strings_lang_ok(const char *s)
{
	size_t n = 0, part = 0;

	for (; *s != '\0'; s++, n++) {
		if (*s == '-') {
			if (part == 0)
				return 0;
			part = 0;
		} else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9' && n > 0)) {
			if (++part > 8)
				return 0;
		} else {
			return 0;
		}
	}
	return n >= 2 && n <= 35 && part > 0;
}

static int
strings_isblank(char c)
{
	return c == ' ' || c == '\t';
}

/* Parses buf (len bytes, NUL-terminated, owned by s) into s.  0 or -1. */
static int
strings_parse(struct strings *s, char *buf, size_t len, const char *path, char *err,
    size_t errlen)
{
	int seen[S_NKEYS] = { 0 };
	char *p = buf, *end = buf + len;
	unsigned line = 0;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;                 /* a byte order mark some editors write */
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
		char *key, *kend, *eq, *text, *tend;
		size_t k;

		line++;
		if ((size_t)(eol - p) > STRINGS_LINE_MAX)
			return strings_err(err, errlen, path, line, "line longer than %d bytes",
			    STRINGS_LINE_MAX);
		if (eol > p && eol[-1] == '\r')
			eol--;
		for (char *q = p; q < eol; ) {
			size_t n = strings_utf8((const unsigned char *)q, (size_t)(eol - q));

			if (n == 0)
				return strings_err(err, errlen, path, line, "not UTF-8");
			if (n == 1 && (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f))
				return strings_err(err, errlen, path, line,
				    "control character 0x%02x", (unsigned char)*q);
			q += n;
		}
		*eol = '\0';
		key = p;
		p = nl ? nl + 1 : end;
		while (strings_isblank(*key))
			key++;
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL)
			return strings_err(err, errlen, path, line, "expected KEY = text");
		for (kend = eq; kend > key && strings_isblank(kend[-1]); kend--)
			;
		*kend = '\0';
		for (text = eq + 1; strings_isblank(*text); text++)
			;
		for (tend = text + strlen(text); tend > text && strings_isblank(tend[-1]); tend--)
			;
		*tend = '\0';
		for (k = 0; k < S_NKEYS; k++)
			if (strcmp(key, strings_keys[k]) == 0)
				break;
		if (k == S_NKEYS) {
			if (strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(key) &&
			    strlen(key) <= 64)
				return strings_err(err, errlen, path, line, "unknown key \"%s\"", key);
			return strings_err(err, errlen, path, line, "unknown key");
		}
		if (seen[k])
			return strings_err(err, errlen, path, line, "%s given twice", key);
		seen[k] = 1;
		if (*text == '\0')
			return strings_err(err, errlen, path, line, "%s has no text", key);
		if (k == S_LANG && !strings_lang_ok(text))
			return strings_err(err, errlen, path, line,
			    "lang: expected a language tag (\"de\", \"pt-BR\")");
		s->text[k] = text;
	}
	return 0;
}

/* Reads the open file fd (closed by the caller) as path. */
static struct strings *
strings_read(int fd, const struct stat *st, const char *path, char *err, size_t errlen)
{
	struct strings *s;
	size_t len = 0;
	ssize_t got;

	if (!S_ISREG(st->st_mode)) {
		strings_err(err, errlen, path, 0, "not a regular file");
		return NULL;
	}
	if (st->st_size > STRINGS_FILE_MAX) {
		strings_err(err, errlen, path, 0, "larger than %d bytes", STRINGS_FILE_MAX);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->buf = malloc(STRINGS_FILE_MAX + 2)) == NULL) {
		strings_err(err, errlen, path, 0, "out of memory");
		strings_free(s);
		return NULL;
	}
	/* Up to one byte more than allowed: a file that grew is refused too. */
	while (len <= STRINGS_FILE_MAX &&
	    (got = read(fd, s->buf + len, STRINGS_FILE_MAX + 1 - len)) != 0) {
		if (got == -1) {
			if (errno == EINTR)
				continue;
			strings_err(err, errlen, path, 0, "%s", strerror(errno));
			strings_free(s);
			return NULL;
		}
		len += (size_t)got;
	}
	if (len > STRINGS_FILE_MAX) {
		strings_err(err, errlen, path, 0, "larger than %d bytes", STRINGS_FILE_MAX);
		strings_free(s);
		return NULL;
	}
	s->buf[len] = '\0';
	if (memchr(s->buf, '\0', len) != NULL) {
		strings_err(err, errlen, path, 0, "a NUL byte");
		strings_free(s);
		return NULL;
	}
	memcpy(s->text, strings_en.text, sizeof(s->text));
	if (strings_parse(s, s->buf, len, path, err, errlen) == -1) {
		strings_free(s);
		return NULL;
	}
	s->refs = 1;
	return s;
}

struct strings *
strings_load(const char *path, char *err, size_t errlen)
{
	struct strings *s;
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		strings_err(err, errlen, path, 0, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		strings_err(err, errlen, path, 0, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	s = strings_read(fd, &st, path, err, errlen);
	close(fd);
	return s;
}

int
strings_check(const char *language, char *err, size_t errlen)
{
	struct strings *s;

	if (strcmp(language, "en") == 0)
		return 0;
	if (language[0] != '/') {
		snprintf(err, errlen, "expected \"en\" or the absolute path of a strings file");
		return -1;
	}
	if ((s = strings_load(language, err, errlen)) == NULL)
		return -1;
	strings_put(s);
	return 0;
}

/* The cache's entry is for this path and file version (or this error). */
static int
strings_cached(const char *path, const struct stat *st, int err)
{
	if (strings_cache.path == NULL || strcmp(strings_cache.path, path) != 0)
		return 0;
	if (err != 0 || strings_cache.err != 0)
		return err == strings_cache.err;
	return st->st_dev == strings_cache.dev && st->st_ino == strings_cache.ino &&
	    st->st_size == strings_cache.size &&
	    st->st_mtim.tv_sec == strings_cache.mtime.tv_sec &&
	    st->st_mtim.tv_nsec == strings_cache.mtime.tv_nsec;
}

/* Under strings_lock: makes the cache entry path/st/err/table (the table's
 * reference passes to the cache). */
static void
strings_remember(const char *path, const struct stat *st, int err, struct strings *table)
{
	struct strings *old = strings_cache.table;
	char *copy = strdup(path);

	free(strings_cache.path);
	strings_cache.path = copy;      /* NULL: nothing cached, tried again next time */
	strings_cache.err = err;
	if (st != NULL) {
		strings_cache.dev = st->st_dev;
		strings_cache.ino = st->st_ino;
		strings_cache.size = st->st_size;
		strings_cache.mtime = st->st_mtim;
	}
	strings_cache.table = table;
	if (old != NULL && --old->refs == 0)
		strings_free(old);
}

const struct strings *
strings_get(const char *language)
{
	struct strings *s = NULL;
	struct stat st;
	char err[512];
	int fd, e = 0;

	if (language == NULL || strcmp(language, "en") == 0)
		return &strings_en;
	if ((fd = open(language, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1 ||
	    fstat(fd, &st) == -1)
		e = errno != 0 ? errno : EIO;
	pthread_mutex_lock(&strings_lock);
	if (strings_cached(language, &st, e)) {
		if ((s = strings_cache.table) != NULL)
			s->refs++;
		pthread_mutex_unlock(&strings_lock);
		if (fd != -1)
			close(fd);
		return s != NULL ? s : &strings_en;
	}
	pthread_mutex_unlock(&strings_lock);

	/* A new file or version: read it outside the lock. */
	if (e != 0)
		strings_err(err, sizeof(err), language, 0, "%s", strerror(e));
	else
		s = strings_read(fd, &st, language, err, sizeof(err));
	if (fd != -1)
		close(fd);
	if (s == NULL)
		log_warnx("pages: strings %s; the pages are in English", err);
	pthread_mutex_lock(&strings_lock);
	strings_remember(language, e == 0 ? &st : NULL, e, s);
	if (s != NULL)
		s->refs++;
	pthread_mutex_unlock(&strings_lock);
	return s != NULL ? s : &strings_en;
}

void
strings_put(const struct strings *cs)
{
	struct strings *s = (struct strings *)cs;

	if (s == NULL || s == &strings_en)
		return;
	pthread_mutex_lock(&strings_lock);
	if (--s->refs == 0)
		strings_free(s);
	pthread_mutex_unlock(&strings_lock);
}
