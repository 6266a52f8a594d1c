/*
 * The NuttX simulator's link layout against our native one, in the same run,
 * with our own stack on both ends (two processes, pinned apart when two CPUs
 * are there):
 *   - round trip, 16 B, one message at a time (median): native (futex
 *     doorbell), NuttX-sim with our adaptive wait (spin, then sleep on the
 *     peer's counter), and NuttX-sim with both ends looking every 1 ms
 *     (`--mode interrupt`), which is how a real NuttX peer behaves;
 *   - pipelined one-way 496 B messages/s (receiver-side, median of batches)
 *     on both layouts, adaptive wait.
 * A real NuttX peer polls its counter every 1 ms (sim_rptun.c), so with one
 * on the other end a round trip costs at least one of its polls (and ~2 ms
 * when both directions wait one); the 1 ms rows show what that costs with
 * our own stack on both ends. The NuttX-sim layout also carries fewer,
 * larger buffers: 8 of 1,536 B per direction against the native 256 of 512 B.
 *
 * Usage: bench_nuttx [--json] [--quick]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "bench_link.h"
#include "bench_report.h"
#include "bench_svc.h"
#include "rpmsg/rpmsg_link.h"

#define SVC "bench-nuttx"

static bool quick;
static struct bench_cpus cpus;
static int seq;

struct job {
    bool nuttx;
    enum rpmsg_link_wait wait;
    bool count;        /* the remote counts a stream (else it echoes) */
    unsigned batch, batches;
    char name[64], spec[96];
    int res_fd;
};

static struct rpmsg_link *open_end(const struct job *j, bool host)
{
    return bench_link_open_end(j->spec, host, j->wait);
}

/* ---- remote (child) ------------------------------------------------------ */

static int remote_main(void *arg)
{
    const struct job *j = arg;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    static struct bench_counter c;
    static struct rpmsg_endpoint ept;
    memset(&c, 0, sizeof(c));
    c.batch = j->batch;
    c.batches = j->batches;
    rpmsg_sem_init(&c.done, 0);
    struct rpmsg_link *l = open_end(j, false);
    if (!l)
        return 2;
    struct rpmsg_device *rdev = rpmsg_link_device(l);
    ept.priv = &c;
    if (rpmsg_create_ept(&ept, rdev, SVC, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                         j->count ? bench_count_cb : bench_echo_cb, NULL))
        return 3;
    if (j->count) {
        rpmsg_wait_timeout(NULL, &c.done, 120000);
        if (write(j->res_fd, c.rates, sizeof(double) * c.nrates) < 0)
            return 4;
    }
    for (int t = 0; t < 3000 && rpmsg_device_is_up(rdev); t++)
        usleep(10000);
    rpmsg_destroy_ept(&ept);
    rpmsg_link_close(l);
    return 0;
}

/* ---- host (this process) ------------------------------------------------- */

struct pair {
    pid_t pid;
    int rfd;
    struct rpmsg_link *l;
};

static int pair_start(struct job *j, struct pair *p)
{
    int fds[2];
    if (pipe(fds))
        return -errno;
    snprintf(j->name, sizeof(j->name), "rpmsg-bench-nx-%d-%d", (int)getpid(), seq++);
    snprintf(j->spec, sizeof(j->spec), "%s:%s", j->nuttx ? "nuttx-sim" : "virtio", j->name);
    j->res_fd = fds[1];
    fflush(NULL);
    p->pid = bench_fork(cpus.b, remote_main, j);
    close(fds[1]);
    p->rfd = fds[0];
    p->l = p->pid > 0 ? open_end(j, true) : NULL;
    if (!p->l) {
        if (p->pid > 0) {
            kill(p->pid, SIGKILL);
            bench_join(p->pid);
        }
        close(p->rfd);
        return -EIO;
    }
    return 0;
}

