/*
 * Router: logical routing across domains. A core that is two or more hops
 * away appears on this core as an ordinary rpmsg device (a *virtual device*)
 * whose remote cpu name is the far core's: device_created fires when the
 * route is up, device_destroyed when any hop on it is lost, services bind by
 * name through it (names keep all 31 characters) and data flows both ways.
 *
 * Run one router per core. Attach it to the core's links (any struct
 * rpmsg_device: VirtIO, port, loopback, even a virtual device of another
 * router). A router made with hub = true also forwards: it tells each link
 * which cores it can reach through its other links and relays their
 * traffic. Every router, hub or not, turns the routes it hears of into
 * virtual devices.
 *
 *   big --link-- A (hub) --link-- B (hub) --link-- C
 *   big sees A (real), B and C (virtual); C sees B (real), A and big (virtual).
 *
 * Largest payload through a route: min over the hops of (that hop's buffer
 * payload - 16), e.g. 480 bytes with 512-byte buffers everywhere; it is what
 * rpmsg_get_tx_buffer_size() returns on the virtual device.
 *
 * The design and the wire protocol are described at the top of
 * src/transport/router/router.c.
 */
#ifndef RPMSG_ROUTER_H
#define RPMSG_ROUTER_H

#include "rpmsg_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Static address of the router's control endpoint on every link. */
#ifndef RPMSG_ROUTER_ADDR
#define RPMSG_ROUTER_ADDR 0x3F0u
#endif

/* Links one router can attach. */
#ifndef RPMSG_ROUTER_LINKS_MAX
#if RPMSG_NO_SYS
#define RPMSG_ROUTER_LINKS_MAX 2
#else
#define RPMSG_ROUTER_LINKS_MAX 8
#endif
#endif

/* Distinct cpu names a router keeps track of (neighbours and far cores). */
#ifndef RPMSG_ROUTER_CPUS_MAX
#if RPMSG_NO_SYS
#define RPMSG_ROUTER_CPUS_MAX 4
#else
#define RPMSG_ROUTER_CPUS_MAX 32
#endif
#endif

/* Longest route, in hubs; bounds any routing loop in a meshed topology. */
#ifndef RPMSG_ROUTER_HOPS_MAX
#define RPMSG_ROUTER_HOPS_MAX 8
#endif

/* Inner messages queued per virtual device between its link and its RX
 * context (without an OS: link markers, and messages that arrive while a
 * callback of the same far core runs). */
#ifndef RPMSG_ROUTER_QUEUE_MAX
#if RPMSG_NO_SYS
#define RPMSG_ROUTER_QUEUE_MAX 8
#else
#define RPMSG_ROUTER_QUEUE_MAX 256
#endif
#endif

/*
 * Messages a hub holds per direction of a route while the next link has no
 * TX buffer (each one an RX buffer of the link it came by, so at most that
 * link's buffers, and its hold table, RPMSG_HOLD_MAX, shared by its
 * routes). Beyond it the RX thread of the link they come by waits, and with
 * it every route over that link. A power of two.
 */
#ifndef RPMSG_ROUTER_RELAY_MAX
#if RPMSG_NO_SYS
#define RPMSG_ROUTER_RELAY_MAX 8
#else
#define RPMSG_ROUTER_RELAY_MAX 32
#endif
#endif

/* Zero-copy TX buffers an application may hold at once per virtual device. */
#ifndef RPMSG_ROUTER_TX_MAX
#if RPMSG_NO_SYS
#define RPMSG_ROUTER_TX_MAX 4
#else
#define RPMSG_ROUTER_TX_MAX 64
#endif
#endif

/*
 * Without an OS (RPMSG_NO_SYS) nothing is allocated: the router, its
 * virtual devices (one per far core) and a hub's circuits (one per route
 * through it) come from fixed pools in the memory the caller gives
 * rpmsg_router_init_mem(). With an OS they are allocated as needed.
 */
#ifndef RPMSG_ROUTER_VDEV_MAX
#define RPMSG_ROUTER_VDEV_MAX 2
#endif
#ifndef RPMSG_ROUTER_CIRCUIT_MAX
#define RPMSG_ROUTER_CIRCUIT_MAX 4
#endif

/* Gateways for neighbours that run no router (rpmsg_router_attach_plain).
 * 0: not compiled, attach_plain returns -ENOTSUP. Off without an OS. */
#ifndef RPMSG_ROUTER_GATEWAY
#define RPMSG_ROUTER_GATEWAY (!RPMSG_NO_SYS)
#endif

/* Pause before a failed or refused route setup is tried again. */
#ifndef RPMSG_ROUTER_RETRY_MS
#define RPMSG_ROUTER_RETRY_MS 200
#endif

/* A route setup with no answer after this long is abandoned and retried. */
#ifndef RPMSG_ROUTER_CONNECT_TIMEOUT_MS
#define RPMSG_ROUTER_CONNECT_TIMEOUT_MS 2000
#endif

