/*
 * Access to the shared region: little-endian on the wire, one load or store
 * per field (so a value read from the peer is read exactly once and copied
 * into a local), acquire/release where a field publishes other data.
 * Every pointer passed here must be naturally aligned for its width.
 */
#ifndef RPMSG_VIRTIO_WIRE_H
#define RPMSG_VIRTIO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define VW_LE16(x) __builtin_bswap16(x)
#define VW_LE32(x) __builtin_bswap32(x)
#define VW_LE64(x) __builtin_bswap64(x)
#else
#define VW_LE16(x) (x)
#define VW_LE32(x) (x)
#define VW_LE64(x) (x)
#endif

static inline uint8_t vw_ld8(const void *p)
{
    return __atomic_load_n((const uint8_t *)p, __ATOMIC_RELAXED);
}
static inline uint8_t vw_ld8_acq(const void *p)
{
    return __atomic_load_n((const uint8_t *)p, __ATOMIC_ACQUIRE);
}
static inline void vw_st8(void *p, uint8_t v)
{
    __atomic_store_n((uint8_t *)p, v, __ATOMIC_RELAXED);
}
static inline void vw_st8_rel(void *p, uint8_t v)
{
    __atomic_store_n((uint8_t *)p, v, __ATOMIC_RELEASE);
}
/* Zeroes n bytes of the region the way every other store to it goes: the
 * peer may be reading or writing there (a remote acking a session the host
 * is republishing), so no plain memset. Rare (a session's start): bytes. */
static inline void vw_zero(void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vw_st8((uint8_t *)p + i, 0);
}
static inline uint16_t vw_ld16(const void *p)
{
    uint16_t v = __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
    return (uint16_t)VW_LE16(v);
}
static inline uint16_t vw_ld16_acq(const void *p)
{
    uint16_t v = __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
    return (uint16_t)VW_LE16(v);
}
static inline void vw_st16(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, (uint16_t)VW_LE16(v), __ATOMIC_RELAXED);
}
static inline void vw_st16_rel(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, (uint16_t)VW_LE16(v), __ATOMIC_RELEASE);
}
static inline uint32_t vw_ld32(const void *p)
{
    uint32_t v = __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
    return VW_LE32(v);
}
static inline uint32_t vw_ld32_acq(const void *p)
{
    uint32_t v = __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
    return VW_LE32(v);
}
static inline void vw_st32(void *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)p, VW_LE32(v), __ATOMIC_RELAXED);
}
static inline void vw_st32_rel(void *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)p, VW_LE32(v), __ATOMIC_RELEASE);
}
/*
 * 64-bit fields: one access where the target has lock-free 64-bit atomics,
 * else two 32-bit halves, low first (a Cortex-M has no 64-bit atomics and
 * no library provides them). The only 64-bit field read at run time is the
 * base address word, which its writer sets before the link comes up.
 */
#if defined(__GCC_ATOMIC_LLONG_LOCK_FREE) && __GCC_ATOMIC_LLONG_LOCK_FREE == 2
static inline uint64_t vw_ld64(const void *p)
{
    uint64_t v = __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
    return VW_LE64(v);
}
static inline void vw_st64(void *p, uint64_t v)
{
    __atomic_store_n((uint64_t *)p, VW_LE64(v), __ATOMIC_RELAXED);
}
#else
static inline uint64_t vw_ld64(const void *p)
{
    const uint8_t *b = p;
    return vw_ld32(b) | (uint64_t)vw_ld32(b + 4) << 32;
}
static inline void vw_st64(void *p, uint64_t v)
{
    uint8_t *b = p;
    vw_st32(b, (uint32_t)v);
    vw_st32(b + 4, (uint32_t)(v >> 32));
}
#endif
/*
 * A field stored only if it changes. Its line then stays shared with the
 * peer that reads it, instead of moving to us and back to the peer: a
 * split ring's descriptor, avail entry and used element, a lap later,
 * usually hold the very values they held (buffers go round in ring order),
 * and each store left out saves the peer a miss. The value read decides
 * nothing else: if the peer changed it, ours is written.
 */
static inline void vw_set16(void *p, uint16_t v)
{
    if (vw_ld16(p) != v)
        vw_st16(p, v);
}
static inline void vw_set32(void *p, uint32_t v)
{
    if (vw_ld32(p) != v)
        vw_st32(p, v);
}
/* Orders our last store before our next load (event suppression handshakes). */
static inline void vw_fence(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#endif
