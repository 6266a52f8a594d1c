/*
 * Port transport: rpmsg between two chips over a serial link (UART or SPI).
 *
 * The core sees the same device as over VirtIO: whole buffers handed out and
 * taken back, zero-copy included. Underneath, one protocol is shared by both
 * links (docs in src/transport/port/port_wire.h):
 *   - a connect handshake with cpu names, buffer sizes, features, a protocol
 *     version and a per-boot nonce: a peer seen again with a new nonce has
 *     rebooted, which the core learns as link_down then link_up;
 *   - every frame protected by CRC-32C (Castagnoli) over header and body; a
 *     frame that fails it is dropped, never delivered;
 *   - per-message sequence numbers, cumulative ACK + selective ACK bitmap,
 *     retransmission timer, duplicate suppression: delivery exactly once and
 *     in order across bit errors, lost bytes and cut lines;
 *   - credit-based flow control: the receiver advertises how far the sender
 *     may go (one credit per free RX buffer), on UART too.
 * Small messages are packed several to a frame.
 *
 * The physical layer is a small ops table, so the protocol runs unchanged
 * over a real tty, a spidev, or the emulators used by tests and benchmarks.
 */
#ifndef RPMSG_PORT_H
#define RPMSG_PORT_H

#include <stddef.h>

#include "rpmsg_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Byte stream under a UART link. Deadlines are absolute, rpmsg_time_ms() scale. */
struct rpmsg_port_uart_ops {
    /* Writes all len bytes. Returns len, or -ETIMEDOUT / -errno (nothing
     * or part written: the protocol recovers either way). */
    int (*write)(void *ctx, const void *buf, size_t len, uint64_t deadline_ms);
    /* Reads between 1 and len bytes; 0 when the deadline passed or wakeup()
     * was called; -errno on failure. */
    int (*read)(void *ctx, void *buf, size_t len, uint64_t deadline_ms);
    /* Makes a concurrent or the next read() return at once. May be NULL. */
    void (*wakeup)(void *ctx);
};

/*
 * Full-duplex SPI with two handshake lines, as on hardware:
 *   MREQ (master -> slave): the master wants a transfer;
 *   SREQ (slave -> master): the slave has armed its side of a transfer
 *                           (it has data, or MREQ asked for it).
 * The slave cannot speak until clocked: it arms, raises SREQ and waits.
 */
struct rpmsg_port_spi_ops {
    /*
     * Master: clocks a transfer of len bytes (tx out, rx in). A backend
     * that queues transfers (a DMA queue) may return 0: tx is queued behind
     * the transfer being clocked and room is left for another; otherwise it
     * waits for the oldest transfer to end and returns len with that
     * transfer's rx. One that does not queue clocks now and returns len.
     * tx NULL only collects (0: nothing queued); tx and rx NULL finish and
     * drop whatever is queued. -errno on failure.
     * Slave: arms tx behind what is already armed (SREQ stays high while
     * anything is armed) and hands back the oldest finished exchange in rx.
     * Returns len when rx was filled; 0 when tx was armed and the backend
     * can take one more before anything finished (a ping-pong pair), or
     * after wakeup(); -ETIMEDOUT when nothing finished by the deadline (tx
     * stays armed); -EBUSY when no more can be armed. A backend that arms
     * one at a time simply blocks until clocked and returns len. tx NULL
     * only collects; tx and rx NULL withdraw everything armed.
     */
    int (*transfer)(void *ctx, const void *tx, void *rx, size_t len, uint64_t deadline_ms);
    /* Master only: drives MREQ. */
    int (*set_request)(void *ctx, bool on);
    /*
     * Master: 1 when the slave armed a transfer not yet clocked (SREQ rose).
     * Slave: 1 while MREQ is high. 0 at the deadline or after wakeup(), and
     * for a master with a transfer queued, at the end of the oldest one.
     */
    int (*wait_peer)(void *ctx, uint64_t deadline_ms);
    /* Makes a concurrent or the next wait_peer() return at once. */
    void (*wakeup)(void *ctx);
};

enum rpmsg_port_link {
    RPMSG_PORT_UART,
    RPMSG_PORT_SPI_MASTER,
    RPMSG_PORT_SPI_SLAVE,
};

