/*
 * The virtual device: a far core as an ordinary rpmsg device. Its transport
 * ops map onto the carrier link (the real link, or whichever device the
 * route's first hop is on):
 *
 * - TX, zero-copy: a TX buffer of the virtual device IS the payload area of a
 *   carrier TX buffer; the inner header sits at offset 16 of the outer
 *   message. send() fills the outer header (our tunnel address -> the next
 *   hop's) with rpmsg_send_offchannel_nocopy on the carrier's control
 *   endpoint, so nothing is copied at the edge.
 * - RX, zero-copy: the tunnel endpoint's callback holds the carrier's RX
 *   buffer and hands the inner message to rpmsg_device_rx();
 *   release_rx_buffer() releases the carrier's hold. Only when the carrier's
 *   hold table is full is the message copied (counted in rx_bounced).
 * - Where it is delivered: the virtual device lends its RX context (core:
 *   rpmsg_device_rx_try_enter). When its queue is empty and its own RX thread
 *   is idle, the carrier's RX thread takes a turn and delivers right there,
 *   which saves a thread hand-off per message at each far end. Otherwise (or
 *   with rx_thread_per_far_core) the message is queued for the virtual
 *   device's own RX thread. Either way one thread at a time delivers, in
 *   arrival order.
 * - A callback delivered on the carrier's thread that waits (rpmsg_wait, a
 *   send waiting for a buffer) runs the core's RX-context wait on the virtual
 *   device; vd_poll() and vd_wait() then drive the carrier link itself (nested
 *   dispatch there, the reply arrives through it) instead of the queue alone,
 *   and a wakeup of the virtual device wakes the carrier's wait.
 * - The queue also carries link markers (UP, DOWN), so device_created and
 *   device_destroyed happen on the virtual device's RX context in order with
 *   its data: everything that arrived before a route was lost is delivered
 *   before device_destroyed.
 */
#include "router_priv.h"

static struct rr_vdev *vd_of(struct rpmsg_device *rdev)
{
    return rdev->transport;
}

static void link_ref(struct rr_link *l, int d)
{
    RR_ATOMIC_ADD(&l->refs, (unsigned)d);
}

static void *vd_get_tx(struct rpmsg_device *rdev, uint32_t *size)
{
    struct rr_vdev *v = vd_of(rdev);
    rpmsg_mutex_lock(&v->lock);
    if (v->state != RR_V_UP || v->ntx >= RPMSG_ROUTER_TX_MAX) {
        rpmsg_mutex_unlock(&v->lock);
        return NULL;
    }
    struct rr_link *l = v->carrier;
    uint32_t gen = v->gen, mtu = v->mtu;
    link_ref(l, 1);
    rpmsg_mutex_unlock(&v->lock);

    uint32_t cap = 0;
    void *p = rpmsg_get_tx_payload_buffer(&l->ctrl, &cap, RPMSG_NOWAIT);
    if (!p) {
        rpmsg_mutex_lock(&v->lock);
        v->starved = true;
        rpmsg_mutex_unlock(&v->lock);
        __atomic_store_n(&l->vd_starved, true, __ATOMIC_RELEASE); /* before the starve */
        link_ref(l, -1);
        if (rpmsg_device_is_up(l->rdev))
            rr_starve(v->r, l);
        return NULL;
    }
    rpmsg_mutex_lock(&v->lock);
    if (v->ntx >= RPMSG_ROUTER_TX_MAX) {
        rpmsg_mutex_unlock(&v->lock);
        rpmsg_release_tx_buffer(&l->ctrl, p);
        link_ref(l, -1);
        return NULL;
    }
    v->tx[v->ntx++] = (struct rr_txbuf){ p, l, gen };
    rpmsg_mutex_unlock(&v->lock);
    *size = cap < mtu ? cap : mtu;
    return p;
}

static void vd_wakeup(struct rpmsg_device *rdev);

/* Something a taker waits for came: one off the RX thread waits on the
 * device's condition (tx_gen), one on it in vd_wait(). */
static void wake_takers(struct rr_vdev *v)
{
    rpmsg_device_tx_done(&v->dev);
    vd_wakeup(&v->dev);
}

/* Takes buf out of the TX table; false if it is not ours. A table that was
 * full may have a taker asleep on it (vd_get_tx armed nothing): woken. */