static void pair_stop(const struct job *j, struct pair *p)
{
    rpmsg_link_close(p->l);
    bench_join(p->pid);
    close(p->rfd);
    char path[96];
    snprintf(path, sizeof(path), "/dev/shm/%s", j->name);
    unlink(path); /* a NuttX-sim object outlives both ends, as NuttX's does */
}

static const char *layout(const struct job *j)
{
    return j->nuttx ? "nuttx-sim" : "native";
}

struct pp {
    struct rpmsg_endpoint ept;
    uint8_t buf[16];
    uint64_t t_sent, deadline;
    unsigned warm;
    struct bench_samples rtt;
    struct rpmsg_sem done;
    int err;
};

static int pp_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)data, (void)src;
    struct pp *p = priv;
    uint64_t t = bench_now_ns();
    if (len != sizeof(p->buf))
        p->err++;
    if (p->warm)
        p->warm--;
    else
        bench_samples_add(&p->rtt, (double)(t - p->t_sent));
    if (t >= p->deadline || p->err || p->rtt.n >= 200000) {
        rpmsg_post(NULL, &p->done);
        return 0;
    }
    p->t_sent = bench_now_ns();
    if (rpmsg_send(ept, p->buf, sizeof(p->buf)) != (int)sizeof(p->buf)) {
        p->err++;
        rpmsg_post(NULL, &p->done);
    }
    return 0;
}

