/*
 * The contract between the framework and a transport (VirtIO, port, router,
 * loopback). A transport embeds a struct rpmsg_device, fills an ops table,
 * and calls the rpmsg_device_* functions below. The core never includes a
 * transport's header; it knows a link only through these ops.
 *
 * Buffers: a transport hands out whole buffers, rpmsg header included. The
 * core writes the header and the payload and gives the buffer back through
 * send() or release_tx_buffer(). Received buffers go to rpmsg_device_rx()
 * and come back through release_rx_buffer(), possibly later and from another
 * thread when the application held them.
 */
#ifndef RPMSG_TRANSPORT_H
#define RPMSG_TRANSPORT_H

#include "rpmsg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The rpmsg message header, little-endian on the wire (wire-formats.md §1). */
struct rpmsg_hdr {
    uint32_t src;
    uint32_t dst;
    uint32_t reserved;
    uint16_t len;
    uint16_t flags;
} __attribute__((packed));

/* Name service message (wire-formats.md §2). */
struct rpmsg_ns_msg {
    char name[RPMSG_NAME_SIZE];
    uint32_t addr;
    uint32_t flags;
} __attribute__((packed));

/* Core features this build supports (rpmsg_opt.h: RPMSG_NS, RPMSG_NS_ACK).
 * A transport offers its peer none outside RPMSG_F_KEEP, which lets the
 * transport's own feature bits through. */
#define RPMSG_F_BUILT ((RPMSG_NS ? RPMSG_F_NS : 0u) | (RPMSG_NS && RPMSG_NS_ACK ? RPMSG_F_ACK : 0u))
#define RPMSG_F_KEEP (RPMSG_F_BUILT | ~(RPMSG_F_NS | RPMSG_F_ACK))

#define RPMSG_NS_CREATE 0u
#define RPMSG_NS_DESTROY 1u
#define RPMSG_NS_CREATE_ACK 2u

struct rpmsg_transport_ops {
    /*
     * A free TX buffer (header included) or NULL if none right now; never
     * blocks. *size receives the buffer's capacity in bytes.
     */
    void *(*get_tx_buffer)(struct rpmsg_device *rdev, uint32_t *size);
    /*
     * Transmits len bytes of buf (header included). The buffer is the
     * transport's again whatever happens, except that a buf which is not one
     * of its TX buffers is refused with -EINVAL and left alone.
     */
    int (*send)(struct rpmsg_device *rdev, void *buf, uint32_t len);
    /* Takes back a TX buffer that will not be sent. */
    int (*release_tx_buffer)(struct rpmsg_device *rdev, void *buf);
    /* Takes back an RX buffer once the core and the application are done. */
    void (*release_rx_buffer)(struct rpmsg_device *rdev, void *buf);
    /*
     * Does the link's pending work without blocking: passes each received
     * message to rpmsg_device_rx(), reclaims sent buffers (then calls
     * rpmsg_device_tx_done()), follows link state (rpmsg_device_link_up/down).
     * Returns the number of messages received, or -errno if the link failed.
     * Must be reentrant: a callback that waits (rpmsg_wait, a blocking send on
     * the RX thread) calls poll() again from inside rpmsg_device_rx(). So take
     * each message off the ring before delivering it and hold no lock across
     * rpmsg_device_rx().
     */
    int (*poll)(struct rpmsg_device *rdev);
    /*
     * Blocks until the peer signals anything, rpmsg_device's wakeup() is
     * called, or the absolute deadline (rpmsg_time_ms() scale) passes.
     * Returns 0 or -ETIMEDOUT. Spurious returns are fine. TX buffers that
     * came back are reported here too (rpmsg_device_tx_done): a send waiting
     * on the RX context with every backlog slot taken waits without polling.
     */
    int (*wait)(struct rpmsg_device *rdev, uint64_t deadline_ms);
    /* Makes a concurrent or the next wait() return. */
    void (*wakeup)(struct rpmsg_device *rdev);
    /*
     * Optional, the copy send in one step: takes a free TX buffer, writes
     * hdr and then len bytes of payload into it and transmits it (a
     * transport with a lock takes it once, where get_tx_buffer() and send()
     * take it twice). Never blocks: -ENOBUFS if no buffer is free now
     * (nothing done), -EMSGSIZE if the free one is too small, else as send().
     * Counts what it transmits (rpmsg_device_count_tx) under that lock,
     * before the peer can see it: the core's counters then cost a send no
     * atomic instruction.
     */
    int (*send_copy)(struct rpmsg_device *rdev, const struct rpmsg_hdr *hdr,
                     const void *payload, uint32_t len);
    /*
     * Optional: send() that also counts the message, for the core's
     * two-step sends (zero-copy ones, and copy ones without send_copy or
     * traced). The count (rpmsg_device_count_tx, len less the
     * header) is made under the lock send() takes, before the peer can see
     * the message, as send_copy() makes it. It counts nothing if it fails.
     */
    int (*send_counted)(struct rpmsg_device *rdev, void *buf, uint32_t len);
};

