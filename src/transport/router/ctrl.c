/*
 * The router's control messages on the wire, and how the router sends:
 * without ever sleeping on a link's RX thread for a buffer of the same link,
 * and woken by a per-link pump when buffers come back (the transport contract
 * has no "buffer returned" hook for anyone but the core).
 */
#include "common/byteorder.h"
#include "router_priv.h"

void rr_encode(const struct rr_msg *m, uint8_t out[RR_WIRE_SIZE])
{
    memset(out, 0, RR_WIRE_SIZE);
    out[0] = RR_VERSION;
    out[1] = m->type;
    out[2] = m->hops;
    out[3] = m->flags;
    rpmsg_put32(out + 4, m->to);
    rpmsg_put32(out + 8, m->from);
    rpmsg_put32(out + 12, m->fwd);
    rpmsg_put32(out + 16, m->rev);
    rpmsg_put32(out + 20, m->features);
    memcpy(out + 24, m->name, strnlen(m->name, RR_WIRE_NAME - 1));
    memcpy(out + 24 + RR_WIRE_NAME, m->src, strnlen(m->src, RR_WIRE_NAME - 1));
}

/* A name field: NUL inside, short enough for our buffers. */
static int get_name(char *dst, const uint8_t *p)
{
    size_t n = strnlen((const char *)p, RR_WIRE_NAME);
    if (n >= RR_WIRE_NAME || n >= RPMSG_CPUNAME_SIZE)
        return -EBADMSG;
    memcpy(dst, p, n);
    memset(dst + n, 0, RPMSG_CPUNAME_SIZE - n);
    return 0;
}

int rr_decode(const void *data, size_t len, struct rr_msg *m)
{
    const uint8_t *p = data;
    if (!p || len != RR_WIRE_SIZE || p[0] != RR_VERSION)
        return -EBADMSG;
    memset(m, 0, sizeof(*m));
    m->type = p[1];
    m->hops = p[2];
    m->flags = p[3];
    m->to = rpmsg_get32(p + 4);
    m->from = rpmsg_get32(p + 8);
    m->fwd = rpmsg_get32(p + 12);
    m->rev = rpmsg_get32(p + 16);
    m->features = rpmsg_get32(p + 20);
    if (get_name(m->name, p + 24) || get_name(m->src, p + 24 + RR_WIRE_NAME))
        return -EBADMSG;
    switch (m->type) {
    case RR_HELLO:
        return m->name[0] && !(m->flags & ~(RR_HELLO_REPLY | RR_HELLO_HUB | RR_HELLO_BYE))
                   ? 0
                   : -EBADMSG;
    case RR_ROUTE:
        if (!m->name[0] || m->hops == 0 || (m->hops > RPMSG_ROUTER_HOPS_MAX && m->hops != RR_INF))
            return -EBADMSG;
        return 0;
    case RR_CONNECT:
        if (!m->name[0] || !m->src[0] || m->from == RPMSG_ADDR_ANY || m->from == RPMSG_NS_ADDR ||
            m->hops > RPMSG_ROUTER_HOPS_MAX)
            return -EBADMSG;
        return 0;
    case RR_ACCEPT:
        return m->to != RPMSG_ADDR_ANY && m->from != RPMSG_ADDR_ANY && m->from != RPMSG_NS_ADDR
                   ? 0
                   : -EBADMSG;
    case RR_REJECT:
        return m->to != RPMSG_ADDR_ANY ? 0 : -EBADMSG;
    case RR_DISCONNECT:
        return m->to != RPMSG_ADDR_ANY || m->from != RPMSG_ADDR_ANY ? 0 : -EBADMSG;
    default:
        return -EBADMSG;
    }
}

/* ---- Sending ------------------------------------------------------------------ */

void rr_tx_wake(struct rpmsg_router *r)
{
    /* Atomic: rr_send reads it before taking the lock. */
    RR_ATOMIC_ADD(&r->tx_gen, 1);
    rpmsg_cond_broadcast(&r->tx_cond);
}

void rr_starve_locked(struct rr_link *l)
{
    if (!l->starved) {
        l->starved = true;
        rpmsg_cond_broadcast(&l->pump_cond);
    }
}

void rr_starve(struct rpmsg_router *r, struct rr_link *l)
{
    rpmsg_mutex_lock(&r->lock);
    rr_starve_locked(l);
    rpmsg_mutex_unlock(&r->lock);
}

