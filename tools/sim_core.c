/*
 * One core of `rpmsg sim`, in its own (forked) process: its links, a router
 * (hub or not, as the topology says), the built-in echo and ping services,
 * the bridges, exports and mounts its section declares (sim_svc.c), and, on
 * the demo's source core, the demo client (sim_demo.c).
 *
 * The main thread supervises: it opens links whose peer is not there yet,
 * reopens native VirtIO links whose peer died (they never come back by
 * themselves, unlike port links), and publishes counters for the sim
 * process's status lines.
 */
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpmsg/rpmsg_link.h"
#include "rpmsg/rpmsg_router.h"
#include "oneway.h"
#include "pcap.h"
#include "sim.h"
#include "sim_demo.h"
#include "sim_svc.h"

#define ECHO_EPTS 64

enum { SLOT_FREE, SLOT_LIVE, SLOT_UNBOUND, SLOT_CLOSING };

struct core {
    const struct topo *t;
    int me;
    struct sim_shared *sh;
    struct rpmsg_router *router;
    struct rpmsg_link *link[TOPO_LINKS_MAX];
    struct pcap *pcap[TOPO_LINKS_MAX]; /* --pcap: kept across reopens */
    pthread_mutex_t lock;
    struct slot {
        struct rpmsg_endpoint ept;
        int state;
        struct oneway_sink sink; /* `rpmsg bench`'s one-way rounds */
    } slot[ECHO_EPTS];
};

static volatile sig_atomic_t stop_flag;

static void on_term(int sig)
{
    (void)sig;
    stop_flag = 1;
}

int sim_link_spec(const struct topo *t, const struct sim_opts *o, int li, int me,
                  const char *const *tty_paths, char *buf, size_t len)
{
    const struct topo_link *l = &t->links[li];
    int end = l->end[1] == me;
    int n;
    const struct topo_core *other = &t->cores[l->end[!end]];
    switch (l->type) {
    case TOPO_VIRTIO:
        /* To a NuttX simulator: its object, in the role opposite to its own. */
        if (other->nuttx)
            n = snprintf(buf, len, "nuttx-sim:%s:%s", other->shm, end ? "remote" : "host");
        else
            n = snprintf(buf, len, "virtio:%s-%s", o->tag, l->name);
        break;
    case TOPO_SPI:
        n = snprintf(buf, len, "spi:%s-%s:%s", o->tag, l->name, end ? "slave" : "master");
        break;
    default:
        if (l->rate)
            n = snprintf(buf, len, "uart:%s@%u", tty_paths[li * 2 + end], l->rate);
        else
            n = snprintf(buf, len, "uart:%s", tty_paths[li * 2 + end]);
        break;
    }
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct core *c = priv;
    struct slot *sl = (struct slot *)((char *)ept - offsetof(struct slot, ept));
    uint8_t rep[ONEWAY_SIZE];
    enum oneway_take k = oneway_sink_take(&sl->sink, data, len, rep);
    if (k == ONEWAY_LAST)
        rpmsg_sendto(ept, rep, sizeof(rep), src);
    if (k != ONEWAY_NOT_MINE)
        return 0;
    if (rpmsg_sendto(ept, data, len, src) >= 0)
        __atomic_add_fetch(&c->sh->core[c->me].echoed, 1, __ATOMIC_RELAXED);
    return 0;
}

static void echo_unbind(struct rpmsg_endpoint *ept)
{
    struct core *c = ept->priv;
    /* Destroying here would wait on ourselves; the supervisor does it. */
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < ECHO_EPTS; i++)
        if (&c->slot[i].ept == ept && c->slot[i].state == SLOT_LIVE)
            c->slot[i].state = SLOT_UNBOUND;
    pthread_mutex_unlock(&c->lock);
}

/*
 * A hub's direct link to a NuttX core: its names are the gateway's to give
 * to the cores behind (a NuttX endpoint answers one binding only, and a
 * service that took the name first would hide it from the gateway). The
 * peer's cpu name is NuttX's own, so "not one of our cores" is the test.
 */
static bool nuttx_direct(const struct core *c, struct rpmsg_device *rdev)
{
    if (!c->t->cores[c->me].hub || rpmsg_router_is_virtual(rdev))
        return false;
    const char *cpu = rpmsg_get_cpuname(rdev);
    for (int i = 0; i < c->t->ncores; i++)
        if (!c->t->cores[i].nuttx && cpu && !strcmp(cpu, c->t->cores[i].name))
            return false;
    return true;
}

