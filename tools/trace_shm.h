/*
 * `rpmsg trace` on a VirtIO link: a passive observer of the shared region.
 * It maps /dev/shm/NAME read-only, takes no part in the link (no control
 * page slot, no doorbell, no ring index of its own in the region) and
 * records every message the moment a ring shows it: vring1's avail ring
 * (host to remote, the host's sends) and vring0's used ring (remote to host).
 */
#ifndef RPMSG_TOOLS_TRACE_SHM_H
#define RPMSG_TOOLS_TRACE_SHM_H

#include <stdint.h>

#include "pcap.h"

struct trace_shm_limits {
    unsigned long count;  /* stop after this many records; 0: no limit */
    uint32_t duration_ms; /* stop after this long; 0: no limit */
    uint32_t wait_ms;     /* for the object to appear */
};

struct trace_shm_stats {
    unsigned long records;
    unsigned long missed; /* entries a ring reused before we looked */
    unsigned long lost;   /* seen, but their buffer already held a later message */
    unsigned long bad;    /* entries pointing outside the region */
    unsigned resets;      /* times the link came up again */
};

/*
 * Watches /dev/shm/name (our native object, or OpenAMP's plain region) until
 * a limit, a signal (tool_stop), or both ends have closed it. 0, or -errno
 * with a message printed.
 */
int trace_shm_watch(const char *name, struct pcap *p, const struct trace_shm_limits *lim,
                    struct trace_shm_stats *st);

#endif