struct rpmsg_port_config {
    const char *local_cpuname;
    uint32_t features;      /* RPMSG_F_* offered; 0: RPMSG_F_NS | RPMSG_F_ACK */
    bool no_features;       /* offer nothing */
    uint32_t buf_size;      /* per buffer, rpmsg header included; 0: RPMSG_BUFFER_SIZE */
    uint32_t num_tx_bufs;   /* 1..RPMSG_PORT_WIN_MAX (512); 0: 32, 512 if line_rate >= 1,000,000 */
    uint32_t num_rx_bufs;   /* 1..RPMSG_PORT_WIN_MAX (credits offered to the peer); 0: as num_tx_bufs */
    /*
     * Largest frame body in bytes (several messages are packed up to it);
     * at least buf_size and 56 (the handshake); 0: 2 * buf_size, at least
     * 56. On SPI every transfer is this plus the 20-byte frame overhead.
     * Both SPI ends must use the same value.
     */
    uint32_t frame_body;
    /*
     * Bytes per second the link carries (UART: baud / 10; SPI: clock / 8);
     * 0 if unknown or unthrottled. Sizes the retransmission timer and, on
     * UART, keeps the driver's queue short so that messages queue here and
     * get packed.
     */
    uint32_t line_rate;
    uint32_t rto_min_ms;    /* floor of the retransmission timer; 0: derived */
    /*
     * No valid frame from the peer for this long takes the link down (the
     * peer is dead or the line cut); it comes back when the peer answers.
     * 0: RPMSG_PORT_PEER_TIMEOUT_MS (1 s), or more if the line is so slow
     * that a few full frames do not fit in it.
     */
    uint32_t peer_timeout_ms;
    /*
     * Frames are sized to the error rate the sender measures (smaller frames
     * on a noisy line, up to frame_body on a clean one). true: always pack
     * up to frame_body.
     */
    bool fixed_frames;
    /*
     * Speak only the first wire format: window of at most 128 messages,
     * 32-bit selective ACK (what a peer built before the wide window
     * offers). Both formats are negotiated in the handshake anyway; this is
     * for interoperability tests.
     */
    bool v1_wire;
    /*
     * Mixed into each session's nonce, by which the peer tells a reboot:
     * without an OS, time since boot and addresses repeat at every boot, so
     * give something that does not (a hardware RNG, a unique ID plus a boot
     * counter); 0 if none.
     */
    uint32_t boot_entropy;
    bool no_rx_thread;      /* the application calls rpmsg_poll() */

    enum rpmsg_port_link link;
    const struct rpmsg_port_uart_ops *uart; /* link == RPMSG_PORT_UART */
    const struct rpmsg_port_spi_ops *spi;   /* SPI roles */
    void *link_ctx;                         /* passed to the ops */
};

/* Per-link counters; all monotonic. */
struct rpmsg_port_stats {
    uint64_t tx_frames, rx_frames;   /* frames sent / received intact */
    uint64_t tx_msgs, rx_msgs;       /* messages first sent / delivered */
    uint64_t tx_line_bytes, rx_line_bytes; /* bytes on the wire, framing included */
    uint64_t retransmits;            /* messages sent again */
    uint64_t crc_errors;             /* frames dropped: CRC mismatch */
    uint64_t resyncs;                /* framing lost and found again (garbage, overrun, idle SPI) */
    uint64_t credit_stalls;          /* times the sender had data but no credit */
    uint64_t credit_probes;          /* stalled sender asked again (credit update lost?) */
    uint64_t bad_length;             /* header length disagrees with the frame */
    uint64_t truncated;              /* shorter than a header, or a message cut short */
    uint64_t oversized;              /* frame or message larger than allowed */
    uint64_t unknown_cmd;            /* unknown frame type or version */
    uint64_t duplicates;             /* messages received again (already delivered or held) */
    uint64_t out_of_window;          /* messages beyond the credit given */
    uint64_t stale;                  /* frames of another session */
    uint64_t timeouts;               /* retransmission timer expiries */
    uint64_t connects;               /* sessions established */
    uint64_t peer_resets;            /* peer seen rebooted */
    uint64_t lost_on_reset;          /* messages unacknowledged when a session ended */
    uint64_t peer_timeouts;          /* sessions ended: nothing heard from the peer in peer_timeout_ms */
    uint64_t keepalives;             /* idle link: the peer asked to answer */
    uint64_t io_errors;              /* link reads or writes that failed (-errno other than a timeout) */
    uint64_t peer_closes;            /* sessions the peer ended in order (BYE: its link closed) */
    uint32_t last_end;               /* not a counter: how the last session ended, RPMSG_PORT_END_* */
    uint32_t frame_body_now;         /* not a counter: the frame body the sender packs up to now */
};

#define RPMSG_PORT_END_NONE 0u
#define RPMSG_PORT_END_SILENT 1u   /* peer timeout */
#define RPMSG_PORT_END_RESTART 2u  /* the peer came back with a new session */
#define RPMSG_PORT_END_CLOSED 3u   /* the peer said BYE */

