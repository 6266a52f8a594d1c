/*
 * Router tests: several cores in one process. A core is a cpu name and a
 * router; a link is a loopback pair whose two devices carry the names of the
 * cores at its ends (name_a / name_b). Services are process-wide, so every
 * callback here filters on the device's local and remote cpu names.
 *
 * Header-only (static functions): each test file includes it once.
 */
#ifndef ROUTER_FIXTURE_H
#define ROUTER_FIXTURE_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os/posix/deadline.h"
#include "rpmsg/rpmsg_router.h"
#include "testutil.h"

/* Each test file uses a different subset of these helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

#define RF_CORES 4
/* 31 characters: the longest name rpmsg can carry. */
#define RF_NAME31 "a-service-name-of-31-characters"
_Static_assert(sizeof(RF_NAME31) == 32, "31 characters and a NUL");

static struct timespec rf_deadline(unsigned ms)
{
    return rpmsg_posix_deadline(CLOCK_MONOTONIC, ms);
}

static void rf_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

/* ---- Topology: a chain core0 -- core1 -- ... ; inner cores are hubs ------------- */

struct rf_topo {
    int ncores;
    const char *names[RF_CORES];
    struct rpmsg_router *r[RF_CORES];
    struct tu_pair link[RF_CORES - 1]; /* link i: core i (side a) -- core i+1 (side b) */
};

/* Buffers per direction of every link rf_chain_open makes. */
static uint32_t rf_num_bufs = 16;
/* Routers rf_chain_open makes: far cores' callbacks on their own RX threads. */
static bool rf_own_rx;

/* bufsz: per link buffer size (NULL or 0: default). */
static int rf_chain_open(struct rf_topo *t, int n, const char *const *names, const uint32_t *bufsz)
{
    memset(t, 0, sizeof(*t));
    t->ncores = n;
    for (int i = 0; i < n; i++)
        t->names[i] = names[i];
    for (int i = 0; i + 1 < n; i++) {
        struct rpmsg_loopback_config cfg = { 0 };
        cfg.num_bufs = rf_num_bufs;
        cfg.buf_size = bufsz ? bufsz[i] : 0;
        cfg.name_a = names[i];
        cfg.name_b = names[i + 1];
        int rc = tu_pair_open(&t->link[i], &cfg);
        if (rc)
            return rc;
    }
    for (int i = 0; i < n; i++) {
        struct rpmsg_router_config rc = { .local_cpuname = names[i], .hub = i > 0 && i < n - 1,
                                          .rx_thread_per_far_core = rf_own_rx };
        int e = rpmsg_router_create(&t->r[i], &rc);
        if (e)
            return e;
        if (i > 0 && (e = rpmsg_router_attach(t->r[i], t->link[i - 1].b)))
            return e;
        if (i + 1 < n && (e = rpmsg_router_attach(t->r[i], t->link[i].a)))
            return e;
    }
    return 0;
}

static void rf_chain_close(struct rf_topo *t)
{
    for (int i = t->ncores; i-- > 0;)
        if (t->r[i])
            rpmsg_router_destroy(t->r[i]);
    for (int i = 0; i + 1 < t->ncores; i++)
        tu_pair_close(&t->link[i]);
    memset(t, 0, sizeof(*t));
}

static struct rpmsg_router_stats rf_rstats(struct rpmsg_router *r)
{
    struct rpmsg_router_stats s;
    memset(&s, 0xA5, sizeof(s));
    rpmsg_router_get_stats(r, &s);
    return s;
}

/* Every drop counter of a router. */
static uint64_t rf_drops(struct rpmsg_router *r)
{
    struct rpmsg_router_stats s = rf_rstats(r);
    return s.drop_bad_ctrl + s.drop_no_route + s.drop_too_big + s.drop_tx_fail +
           s.drop_queue_full;
}

/* ---- Watching virtual devices come and go ------------------------------------ */

#define RF_WATCH_MAX 24

