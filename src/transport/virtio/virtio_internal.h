/* Shared by the VirtIO transport's files; not part of the API. */
#ifndef RPMSG_VIRTIO_INTERNAL_H
#define RPMSG_VIRTIO_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "rpmsg/rpmsg_virtio.h"
#include "rsc_table.h"
#include "vring.h"

/* Largest buffer (header included) either direction may use. */
#define RPMSG_VIRTIO_BUF_MAX 65536u

#define VQ_RX_HOST 0 /* vring0: remote→host */
#define VQ_TX_HOST 1 /* vring1: host→remote */
#define SLOT_NIL 0xFFFFu

/* Who holds a descriptor/buffer (struct rpmsg_virtio_slot.state). */
enum {
    SLOT_IDLE,  /* host: not posted (RX) / in the free list (TX); remote: not ours */
    SLOT_PEER,  /* host: posted to the remote */
    SLOT_TAKEN, /* the core has this TX buffer */
    SLOT_HELD,  /* the core (or the application) has this RX buffer */
    SLOT_SPARE, /* remote: TX buffer taken from the ring but given back unused */
};

enum {
    VS_WAIT_TABLE, /* host: waiting for a valid table (the remote writes it) */
    VS_WAIT_ACK,   /* host: published a gen, waiting for the remote's ack */
    VS_WAIT_GEN,   /* remote: waiting for a published gen */
    VS_WAIT_OK,    /* remote: acked, waiting for DRIVER_OK */
    VS_UP,
    VS_FAULTED,    /* host: unpublished after a fault, waiting for ack 0; legacy: stuck */
    VS_DEAD,       /* peer_alive() said -ENOTCONN */
};

/* Where everything is, as validated (from our layout or a parsed table). */
struct rpmsg_virtio_geom {
    uint64_t table_off, table_end;
    struct rpmsg_rsc_vring vring[2];
    uint64_t pool_start, pool_end;
};

/* Where the config space's fields are (layout.cfg_format). */
struct rpmsg_virtio_cfgfmt {
    uint32_t size; /* config_len needed for BUFSZ/CPUNAME to be usable */
    uint32_t h2r, r2h, host_name, remote_name;
    uint32_t name_len; /* bytes of each name field, NUL included */
};
/* NULL for an unknown format. */
const struct rpmsg_virtio_cfgfmt *rpmsg_virtio_cfgfmt(uint32_t format);
#define CFGF(vd) ((const struct rpmsg_virtio_cfgfmt *)(vd)->cfgfmt)

uint32_t rpmsg_virtio_stride(uint32_t size);
uint32_t rpmsg_virtio_pool_need(const struct rpmsg_virtio_layout *l);
void rpmsg_virtio_layout_geom(const struct rpmsg_virtio_layout *l, size_t shm_size,
                              uint32_t config_len, struct rpmsg_virtio_geom *g);
/* Everything inside the region, vrings well-formed, no two parts overlapping. */
int rpmsg_virtio_geometry_check(const struct rpmsg_virtio_geom *g, size_t shm_size);

/* ---- virtio_bufs.c: the data path (lock held where noted) ---------------- */

/*
 * Records a protocol violation found in vring (-1: outside the rings) on
 * value (see rpmsg_virtio_stats); poll() acts on it. Lock held.
 */
void rpmsg_virtio_fault(struct rpmsg_virtio *vd, uint32_t reason, int vring, uint32_t value);
/* Forgets every buffer the peer had (link down). Lock held. */
void rpmsg_virtio_bufs_down(struct rpmsg_virtio *vd);
/* Host: lays out the buffers for the negotiated sizes, posts RX buffers. Lock held. */
int rpmsg_virtio_host_bufs_up(struct rpmsg_virtio *vd, uint32_t s0, uint32_t s1);
/* Remote: fresh bookkeeping for a new session. Lock held. */
void rpmsg_virtio_remote_bufs_up(struct rpmsg_virtio *vd, uint32_t s0, uint32_t s1);
/* Receives up to budget messages and reclaims TX buffers; see ops.poll. Lock
 * not held. drain: the peer ended the session, and what it published goes
 * to the core before the link goes down, even when a drive asks for the
 * link meanwhile (rpmsg_device_rx_yielding): it waits that much longer. */
