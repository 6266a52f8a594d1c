/*
 * Ready-made links for Linux programs: one call sets up the physical layer
 * (src/platform/linux) and the transport above it and hands back the
 * framework device. The tools, the multi-process tests, the benchmarks and
 * `rpmsg sim` all open their links through here, so they speak the same
 * link specifications:
 *
 *   virtio:NAME            native VirtIO link over /dev/shm/NAME with a futex doorbell
 *   openamp:SHM:SOCK       OpenAMP-compatible VirtIO link (wire-formats.md §4):
 *                          /dev/shm/SHM + one-byte kicks on AF_UNIX socket SOCK
 *
 * Allocates (this is the hosted convenience layer, not the core).
 */
#ifndef RPMSG_LINK_H
#define RPMSG_LINK_H

#include <stdint.h>

#include "rpmsg.h"

#ifdef __cplusplus
extern "C" {
#endif

enum rpmsg_link_role { RPMSG_LINK_HOST, RPMSG_LINK_REMOTE };
enum rpmsg_link_side { RPMSG_LINK_CREATE, RPMSG_LINK_ATTACH };
enum rpmsg_link_wait { RPMSG_LINK_ADAPTIVE, RPMSG_LINK_POLL, RPMSG_LINK_INTERRUPT };

struct rpmsg_link_config {
    const char *spec;          /* see above */
    enum rpmsg_link_role role; /* virtio role */
    enum rpmsg_link_side side; /* native: who creates the shm object (comes first) */
    bool listen;               /* openamp: listen on SOCK (else connect) */
    enum rpmsg_link_wait wait; /* how the RX thread waits for the peer */
    const char *cpuname;       /* local cpu name; default "host"/"remote" */
    uint32_t timeout_ms;       /* for the peer to appear; 0: 10 s */
    uint32_t num_bufs;         /* native: buffers per direction; 0: 256 */
    uint32_t buf_size;         /* native: bytes per buffer; 0: 512 */
};

struct rpmsg_link;

/* Opens the link; returns once it is set up (not necessarily up yet). */
int rpmsg_link_open(struct rpmsg_link **out, const struct rpmsg_link_config *cfg);
struct rpmsg_device *rpmsg_link_device(struct rpmsg_link *link);
/* Waits until the link is up (device_created has fired). 0 or -ETIMEDOUT. */
int rpmsg_link_wait_up(struct rpmsg_link *link, uint32_t timeout_ms);
/* Transport counters as "key=value" text (notifications, faults...). */
int rpmsg_link_describe(struct rpmsg_link *link, char *buf, size_t size);
/* Takes the link down, tells the peer, removes every name it owns. */
void rpmsg_link_close(struct rpmsg_link *link);

#ifdef __cplusplus
}
#endif

#endif
