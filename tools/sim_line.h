/*
 * An emulated UART line in a process of its own. The line emulator relays
 * on a thread, and the sim process must stay single-threaded: it forks the
 * cores at any time (restarts), and a fork taken while another thread holds
 * a lock (the allocator's, say) would leave the child stuck on it.
 */
#ifndef RPMSG_TOOLS_SIM_LINE_H
#define RPMSG_TOOLS_SIM_LINE_H

#include <stdint.h>
#include <sys/types.h>

#include "rpmsg/rpmsg_port.h"

struct sim_line {
    pid_t pid;
    int cmd_fd;      /* commands to the line process; closing it stops it */
    char tty[2][128]; /* side A, side B */
};

int sim_line_start(struct sim_line *l, const struct rpmsg_line_config *cfg);
int sim_line_cut(struct sim_line *l, uint32_t ms);
void sim_line_stop(struct sim_line *l);

#endif
