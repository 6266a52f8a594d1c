/*
 * SPI link of the port transport: what goes in a transfer and what comes
 * out of one, and the poll-driven step. Every transfer has the fixed size
 * PORT_OVERHEAD + body_max (both ends must agree on it) and carries a frame
 * from both sides (an ACK when there is nothing else), so acknowledgements
 * and credits ride for free; with PORT_HF_MULTI, several frames. The
 * threads that drive it on an OS are in port_threads.c (master: MREQ,
 * clocks when SREQ; slave: arms, raises SREQ, waits to be clocked).
 */
#include "port_internal.h"


static bool idle_pattern(const uint8_t *b, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (b[i] != b[0])
            return false;
    return b[0] == 0x00 || b[0] == 0xFF;
}

/*
 * Takes the frames of one transfer: one, or several back to back when we
 * offered PORT_HF_MULTI, then zeros. Returns true when they delivered
 * messages. A frame whose CRC fails is skipped by its length field; a second
 * failure in a row means that length was hit too, and the rest is dropped.
 */
bool rpmsg_port_spi_rx_transfer(struct rpmsg_port *p, const uint8_t *rx, size_t size)
{
    rpmsg_mutex_lock(&p->lock);
    uint64_t msgs = p->stats.rx_msgs;
    p->stats.rx_line_bytes += size;
    size_t off = 0;
    int bad = 0;
    while (off + PORT_OVERHEAD <= size && bad < 2) {
        const uint8_t *f = rx + off;
        if (idle_pattern(f, PORT_HDR_SIZE)) {
            if (!off)
                p->stats.resyncs++; /* nothing armed on the other side, or a dead line */
            break;
        }
        uint16_t len = rpmsg_get16(f + 10);
        if (len > p->body_max || off + PORT_OVERHEAD + len > size) {
            p->stats.crc_errors++; /* a damaged header: no CRC to check against */
            break;
        }
        uint64_t crc_errors = p->stats.crc_errors;
        rpmsg_port_proto_rx(p, f, PORT_OVERHEAD + (size_t)len);
        bad = p->stats.crc_errors != crc_errors ? bad + 1 : 0;
        off += PORT_OVERHEAD + len;
    }
    bool data = p->stats.rx_msgs != msgs;
    rpmsg_mutex_unlock(&p->lock);
    rpmsg_port_after_rx(p);
    return data;
}

bool rpmsg_port_spi_build(struct rpmsg_port *p, uint8_t *tx, size_t size)
{
    rpmsg_mutex_lock(&p->lock);
    bool stop = p->stop;
    size_t n = 0;
    if (!stop) {
        uint64_t now = rpmsg_time_ms();
        n = rpmsg_port_proto_build(p, tx, now, true);
        for (size_t m = n; m; n += m)
            m = rpmsg_port_proto_build_more(p, tx + n, now, size - n);
        p->stats.tx_line_bytes += size;
    }
    rpmsg_mutex_unlock(&p->lock);
    memset(tx + n, 0, size - n);
    return !stop;
}


/*
 * Without threads: never waits for the peer (deadlines are now), but a
 * transfer the master clocks takes its time on the bus. Master: MREQ while
 * something is due, a transfer whenever the slave armed one. Slave: one
 * transfer armed while something is due or MREQ is high, collected once
 * clocked.
 */
int rpmsg_port_spi_poll(struct rpmsg_port *p)
{
    const struct rpmsg_port_spi_ops *ops = p->cfg.spi;
    void *ctx = p->cfg.link_ctx;
    size_t size = p->frame_cap;
    uint8_t *tx = p->frame_tx, *rx = p->frame_rx;
    rpmsg_mutex_lock(&p->lock);
    uint64_t now = rpmsg_time_ms();
    bool pending = rpmsg_port_proto_pending(p, now);
    rpmsg_mutex_unlock(&p->lock);
    int moved = 0, r;
    if (p->cfg.link == RPMSG_PORT_SPI_MASTER) {
        if (pending != p->spi_mreq) {
            ops->set_request(ctx, pending);
            p->spi_mreq = pending;
        }
        if (ops->wait_peer(ctx, now) <= 0)
            return 0;
        rpmsg_port_spi_build(p, tx, size);
        r = ops->transfer(ctx, tx, rx, size, now + 1000);
        if (r == 0) /* queued: wait for it, there is nothing else to do */
            r = ops->transfer(ctx, NULL, rx, size, now + 1000);
        if (r > 0) {
            rpmsg_port_spi_rx_transfer(p, rx, size);
            moved++;
        }
        return moved;
    }
    if (!p->spi_armed && (pending || ops->wait_peer(ctx, now) > 0)) {
        rpmsg_port_spi_build(p, tx, size);
        r = ops->transfer(ctx, tx, rx, size, now);
        if (r > 0) {
            rpmsg_port_spi_rx_transfer(p, rx, size);
            return 1;
        }
        if (r == 0 || r == -ETIMEDOUT)
            p->spi_armed = 1;
        moved++;
    }
    if (p->spi_armed) {
        r = ops->transfer(ctx, NULL, rx, size, now);
        if (r > 0) {
            p->spi_armed = 0;
            rpmsg_port_spi_rx_transfer(p, rx, size);
            moved++;
        }
    }
    return moved;
}
