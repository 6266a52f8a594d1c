/*
 * Bare inter-process mechanisms, measured between a parent and a forked
 * child. Shared state lives in an anonymous MAP_SHARED mapping made before
 * the fork; the futexes on it are therefore the shared (non-PRIVATE) kind.
 */
#include "machine_limits.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WARMUP_ROUNDS 2000u


/* Shared between parent and child of one measurement. */
struct shared {
    _Alignas(64) _Atomic uint32_t ping;
    _Alignas(64) _Atomic uint32_t pong;
    _Alignas(64) _Atomic uint32_t stop;
    _Atomic uint32_t child_err;
    bool yield; /* one CPU for both: spinning must give the CPU away */
    int efd_ping, efd_pong;
    /* idle measurement, written by the child */
    uint64_t idle_ns; /* how long to stay idle */
    uint64_t cpu_ns, wall_ns;
    long nvcsw, nivcsw;
    char name[64];
    enum rpmsg_linux_mode mode;
    /* ring: head and tail on their own lines, slots after */
    _Alignas(64) _Atomic uint64_t head;
    _Alignas(64) _Atomic uint64_t tail;
    _Alignas(64) uint8_t slots[];
};

#define RING_SLOTS 256u

static struct shared *shared_new(size_t extra)
{
    size_t size = sizeof(struct shared) + extra;
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    return m;
}

static void shared_free(struct shared *s, size_t extra)
{
    munmap(s, sizeof(struct shared) + extra);
}

void bench_limits_defaults(struct bench_limits_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->seconds = 2.0;
    o->idle_seconds = 3.0;
    bench_cpus_pick(&o->cpus);
}

static double secs(const struct bench_limits_opts *o)
{
    return o->seconds > 0 ? o->seconds : 2.0;
}

static void spin_once(const struct shared *s, unsigned *n)
{
    bench_relax();
    if (s->yield && (++*n & 127) == 0)
        sched_yield();
}

/* ---- cache-line ping-pong ---- */

static int shm_child(void *p)
{
    struct shared *s = p;
    uint32_t last = 0;
    unsigned n = 0;
    for (;;) {
        uint32_t v;
        while ((v = atomic_load_explicit(&s->ping, memory_order_acquire)) == last) {
            if (atomic_load_explicit(&s->stop, memory_order_relaxed))
                return 0;
            spin_once(s, &n);
        }
        last = v;
        atomic_store_explicit(&s->pong, v, memory_order_release);
    }
}

static void shm_round(void *p, uint32_t i)
{
    struct shared *s = p;
    unsigned n = 0;
    atomic_store_explicit(&s->ping, i, memory_order_release);
    while (atomic_load_explicit(&s->pong, memory_order_acquire) != i)
        spin_once(s, &n);
}

/* ---- futex ping-pong ---- */

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
    return syscall(SYS_futex, (uint32_t *)w, op, val, NULL, NULL, 0);
}

static int futex_child(void *p)
{
    struct shared *s = p;
    uint32_t last = 0;
    for (;;) {
        uint32_t v;
        while ((v = atomic_load(&s->ping)) == last)
            futex(&s->ping, FUTEX_WAIT, last);
        if (atomic_load(&s->stop))
            return 0;
        last = v;
        atomic_store(&s->pong, v);
        futex(&s->pong, FUTEX_WAKE, 1);
    }
}

static void futex_round(void *p, uint32_t i)
{
    struct shared *s = p;
    atomic_store(&s->ping, i);
    futex(&s->ping, FUTEX_WAKE, 1);
    uint32_t v;
    while ((v = atomic_load(&s->pong)) != i)
        futex(&s->pong, FUTEX_WAIT, v);
}

/* Changes ping too: a child between its check and FUTEX_WAIT would sleep through a bare wake. */
static void futex_stop(void *p)
{
    struct shared *s = p;
    atomic_store(&s->stop, 1);
    atomic_fetch_add(&s->ping, 1);
    futex(&s->ping, FUTEX_WAKE, 1);
}

/* ---- eventfd ping-pong ---- */

static int eventfd_child(void *p)
{
    struct shared *s = p;
    uint64_t v;
    for (;;) {
        if (read(s->efd_ping, &v, sizeof(v)) != sizeof(v))
            return 1;
        if (atomic_load(&s->stop))
            return 0;
        v = 1;
        if (write(s->efd_pong, &v, sizeof(v)) != sizeof(v))
            return 2;
    }
}

static void eventfd_round(void *p, uint32_t i)
{
    struct shared *s = p;
    (void)i;
    uint64_t v = 1;
    if (write(s->efd_ping, &v, sizeof(v)) != sizeof(v) ||
        read(s->efd_pong, &v, sizeof(v)) != sizeof(v))
        atomic_store(&s->child_err, 1);
}

