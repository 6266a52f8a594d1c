/*
 * Stand-in for libFuzzer when the fuzz targets are built as tests:
 *   target CORPUS_DIR [N]
 * runs every seed in CORPUS_DIR (name order), then N deterministic
 * mutations of them (bytes changed, inserted, cut, seeds spliced; one in
 * eight fully random), so that each harness is exercised from the states
 * its seeds reach on every `make test`. Prints the summary line CTest
 * output is read for.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SIZE 4096

struct seed {
    uint8_t *data;
    size_t size;
};

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static int load(const char *dir, struct seed **out)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        perror(dir);
        return -1;
    }
    struct seed *s = calloc((size_t)n + 1, sizeof(*s));
    int count = 0;
    char path[4096];
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.' && s) {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            FILE *f = fopen(path, "rb");
            uint8_t *buf = malloc(MAX_SIZE);
            if (f && buf) {
                s[count].size = fread(buf, 1, MAX_SIZE, f);
                s[count++].data = buf;
            } else {
                free(buf);
            }
            if (f)
                fclose(f);
        }
        free(names[i]);
    }
    free(names);
    if (!s)
        return -1;
    *out = s;
    return count;
}

static size_t mutate(uint8_t *buf, const struct seed *seeds, int nseeds, uint32_t *s)
{
    size_t size;
    if (!nseeds || rnd(s) % 8 == 0) {
        size = rnd(s) % 512;
        for (size_t k = 0; k < size; k++)
            buf[k] = (uint8_t)rnd(s);
        return size;
    }
    const struct seed *a = &seeds[rnd(s) % (uint32_t)nseeds];
    memcpy(buf, a->data, a->size);
    size = a->size;
    for (unsigned m = 1 + rnd(s) % 4; m; m--) {
        uint32_t at = size ? rnd(s) % (uint32_t)size : 0;
        switch (rnd(s) % 5) {
        case 0: /* change a byte */
            if (size)
                buf[at] = (uint8_t)rnd(s);
            break;
        case 1: /* flip a bit */
            if (size)
                buf[at] ^= (uint8_t)(1u << rnd(s) % 8);
            break;
        case 2: /* insert a byte */
            if (size < MAX_SIZE) {
                memmove(buf + at + 1, buf + at, size - at);
                buf[at] = (uint8_t)rnd(s);
                size++;
            }
            break;
        case 3: /* cut the end */
            size = at;
            break;
        default: { /* append (part of) another seed */
            const struct seed *b = &seeds[rnd(s) % (uint32_t)nseeds];
            size_t from = b->size ? rnd(s) % b->size : 0, n = b->size - from;
            if (n > MAX_SIZE - size)
                n = MAX_SIZE - size;
            memcpy(buf + size, b->data + from, n);
            size += n;
            break;
        }
        }
    }
    return size;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [N]\n", argv[0]);
        return 2;
    }
    unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 3000;
    struct seed *seeds = NULL;
    int nseeds = load(argv[1], &seeds);
    if (nseeds < 0)
        return 1;
    for (int i = 0; i < nseeds; i++)
        LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].size);
    static uint8_t buf[MAX_SIZE];
    uint32_t s = 0x12345678u;
    for (unsigned i = 0; i < n; i++) {
        size_t size = mutate(buf, seeds, nseeds, &s);
        LLVMFuzzerTestOneInput(buf, size);
    }
    for (int i = 0; i < nseeds; i++)
        free(seeds[i].data);
    free(seeds);
    printf("%u passed, 0 failed (%d seeds)\n", nseeds + n, nseeds);
    return 0;
}
