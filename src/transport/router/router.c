/*
 * Router: a core two or more hops away as an ordinary rpmsg device.
 *
 * DESIGN
 *
 * Roles. One router per core, attached to the core's links (any struct
 * rpmsg_device). Every router is an *edge*: for each far core it can reach
 * it keeps a *virtual device* (vdev.c) whose remote cpu name is that core's.
 * A router made with hub = true is also a *hub*: it advertises what it can
 * reach and relays traffic between its links.
 *
 * Tunnel. The virtual device's messages are ordinary rpmsg messages (16-byte
 * header + payload, name-service messages to 0x35 included) carried whole as
 * the payload of a message on the real link, between two *tunnel endpoints*.
 * Names therefore cross hops untouched: all 31 characters (NuttX rewrites
 * them to r:<cpu>:<name>, which leaves 22). A route ("circuit") is a chain of
 * tunnel segments, one per link on the path; each hub holds one endpoint on
 * each side of it and relays between them (circuit.c). The nesting is flat:
 * one 16-byte header of overhead whatever the number of hubs, so the largest
 * inner message is min over the hops of (buffer - 16), and the largest
 * payload is that minus 16. It is measured per direction during setup.
 *
 * Copies. Edges are zero-copy both ways (vdev.c): a virtual device's TX buffer
 * is the payload area of a carrier TX buffer; an inner message is delivered
 * in place in the carrier's RX buffer, held until released. A hub copies
 * once, from the RX buffer of one link straight into a TX buffer of the
 * other: the transport contract only lets a link send its own buffers and
 * get its RX buffers back, and two links are two pools (two transports, or
 * two shared-memory regions), so a buffer cannot be handed on as it is.
 *
 * Control protocol. A control endpoint at static address RPMSG_ROUTER_ADDR on
 * both sides of every link (no name service needed: works on links without
 * NS too). Messages are 88 bytes, little-endian, versioned (ctrl.c):
 *
 *   u8 version(1) u8 type u8 hops u8 flags u32 to u32 from u32 fwd u32 rev
 *   u32 features char name[32] char src[32]
 *
 *   HELLO       name = sender's cpu; flags REPLY, HUB, BYE. Sent when a link
 *               comes up, answered with a REPLY. A HELLO (not REPLY) means
 *               "I start over on this link": both sides forget what they
 *               advertised to each other and re-advertise; from a peer
 *               already known it means its router restarted, so the routes
 *               through it are torn down. BYE (router detached or
 *               destroyed): same, and the peer no longer counts as a router.
 *   ROUTE       name reachable through the sender, `hops` hubs away from the
 *               receiver; hops 0xFF withdraws it. Hubs only; distance vector
 *               with split horizon, bounded by RPMSG_ROUTER_HOPS_MAX.
 *   CONNECT     src (initiator) wants a route to name (target); from = the
 *               sender's new tunnel endpoint; fwd / rev = largest inner
 *               message each way so far. Each hub takes the min with its
 *               links, makes its two endpoints and passes it on.
 *   ACCEPT      back along the path: to = the receiver's endpoint, from =
 *               the sender's, fwd = the final forward limit.
 *   REJECT      back along the path: no route, loop, too small, refused.
 *   DISCONNECT  along the path, either way: the route is gone. to (or, to =
 *               ANY, from) names the segment.
 *
 * Who connects. Both ends learn of each other from the advertisements; the
 * one with the smaller cpu name sends CONNECT, the other only answers, so two
 * setups never cross. A route lost is set up again by the same rule as soon
 * as a route to the far core is advertised again (and every
 * RPMSG_ROUTER_RETRY_MS after a refusal).
 *
 * Loss of a hop. Each router sees its own link go down (device_destroyed). A
 * hub withdraws the routes through that link, then sends DISCONNECT out of
 * the other side of every circuit through it; an edge takes its virtual
 * devices carried by that link down. So both far ends get device_destroyed,
 * the route is re-advertised when the link returns, the initiator
 * reconnects, both ends get device_created again and the core re-announces
 * their named endpoints.
 *
 * Ordering. ACCEPT/REJECT/DISCONNECT are handled on the RX thread of the link
 * that carries them, so they keep their place among that link's tunnel
 * messages; HELLO and ROUTE update state there and wake the worker; CONNECT
 * (which creates endpoints and devices) and all link events go to the
 * worker, one thread per router that does all control sending.
 *
 * Threading of virtual devices. A virtual device is an ordinary device with
 * an RX thread of its own, but it lends its RX context (core: lent_rx). The
 * tunnel endpoint's callback, on the carrier's RX thread, takes a turn when
 * the device is idle and its queue empty, and delivers right there: one
 * thread hand-off less per received message at each far end, where waking
 * a thread costs more than all the work a hop does on a message.
 * Otherwise it queues the message for the device's own thread. The core
 * ties waiting and endpoint destruction to the RX context, and the turn
 * makes the carrier's thread that context for the time of the delivery:
 * rpmsg_wait() in such a callback runs the carrier link nested (vd_poll,
 * vd_wait), and rpmsg_destroy_ept() from inside keeps its guarantees. FIFO
 * per route holds: one carrier thread feeds the device, and one thread at a
 * time delivers. The price: a far core's callback that blocks holds up its
 * carrier link, as a neighbour's does; rx_thread_per_far_core gives every
 * far core its own thread again.
 *
 * Buffer waits. The contract gives no "buffer came back" hook to anyone but
 * the core, so a per-link pump thread, woken when a router send or a virtual
 * device finds no buffer, waits for one in the core and wakes them (ctrl.c).
 * A relay waits for a buffer of the next link on the RX thread of the
 * previous one (that is the backpressure), but gives up as soon as its
 * circuit dies; the router never waits for a buffer of a link on that same
 * link's RX thread (it would not dispatch meanwhile).
 *
 * Chains are not built by nesting: hubs pass routes on (distance vector)
 * and relay flat tunnels, so a chain of any length costs one tunnel header
 * and one relay thread per hub, and no hub needs virtual devices of its
 * own. A router can still be attached to a virtual device like to any
 * device (untested).
 *
 * Limits. Meshed topologies are handled in principle (split horizon, hop
 * bound, one route per far core, a direct link preferred) but untested and
 * not optimised: routes are not re-balanced while they work.
 */
