/*
 * A wake-up between two threads of one process on one CPU, through a mutex
 * and a condition variable, as a blocking reader is woken by the thread that
 * receives its data (an rpmsg RX thread sharing its CPU): the waker
 * broadcasts and goes on, the woken thread runs at once (wake-up
 * preemption), notes it, and sleeps again, and the waker resumes. Timed from
 * the broadcast to the waker seeing the note; the median, since a wake the
 * scheduler does not run at once leaves the waker spinning to its next tick.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "machine_limits.h"

struct wake_pair {
    pthread_mutex_t m;
    pthread_cond_t c;
    unsigned long turn; /* under m */
    atomic_ulong seen;  /* the last turn the sleeper ran for */
    bool stop;
    int cpu;
};

static void *wake_sleeper(void *arg)
{
    struct wake_pair *w = arg;
    if (w->cpu >= 0)
        bench_pin(w->cpu);
    pthread_mutex_lock(&w->m);
    for (;;) {
        while (w->turn == atomic_load(&w->seen) && !w->stop)
            pthread_cond_wait(&w->c, &w->m);
        if (w->stop)
            break;
        atomic_store(&w->seen, w->turn);
    }
    pthread_mutex_unlock(&w->m);
    return NULL;
}

int bench_limits_thread_wake(const struct bench_limits_opts *o, int cpu, struct bench_result *out)
{
    struct wake_pair w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, false,
                           cpu };
    cpu_set_t old;
    if (pthread_getaffinity_np(pthread_self(), sizeof(old), &old))
        return -EIO;
    if (cpu >= 0)
        bench_pin(cpu);
    pthread_t t;
    if (pthread_create(&t, NULL, wake_sleeper, &w)) {
        pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
        return -EAGAIN;
    }
    struct bench_samples s;
    bench_samples_init(&s);
    double seconds = o->seconds > 0 ? o->seconds : 2.0;
    uint64_t end = bench_now_ns() + (uint64_t)(seconds * 1e9);
    for (unsigned long i = 1; bench_now_ns() < end; i++) {
        uint64_t t0 = bench_now_ns();
        pthread_mutex_lock(&w.m);
        w.turn = i;
        pthread_mutex_unlock(&w.m);
        pthread_cond_broadcast(&w.c);
        while (atomic_load(&w.seen) != i)
            bench_relax();
        if (i > 16) /* warm-up */
            bench_samples_add(&s, (double)(bench_now_ns() - t0));
    }
    pthread_mutex_lock(&w.m);
    w.stop = true;
    pthread_mutex_unlock(&w.m);
    pthread_cond_broadcast(&w.c);
    pthread_join(t, NULL);
    pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
    struct bench_dist d;
    bench_samples_summary(&s, &d);
    bench_samples_free(&s);
    bench_result_set(out, "thread_wake", "wake-up of a thread on the same CPU", "ns", d.p50);
    bench_result_dist(out, &d);
    return d.n ? 0 : -EIO;
}
