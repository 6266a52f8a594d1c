/*
 * Ready-made links for Linux programs: one call sets up the physical layer
 * (src/platform/linux) and the transport above it and hands back the
 * framework device. The tools, the multi-process tests, the benchmarks and
 * `rpmsg sim` all open their links through here, so they speak the same
 * link specifications:
 *
 *   virtio:NAME            native VirtIO link over /dev/shm/NAME with a futex doorbell
 *   openamp:SHM:SOCK       OpenAMP-compatible VirtIO link (wire-formats.md §4):
 *                          /dev/shm/SHM + one-byte kicks on AF_UNIX socket SOCK
 *   uart:PATH[@BAUD]       port transport over a tty (real, or one side of the
 *                          line emulator, rpmsg_line_tty_a/b); BAUD sets termios
 *                          and the protocol's timers
 *   nuttx-sim:SHM[:host|remote]
 *                          NuttX simulator link (nuttx-wire.md §4) over
 *                          /dev/shm/SHM (NuttX's default: server-proxy): host
 *                          plays NuttX's master (rpserver), remote its slave
 *                          (rpproxy); without the suffix .role decides. wait
 *                          RPMSG_LINK_INTERRUPT polls every 1 ms as NuttX does
 *   spi:BUS[@HZ]:master|slave
 *                          port transport over a simulated SPI bus: the one
 *                          registered under the name BUS in this process (or a
 *                          parent it was forked from) with
 *                          rpmsg_link_register_spibus(), else one in the named
 *                          object /dev/shm/BUS, created by the side
 *                          RPMSG_LINK_CREATE (clocked at HZ, default 10 MHz)
 *                          and attached by the other
 *
 * Allocates (this is the hosted convenience layer, not the core).
 */
#ifndef RPMSG_LINK_H
#define RPMSG_LINK_H

#include <stdint.h>

#include "rpmsg.h"

