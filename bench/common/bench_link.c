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

struct rpmsg_link *bench_link_open_end(const char *spec, bool host, enum rpmsg_link_wait wait)
{
    struct rpmsg_link_config cfg = {
        .spec = spec,
        .role = host ? RPMSG_LINK_HOST : RPMSG_LINK_REMOTE,
        .side = host ? RPMSG_LINK_CREATE : RPMSG_LINK_ATTACH,
        .wait = wait,
    };
    return bench_link_open(&cfg);
}
