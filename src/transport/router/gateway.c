/*
 * Gateway: a hub ends routes for a neighbour that runs no router (a "plain"
 * link, rpmsg_router_attach_plain: a NuttX core, any plain rpmsg peer).
 *
 * The hub advertises the plain peer's cpu name like any neighbour, with the
 * PLAIN flag so that the far core C always initiates (the plain peer cannot).
 * A CONNECT for that name ends here: the hub answers ACCEPT itself and keeps
 * a gateway circuit (struct rr_gw): one tunnel endpoint toward C and a small
 * table of proxy endpoints on the plain link, one per named endpoint of C.
 *
 * Addresses. The plain peer's addresses pass unchanged (C sees them as the
 * far core's); each of C's endpoint addresses maps to the address of its
 * proxy on the plain link. Names:
 * - C's inner NS CREATE / CREATE_ACK makes a proxy of the same name: the
 *   plain peer sees an ordinary announcement (or, when it announced the name
 *   first, an ordinary CREATE_ACK) from the hub; DESTROY destroys it;
 * - the plain peer's announcements (taken by the router's service, ns_bind)
 *   reach C as inner NS CREATE; its CREATE_ACK to a proxy reaches C as an
 *   inner CREATE_ACK (the worker notices the proxy got bound: the core has
 *   no hook for it); its DESTROY (the proxy's ns_unbind) as inner DESTROY.
 * Anything from or to an address without a proxy is dropped and counted
 * (drop_gw_unknown): neither side is trusted.
 *
 * Life. A gateway circuit dies on C's DISCONNECT, on the loss of either
 * link (C gets DISCONNECT when the plain link went, so it sees
 * device_destroyed), and on router destroy; the worker then destroys its
 * endpoints (the proxies' NS DESTROY tell the plain peer) and frees it.
 *
 * Threads. C's messages arrive on the RX thread of C's link and are sent on
 * the plain link; the plain peer's arrive on the plain link's RX thread and
 * are sent toward C: each thread only ever waits for the other link's
 * buffers, as a relay does.
 */
#include "router_priv.h"

#if RPMSG_ROUTER_GATEWAY
#include "common/byteorder.h"

static struct rr_msg gw_mk(uint8_t type, uint32_t to, uint32_t from)
{
    struct rr_msg m = { .type = type, .to = to, .from = from };
    return m;
}

/* Inner message header, as the core writes it on every link. */
static void put_hdr(uint8_t *p, uint32_t src, uint32_t dst, uint32_t len)
{
    rpmsg_put32(p, src);
    rpmsg_put32(p + 4, dst);
    rpmsg_put32(p + 8, 0);
    rpmsg_put16(p + 12, (uint16_t)len);
    rpmsg_put16(p + 14, 0);
}

/* An inner NS message to C, from the plain peer's address `addr`. */
static int send_ns(struct rpmsg_router *r, struct rr_gw *g, const char *name, uint32_t addr,
                   uint32_t flags)
{
    uint8_t buf[RPMSG_HDR_SIZE + sizeof(struct rpmsg_ns_msg)];
    memset(buf, 0, sizeof(buf));
    put_hdr(buf, addr, RPMSG_NS_ADDR, sizeof(struct rpmsg_ns_msg));
    memcpy(buf + RPMSG_HDR_SIZE, name, strnlen(name, RPMSG_NAME_SIZE - 1));
    rpmsg_put32(buf + RPMSG_HDR_SIZE + RPMSG_NAME_SIZE, addr);
    rpmsg_put32(buf + RPMSG_HDR_SIZE + RPMSG_NAME_SIZE + 4, flags);
    int rc = rr_send(r, g->link, g->tun.addr, g->peer, buf, sizeof(buf), NULL);
    if (rc)
        RR_STAT(r, drop_tx_fail);
    return rc;
}

static void gw_kill(struct rpmsg_router *r, struct rr_gw *g)
{
    if (g->dead)
        return;
    g->dead = true;
    rr_kick(r);
}

/* ---- The plain peer's side --------------------------------------------------- */