#include "router_priv.h"

/* Routers of the process, for the one service registration they share. */
static rpmsg_mutex_t list_lock = RPMSG_MUTEX_INITIALIZER;
static struct rpmsg_router *routers;
#if !RPMSG_NO_SYS
static rpmsg_mutex_t reg_lock = RPMSG_MUTEX_INITIALIZER;
static unsigned nrouters;
static int service_token;
#endif

void rr_kick(struct rpmsg_router *r)
{
    r->work = true;
    rpmsg_cond_broadcast(&r->cond);
}

/* ---- Link events ------------------------------------------------------------ */

static void link_event(struct rpmsg_router *r, struct rr_link *l, bool up)
{
    if (up) {
        l->ups++;
    } else {
        l->downs++;
        rr_tx_wake(r); /* senders waiting on this link: it is gone */
    }
    rr_kick(r);
}

#if RPMSG_NO_SYS
/* Without an OS, and without services (a microcontroller profile has
 * none), link changes are read off the devices at each poll: the session
 * count shows a down and up that came between two polls. */
static void poll_links(struct rpmsg_router *r)
{
    for (unsigned i = 0; i < RPMSG_ROUTER_LINKS_MAX; i++) {
        struct rr_link *l = &r->links[i];
        if (!l->rdev || l->detaching)
            continue;
        uint32_t session = rpmsg_device_session(l->rdev);
        bool up = rpmsg_device_is_up(l->rdev);
        if (l->seen_up && (!up || session != l->seen_session))
            link_event(r, l, false);
        if (up && (!l->seen_up || session != l->seen_session))
            link_event(r, l, true);
        l->seen_up = up;
        l->seen_session = session;
    }
}
#else
/* Registered once for all routers: the service's priv cannot outlive them,
 * the list lock keeps a router alive while its counters are touched. */
