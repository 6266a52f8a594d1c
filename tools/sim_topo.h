/* Topology files of `rpmsg sim` (format: docs/topology.md). */
#ifndef RPMSG_TOOLS_SIM_TOPO_H
#define RPMSG_TOOLS_SIM_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOPO_CORES_MAX 16
#define TOPO_LINKS_MAX 32
#define TOPO_NAME_MAX 24
#define TOPO_LINKS_PER_CORE 8
#define TOPO_SVC_MAX 4 /* bridges, exports and mounts, each, per core */
#define TOPO_ARG_MAX 256

/* bridge = A B: the two addresses of `rpmsg sock` (checked by sim_svc.c). */
struct topo_bridge {
    char a[TOPO_ARG_MAX], b[TOPO_ARG_MAX];
    int line;
};

/* export = NAME DIR [ro] */
struct topo_export {
    char name[TOPO_NAME_MAX * 2];
    char dir[TOPO_ARG_MAX];
    bool ro;
    int line;
};

/* mount = CPU:NAME MOUNTPOINT */
struct topo_mount {
    int cpu; /* core index */
    char name[TOPO_NAME_MAX * 2];
    char dir[TOPO_ARG_MAX];
    int line;
};

enum topo_link_type { TOPO_VIRTIO, TOPO_UART, TOPO_SPI };

struct topo_core {
    char name[TOPO_NAME_MAX];
    bool hub;
    char program[256]; /* empty: built-in core; else run this with sh -c */
    /* kind = nuttx-sim: a NuttX simulator process the user runs, reached
     * over its shm object; the sim starts nothing for it. */
    bool nuttx;
    char shm[64];
    int line;
    struct topo_bridge bridge[TOPO_SVC_MAX];
    struct topo_export export[TOPO_SVC_MAX];
    struct topo_mount mount[TOPO_SVC_MAX];
    int nbridges, nexports, nmounts;
};

struct topo_link {
    char name[TOPO_NAME_MAX];
    enum topo_link_type type;
    /* end[0]: virtio host, SPI master, UART side A; end[1]: the other */
    int end[2];
    uint32_t num_bufs, buf_size; /* virtio; buf_size also for ports */
    uint32_t rate;               /* UART baud / SPI clock in Hz; 0: unpaced */
    double ber;
    int line;
};

struct topo {
    char file[256];
    struct topo_core cores[TOPO_CORES_MAX];
    struct topo_link links[TOPO_LINKS_MAX];
    int ncores, nlinks;
    /* [sim] */
    int demo_from, demo_to; /* core indexes, -1 if unset */
    uint32_t demo_count, demo_size, demo_pings;
};

/*
 * Parses path into t. On failure returns -1 and writes "file:line: reason"
 * into err.
 */
int topo_load(struct topo *t, const char *path, char *err, size_t errlen);
int topo_core_index(const struct topo *t, const char *name);
/* Shortest path from a to b as core indexes (BFS through hubs only);
 * returns the number of cores on it (0 if none). */
int topo_path(const struct topo *t, int a, int b, int *path, int max);
/* The link joining two cores, or -1. */
int topo_link_between(const struct topo *t, int a, int b);
const char *topo_type_name(enum topo_link_type type);

#endif
