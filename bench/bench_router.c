/*
 * Router cost: big --L1-- A (hub) --L2-- B over loopback links (16 buffers
 * of 512 bytes each way), big -> B through the hub against big -> A
 * directly on L1, in the same run:
 *
 *   latency     round trip of a 16-byte message echoed by the far side's
 *               callback (median and mean over many round trips)
 *   throughput  one sender thread, largest payload each path allows (496
 *               bytes direct, 480 through the hub: the tunnel takes 16),
 *               counted in the far side's callback
 *   hub CPU     during the routed stream, the CPU time of A's threads (its
 *               links' RX threads, found by a trace hook while the round
 *               trips run, its router worker and pumps) per relayed
 *               message, against one direct receive (A's RX thread of L1
 *               during the direct stream) plus one direct send (the
 *               sender's thread) per message of the direct stream
 *
 * Both ways, alternating over several runs: far cores' callbacks on the
 * carrier link's RX thread (the default), and on their virtual devices' own
 * threads (rx_thread_per_far_core). Medians and ranges.
 *
 * Prints a table, then as the last line one JSON object {"bench":"router",...}.
 * Usage: bench_router [round_trips] [messages]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "rpmsg/rpmsg_loopback.h"
#include "rpmsg/rpmsg_router.h"
#include "thread_cpu.h"

#define ADDR_TX 0x300u
#define ADDR_RX 0x301u

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* ---- The hub's threads --------------------------------------------------- */

struct hub_threads {
    pthread_mutex_t lock;
    struct tcpu_set rx_l1; /* A's RX context of L1: the direct receiver */
    struct tcpu_set all;   /* everything A runs */
};

static struct tcpu_set *trace_set_of(struct hub_threads *h, bool l1)
{
    return l1 ? &h->rx_l1 : &h->all;
}

/* A trace hook sees each receive on the thread that dispatches it. */
static void trace_rx(struct rpmsg_device *rdev, void *arg, int dir, const void *msg, size_t len,
                     bool l1)
{
    (void)rdev, (void)msg, (void)len;
    struct hub_threads *h = arg;
    if (dir != RPMSG_TRACE_RX)
        return;
    int tid = tcpu_self();
    pthread_mutex_lock(&h->lock);
    tcpu_add(trace_set_of(h, l1), tid);
    tcpu_add(&h->all, tid);
    pthread_mutex_unlock(&h->lock);
}

static void trace_l1(struct rpmsg_device *rdev, void *arg, int dir, const void *msg, size_t len)
{
    trace_rx(rdev, arg, dir, msg, len, true);
}

static void trace_l2(struct rpmsg_device *rdev, void *arg, int dir, const void *msg, size_t len)
{
    trace_rx(rdev, arg, dir, msg, len, false);
}

static bool named(int tid, const char *want)
{
    char path[64], comm[32] = "";
    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool hit = fgets(comm, sizeof(comm), f) && strncmp(comm, want, strlen(want)) == 0;
    fclose(f);
    return hit;
}

/* Context switches (voluntary and not) of a set of threads: how often the
 * hub's threads sleep and wake, which its CPU time mostly is under load. */
static uint64_t switches(const struct tcpu_set *s)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < s->n; i++) {
        char path[64], line[128];
        snprintf(path, sizeof(path), "/proc/self/task/%d/status", s->tid[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        unsigned long long v;
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
                sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
                sum += v;
        fclose(f);
    }
    return sum;
}

/* The router's own threads among those started since before. */
static void add_router_threads(struct hub_threads *h, const struct tcpu_set *before)
{
    struct tcpu_set fresh = { .n = 0 };
    tcpu_add_new(&fresh, before);
    for (unsigned i = 0; i < fresh.n; i++)
        if (named(fresh.tid[i], "rpmsg-router") || named(fresh.tid[i], "rpmsg-rpump"))
            tcpu_add(&h->all, fresh.tid[i]);
}

/* ---- A path: a sender endpoint and an echoing/counting far endpoint ---- */

struct path {
    const char *label;
    struct rpmsg_endpoint tx, rx;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned long replies, received, target;
    bool echo;
};

static void path_signal(struct path *p, unsigned long *counter)
{
    pthread_mutex_lock(&p->lock);
    (*counter)++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static int far_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    struct path *p = priv;
    if (p->echo) {
        rpmsg_send(ept, data, len);
        return 0;
    }
    /* Counted without the lock, signalled once: the receive's CPU time is
     * measured, and a broadcast per message would be most of it. */
    if (__atomic_add_fetch(&p->received, 1, __ATOMIC_RELEASE) >= p->target) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
    }
    return 0;
}

