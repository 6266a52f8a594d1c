/*
 * Routes end to end ("circuits"): set up by CONNECT / ACCEPT along the path,
 * torn down by DISCONNECT (or REJECT while setting up), and the hubs' relay.
 *
 * ACCEPT, REJECT and DISCONNECT are handled on the RX thread of the link
 * they arrive on, so they stay in order with the tunnel traffic of that link:
 * a hub has its relay open before the first message behind the ACCEPT
 * arrives, and an edge queues UP before that message and DOWN after
 * everything that preceded the DISCONNECT. CONNECT creates endpoints and
 * devices, nothing is behind it yet, so the worker handles it.
 */
#include "router_priv.h"

static uint32_t min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

static void hc_kill(struct rpmsg_router *r, struct rr_hub_circuit *hc)
{
    if (hc->state == RR_HC_DEAD)
        return;
    /* Atomic: hub_cb reads it without the lock. */
    __atomic_store_n(&hc->state, RR_HC_DEAD, __ATOMIC_RELEASE);
    rr_tx_wake(r); /* a relay waiting for a buffer gives up */
    rr_kick(r);    /* the worker destroys the endpoints */
}

/* The hub circuit whose endpoint on l is `to` (or, to unknown, whose
 * neighbour on l is `from`). r->lock held. */
static struct rr_hub_circuit *hc_find(struct rpmsg_router *r, struct rr_link *l, uint32_t to,
                                      uint32_t from, int *side)
{
    for (struct rr_hub_circuit *hc = r->circuits; hc; hc = hc->next) {
        if (hc->state == RR_HC_DEAD)
            continue;
        for (int i = 0; i < 2; i++) {
            struct rr_side *s = &hc->s[i];
            if (s->link != l || !s->live)
                continue;
            if (to != RPMSG_ADDR_ANY ? s->ept.addr == to
                                     : from != RPMSG_ADDR_ANY && s->peer == from) {
                *side = i;
                return hc;
            }
        }
    }
    return NULL;
}

/* Same for an edge: returns the virtual device locked. r->lock held. */
static struct rr_vdev *vd_find(struct rpmsg_router *r, struct rr_link *l, uint32_t to,
                               uint32_t from)
{
    for (unsigned i = 0; i < RPMSG_ROUTER_CPUS_MAX; i++) {
        struct rr_vdev *v = r->vdevs[i];
        if (!v)
            continue;
        rpmsg_mutex_lock(&v->lock);
        bool hit = v->state != RR_V_DOWN && v->carrier == l && v->tun_live &&
                   (to != RPMSG_ADDR_ANY ? v->tun_addr == to
                                         : from != RPMSG_ADDR_ANY && v->peer == from);
        if (hit)
            return v;
        rpmsg_mutex_unlock(&v->lock);
    }
    return NULL;
}

/* One attempt, for answers sent on the RX thread of the same link: a wait
 * there would not dispatch, and these are only courtesy clean-ups. */
static void send_once(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    uint8_t buf[RR_WIRE_SIZE];
    rr_encode(m, buf);
    if (rpmsg_trysend_offchannel(&l->ctrl, RPMSG_ROUTER_ADDR, RPMSG_ROUTER_ADDR, buf,
                                 sizeof(buf)) < 0)
        RR_STAT(r, drop_tx_fail);
}

static struct rr_msg mk(uint8_t type, uint32_t to, uint32_t from)
{
    struct rr_msg m = { .type = type, .to = to, .from = from };
    return m;
}

/* ---- Relay ------------------------------------------------------------------- */

/*
 * One copy on the path: from the RX buffer of one link into a TX buffer of
 * the other. The buffer itself cannot be handed on: it belongs to the first
 * link's pool (another transport, or another shared memory) and must go
 * back to it through release_rx_buffer.
 *
 * When the next link has a free buffer, the copy happens at once on the RX
 * thread. When it has none, the RX buffer is held and queued on its circuit,
 * and the next link's pump, which wakes when a buffer comes back, copies it
 * into that buffer, sends it and releases the RX buffer. The RX thread goes
 * on with its link instead of sleeping, and each hand-off wakes one thread
 * (the pump) instead of two (the pump, then the RX thread it woke); the
 * pump sends each queue it finds whole, while the link has buffers. While a
 * circuit's queue is not empty, its new messages queue behind it: order per
 * route holds. Only a full queue or hold table makes the RX thread wait, for
 * the queue to drain: that is the backpressure on the previous link.
 */

static void relayed(struct rpmsg_router *r, size_t len)
{
    RR_STAT(r, relayed_msgs);
    RR_STAT_ADD(r, relayed_bytes, len);
}

