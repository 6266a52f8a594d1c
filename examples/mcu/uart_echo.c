/*
 * A microcontroller talking to another chip over a UART: the port transport
 * with no OS (static memory, rpmsg_port_poll_link() and rpmsg_poll() in the
 * main loop) over the board's UART (board/uart_cmsdk.c: QEMU mps2-an386's
 * UART0). It announces "rpmsg-ping" and sends every message back to its
 * sender, so that `rpmsg ping --uart` on Linux checks each echo. It is the
 * "+ port UART" firmware of `make footprint` and the microcontroller end of
 * the cross-chip test (tests/mcu/mcu_test.sh uart), which waits for the
 * "READY" it prints through semihosting; it runs until stopped.
 */
#include <errno.h>

#include "board.h"
#include "rpmsg/rpmsg.h"
#include "rpmsg/rpmsg_port.h"

/* rpmsg_port_mem_size() of this config on a 32-bit CPU (8 + 8 buffers of
 * 512 B, the frames, the tables, the device): about 14.5 KB, with room for
 * the structures to grow; main() checks it and says what it needs. */
static uint64_t port_mem[2048];
static struct rpmsg_endpoint ept;
static unsigned errors;

static int echo(struct rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    /* The pinger keeps at most as many in flight as we have buffers. */
    if (rpmsg_trysendto(e, data, len, src) != (int)len)
        errors++;
    return 0;
}

int main(void)
{
    board_systick_start(25000000u);
    board_uart_start();
    const struct rpmsg_port_config cfg = {
        .local_cpuname = "mcu",
        .num_tx_bufs = 8,
        .num_rx_bufs = 8,
        /* What the line carries (115,200 baud) sizes the retransmission timer:
         * 0 (unknown) would take an emulated UART's slow turns for losses. */
        .line_rate = 11520,
        .no_rx_thread = true,
        .boot_entropy = 0x6d6375u,
        .link = RPMSG_PORT_UART,
        .uart = &board_uart_ops,
    };
    struct rpmsg_port *port;
    size_t need = rpmsg_port_mem_size(&cfg);
    if (!need || need > sizeof(port_mem)) {
        board_puts("FAIL port init: port_mem is smaller than rpmsg_port_mem_size()\n");
        return 1;
    }
    if (rpmsg_port_init_mem(&port, &cfg, port_mem, sizeof(port_mem))) {
        board_puts("FAIL port init\n");
        return 1;
    }
    struct rpmsg_device *rdev = rpmsg_port_device(port);
    if (rpmsg_create_ept(&ept, rdev, "rpmsg-ping", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, echo, NULL)) {
        board_puts("FAIL create_ept\n");
        return 1;
    }
    board_puts("READY\n");
    for (unsigned reported = 0;;) {
        int moved = rpmsg_port_poll_link(port);
        if (rpmsg_poll(rdev) <= 0 && moved <= 0)
            board_idle();
        if (errors != reported) {
            reported = errors;
            board_puts("echo send failed\n");
        }
    }
}
