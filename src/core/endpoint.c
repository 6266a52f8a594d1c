/*
 * Endpoints and their addresses. Dynamic addresses index a direct table, so
 * dispatch costs one load whatever the number of endpoints; static addresses
 * outside that range (few, by nature) go to a small hash.
 */
#include "internal.h"

#define DYN_WORDS ((RPMSG_EPT_DYN_MAX + 31) / 32)

static inline uint32_t dyn_index(uint32_t addr)
{
    return addr - RPMSG_ADDR_DYN_BASE; /* wraps above DYN_MAX for addr < base */
}

static inline bool in_dyn(uint32_t addr)
{
    return dyn_index(addr) < RPMSG_EPT_DYN_MAX;
}

static inline bool dyn_used(const struct rpmsg_device *rdev, uint32_t i)
{
    return rdev->dyn_bitmap[i / 32] & (1u << (i % 32));
}

/* Next-fit from the last allocation: a just-freed address is reused last, so a
 * late message for a destroyed endpoint does not reach its successor. */
static int dyn_alloc(struct rpmsg_device *rdev, uint32_t *index)
{
    uint32_t start = rdev->dyn_next;
    for (uint32_t n = 0; n < RPMSG_EPT_DYN_MAX;) {
        uint32_t i = (start + n) % RPMSG_EPT_DYN_MAX;
        if (i % 32 == 0 && rdev->dyn_bitmap[i / 32] == UINT32_MAX &&
            RPMSG_EPT_DYN_MAX - i >= 32) {
            n += 32;
            continue;
        }
        if (!dyn_used(rdev, i)) {
            *index = i;
            rdev->dyn_next = (i + 1) % RPMSG_EPT_DYN_MAX;
            return 0;
        }
        n++;
    }
    return -EADDRNOTAVAIL;
}

struct rpmsg_endpoint *rpmsg_ept_lookup(struct rpmsg_device *rdev, uint32_t addr)
{
    if (in_dyn(addr))
        return rdev->dyn[dyn_index(addr)];
    for (struct rpmsg_endpoint *e = rdev->hash[addr & (RPMSG_EPT_HASH_SIZE - 1)]; e; e = e->hash_next)
        if (e->addr == addr)
            return e;
    return NULL;
}

/*
 * dyn[] is written atomically under rdev->lock and read by the RX context
 * without it. The pointer read is held as a hazard (rdev->rx_hazard), not
 * by a reference: stored, then the table read again, against a destroyer
 * that removes the endpoint from the table, then reads the hazard
 * (rpmsg_destroy_ept). With a full barrier between each side's store and
 * load, either the second read misses the endpoint, or the destroyer sees
 * the hazard and waits until it names another. Ours is a compiler barrier
 * where the destroyer pays the heavy one (hazard.c), so a dispatch pays no
 * atomic step at all, where a reference and its drop cost two. One hazard
 * per device: a dispatch nested in another (a full backlog drained from
 * inside a callback) takes the locked way, with a reference.
 */
struct rpmsg_endpoint *rpmsg_ept_get_rx(struct rpmsg_device *rdev, uint32_t addr)
{
    if (!in_dyn(addr) || __atomic_load_n(&rdev->rx_hazard, __ATOMIC_RELAXED))
        return NULL;
    struct rpmsg_endpoint **slot = &rdev->dyn[dyn_index(addr)];
    struct rpmsg_endpoint *ept = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!ept)
        return NULL;
    __atomic_store_n(&rdev->rx_hazard, ept, __ATOMIC_RELAXED);
    rpmsg_barrier_light();
    if (__atomic_load_n(slot, __ATOMIC_ACQUIRE) != ept ||
        (rpmsg_ref_load(&ept->refs) & RPMSG_REF_DYING) || rpmsg_ept_dest(ept) == RPMSG_ADDR_ANY) {
        __atomic_store_n(&rdev->rx_hazard, NULL, __ATOMIC_RELEASE);
        return NULL;
    }
    return ept;
}

/* Ends the hold (rpmsg_hazard_drop). Released (destroyed from inside its
 * callback): ept may be gone, and its destroyer, this thread, does not wait. */
