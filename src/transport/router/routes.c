/*
 * Reachability: which cores can be reached over which link, and how far.
 * A distance-vector table with split horizon, fed by ROUTE messages from
 * neighbouring hubs. A HELLO (not a REPLY) means "I start over on this
 * link": its sender has forgotten both what it was told and what it told,
 * so its receiver forgets the same and re-advertises everything; the REPLY
 * only says a router is there. Each side's advertisements follow its own
 * HELLO or REPLY on the wire, so nothing said after a restart is lost.
 */
#include "router_priv.h"

int rr_cpu_slot(struct rpmsg_router *r, const char *name, bool add)
{
    if (!name || !name[0] || rr_same(name, r->name))
        return -1;
    for (unsigned i = 0; i < r->ncpus; i++)
        if (rr_same(r->cpus[i], name))
            return (int)i;
    if (!add || r->ncpus == RPMSG_ROUTER_CPUS_MAX)
        return -1;
    rr_copy_name(r->cpus[r->ncpus], name);
    return (int)r->ncpus++;
}

const char *rr_link_peer(const struct rr_link *l)
{
    return l->remote[0] ? l->remote : l->peer;
}

uint8_t rr_best(struct rpmsg_router *r, int s, struct rr_link **via)
{
    uint8_t best = RR_INF;
    *via = NULL;
    if (s < 0)
        return best;
    for (unsigned i = 0; i < RPMSG_ROUTER_LINKS_MAX; i++) {
        struct rr_link *l = &r->links[i];
        if (!l->rdev || !l->up || l->detaching)
            continue;
        /* A plain peer ends routes to itself only, through us (gateway.c). */
        if (l->plain) {
            if (rr_same(l->remote, r->cpus[s])) {
                *via = l;
                return 0;
            }
            continue;
        }
        /* Only a peer that runs a router can end or pass on a route. */
        if (!l->present)
            continue;
        if (rr_same(rr_link_peer(l), r->cpus[s])) {
            *via = l;
            return 0;
        }
        if (l->learned[s] < best) {
            best = l->learned[s];
            *via = l;
        }
    }
    return best;
}

static void reset_tables(struct rr_link *l)
{
    memset(l->learned, RR_INF, sizeof(l->learned));
    memset(l->advertised, RR_INF, sizeof(l->advertised));
}

void rr_on_hello(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    rpmsg_mutex_lock(&r->lock);
    if (m->flags & RR_HELLO_BYE) {
        /* Its routes and the routes through it are gone; it may come back
         * with a HELLO. */
        l->present = false;
        l->need_hello = l->need_reply = false;
        reset_tables(l);
        l->restarted = true;
        rr_kick(r);
        rpmsg_mutex_unlock(&r->lock);
        return;
    }
    if (!(m->flags & RR_HELLO_REPLY)) {
        /* From a peer we already knew: it restarted, with no route state. */
        if (l->present)
            l->restarted = true;
        reset_tables(l);
        l->need_hello = true;
        l->need_reply = true;
    }
    l->present = true;
    rr_copy_name(l->peer, m->name);
    rr_cpu_slot(r, m->name, true);
    rr_kick(r);
    rpmsg_mutex_unlock(&r->lock);
}

void rr_on_route(struct rpmsg_router *r, struct rr_link *l, const struct rr_msg *m)
{
    rpmsg_mutex_lock(&r->lock);
    int s = rr_cpu_slot(r, m->name, m->hops != RR_INF);
    if (s >= 0 && l->learned[s] != m->hops) {
        struct rr_vdev *v = r->vdevs[s];
        if (v && l->learned[s] == RR_INF) {
            /* A new way there: a pause after an earlier refusal no longer applies. */
            rpmsg_mutex_lock(&v->lock);
            v->next_try = 0;
            rpmsg_mutex_unlock(&v->lock);
        }
        l->learned[s] = m->hops;
        rr_kick(r);
    }
    if (s >= 0)
        l->learned_plain[s] = m->flags & RR_ROUTE_PLAIN;
    rpmsg_mutex_unlock(&r->lock);
}

void rr_routes_link_up(struct rpmsg_router *r, struct rr_link *l)
{
    rpmsg_mutex_lock(&r->lock);
    l->up = true;
    l->present = false;
    rr_copy_name(l->remote, rpmsg_get_cpuname(l->rdev));
    reset_tables(l);
    rr_cpu_slot(r, l->remote, true);
    l->need_hello = true;
    l->need_reply = false;
    rpmsg_mutex_unlock(&r->lock);
}

void rr_routes_link_down(struct rpmsg_router *r, struct rr_link *l)
{
    rpmsg_mutex_lock(&r->lock);
    l->up = false;
    l->present = false;
    l->need_hello = false;
    l->need_reply = false;
    reset_tables(l);
    rpmsg_mutex_unlock(&r->lock);
}

void rr_routes_bye(struct rpmsg_router *r, struct rr_link *l)
{
    if (l->plain || !rpmsg_device_is_up(l->rdev))
        return;
    struct rr_msg m = { .type = RR_HELLO, .flags = RR_HELLO_BYE };
    rr_copy_name(m.name, r->name);
    rr_send_msg(r, l, &m);
}

void rr_routes_update(struct rpmsg_router *r)
{
    rpmsg_mutex_lock(&r->lock);
    for (unsigned i = 0; i < RPMSG_ROUTER_LINKS_MAX; i++) {
        struct rr_link *l = &r->links[i];
        if (!l->rdev || !l->up || l->detaching || !l->need_hello || l->plain)
            continue;
        struct rr_msg m = { .type = RR_HELLO };
        m.flags = (uint8_t)((l->need_reply ? RR_HELLO_REPLY : 0) | (r->hub ? RR_HELLO_HUB : 0));
        rr_copy_name(m.name, r->name);
        /* A HELLO that is no REPLY makes the peer start over: so do we. */
        if (!l->need_reply)
            reset_tables(l);
        l->need_hello = false;
        l->need_reply = false;
        rr_out_add(r, l, &m);
    }
    if (r->hub) {
        for (unsigned i = 0; i < RPMSG_ROUTER_LINKS_MAX; i++) {
            struct rr_link *x = &r->links[i];
            if (!x->rdev || !x->up || !x->present || x->detaching)
                continue;
            for (unsigned s = 0; s < r->ncpus; s++) {
                struct rr_link *via;
                uint8_t h = rr_best(r, (int)s, &via);
                uint8_t want = RR_INF;
                /* Split horizon: never offer x a route that goes through x. */
                if (h != RR_INF && via != x && !rr_same(r->cpus[s], rr_link_peer(x)) &&
                    h + 1 <= RPMSG_ROUTER_HOPS_MAX)
                    want = (uint8_t)(h + 1);
                if (want == x->advertised[s])
                    continue;
                struct rr_msg m = { .type = RR_ROUTE, .hops = want };
                if (want != RR_INF && rr_route_plain(via, (int)s))
                    m.flags = RR_ROUTE_PLAIN;
                rr_copy_name(m.name, r->cpus[s]);
                x->advertised[s] = want;
                rr_out_add(r, x, &m);
            }
        }
    }
    rpmsg_mutex_unlock(&r->lock);
    rr_out_flush(r);
}
