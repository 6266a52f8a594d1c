/* Message bodies the tools send: a sequence number, a checksum of the rest,
 * and a pattern that depends on both, so loss, reordering and corruption all
 * show. Layout: u32 seq, u32 fnv1a(rest), rest. */
#ifndef RPMSG_TOOLS_PAYLOAD_H
#define RPMSG_TOOLS_PAYLOAD_H

#include <stdint.h>
#include <string.h>

#define PAYLOAD_MIN 8

static inline uint32_t payload_fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static inline void payload_fill(uint8_t *buf, size_t len, uint32_t seq)
{
    for (size_t k = PAYLOAD_MIN; k < len; k++)
        buf[k] = (uint8_t)(seq * 131u + k * 7u);
    uint32_t h[2] = { seq, payload_fnv(buf + PAYLOAD_MIN, len - PAYLOAD_MIN) };
    memcpy(buf, h, sizeof(h));
}

/* 0 if buf is intact; *seq receives its sequence number. */
static inline int payload_check(const uint8_t *buf, size_t len, uint32_t *seq)
{
    if (len < PAYLOAD_MIN)
        return -1;
    uint32_t h[2];
    memcpy(h, buf, sizeof(h));
    *seq = h[0];
    return h[1] == payload_fnv(buf + PAYLOAD_MIN, len - PAYLOAD_MIN) ? 0 : -1;
}

#endif
