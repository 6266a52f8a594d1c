/*
 * A microcontroller on a routed network, with no OS: the port transport
 * over the board's UART and the router, all in static memory, driven by
 * rpmsg_port_poll_link(), rpmsg_poll() and rpmsg_router_poll() in the main
 * loop. As an edge (the default) it answers "rpmsg-ping" on every far core
 * that a hub makes reachable (each far core is a virtual device here); with
 * ROUTER_HUB it relays between two UARTs (UART0 and UART1) and is a hub.
 * They are the "+ router edge" and "+ router hub" firmwares of
 * `make footprint`.
 */
#include <errno.h>

#include "board.h"
#include "rpmsg/rpmsg.h"
#include "rpmsg/rpmsg_port.h"
#include "rpmsg/rpmsg_router.h"

#ifdef ROUTER_HUB
#define NPORTS 2
#else
#define NPORTS 1
#endif

/* rpmsg_port_mem_size() of 8 + 8 buffers of 256 B, and the router with
 * the bare-metal pools (rpmsg_router.h): main() checks both. */
static uint64_t port_mem[NPORTS][1280];
static uint64_t router_mem[1024];
static struct rpmsg_endpoint ept[RPMSG_ROUTER_VDEV_MAX];
static struct rpmsg_device *served[RPMSG_ROUTER_VDEV_MAX];
static unsigned errors;

static int echo(struct rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    if (rpmsg_trysendto(e, data, len, src) != (int)len)
        errors++;
    return 0;
}

/* An echo endpoint on each far core, once it appears. */
static void serve_far_cores(void)
{
    for (struct rpmsg_device *d = rpmsg_device_first(); d; d = rpmsg_device_next(d)) {
        if (!rpmsg_router_is_virtual(d))
            continue;
        unsigned i = 0;
        while (i < RPMSG_ROUTER_VDEV_MAX && served[i] && served[i] != d)
            i++;
        if (i == RPMSG_ROUTER_VDEV_MAX || served[i])
            continue;
        if (rpmsg_create_ept(&ept[i], d, "rpmsg-ping", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, echo,
                             NULL) == 0)
            served[i] = d;
    }
}

int main(void)
{
    board_systick_start(25000000u);
    board_uart_start();
    struct rpmsg_port *port[NPORTS];
    for (unsigned i = 0; i < NPORTS; i++) {
        const struct rpmsg_port_config cfg = {
            .local_cpuname = "mcu",
            .buf_size = 256,
            .num_tx_bufs = 8,
            .num_rx_bufs = 8,
            .line_rate = 11520, /* 115,200 baud: sizes the retransmission timer */
            .no_rx_thread = true,
            .boot_entropy = 0x6d6375u + i,
            .link = RPMSG_PORT_UART,
            .uart = &board_uart_ops,
            .link_ctx = board_uart_ctx(i),
        };
        size_t need = rpmsg_port_mem_size(&cfg);
        if (!need || need > sizeof(port_mem[i]) ||
            rpmsg_port_init_mem(&port[i], &cfg, port_mem[i], sizeof(port_mem[i]))) {
            board_puts("FAIL port init: port_mem smaller than rpmsg_port_mem_size()?\n");
            return 1;
        }
    }
    struct rpmsg_router_config rc = { .local_cpuname = "mcu" };
#ifdef ROUTER_HUB
    rc.hub = true;
#endif
    struct rpmsg_router *r;
    if (rpmsg_router_init_mem(&r, &rc, router_mem, sizeof(router_mem))) {
        board_puts("FAIL router init: router_mem smaller than rpmsg_router_mem_size()?\n");
        return 1;
    }
    for (unsigned i = 0; i < NPORTS; i++)
        if (rpmsg_router_attach(r, rpmsg_port_device(port[i]))) {
            board_puts("FAIL router attach\n");
            return 1;
        }
    board_puts("READY\n");
    for (unsigned reported = 0;;) {
        int moved = 0;
        for (unsigned i = 0; i < NPORTS; i++) {
            int n = rpmsg_port_poll_link(port[i]);
            moved += n > 0 ? n : 0;
            n = rpmsg_poll(rpmsg_port_device(port[i]));
            moved += n > 0 ? n : 0;
        }
        int n = rpmsg_router_poll(r);
        moved += n > 0 ? n : 0;
        serve_far_cores();
        if (!moved)
            board_idle();
        if (errors != reported) {
            reported = errors;
            board_puts("echo send failed\n");
        }
    }
}
