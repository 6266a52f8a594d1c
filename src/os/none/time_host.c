/* The board clock of the bare-metal build when it runs on a POSIX host
 * (tests, tools); a microcontroller build does not compile this file. */
#include <stdint.h>
#include <time.h>

uint32_t rpmsg_board_time_ms(void);

uint32_t rpmsg_board_time_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}
