/* Shared between the core's files; not part of the public API. */
#ifndef RPMSG_CORE_INTERNAL_H
#define RPMSG_CORE_INTERNAL_H

#include <errno.h>
#include <string.h>

#include "common/byteorder.h"
#include "rpmsg/rpmsg_transport.h"


/* One callback in progress; lives on the dispatcher's stack, listed per
 * thread (dispatch.c), so only its own thread ever reads it: it is pushed and
 * popped without the device lock. */
struct rpmsg_dispatch_frame {
    struct rpmsg_device *rdev;
    struct rpmsg_endpoint *ept; /* not to be read once released: may be freed */
    void *buf;
    bool released; /* the endpoint was destroyed from inside: its ref is gone */
    bool hazard;   /* held as rdev->rx_hazard, not by a reference */
    bool held;     /* a hold was made on buf: the dispatcher looks at holds */
    struct rpmsg_hold *hold; /* the last one made (rdev->lock) */
    struct rpmsg_dispatch_frame *up;
};

/* Drops a reference; rdev->lock NOT held. */
void rpmsg_ept_unref(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept);
/* Drops a reference; rdev->lock held. */
void rpmsg_ept_unref_locked(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept);
/* This thread's callbacks in progress, innermost first (dispatch.c). */
#if RPMSG_NO_SYS
extern struct rpmsg_dispatch_frame *rpmsg_my_frames;
#else
extern _Thread_local struct rpmsg_dispatch_frame *rpmsg_my_frames;
#endif

/* Is this thread inside ept's callback, whose dispatch holds a reference on
 * it (the innermost callback, not released by a destroy from inside)? */
static inline bool rpmsg_dispatch_holds(const struct rpmsg_endpoint *ept)
{
    const struct rpmsg_dispatch_frame *f = rpmsg_my_frames;
    return f && f->ept == ept && !f->released;
}
/* Destroy from inside a callback: this thread's frames of ept give up their
 * references (rdev->lock held). True if one of them holds rdev->rx_hazard. */
bool rpmsg_dispatch_release_own(struct rpmsg_endpoint *ept);

/* Process-wide registry: services, the device list, pending announcements.
 * Lock order: registry before any device lock. */
extern rpmsg_mutex_t rpmsg_registry_lock;
/* Gives a new device the default trace; rpmsg_registry_lock held. */
void rpmsg_trace_inherit(struct rpmsg_device *rdev);
/* Broadcast when a pinned device or a running service callback is released. */
extern rpmsg_cond_t rpmsg_registry_cond;

/*
 * ept->refs: the senders and dispatches in flight (RPMSG_REF_COUNT), and two
 * bits of state a send must see, read in the same atomic step that takes its
 * reference, so that a send needs no device lock: DYING (rpmsg_destroy_ept
 * has begun; it sets the bit, then waits for the count to reach zero, and a
 * drop to zero that sees the bit wakes it) and ORPHAN (the binding died with
 * the link: see void_address in send.c). Both bits change under rdev->lock.
 * The drop reads only the device afterwards: the endpoint may be freed the
 * moment its count reaches zero.
 * Without threads (RPMSG_NO_SYS) there is nobody to race with: plain ops.
 */
#define RPMSG_REF_DYING 0x80000000u
#define RPMSG_REF_ORPHAN 0x40000000u
#define RPMSG_REF_COUNT 0x3fffffffu

static inline uint32_t rpmsg_ref_add(uint32_t *p, int32_t v)
{
#if RPMSG_NO_SYS
    return *p += (uint32_t)v;
#else
    return __atomic_add_fetch(p, (uint32_t)v, __ATOMIC_SEQ_CST);
#endif
}

static inline uint32_t rpmsg_ref_load(const uint32_t *p)
{
#if RPMSG_NO_SYS
    return *p;
#else
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
#endif
}

