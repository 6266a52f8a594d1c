/*
 * Dead-peer detection on VirtIO links between two processes: how long after
 * a kill -9 of the peer the survivor's services get device_destroyed.
 * For each layout (native: shm + futex doorbell, liveness check every
 * liveness_ms = 100 ms; OpenAMP: shm + AF_UNIX socket, which hangs up at
 * once) and each side killed (remote, host): N kills of an idle link (the
 * survivor sleeps, as a quiet link does), median and max.
 * The peer runs in its own process, pinned to the other CPU when there are
 * two; every link has a name holding the pid.
 *
 * Usage: bench_deadpeer [--json] [--quick]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "bench_link.h"
#include "bench_report.h"
#include "rpmsg/rpmsg_link.h"

#define LIVENESS_MS 100u

static struct bench_cpus cpus;
static int seq;

struct peer_cfg {
    char spec[160];
    bool host;     /* role of the process this describes */
    int ready_fd;  /* the peer writes one byte here once its link is up */
};

static struct rpmsg_link *open_link(const struct peer_cfg *c)
{
    struct rpmsg_link_config cfg = {
        .spec = c->spec,
        .role = c->host ? RPMSG_LINK_HOST : RPMSG_LINK_REMOTE,
        .side = c->host ? RPMSG_LINK_CREATE : RPMSG_LINK_ATTACH,
        .listen = !c->host,
        .liveness_ms = LIVENESS_MS,
    };
    return bench_link_open(&cfg);
}

/* The peer: up, then idle until killed. */
static int peer_fn(void *arg)
{
    const struct peer_cfg *c = arg;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct rpmsg_link *l = open_link(c);
    if (!l)
        return 2;
    char one = 1;
    if (write(c->ready_fd, &one, 1) != 1)
        return 3;
    for (;;)
        pause();
}

static struct rpmsg_sem destroyed;
static struct rpmsg_device *_Atomic watched;
static _Atomic uint64_t t_destroyed;

static void on_destroyed(struct rpmsg_device *rdev, void *priv)
{
    (void)priv;
    if (rdev == atomic_load(&watched)) {
        atomic_store(&t_destroyed, bench_now_ns());
        rpmsg_post(NULL, &destroyed);
    }
}

/* One kill; the detection time in ms, or a negative errno. */
static double one_kill(bool openamp, bool kill_host)
{
    struct peer_cfg peer = { .host = kill_host }, self = { .host = !kill_host };
    int n = seq++;
    if (openamp)
        snprintf(peer.spec, sizeof(peer.spec), "openamp:rpmsg-bdp-%d-%d:@rpmsg-bdp-%d-%d-sock",
                 (int)getpid(), n, (int)getpid(), n);
    else
        snprintf(peer.spec, sizeof(peer.spec), "virtio:rpmsg-bdp-%d-%d", (int)getpid(), n);
    memcpy(self.spec, peer.spec, sizeof(self.spec));
    int p[2];
    if (pipe(p))
        return -errno;
    peer.ready_fd = p[1];
    fflush(NULL);
    pid_t pid = bench_fork(cpus.b, peer_fn, &peer);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return pid;
    }
    double ms = -EIO;
    struct rpmsg_link *l = open_link(&self);
    struct pollfd pfd = { .fd = p[0], .events = POLLIN };
    char c;
    if (l && poll(&pfd, 1, 10000) == 1 && read(p[0], &c, 1) == 1) {
        atomic_store(&watched, rpmsg_link_device(l));
        usleep(20000); /* both sides idle and asleep, as a quiet link is */
        uint64_t t0 = bench_now_ns();
        kill(pid, SIGKILL);
        if (rpmsg_wait_timeout(NULL, &destroyed, 10000) == 0)
            ms = (double)(atomic_load(&t_destroyed) - t0) / 1e6;
        else
            ms = -ETIMEDOUT;
        atomic_store(&watched, NULL);
    } else {
        kill(pid, SIGKILL);
    }
    bench_join(pid);
    close(p[0]);
    if (l)
        rpmsg_link_close(l);
    return ms;
}

static int measure(bool openamp, bool kill_host, unsigned kills, struct bench_result *res)
{
    struct bench_samples s;
    bench_samples_init(&s);
    int err = 0;
    for (unsigned i = 0; i < kills && !err; i++) {
        double ms = one_kill(openamp, kill_host);
        if (ms < 0)
            err = (int)ms;
        else
            bench_samples_add(&s, ms);
    }
    if (!err) {
        struct bench_dist d;
        bench_samples_summary(&s, &d);
        char name[48], label[64];
        snprintf(name, sizeof(name), "dead_peer_%s_%s", openamp ? "openamp" : "native",
                 kill_host ? "host" : "remote");
        snprintf(label, sizeof(label), "dead-peer detection, %s, %s killed",
                 openamp ? "OpenAMP" : "native", kill_host ? "host" : "remote");
        bench_result_set(res, name, label, "ms", d.p50);
        bench_result_dist(res, &d);
        bench_result_extra(res, "max_ms", d.max); /* the dist's max, shown in the table too */
        snprintf(res->note, sizeof(res->note), openamp ? "(socket hang-up)"
                                                       : "(liveness_ms=%u)", LIVENESS_MS);
    }
    bench_samples_free(&s);
    return err;
}

int main(int argc, char **argv)
{
    bool json = false, quick = false;
    for (int i = 1; i < argc; i++) {
        json |= !strcmp(argv[i], "--json");
        quick |= !strcmp(argv[i], "--quick");
    }
    signal(SIGPIPE, SIG_IGN);
    bench_cpus_pick(&cpus);
    bench_pin(cpus.a);
    rpmsg_sem_init(&destroyed, 0);
    int me;
    rpmsg_register_callback(&me, NULL, on_destroyed, NULL, NULL);
    static struct bench_report rep;
    bench_report_init(&rep, "deadpeer", "VirtIO dead-peer detection (kill -9 of an idle peer)",
                      &cpus);
    unsigned kills = quick ? 5 : 20;
    for (int oa = 0; oa < 2; oa++)
        for (int kh = 0; kh < 2; kh++) {
            struct bench_result r;
            memset(&r, 0, sizeof(r));
            int e = measure(oa, kh, kills, &r);
            if (e == 0)
                bench_report_add(&rep, &r);
            else
                fprintf(stderr, "bench_deadpeer: %s %s killed: %d\n", oa ? "openamp" : "native",
                        kh ? "host" : "remote", e);
        }
    rpmsg_unregister_callback(&me, NULL, on_destroyed, NULL, NULL);
    if (!json)
        bench_report_table(stdout, &rep);
    bench_report_json(stdout, &rep);
    return 0;
}