void rpmsg_ept_put_rx(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept, bool released)
{
    if (released)
        __atomic_store_n(&rdev->rx_hazard, NULL, __ATOMIC_RELEASE);
    else
        rpmsg_hazard_drop(rdev, &rdev->rx_hazard, ept);
}

/* Does the RX context hold ept as its hazard (rdev->lock held)? */
static bool hazard_on(struct rpmsg_device *rdev, const struct rpmsg_endpoint *ept)
{
    return __atomic_load_n(&rdev->rx_hazard, __ATOMIC_SEQ_CST) == ept;
}

struct rpmsg_endpoint *rpmsg_ept_find_name(struct rpmsg_device *rdev, const char *name)
{
    /* Only an unbound endpoint takes a binding: a bound one keeps its peer
     * (a restarted peer unbinds it first, by DESTROY or link down). */
    for (struct rpmsg_endpoint *e = rdev->epts; e; e = e->next)
        if ((e->flags & RPMSG_EPT_F_NS_BIND) && !(e->flags & RPMSG_EPT_F_DESTROYING) &&
            e->dest_addr == RPMSG_ADDR_ANY && !strncmp(e->name, name, RPMSG_NAME_SIZE))
            return e;
    return NULL;
}

static int table_insert(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept, uint32_t src)
{
    uint32_t i;
    if (src == RPMSG_ADDR_ANY) {
        int r = dyn_alloc(rdev, &i);
        if (r)
            return r;
        src = RPMSG_ADDR_DYN_BASE + i;
    } else if (src == RPMSG_NS_ADDR || rpmsg_ept_lookup(rdev, src)) {
        return -EADDRINUSE;
    }
    ept->addr = src;
    if (in_dyn(src)) {
        i = dyn_index(src);
        __atomic_store_n(&rdev->dyn[i], ept, __ATOMIC_RELEASE);
        rdev->dyn_bitmap[i / 32] |= 1u << (i % 32);
    } else {
        struct rpmsg_endpoint **b = &rdev->hash[src & (RPMSG_EPT_HASH_SIZE - 1)];
        ept->hash_next = *b;
        *b = ept;
    }
    ept->prev = NULL;
    ept->next = rdev->epts;
    if (rdev->epts)
        rdev->epts->prev = ept;
    rdev->epts = ept;
    return 0;
}

static void table_remove(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept)
{
    if (in_dyn(ept->addr)) {
        uint32_t i = dyn_index(ept->addr);
        __atomic_store_n(&rdev->dyn[i], NULL, __ATOMIC_SEQ_CST);
        rdev->dyn_bitmap[i / 32] &= ~(1u << (i % 32));
    } else {
        for (struct rpmsg_endpoint **p = &rdev->hash[ept->addr & (RPMSG_EPT_HASH_SIZE - 1)]; *p;
             p = &(*p)->hash_next)
            if (*p == ept) {
                *p = ept->hash_next;
                break;
            }
    }
    if (ept->prev)
        ept->prev->next = ept->next;
    else
        rdev->epts = ept->next;
    if (ept->next)
        ept->next->prev = ept->prev;
    ept->next = ept->prev = ept->hash_next = NULL;
}

/* Whether ept is registered on some device right now. The struct may be
 * uninitialised memory, so its flag is only a hint: ask the device it names,
 * if that is a device at all. */
static bool ept_is_live(struct rpmsg_endpoint *ept)
{
    if (!(ept->flags & RPMSG_EPT_F_REGISTERED) || !ept->rdev)
        return false;
    bool live = false;
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    for (struct rpmsg_device *d = rpmsg_device_first(); d; d = rpmsg_device_next(d)) {
        if (d != ept->rdev)
            continue;
        rpmsg_mutex_lock(&d->lock);
        live = rpmsg_ept_lookup(d, ept->addr) == ept;
        rpmsg_mutex_unlock(&d->lock);
        break;
    }
    rpmsg_mutex_unlock(&rpmsg_registry_lock);
    return live;
}