#define RELAY_Q RPMSG_ROUTER_RELAY_MAX

/*
 * A side's queue: head and tail run free (RELAY_Q divides 2^32). Only the
 * side's RX context adds (tail), only the pump of the other link or, once
 * the circuit is dead and its endpoints gone, the reaper takes (head, under
 * r->lock). Both indices are published sequentially consistent: the pump
 * stores head, then reads tail; the RX thread stores tail, then reads head.
 * So an entry the pump missed is one the RX thread sees it may have missed
 * (everything before it gone), and it wakes the pump then only: an entry
 * queued behind others costs no router lock round.
 */
static unsigned q_len(const struct rr_side *s)
{
    return __atomic_load_n(&s->qtail, __ATOMIC_SEQ_CST) -
           __atomic_load_n(&s->qhead, __ATOMIC_SEQ_CST);
}

_Static_assert((RELAY_Q & (RELAY_Q - 1)) == 0, "RPMSG_ROUTER_RELAY_MAX: a power of two");

/* The RX context, with room in the queue: queues the held buffer. locked:
 * r->lock is held (the pump is told anyway). */
static void q_put(struct rpmsg_router *r, struct rr_side *s, struct rr_link *ol, void *data,
                  uint32_t len, bool locked)
{
    unsigned tail = s->qtail;
    s->q[tail % RELAY_Q] = (struct rr_relayed){ data, len };
    __atomic_store_n(&s->qtail, tail + 1, __ATOMIC_SEQ_CST);
    if (locked)
        rr_starve_locked(ol);
    else if (__atomic_load_n(&s->qhead, __ATOMIC_SEQ_CST) == tail)
        rr_starve(r, ol);
}

/* r->lock held: waits until fewer than `below` messages wait on side s.
 * 0, or -ECANCELED (route dead, router stopping) or -ETIMEDOUT. */
static int wait_queue(struct rpmsg_router *r, struct rr_hub_circuit *hc, struct rr_side *s,
                      struct rr_link *ol, unsigned below)
{
    uint64_t deadline = 0;
    while (hc->state == RR_HC_UP && !r->stop && q_len(s) >= below) {
        if (RPMSG_NO_SYS) {
            /* One context: the pump that would drain the queue runs only
             * after we return. The held RX buffers already hold the
             * previous link back (its credits); what overflows is lost. */
            rr_starve_locked(ol);
            return -EAGAIN;
        }
        if (!deadline) {
            deadline = rpmsg_deadline(RPMSG_SEND_TIMEOUT_MS);
            RR_STAT(r, relay_waits);
        }
        rr_starve_locked(ol);
        if (rpmsg_cond_wait(&r->tx_cond, &r->lock, deadline) == -ETIMEDOUT &&
            q_len(s) >= below)
            return -ETIMEDOUT;
    }
    return hc->state == RR_HC_UP && !r->stop ? 0 : -ECANCELED;
}

static void relay_later(struct rpmsg_router *r, struct rr_hub_circuit *hc, int in, void *data,
                        uint32_t len)
{
    struct rr_side *s = &hc->s[in], *o = &hc->s[1 - in];
    struct rr_link *ol = o->link;
    bool held = rpmsg_hold_rx_buffer(&s->ept, data) == 0;
    /* Room now is room until we add: only the pump takes. The circuit may
     * die meanwhile: the reaper destroys this endpoint first (which waits
     * for this callback) and empties the queue after. */
    if (held && q_len(s) < RELAY_Q) {
        q_put(r, s, ol, data, len, false);
        return;
    }
    rpmsg_mutex_lock(&r->lock);
    /* Without a hold slot, it is sent from here once nothing older waits.
     * A full queue is waited on until half of it has gone: the pump wakes
     * this thread once per half queue, not once per message. */
    int rc = wait_queue(r, hc, s, ol,
                        !held ? 1 : q_len(s) == RELAY_Q ? RELAY_Q / 2 + 1 : RELAY_Q);
    uint32_t from = o->addr, to = o->peer;
    if (!rc && held)
        q_put(r, s, ol, data, len, true);
    rpmsg_mutex_unlock(&r->lock);
    if (!rc && !held)
        rc = rr_send(r, ol, from, to, data, len, hc);
    else if (rc && held)
        rpmsg_release_rx_buffer(&s->ept, data);
    if (rc)
        RR_STAT(r, drop_tx_fail);
    else if (!held)
        relayed(r, len);
}

