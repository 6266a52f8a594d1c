/* Router internals shared by its files; see router.c for the design. */
#ifndef RPMSG_ROUTER_PRIV_H
#define RPMSG_ROUTER_PRIV_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpmsg/rpmsg_router.h"

/* ---- Wire format (router.c, "Control protocol") ---------------------------- */

#define RR_VERSION 1
#define RR_WIRE_NAME 32
#define RR_WIRE_SIZE (24 + 2 * RR_WIRE_NAME)

enum rr_type {
    RR_HELLO = 1,
    RR_ROUTE = 2,
    RR_CONNECT = 3,
    RR_ACCEPT = 4,
    RR_REJECT = 5,
    RR_DISCONNECT = 6,
};

#define RR_HELLO_REPLY 0x01u
#define RR_HELLO_HUB 0x02u
#define RR_HELLO_BYE 0x04u /* the sender stops routing on this link */

#define RR_ROUTE_PLAIN 0x01u /* ROUTE: the destination runs no router; connect to it */

#define RR_INF 0xFFu     /* hops: no route (ROUTE: withdrawn) */
#define RR_UNKNOWN 0xFEu /* advertised: a send failed, the peer's view is unknown */

/* A control message, decoded to host order. */
struct rr_msg {
    uint8_t type;
    uint8_t hops;
    uint8_t flags;
    uint32_t to;       /* circuit: the receiver's tunnel address (ANY: unknown) */
    uint32_t from;     /* circuit: the sender's tunnel address */
    uint32_t fwd;      /* largest inner message initiator -> target, so far */
    uint32_t rev;      /* largest inner message target -> initiator, so far */
    uint32_t features; /* RPMSG_F_* of the virtual device at the sending end */
    char name[RPMSG_CPUNAME_SIZE]; /* HELLO: sender; ROUTE: destination; CONNECT: target */
    char src[RPMSG_CPUNAME_SIZE];  /* CONNECT: initiator */
};

void rr_encode(const struct rr_msg *m, uint8_t out[RR_WIRE_SIZE]);
/* 0, or -EBADMSG for anything malformed. */
int rr_decode(const void *data, size_t len, struct rr_msg *m);

/* ---- State ----------------------------------------------------------------- */

struct rpmsg_router;

/* Gateway (gateway.c): what one plain peer announced, proxies per far core. */
#define RR_GW_ANN_MAX 16
#define RR_GW_PROXIES 16
/* While a proxy waits for the plain peer's CREATE_ACK: often at first (a
 * NuttX peer binds at once), rarely after (it may never bind). */
#define RR_GW_POLL_MS 5
#define RR_GW_POLL_SLOW_MS 200
#define RR_GW_POLL_FAST_FOR_MS 2000

struct rr_ann {
    char name[RPMSG_NAME_SIZE];
    uint32_t addr;
    unsigned seq; /* order of arrival, for the circuits that pass it on */
    bool valid;
};

struct rr_link {
    struct rpmsg_router *r;
    struct rpmsg_device *rdev; /* NULL: free slot */
    struct rpmsg_endpoint ctrl;
    /* Counted by the service callbacks, consumed by the worker: a down then
     * up is never mistaken for nothing. */
    unsigned ups, downs, ups_seen, downs_seen;
    bool up;         /* the worker's view */
    bool present;    /* the peer runs a router (HELLO exchanged) */
    bool need_hello; /* send HELLO (REPLY when need_reply) */
    bool need_reply;
    bool detaching;
    bool restarted;  /* the peer router started over: its circuits are gone */
    bool plain;      /* the peer runs no router: this hub is its gateway */
#if RPMSG_ROUTER_GATEWAY
    struct rr_ann ann[RR_GW_ANN_MAX]; /* plain: the peer's announcements */
    unsigned ann_seq;
#endif
    bool learned_plain[RPMSG_ROUTER_CPUS_MAX]; /* ROUTE came with RR_ROUTE_PLAIN */
    char remote[RPMSG_CPUNAME_SIZE]; /* the device's remote cpu, at link up */
    char peer[RPMSG_CPUNAME_SIZE];   /* the peer router's name, from HELLO */
    uint8_t learned[RPMSG_ROUTER_CPUS_MAX];    /* hops the peer advertised */
    uint8_t advertised[RPMSG_ROUTER_CPUS_MAX]; /* hops we told the peer */
    unsigned refs; /* buffers of virtual devices still on this link (atomic) */
#if RPMSG_NO_SYS
    uint32_t seen_session; /* the link's state at the last poll */
    bool seen_up;
#endif
    /* TX pump: turns "a buffer came back on this link" into wakeups (a
     * thread, or a step of rpmsg_router_poll without an OS). */
    rpmsg_thread_t pump;
    rpmsg_cond_t pump_cond;
    bool pump_started, pump_stop, starved;
    /* A virtual device carried by this link starved (atomic): the pump's
     * round looks for it then only, not under every device's lock each time. */
    bool vd_starved;
};

