/*
 * The port transport's line coding, one place for both of its builds (the
 * full port and the lean edge): COBS framing (no zero inside a frame, so a
 * zero delimits frames) and the CRC-32C polynomial step.
 */
#ifndef RPMSG_COMMON_LINECODE_H
#define RPMSG_COMMON_LINECODE_H

#include <stddef.h>
#include <stdint.h>

/* COBS of n bytes into out (room for n + n / 254 + 1); its length. */
static inline size_t rpmsg_cobs_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t code_at = 0, o = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < n; i++) {
        if (in[i]) {
            out[o++] = in[i];
            code++;
        }
        if (!in[i] || code == 0xFF) {
            out[code_at] = code;
            code = 1;
            code_at = o++;
        }
    }
    out[code_at] = code;
    return o;
}

/* CRC-32C (Castagnoli, reflected) of one byte folded into c, bit by bit:
 * the table builder's step, and the whole CRC where no table fits. */
static inline uint32_t rpmsg_crc32c_byte(uint32_t c, uint8_t b)
{
    c ^= b;
    for (int k = 0; k < 8; k++)
        c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    return c;
}

#endif
