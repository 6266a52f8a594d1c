/*
 * The resource-table parser against a region the peer wrote. The input
 * starts from a valid table (rpmsg_rsc_write, fields from the input) or from
 * raw bytes, then patches it: [u8 kind][u16 at][value] records write a byte,
 * a 32-bit word (often a small number: counts, offsets, lengths) or flip a
 * bit, so that the fuzzer moves fields of a table that otherwise parses.
 * The region is a heap block of exactly its size (ASan sees any read past
 * it). Checked: a table that parses lies inside the region; a valid table
 * parses back to what was written.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "transport/virtio/rsc_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin f = { data, size };
    uint8_t how = fin_u8(&f);
    uint32_t config_len = fin_u8(&f) % 160;
    uint32_t rsc_off = (uint32_t)(fin_u8(&f) % 16) * 4 + (how & 0x80 ? fin_u8(&f) % 4 : 0);
    size_t shm_size = rsc_off + rpmsg_rsc_table_size(config_len) + (how & 0x40 ? 0 : fin_u8(&f));
    if (how & 0x20)
        shm_size -= fin_u8(&f) % (shm_size + 1); /* a region cut short */
    uint8_t *shm = malloc(shm_size ? shm_size : 1);
    if (!shm)
        abort();
    memset(shm, 0xA5, shm_size);
    struct rpmsg_rsc_info in = { 0 };
    bool valid = !(how & 1) && !(how & 0x20) && !(rsc_off & 3);
    if (!(how & 1) && !(rsc_off & 3) && rsc_off + rpmsg_rsc_table_size(config_len) <= shm_size) {
        in.vdev_notifyid = fin_u32(&f);
        in.dfeatures = fin_u32(&f);
        in.gfeatures = fin_u32(&f);
        in.config_len = config_len;
        in.status = fin_u8(&f);
        in.gen = fin_u8(&f);
        in.ack = fin_u8(&f);
        for (int i = 0; i < 2; i++) {
            in.vring[i].da = fin_u32(&f);
            in.vring[i].align = fin_u32(&f);
            in.vring[i].num = fin_u16(&f);
            in.vring[i].notifyid = fin_u8(&f);
        }
        rpmsg_rsc_write(shm + rsc_off, &in, 0);
    } else {
        const uint8_t *b;
        size_t n = fin_bytes(&f, &b, shm_size);
        memcpy(shm, b, n);
        valid = false;
    }
    while (f.n && shm_size) {
        uint8_t kind = fin_u8(&f);
        size_t at = fin_u16(&f) % shm_size;
        valid = false;
        switch (kind % 4) {
        case 0:
            shm[at] = fin_u8(&f);
            break;
        case 1: { /* a small number, where counts and offsets live */
            uint32_t v = kind >> 2;
            for (size_t k = 0; k < 4 && at + k < shm_size; k++, v >>= 8)
                shm[at + k] = (uint8_t)v;
            break;
        }
        case 2: {
            uint32_t v = fin_u32(&f);
            for (size_t k = 0; k < 4 && at + k < shm_size; k++, v >>= 8)
                shm[at + k] = (uint8_t)v;
            break;
        }
        default:
            shm[at] ^= (uint8_t)(1u << (kind >> 2) % 8);
            break;
        }
    }
    struct rpmsg_rsc_info out;
    int r = rpmsg_rsc_parse(shm, shm_size, rsc_off, &out);
    if (r == 0 && (out.vdev_off > shm_size || out.entry_end > shm_size ||
                   out.entry_end - out.vdev_off != VDEV_CONFIG + out.config_len))
        abort(); /* told the caller the table reaches outside the region */
    if (r != 0 && r != -EAGAIN && r != -EPROTO)
        abort();
    if (valid && (r || out.vdev_off != rsc_off + RSC_VDEV_OFF || out.config_len != in.config_len ||
                  out.dfeatures != in.dfeatures || out.gfeatures != in.gfeatures ||
                  out.vdev_notifyid != in.vdev_notifyid || out.status != in.status ||
                  out.gen != in.gen || out.ack != in.ack ||
                  memcmp(out.vring, in.vring, sizeof(in.vring))))
        abort(); /* a table we wrote does not read back */
    free(shm);
    return 0;
}
