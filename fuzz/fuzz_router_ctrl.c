/*
 * The router's control protocol (HELLO, ROUTE, CONNECT, ACCEPT, REJECT,
 * DISCONNECT) and its relay, against two neighbours the fuzzer speaks for.
 *
 * One hub router ("hub") is attached to two loopback links; the far side
 * of each is a peer endpoint at RPMSG_ROUTER_ADDR that the harness drives.
 * The links are poll-driven (this thread runs them). Control messages are
 * built with the real encoder from
 * fields the input picks (types, names and tunnel addresses mostly
 * meaningful: names from a small set, addresses the router itself handed
 * out), so that inputs get past the decoder into route and circuit state;
 * raw payloads, forged sources, tunnel traffic and link resets are ops too.
 * Each input starts with both peers saying HELLO (a restart on that link),
 * which makes the router forget what it learned from them: the router and
 * its links are kept across inputs (creating them means threads).
 *
 * The router's worker runs on its own, so
 * coverage is not strictly deterministic; settle() waits until every
 * message sent is consumed. Checked by ASan/UBSan, and
 * that every control message the router sends decodes.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "common/byteorder.h"
#include "rpmsg/rpmsg_loopback.h"
#include "transport/router/router_priv.h"

#define LEARN 8u
#define NBUFS 8u
/* Poll-driven links: no RX thread hand-offs per message (about 1,200
 * inputs/s against 800 with threads). -DFUZZ_THREADED=1 gives the links RX
 * threads instead. Polled links once exposed a core use-after-free (an
 * endpoint destroyed from the router's worker while a polled callback ran
 * on it); the core now waits for that callback. The router's pump threads
 * wait on the links too, so polled links have two threads acting as one
 * device's RX context: a harness shortcut, not a supported setup (the router
 * needs links with RX threads); the TSan build uses threaded links. */
#ifdef FUZZ_THREADED
#define POLLED false
#else
#define POLLED true
#endif

static struct rpmsg_router *router;
static struct rpmsg_loopback *lb[2];
static struct rpmsg_endpoint peer[2];
static uint32_t learned[LEARN];
static unsigned nlearned;

static int peer_cb(struct rpmsg_endpoint *e, void *d, size_t l, uint32_t s, void *p)
{
    (void)e, (void)p;
    struct rr_msg m;
    if (s != RPMSG_ROUTER_ADDR)
        return 0;
    if (rr_decode(d, l, &m))
        abort(); /* the router sent something its own decoder refuses */
    if (m.from != RPMSG_ADDR_ANY && (m.type == RR_CONNECT || m.type == RR_ACCEPT))
        __atomic_store_n(&learned[__atomic_fetch_add(&nlearned, 1, __ATOMIC_RELAXED) % LEARN],
                         m.from, __ATOMIC_RELAXED);
    return 0;
}

static void setup(void)
{
    static const char *const names[2] = { "p0", "p1" };
    struct rpmsg_router_config rc = { .local_cpuname = "hub", .hub = true };
    if (rpmsg_router_create(&router, &rc))
        abort();
    for (int i = 0; i < 2; i++) {
        struct rpmsg_loopback_config c = {
            .num_bufs = NBUFS, .name_a = names[i], .name_b = "hub", .no_rx_thread = POLLED,
        };
        if (rpmsg_loopback_create(&lb[i], &c) ||
            rpmsg_router_attach(router, rpmsg_loopback_dev_b(lb[i])) ||
            rpmsg_create_ept(&peer[i], rpmsg_loopback_dev_a(lb[i]), NULL, RPMSG_ROUTER_ADDR,
                             RPMSG_ROUTER_ADDR, peer_cb, NULL))
            abort();
    }
}

/* Until every message sent either way has been taken and its buffer is
 * back (bounded: a link that is down keeps its buffers). */
static void settle(int rounds)
{
    for (int k = 0; k < rounds; k++) {
        if (POLLED) {
            /* One pass over the links, as the harness first did. */
            int n = 0;
            for (int i = 0; i < 2; i++) {
                n += rpmsg_poll(rpmsg_loopback_dev_b(lb[i]));
                n += rpmsg_poll(rpmsg_loopback_dev_a(lb[i]));
            }
            if (!n)
                sched_yield();
            continue;
        }
        for (int spin = 0; spin < 2000; spin++) {
            bool idle = true;
            for (int i = 0; i < 2 && idle; i++)
                idle = rpmsg_loopback_free_tx(lb[i], rpmsg_loopback_dev_a(lb[i])) == NBUFS &&
                       rpmsg_loopback_free_tx(lb[i], rpmsg_loopback_dev_b(lb[i])) == NBUFS;
            if (idle)
                break;
            sched_yield();
        }
        sched_yield(); /* the worker may have something to say */
    }
}

static uint32_t pick_addr(struct fin *f)
{
    uint8_t b = fin_u8(f);
    switch (b & 3) {
    case 0:
        return RPMSG_ADDR_ANY;
    case 1:
        return __atomic_load_n(&learned[(b >> 2) % LEARN], __ATOMIC_RELAXED);
    case 2:
        return 0x500u + (b >> 2);
    default:
        return fin_u32(f);
    }
}

