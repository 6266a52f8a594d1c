/*
 * One captured record (tools/pcap.h: pseudo-header, then the message) in
 * words, as tools/wireshark/rpmsg.lua shows it. The decoder remembers what
 * the name service announced, to tell which service an address belongs to.
 */
#ifndef RPMSG_TOOLS_TRACE_DECODE_H
#define RPMSG_TOOLS_TRACE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_DEC_SERVICES 64

struct trace_decoder {
    struct {
        uint32_t addr;
        int dir; /* of the announcement: whose endpoint it is */
        char name[33];
    } svc[TRACE_DEC_SERVICES];
    unsigned n;
};

void trace_decoder_init(struct trace_decoder *d);
/* Writes one line (no newline) for the record rec of len bytes into out. */
void trace_decode(struct trace_decoder *d, const uint8_t *rec, size_t len, char *out, size_t cap);

#endif
