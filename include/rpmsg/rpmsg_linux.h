/*
 * Linux host platform for the VirtIO transport: the shared region and the
 * doorbells between two processes on one machine.
 *
 * Two flavours:
 *
 * - Native link (rpmsg_linux_open): one POSIX shm object /dev/shm/<name>
 *   holding the region followed by one control page (the "trailer", never
 *   part of the virtio layout). The trailer holds magic, version, both pids,
 *   a generation counter and one futex doorbell per direction. The creator
 *   publishes the object fully initialised (O_TMPFILE + linkat), the attacher
 *   maps it, registers, and unlinks the name at once: a running link has no
 *   name left in /dev/shm, so a killed process leaves nothing behind. A name
 *   left by a creator that died before anyone attached is detected (owner pid
 *   gone, or reused by another process) and replaced by the next creator or
 *   removed by the next attacher; a live owner is refused with -EADDRINUSE.
 *
 * - OpenAMP link (rpmsg_linux_open_openamp): wire-formats.md §4, for talking
 *   to OpenAMP's Linux-process demos. The shm object is plain (no trailer);
 *   a kick is one byte on an AF_UNIX stream socket. The socket's name goes
 *   once the socket is connected; the shm name goes once both sides have
 *   the region mapped: at once on the connecting side (it maps before it
 *   connects), on the listening side at the peer's first kick or hang-up
 *   (a peer may connect first and map afterwards).
 *
 * Either way the result is a struct rpmsg_linux_link: ops + plat for the
 * transport's struct rpmsg_virtio_platform_ops seam, and the region (base,
 * size; a device address is a byte offset into it).
 *
 * Every function returns 0 or a negative errno. Nothing read from the
 * shared page or the socket is trusted.
 *
 * Threads: the four ops may be called concurrently from any threads (senders
 * notify, the RX thread waits, anyone wakes up or asks peer_alive).
 * rpmsg_linux_close() must come after the last op call has returned.
 *
 * A native wait() returns (0) once when it finds the peer dead, so that a
 * thread sleeping on the link notices; the caller learns why from
 * peer_alive(). A dead link stays dead: close it and open a new one.
 */
#ifndef RPMSG_LINUX_H
#define RPMSG_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rpmsg_virtio.h"

