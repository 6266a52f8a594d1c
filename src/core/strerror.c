/* Texts for the errors this library returns, with the meaning they have here. */
#include <string.h>

#include "internal.h"

const char *rpmsg_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case -EINVAL: return "invalid argument";
    case -EMSGSIZE: return "message larger than a buffer's payload";
    case -EAGAIN: return "no buffer free or endpoint not bound yet; try again";
    case -ETIMEDOUT: return "timed out waiting for a buffer or a binding";
    case -EPIPE: return "endpoint is being destroyed";
    case -ENOTCONN: return "link is down";
    case -EADDRINUSE: return "address already in use";
    case -EADDRNOTAVAIL: return "no free dynamic address";
    case -ENAMETOOLONG: return "name longer than 31 characters";
    case -EBUSY: return "endpoint already registered";
    case -EDEADLK: return "nested wait limit reached on the RX thread";
    case -ENOMEM: return "static table full";
    case -EEXIST: return "already registered";
    case -ENOENT: return "not found";
    case -EPROTO: return "peer violated the protocol; link faulted";
    default: return err < 0 && err > -4096 ? strerror(-err) : "unknown error";
    }
}
