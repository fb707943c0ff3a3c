/* decoyd_backdoor - PLACEHOLDER until the backdoor personalities land. */
#include "decoyd.h"

static int bd_open(struct dd_session *s) { (void)s; return -1; }
static void bd_input(struct dd_session *s, const uint8_t *b, size_t n) { (void)s, (void)b, (void)n; }
static void bd_close(struct dd_session *s) { (void)s; }

const struct dd_personality dd_subseven = { "subseven", bd_open, bd_input, NULL, bd_close };
const struct dd_personality dd_netbus = { "netbus", bd_open, bd_input, NULL, bd_close };
