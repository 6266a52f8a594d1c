/*
 * CPU time of a set of this process's threads, by thread id, read from
 * /proc/self/task/TID/schedstat (nanoseconds on a CPU). Lets a benchmark
 * charge one core's threads when several cores share the process.
 */
#ifndef BENCH_THREAD_CPU_H
#define BENCH_THREAD_CPU_H

#include <stdbool.h>
#include <stdint.h>

#define TCPU_MAX 64

struct tcpu_set {
    int tid[TCPU_MAX];
    unsigned n;
};

/* The calling thread's id. */
int tcpu_self(void);
/* Adds tid unless present; false when full. Not thread-safe. */
bool tcpu_add(struct tcpu_set *s, int tid);
/* Every thread of the process now. */
void tcpu_snapshot(struct tcpu_set *s);
/* Adds to s the threads of now that before did not hold. */
void tcpu_add_new(struct tcpu_set *s, const struct tcpu_set *before);
/* Sum of the CPU time of s's threads, ns (threads gone count 0). */
uint64_t tcpu_ns(const struct tcpu_set *s);

#endif
