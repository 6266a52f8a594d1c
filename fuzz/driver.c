/*
 * Stand-in for libFuzzer when the fuzz targets are built as tests: feeds
 * LLVMFuzzerTestOneInput N deterministic inputs, biased towards the shapes
 * the parsers care about (short, header-sized, buffer-sized). Prints the
 * plain summary line CTest output is read for.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 10000;
    static uint8_t buf[4096];
    uint32_t s = 0x12345678u;
    static const size_t shapes[] = { 0, 1, 15, 16, 17, 40, 56, 512, 513, 4096 };
    for (unsigned i = 0; i < n; i++) {
        size_t size = (i & 1) ? rnd(&s) % sizeof(buf) : shapes[rnd(&s) % 10];
        for (size_t k = 0; k < size; k++)
            buf[k] = (uint8_t)((rnd(&s) & 7) ? rnd(&s) : (k & 1 ? 0 : 0x35));
        LLVMFuzzerTestOneInput(buf, size);
    }
    printf("%u passed, 0 failed\n", n);
    return 0;
}
