/*
 * The machine's own limits between two processes, without rpmsg: what any
 * transport built on these mechanisms can at best reach. bench_limits prints
 * them; a transport benchmark (bench_virtio) calls the same functions in its
 * own run so that both figures come from the same conditions.
 *
 * Each function forks one child, pins parent and child to opts->cpus when
 * that holds two CPUs, measures for about opts->seconds, and fills one or
 * more struct bench_result. Returns 0 or -errno.
 */
#ifndef MACHINE_LIMITS_H
#define MACHINE_LIMITS_H

#include "bench_report.h"
#include "rpmsg/rpmsg_linux.h"

/* A busy-wait's pause: kinder to a sibling hyper-thread and to the bus. */
static inline void bench_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

struct bench_limits_opts {
    double seconds;       /* per measurement; 0: 2.0 */
    double idle_seconds;  /* idle-CPU measurement; 0: 3.0 */
    struct bench_cpus cpus;
};

/* Fills defaults and picks the CPUs. */
void bench_limits_defaults(struct bench_limits_opts *o);

/* Round trip through two cache lines written in turn, busy-polled (ns). */
int bench_limits_shm_pingpong(const struct bench_limits_opts *o, struct bench_result *rtt);
/*
 * Round trip of a 16-byte rpmsg echo over two bare split virtqueues in the
 * Linux/OpenAMP layout, busy-polled, no rpmsg stack (ns): the wire format's
 * own floor (vring_floor.c). -EOPNOTSUPP without two CPUs to pin to.
 */
int bench_limits_vring_pingpong(const struct bench_limits_opts *o, struct bench_result *rtt);
/* The same echo over two packed virtqueues (VirtIO 1.1, in order): the packed
 * layout's floor (vring_floor_packed.c). -EOPNOTSUPP without two CPUs. */
int bench_limits_packed_pingpong(const struct bench_limits_opts *o, struct bench_result *rtt);
/*
 * One-way stream of 496-byte rpmsg messages over one bare split virtqueue,
 * busy-polled, no rpmsg stack (msgs/s): the format's own ceiling for a
 * pipelined stream (vring_stream.c). -EOPNOTSUPP without two CPUs.
 */
int bench_limits_vring_stream(const struct bench_limits_opts *o, struct bench_result *msgs);
/* Round trip where each side sleeps in FUTEX_WAIT and is woken by FUTEX_WAKE (ns). */
int bench_limits_futex_pingpong(const struct bench_limits_opts *o, struct bench_result *rtt);
/* Round trip through two eventfds, blocking read/write (ns). */
int bench_limits_eventfd_pingpong(const struct bench_limits_opts *o, struct bench_result *rtt);
/*
 * One-way stream through a single-producer/single-consumer ring of slot_size
 * byte slots (the producer copies each message in, the consumer copies it
 * out and checks its sequence number). msgs: messages/s; gbps: payload GB/s.
 */
int bench_limits_spsc_ring(const struct bench_limits_opts *o, uint32_t slot_size,
                           struct bench_result *msgs, struct bench_result *gbps);
/*
 * A wake-up of a thread by another on the same CPU (cpu; -1: unpinned)
 * through a mutex and a condition variable, until the woken one sleeps again
 * and the waker resumes (ns): what each sleep of a blocking reader costs when
 * its data arrives on a thread sharing its CPU (thread_wake.c). The caller's
 * CPU affinity is restored.
 */
int bench_limits_thread_wake(const struct bench_limits_opts *o, int cpu, struct bench_result *rtt);
/*
 * CPU used by a process blocked in the Linux platform's doorbell wait, on an
 * idle link, in the given mode (% of one CPU over opts->idle_seconds).
 */
int bench_limits_idle_wait(const struct bench_limits_opts *o, enum rpmsg_linux_mode mode,
                           struct bench_result *cpu);

/*
 * The measurement loop of the ping-pongs: forks child(arg) on cpus.b, pins
 * the caller to cpus.a, runs round(arg, i) for a warm-up and then in batches
 * for about opts->seconds, calls stop(arg) and joins the child. d: ns per
 * round trip, one sample per batch. 0, or -EIO when the child or failed(arg)
 * reports an error.
 */
int bench_pingpong_run(const struct bench_limits_opts *o, int (*child)(void *), void *arg,
                       void (*round)(void *, uint32_t), void (*stop)(void *),
                       bool (*failed)(void *), unsigned batch, struct bench_dist *d);

/* Runs all of the above into rep. 0 or the first error (the rest still run). */
int bench_limits_all(const struct bench_limits_opts *o, struct bench_report *rep);

#endif
