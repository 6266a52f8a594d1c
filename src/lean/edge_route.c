/*
 * The lean edge's route: the router's control protocol as an edge speaks it
 * (router.c, "Control protocol"), one tunnel to one far core, and the
 * endpoints and name service carried inside it.
 *
 * HELLO at link up (answered with a REPLY), ROUTE tells whether the hub can
 * reach the far core; the core with the smaller name sends CONNECT and the
 * other answers ACCEPT, as between full routers. Inside the tunnel every
 * message is a whole rpmsg message (header included): NS CREATE binds a
 * named endpoint, anything else goes to its endpoint by address. The route
 * ends with DISCONNECT, a REJECT while connecting, a HELLO that starts over
 * or a lost link; named endpoints then wait for the next announcement.
 */
#include "edge.h"

#if RPMSG_LEAN_EDGE

_Static_assert(RPMSG_LEAN_EDGE_EPT_MAX >= 1 && RPMSG_LEAN_EDGE_EPT_MAX <= 8,
               "RPMSG_LEAN_EDGE_EPT_MAX: 1 to 8");

enum { R_HELLO = 1, R_ROUTE, R_CONNECT, R_ACCEPT, R_REJECT, R_DISCONNECT };
#define HELLO_REPLY 0x01u
#define HELLO_BYE 0x04u
#define CTRL_SIZE 88u
#define NAME 32u
#define RETRY_MS 200u
#define CONNECT_TIMEOUT_MS 2000u

static int ctrl(struct rpmsg_lean_edge *e, uint8_t type, uint8_t flags, uint32_t to,
                uint32_t from, uint32_t fwd, const char *name)
{
    uint8_t m[CTRL_SIZE];
    memset(m, 0, sizeof(m));
    m[0] = 1;
    m[1] = type;
    m[3] = flags;
    rpmsg_put32(m + 4, to);
    rpmsg_put32(m + 8, from);
    rpmsg_put32(m + 12, fwd);
    rpmsg_put32(m + 16, UINT32_MAX); /* rev: the far end takes the minimum */
    rpmsg_put32(m + 20, RPMSG_F_NS);
    if (name)
        memcpy(m + 24, name, strnlen(name, NAME - 1));
    if (type == R_CONNECT)
        memcpy(m + 24 + NAME, e->cfg.local_cpuname, strnlen(e->cfg.local_cpuname, NAME - 1));
    return rpmsg_lean_edge_out(e, EDGE_CTRL, EDGE_CTRL, m, sizeof(m), NULL, 0);
}

static bool initiator(const struct rpmsg_lean_edge *e)
{
    return strncmp(e->cfg.local_cpuname, e->cfg.far_cpuname, NAME) < 0;
}

/* The route is gone: named endpoints wait for the next announcement. */
static void route_end(struct rpmsg_lean_edge *e, uint32_t now)
{
    if (e->route == EDGE_UP)
        for (int i = 0; i < RPMSG_LEAN_EDGE_EPT_MAX; i++)
            if (e->ept[i] && e->ept[i]->name[0])
                e->ept[i]->dest = RPMSG_ADDR_ANY;
    e->route = EDGE_DOWN;
    e->since = now + RETRY_MS;
}

static void route_up(struct rpmsg_lean_edge *e, uint32_t peer, uint32_t mtu)
{
    e->route = EDGE_UP;
    e->peer_tun = peer;
    e->mtu = mtu;
    e->unannounced = 0;
    for (int i = 0; i < RPMSG_LEAN_EDGE_EPT_MAX; i++)
        if (e->ept[i] && e->ept[i]->name[0])
            e->unannounced |= (uint8_t)(1u << i);
}

void rpmsg_lean_edge_on_link(struct rpmsg_lean_edge *e, bool up)
{
    route_end(e, rpmsg_board_time_ms());
    e->since -= RETRY_MS; /* a new link: try at once */
    e->reachable = false;
    e->hello_owed = up;
    e->reply_owed = false;
}