static int near_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)data, (void)len, (void)src;
    struct path *p = priv;
    path_signal(p, &p->replies);
    return 0;
}

static int path_open(struct path *p, const char *label, struct rpmsg_device *near,
                     struct rpmsg_device *far)
{
    memset(p, 0, sizeof(*p));
    p->label = label;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->tx.priv = p;
    p->rx.priv = p;
    int r = rpmsg_create_ept(&p->tx, near, NULL, ADDR_TX, ADDR_RX, near_cb, NULL);
    if (!r)
        r = rpmsg_create_ept(&p->rx, far, NULL, ADDR_RX, ADDR_TX, far_cb, NULL);
    return r;
}

static void path_close(struct path *p)
{
    rpmsg_destroy_ept(&p->tx);
    rpmsg_destroy_ept(&p->rx);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
}

static void wait_count(struct path *p, unsigned long *counter, unsigned long n)
{
    pthread_mutex_lock(&p->lock);
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < n)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct result {
    double rtt_median_us, rtt_mean_us;
    double msgs_per_s, mb_per_s;
    int payload;
    double sender_ns, rx_l1_ns, hub_ns; /* CPU per message of the stream */
    double sender_sw, rx_l1_sw, hub_sw; /* context switches per message, same threads */
};

static uint8_t payload[RPMSG_BUFFER_SIZE];

static int measure_rtt(struct path *p, unsigned rounds, struct result *out)
{
    const uint8_t *buf = payload;
    uint64_t *t = malloc(rounds * sizeof(*t));
    if (!t)
        return -1;
    p->echo = true;
    for (unsigned i = 0; i < rounds; i++) {
        uint64_t t0 = now_ns();
        if (rpmsg_send(&p->tx, buf, 16) != 16) {
            free(t);
            return -1;
        }
        wait_count(p, &p->replies, i + 1ul);
        t[i] = now_ns() - t0;
    }
    uint64_t sum = 0;
    for (unsigned i = 0; i < rounds; i++)
        sum += t[i];
    qsort(t, rounds, sizeof(*t), cmp_u64);
    out->rtt_median_us = (double)t[rounds / 2] / 1000.0;
    out->rtt_mean_us = (double)sum / rounds / 1000.0;
    free(t);
    return 0;
}

/* A one-way stream whose CPU time is charged to the sender (this thread)
 * and to the hub's thread sets. */
/* scripts/profile-router: the one stream callgrind instruments ("direct" or
 * "hub", BENCH_ROUTER_PROFILE), NULL for a normal run. */
static const char *profiled;

/* BENCH_ROUTER_THREADS: every thread's CPU time and context switches per
 * message of each stream, to see where the hub's time goes. */
struct thread_snap {
    struct tcpu_set all;
    uint64_t sw[TCPU_MAX], ns[TCPU_MAX];
};

static void thread_snap(struct thread_snap *t)
{
    tcpu_snapshot(&t->all);
    for (unsigned i = 0; i < t->all.n; i++) {
        struct tcpu_set one = { .n = 0 };
        tcpu_add(&one, t->all.tid[i]);
        t->sw[i] = switches(&one);
        t->ns[i] = tcpu_ns(&one);
    }
}

static bool in_set(const struct tcpu_set *s, int tid)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->tid[i] == tid)
            return true;
    return false;
}

