/* Region layouts: the default one, OpenAMP's Linux-demo one, and their check. */
#include <errno.h>
#include <string.h>

#include "rsc_table.h"
#include "virtio_internal.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static bool pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

uint32_t rpmsg_virtio_stride(uint32_t size)
{
    return (uint32_t)align_up(size, 16);
}

uint32_t rpmsg_virtio_pool_need(const struct rpmsg_virtio_layout *l)
{
    uint64_t need = 0;
    for (int i = 0; i < 2; i++) {
        uint32_t s = l->buf_size[i] ? l->buf_size[i] : RPMSG_BUFFER_SIZE;
        /* Without BUFSZ the link falls back to RPMSG_BUFFER_SIZE: room for both. */
        if (s < RPMSG_BUFFER_SIZE)
            s = RPMSG_BUFFER_SIZE;
        need += (uint64_t)l->num[i] * rpmsg_virtio_stride(s);
    }
    return need > UINT32_MAX ? UINT32_MAX : (uint32_t)need;
}

size_t rpmsg_virtio_layout_default(struct rpmsg_virtio_layout *l,
                                   const struct rpmsg_virtio_layout_params *p)
{
    static const struct rpmsg_virtio_layout_params none;
    if (!l)
        return 0;
    if (!p)
        p = &none;
    memset(l, 0, sizeof(*l));
    l->align = p->align ? p->align : 0x1000;
    uint64_t at = align_up(rpmsg_rsc_table_size(CFG_SIZE), l->align);
    for (int i = 0; i < 2; i++) {
        l->num[i] = p->num[i] ? p->num[i] : 256;
        l->buf_size[i] = p->buf_size[i] ? p->buf_size[i] : RPMSG_BUFFER_SIZE;
        l->notifyid[i] = (uint32_t)i + 1;
        size_t vs = rpmsg_virtio_vring_size(l->num[i], l->align);
        if (!vs || l->num[i] > RPMSG_VIRTIO_NUM_MAX || l->buf_size[i] <= RPMSG_HDR_SIZE ||
            l->buf_size[i] > RPMSG_VIRTIO_BUF_MAX)
            return 0;
        l->vring_da[i] = (uint32_t)at;
        at = align_up(at + vs, l->align);
    }
    l->buf_offset = (uint32_t)at;
    l->pool_size = rpmsg_virtio_pool_need(l);
    uint64_t total = at + l->pool_size;
    if (total > UINT32_MAX)
        return 0;
    return (size_t)total;
}

size_t rpmsg_virtio_layout_openamp(struct rpmsg_virtio_layout *l)
{
    if (!l)
        return 0;
    memset(l, 0, sizeof(*l));
    l->rsc_offset = 0;
    l->vring_da[0] = 0x4000;
    l->vring_da[1] = 0x8000;
    l->num[0] = l->num[1] = 256;
    l->align = 0x1000;
    l->notifyid[0] = 1;
    l->notifyid[1] = 2;
    l->buf_offset = 0x10000;
    l->pool_size = 0x40000;
    l->buf_size[0] = l->buf_size[1] = 512;
    return 0x80000;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

int rpmsg_virtio_geometry_check(const struct rpmsg_virtio_geom *g, size_t shm_size)
{
    uint64_t sz = shm_size;
    uint64_t tlen = g->table_end - g->table_off;
    if (g->table_end < g->table_off || g->table_end > sz)
        return -EINVAL;
    uint64_t vlen[2];
    for (int i = 0; i < 2; i++) {
        const struct rpmsg_rsc_vring *r = &g->vring[i];
        if (!pow2(r->num) || r->num > RPMSG_VIRTIO_NUM_MAX || !pow2(r->align) || r->align < 4 ||
            (r->da & 15))
            return -EINVAL;
        vlen[i] = rpmsg_virtio_vring_size(r->num, r->align);
        if (!vlen[i] || r->da > sz || vlen[i] > sz - r->da)
            return -EINVAL;
        if (overlap(r->da, vlen[i], g->table_off, tlen) ||
            overlap(r->da, vlen[i], g->pool_start, g->pool_end - g->pool_start))
            return -EINVAL;
    }
    if (overlap(g->vring[0].da, vlen[0], g->vring[1].da, vlen[1]))
        return -EINVAL;
    if (g->pool_end < g->pool_start || g->pool_end > sz ||
        overlap(g->pool_start, g->pool_end - g->pool_start, g->table_off, tlen))
        return -EINVAL;
    return 0;
}

void rpmsg_virtio_layout_geom(const struct rpmsg_virtio_layout *l, size_t shm_size,
                              uint32_t config_len, struct rpmsg_virtio_geom *g)
{
    g->table_off = l->rsc_offset;
    g->table_end = (uint64_t)l->rsc_offset + rpmsg_rsc_table_size(config_len);
    for (int i = 0; i < 2; i++) {
        g->vring[i].da = l->vring_da[i];
        g->vring[i].num = l->num[i];
        g->vring[i].align = l->align;
        g->vring[i].notifyid = l->notifyid[i];
    }
    g->pool_start = l->buf_offset;
    g->pool_end = l->pool_size ? (uint64_t)l->buf_offset + l->pool_size : shm_size;
}

int rpmsg_virtio_layout_check(const struct rpmsg_virtio_layout *l, size_t shm_size)
{
    if (!l || shm_size > UINT32_MAX || (l->rsc_offset & 3) || (l->buf_offset & 15))
        return -EINVAL;
    struct rpmsg_virtio_geom g;
    rpmsg_virtio_layout_geom(l, shm_size, CFG_SIZE, &g);
    int r = rpmsg_virtio_geometry_check(&g, shm_size);
    if (r)
        return r;
    for (int i = 0; i < 2; i++)
        if (l->buf_size[i] && (l->buf_size[i] <= RPMSG_HDR_SIZE || l->buf_size[i] > RPMSG_VIRTIO_BUF_MAX))
            return -EINVAL;
    if (rpmsg_virtio_pool_need(l) > g.pool_end - g.pool_start)
        return -EINVAL;
    return 0;
}
