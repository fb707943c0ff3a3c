/*
 * smtpsend - submits one message over SMTP with libcurl (to Postfix's
 * re-injection port, which runs no milter, so what we send is not scanned or
 * noticed again).  Reusable by any daemon: moat-secmgr's operator mail and
 * moat-decoyd's alerts use it (milter_notify.c and quarantined_release.c
 * keep their own copies).
 *
 * The caller has called curl_global_init.  Blocking, bounded by timeout.
 */
#ifndef MOAT_SMTPSEND_H
#define MOAT_SMTPSEND_H

#include <stddef.h>

/*
 * Sends msg (a whole RFC 5322 message, CRLF or LF lines) from the envelope
 * sender from to the one recipient to, at url ("smtp://127.0.0.1:10025").
 * Addresses must be free of CR, LF, '<' and '>' (refused otherwise).
 * Returns 0 when the server accepted it, or -1 with the reason in err.
 */
int smtpsend(const char *url, const char *from, const char *to, const char *msg,
    long timeout, char *err, size_t errlen);

#endif
