/* The little a test or footprint program needs from its board. */
#ifndef RPMSG_MCU_BOARD_H
#define RPMSG_MCU_BOARD_H

#include <stddef.h>
#include <stdint.h>

extern volatile uint32_t board_ms;

void board_puts(const char *s);
void board_exit(int code) __attribute__((noreturn));
/* SysTick every millisecond; board_ms counts them. */
void board_systick_start(uint32_t cpu_hz);
/* rpmsg's clock (rpmsg_opt.h: RPMSG_BOARD_TIME_MS). */
uint32_t rpmsg_board_time_ms(void);

/* UART0 as the port transport's byte stream (uart_cmsdk.c). */
struct rpmsg_port_uart_ops;
/* With its RX interrupt on, so that board_idle() wakes when a byte comes. */
void board_uart_start(void);
void board_uart_rx_irq(void);
/* Sleeps until an interrupt (a byte, the next millisecond tick). */
void board_idle(void);
extern const struct rpmsg_port_uart_ops board_uart_ops;
/* The link_ctx that picks UART n (0: UART0, also a NULL ctx). */
void *board_uart_ctx(unsigned n);

#endif
