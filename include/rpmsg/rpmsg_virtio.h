/*
 * VirtIO transport: rpmsg over split virtqueues in a shared region, with the
 * remoteproc resource table, byte-compatible with Linux virtio_rpmsg_bus and
 * OpenAMP (wire-formats.md §1-4).
 *
 * The transport knows nothing of how the region is mapped or how the peer is
 * interrupted: a platform (src/platform/linux on a host, a BSP on a chip)
 * supplies the region and the doorbell through struct rpmsg_virtio_platform_ops.
 *
 * Usage:
 *     static struct rpmsg_virtio vdev;          // no malloc anywhere
 *     struct rpmsg_virtio_layout lay;
 *     rpmsg_virtio_layout_default(&lay, NULL);  // or rpmsg_virtio_layout_openamp()
 *     struct rpmsg_virtio_config cfg = {
 *         .role = RPMSG_VIRTIO_HOST, .shm = base, .shm_size = size, .layout = &lay,
 *         .cpuname = "ap", .ops = &plat_ops, .plat = plat,
 *     };
 *     rpmsg_virtio_init(&vdev, &cfg);           // returns at once
 *     struct rpmsg_device *rdev = rpmsg_virtio_get_device(&vdev);
 *     // the link comes up asynchronously (device_created fires) once both
 *     // sides ran their handshake in poll() (RX thread or rpmsg_poll()).
 *     ...
 *     rpmsg_virtio_deinit(&vdev);
 *
 * Addresses: a "device address" (da) is a byte offset into the region; the
 * descriptors carry it in their u64 addr field. Both sides use the same
 * region; nothing outside [shm, shm + shm_size) is ever touched, whatever
 * the peer writes.
 *
 * HANDSHAKE AND RESET (our own protocol on top of virtio; a "legacy" peer,
 * i.e. plain Linux or OpenAMP, does not take part in it, see .legacy):
 * two bytes of the vdev entry that Linux and OpenAMP leave as reserved carry
 *   reserved[0] = gen: written by the host only. 0 = "not published"; 1..255
 *                 = generation of the rings the host has just (re)initialised.
 *   reserved[1] = ack: written by the remote only. 0 = "not ready / please
 *                 reset"; otherwise the gen whose table the remote accepted
 *                 (it has written dfeatures and its config fields by then).
 * Host:   gen = 0, status = 0 (unpublished); writes the table if it is the
 *         table writer, else validates the remote's; gen = previous gen + 1
 *         (skipping 0); waits until ack == gen; reads dfeatures, negotiates,
 *         lays out the buffers, zeroes the rings, posts its RX buffers, writes
 *         gfeatures and the config fields, status = 0x0f (ACK|DRIVER|
 *         FEATURES_OK|DRIVER_OK); link up.
 * Remote: ack = 0 (writes the table first, status 0, if it is the writer);
 *         waits until gen != 0 and status has no DRIVER_OK; validates the
 *         table; writes dfeatures and its config fields; ack = gen; waits for
 *         DRIVER_OK (going back if gen changes meanwhile); link up.
 * Resets: the host signals one by unpublishing (gen = 0, status = 0) and
 * publishing a new gen; the remote by writing ack = 0. A side takes the link
 * down when it sees the other's reset, when the platform's peer_alive() says
 * -ENOTCONN, or on a protocol violation in the region (a "fault": counted,
 * with which check failed, where and on what value; poll() returns -EPROTO). Then the host unpublishes, waits for ack == 0 (or
 * for the peer to come back alive) and runs its sequence again; the remote
 * writes ack = 0 and waits for a new gen. A peer restart therefore brings
 * the link back up by itself. After 3 faults without the link coming up in
 * between, the host stops trying until peer_alive() reports a restart.
 * Legacy peers have no gen/ack. A faulted legacy remote sets NEEDS_RESET
 * (0x40) in the status, as a virtio device does, and comes back once the
 * host resets the device (the bit cleared) and sets DRIVER_OK again; a
 * legacy host that sees NEEDS_RESET resets the device and starts again. A
 * legacy remote that leaves (deinit) sets NEEDS_RESET too. A faulted legacy
 * host resets the device (status 0) and starts again when peer_alive()
 * reports the remote restarted.
 *
 * Feature bits (the u32 dfeatures/gfeatures of the vdev entry):
 *   bit 0  RPMSG_F_NS, bit 1 RPMSG_F_ACK (rpmsg.h)
 *   bit 2  RPMSG_VIRTIO_F_BUFSZ: per-direction buffer sizes from the config space
 *   bit 3  RPMSG_VIRTIO_F_CPUNAME: both cpu names in the config space
 *   bit 4  NuttX's VIRTIO_RPMSG_F_BUFADDR (buffer addresses in the config
 *          space; openamp patch 0019, offered by every NuttX rptun that has
 *          it): never ours to accept, see RPMSG_VIRTIO_F_FOREIGN
 *   bit 23 RPMSG_VIRTIO_F_RING_PACKED: both vrings use the packed layout
 *          (VirtIO 1.1 §2.7; virtio's own bit 34 does not fit this word; the
 *          last device-type bit, away from NuttX's, which count up from 0)
 *   bit 29 RPMSG_VIRTIO_F_EVENT_IDX: VIRTIO_RING_F_EVENT_IDX (used_event/avail_event)
 * BUFSZ and CPUNAME need a config space (config_len >= 128) in the table;
 * the table writer adds one when it offers either bit. Without BUFSZ both
 * directions use RPMSG_BUFFER_SIZE (512) byte buffers as Linux does.
 * EVENT_IDX is the standard virtio ring feature: with it a burst of messages
 * into an idle peer costs one notification; without it the rings use the
 * NO_INTERRUPT/NO_NOTIFY flags (set while the consumer drains, or while it
 * is not short of buffers).
 * RING_PACKED is for native links only and is not in the default offer:
 * both sides must offer it (config.features), a peer that does not gets
 * split rings. The packed ring sits where the split ring would (it needs
 * less room), so the layout is the same either way (docs/virtio.md).
 *
 * Talking to plain OpenAMP / Linux peers (wire-formats.md §4):
 *   rpmsg_virtio_layout_openamp(), .legacy = true, .features = RPMSG_F_NS
 *   (a plain peer does not know the other bits; with NS only the table has
 *   no config space, byte for byte what OpenAMP expects), and
 *   .remote_writes_table = true when the OpenAMP side writes the table
 *   (the side that listens on the socket does).
 */