enum rr_hc_state { RR_HC_CONNECTING, RR_HC_UP, RR_HC_DEAD };

/* A hub's part of a route: one endpoint on each link; each relays to the other. */
struct rr_hub_circuit {
    struct rr_hub_circuit *next;
    struct rpmsg_router *r;
    enum rr_hc_state state;
    struct rr_side {
        struct rr_link *link;
        struct rpmsg_endpoint ept;
        uint32_t peer; /* the neighbour's tunnel address (ANY until known) */
        /* ept.addr, kept: the other link's RX context relays from it with
         * no lock while the reaper's destroy resets the endpoint's own. */
        uint32_t addr;
        bool live; /* ept created, not yet destroyed */
        /* Received on this side, held, waiting for a TX buffer of the other
         * side's link: filled by this link's RX context (tail), emptied by
         * the other link's pump (head), see circuit.c. An entry stays until
         * it has left, so nothing newer overtakes it. */
        struct rr_relayed {
            void *buf;
            uint32_t len;
        } q[RPMSG_ROUTER_RELAY_MAX];
        unsigned qhead, qtail; /* running counts (atomic) */
    } s[2]; /* 0: toward the initiator, 1: toward the target */
    /* Pumps sending from q (one per direction): reap waits (r->lock). */
    unsigned pumping;
};

struct rr_gw;

/* One of C's named endpoints on the plain link. */
struct rr_proxy {
    struct rr_gw *g;
    struct rpmsg_endpoint ept; /* on the plain link; dest_addr: the plain peer's */
    uint32_t ca;               /* C's address */
    uint32_t na;               /* the plain peer's, once known (ANY until then) */
    uint64_t since;            /* created: how often to look for its binding */
    bool live;                 /* ept created, not yet destroyed */
    bool busy;                 /* being created or destroyed by C's RX thread */
    bool told;                 /* C knows the address the proxy is bound to */
    bool gone;                 /* the plain peer's endpoint went (NS DESTROY) */
};

/* A route from a far core C ending at this hub for its plain neighbour. */
struct rr_gw {
    struct rr_gw *next;
    struct rpmsg_router *r;
    bool dead, accepted;
    struct rr_link *link;  /* toward C */
    struct rr_link *plain; /* to the plain peer */
    struct rpmsg_endpoint tun;
    uint32_t peer; /* the next hop's tunnel address toward C */
    uint32_t mtu;  /* largest inner message toward C */
    unsigned ann_seen;
    uint8_t *scratch; /* mtu bytes: the plain link's RX thread builds inner messages here */
    struct rr_proxy px[RR_GW_PROXIES];
};

enum rr_vstate { RR_V_DOWN, RR_V_CONNECTING, RR_V_UP };
enum rr_qkind { RR_Q_DATA, RR_Q_UP, RR_Q_DOWN };

struct rr_qent {
    uint8_t kind;
    bool bounce; /* buf is a malloc'd copy, not the link's held buffer */
    uint32_t len;
    void *buf;
    struct rr_link *link;
    uint32_t mtu, features; /* RR_Q_UP */
};

struct rr_held {
    void *buf;
    struct rr_link *link;
    bool bounce;
};

struct rr_txbuf {
    void *buf;
    struct rr_link *link;
    uint32_t gen;
};

/* Dispatched but not yet released: nested dispatch plus application holds. */
#define RR_HELD_MAX (RPMSG_HOLD_MAX + RPMSG_NEST_MAX + 4)

