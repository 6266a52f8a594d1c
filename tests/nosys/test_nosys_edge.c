/*
 * The lean router edge (src/lean/edge_*) against the full library: a
 * microcontroller "m" with the lean edge, a hub and a far core "big", both
 * with the full port transport and router, all in one loop with no OS:
 *
 *   m (lean edge) --UART-- hub --UART-- big (edge)
 *
 * big sees m as a virtual device, binds "echo" with it by name and streams
 * messages that m echoes: every echo arrives once, intact and in order,
 * over a line that flips bits. The m-hub line is cut: both ends see the
 * route go down; it comes back by itself and the echoes go on. Run twice:
 * with the lean edge initiating the route (its name is the smaller) and
 * answering it. At the end m gets frames of its session with made-up
 * contents, and garbage.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rpmsg/rpmsg.h"
#include "rpmsg/rpmsg_port.h"
#include "rpmsg/rpmsg_router.h"
#include "transport/port/port_wire.h"

/* The lean edge is compiled where a firmware asks for it (RPMSG_LEAN_EDGE). */
#undef RPMSG_LEAN_EDGE
#define RPMSG_LEAN_EDGE 1
#include "lean/edge_link.c"
#include "lean/edge_route.c"

#include "nosys_line.h"

#if !RPMSG_NO_SYS
#error "this test must be built against the bare-metal library"
#endif

#define NMSG 400u
#define WINDOW 2u
#define LOOPS_MAX 400000u

static uint32_t sim_ms;
uint32_t rpmsg_board_time_ms(void);
uint32_t rpmsg_board_time_ms(void)
{
    return sim_ms;
}

enum { HM, HB, B, NPORTS }; /* the hub's port to m, its port to big, big's */

static struct pipe line_mh, line_hm, line_hb, line_bh;
static struct noise nz_m, nz_b;
static uint64_t port_mem[NPORTS][8192];
static uint64_t router_mem[2][4096];

struct net {
    const char *mname;
    struct rpmsg_lean_edge m;
    struct rpmsg_lean_edge_ept echo;
    struct rpmsg_port *port[NPORTS];
    struct rpmsg_router *hub, *big;
    uint32_t echo_failed;
};

static void turn(struct net *n)
{
    sim_ms++;
    rpmsg_lean_edge_poll(&n->m);
    for (int i = 0; i < NPORTS; i++) {
        rpmsg_port_poll_link(n->port[i]);
        rpmsg_poll(rpmsg_port_device(n->port[i]));
    }
    assert_true(rpmsg_router_poll(n->hub) >= 0);
    assert_true(rpmsg_router_poll(n->big) >= 0);
}

/* m's UART: time passes while it reads (a real clock ticks during a poll). */
static int m_read(void *ctx, void *buf, size_t len, uint64_t dl)
{
    int n = u_read(ctx, buf, len, dl);
    if (n > 0)
        sim_ms++;
    return n;
}

static const struct rpmsg_port_uart_ops m_uart = { u_write, m_read, NULL };

static int lean_echo(struct rpmsg_lean_edge_ept *ept, void *data, size_t len, uint32_t src,
                     void *priv)
{
    struct net *n = priv;
    if (rpmsg_lean_edge_sendto(ept, data, len, src) != (int)len)
        n->echo_failed++;
    return 0;
}

static void net_up(struct net *n)
{
    static struct uart_end ends[NPORTS + 1];
    ends[HM] = (struct uart_end){ &line_mh, &line_hm, &nz_m };
    ends[HB] = (struct uart_end){ &line_bh, &line_hb, &nz_b };
    ends[B] = (struct uart_end){ &line_hb, &line_bh, &nz_b };
    ends[NPORTS] = (struct uart_end){ &line_hm, &line_mh, &nz_m }; /* m's */
    static const char *const names[NPORTS] = { "hub", "hub", "big" };
    for (int i = 0; i < NPORTS; i++)
        assert_int_equal(nl_uart_port(&n->port[i], port_mem[i], sizeof(port_mem[i]), names[i],
                                      0x7777u + (uint32_t)i, &ends[i]),
                         0);
    struct rpmsg_router_config hc = { .local_cpuname = "hub", .hub = true };
    struct rpmsg_router_config bc = { .local_cpuname = "big" };
    assert_int_equal(rpmsg_router_init_mem(&n->hub, &hc, router_mem[0], sizeof(router_mem[0])), 0);
    assert_int_equal(rpmsg_router_init_mem(&n->big, &bc, router_mem[1], sizeof(router_mem[1])), 0);
    assert_int_equal(rpmsg_router_attach(n->hub, rpmsg_port_device(n->port[HM])), 0);
    assert_int_equal(rpmsg_router_attach(n->hub, rpmsg_port_device(n->port[HB])), 0);
    assert_int_equal(rpmsg_router_attach(n->big, rpmsg_port_device(n->port[B])), 0);

    struct rpmsg_lean_edge_config mc = {
        .local_cpuname = n->mname, .far_cpuname = "big", .uart = &m_uart,
        .uart_ctx = &ends[NPORTS], .boot_entropy = 0x1357u,
    };
    assert_int_equal(rpmsg_lean_edge_init(&n->m, &mc), 0);
    assert_int_equal(rpmsg_lean_edge_create_ept(&n->echo, &n->m, "echo", RPMSG_ADDR_ANY,
                                                RPMSG_ADDR_ANY, lean_echo, n),
                     0);
}

