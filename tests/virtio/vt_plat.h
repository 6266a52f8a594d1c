/*
 * In-process test platform for the VirtIO transport: two devices over one
 * calloc'd region, each side's doorbell a counter under a pthread mutex and
 * condition variable (CLOCK_MONOTONIC, like rpmsg_time_ms). Included by the
 * tests of this folder (header-only, so each test is one file).
 */
#ifndef VT_PLAT_H
#define VT_PLAT_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "rpmsg/rpmsg_virtio.h"

struct vt_link;

struct vt_end {
    struct vt_link *link;
    int idx; /* 0 host, 1 remote */
    pthread_mutex_t m;
    pthread_cond_t c;
    unsigned pending;
    uint64_t rung;    /* doorbells rung on the peer by this side */
    uint64_t by_id[4];
    /* With vt_opts.watch: looks at the ring a wait_ready makes before it
     * sleeps, and how many times it asked for a kick (watch.arm). */
    unsigned looks;
    unsigned arms;
};

struct vt_link {
    struct vt_end end[2];
    int alive[2];
};

static inline void vt_ring(struct vt_end *e)
{
    pthread_mutex_lock(&e->m);
    e->pending++;
    pthread_cond_broadcast(&e->c);
    pthread_mutex_unlock(&e->m);
}

static inline int vt_notify(void *plat, uint32_t id)
{
    struct vt_end *e = plat;
    __atomic_add_fetch(&e->rung, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&e->by_id[id & 3], 1, __ATOMIC_RELAXED);
    vt_ring(&e->link->end[1 - e->idx]);
    return 0;
}

static inline int vt_wait(void *plat, uint64_t deadline)
{
    struct vt_end *e = plat;
    int r = 0;
    pthread_mutex_lock(&e->m);
    while (!e->pending && r == 0) {
        /* Bounded sleeps so that peer_alive() changes are noticed. */
        uint64_t now = rpmsg_time_ms(), until = now + 50;
        if (deadline < until)
            until = deadline;
        if (now >= deadline) {
            r = ETIMEDOUT;
            break;
        }
        struct timespec ts = { (time_t)(until / 1000), (long)(until % 1000) * 1000000L };
        int w = pthread_cond_timedwait(&e->c, &e->m, &ts);
        if (w == ETIMEDOUT && until < deadline)
            break; /* liveness period: a spurious return */
        if (w == ETIMEDOUT)
            r = ETIMEDOUT;
    }
    e->pending = 0;
    pthread_mutex_unlock(&e->m);
    return r ? -ETIMEDOUT : 0;
}

static inline void vt_wakeup(void *plat)
{
    vt_ring(plat);
}

static inline int vt_peer_alive(void *plat)
{
    struct vt_end *e = plat;
    return __atomic_load_n(&e->link->alive[1 - e->idx], __ATOMIC_ACQUIRE) ? 0 : -ENOTCONN;
}

static const struct rpmsg_virtio_platform_ops vt_ops = {
    .notify = vt_notify,
    .wait = vt_wait,
    .wakeup = vt_wakeup,
    .peer_alive = vt_peer_alive,
};

/* A wait that watches the ring: e->looks looks, then the request for a
 * kick (the contract of wait_ready), then the doorbell. */
static inline int vt_wait_ready(void *plat, uint64_t deadline, const struct rpmsg_virtio_watch *w)
{
    struct vt_end *e = plat;
    for (unsigned i = 0; w && i < e->looks; i++)
        if (w->ready(w->arg))
            return 1;
    if (w && w->arm) {
        __atomic_add_fetch(&e->arms, 1, __ATOMIC_RELAXED);
        if (w->arm(w->arg))
            return 1;
    }
    return vt_wait(plat, deadline);
}

static const struct rpmsg_virtio_platform_ops vt_ops_watch = {
    .notify = vt_notify,
    .wait = vt_wait,
    .wakeup = vt_wakeup,
    .peer_alive = vt_peer_alive,
    .wait_ready = vt_wait_ready,
};

static inline void vt_link_init(struct vt_link *l)
{
    memset(l, 0, sizeof(*l));
    for (int i = 0; i < 2; i++) {
        struct vt_end *e = &l->end[i];
        e->link = l;
        e->idx = i;
        pthread_mutex_init(&e->m, NULL);
        pthread_condattr_t a;
        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(&e->c, &a);
        pthread_condattr_destroy(&a);
        l->alive[i] = 1;
    }
}

static inline void vt_link_deinit(struct vt_link *l)
{
    for (int i = 0; i < 2; i++) {
        pthread_mutex_destroy(&l->end[i].m);
        pthread_cond_destroy(&l->end[i].c);
    }
}

static inline uint64_t vt_rung(struct vt_link *l, int side)
{
    return __atomic_load_n(&l->end[side].rung, __ATOMIC_RELAXED);
}

/* ---- A host/remote pair ---------------------------------------------------- */

struct vt_opts {
    uint32_t hfeat, rfeat;      /* 0: default */
    bool hnone, rnone;          /* offer nothing */
    bool legacy_host, legacy_remote;
    bool remote_writes_table;
    bool no_rx_thread;
    bool openamp;               /* OpenAMP demo layout and region size */
    struct rpmsg_virtio_layout_params params;
    const char *hname, *rname;
    bool no_start_remote;       /* leave the remote for the test to start */
    bool watch;                 /* waits watch the ring (vt_wait_ready) */
};

struct vt_pair {
    uint8_t *shm;
    size_t size;
    struct vt_link link;
    struct rpmsg_virtio *host, *remote;
    struct rpmsg_virtio_layout layout;
    struct rpmsg_virtio_config hcfg, rcfg;
    struct rpmsg_device *h, *r;
};