struct rf_devrec {
    char local[RPMSG_CPUNAME_SIZE], remote[RPMSG_CPUNAME_SIZE];
    struct rpmsg_device *dev;
    unsigned created, destroyed;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct rf_devrec e[RF_WATCH_MAX];
    int n;
    bool registered;
} rf_w = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct rf_devrec *rf_rec_get(const char *local, const char *remote, bool add)
{
    for (int i = 0; i < rf_w.n; i++)
        if (!strcmp(rf_w.e[i].local, local) && !strcmp(rf_w.e[i].remote, remote))
            return &rf_w.e[i];
    if (!add || rf_w.n == RF_WATCH_MAX)
        return NULL;
    struct rf_devrec *e = &rf_w.e[rf_w.n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->local, sizeof(e->local), "%s", local);
    snprintf(e->remote, sizeof(e->remote), "%s", remote);
    return e;
}

static void rf_watch_event(struct rpmsg_device *rdev, bool created)
{
    if (!rpmsg_router_is_virtual(rdev))
        return;
    pthread_mutex_lock(&rf_w.lock);
    struct rf_devrec *e = rf_rec_get(rpmsg_get_local_cpuname(rdev), rpmsg_get_cpuname(rdev), true);
    TU_CHECK(e != NULL);
    if (e) {
        TU_CHECK(e->dev == NULL || e->dev == rdev); /* one device per far core */
        e->dev = rdev;
        if (created)
            e->created++;
        else
            e->destroyed++;
        /* created and destroyed alternate, starting with created */
        TU_CHECK(e->created == e->destroyed + (e->created > e->destroyed ? 1u : 0u));
    }
    pthread_cond_broadcast(&rf_w.cond);
    pthread_mutex_unlock(&rf_w.lock);
}

static void rf_watch_created(struct rpmsg_device *rdev, void *priv)
{
    (void)priv;
    rf_watch_event(rdev, true);
}

static void rf_watch_destroyed(struct rpmsg_device *rdev, void *priv)
{
    (void)priv;
    rf_watch_event(rdev, false);
}

static void rf_watch_start(void)
{
    static bool inited;
    if (!inited) {
        rf_cond_init(&rf_w.cond);
        inited = true;
    }
    pthread_mutex_lock(&rf_w.lock);
    rf_w.n = 0;
    pthread_mutex_unlock(&rf_w.lock);
    if (!rf_w.registered) {
        assert_int_equal(rpmsg_register_callback(&rf_w, rf_watch_created, rf_watch_destroyed,
                                                 NULL, NULL),
                         0);
        rf_w.registered = true;
    }
}

static void rf_watch_stop(void)
{
    if (rf_w.registered) {
        rpmsg_unregister_callback(&rf_w, rf_watch_created, rf_watch_destroyed, NULL, NULL);
        rf_w.registered = false;
    }
    pthread_mutex_lock(&rf_w.lock);
    rf_w.n = 0;
    pthread_mutex_unlock(&rf_w.lock);
}

/* Waits until the virtual device local->remote has been created `created`
 * times and destroyed `destroyed` times (at least). Returns it, or NULL. */
