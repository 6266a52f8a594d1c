/*
 * Zero-copy send with the buffer's ownership right on failure: the core
 * leaves the buffer to the caller when it refuses a send before the
 * transport sees it (bad endpoint, being destroyed, unbound, too long),
 * while a transport that fails a send (a link that just went down) has
 * already taken the buffer back. Releasing it then would free it twice.
 */
#ifndef RPMSG_FS_SEND_H
#define RPMSG_FS_SEND_H

#include <errno.h>

#include "rpmsg/rpmsg.h"

static inline int rpmsgfs_send_nocopy(struct rpmsg_endpoint *ept, void *buf, size_t len)
{
    int r = rpmsg_send_nocopy(ept, buf, len);
    if (r == -EINVAL || r == -EPIPE || r == -EAGAIN || r == -EMSGSIZE)
        rpmsg_release_tx_buffer(ept, buf);
    return r;
}

#endif
