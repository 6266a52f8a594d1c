/*
 * UART link of the port transport: frames are COBS-encoded and closed by a
 * 0x00, so a receiver that lost its place (dropped bytes, garbage, a cut
 * line) is back in step at the next zero byte. Overhead: one byte per 254
 * plus the delimiter.
 *
 * Driven by two threads (port_threads.c) or, with no OS, by
 * rpmsg_port_uart_poll(): what the line has is read and parsed, then frames
 * are built and written for as long as the line takes them.
 */
#include "port_internal.h"

void rpmsg_port_uart_rx_bytes(struct rpmsg_port *p, struct port_uart_rx *st, const uint8_t *b,
                              size_t n)
{
    uint64_t resync = 0, oversized = 0;
    p->stats.rx_line_bytes += (uint64_t)n;
    for (size_t i = 0; i < n; i++) {
        if (b[i]) {
            if (st->skipping)
                continue;
            if (st->alen == st->cap) {
                /* No delimiter where one had to be: garbage or a lost zero. */
                st->skipping = true;
                st->alen = 0;
                oversized++;
                resync++;
                continue;
            }
            st->acc[st->alen++] = b[i];
            continue;
        }
        if (st->skipping) {
            st->skipping = false;
            continue;
        }
        if (!st->alen)
            continue;
        long len = rpmsg_port_cobs_decode(st->acc, st->alen, p->frame_rx, st->cap);
        st->alen = 0;
        if (len < 0) {
            resync++;
            p->stats.crc_errors++; /* bit errors broke the encoding itself */
            continue;
        }
        rpmsg_port_proto_rx(p, p->frame_rx, (size_t)len);
    }
    p->stats.resyncs += resync;
    p->stats.oversized += oversized;
}

/* Bytes per non-blocking read: small, it lives on the caller's stack. */
#define POLL_CHUNK 64u
#define POLL_READS 32u

int rpmsg_port_uart_poll(struct rpmsg_port *p)
{
    const struct rpmsg_port_uart_ops *ops = p->cfg.uart;
    void *ctx = p->cfg.link_ctx;
    uint8_t chunk[POLL_CHUNK];
    int moved = 0;
    /* In: what the line holds now, a bounded amount per call. */
    for (unsigned i = 0; i < POLL_READS; i++) {
        int n = ops->read(ctx, chunk, sizeof(chunk), 0);
        if (n <= 0) {
            if (n < 0) {
                rpmsg_mutex_lock(&p->lock);
                p->stats.io_errors++;
                rpmsg_mutex_unlock(&p->lock);
            }
            break;
        }
        rpmsg_mutex_lock(&p->lock);
        rpmsg_port_uart_rx_bytes(p, &p->urx, chunk, (size_t)n);
        rpmsg_mutex_unlock(&p->lock);
        rpmsg_port_after_rx(p);
        moved++;
    }
    /* Out: the rest of the frame under way, then new ones while the line
     * takes them whole. */
    rpmsg_mutex_lock(&p->lock);
    for (;;) {
        if (p->enc_off == p->enc_len) {
            size_t n = rpmsg_port_proto_build(p, p->frame_tx, rpmsg_time_ms(), false);
            if (!n)
                break;
            p->enc_len = rpmsg_port_cobs_encode(p->frame_tx, n, p->uart_enc);
            p->uart_enc[p->enc_len++] = 0;
            p->enc_off = 0;
            p->stats.tx_line_bytes += p->enc_len;
        }
        rpmsg_mutex_unlock(&p->lock);
        int w = ops->write(ctx, p->uart_enc + p->enc_off, p->enc_len - p->enc_off, 0);
        rpmsg_mutex_lock(&p->lock);
        if (w <= 0) {
            if (w < 0 && w != -ETIMEDOUT && w != -EAGAIN)
                p->stats.io_errors++;
            break; /* the line is full: the rest goes at the next call */
        }
        p->enc_off += (size_t)w;
        moved++;
    }
    rpmsg_mutex_unlock(&p->lock);
    return moved;
}
