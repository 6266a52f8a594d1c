/*
 * UART link of the port transport: frames are COBS-encoded and closed by a
 * 0x00, so a receiver that lost its place (dropped bytes, garbage, a cut
 * line) is back in step at the next zero byte. Overhead: one byte per 254
 * plus the delimiter.
 *
 * Two threads: RX reads and parses, TX builds and writes. When the line rate
 * is known, TX keeps the driver's queue short (about two frames or 2 ms):
 * messages then wait here, where they can be packed and where credits and
 * retransmissions still apply, instead of in a kernel buffer.
 */
#include <time.h>

#include "port_internal.h"

static void sleep_us(uint64_t us)
{
    struct timespec ts = { .tv_sec = (time_t)(us / 1000000u), .tv_nsec = (long)(us % 1000000u) * 1000L };
    nanosleep(&ts, NULL);
}

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

static void uart_rx_thread(void *arg)
{
    struct rpmsg_port *p = arg;
    const struct rpmsg_port_uart_ops *ops = p->cfg.uart;
    struct port_uart_rx st = { .cap = port_cobs_max(p->frame_cap) };
    uint8_t chunk[2048];
    st.acc = malloc(st.cap);
    if (!st.acc)
        return;
    for (;;) {
        rpmsg_mutex_lock(&p->lock);
        bool stop = p->stop;
        rpmsg_mutex_unlock(&p->lock);
        if (stop)
            break;
        int n = ops->read(p->cfg.link_ctx, chunk, sizeof(chunk), rpmsg_time_ms() + 100);
        if (n < 0) {
            rpmsg_mutex_lock(&p->lock);
            p->stats.io_errors++;
            rpmsg_mutex_unlock(&p->lock);
            sleep_us(5000); /* the line is gone for now (a pty with no other end) */
            continue;
        }
        if (n == 0)
            continue;
        rpmsg_mutex_lock(&p->lock);
        rpmsg_port_uart_rx_bytes(p, &st, chunk, (size_t)n);
        rpmsg_mutex_unlock(&p->lock);
        rpmsg_port_after_rx(p);
    }
    free(st.acc);
}

static void uart_tx_thread(void *arg)
{
    struct rpmsg_port *p = arg;
    const struct rpmsg_port_uart_ops *ops = p->cfg.uart;
    uint8_t *enc = malloc(port_cobs_max(p->frame_cap) + 2);
    bool cut_short = false; /* the last frame broke off: the receiver needs a delimiter first */
    if (!enc)
        return;
    uint64_t rate = p->cfg.line_rate; /* bytes per second */
    /* Driver queue allowed: one encoded frame plus 2 ms of line time. */
    double high = rate ? (double)port_cobs_max(p->frame_cap) + 1 + (double)rate / 500.0 : 0;
    double level = 0;
    uint64_t last = rpmsg_port_now_us();

    rpmsg_mutex_lock(&p->lock);
    while (!p->stop) {
        if (rate) {
            uint64_t now = rpmsg_port_now_us();
            level -= (double)(now - last) * (double)rate / 1e6;
            last = now;
            if (level < 0)
                level = 0;
            /* Wait for the queue to drain down to one frame, so that the
             * line never idles while frames are being built. */
            double low = high - (double)port_cobs_max(p->frame_cap) - 1;
            if (level > low) {
                rpmsg_mutex_unlock(&p->lock);
                sleep_us((uint64_t)((level - low) * 1e6 / (double)rate) + 1);
                rpmsg_mutex_lock(&p->lock);
                continue;
            }
        }
        uint64_t now = rpmsg_time_ms();
        size_t n = rpmsg_port_proto_build(p, p->frame_tx, now, false);
        if (!n) {
            uint64_t dl = rpmsg_port_proto_deadline(p, now);
            rpmsg_cond_wait(&p->link_cond, &p->lock, dl);
            continue;
        }
        uint32_t gen = p->gen;
        size_t m = cut_short;
        enc[0] = 0;
        m += rpmsg_port_cobs_encode(p->frame_tx, n, enc + m);
        enc[m++] = 0;
        cut_short = false;
        p->stats.tx_line_bytes += m;
        rpmsg_mutex_unlock(&p->lock);

        size_t off = 0;
        while (off < m) {
            int w = ops->write(p->cfg.link_ctx, enc + off, m - off, rpmsg_time_ms() + 200);
            if (w > 0) {
                off += (size_t)w;
                continue;
            }
            /* A line that takes nothing (flow control held by a dead peer)
             * must not keep the peer timeout from running. */
            rpmsg_mutex_lock(&p->lock);
            bool stop = p->stop || rpmsg_port_proto_session_over(p, gen, rpmsg_time_ms());
            rpmsg_mutex_unlock(&p->lock);
            if (stop) {
                cut_short = off > 0;
                break;
            }
            if (w < 0 && w != -ETIMEDOUT && w != -EAGAIN) {
                rpmsg_mutex_lock(&p->lock);
                p->stats.io_errors++;
                rpmsg_mutex_unlock(&p->lock);
                sleep_us(5000); /* the other end is not there: the frame is lost, ARQ resends */
                cut_short = off > 0;
                break;
            }
        }
        level += (double)m;
        rpmsg_mutex_lock(&p->lock);
    }
    rpmsg_mutex_unlock(&p->lock);
    free(enc);
}

int rpmsg_port_uart_start(struct rpmsg_port *p)
{
    int r = rpmsg_thread_create(&p->threads[0], uart_rx_thread, p, "port-uart-rx");
    if (r)
        return r;
    p->nthreads = 1;
    r = rpmsg_thread_create(&p->threads[1], uart_tx_thread, p, "port-uart-tx");
    if (r)
        return r;
    p->nthreads = 2;
    return 0;
}