/* Endpoint flags (struct rpmsg_endpoint.flags), private to the core. */
#define RPMSG_EPT_F_NS_BIND 0x01  /* created with dst ANY: bound by NS or first message */
#define RPMSG_EPT_F_ANNOUNCED 0x02
#define RPMSG_EPT_F_DESTROYING 0x04
#define RPMSG_EPT_F_REGISTERED 0x08
#define RPMSG_EPT_F_TODO 0x10 /* link up/down work still to do on this endpoint */

struct rpmsg_ns_pending {
    char name[RPMSG_NAME_SIZE];
    uint32_t addr;
    bool used;
};

struct rpmsg_hold {
    void *buf; /* whole buffer (header) */
    uint32_t count;
    bool dispatching; /* its callback still runs: the dispatcher gives it back */
};


/* A message set aside while its link's RX thread waits for a TX buffer:
 * the transport's buffer itself, or a copy in one of the device's slots. */
struct rpmsg_deferred {
    void *buf;
    uint32_t len;
    uint32_t session;
};

struct rpmsg_backlog_slot {
    uint8_t data[RPMSG_BACKLOG_BUF_SIZE] __attribute__((aligned(8)));
};

struct rpmsg_device_config {
    const char *local_cpuname;
    uint32_t features;  /* RPMSG_F_* this side offers */
    bool no_rx_thread;  /* the application calls rpmsg_poll() */
    /* Other threads may act as the RX context (rpmsg_device_rx_try_enter);
     * the device's own RX thread then takes its turn like any of them. */
    bool lent_rx;
};

/* A thread's turn as a device's RX context; lives on that thread's stack. */
struct rpmsg_rx_turn {
    struct rpmsg_device *rdev;
    struct rpmsg_rx_turn *up;
};

struct rpmsg_device {
    /* Set by rpmsg_device_init(). */
    const struct rpmsg_transport_ops *ops;
    void *transport; /* the transport's own state */
    char local_cpuname[RPMSG_CPUNAME_SIZE];
    char remote_cpuname[RPMSG_CPUNAME_SIZE];
    uint32_t local_features;
    uint32_t features; /* negotiated, while up */
    /* Largest buffer (header included) the transport sends; set by it. */
    uint32_t tx_buf_size;
    /* rpmsg_set_trace(): read once per message (atomically), NULL when off. */
    rpmsg_trace_cb trace;
    void *trace_arg;

