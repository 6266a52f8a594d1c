/*
 * VirtIO link between two processes (native link: /dev/shm + futex
 * doorbell), measured against the machine's own limits taken in the same
 * run (bench/common/machine_limits.h); each limit a ratio divides by is
 * measured again right before and right after its figure, and the ratio
 * carries how far it moved (bench/common/bracket.h):
 *   - round trip, 16 and 496 bytes, poll and interrupt mode (both sides),
 *     ping-pong driven from the receive callbacks, median;
 *     ratios: poll RTT / shared-memory ping-pong, interrupt RTT / futex ping-pong
 *   - pipelined one-way messages/s, 16 and 496 bytes, copy and zero-copy,
 *     counted at the receiver over fixed batches, median of the batches;
 *     ratio: 496-byte msgs/s / SPSC ring of 512-byte slots; and 496 bytes
 *     from the remote to the host (figures only)
 *   - the same over packed rings (RPMSG_VIRTIO_F_RING_PACKED): poll round
 *     trip 16 and 496 bytes, ratios over the shared-memory ping-pong
 *     (target 2.0) and the bare packed echo; pipelined 496 bytes, copy and
 *     zero-copy, over the SPSC ring
 *   - CPU of an idle link (adaptive mode, both processes) over 5 s.
 * Each side runs in its own process (fork), pinned to its own CPU when two
 * are available, and opens its link with rpmsg_link_open under a name that
 * holds the pid.
 *
 * --streams: only the pipelined streams (no limits, no ratios), each with the
 * sending process's CPU time per message (getrusage, both its threads) and
 * its voluntary context switches per message: a quick look at the send path
 * that holds on a loaded machine better than msgs/s.
 *
 * --rtt: only the poll-mode round trips of 16 bytes, split and packed (no
 * limits, no ratios): the loop to run under a profiler.
 *
 * --packed (with --streams or --rtt): the packed ring's alone.
 *
 * Usage: bench_virtio [--json] [--quick] [--streams] [--rtt] [--packed]
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_link.h"
#include "bench_report.h"
#include "bracket.h"
#include "machine_limits.h"
#include "rpmsg/rpmsg_link.h"

#define SVC "bench-virtio"

static bool quick;
static struct bench_cpus cpus;
static int seq;

struct side_cfg {
    char spec[96];
    enum rpmsg_link_wait wait;
    uint32_t features; /* both sides offer these; 0: the default */
    int kind;          /* child job: 0 echo, 1 count, 2 idle, 3 send a stream */
    bool nocopy;       /* kind 3: zero-copy sends */
    uint32_t size;
    unsigned batch, batches;
    int res_fd;        /* child writes its results here */
};

static void new_spec(struct side_cfg *c)
{
    snprintf(c->spec, sizeof(c->spec), "virtio:rpmsg-bench-%d-%d", (int)getpid(), seq++);
}

static struct rpmsg_link *open_side(const struct side_cfg *c, bool host)
{
    struct rpmsg_link_config cfg = {
        .spec = c->spec,
        .role = host ? RPMSG_LINK_HOST : RPMSG_LINK_REMOTE,
        .side = host ? RPMSG_LINK_CREATE : RPMSG_LINK_ATTACH,
        .wait = c->wait,
        .features = c->features,
    };
    return bench_link_open(&cfg);
}

/* ---- child (remote) ------------------------------------------------------ */

struct child_state {
    struct rpmsg_endpoint ept;
    const struct side_cfg *cfg;
    unsigned long n;
    uint64_t t_first;
    double *rates;
    unsigned nrates;
    struct rpmsg_sem done;
};

static int echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    rpmsg_sendto(ept, data, len, src);
    return 0;
}

/* Counts a pipelined stream; one rate per batch, timed from its first to its last message. */
static int count_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)data, (void)len, (void)src;
    struct child_state *s = priv;
    unsigned b = s->cfg->batch;
    unsigned long i = s->n++ % b;
    if (i == 0) {
        s->t_first = bench_now_ns();
    } else if (i == b - 1 && s->nrates < s->cfg->batches) {
        uint64_t dt = bench_now_ns() - s->t_first;
        s->rates[s->nrates++] = dt ? (b - 1) * 1e9 / (double)dt : 0;
        if (s->nrates == s->cfg->batches)
            rpmsg_post(NULL, &s->done);
    }
    return 0;
}

