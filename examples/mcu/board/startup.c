/*
 * Reset and fault entry for a Cortex-M, enough for the footprint programs and
 * the QEMU tests: copy .data, clear .bss, turn the FPU on where there is one,
 * run main(), report its result through semihosting. A real board has its
 * vendor's startup instead.
 */
#include <stdint.h>
#include <string.h>

#include "board.h"

extern uint32_t _data_load[], _data_start[], _data_end[], _bss_start[], _bss_end[], _stack_top[];
int main(void);
void board_reset(void);

static void board_fault(void)
{
    board_puts("FAULT\n");
    board_exit(3);
}

static void board_systick(void)
{
    board_ms++;
}

volatile uint32_t board_ms;

/* Initial stack, reset, NMI, hard fault, ... SysTick (15), then IRQ 0: UART0
 * RX (uart_cmsdk.c; it only wakes a wfi). */
__attribute__((section(".vectors"), used)) static void (*const vectors[17])(void) = {
    (void (*)(void))(uintptr_t)_stack_top, board_reset, board_fault, board_fault,
    board_fault, board_fault, board_fault, 0, 0, 0, 0, 0, 0, 0, 0, board_systick,
    board_uart_rx_irq,
};

void board_reset(void)
{
    memcpy(_data_start, _data_load, (size_t)((uint8_t *)_data_end - (uint8_t *)_data_start));
    memset(_bss_start, 0, (size_t)((uint8_t *)_bss_end - (uint8_t *)_bss_start));
#if defined(__ARM_FP)
    /* CPACR: full access to CP10/CP11, or the first float instruction faults. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm volatile("dsb\n isb");
#endif
    board_exit(main());
}

/* Semihosting: a BKPT 0xAB the debugger (here QEMU with -semihosting) serves. */
static uintptr_t semihost(uintptr_t op, const void *arg)
{
    register uintptr_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_puts(const char *s)
{
    semihost(0x04, s); /* SYS_WRITE0 */
}

void board_exit(int code)
{
    /* SYS_EXIT_EXTENDED: ADP_Stopped_ApplicationExit and the code (plain
     * SYS_EXIT on 32-bit Arm cannot carry one). */
    const uintptr_t args[2] = { 0x20026u, (uintptr_t)code };
    semihost(0x20, args);
    for (;;)
        ;
}

void board_systick_start(uint32_t cpu_hz)
{
    volatile uint32_t *st = (volatile uint32_t *)0xE000E010u;
    st[1] = cpu_hz / 1000u - 1u; /* RVR: a tick per millisecond */
    st[2] = 0;                   /* CVR */
    st[0] = 7;                   /* CSR: processor clock, interrupt, enable */
}

uint32_t rpmsg_board_time_ms(void)
{
    return board_ms;
}
