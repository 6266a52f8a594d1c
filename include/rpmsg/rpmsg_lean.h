/*
 * The lean remote (src/lean/, docs/mcu.md): the VirtIO remote role of a
 * microcontroller in a few KB of flash and a few hundred bytes of RAM. It is
 * a data path of its own, not the framework core plus a transport: one
 * context, polled, a fixed endpoint table, the region's layout fixed at build
 * time and checked once, name service announcements only (received NS
 * messages are dropped), no nesting, no backlog, no statistics. Everything it
 * reads from the region is still checked before use: ring indices, descriptor
 * ids, buffer addresses and lengths, message headers. A violation takes the
 * link down (the host resets the session and it comes back by itself).
 *
 * The session handshake is this project's gen/ack (include/rpmsg/
 * rpmsg_virtio.h), or with RPMSG_VIRTIO_GENACK 0 the legacy one of plain
 * Linux and OpenAMP hosts (wait for DRIVER_OK, NEEDS_RESET on a fault).
 * Either way the host writes the resource table (one vdev entry at
 * layout.rsc_offset + 20, as rpmsg_virtio_init writes it) with the vrings of
 * this layout, and the remote offers only RPMSG_F_NS: buffers are
 * RPMSG_BUFFER_SIZE bytes both ways, notifications follow the ring flags.
 *
 * Usage (examples/mcu/remote_echo.c):
 *     static struct rpmsg_lean ld;
 *     static struct rpmsg_lean_ept ept;
 *     rpmsg_lean_init(&ld, shm, shm_size, &layout, &board_ops, NULL);
 *     rpmsg_lean_create_ept(&ept, &ld, "echo", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, cb, NULL);
 *     for (;;) if (rpmsg_lean_poll(&ld) == 0) wait_for_interrupt();
 *
 * Compiled only with RPMSG_LEAN_REMOTE 1 (rpmsg_opt.h); it uses no other
 * source of the library and can be linked beside it.
 */
#ifndef RPMSG_LEAN_H
#define RPMSG_LEAN_H

#include "rpmsg_virtio.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rpmsg_lean;
struct rpmsg_lean_ept;

/* Called from rpmsg_lean_poll() with the payload (valid until it returns). */
typedef int (*rpmsg_lean_cb_t)(struct rpmsg_lean_ept *ept, void *data, size_t len, uint32_t src,
                               void *priv);

struct rpmsg_lean_ept {
    char name[RPMSG_NAME_SIZE];
    uint32_t addr;
    uint32_t dest; /* RPMSG_ADDR_ANY until the first message binds it */
    rpmsg_lean_cb_t cb;
    void *priv;
    struct rpmsg_lean *dev;
};

/* Private: one vring seen from the device side. */
struct rpmsg_lean_vq {
    uint8_t *desc, *avail, *used;
    uint16_t mask; /* num - 1 */
    uint16_t last; /* next avail entry to take */
    uint16_t used_idx;
};

struct rpmsg_lean {
    /* Private. */
    uint8_t *shm;
    const struct rpmsg_virtio_layout *lay;
    const struct rpmsg_virtio_platform_ops *ops;
    void *plat;
    uint8_t *vdev;
    uint32_t pool_start, pool_end;
    struct rpmsg_lean_vq vq[2];
    struct rpmsg_lean_ept *ept[RPMSG_LEAN_EPT_MAX];
    uint8_t state;
    uint8_t gen;
    uint8_t unannounced; /* bit i: ept[i] still to announce */
};

/*
 * Checks the layout against the region (vrings, table entry and buffer pool
 * inside it, num a power of two, no F_BASE) and prepares the device; the
 * link comes up in rpmsg_lean_poll(). The layout must stay valid (const, in
 * flash). 0, -EINVAL or -ENOTSUP.
 */
int rpmsg_lean_init(struct rpmsg_lean *ld, void *shm, size_t shm_size,
                    const struct rpmsg_virtio_layout *lay,
                    const struct rpmsg_virtio_platform_ops *ops, void *plat);
/*
 * Adds ept to the table (RPMSG_LEAN_EPT_MAX slots); src RPMSG_ADDR_ANY takes
 * RPMSG_ADDR_DYN_BASE + slot. name is announced (NS CREATE) each time the
 * link comes up. 0, -EINVAL, -EADDRINUSE or -ENOMEM (table full).
 */
int rpmsg_lean_create_ept(struct rpmsg_lean_ept *ept, struct rpmsg_lean *ld, const char *name,
                          uint32_t src, uint32_t dest, rpmsg_lean_cb_t cb, void *priv);
/* Takes ept out of the table (no NS DESTROY is sent). */
void rpmsg_lean_destroy_ept(struct rpmsg_lean_ept *ept);
/*
 * Sends len bytes to dst from ept's address. The try variant returns -EAGAIN
 * when the host has no buffer for us; the other waits for one (the platform's
 * wait, rpmsg_board_time_ms() deadlines) up to RPMSG_SEND_TIMEOUT_MS, without
 * receiving meanwhile. len, or -EMSGSIZE, -ENOTCONN, -EAGAIN, -ETIMEDOUT,
 * -EPROTO (the host broke the protocol: the link went down).
 */
int rpmsg_lean_sendto(struct rpmsg_lean_ept *ept, const void *data, size_t len, uint32_t dst);
int rpmsg_lean_trysendto(struct rpmsg_lean_ept *ept, const void *data, size_t len, uint32_t dst);
/* The same to ept's bound destination (-ENOTCONN while unbound). */
int rpmsg_lean_send(struct rpmsg_lean_ept *ept, const void *data, size_t len);
/*
 * Does the link's work: the handshake, announcements, and every message
 * waiting (each dispatched to its endpoint's callback, its buffer returned
 * when the callback returns). Messages received, or -EPROTO if the host broke
 * the protocol (the link is down and waits for the host's reset).
 */
int rpmsg_lean_poll(struct rpmsg_lean *ld);
/* True while a session is up. */
bool rpmsg_lean_is_up(const struct rpmsg_lean *ld);

#ifdef __cplusplus
}
#endif

#endif