static void eventfd_stop(void *p)
{
    struct shared *s = p;
    uint64_t v = 1;
    atomic_store(&s->stop, 1);
    if (write(s->efd_ping, &v, sizeof(v)) != sizeof(v))
        atomic_store(&s->child_err, 1);
}

static void spin_stop(void *p)
{
    struct shared *s = p;
    atomic_store(&s->stop, 1);
}

int bench_pingpong_run(const struct bench_limits_opts *o, int (*child)(void *), void *arg,
                       void (*round)(void *, uint32_t), void (*stop)(void *),
                       bool (*failed)(void *), unsigned batch, struct bench_dist *d)
{
    pid_t pid = bench_fork(o->cpus.b, child, arg);
    if (pid < 0)
        return (int)pid;
    cpu_set_t saved;
    bool restore = sched_getaffinity(0, sizeof(saved), &saved) == 0;
    bench_pin(o->cpus.a);
    struct bench_samples smp;
    bench_samples_init(&smp);
    uint32_t i = 0;
    for (unsigned k = 0; k < WARMUP_ROUNDS; k++)
        round(arg, ++i);
    uint64_t end = bench_now_ns() + (uint64_t)(secs(o) * 1e9);
    for (;;) {
        uint64_t t0 = bench_now_ns();
        for (unsigned k = 0; k < batch; k++)
            round(arg, ++i);
        uint64_t t1 = bench_now_ns();
        bench_samples_add(&smp, (double)(t1 - t0) / batch);
        if (t1 >= end || failed(arg))
            break;
    }
    stop(arg);
    int code = bench_join(pid);
    if (restore)
        sched_setaffinity(0, sizeof(saved), &saved);
    bench_samples_summary(&smp, d);
    bench_samples_free(&smp);
    return code != 0 || failed(arg) ? -EIO : 0;
}

static bool child_failed(void *p)
{
    struct shared *s = p;
    return atomic_load(&s->child_err) != 0;
}

static int run_rtt(const struct bench_limits_opts *o, const char *name, const char *label,
                   int (*child)(void *), void (*round)(void *, uint32_t),
                   void (*stop)(void *), unsigned batch, bool efd,
                   struct bench_result *out)
{
    struct shared *s = shared_new(0);
    if (!s)
        return -ENOMEM;
    s->efd_ping = s->efd_pong = -1;
    if (efd) {
        s->efd_ping = eventfd(0, EFD_CLOEXEC);
        s->efd_pong = eventfd(0, EFD_CLOEXEC);
        if (s->efd_ping < 0 || s->efd_pong < 0) {
            int e = -errno;
            if (s->efd_ping >= 0)
                close(s->efd_ping);
            if (s->efd_pong >= 0)
                close(s->efd_pong);
            shared_free(s, 0);
            return e;
        }
    }
    struct bench_dist d;
    s->yield = o->cpus.a < 0;
    int r = bench_pingpong_run(o, child, s, round, stop, child_failed, batch, &d);
    bench_result_set(out, name, label, "ns", d.p50);
    bench_result_dist(out, &d);
    if (batch > 1)
        snprintf(out->note, sizeof(out->note), "(samples: means of %u round trips)", batch);
    if (efd) {
        close(s->efd_ping);
        close(s->efd_pong);
    }
    shared_free(s, 0);
    return r;
}

int bench_limits_shm_pingpong(const struct bench_limits_opts *o, struct bench_result *rtt)
{
    return run_rtt(o, "shm_pingpong_rtt", "shared-memory cache-line ping-pong RTT", shm_child,
                   shm_round, spin_stop, 64, false, rtt);
}

int bench_limits_futex_pingpong(const struct bench_limits_opts *o, struct bench_result *rtt)
{
    return run_rtt(o, "futex_pingpong_rtt", "futex wait/wake ping-pong RTT", futex_child,
                   futex_round, futex_stop, 1, false, rtt);
}

int bench_limits_eventfd_pingpong(const struct bench_limits_opts *o, struct bench_result *rtt)
{
    return run_rtt(o, "eventfd_pingpong_rtt", "eventfd ping-pong RTT", eventfd_child,
                   eventfd_round, eventfd_stop, 1, true, rtt);
}

/* ---- SPSC ring ---- */

struct ring_ctx {
    struct shared *s;
    uint32_t slot;
};