int rpmsg_virtio_data_poll(struct rpmsg_virtio *vd, int budget, bool drain);
/*
 * Takes back the TX buffers the peer returned (host) or notices that it
 * posted some (remote). True if senders waiting for one must be told
 * (rpmsg_device_tx_done). Lock held.
 */
bool rpmsg_virtio_tx_back(struct rpmsg_virtio *vd);
/* Gives back at once the RX buffers this thread's poll of vd set aside
 * (virtio_bufs.c): its callback is about to sleep, and the peer may be
 * waiting for them. Lock not held. */
void rpmsg_virtio_rx_back_now(struct rpmsg_virtio *vd);
/* Has the peer published a message? For a spinning wait (wait_ready): on
 * the RX context, which alone moves the RX ring's consumer side, so no lock.
 * arg: the struct rpmsg_virtio. */
bool rpmsg_virtio_rx_ready(void *arg);
/* Asks the peer to ring for its next message, then rx_ready() (struct
 * rpmsg_virtio_watch.arm). Lock not held. */
bool rpmsg_virtio_rx_arm(void *arg);
/* Rings the peer for vring i (counts it). Lock not held. */
void rpmsg_virtio_kick(struct rpmsg_virtio *vd, int i);

extern const struct rpmsg_transport_ops rpmsg_virtio_ops_host;
extern const struct rpmsg_transport_ops rpmsg_virtio_ops_remote;
/* Shared ops implemented in rpmsg_virtio.c. */
int rpmsg_virtio_op_poll(struct rpmsg_device *rdev);
int rpmsg_virtio_op_wait(struct rpmsg_device *rdev, uint64_t deadline_ms);
void rpmsg_virtio_op_wakeup(struct rpmsg_device *rdev);

/* True for the host role; a constant when only one role is compiled in
 * (rpmsg_opt.h), so the other role's code folds away. */
static inline bool vd_host(const struct rpmsg_virtio *vd)
{
#if RPMSG_VIRTIO_HOST_ROLE && RPMSG_VIRTIO_REMOTE_ROLE
    return vd->role == RPMSG_VIRTIO_HOST;
#else
    (void)vd;
    return RPMSG_VIRTIO_HOST_ROLE;
#endif
}

/* True for a peer without the gen/ack handshake (config.legacy); a constant
 * when only one of the two is compiled in. */
static inline bool vd_legacy(const struct rpmsg_virtio *vd)
{
#if RPMSG_VIRTIO_LEGACY && RPMSG_VIRTIO_GENACK
    return vd->legacy;
#else
    (void)vd;
    return RPMSG_VIRTIO_LEGACY;
#endif
}

/* Cache hints (RPMSG_VIRTIO_PREFETCH): never fault, never needed for
 * correctness. x86 spells out PREFETCHW: GCC emits it for a write hint only
 * with -mprfchw and otherwise a read prefetch, which leaves the line shared
 * and the store still waiting for ownership (x86-64 CPUs without the
 * instruction run it as a NOP). */
static inline void vd_prefetch(const void *p)
{
#if RPMSG_VIRTIO_PREFETCH && defined(__GNUC__)
    __builtin_prefetch(p, 0, 3);
#else
    (void)p;
#endif
}

static inline void vd_prefetch_w(const void *p)
{
#if RPMSG_VIRTIO_PREFETCH && defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__ volatile("prefetchw %0" ::"m"(*(const char *)p));
#elif RPMSG_VIRTIO_PREFETCH && defined(__GNUC__)
    __builtin_prefetch(p, 1, 3);
#else
    (void)p;
#endif
}

static inline struct rpmsg_virtio *vd_of(struct rpmsg_device *rdev)
{
    return rdev->transport;
}

#endif
