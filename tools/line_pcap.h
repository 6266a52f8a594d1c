/*
 * `rpmsg line --pcap FILE`: the frames an emulated UART line carries, each
 * way, as the far end gets them: the byte stream is cut at the 0x00
 * delimiters and COBS-decoded into port frames (tools/pcap.h, kind
 * PCAP_KIND_PORT).
 */
#ifndef RPMSG_TOOLS_LINE_PCAP_H
#define RPMSG_TOOLS_LINE_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcap.h"

#define LINE_PCAP_FRAME_MAX 16384u /* more than a COBS-encoded port frame */

struct line_pcap {
    struct pcap *pcap;
    uint8_t enc[2][LINE_PCAP_FRAME_MAX]; /* bytes since the last delimiter */
    size_t len[2];
    uint8_t dec[LINE_PCAP_FRAME_MAX];
};

/* rpmsg_line_config.tap, with arg a struct line_pcap. */
void line_pcap_tap(void *arg, bool to_b, const uint8_t *bytes, size_t n);

#endif
