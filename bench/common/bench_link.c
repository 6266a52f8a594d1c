#include "bench_link.h"

struct rpmsg_link *bench_link_open(const struct rpmsg_link_config *cfg)
{
    struct rpmsg_link *l;
    if (rpmsg_link_open(&l, cfg))
        return NULL;
    if (rpmsg_link_wait_up(l, 10000)) {
        rpmsg_link_close(l);
        return NULL;
    }
    return l;
}
