#include "trace_text.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "opt.h"
#include "pcap.h"
#include "trace_decode.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

long trace_print_file(const char *path, FILE *out)
{
    FILE *f = fopen(path, "rbe");
    if (!f) {
        int e = errno;
        tool_err("cannot read %s: %s", path, strerror(e));
        return -e;
    }
    uint8_t h[24];
    if (fread(h, sizeof(h), 1, f) != 1 || le32(h) != 0xa1b2c3d4 ||
        le32(h + 20) != PCAP_LINKTYPE_RPMSG) {
        tool_err("%s is not an rpmsg capture (little-endian pcap, link type %d)", path,
                 PCAP_LINKTYPE_RPMSG);
        fclose(f);
        return -EPROTO;
    }
    static uint8_t rec[65536];
    struct trace_decoder dec;
    trace_decoder_init(&dec);
    long n = 0;
    uint64_t t0 = 0;
    uint8_t rh[16];
    while (fread(rh, sizeof(rh), 1, f) == 1) {
        uint32_t incl = le32(rh + 8);
        if (incl > sizeof(rec) || fread(rec, 1, incl, f) != incl) {
            tool_err("%s: record %ld is cut short", path, n + 1);
            fclose(f);
            return -EPROTO;
        }
        uint64_t t = (uint64_t)le32(rh) * 1000000u + le32(rh + 4);
        if (!n)
            t0 = t;
        n++;
        char line[1024];
        trace_decode(&dec, rec, incl, line, sizeof(line));
        uint64_t dt = t >= t0 ? t - t0 : 0;
        fprintf(out, "%5ld %4llu.%06llu %s\n", n, (unsigned long long)(dt / 1000000u),
                (unsigned long long)(dt % 1000000u), line);
    }
    fclose(f);
    return n;
}