/* A far core as seen from here: an ordinary device (RX context lent, vdev.c). */
struct rr_vdev {
    struct rpmsg_device dev;
    struct rpmsg_router *r;
    char name[RPMSG_CPUNAME_SIZE];
    rpmsg_mutex_t lock; /* everything below; after r->lock */
    rpmsg_cond_t cond;
    /* The current route (circuit). */
    enum rr_vstate state;
    bool initiator;
    struct rr_link *carrier;
    struct rpmsg_endpoint tun; /* on carrier: receives the far end's messages */
    bool tun_live, tun_dead;   /* dead: the worker must destroy it */
    /* tun.addr while tun_live (v->lock): destroy resets the endpoint's own
     * with no lock of ours, under a sender reading it here. */
    uint32_t tun_addr;
    uint32_t peer;             /* the next hop's tunnel address on carrier */
    uint32_t mtu;              /* largest inner message this way */
    uint32_t gen;              /* bumped per circuit: stale TX buffers are not sent */
    uint64_t since;            /* CONNECTING since */
    uint64_t next_try;
    bool up_pending;      /* UP, but its marker not queued yet */
    uint32_t up_features; /* the far end's RPMSG_F_* */
    /* RX: FIFO of inner messages and link markers, drained by the RX thread. */
    struct rr_qent q[RPMSG_ROUTER_QUEUE_MAX];
    unsigned qhead, qcount;
    bool wake;
    struct rr_held held[RR_HELD_MAX];
    unsigned nheld;
    /* Delivering on a carrier link's RX thread (see vdev.c): how deep, on
     * which link, and whether a nested wait sleeps in that link's wait(). */
    unsigned inl_depth;
    struct rr_link *inl;
    bool inl_waiting;
    /* TX buffers handed to the core and not yet sent or released. */
    struct rr_txbuf tx[RPMSG_ROUTER_TX_MAX];
    unsigned ntx;
    bool starved;
};

#if RPMSG_NO_SYS
#define RR_CONNECTQ 4
#else
#define RR_CONNECTQ 32
#endif
/* The worker's scratch: a full re-advertisement on every link. */
#define RR_OUT_MAX (RPMSG_ROUTER_LINKS_MAX * (RPMSG_ROUTER_CPUS_MAX + 4))

struct rpmsg_router {
    struct rpmsg_router *next; /* process-wide list (service callbacks) */
    char name[RPMSG_CPUNAME_SIZE];
    bool hub;
    bool rx_own_thread; /* config rx_thread_per_far_core */
    uint32_t features;
    rpmsg_mutex_t lock;
    rpmsg_cond_t cond;    /* the worker's */
    rpmsg_cond_t tx_cond; /* senders waiting for a buffer on some link */
    uint32_t tx_gen;
    unsigned tx_waiters; /* rr_send's sleepers (atomic): the pump locks only for them */
    bool work, stop;
    rpmsg_thread_t worker;
    bool worker_started;
    struct rr_link links[RPMSG_ROUTER_LINKS_MAX];
    char cpus[RPMSG_ROUTER_CPUS_MAX][RPMSG_CPUNAME_SIZE];
    unsigned ncpus;
    struct rr_vdev *vdevs[RPMSG_ROUTER_CPUS_MAX]; /* by cpu slot, created on demand */
    struct rr_hub_circuit *circuits;
    struct rr_gw *gws;
    /* CONNECT requests, handled by the worker (they create endpoints, devices). */
    struct rr_creq {
        struct rr_link *link;
        unsigned downs; /* link->downs when received: stale after a link loss */
        struct rr_msg m;
    } creq[RR_CONNECTQ];
    unsigned creq_head, creq_count;
    struct rpmsg_router_stats stats; /* updated with atomics */
    /* Worker scratch: messages computed under the lock, sent after. */
    struct rr_out {
        struct rr_link *link;
        struct rr_msg m;
    } *out;
    unsigned nout, out_max;
    bool own_mem; /* allocated by rpmsg_router_create */
#if RPMSG_NO_SYS
    /* No allocator: fixed pools (pool.c), and rpmsg_router_poll's timer. */
    uint64_t next_run;
    struct rr_out out_pool[RR_OUT_MAX];
    struct rr_vdev vdev_pool[RPMSG_ROUTER_VDEV_MAX];
    struct rr_hub_circuit hc_pool[RPMSG_ROUTER_CIRCUIT_MAX];
    bool vdev_used[RPMSG_ROUTER_VDEV_MAX];
    bool hc_used[RPMSG_ROUTER_CIRCUIT_MAX];
#endif
};

