/* Benchmark helper: samples, percentiles, CPU time, pinning, table + JSON output. */
#include "bench_report.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rusage_ns(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0)
        return 0;
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

uint64_t bench_cpu_ns(void)
{
    return rusage_ns(RUSAGE_SELF);
}

uint64_t bench_thread_cpu_ns(void)
{
    return rusage_ns(RUSAGE_THREAD);
}

void bench_samples_init(struct bench_samples *s)
{
    memset(s, 0, sizeof(*s));
}

void bench_samples_free(struct bench_samples *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

int bench_samples_add(struct bench_samples *s, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double *nv = realloc(s->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_percentile_sorted(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    if (p <= 0)
        return v[0];
    if (p >= 100)
        return v[n - 1];
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return v[rank ? rank - 1 : 0];
}

void bench_samples_summary(struct bench_samples *s, struct bench_dist *d)
{
    memset(d, 0, sizeof(*d));
    if (s->n == 0)
        return;
    qsort(s->v, s->n, sizeof(double), cmp_double);
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->v[i];
    d->n = s->n;
    d->min = s->v[0];
    d->max = s->v[s->n - 1];
    d->mean = sum / (double)s->n;
    d->p50 = bench_percentile_sorted(s->v, s->n, 50);
    d->p90 = bench_percentile_sorted(s->v, s->n, 90);
    d->p99 = bench_percentile_sorted(s->v, s->n, 99);
}

void bench_cpus_pick(struct bench_cpus *c)
{
    c->a = c->b = -1;
    c->online = 1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return;
    c->online = CPU_COUNT(&set);
    int found = 0;
    for (int i = 0; i < CPU_SETSIZE && found < 2; i++) {
        if (!CPU_ISSET(i, &set))
            continue;
        if (found++ == 0)
            c->a = i;
        else
            c->b = i;
    }
    if (found < 2)
        c->a = c->b = -1;
}

int bench_pin(int cpu)
{
    if (cpu < 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

pid_t bench_fork(int cpu, int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        bench_pin(cpu);
        alarm(120); /* never outlive a broken run */
        _exit(fn(arg) & 0xff);
    }
    return pid;
}

int bench_join(pid_t pid)
{
    int st;
    pid_t r;
    do {
        r = waitpid(pid, &st, 0);
    } while (r < 0 && errno == EINTR);
    if (r != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

void bench_report_init(struct bench_report *rep, const char *bench, const char *title,
                       const struct bench_cpus *cpus)
{
    memset(rep, 0, sizeof(*rep));
    rep->bench = bench;
    rep->title = title;
    if (cpus)
        rep->cpus = *cpus;
    else
        bench_cpus_pick(&rep->cpus);
    rep->loadavg = -1;
    FILE *f = fopen("/proc/loadavg", "re");
    if (f) {
        if (fscanf(f, "%lf", &rep->loadavg) != 1)
            rep->loadavg = -1;
        fclose(f);
    }
}

struct bench_result *bench_report_add(struct bench_report *rep, const struct bench_result *res)
{
    if (rep->n >= BENCH_MAX_RESULTS)
        return NULL;
    rep->r[rep->n] = *res;
    return &rep->r[rep->n++];
}

void bench_result_set(struct bench_result *res, const char *name, const char *label,
                      const char *unit, double value)
{
    memset(res, 0, sizeof(*res));
    snprintf(res->name, sizeof(res->name), "%s", name);
    snprintf(res->label, sizeof(res->label), "%s", label);
    snprintf(res->unit, sizeof(res->unit), "%s", unit);
    res->value = value;
}

void bench_result_dist(struct bench_result *res, const struct bench_dist *d)
{
    res->has_dist = true;
    res->dist = *d;
    res->value = d->p50;
}

void bench_result_extra(struct bench_result *res, const char *name, double v)
{
    if (res->nextra >= BENCH_MAX_EXTRA)
        return;
    snprintf(res->extra_name[res->nextra], sizeof(res->extra_name[0]), "%s", name);
    res->extra[res->nextra++] = v;
}

/* Enough digits to be useful, few enough to read: 3 significant below 100. */
static void fmt_num(char *out, size_t cap, double v)
{
    double a = fabs(v);
    if (a >= 100 || v == 0)
        snprintf(out, cap, "%.0f", v);
    else if (a >= 10)
        snprintf(out, cap, "%.1f", v);
    else if (a >= 1)
        snprintf(out, cap, "%.2f", v);
    else
        snprintf(out, cap, "%.3f", v);
}

void bench_report_table(FILE *f, const struct bench_report *rep)
{
    fprintf(f, "%s\n", rep->title ? rep->title : rep->bench);
    if (rep->cpus.a >= 0)
        fprintf(f, "(%d CPUs usable; the two sides pinned to CPU %d and CPU %d)\n",
                rep->cpus.online, rep->cpus.a, rep->cpus.b);
    else
        fprintf(f, "(%d CPU usable; not pinned: both sides share it)\n", rep->cpus.online);
    if (rep->loadavg >= 0)
        fprintf(f, "(load average %.2f at start: anything above ~0.5 means other work shares the CPUs)\n",
                rep->loadavg);
    fprintf(f, "%-46s %10s %10s %10s %10s  %-7s %s\n", "measurement", "median", "p99", "min",
            "mean", "unit", "notes");
    for (int i = 0; i < rep->n; i++) {
        const struct bench_result *r = &rep->r[i];
        char med[24], p99[24] = "-", mn[24] = "-", mean[24] = "-";
        fmt_num(med, sizeof(med), r->value);
        if (r->has_dist) {
            fmt_num(p99, sizeof(p99), r->dist.p99);
            fmt_num(mn, sizeof(mn), r->dist.min);
            fmt_num(mean, sizeof(mean), r->dist.mean);
        }
        fprintf(f, "%-46s %10s %10s %10s %10s  %-7s", r->label, med, p99, mn, mean, r->unit);
        for (int k = 0; k < r->nextra; k++) {
            char v[24];
            fmt_num(v, sizeof(v), r->extra[k]);
            fprintf(f, " %s=%s", r->extra_name[k], v);
        }
        if (r->note[0])
            fprintf(f, " %s", r->note);
        fputc('\n', f);
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

void bench_report_json(FILE *f, const struct bench_report *rep)
{
    fprintf(f, "{\"bench\":");
    json_str(f, rep->bench);
    fprintf(f, ",\"machine\":{\"cpus\":%d,\"pinned\":%s,\"cpu_a\":%d,\"cpu_b\":%d,\"loadavg\":",
            rep->cpus.online, rep->cpus.a >= 0 ? "true" : "false", rep->cpus.a, rep->cpus.b);
    json_num(f, rep->loadavg);
    fputc('}', f);
    fprintf(f, ",\"results\":[");
    for (int i = 0; i < rep->n; i++) {
        const struct bench_result *r = &rep->r[i];
        fprintf(f, "%s{\"name\":", i ? "," : "");
        json_str(f, r->name);
        fprintf(f, ",\"unit\":");
        json_str(f, r->unit);
        fprintf(f, ",\"value\":");
        json_num(f, r->value);
        if (r->has_dist) {
            fprintf(f, ",\"samples\":%zu,\"min\":", r->dist.n);
            json_num(f, r->dist.min);
            fprintf(f, ",\"p50\":");
            json_num(f, r->dist.p50);
            fprintf(f, ",\"p90\":");
            json_num(f, r->dist.p90);
            fprintf(f, ",\"p99\":");
            json_num(f, r->dist.p99);
            fprintf(f, ",\"max\":");
            json_num(f, r->dist.max);
            fprintf(f, ",\"mean\":");
            json_num(f, r->dist.mean);
        }
        for (int k = 0; k < r->nextra; k++) {
            fputc(',', f);
            json_str(f, r->extra_name[k]);
            fputc(':', f);
            json_num(f, r->extra[k]);
        }
        if (r->note[0]) {
            fprintf(f, ",\"note\":");
            json_str(f, r->note);
        }
        fputc('}', f);
    }
    fprintf(f, "]}\n");
}

const struct bench_result *bench_report_find(const struct bench_report *rep, const char *name)
{
    for (int i = 0; i < rep->n; i++)
        if (!strcmp(rep->r[i].name, name))
            return &rep->r[i];
    return NULL;
}