static int measure_rtt(bool nuttx, enum rpmsg_link_wait wait, struct bench_result *res)
{
    struct job j = { .nuttx = nuttx, .wait = wait };
    struct pair pr;
    int r = pair_start(&j, &pr);
    if (r)
        return r;
    static struct pp p;
    memset(&p, 0, sizeof(p));
    bench_samples_init(&p.rtt);
    rpmsg_sem_init(&p.done, 0);
    bool slow = wait == RPMSG_LINK_INTERRUPT;
    p.warm = slow ? 5 : 500;
    p.ept.priv = &p;
    r = rpmsg_create_ept(&p.ept, rpmsg_link_device(pr.l), SVC, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                         pp_cb, NULL);
    if (!r)
        r = rpmsg_wait_ept_ready(&p.ept, 10000);
    if (!r) {
        p.deadline = bench_now_ns() + (uint64_t)((quick ? 0.5 : 2.0) * 1e9);
        p.t_sent = bench_now_ns();
        r = rpmsg_send(&p.ept, p.buf, sizeof(p.buf)) == (int)sizeof(p.buf) ? 0 : -EIO;
        if (!r)
            r = rpmsg_wait_timeout(NULL, &p.done, 60000);
        if (!r && p.err)
            r = -EPROTO;
        rpmsg_destroy_ept(&p.ept);
    }
    pair_stop(&j, &pr);
    if (!r) {
        struct bench_dist d;
        bench_samples_summary(&p.rtt, &d);
        char name[48], label[64];
        const char *m = slow ? "1ms" : "adaptive";
        snprintf(name, sizeof(name), "rtt_%s_%s_16", layout(&j), m);
        snprintf(label, sizeof(label), "round trip 16 B, %s, %s", layout(&j),
                 slow ? "1 ms poll both ends" : "adaptive wait");
        bench_result_set(res, name, label, "ns", d.p50);
        bench_result_dist(res, &d);
    }
    bench_samples_free(&p.rtt);
    rpmsg_sem_deinit(&p.done);
    return r;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int measure_stream(bool nuttx, struct bench_result *res)
{
    const uint32_t size = 496;
    struct job j = { .nuttx = nuttx, .wait = RPMSG_LINK_ADAPTIVE, .count = true,
                     .batch = quick ? 20000 : 100000, .batches = quick ? 3 : 5 };
    struct pair pr;
    int r = pair_start(&j, &pr);
    if (r)
        return r;
    static struct rpmsg_endpoint e;
    r = rpmsg_create_ept(&e, rpmsg_link_device(pr.l), SVC, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL,
                         NULL);
    if (!r)
        r = rpmsg_wait_ept_ready(&e, 10000);
    uint8_t buf[496];
    memset(buf, 0x5a, sizeof(buf));
    unsigned long total = (unsigned long)j.batch * j.batches;
    for (unsigned long i = 0; !r && i < total; i++)
        if (rpmsg_send(&e, buf, size) != (int)size)
            r = -EIO;
    double rates[64];
    size_t want = sizeof(double) * j.batches;
    if (!r && read(pr.rfd, rates, want) != (ssize_t)want)
        r = -EPROTO;
    if (e.rdev)
        rpmsg_destroy_ept(&e);
    pair_stop(&j, &pr);
    if (r)
        return r;
    qsort(rates, j.batches, sizeof(double), cmp_d);
    char name[48], label[64];
    snprintf(name, sizeof(name), "stream_%s_496", layout(&j));
    snprintf(label, sizeof(label), "pipelined one-way 496 B, %s", layout(&j));
    bench_result_set(res, name, label, "msgs/s", rates[j.batches / 2]);
    bench_result_extra(res, "min", rates[0]);
    bench_result_extra(res, "max", rates[j.batches - 1]);
    bench_result_extra(res, "MB_s", rates[j.batches / 2] * size / 1e6);
    return 0;
}

static void ratio(struct bench_report *rep, const char *name, const char *label, const char *a,
                  const char *b)
{
    const struct bench_result *x = bench_report_find(rep, a), *y = bench_report_find(rep, b);
    if (!x || !y || y->value <= 0)
        return;
    struct bench_result r;
    memset(&r, 0, sizeof(r));
    bench_result_set(&r, name, label, "x", x->value / y->value);
    bench_report_add(rep, &r);
}

int main(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        json |= !strcmp(argv[i], "--json");
        quick |= !strcmp(argv[i], "--quick");
    }
    signal(SIGPIPE, SIG_IGN);
    bench_cpus_pick(&cpus);
    bench_pin(cpus.a);
    static struct bench_report rep;
    bench_report_init(&rep, "nuttx", "NuttX-sim layout vs native, our stack on both ends", &cpus);
    struct {
        bool nuttx;
        enum rpmsg_link_wait wait;
    } rtts[] = { { false, RPMSG_LINK_ADAPTIVE },
                 { true, RPMSG_LINK_ADAPTIVE },
                 { true, RPMSG_LINK_INTERRUPT } };
    struct bench_result r;
    for (size_t i = 0; i < sizeof(rtts) / sizeof(rtts[0]); i++) {
        memset(&r, 0, sizeof(r));
        int e = measure_rtt(rtts[i].nuttx, rtts[i].wait, &r);
        if (e)
            fprintf(stderr, "bench_nuttx: round trip failed: %d\n", e);
        else
            bench_report_add(&rep, &r);
    }
    for (int n = 0; n < 2; n++) {
        memset(&r, 0, sizeof(r));
        int e = measure_stream(n, &r);
        if (e)
            fprintf(stderr, "bench_nuttx: stream failed: %d\n", e);
        else
            bench_report_add(&rep, &r);
    }
    /* The peer a real NuttX core would be: it looks every 1 ms, no sooner. */
    memset(&r, 0, sizeof(r));
    bench_result_set(&r, "nuttx_poll_period", "a real NuttX peer's poll period", "ns", 1e6);
    snprintf(r.note, sizeof(r.note), "sim_rptun.c work delay: a round trip waits >= 1 of these");
    bench_report_add(&rep, &r);
    ratio(&rep, "ratio_rtt_nuttx_native", "RTT nuttx-sim / native (adaptive)",
          "rtt_nuttx-sim_adaptive_16", "rtt_native_adaptive_16");
    ratio(&rep, "ratio_stream_nuttx_native", "stream nuttx-sim / native", "stream_nuttx-sim_496",
          "stream_native_496");
    if (!json)
        bench_report_table(stdout, &rep);
    bench_report_json(stdout, &rep);
    return 0;
}