static struct rpmsg_device *rf_wait_dev(const char *local, const char *remote, unsigned created,
                                        unsigned destroyed)
{
    struct timespec dl = rf_deadline(TU_TIMEOUT_MS);
    struct rpmsg_device *dev = NULL;
    pthread_mutex_lock(&rf_w.lock);
    for (;;) {
        struct rf_devrec *e = rf_rec_get(local, remote, false);
        if (e && e->created >= created && e->destroyed >= destroyed) {
            dev = e->dev;
            break;
        }
        if (pthread_cond_timedwait(&rf_w.cond, &rf_w.lock, &dl) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&rf_w.lock);
    return dev;
}

static unsigned rf_count(const char *local, const char *remote, bool created)
{
    pthread_mutex_lock(&rf_w.lock);
    struct rf_devrec *e = rf_rec_get(local, remote, false);
    unsigned n = e ? (created ? e->created : e->destroyed) : 0;
    pthread_mutex_unlock(&rf_w.lock);
    return n;
}

/* ---- Checked streams: sequence numbers and checksums ---------------------------- */

/* Payload: u32 seq, u32 fnv1a(bytes 8..len), then bytes derived from seq. */
static uint32_t rf_fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void rf_fill(uint8_t *buf, uint32_t seq, size_t len)
{
    for (size_t i = 8; i < len; i++)
        buf[i] = (uint8_t)(seq * 131u + i * 7u);
    tu_put_le32(buf, seq);
    tu_put_le32(buf + 4, rf_fnv(buf + 8, len - 8));
}

/* Message size for sequence number seq: varies over [8, max]. */
static size_t rf_len(uint32_t seq, size_t max)
{
    return 8 + (seq * 37u) % (max - 7);
}

struct rf_stream {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t next;   /* expected sequence number */
    unsigned count;
    unsigned bad_seq, bad_sum, bad_len;
    uint64_t bytes;
    size_t max_len;
};

static void rf_stream_init(struct rf_stream *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    rf_cond_init(&s->cond);
}

static void rf_stream_deinit(struct rf_stream *s)
{
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
}

/* Checks one message; messages shorter than 8 bytes are control words, not counted. */
static bool rf_stream_take(struct rf_stream *s, const void *data, size_t len)
{
    if (len < 8)
        return false;
    const uint8_t *p = data;
    uint32_t seq = tu_get_le32(p);
    pthread_mutex_lock(&s->lock);
    if (seq != s->next)
        s->bad_seq++;
    if (tu_get_le32(p + 4) != rf_fnv(p + 8, len - 8))
        s->bad_sum++;
    if (len != rf_len(seq, s->max_len ? s->max_len : len))
        s->bad_len++;
    s->next = seq + 1;
    s->count++;
    s->bytes += len;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return true;
}

static int rf_stream_wait(struct rf_stream *s, unsigned n)
{
    struct timespec dl = rf_deadline(TU_TIMEOUT_MS);
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    while (s->count < n && rc == 0)
        if (pthread_cond_timedwait(&s->cond, &s->lock, &dl) == ETIMEDOUT && s->count < n)
            rc = -ETIMEDOUT;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static unsigned rf_stream_count(struct rf_stream *s)
{
    pthread_mutex_lock(&s->lock);
    unsigned n = s->count;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static void rf_stream_reset(struct rf_stream *s, uint32_t next)
{
    pthread_mutex_lock(&s->lock);
    s->next = next;
    s->count = 0;
    s->bad_seq = s->bad_sum = s->bad_len = 0;
    s->bytes = 0;
    pthread_mutex_unlock(&s->lock);
}

/* Sends n checked messages seq0.. on ept (blocking); returns how many went. */
static int rf_send_stream(struct rpmsg_endpoint *ept, uint32_t seq0, unsigned n, size_t max_len)
{
    uint8_t buf[RPMSG_BUFFER_SIZE];
    for (unsigned i = 0; i < n; i++) {
        uint32_t seq = seq0 + i;
        size_t len = rf_len(seq, max_len);
        rf_fill(buf, seq, len);
        int rc = rpmsg_send(ept, buf, len);
        if (rc != (int)len)
            return rc < 0 ? rc : -EIO;
    }
    return (int)n;
}

struct rf_sender {
    struct rpmsg_endpoint *ept;
    uint32_t seq0;
    unsigned n;
    size_t max_len;
    int result;
};

static void *rf_sender_main(void *arg)
{
    struct rf_sender *s = arg;
    s->result = rf_send_stream(s->ept, s->seq0, s->n, s->max_len);
    return NULL;
}

/* ---- Applications ---------------------------------------------------------------
 * rf_peer: on core `local`, creates the named endpoint `name` (dst ANY) on the
 * virtual device for `remote` the first time that device comes up, and keeps
 * it across route losses (the core unbinds and re-announces it).
 * rf_client: NuttX style: binds to `name` when `remote` announces it (ns_match
 * / ns_bind), destroys its endpoint in device_destroyed.
 * Both check numbered messages (rf_stream) and pass shorter ones to on_ctl.
 */

struct rf_app;
typedef void (*rf_ctl_fn)(struct rf_app *a, const uint8_t *data, size_t len);

struct rf_app {
    const char *local, *remote, *name;
    bool client;
    bool near; /* on the real link to a neighbour, not a virtual device */
    struct rpmsg_endpoint ept;
    bool live; /* atomic: set by device callbacks, read by the test */
    struct rpmsg_device *dev;
    struct rf_stream rx;
    struct tu_event binds, unbinds, ctl;
    char bound_name[RPMSG_NAME_SIZE];
    uint32_t bound_dest;
    rf_ctl_fn on_ctl;
    struct rpmsg_sem sem;
    void *user;
};

static bool rf_match_dev(struct rf_app *a, struct rpmsg_device *rdev)
{
    return rpmsg_router_is_virtual(rdev) != a->near && !strcmp(rpmsg_get_local_cpuname(rdev), a->local) &&
           !strcmp(rpmsg_get_cpuname(rdev), a->remote);
}

static int rf_app_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)src;
    struct rf_app *a = priv;
    if (rf_stream_take(&a->rx, data, len))
        return 0;
    if (a->on_ctl)
        a->on_ctl(a, data, len);
    tu_event_post(&a->ctl); /* after the handler: waiters see its effects */
    return 0;
}

static void rf_app_unbind(struct rpmsg_endpoint *ept)
{
    struct rf_app *a = ept->priv;
    tu_event_post(&a->unbinds);
}

static void rf_app_created(struct rpmsg_device *rdev, void *priv)
{
    struct rf_app *a = priv;
    if (a->client || __atomic_load_n(&a->live, __ATOMIC_ACQUIRE) || !rf_match_dev(a, rdev))
        return;
    a->dev = rdev;
    int rc = tu_ept_create(&a->ept, rdev, a->name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, rf_app_cb,
                           rf_app_unbind, a);
    TU_CHECK(rc == 0);
    __atomic_store_n(&a->live, rc == 0, __ATOMIC_RELEASE);
}

static void rf_app_destroyed(struct rpmsg_device *rdev, void *priv)
{
    struct rf_app *a = priv;
    if (!a->client || !__atomic_load_n(&a->live, __ATOMIC_ACQUIRE) || a->dev != rdev)
        return;
    __atomic_store_n(&a->live, false, __ATOMIC_RELEASE);
    TU_CHECK(rpmsg_destroy_ept(&a->ept) == 0);
    tu_event_post(&a->unbinds);
}

static bool rf_app_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)dest;
    struct rf_app *a = priv;
    return a->client && rf_match_dev(a, rdev) && !strcmp(name, a->name);
}

