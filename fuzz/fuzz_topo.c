/*
 * The topology parser of `rpmsg sim` (tools/sim_topo.c, libinih) against
 * any file. The input is the file's text, given to topo_load() through a
 * memory file (/proc/self/fd/N); fuzz/fuzz_topo.dict gives libFuzzer the
 * section and key names. Checked: a topology that loads is consistent
 * (indexes in range, links between two different known cores, names
 * terminated) and the path search over it stays in bounds; a rejection
 * carries a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../tools/sim_topo.h"

static void check(const struct topo *t)
{
    if (t->ncores < 2 || t->ncores > TOPO_CORES_MAX || t->nlinks < 1 || t->nlinks > TOPO_LINKS_MAX)
        abort();
    for (int i = 0; i < t->ncores; i++)
        if (!memchr(t->cores[i].name, 0, TOPO_NAME_MAX) || !t->cores[i].name[0] ||
            topo_core_index(t, t->cores[i].name) != i)
            abort();
    for (int i = 0; i < t->nlinks; i++) {
        const struct topo_link *l = &t->links[i];
        if (l->end[0] < 0 || l->end[0] >= t->ncores || l->end[1] < 0 || l->end[1] >= t->ncores ||
            l->end[0] == l->end[1] || !memchr(l->name, 0, TOPO_NAME_MAX))
            abort();
    }
    if (t->demo_from >= t->ncores || t->demo_to >= t->ncores)
        abort();
    for (int i = 0; i < t->ncores; i++) {
        const struct topo_core *c = &t->cores[i];
        if (c->nbridges > TOPO_SVC_MAX || c->nexports > TOPO_SVC_MAX || c->nmounts > TOPO_SVC_MAX)
            abort();
        for (int k = 0; k < c->nmounts; k++)
            if (c->mount[k].cpu < 0 || c->mount[k].cpu >= t->ncores || c->mount[k].cpu == i ||
                !memchr(c->mount[k].dir, 0, TOPO_ARG_MAX))
                abort();
        for (int k = 0; k < c->nbridges; k++)
            if (!memchr(c->bridge[k].a, 0, TOPO_ARG_MAX) || !memchr(c->bridge[k].b, 0, TOPO_ARG_MAX))
                abort();
    }
    int path[TOPO_CORES_MAX];
    for (int a = 0; a < t->ncores; a++) {
        int n = topo_path(t, a, (a + 1) % t->ncores, path, TOPO_CORES_MAX);
        if (n < 0 || n > t->ncores)
            abort();
        for (int k = 1; k < n; k++)
            if (topo_link_between(t, path[k - 1], path[k]) < 0)
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    static struct topo t;
    if (fd < 0) {
        fd = memfd_create("fuzz-topo", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    char err[256] = "";
    if (topo_load(&t, path, err, sizeof(err)) == 0)
        check(&t);
    else if (!err[0])
        abort();
    return 0;
}
