/*
 * Compile-time options, lwIP style: every value here is a default that a
 * build overrides by defining it first, either on the compiler command line
 * or in a header named by RPMSG_CONFIG_FILE (-DRPMSG_CONFIG_FILE='"my_cfg.h"').
 *
 * The core sizes all of its state from these numbers; it never calls malloc.
 */
#ifndef RPMSG_OPT_H
#define RPMSG_OPT_H

#ifdef RPMSG_CONFIG_FILE
#include RPMSG_CONFIG_FILE
#endif

/* 1: no threads, no blocking primitives; the application calls rpmsg_poll(). */
#ifndef RPMSG_NO_SYS
#define RPMSG_NO_SYS 0
#endif

/*
 * Dynamic addresses come from [RPMSG_ADDR_DYN_BASE, +RPMSG_EPT_DYN_MAX) and are
 * looked up by direct indexing, so dispatch cost does not grow with the number
 * of endpoints. Costs one pointer per slot per device.
 */
#ifndef RPMSG_EPT_DYN_MAX
#if RPMSG_NO_SYS
#define RPMSG_EPT_DYN_MAX 64
#else
#define RPMSG_EPT_DYN_MAX 16384
#endif
#endif

/* Buckets for endpoints at static addresses outside the dynamic range (power of 2). */
#ifndef RPMSG_EPT_HASH_SIZE
#define RPMSG_EPT_HASH_SIZE 64
#endif

/* Services registered with rpmsg_register_callback(), process-wide. */
#ifndef RPMSG_SERVICE_MAX
#define RPMSG_SERVICE_MAX 16
#endif

/*
 * 1: where the OS port has an asymmetric barrier (Linux: membarrier(2)), a
 * send holds its endpoint by a per-thread hazard and a dispatch publishes its
 * hazard with a compiler barrier, paying no atomic read-modify-write and no
 * fence; rpmsg_destroy_ept() pays a system call instead (src/core/hazard.c).
 * 0: references and full fences, as on a port without the barrier.
 */
#ifndef RPMSG_ASYM_BARRIER
#define RPMSG_ASYM_BARRIER 1
#endif

/* Threads that can hold a hazard, process-wide (each from its first send to
 * its end); the threads beyond send holding references (two atomic steps
 * more per send). 64 bytes each. */
#ifndef RPMSG_TX_HAZARDS
#define RPMSG_TX_HAZARDS 32
#endif

/* Remote announcements kept per device until a local endpoint or service takes them. */
#ifndef RPMSG_NS_PENDING_MAX
#define RPMSG_NS_PENDING_MAX 32
#endif

/* RX buffers an application may hold at once per device (rpmsg_hold_rx_buffer). */
#ifndef RPMSG_HOLD_MAX
#define RPMSG_HOLD_MAX 64
#endif

/* VirtIO: a sender starved of TX buffers is woken once a quarter of a large
 * ring is back (1) instead of at the first buffer (0). Off by default: with
 * it, an FS read re-started after its server was killed took 60-210 s under
 * TSan instead of 31 (docs/fs.md, "Known problems"); not yet understood. */
#ifndef RPMSG_VIRTIO_TX_BATCH
#define RPMSG_VIRTIO_TX_BATCH 0
#endif

/* VirtIO, split rings: received buffers go back to the peer in batches of
 * the RX context's backlog (8) unless the peer waits for them (1), or one
 * at a time at each look at the ring (0). See back_due() in virtio_bufs.c.
 * No effect without an OS (RPMSG_NO_SYS). */
#ifndef RPMSG_VIRTIO_BACK_BATCH
#define RPMSG_VIRTIO_BACK_BATCH 1
#endif

/*
 * VirtIO: cache hints on the data path. A sender asks for ownership of its
 * next TX buffer's lines one message ahead, so its stores do not wait for
 * the peer's copy to be invalidated at the lock that follows them; a
 * receiver that runs behind fetches the next message's buffer while it
 * handles this one (docs/benchmarks.md, "Cache hints"). Off without an OS:
 * microcontroller caches, where there are any, are not coherent with the
 * peer's anyway, and the code is flash.
 */
#ifndef RPMSG_VIRTIO_PREFETCH
#define RPMSG_VIRTIO_PREFETCH (!RPMSG_NO_SYS)
#endif

/* Default bound for blocking sends (free buffer, binding), in milliseconds. */
#ifndef RPMSG_SEND_TIMEOUT_MS
#define RPMSG_SEND_TIMEOUT_MS 15000
#endif

