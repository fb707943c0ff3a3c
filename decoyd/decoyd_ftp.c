/* decoyd_ftp - PLACEHOLDER until the ftp personality lands: closes at once. */
#include "decoyd.h"

static int ftp_open(struct dd_session *s) { (void)s; return -1; }
static void ftp_input(struct dd_session *s, const uint8_t *b, size_t n) { (void)s, (void)b, (void)n; }
static void ftp_close(struct dd_session *s) { (void)s; }

const struct dd_personality dd_ftp = { "ftp", ftp_open, ftp_input, NULL, ftp_close };
