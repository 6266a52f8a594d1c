/*
 * The byte stream of the port transport's UART link on QEMU's mps2 boards:
 * UART0, a CMSDK APB UART (one byte each way, no FIFO). Neither call
 * blocks, as the port asks of a link with no OS: what fits now goes out
 * (QEMU's UART never stays full for long) and what is not sent is
 * retransmitted by the protocol. A real board puts its own driver here
 * (a DMA ring, a FIFO).
 */
#include "board.h"
#include "rpmsg/rpmsg_port.h"

#define UART0 0x40004000u
#define UART_STRIDE 0x1000u /* UART1 follows UART0 */
#define UART_REG(base, off) (*(volatile uint32_t *)((base) + (off)))
#define UART_CTRL UART_REG(UART0, 0x8)
#define UART_INTCLEAR UART_REG(UART0, 0xC)
#define UART_BAUDDIV UART_REG(UART0, 0x10)
#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)
#define UART0_RX_IRQ 0u
#define STATE_TX_FULL 1u
#define STATE_RX_FULL 2u
#define CTRL_TX_EN 1u
#define CTRL_RX_EN 2u
#define CTRL_RX_INTEN 8u
#define INT_RX 2u

void board_uart_start(void)
{
    UART_BAUDDIV = 16;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INTEN;
    NVIC_ISER0 = 1u << UART0_RX_IRQ;
    /* UART1 for a second link (uart_router.c as a hub), polled: the tick
     * ends its wfi. */
    UART_REG(UART0 + UART_STRIDE, 0x10) = 16;
    UART_REG(UART0 + UART_STRIDE, 0x8) = CTRL_TX_EN | CTRL_RX_EN;
}

/* The byte stays in the UART for uart_read(); the interrupt only ends a wfi. */
void board_uart_rx_irq(void)
{
    UART_INTCLEAR = INT_RX;
}

/* An emulator's CPU that spins on the UART's status starves the thread that
 * feeds it bytes: sleeping here is what lets them in. */
void board_idle(void)
{
    __asm volatile("wfi");
}

void *board_uart_ctx(unsigned n)
{
    return (void *)(uintptr_t)(UART0 + n * UART_STRIDE);
}

static uint32_t base_of(void *ctx)
{
    return ctx ? (uint32_t)(uintptr_t)ctx : UART0;
}

static int uart_write(void *ctx, const void *buf, size_t len, uint64_t deadline_ms)
{
    (void)deadline_ms;
    uint32_t base = base_of(ctx);
    const uint8_t *b = buf;
    size_t n = 0;
    for (unsigned spin = 0; n < len && spin < 100000u; spin++)
        if (!(UART_REG(base, 0x4) & STATE_TX_FULL))
            UART_REG(base, 0x0) = b[n++];
    return (int)n;
}

static int uart_read(void *ctx, void *buf, size_t len, uint64_t deadline_ms)
{
    (void)deadline_ms;
    uint32_t base = base_of(ctx);
    uint8_t *b = buf;
    size_t n = 0;
    while (n < len && (UART_REG(base, 0x4) & STATE_RX_FULL))
        b[n++] = (uint8_t)UART_REG(base, 0x0);
    return (int)n;
}

const struct rpmsg_port_uart_ops board_uart_ops = { .write = uart_write, .read = uart_read };