/* total messages of size bytes as fast as they go: rpmsg_send, or the
 * zero-copy pair with the payload written into the buffer. */
static int send_stream(struct rpmsg_endpoint *e, uint32_t size, bool nocopy, unsigned long total)
{
    uint8_t buf[512];
    memset(buf, 0x5a, sizeof(buf));
    for (unsigned long i = 0; i < total; i++) {
        if (nocopy) {
            uint32_t cap;
            uint8_t *tx = rpmsg_get_tx_payload_buffer(e, &cap, RPMSG_WAIT);
            if (!tx)
                return -ENOBUFS;
            memcpy(tx, buf, size);
            if (rpmsg_send_nocopy(e, tx, size) != (int)size) {
                rpmsg_release_tx_buffer(e, tx);
                return -EIO;
            }
        } else if (rpmsg_send(e, buf, size) != (int)size) {
            return -EIO;
        }
    }
    return 0;
}

static int child_fn(void *arg)
{
    const struct side_cfg *c = arg;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    static struct child_state s;
    memset(&s, 0, sizeof(s));
    s.cfg = c;
    rpmsg_sem_init(&s.done, 0);
    double rates[64] = { 0 };
    s.rates = rates;
    uint64_t cpu0 = 0;
    struct rpmsg_link *l = open_side(c, false);
    if (!l)
        return 2;
    s.ept.priv = &s;
    if (rpmsg_create_ept(&s.ept, rpmsg_link_device(l), SVC, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                         c->kind == 1 ? count_cb : echo_cb, NULL))
        return 3;
    double out[66] = { 0 };
    int nout = 0;
    if (c->kind == 3) {
        out[nout++] = -1; /* sender's rate, msgs/s; negative: the stream failed */
        out[nout++] = 0;  /* sender's CPU (both threads) per message, ns */
        if (rpmsg_wait_ept_ready(&s.ept, 10000) == 0) {
            uint64_t cpu = bench_cpu_ns(), t0 = bench_now_ns();
            unsigned long total = (unsigned long)c->batch * c->batches;
            if (send_stream(&s.ept, c->size, c->nocopy, total) == 0) {
                out[0] = total * 1e9 / (double)(bench_now_ns() - t0);
                out[1] = (double)(bench_cpu_ns() - cpu) / (double)total;
            }
        }
    } else if (c->kind == 1) {
        rpmsg_wait_timeout(NULL, &s.done, 60000);
        for (unsigned i = 0; i < s.nrates; i++)
            out[nout++] = rates[i];
    } else if (c->kind == 2) {
        cpu0 = bench_cpu_ns();
        uint64_t t0 = bench_now_ns();
        /* Idle until the parent leaves; its own measurement window is inside ours. */
        struct rpmsg_device *rdev = rpmsg_link_device(l);
        while (rpmsg_device_is_up(rdev))
            usleep(200000);
        out[nout++] = (double)(bench_cpu_ns() - cpu0) / (double)(bench_now_ns() - t0) * 100.0;
    }
    if (nout && write(c->res_fd, out, sizeof(double) * (size_t)nout) < 0)
        return 4;
    struct rpmsg_device *rdev = rpmsg_link_device(l);
    for (int t = 0; t < 2000 && rpmsg_device_is_up(rdev); t++)
        usleep(10000);
    rpmsg_destroy_ept(&s.ept);
    rpmsg_link_close(l);
    return 0;
}

/* Forks the child first (it waits for our shm object), then opens our side. */
static struct rpmsg_link *start_pair(struct side_cfg *c, pid_t *pid, int *rfd)
{
    int p[2];
    if (pipe(p))
        return NULL;
    c->res_fd = p[1];
    new_spec(c);
    fflush(NULL);
    *pid = bench_fork(cpus.b, child_fn, c);
    close(p[1]);
    *rfd = p[0];
    if (*pid < 0) {
        close(p[0]);
        return NULL;
    }
    struct rpmsg_link *l = open_side(c, true);
    if (!l) {
        kill(*pid, SIGKILL);
        bench_join(*pid);
        close(p[0]);
    }
    return l;
}