static void thread_report(const char *label, const struct thread_snap *t0, unsigned msgs,
                          const struct hub_threads *h)
{
    static struct thread_snap t1;
    thread_snap(&t1);
    for (unsigned i = 0; i < t1.all.n; i++)
        for (unsigned j = 0; j < t0->all.n; j++) {
            if (t0->all.tid[j] != t1.all.tid[i])
                continue;
            double ns = (double)(t1.ns[i] - t0->ns[j]) / msgs;
            if (ns < 20)
                break;
            char path[64], comm[32] = "";
            snprintf(path, sizeof(path), "/proc/self/task/%d/comm", t1.all.tid[i]);
            FILE *f = fopen(path, "r");
            if (f) {
                if (!fgets(comm, sizeof(comm), f))
                    comm[0] = 0;
                fclose(f);
            }
            comm[strcspn(comm, "\n")] = 0;
            printf("  %-15s %-13s %-11s %6.0f ns  %.3f switches per message\n", label, comm,
                   in_set(&h->rx_l1, t1.all.tid[i]) ? "A, L1 RX"
                   : in_set(&h->all, t1.all.tid[i]) ? "A"
                                                     : "",
                   ns, (double)(t1.sw[i] - t0->sw[j]) / msgs);
            break;
        }
}

static int measure_stream(struct path *p, unsigned msgs, struct result *out,
                          struct hub_threads *h)
{
    static struct thread_snap snap0;
    bool threads = getenv("BENCH_ROUTER_THREADS") != NULL;
    if (threads)
        thread_snap(&snap0);
    bool prof = profiled && strstr(p->label, profiled);
    const uint8_t *buf = payload;
    p->echo = false;
    int len = rpmsg_get_tx_buffer_size(&p->tx);
    if (len <= 0)
        return -1;
    out->payload = len;
    p->target = msgs;
    struct tcpu_set me = { .n = 0 };
    tcpu_add(&me, tcpu_self());
    uint64_t s_tx = switches(&me), s_l1 = switches(&h->rx_l1), s_hub = switches(&h->all);
    uint64_t c_tx = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t c_l1 = tcpu_ns(&h->rx_l1), c_hub = tcpu_ns(&h->all);
    uint64_t t0 = now_ns();
    if (prof)
        CALLGRIND_START_INSTRUMENTATION;
    for (unsigned i = 0; i < msgs; i++)
        if (rpmsg_send(&p->tx, buf, (size_t)len) != len)
            return -1;
    out->sender_ns = (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - c_tx) / msgs;
    out->sender_sw = (double)(switches(&me) - s_tx) / msgs;
    wait_count(p, &p->received, msgs);
    if (prof)
        CALLGRIND_STOP_INSTRUMENTATION;
    double s = (double)(now_ns() - t0) / 1e9;
    out->rx_l1_ns = (double)(tcpu_ns(&h->rx_l1) - c_l1) / msgs;
    out->hub_ns = (double)(tcpu_ns(&h->all) - c_hub) / msgs;
    out->rx_l1_sw = (double)(switches(&h->rx_l1) - s_l1) / msgs;
    out->hub_sw = (double)(switches(&h->all) - s_hub) / msgs;
    if (threads)
        thread_report(p->label, &snap0, msgs, h);
    out->msgs_per_s = msgs / s;
    out->mb_per_s = (double)msgs * len / s / 1e6;
    return 0;
}

/* ---- Topology ------------------------------------------------------------ */

static bool wait_up(struct rpmsg_router *r, const char *cpu)
{
    for (int i = 0; i < 10000; i++) {
        struct rpmsg_device *d = rpmsg_router_find(r, cpu);
        if (d && rpmsg_device_is_up(d))
            return true;
        struct timespec ms = { 0, 1000000L };
        nanosleep(&ms, NULL);
    }
    return false;
}

/* Builds big --L1-- A --L2-- B, measures direct and through the hub, tears
 * it all down. own: far cores' callbacks on their virtual devices' threads. */