/* ---- pool.c: where virtual devices and hub circuits come from ------------- */

/* Zeroed, or NULL (out of memory, or the pool is used up). */
struct rr_vdev *rr_vdev_alloc(struct rpmsg_router *r);
void rr_vdev_free(struct rpmsg_router *r, struct rr_vdev *v);
struct rr_hub_circuit *rr_hc_alloc(struct rpmsg_router *r);
void rr_hc_free(struct rpmsg_router *r, struct rr_hub_circuit *hc);

#if RPMSG_NO_SYS
/* One context, and no 64-bit atomics on a 32-bit microcontroller. */
#define RR_STAT(r, field) ((r)->stats.field++)
#define RR_STAT_ADD(r, field, n) ((r)->stats.field += (n))
#define RR_ATOMIC_ADD(p, n) (*(p) += (n))
#define RR_ATOMIC_LOAD(p) (*(p))
#else
#define RR_STAT(r, field) __atomic_add_fetch(&(r)->stats.field, 1, __ATOMIC_RELAXED)
#define RR_STAT_ADD(r, field, n) __atomic_add_fetch(&(r)->stats.field, (n), __ATOMIC_RELAXED)
#define RR_ATOMIC_ADD(p, n) __atomic_add_fetch((p), (n), __ATOMIC_ACQ_REL)
#define RR_ATOMIC_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#endif

/* Largest inner message (header included) a link carries from this side. */
static inline uint32_t rr_link_mtu(const struct rr_link *l)
{
    uint32_t size = rpmsg_device_tx_buf_size(l->rdev);
    return size > 2 * RPMSG_HDR_SIZE ? size - RPMSG_HDR_SIZE : 0;
}

static inline void rr_copy_name(char *dst, const char *src)
{
    size_t n = src ? strnlen(src, RPMSG_CPUNAME_SIZE - 1) : 0;
    memcpy(dst, src, n);
    memset(dst + n, 0, RPMSG_CPUNAME_SIZE - n);
}

static inline bool rr_same(const char *a, const char *b)
{
    return strncmp(a, b, RPMSG_CPUNAME_SIZE) == 0;
}

/* ---- router.c ----------------------------------------------------------------- */

/* Wakes the worker; r->lock held. */
void rr_kick(struct rpmsg_router *r);
/* Queues m for link in the worker's scratch; r->lock held. */
void rr_out_add(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m);
/* Sends what rr_out_add queued; r->lock not held. */
void rr_out_flush(struct rpmsg_router *r);

/* ---- ctrl.c: sending and the TX pump -------------------------------------- */

/*
 * Sends len bytes from src to dst over l (via its control endpoint), waiting
 * for a buffer if need be, but not past the send timeout, r->stop, or hc dying.
 * Never call on l's own RX thread (it would not dispatch while waiting).
 */
int rr_send(struct rpmsg_router *r, struct rr_link *l, uint32_t src, uint32_t dst,
            const void *data, uint32_t len, struct rr_hub_circuit *hc);
int rr_send_msg(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m);
/* Marks l starved: its pump will wake waiters when a buffer comes back. */
void rr_starve(struct rpmsg_router *r, struct rr_link *l);
void rr_starve_locked(struct rr_link *l); /* r->lock held */
int rr_pump_start(struct rr_link *l);
/* One round of l's pump: relays held for l, then wakes the starved.
 * wait: block in the core for a buffer (the pump thread). */
void rr_pump_round(struct rr_link *l, bool wait);
/* Stops and joins the pump; l->ctrl must already be destroyed. */
void rr_pump_join(struct rr_link *l);
/* Wakes senders waiting on r->tx_cond; r->lock held. */
void rr_tx_wake(struct rpmsg_router *r);

/* ---- routes.c: HELLO, ROUTE, the routing table ------------------------------ */

