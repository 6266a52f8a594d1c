/* SIGINT and SIGTERM as a flag that a command's loop polls. */
#ifndef RPMSG_TOOLS_STOP_H
#define RPMSG_TOOLS_STOP_H

#include <signal.h>
#include <stdbool.h>

/* Atomic, not volatile sig_atomic_t: the signal may land on any thread
 * (the RX thread too), and the loops reading it run on others. */
extern _Atomic int tool_stop;

/* From now on SIGINT and SIGTERM set tool_stop instead of killing. */
void tool_stop_on_signals(void);
/* tool_stop as a cancel hook (rpmsg_link_config.cancel). */
bool tool_stop_requested(void *arg);

#endif
