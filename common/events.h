/*
 * events - how every daemon records security events in the store's append-
 * only `events` table.  event_emit() copies the event into a bounded
 * in-memory queue and returns at once; a writer thread with its own store
 * connection inserts queued events in batches (one transaction per batch).
 * The caller never waits on disk.  When the queue is full the event is
 * dropped and counted (logged once per burst): losing an event must never
 * block mail.
 */
#ifndef MOAT_EVENTS_H
#define MOAT_EVENTS_H

#include <stdint.h>
#include "event_kinds.h"

enum event_severity { SEV_INFO = 0, SEV_NOTICE = 1, SEV_WARNING = 2, SEV_CRITICAL = 3 };

/* Starts the writer.  daemon: name stored with each event.  Returns 0 or -1. */
int  events_start(const char *store_path, const char *daemon, char *err, size_t errlen);
/* kind: one of event_kinds.h; subscriber_id 0 = none; src_ip/detail_json may
 * be NULL; detail_json must be a JSON object text (see events_json_*). */
void event_emit(const char *kind, enum event_severity sev, int64_t subscriber_id,
    const char *src_ip, const char *detail_json);
/* A process that must not hold the store (moat-decoyd's loop, chrooted)
 * diverts event_emit() to fn, which hands the event to the process that
 * does (moat-decoyd's keeper) and must never block.  NULL restores the
 * writer.  Set before any thread emits. */
typedef void (*events_divert_fn)(const char *kind, enum event_severity sev,
    int64_t subscriber_id, const char *src_ip, const char *detail_json);
void events_divert(events_divert_fn fn);
/* Writes everything queued, then stops the writer. */
void events_stop(void);
/* Events dropped because the queue was full, since start. */
uint64_t events_dropped(void);

/* Minimal JSON object builder for detail_json (escapes strings).  The buffer
 * is owned by the caller; on overflow the object is truncated to "{}". */
struct jbuf { char *buf; size_t len, cap; int n; };
void jbuf_init(struct jbuf *j, char *buf, size_t cap);
void jbuf_str(struct jbuf *j, const char *key, const char *val);  /* NULL -> null */
void jbuf_int(struct jbuf *j, const char *key, long long val);
const char *jbuf_end(struct jbuf *j);

#endif
