/*
 * Little-endian wire fields, one place for every layer: all multi-byte fields
 * of rpmsg, the name service, the port protocol and the router's control
 * messages are little-endian (wire-formats.md). Byte-wise access also makes
 * unaligned fields safe.
 */
#ifndef RPMSG_COMMON_BYTEORDER_H
#define RPMSG_COMMON_BYTEORDER_H

#include <stdint.h>

/* Host value <-> little-endian value (no-ops on little-endian hosts). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
static inline uint32_t rpmsg_le32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint16_t rpmsg_le16(uint16_t v) { return __builtin_bswap16(v); }
#else
static inline uint32_t rpmsg_le32(uint32_t v) { return v; }
static inline uint16_t rpmsg_le16(uint16_t v) { return v; }
#endif

static inline void rpmsg_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void rpmsg_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint16_t rpmsg_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t rpmsg_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