static void rf_app_bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    struct rf_app *a = priv;
    TU_CHECK(!__atomic_load_n(&a->live, __ATOMIC_ACQUIRE));
    if (__atomic_load_n(&a->live, __ATOMIC_ACQUIRE))
        return;
    a->dev = rdev;
    snprintf(a->bound_name, sizeof(a->bound_name), "%s", name);
    a->bound_dest = dest;
    int rc = tu_ept_create(&a->ept, rdev, name, RPMSG_ADDR_ANY, dest, rf_app_cb, NULL, a);
    TU_CHECK(rc == 0);
    __atomic_store_n(&a->live, rc == 0, __ATOMIC_RELEASE);
    tu_event_post(&a->binds);
}

static void rf_app_init(struct rf_app *a, const char *local, const char *remote, const char *name,
                        bool client)
{
    memset(a, 0, sizeof(*a));
    a->local = local;
    a->remote = remote;
    a->name = name;
    a->client = client;
    rf_stream_init(&a->rx);
    tu_event_init(&a->binds);
    tu_event_init(&a->unbinds);
    tu_event_init(&a->ctl);
    rpmsg_sem_init(&a->sem, 0);
    assert_int_equal(rpmsg_register_callback(a, rf_app_created, rf_app_destroyed, rf_app_match,
                                             rf_app_bind),
                     0);
}

/* Before the routers go: their devices are freed with them. */
static void rf_app_stop(struct rf_app *a)
{
    rpmsg_unregister_callback(a, rf_app_created, rf_app_destroyed, rf_app_match, rf_app_bind);
    if (__atomic_exchange_n(&a->live, false, __ATOMIC_ACQ_REL))
        rpmsg_destroy_ept(&a->ept);
}

static void rf_app_deinit(struct rf_app *a)
{
    rpmsg_sem_deinit(&a->sem);
    tu_event_deinit(&a->ctl);
    tu_event_deinit(&a->unbinds);
    tu_event_deinit(&a->binds);
    rf_stream_deinit(&a->rx);
}

static bool rf_pred_app_ready(void *arg)
{
    struct rf_app *a = arg;
    return __atomic_load_n(&a->live, __ATOMIC_ACQUIRE) && rpmsg_is_ept_ready(&a->ept);
}

static int rf_app_wait_ready(struct rf_app *a)
{
    return tu_wait_until(rf_pred_app_ready, a, TU_TIMEOUT_MS);
}

static int rf_app_send_ctl(struct rf_app *a, const char *word)
{
    return rpmsg_send(&a->ept, word, strlen(word));
}

#endif