/*
 * How deep a callback that waits (rpmsg_wait, blocking send) may nest further
 * dispatch on its own RX thread before the wait gives up with -EDEADLK.
 */
#ifndef RPMSG_NEST_MAX
#define RPMSG_NEST_MAX 8
#endif

/*
 * A blocking send on an RX thread that finds no free buffer sets later
 * messages aside (RPMSG_RX_DEFER_MAX). Only when no buffer came for this long
 * and every copy slot is taken does it dispatch them nested, the last
 * defence against two sides blocked on each other with all buffers held.
 */
/*
 * How long the RX thread leaves its link to a thread that drove it
 * (rpmsg_drive) after that thread's last turn, before it takes the link
 * back: the driver normally returns within microseconds (the next recv),
 * and a wake-up of the RX thread each time would cost what driving saves.
 * Also how often a parked RX thread looks again. The price: when the
 * driver does not come back (its application stopped reading), messages
 * for other endpoints of that link that arrived meanwhile wait up to this
 * long. 0: no lease; every drive that ends wakes the RX thread.
 */
#ifndef RPMSG_RX_LEASE_MS
#define RPMSG_RX_LEASE_MS 2
#endif

#ifndef RPMSG_RX_STALL_MS
#define RPMSG_RX_STALL_MS 500
#endif

/*
 * While a callback's blocking send waits for a buffer on its RX thread, the
 * link's later messages are set aside and dispatched, in order, after the
 * callback returns: up to RPMSG_RX_DEFER_MAX of them. The first
 * RPMSG_RX_BACKLOG (if they fit in RPMSG_BACKLOG_BUF_SIZE bytes) are copied
 * and their buffers given back at once, so a peer blocked on us can go on.
 */
#ifndef RPMSG_RX_DEFER_MAX
#if RPMSG_NO_SYS
#define RPMSG_RX_DEFER_MAX 16
#else
#define RPMSG_RX_DEFER_MAX 1024
#endif
#endif
#ifndef RPMSG_RX_BACKLOG
#if RPMSG_NO_SYS
#define RPMSG_RX_BACKLOG 2
#else
#define RPMSG_RX_BACKLOG 16
#endif
#endif
#ifndef RPMSG_BACKLOG_BUF_SIZE
#define RPMSG_BACKLOG_BUF_SIZE RPMSG_BUFFER_SIZE
#endif

#ifndef RPMSG_CPUNAME_SIZE
#define RPMSG_CPUNAME_SIZE 32
#endif

/* Type of the statistics counters (struct rpmsg_stats, rpmsg_virtio_stats):
 * a 32-bit target may take uint32_t, half the RAM and cheaper increments,
 * and counts that wrap. */
#ifndef RPMSG_COUNTER_T
#define RPMSG_COUNTER_T uint64_t
#endif

/* Default buffer size of transports (header included), as in Linux and OpenAMP. */
#ifndef RPMSG_BUFFER_SIZE
#define RPMSG_BUFFER_SIZE 512
#endif

/*
 * Port links (UART, SPI): a peer from which no valid frame came for this long
 * is taken for dead and the link goes down (services get device_destroyed);
 * it comes back by itself when the peer answers again. An idle link sends a
 * keepalive after a quarter of it. rpmsg_port_config.peer_timeout_ms
 * overrides it per link; a line too slow to carry a few frames in it gets
 * more.
 */
#ifndef RPMSG_PORT_PEER_TIMEOUT_MS
#define RPMSG_PORT_PEER_TIMEOUT_MS 1000
#endif

/* ---- Roles and features compiled in ----------------------------------------
 * A microcontroller build keeps only what it uses: what is 0 here is not
 * compiled (or folds to constants the linker drops with --gc-sections), and
 * asking for it at run time fails with -ENOTSUP or is never negotiated.
 * examples/mcu/rpmsg_config.h is a small-target profile; docs/mcu.md lists
 * what each knob costs.
 */

/* VirtIO roles: the host (writes the vrings' avail side, Linux's part) and the
 * remote (a firmware's part). At least one. */
#ifndef RPMSG_VIRTIO_HOST_ROLE
#define RPMSG_VIRTIO_HOST_ROLE 1
#endif
#ifndef RPMSG_VIRTIO_REMOTE_ROLE
#define RPMSG_VIRTIO_REMOTE_ROLE 1
#endif
#if !RPMSG_VIRTIO_HOST_ROLE && !RPMSG_VIRTIO_REMOTE_ROLE
#error "rpmsg_opt.h: RPMSG_VIRTIO_HOST_ROLE and RPMSG_VIRTIO_REMOTE_ROLE are both 0"
#endif

