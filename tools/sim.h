/* `rpmsg sim`: shared state between the sim process and its core processes. */
#ifndef RPMSG_TOOLS_SIM_H
#define RPMSG_TOOLS_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sim_topo.h"

/* Service names every built-in core answers (echo back whatever arrives). */
#define SIM_ECHO_SVC "rpmsg-sim-echo"
#define SIM_PING_SVC "rpmsg-ping" /* the one `rpmsg ping` uses */

struct sim_link_status {
    uint8_t open, up;
    uint32_t reopens;
    uint64_t tx_msgs, rx_msgs, tx_bytes, rx_bytes, errors;
    /* What `status CORE` shows, as `rpmsg list` does: from the link while up. */
    char peer[32];
    uint32_t features, tx_bufs, rx_bufs, tx_buf_size, rx_buf_size;
};

/* A bridge of the core (topology `bridge =`), as its counters say. */
struct sim_bridge_status {
    uint32_t state; /* enum sim_svc_state */
    uint64_t conns, active, errors, to_rpmsg, to_end;
};

/* A mount of the core (topology `mount =`). */
struct sim_mount_status {
    uint32_t state; /* enum sim_svc_state */
    uint32_t remounts; /* the client connected again (a new link or route) */
    char error[80];
};

enum sim_svc_state { SIM_SVC_WAITING, SIM_SVC_RUNNING, SIM_SVC_FAILED };

enum sim_core_state { SIM_CORE_STOPPED, SIM_CORE_STARTING, SIM_CORE_RUNNING, SIM_CORE_DEAD };

struct sim_core_status {
    pid_t pid;
    uint32_t state; /* enum sim_core_state, written by the sim process */
    uint32_t restarts;
    uint32_t far_up;              /* virtual devices up (cores reached through hubs) */
    uint64_t relayed_msgs, relayed_bytes;
    uint64_t echoed;              /* messages answered by the echo service */
    struct sim_link_status link[TOPO_LINKS_MAX]; /* by topology link index */
    struct sim_bridge_status bridge[TOPO_SVC_MAX];
    struct sim_mount_status mount[TOPO_SVC_MAX];
    uint32_t fs_clients; /* clients of this core's exports */
};

/* One measured route: ping round trips, then a windowed echo stream. */
struct sim_measure {
    uint32_t target;       /* core index */
    uint32_t ok;
    uint32_t bind_ms;      /* from start until its echo service was bound */
    uint32_t pings;
    double rtt_min_us, rtt_p50_us, rtt_avg_us, rtt_max_us;
    uint32_t sent, received, seq_errors, sum_errors;
    uint32_t size, window;
    double seconds;
    char error[96];
};

struct sim_demo {
    uint32_t go;           /* --demo-wait: set by the `go` command */
    uint32_t done;         /* the client finished (either way) */
    struct sim_measure far, near; /* demo_to; and the first hop, if different */
};

struct sim_shared {
    struct sim_core_status core[TOPO_CORES_MAX];
    struct sim_demo demo;
};

struct sim_opts {
    bool demo;
    bool demo_wait; /* start the client on the `go` command only */
    uint32_t count, size, pings;
    uint32_t window; /* demo stream: messages in flight */
    char tag[48]; /* unique per sim run: names shm objects */
    const char *pcap_dir; /* --pcap DIR: DIR/LINK-CORE.pcap per link end */
};

/* Link spec of core `me` on topology link `li` (for rpmsg_link_open). */
int sim_link_spec(const struct topo *t, const struct sim_opts *o, int li, int me,
                  const char *const *tty_paths, char *buf, size_t len);

/* Body of a forked built-in core; returns the process exit code. */
int sim_core_main(const struct topo *t, int me, struct sim_shared *sh,
                  const struct sim_opts *o, const char *const *tty_paths);

#endif
