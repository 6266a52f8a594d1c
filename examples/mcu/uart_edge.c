/*
 * The smallest routed firmware: the lean router edge (rpmsg_lean_edge.h)
 * on the board's UART, reaching the far core "big" through a hub (a Linux
 * process with the full library, say). It announces "rpmsg-ping" to big
 * and sends every message back to its sender. It is the
 * "port-uart-router-edge" firmware of `make footprint`, and prints "READY"
 * through semihosting once it runs.
 */
#include <errno.h>

#include "board.h"
#include "rpmsg/rpmsg_lean_edge.h"

static struct rpmsg_lean_edge edge;
static struct rpmsg_lean_edge_ept ept;
static unsigned errors;

static int echo(struct rpmsg_lean_edge_ept *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    if (rpmsg_lean_edge_sendto(e, data, len, src) != (int)len)
        errors++;
    return 0;
}

int main(void)
{
    board_systick_start(25000000u);
    board_uart_start();
    const struct rpmsg_lean_edge_config cfg = {
        .local_cpuname = "mcu",
        .far_cpuname = "big",
        .uart = &board_uart_ops,
        /* An emulated 115,200-baud UART: a frame takes about 15 ms each way. */
        .rto_ms = 100,
        .boot_entropy = 0x6d6375u,
    };
    if (rpmsg_lean_edge_init(&edge, &cfg) ||
        rpmsg_lean_edge_create_ept(&ept, &edge, "rpmsg-ping", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, echo,
                                   NULL)) {
        board_puts("FAIL init\n");
        return 1;
    }
    board_puts("READY\n");
    for (unsigned reported = 0;;) {
        if (rpmsg_lean_edge_poll(&edge) <= 0)
            board_idle();
        if (errors != reported) {
            reported = errors;
            board_puts("echo send failed\n");
        }
    }
}