static void net_down(struct net *n)
{
    rpmsg_router_destroy(n->hub);
    rpmsg_router_destroy(n->big);
    for (int i = 0; i < NPORTS; i++)
        rpmsg_port_deinit(n->port[i]);
}

/* ---- big's client -------------------------------------------------------------- */

struct client {
    uint32_t sent, got, errors, base;
};

static size_t msg_len(uint32_t seq)
{
    return 4 + seq * 29 % 90; /* 4..93: fits the lean edge's 128-byte buffers */
}

static int client_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)src;
    struct client *c = priv;
    uint32_t seq = 0;
    if (len >= 4)
        memcpy(&seq, data, 4);
    if (len != msg_len(seq) || seq != c->base + c->got)
        c->errors++;
    for (size_t i = 4; i < len; i++)
        if (((const uint8_t *)data)[i] != (uint8_t)(seq * 11 + i))
            c->errors++;
    c->got++;
    return 0;
}

static void echo_round(struct net *n, struct rpmsg_endpoint *ept, struct client *c)
{
    uint32_t loops = 0;
    while (c->got < NMSG && loops++ < LOOPS_MAX) {
        turn(n);
        while (rpmsg_is_ept_ready(ept) && c->sent < NMSG && c->sent - c->got < WINDOW) {
            uint8_t msg[100];
            uint32_t seq = c->base + c->sent;
            size_t len = msg_len(seq);
            memcpy(msg, &seq, 4);
            for (size_t k = 4; k < len; k++)
                msg[k] = (uint8_t)(seq * 11 + k);
            int r = rpmsg_trysend(ept, msg, len);
            if (r != (int)len) {
                assert_true(r == -EAGAIN || r == -ENOTCONN);
                break;
            }
            c->sent++;
        }
    }
    print_message("round from %u: %u echoes in %u turns\n", c->base, c->got, loops);
    assert_int_equal(c->got, NMSG);
    assert_int_equal(c->errors, 0);
    assert_int_equal(n->echo_failed, 0);
}

static bool big_up(struct net *n)
{
    struct rpmsg_device *d = rpmsg_router_find(n->big, n->mname);
    return d && rpmsg_device_is_up(d);
}

/* Feeds m frames with a valid CRC and this session's tags but made-up
 * contents (control messages, tunnel messages, name service, lengths that
 * lie), and raw garbage: ASan and UBSan watch every read. */
static uint32_t hostile_frames(struct net *n)
{
    uint32_t taken = 0; /* messages m took in order: they reached its parsers */
    for (int k = 0; k < 3000; k++) {
        uint16_t before = n->m.rcv_next;
        uint8_t body[RPMSG_LEAN_EDGE_BUF * 2];
        size_t blen = 0;
        for (int msgs = 1 + (int)(rnd() % 2); msgs-- && blen + 16 <= sizeof(body);) {
            uint8_t *m = body + blen;
            uint32_t room = (uint32_t)(sizeof(body) - blen - 16);
            uint32_t plen = rnd() % 4 ? rnd() % (room + 1) : 88u < room ? 88u : room;
            static const uint32_t addrs[] = { 0x3F0u, RPMSG_ADDR_DYN_BASE, 0x35u, 7u };
            rpmsg_put32(m, rnd() % 3 ? addrs[rnd() % 4] : rnd());
            rpmsg_put32(m + 4, addrs[rnd() % 4]);
            rpmsg_put32(m + 8, rnd());
            rpmsg_put16(m + 12, (uint16_t)(rnd() % 8 ? plen : rnd()));
            rpmsg_put16(m + 14, 0);
            for (uint32_t i = 0; i < plen; i++)
                m[16 + i] = (uint8_t)(rnd() % 3 ? rnd() % 8 : rnd());
            if (plen >= 88 && rnd() % 2) {
                m[16] = 1;                            /* a control message */
                m[17] = (uint8_t)(1 + rnd() % 7);     /* of any type */
                rpmsg_put32(m + 16 + 4, rnd() % 2 ? RPMSG_ADDR_DYN_BASE : rnd());
            }
            blen += 16 + plen;
        }
        uint8_t f[16 + sizeof(body) + 4];
        /* DATA or ACK: a made-up hello would end the session. */
        struct port_hdr h = { .type = (uint8_t)(rnd() % 8 ? 3 : 4), .stag = (uint8_t)n->m.peer_nonce,
                              .rtag = (uint8_t)n->m.nonce, .seq = n->m.rcv_next,
                              .ack = (uint16_t)rnd(), .limit = (uint16_t)rnd(),
                              .len = (uint16_t)blen };
        rpmsg_port_hdr_put(f, &h);
        memcpy(f + 16, body, blen);
        size_t flen = rpmsg_port_seal(f, blen);
        uint8_t enc[sizeof(f) + sizeof(f) / 254 + 2];
        size_t elen = rpmsg_port_cobs_encode(f, flen, enc);
        enc[elen++] = 0;
        if (rnd() % 8 == 0)
            for (size_t i = 0; i < elen; i++)
                enc[i] = (uint8_t)rnd(); /* garbage instead */
        for (size_t i = 0; i < elen && line_hm.len < PIPE_CAP; i++)
            line_hm.b[(line_hm.head + line_hm.len++) % PIPE_CAP] = enc[i];
        rpmsg_lean_edge_poll(&n->m);
        if ((uint16_t)(n->m.rcv_next - before) <= 2)
            taken += (uint16_t)(n->m.rcv_next - before); /* not a session restart */
    }
    return taken;
}

