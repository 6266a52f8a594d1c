/*
 * Loopback transport: two rpmsg devices in one process joined back to back,
 * each direction with its own finite pool of buffers, like a VirtIO pair.
 * It exists for unit tests, examples and the core benchmark.
 */
#ifndef RPMSG_LOOPBACK_H
#define RPMSG_LOOPBACK_H

#include "rpmsg_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rpmsg_loopback_config {
    uint32_t num_bufs; /* per direction; 0: 16 */
    uint32_t buf_size; /* header included; 0: RPMSG_BUFFER_SIZE */
    uint32_t features_a, features_b; /* offered features; 0 means RPMSG_F_NS|RPMSG_F_ACK */
    bool no_features_a, no_features_b; /* offer nothing (plain peer without NS) */
    const char *name_a, *name_b;        /* cpu names; default "a" and "b" */
    bool no_rx_thread;                  /* both sides: driven by rpmsg_poll() */
    bool manual_link;                   /* do not bring the link up in create */
};

struct rpmsg_loopback;

/* Creates the pair (allocates its buffers) and, unless manual_link, brings the link up. */
int rpmsg_loopback_create(struct rpmsg_loopback **out, const struct rpmsg_loopback_config *cfg);
void rpmsg_loopback_destroy(struct rpmsg_loopback *lb);
struct rpmsg_device *rpmsg_loopback_dev_a(struct rpmsg_loopback *lb);
struct rpmsg_device *rpmsg_loopback_dev_b(struct rpmsg_loopback *lb);

/* Link control for tests: down, then up again (a peer reset). */
int rpmsg_loopback_link_down(struct rpmsg_loopback *lb);
int rpmsg_loopback_link_up(struct rpmsg_loopback *lb);

/*
 * Injects raw bytes as if the peer of dev had sent them (len bytes, header
 * included, at most buf_size): for bad-input tests. Returns 0 or -errno
 * (-EAGAIN when no buffer is free).
 */
int rpmsg_loopback_inject(struct rpmsg_loopback *lb, struct rpmsg_device *dev,
                          const void *raw, uint32_t len);

/* Free TX buffers in the direction that dev sends on. */
uint32_t rpmsg_loopback_free_tx(struct rpmsg_loopback *lb, struct rpmsg_device *dev);

#ifdef __cplusplus
}
#endif

#endif