    /* Private to the core. */
    rpmsg_mutex_t lock;
    rpmsg_cond_t cond;         /* any state change: buffer freed, bound, unref, link */
    uint32_t waiters;          /* threads in cond wait (atomic): broadcast only when > 0 */
    uint64_t send_timeout_ms;
    uint32_t tx_gen;                  /* bumped when TX buffers come back (atomic) */
    uint32_t users;                   /* service callbacks in flight on this device */
    uint32_t svc_created;             /* bit per service slot: device_created delivered */
    uint32_t session;                 /* link-ups so far (atomic): rpmsg_device_rx_in() */
    bool up;
    bool no_rx_thread;
    bool lent_rx;
    uint32_t rx_state; /* lent_rx: who may take the RX context (atomic; device.c) */
    uint32_t rx_prev;  /* lent_rx: rx_state before the holder's outermost turn (its own) */
    bool rx_yield; /* RX context: a callback asked to end the poll round */
    uint32_t rx_wanted;      /* lent_rx: drives waiting for a turn (atomic) */
    uint32_t rx_parked;      /* lent_rx: threads on cond waiting for a turn (atomic) */
    uint32_t rx_drivers;     /* threads in rpmsg_drive() (atomic): stop waits for them */
    uint64_t rx_lease_until; /* lent_rx: the RX thread leaves the turn free until (atomic) */
    bool running; /* accessed atomically: the RX thread's stop flag */
    bool thread_started;
    rpmsg_thread_t rx_thread;
    unsigned nest;                    /* dispatch depth; RX context only */
    struct rpmsg_endpoint *epts;      /* list of every endpoint */
    struct rpmsg_endpoint *dyn[RPMSG_EPT_DYN_MAX];
    uint32_t dyn_bitmap[(RPMSG_EPT_DYN_MAX + 31) / 32];
    uint32_t dyn_next;
    struct rpmsg_endpoint *hash[RPMSG_EPT_HASH_SIZE];
    struct rpmsg_ns_pending pending[RPMSG_NS_PENDING_MAX];
    struct rpmsg_hold holds[RPMSG_HOLD_MAX];
    unsigned nholds;
    /* RX context only: messages set aside while a send waits for a buffer. */
    struct rpmsg_deferred deferred[RPMSG_RX_DEFER_MAX];
    unsigned bl_head, bl_count;
    struct rpmsg_backlog_slot backlog[RPMSG_RX_BACKLOG];
    uint32_t slot_busy; /* bit per backlog slot */
    unsigned deferring; /* > 0: the RX context waits for a TX buffer */
    struct rpmsg_stats stats;
    /* stats.tx_* and rx_* live here: senders and the RX context count without
     * the lock. */
    rpmsg_counter_t tx_msgs, tx_bytes, rx_msgs, rx_bytes;
    /* Sends by ops->send_copy and ops->send_counted, counted by the
     * transport under its lock. */
    rpmsg_counter_t tx_msgs_tp, tx_bytes_tp;
#if !RPMSG_NO_SYS
    /* Sends from inside a callback, counted by the RX context alone. */
    rpmsg_counter_t tx_msgs_cb, tx_bytes_cb;
#endif
    /* The endpoint whose callback the RX context is running (or about to),
     * held without a reference: a destroyer waits until it is another. */
    struct rpmsg_endpoint *rx_hazard;
    struct rpmsg_device *next; /* process-wide device list */
    bool listed;
};

/* A counter with one writer at a time (the RX context, or whoever holds the
 * lock that serializes its writers): a plain increment, stored atomically
 * for rpmsg_get_stats. */
static inline void rpmsg_stat_bump(rpmsg_counter_t *p, rpmsg_counter_t v)
{
#if RPMSG_NO_SYS
    *p += v;
#else
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
#endif
}

/* ops->send_copy's and ops->send_counted's count of a message of len payload
 * bytes, made under the lock that serializes the transport's sends. */
static inline void rpmsg_device_count_tx(struct rpmsg_device *rdev, uint32_t len)
{
    rpmsg_stat_bump(&rdev->tx_msgs_tp, 1);
    rpmsg_stat_bump(&rdev->tx_bytes_tp, len);
}

/*
 * A transport may change tx_buf_size at link-up while senders size their
 * messages against it without a lock: once the device runs, set and read it
 * through these.
 */
static inline void rpmsg_device_set_tx_buf_size(struct rpmsg_device *rdev, uint32_t size)
{
    __atomic_store_n(&rdev->tx_buf_size, size, __ATOMIC_RELAXED);
}
static inline uint32_t rpmsg_device_tx_buf_size(const struct rpmsg_device *rdev)
{
    return __atomic_load_n(&rdev->tx_buf_size, __ATOMIC_RELAXED);
}

/* Prepares rdev; starts nothing. transport is stored in rdev->transport. */
int rpmsg_device_init(struct rpmsg_device *rdev, const struct rpmsg_transport_ops *ops,
                      void *transport, const struct rpmsg_device_config *cfg);
/* Starts the RX thread (unless no_rx_thread or RPMSG_NO_SYS). */
int rpmsg_device_start(struct rpmsg_device *rdev);
/*
 * Stops the RX thread and waits for it; nothing else changes. For a
 * transport whose devices call into each other (loopback: one side's RX
 * thread returns buffers to the other): stop them all before deinit of any.
 */
