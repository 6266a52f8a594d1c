/*
 * The receive path: validate the header, find the endpoint, run its callback,
 * give the buffer back. Runs on the link's RX context, one message at a time,
 * so messages of one link reach their callbacks in arrival order.
 */
#include "internal.h"

static bool in_backlog(const struct rpmsg_device *rdev, const void *buf)
{
    const uint8_t *p = buf, *lo = (const uint8_t *)rdev->backlog;
    return p >= lo && p < lo + sizeof(rdev->backlog);
}

static void give_back(struct rpmsg_device *rdev, void *buf)
{
    if (!in_backlog(rdev, buf))
        rdev->ops->release_rx_buffer(rdev, buf);
}

/* This thread's callbacks in progress, innermost first, on any device. */
#if RPMSG_NO_SYS
struct rpmsg_dispatch_frame *rpmsg_my_frames;
#else
_Thread_local struct rpmsg_dispatch_frame *rpmsg_my_frames;
#endif

static struct rpmsg_dispatch_frame *my_frame_of(const struct rpmsg_device *rdev, const void *buf)
{
    for (struct rpmsg_dispatch_frame *f = rpmsg_my_frames; f; f = f->up)
        if (f->buf == buf && f->rdev == rdev)
            return f;
    return NULL;
}

bool rpmsg_dispatch_release_own(struct rpmsg_endpoint *ept)
{
    bool hazard = false;
    for (struct rpmsg_dispatch_frame *f = rpmsg_my_frames; f; f = f->up)
        if (f->ept == ept && !f->released) {
            f->released = true;
            if (f->hazard)
                hazard = true;
            else
                rpmsg_ref_add(&ept->refs, -1); /* the destroyer itself: nobody to wake */
        }
    return hazard;
}

/* The last reference of an endpoint being destroyed: its destroyer waits. */
static bool wakes_destroyer(uint32_t refs)
{
    return !(refs & RPMSG_REF_COUNT) && (refs & RPMSG_REF_DYING);
}

void rpmsg_ept_unref(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept)
{
    if (wakes_destroyer(rpmsg_ref_add(&ept->refs, -1))) {
        rpmsg_mutex_lock(&rdev->lock);
        rpmsg_dev_signal(rdev);
        rpmsg_mutex_unlock(&rdev->lock);
    }
}

void rpmsg_ept_unref_locked(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept)
{
    if (wakes_destroyer(rpmsg_ref_add(&ept->refs, -1)))
        rpmsg_dev_signal(rdev);
}

static void count_drop(struct rpmsg_device *rdev, rpmsg_counter_t *counter)
{
    rpmsg_mutex_lock(&rdev->lock);
    (*counter)++;
    rpmsg_mutex_unlock(&rdev->lock);
}

uint32_t rpmsg_device_session(const struct rpmsg_device *rdev)
{
    return rpmsg_ref_load(&rdev->session);
}

/*
 * The endpoint for dst with a reference, in one round of rdev->lock, binding
 * an unbound one to src; NULL if the message is to be dropped (counted).
 */
static struct rpmsg_endpoint *lookup_locked(struct rpmsg_device *rdev, uint32_t dst, uint32_t src,
                                            uint32_t session)
{
    rpmsg_mutex_lock(&rdev->lock);
    if (session != rdev->session) {
        /* Checked under the lock that link up moves the session under: the
         * binding below would be wrong for a message of an ended session. */
        rdev->stats.drop_stale++;
        rpmsg_mutex_unlock(&rdev->lock);
        return NULL;
    }
    struct rpmsg_endpoint *ept = rpmsg_ept_lookup(rdev, dst);
    if (!ept || (ept->flags & RPMSG_EPT_F_DESTROYING)) {
        rdev->stats.drop_unknown_dst++;
        rpmsg_mutex_unlock(&rdev->lock);
        return NULL;
    }
    if (ept->dest_addr == RPMSG_ADDR_ANY && rdev->up) {
        /* Peers without CREATE_ACK (Linux, OpenAMP) bind on the first message.
         * Not one still being delivered after link down, which unbound the
         * endpoint: it comes from the peer's old session. */
        rpmsg_ept_bind(rdev, ept, src);
    }
    rpmsg_ept_ref(ept);
    rpmsg_mutex_unlock(&rdev->lock);
    return ept;
}