static int run(bool own, unsigned rounds, unsigned msgs, struct result *rd, struct result *rh,
               struct rpmsg_router_stats *st)
{
    struct rpmsg_loopback *l1, *l2;
    struct rpmsg_loopback_config c1 = { .name_a = "big", .name_b = "A" };
    struct rpmsg_loopback_config c2 = { .name_a = "A", .name_b = "B" };
    if (rpmsg_loopback_create(&l1, &c1) || rpmsg_loopback_create(&l2, &c2)) {
        fprintf(stderr, "bench_router: loopback failed\n");
        return 1;
    }
    struct hub_threads h = { .lock = PTHREAD_MUTEX_INITIALIZER };
    struct tcpu_set before;
    struct rpmsg_router *rbig, *ra, *rb;
    struct rpmsg_router_config cbig = { .local_cpuname = "big", .rx_thread_per_far_core = own };
    struct rpmsg_router_config ca = { .local_cpuname = "A", .hub = true,
                                      .rx_thread_per_far_core = own };
    struct rpmsg_router_config cb = { .local_cpuname = "B", .rx_thread_per_far_core = own };
    struct rpmsg_device *a1 = rpmsg_loopback_dev_b(l1), *a2 = rpmsg_loopback_dev_a(l2);
    int rc = rpmsg_router_create(&rbig, &cbig);
    if (!rc)
        rc = rpmsg_router_create(&rb, &cb);
    tcpu_snapshot(&before);
    if (!rc)
        rc = rpmsg_router_create(&ra, &ca);
    if (!rc)
        rc = rpmsg_router_attach(ra, a1);
    if (!rc)
        rc = rpmsg_router_attach(ra, a2);
    add_router_threads(&h, &before);
    if (rc || rpmsg_router_attach(rbig, rpmsg_loopback_dev_a(l1)) ||
        rpmsg_router_attach(rb, rpmsg_loopback_dev_b(l2)) || !wait_up(rbig, "B") ||
        !wait_up(rb, "big")) {
        fprintf(stderr, "bench_router: route did not come up\n");
        return 1;
    }

    struct path direct, hop;
    if (path_open(&direct, "big->A direct", rpmsg_loopback_dev_a(l1), a1) ||
        path_open(&hop, "big->B via hub", rpmsg_router_find(rbig, "B"),
                  rpmsg_router_find(rb, "big"))) {
        fprintf(stderr, "bench_router: paths did not open\n");
        return 1;
    }
    /* The round trips of both paths show the trace which threads receive
     * for A; it is off again before the streams. */
    rpmsg_set_trace(a1, trace_l1, &h);
    rpmsg_set_trace(a2, trace_l2, &h);
    rc = measure_rtt(&direct, rounds, rd);
    if (!rc)
        rc = measure_rtt(&hop, rounds, rh);
    rpmsg_set_trace(a1, NULL, NULL);
    rpmsg_set_trace(a2, NULL, NULL);
    if (rc || !h.rx_l1.n || measure_stream(&direct, msgs, rd, &h) ||
        measure_stream(&hop, msgs, rh, &h)) {
        fprintf(stderr, "bench_router: measurement failed\n");
        return 1;
    }
    rpmsg_router_get_stats(ra, st);
    path_close(&hop);
    path_close(&direct);
    rpmsg_router_destroy(rb);
    rpmsg_router_destroy(ra);
    rpmsg_router_destroy(rbig);
    rpmsg_loopback_destroy(l2);
    rpmsg_loopback_destroy(l1);
    return 0;
}

/* Nine: the hub's CPU ratio spreads over 0.7-1.6 between runs on this
 * 2-vCPU machine (three busy threads on two CPUs through the hub, two
 * direct), wider than the margin of its target; five runs left the median
 * itself moving by 0.3 from one invocation to the next. */
#define REPS 9

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median, min and max of n values (sorted in place). */
struct spread {
    double med, min, max;
};

static struct spread spread_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return (struct spread){ v[n / 2], v[0], v[n - 1] };
}

/* One configuration over REPS runs: each figure, and the hop/direct ratios
 * of each run (direct and hop measured back to back, so a run's ratio is
 * fairer than a ratio of medians on a machine this noisy). */
