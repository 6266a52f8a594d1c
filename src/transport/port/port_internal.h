/*
 * The port transport's state, shared by its files:
 *   port.c       the rpmsg_device face (buffers, poll/wait, init/deinit)
 *   port_proto.c the protocol (handshake, ARQ, credits): frames in, frames out
 *   port_uart.c  UART framing (COBS) and its poll-driven link step
 *   port_spi.c   SPI transfers (several frames each) and the poll-driven step
 *   port_threads.c the link threads (not in an RPMSG_NO_SYS build)
 *
 * One mutex (lock) covers all of it. Link threads build and parse frames
 * under it and do their I/O outside it; nothing calls into the core with it
 * held. Without an OS the lock is empty and the application's calls to
 * rpmsg_port_poll_link() and rpmsg_poll() take the threads' place.
 *
 * Memory: one block (the struct, then buffers, tables and frame buffers),
 * from calloc or from the caller (rpmsg_port_init_mem). No floating point.
 */
#ifndef RPMSG_PORT_INTERNAL_H
#define RPMSG_PORT_INTERNAL_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "port_wire.h"
#include "rpmsg/rpmsg_port.h"

struct port_txent {
    uint8_t *buf;
    uint32_t len;       /* bytes on the wire: 16 + hdr.len */
    uint64_t sent_ms;   /* last transmission */
    uint64_t first_ms;  /* first transmission (RTT sample if never resent) */
    uint32_t order;     /* transmission order of the last send */
    uint16_t sends;
    uint16_t fbytes;    /* line bytes of the frame it last went in (error estimate) */
    bool sacked;
    bool rtx;           /* to be sent again */
};

struct port_rxslot {
    uint8_t *buf;
    uint32_t len;
    bool used;
};

struct port_rxq {
    uint8_t *buf;
    uint32_t len;
    uint32_t gen;
};

/* The UART deframer's state: one encoded frame so far (cap bytes at acc). */
struct port_uart_rx {
    uint8_t *acc;
    size_t alen, cap; /* cap: port_cobs_max(frame_cap) */
    bool skipping;    /* lost step: wait for the next delimiter */
};

struct rpmsg_port {
    struct rpmsg_device rdev;
    bool own_mem;            /* the block came from calloc */
    bool rdev_inited;
    struct rpmsg_port_config cfg;
    char cpuname[RPMSG_CPUNAME_SIZE];
    uint32_t features;

    rpmsg_mutex_t lock;
    rpmsg_cond_t core_cond;  /* the core's wait(): events or wakeup */
    rpmsg_cond_t link_cond;  /* UART TX thread: something to send */
    bool core_event;
    bool stop;

    /* Buffers: one block, rpmsg header at the start of each. */
    uint8_t *mem;
    uint32_t buf_size, ntx, nrx;
    uint8_t **tx_free;
    uint32_t tx_nfree;
    uint8_t **rx_free;
    uint32_t rx_nfree;
    uint32_t body_max;

    /* Session. */
    uint32_t nonce, peer_nonce;
    uint8_t tag, peer_tag;
    bool peer_known;   /* peer_nonce valid */
    bool connected;    /* both sides know each other's nonce */
    bool connack_owed;
    bool bye_owed, bye_sent; /* closing: the peer offered PORT_HF_BYE */
    uint64_t next_hello_ms;
    uint32_t hello_backoff;
    uint32_t gen;      /* bumped when a session ends */
    char peer_name[RPMSG_CPUNAME_SIZE];
    uint32_t peer_features, peer_rx_size;
    uint16_t peer_hflags;
    bool wide;         /* both ends offered PORT_HF_WIDE (this session) */
    /* Liveness: the last valid frame of this session from the peer. */
    uint64_t last_rx_ms, next_keepalive_ms, last_check_ms;
    uint32_t peer_timeout;
    /* Where the link's reader reports it (rx_gated): by this time it had
     * taken in all the line held. Silence is only silence up to there. */
    bool rx_gated;
    uint64_t rx_drained_ms;

    /* Sender: [snd_una, snd_nxt) sent and unacknowledged, [snd_nxt, snd_end) queued. */
    uint16_t snd_una, snd_nxt, snd_end, peer_limit;
    struct port_txent txw[PORT_WIN_MAX];
    uint32_t tx_order;
    uint32_t srtt8, rttvar4; /* ms, scaled as in TCP; 0: no sample yet */
    uint32_t rto_min, rto, rto_max;
    /* Error estimate: messages lost per line bit they were exposed to,
     * both halved as they grow so that it follows a changing line. */
    uint64_t est_bits;
    uint32_t est_lost;
    uint32_t body_now;    /* frame body packed up to now (adapted) */
    uint32_t link_ovh;    /* line bytes per frame besides header, body and CRC */
    uint32_t backoff;
    bool stalled;
    uint64_t next_probe_ms;

    /* Receiver: rxw holds out-of-order messages in [rcv_next, rcv_next + window). */
    uint16_t rcv_next;
    struct port_rxslot rxw[PORT_WIN_MAX];
    uint32_t ooo;
    uint16_t adv_limit;
    bool ack_owed;
    bool xsack_owed;   /* news for the SACK extension (wide sessions) */

    /* Delivered in order, not yet given to the core. */
    struct port_rxq *rxq;
    uint32_t rxq_head, rxq_count;