static int hub_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct rr_hub_circuit *hc = priv;
    struct rpmsg_router *r = hc->r;
    int in = ept == &hc->s[0].ept ? 0 : 1;
    /*
     * No lock: the peers are written before the state turns UP (a release
     * store) and never again, the links and our addresses before the
     * endpoints exist. A circuit killed just after this check relays one
     * message more, as it would after an unlock. The queue: only this
     * thread adds, so empty now is empty until we add; the pump's last
     * send is out before it moves head past it.
     */
    if (__atomic_load_n(&hc->state, __ATOMIC_ACQUIRE) != RR_HC_UP || src != hc->s[in].peer) {
        RR_STAT(r, drop_no_route);
        return 0;
    }
    struct rr_side *o = &hc->s[1 - in];
    struct rr_link *ol = o->link;
    uint32_t from = o->addr, to = o->peer;
    bool behind = q_len(&hc->s[in]) != 0;
    if (len > rr_link_mtu(ol)) {
        RR_STAT(r, drop_too_big);
        return 0;
    }
    if (!behind) {
        int n = rpmsg_trysend_offchannel(&ol->ctrl, from, to, data, (uint32_t)len);
        if (n >= 0) {
            relayed(r, len);
            return 0;
        }
        if (n != -EAGAIN) {
            RR_STAT(r, drop_tx_fail);
            return 0;
        }
    }
    relay_later(r, hc, in, data, (uint32_t)len);
    return 0;
}

/* r->lock held: the side whose oldest held messages go out on l next
 * (its circuit counted as pumping, o the side they leave by), or NULL. */
static struct rr_side *next_held(struct rpmsg_router *r, struct rr_link *l,
                                 struct rr_hub_circuit **out, struct rr_side **o)
{
    for (struct rr_hub_circuit *hc = r->circuits; hc; hc = hc->next) {
        if (hc->state != RR_HC_UP)
            continue;
        for (int i = 0; i < 2; i++)
            if (hc->s[1 - i].link == l && q_len(&hc->s[i])) {
                hc->pumping++;
                *out = hc;
                *o = &hc->s[1 - i];
                return &hc->s[i];
            }
    }
    return NULL;
}

/* Sends e on l: into *p (a buffer the pump already has, then NULL) or
 * into whatever l has free. The count sent, or a negative errno. */
static int relay_one(struct rr_link *l, const struct rr_relayed *e, uint32_t from, uint32_t to,
                     void **p, uint32_t cap)
{
    if (!*p)
        return rpmsg_trysend_offchannel(&l->ctrl, from, to, e->buf, e->len);
    int n = -EMSGSIZE;
    if (e->len <= cap) {
        memcpy(*p, e->buf, e->len);
        n = rpmsg_send_offchannel_nocopy(&l->ctrl, from, to, *p, e->len);
    }
    if (n < 0 && rpmsg_nocopy_kept(n))
        rpmsg_release_tx_buffer(&l->ctrl, *p);
    *p = NULL;
    return n;
}

/*
 * A side's whole queue goes in one pass: one router lock round to take
 * what is queued, one to dequeue what went, instead of one per message.
 * Only this pump takes from the queue, and entries stay until dequeued
 * (so the RX thread keeps queueing behind them, and the reaper, which
 * waits for pumping to drop, gives back whatever is left).
 */
unsigned rr_relay_held(struct rpmsg_router *r, struct rr_link *l, void **buf, uint32_t cap)
{
    void *p = *buf;
    unsigned sent = 0;
    struct rr_hub_circuit *hc = NULL;
    struct rr_side *o = NULL;
    rpmsg_mutex_lock(&r->lock);
    struct rr_side *s = next_held(r, l, &hc, &o);
    while (s) {
        unsigned head = s->qhead, k = q_len(s), done = 0;
        uint32_t from = o->addr, to = o->peer;
        rpmsg_mutex_unlock(&r->lock);

        bool full = false;
        /* A circuit killed meanwhile sends no more: the reaper gives the
         * rest back unsent. */
        while (done < k && __atomic_load_n(&hc->state, __ATOMIC_ACQUIRE) == RR_HC_UP) {
            const struct rr_relayed *e = &s->q[(head + done) % RELAY_Q];
            int n = relay_one(l, e, from, to, &p, cap);
            if (n == -EAGAIN) {
                full = true; /* out of buffers: it stays first in the queue */
                break;
            }
            rpmsg_release_rx_buffer(&s->ept, e->buf);
            if (n < 0) {
                RR_STAT(r, drop_tx_fail);
            } else {
                relayed(r, e->len);
                RR_STAT(r, relay_held);
            }
            done++;
        }

        rpmsg_mutex_lock(&r->lock);
        hc->pumping--;
        __atomic_store_n(&s->qhead, head + done, __ATOMIC_SEQ_CST);
        unsigned left = q_len(s);
        sent += done;
        /* Whom it may concern: the RX thread waiting for half the queue or
         * all of it (wait_queue), the reaper for the pump. rr_send's waiters
         * hear the pump's round end (rr_tx_wake). */
        if ((done && left <= RELAY_Q / 2 && (left + done > RELAY_Q / 2 || !left)) ||
            hc->state != RR_HC_UP)
            rpmsg_cond_broadcast(&r->tx_cond);
        if (full) {
            rr_starve_locked(l); /* the pump comes round again */
            break;
        }
        s = next_held(r, l, &hc, &o);
    }
    rpmsg_mutex_unlock(&r->lock);
    *buf = p;
    return sent;
}

