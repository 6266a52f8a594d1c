/*
 * Where a router's virtual devices and hub circuits come from: the heap
 * with an OS, fixed pools inside the router without one (RPMSG_NO_SYS has
 * no allocator; the pools are sized by RPMSG_ROUTER_VDEV_MAX and
 * RPMSG_ROUTER_CIRCUIT_MAX).
 */
#include "router_priv.h"

#if RPMSG_NO_SYS
/* A slot of a pool: zeroed when taken, so it starts as calloc's would. */
static void *take(void *base, bool *used, unsigned n, size_t size)
{
    for (unsigned i = 0; i < n; i++)
        if (!used[i]) {
            used[i] = true;
            void *p = (uint8_t *)base + i * size;
            memset(p, 0, size);
            return p;
        }
    return NULL;
}

static void give(void *base, bool *used, unsigned n, size_t size, const void *p)
{
    size_t off = (size_t)((const uint8_t *)p - (const uint8_t *)base);
    if (p && off / size < n)
        used[off / size] = false;
}

struct rr_vdev *rr_vdev_alloc(struct rpmsg_router *r)
{
    return take(r->vdev_pool, r->vdev_used, RPMSG_ROUTER_VDEV_MAX, sizeof(struct rr_vdev));
}

void rr_vdev_free(struct rpmsg_router *r, struct rr_vdev *v)
{
    give(r->vdev_pool, r->vdev_used, RPMSG_ROUTER_VDEV_MAX, sizeof(struct rr_vdev), v);
}

struct rr_hub_circuit *rr_hc_alloc(struct rpmsg_router *r)
{
    return take(r->hc_pool, r->hc_used, RPMSG_ROUTER_CIRCUIT_MAX, sizeof(struct rr_hub_circuit));
}

void rr_hc_free(struct rpmsg_router *r, struct rr_hub_circuit *hc)
{
    give(r->hc_pool, r->hc_used, RPMSG_ROUTER_CIRCUIT_MAX, sizeof(struct rr_hub_circuit), hc);
}
#else
struct rr_vdev *rr_vdev_alloc(struct rpmsg_router *r)
{
    (void)r;
    return calloc(1, sizeof(struct rr_vdev));
}

void rr_vdev_free(struct rpmsg_router *r, struct rr_vdev *v)
{
    (void)r;
    free(v);
}

struct rr_hub_circuit *rr_hc_alloc(struct rpmsg_router *r)
{
    (void)r;
    return calloc(1, sizeof(struct rr_hub_circuit));
}

void rr_hc_free(struct rpmsg_router *r, struct rr_hub_circuit *hc)
{
    (void)r;
    free(hc);
}
#endif