/* Largest inner message our link carries toward the hub. */
static uint32_t link_mtu(const struct rpmsg_lean_edge *e)
{
    return rpmsg_lean_edge_out_max(e) - RPMSG_HDR_SIZE;
}

static void on_ctrl(struct rpmsg_lean_edge *e, const uint8_t *m, uint32_t now)
{
    uint8_t type = m[1], hops = m[2], flags = m[3];
    uint32_t to = rpmsg_get32(m + 4), from = rpmsg_get32(m + 8), fwd = rpmsg_get32(m + 12);
    uint32_t rev = rpmsg_get32(m + 16);
    const char *name = (const char *)m + 24, *src = (const char *)m + 24 + NAME;
    if (memchr(name, 0, NAME) == NULL || memchr(src, 0, NAME) == NULL)
        return;
    switch (type) {
    case R_HELLO:
        if (flags & HELLO_REPLY)
            return;
        /* A HELLO starts over (a restarted or leaving router): its routes
         * and circuits are gone, and a new one advertises again. */
        route_end(e, now);
        e->reachable = false;
        e->reply_owed = !(flags & HELLO_BYE);
        return;
    case R_ROUTE:
        if (!strncmp(name, e->cfg.far_cpuname, NAME))
            e->reachable = hops != 0xFF;
        return;
    case R_CONNECT: {
        uint32_t mtu = rev < link_mtu(e) ? rev : link_mtu(e);
        if (strncmp(name, e->cfg.local_cpuname, NAME) || strncmp(src, e->cfg.far_cpuname, NAME) ||
            initiator(e) || mtu <= RPMSG_HDR_SIZE || fwd <= RPMSG_HDR_SIZE ||
            from == RPMSG_ADDR_ANY) {
            ctrl(e, R_REJECT, 0, from, RPMSG_ADDR_ANY, 0, NULL);
            return;
        }
        /* A new setup from the far core replaces the route we had. */
        if (e->route == EDGE_UP)
            ctrl(e, R_DISCONNECT, 0, e->peer_tun, EDGE_TUN, 0, NULL);
        route_end(e, now);
        if (ctrl(e, R_ACCEPT, 0, from, EDGE_TUN, fwd, NULL) == 0)
            route_up(e, from, mtu);
        return;
    }
    case R_ACCEPT:
        if (to == EDGE_TUN && e->route == EDGE_CONNECTING && fwd > RPMSG_HDR_SIZE &&
            fwd <= link_mtu(e) && from != RPMSG_ADDR_ANY) {
            route_up(e, from, fwd);
            return;
        }
        /* Nobody here waits for it: the far end must not either. */
        ctrl(e, R_DISCONNECT, 0, from, to, 0, NULL);
        return;
    case R_REJECT:
        if (to == EDGE_TUN && e->route == EDGE_CONNECTING)
            route_end(e, now);
        return;
    case R_DISCONNECT:
        if (e->route != EDGE_DOWN &&
            (to == EDGE_TUN || (to == RPMSG_ADDR_ANY && from == e->peer_tun)))
            route_end(e, now);
        return;
    default:
        return;
    }
}

static struct rpmsg_lean_edge_ept *find(struct rpmsg_lean_edge *e, uint32_t addr)
{
    for (int i = 0; i < RPMSG_LEAN_EDGE_EPT_MAX; i++)
        if (e->ept[i] && e->ept[i]->addr == addr)
            return e->ept[i];
    return NULL;
}