static void pick_name(struct fin *f, char *out)
{
    static const char *const names[8] = { "p0", "p1", "hub", "far0", "far1", "far2", "", "p0" };
    uint8_t b = fin_u8(f);
    memset(out, 0, RPMSG_CPUNAME_SIZE);
    if (b < 0xF0) {
        strcpy(out, names[b % 8]);
        return;
    }
    const uint8_t *s;
    size_t n = fin_bytes(f, &s, (b & 15) + 16u);
    memcpy(out, s, n < RPMSG_CPUNAME_SIZE - 1 ? n : RPMSG_CPUNAME_SIZE - 1);
}

static void send_ctrl(int link, const struct rr_msg *m)
{
    uint8_t w[RR_WIRE_SIZE];
    rr_encode(m, w);
    rpmsg_trysendto(&peer[link], w, sizeof(w), RPMSG_ROUTER_ADDR);
}

static void op_ctrl(struct fin *f)
{
    static const uint32_t sizes[8] = { 0, 1, 16, 32, 480, 496, 4096, 0xFFFFFFFFu };
    uint8_t how = fin_u8(f);
    struct rr_msg m = { 0 };
    m.type = (uint8_t)(how & 0x80 ? fin_u8(f) : RR_HELLO + (how >> 1) % 6);
    uint8_t hops = fin_u8(f);
    m.hops = hops < 0xF0 ? hops % (RPMSG_ROUTER_HOPS_MAX + 2) : hops;
    m.flags = fin_u8(f);
    if (!(how & 0x40))
        m.flags &= RR_HELLO_REPLY | RR_HELLO_HUB | RR_HELLO_BYE;
    m.to = pick_addr(f);
    m.from = pick_addr(f);
    uint8_t s = fin_u8(f);
    m.fwd = sizes[s % 8];
    m.rev = sizes[(s >> 3) % 8];
    m.features = s & 0x40 ? RPMSG_F_NS : RPMSG_F_NS | RPMSG_F_ACK;
    pick_name(f, m.name);
    pick_name(f, m.src);
    send_ctrl(how & 1, &m);
}

static void op_raw(struct fin *f)
{
    uint8_t how = fin_u8(f);
    const uint8_t *b;
    uint8_t w[RR_WIRE_SIZE + 8] = { RR_VERSION };
    size_t n = fin_bytes(f, &b, fin_u8(f) % sizeof(w));
    memcpy(w, b, n);
    uint32_t src = how & 2 ? pick_addr(f) : RPMSG_ROUTER_ADDR;
    rpmsg_trysend_offchannel(&peer[how & 1], src, RPMSG_ROUTER_ADDR, w,
                             how & 4 ? n : RR_WIRE_SIZE);
}

/* An inner message down a tunnel the router opened. */
static void op_tunnel(struct fin *f)
{
    uint8_t how = fin_u8(f);
    uint8_t w[128] = { 0 };
    const uint8_t *b;
    uint32_t dst = __atomic_load_n(&learned[(how >> 1) % LEARN], __ATOMIC_RELAXED);
    size_t n = fin_bytes(f, &b, fin_u8(f) % (sizeof(w) - RPMSG_HDR_SIZE));
    rpmsg_put32(w, 0x400u + (how >> 4));
    rpmsg_put32(w + 4, how & 0x80 ? RPMSG_NS_ADDR : 0x400u);
    rpmsg_put16(w + 12, (uint16_t)(how & 0x40 ? fin_u16(f) : n));
    memcpy(w + RPMSG_HDR_SIZE, b, n);
    rpmsg_trysend_offchannel(&peer[how & 1], pick_addr(f), dst, w, RPMSG_HDR_SIZE + n);
}

static void hello(int link, uint8_t flags)
{
    struct rr_msg m = { .type = RR_HELLO, .flags = flags, .to = RPMSG_ADDR_ANY,
                        .from = RPMSG_ADDR_ANY };
    strcpy(m.name, link ? "p1" : "p0");
    send_ctrl(link, &m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!router)
        setup();
    struct fin f = { data, size };
    uint8_t first = fin_u8(&f);
    __atomic_store_n(&nlearned, 0, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < LEARN; i++)
        __atomic_store_n(&learned[i], RPMSG_ADDR_ANY, __ATOMIC_RELAXED);
    hello(0, first & 1 ? RR_HELLO_HUB : 0);
    hello(1, first & 2 ? RR_HELLO_HUB : 0);
    settle(4);
    while (f.n) {
        uint8_t op = fin_u8(&f);
        switch (op % 6) {
        case 0:
        case 1:
            op_ctrl(&f);
            break;
        case 2:
            op_raw(&f);
            break;
        case 3:
            op_tunnel(&f);
            break;
        case 4:
            if (op & 0x80) {
                /* A neighbour resets: the link goes down and comes back. */
                rpmsg_loopback_link_down(lb[op >> 6 & 1]);
                settle(2);
                rpmsg_loopback_link_up(lb[op >> 6 & 1]);
            }
            break;
        default:
            settle(8);
            break;
        }
        settle(2);
    }
    settle(4);
    return 0;
}