static void dev_event(struct rpmsg_device *rdev, bool up)
{
    rpmsg_mutex_lock(&list_lock);
    for (struct rpmsg_router *r = routers; r; r = r->next) {
        rpmsg_mutex_lock(&r->lock);
        for (unsigned i = 0; i < RPMSG_ROUTER_LINKS_MAX; i++) {
            struct rr_link *l = &r->links[i];
            if (l->rdev == rdev)
                link_event(r, l, up);
        }
        rpmsg_mutex_unlock(&r->lock);
    }
    rpmsg_mutex_unlock(&list_lock);
}

static void on_created(struct rpmsg_device *rdev, void *priv)
{
    (void)priv;
    dev_event(rdev, true);
}

static void on_destroyed(struct rpmsg_device *rdev, void *priv)
{
    (void)priv;
    dev_event(rdev, false);
}
#endif

/* ---- Control endpoint ----------------------------------------------------------- */

static int ctrl_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept;
    struct rr_link *l = priv;
    struct rpmsg_router *r = l->r;
    struct rr_msg m;
    if (src != RPMSG_ROUTER_ADDR || rr_decode(data, len, &m)) {
        RR_STAT(r, drop_bad_ctrl);
        return 0;
    }
    switch (m.type) {
    case RR_HELLO:
        rr_on_hello(r, l, &m);
        break;
    case RR_ROUTE:
        rr_on_route(r, l, &m);
        break;
    case RR_CONNECT:
        rpmsg_mutex_lock(&r->lock);
        if (r->creq_count == RR_CONNECTQ) {
            /* The initiator times out and tries again. */
            RR_STAT(r, drop_stale_ctrl);
        } else {
            struct rr_creq *c = &r->creq[(r->creq_head + r->creq_count++) % RR_CONNECTQ];
            c->link = l;
            c->downs = l->downs;
            c->m = m;
            rr_kick(r);
        }
        rpmsg_mutex_unlock(&r->lock);
        break;
    case RR_ACCEPT:
        rr_on_accept(r, l, &m);
        break;
    case RR_REJECT:
        rr_on_reject(r, l, &m);
        break;
    default:
        rr_on_disconnect(r, l, &m);
        break;
    }
    return 0;
}

/* ---- Worker ---------------------------------------------------------------------- */

void rr_out_add(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    if (r->nout == r->out_max) {
        /* Sized for a full re-advertisement on every link; if it ever
         * overflows, say what was lost so the next round repeats it. */
        if (m->type == RR_ROUTE) {
            int s = rr_cpu_slot(r, m->name, false);
            if (s >= 0)
                l->advertised[s] = RR_UNKNOWN;
        } else if (m->type == RR_HELLO) {
            l->need_hello = true;
        }
        rr_kick(r);
        return;
    }
    r->out[r->nout].link = l;
    r->out[r->nout].m = *m;
    r->nout++;
}

void rr_out_flush(struct rpmsg_router *r)
{
    /* Only the worker adds and flushes: no lock needed to walk the list. */
    unsigned n = r->nout;
    r->nout = 0;
    for (unsigned i = 0; i < n; i++) {
        struct rr_out *o = &r->out[i];
        if (!rr_send_msg(r, o->link, &o->m))
            continue;
        rpmsg_mutex_lock(&r->lock);
        if (o->link->up && o->m.type == RR_ROUTE) {
            int s = rr_cpu_slot(r, o->m.name, false);
            if (s >= 0)
                o->link->advertised[s] = RR_UNKNOWN;
        } else if (o->link->up && o->m.type == RR_HELLO) {
            o->link->need_hello = true;
        }
        rpmsg_mutex_unlock(&r->lock);
    }
}

