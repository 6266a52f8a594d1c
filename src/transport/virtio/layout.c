/* Region layouts: the default one, OpenAMP's Linux-demo one, NuttX's simulator
 * one, and their check. */
#include <errno.h>
#include <string.h>

#include "rsc_table.h"
#include "virtio_internal.h"
#include "vring.h"

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

/* NuttX simulator region (nuttx-wire.md §4): offsets, and the sizes NuttX uses. */
#define NX_SIM_SIZE 197072u
#define NX_SIM_TABLE 24u
#define NX_SIM_CARVEOUT 131532u
#define NX_SIM_CARVEOUT_END (NX_SIM_CARVEOUT + 0x10000u)
#define NX_SIM_NUM 8u
#define NX_SIM_ALIGN 8u
#define NX_SIM_BUF 0x600u

size_t rpmsg_virtio_layout_nuttx_sim(struct rpmsg_virtio_layout *l)
{
    if (!l)
        return 0;
    memset(l, 0, sizeof(*l));
    l->rsc_offset = NX_SIM_TABLE;
    uint32_t vs = (uint32_t)align_up(rpmsg_virtio_vring_size(NX_SIM_NUM, NX_SIM_ALIGN), NX_SIM_ALIGN);
    for (int i = 0; i < 2; i++) {
        /* NuttX's master puts vring0 and vring1 back to back at the start
         * of the carve-out, and lets the table say so. */
        l->vring_da[i] = NX_SIM_CARVEOUT + (uint32_t)i * vs;
        l->num[i] = NX_SIM_NUM;
        l->notifyid[i] = (uint32_t)i + 5;
        l->buf_size[i] = NX_SIM_BUF;
    }
    l->vdev_notifyid = 4;
    l->align = NX_SIM_ALIGN;
    l->buf_offset = (uint32_t)align_up(NX_SIM_CARVEOUT + 2u * vs, 16);
    l->pool_size = NX_SIM_CARVEOUT_END - l->buf_offset;
    l->cfg_format = RPMSG_VIRTIO_CFG_NUTTX;
    l->flags = RPMSG_VIRTIO_LAYOUT_F_BASE;
    l->base_off = 0;
    return NX_SIM_SIZE;
}

const struct rpmsg_virtio_cfgfmt *rpmsg_virtio_cfgfmt(uint32_t format)
{
    static const struct rpmsg_virtio_cfgfmt fmts[] = {
        [RPMSG_VIRTIO_CFG_NATIVE] = { CFG_SIZE, CFG_H2R, CFG_R2H, CFG_HOST_NAME, CFG_REMOTE_NAME,
                                      RPMSG_CPUNAME_SIZE },
        [RPMSG_VIRTIO_CFG_NUTTX] = { 64, 0, 4, 24, 32, 8 },
    };
    return format < sizeof(fmts) / sizeof(fmts[0]) ? &fmts[format] : NULL;
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
        /* 4 bytes, not virtio's 16: NuttX's simulator puts its vrings at
         * 4 mod 8, and vring.c reads descriptor addresses in 32-bit halves. */
        if (!pow2(r->num) || r->num > RPMSG_VIRTIO_NUM_MAX || !pow2(r->align) || r->align < 4 ||
            (r->da & 3))
            return -EINVAL;
        vlen[i] = rpmsg_vring_span(r->da, r->num, r->align);
        if (!vlen[i] || r->da > sz || vlen[i] > sz - r->da)
            return -EINVAL;
        if (overlap(r->da, vlen[i], g->table_off, tlen) ||
            overlap(r->da, vlen[i], g->pool_start, g->pool_end - g->pool_start))
            return -EINVAL;
    }
    /* Without the trailing avail_event (2 bytes, written only with
     * EVENT_IDX): NuttX's simulator starts vring1 right on vring0's. */
    if (overlap(g->vring[0].da, vlen[0] - 2, g->vring[1].da, vlen[1] - 2))
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
    if (!l || shm_size > UINT32_MAX || (l->rsc_offset & 3) || (l->buf_offset & 15) ||
        !rpmsg_virtio_cfgfmt(l->cfg_format) || (l->flags & ~RPMSG_VIRTIO_LAYOUT_F_BASE))
        return -EINVAL;
    if ((l->flags & RPMSG_VIRTIO_LAYOUT_F_BASE) &&
        ((l->base_off & 7) || (uint64_t)l->base_off + 8 > shm_size ||
         (l->base_off < l->rsc_offset + RSC_HDR_SIZE && l->base_off + 8 > l->rsc_offset)))
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