/* On the plain link's RX thread: a message from the plain peer to a proxy. */
static int proxy_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept;
    struct rr_proxy *p = priv;
    struct rr_gw *g = p->g;
    struct rpmsg_router *r = g->r;
    rpmsg_mutex_lock(&r->lock);
    bool ok = !g->dead && p->live;
    uint32_t ca = p->ca;
    if (ok && p->na == RPMSG_ADDR_ANY)
        p->na = src; /* the core binds the proxy to it too */
    rpmsg_mutex_unlock(&r->lock);
    if (!ok) {
        RR_STAT(r, drop_gw_unknown);
        return 0;
    }
    if (len + RPMSG_HDR_SIZE > g->mtu) {
        RR_STAT(r, drop_too_big);
        return 0;
    }
    /* Only this thread fills the scratch buffer: one plain link, one thread. */
    put_hdr(g->scratch, src, ca, (uint32_t)len);
    memcpy(g->scratch + RPMSG_HDR_SIZE, data, len);
    if (rr_send(r, g->link, g->tun.addr, g->peer, g->scratch, (uint32_t)(len + RPMSG_HDR_SIZE),
                NULL)) {
        RR_STAT(r, drop_tx_fail);
        return 0;
    }
    RR_STAT(r, relayed_msgs);
    RR_STAT_ADD(r, relayed_bytes, len);
    return 0;
}

/* The plain peer destroyed the endpoint a proxy was aimed at. */
static void proxy_unbind(struct rpmsg_endpoint *ept)
{
    struct rr_proxy *p = ept->priv;
    struct rpmsg_router *r = p->g->r;
    rpmsg_mutex_lock(&r->lock);
    p->gone = true;
    rr_kick(r);
    rpmsg_mutex_unlock(&r->lock);
}

/* ---- C's side ------------------------------------------------------------------- */

/* r->lock held. */
static const struct rr_ann *ann_find(const struct rr_link *l, const char *name)
{
    for (unsigned i = 0; i < RR_GW_ANN_MAX; i++)
        if (l->ann[i].valid && !strncmp(l->ann[i].name, name, RPMSG_NAME_SIZE))
            return &l->ann[i];
    return NULL;
}

static void on_inner_ns(struct rpmsg_router *r, struct rr_gw *g, const uint8_t *ns, uint32_t len)
{
    if (len != sizeof(struct rpmsg_ns_msg) || !memchr(ns, 0, RPMSG_NAME_SIZE) || !ns[0]) {
        RR_STAT(r, drop_gw_unknown);
        return;
    }
    const char *name = (const char *)ns;
    uint32_t ca = rpmsg_get32(ns + RPMSG_NAME_SIZE);
    uint32_t flags = rpmsg_get32(ns + RPMSG_NAME_SIZE + 4);
    if (ca == RPMSG_ADDR_ANY || flags > RPMSG_NS_CREATE_ACK) {
        RR_STAT(r, drop_gw_unknown);
        return;
    }
    rpmsg_mutex_lock(&r->lock);
    struct rr_proxy *p = NULL, *free_p = NULL;
    for (unsigned i = 0; i < RR_GW_PROXIES; i++) {
        struct rr_proxy *x = &g->px[i];
        if (x->live && x->ca == ca && !strncmp(x->ept.name, name, RPMSG_NAME_SIZE))
            p = x;
        else if (!x->live && !x->busy && !free_p)
            free_p = x;
    }
    if (flags == RPMSG_NS_DESTROY) {
        if (p)
            p->live = false, p->busy = true;
        rpmsg_mutex_unlock(&r->lock);
        if (!p)
            return;
        rpmsg_destroy_ept(&p->ept);
        rpmsg_mutex_lock(&r->lock);
        p->busy = false;
        rpmsg_mutex_unlock(&r->lock);
        return;
    }
    if (p || g->dead) { /* announced again: the proxy stands */
        rpmsg_mutex_unlock(&r->lock);
        return;
    }
    if (!free_p) {
        rpmsg_mutex_unlock(&r->lock);
        RR_STAT(r, drop_gw_full);
        return;
    }
    const struct rr_ann *a = ann_find(g->plain, name);
    uint32_t dst = a ? a->addr : RPMSG_ADDR_ANY;
    free_p->busy = true;
    free_p->g = g;
    free_p->ca = ca;
    free_p->told = a != NULL; /* C knows that address: it bound to it */
    free_p->na = dst;
    free_p->since = rpmsg_time_ms();
    free_p->gone = false;
    rpmsg_mutex_unlock(&r->lock);
    /* The plain peer sees an announcement (or a CREATE_ACK to its own). */
    free_p->ept.priv = free_p;
    int rc = rpmsg_create_ept(&free_p->ept, g->plain->rdev, name, RPMSG_ADDR_ANY, dst, proxy_cb,
                              proxy_unbind);
    rpmsg_mutex_lock(&r->lock);
    free_p->busy = false;
    free_p->live = rc == 0;
    if (!rc)
        rr_kick(r); /* the worker watches for its binding (or reaps it with g) */
    rpmsg_mutex_unlock(&r->lock);
    if (rc)
        RR_STAT(r, drop_gw_full);
}