static int ring_producer(void *p)
{
    struct ring_ctx *c = p;
    struct shared *s = c->s;
    uint8_t *msg = malloc(c->slot);
    if (!msg)
        return 1;
    memset(msg, 0xa5, c->slot);
    uint64_t head = 0, tail = 0;
    unsigned n = 0;
    for (;;) {
        while (head - tail == RING_SLOTS) {
            tail = atomic_load_explicit(&s->tail, memory_order_acquire);
            if (head - tail < RING_SLOTS)
                break;
            if (atomic_load_explicit(&s->stop, memory_order_relaxed)) {
                free(msg);
                return 0;
            }
            spin_once(s, &n);
        }
        memcpy(msg, &head, sizeof(head));
        memcpy(s->slots + (head % RING_SLOTS) * c->slot, msg, c->slot);
        atomic_store_explicit(&s->head, ++head, memory_order_release);
    }
}

int bench_limits_spsc_ring(const struct bench_limits_opts *o, uint32_t slot_size,
                           struct bench_result *msgs, struct bench_result *gbps)
{
    if (slot_size < 8)
        return -EINVAL;
    size_t extra = (size_t)RING_SLOTS * slot_size;
    struct shared *s = shared_new(extra);
    if (!s)
        return -ENOMEM;
    s->yield = o->cpus.a < 0;
    struct ring_ctx c = { s, slot_size };
    uint8_t *out = malloc(slot_size);
    if (!out) {
        shared_free(s, extra);
        return -ENOMEM;
    }
    pid_t pid = bench_fork(o->cpus.b, ring_producer, &c);
    if (pid < 0) {
        free(out);
        shared_free(s, extra);
        return (int)pid;
    }
    cpu_set_t saved;
    bool restore = sched_getaffinity(0, sizeof(saved), &saved) == 0;
    bench_pin(o->cpus.a);
    uint64_t tail = 0, head = 0, errors = 0, count = 0;
    unsigned n = 0;
    uint64_t t0 = 0, end = 0;
    uint64_t cpu0 = 0;
    const uint64_t warm = 20000;
    for (;;) {
        while (tail == head) {
            head = atomic_load_explicit(&s->head, memory_order_acquire);
            if (head != tail)
                break;
            spin_once(s, &n);
        }
        memcpy(out, s->slots + (tail % RING_SLOTS) * slot_size, slot_size);
        uint64_t seq;
        memcpy(&seq, out, sizeof(seq));
        if (seq != tail)
            errors++;
        atomic_store_explicit(&s->tail, ++tail, memory_order_release);
        if (tail == warm) {
            t0 = bench_now_ns();
            cpu0 = bench_cpu_ns();
            end = t0 + (uint64_t)(secs(o) * 1e9);
        }
        if (tail > warm && (tail & 4095) == 0 && bench_now_ns() >= end)
            break;
    }
    uint64_t t1 = bench_now_ns();
    uint64_t cpu1 = bench_cpu_ns();
    count = tail - warm;
    atomic_store(&s->stop, 1);
    int code = bench_join(pid);
    if (restore)
        sched_setaffinity(0, sizeof(saved), &saved);
    double el = (double)(t1 - t0) / 1e9;
    double rate = el > 0 ? (double)count / el : 0;
    char label[64];
    snprintf(label, sizeof(label), "SPSC ring, %u-byte slots: messages", slot_size);
    bench_result_set(msgs, "spsc_ring_msgs", label, "msgs/s", rate);
    bench_result_extra(msgs, "slot_bytes", slot_size);
    bench_result_extra(msgs, "errors", (double)errors);
    bench_result_extra(msgs, "consumer_cpu_pct",
                       el > 0 ? (double)(cpu1 - cpu0) / 1e9 / el * 100.0 : 0);
    snprintf(label, sizeof(label), "SPSC ring, %u-byte slots: payload", slot_size);
    bench_result_set(gbps, "spsc_ring_gbps", label, "GB/s", rate * slot_size / 1e9);
    bench_result_extra(gbps, "slot_bytes", slot_size);
    free(out);
    shared_free(s, extra);
    if (code != 0)
        return -EIO;
    return errors ? -EPROTO : 0;
}

/* ---- idle CPU in the doorbell wait ---- */