static bool tx_take(struct rr_vdev *v, void *buf, struct rr_txbuf *out, bool *current,
                    uint32_t *src, uint32_t *dst)
{
    rpmsg_mutex_lock(&v->lock);
    for (unsigned i = 0; i < v->ntx; i++) {
        if (v->tx[i].buf != buf)
            continue;
        *out = v->tx[i];
        bool was_full = v->ntx == RPMSG_ROUTER_TX_MAX;
        v->tx[i] = v->tx[--v->ntx];
        *current = out->gen == v->gen && v->state == RR_V_UP && out->link == v->carrier;
        *src = v->tun_addr;
        *dst = v->peer;
        rpmsg_mutex_unlock(&v->lock);
        if (was_full)
            wake_takers(v);
        return true;
    }
    rpmsg_mutex_unlock(&v->lock);
    return false;
}

static int vd_send(struct rpmsg_device *rdev, void *buf, uint32_t len)
{
    struct rr_vdev *v = vd_of(rdev);
    struct rr_txbuf t;
    bool current;
    uint32_t src, dst;
    if (!tx_take(v, buf, &t, &current, &src, &dst))
        return -EINVAL;
    int rc;
    if (current) {
        rc = rpmsg_send_offchannel_nocopy(&t.link->ctrl, src, dst, buf, len);
        if (rc >= 0) {
            rc = 0;
            RR_STAT(v->r, tunnel_tx);
        } else if (rpmsg_nocopy_kept(rc)) {
            /* Refused before reaching the transport: the buffer is still ours. */
            rpmsg_release_tx_buffer(&t.link->ctrl, buf);
        }
    } else {
        /* Taken on a route that has gone since: it must not reach whoever
         * holds that tunnel address now. */
        rpmsg_release_tx_buffer(&t.link->ctrl, buf);
        rc = -ENOTCONN;
    }
    link_ref(t.link, -1);
    return rc;
}

static int vd_release_tx(struct rpmsg_device *rdev, void *buf)
{
    struct rr_vdev *v = vd_of(rdev);
    struct rr_txbuf t;
    bool current;
    uint32_t src, dst;
    if (!tx_take(v, buf, &t, &current, &src, &dst))
        return -EINVAL;
    int rc = rpmsg_release_tx_buffer(&t.link->ctrl, buf);
    link_ref(t.link, -1);
    return rc;
}

static void give_back(struct rr_held h)
{
    if (RPMSG_NO_SYS ? false : h.bounce)
        free(h.buf);
    else
        rpmsg_release_rx_buffer(&h.link->ctrl, h.buf);
    link_ref(h.link, -1);
}

static void vd_release_rx(struct rpmsg_device *rdev, void *buf)
{
    struct rr_vdev *v = vd_of(rdev);
    rpmsg_mutex_lock(&v->lock);
    /* Most recent first: the buffer of the callback that just returned. */
    for (unsigned i = v->nheld; i-- > 0;) {
        if (v->held[i].buf != buf)
            continue;
        struct rr_held h = v->held[i];
        v->held[i] = v->held[--v->nheld];
        rpmsg_mutex_unlock(&v->lock);
        give_back(h);
        return;
    }
    rpmsg_mutex_unlock(&v->lock);
}

static int drain_queue(struct rpmsg_device *rdev);

/* v->lock held. The caller delivers on the carrier's thread: the turn is
 * taken there, and its own RX thread waits without one. */
static bool inline_here(struct rr_vdev *v)
{
    return v->inl_depth && rpmsg_device_on_rx_context(&v->dev);
}

static int vd_poll(struct rpmsg_device *rdev)
{
    struct rr_vdev *v = vd_of(rdev);
    int n = drain_queue(rdev);
    rpmsg_mutex_lock(&v->lock);
    struct rr_link *l = inline_here(v) ? v->inl : NULL;
    rpmsg_mutex_unlock(&v->lock);
    if (l) {
        /* A wait nested in a callback on the carrier's thread: what it waits
         * for comes through the carrier. */
        int m = rpmsg_poll(l->rdev);
        if (m > 0)
            n += m;
    }
    return n;
}