int rpmsg_create_ept(struct rpmsg_endpoint *ept, struct rpmsg_device *rdev,
                     const char *name, uint32_t src, uint32_t dst,
                     rpmsg_ept_cb cb, rpmsg_ns_unbind_cb ns_unbind_cb)
{
    if (!ept || !rdev || !rdev->ops)
        return -EINVAL;
    size_t nlen = name ? strnlen(name, RPMSG_NAME_SIZE) : 0;
    if (nlen >= RPMSG_NAME_SIZE)
        return -ENAMETOOLONG;
    if (ept_is_live(ept))
        return -EBUSY;

    void *priv = ept->priv;
    memset(ept, 0, sizeof(*ept));
    ept->priv = priv;
    if (nlen)
        memcpy(ept->name, name, nlen);
    ept->rdev = rdev;
    ept->dest_addr = dst;
    ept->cb = cb;
    ept->ns_unbind_cb = ns_unbind_cb;
    if (dst == RPMSG_ADDR_ANY)
        ept->flags |= RPMSG_EPT_F_NS_BIND;

    /* Registry first: an announcement arriving now either sees this endpoint
     * or is already pending for us to take. */
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    rpmsg_mutex_lock(&rdev->lock);
    int r = table_insert(rdev, ept, src);
    if (r) {
        rpmsg_mutex_unlock(&rdev->lock);
        rpmsg_mutex_unlock(&rpmsg_registry_lock);
        ept->rdev = NULL;
        return r;
    }
    ept->flags |= RPMSG_EPT_F_REGISTERED;

    uint32_t ns_flags = UINT32_MAX; /* nothing to say */
    bool ns = rdev->up && (rpmsg_dev_features(rdev) & RPMSG_F_NS) && nlen;
    bool ack = rpmsg_dev_features(rdev) & RPMSG_F_ACK;
    uint32_t peer;
    if (ns && dst == RPMSG_ADDR_ANY) {
        if (rpmsg_pending_take(rdev, ept->name, &peer)) {
            rpmsg_ept_set_dest(ept, peer);
            ns_flags = ack ? RPMSG_NS_CREATE_ACK : RPMSG_NS_CREATE;
        } else {
            ns_flags = RPMSG_NS_CREATE;
        }
    } else if (ns && ack) {
        /* A service binding to an announced address answers it (NuttX). */
        ns_flags = RPMSG_NS_CREATE_ACK;
    }
    if (ns_flags != UINT32_MAX)
        ept->flags |= RPMSG_EPT_F_ANNOUNCED;
    uint32_t addr = ept->addr;
    rpmsg_mutex_unlock(&rdev->lock);
    rpmsg_mutex_unlock(&rpmsg_registry_lock);

    if (ns_flags != UINT32_MAX)
        rpmsg_ns_send(rdev, ept->name, addr, ns_flags);
    return 0;
}