struct summary {
    struct spread d_rtt, d_rate, h_rtt, h_rate, r_lat, r_tput;
    /* CPU ns per message: direct send, direct receive, the hub's relay;
     * hub / (send + receive); the hop's added latency in direct round trips. */
    struct spread c_tx, c_rx, c_hub, r_cpu, r_added;
    /* Context switches per message: direct send + receive, the hub. */
    struct spread w_direct, w_hub;
    int d_payload, h_payload;
};

static struct summary summarize(const struct result *d, const struct result *h)
{
    double v[13][REPS];
    for (int k = 0; k < REPS; k++) {
        v[6][k] = d[k].sender_ns;
        v[7][k] = d[k].rx_l1_ns;
        v[8][k] = h[k].hub_ns;
        v[9][k] = h[k].hub_ns / (d[k].sender_ns + d[k].rx_l1_ns);
        v[10][k] = (h[k].rtt_median_us - d[k].rtt_median_us) / d[k].rtt_median_us;
        v[11][k] = d[k].sender_sw + d[k].rx_l1_sw;
        v[12][k] = h[k].hub_sw;
        v[0][k] = d[k].rtt_median_us;
        v[1][k] = d[k].msgs_per_s;
        v[2][k] = h[k].rtt_median_us;
        v[3][k] = h[k].msgs_per_s;
        v[4][k] = h[k].rtt_median_us / d[k].rtt_median_us;
        v[5][k] = h[k].msgs_per_s / d[k].msgs_per_s;
    }
    return (struct summary){ spread_of(v[0], REPS), spread_of(v[1], REPS),
                             spread_of(v[2], REPS), spread_of(v[3], REPS),
                             spread_of(v[4], REPS), spread_of(v[5], REPS),
                             spread_of(v[6], REPS), spread_of(v[7], REPS),
                             spread_of(v[8], REPS), spread_of(v[9], REPS),
                             spread_of(v[10], REPS), spread_of(v[11], REPS),
                             spread_of(v[12], REPS), d[0].payload, h[0].payload };
}

static void row(const char *label, int payload, struct spread rtt, struct spread rate)
{
    printf("%-22s %8d %10.1f  %6.1f-%-6.1f %10.0f  %7.0f-%-7.0f\n", label, payload, rtt.med,
           rtt.min, rtt.max, rate.med, rate.min, rate.max);
}

static void json_mode(const char *key, const struct summary *m, const char *tail)
{
    printf("\"%s\":{\"direct_payload\":%d,\"direct_rtt_median_us\":%.2f,"
           "\"direct_msgs_per_s\":%.0f,\"hop_payload\":%d,\"hop_rtt_median_us\":%.2f,"
           "\"hop_msgs_per_s\":%.0f,\"ratio_latency\":%.2f,\"ratio_latency_min\":%.2f,"
           "\"ratio_latency_max\":%.2f,\"ratio_throughput\":%.2f,"
           "\"ratio_throughput_min\":%.2f,\"ratio_throughput_max\":%.2f,"
           "\"direct_send_cpu_ns\":%.0f,\"direct_recv_cpu_ns\":%.0f,\"hub_cpu_ns\":%.0f,"
           "\"ratio_hub_cpu\":%.2f,\"ratio_hub_cpu_min\":%.2f,\"ratio_hub_cpu_max\":%.2f,"
           "\"hop_added_rtts\":%.2f,\"hop_added_rtts_min\":%.2f,\"hop_added_rtts_max\":%.2f,"
           "\"direct_switches\":%.3f,\"hub_switches\":%.3f}%s",
           key, m->d_payload, m->d_rtt.med, m->d_rate.med, m->h_payload, m->h_rtt.med,
           m->h_rate.med, m->r_lat.med, m->r_lat.min, m->r_lat.max, m->r_tput.med,
           m->r_tput.min, m->r_tput.max, m->c_tx.med, m->c_rx.med, m->c_hub.med, m->r_cpu.med,
           m->r_cpu.min, m->r_cpu.max, m->r_added.med, m->r_added.min, m->r_added.max, m->w_direct.med, m->w_hub.med,
           tail);
}