static inline int vt_start(struct vt_pair *p, int side)
{
    if (side == 0) {
        int r = rpmsg_virtio_init(p->host, &p->hcfg);
        p->h = r ? NULL : rpmsg_virtio_get_device(p->host);
        return r;
    }
    int r = rpmsg_virtio_init(p->remote, &p->rcfg);
    p->r = r ? NULL : rpmsg_virtio_get_device(p->remote);
    return r;
}

static inline void vt_stop(struct vt_pair *p, int side)
{
    if (side == 0 && p->h) {
        rpmsg_virtio_deinit(p->host);
        p->h = NULL;
    } else if (side == 1 && p->r) {
        rpmsg_virtio_deinit(p->remote);
        p->r = NULL;
    }
}

static inline int vt_pair_open(struct vt_pair *p, const struct vt_opts *o)
{
    static const struct vt_opts none;
    if (!o)
        o = &none;
    memset(p, 0, sizeof(*p));
    p->size = o->openamp ? rpmsg_virtio_layout_openamp(&p->layout)
                         : rpmsg_virtio_layout_default(&p->layout, &o->params);
    if (!p->size)
        return -EINVAL;
    p->shm = aligned_alloc(4096, (p->size + 4095) & ~(size_t)4095);
    p->host = calloc(1, sizeof(*p->host));
    p->remote = calloc(1, sizeof(*p->remote));
    if (!p->shm || !p->host || !p->remote)
        return -ENOMEM;
    memset(p->shm, 0, p->size);
    vt_link_init(&p->link);
    struct rpmsg_virtio_config c = {
        .shm = p->shm,
        .shm_size = p->size,
        .layout = &p->layout,
        .remote_writes_table = o->remote_writes_table,
        .ops = o->watch ? &vt_ops_watch : &vt_ops,
        .no_rx_thread = o->no_rx_thread,
    };
    uint32_t hfeat = o->hfeat, rfeat = o->rfeat;
    if (!o->openamp && getenv("RPMSG_VT_PACKED")) {
        /* The suite again over packed rings (tests/CMakeLists.txt: *_packed). */
        hfeat = (hfeat ? hfeat : RPMSG_VIRTIO_F_DEFAULT) | RPMSG_VIRTIO_F_RING_PACKED;
        rfeat = (rfeat ? rfeat : RPMSG_VIRTIO_F_DEFAULT) | RPMSG_VIRTIO_F_RING_PACKED;
    }
    p->hcfg = c;
    p->hcfg.role = RPMSG_VIRTIO_HOST;
    p->hcfg.cpuname = o->hname ? o->hname : "hostcpu";
    p->hcfg.features = hfeat;
    p->hcfg.no_features = o->hnone;
    p->hcfg.legacy = o->legacy_host;
    p->hcfg.plat = &p->link.end[0];
    p->rcfg = c;
    p->rcfg.role = RPMSG_VIRTIO_REMOTE;
    p->rcfg.cpuname = o->rname ? o->rname : "remotecpu";
    p->rcfg.features = rfeat;
    p->rcfg.no_features = o->rnone;
    p->rcfg.legacy = o->legacy_remote;
    p->rcfg.plat = &p->link.end[1];
    int r = vt_start(p, 0);
    if (!r && !o->no_start_remote)
        r = vt_start(p, 1);
    return r;
}

static inline void vt_pair_close(struct vt_pair *p)
{
    vt_stop(p, 1);
    vt_stop(p, 0);
    vt_link_deinit(&p->link);
    free(p->shm);
    free(p->host);
    free(p->remote);
    memset(p, 0, sizeof(*p));
}

/* Polls both sides (no_rx_thread) until pred holds; 0 or -ETIMEDOUT. */
static inline int vt_poll_until(struct vt_pair *p, bool (*pred)(void *), void *arg)
{
    uint64_t deadline = rpmsg_time_ms() + TU_TIMEOUT_MS;
    while (!pred(arg)) {
        if (rpmsg_time_ms() > deadline)
            return -ETIMEDOUT;
        if (p->h)
            rpmsg_poll(p->h);
        if (p->r)
            rpmsg_poll(p->r);
    }
    return 0;
}

static inline bool vt_both_up(void *arg)
{
    struct vt_pair *p = arg;
    return p->h && p->r && rpmsg_device_is_up(p->h) && rpmsg_device_is_up(p->r);
}

static inline int vt_wait_up(struct vt_pair *p)
{
    if (p->hcfg.no_rx_thread)
        return vt_poll_until(p, vt_both_up, p);
    return tu_wait_until(vt_both_up, p, TU_TIMEOUT_MS);
}

static inline struct rpmsg_virtio_stats vt_stats(struct rpmsg_virtio *v)
{
    struct rpmsg_virtio_stats s;
    rpmsg_virtio_get_stats(v, &s);
    return s;
}

/* The negotiated features as the test expects them: without the packed
 * ring that RPMSG_VT_PACKED adds to every offer. */
static inline uint32_t vt_features(struct rpmsg_device *d)
{
    uint32_t f = rpmsg_get_features(d);
    return getenv("RPMSG_VT_PACKED") ? f & ~RPMSG_VIRTIO_F_RING_PACKED : f;
}

/* Little-endian field readers for golden checks on the region. */
static inline uint16_t vt_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t vt_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t vt_le64(const uint8_t *p)
{
    return vt_le32(p) | (uint64_t)vt_le32(p + 4) << 32;
}

#endif