/* A dead circuit's held buffers go back unsent: off the list, no pump in
 * it, its endpoints destroyed (so no RX context adds any more). */
static void release_held(struct rpmsg_router *r, struct rr_hub_circuit *hc)
{
    for (int i = 0; i < 2; i++) {
        struct rr_side *s = &hc->s[i];
        for (unsigned n = q_len(s); n; n--) {
            /* ept->rdev outlives the endpoint, for buffers like these. */
            rpmsg_release_rx_buffer(&s->ept, s->q[s->qhead % RELAY_Q].buf);
            __atomic_store_n(&s->qhead, s->qhead + 1, __ATOMIC_SEQ_CST);
            RR_STAT(r, relay_dropped_held);
        }
    }
}

/* ---- CONNECT (worker) ------------------------------------------------------------- */

static void reject(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    struct rr_msg out = mk(RR_REJECT, m->from, RPMSG_ADDR_ANY);
    rr_send_msg(r, l, &out);
}

static void hub_forward(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    rpmsg_mutex_lock(&r->lock);
    struct rr_link *y = NULL;
    int s = rr_cpu_slot(r, m->name, false);
    uint8_t h = rr_best(r, s, &y);
    bool ok = r->hub && h != RR_INF && y && y != l && m->hops + 1 <= RPMSG_ROUTER_HOPS_MAX;
    uint32_t fwd = 0, rev = 0;
    if (ok) {
        fwd = min32(m->fwd, rr_link_mtu(y));
        rev = min32(m->rev, rr_link_mtu(l));
        ok = fwd > RPMSG_HDR_SIZE && rev > RPMSG_HDR_SIZE;
    }
    bool gateway = ok && y->plain;
    rpmsg_mutex_unlock(&r->lock);
    if (!ok) {
        reject(r, l, m);
        return;
    }
    if (gateway) {
        rr_gw_connect(r, l, m, y);
        return;
    }
    struct rr_hub_circuit *hc = rr_hc_alloc(r);
    if (!hc) {
        reject(r, l, m);
        return;
    }
    hc->r = r;
    hc->state = RR_HC_CONNECTING;
    hc->s[0].link = l;
    hc->s[0].peer = m->from;
    hc->s[1].link = y;
    hc->s[1].peer = RPMSG_ADDR_ANY;
    for (int i = 0; i < 2; i++) {
        hc->s[i].ept.priv = hc;
        if (rpmsg_create_ept(&hc->s[i].ept, hc->s[i].link->rdev, NULL, RPMSG_ADDR_ANY,
                             hc->s[i].peer, hub_cb, NULL)) {
            if (i)
                rpmsg_destroy_ept(&hc->s[0].ept);
            rr_hc_free(r, hc);
            reject(r, l, m);
            return;
        }
        hc->s[i].addr = hc->s[i].ept.addr;
        hc->s[i].live = true;
    }
    rpmsg_mutex_lock(&r->lock);
    hc->next = r->circuits;
    r->circuits = hc;
    rpmsg_mutex_unlock(&r->lock);

    struct rr_msg out = *m;
    out.to = RPMSG_ADDR_ANY;
    out.from = hc->s[1].ept.addr;
    out.fwd = fwd;
    out.rev = rev;
    out.hops = (uint8_t)(m->hops + 1);
    if (rr_send_msg(r, y, &out)) {
        rpmsg_mutex_lock(&r->lock);
        hc_kill(r, hc);
        rpmsg_mutex_unlock(&r->lock);
        reject(r, l, m);
    }
}

