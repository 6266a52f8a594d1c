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

struct bench_limits_opts {
    double seconds;       /* per measurement; 0: 2.0 */
    double idle_seconds;  /* idle-CPU measurement; 0: 3.0 */
    struct bench_cpus cpus;
};

/* Fills defaults and picks the CPUs. */
void bench_limits_defaults(struct bench_limits_opts *o);

/* Round trip through two cache lines written in turn, busy-polled (ns). */
int bench_limits_shm_pingpong(const struct bench_limits_opts *o, struct bench_result *rtt);
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
 * CPU used by a process blocked in the Linux platform's doorbell wait, on an
 * idle link, in the given mode (% of one CPU over opts->idle_seconds).
 */
int bench_limits_idle_wait(const struct bench_limits_opts *o, enum rpmsg_linux_mode mode,
                           struct bench_result *cpu);

/* Runs all of the above into rep. 0 or the first error (the rest still run). */
int bench_limits_all(const struct bench_limits_opts *o, struct bench_report *rep);

#endif