/* On the RX thread of C's link: an inner message from C. */
static int gw_tun_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept;
    struct rr_gw *g = priv;
    struct rpmsg_router *r = g->r;
    const uint8_t *m = data;
    rpmsg_mutex_lock(&r->lock);
    bool ok = !g->dead && src == g->peer;
    rpmsg_mutex_unlock(&r->lock);
    if (!ok) {
        RR_STAT(r, drop_no_route);
        return 0;
    }
    uint32_t plen = len >= RPMSG_HDR_SIZE ? rpmsg_get16(m + 12) : 0;
    if (len < RPMSG_HDR_SIZE || plen > len - RPMSG_HDR_SIZE) {
        RR_STAT(r, drop_gw_unknown);
        return 0;
    }
    uint32_t isrc = rpmsg_get32(m), idst = rpmsg_get32(m + 4);
    if (idst == RPMSG_NS_ADDR) {
        on_inner_ns(r, g, m + RPMSG_HDR_SIZE, plen);
        return 0;
    }
    /* From a proxied endpoint of C, to the address its proxy is bound to. */
    uint32_t pa = RPMSG_ADDR_ANY;
    rpmsg_mutex_lock(&r->lock);
    for (unsigned i = 0; i < RR_GW_PROXIES; i++) {
        struct rr_proxy *p = &g->px[i];
        if (p->live && p->ca == isrc && p->na == idst) {
            pa = p->ept.addr;
            break;
        }
    }
    rpmsg_mutex_unlock(&r->lock);
    if (pa == RPMSG_ADDR_ANY || idst == RPMSG_ADDR_ANY) {
        RR_STAT(r, drop_gw_unknown);
        return 0;
    }
    if (rr_send(r, g->plain, pa, idst, m + RPMSG_HDR_SIZE, plen, NULL)) {
        RR_STAT(r, drop_tx_fail);
        return 0;
    }
    RR_STAT(r, relayed_msgs);
    RR_STAT_ADD(r, relayed_bytes, plen);
    return 0;
}

/* ---- Hooks for the rest of the router ------------------------------------------------ */

void rr_gw_connect(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m,
                   struct rr_link *plain)
{
    uint32_t fwd = m->fwd, rev = m->rev;
    uint32_t psize = rpmsg_device_tx_buf_size(plain->rdev);
    if (fwd > psize)
        fwd = psize; /* an inner message of L bytes is a payload of L - 16 there */
    if (rev > rr_link_mtu(l))
        rev = rr_link_mtu(l);
    struct rr_gw *g = NULL;
    if (fwd > RPMSG_HDR_SIZE && rev > RPMSG_HDR_SIZE)
        g = calloc(1, sizeof(*g) + rev);
    if (!g) {
        struct rr_msg out = gw_mk(RR_REJECT, m->from, RPMSG_ADDR_ANY);
        rr_send_msg(r, l, &out);
        return;
    }
    g->r = r;
    g->link = l;
    g->plain = plain;
    g->peer = m->from;
    g->mtu = rev;
    g->scratch = (uint8_t *)(g + 1);
    g->tun.priv = g;
    if (rpmsg_create_ept(&g->tun, l->rdev, NULL, RPMSG_ADDR_ANY, m->from, gw_tun_cb, NULL)) {
        free(g);
        struct rr_msg out = gw_mk(RR_REJECT, m->from, RPMSG_ADDR_ANY);
        rr_send_msg(r, l, &out);
        return;
    }
    rpmsg_mutex_lock(&r->lock);
    g->next = r->gws;
    r->gws = g;
    struct rr_msg acc = gw_mk(RR_ACCEPT, m->from, g->tun.addr);
    acc.fwd = fwd;
    acc.features = RPMSG_F_NS | RPMSG_F_ACK;
    rpmsg_mutex_unlock(&r->lock);
    /* The plain peer's names follow the ACCEPT (the worker sends them). */
    if (rr_send_msg(r, l, &acc)) {
        rpmsg_mutex_lock(&r->lock);
        gw_kill(r, g);
        rpmsg_mutex_unlock(&r->lock);
        return;
    }
    rpmsg_mutex_lock(&r->lock);
    g->accepted = true;
    rr_kick(r);
    rpmsg_mutex_unlock(&r->lock);
}

