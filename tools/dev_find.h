/* Waiting for a device by its peer's cpu name (a link, or a far core behind hubs). */
#ifndef RPMSG_TOOLS_DEV_FIND_H
#define RPMSG_TOOLS_DEV_FIND_H

#include <stdbool.h>
#include <stdint.h>

#include "rpmsg/rpmsg.h"

/*
 * The device whose cpu name is cpuname: one already up, or the next to come
 * within timeout_ms. NULL on timeout, or as soon as stop(arg) says so
 * (asked every 100 ms; stop may be NULL).
 */
struct rpmsg_device *dev_find(const char *cpuname, uint32_t timeout_ms, bool (*stop)(void *),
                              void *arg);

#endif