#ifndef RPMSG_VIRTIO_H
#define RPMSG_VIRTIO_H

#include <stddef.h>

#include "rpmsg_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a platform's wait_ready() watches besides the doorbell. */
struct rpmsg_virtio_watch {
    /* Has the peer published a message? Cheap, reads no lock. */
    bool (*ready)(void *arg);
    /*
     * Asks the peer to ring for its next message and returns ready(). The
     * transport asks only here, right before a sleep: a waiter that spins
     * watches the ring itself, and a request made at every empty look
     * would cost the peer a kick (and both sides the line that carries the
     * request) for messages the spin sees anyway.
     */
    bool (*arm)(void *arg);
    void *arg;
};

/* The physical layer under a VirtIO link: a doorbell each way plus liveness. */
struct rpmsg_virtio_platform_ops {
    /* Rings the peer's doorbell (an "interrupt"). notifyid: the vring's id. */
    int (*notify)(void *plat, uint32_t notifyid);
    /*
     * Waits until the peer rings our doorbell or the absolute deadline
     * (rpmsg_time_ms() scale) passes. 0 or -ETIMEDOUT; spurious returns are fine.
     */
    int (*wait)(void *plat, uint64_t deadline_ms);
    /* Makes a concurrent or the next wait() return at once. */
    void (*wakeup)(void *plat);
    /* 0 while the peer is alive, -ENOTCONN once it is known dead. May be NULL. */
    int (*peer_alive)(void *plat);
    /*
     * Optional: wait() that also returns 1 as soon as w->ready(w->arg)
     * holds. A waiter that spins may look at the ring itself instead of the
     * doorbell alone, which the peer rings only after publishing: the
     * message is seen one cache miss earlier. Before every sleep it must
     * call w->arm(w->arg), and return 1 instead of sleeping if that returns
     * true: with wait_ready, the transport asks the peer for RX kicks there
     * and nowhere else. May be NULL (the transport then asks whenever it
     * finds the ring empty).
     */
    int (*wait_ready)(void *plat, uint64_t deadline_ms, const struct rpmsg_virtio_watch *w);
    /*
     * Optional: true if this side's waits never sleep and watch the ring
     * (wait_ready, poll mode). The transport then asks the peer for no
     * notification of new messages: a kick would only cost the peer a write
     * and this side a poll that finds nothing. May be NULL.
     */
    bool (*spins)(void *plat);
};

