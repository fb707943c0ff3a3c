/*
 * The clients' update times (see updated_bundle.h, schedule_get).
 *
 * A client's minute is drawn once, uniformly in the window, and recorded in
 * client_installs as "HH:MM"; every later bundle for the same subscriber,
 * client and platform carries the recorded one.  Two first requests at
 * once: both draw, both INSERT ... ON CONFLICT DO NOTHING (migration 005's
 * unique index on subscriber_id, client, platform lets one row in), and
 * both read the row that got in, so they agree.  The SELECT takes the
 * oldest row, so they agree on a store without that index too.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"
#include "store.h"
#include "updated_bundle.h"
#include "updated_window.h"

static const char SCHEDULE_INSERT[] =
    "INSERT INTO client_installs (subscriber_id, client, platform, update_time, created) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
static const char SCHEDULE_SELECT[] =
    "SELECT update_time FROM client_installs "
    "WHERE subscriber_id = ?1 AND client = ?2 AND platform = ?3 ORDER BY id LIMIT 1";

/* "HH:MM" -> minute of the day, or -1. */
static int
schedule_hhmm(const unsigned char *s)
{
	if (s == NULL || strlen((const char *)s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	return h < 24 && m < 60 ? h * 60 + m : -1;
}

/* The recorded minute: 1 found (*minute set), 0 none, -1 error. */
static int
schedule_lookup(struct store *st, int64_t subscriber, const char *client,
    const char *platform, unsigned *minute)
{
	sqlite3_stmt	*s;
	int		 rc, m;

	if ((s = store_prepare(st, SCHEDULE_SELECT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, subscriber);
	sqlite3_bind_text(s, 2, client, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, platform, -1, SQLITE_STATIC);
	if ((rc = store_step(st, s, "client_installs lookup")) != STORE_STEP_ROW)
		return rc == STORE_STEP_DONE ? 0 : -1;
	m = schedule_hhmm(sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	if (m == -1) {
		/* An operator's edit; the client keeps no time we can trust. */
		log_warnx("client_installs: subscriber %lld client %s: bad update_time",
		    (long long)subscriber, client);
		return -1;
	}
	*minute = (unsigned)m;
	return 1;
}

int
schedule_get(struct store *st, int64_t subscriber, const char *client,
    const char *platform, unsigned win_start, unsigned win_len, unsigned *minute)
{
	sqlite3_stmt	*s;
	uint64_t	 rnd;
	unsigned	 drawn;
	char		 hhmm[16];
	int		 rc, inserted;

	if ((rc = schedule_lookup(st, subscriber, client, platform, minute)) != 0)
		return rc;
	if (win_len < 1 || win_len > 1440 || win_start >= 1440)
		return -1;
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		log_warn("getrandom");
		return -1;
	}
	drawn = window_draw(win_start, win_len, rnd);
	snprintf(hhmm, sizeof(hhmm), "%02u:%02u", (drawn / 60) % 24, drawn % 60);

	if ((s = store_prepare(st, SCHEDULE_INSERT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, subscriber);
	sqlite3_bind_text(s, 2, client, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, platform, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, hhmm, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (int64_t)time(NULL));
	if (store_run_stmt(st, s, "client_installs insert") == -1)
		return -1;
	inserted = sqlite3_changes(st->db) == 1;

	/* Whoever got in first holds the time, this request or a concurrent one. */
	if ((rc = schedule_lookup(st, subscriber, client, platform, minute)) != 1)
		return rc == 0 ? -1 : rc;
	return inserted && *minute == drawn ? 0 : 1;
}