struct rpmsg_port;

/*
 * Creates the transport and its device, starts the link threads and the
 * device (RX thread unless no_rx_thread). The link comes up by itself once
 * the peer answers the handshake; the ops and their ctx must outlive the port.
 */
int rpmsg_port_init(struct rpmsg_port **out, const struct rpmsg_port_config *cfg);
/*
 * Closing in order: once what was sent is acknowledged (bounded), tells a
 * peer that offered PORT_HF_BYE that this end is leaving, so that its link
 * goes down at once as closed, not after its peer timeout as if this end
 * had died. Bounded (a few hundred ms at most); then rpmsg_port_deinit().
 * Without it, deinit leaves without a word, as a crash would.
 */
void rpmsg_port_bye(struct rpmsg_port *port);
/* Stops everything and frees the port; the device is gone on return. */
void rpmsg_port_deinit(struct rpmsg_port *port);

/*
 * Without threads (the only way in an RPMSG_NO_SYS build): the port lives in
 * mem (rpmsg_port_mem_size(cfg) bytes, 8-aligned, the caller's until
 * deinit), no link thread runs, and the application calls
 * rpmsg_port_poll_link() and rpmsg_poll() in its main loop, with
 * cfg.no_rx_thread set. The link ops are then called with a deadline of now
 * (the UART's read and write must not block; an SPI master's transfer takes
 * the bus time). Time is rpmsg_time_ms(); no floating point, no allocation.
 */
size_t rpmsg_port_mem_size(const struct rpmsg_port_config *cfg); /* 0: bad cfg */
int rpmsg_port_init_mem(struct rpmsg_port **out, const struct rpmsg_port_config *cfg, void *mem,
                        size_t size);
/* Moves what the line has in and what is due out; > 0 when anything moved,
 * -EBUSY on a port whose link threads do it (rpmsg_port_init). */
int rpmsg_port_poll_link(struct rpmsg_port *port);
struct rpmsg_device *rpmsg_port_device(struct rpmsg_port *port);
/* Counters of the port behind rdev; -EINVAL if rdev is not a port device. */
int rpmsg_port_get_stats(struct rpmsg_device *rdev, struct rpmsg_port_stats *out);
/* Buffers each way (TX: messages in flight; RX: credits offered) and their size. */
int rpmsg_port_get_bufs(struct rpmsg_device *rdev, uint32_t *ntx, uint32_t *nrx, uint32_t *size);
/* True while the handshake is complete (the core may not know yet). */
bool rpmsg_port_is_connected(struct rpmsg_port *port);

/* ---- Linux backends (src/platform/linux) --------------------------------- */
#if !RPMSG_NO_SYS && defined(__linux__)

#include <sys/types.h>

/*
 * Stands in for read(2) and write(2) on the tty's descriptor, with their
 * contract (a count, or -1 and errno): fault injection for tests (short
 * counts, EIO, EAGAIN).
 */
struct rpmsg_tty_io {
    ssize_t (*read)(void *ctx, int fd, void *buf, size_t len);
    ssize_t (*write)(void *ctx, int fd, const void *buf, size_t len);
    void *ctx;
};

/* A real tty through termios: raw 8N1, the given baud, optional RTS/CTS. */
struct rpmsg_tty_config {
    const char *path;  /* opened O_RDWR|O_NOCTTY; or NULL to use fd */
    int fd;            /* used when path is NULL; not closed by rpmsg_tty_close */
    uint32_t baud;     /* a standard rate (9600 .. 4000000); 0 leaves it as is */
    bool rtscts;       /* hardware flow control */
    const struct rpmsg_tty_io *io; /* NULL: read(2) and write(2) */
};
struct rpmsg_tty;
int rpmsg_tty_open(struct rpmsg_tty **out, const struct rpmsg_tty_config *cfg);
void rpmsg_tty_close(struct rpmsg_tty *tty);
extern const struct rpmsg_port_uart_ops rpmsg_tty_ops; /* ctx: the struct rpmsg_tty */

/*
 * Line emulator: two pseudo-terminal pairs with a relay thread between
 * them. Side A opens tty_a, side B tty_b (through rpmsg_tty_open); bytes are
 * paced at baud / 10 per second and can be corrupted on the way.
 */