enum rpmsg_virtio_role {
    RPMSG_VIRTIO_HOST,   /* virtio driver ("master"): owns the buffers, Linux's role */
    RPMSG_VIRTIO_REMOTE, /* virtio device: OpenAMP remote / firmware role */
};

/* ---- Wire constants (wire-formats.md §3) -------------------------------- */

#define RPMSG_VIRTIO_F_BUFSZ (1u << 2)
#define RPMSG_VIRTIO_F_CPUNAME (1u << 3)
#define RPMSG_VIRTIO_F_RING_PACKED (1u << 23)
/* Bits other stacks define that this one does not implement: masked out of
 * what we offer and accept, whatever the caller's config says (NuttX's
 * BUFADDR is bit 4, where builds before this one put RING_PACKED). */
#define RPMSG_VIRTIO_F_NUTTX_BUFADDR (1u << 4)
#define RPMSG_VIRTIO_F_FOREIGN RPMSG_VIRTIO_F_NUTTX_BUFADDR
#define RPMSG_VIRTIO_F_EVENT_IDX (1u << 29)
/* What a zeroed config offers (see rpmsg_virtio_config.features). */
#define RPMSG_VIRTIO_F_DEFAULT \
    (RPMSG_F_NS | RPMSG_F_ACK | RPMSG_VIRTIO_F_BUFSZ | RPMSG_VIRTIO_F_CPUNAME | \
     RPMSG_VIRTIO_F_EVENT_IDX)

#define RPMSG_VIRTIO_ID_RPMSG 7u
#define RPMSG_RSC_VDEV 3u
#define RPMSG_VIRTIO_STATUS_ACK 0x01u
#define RPMSG_VIRTIO_STATUS_DRIVER 0x02u
#define RPMSG_VIRTIO_STATUS_DRIVER_OK 0x04u
#define RPMSG_VIRTIO_STATUS_FEATURES_OK 0x08u
#define RPMSG_VIRTIO_STATUS_NEEDS_RESET 0x40u

/*
 * Device config space (config_len bytes after the vrings in the vdev entry),
 * little-endian, this project's own layout (buffer sizes, reserved words for
 * later use, then the names). Who writes what:
 *   h2r/r2h_buf_size: the table writer proposes; the host writes the final
 *     values before DRIVER_OK. Used only when BUFSZ is negotiated.
 *   host_cpuname: the host; remote_cpuname: the remote (before its ack).
 *     NUL-padded; a name without NUL is cut. Used only when CPUNAME is negotiated.
 */
struct rpmsg_virtio_cfgspace {
    uint32_t h2r_buf_size; /* host→remote (vring1) buffers, header included */
    uint32_t r2h_buf_size; /* remote→host (vring0) buffers, header included */
    uint32_t reserved[14];
    char host_cpuname[RPMSG_CPUNAME_SIZE];
    char remote_cpuname[RPMSG_CPUNAME_SIZE];
} __attribute__((packed));

/* ---- Layout ------------------------------------------------------------- */

/* Largest vring (entries) a device can track; sizes struct rpmsg_virtio. */
#ifndef RPMSG_VIRTIO_NUM_MAX
#define RPMSG_VIRTIO_NUM_MAX 1024
#endif