static void run(const char *mname)
{
    static struct net n;
    memset(&n, 0, sizeof(n));
    memset(&nz_m, 0, sizeof(nz_m));
    memset(&line_mh, 0, sizeof(line_mh)); /* nothing left from the last run */
    memset(&line_hm, 0, sizeof(line_hm));
    memset(&line_hb, 0, sizeof(line_hb));
    memset(&line_bh, 0, sizeof(line_bh));
    nz_m.flip_in = 3000; /* a bit error every few frames on m's line */
    n.mname = mname;
    net_up(&n);

    uint32_t loops = 0;
    while (!(big_up(&n) && rpmsg_lean_edge_is_up(&n.m)) && loops++ < LOOPS_MAX)
        turn(&n);
    assert_true(big_up(&n));
    assert_true(rpmsg_lean_edge_is_up(&n.m));
    print_message("%s: route up after %u ms\n", mname, loops);
    struct rpmsg_device *bm = rpmsg_router_find(n.big, mname);
    assert_string_equal(rpmsg_get_cpuname(bm), mname);

    struct rpmsg_endpoint ept;
    memset(&ept, 0, sizeof(ept));
    struct client c = { 0 };
    ept.priv = &c;
    assert_int_equal(rpmsg_create_ept(&ept, bm, "echo", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, client_cb,
                                      NULL),
                     0);
    echo_round(&n, &ept, &c);
    assert_true(nz_m.flipped > 0);

    /* The m-hub line is cut: both ends lose the route. */
    nz_m.cut = true;
    loops = 0;
    while ((big_up(&n) || rpmsg_lean_edge_is_up(&n.m)) && loops++ < 20000)
        turn(&n);
    assert_false(big_up(&n));
    assert_false(rpmsg_lean_edge_is_up(&n.m));
    assert_int_equal(n.echo.dest, RPMSG_ADDR_ANY); /* waits for the next announcement */
    print_message("route down %u ms after the cut\n", loops);
    for (int i = 0; i < 2000; i++)
        turn(&n);
    assert_false(rpmsg_lean_edge_is_up(&n.m));

    nz_m.cut = false;
    loops = 0;
    while (!(rpmsg_is_ept_ready(&ept) && n.echo.dest != RPMSG_ADDR_ANY) && loops++ < LOOPS_MAX)
        turn(&n);
    assert_true(rpmsg_lean_edge_is_up(&n.m));
    assert_true(rpmsg_is_ept_ready(&ept));
    print_message("route back %u ms after the repair\n", loops);

    struct client c2 = { .base = 5000000u };
    ept.priv = &c2;
    echo_round(&n, &ept, &c2);

    uint32_t taken = hostile_frames(&n);
    print_message("made-up messages taken in order: %u\n", taken);
    assert_true(taken > 100);
    rpmsg_destroy_ept(&ept);
    rpmsg_lean_edge_destroy_ept(&n.echo);
    net_down(&n);
}

/* "a" < "big": the lean edge sends CONNECT. */
static void test_lean_edge_initiates(void **state)
{
    (void)state;
    run("a");
}

/* "m" > "big": the far core sends CONNECT and the lean edge accepts. */
static void test_lean_edge_accepts(void **state)
{
    (void)state;
    run("m");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lean_edge_initiates),
        cmocka_unit_test(test_lean_edge_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