struct rpmsg_line_config {
    uint32_t baud;     /* 0: no pacing */
    double ber;        /* bit error rate, each direction */
    double drop_rate;  /* probability that a byte is lost */
    uint32_t seed;     /* 0: fixed default */
    /* Optional: sees every byte as the far end gets it (after the faults),
     * on the relay thread; to_b: the A -> B direction. `rpmsg line --pcap`. */
    void (*tap)(void *arg, bool to_b, const uint8_t *bytes, size_t n);
    void *tap_arg;
};
struct rpmsg_line_stats {
    uint64_t bytes[2];    /* relayed A->B, B->A */
    uint64_t flipped[2];  /* bits flipped */
    uint64_t dropped[2];  /* bytes dropped (faults and cuts) */
};
struct rpmsg_line;
int rpmsg_line_create(struct rpmsg_line **out, const struct rpmsg_line_config *cfg);
void rpmsg_line_destroy(struct rpmsg_line *line);
const char *rpmsg_line_tty_a(struct rpmsg_line *line);
const char *rpmsg_line_tty_b(struct rpmsg_line *line);
/* Both directions lose every byte for ms milliseconds from now. */
int rpmsg_line_cut(struct rpmsg_line *line, uint32_t ms);
int rpmsg_line_set_faults(struct rpmsg_line *line, double ber, double drop_rate);
/* Raw bytes delivered to side to_b ? B : A, ahead of the relayed stream. */
int rpmsg_line_inject(struct rpmsg_line *line, bool to_b, const void *buf, size_t len);
void rpmsg_line_get_stats(struct rpmsg_line *line, struct rpmsg_line_stats *out);

/*
 * Simulated SPI bus: exactly full-duplex transfers paced at clock_hz, the
 * two handshake lines, and the line emulator's faults. Lives in shared
 * memory, so the two ends may be threads or processes forked after create.
 */
struct rpmsg_spibus_config {
    uint32_t clock_hz; /* 0: no pacing */
    double ber;
    double drop_rate;  /* a dropped byte shifts the rest of the transfer */
    uint32_t seed;
};
struct rpmsg_spibus_stats {
    uint64_t transfers, bytes, flipped, dropped, unarmed; /* unarmed: master clocked an idle slave */
};
struct rpmsg_spibus;
int rpmsg_spibus_create(struct rpmsg_spibus **out, const struct rpmsg_spibus_config *cfg);
/*
 * A bus in the named shared-memory object /dev/shm/NAME, for two processes
 * that were not forked from one another (`rpmsg echo --spi` and `rpmsg ping
 * --spi`): one creates it (cfg applies), the other attaches, waiting up to
 * timeout_ms for it to appear. The name is gone once both have it, or when
 * the next creator finds its creator dead; rpmsg_spibus_destroy() lets go.
 */
int rpmsg_spibus_open_shared(struct rpmsg_spibus **out, const char *name, bool create,
                             const struct rpmsg_spibus_config *cfg, uint32_t timeout_ms);
/* The bus's clock in Hz (0: unpaced). */
uint32_t rpmsg_spibus_clock(const struct rpmsg_spibus *bus);
void rpmsg_spibus_destroy(struct rpmsg_spibus *bus);
/* The ctx for rpmsg_spibus_ops of one end. */
void *rpmsg_spibus_end(struct rpmsg_spibus *bus, bool master);
int rpmsg_spibus_cut(struct rpmsg_spibus *bus, uint32_t ms);
int rpmsg_spibus_set_faults(struct rpmsg_spibus *bus, double ber, double drop_rate);
void rpmsg_spibus_get_stats(struct rpmsg_spibus *bus, struct rpmsg_spibus_stats *out);
extern const struct rpmsg_port_spi_ops rpmsg_spibus_ops;

/*
 * Real hardware: /dev/spidevB.C plus two GPIO lines through libgpiod v1
 * (loaded at run time, so nothing extra to link). Returns -ENOTSUP when
 * built without <linux/spi/spidev.h> or <gpiod.h>, -ENOENT without
 * libgpiod at run time. See docs in src/platform/linux/spibus_spidev.c.
 */
struct rpmsg_spidev_config {
    const char *spidev;      /* "/dev/spidev0.0" */
    uint32_t speed_hz;
    uint8_t mode;            /* SPI_MODE_0..3 */
    bool slave;              /* the controller is in slave mode (spi-slave) */
    const char *gpiochip;    /* "gpiochip0" */
    unsigned mreq_line;      /* output on the master, input on the slave */
    unsigned sreq_line;      /* input on the master, output on the slave */
    bool active_low;
};
struct rpmsg_spidev;
int rpmsg_spidev_open(struct rpmsg_spidev **out, const struct rpmsg_spidev_config *cfg);
void rpmsg_spidev_close(struct rpmsg_spidev *dev);
extern const struct rpmsg_port_spi_ops rpmsg_spidev_ops; /* ctx: the struct rpmsg_spidev */

#endif /* Linux */

#ifdef __cplusplus
}
#endif

#endif /* RPMSG_PORT_H */