static void process_links(struct rpmsg_router *r)
{
    for (unsigned i = 0; i < RPMSG_ROUTER_LINKS_MAX; i++) {
        struct rr_link *l = &r->links[i];
        rpmsg_mutex_lock(&r->lock);
        if (!l->rdev) {
            rpmsg_mutex_unlock(&r->lock);
            continue;
        }
        bool down = l->downs != l->downs_seen;
        bool up = l->ups != l->ups_seen;
        unsigned downs = l->downs;
        l->ups_seen = l->ups;
        bool detaching = l->detaching;
        bool restarted = l->restarted;
        l->restarted = false;
        rpmsg_mutex_unlock(&r->lock);
        if (restarted && !down)
            rr_circuits_link_down(r, l);
        if (down) {
            /* Withdrawals first: an edge that then hears DISCONNECT on the
             * same link knows there is no route to retry at once. */
            rr_routes_link_down(r, l);
            rr_routes_update(r);
            rr_circuits_link_down(r, l);
        }
        if (up && !detaching && rpmsg_device_is_up(l->rdev))
            rr_routes_link_up(r, l);
        /* Seen only now: detach waits for the teardown, not just the count. */
        rpmsg_mutex_lock(&r->lock);
        l->downs_seen = downs;
        rpmsg_mutex_unlock(&r->lock);
    }
}

static void process_connects(struct rpmsg_router *r)
{
    for (;;) {
        rpmsg_mutex_lock(&r->lock);
        if (!r->creq_count) {
            rpmsg_mutex_unlock(&r->lock);
            return;
        }
        struct rr_creq c = r->creq[r->creq_head];
        r->creq_head = (r->creq_head + 1) % RR_CONNECTQ;
        r->creq_count--;
        bool stale = !c.link->rdev || !c.link->up || c.link->detaching ||
                     c.link->downs != c.downs;
        rpmsg_mutex_unlock(&r->lock);
        if (stale)
            RR_STAT(r, drop_stale_ctrl);
        else
            rr_on_connect(r, c.link, &c.m);
    }
}

/* The worker's work; returns the ms until its timers want it again. */
static uint64_t worker_round(struct rpmsg_router *r)
{
    process_links(r);
    process_connects(r);
    rr_circuits_reap(r);
    rr_gw_reap(r);
    rr_routes_update(r);
    uint64_t wait_ms = rr_circuits_update(r);
    uint64_t gw_ms = rr_gw_update(r);
    return gw_ms < wait_ms ? gw_ms : wait_ms;
}

#if !RPMSG_NO_SYS
static void worker_main(void *arg)
{
    struct rpmsg_router *r = arg;
    uint64_t wait_ms = RPMSG_FOREVER;
    for (;;) {
        rpmsg_mutex_lock(&r->lock);
        uint64_t deadline = wait_ms == RPMSG_FOREVER ? RPMSG_FOREVER : rpmsg_deadline(wait_ms);
        while (!r->work && !r->stop)
            if (rpmsg_cond_wait(&r->cond, &r->lock, deadline) == -ETIMEDOUT)
                break;
        bool stop = r->stop;
        r->work = false;
        rpmsg_mutex_unlock(&r->lock);
        if (stop)
            return;
        wait_ms = worker_round(r);
    }
}
#endif

int rpmsg_router_poll(struct rpmsg_router *r)
{
    if (!r)
        return -EINVAL;
#if RPMSG_NO_SYS
    int n = 0;
    poll_links(r);
    /* The pumps: links that had no buffer for someone. */
    for (unsigned i = 0; i < RPMSG_ROUTER_LINKS_MAX; i++) {
        struct rr_link *l = &r->links[i];
        if (l->rdev && l->starved && !l->detaching) {
            l->starved = false;
            rr_pump_round(l, false);
            n++;
        }
    }
    uint64_t now = rpmsg_time_ms();
    if (r->work || now >= r->next_run) {
        r->work = false;
        uint64_t wait_ms = worker_round(r);
        r->next_run = wait_ms == RPMSG_FOREVER ? RPMSG_FOREVER : rpmsg_time_ms() + wait_ms;
        n++;
    }
    /* The virtual devices' RX contexts: what could not be delivered at once. */
    for (unsigned i = 0; i < RPMSG_ROUTER_CPUS_MAX; i++)
        if (r->vdevs[i]) {
            int m = rr_vdev_poll(r->vdevs[i]);
            n += m > 0 ? m : 0;
        }
    return n;
#else
    return 0; /* the router's threads do the work */
#endif
}

