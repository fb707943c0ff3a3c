/* The update window (see updated_window.h). */
#include <stddef.h>

#include "updated_window.h"

/* "HH:MM" at s (exactly five bytes): minute of the day, or -1. */
static int
window_hhmm(const char *s)
{
	for (int i = 0; i < 5; i++)
		if (i == 2 ? s[i] != ':' : (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	return h < 24 && m < 60 ? h * 60 + m : -1;
}

int
window_parse(const char *s, unsigned *start, unsigned *len)
{
	int a, b;

	if (s == NULL || s[0] == '\0' || s[1] == '\0' || s[2] == '\0' || s[3] == '\0' ||
	    s[4] == '\0' || s[5] != '-')
		return -1;
	for (int i = 6; i < 11; i++)
		if (s[i] == '\0')
			return -1;
	if (s[11] != '\0' || (a = window_hhmm(s)) == -1 || (b = window_hhmm(s + 6)) == -1)
		return -1;
	*start = (unsigned)a;
	*len = b > a ? (unsigned)(b - a) : (unsigned)(b + 1440 - a);
	return 0;
}

unsigned
window_draw(unsigned start, unsigned len, uint64_t rnd)
{
	return (unsigned)((start + rnd % len) % 1440);
}

int
window_contains(unsigned start, unsigned len, unsigned minute)
{
	return (minute + 1440 - start) % 1440 < len;
}