#ifdef __cplusplus
extern "C" {
#endif

enum rpmsg_link_role { RPMSG_LINK_HOST, RPMSG_LINK_REMOTE };
enum rpmsg_link_side { RPMSG_LINK_CREATE, RPMSG_LINK_ATTACH };
enum rpmsg_link_wait { RPMSG_LINK_ADAPTIVE, RPMSG_LINK_POLL, RPMSG_LINK_INTERRUPT };

struct rpmsg_link_config {
    const char *spec;          /* see above */
    enum rpmsg_link_role role; /* virtio role */
    enum rpmsg_link_side side; /* native: who creates the shm object (comes first) */
    bool listen;               /* openamp: listen on SOCK (else connect) */
    enum rpmsg_link_wait wait; /* how the RX thread waits for the peer */
    const char *cpuname;       /* local cpu name; default "host"/"remote" */
    /* nuttx-sim: the peer's name when we are the master (NuttX's slave takes
     * its own from the table); default "proxy". Local default "server"/"proxy". */
    const char *peer_cpuname;
    uint32_t timeout_ms;       /* for the peer to appear; 0: 10 s */
    uint32_t num_bufs;         /* native: buffers per direction; 0: 256 */
    uint32_t buf_size;         /* native and port: bytes per buffer; 0: 512 */
    /*
     * native: feature bits this side offers (RPMSG_F_*, RPMSG_VIRTIO_F_*);
     * 0: everything (RPMSG_VIRTIO_F_DEFAULT). RPMSG_F_NS alone makes this
     * side look like a plain Linux/OpenAMP peer (no CREATE_ACK: endpoints
     * bind on the first message). openamp: always RPMSG_F_NS.
     */
    uint32_t features;
    /*
     * Asked every few ms while rpmsg_link_open() and rpmsg_link_wait_up()
     * wait for the peer (VirtIO links; wait_up for every kind): true gives
     * up at once with -ECANCELED. A tool returns its SIGINT/SIGTERM flag
     * here. NULL: wait out timeout_ms.
     */
    bool (*cancel)(void *arg);
    void *cancel_arg;
    /*
     * Native VirtIO: how often a side checks that its peer process is
     * still there, i.e. how long a kill -9 of the peer can go unnoticed
     * (0: 100 ms). OpenAMP links notice at once (the socket hangs up).
     */
    uint32_t liveness_ms;
};

struct rpmsg_link;
struct rpmsg_spibus;

/*
 * Names a simulated SPI bus (rpmsg_spibus_create) for "spi:" specs; bus NULL
 * removes the name. The bus is in anonymous shared memory: register it
 * before forking the processes that open its two ends.
 */
int rpmsg_link_register_spibus(const char *name, struct rpmsg_spibus *bus, uint32_t clock_hz);

/* Opens the link; returns once it is set up (not necessarily up yet). */
int rpmsg_link_open(struct rpmsg_link **out, const struct rpmsg_link_config *cfg);
struct rpmsg_device *rpmsg_link_device(struct rpmsg_link *link);
/* Waits until the link is up (device_created has fired). 0 or -ETIMEDOUT. */
int rpmsg_link_wait_up(struct rpmsg_link *link, uint32_t timeout_ms);
/* What a link is made of, as `rpmsg list` shows it. */
struct rpmsg_link_info {
    const char *kind;       /* "virtio", "openamp", "nuttx-sim", "uart" or "spi" */
    uint32_t tx_bufs, rx_bufs; /* buffers each way (port: in flight / credits offered) */
    uint32_t tx_buf_size, rx_buf_size; /* bytes per buffer, rpmsg header included */
};
int rpmsg_link_info(struct rpmsg_link *link, struct rpmsg_link_info *out);
/* Transport counters as "key=value" text (notifications, faults...). */
int rpmsg_link_describe(struct rpmsg_link *link, char *buf, size_t size);
/* Transport-level errors so far: VirtIO faults; port CRC/framing errors and
 * messages lost across a peer reset. */
uint64_t rpmsg_link_errors(struct rpmsg_link *link);
/* True when the link can no longer come up (native VirtIO after its peer
 * died): close it and open a new one. Port links recover by themselves. */
bool rpmsg_link_is_dead(struct rpmsg_link *link);
/* Why a link went down (rpmsg_link_trouble). */
enum rpmsg_link_down {
    RPMSG_LINK_DOWN_NONE,   /* it did not, or the transport cannot tell */
    RPMSG_LINK_DOWN_CLOSED, /* the peer closed or reset it in order */
    RPMSG_LINK_DOWN_DEAD,   /* the peer died without closing */
    RPMSG_LINK_DOWN_FAULT,  /* the peer broke the protocol (VirtIO: a fault) */
};
/*
 * What went wrong on the link so far: a fault if there was one (even if
 * the link healed since), else why it last went down. The reason in words
 * into buf when buf is not NULL ("" for NONE), e.g. "fault: descriptor id
 * out of range or not in the peer's hands (vring1 avail entry 3: id 300),
 * 1 fault", "down: the peer died", or on UART/SPI "down: peer silent: ..."
 * (the peer timeout) and "down: the peer restarted". Returns enum
 * rpmsg_link_down.
 */
int rpmsg_link_trouble(struct rpmsg_link *link, char *buf, size_t size);
/* Takes the link down, tells the peer, removes every name it owns. */
void rpmsg_link_close(struct rpmsg_link *link);

/*
 * Joining an `rpmsg sim` topology as one of its cores. For a core whose
 * section has `program = CMD`, the sim runs CMD (sh -c) with the core's name
 * in RPMSG_SIM_CORE, "1" in RPMSG_SIM_HUB if it routes, and its links in
 * RPMSG_SIM_LINKS ("SPEC,host|remote;..."; an SPI bus is a named object
 * the sim created, which the program attaches). rpmsg_link_join() opens them all (waiting up to
 * timeout_ms, 0: 10 s, for each peer), starts a router on them, and
 * returns: from then on the program registers services and reaches any core
 * of the topology by name (device_created with its cpu name, or
 * rpmsg_router_find). A VirtIO link whose peer dies stays down: the program
 * should leave and join again. -ENOENT when not started by `rpmsg sim`.
 */
struct rpmsg_link_member;
struct rpmsg_router;
int rpmsg_link_join(struct rpmsg_link_member **out, uint32_t timeout_ms);
const char *rpmsg_link_member_cpuname(struct rpmsg_link_member *m);
struct rpmsg_router *rpmsg_link_member_router(struct rpmsg_link_member *m);
/* The member's i-th link (the order of RPMSG_SIM_LINKS), or NULL. */
struct rpmsg_link *rpmsg_link_member_link(struct rpmsg_link_member *m, int i);
/* Stops the router (destroy endpoints on far cores first) and closes the links. */
void rpmsg_link_leave(struct rpmsg_link_member *m);

#ifdef __cplusplus
}
#endif

#endif
