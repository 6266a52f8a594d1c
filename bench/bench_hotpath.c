/*
 * The core's hot path in one thread, for a profiler: N messages sent with
 * rpmsg_sendto and dispatched (rpmsg_poll) through the loopback transport,
 * or with --virtio through a VirtIO host/remote pair in this process (one
 * region in memory, both sides polled, the doorbell a counter), one at a
 * time, so every message pays the whole path (buffer, copy, send, dispatch,
 * callback, release, reclaim). The loop is hot_loop(): run it under
 *   valgrind --tool=callgrind --toggle-collect=hot_loop bench_hotpath -n 100000
 * and divide the instruction count, and the calls of rpmsg_mutex_lock split
 * by caller (scripts/profile-hotpath), by N. Instruction and lock counts do
 * not depend on the machine's load, wall-clock time does: the ns figure
 * printed here is only indicative. It is also a one-thread figure: glibc
 * takes its mutexes without atomic instructions while a process has one
 * thread, which the stack, with its RX threads, never is (about 48 ns per
 * VirtIO message here; docs/benchmarks.md, stop 22).
 *
 * --packed: the VirtIO pair over packed rings (RPMSG_VIRTIO_F_RING_PACKED).
 * --batch K: K messages sent, then received, per round (a stream's shape:
 * one poll takes them all), instead of one.
 * --spin: the VirtIO platform spins and watches the ring in its waits, as
 * the Linux one does in poll mode (wait_ready, spins): receivers then ask
 * the peer for no kicks.
 * --mt: a second thread, idle in a blocking read for the whole run, so that
 * glibc takes its mutexes with atomic instructions, as in the stack's own
 * processes (their RX threads): the wall-clock figure then holds every
 * locked instruction a real message pays.
 * --echo: the receiver's callback sends each message back (rpmsg_send) and
 * the sender's device is polled for it: a round trip's whole work, two
 * messages, the second sent from inside a callback.
 * --nocopy: zero-copy sends (rpmsg_get_tx_payload_buffer, rpmsg_sendto_nocopy)
 * instead of rpmsg_sendto, with the payload written into the buffer as a
 * copy send would, so the two profiles compare the API's cost alone.
 *
 * Usage: bench_hotpath [--json] [--virtio] [--packed] [--nocopy] [--echo] [--spin] [--mt] [--batch K]
 *                      [-n N] [--size BYTES]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_report.h"
#include "rpmsg/rpmsg_loopback.h"
#include "rpmsg/rpmsg_virtio.h"

static unsigned long delivered, echoed;
static bool nocopy;
static unsigned batch = 1;

static int count_cb(struct rpmsg_endpoint *e, void *d, size_t l, uint32_t s, void *p)
{
    (void)e, (void)d, (void)l, (void)s, (void)p;
    delivered++;
    return 0;
}

/* --echo: the receiver answers from its callback, as a server does. */
static int echo_cb(struct rpmsg_endpoint *e, void *d, size_t l, uint32_t s, void *p)
{
    (void)s, (void)p;
    if (rpmsg_send(e, d, l) == (int)l)
        echoed++;
    return 0;
}

/* Kept out of line: the profiler collects inside this function only. The
 * sender's device is polled too when asked (VirtIO: the host reclaims). */
