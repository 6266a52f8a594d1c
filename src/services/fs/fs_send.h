/*
 * Zero-copy send that never leaks nor double-frees its buffer: released
 * here only when the core refused the call and left it with us
 * (rpmsg_nocopy_kept); otherwise the stack has it already.
 */
#ifndef RPMSG_FS_SEND_H
#define RPMSG_FS_SEND_H

#include <errno.h>

#include "rpmsg/rpmsg.h"

static inline int rpmsgfs_send_nocopy(struct rpmsg_endpoint *ept, void *buf, size_t len)
{
    int r = rpmsg_send_nocopy(ept, buf, len);
    if (r < 0 && rpmsg_nocopy_kept(r))
        rpmsg_release_tx_buffer(ept, buf);
    return r;
}

#endif