/*
 * Where things live in the region (all offsets = device addresses).
 * Index 0 is vring0 (remote→host), index 1 is vring1 (host→remote).
 *
 * The table writer writes the vring geometry of its layout into the table;
 * the other side takes the geometry from the table (after validating it
 * against the region), so it only needs its own buffer pool bounds right.
 * The buffer pool holds vring0's buffers (num[0] × buf_size[0]) and then
 * vring1's, laid out by the host; the remote accepts only descriptors that
 * lie inside [buf_offset, buf_offset + pool_size).
 */
struct rpmsg_virtio_layout {
    uint32_t rsc_offset;    /* resource table */
    uint32_t vdev_notifyid; /* notifyid of the vdev entry itself */
    uint32_t vring_da[2];
    uint32_t num[2];        /* entries, power of two, <= RPMSG_VIRTIO_NUM_MAX; one buffer each */
    uint32_t align;         /* vring alignment, power of two >= 4 (0x1000 in Linux) */
    uint32_t notifyid[2];   /* passed to platform notify() when kicking that vring */
    uint32_t buf_offset;    /* buffer pool start */
    uint32_t pool_size;     /* 0: up to the end of the region */
    /* Proposed sizes (header included) when BUFSZ is negotiated; 0: RPMSG_BUFFER_SIZE. */
    uint32_t buf_size[2];
    /* Layout of the vdev's config space: RPMSG_VIRTIO_CFG_NATIVE (0) or _NUTTX. */
    uint32_t cfg_format;
    /*
     * RPMSG_VIRTIO_LAYOUT_F_BASE: descriptor addresses are not offsets but
     * offset + base, where base is the little-endian u64 at region offset
     * base_off (the NuttX simulator's master virtual address). The host adds
     * the value it finds there; the remote subtracts the value it finds
     * there at each descriptor and then validates the offset as usual.
     */
    uint32_t flags;
    uint32_t base_off;
};

#define RPMSG_VIRTIO_LAYOUT_F_BASE 0x1u
/* Config space formats. */
#define RPMSG_VIRTIO_CFG_NATIVE 0u
/*
 * NuttX's 64-byte fw_rsc_config: u32 h2r_buf_size @0, u32 r2h_buf_size @4,
 * host cpu name @24 and remote cpu name @32, 8 bytes each (NUL-padded), all
 * written by NuttX's master (the remote takes its own name from there too).
 */
#define RPMSG_VIRTIO_CFG_NUTTX 1u

/* Parameters of the default layout; a zeroed field takes the default. */
struct rpmsg_virtio_layout_params {
    uint32_t num[2];      /* default 256 each */
    uint32_t buf_size[2]; /* default RPMSG_BUFFER_SIZE each */
    uint32_t align;       /* default 0x1000 */
};

/*
 * Default layout: table at 0, each vring and then the buffer pool at the
 * next align boundary, pool sized for num × max(buf_size, 512) each way
 * (room for the 512-byte fallback when BUFSZ is not negotiated). p may be
 * NULL. Returns the region size the layout needs, or 0 if the parameters are
 * invalid. With no parameters: 0x47000 bytes (vrings at 0x1000 and 0x4000,
 * pool at 0x7000).
 */
size_t rpmsg_virtio_layout_default(struct rpmsg_virtio_layout *l,
                                   const struct rpmsg_virtio_layout_params *p);
/*
 * The exact layout of OpenAMP's Linux demos (wire-formats.md §4): table at 0,
 * vring0 0x4000, vring1 0x8000, 256 entries, align 0x1000, notify ids 1 and 2,
 * buffers 0x10000..0x50000. Returns the region size, 0x80000.
 */
