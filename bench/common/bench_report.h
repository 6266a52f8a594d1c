/*
 * Small benchmark helper: sample sets with percentiles, CPU time, pinning,
 * and a report printed as a human table and as one JSON line.
 *
 * Every benchmark prints its JSON record as its last line (scripts/bench
 * collects it); with --json it prints only that line.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* ---- time ---- */

uint64_t bench_now_ns(void);
/* CPU time (user + system) of this process (RUSAGE_SELF) in ns. */
uint64_t bench_cpu_ns(void);
/* Same for the calling thread only (RUSAGE_THREAD). */
uint64_t bench_thread_cpu_ns(void);

/* ---- samples ---- */

struct bench_samples {
    double *v;
    size_t n, cap;
};

void bench_samples_init(struct bench_samples *s);
void bench_samples_free(struct bench_samples *s);
/* Adds one value; returns -ENOMEM when it cannot grow (the value is dropped). */
int bench_samples_add(struct bench_samples *s, double v);

struct bench_dist {
    size_t n;
    double min, p50, p90, p99, max, mean;
};

/* Sorts s in place and summarises it (all zero when empty). */
void bench_samples_summary(struct bench_samples *s, struct bench_dist *d);
/* p in [0, 100] of sorted values, nearest rank. */
double bench_percentile_sorted(const double *v, size_t n, double p);

/* ---- placement ---- */

struct bench_cpus {
    int a, b;     /* CPUs for the two sides, -1 when not pinned */
    int online;   /* CPUs this process may run on */
};

/* Picks two distinct CPUs from this process's affinity mask when it has two. */
void bench_cpus_pick(struct bench_cpus *c);
/* Pins the calling process (or thread) to cpu; no-op for -1. 0 or -errno. */
int bench_pin(int cpu);

/*
 * Runs fn(arg) in a child pinned to cpu; returns its pid (or -errno). The
 * child exits with fn's return value.
 */
pid_t bench_fork(int cpu, int (*fn)(void *), void *arg);
/* Waits for the child; its exit code, or -1 if it did not exit normally. */
int bench_join(pid_t pid);

/* ---- report ---- */

#define BENCH_MAX_RESULTS 48
#define BENCH_MAX_EXTRA 6

struct bench_result {
    char name[48];    /* machine name: "futex_pingpong_rtt" */
    char label[64];   /* human label: "futex ping-pong round trip" */
    char unit[16];    /* "ns", "msgs/s", "GB/s", "%" */
    double value;     /* the headline figure: median for distributions */
    bool has_dist;
    struct bench_dist dist;
    int nextra;
    char extra_name[BENCH_MAX_EXTRA][24];
    double extra[BENCH_MAX_EXTRA];
    char note[96];
};

struct bench_report {
    const char *bench; /* "limits" */
    const char *title;
    struct bench_cpus cpus;
    double loadavg;    /* 1-minute load when the report was made: other work skews figures */
    int n;
    struct bench_result r[BENCH_MAX_RESULTS];
};

void bench_report_init(struct bench_report *rep, const char *bench, const char *title,
                       const struct bench_cpus *cpus);
/* Appends a copy of res; NULL when full. */
struct bench_result *bench_report_add(struct bench_report *rep, const struct bench_result *res);
/* The result named name, or NULL. */
const struct bench_result *bench_report_find(const struct bench_report *rep, const char *name);

void bench_result_set(struct bench_result *res, const char *name, const char *label,
                      const char *unit, double value);
void bench_result_dist(struct bench_result *res, const struct bench_dist *d);
void bench_result_extra(struct bench_result *res, const char *name, double v);

void bench_report_table(FILE *f, const struct bench_report *rep);
/* One line, no newline inside. */
void bench_report_json(FILE *f, const struct bench_report *rep);

#endif