#ifdef __cplusplus
extern "C" {
#endif

enum rpmsg_linux_side {
    RPMSG_LINUX_CREATOR,  /* makes the object; must come first */
    RPMSG_LINUX_ATTACHER, /* maps the creator's object */
};

/* How wait() waits for the peer's doorbell. Local to each side. */
enum rpmsg_linux_mode {
    RPMSG_LINUX_ADAPTIVE,  /* spin briefly, then sleep in the kernel (default) */
    RPMSG_LINUX_POLL,      /* spin only: lowest latency, burns a CPU while waiting */
    RPMSG_LINUX_INTERRUPT, /* sleep at once: least CPU, one wake-up syscall per ring */
};

/* Largest region a link accepts (either side), a sanity bound. */
#define RPMSG_LINUX_REGION_MAX ((size_t)1 << 30)
/* Default size of an OpenAMP shm object (wire-formats.md §4). */
#define RPMSG_LINUX_OPENAMP_SHM_SIZE 0x80000u

struct rpmsg_linux_config {
    /* shm object name: 1..200 characters, no '/' (a leading '/' is ignored), not "." or "..". */
    const char *name;
    enum rpmsg_linux_side side;
    /*
     * Creator: the region's size in bytes (1..RPMSG_LINUX_REGION_MAX).
     * Attacher: 0 takes the creator's size, anything else must match it.
     */
    size_t region_size;
    enum rpmsg_linux_mode mode;
    uint32_t spin_us;     /* adaptive mode: spin budget per wait; 0: 20 us */
    /*
     * A sleeping wait checks the peer's liveness this often, so that it
     * returns when the peer dies (0: 100 ms). Costs one syscall per period.
     */
    uint32_t liveness_ms;
    /* Attacher: how long to wait for the creator's object to appear (0: don't). */
    uint32_t timeout_ms;
    /* Asked every few ms while the attacher waits: true gives up with -ECANCELED. May be NULL. */
    bool (*cancel)(void *arg);
    void *cancel_arg;
};

struct rpmsg_linux_openamp_config {
    const char *shm_name;  /* /dev/shm/<shm_name>, created if missing */
    size_t shm_size;       /* 0: RPMSG_LINUX_OPENAMP_SHM_SIZE */
    /* Socket path; a leading '@' selects the abstract namespace (no file at all). */
    const char *sock_path;
    bool listen;           /* true: bind+listen+accept ("unixs:"), false: connect ("unix:") */
    uint32_t timeout_ms;   /* how long open waits for the peer; 0: 10 s, UINT32_MAX: forever */
    bool keep_names;       /* do not unlink the shm object once connected */
    /*
     * Called once the region is mapped and before the socket is offered to
     * the peer (listen or connect), with the region; a non-zero return
     * fails the open with it. The side that writes the resource table
     * writes it here: an OpenAMP host reads it as soon as connect() returns.
     */
    int (*prepare)(void *arg, void *base, size_t size);
    void *prepare_arg;
    /* Asked every few ms while open waits for the peer: true gives up with -ECANCELED. May be NULL. */
    bool (*cancel)(void *arg);
    void *cancel_arg;
};

/*
 * NuttX simulator link (nuttx-wire.md §4): the POSIX shm object that NuttX's
 * sim_rptun driver shares between a master (rpserver) and a slave
 * (rpproxy), with its boot words and notify counters. Use the region with
 * rpmsg_virtio_layout_nuttx_sim() and .legacy = true.
 */
struct rpmsg_linux_nuttx_config {
    const char *shm_name;       /* default "server-proxy" */
    bool master;                /* true: play rpserver (creates the object), false: rpproxy */
    /* Master: the names written into the table (NuttX's slave takes its own
     * from there); 7 characters at most. Defaults "server" and "proxy". */
    const char *host_cpuname;
    const char *remote_cpuname;
    uint32_t poll_ms;           /* 0: spin, then sleep up to 1 ms; N: sleep N ms between looks, as NuttX */
    uint32_t timeout_ms;        /* slave: how long to wait for the object to appear */
};

/* What the transport needs. Everything else stays behind plat. */
struct rpmsg_linux_link {
    struct rpmsg_virtio_platform_ops ops;
    void *plat;
    void *base;  /* the region: device address N is base + N */
    size_t size; /* bytes of the region the transport may use */
};

/* Sets up a native link; on failure nothing is left mapped, open or named. */
int rpmsg_linux_open(struct rpmsg_linux_link *link, const struct rpmsg_linux_config *cfg);

/* Sets up an OpenAMP-compatible link; blocks until the socket is connected. */
int rpmsg_linux_open_openamp(struct rpmsg_linux_link *link,
                             const struct rpmsg_linux_openamp_config *cfg);

/* Sets up a NuttX simulator link; the handshake runs in peer_alive(). */
int rpmsg_linux_open_nuttx_sim(struct rpmsg_linux_link *link,
                               const struct rpmsg_linux_nuttx_config *cfg);
/*
 * NuttX simulator link: tells the peer we leave (our status word loses OK,
 * NEED_RESET goes into the peer's, so a NuttX peer starts over instead of
 * waiting for us), after which the link stays down. As master, call it
 * before rpmsg_virtio_deinit() so a NuttX peer stops sending first. As
 * slave, call it after: it then returns the master's TX buffers while the
 * master tears its session down (bounded, at most 3 s), which must not
 * race with a running transport.
 */
void rpmsg_linux_nuttx_sim_leave(struct rpmsg_linux_link *link);
/* Waits until the peer has not notified for quiet_ms (at most max_ms). */
void rpmsg_linux_nuttx_sim_settle(struct rpmsg_linux_link *link, uint32_t quiet_ms,
                                  uint32_t max_ms);
/* Leaves (if not done yet), unmaps; unlink_name removes the name if it is still ours. */
void rpmsg_linux_close_nuttx_sim(struct rpmsg_linux_link *link, bool unlink_name);

/*
 * Tells the peer this side is gone (native: it sees -ENOTCONN from
 * peer_alive), unmaps, closes, removes any name this link still owns.
 * Safe on a zeroed or already closed link.
 */
void rpmsg_linux_close(struct rpmsg_linux_link *link);

/*
 * Native creator: waits until an attacher has registered (its doorbell ring
 * wakes us). 0, -ETIMEDOUT, or -ENOTCONN if the link is already dead.
 * Attacher and OpenAMP links: 0 at once (open already paired them).
 */
int rpmsg_linux_wait_peer(struct rpmsg_linux_link *link, uint64_t deadline_ms);

/* The peer's pid once known (native: from the trailer; OpenAMP: SO_PEERCRED), else 0. */
pid_t rpmsg_linux_peer_pid(const struct rpmsg_linux_link *link);

#ifdef __cplusplus
}
#endif

#endif /* RPMSG_LINUX_H */