static bool svc_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)dest;
    if (nuttx_direct(priv, rdev))
        return false;
    return !strcmp(name, SIM_ECHO_SVC) || !strcmp(name, SIM_PING_SVC);
}

static void svc_bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    struct core *c = priv;
    int s = -1;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < ECHO_EPTS && s < 0; i++)
        if (c->slot[i].state == SLOT_FREE) {
            c->slot[i].state = SLOT_CLOSING; /* reserved while being created */
            s = i;
        }
    pthread_mutex_unlock(&c->lock);
    if (s < 0)
        return;
    struct rpmsg_endpoint *e = &c->slot[s].ept;
    memset(e, 0, sizeof(*e));
    c->slot[s].sink = (struct oneway_sink){ 0 };
    e->priv = c;
    int r = rpmsg_create_ept(e, rdev, name, RPMSG_ADDR_ANY, dest, echo_cb, echo_unbind);
    pthread_mutex_lock(&c->lock);
    c->slot[s].state = r ? SLOT_FREE : SLOT_LIVE;
    pthread_mutex_unlock(&c->lock);
}

/* Destroys the echo endpoints that match (all on rdev, or all unbound). */
static void reap(struct core *c, struct rpmsg_device *rdev, bool all)
{
    for (int i = 0; i < ECHO_EPTS; i++) {
        pthread_mutex_lock(&c->lock);
        bool take = (c->slot[i].state == SLOT_LIVE || c->slot[i].state == SLOT_UNBOUND) &&
                    (all || (rdev ? c->slot[i].ept.rdev == rdev : c->slot[i].state == SLOT_UNBOUND));
        if (take)
            c->slot[i].state = SLOT_CLOSING;
        pthread_mutex_unlock(&c->lock);
        if (!take)
            continue;
        rpmsg_destroy_ept(&c->slot[i].ept);
        pthread_mutex_lock(&c->lock);
        c->slot[i].state = SLOT_FREE;
        pthread_mutex_unlock(&c->lock);
    }
}

static void dev_destroyed(struct rpmsg_device *rdev, void *priv)
{
    reap(priv, rdev, false);
}

static int open_link(struct core *c, const struct sim_opts *o, int li,
                     const char *const *tty_paths)
{
    const struct topo_link *tl = &c->t->links[li];
    char spec[300];
    int r = sim_link_spec(c->t, o, li, c->me, tty_paths, spec, sizeof(spec));
    if (r)
        return r;
    bool first = tl->end[0] == c->me;
    struct rpmsg_link_config cfg = {
        .spec = spec,
        .role = first ? RPMSG_LINK_HOST : RPMSG_LINK_REMOTE,
        .side = first ? RPMSG_LINK_CREATE : RPMSG_LINK_ATTACH,
        .cpuname = c->t->cores[c->me].name,
        .peer_cpuname = c->t->cores[tl->end[first]].name, /* a NuttX slave's, in our table */
        .timeout_ms = 200, /* attacher: short, so that the supervisor stays responsive */
        .num_bufs = tl->num_bufs,
        .buf_size = tl->buf_size,
    };
    /* --pcap: the link's device starts with this link's capture as its trace
     * (links open one at a time, on this thread). */
    if (o->pcap_dir && !c->pcap[li]) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s-%s.pcap", o->pcap_dir, tl->name,
                 c->t->cores[c->me].name);
        if ((r = pcap_open(&c->pcap[li], path)))
            return r;
    }
    if (c->pcap[li])
        pcap_trace_new_devices(c->pcap[li]);
    r = rpmsg_link_open(&c->link[li], &cfg);
    if (c->pcap[li])
        rpmsg_set_trace(NULL, NULL, NULL);
    if (r)
        return r;
    /* A NuttX core runs no router: a hub next to it is its gateway. */
    struct rpmsg_device *dev = rpmsg_link_device(c->link[li]);
    r = c->t->cores[tl->end[first]].nuttx ? rpmsg_router_attach_plain(c->router, dev)
                                          : rpmsg_router_attach(c->router, dev);
    if (r) {
        rpmsg_link_close(c->link[li]);
        c->link[li] = NULL;
    }
    return r;
}

static void close_link(struct core *c, int li)
{
    rpmsg_router_detach(c->router, rpmsg_link_device(c->link[li]));
    reap(c, rpmsg_link_device(c->link[li]), false);
    rpmsg_link_close(c->link[li]);
    c->link[li] = NULL;
}