/* Slot of name, added if new; -1 when full or name is ours. r->lock held. */
int rr_cpu_slot(struct rpmsg_router *r, const char *name, bool add);
void rr_on_hello(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m);
void rr_on_route(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m);
/* Best route to cpu slot s: hops (RR_INF none, 0 direct) and link. r->lock held. */
uint8_t rr_best(struct rpmsg_router *r, int s, struct rr_link **via);
/* The route via `via` to cpu slot s ends at a plain peer (via from rr_best). */
static inline bool rr_route_plain(const struct rr_link *via, int s)
{
    return via && s >= 0 && (via->plain || via->learned_plain[s]);
}
/* Worker: link state changes, HELLOs, advertisements. */
void rr_routes_link_up(struct rpmsg_router *r, struct rr_link *l);
void rr_routes_link_down(struct rpmsg_router *r, struct rr_link *l);
void rr_routes_update(struct rpmsg_router *r);
/* Tells the peer this router stops routing on l. */
void rr_routes_bye(struct rpmsg_router *r, struct rr_link *l);
/* Name of the cpu at the other end of l (device name, else HELLO name). */
const char *rr_link_peer(const struct rr_link *l);

/* ---- circuit.c: route setup, relay, teardown ------------------------------ */

void rr_on_connect(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m); /* worker */
void rr_on_accept(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m);
void rr_on_reject(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m);
void rr_on_disconnect(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m);
/* Worker: start routes this core should initiate, time out stale ones. Returns
 * the ms until it wants to run again (RPMSG_FOREVER: nothing pending). */
uint64_t rr_circuits_update(struct rpmsg_router *r);
/* Worker: every circuit through l is lost. */
void rr_circuits_link_down(struct rpmsg_router *r, struct rr_link *l);
/* Worker: destroys the endpoints of dead circuits, frees them. */
void rr_circuits_reap(struct rpmsg_router *r);
/* Destroy: kills and reaps everything. */
void rr_circuits_kill_all(struct rpmsg_router *r);
/* Pump of l, holding a TX payload buffer *buf of l (capacity cap): sends
 * the held relays going out on l, oldest first, the first in that buffer,
 * then as many as l has buffers free. Returns how many it sent; *buf: the
 * buffer if unused (the caller's to give back), else NULL. */
unsigned rr_relay_held(struct rpmsg_router *r, struct rr_link *l, void **buf, uint32_t cap);

/* ---- vdev.c: the virtual device transport ----------------------------------- */

struct rr_vdev *rr_vdev_create(struct rpmsg_router *r, const char *name);
void rr_vdev_destroy(struct rr_vdev *v);
/* Queues a link marker (v->lock held). false when the queue is full. */
bool rr_vdev_push_marker(struct rr_vdev *v, enum rr_qkind kind, uint32_t mtu, uint32_t features);
/* Queues the pending UP marker (v->lock held). */
void rr_vdev_flush_up(struct rr_vdev *v);
/* The circuit ended (v->lock held): DOWN marker if it was up, tunnel to destroy. */
void rr_vdev_circuit_end(struct rr_vdev *v, uint64_t retry_at);
int rr_vdev_tun_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv);
/* Pump: buffers came back on l; wakes starved virtual devices carried by it. */
void rr_vdev_kick_starved(struct rpmsg_router *r, struct rr_link *l);
/* Without an OS: runs v's queue (its RX context's work). */
int rr_vdev_poll(struct rr_vdev *v);

/* ---- gateway.c: routes ending here for a plain neighbour ---------------------- */

/* Worker: C's CONNECT for the plain peer on `plain`: accept it here. */
void rr_gw_connect(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m,
                   struct rr_link *plain);
/* true when m was about a gateway circuit. */
bool rr_gw_on_disconnect(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m);
/*
 * ns_match of the service each plain link registers (priv: the link, so
 * that the core replays what was announced before the attach). It records
 * the announcement for the gateway and declines: the announcement stays
 * the core's, and this core's own services and endpoints still bind it.
 */
bool rr_gw_ns_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest);
/* Worker: every gateway circuit using l dies. */
void rr_gw_link_down(struct rpmsg_router *r, struct rr_link *l);
/* Worker: passes on announcements and bindings; returns ms until it wants to run again. */
uint64_t rr_gw_update(struct rpmsg_router *r);
void rr_gw_reap(struct rpmsg_router *r);
void rr_gw_kill_all(struct rpmsg_router *r);
/* r->lock held: some gateway circuit still uses l. */
bool rr_gw_link_busy(struct rpmsg_router *r, struct rr_link *l);

#endif