/* We are the target: the far core becomes a device here. */
static void accept_route(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    uint32_t rev = min32(m->rev, rr_link_mtu(l));
    /* One side initiates (the smaller name), so two setups never cross. */
    if (strncmp(r->name, m->src, RPMSG_CPUNAME_SIZE) < 0 || rev <= RPMSG_HDR_SIZE ||
        m->fwd <= RPMSG_HDR_SIZE) {
        reject(r, l, m);
        return;
    }
    rpmsg_mutex_lock(&r->lock);
    int s = rr_cpu_slot(r, m->src, true);
    struct rr_vdev *v = s >= 0 ? r->vdevs[s] : NULL;
    rpmsg_mutex_unlock(&r->lock);
    if (s < 0) {
        reject(r, l, m);
        return;
    }
    if (!v) {
        v = rr_vdev_create(r, m->src);
        if (!v) {
            reject(r, l, m);
            return;
        }
        rpmsg_mutex_lock(&r->lock);
        r->vdevs[s] = v;
        rpmsg_mutex_unlock(&r->lock);
    }

    /* A new setup from the same core replaces the route we had with it (it
     * restarted, or lost a hop we have not heard about yet). */
    uint64_t now = rpmsg_time_ms();
    rpmsg_mutex_lock(&r->lock);
    rpmsg_mutex_lock(&v->lock);
    bool old = v->state != RR_V_DOWN;
    struct rr_link *ol = v->carrier;
    struct rr_msg bye = mk(RR_DISCONNECT, v->peer, v->tun_addr);
    if (old)
        rr_vdev_circuit_end(v, now);
    bool destroy = v->tun_live;
    rpmsg_mutex_unlock(&v->lock);
    rpmsg_mutex_unlock(&r->lock);
    if (old)
        rr_send_msg(r, ol, &bye);
    if (destroy) {
        rpmsg_destroy_ept(&v->tun);
        rpmsg_mutex_lock(&v->lock);
        v->tun_live = v->tun_dead = false;
        v->tun_addr = RPMSG_ADDR_ANY;
        rpmsg_mutex_unlock(&v->lock);
    }

    v->tun.priv = v;
    if (rpmsg_create_ept(&v->tun, l->rdev, NULL, RPMSG_ADDR_ANY, m->from, rr_vdev_tun_cb, NULL)) {
        reject(r, l, m);
        return;
    }
    rpmsg_mutex_lock(&r->lock);
    rpmsg_mutex_lock(&v->lock);
    v->tun_live = true;
    v->tun_addr = v->tun.addr;
    v->carrier = l;
    v->peer = m->from;
    v->mtu = rev;
    v->gen++;
    v->initiator = false;
    /* UP for the data path now (the initiator may answer as soon as it
     * has our ACCEPT), the UP marker once the ACCEPT is out, so our first
     * announcement cannot overtake it (or by the tunnel callback, before
     * the first message, whichever comes first). */
    v->state = RR_V_UP;
    v->up_pending = true;
    v->up_features = m->features;
    uint32_t gen = v->gen;
    struct rr_msg acc = mk(RR_ACCEPT, m->from, v->tun_addr);
    acc.fwd = m->fwd;
    acc.features = r->features;
    rpmsg_mutex_unlock(&v->lock);
    rpmsg_mutex_unlock(&r->lock);

    int rc = rr_send_msg(r, l, &acc);
    rpmsg_mutex_lock(&r->lock);
    rpmsg_mutex_lock(&v->lock);
    if (v->gen == gen && v->state == RR_V_UP) {
        if (rc)
            rr_vdev_circuit_end(v, now);
        else
            rr_vdev_flush_up(v);
    }
    rpmsg_mutex_unlock(&v->lock);
    rpmsg_mutex_unlock(&r->lock);
}

void rr_on_connect(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    if (rr_same(m->src, r->name)) {
        reject(r, l, m); /* came back to where it started: a loop */
        return;
    }
    if (rr_same(m->name, r->name))
        accept_route(r, l, m);
    else
        hub_forward(r, l, m);
}

/* ---- ACCEPT, REJECT, DISCONNECT (RX thread of l) ---------------------------------- */

