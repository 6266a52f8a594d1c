/* Resource table build and parse; see rsc_table.h. */
#include <errno.h>
#include <string.h>

#include "rsc_table.h"
#include "virtio_wire.h"
#include "rpmsg/rpmsg_virtio.h"

uint32_t rpmsg_rsc_table_size(uint32_t config_len)
{
    return RSC_VDEV_OFF + VDEV_CONFIG + config_len;
}

void rpmsg_rsc_write(uint8_t *tbl, const struct rpmsg_rsc_info *info, int keep_ack)
{
    vw_st32_rel(tbl, 0);
    vw_st32(tbl + 4, 1);
    vw_st32(tbl + 8, 0);
    vw_st32(tbl + 12, 0);
    vw_st32(tbl + RSC_HDR_SIZE, RSC_VDEV_OFF);

    uint8_t *v = tbl + RSC_VDEV_OFF;
    vw_st32(v + VDEV_TYPE, RPMSG_RSC_VDEV);
    vw_st32(v + VDEV_ID, RPMSG_VIRTIO_ID_RPMSG);
    vw_st32(v + VDEV_NOTIFYID, info->vdev_notifyid);
    vw_st32(v + VDEV_DFEATURES, info->dfeatures);
    vw_st32(v + VDEV_GFEATURES, info->gfeatures);
    vw_st32(v + VDEV_CONFIG_LEN, info->config_len);
    vw_st8(v + VDEV_STATUS, info->status);
    vw_st8(v + VDEV_NUM_VRINGS, 2);
    vw_st8(v + VDEV_GEN, info->gen);
    if (!keep_ack)
        vw_st8(v + VDEV_ACK, info->ack);
    for (int i = 0; i < 2; i++) {
        uint8_t *r = v + VDEV_VRINGS + RSC_VRING_SIZE * (uint32_t)i;
        vw_st32(r, info->vring[i].da);
        vw_st32(r + 4, info->vring[i].align);
        vw_st32(r + 8, info->vring[i].num);
        vw_st32(r + 12, info->vring[i].notifyid);
        vw_st32(r + 16, 0);
    }
    vw_zero(v + VDEV_CONFIG, info->config_len);
    vw_st32_rel(tbl, 1);
}

/* [off, off + len) inside [0, size)? */
static int fits(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

int rpmsg_rsc_parse(const uint8_t *shm, size_t shm_size, uint32_t rsc_off,
                    struct rpmsg_rsc_info *out)
{
    if ((rsc_off & 3) || !fits(rsc_off, RSC_HDR_SIZE, shm_size))
        return -EPROTO;
    const uint8_t *t = shm + rsc_off;
    uint32_t ver = vw_ld32_acq(t);
    if (ver == 0)
        return -EAGAIN;
    uint32_t num = vw_ld32(t + 4);
    if (ver != 1 || num == 0 || num > RSC_NUM_MAX ||
        !fits((uint64_t)rsc_off + RSC_HDR_SIZE, 4ull * num, shm_size))
        return -EPROTO;
    for (uint32_t i = 0; i < num; i++) {
        uint64_t eoff = (uint64_t)rsc_off + vw_ld32(t + RSC_HDR_SIZE + 4 * i);
        if ((eoff & 3) || !fits(eoff, RSC_VDEV_SIZE, shm_size))
            return -EPROTO;
        const uint8_t *v = shm + eoff;
        if (vw_ld32(v + VDEV_TYPE) != RPMSG_RSC_VDEV || vw_ld32(v + VDEV_ID) != RPMSG_VIRTIO_ID_RPMSG)
            continue;
        uint32_t config_len = vw_ld32(v + VDEV_CONFIG_LEN);
        if (vw_ld8(v + VDEV_NUM_VRINGS) != 2 ||
            !fits(eoff, (uint64_t)VDEV_CONFIG + config_len, shm_size))
            return -EPROTO;
        out->vdev_off = (uint32_t)eoff;
        out->entry_end = (uint32_t)(eoff + VDEV_CONFIG + config_len);
        out->vdev_notifyid = vw_ld32(v + VDEV_NOTIFYID);
        out->dfeatures = vw_ld32(v + VDEV_DFEATURES);
        out->gfeatures = vw_ld32(v + VDEV_GFEATURES);
        out->config_len = config_len;
        out->status = vw_ld8(v + VDEV_STATUS);
        out->gen = vw_ld8(v + VDEV_GEN);
        out->ack = vw_ld8(v + VDEV_ACK);
        for (int k = 0; k < 2; k++) {
            const uint8_t *r = v + VDEV_VRINGS + RSC_VRING_SIZE * (uint32_t)k;
            out->vring[k].da = vw_ld32(r);
            out->vring[k].align = vw_ld32(r + 4);
            out->vring[k].num = vw_ld32(r + 8);
            out->vring[k].notifyid = vw_ld32(r + 12);
        }
        return 0;
    }
    return -EPROTO;
}
