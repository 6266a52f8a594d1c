/*
 * Demo client: waits for the demo's target core to appear (a virtual device
 * when it is behind a hub), binds its echo service by name, measures ping
 * round trips, then streams messages with sequence numbers and checksums
 * through the echo and checks every one coming back. When the target is
 * several hops away the first hop is measured the same way for comparison.
 */
#include "sim_demo.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dev_find.h"
#include "payload.h"
#include "rpmsg/rpmsg.h"

#define WAIT_DEV_MS 20000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct sim_demo_client {
    const struct topo *t;
    struct sim_shared *sh;
    const struct sim_opts *o;
    pthread_t thread;
    int stop; /* atomic: set by sim_demo_stop() */
};

/* Counted by client_cb on the RX thread, read by measure(): atomics. */
struct run {
    struct rpmsg_sem credit, pong;
    uint32_t expect, received, seq_errors, sum_errors;
};

static uint32_t get(const uint32_t *v)
{
    return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void bump(uint32_t *v)
{
    __atomic_add_fetch(v, 1, __ATOMIC_RELAXED);
}

static bool stopping(const struct sim_demo_client *d)
{
    return __atomic_load_n(&d->stop, __ATOMIC_RELAXED);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int client_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    struct run *r = priv;
    uint32_t seq = 0;
    if (payload_check(data, len, &seq))
        bump(&r->sum_errors);
    else if (seq != r->expect)
        bump(&r->seq_errors);
    r->expect = seq + 1; /* the RX thread's own */
    bump(&r->received);
    rpmsg_post(ept, &r->pong);
    rpmsg_post(ept, &r->credit);
    return 0;
}

static bool demo_stopping(void *d)
{
    return stopping(d);
}

static void measure(struct sim_demo_client *d, int target, struct sim_measure *m)
{
    const char *name = d->t->cores[target].name;
    m->target = (uint32_t)target;
    uint64_t t0 = rpmsg_time_ms();
    struct rpmsg_device *dev = dev_find(name, WAIT_DEV_MS, demo_stopping, d);
    if (!dev) {
        snprintf(m->error, sizeof(m->error), "core %s never appeared", name);
        return;
    }
    static struct run run;
    memset(&run, 0, sizeof(run));
    rpmsg_sem_init(&run.credit, d->o->window);
    m->window = d->o->window;
    rpmsg_sem_init(&run.pong, 0);
    struct rpmsg_endpoint ept;
    memset(&ept, 0, sizeof(ept));
    ept.priv = &run;
    int r = rpmsg_create_ept(&ept, dev, SIM_ECHO_SVC, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, client_cb, NULL);
    if (!r)
        r = rpmsg_wait_ept_ready(&ept, 5000);
    if (r) {
        snprintf(m->error, sizeof(m->error), "binding '%s' on %s: %s", SIM_ECHO_SVC, name,
                 rpmsg_strerror(r));
        if (!ept.rdev)
            return;
        goto out;
    }
    m->bind_ms = (uint32_t)(rpmsg_time_ms() - t0);
    uint32_t size = d->o->size;
    int cap = rpmsg_get_tx_buffer_size(&ept);
    if (cap > 0 && size > (uint32_t)cap)
        size = (uint32_t)cap;
    m->size = size;
    uint8_t *buf = malloc(size);
    if (!buf) {
        snprintf(m->error, sizeof(m->error), "out of memory");
        goto out;
    }

    /* Ping: one message in flight at a time. The median too: on a shared
     * machine a few round trips wait for a CPU, and they pull the mean. */
    uint32_t seq = 0;
    double sum = 0, mn = 1e18, mx = 0;
    double *rtts = calloc(d->o->pings ? d->o->pings : 1, sizeof(*rtts));
    if (!rtts) {
        free(buf);
        snprintf(m->error, sizeof(m->error), "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < d->o->pings && !stopping(d); i++) {
        payload_fill(buf, 16, seq++);
        rpmsg_wait_timeout(NULL, &run.credit, 0); /* keep the window count honest */
        uint64_t p0 = now_ns();
        r = rpmsg_send(&ept, buf, 16);
        if (r >= 0)
            r = rpmsg_wait_timeout(NULL, &run.pong, 5000);
        if (r < 0) {
            snprintf(m->error, sizeof(m->error), "ping %u: %s", i, rpmsg_strerror(r));
            break;
        }
        double us = (double)(now_ns() - p0) / 1000.0;
        sum += us;
        mn = us < mn ? us : mn;
        mx = us > mx ? us : mx;
        rtts[m->pings++] = us;
    }
    if (m->pings) {
        qsort(rtts, m->pings, sizeof(*rtts), cmp_double);
        m->rtt_p50_us = rtts[m->pings / 2];
        m->rtt_min_us = mn;
        m->rtt_avg_us = sum / m->pings;
        m->rtt_max_us = mx;
    }
    free(rtts);

    /* Stream: window messages in flight. */
    uint32_t base = get(&run.received);
    uint64_t s0 = now_ns();
    for (uint32_t i = 0; i < d->o->count && !stopping(d) && !m->error[0]; i++) {
        r = rpmsg_wait_timeout(NULL, &run.credit, 5000);
        if (!r) {
            payload_fill(buf, size, seq++);
            r = rpmsg_send(&ept, buf, size);
        }
        if (r < 0)
            snprintf(m->error, sizeof(m->error), "stream message %u: %s", i, rpmsg_strerror(r));
        else
            m->sent++;
    }
    uint64_t end = rpmsg_time_ms() + 5000;
    while (get(&run.received) - base < m->sent && rpmsg_time_ms() < end && !stopping(d))
        rpmsg_wait_timeout(NULL, &run.pong, 100);
    m->seconds = (double)(now_ns() - s0) / 1e9;
    m->received = get(&run.received) - base;
    m->seq_errors = get(&run.seq_errors);
    m->sum_errors = get(&run.sum_errors);
    free(buf);
    if (!m->error[0] && m->received != m->sent)
        snprintf(m->error, sizeof(m->error), "%u of %u echoes missing", m->sent - m->received,
                 m->sent);
    m->ok = !m->error[0] && m->pings == d->o->pings && m->sent == d->o->count &&
            !m->seq_errors && !m->sum_errors;
out:
    rpmsg_destroy_ept(&ept);
    rpmsg_sem_deinit(&run.credit);
    rpmsg_sem_deinit(&run.pong);
}

static void *client(void *arg)
{
    struct sim_demo_client *d = arg;
    struct sim_demo *res = &d->sh->demo;
    const struct topo *t = d->t;
    while (d->o->demo_wait && !stopping(d) && !__atomic_load_n(&res->go, __ATOMIC_ACQUIRE))
        usleep(20 * 1000);
    measure(d, t->demo_to, &res->far);
    int path[TOPO_CORES_MAX];
    int n = topo_path(t, t->demo_from, t->demo_to, path, TOPO_CORES_MAX);
    if (n > 2 && !stopping(d))
        measure(d, path[1], &res->near);
    __atomic_store_n(&res->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

int sim_demo_start(struct sim_demo_client **out, const struct topo *t, struct sim_shared *sh,
                   const struct sim_opts *o)
{
    if (t->demo_from < 0 || t->demo_to < 0)
        return -EINVAL;
    struct sim_demo_client *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->t = t;
    d->sh = sh;
    d->o = o;
    int r = -pthread_create(&d->thread, NULL, client, d);
    if (r) {
        free(d);
        return r;
    }
    *out = d;
    return 0;
}

void sim_demo_stop(struct sim_demo_client *d)
{
    if (!d)
        return;
    __atomic_store_n(&d->stop, 1, __ATOMIC_RELAXED);
    pthread_join(d->thread, NULL);
    free(d);
}
