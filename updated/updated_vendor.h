/*
 * vendor - pulls from the vendors (updated_vendor.c), on its own thread:
 * signatures through libfreshclam into staging_dir, verified with
 * libclamav, then published atomically into mirror_dir (temporary file,
 * fsync, rename; the .cdiff history kept) and copied into the gateway's own
 * signature directory so moat-milter reloads; packages through libcurl
 * (conditional requests, timeouts, retries with backoff, Retry-After
 * honoured) from vendor_packages' manifest into packages_dir and
 * av_packages.  Every interval (with jitter), or at once on vendor_kick().
 * What changed is recorded as events.
 */
#ifndef MOAT_UPDATED_VENDOR_H
#define MOAT_UPDATED_VENDOR_H

#include <stddef.h>

struct ud_conf;

/* After the drop.  0, or -1 with err set. */
int  vendor_start(char *err, size_t errlen);
/* Asks for a pull now (SIGUSR1, moatctl mirror pull). */
void vendor_kick(void);
/* Waits for a pull in progress to end, then stops the thread. */
void vendor_stop(void);

#endif
