/*
 * The measuring engine of `rpmsg ping` and `rpmsg bench`: binds to an echo
 * service by name, then runs rounds of messages through it, every echo
 * checked (sequence, checksum, order).
 *
 * Only the link's RX thread sends once a round's first message is out: a
 * sequence number is taken and its message queued by one thread, so
 * messages leave in sequence order and an echo out of order is a real error
 * (main and RX thread sending both used to reorder them).
 */
#ifndef RPMSG_TOOLS_PINGER_H
#define RPMSG_TOOLS_PINGER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "linkopts.h"

/*
 * The largest window: a native or OpenAMP VirtIO link has 256 buffers each
 * way, a UART/SPI link 32 or 128 (more in flight wait for a buffer there).
 * Beyond the buffers of the link, sends wait for buffers the peer can only
 * free by answering into ours, which are full too.
 */
#define PING_WINDOW_MAX 256u
/* What --count can ask: one round-trip time (8 bytes) is kept per message. */
#define PING_COUNT_MAX 100000000u

struct ping {
    const char *name;
    const char *to; /* --to CPU: only that core's service (NULL: the first to announce it) */
    bool join;      /* --join: the links are those `rpmsg sim` gave this core */
    struct rpmsg_link_member *member; /* with join */
    struct rpmsg_endpoint ept;
    struct rpmsg_sem bound, done;
    bool nocopy;
    uint32_t nuttx; /* 0, or the NuttX ping command sent (--nuttx) */
    uint32_t size, count, window;
    /* RX thread only, once the first message is out. */
    uint32_t next, in_flight, expect;
    atomic_uint received;
    atomic_ulong errors, send_errors;
    _Atomic uint32_t probe_ack; /* --check: the ACK command the probe got back */
    /* One-way round (oneway.h): the echo's report, or that it has none. */
    atomic_bool oneway, ow_reported, ow_unknown;
    _Atomic uint32_t ow_got, ow_bad;
    uint64_t *sent_ns; /* per message in flight: [seq % window] */
    uint64_t *rtt_ns;
};

/* Round-trip figures of the last round, in microseconds. */
struct ping_stats {
    unsigned n; /* round trips measured */
    double min, avg, p50, p99, max;
    double seconds, msgs_per_s;
};

/* p->name, ->nuttx, ->nocopy set; allocates for PING_WINDOW_MAX and count. */
int pinger_init(struct ping *p, uint32_t max_count);
void pinger_deinit(struct ping *p);
/* Before the link opens: the binding comes through the name service. */
void pinger_register(struct ping *p);
void pinger_unregister(struct ping *p);
/* Waits for the binding (--wait); says what to check when it does not come. */
int pinger_find(struct ping *p, struct linkopts *lo, struct rpmsg_link *link);
/* pinger_init() for max_count, register, open the link, find the service;
 * all undone on failure (said on stderr). 0 or -errno. */
int pinger_open(struct ping *p, uint32_t max_count, struct linkopts *lo, const char *cmd,
                struct rpmsg_link **link);
/*
 * A responder that announces nothing (a built-in core of `rpmsg sim`, which
 * binds to whatever asks for its echo by name): creates the endpoint p->name
 * on dev, announced, and waits until the far side binds it. 0, -ETIMEDOUT,
 * -ECANCELED (a signal) or why the endpoint could not be made. Undo with
 * rpmsg_destroy_ept(&p->ept).
 */
int pinger_bind_dev(struct ping *p, struct rpmsg_device *dev, uint32_t timeout_ms);
/* The endpoint, the link and the buffers of pinger_open(). */
void pinger_close(struct ping *p, struct rpmsg_link *link);
/* One round of p->count messages of p->size, p->window in flight; then the
 * figures. 0, or why it ended early (said on stderr). */
int pinger_round(struct ping *p, struct linkopts *lo, struct ping_stats *st);
/*
 * `ping --nuttx --check`: which encoding does the responder speak? A checked
 * request is 2 in nuttx-wire's (SEND_CHECK) and 3 in the 13.0.1 builds' (ack
 * + check), and each encoding takes the other's value for a request it does
 * not answer. A SEND (1 in both) with cookie NX_PROBE goes first; an ACK of
 * 0x20 switches p->nuttx to the 13.0.1 encoding. 0, or -ETIMEDOUT (the
 * nuttx-wire encoding kept).
 */
int pinger_probe_encoding(struct ping *p, struct linkopts *lo);
/*
 * One-way: p->count messages of p->size sent as fast as the link takes
 * them; the echo checks them and reports at the last. st: messages per
 * second from the first send to the report (n = messages the echo got).
 * 0, -ENOTSUP (the echo does not know one-way rounds: it echoed the
 * request), or why it ended early (said on stderr). pinger_errors() counts
 * what the echo found damaged or out of order, and failed sends.
 */
int pinger_oneway(struct ping *p, struct linkopts *lo, struct ping_stats *st);
/* Errors of the last round: wrong echoes and failed sends. */
unsigned long pinger_errors(struct ping *p);

#endif
