/*
 * units - integers, sizes and durations from text (see units.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "units.h"

struct unit { char suffix; long long mult; };

static const struct unit no_units[] = { { 0, 0 } };
static const struct unit size_units[] = {
	{ 'b', 1 }, { 'k', 1024LL }, { 'm', 1024LL * 1024 },
	{ 'g', 1024LL * 1024 * 1024 }, { 0, 0 }
};
static const struct unit time_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	{ 'w', 604800 }, { 0, 0 }
};

/* Integer text with an optional unit suffix from units (an empty table
 * allows none).  0, or -1 on bad syntax or overflow. */
static int
parse_units(const char *text, const struct unit *units, long long *out)
{
	const struct unit	*u;
	const char		*digits;
	char			*end;
	long long		 v;

	if (text == NULL)
		return -1;
	digits = *text == '-' || *text == '+' ? text + 1 : text;
	if (!isdigit((unsigned char)*digits))
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		for (u = units; u->suffix != 0; u++)
			if (tolower((unsigned char)*end) == u->suffix)
				break;
		if (u->suffix == 0 || end[1] != '\0')
			return -1;
		if (v > LLONG_MAX / u->mult || v < LLONG_MIN / u->mult)
			return -1;
		v *= u->mult;
	}
	*out = v;
	return 0;
}

int
parse_int(const char *text, long long *out)
{
	return parse_units(text, no_units, out);
}

int
parse_size(const char *text, long long *out)
{
	return parse_units(text, size_units, out);
}

int
parse_duration(const char *text, long long *out)
{
	return parse_units(text, time_units, out);
}