/* VirtIO session start: our gen/ack handshake (resets and restarts seen on
 * both sides), and the legacy one of plain Linux and OpenAMP peers
 * (rpmsg_virtio_config.legacy). At least one. */
#ifndef RPMSG_VIRTIO_GENACK
#define RPMSG_VIRTIO_GENACK 1
#endif
#ifndef RPMSG_VIRTIO_LEGACY
#define RPMSG_VIRTIO_LEGACY 1
#endif
#if !RPMSG_VIRTIO_GENACK && !RPMSG_VIRTIO_LEGACY
#error "rpmsg_opt.h: RPMSG_VIRTIO_GENACK and RPMSG_VIRTIO_LEGACY are both 0"
#endif

/* Name service (announcements to 0x35), and its two-phase binding
 * (CREATE_ACK, feature bit 1) on top of it. Off: endpoints are bound by
 * their first message or created with a known destination. */
#ifndef RPMSG_NS
#define RPMSG_NS 1
#endif
#ifndef RPMSG_NS_ACK
#define RPMSG_NS_ACK RPMSG_NS
#endif

/* Services (rpmsg_register_callback: device_created/destroyed, ns_match/
 * ns_bind). Off: rpmsg_register_callback returns -ENOTSUP; announcements no
 * endpoint takes stay pending for an endpoint created later. */
#ifndef RPMSG_SERVICES
#define RPMSG_SERVICES 1
#endif

/* The lean remote (include/rpmsg/rpmsg_lean.h, src/lean/): 1 compiles it,
 * a remote data path of its own for the smallest targets; the rest of the
 * library does not change. RPMSG_LEAN_EPT_MAX endpoints (at most 8), one
 * pointer each. */
#ifndef RPMSG_LEAN_REMOTE
#define RPMSG_LEAN_REMOTE 0
#endif
#ifndef RPMSG_LEAN_EPT_MAX
#define RPMSG_LEAN_EPT_MAX 2
#endif

/* The lean router edge (include/rpmsg/rpmsg_lean_edge.h, src/lean/edge_*):
 * 1 compiles it, a port UART link, router edge, endpoints and name service
 * of its own, for a microcontroller that reaches one far core through a
 * hub. */
#ifndef RPMSG_LEAN_EDGE
#define RPMSG_LEAN_EDGE 0
#endif

/*
 * Bare metal has no clock the library could know: the board supplies one
 * function, uint32_t rpmsg_board_time_ms(void), a free-running millisecond
 * counter (it may wrap; it must be read at least once per wrap, which every
 * poll does), and says so with RPMSG_BOARD_TIME_MS 1.
 */
#if RPMSG_NO_SYS && !defined(RPMSG_BOARD_TIME_MS)
#error "RPMSG_NO_SYS needs a millisecond clock: implement uint32_t rpmsg_board_time_ms(void) and define RPMSG_BOARD_TIME_MS 1 (see docs/mcu.md)"
#endif

/* Port links compiled in: UART (COBS byte stream) and SPI (master and
 * slave). At least one; rpmsg_port_init refuses the other (-EINVAL). */
#ifndef RPMSG_PORT_UART_LINK
#define RPMSG_PORT_UART_LINK 1
#endif
#ifndef RPMSG_PORT_SPI_LINK
#define RPMSG_PORT_SPI_LINK 1
#endif
#if !RPMSG_PORT_UART_LINK && !RPMSG_PORT_SPI_LINK
#error "rpmsg_opt.h: RPMSG_PORT_UART_LINK and RPMSG_PORT_SPI_LINK are both 0"
#endif

/*
 * Port links: most buffers (messages in flight) each way, a power of two up
 * to 512. Sizes the port's send and receive tables (about 56 bytes a slot);
 * the buffers themselves are sized per link (rpmsg_port_config).
 */
#ifndef RPMSG_PORT_WIN_MAX
#if RPMSG_NO_SYS
#define RPMSG_PORT_WIN_MAX 16
#else
#define RPMSG_PORT_WIN_MAX 512
#endif
#endif

/* Port links: CRC-32C lookup tables, 4 (slicing by 4, 4 KiB of RAM, about
 * three times as fast) or 1 (1 KiB). */
#ifndef RPMSG_PORT_CRC_TABLES
#if RPMSG_NO_SYS
#define RPMSG_PORT_CRC_TABLES 1
#else
#define RPMSG_PORT_CRC_TABLES 4
#endif
#endif

#endif /* RPMSG_OPT_H */
