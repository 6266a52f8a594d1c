/*
 * The remoteproc resource table with one RSC_VDEV entry (wire-formats.md §3):
 *   header: u32 ver=1, u32 num, u32 reserved[2], u32 offset[num]
 *   vdev:   u32 type=3, id=7, notifyid, dfeatures, gfeatures, config_len;
 *           u8 status, num_of_vrings=2, reserved[2] (our gen and ack bytes);
 *           2 x { u32 da, align, num, notifyid, reserved }; config_len bytes.
 * The table we write has one entry, right after a one-slot offset array.
 */
#ifndef RPMSG_RSC_TABLE_H
#define RPMSG_RSC_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define RSC_HDR_SIZE 16u
#define RSC_VDEV_OFF (RSC_HDR_SIZE + 4u) /* our table: offset[0] then the entry */
#define RSC_VDEV_SIZE 28u
#define RSC_VRING_SIZE 20u
#define RSC_NUM_MAX 64u /* entries a parsed table may list */

/* Field offsets inside the vdev entry. */
#define VDEV_TYPE 0u
#define VDEV_ID 4u
#define VDEV_NOTIFYID 8u
#define VDEV_DFEATURES 12u
#define VDEV_GFEATURES 16u
#define VDEV_CONFIG_LEN 20u
#define VDEV_STATUS 24u
#define VDEV_NUM_VRINGS 25u
#define VDEV_GEN 26u
#define VDEV_ACK 27u
#define VDEV_VRINGS 28u
#define VDEV_CONFIG (VDEV_VRINGS + 2u * RSC_VRING_SIZE)

/* Offsets inside struct rpmsg_virtio_cfgspace. */
#define CFG_H2R 0u
#define CFG_R2H 4u
#define CFG_HOST_NAME 64u
#define CFG_REMOTE_NAME 96u
#define CFG_SIZE 128u

struct rpmsg_rsc_vring {
    uint32_t da, align, num, notifyid;
};

/* A table in local memory: what is written, or what was parsed. */
struct rpmsg_rsc_info {
    uint32_t vdev_off;   /* parsed: entry's offset from the region start */
    uint32_t entry_end;  /* parsed: end of entry + config space, region offset */
    uint32_t vdev_notifyid;
    uint32_t dfeatures, gfeatures;
    uint32_t config_len;
    uint8_t status, gen, ack;
    struct rpmsg_rsc_vring vring[2];
};

/* Bytes of the table we write with this much config space. */
uint32_t rpmsg_rsc_table_size(uint32_t config_len);

/*
 * Writes the table at tbl (4-byte aligned): ver goes to 0 first and to 1
 * last (release), so a reader that sees ver 1 after an acquire sees the rest.
 * The config space is zeroed. keep_ack: leave the ack byte alone (it is the
 * remote's).
 */
void rpmsg_rsc_write(uint8_t *tbl, const struct rpmsg_rsc_info *info, int keep_ack);

/*
 * Parses the table at shm + rsc_off inside a region of shm_size bytes:
 * finds the first RSC_VDEV entry of id 7 and copies its fields (each read
 * once). Checks only the table's own structure (entries inside the region,
 * two vrings); the caller validates the geometry. 0, -EAGAIN if ver is not 1
 * yet (not written), -EPROTO if malformed.
 */
int rpmsg_rsc_parse(const uint8_t *shm, size_t shm_size, uint32_t rsc_off,
                    struct rpmsg_rsc_info *out);

#endif