static int drain_queue(struct rpmsg_device *rdev)
{
    struct rr_vdev *v = vd_of(rdev);
    int n = 0;
    for (; n < 64; n++) {
        rpmsg_mutex_lock(&v->lock);
        if (!v->qcount) {
            rpmsg_mutex_unlock(&v->lock);
            break;
        }
        struct rr_qent e = v->q[v->qhead];
        v->qhead = (v->qhead + 1) % RPMSG_ROUTER_QUEUE_MAX;
        v->qcount--;
        bool track = e.kind == RR_Q_DATA && v->nheld < RR_HELD_MAX;
        if (track)
            v->held[v->nheld++] = (struct rr_held){ e.buf, e.link, e.bounce };
        rpmsg_mutex_unlock(&v->lock);

        switch (e.kind) {
        case RR_Q_DATA:
            if (!track) {
                /* Cannot happen with the table sized for nesting plus holds. */
                give_back((struct rr_held){ e.buf, e.link, e.bounce });
                RR_STAT(v->r, drop_queue_full);
                break;
            }
            RR_STAT(v->r, tunnel_rx);
            rpmsg_device_rx(rdev, e.buf, e.len);
            break;
        case RR_Q_UP:
            /* Set while down: no sender sizes a message against it now. */
            rpmsg_device_set_tx_buf_size(rdev, e.mtu);
            rpmsg_device_link_up(rdev, v->name, e.features);
            /* A sender that found no buffer while the route was changing
             * waits for tx_gen to move, not for the link: move it. */
            rpmsg_device_tx_done(rdev);
            break;
        default:
            rpmsg_device_link_down(rdev);
            rpmsg_device_tx_done(rdev);
            break;
        }
    }
    return n;
}

static int vd_wait(struct rpmsg_device *rdev, uint64_t deadline)
{
    struct rr_vdev *v = vd_of(rdev);
    int rc = 0;
    rpmsg_mutex_lock(&v->lock);
    if (inline_here(v)) {
        /* On the carrier's thread: sleep in the carrier's wait, which
         * push() and vd_wakeup() interrupt. */
        struct rr_link *l = v->inl;
        if (!v->qcount && !v->wake) {
            v->inl_waiting = true;
            rpmsg_mutex_unlock(&v->lock);
            rc = l->rdev->ops->wait(l->rdev, deadline);
            rpmsg_mutex_lock(&v->lock);
            v->inl_waiting = false;
        }
        v->wake = false;
        rpmsg_mutex_unlock(&v->lock);
        return rc == -ETIMEDOUT ? rc : 0;
    }
    while (!v->qcount && !v->wake && rc != -ETIMEDOUT)
        rc = rpmsg_cond_wait(&v->cond, &v->lock, deadline);
    v->wake = false;
    rpmsg_mutex_unlock(&v->lock);
    return rc == -ETIMEDOUT ? rc : 0;
}

/* v->lock held. The carrier's wakeup never blocks. */
static void wake_inline(struct rr_vdev *v)
{
    if (v->inl_waiting)
        v->inl->rdev->ops->wakeup(v->inl->rdev);
}

static void vd_wakeup(struct rpmsg_device *rdev)
{
    struct rr_vdev *v = vd_of(rdev);
    rpmsg_mutex_lock(&v->lock);
    v->wake = true;
    rpmsg_cond_broadcast(&v->cond);
    wake_inline(v);
    rpmsg_mutex_unlock(&v->lock);
}

static const struct rpmsg_transport_ops vd_ops = {
    .get_tx_buffer = vd_get_tx,
    .send = vd_send,
    .release_tx_buffer = vd_release_tx,
    .release_rx_buffer = vd_release_rx,
    .poll = vd_poll,
    .wait = vd_wait,
    .wakeup = vd_wakeup,
};

bool rpmsg_router_is_virtual(const struct rpmsg_device *rdev)
{
    return rdev && rdev->ops == &vd_ops;
}

/* ---- Queue ------------------------------------------------------------------ */

static bool push(struct rr_vdev *v, const struct rr_qent *e)
{
    if (v->qcount == RPMSG_ROUTER_QUEUE_MAX)
        return false;
    v->q[(v->qhead + v->qcount) % RPMSG_ROUTER_QUEUE_MAX] = *e;
    v->qcount++;
    rpmsg_cond_broadcast(&v->cond);
    wake_inline(v);
    return true;
}

