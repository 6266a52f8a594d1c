/*
 * The lean router edge: the smallest firmware that reaches a far core
 * through a hub over a UART, for microcontrollers. It speaks the port
 * transport's base wire format (COBS frames, CRC-32C, handshake with cpu
 * names and nonces, sequence numbers, cumulative ACKs, credits, keepalives;
 * include/rpmsg/rpmsg_port.h) and the router's control protocol and tunnel
 * (include/rpmsg/rpmsg_router.h), so a Linux hub built from the full library
 * carries its traffic to a far core, where it is an ordinary virtual device.
 *
 * Left out against the full stack, to fit a few KiB: the framework core
 * (this edge has its own endpoints and name service, like the lean remote),
 * the selective ACK and wide window (it asks for the first format: the peer
 * sends no SACK extension and gets none), frame size adaptation (one
 * message per frame), packing, BYE, and every route but one: the edge talks
 * to one far core, named in its configuration, through the hub it is wired
 * to. Messages that arrive out of order are dropped and resent by the peer
 * (a serial line does not reorder; only a damaged frame makes a hole).
 *
 * Compiled when RPMSG_LEAN_EDGE is 1 (rpmsg_opt.h). One context: call
 * rpmsg_lean_edge_poll() from the main loop; a callback may send.
 */
#ifndef RPMSG_LEAN_EDGE_H
#define RPMSG_LEAN_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpmsg.h"
#include "rpmsg_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Outer message size on the UART (rpmsg header included): the largest
 * payload to the far core is this minus 32 (two headers). */
#ifndef RPMSG_LEAN_EDGE_BUF
#define RPMSG_LEAN_EDGE_BUF 128
#endif
/* Messages in flight toward the hub (a power of two), and the credit the
 * edge gives the hub (messages it may send ahead of our ACK). */
#ifndef RPMSG_LEAN_EDGE_TX
#define RPMSG_LEAN_EDGE_TX 4
#endif
#ifndef RPMSG_LEAN_EDGE_RX_WIN
#define RPMSG_LEAN_EDGE_RX_WIN 2
#endif
/* Endpoints (named ones are announced to the far core). */
#ifndef RPMSG_LEAN_EDGE_EPT_MAX
#define RPMSG_LEAN_EDGE_EPT_MAX 2
#endif

struct rpmsg_lean_edge;
struct rpmsg_lean_edge_ept;

typedef int (*rpmsg_lean_edge_cb_t)(struct rpmsg_lean_edge_ept *ept, void *data, size_t len,
                                    uint32_t src, void *priv);

struct rpmsg_lean_edge_ept {
    char name[RPMSG_NAME_SIZE];
    uint32_t addr; /* ours */
    uint32_t dest; /* the far endpoint's; RPMSG_ADDR_ANY until bound */
    rpmsg_lean_edge_cb_t cb;
    void *priv;
    struct rpmsg_lean_edge *edge;
};

struct rpmsg_lean_edge_config {
    const char *local_cpuname; /* required: this core's name, as the hub knows it */
    const char *far_cpuname;   /* required: the far core to reach through the hub */
    const struct rpmsg_port_uart_ops *uart; /* non-blocking read and write */
    void *uart_ctx;
    uint32_t rto_ms;          /* retransmission timer; 0: 20 ms */
    uint32_t peer_timeout_ms; /* 0: RPMSG_PORT_PEER_TIMEOUT_MS */
    uint32_t boot_entropy;    /* differs per boot (a unique id, an ADC's noise) */
};

/* Frame sizes: header 16 + body + CRC 4; the body is a hello (56 bytes) or
 * messages: one of ours, or as many as the credit lets the hub pack. COBS
 * adds one byte per 254. */
#define RPMSG_LEAN_EDGE_MAX2(a, b) ((a) > (b) ? (a) : (b))
#define RPMSG_LEAN_EDGE_TX_FRAME (20 + RPMSG_LEAN_EDGE_MAX2(RPMSG_LEAN_EDGE_BUF, 56))
#define RPMSG_LEAN_EDGE_RX_FRAME \
    (20 + RPMSG_LEAN_EDGE_MAX2(RPMSG_LEAN_EDGE_RX_WIN * RPMSG_LEAN_EDGE_BUF, 56))
#define RPMSG_LEAN_EDGE_COBS(n) ((n) + (n) / 254 + 2)

/* All the state: the caller's (static), nothing else is allocated. */
struct rpmsg_lean_edge {
    struct rpmsg_lean_edge_config cfg;
    /* Port session. */
    uint32_t nonce, peer_nonce;
    uint32_t last_rx, next_hello, next_ka, sent_at;
    uint16_t snd_una, snd_nxt, snd_end, peer_limit, rcv_next;
    uint16_t peer_size; /* the hub's RX buffer size */
    uint8_t backoff;
    bool peer_known, connected, connack_owed, ack_owed, poll_owed;
    struct {
        uint16_t len;
        uint8_t buf[RPMSG_LEAN_EDGE_BUF];
    } tx[RPMSG_LEAN_EDGE_TX];
    /* UART: frame being received (COBS, decoded in place), frame going out. */
    uint8_t rx[RPMSG_LEAN_EDGE_COBS(RPMSG_LEAN_EDGE_RX_FRAME)];
    uint16_t rx_len, out_len, out_off;
    bool rx_skip; /* an overlong frame: wait for its end */
    uint8_t out[RPMSG_LEAN_EDGE_COBS(RPMSG_LEAN_EDGE_TX_FRAME)];
    /* Route. */
    uint8_t route;      /* enum in edge.h */
    bool reachable;     /* the hub advertised the far core */
    bool hello_owed, reply_owed;
    uint8_t unannounced; /* endpoint slots whose NS CREATE is owed */
    uint32_t peer_tun;  /* the hub's tunnel endpoint */
    uint32_t mtu;       /* largest inner message toward the far core */
    uint32_t since;     /* CONNECT sent at; next try after a failure */
    struct rpmsg_lean_edge_ept *ept[RPMSG_LEAN_EDGE_EPT_MAX];
};

int rpmsg_lean_edge_init(struct rpmsg_lean_edge *e, const struct rpmsg_lean_edge_config *cfg);
/* Reads the UART, delivers, answers, resends, keeps the route: never
 * blocks. Returns >0 when something moved, 0 when idle. */
int rpmsg_lean_edge_poll(struct rpmsg_lean_edge *e);
/* The route to the far core is up (its endpoints can be reached). */
bool rpmsg_lean_edge_is_up(const struct rpmsg_lean_edge *e);

/* src RPMSG_ADDR_ANY: a free address; named endpoints are announced when
 * the route is up, and bind to the far endpoint of the same name. */
int rpmsg_lean_edge_create_ept(struct rpmsg_lean_edge_ept *ept, struct rpmsg_lean_edge *e,
                               const char *name, uint32_t src, uint32_t dest,
                               rpmsg_lean_edge_cb_t cb, void *priv);
void rpmsg_lean_edge_destroy_ept(struct rpmsg_lean_edge_ept *ept);
/* Never waits: -EAGAIN when no buffer is free, -ENOTCONN when the route or
 * the endpoint is not bound, -EMSGSIZE. Returns len. */
int rpmsg_lean_edge_send(struct rpmsg_lean_edge_ept *ept, const void *data, size_t len);
int rpmsg_lean_edge_sendto(struct rpmsg_lean_edge_ept *ept, const void *data, size_t len,
                           uint32_t dst);

#ifdef __cplusplus
}
#endif

#endif /* RPMSG_LEAN_EDGE_H */
