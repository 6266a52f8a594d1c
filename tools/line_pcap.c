#include "line_pcap.h"

#include <string.h>

#include "transport/port/port_wire.h"

static void frame_end(struct line_pcap *lp, int dir)
{
    size_t n = lp->len[dir];
    lp->len[dir] = 0;
    if (!n)
        return; /* two delimiters in a row: the idle line */
    long d = rpmsg_port_cobs_decode(lp->enc[dir], n, lp->dec, sizeof(lp->dec));
    if (d >= 0)
        pcap_write_kind(lp->pcap, PCAP_KIND_PORT, dir, 0, lp->dec, (size_t)d);
    else
        pcap_write_kind(lp->pcap, PCAP_KIND_PORT, dir, PCAP_F_BAD_COBS, lp->enc[dir], n);
}

void line_pcap_tap(void *arg, bool to_b, const uint8_t *bytes, size_t n)
{
    struct line_pcap *lp = arg;
    int dir = to_b ? 0 : 1;
    for (size_t i = 0; i < n; i++) {
        if (bytes[i] == 0) {
            frame_end(lp, dir);
        } else {
            if (lp->len[dir] == sizeof(lp->enc[dir]))
                frame_end(lp, dir); /* no delimiter for too long: noise */
            lp->enc[dir][lp->len[dir]++] = bytes[i];
        }
    }
}