/* A message from the far core: whole, header first. */
static void on_inner(struct rpmsg_lean_edge *e, const uint8_t *p, uint32_t n)
{
    if (n < RPMSG_HDR_SIZE)
        return;
    uint32_t src = rpmsg_get32(p), dst = rpmsg_get32(p + 4), len = rpmsg_get16(p + 12);
    if (len > n - RPMSG_HDR_SIZE)
        return;
    p += RPMSG_HDR_SIZE;
    if (dst == RPMSG_NS_ADDR) {
        if (len < NAME + 8 || !memchr(p, 0, NAME))
            return;
        uint32_t addr = rpmsg_get32(p + NAME), destroy = rpmsg_get32(p + NAME + 4) & 1u;
        for (int i = 0; i < RPMSG_LEAN_EDGE_EPT_MAX; i++) {
            struct rpmsg_lean_edge_ept *x = e->ept[i];
            if (!x || !x->name[0] || strncmp(x->name, (const char *)p, NAME))
                continue;
            if (!destroy && x->dest == RPMSG_ADDR_ANY)
                x->dest = addr;
            else if (destroy && x->dest == addr)
                x->dest = RPMSG_ADDR_ANY;
        }
        return;
    }
    struct rpmsg_lean_edge_ept *x = find(e, dst);
    if (!x)
        return;
    if (x->dest == RPMSG_ADDR_ANY)
        x->dest = src; /* bound by its first message */
    x->cb(x, (void *)(uintptr_t)p, len, src, x->priv);
}

void rpmsg_lean_edge_on_msg(struct rpmsg_lean_edge *e, const uint8_t *m, uint32_t len)
{
    uint32_t src = rpmsg_get32(m), dst = rpmsg_get32(m + 4);
    const uint8_t *p = m + RPMSG_HDR_SIZE;
    len -= RPMSG_HDR_SIZE;
    if (dst == EDGE_CTRL && src == EDGE_CTRL && len == CTRL_SIZE && p[0] == 1)
        on_ctrl(e, p, rpmsg_board_time_ms());
    else if (dst == EDGE_TUN && e->route == EDGE_UP && src == e->peer_tun)
        on_inner(e, p, len);
}

/* An inner NS message for x: CREATE, or DESTROY (flags 1). */
static int ns(struct rpmsg_lean_edge *e, const struct rpmsg_lean_edge_ept *x, uint32_t flags)
{
    uint8_t m[RPMSG_HDR_SIZE + NAME + 8];
    memset(m, 0, sizeof(m));
    rpmsg_put32(m, x->addr);
    rpmsg_put32(m + 4, RPMSG_NS_ADDR);
    rpmsg_put16(m + 12, NAME + 8);
    memcpy(m + RPMSG_HDR_SIZE, x->name, sizeof(x->name));
    rpmsg_put32(m + RPMSG_HDR_SIZE + NAME, x->addr);
    rpmsg_put32(m + RPMSG_HDR_SIZE + NAME + 4, flags);
    return rpmsg_lean_edge_out(e, EDGE_TUN, e->peer_tun, m, sizeof(m), NULL, 0);
}

int rpmsg_lean_edge_route_step(struct rpmsg_lean_edge *e, uint32_t now)
{
    int n = 0;
    if (e->hello_owed && ctrl(e, R_HELLO, 0, 0, 0, 0, e->cfg.local_cpuname) == 0) {
        e->hello_owed = false;
        n++;
    }
    if (e->reply_owed && ctrl(e, R_HELLO, HELLO_REPLY, 0, 0, 0, e->cfg.local_cpuname) == 0) {
        e->reply_owed = false;
        n++;
    }
    if (e->route == EDGE_DOWN && e->reachable && initiator(e) && (int32_t)(now - e->since) >= 0 &&
        ctrl(e, R_CONNECT, 0, RPMSG_ADDR_ANY, EDGE_TUN, link_mtu(e), e->cfg.far_cpuname) == 0) {
        e->route = EDGE_CONNECTING;
        e->since = now;
        n++;
    }
    if (e->route == EDGE_CONNECTING && now - e->since >= CONNECT_TIMEOUT_MS) {
        /* No answer: whoever holds a half-made route drops it. */
        ctrl(e, R_DISCONNECT, 0, RPMSG_ADDR_ANY, EDGE_TUN, 0, NULL);
        route_end(e, now);
    }
    for (int i = 0; e->route == EDGE_UP && i < RPMSG_LEAN_EDGE_EPT_MAX; i++)
        if ((e->unannounced >> i & 1u) && ns(e, e->ept[i], 0) == 0) {
            e->unannounced &= (uint8_t) ~(1u << i);
            n++;
        }
    return n;
}

