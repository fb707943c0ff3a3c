/*
 * decoyd_pipe - the fake shell's filters on the right of a '|': what
 * intruders pipe into (head, tail, grep, wc, sort, uniq, cat), applied to
 * the text the command on the left printed.  A shell without pipes is a
 * decoy's tell: "cat /etc/passwd | head -3" must print three lines.
 *
 * Pure functions over a buffer the caller owns; the result is a new buffer
 * (malloc) the caller frees.  Input is bounded by the shell (SH_PIPE_MAX);
 * every filter here is linear in it, sort n log n.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoyd_pipe.h"

struct pipe_lines {
	const char **at;
	size_t      *len;
	size_t       n;
};

/* Splits in into lines (without their '\n'); a last line without one counts. */
static int
pipe_split(const char *in, size_t inlen, struct pipe_lines *l)
{
	size_t i, start = 0, cap = 16;

	l->n = 0;
	if ((l->at = malloc(cap * sizeof(*l->at))) == NULL ||
	    (l->len = malloc(cap * sizeof(*l->len))) == NULL) {
		free(l->at);
		return -1;
	}
	for (i = 0; i <= inlen; i++) {
		if (i < inlen && in[i] != '\n')
			continue;
		if (i == inlen && start == inlen)
			break;
		if (l->n == cap) {
			const char **a;
			size_t *b;

			cap *= 2;
			if ((a = realloc(l->at, cap * sizeof(*a))) == NULL)
				return -1;
			l->at = a;
			if ((b = realloc(l->len, cap * sizeof(*b))) == NULL)
				return -1;
			l->len = b;
		}
		l->at[l->n] = in + start;
		l->len[l->n++] = i - start;
		start = i + 1;
	}
	return 0;
}

/* Appends a line and its '\n' to out (sized by the caller to fit). */
static void
pipe_put(char *out, size_t *o, const char *s, size_t n)
{
	memcpy(out + *o, s, n);
	*o += n;
	out[(*o)++] = '\n';
}

/* "-n N", "-N", "-nN" (head, tail): the count, or -1. */
static long
pipe_count(int argc, char **argv)
{
	const char *v = NULL;
	char *end;
	long n;

	if (argc < 2)
		return 10;
	if (strcmp(argv[1], "-n") == 0 && argc > 2)
		v = argv[2];
	else if (strncmp(argv[1], "-n", 2) == 0)
		v = argv[1] + 2;
	else if (argv[1][0] == '-')
		v = argv[1] + 1;
	else
		return 10;              /* a file name: what is piped in is ignored */
	n = strtol(v, &end, 10);
	return *v == '\0' || *end != '\0' || n < 0 ? -1 : n;
}

/* Case-insensitive substring search (grep -i) or exact (grep). */
static int
pipe_has(const char *s, size_t n, const char *pat, int icase)
{
	size_t pl = strlen(pat), i, j;

	if (pl == 0)
		return 1;
	for (i = 0; i + pl <= n; i++) {
		for (j = 0; j < pl; j++)
			if (icase ? tolower((unsigned char)s[i + j]) != tolower((unsigned char)pat[j]) :
			    s[i + j] != pat[j])
				break;
		if (j == pl)
			return 1;
	}
	return 0;
}

static int
pipe_cmp(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*x, *y);
}

