/*
 * log - the one logging API of every Moat program.
 *
 * In the foreground (or before log_init) lines go to stderr; otherwise to
 * syslog with the program's ident.  With json enabled each line is also a
 * JSON object (ts, prog, level, qid, msg) on stderr or the configured file,
 * for SIEMs.  Mail lines carry the Postfix queue ID first, as Postfix's own
 * lines do: "4C1x2y3z: verdict=clean ...".
 *
 * log_warn appends strerror(errno).  fatal/fatalx log and exit(1); use them
 * only at start-up or for a broken invariant, never for a runtime error.
 * All functions are thread-safe.
 */
#ifndef MOAT_LOG_H
#define MOAT_LOG_H

#include <stdarg.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum log_level { LOGL_ERR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };

/* ident: program name; foreground: stderr instead of syslog; json_path: NULL
 * for none, "-" for stderr, else a file appended to.  Returns -1 when the
 * JSON file cannot be opened (logging still works). */
int  log_init(const char *ident, int foreground, const char *json_path);
void log_set_level(enum log_level level);
/* syslog(3) facility used by the next log_init(): LOG_MAIL by default (next
 * to Postfix's own lines), LOG_DAEMON when common.syslog_facility_mail is
 * false. */
void log_set_facility(int facility);
enum log_level log_get_level(void);
/* Parses "error|warning|info|debug"; -1 when unknown. */
int  log_level_parse(const char *name);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

/* A mail line: "QID: text".  qid may be NULL ("NOQUEUE", as Postfix). */
void log_mail(enum log_level level, const char *qid, const char *fmt, ...) LOG_PRINTF(3, 4);

#endif
