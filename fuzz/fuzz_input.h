/*
 * Reading a fuzz input as a program: numbers and byte runs taken off the
 * front, zero once it is used up, so that every input (even a cut one) is a
 * complete, valid program and the fuzzer's mutations change choices rather
 * than break a format.
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct fin {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t fin_u8(struct fin *f)
{
    if (!f->n)
        return 0;
    f->n--;
    return *f->p++;
}

static inline uint16_t fin_u16(struct fin *f)
{
    uint16_t lo = fin_u8(f);
    return (uint16_t)(lo | fin_u8(f) << 8);
}

static inline uint32_t fin_u32(struct fin *f)
{
    uint32_t lo = fin_u16(f);
    return lo | (uint32_t)fin_u16(f) << 16;
}

/* Up to max bytes, in place; returns how many (fewer at the end). */
static inline size_t fin_bytes(struct fin *f, const uint8_t **out, size_t max)
{
    size_t n = max < f->n ? max : f->n;
    *out = f->p;
    f->p += n;
    f->n -= n;
    return n;
}

#endif