static int stop_pair(struct rpmsg_link *l, pid_t pid, int rfd)
{
    rpmsg_link_close(l);
    int rc = bench_join(pid);
    close(rfd);
    return rc;
}

/* ---- host side ----------------------------------------------------------- */

/*
 * Round trips, timed as the limits they are divided by: in poll mode a
 * sample is the mean of RTT_BATCH round trips (as the cache-line ping-pong
 * and the bare echoes are), so that one clock read per batch, not two per
 * round trip, sits on the path; in interrupt mode every round trip is a
 * sample (as the futex ping-pong's are).
 */
#define RTT_BATCH 64u

struct pp {
    struct rpmsg_endpoint ept;
    uint8_t buf[512];
    uint32_t size;
    uint64_t t_sent, deadline;
    unsigned warm, n, max, batch, k;
    double *rtt;
    struct rpmsg_sem done;
    int err;
};

static int pp_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)data, (void)src;
    struct pp *p = priv;
    if (len != p->size)
        p->err++;
    if (p->warm) {
        if (--p->warm == 0)
            p->t_sent = bench_now_ns(); /* the clock starts with the next send */
    } else if (++p->k == p->batch) {
        uint64_t t = bench_now_ns();
        p->rtt[p->n++] = (double)(t - p->t_sent) / p->batch;
        p->k = 0;
        if (p->n >= p->max || t >= p->deadline || p->err) {
            rpmsg_post(NULL, &p->done);
            return 0;
        }
        p->t_sent = p->batch == 1 ? bench_now_ns() : t;
    }
    if (rpmsg_send(ept, p->buf, p->size) != (int)p->size) {
        p->err++;
        rpmsg_post(NULL, &p->done);
    }
    return 0;
}

/* Both sides offer the packed ring (the default offer does not). */
#define PACKED (RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED)

/* BENCH_VIRTIO_DEBUG: the link's counters (kicks sent, suppressed,
 * received) after a measurement, on stderr. */
static void debug_describe(struct rpmsg_link *l, const char *what)
{
    char d[256];
    if (rpmsg_link_describe(l, d, sizeof(d)) > 0)
        fprintf(stderr, "%s: %s\n", what, d);
}

