#include "stop.h"

_Atomic int tool_stop;

static void on_signal(int sig)
{
    (void)sig;
    tool_stop = 1;
}

bool tool_stop_requested(void *arg)
{
    (void)arg;
    return tool_stop != 0;
}

void tool_stop_on_signals(void)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
}