size_t rpmsg_virtio_layout_openamp(struct rpmsg_virtio_layout *l);
/*
 * The rpmsg vdev of NuttX's simulator link (arch/sim sim_rptun.c,
 * nuttx-wire.md §4) in its 197,072-byte region: table at 24 (the rpmsg vdev
 * is its fifth entry, after two entropy devices this layout never touches),
 * vrings of 8 entries (align 8) at the start of the rpmsg carve-out
 * (131,532 and 131,756), buffers of 1,536 bytes from 131,984 to the end of
 * the carve-out (197,068), descriptor addresses offset by the u64 base at
 * region offset 0, NuttX's config space. Returns the region size, 197072.
 */
size_t rpmsg_virtio_layout_nuttx_sim(struct rpmsg_virtio_layout *l);
/* Bytes needed by a split vring of num entries at this alignment. */
size_t rpmsg_virtio_vring_size(uint32_t num, uint32_t align);
/* 0 if the layout fits a region of shm_size bytes without overlaps, else -EINVAL. */
int rpmsg_virtio_layout_check(const struct rpmsg_virtio_layout *l, size_t shm_size);

/* ---- Configuration ------------------------------------------------------ */

struct rpmsg_virtio_config {
    enum rpmsg_virtio_role role;
    void *shm;        /* the region; 8-byte aligned */
    size_t shm_size;  /* bytes; at most 4 GiB */
    /* NULL: rpmsg_virtio_layout_default(NULL) */
    const struct rpmsg_virtio_layout *layout;
    /*
     * Who writes the resource table: by default the host. true: the remote
     * writes it (remoteproc firmware style, or the side that listens in
     * OpenAMP's Linux demos) and the host waits for it. Both sides must agree.
     */
    bool remote_writes_table;
    /*
     * The peer does not speak the gen/ack handshake (plain Linux or OpenAMP):
     * the host goes to DRIVER_OK as soon as the table is there, using the
     * table's dfeatures (the host writes its own offer there when it is the
     * writer); the remote only waits for DRIVER_OK. Resets are then detected
     * only through peer_alive().
     */
    bool legacy;
    /*
     * The table writer wrote the table already, with
     * rpmsg_virtio_write_table() and this same config: init takes it as it
     * is instead of writing it again (the peer may be reading or changing
     * it by then: an OpenAMP host reads it as soon as connect() returns).
     */
    bool table_written;
    const char *cpuname;      /* local; "" if NULL */
    const char *peer_cpuname; /* peer's name when CPUNAME is not negotiated; default "host"/"remote" */
    uint32_t features;        /* offered; 0: RPMSG_VIRTIO_F_DEFAULT */
    bool no_features;         /* offer nothing (overrides features) */
    const struct rpmsg_virtio_platform_ops *ops; /* notify and wait required */
    void *plat;
    bool no_rx_thread;        /* the application drives rpmsg_poll() */
};

/* ---- Statistics --------------------------------------------------------- */

enum rpmsg_virtio_fault {
    RPMSG_VIRTIO_FAULT_NONE,
    RPMSG_VIRTIO_FAULT_TABLE,    /* reserved: a bad table only keeps the link from coming up */
    RPMSG_VIRTIO_FAULT_FEATURES, /* gfeatures not a subset of what was offered */
    RPMSG_VIRTIO_FAULT_CONFIG,   /* config space values unusable (buffer sizes) */
    RPMSG_VIRTIO_FAULT_IDX,      /* avail/used idx moved by more than the ring holds */
    RPMSG_VIRTIO_FAULT_ID,       /* descriptor id out of range or not in the peer's hands */
    RPMSG_VIRTIO_FAULT_ADDR,     /* descriptor address/length outside the buffer pool */
    RPMSG_VIRTIO_FAULT_LEN,      /* length too small or beyond the buffer */
    RPMSG_VIRTIO_FAULT_DUP,      /* the same buffer handed out twice */
    RPMSG_VIRTIO_FAULT_WRAP,     /* packed ring: a descriptor's AVAIL/USED bits no honest peer
                                  * writes at that position (value: the flags) */
};

