/* The little a test or footprint program needs from its board. */
#ifndef RPMSG_MCU_BOARD_H
#define RPMSG_MCU_BOARD_H

#include <stdint.h>

extern volatile uint32_t board_ms;

void board_puts(const char *s);
void board_exit(int code) __attribute__((noreturn));
/* SysTick every millisecond; board_ms counts them. */
void board_systick_start(uint32_t cpu_hz);
/* rpmsg's clock (rpmsg_opt.h: RPMSG_BOARD_TIME_MS). */
uint32_t rpmsg_board_time_ms(void);

#endif