/* The receive path proper. buf is a transport buffer, or a backlog slot. */
static void deliver(struct rpmsg_device *rdev, void *buf, uint32_t len, uint32_t session)
{
    /* The header may live in memory the peer can still write: read it once. */
    struct rpmsg_hdr hdr;
    if (len < RPMSG_HDR_SIZE) {
        count_drop(rdev, &rdev->stats.drop_bad_header);
        give_back(rdev, buf);
        return;
    }
    memcpy(&hdr, buf, sizeof(hdr));
    uint32_t src = rpmsg_le32(hdr.src);
    uint32_t dst = rpmsg_le32(hdr.dst);
    uint32_t plen = rpmsg_le16(hdr.len);
    if (plen > len - RPMSG_HDR_SIZE) {
        count_drop(rdev, &rdev->stats.drop_bad_header);
        give_back(rdev, buf);
        return;
    }
    uint8_t *payload = (uint8_t *)buf + RPMSG_HDR_SIZE;

    if (dst == RPMSG_NS_ADDR && (rdev->local_features & RPMSG_F_BUILT & RPMSG_F_NS)) {
        if (session != rpmsg_device_session(rdev)) {
            count_drop(rdev, &rdev->stats.drop_stale);
            give_back(rdev, buf);
            return;
        }
        struct rpmsg_ns_msg ns;
        uint32_t n = plen < sizeof(ns) ? plen : (uint32_t)sizeof(ns);
        memcpy(&ns, payload, n);
        give_back(rdev, buf);
        rpmsg_ns_rx(rdev, &ns, plen, session);
        return;
    }

    /* The common case takes no lock: a bound endpoint at a dynamic address,
     * in the current session. */
    struct rpmsg_endpoint *ept = NULL;
    if (session == rpmsg_device_session(rdev))
        ept = rpmsg_ept_get_rx(rdev, dst);
    bool hazard = ept != NULL;
    if (!ept && !(ept = lookup_locked(rdev, dst, src, session))) {
        give_back(rdev, buf);
        return;
    }
    rpmsg_stat_bump(&rdev->rx_msgs, 1);
    rpmsg_stat_bump(&rdev->rx_bytes, plen);
    rpmsg_ept_cb cb = ept->cb;
    void *priv = ept->priv;

    /* The rest is the RX context's own or lock-free (a hold made inside the
     * callback takes the lock, and so does the look at it below). */
    struct rpmsg_dispatch_frame frame = { .rdev = rdev, .ept = ept, .buf = buf, .hazard = hazard,
                                          .up = rpmsg_my_frames };
    rpmsg_my_frames = &frame;
    rdev->nest++;
    if (cb)
        cb(ept, payload, plen, src, priv);
    rdev->nest--;
    rpmsg_my_frames = frame.up;
    if (hazard)
        rpmsg_ept_put_rx(rdev, ept, frame.released);
    else if (!frame.released)
        rpmsg_ept_unref(rdev, ept);
    bool held = false;
    if (frame.held) {
        rpmsg_mutex_lock(&rdev->lock);
        /* The callback's last hold, if still on buf (released, its slot may
         * hold another buffer now). */
        struct rpmsg_hold *h = frame.hold->buf == buf ? frame.hold : NULL;
        if (h) {
            h->dispatching = false; /* its last release gives it back now */
            held = true;
        }
        rpmsg_mutex_unlock(&rdev->lock);
    }
    if (!held)
        give_back(rdev, buf);
}

_Static_assert(RPMSG_RX_BACKLOG <= 32, "slot_busy is a 32-bit mask");

static int slot_of(const struct rpmsg_device *rdev, const void *buf)
{
    return in_backlog(rdev, buf)
               ? (int)(((const uint8_t *)buf - (const uint8_t *)rdev->backlog) /
                       sizeof(struct rpmsg_backlog_slot))
               : -1;
}

/*
 * Dispatches what was set aside, oldest first, as long as nobody on this RX
 * context is waiting for a TX buffer. Entries leave the queue before their
 * callback runs, so a drain nested inside one (rpmsg_wait) continues with the
 * next; a copy slot is freed only once its callback returned.
 */
void rpmsg_backlog_drain(struct rpmsg_device *rdev)
{
    while (rdev->bl_count && !rdev->deferring) {
        struct rpmsg_deferred d = rdev->deferred[rdev->bl_head];
        rdev->bl_head = (rdev->bl_head + 1) % RPMSG_RX_DEFER_MAX;
        rdev->bl_count--;
        deliver(rdev, d.buf, d.len, d.session);
        int k = slot_of(rdev, d.buf);
        if (k >= 0)
            rdev->slot_busy &= ~(1u << k);
    }
}

static bool backlog_push(struct rpmsg_device *rdev, void *buf, uint32_t len, uint32_t session)
{
    if (rdev->bl_count == RPMSG_RX_DEFER_MAX)
        return false;
    struct rpmsg_deferred *d =
        &rdev->deferred[(rdev->bl_head + rdev->bl_count) % RPMSG_RX_DEFER_MAX];
    d->buf = buf;
    d->len = len;
    d->session = session;
    /* A copy gives the peer its buffer back now (it may be blocked on us). */
    for (unsigned k = 0; k < RPMSG_RX_BACKLOG && len <= RPMSG_BACKLOG_BUF_SIZE; k++)
        if (!(rdev->slot_busy & (1u << k))) {
            rdev->slot_busy |= 1u << k;
            memcpy(rdev->backlog[k].data, buf, len);
            d->buf = rdev->backlog[k].data;
            give_back(rdev, buf);
            break;
        }
    rdev->bl_count++;
    return true;
}