struct rpmsg_router_config {
    const char *local_cpuname; /* required: this core's name, as its peers know it */
    bool hub;                  /* forward between this core's links */
    uint32_t features;         /* RPMSG_F_* offered on virtual devices; 0: NS|ACK */
    /*
     * false (default): a far core's callbacks run on the RX thread of the
     * link its messages arrive on, as a neighbour's do; its virtual device's
     * own thread steps in only while that link's thread is busy with it.
     * true: always on the virtual device's own thread: one more thread
     * hand-off per message, but a callback that blocks for long cannot hold
     * up the other traffic of the link.
     */
    bool rx_thread_per_far_core;
};

struct rpmsg_router_stats {
    uint64_t relayed_msgs;   /* hub: messages handed from one link to another */
    uint64_t relayed_bytes;
    uint64_t tunnel_tx;      /* edge: messages sent from virtual devices */
    uint64_t tunnel_rx;      /* edge: messages delivered to virtual devices */
    uint64_t routes_up;      /* end-to-end routes established (virtual device up) */
    uint64_t routes_down;
    uint64_t connect_refused; /* route setups refused by a hop or the far end */
    uint64_t drop_bad_ctrl;  /* control message: wrong size or version, bad field */
    uint64_t drop_stale_ctrl; /* control message about a route this router does not know */
    uint64_t drop_no_route;  /* tunnel message for a route not (or no longer) up */
    uint64_t drop_too_big;   /* relayed message larger than the next hop carries */
    uint64_t drop_tx_fail;   /* relay or control send failed (link down, timeout) */
    uint64_t drop_queue_full; /* virtual device queue full */
    uint64_t rx_bounced;     /* inner messages copied because the link's hold table was full */
    uint64_t drop_gw_unknown; /* gateway: from or to an address with no proxy, malformed inner message */
    uint64_t drop_gw_full;   /* gateway: proxy or announcement table full */
    uint64_t relay_held;     /* hub: relayed from a held RX buffer, the next link had none free */
    uint64_t relay_dropped_held; /* hub: held RX buffers given back unsent (route or link lost) */
    uint64_t relay_waits;    /* hub: an RX thread waited, its route's held messages at RPMSG_ROUTER_RELAY_MAX */
};

struct rpmsg_router;

#if !RPMSG_NO_SYS
/* Starts a router (allocates it and its worker thread). */
int rpmsg_router_create(struct rpmsg_router **out, const struct rpmsg_router_config *cfg);
#endif
/*
 * Without threads (the only way in an RPMSG_NO_SYS build): the router, its
 * pools included, lives in mem (rpmsg_router_mem_size() bytes, 8-aligned,
 * the caller's until rpmsg_router_destroy), and the application calls
 * rpmsg_router_poll() in its main loop, beside the polls of its links
 * (rpmsg_port_poll_link, rpmsg_poll). Virtual devices need no poll of their
 * own: rpmsg_router_poll() runs them. -EINVAL: mem too small or misaligned.
 */
size_t rpmsg_router_mem_size(void);
int rpmsg_router_init_mem(struct rpmsg_router **out, const struct rpmsg_router_config *cfg,
                          void *mem, size_t size);
/*
 * One step, never blocking: link changes, route setups and their timers,
 * relays held for a buffer, sends that found none, virtual devices' queued
 * messages and link events. Returns how much it did (0: nothing), or
 * -EINVAL. With threads (rpmsg_router_create) it does nothing: the
 * router's own threads do that work.
 */
int rpmsg_router_poll(struct rpmsg_router *r);
/*
 * Stops the router: every virtual device goes down (device_destroyed) and is
 * freed, so endpoints on them must be destroyed first (typically in
 * device_destroyed). Attached links are left as they are.
 */
void rpmsg_router_destroy(struct rpmsg_router *r);

/*
 * Routes over link from now on, whether it is up already or comes up later.
 * The link must outlive the attachment: detach it (or destroy the router)
 * before deinitialising it. Returns 0, -EINVAL, -EEXIST (already attached),
 * -EADDRINUSE (another router has RPMSG_ROUTER_ADDR on it) or -ENOMEM.
 */
int rpmsg_router_attach(struct rpmsg_router *r, struct rpmsg_device *link);
/*
 * Like rpmsg_router_attach, for a neighbour that runs no router (a NuttX
 * core, any plain rpmsg peer). A hub becomes its gateway: it advertises the
 * peer's cpu name, and a far core that connects to it gets an ordinary
 * device whose endpoints and names the hub proxies onto this link (the peer
 * sees ordinary announcements from the hub). The router watches the peer's
 * announcements without taking them: this core's own services still bind
 * them. Same returns.
 */
int rpmsg_router_attach_plain(struct rpmsg_router *r, struct rpmsg_device *link);
/* (-ENOTSUP where RPMSG_ROUTER_GATEWAY is 0.) */
/* Takes every route over link down and stops using it. 0 or -ENOENT. */
int rpmsg_router_detach(struct rpmsg_router *r, struct rpmsg_device *link);

/* The virtual device for a far cpu, or NULL if no route to it was ever seen. */
struct rpmsg_device *rpmsg_router_find(struct rpmsg_router *r, const char *cpuname);
/* True when rdev is a virtual device of some router. */
bool rpmsg_router_is_virtual(const struct rpmsg_device *rdev);

int rpmsg_router_get_stats(struct rpmsg_router *r, struct rpmsg_router_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* RPMSG_ROUTER_H */
