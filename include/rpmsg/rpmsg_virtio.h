/*
 * VirtIO transport: rpmsg over split virtqueues in a shared region, with the
 * remoteproc resource table, byte-compatible with Linux virtio_rpmsg_bus and
 * OpenAMP (wire-formats.md §1-3).
 *
 * The transport knows nothing of how the region is mapped or how the peer is
 * interrupted: a platform (src/platform/linux on a host, a BSP on a chip)
 * supplies the region and the doorbell through struct rpmsg_virtio_platform.
 */
#ifndef RPMSG_VIRTIO_H
#define RPMSG_VIRTIO_H

#include "rpmsg_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The physical layer under a VirtIO link: a doorbell each way plus liveness. */
struct rpmsg_virtio_platform_ops {
    /* Rings the peer's doorbell (an "interrupt"). notifyid: the vring's id. */
    int (*notify)(void *plat, uint32_t notifyid);
    /*
     * Waits until the peer rings our doorbell or the absolute deadline
     * (rpmsg_time_ms() scale) passes. 0 or -ETIMEDOUT; spurious returns are fine.
     */
    int (*wait)(void *plat, uint64_t deadline_ms);
    /* Makes a concurrent or the next wait() return at once. */
    void (*wakeup)(void *plat);
    /* 0 while the peer is alive, -ENOTCONN once it is known dead. May be NULL. */
    int (*peer_alive)(void *plat);
};

enum rpmsg_virtio_role {
    RPMSG_VIRTIO_HOST,   /* virtio driver ("master"): owns the buffers, Linux's role */
    RPMSG_VIRTIO_REMOTE, /* virtio device: OpenAMP remote / firmware role */
};

/* The transport's own API (config, init, deinit) follows here. */

#ifdef __cplusplus
}
#endif

#endif /* RPMSG_VIRTIO_H */