void rr_on_accept(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    rpmsg_mutex_lock(&r->lock);
    int side;
    struct rr_hub_circuit *hc = hc_find(r, l, m->to, RPMSG_ADDR_ANY, &side);
    if (hc && side == 1 && hc->state == RR_HC_CONNECTING) {
        hc->s[1].peer = m->from;
        __atomic_store_n(&hc->state, RR_HC_UP, __ATOMIC_RELEASE); /* after the peer */
        struct rr_side *up = &hc->s[0];
        struct rr_link *ul = up->link;
        struct rr_msg out = *m;
        out.to = up->peer;
        out.from = up->ept.addr;
        rpmsg_mutex_unlock(&r->lock);
        if (rr_send_msg(r, ul, &out)) {
            rpmsg_mutex_lock(&r->lock);
            struct rr_msg bye = mk(RR_DISCONNECT, hc->s[1].peer, hc->s[1].ept.addr);
            hc_kill(r, hc);
            rpmsg_mutex_unlock(&r->lock);
            send_once(r, l, &bye);
        }
        return;
    }
    struct rr_vdev *v = vd_find(r, l, m->to, RPMSG_ADDR_ANY);
    if (v && v->state == RR_V_CONNECTING && v->initiator) {
        uint32_t mtu = m->fwd;
        if (mtu > RPMSG_HDR_SIZE && mtu <= rr_link_mtu(l)) {
            v->peer = m->from;
            v->mtu = mtu;
            v->state = RR_V_UP;
            v->up_pending = true;
            v->up_features = m->features;
            rr_vdev_flush_up(v);
            rpmsg_mutex_unlock(&v->lock);
            rpmsg_mutex_unlock(&r->lock);
            return;
        }
        /* Claims more room than our own first hop has: not a path we set up. */
        RR_STAT(r, drop_bad_ctrl);
        rr_vdev_circuit_end(v, rpmsg_time_ms() + RPMSG_ROUTER_RETRY_MS);
        rpmsg_mutex_unlock(&v->lock);
        rpmsg_mutex_unlock(&r->lock);
        struct rr_msg bye = mk(RR_DISCONNECT, m->from, m->to);
        send_once(r, l, &bye);
        return;
    }
    if (v)
        rpmsg_mutex_unlock(&v->lock);
    rpmsg_mutex_unlock(&r->lock);
    /* Nobody here waits for it (timed out, or forged): tell the far end. */
    RR_STAT(r, drop_stale_ctrl);
    struct rr_msg bye = mk(RR_DISCONNECT, m->from, m->to);
    send_once(r, l, &bye);
}

void rr_on_reject(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    rpmsg_mutex_lock(&r->lock);
    int side;
    struct rr_hub_circuit *hc = hc_find(r, l, m->to, RPMSG_ADDR_ANY, &side);
    if (hc && side == 1 && hc->state == RR_HC_CONNECTING) {
        struct rr_link *ul = hc->s[0].link;
        struct rr_msg out = mk(RR_REJECT, hc->s[0].peer, hc->s[0].ept.addr);
        hc_kill(r, hc);
        rpmsg_mutex_unlock(&r->lock);
        rr_send_msg(r, ul, &out);
        return;
    }
    struct rr_vdev *v = vd_find(r, l, m->to, RPMSG_ADDR_ANY);
    if (v && v->state == RR_V_CONNECTING) {
        RR_STAT(r, connect_refused);
        rr_vdev_circuit_end(v, rpmsg_time_ms() + RPMSG_ROUTER_RETRY_MS);
        rr_kick(r);
        rpmsg_mutex_unlock(&v->lock);
        rpmsg_mutex_unlock(&r->lock);
        return;
    }
    if (v)
        rpmsg_mutex_unlock(&v->lock);
    rpmsg_mutex_unlock(&r->lock);
    RR_STAT(r, drop_stale_ctrl);
}

void rr_on_disconnect(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    if (rr_gw_on_disconnect(r, l, m))
        return;
    rpmsg_mutex_lock(&r->lock);
    int side;
    struct rr_hub_circuit *hc = hc_find(r, l, m->to, m->from, &side);
    if (hc) {
        struct rr_side *o = &hc->s[1 - side];
        struct rr_link *ol = o->link;
        struct rr_msg out = mk(RR_DISCONNECT, o->peer, o->ept.addr);
        hc_kill(r, hc);
        rpmsg_mutex_unlock(&r->lock);
        rr_send_msg(r, ol, &out);
        return;
    }
    struct rr_vdev *v = vd_find(r, l, m->to, m->from);
    if (v) {
        rr_vdev_circuit_end(v, rpmsg_time_ms());
        rr_kick(r);
        rpmsg_mutex_unlock(&v->lock);
        rpmsg_mutex_unlock(&r->lock);
        return;
    }
    rpmsg_mutex_unlock(&r->lock);
    RR_STAT(r, drop_stale_ctrl);
}

/* ---- Worker ------------------------------------------------------------------------ */