bool rr_gw_on_disconnect(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    rpmsg_mutex_lock(&r->lock);
    for (struct rr_gw *g = r->gws; g; g = g->next) {
        if (g->dead || g->link != l)
            continue;
        if (m->to != RPMSG_ADDR_ANY ? g->tun.addr == m->to : g->peer == m->from) {
            gw_kill(r, g);
            rpmsg_mutex_unlock(&r->lock);
            return true;
        }
    }
    rpmsg_mutex_unlock(&r->lock);
    return false;
}

bool rr_gw_ns_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t addr)
{
    struct rr_link *l = priv;
    struct rpmsg_router *r = l->r;
    if (rdev != l->rdev)
        return false;
    rpmsg_mutex_lock(&r->lock);
    /* A name announced again replaces its slot. */
    struct rr_ann *slot = (struct rr_ann *)ann_find(l, name);
    for (unsigned i = 0; i < RR_GW_ANN_MAX && !slot; i++)
        if (!l->ann[i].valid)
            slot = &l->ann[i];
    if (slot) {
        memset(slot, 0, sizeof(*slot));
        memcpy(slot->name, name, strnlen(name, RPMSG_NAME_SIZE - 1));
        slot->addr = addr;
        slot->valid = true;
        slot->seq = ++l->ann_seq;
        rr_kick(r);
    } else {
        RR_STAT(r, drop_gw_full);
    }
    rpmsg_mutex_unlock(&r->lock);
    return false;
}

/* r->lock held. */
static bool gw_uses(struct rpmsg_router *r, struct rr_link *l)
{
    for (struct rr_gw *g = r->gws; g; g = g->next)
        if (g->link == l || g->plain == l)
            return true;
    return false;
}

bool rr_gw_link_busy(struct rpmsg_router *r, struct rr_link *l)
{
    return gw_uses(r, l);
}

void rr_gw_link_down(struct rpmsg_router *r, struct rr_link *l)
{
    rpmsg_mutex_lock(&r->lock);
    for (struct rr_gw *g = r->gws; g; g = g->next) {
        if (g->dead || (g->link != l && g->plain != l))
            continue;
        if (g->plain == l && g->link != l) {
            /* C loses the far core: device_destroyed there. */
            struct rr_msg bye = gw_mk(RR_DISCONNECT, g->peer, g->tun.addr);
            rr_out_add(r, g->link, &bye);
        }
        gw_kill(r, g);
    }
    if (l->plain)
        memset(l->ann, 0, sizeof(l->ann)); /* the peer's names went with it */
    rpmsg_mutex_unlock(&r->lock);
    rr_out_flush(r);
}

void rr_gw_kill_all(struct rpmsg_router *r)
{
    rpmsg_mutex_lock(&r->lock);
    for (struct rr_gw *g = r->gws; g; g = g->next)
        gw_kill(r, g);
    rpmsg_mutex_unlock(&r->lock);
    rr_gw_reap(r);
    /* A gateway whose tunnel callback was creating or destroying a proxy at
     * that moment (busy) was passed over: with the router going, nobody
     * would reap it again (an ASan leak in router_test_gateway). Its
     * callback clears busy within one ept call: look again every ms, for
     * 5 s at most. */
    uint64_t end = rpmsg_deadline(5000);
    rpmsg_mutex_lock(&r->lock);
    while (r->gws && rpmsg_time_ms() < end) {
        (void)rpmsg_cond_wait(&r->cond, &r->lock, rpmsg_deadline(1));
        rpmsg_mutex_unlock(&r->lock);
        rr_gw_reap(r);
        rpmsg_mutex_lock(&r->lock);
    }
    rpmsg_mutex_unlock(&r->lock);
}

void rr_gw_reap(struct rpmsg_router *r)
{
    for (;;) {
        rpmsg_mutex_lock(&r->lock);
        struct rr_gw **pp = &r->gws, *g = NULL;
        for (; *pp; pp = &(*pp)->next) {
            bool busy = false;
            for (unsigned i = 0; i < RR_GW_PROXIES; i++)
                busy |= (*pp)->px[i].busy;
            if ((*pp)->dead && !busy) {
                g = *pp;
                *pp = g->next;
                break;
            }
        }
        rpmsg_mutex_unlock(&r->lock);
        if (!g)
            return;
        /* Waits out callbacks in progress; they see dead and leave. */
        rpmsg_destroy_ept(&g->tun);
        for (unsigned i = 0; i < RR_GW_PROXIES; i++)
            if (g->px[i].live)
                rpmsg_destroy_ept(&g->px[i].ept);
        free(g);
    }
}