static void publish(struct core *c)
{
    struct sim_core_status *st = &c->sh->core[c->me];
    for (int li = 0; li < c->t->nlinks; li++) {
        struct sim_link_status *ls = &st->link[li];
        if (!c->link[li]) {
            ls->open = ls->up = 0;
            continue;
        }
        struct rpmsg_device *d = rpmsg_link_device(c->link[li]);
        struct rpmsg_stats s;
        ls->open = 1;
        ls->up = rpmsg_device_is_up(d);
        if (!rpmsg_get_stats(d, &s)) {
            ls->tx_msgs = s.tx_msgs;
            ls->rx_msgs = s.rx_msgs;
            ls->tx_bytes = s.tx_bytes;
            ls->rx_bytes = s.rx_bytes;
            ls->errors = s.drop_bad_header + s.drop_bad_ns + rpmsg_link_errors(c->link[li]);
        }
        struct rpmsg_link_info info;
        if (ls->up && !rpmsg_link_info(c->link[li], &info)) {
            snprintf(ls->peer, sizeof(ls->peer), "%s", rpmsg_get_cpuname(d));
            ls->features = rpmsg_get_features(d);
            ls->tx_bufs = info.tx_bufs;
            ls->rx_bufs = info.rx_bufs;
            ls->tx_buf_size = info.tx_buf_size;
            ls->rx_buf_size = info.rx_buf_size;
        }
    }
    struct rpmsg_router_stats rs;
    if (!rpmsg_router_get_stats(c->router, &rs)) {
        st->relayed_msgs = rs.relayed_msgs;
        st->relayed_bytes = rs.relayed_bytes;
        st->far_up = (uint32_t)(rs.routes_up - rs.routes_down);
    }
}

int sim_core_main(const struct topo *t, int me, struct sim_shared *sh,
                  const struct sim_opts *o, const char *const *tty_paths)
{
    static struct core c; /* one per process */
    memset(&c, 0, sizeof(c));
    c.t = t;
    c.me = me;
    c.sh = sh;
    pthread_mutex_init(&c.lock, NULL);
    signal(SIGINT, SIG_IGN); /* the sim process decides when cores stop */
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);

    struct rpmsg_router_config rc = { .local_cpuname = t->cores[me].name, .hub = t->cores[me].hub };
    int r = rpmsg_router_create(&c.router, &rc);
    if (!r)
        r = rpmsg_register_callback(&c, NULL, dev_destroyed, svc_match, svc_bind);
    if (r) {
        fprintf(stderr, "rpmsg sim: core %s: setup failed: %s\n", t->cores[me].name, rpmsg_strerror(r));
        return 1;
    }
    struct sim_svc *svc = NULL;
    r = sim_svc_start(&svc, t, me, &sh->core[me]);
    if (r) {
        fprintf(stderr, "rpmsg sim: core %s: services: %s\n", t->cores[me].name,
                rpmsg_strerror(r));
        sim_svc_stop(svc);
        return 1;
    }
    struct sim_demo_client *demo = NULL;
    if (o->demo && t->demo_from == me)
        sim_demo_start(&demo, t, sh, o);

    int last_err[TOPO_LINKS_MAX] = { 0 };
    while (!stop_flag) {
        for (int li = 0; li < t->nlinks && !stop_flag; li++) {
            if (t->links[li].end[0] != me && t->links[li].end[1] != me)
                continue;
            if (c.link[li] && rpmsg_link_is_dead(c.link[li])) {
                close_link(&c, li);
                sh->core[me].link[li].reopens++;
            }
            if (!c.link[li]) {
                r = open_link(&c, o, li, tty_paths);
                if (r && r != -ETIMEDOUT && r != -ENOENT && r != last_err[li])
                    fprintf(stderr, "rpmsg sim: core %s: link %s: %s\n", t->cores[me].name,
                            t->links[li].name, rpmsg_strerror(r));
                last_err[li] = r;
            }
        }
        reap(&c, NULL, false);
        publish(&c);
        sim_svc_publish(svc);
        usleep(50 * 1000);
    }

    sim_demo_stop(demo);
    sim_svc_stop(svc);
    rpmsg_unregister_callback(&c, NULL, dev_destroyed, svc_match, svc_bind);
    reap(&c, NULL, true);
    rpmsg_router_destroy(c.router);
    for (int li = 0; li < t->nlinks; li++) {
        if (c.link[li]) {
            rpmsg_link_close(c.link[li]);
            c.link[li] = NULL;
        }
        pcap_close(c.pcap[li]); /* after its link: nothing traces into it any more */
    }
    return 0;
}