void rr_circuits_link_down(struct rpmsg_router *r, struct rr_link *l)
{
    uint64_t now = rpmsg_time_ms();
    rpmsg_mutex_lock(&r->lock);
    for (struct rr_hub_circuit *hc = r->circuits; hc; hc = hc->next) {
        if (hc->state == RR_HC_DEAD || (hc->s[0].link != l && hc->s[1].link != l))
            continue;
        struct rr_side *o = &hc->s[hc->s[0].link == l ? 1 : 0];
        if (o->link != l) {
            struct rr_msg out = mk(RR_DISCONNECT, o->peer, o->ept.addr);
            rr_out_add(r, o->link, &out);
        }
        hc_kill(r, hc);
    }
    for (unsigned i = 0; i < RPMSG_ROUTER_CPUS_MAX; i++) {
        struct rr_vdev *v = r->vdevs[i];
        if (!v)
            continue;
        rpmsg_mutex_lock(&v->lock);
        if (v->carrier == l && (v->state != RR_V_DOWN || v->tun_live))
            rr_vdev_circuit_end(v, now);
        rpmsg_mutex_unlock(&v->lock);
    }
    rpmsg_mutex_unlock(&r->lock);
    rr_out_flush(r);
    rr_gw_link_down(r, l);
}

void rr_circuits_reap(struct rpmsg_router *r)
{
    for (;;) {
        rpmsg_mutex_lock(&r->lock);
        struct rr_hub_circuit **pp = &r->circuits, *hc = NULL;
        for (; *pp; pp = &(*pp)->next)
            if ((*pp)->state == RR_HC_DEAD) {
                hc = *pp;
                *pp = hc->next;
                break;
            }
        /* A pump sending from its queue finishes first (without an OS
         * it has, by the time anything else runs). */
        while (!RPMSG_NO_SYS && hc && hc->pumping)
            rpmsg_cond_wait(&r->tx_cond, &r->lock, RPMSG_FOREVER);
        rpmsg_mutex_unlock(&r->lock);
        if (!hc)
            break;
        /* Waits for a relay in progress; it leaves at once, seeing DEAD,
         * or has queued what it held, which goes back now. */
        for (int i = 0; i < 2; i++)
            if (hc->s[i].live)
                rpmsg_destroy_ept(&hc->s[i].ept);
        release_held(r, hc);
        rr_hc_free(r, hc);
    }
    for (unsigned i = 0; i < RPMSG_ROUTER_CPUS_MAX; i++) {
        rpmsg_mutex_lock(&r->lock);
        struct rr_vdev *v = r->vdevs[i];
        rpmsg_mutex_unlock(&r->lock);
        if (!v)
            continue;
        rpmsg_mutex_lock(&v->lock);
        bool dead = v->tun_dead;
        rpmsg_mutex_unlock(&v->lock);
        if (!dead)
            continue;
        rpmsg_destroy_ept(&v->tun);
        rpmsg_mutex_lock(&v->lock);
        v->tun_dead = v->tun_live = false;
        v->tun_addr = RPMSG_ADDR_ANY;
        rpmsg_mutex_unlock(&v->lock);
    }
}

struct start {
    struct rr_vdev *v;
    struct rr_link *via;
};

static void start_route(struct rpmsg_router *r, struct rr_vdev *v, struct rr_link *via,
                        uint64_t now)
{
    v->tun.priv = v;
    if (rpmsg_create_ept(&v->tun, via->rdev, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                         rr_vdev_tun_cb, NULL)) {
        v->next_try = now + RPMSG_ROUTER_RETRY_MS;
        return;
    }
    rpmsg_mutex_lock(&r->lock);
    rpmsg_mutex_lock(&v->lock);
    v->tun_live = true;
    v->tun_addr = v->tun.addr;
    v->carrier = via;
    v->peer = RPMSG_ADDR_ANY;
    v->gen++;
    v->initiator = true;
    v->since = now;
    v->state = RR_V_CONNECTING;
    uint32_t gen = v->gen;
    struct rr_msg m = mk(RR_CONNECT, RPMSG_ADDR_ANY, v->tun_addr);
    rr_copy_name(m.name, v->name);
    rr_copy_name(m.src, r->name);
    m.fwd = rr_link_mtu(via);
    m.rev = UINT32_MAX;
    m.features = r->features;
    rpmsg_mutex_unlock(&v->lock);
    rpmsg_mutex_unlock(&r->lock);
    if (rr_send_msg(r, via, &m)) {
        rpmsg_mutex_lock(&r->lock);
        rpmsg_mutex_lock(&v->lock);
        if (v->gen == gen && v->state == RR_V_CONNECTING)
            rr_vdev_circuit_end(v, now + RPMSG_ROUTER_RETRY_MS);
        rpmsg_mutex_unlock(&v->lock);
        rpmsg_mutex_unlock(&r->lock);
    }
}

