/* decoyd_http - PLACEHOLDER until the http personality lands: closes at once. */
#include "decoyd.h"

static int http_open(struct dd_session *s) { (void)s; return -1; }
static void http_input(struct dd_session *s, const uint8_t *b, size_t n) { (void)s, (void)b, (void)n; }
static void http_close(struct dd_session *s) { (void)s; }

const struct dd_personality dd_http = { "http", http_open, http_input, NULL, http_close };