bool rr_vdev_push_marker(struct rr_vdev *v, enum rr_qkind kind, uint32_t mtu, uint32_t features)
{
    struct rr_qent e = { .kind = (uint8_t)kind, .mtu = mtu, .features = features };
    return push(v, &e);
}

void rr_vdev_flush_up(struct rr_vdev *v)
{
    if (v->up_pending && rr_vdev_push_marker(v, RR_Q_UP, v->mtu, v->up_features)) {
        v->up_pending = false;
        RR_STAT(v->r, routes_up);
    }
}

void rr_vdev_circuit_end(struct rr_vdev *v, uint64_t retry_at)
{
    bool announced = v->state == RR_V_UP && !v->up_pending;
    v->up_pending = false;
    if (announced) {
        RR_STAT(v->r, routes_down);
        /* A full queue still gets its DOWN, in place of its newest message:
         * the RX thread is stuck anyway, and device_destroyed must come. */
        if (!rr_vdev_push_marker(v, RR_Q_DOWN, 0, 0)) {
            struct rr_qent *last = &v->q[(v->qhead + v->qcount - 1) % RPMSG_ROUTER_QUEUE_MAX];
            if (last->kind == RR_Q_DATA) {
                /* Releasing a carrier buffer under v->lock is in lock order. */
                give_back((struct rr_held){ last->buf, last->link, last->bounce });
                v->qcount--;
                RR_STAT(v->r, drop_queue_full);
            }
            rr_vdev_push_marker(v, RR_Q_DOWN, 0, 0);
        }
    }
    v->state = RR_V_DOWN;
    if (v->tun_live)
        v->tun_dead = true;
    v->next_try = retry_at;
}

int rr_vdev_tun_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct rr_vdev *v = priv;
    struct rpmsg_rx_turn turn;
    bool here = !v->r->rx_own_thread && rpmsg_device_rx_try_enter(&v->dev, &turn);
    rpmsg_mutex_lock(&v->lock);
    if (v->state != RR_V_UP || ept != &v->tun || src != v->peer) {
        rpmsg_mutex_unlock(&v->lock);
        RR_STAT(v->r, drop_no_route);
        goto out;
    }
    rr_vdev_flush_up(v); /* the far end answered before our ACCEPT was out */
    if (v->qcount == RPMSG_ROUTER_QUEUE_MAX) {
        rpmsg_mutex_unlock(&v->lock);
        RR_STAT(v->r, drop_queue_full);
        goto out;
    }
    struct rr_qent e = { .kind = RR_Q_DATA, .len = (uint32_t)len, .buf = data, .link = v->carrier };
    if (rpmsg_hold_rx_buffer(ept, data) != 0) {
        /* Without an OS there is no heap to copy into: RPMSG_HOLD_MAX
         * must cover the carrier's inner messages being delivered. */
        e.buf = RPMSG_NO_SYS ? NULL : malloc(len ? len : 1);
        if (!e.buf) {
            rpmsg_mutex_unlock(&v->lock);
            RR_STAT(v->r, drop_queue_full);
            goto out;
        }
        memcpy(e.buf, data, len);
        e.bounce = true;
        RR_STAT(v->r, rx_bounced);
    }
    link_ref(e.link, 1);
    /* Delivered here only behind nothing: a queued marker or message goes
     * first, on the virtual device's thread. */
    if (here && !v->qcount && v->nheld < RR_HELD_MAX) {
        v->held[v->nheld++] = (struct rr_held){ e.buf, e.link, e.bounce };
        struct rr_link *outer = v->inl;
        v->inl = e.link;
        v->inl_depth++;
        rpmsg_mutex_unlock(&v->lock);
        RR_STAT(v->r, tunnel_rx);
        rpmsg_device_rx(&v->dev, e.buf, e.len);
        rpmsg_mutex_lock(&v->lock);
        v->inl_depth--;
        v->inl = outer;
        rpmsg_mutex_unlock(&v->lock);
        goto out;
    }
    push(v, &e);
    rpmsg_mutex_unlock(&v->lock);
out:
    if (here)
        rpmsg_device_rx_leave(&turn);
    return 0;
}