uint64_t rr_circuits_update(struct rpmsg_router *r)
{
    uint64_t now = rpmsg_time_ms();
    /* Every core we have a route to (not a direct one) gets its device. */
    for (;;) {
        char name[RPMSG_CPUNAME_SIZE];
        int want = -1;
        rpmsg_mutex_lock(&r->lock);
        for (unsigned s = 0; s < r->ncpus && want < 0; s++) {
            struct rr_link *via;
            uint8_t h = rr_best(r, (int)s, &via);
            if (!r->vdevs[s] && h != RR_INF && h > 0)
                want = (int)s;
        }
        if (want >= 0)
            memcpy(name, r->cpus[want], sizeof(name));
        rpmsg_mutex_unlock(&r->lock);
        if (want < 0)
            break;
        struct rr_vdev *v = rr_vdev_create(r, name);
        if (!v)
            return RPMSG_ROUTER_RETRY_MS;
        rpmsg_mutex_lock(&r->lock);
        r->vdevs[want] = v;
        rpmsg_mutex_unlock(&r->lock);
    }

    struct start starts[RPMSG_ROUTER_CPUS_MAX];
    unsigned nstart = 0;
    uint64_t wake = RPMSG_FOREVER;
    rpmsg_mutex_lock(&r->lock);
    for (unsigned s = 0; s < r->ncpus; s++) {
        struct rr_vdev *v = r->vdevs[s];
        if (!v)
            continue;
        struct rr_link *via;
        uint8_t h = rr_best(r, (int)s, &via);
        /* A plain peer cannot initiate: its gateway only answers. */
        bool initiator = strncmp(r->name, v->name, RPMSG_CPUNAME_SIZE) < 0 ||
                         (h != RR_INF && rr_route_plain(via, (int)s));
        rpmsg_mutex_lock(&v->lock);
        if (v->state == RR_V_CONNECTING) {
            if (now - v->since >= RPMSG_ROUTER_CONNECT_TIMEOUT_MS) {
                /* No answer: whoever holds a half-made route drops it. */
                struct rr_msg bye = mk(RR_DISCONNECT, RPMSG_ADDR_ANY, v->tun_addr);
                rr_out_add(r, v->carrier, &bye);
                RR_STAT(r, connect_refused);
                rr_vdev_circuit_end(v, now + RPMSG_ROUTER_RETRY_MS);
            } else if (v->since + RPMSG_ROUTER_CONNECT_TIMEOUT_MS < wake) {
                wake = v->since + RPMSG_ROUTER_CONNECT_TIMEOUT_MS;
            }
        } else if (v->state == RR_V_UP && h == 0) {
            /* A direct link to that core appeared: it replaces the route. */
            struct rr_msg bye = mk(RR_DISCONNECT, v->peer, v->tun_addr);
            rr_out_add(r, v->carrier, &bye);
            rr_vdev_circuit_end(v, now);
        }
        if (v->tun_dead) {
            wake = now; /* reap, then start over */
        } else if (initiator && v->state == RR_V_DOWN && !v->tun_live && h != RR_INF && h > 0) {
            if (now >= v->next_try)
                starts[nstart++] = (struct start){ v, via };
            else if (v->next_try < wake)
                wake = v->next_try;
        }
        rpmsg_mutex_unlock(&v->lock);
    }
    rpmsg_mutex_unlock(&r->lock);
    rr_out_flush(r);
    for (unsigned i = 0; i < nstart; i++)
        start_route(r, starts[i].v, starts[i].via, now);
    if (wake == RPMSG_FOREVER)
        return RPMSG_FOREVER;
    return wake > now ? wake - now : 0;
}

void rr_circuits_kill_all(struct rpmsg_router *r)
{
    rpmsg_mutex_lock(&r->lock);
    for (struct rr_hub_circuit *hc = r->circuits; hc; hc = hc->next)
        hc_kill(r, hc);
    for (unsigned i = 0; i < RPMSG_ROUTER_CPUS_MAX; i++) {
        struct rr_vdev *v = r->vdevs[i];
        if (!v)
            continue;
        rpmsg_mutex_lock(&v->lock);
        rr_vdev_circuit_end(v, RPMSG_FOREVER);
        rpmsg_mutex_unlock(&v->lock);
    }
    rpmsg_mutex_unlock(&r->lock);
    rr_circuits_reap(r);
}