void rpmsg_device_stop(struct rpmsg_device *rdev);
/* Stops the RX thread, takes the link down, forgets the device. */
void rpmsg_device_deinit(struct rpmsg_device *rdev);

/*
 * The link is established. remote_features: what the peer offers; the
 * negotiated set is the intersection. Fires device_created for every service
 * and announces the named endpoints waiting for a peer.
 */
void rpmsg_device_link_up(struct rpmsg_device *rdev, const char *remote_cpuname,
                          uint32_t remote_features);
/*
 * The link is lost (peer reset, fault). Unbinds name-bound endpoints (their
 * ns_unbind_cb runs), drops pending announcements, fires device_destroyed.
 */
void rpmsg_device_link_down(struct rpmsg_device *rdev);
/*
 * A clean leave, link still up: withdraws (NS DESTROY) every named endpoint
 * announced on rdev, so the peer drops what it made for them while it can
 * still talk to us (a NuttX peer cannot wait for buffers once it tears its
 * session down). The endpoints stay registered. Returns how many.
 */
int rpmsg_device_withdraw(struct rpmsg_device *rdev);

/*
 * A message arrived: buf holds the header, len is how many bytes of buf the
 * transport vouches for (at most the buffer's size). The core validates the
 * header, dispatches, and returns the buffer through release_rx_buffer()
 * unless the application holds it.
 */
void rpmsg_device_rx(struct rpmsg_device *rdev, void *buf, uint32_t len);
/*
 * For a transport whose link changes run apart from its RX context (a link
 * taken down and up by another thread while a message is between the
 * transport's queue and the core): the session is rpmsg_device_session()
 * read when the message left the transport's queue, under the same lock that
 * orders it with the transport's own link down. A message of a session that
 * ended meanwhile is dropped (stats.drop_stale): delivered in the next one,
 * it would bind an endpoint to an address of the old one.
 */
uint32_t rpmsg_device_session(const struct rpmsg_device *rdev);
void rpmsg_device_rx_in(struct rpmsg_device *rdev, void *buf, uint32_t len, uint32_t session);

/*
 * For a transport that delivers a device's messages on another device's RX
 * thread (the router delivers a far core's messages on the carrier link's
 * thread, saving a thread hand-off per message). Makes the calling thread
 * rdev's RX context, so callbacks run serially and a callback's waits run the
 * link, until rpmsg_device_rx_leave(). Never blocks: false if another thread
 * is the context now. Nests on the same thread. Needs cfg.lent_rx.
 */
bool rpmsg_device_rx_try_enter(struct rpmsg_device *rdev, struct rpmsg_rx_turn *turn);
void rpmsg_device_rx_leave(struct rpmsg_rx_turn *turn);
/*
 * For a transport's poll loop, after each message: true when the round
 * should end now (a callback called rpmsg_rx_yield(), or a thread waits to
 * take the RX context: rpmsg_drive()). What is left stays on the link for
 * the next poll. Ignoring it is correct, only slower. Inline: it is asked
 * once per message.
 */
static inline bool rpmsg_device_rx_yielding(const struct rpmsg_device *rdev)
{
#if RPMSG_NO_SYS
    return rdev->rx_yield;
#else
    return rdev->rx_yield ||
           (rdev->lent_rx && __atomic_load_n(&rdev->rx_wanted, __ATOMIC_SEQ_CST) != 0);
#endif
}
/* rpmsg_device_on_rx_context(): rpmsg.h. */

/* Sent buffers came back: wakes senders waiting for a buffer. */
void rpmsg_device_tx_done(struct rpmsg_device *rdev);

/* Iterates over the process's devices (for services and tools). */
struct rpmsg_device *rpmsg_device_first(void);
struct rpmsg_device *rpmsg_device_next(struct rpmsg_device *rdev);
/* Finds an up device by its remote cpu name, or NULL. */
struct rpmsg_device *rpmsg_device_find(const char *remote_cpuname);

#ifdef __cplusplus
}
#endif

#endif /* RPMSG_TRANSPORT_H */