/* Proxies the plain peer stopped talking to, and bindings C has not heard of. */
static void proxy_events(struct rpmsg_router *r, struct rr_gw *g, uint64_t *wait_ms)
{
    uint64_t now = rpmsg_time_ms();
    for (unsigned i = 0; i < RR_GW_PROXIES; i++) {
        struct rr_proxy *p = &g->px[i];
        rpmsg_mutex_lock(&r->lock);
        bool look = p->live && !p->busy && !g->dead && p->na == RPMSG_ADDR_ANY;
        rpmsg_mutex_unlock(&r->lock);
        /* The core's lock orders our read after its binding (CREATE_ACK);
         * the endpoint's memory lives as long as g, which only we free. */
        uint32_t bound = look && rpmsg_is_ept_ready(&p->ept) ? p->ept.dest_addr : RPMSG_ADDR_ANY;
        rpmsg_mutex_lock(&r->lock);
        if (!p->live || g->dead || !g->accepted) {
            rpmsg_mutex_unlock(&r->lock);
            continue;
        }
        if (p->na == RPMSG_ADDR_ANY)
            p->na = bound;
        uint32_t na = p->na;
        char name[RPMSG_NAME_SIZE];
        memcpy(name, p->ept.name, sizeof(name));
        bool gone = p->gone, tell = !p->told && na != RPMSG_ADDR_ANY;
        p->gone = false;
        struct rr_ann *a = gone ? (struct rr_ann *)ann_find(g->plain, name) : NULL;
        if (a && a->addr == na)
            a->valid = false; /* no later binding to an endpoint that is gone */
        if (tell)
            p->told = true;
        uint64_t poll = now - p->since < RR_GW_POLL_FAST_FOR_MS ? RR_GW_POLL_MS : RR_GW_POLL_SLOW_MS;
        if (!p->told && *wait_ms > poll)
            *wait_ms = poll;
        rpmsg_mutex_unlock(&r->lock);
        if (tell)
            send_ns(r, g, name, na, RPMSG_NS_CREATE_ACK);
        if (gone && na != RPMSG_ADDR_ANY)
            send_ns(r, g, name, na, RPMSG_NS_DESTROY);
    }
}

uint64_t rr_gw_update(struct rpmsg_router *r)
{
    uint64_t wait_ms = RPMSG_FOREVER;
    /* Only the worker unlinks circuits: the list stays walkable unlocked. */
    rpmsg_mutex_lock(&r->lock);
    struct rr_gw *g = r->gws;
    rpmsg_mutex_unlock(&r->lock);
    for (; g; g = g->next) {
        for (;;) {
            struct rr_ann a = { 0 };
            rpmsg_mutex_lock(&r->lock);
            bool ready = !g->dead && g->accepted;
            for (unsigned i = 0; ready && i < RR_GW_ANN_MAX; i++) {
                const struct rr_ann *x = &g->plain->ann[i];
                if (x->valid && x->seq > g->ann_seen && (!a.valid || x->seq < a.seq))
                    a = *x;
            }
            if (a.valid)
                g->ann_seen = a.seq;
            rpmsg_mutex_unlock(&r->lock);
            if (!a.valid)
                break;
            send_ns(r, g, a.name, a.addr, RPMSG_NS_CREATE);
        }
        proxy_events(r, g, &wait_ms);
    }
    return wait_ms;
}

#else /* !RPMSG_ROUTER_GATEWAY: no plain link is ever attached */

void rr_gw_connect(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m,
                   struct rr_link *plain)
{
    (void)r, (void)l, (void)m, (void)plain;
}

bool rr_gw_on_disconnect(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    (void)r, (void)l, (void)m;
    return false;
}

bool rr_gw_ns_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t addr)
{
    (void)rdev, (void)priv, (void)name, (void)addr;
    return false;
}

bool rr_gw_link_busy(struct rpmsg_router *r, struct rr_link *l)
{
    (void)r, (void)l;
    return false;
}

void rr_gw_link_down(struct rpmsg_router *r, struct rr_link *l)
{
    (void)r, (void)l;
}

void rr_gw_kill_all(struct rpmsg_router *r)
{
    (void)r;
}

void rr_gw_reap(struct rpmsg_router *r)
{
    (void)r;
}

uint64_t rr_gw_update(struct rpmsg_router *r)
{
    (void)r;
    return RPMSG_FOREVER;
}
#endif