int main(int argc, char **argv)
{
    unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
    unsigned msgs = argc > 2 ? (unsigned)atoi(argv[2]) : 100000;
    if (!rounds || !msgs)
        return 2;
    memset(payload, 0xA5, sizeof(payload));
    profiled = getenv("BENCH_ROUTER_PROFILE");
    if (profiled) {
        /* One run of the default configuration; the stream is what counts. */
        static struct result d, hh;
        struct rpmsg_router_stats st;
        if (run(false, rounds, msgs, &d, &hh, &st))
            return 1;
        printf("profiled '%s': %u messages, relayed %llu, of them held %llu\n", profiled, msgs,
               (unsigned long long)st.relayed_msgs, (unsigned long long)st.relay_held);
        return 0;
    }

    static struct result rd[2][REPS], rh[2][REPS];
    unsigned long long relayed = 0, held = 0, drops = 0;
    for (int k = 0; k < REPS; k++)
        for (int own = 0; own < 2; own++) {
            struct rpmsg_router_stats st;
            if (run(own, rounds, msgs, &rd[own][k], &rh[own][k], &st))
                return 1;
            relayed += st.relayed_msgs;
            held += st.relay_held;
            drops += st.drop_no_route + st.drop_tx_fail + st.drop_too_big;
        }
    struct summary m[2] = { summarize(rd[0], rh[0]), summarize(rd[1], rh[1]) };

    printf("router: %u round trips (16 B), %u messages one way, loopback links, 16 x 512 B buffers\n",
           rounds, msgs);
    printf("%d runs of each, alternating; median and range. Far-core callbacks on the carrier\n"
           "link's thread (default), or on the virtual device's own (own).\n", REPS);
    printf("%-22s %8s %10s  %-13s %10s  %-15s\n", "path", "payload", "rtt med us", "range",
           "msgs/s", "range");
    row("big->A direct", m[0].d_payload, m[0].d_rtt, m[0].d_rate);
    row("big->B via hub", m[0].h_payload, m[0].h_rtt, m[0].h_rate);
    row("big->A direct (own)", m[1].d_payload, m[1].d_rtt, m[1].d_rate);
    row("big->B via hub (own)", m[1].h_payload, m[1].h_rtt, m[1].h_rate);
    for (int own = 0; own < 2; own++)
        printf("hop/direct%s: latency x%.2f (%.2f-%.2f), throughput x%.2f (%.2f-%.2f)\n",
               own ? " (own)" : "", m[own].r_lat.med, m[own].r_lat.min, m[own].r_lat.max,
               m[own].r_tput.med, m[own].r_tput.min, m[own].r_tput.max);
    for (int own = 0; own < 2; own++)
        printf("hub CPU%s: %.0f ns per relayed message against direct send %.0f + receive %.0f"
               " ns: x%.2f (%.2f-%.2f); a hop adds x%.2f (%.2f-%.2f) of a direct round trip\n",
               own ? " (own)" : "", m[own].c_hub.med, m[own].c_tx.med, m[own].c_rx.med,
               m[own].r_cpu.med, m[own].r_cpu.min, m[own].r_cpu.max, m[own].r_added.med,
               m[own].r_added.min, m[own].r_added.max);
    for (int own = 0; own < 2; own++)
        printf("context switches per message%s: hub %.3f (%.3f-%.3f), direct send + receive"
               " %.3f (%.3f-%.3f)\n", own ? " (own)" : "", m[own].w_hub.med, m[own].w_hub.min,
               m[own].w_hub.max, m[own].w_direct.med, m[own].w_direct.min, m[own].w_direct.max);
    printf("hub relayed %llu messages, held %llu, dropped %llu\n", relayed, held, drops);

    printf("{\"bench\":\"router\",\"round_trips\":%u,\"messages\":%u,\"runs\":%d,", rounds,
           msgs, REPS);
    json_mode("link_thread", &m[0], ",");
    json_mode("own_thread", &m[1], "");
    printf(",\"relayed\":%llu,\"held\":%llu,\"drops\":%llu}\n", relayed, held, drops);
    return 0;
}