static int measure_rtt(enum rpmsg_link_wait wait, uint32_t size, uint32_t features,
                       struct bench_result *res)
{
    struct side_cfg c = { .wait = wait, .kind = 0, .features = features };
    pid_t pid;
    int rfd;
    struct rpmsg_link *l = start_pair(&c, &pid, &rfd);
    if (!l)
        return -EIO;
    static struct pp p;
    memset(&p, 0, sizeof(p));
    p.size = size;
    p.warm = 500;
    p.batch = wait == RPMSG_LINK_POLL ? RTT_BATCH : 1;
    p.max = 400000;
    p.rtt = calloc(p.max, sizeof(double));
    rpmsg_sem_init(&p.done, 0);
    p.ept.priv = &p;
    int r = p.rtt ? rpmsg_create_ept(&p.ept, rpmsg_link_device(l), SVC, RPMSG_ADDR_ANY,
                                     RPMSG_ADDR_ANY, pp_cb, NULL)
                  : -ENOMEM;
    if (!r)
        r = rpmsg_wait_ept_ready(&p.ept, 10000);
    if (!r) {
        p.deadline = bench_now_ns() + (uint64_t)((quick ? 0.3 : 1.2) * 1e9);
        p.t_sent = bench_now_ns();
        r = rpmsg_send(&p.ept, p.buf, size) == (int)size ? 0 : -EIO;
        if (!r)
            r = rpmsg_wait_timeout(NULL, &p.done, 30000);
        if (!r && p.err)
            r = -EPROTO;
        rpmsg_destroy_ept(&p.ept);
    }
    if (getenv("BENCH_VIRTIO_DEBUG")) {
        char what[64];
        snprintf(what, sizeof(what), "rtt %u B mode %d: %u samples", size, (int)wait, p.n);
        debug_describe(l, what);
    }
    stop_pair(l, pid, rfd);
    if (!r) {
        struct bench_samples s = { .v = p.rtt, .n = p.n, .cap = p.max };
        struct bench_dist d;
        bench_samples_summary(&s, &d);
        char name[48], label[64];
        const char *m = wait == RPMSG_LINK_POLL ? "poll" : "interrupt";
        const char *pk = features == PACKED ? "_packed" : "";
        snprintf(name, sizeof(name), "rtt_%s%s_%u", m, pk, size);
        snprintf(label, sizeof(label), "round trip %u B, %s mode%s", size, m,
                 *pk ? ", packed ring" : "");
        bench_result_set(res, name, label, "ns", d.p50);
        bench_result_dist(res, &d);
    }
    free(p.rtt);
    rpmsg_sem_deinit(&p.done);
    return r;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/*
 * A pipelined one-way stream, counted at the receiver over fixed batches
 * (median of the batches). Host to remote, or with reverse the remote (the
 * child) sends and the host counts: its TX buffers are the ones the host
 * posts, a path of its own in the transport.
 */
static int measure_stream(uint32_t size, bool nocopy, uint32_t features, bool reverse,
                          struct bench_result *res)
{
    struct side_cfg c = { .wait = RPMSG_LINK_ADAPTIVE, .kind = reverse ? 3 : 1, .size = size,
                          .features = features, .nocopy = nocopy,
                          .batch = quick ? 50000 : 200000, .batches = quick ? 3 : 5 };
    pid_t pid;
    int rfd;
    struct rpmsg_link *l = start_pair(&c, &pid, &rfd);
    if (!l)
        return -EIO;
    static struct rpmsg_endpoint e;
    static struct child_state cs; /* reverse: we count, as the child does otherwise */
    double rates[64];
    memset(&cs, 0, sizeof(cs));
    cs.cfg = &c;
    cs.rates = rates;
    rpmsg_sem_init(&cs.done, 0);
    e.priv = &cs;
    int r = rpmsg_create_ept(&e, rpmsg_link_device(l), SVC, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                             reverse ? count_cb : NULL, NULL);
    if (!r)
        r = rpmsg_wait_ept_ready(&e, 10000);
    unsigned long total = (unsigned long)c.batch * c.batches;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t cpu0 = bench_cpu_ns();
    uint64_t t0 = bench_now_ns();
    double send_rate = 0, send_cpu = 0, send_csw = -1;
    if (!r && reverse) {
        double out[2];
        r = rpmsg_wait_timeout(NULL, &cs.done, 60000);
        if (!r && read(rfd, out, sizeof(out)) != (ssize_t)sizeof(out))
            r = -EPROTO;
        if (!r && out[0] < 0)
            r = -EIO;
        if (!r) {
            send_rate = out[0];
            send_cpu = out[1];
        }
    } else if (!r) {
        r = send_stream(&e, size, nocopy, total);
        send_rate = total * 1e9 / (double)(bench_now_ns() - t0);
        send_cpu = (double)(bench_cpu_ns() - cpu0) / (double)total;
        getrusage(RUSAGE_SELF, &ru1);
        send_csw = (double)(ru1.ru_nvcsw - ru0.ru_nvcsw) / (double)total;
        size_t want = sizeof(double) * c.batches;
        if (!r && read(rfd, rates, want) != (ssize_t)want)
            r = -EPROTO;
    }
    if (e.rdev)
        rpmsg_destroy_ept(&e);
    if (getenv("BENCH_VIRTIO_DEBUG")) {
        char what[64];
        snprintf(what, sizeof(what), "stream %u B%s%s", size, nocopy ? " zero-copy" : "",
                 reverse ? " remote->host" : "");
        debug_describe(l, what);
    }
    stop_pair(l, pid, rfd);
    rpmsg_sem_deinit(&cs.done);
    if (!r && reverse && cs.nrates != c.batches)
        r = -EPROTO;
    if (r)
        return r;
    qsort(rates, c.batches, sizeof(double), cmp_d);
    char name[48], label[64];
    const char *pk = features == PACKED ? "_packed" : "";
    snprintf(name, sizeof(name), "stream_%s%s%s_%u", reverse ? "rev_" : "",
             nocopy ? "nocopy" : "copy", pk, size);
    snprintf(label, sizeof(label), "pipelined one-way %u B, %s%s%s", size,
             reverse ? "remote->host, " : "", nocopy ? "zero-copy" : "copy",
             *pk ? ", packed" : "");
    bench_result_set(res, name, label, "msgs/s", rates[c.batches / 2]);
    bench_result_extra(res, "min", rates[0]);
    bench_result_extra(res, "max", rates[c.batches - 1]);
    bench_result_extra(res, "MB_s", rates[c.batches / 2] * size / 1e6);
    bench_result_extra(res, "sender", send_rate);
    bench_result_extra(res, "sender_cpu_ns", send_cpu);
    if (send_csw >= 0)
        bench_result_extra(res, "sender_vcsw", send_csw);
    return 0;
}

static int measure_idle(double seconds, struct bench_result *res)
{
    struct side_cfg c = { .wait = RPMSG_LINK_ADAPTIVE, .kind = 2 };
    pid_t pid;
    int rfd;
    struct rpmsg_link *l = start_pair(&c, &pid, &rfd);
    if (!l)
        return -EIO;
    static struct rpmsg_endpoint e;
    int r = rpmsg_create_ept(&e, rpmsg_link_device(l), SVC, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                             NULL, NULL);
    if (!r)
        r = rpmsg_wait_ept_ready(&e, 10000);
    /* Let the binding traffic settle before the window opens. */
    usleep(200000);
    uint64_t cpu0 = bench_cpu_ns(), t0 = bench_now_ns();
    usleep((useconds_t)(seconds * 1e6));
    double host = (double)(bench_cpu_ns() - cpu0) / (double)(bench_now_ns() - t0) * 100.0;
    if (e.rdev)
        rpmsg_destroy_ept(&e);
    rpmsg_link_close(l);
    double remote = -1;
    if (read(rfd, &remote, sizeof(remote)) != sizeof(remote))
        r = r ? r : -EPROTO;
    bench_join(pid);
    close(rfd);
    if (r)
        return r;
    bench_result_set(res, "idle_cpu", "idle link CPU, both processes (adaptive)", "%",
                     host + remote);
    bench_result_extra(res, "host", host);
    bench_result_extra(res, "remote", remote);
    return 0;
}

/* ---- limits around the figures they divide --------------------------------- */

enum limit { L_SHM, L_VRING, L_FUTEX, L_SPSC, L_PACKED, L_VSTREAM, L_COUNT };

/* One short measurement of a limit: ns per round trip, or msgs/s (SPSC). */
static double limit_once(enum limit k, const struct bench_limits_opts *o)
{
    struct bench_result r, g;
    memset(&r, 0, sizeof(r));
    int e = k == L_SHM     ? bench_limits_shm_pingpong(o, &r)
            : k == L_VRING ? bench_limits_vring_pingpong(o, &r)
            : k == L_FUTEX ? bench_limits_futex_pingpong(o, &r)
            : k == L_PACKED ? bench_limits_packed_pingpong(o, &r)
            : k == L_VSTREAM ? bench_limits_vring_stream(o, &r)
                           : bench_limits_spsc_ring(o, 512, &r, &g);
    return e ? -1 : r.value;
}

/* Measures the limits in mask (bit per enum limit) into side (before/after). */
static void limits_now(unsigned mask, const struct bench_limits_opts *o,
                       struct bench_bracket *b, bool after)
{
    for (int k = 0; k < L_COUNT; k++)
        if (mask & (1u << k)) {
            double v = limit_once((enum limit)k, o);
            *(after ? &b[k].after : &b[k].before) = v;
        }
}

/* ---- report -------------------------------------------------------------- */

/* ---- report -------------------------------------------------------------- */

static const struct bench_result *find(const struct bench_report *rep, const char *name)
{
    for (int i = 0; i < rep->n; i++)
        if (!strcmp(rep->r[i].name, name))
            return &rep->r[i];
    return NULL;
}

static void fail(const char *what, int r)
{
    fprintf(stderr, "bench_virtio: %s failed: %d\n", what, r);
}

/*
 * One part of the benchmark alone (no limits, no ratios): the pipelined
 * 496-byte streams (--streams: copy and zero-copy, host to remote, then
 * remote to host), or the 16-byte poll round trips (--rtt, the loop to run
 * under a profiler); split, then packed.
 */
static int part_only(struct bench_report *rep, bool json, bool rtt, bool packed_only)
{
    static const uint32_t feats[] = { 0, PACKED };
    for (int f = packed_only; f < 2; f++)
        for (int k = 0; k < (rtt ? 1 : 4); k++) {
            struct bench_result r;
            memset(&r, 0, sizeof(r));
            int e = rtt ? measure_rtt(RPMSG_LINK_POLL, 16, feats[f], &r)
                        : measure_stream(496, k & 1, feats[f], k >= 2, &r);
            if (e) {
                fail(rtt ? "round trip" : "stream", e);
                return 1;
            }
            bench_report_add(rep, &r);
        }
    if (!json)
        bench_report_table(stdout, rep);
    bench_report_json(stdout, rep);
    return 0;
}

int main(int argc, char **argv)
{
    bool json = false, streams = false, rtts = false, packed_only = false;
    for (int i = 1; i < argc; i++) {
        json |= !strcmp(argv[i], "--json");
        quick |= !strcmp(argv[i], "--quick");
        streams |= !strcmp(argv[i], "--streams");
        rtts |= !strcmp(argv[i], "--rtt");
        packed_only |= !strcmp(argv[i], "--packed");
    }
    signal(SIGPIPE, SIG_IGN);
    struct bench_limits_opts lo;
    bench_limits_defaults(&lo);
    lo.seconds = quick ? 0.5 : 1.5;
    cpus = lo.cpus;
    static struct bench_report rep;
    bench_report_init(&rep, "virtio", "VirtIO link between two processes (native: shm + futex)",
                      &cpus);
    /* The link's own processes pin the same way as the limits. */
    bench_pin(cpus.a);

    struct bench_result shm_pp, vring_pp, futex_pp, ring_msgs, ring_gbps, r;
    int e;
    if (streams || rtts)
        return part_only(&rep, json, rtts, packed_only);
    if ((e = bench_limits_shm_pingpong(&lo, &shm_pp)) == 0)
        bench_report_add(&rep, &shm_pp);
    else
        fail("shm ping-pong", e);
    if ((e = bench_limits_vring_pingpong(&lo, &vring_pp)) == 0)
        bench_report_add(&rep, &vring_pp);
    else if (e != -EOPNOTSUPP)
        fail("vring ping-pong", e);
    if ((e = bench_limits_futex_pingpong(&lo, &futex_pp)) == 0)
        bench_report_add(&rep, &futex_pp);
    else
        fail("futex ping-pong", e);
    if ((e = bench_limits_spsc_ring(&lo, 512, &ring_msgs, &ring_gbps)) == 0)
        bench_report_add(&rep, &ring_msgs);
    else
        fail("spsc ring", e);

    /* Each ratio divides by its limit measured right before and right after
     * the figure (shorter runs), not by the figures above: see bracket.h. */
    struct bench_limits_opts bo = lo;
    bo.seconds = quick ? 0.2 : 0.5;
    struct bench_bracket br[2][2][L_COUNT]; /* [mode or copy][size][limit] */
    memset(br, 0, sizeof(br));
    static const enum rpmsg_link_wait modes[] = { RPMSG_LINK_POLL, RPMSG_LINK_INTERRUPT };
    static const unsigned rtt_limits[] = { 1u << L_SHM | 1u << L_VRING, 1u << L_FUTEX };
    static const uint32_t sizes[] = { 16, 496 };
    for (int m = 0; m < 2; m++)
        for (int s = 0; s < 2; s++) {
            unsigned mask = s == 0 ? rtt_limits[m] : 0;
            limits_now(mask, &bo, br[m][s], false);
            memset(&r, 0, sizeof(r));
            if ((e = measure_rtt(modes[m], sizes[s], 0, &r)) == 0)
                bench_report_add(&rep, &r);
            else
                fail("round trip", e);
            limits_now(mask, &bo, br[m][s], true);
        }
    struct bench_bracket sr[2][2][L_COUNT];
    memset(sr, 0, sizeof(sr));
    for (int z = 0; z < 2; z++)
        for (int s = 0; s < 2; s++) {
            unsigned mask = s == 1 ? 1u << L_SPSC | 1u << L_VSTREAM : 0;
            limits_now(mask, &bo, sr[z][s], false);
            memset(&r, 0, sizeof(r));
            if ((e = measure_stream(sizes[s], z, 0, false, &r)) == 0)
                bench_report_add(&rep, &r);
            else
                fail("stream", e);
            limits_now(mask, &bo, sr[z][s], true);
        }
    /* The other way, 496 bytes: the remote's TX buffers are the ones the
     * host posts. Figures only: issue 16's targets name no direction, and
     * the ratios above are host to remote. */
    for (int z = 0; z < 2; z++) {
        memset(&r, 0, sizeof(r));
        if ((e = measure_stream(496, z, 0, true, &r)) == 0)
            bench_report_add(&rep, &r);
        else
            fail("remote->host stream", e);
    }
    /* The packed ring (native links only, negotiated): poll round trip
     * against the ping-pong and the bare packed echo, 496-byte streams
     * against the SPSC ring. */
    struct bench_bracket pr[2][L_COUNT], ps[2][L_COUNT];
    memset(pr, 0, sizeof(pr));
    memset(ps, 0, sizeof(ps));
    for (int s = 0; s < 2; s++) {
        unsigned mask = s == 0 ? 1u << L_SHM | 1u << L_PACKED : 0;
        limits_now(mask, &bo, pr[s], false);
        memset(&r, 0, sizeof(r));
        if ((e = measure_rtt(RPMSG_LINK_POLL, sizes[s], PACKED, &r)) == 0)
            bench_report_add(&rep, &r);
        else
            fail("packed round trip", e);
        limits_now(mask, &bo, pr[s], true);
    }
    for (int z = 0; z < 2; z++) {
        limits_now(1u << L_SPSC, &bo, ps[z], false);
        memset(&r, 0, sizeof(r));
        if ((e = measure_stream(496, z, PACKED, false, &r)) == 0)
            bench_report_add(&rep, &r);
        else
            fail("packed stream", e);
        limits_now(1u << L_SPSC, &bo, ps[z], true);
    }
    memset(&r, 0, sizeof(r));
    if ((e = measure_idle(quick ? 1.0 : 5.0, &r)) == 0)
        bench_report_add(&rep, &r);
    else
        fail("idle", e);

    const struct bench_result *a;
    double poll16 = (a = find(&rep, "rtt_poll_16")) ? a->value : -1;
    bench_add_bracketed_ratio(&rep, "ratio_poll_rtt", "poll RTT 16 B / shm ping-pong", poll16,
                              &br[0][0][L_SHM], 1.5, true);
    /* The wire format's own floor (issue 16's target). */
    bench_add_bracketed_ratio(&rep, "ratio_poll_rtt_vring", "poll RTT 16 B / bare vring echo",
                              poll16, &br[0][0][L_VRING], 1.25, true);
    struct bench_bracket floor = { 0, 0 };
    if (br[0][0][L_SHM].before > 0 && br[0][0][L_VRING].before > 0)
        floor.before = br[0][0][L_VRING].before / br[0][0][L_SHM].before;
    if (br[0][0][L_SHM].after > 0 && br[0][0][L_VRING].after > 0)
        floor.after = br[0][0][L_VRING].after / br[0][0][L_SHM].after;
    if (bench_bracket_value(&floor) > 0) {
        memset(&r, 0, sizeof(r));
        bench_result_set(&r, "ratio_vring_floor", "bare vring echo / shm ping-pong", "x",
                         bench_bracket_value(&floor));
        snprintf(r.note, sizeof(r.note), "(the format's floor over the bare ping-pong)");
        bench_report_add(&rep, &r);
    }
    double irq16 = (a = find(&rep, "rtt_interrupt_16")) ? a->value : -1;
    bench_add_bracketed_ratio(&rep, "ratio_interrupt_rtt", "interrupt RTT 16 B / futex ping-pong",
                              irq16, &br[1][0][L_FUTEX], 1.1, true);
    double c496 = (a = find(&rep, "stream_copy_496")) ? a->value : -1;
    bench_add_bracketed_ratio(&rep, "ratio_stream_496", "pipelined 496 B msgs/s / SPSC ring 512 B",
                              c496, &sr[0][1][L_SPSC], 0.75, false);
    double z496 = (a = find(&rep, "stream_nocopy_496")) ? a->value : -1;
    bench_add_bracketed_ratio(&rep, "ratio_stream_496_nocopy",
                              "pipelined 496 B zero-copy msgs/s / SPSC ring", z496,
                              &sr[1][1][L_SPSC], 0.85, false);
    /* The split format's own stream ceiling, against the ring and against
     * the stack: how much of the target the format leaves. */
    bench_add_bracketed_ratio(&rep, "ratio_stream_496_vring", "pipelined 496 B / bare split stream",
                              c496, &sr[0][1][L_VSTREAM], 0, false);
    bench_add_bracketed_ratio(&rep, "ratio_stream_496_nocopy_vring",
                              "pipelined 496 B zero-copy / bare split stream", z496,
                              &sr[1][1][L_VSTREAM], 0, false);
    struct bench_bracket vs = { 0, 0 };
    const struct bench_bracket *sv = sr[0][1];
    if (sv[L_VSTREAM].before > 0 && sv[L_SPSC].before > 0)
        vs.before = sv[L_VSTREAM].before / sv[L_SPSC].before;
    if (sv[L_VSTREAM].after > 0 && sv[L_SPSC].after > 0)
        vs.after = sv[L_VSTREAM].after / sv[L_SPSC].after;
    if (bench_bracket_value(&vs) > 0) {
        memset(&r, 0, sizeof(r));
        bench_result_set(&r, "ratio_vring_stream_floor", "bare split stream / SPSC ring", "x",
                         bench_bracket_value(&vs));
        snprintf(r.note, sizeof(r.note), "(the format's stream ceiling over the ring)");
        bench_report_add(&rep, &r);
    }
    double pk16 = (a = find(&rep, "rtt_poll_packed_16")) ? a->value : -1;
    bench_add_bracketed_ratio(&rep, "ratio_poll_rtt_packed", "packed poll RTT 16 B / shm ping-pong",
                              pk16, &pr[0][L_SHM], 2.0, true);
    bench_add_bracketed_ratio(&rep, "ratio_poll_rtt_packed_floor",
                              "packed poll RTT 16 B / bare packed echo", pk16, &pr[0][L_PACKED],
                              1.25, true);
    double pc496 = (a = find(&rep, "stream_copy_packed_496")) ? a->value : -1;
    bench_add_bracketed_ratio(&rep, "ratio_stream_496_packed",
                              "packed pipelined 496 B msgs/s / SPSC ring", pc496, &ps[0][L_SPSC],
                              0.75, false);
    double pz496 = (a = find(&rep, "stream_nocopy_packed_496")) ? a->value : -1;
    bench_add_bracketed_ratio(&rep, "ratio_stream_496_packed_nocopy",
                              "packed pipelined 496 B zero-copy / SPSC ring", pz496, &ps[1][L_SPSC],
                              0.85, false);
    if ((a = find(&rep, "idle_cpu"))) {
        memset(&r, 0, sizeof(r));
        bench_result_set(&r, "ratio_idle_cpu", "idle CPU % (both processes)", "x", a->value);
        bench_result_extra(&r, "target", 0.5);
        snprintf(r.note, sizeof(r.note), "target <= 0.50: %s", a->value <= 0.5 ? "met" : "MISSED");
        bench_report_add(&rep, &r);
    }

    if (!json)
        bench_report_table(stdout, &rep);
    bench_report_json(stdout, &rep);
    return 0;
}
