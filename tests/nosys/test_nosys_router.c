/*
 * The router in the bare-metal build (RPMSG_NO_SYS=1): no threads, no
 * allocation, everything driven from one loop. Three cores in one process,
 * each with its own routers and ports in static memory:
 *
 *   a (edge) --UART-- hub --UART-- z (edge)
 *
 * a finds z as a virtual device through the hub, binds "echo" by name with
 * it and streams messages that z echoes back through the hub: every echo
 * arrives once, intact and in order. Then the a-hub line is cut: both edges
 * see their virtual device go down; the line comes back, the route returns
 * by itself, the endpoints bind again and the echoes go on.
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

#include "nosys_line.h"

#if !RPMSG_NO_SYS
#error "this test must be built against the bare-metal library"
#endif

#define NMSG 600u
#define WINDOW 4u
#define LOOPS_MAX 400000u
#define MSG_MAX 200u

/* The board's clock: one millisecond per turn of the main loop. */
static uint32_t sim_ms;
uint32_t rpmsg_board_time_ms(void);
uint32_t rpmsg_board_time_ms(void)
{
    return sim_ms;
}

enum { A, HA, HZ, Z, NPORTS }; /* ports: a's, the hub's two, z's */
enum { RA, RH, RZ, NROUTERS };

static struct pipe line_ah, line_ha, line_hz, line_zh;
static struct noise nz_ah, nz_hz;
static uint64_t port_mem[NPORTS][8192];
static uint64_t router_mem[NROUTERS][4096];

struct net {
    struct rpmsg_port *port[NPORTS];
    struct rpmsg_router *r[NROUTERS];
};

/* One turn of every core's main loop. */
static void turn(struct net *n)
{
    sim_ms++;
    for (int i = 0; i < NPORTS; i++) {
        rpmsg_port_poll_link(n->port[i]);
        rpmsg_poll(rpmsg_port_device(n->port[i]));
    }
    for (int i = 0; i < NROUTERS; i++)
        assert_true(rpmsg_router_poll(n->r[i]) >= 0);
}

static void net_up(struct net *n)
{
    static struct uart_end ends[NPORTS];
    ends[A] = (struct uart_end){ &line_ha, &line_ah, &nz_ah };
    ends[HA] = (struct uart_end){ &line_ah, &line_ha, &nz_ah };
    ends[HZ] = (struct uart_end){ &line_zh, &line_hz, &nz_hz };
    ends[Z] = (struct uart_end){ &line_hz, &line_zh, &nz_hz };
    static const char *const names[NPORTS] = { "a", "hub", "hub", "z" };
    for (int i = 0; i < NPORTS; i++)
        assert_int_equal(nl_uart_port(&n->port[i], port_mem[i], sizeof(port_mem[i]), names[i],
                                      0x4321u + (uint32_t)i, &ends[i]),
                         0);
    size_t need = rpmsg_router_mem_size();
    print_message("router memory: %zu bytes each\n", need);
    assert_true(need <= sizeof(router_mem[0]));
    static const char *const rnames[NROUTERS] = { "a", "hub", "z" };
    for (int i = 0; i < NROUTERS; i++) {
        struct rpmsg_router_config rc = { .local_cpuname = rnames[i], .hub = i == RH };
        assert_int_equal(rpmsg_router_init_mem(&n->r[i], &rc, router_mem[i], need - 1), -EINVAL);
        assert_int_equal(rpmsg_router_init_mem(&n->r[i], &rc, router_mem[i], need), 0);
    }
    assert_int_equal(rpmsg_router_attach(n->r[RA], rpmsg_port_device(n->port[A])), 0);
    assert_int_equal(rpmsg_router_attach(n->r[RH], rpmsg_port_device(n->port[HA])), 0);
    assert_int_equal(rpmsg_router_attach(n->r[RH], rpmsg_port_device(n->port[HZ])), 0);
    assert_int_equal(rpmsg_router_attach(n->r[RZ], rpmsg_port_device(n->port[Z])), 0);
    /* No gateway without an OS. */
    assert_int_equal(rpmsg_router_attach_plain(n->r[RH], rpmsg_port_device(n->port[HZ])),
                     -ENOTSUP);
}

static void net_down(struct net *n)
{
    for (int i = 0; i < NROUTERS; i++)
        rpmsg_router_destroy(n->r[i]);
    for (int i = 0; i < NPORTS; i++)
        rpmsg_port_deinit(n->port[i]);
}

/* ---- The echo service on z, the client on a -------------------------------- */

struct client {
    uint32_t sent, got, errors;
    uint32_t base; /* sequence numbers of this round start here */
};

static uint32_t echo_failed;

static int echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src, (void)priv;
    if (rpmsg_trysend(ept, data, len) != (int)len)
        echo_failed++;
    return 0;
}

static size_t msg_len(uint32_t seq)
{
    return 4 + seq * 37 % (MSG_MAX - 3);
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
        if (((const uint8_t *)data)[i] != (uint8_t)(seq * 13 + i))
            c->errors++;
    c->got++;
    return 0;
}