/* ---- API ------------------------------------------------------------------------ */

size_t rpmsg_router_mem_size(void)
{
    return sizeof(struct rpmsg_router);
}

/* r zeroed; own: r (and its scratch) came from the heap. */
static int router_start(struct rpmsg_router *r, const struct rpmsg_router_config *cfg, bool own)
{
    rr_copy_name(r->name, cfg->local_cpuname);
    r->own_mem = own;
    r->hub = cfg->hub;
    r->rx_own_thread = !RPMSG_NO_SYS && cfg->rx_thread_per_far_core;
    r->features = cfg->features ? cfg->features : RPMSG_F_NS | RPMSG_F_ACK;
    r->out_max = RR_OUT_MAX;
#if RPMSG_NO_SYS
    r->out = r->out_pool;
#else
    r->out = calloc(r->out_max, sizeof(*r->out));
#endif
    int rc = r->out ? 0 : -ENOMEM;
    int inited = 0;
    if (!rc && !(rc = rpmsg_mutex_init(&r->lock)))
        inited++;
    if (!rc && !(rc = rpmsg_cond_init(&r->cond)))
        inited++;
    if (!rc && !(rc = rpmsg_cond_init(&r->tx_cond)))
        inited++;
#if !RPMSG_NO_SYS
    if (!rc) {
        rpmsg_mutex_lock(&reg_lock);
        if (nrouters == 0)
            rc = rpmsg_register_callback(&service_token, on_created, on_destroyed, NULL, NULL);
        if (!rc)
            nrouters++;
        rpmsg_mutex_unlock(&reg_lock);
    }
    if (!rc) {
        rc = rpmsg_thread_create(&r->worker, worker_main, r, "rpmsg-router");
        if (rc) {
            rpmsg_mutex_lock(&reg_lock);
            if (--nrouters == 0)
                rpmsg_unregister_callback(&service_token, on_created, on_destroyed, NULL, NULL);
            rpmsg_mutex_unlock(&reg_lock);
        }
    }
#endif
    if (rc) {
        if (inited > 2)
            rpmsg_cond_deinit(&r->tx_cond);
        if (inited > 1)
            rpmsg_cond_deinit(&r->cond);
        if (inited > 0)
            rpmsg_mutex_deinit(&r->lock);
        if (!RPMSG_NO_SYS)
            free(r->out);
        return rc;
    }
    r->worker_started = !RPMSG_NO_SYS;
    rpmsg_mutex_lock(&list_lock);
    r->next = routers;
    routers = r;
    rpmsg_mutex_unlock(&list_lock);
    return 0;
}

static bool config_ok(const struct rpmsg_router_config *cfg)
{
    return cfg && cfg->local_cpuname && cfg->local_cpuname[0] &&
           strnlen(cfg->local_cpuname, RPMSG_CPUNAME_SIZE) < RPMSG_CPUNAME_SIZE;
}

int rpmsg_router_init_mem(struct rpmsg_router **out, const struct rpmsg_router_config *cfg,
                          void *mem, size_t size)
{
    if (!out || !config_ok(cfg) || !mem || size < sizeof(struct rpmsg_router) ||
        ((uintptr_t)mem & 7u))
        return -EINVAL;
    memset(mem, 0, sizeof(struct rpmsg_router));
    int rc = router_start(mem, cfg, false);
    if (!rc)
        *out = mem;
    return rc;
}

#if !RPMSG_NO_SYS
int rpmsg_router_create(struct rpmsg_router **out, const struct rpmsg_router_config *cfg)
{
    if (!out || !config_ok(cfg))
        return -EINVAL;
    struct rpmsg_router *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    int rc = router_start(r, cfg, true);
    if (rc) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}
#endif