/* Why the link last went down (rpmsg_virtio_stats.last_down). */
enum rpmsg_virtio_down {
    RPMSG_VIRTIO_DOWN_NONE,   /* it never went down */
    RPMSG_VIRTIO_DOWN_CLOSED, /* the peer closed or reset it in order */
    RPMSG_VIRTIO_DOWN_DEAD,   /* the platform found the peer gone without closing */
    RPMSG_VIRTIO_DOWN_FAULT,  /* a fault: last_fault and the fields after it say which */
};

/* last_fault_vring of a fault found outside the rings (table, features, config). */
#define RPMSG_VIRTIO_NO_VRING 0xFFFFFFFFu

struct rpmsg_virtio_stats {
    rpmsg_counter_t notify_sent;       /* platform notify() calls */
    rpmsg_counter_t notify_suppressed; /* kicks skipped because the peer asked for none */
    rpmsg_counter_t notify_received;   /* platform wait() returns other than timeouts */
    rpmsg_counter_t rx_msgs;           /* buffers handed to the core */
    rpmsg_counter_t tx_msgs;           /* buffers published to the peer */
    rpmsg_counter_t faults;            /* protocol violations found in the region */
    uint32_t last_fault;        /* enum rpmsg_virtio_fault */
    uint32_t link_ups;
    uint32_t link_downs;
    uint32_t resets;            /* host: sessions started (gens published); remote: 0 */
    /*
     * Where the last fault was found: the vring (0, 1 or
     * RPMSG_VIRTIO_NO_VRING), the ring entry (free-running index of the
     * avail ring for a remote, of the used ring for a host) and the value
     * that failed the check: the ring's idx (IDX), the descriptor id (ID,
     * ADDR, LEN, DUP), the feature word (FEATURES) or the buffer size (CONFIG).
     */
    uint32_t last_fault_vring;
    uint32_t last_fault_entry;
    uint32_t last_fault_value;
    uint32_t last_down;         /* enum rpmsg_virtio_down */
};

/*
 * The last fault of s in words, e.g. "ring index ran ahead (vring1 avail
 * entry 12: idx 4660)", into buf (always terminated). Returns the length
 * snprintf would have written, 0 if there was no fault.
 */
int rpmsg_virtio_fault_text(const struct rpmsg_virtio_stats *s, bool host, char *buf,
                            size_t size);

/* ---- The device --------------------------------------------------------- */

/* Private: local bookkeeping of one vring (never in shared memory). */
struct rpmsg_virtio_slot {
    uint32_t off;   /* buffer offset in the region */
    uint32_t len;   /* capacity (or length published) */
    uint16_t next;  /* free list / hash chain helper */
    uint8_t state;
    uint8_t pad;
};

struct rpmsg_virtio_vq {
    uint32_t da, num, align, notifyid;
    uint8_t *desc, *avail, *used; /* in the region */
    const uint8_t *base_word; /* RPMSG_VIRTIO_LAYOUT_F_BASE: the u64 base; else NULL */
    uint16_t last;     /* next entry to consume from the peer's ring */
    uint16_t shadow;   /* our producer idx */
    uint16_t kicked;   /* producer idx at the last notification decision */
    uint16_t seen;     /* consumer: the producer idx last read (split) */
    bool packed;       /* this session uses the packed layout (vring_packed.c) */
    bool quiet;        /* packed: our event area holds "no notifications" */
    uint16_t nfree, free_head; /* host TX free list / remote TX spare list */
    uint16_t free_tail;        /* host TX: the list's last (reclaimed buffers queue in order) */
    uint32_t buf_size; /* negotiated buffer size of this direction */
    uint32_t buf_base; /* host: offset of this direction's first buffer */
    uint32_t stride;   /* host: distance between two buffers */
    uint8_t stride_log2; /* host: log2(stride) when a power of two, else 0 */
    struct rpmsg_virtio_slot slot[RPMSG_VIRTIO_NUM_MAX];
    uint16_t hash[2 * RPMSG_VIRTIO_NUM_MAX]; /* remote: buffer offset -> id */
};