/* Sends what the window allows; never blocks. */
static void client_send(struct rpmsg_endpoint *ept, struct client *c)
{
    while (c->sent < NMSG && c->sent - c->got < WINDOW) {
        uint8_t msg[MSG_MAX];
        uint32_t seq = c->base + c->sent;
        size_t len = msg_len(seq);
        memcpy(msg, &seq, 4);
        for (size_t k = 4; k < len; k++)
            msg[k] = (uint8_t)(seq * 13 + k);
        int r = rpmsg_trysend(ept, msg, len);
        if (r != (int)len) {
            assert_true(r == -EAGAIN || r == -ENOTCONN || r == -EPIPE);
            return;
        }
        c->sent++;
    }
}

static bool vdev_up(struct net *n, int router, const char *far)
{
    struct rpmsg_device *d = rpmsg_router_find(n->r[router], far);
    return d && rpmsg_device_is_up(d);
}

/* One round: NMSG echoes from a through the hub, all back in order. */
static void echo_round(struct net *n, struct rpmsg_endpoint *ca, struct client *c)
{
    uint32_t loops = 0;
    while (c->got < NMSG && loops++ < LOOPS_MAX) {
        turn(n);
        if (rpmsg_is_ept_ready(ca))
            client_send(ca, c);
    }
    print_message("round from %u: %u echoes in %u turns\n", c->base, c->got, loops);
    assert_int_equal(c->got, NMSG);
    assert_int_equal(c->sent, NMSG);
    assert_int_equal(c->errors, 0);
    assert_int_equal(echo_failed, 0);
}

static void test_router_edge_hub_edge(void **state)
{
    (void)state;
    struct net n;
    net_up(&n);
    struct rpmsg_endpoint ca, ez;
    memset(&ca, 0, sizeof(ca));
    memset(&ez, 0, sizeof(ez));
    struct client c = { 0 };

    /* The routes come up, and each edge sees the other as a device. */
    uint32_t loops = 0;
    while (!(vdev_up(&n, RA, "z") && vdev_up(&n, RZ, "a")) && loops++ < LOOPS_MAX)
        turn(&n);
    assert_true(vdev_up(&n, RA, "z"));
    assert_true(vdev_up(&n, RZ, "a"));
    print_message("routes up after %u ms\n", sim_ms);
    assert_null(rpmsg_router_find(n.r[RA], "hub")); /* a neighbour is no virtual device */
    struct rpmsg_device *za = rpmsg_router_find(n.r[RA], "z");
    struct rpmsg_device *az = rpmsg_router_find(n.r[RZ], "a");
    assert_true(rpmsg_router_is_virtual(za));
    assert_string_equal(rpmsg_get_cpuname(za), "z");
    assert_int_equal(rpmsg_create_ept(&ez, az, "echo", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, echo_cb,
                                      NULL),
                     0);
    ca.priv = &c;
    assert_int_equal(rpmsg_create_ept(&ca, za, "echo", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                      client_cb, NULL),
                     0);
    echo_round(&n, &ca, &c);

    struct rpmsg_router_stats hs, as;
    assert_int_equal(rpmsg_router_get_stats(n.r[RH], &hs), 0);
    assert_int_equal(rpmsg_router_get_stats(n.r[RA], &as), 0);
    assert_true(hs.relayed_msgs >= 2 * NMSG); /* every message and echo went through the hub */
    assert_true(as.tunnel_tx >= NMSG);
    assert_true(as.tunnel_rx >= NMSG);
    assert_int_equal(as.routes_up, 1);

    /* The a-hub line is cut: both far ends see their device go down. */
    nz_ah.cut = true;
    loops = 0;
    while ((vdev_up(&n, RA, "z") || vdev_up(&n, RZ, "a")) && loops++ < 20000)
        turn(&n);
    assert_false(vdev_up(&n, RA, "z"));
    assert_false(vdev_up(&n, RZ, "a"));
    print_message("route down %u ms after the cut\n", loops);
    /* Still down a while later: nothing comes back over a cut line. */
    for (int i = 0; i < 3000; i++)
        turn(&n);
    assert_false(vdev_up(&n, RA, "z"));
    assert_false(rpmsg_is_ept_ready(&ca));

    /* It returns by itself, and the same endpoints bind again by name. */
    nz_ah.cut = false;
    loops = 0;
    while (!(rpmsg_is_ept_ready(&ca) && rpmsg_is_ept_ready(&ez)) && loops++ < LOOPS_MAX)
        turn(&n);
    assert_true(vdev_up(&n, RA, "z"));
    assert_true(vdev_up(&n, RZ, "a"));
    assert_true(rpmsg_is_ept_ready(&ca));
    print_message("route back %u ms after the repair\n", loops);
    assert_int_equal(rpmsg_router_find(n.r[RA], "z"), za); /* the same device */
    assert_int_equal(rpmsg_router_get_stats(n.r[RA], &as), 0);
    assert_int_equal(as.routes_up, 2);
    assert_int_equal(as.routes_down, 1);

    struct client c2 = { .base = 1000000u };
    ca.priv = &c2;
    echo_round(&n, &ca, &c2);

    rpmsg_destroy_ept(&ca);
    rpmsg_destroy_ept(&ez);
    net_down(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_edge_hub_edge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
