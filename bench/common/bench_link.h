/* Opening a link for a benchmark side. */
#ifndef BENCH_LINK_H
#define BENCH_LINK_H

#include "rpmsg/rpmsg_link.h"

/* Opens the link and waits (up to 10 s) until it is up; NULL on failure. */
struct rpmsg_link *bench_link_open(const struct rpmsg_link_config *cfg);
/* The same for spec, as host (creates the shm object) or remote (attaches). */
struct rpmsg_link *bench_link_open_end(const char *spec, bool host, enum rpmsg_link_wait wait);

#endif