void rr_vdev_kick_starved(struct rpmsg_router *r, struct rr_link *l)
{
    struct rr_vdev *kick[RPMSG_ROUTER_CPUS_MAX];
    unsigned n = 0;
    /* A device that starves after this sets the flag again, then starves
     * the link: the pump comes round once more and finds it. Load and store,
     * not an exchange (Cortex-M0+ has none): a flag set between them belongs
     * to a device that set v->starved first, under its lock, which the scan
     * below takes after the store. */
    if (!__atomic_load_n(&l->vd_starved, __ATOMIC_ACQUIRE))
        return;
    __atomic_store_n(&l->vd_starved, false, __ATOMIC_RELAXED);
    rpmsg_mutex_lock(&r->lock);
    for (unsigned i = 0; i < RPMSG_ROUTER_CPUS_MAX; i++) {
        struct rr_vdev *v = r->vdevs[i];
        if (!v)
            continue;
        rpmsg_mutex_lock(&v->lock);
        if (v->starved && v->carrier == l) {
            v->starved = false;
            kick[n++] = v;
        }
        rpmsg_mutex_unlock(&v->lock);
    }
    rpmsg_mutex_unlock(&r->lock);
    for (unsigned i = 0; i < n; i++)
        wake_takers(kick[i]);
}

/* ---- Lifecycle -------------------------------------------------------------- */

int rr_vdev_poll(struct rr_vdev *v)
{
    rpmsg_mutex_lock(&v->lock);
    bool queued = v->qcount != 0;
    rpmsg_mutex_unlock(&v->lock);
    return queued ? rpmsg_poll(&v->dev) : 0;
}

struct rr_vdev *rr_vdev_create(struct rpmsg_router *r, const char *name)
{
    struct rr_vdev *v = rr_vdev_alloc(r);
    if (!v)
        return NULL;
    v->r = r;
    rr_copy_name(v->name, name);
    if (rpmsg_mutex_init(&v->lock)) {
        rr_vdev_free(r, v);
        return NULL;
    }
    if (rpmsg_cond_init(&v->cond)) {
        rpmsg_mutex_deinit(&v->lock);
        rr_vdev_free(r, v);
        return NULL;
    }
    struct rpmsg_device_config dc = { .local_cpuname = r->name, .features = r->features,
                                      .lent_rx = !r->rx_own_thread };
    int rc = rpmsg_device_init(&v->dev, &vd_ops, v, &dc);
    if (!rc) {
        v->dev.tx_buf_size = RPMSG_HDR_SIZE;
        rc = rpmsg_device_start(&v->dev);
        if (rc)
            rpmsg_device_deinit(&v->dev);
    }
    if (rc) {
        rpmsg_cond_deinit(&v->cond);
        rpmsg_mutex_deinit(&v->lock);
        rr_vdev_free(r, v);
        return NULL;
    }
    return v;
}

/* The tunnel is already destroyed and no link delivers to v any more. */
void rr_vdev_destroy(struct rr_vdev *v)
{
    rpmsg_device_deinit(&v->dev); /* joins the RX thread, device_destroyed if up */
    rpmsg_mutex_lock(&v->lock);
    while (v->qcount) {
        struct rr_qent e = v->q[v->qhead];
        v->qhead = (v->qhead + 1) % RPMSG_ROUTER_QUEUE_MAX;
        v->qcount--;
        if (e.kind != RR_Q_DATA)
            continue;
        rpmsg_mutex_unlock(&v->lock);
        give_back((struct rr_held){ e.buf, e.link, e.bounce });
        rpmsg_mutex_lock(&v->lock);
    }
    /* Still held by the application: give them back rather than leak the
     * carrier's buffers; the application was told to let go first. */
    while (v->nheld) {
        struct rr_held h = v->held[--v->nheld];
        rpmsg_mutex_unlock(&v->lock);
        give_back(h);
        rpmsg_mutex_lock(&v->lock);
    }
    while (v->ntx) {
        struct rr_txbuf t = v->tx[--v->ntx];
        rpmsg_mutex_unlock(&v->lock);
        rpmsg_release_tx_buffer(&t.link->ctrl, t.buf);
        link_ref(t.link, -1);
        rpmsg_mutex_lock(&v->lock);
    }
    rpmsg_mutex_unlock(&v->lock);
    rpmsg_cond_deinit(&v->cond);
    rpmsg_mutex_deinit(&v->lock);
    rr_vdev_free(v->r, v);
}