int rr_send(struct rpmsg_router *r, struct rr_link *l, uint32_t src, uint32_t dst,
            const void *data, uint32_t len, struct rr_hub_circuit *hc)
{
    uint64_t deadline = rpmsg_deadline(RPMSG_SEND_TIMEOUT_MS);
    for (;;) {
        uint32_t gen = RR_ATOMIC_LOAD(&r->tx_gen);
        int n = rpmsg_trysend_offchannel(&l->ctrl, src, dst, data, len);
        if (n != -EAGAIN)
            return n < 0 ? n : 0;
#if RPMSG_NO_SYS
        /* Nothing can give a buffer back while we wait: the caller's
         * protocol repeats what is lost (control messages) or counts it. */
        (void)gen, (void)deadline, (void)hc;
        rr_starve(r, l);
        return -EAGAIN;
#else
        /* No buffer: the pump wakes us (tx_gen) when one comes back. The
         * generation was read before the attempt, so a buffer returned in
         * between is not missed. */
        rpmsg_mutex_lock(&r->lock);
        rr_starve_locked(l);
        int rc = 0;
        /* Counted before tx_gen is read again: the pump moves tx_gen, then
         * reads the count (both sequentially consistent), so either it sees
         * this waiter and broadcasts, or this thread sees the new tx_gen. */
        __atomic_add_fetch(&r->tx_waiters, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&r->tx_gen, __ATOMIC_SEQ_CST) == gen && !r->stop &&
               !(hc && hc->state == RR_HC_DEAD) && rc == 0)
            rc = rpmsg_cond_wait(&r->tx_cond, &r->lock, deadline);
        __atomic_sub_fetch(&r->tx_waiters, 1, __ATOMIC_RELAXED);
        bool cancel = r->stop || (hc && hc->state == RR_HC_DEAD);
        rpmsg_mutex_unlock(&r->lock);
        if (cancel)
            return -ECANCELED;
        if (rc == -ETIMEDOUT)
            return -ETIMEDOUT;
#endif
    }
}

int rr_send_msg(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    uint8_t buf[RR_WIRE_SIZE];
    rr_encode(m, buf);
    int rc = rr_send(r, l, RPMSG_ROUTER_ADDR, RPMSG_ROUTER_ADDR, buf, sizeof(buf), NULL);
    if (rc)
        RR_STAT(r, drop_tx_fail);
    return rc;
}

/* ---- The pump ---------------------------------------------------------------- */

void rr_pump_round(struct rr_link *l, bool wait)
{
    struct rpmsg_router *r = l->r;
    /* Held relays waiting for this link go out first, as many as there
     * are free buffers; then the buffer left over is given back. */
    uint32_t cap = 0;
    void *p = rpmsg_get_tx_payload_buffer(&l->ctrl, &cap, wait ? RPMSG_WAIT : RPMSG_NOWAIT);
    if (!p && !wait) {
        rr_starve(r, l); /* still none: the next round tries again */
        return;
    }
    /* Out of buffers again with more held, it starves the link itself. */
    if (p)
        rr_relay_held(r, l, &p, cap);
    if (p)
        rpmsg_release_tx_buffer(&l->ctrl, p);

    /* The router lock only for a sender asleep in rr_send (see there). */
#if RPMSG_NO_SYS
    rpmsg_mutex_lock(&r->lock);
    rr_tx_wake(r);
    rpmsg_mutex_unlock(&r->lock);
#else
    __atomic_add_fetch(&r->tx_gen, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&r->tx_waiters, __ATOMIC_SEQ_CST)) {
        rpmsg_mutex_lock(&r->lock);
        rpmsg_cond_broadcast(&r->tx_cond); /* tx_gen moved above */
        rpmsg_mutex_unlock(&r->lock);
    }
#endif
    rr_vdev_kick_starved(r, l);
}

#if !RPMSG_NO_SYS
/*
 * Waits (in the core, on the link's own condition) for a free buffer while
 * someone is starved, gives it straight back and wakes the starved. Costs a
 * thread per link, but keeps every buffer wait event-driven.
 */
static void pump_main(void *arg)
{
    struct rr_link *l = arg;
    struct rpmsg_router *r = l->r;
    for (;;) {
        rpmsg_mutex_lock(&r->lock);
        while (!l->starved && !l->pump_stop)
            rpmsg_cond_wait(&l->pump_cond, &r->lock, RPMSG_FOREVER);
        if (l->pump_stop) {
            rpmsg_mutex_unlock(&r->lock);
            return;
        }
        l->starved = false;
        rpmsg_mutex_unlock(&r->lock);
        rr_pump_round(l, true);
    }
}
#endif

int rr_pump_start(struct rr_link *l)
{
    l->pump_stop = false;
    l->starved = false;
#if RPMSG_NO_SYS
    return 0; /* rpmsg_router_poll runs the rounds */
#else
    int rc = rpmsg_cond_init(&l->pump_cond);
    if (rc)
        return rc;
    rc = rpmsg_thread_create(&l->pump, pump_main, l, "rpmsg-rpump");
    if (rc) {
        rpmsg_cond_deinit(&l->pump_cond);
        return rc;
    }
    l->pump_started = true;
    return 0;
#endif
}

void rr_pump_join(struct rr_link *l)
{
    if (!l->pump_started)
        return;
    struct rpmsg_router *r = l->r;
    rpmsg_mutex_lock(&r->lock);
    l->pump_stop = true;
    rpmsg_cond_broadcast(&l->pump_cond);
    rpmsg_mutex_unlock(&r->lock);
    rpmsg_thread_join(&l->pump);
    rpmsg_cond_deinit(&l->pump_cond);
    l->pump_started = false;
}
