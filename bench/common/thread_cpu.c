#include "thread_cpu.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int tcpu_self(void)
{
    return (int)syscall(SYS_gettid);
}

static bool has(const struct tcpu_set *s, int tid)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->tid[i] == tid)
            return true;
    return false;
}

bool tcpu_add(struct tcpu_set *s, int tid)
{
    if (has(s, tid))
        return true;
    if (s->n == TCPU_MAX)
        return false;
    s->tid[s->n++] = tid;
    return true;
}

void tcpu_snapshot(struct tcpu_set *s)
{
    s->n = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            tcpu_add(s, atoi(e->d_name));
    closedir(d);
}

void tcpu_add_new(struct tcpu_set *s, const struct tcpu_set *before)
{
    struct tcpu_set now;
    tcpu_snapshot(&now);
    for (unsigned i = 0; i < now.n; i++)
        if (!has(before, now.tid[i]))
            tcpu_add(s, now.tid[i]);
}

uint64_t tcpu_ns(const struct tcpu_set *s)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < s->n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", s->tid[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        unsigned long long ns = 0;
        if (fscanf(f, "%llu", &ns) == 1)
            sum += ns;
        fclose(f);
    }
    return sum;
}