void rpmsg_device_rx(struct rpmsg_device *rdev, void *buf, uint32_t len)
{
    if (rdev)
        rpmsg_device_rx_in(rdev, buf, len, rpmsg_device_session(rdev));
}

void rpmsg_device_rx_in(struct rpmsg_device *rdev, void *buf, uint32_t len, uint32_t session)
{
    if (!rdev || !rdev->ops || !buf)
        return;
    rpmsg_trace_msg(rdev, RPMSG_TRACE_RX, buf, len);
    if (rdev->deferring || rdev->bl_count) {
        /* Keep arrival order: behind what is already set aside. With no
         * room left at all, dispatch what waits, nested: order is then lost
         * for the waiting callback, but the link does not stop. */
        if (backlog_push(rdev, buf, len, session)) {
            if (!rdev->deferring)
                rpmsg_backlog_drain(rdev);
            return;
        }
        unsigned saved = rdev->deferring;
        rdev->deferring = 0;
        rpmsg_backlog_drain(rdev);
        rdev->deferring = saved;
    }
    deliver(rdev, buf, len, session);
    if (rdev->nest == 0)
        rpmsg_backlog_drain(rdev);
}

/* The trace every new device starts with (rpmsg_set_trace(NULL, ...)). */
static rpmsg_trace_cb default_trace;
static void *default_trace_arg;

int rpmsg_set_trace(struct rpmsg_device *rdev, rpmsg_trace_cb fn, void *arg)
{
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    if (!rdev) {
        default_trace = fn;
        default_trace_arg = arg;
    } else {
        /* arg first: a message that sees fn sees its arg. */
        __atomic_store_n(&rdev->trace_arg, arg, __ATOMIC_RELAXED);
        __atomic_store_n(&rdev->trace, fn, __ATOMIC_RELEASE);
    }
    rpmsg_mutex_unlock(&rpmsg_registry_lock);
    return 0;
}

void rpmsg_trace_inherit(struct rpmsg_device *rdev)
{
    rdev->trace = default_trace;
    rdev->trace_arg = default_trace_arg;
}

/* ---- Holding received buffers past the callback ------------------------- */

struct rpmsg_hold *rpmsg_hold_find(struct rpmsg_device *rdev, void *buf)
{
    /* A buffer is among the nholds slots in use, which a new hold takes
     * from the front: the search for one ends once they have all been seen
     * (a buffer not held, the common case of a first hold, is not a scan of
     * the whole table). */
    unsigned left = rdev->nholds;
    for (unsigned i = 0; i < RPMSG_HOLD_MAX && (left || !buf); i++) {
        if (rdev->holds[i].buf == buf)
            return &rdev->holds[i];
        if (rdev->holds[i].buf)
            left--;
    }
    return NULL;
}

int rpmsg_hold_rx_buffer(struct rpmsg_endpoint *ept, void *rxbuf)
{
    if (!ept || !ept->rdev || !rxbuf)
        return -EINVAL;
    struct rpmsg_device *rdev = ept->rdev;
    void *buf = (uint8_t *)rxbuf - RPMSG_HDR_SIZE;
    int r = 0;
    rpmsg_mutex_lock(&rdev->lock);
    /* Being delivered to this thread with no hold made yet: it has none (a
     * held buffer is not delivered again), so no search. */
    struct rpmsg_dispatch_frame *f = my_frame_of(rdev, buf);
    struct rpmsg_hold *h = f && !f->held ? NULL : rpmsg_hold_find(rdev, buf);
    if (h) {
        h->count++;
    } else if (!f) {
        r = -EINVAL; /* neither being delivered to this thread nor held */
    } else if (in_backlog(rdev, buf)) {
        r = -EBUSY; /* a copy set aside during a send's wait: cannot be kept */
    } else if (!(h = rpmsg_hold_find(rdev, NULL))) {
        r = -ENOMEM;
    } else {
        h->buf = buf;
        h->count = 1;
        h->dispatching = true;
        f->held = true;
        f->hold = h;
        rdev->nholds++;
    }
    rpmsg_mutex_unlock(&rdev->lock);
    return r;
}

int rpmsg_release_rx_buffer(struct rpmsg_endpoint *ept, void *rxbuf)
{
    if (!ept || !ept->rdev || !rxbuf)
        return -EINVAL;
    struct rpmsg_device *rdev = ept->rdev;
    void *buf = (uint8_t *)rxbuf - RPMSG_HDR_SIZE;
    bool give = false;
    rpmsg_mutex_lock(&rdev->lock);
    struct rpmsg_hold *h = rpmsg_hold_find(rdev, buf);
    if (!h) {
        rpmsg_mutex_unlock(&rdev->lock);
        return -EINVAL;
    }
    if (--h->count == 0) {
        h->buf = NULL;
        rdev->nholds--;
        /* Still inside its callback: the dispatcher gives it back on return. */
        give = !h->dispatching;
    }
    rpmsg_mutex_unlock(&rdev->lock);
    if (give)
        give_back(rdev, buf);
    return 0;
}
