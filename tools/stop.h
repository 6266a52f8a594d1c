/* SIGINT and SIGTERM as a flag that a command's loop polls. */
#ifndef RPMSG_TOOLS_STOP_H
#define RPMSG_TOOLS_STOP_H

#include <signal.h>

extern volatile sig_atomic_t tool_stop;

/* From now on SIGINT and SIGTERM set tool_stop instead of killing. */
void tool_stop_on_signals(void);

#endif