int
pipe_filter(int argc, char **argv, const char *in, size_t inlen, char **out, size_t *outlen)
{
	struct pipe_lines l = { NULL, NULL, 0 };
	const char *cmd = argv[0], *pat = NULL;
	size_t o = 0, i, cap = inlen + 128, from, to;
	int inv = 0, icase = 0, count = 0, rev = 0, a;
	long n;
	char *buf, **sorted;

	*out = NULL;
	*outlen = 0;
	if (strcmp(cmd, "head") != 0 && strcmp(cmd, "tail") != 0 && strcmp(cmd, "grep") != 0 &&
	    strcmp(cmd, "egrep") != 0 && strcmp(cmd, "wc") != 0 && strcmp(cmd, "sort") != 0 &&
	    strcmp(cmd, "uniq") != 0 && strcmp(cmd, "cat") != 0 && strcmp(cmd, "more") != 0 &&
	    strcmp(cmd, "less") != 0)
		return PIPE_UNKNOWN;
	if ((buf = malloc(cap)) == NULL || pipe_split(in, inlen, &l) == -1) {
		free(buf);
		free(l.at);
		free(l.len);
		return PIPE_NOMEM;
	}
	if (strcmp(cmd, "head") == 0 || strcmp(cmd, "tail") == 0) {
		if ((n = pipe_count(argc, argv)) == -1) {
			o = (size_t)snprintf(buf, cap, "%s: invalid number of lines\n", cmd);
		} else {
			from = cmd[0] == 'h' || (size_t)n >= l.n ? 0 : l.n - (size_t)n;
			to = cmd[0] == 't' || (size_t)n >= l.n ? l.n : (size_t)n;
			for (i = from; i < to; i++)
				pipe_put(buf, &o, l.at[i], l.len[i]);
		}
	} else if (strcmp(cmd, "grep") == 0 || strcmp(cmd, "egrep") == 0) {
		for (a = 1; a < argc; a++) {
			if (argv[a][0] == '-' && argv[a][1] != '\0' && pat == NULL) {
				inv |= strchr(argv[a], 'v') != NULL;
				icase |= strchr(argv[a], 'i') != NULL;
				count |= strchr(argv[a], 'c') != NULL;
			} else if (pat == NULL) {
				pat = argv[a];
			}
		}
		if (pat == NULL) {
			o = (size_t)snprintf(buf, cap, "Usage: grep [OPTION]... PATTERNS [FILE]...\n"
			    "Try 'grep --help' for more information.\n");
		} else {
			for (i = 0, n = 0; i < l.n; i++)
				if (pipe_has(l.at[i], l.len[i], pat, icase) != inv) {
					n++;
					if (!count)
						pipe_put(buf, &o, l.at[i], l.len[i]);
				}
			if (count)
				o = (size_t)snprintf(buf, cap, "%ld\n", n);
		}
	} else if (strcmp(cmd, "wc") == 0) {
		size_t words = 0;
		int inword = 0;

		for (i = 0; i < inlen; i++) {
			if (isspace((unsigned char)in[i]))
				inword = 0;
			else if (!inword)
				inword = 1, words++;
		}
		if (argc > 1 && strcmp(argv[1], "-l") == 0)
			o = (size_t)snprintf(buf, cap, "%zu\n", l.n);
		else if (argc > 1 && strcmp(argv[1], "-w") == 0)
			o = (size_t)snprintf(buf, cap, "%zu\n", words);
		else if (argc > 1 && strcmp(argv[1], "-c") == 0)
			o = (size_t)snprintf(buf, cap, "%zu\n", inlen);
		else
			o = (size_t)snprintf(buf, cap, "%7zu %7zu %7zu\n", l.n, words, inlen);
	} else if (strcmp(cmd, "sort") == 0) {
		rev = argc > 1 && strcmp(argv[1], "-r") == 0;
		if ((sorted = malloc((l.n + 1) * sizeof(*sorted))) == NULL) {
			free(buf);
			free(l.at);
			free(l.len);
			return PIPE_NOMEM;
		}
		for (i = 0; i < l.n; i++)
			if ((sorted[i] = strndup(l.at[i], l.len[i])) == NULL)
				break;
		l.n = i;
		qsort(sorted, l.n, sizeof(*sorted), pipe_cmp);
		for (i = 0; i < l.n; i++) {
			const char *s = sorted[rev ? l.n - 1 - i : i];

			pipe_put(buf, &o, s, strlen(s));
		}
		for (i = 0; i < l.n; i++)
			free(sorted[i]);
		free(sorted);
	} else if (strcmp(cmd, "uniq") == 0) {
		for (i = 0; i < l.n; i++)
			if (i == 0 || l.len[i] != l.len[i - 1] ||
			    memcmp(l.at[i], l.at[i - 1], l.len[i]) != 0)
				pipe_put(buf, &o, l.at[i], l.len[i]);
	} else {                        /* cat, more, less */
		for (i = 0; i < l.n; i++)
			pipe_put(buf, &o, l.at[i], l.len[i]);
	}
	free(l.at);
	free(l.len);
	*out = buf;
	*outlen = o;
	return 0;
}
