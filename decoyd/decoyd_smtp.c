/* decoyd_smtp - PLACEHOLDER until the smtp personality lands: closes at once. */
#include "decoyd.h"

static int smtp_open(struct dd_session *s) { (void)s; return -1; }
static void smtp_input(struct dd_session *s, const uint8_t *b, size_t n) { (void)s, (void)b, (void)n; }
static void smtp_close(struct dd_session *s) { (void)s; }

const struct dd_personality dd_smtp = { "smtp", smtp_open, smtp_input, NULL, smtp_close };