struct rpmsg_virtio {
    struct rpmsg_device rdev; /* rdev.transport points back here */
    /* Everything below is private to the transport. */
    const struct rpmsg_virtio_platform_ops *ops;
    void *plat;
    enum rpmsg_virtio_role role;
    bool writer;        /* this side writes the resource table */
    bool table_written; /* ...and had written it before init */
    bool legacy;
    struct rpmsg_virtio_layout layout;
    uint8_t *shm;
    size_t shm_size;
    uint32_t pool_start, pool_end;
    uint8_t *vdev;      /* vdev entry in the region, once known */
    uint8_t *cfgsp;     /* its config space, NULL if absent or too small */
    const void *cfgfmt; /* offsets of the config space's fields (layout.cfg_format) */
    uint32_t offered;   /* features this side offers */
    uint32_t declared;  /* remote: dfeatures it wrote */
    uint32_t negotiated;
    int state;
    uint8_t gen;        /* host: gen published last; remote: gen of the session */
    bool peer_dead;
    bool peer_seen;     /* peer_alive() has said 0 at least once */
    bool event_idx;
    bool rx_spins;      /* ops->spins(): ask the peer for no RX notifications */
    bool rx_armed;      /* the peer was last asked for RX notifications (rx_notify) */
    bool rx_polled;     /* a poll since the last wait (rpmsg_virtio_op_wait) */
    bool tx_starved;
    uint32_t tx_warm;   /* bytes of the next TX buffer to warm (the last message's) */
    bool up;
    uint32_t fault_pending; /* enum rpmsg_virtio_fault not yet acted on by poll() */
    unsigned fault_streak;  /* host: faults since the link was last up */
    char local_name[RPMSG_CPUNAME_SIZE];
    char peer_name[RPMSG_CPUNAME_SIZE];
    char peer_default[RPMSG_CPUNAME_SIZE];
    rpmsg_lock_t lock; /* never waited on with a condition variable */
    struct rpmsg_virtio_stats stats;
    struct rpmsg_virtio_vq vq[2];
    /* RX buffers the RX context gave back during its poll, returned to the
     * peer in the poll's next round of the lock (virtio_bufs.c; not used
     * without threads). */
    void *rx_back[RPMSG_NO_SYS ? 1 : 8];
    unsigned nrx_back;
#if !RPMSG_NO_SYS
    uint32_t tx_parked; /* id + 1 of a TX buffer taken ahead for the next get_tx_buffer (0: none) */
    bool tx_two_step;   /* the last send was a get_tx_buffer and a send, not send_copy */
#endif
};

/*
 * Checks cfg, prepares the device, and (host, or remote table writer)
 * writes the resource table; starts the RX thread unless no_rx_thread.
 * The link comes up later, in poll(). The region must stay mapped until
 * rpmsg_virtio_deinit() returns. Returns 0 or -EINVAL/-ENOMEM/-errno.
 */
int rpmsg_virtio_init(struct rpmsg_virtio *vdev, const struct rpmsg_virtio_config *cfg);
/*
 * Writes the resource table (and the writer's config space fields) that
 * rpmsg_virtio_init() with this config would write, before there is a
 * device: for a writer that must publish it before the peer can connect.
 * Only the table writer may call it. 0 or -EINVAL.
 */
int rpmsg_virtio_write_table(const struct rpmsg_virtio_config *cfg);
/* The framework device of this link (for rpmsg_create_ept and friends). */
struct rpmsg_device *rpmsg_virtio_get_device(struct rpmsg_virtio *vdev);
/*
 * Stops the RX thread, takes the link down, tells the peer (host: status 0,
 * gen 0; remote: ack 0) and kicks it. Endpoints must be destroyed first.
 */
void rpmsg_virtio_deinit(struct rpmsg_virtio *vdev);
/* A consistent snapshot of the counters. */
int rpmsg_virtio_get_stats(struct rpmsg_virtio *vdev, struct rpmsg_virtio_stats *out);

/*
 * The one translation from device address to pointer: NULL unless
 * [da, da + len) lies inside the region.
 */
void *rpmsg_virtio_da_to_va(struct rpmsg_virtio *vdev, uint64_t da, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* RPMSG_VIRTIO_H */