/* Sets (on) or clears state bits of ept->refs; rdev->lock held. */
static inline void rpmsg_ref_bits(uint32_t *p, uint32_t bits, bool on)
{
#if RPMSG_NO_SYS
    *p = on ? *p | bits : *p & ~bits;
#else
    if (on)
        __atomic_fetch_or(p, bits, __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_and(p, ~bits, __ATOMIC_SEQ_CST);
#endif
}

/*
 * Asymmetric barriers and the senders' hazards (hazard.c). rpmsg_asym: set
 * once, by the first device's init, if the OS port has the heavy barrier.
 * rpmsg_barrier_light() then orders a hazard's store before the loads that
 * follow it at the price of a compiler barrier; without, of a full fence.
 */
#if RPMSG_NO_SYS
/* One context: nothing to order against, nobody to hold against. */
static inline void rpmsg_barrier_light(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
static inline void rpmsg_hazards_init(void)
{
}
static inline void rpmsg_hazards_fence(void)
{
}
struct rpmsg_tx_hazard {
    struct rpmsg_endpoint *ept;
};
static inline struct rpmsg_tx_hazard *rpmsg_tx_hazard_hold(struct rpmsg_endpoint *ept)
{
    (void)ept;
    return NULL;
}
static inline bool rpmsg_tx_hazard_on(const struct rpmsg_endpoint *ept)
{
    (void)ept;
    return false;
}
#else
extern bool rpmsg_asym;
void rpmsg_hazards_init(void);

static inline void rpmsg_barrier_light(void)
{
    if (__atomic_load_n(&rpmsg_asym, __ATOMIC_RELAXED))
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    else
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* A thread's slot: the endpoint its send holds, or NULL. A line of its own:
 * every send writes it. */
struct rpmsg_tx_hazard {
    struct rpmsg_endpoint *ept;
    uint32_t owned; /* taken by a thread */
} __attribute__((aligned(64)));
extern struct rpmsg_tx_hazard rpmsg_tx_hazards[RPMSG_TX_HAZARDS];
extern _Thread_local struct rpmsg_tx_hazard *rpmsg_my_tx_hazard;
/* This thread's slot, taken now; a busy dummy if none can be. */
struct rpmsg_tx_hazard *rpmsg_tx_hazard_claim(void);
/* Does any thread's send hold ept? For the destroyer, after its heavy barrier. */
bool rpmsg_tx_hazard_on(const struct rpmsg_endpoint *ept);
/* Slots taken by live threads (tests). */
unsigned rpmsg_tx_hazards_owned(void);

/* Holds ept by this thread's hazard; NULL if the slot is busy (a nested send)
 * or there is none: the caller takes a reference. Read ept's state after. */
static inline struct rpmsg_tx_hazard *rpmsg_tx_hazard_hold(struct rpmsg_endpoint *ept)
{
    struct rpmsg_tx_hazard *h = rpmsg_my_tx_hazard;
    if (!h)
        h = rpmsg_tx_hazard_claim();
    if (h->ept)
        return NULL;
    __atomic_store_n(&h->ept, ept, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* a slot exists only with rpmsg_asym */
    return h;
}

/* The destroyer's side, before it reads the hazards: the holders fenced
 * with a compiler barrier only, so make them all pass a full one. */
static inline void rpmsg_hazards_fence(void)
{
    if (__atomic_load_n(&rpmsg_asym, __ATOMIC_ACQUIRE))
        rpmsg_barrier_heavy();
}
#endif

static inline void rpmsg_ept_ref(struct rpmsg_endpoint *ept)
{
    rpmsg_ref_add(&ept->refs, 1);
}

/* ept->dest_addr changes under rdev->lock and a send reads it without. */
static inline void rpmsg_ept_set_dest(struct rpmsg_endpoint *ept, uint32_t addr)
{
    __atomic_store_n(&ept->dest_addr, addr, __ATOMIC_RELAXED);
}

static inline uint32_t rpmsg_ept_dest(const struct rpmsg_endpoint *ept)
{
    return __atomic_load_n(&ept->dest_addr, __ATOMIC_RELAXED);
}

/* A counter moved without rdev->lock (the TX counts: senders take no device
 * lock); rpmsg_get_stats() reads it with rpmsg_stat_load(). */
static inline void rpmsg_stat_add(rpmsg_counter_t *p, rpmsg_counter_t v)
{
#if RPMSG_NO_SYS
    *p += v;
#else
    __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
#endif
}

static inline rpmsg_counter_t rpmsg_stat_load(const rpmsg_counter_t *p)
{
#if RPMSG_NO_SYS
    return *p;
#else
    return __atomic_load_n(p, __ATOMIC_RELAXED);
#endif
}

/* rdev->up is written under rdev->lock; code holding only the registry lock
 * reads it with this (any value will do there: link-up and link-down each
 * tell the services again under the registry lock). Acquire, pairing with
 * link_up's release: a caller that acts on "up" (the replay of
 * device_created) must also see the remote name written before it. */
static inline bool rpmsg_dev_up_unlocked(const struct rpmsg_device *rdev)
{
    return __atomic_load_n(&rdev->up, __ATOMIC_ACQUIRE);
}

/* The send path's look at rdev->up, without the lock and without ordering:
 * only a hint whether to try the transport, whose own lock orders what the
 * send then uses. A barrier here would cost every send on a weakly ordered
 * CPU for nothing. */
static inline bool rpmsg_dev_up_hint(const struct rpmsg_device *rdev)
{
    return __atomic_load_n(&rdev->up, __ATOMIC_RELAXED);
}

/* The negotiated features (rdev->lock held), as constants where compiled
 * out: a bit outside RPMSG_F_KEEP is never set, and code behind a test of it
 * folds away. */
static inline uint32_t rpmsg_dev_features(const struct rpmsg_device *rdev)
{
    return rdev->features & RPMSG_F_KEEP;
}

/* Hands a message to the device's trace hook, if one is set (rpmsg_set_trace
 * stores arg before fn, so a message that sees fn sees its arg). Off, it
 * costs one load per message. */
static inline void rpmsg_trace_msg(struct rpmsg_device *rdev, int dir, const void *msg, uint32_t len)
{
    rpmsg_trace_cb trace = __atomic_load_n(&rdev->trace, __ATOMIC_ACQUIRE);
    if (trace)
        trace(rdev, __atomic_load_n(&rdev->trace_arg, __ATOMIC_RELAXED), dir, msg, len);
}

/* Wakes threads waiting on rdev->cond; call with rdev->lock held. */
static inline void rpmsg_dev_signal(struct rpmsg_device *rdev)
{
    if (rpmsg_ref_load(&rdev->waiters))
        rpmsg_cond_broadcast(&rdev->cond);
}

/* Ends a hazard's hold (a send's slot, or the RX context's rdev->rx_hazard):
 * ept's state is read before the slot is cleared, after which ept may be
 * gone. A destroyer that had marked it is woken; one that marks it later
 * reads the slot again within a millisecond (rpmsg_destroy_ept). */
static inline void rpmsg_hazard_drop(struct rpmsg_device *rdev, struct rpmsg_endpoint **slot,
                                     const struct rpmsg_endpoint *ept)
{
    bool dying = rpmsg_ref_load(&ept->refs) & RPMSG_REF_DYING;
    __atomic_store_n(slot, NULL, __ATOMIC_RELEASE);
    if (dying) {
        rpmsg_mutex_lock(&rdev->lock);
        rpmsg_dev_signal(rdev);
        rpmsg_mutex_unlock(&rdev->lock);
    }
}

/* rdev->lock held: ept is bound to the peer's addr (NS CREATE or ACK, or a
 * first message): no longer an orphan, and senders waiting for it go on. */
static inline void rpmsg_ept_bind(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept,
                                  uint32_t addr)
{
    rpmsg_ept_set_dest(ept, addr);
    rpmsg_ref_bits(&ept->refs, RPMSG_REF_ORPHAN, false);
    rpmsg_dev_signal(rdev);
}

/* True on the thread that dispatches rdev's messages (or always, without threads). */
bool rpmsg_on_rx_context(struct rpmsg_device *rdev);
/* A value unique to the calling thread (one context on bare metal). */
const void *rpmsg_self_tag(void);

/*
 * Waits, rdev->lock held, until ready(arg) or the deadline. On the RX context
 * it drives the link (nested dispatch) instead of sleeping.
 * 0, -ETIMEDOUT, or -EDEADLK (nesting limit).
 */
int rpmsg_dev_wait(struct rpmsg_device *rdev, uint64_t deadline, bool dispatch_now,
                   bool (*ready)(void *arg), void *arg);

/* Endpoint table (rdev->lock held). */
struct rpmsg_endpoint *rpmsg_ept_lookup(struct rpmsg_device *rdev, uint32_t addr);
/* The RX context's lookup without rdev->lock (dispatch.c): the endpoint at a
 * dynamic address, held as rdev->rx_hazard, if it is bound and not dying
 * and no other dispatch of this device holds the hazard; else NULL, and the
 * locked way decides. rpmsg_ept_put_rx() ends the hold. */
struct rpmsg_endpoint *rpmsg_ept_get_rx(struct rpmsg_device *rdev, uint32_t addr);
void rpmsg_ept_put_rx(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept, bool released);
struct rpmsg_endpoint *rpmsg_ept_find_name(struct rpmsg_device *rdev, const char *name);

/* Sends a raw message from the core itself (NS), blocking within the send
 * timeout. Call without rdev->lock. */
int rpmsg_core_send(struct rpmsg_device *rdev, uint32_t src, uint32_t dst,
                    const void *data, uint32_t len);
int rpmsg_ns_send(struct rpmsg_device *rdev, const char *name, uint32_t addr, uint32_t flags);

/* Name service receive path: payload already copied out of the buffer. */
void rpmsg_ns_rx(struct rpmsg_device *rdev, const void *payload, uint32_t len, uint32_t session);

/* Pending announcements (registry lock held). */
bool rpmsg_pending_take(struct rpmsg_device *rdev, const char *name, uint32_t *addr);
void rpmsg_pending_clear(struct rpmsg_device *rdev);

/* Services (registry lock NOT held): deliver device_created / destroyed for rdev. */
void rpmsg_services_link_up(struct rpmsg_device *rdev);
void rpmsg_services_link_down(struct rpmsg_device *rdev);
/* Offer an unclaimed announcement to services, else keep it pending.
 * Registry lock held; returns with it released. */
void rpmsg_services_offer(struct rpmsg_device *rdev, const char *name, uint32_t addr);

/* Pins a device while a service callback runs on it (registry lock held for get). */
void rpmsg_device_get(struct rpmsg_device *rdev);
void rpmsg_device_put(struct rpmsg_device *rdev);

/* Dispatches messages set aside while a send waited (RX context, no lock). */
void rpmsg_backlog_drain(struct rpmsg_device *rdev);

/* Holds (rdev->lock held). */
struct rpmsg_hold *rpmsg_hold_find(struct rpmsg_device *rdev, void *buf);

#endif