int rpmsg_destroy_ept(struct rpmsg_endpoint *ept)
{
    if (!ept || !ept->rdev || !ept->rdev->ops)
        return -EINVAL;
    struct rpmsg_device *rdev = ept->rdev;
    rpmsg_mutex_lock(&rdev->lock);
    if (!(ept->flags & RPMSG_EPT_F_REGISTERED) || (ept->flags & RPMSG_EPT_F_DESTROYING) ||
        rpmsg_ept_lookup(rdev, ept->addr) != ept) {
        rpmsg_mutex_unlock(&rdev->lock);
        return -EINVAL;
    }
    ept->flags |= RPMSG_EPT_F_DESTROYING;
    table_remove(rdev, ept);
    /* Our own callback frames (destroy from inside a callback) give up their
     * references, or the hazard, here; the dispatcher will not touch ept
     * again. Only this thread's: another thread's callback still running
     * must be waited out. */
    bool own_hazard = rpmsg_dispatch_release_own(ept);
    /* Before the count is read: a send that takes a reference from now on
     * sees the bit and leaves, a drop to zero sees it and wakes us. */
    rpmsg_ref_bits(&ept->refs, RPMSG_REF_DYING, true);
    rpmsg_dev_signal(rdev); /* blocked senders see DESTROYING and leave */
    bool announce = (ept->flags & RPMSG_EPT_F_ANNOUNCED) && rdev->up &&
                    (rpmsg_dev_features(rdev) & RPMSG_F_NS);
    rpmsg_mutex_unlock(&rdev->lock);
    rpmsg_hazards_fence(); /* before any hazard is read (hazard.c) */
    /* A sender on the RX context waits in the transport, not on rdev->cond:
     * ring it too, or it sleeps until its deadline while this waits for it
     * (a service answering from its callback when its link went down). */
    rdev->ops->wakeup(rdev);

    if (announce)
        rpmsg_ns_send(rdev, ept->name, ept->addr, RPMSG_NS_DESTROY);

    rpmsg_mutex_lock(&rdev->lock);
    for (;;) {
        bool hazard = (!own_hazard && hazard_on(rdev, ept)) || rpmsg_tx_hazard_on(ept);
        if (!hazard && !(rpmsg_ref_load(&ept->refs) & RPMSG_REF_COUNT))
            break;
        /* Other threads' sends and dispatches leave promptly: wait them out.
         * The RX context must not spin the link here (it may be the one
         * holding the reference), hence no rpmsg_dev_wait(). A dispatch or
         * a send holding a hazard may end unseen: look again every
         * millisecond (rpmsg_hazard_drop). */
        rpmsg_ref_add(&rdev->waiters, 1);
        int r = rpmsg_cond_wait(&rdev->cond, &rdev->lock,
                                hazard ? rpmsg_deadline(1) : RPMSG_FOREVER);
        if (r == -ETIMEDOUT)
            r = 0;
        rpmsg_ref_add(&rdev->waiters, -1);
        if (r == -EAGAIN)
            break; /* no threads: nobody else can hold a reference */
    }
    /* Stays marked: a late send on it gets -EPIPE, not -EINVAL. */
    ept->flags = RPMSG_EPT_F_DESTROYING;
    rpmsg_mutex_unlock(&rdev->lock);
    /* ept->rdev stays: a zero-copy buffer taken before may still be released. */
    ept->addr = RPMSG_ADDR_ANY;
    rpmsg_ept_set_dest(ept, RPMSG_ADDR_ANY);
    return 0;
}

bool rpmsg_is_ept_ready(const struct rpmsg_endpoint *ept)
{
    if (!ept || !ept->rdev || !ept->rdev->ops)
        return false;
    struct rpmsg_device *rdev = ept->rdev;
    rpmsg_mutex_lock(&rdev->lock);
    bool ready = (ept->flags & RPMSG_EPT_F_REGISTERED) && ept->dest_addr != RPMSG_ADDR_ANY;
    rpmsg_mutex_unlock(&rdev->lock);
    return ready;
}

static bool bound_or_gone(void *arg)
{
    const struct rpmsg_endpoint *ept = arg;
    return ept->dest_addr != RPMSG_ADDR_ANY || (ept->flags & RPMSG_EPT_F_DESTROYING);
}

int rpmsg_wait_ept_ready(struct rpmsg_endpoint *ept, uint32_t timeout_ms)
{
    if (!ept || !ept->rdev || !ept->rdev->ops)
        return -EINVAL;
    struct rpmsg_device *rdev = ept->rdev;
    uint64_t deadline = timeout_ms == UINT32_MAX ? RPMSG_FOREVER : rpmsg_deadline(timeout_ms);
    rpmsg_mutex_lock(&rdev->lock);
    /* Flags change under the lock (the name service sets ANNOUNCED). */
    if (!(ept->flags & RPMSG_EPT_F_REGISTERED)) {
        rpmsg_mutex_unlock(&rdev->lock);
        return -EINVAL;
    }
    /* The binding arrives by dispatch (NS or first message): on the RX
     * context, run the link at once. */
    int r = rpmsg_dev_wait(rdev, deadline, true, bound_or_gone, ept);
    if (!r && (ept->flags & RPMSG_EPT_F_DESTROYING))
        r = -EPIPE;
    rpmsg_mutex_unlock(&rdev->lock);
    return r;
}