void rpmsg_router_destroy(struct rpmsg_router *r)
{
    if (!r)
        return;
    rpmsg_mutex_lock(&list_lock);
    for (struct rpmsg_router **p = &routers; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    rpmsg_mutex_unlock(&list_lock);
#if !RPMSG_NO_SYS
    rpmsg_mutex_lock(&reg_lock);
    if (--nrouters == 0)
        rpmsg_unregister_callback(&service_token, on_created, on_destroyed, NULL, NULL);
    rpmsg_mutex_unlock(&reg_lock);
#endif

    rpmsg_mutex_lock(&r->lock);
    r->stop = true;
    rpmsg_cond_broadcast(&r->cond);
    rr_tx_wake(r);
    rpmsg_mutex_unlock(&r->lock);
    if (!RPMSG_NO_SYS && r->worker_started)
        rpmsg_thread_join(&r->worker);

    /* Neighbours first (they take down the routes through us), then our
     * routes (no more relays or tunnel callbacks), then the links (no more
     * control messages, pumps stopped), then the devices, which by now only
     * their own RX threads touch. */
    for (unsigned i = 0; i < RPMSG_ROUTER_LINKS_MAX; i++)
        if (r->links[i].rdev && !r->links[i].detaching)
            rr_routes_bye(r, &r->links[i]);
    rr_circuits_kill_all(r);
    rr_gw_kill_all(r);
    for (unsigned i = 0; i < RPMSG_ROUTER_LINKS_MAX; i++) {
        struct rr_link *l = &r->links[i];
        if (!l->rdev)
            continue;
        rpmsg_destroy_ept(&l->ctrl);
        rr_pump_join(l);
        if (l->plain)
            rpmsg_unregister_callback(l, NULL, NULL, rr_gw_ns_match, NULL);
    }
    for (unsigned i = 0; i < RPMSG_ROUTER_CPUS_MAX; i++)
        if (r->vdevs[i])
            rr_vdev_destroy(r->vdevs[i]);
    rpmsg_cond_deinit(&r->tx_cond);
    rpmsg_cond_deinit(&r->cond);
    rpmsg_mutex_deinit(&r->lock);
#if !RPMSG_NO_SYS
    free(r->out);
    if (r->own_mem)
        free(r);
#endif
}

static int attach(struct rpmsg_router *r, struct rpmsg_device *link, bool plain)
{
    if (!r || !link || !link->ops)
        return -EINVAL;
    if (plain && !RPMSG_ROUTER_GATEWAY)
        return -ENOTSUP;
    if (rpmsg_router_is_virtual(link) && ((struct rr_vdev *)link->transport)->r == r)
        return -EINVAL; /* its own virtual device: every route would loop */
    rpmsg_mutex_lock(&r->lock);
    struct rr_link *l = NULL;
    for (unsigned i = 0; i < RPMSG_ROUTER_LINKS_MAX; i++) {
        if (r->links[i].rdev == link) {
            rpmsg_mutex_unlock(&r->lock);
            return -EEXIST;
        }
        if (!r->links[i].rdev && !l)
            l = &r->links[i];
    }
    if (!l) {
        rpmsg_mutex_unlock(&r->lock);
        return -ENOMEM;
    }
    memset(l, 0, sizeof(*l));
    l->r = r;
    l->rdev = link;
    l->detaching = true; /* reserved: not routed over until set up */
    l->plain = plain;
    memset(l->learned, RR_INF, sizeof(l->learned));
    memset(l->advertised, RR_INF, sizeof(l->advertised));
    rpmsg_mutex_unlock(&r->lock);

    l->ctrl.priv = l;
    int rc = rpmsg_create_ept(&l->ctrl, link, NULL, RPMSG_ROUTER_ADDR, RPMSG_ROUTER_ADDR, ctrl_cb,
                              NULL);
    if (!rc) {
        rc = rr_pump_start(l);
        if (rc)
            rpmsg_destroy_ept(&l->ctrl);
    }
    /* Replays what the plain peer announced before we were attached. */
    if (!rc && plain && (rc = rpmsg_register_callback(l, NULL, NULL, rr_gw_ns_match, NULL))) {
        rpmsg_destroy_ept(&l->ctrl);
        rr_pump_join(l);
    }
    rpmsg_mutex_lock(&r->lock);
    if (rc) {
        l->rdev = NULL;
    } else {
        l->detaching = false;
        if (rpmsg_device_is_up(link))
            l->ups++;
#if RPMSG_NO_SYS
        l->seen_up = rpmsg_device_is_up(link);
        l->seen_session = rpmsg_device_session(link);
#endif
        rr_kick(r);
    }
    rpmsg_mutex_unlock(&r->lock);
    return rc;
}

int rpmsg_router_attach(struct rpmsg_router *r, struct rpmsg_device *link)
{
    return attach(r, link, false);
}

int rpmsg_router_attach_plain(struct rpmsg_router *r, struct rpmsg_device *link)
{
    return attach(r, link, true);
}

static bool link_quiet(struct rpmsg_router *r, struct rr_link *l)
{
    if (l->downs_seen != l->downs || RR_ATOMIC_LOAD(&l->refs))
        return false;
    for (struct rr_hub_circuit *hc = r->circuits; hc; hc = hc->next)
        if (hc->s[0].link == l || hc->s[1].link == l)
            return false;
    if (rr_gw_link_busy(r, l))
        return false;
    for (unsigned i = 0; i < RPMSG_ROUTER_CPUS_MAX; i++) {
        struct rr_vdev *v = r->vdevs[i];
        if (!v)
            continue;
        rpmsg_mutex_lock(&v->lock);
        bool busy = v->carrier == l && (v->tun_live || v->state != RR_V_DOWN);
        rpmsg_mutex_unlock(&v->lock);
        if (busy)
            return false;
    }
    return true;
}

int rpmsg_router_detach(struct rpmsg_router *r, struct rpmsg_device *link)
{
    if (!r || !link)
        return -EINVAL;
    rpmsg_mutex_lock(&r->lock);
    struct rr_link *l = NULL;
    for (unsigned i = 0; i < RPMSG_ROUTER_LINKS_MAX; i++)
        if (r->links[i].rdev == link && !r->links[i].detaching)
            l = &r->links[i];
    if (!l) {
        rpmsg_mutex_unlock(&r->lock);
        return -ENOENT;
    }
    l->detaching = true;
    l->downs++;
    rr_tx_wake(r);
    rr_kick(r);
    /* The worker takes every route over l down; buffers the applications
     * still hold on it are theirs to give back. Bounded, never forever. */
#if RPMSG_NO_SYS
    /* The worker's round is ours to run; a second one reaps what the
     * first killed. Buffers the application holds stay its own. */
    for (int i = 0; i < 2 && !link_quiet(r, l); i++) {
        r->work = false;
        worker_round(r);
    }
#else
    uint64_t deadline = rpmsg_deadline(2 * RPMSG_SEND_TIMEOUT_MS);
    while (!link_quiet(r, l) && rpmsg_time_ms() < deadline) {
        rpmsg_cond_wait(&r->tx_cond, &r->lock, rpmsg_time_ms() + 1);
        rr_kick(r);
    }
#endif
    rpmsg_mutex_unlock(&r->lock);
    rr_routes_bye(r, l);
    rpmsg_destroy_ept(&l->ctrl);
    rr_pump_join(l);
    if (l->plain)
        rpmsg_unregister_callback(l, NULL, NULL, rr_gw_ns_match, NULL);
    rpmsg_mutex_lock(&r->lock);
    l->rdev = NULL;
    rpmsg_mutex_unlock(&r->lock);
    return 0;
}

struct rpmsg_device *rpmsg_router_find(struct rpmsg_router *r, const char *cpuname)
{
    if (!r || !cpuname)
        return NULL;
    rpmsg_mutex_lock(&r->lock);
    int s = rr_cpu_slot(r, cpuname, false);
    struct rr_vdev *v = s >= 0 ? r->vdevs[s] : NULL;
    rpmsg_mutex_unlock(&r->lock);
    return v ? &v->dev : NULL;
}

int rpmsg_router_get_stats(struct rpmsg_router *r, struct rpmsg_router_stats *out)
{
    if (!r || !out)
        return -EINVAL;
#if RPMSG_NO_SYS
    *out = r->stats;
#else
    const uint64_t *src = (const uint64_t *)&r->stats;
    uint64_t *dst = (uint64_t *)out;
    for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
#endif
    return 0;
}
