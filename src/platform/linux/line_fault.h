/*
 * Fault injection shared by the UART line emulator and the simulated SPI
 * bus: bit flips at a bit error rate and byte drops at a rate, drawn as
 * geometric gaps so the cost does not grow with the amount of clean data.
 */
#ifndef RPMSG_LINE_FAULT_H
#define RPMSG_LINE_FAULT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct line_fault {
    uint64_t rng;
    double ber, drop;
    uint64_t bits_to_flip;  /* clean bits before the next flip */
    uint64_t bytes_to_drop; /* clean bytes before the next drop */
    uint64_t flipped, dropped;
};

static inline uint64_t line_fault_next(struct line_fault *f)
{
    /* xorshift64* */
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return f->rng * 2685821657736338717ull;
}

/* Natural log for 0 < x: kept here so that the library needs no libm. */
static inline double line_fault_ln(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof(bits));
    int e = (int)((bits >> 52) & 0x7FF) - 1023;
    bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
    double m;
    memcpy(&m, &bits, sizeof(m)); /* x = m * 2^e, 1 <= m < 2 */
    double z = (m - 1) / (m + 1), z2 = z * z, term = z, sum = 0;
    for (int k = 1; k < 40; k += 2) {
        sum += term / k;
        term *= z2;
    }
    return 2 * sum + e * 0.69314718055994530942;
}

static inline uint64_t line_fault_gap(struct line_fault *f, double p)
{
    if (p <= 0)
        return UINT64_MAX;
    if (p >= 1)
        return 0;
    double u = ((double)(line_fault_next(f) >> 11) + 0.5) / 9007199254740992.0;
    double l1p = 0;
    if (p < 0.25) {
        double t = p;
        for (int k = 1; k < 30; k++) {
            l1p -= t / k;
            t *= p;
        }
    } else {
        l1p = line_fault_ln(1 - p);
    }
    double g = line_fault_ln(u) / l1p;
    return g >= 1.8e19 ? UINT64_MAX : (uint64_t)g;
}

static inline void line_fault_set(struct line_fault *f, double ber, double drop)
{
    f->ber = ber;
    f->drop = drop;
    f->bits_to_flip = line_fault_gap(f, ber);
    f->bytes_to_drop = line_fault_gap(f, drop);
}

static inline void line_fault_init(struct line_fault *f, uint64_t seed, double ber, double drop)
{
    f->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
    f->flipped = f->dropped = 0;
    line_fault_set(f, ber, drop);
}

/* Returns false when the byte is lost; may flip bits of *b. */
static inline bool line_fault_byte(struct line_fault *f, uint8_t *b)
{
    if (f->bytes_to_drop == 0) {
        f->bytes_to_drop = line_fault_gap(f, f->drop);
        f->dropped++;
        return false;
    }
    if (f->bytes_to_drop != UINT64_MAX)
        f->bytes_to_drop--;
    unsigned bit = 0;
    while (f->bits_to_flip < 8 - bit) {
        bit += (unsigned)f->bits_to_flip;
        *b ^= (uint8_t)(1u << bit);
        f->flipped++;
        bit++;
        f->bits_to_flip = line_fault_gap(f, f->ber);
    }
    if (f->bits_to_flip != UINT64_MAX)
        f->bits_to_flip -= 8 - bit;
    return true;
}

#endif