    /* What the core was told. */
    bool core_up;
    uint32_t core_gen;
    bool tx_done_owed;

    /* Link threads. */
    rpmsg_thread_t threads[2];
    int nthreads;
    uint8_t *frame_tx, *frame_rx; /* raw frames: PORT_OVERHEAD + body_max */
    uint32_t frame_cap;
    /* UART: the deframer, and the encoded frame going out (poll-driven:
     * what the line has not taken yet is [enc_off, enc_len)). */
    struct port_uart_rx urx;
    uint8_t *uart_enc;
    size_t enc_len, enc_off;
    /* SPI, poll-driven: transfers armed (slave) and MREQ as driven (master). */
    int spi_armed;
    bool spi_mreq;

    struct rpmsg_port_stats stats;
};

/* ---- port_proto.c (lock held unless said otherwise) ---------------------- */

void rpmsg_port_proto_init(struct rpmsg_port *p);
/* Ends the session: in-flight messages are lost, the peer is forgotten. */
void rpmsg_port_proto_reset(struct rpmsg_port *p);
/* A received frame (header + body + CRC), len bytes as read. */
void rpmsg_port_proto_rx(struct rpmsg_port *p, const uint8_t *frame, size_t len);
/*
 * Builds the next frame into out (frame_cap bytes). Returns its length, or 0
 * when nothing is due now (unless force: then at least an ACK, or a CONNECT
 * while not connected).
 */
size_t rpmsg_port_proto_build(struct rpmsg_port *p, uint8_t *out, uint64_t now, bool force);
/*
 * SPI: one more DATA frame into out, with a body of at most room bytes, to
 * follow the first frame in the same transfer; 0 when the peer cannot take
 * several frames per transfer or nothing is waiting to go.
 */
size_t rpmsg_port_proto_build_more(struct rpmsg_port *p, uint8_t *out, uint64_t now, size_t room);
/* When build() may next have something without outside events (RPMSG_FOREVER if never). */
uint64_t rpmsg_port_proto_deadline(struct rpmsg_port *p, uint64_t now);
/* The link's reader took in all the line held as of at_ms (it read less
 * than it asked for, or nothing, or the line failed); then runs the peer
 * timeout at now. */
void rpmsg_port_proto_rx_drained(struct rpmsg_port *p, uint64_t at_ms, uint64_t now);
/* When the session ends if nothing comes before (RPMSG_FOREVER: no session). */
uint64_t rpmsg_port_proto_dead_at(const struct rpmsg_port *p);
/* Runs the peer timeout; true when session gen has ended. */
bool rpmsg_port_proto_session_over(struct rpmsg_port *p, uint32_t gen, uint64_t now);
/* True when build() has something to send now. */
bool rpmsg_port_proto_pending(struct rpmsg_port *p, uint64_t now);

/* ---- port.c -------------------------------------------------------------- */

/* As rpmsg_port_init(), but no link thread is started: the caller moves the
 * bytes (rpmsg_port_uart_rx_bytes, rpmsg_port_proto_build), so that a fuzz
 * harness drives the link from one thread, deterministically. */
int rpmsg_port_init_unlinked(struct rpmsg_port **out, const struct rpmsg_port_config *cfg);

/* Something for the link threads to send (lock held). */
/* After received frames were handled by a link thread: tells the core when
 * TX buffers came back (acknowledged or credited) while it was up. */
void rpmsg_port_after_rx(struct rpmsg_port *p);
void rpmsg_port_kick(struct rpmsg_port *p);
/* Something for the core's poll (lock held). */
void rpmsg_port_core_signal(struct rpmsg_port *p);

/* ---- link layers --------------------------------------------------------- */

/* SPI slave thread: frames kept armed at most. Three while data flows, so
 * that one is armed while a master that queues transfers has the other two
 * clocking; two otherwise, because an empty frame armed ahead is one more
 * transfer a reply waits behind. */
#define SPI_ARM_MAX 3
#define SPI_ARM_IDLE 2

#if !RPMSG_NO_SYS
int rpmsg_port_uart_start(struct rpmsg_port *p);
int rpmsg_port_spi_start(struct rpmsg_port *p);
/* Monotonic microseconds, for pacing finer than rpmsg_time_ms(). */
uint64_t rpmsg_port_now_us(void);
#endif
/* Bytes read from the line, through COBS into the protocol (lock held). */
void rpmsg_port_uart_rx_bytes(struct rpmsg_port *p, struct port_uart_rx *st, const uint8_t *b,
                              size_t n);
/* One poll-driven step of each link (lock not held); > 0 when anything moved. */
int rpmsg_port_uart_poll(struct rpmsg_port *p);
int rpmsg_port_spi_poll(struct rpmsg_port *p);
/* SPI: this side's half of the next transfer (size bytes): a frame, more
 * while messages wait and fit, zeros after (takes the lock). False when
 * stopping. */
bool rpmsg_port_spi_build(struct rpmsg_port *p, uint8_t *tx, size_t size);
/* One received SPI transfer (size bytes: a padded frame, or idle) into the
 * protocol (takes the lock); true when it delivered messages. */
bool rpmsg_port_spi_rx_transfer(struct rpmsg_port *p, const uint8_t *rx, size_t size);
/* Wakes whatever the link threads block in (lock held or not). */
void rpmsg_port_link_wakeup(struct rpmsg_port *p);

#endif