/* ---- Endpoints -------------------------------------------------------------------- */

bool rpmsg_lean_edge_is_up(const struct rpmsg_lean_edge *e)
{
    return e && e->route == EDGE_UP;
}

int rpmsg_lean_edge_create_ept(struct rpmsg_lean_edge_ept *ept, struct rpmsg_lean_edge *e,
                               const char *name, uint32_t src, uint32_t dest,
                               rpmsg_lean_edge_cb_t cb, void *priv)
{
    /* Dynamic addresses are the slot's, so a static one may not take them. */
    if (!ept || !e || !cb || src - RPMSG_ADDR_DYN_BASE < RPMSG_LEAN_EDGE_EPT_MAX)
        return -EINVAL;
    int slot = -1;
    for (int i = RPMSG_LEAN_EDGE_EPT_MAX - 1; i >= 0; i--) {
        if (!e->ept[i])
            slot = i;
        else if (e->ept[i]->addr == src)
            return -EADDRINUSE;
    }
    if (slot < 0)
        return -ENOMEM;
    memset(ept->name, 0, sizeof(ept->name));
    if (name)
        memcpy(ept->name, name, strnlen(name, sizeof(ept->name) - 1));
    ept->addr = src == RPMSG_ADDR_ANY ? RPMSG_ADDR_DYN_BASE + (uint32_t)slot : src;
    ept->dest = dest;
    ept->cb = cb;
    ept->priv = priv;
    ept->edge = e;
    e->ept[slot] = ept;
    if (ept->name[0] && e->route == EDGE_UP)
        e->unannounced |= (uint8_t)(1u << slot);
    return 0;
}

void rpmsg_lean_edge_destroy_ept(struct rpmsg_lean_edge_ept *ept)
{
    struct rpmsg_lean_edge *e = ept->edge;
    for (int i = 0; i < RPMSG_LEAN_EDGE_EPT_MAX; i++)
        if (e->ept[i] == ept) {
            if (ept->name[0] && e->route == EDGE_UP && !(e->unannounced >> i & 1u))
                ns(e, ept, 1); /* best effort: the far end learns it is gone */
            e->ept[i] = NULL;
            e->unannounced &= (uint8_t) ~(1u << i);
        }
}

int rpmsg_lean_edge_sendto(struct rpmsg_lean_edge_ept *ept, const void *data, size_t len,
                           uint32_t dst)
{
    struct rpmsg_lean_edge *e = ept->edge;
    if (e->route != EDGE_UP || dst == RPMSG_ADDR_ANY)
        return -ENOTCONN;
    if (len + RPMSG_HDR_SIZE > e->mtu)
        return -EMSGSIZE;
    uint8_t h[RPMSG_HDR_SIZE];
    rpmsg_put32(h, ept->addr);
    rpmsg_put32(h + 4, dst);
    rpmsg_put32(h + 8, 0);
    rpmsg_put16(h + 12, (uint16_t)len);
    rpmsg_put16(h + 14, 0);
    int rc = rpmsg_lean_edge_out(e, EDGE_TUN, e->peer_tun, h, sizeof(h), data, len);
    return rc ? rc : (int)len;
}

int rpmsg_lean_edge_send(struct rpmsg_lean_edge_ept *ept, const void *data, size_t len)
{
    return rpmsg_lean_edge_sendto(ept, data, len, ept->dest);
}

#endif /* RPMSG_LEAN_EDGE */