__attribute__((noinline)) int hot_loop(struct rpmsg_endpoint *tx, struct rpmsg_device *rx,
                                       struct rpmsg_device *txdev, uint32_t dst,
                                       const void *payload, unsigned size, unsigned long n,
                                       bool echo)
{
    for (unsigned long i = 0; i < n; i += batch) {
        for (unsigned k = 0; k < batch; k++) {
            if (nocopy) {
                uint32_t cap;
                void *b = rpmsg_get_tx_payload_buffer(tx, &cap, RPMSG_NOWAIT);
                if (!b || cap < size)
                    return -1;
                memcpy(b, payload, size);
                if (rpmsg_sendto_nocopy(tx, b, size, dst) != (int)size)
                    return -1;
            } else if (rpmsg_sendto(tx, payload, size, dst) != (int)size) {
                return -1;
            }
        }
        for (unsigned got = 0; got < batch;) {
            int r = rpmsg_poll(rx);
            if (r <= 0)
                return -1;
            got += (unsigned)r;
        }
        if (echo) {
            for (unsigned got = 0; got < batch;) {
                int r = rpmsg_poll(txdev);
                if (r <= 0)
                    return -1;
                got += (unsigned)r;
            }
        } else if (txdev && rpmsg_poll(txdev) < 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- VirtIO pair in one process, polled ------------------------------------ */

static unsigned long kicks;

static int vp_notify(void *plat, uint32_t id)
{
    (void)plat, (void)id;
    kicks++;
    return 0;
}

static int vp_wait(void *plat, uint64_t deadline)
{
    (void)plat, (void)deadline;
    return 0;
}

static void vp_wakeup(void *plat)
{
    (void)plat;
}

static const struct rpmsg_virtio_platform_ops vp_ops = {
    .notify = vp_notify, .wait = vp_wait, .wakeup = vp_wakeup,
};

static int vp_wait_ready(void *plat, uint64_t deadline, const struct rpmsg_virtio_watch *w)
{
    (void)plat, (void)deadline, (void)w;
    return 0;
}

static bool vp_spins(void *plat)
{
    (void)plat;
    return true;
}

static const struct rpmsg_virtio_platform_ops vp_ops_spin = {
    .notify = vp_notify, .wait = vp_wait, .wakeup = vp_wakeup,
    .wait_ready = vp_wait_ready, .spins = vp_spins,
};

static bool spin;

struct vpair {
    struct rpmsg_virtio host, remote;
    struct rpmsg_virtio_layout layout;
    void *shm;
};

static int vpair_open(struct vpair *p, uint32_t features)
{
    size_t size = rpmsg_virtio_layout_default(&p->layout, NULL);
    p->shm = size ? aligned_alloc(4096, (size + 4095) & ~(size_t)4095) : NULL;
    if (!p->shm)
        return -1;
    memset(p->shm, 0, size);
    struct rpmsg_virtio_config c = {
        .shm = p->shm, .shm_size = size, .layout = &p->layout, .ops = spin ? &vp_ops_spin : &vp_ops,
        .no_rx_thread = true, .role = RPMSG_VIRTIO_HOST, .cpuname = "host",
        .features = features,
    };
    if (rpmsg_virtio_init(&p->host, &c))
        return -1;
    c.role = RPMSG_VIRTIO_REMOTE;
    c.cpuname = "remote";
    if (rpmsg_virtio_init(&p->remote, &c))
        return -1;
    struct rpmsg_device *h = rpmsg_virtio_get_device(&p->host);
    struct rpmsg_device *r = rpmsg_virtio_get_device(&p->remote);
    for (int i = 0; i < 100000 && !(rpmsg_device_is_up(h) && rpmsg_device_is_up(r)); i++) {
        rpmsg_poll(h);
        rpmsg_poll(r);
    }
    return rpmsg_device_is_up(h) && rpmsg_device_is_up(r) ? 0 : -1;
}

static void vpair_close(struct vpair *p)
{
    rpmsg_virtio_deinit(&p->remote);
    rpmsg_virtio_deinit(&p->host);
    free(p->shm);
}

static void *idle_thread(void *arg)
{
    char c;
    while (read(*(int *)arg, &c, 1) < 0)
        ;
    return NULL;
}

struct run {
    bool virtio, packed, mt; /* mt: measured with the idle thread running */
    bool echo;
    unsigned long n;
    unsigned size;
    double ns, kpm; /* out */
};

/* One measurement with the options in the globals (nocopy, spin, batch). */
static int run_one(struct run *o)
{
    static struct rpmsg_endpoint tx, rx;
    static uint8_t payload[496];
    static struct vpair vp;
    struct rpmsg_loopback *lb = NULL;
    struct rpmsg_device *a, *b;
    if (o->virtio) {
        if (vpair_open(&vp, o->packed ? RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED : 0))
            return 1;
        a = rpmsg_virtio_get_device(&vp.host);
        b = rpmsg_virtio_get_device(&vp.remote);
    } else {
        struct rpmsg_loopback_config cfg = { .num_bufs = 16, .no_rx_thread = true };
        if (rpmsg_loopback_create(&lb, &cfg))
            return 1;
        a = rpmsg_loopback_dev_a(lb);
        b = rpmsg_loopback_dev_b(lb);
    }
    int r = rpmsg_create_ept(&tx, a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, o->echo ? count_cb : NULL,
                             NULL);
    if (!r)
        r = rpmsg_create_ept(&rx, b, NULL, RPMSG_ADDR_ANY, tx.addr, o->echo ? echo_cb : count_cb, NULL);
    kicks = 0;
    delivered = echoed = 0;
    uint64_t t0 = bench_now_ns();
    if (!r)
        r = hot_loop(&tx, b, o->virtio || o->echo ? a : NULL, rx.addr, payload, o->size, o->n,
                     o->echo);
    o->ns = (double)(bench_now_ns() - t0) / (double)o->n;
    o->kpm = (double)kicks / (double)(o->n * (o->echo ? 2 : 1)); /* per message */
    rpmsg_destroy_ept(&rx);
    rpmsg_destroy_ept(&tx);
    if (o->virtio)
        vpair_close(&vp);
    else
        rpmsg_loopback_destroy(lb);
    if (r || delivered != o->n || (o->echo && echoed != o->n)) {
        fprintf(stderr, "bench_hotpath: %lu of %lu delivered, %lu echoed\n", delivered, o->n,
                echoed);
        return 1;
    }
    return 0;
}

static const char *via_of(const struct run *o)
{
    return o->packed ? "packed" : o->virtio ? "virtio" : "loopback";
}

static void result_name(char *out, size_t cap, const struct run *o)
{
    char shape[32] = "";
    if (spin || batch > 1)
        snprintf(shape, sizeof(shape), "%s_b%u", spin ? "_spin" : "", batch);
    snprintf(out, cap, "send_dispatch_%s%s%s%s%s_%u", via_of(o), nocopy ? "_nocopy" : "",
             o->echo ? "_echo" : "", shape,
             o->mt ? "_mt" : "", o->size);
}

static void print_line(const struct run *o)
{
    printf("hot path (%s%s%s%s, %u per round, one thread%s): %lu %s of %u B, %.1f ns/%s, "
           "%.3f doorbells/msg (wall clock, indicative only: profile it with callgrind)\n",
           via_of(o), nocopy ? "_nocopy" : "", o->echo ? ", echoed" : "", spin ? ", spinning" : "",
           batch, o->mt ? ", locks as multithreaded" : "", o->n, o->echo ? "round trips" : "msgs",
           o->size, o->ns, o->echo ? "round trip" : "msg", o->kpm);
}

int main(int argc, char **argv)
{
    bool json = false, options = false;
    struct run one = { .n = 1000000, .size = 16 };
    for (int i = 1; i < argc; i++) {
        options |= strcmp(argv[i], "--json") != 0;
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--virtio"))
            one.virtio = true;
        else if (!strcmp(argv[i], "--packed"))
            one.virtio = one.packed = true;
        else if (!strcmp(argv[i], "--nocopy"))
            nocopy = true;
        else if (!strcmp(argv[i], "--echo"))
            one.echo = true;
        else if (!strcmp(argv[i], "--spin"))
            spin = true;
        else if (!strcmp(argv[i], "--mt"))
            one.mt = true;
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            one.n = strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            one.size = (unsigned)strtoul(argv[++i], NULL, 0);
        else {
            fprintf(stderr, "usage: %s [--json] [--virtio] [--packed] [--nocopy] [--echo] [--spin] "
                            "[--mt] [--batch K] [-n N] [--size BYTES]\n", argv[0]);
            return 2;
        }
    }
    if (!one.n || one.size > 496 || !batch || batch > 64 || one.n % batch)
        return 2;
    /* Without options (make bench): the loopback as it always was, then the
     * VirtIO pair over each ring layout with the locks a real process pays,
     * the figure a round trip is compared with (docs/benchmarks.md, stop
     * 24), and a round trip's own work, echoed (stop 25). The idle thread
     * starts before the first run that wants it and stays: glibc does not
     * go back to its one-thread locks. */
    struct run runs[5] = { one };
    int nruns = 1;
    if (!options) {
        for (int k = 0; k < 4; k++)
            runs[1 + k] = (struct run){ .virtio = true, .packed = k & 1, .echo = k >= 2, .mt = true,
                                        .n = k >= 2 ? 200000 : 400000, .size = 16 };
        nruns = 5;
    }
    int idle_fd[2] = { -1, -1 };
    pthread_t idle;
    bool threaded = false;
    for (int i = 0; i < nruns; i++) {
        if (runs[i].mt && !threaded) {
            if (pipe(idle_fd) || pthread_create(&idle, NULL, idle_thread, &idle_fd[0]))
                return 1;
            threaded = true;
        }
        if (run_one(&runs[i]))
            return 1;
        if (!json)
            print_line(&runs[i]);
    }
    if (threaded) {
        close(idle_fd[1]); /* its read returns 0 */
        pthread_join(idle, NULL);
        close(idle_fd[0]);
    }
    char name[96];
    printf("{\"bench\":\"hotpath\",\"results\":[");
    for (int i = 0; i < nruns; i++) {
        result_name(name, sizeof(name), &runs[i]);
        printf("%s{\"name\":\"%s\",\"unit\":\"ns\",\"value\":%.1f,\"msgs\":%lu,"
               "\"doorbells_per_msg\":%.3f}",
               i ? "," : "", name, runs[i].ns, runs[i].n, runs[i].kpm);
    }
    printf("]}\n");
    return 0;
}