static int idle_child(void *p)
{
    struct shared *s = p;
    struct rpmsg_linux_config cfg = {
        .name = s->name,
        .side = RPMSG_LINUX_ATTACHER,
        .mode = s->mode,
        .timeout_ms = 5000,
    };
    struct rpmsg_linux_link l;
    if (rpmsg_linux_open(&l, &cfg) != 0)
        return 1;
    /* The attach itself is not idle time: let its ring settle first. */
    l.ops.wait(l.plat, rpmsg_deadline(0));
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    uint64_t c0 = bench_cpu_ns(), w0 = bench_now_ns();
    uint64_t deadline = rpmsg_time_ms() + s->idle_ns / 1000000u;
    int r;
    while ((r = l.ops.wait(l.plat, deadline)) == 0) {
        /* spurious returns are allowed; an idle link should have none */
    }
    uint64_t c1 = bench_cpu_ns(), w1 = bench_now_ns();
    getrusage(RUSAGE_SELF, &r1);
    s->cpu_ns = c1 - c0;
    s->wall_ns = w1 - w0;
    s->nvcsw = r1.ru_nvcsw - r0.ru_nvcsw;
    s->nivcsw = r1.ru_nivcsw - r0.ru_nivcsw;
    rpmsg_linux_close(&l);
    return r == -ETIMEDOUT ? 0 : 2;
}

static const char *mode_name(enum rpmsg_linux_mode m)
{
    switch (m) {
    case RPMSG_LINUX_POLL: return "poll";
    case RPMSG_LINUX_INTERRUPT: return "interrupt";
    default: return "adaptive";
    }
}

int bench_limits_idle_wait(const struct bench_limits_opts *o, enum rpmsg_linux_mode mode,
                           struct bench_result *cpu)
{
    struct shared *s = shared_new(0);
    if (!s)
        return -ENOMEM;
    snprintf(s->name, sizeof(s->name), "rpmsg-bench-%d", (int)getpid());
    s->mode = mode;
    double idle = o->idle_seconds > 0 ? o->idle_seconds : 3.0;
    s->idle_ns = (uint64_t)(idle * 1e9);
    struct rpmsg_linux_config cfg = {
        .name = s->name,
        .side = RPMSG_LINUX_CREATOR,
        .region_size = 4096,
        .mode = mode,
    };
    struct rpmsg_linux_link l;
    int r = rpmsg_linux_open(&l, &cfg);
    if (r < 0) {
        shared_free(s, 0);
        return r;
    }
    pid_t pid = bench_fork(o->cpus.b, idle_child, s);
    if (pid < 0) {
        rpmsg_linux_close(&l);
        shared_free(s, 0);
        return (int)pid;
    }
    int code = bench_join(pid);
    rpmsg_linux_close(&l);
    double pct = s->wall_ns ? (double)s->cpu_ns / (double)s->wall_ns * 100.0 : 0;
    double wall_s = (double)s->wall_ns / 1e9;
    char label[64];
    snprintf(label, sizeof(label), "idle CPU blocked in doorbell wait (%s)", mode_name(mode));
    bench_result_set(cpu, "idle_wait_cpu_pct", label, "%", pct);
    bench_result_extra(cpu, "seconds", wall_s);
    bench_result_extra(cpu, "cpu_us", (double)s->cpu_ns / 1e3);
    bench_result_extra(cpu, "wakeups_per_s", wall_s > 0 ? (double)s->nvcsw / wall_s : 0);
    snprintf(cpu->note, sizeof(cpu->note), "(wakeups: liveness checks)");
    shared_free(s, 0);
    return code == 0 ? 0 : -EIO;
}

int bench_limits_all(const struct bench_limits_opts *o, struct bench_report *rep)
{
    struct bench_result a, b;
    int first = 0, r;
#define KEEP(x) do { r = (x); if (r < 0 && !first) first = r; } while (0)
    KEEP(bench_limits_shm_pingpong(o, &a));
    bench_report_add(rep, &a);
    if ((r = bench_limits_vring_pingpong(o, &a)) != -EOPNOTSUPP) {
        KEEP(r);
        bench_report_add(rep, &a);
    }
    if ((r = bench_limits_packed_pingpong(o, &a)) != -EOPNOTSUPP) {
        KEEP(r);
        bench_report_add(rep, &a);
    }
    KEEP(bench_limits_futex_pingpong(o, &a));
    bench_report_add(rep, &a);
    KEEP(bench_limits_eventfd_pingpong(o, &a));
    bench_report_add(rep, &a);
    KEEP(bench_limits_thread_wake(o, o->cpus.b, &a));
    bench_report_add(rep, &a);
    KEEP(bench_limits_spsc_ring(o, 512, &a, &b));
    bench_report_add(rep, &a);
    bench_report_add(rep, &b);
    if ((r = bench_limits_vring_stream(o, &a)) != -EOPNOTSUPP) {
        KEEP(r);
        bench_report_add(rep, &a);
    }
    KEEP(bench_limits_idle_wait(o, RPMSG_LINUX_ADAPTIVE, &a));
    bench_report_add(rep, &a);
#undef KEEP
    return first;
}
