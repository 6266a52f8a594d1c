/*
 * SPI link of the port transport. Every transfer is one frame each way,
 * padded to the fixed size PORT_OVERHEAD + body_max; both ends must agree
 * on it. One thread per end:
 *
 * master: raises MREQ while it has something to send; clocks a transfer each
 *         time the slave has armed one (SREQ), whoever wanted it. Where the
 *         backend queues transfers, the next one is queued while the last
 *         is clocked, so that the bus never waits for this thread.
 * slave:  arms a transfer when it has something to send or MREQ is high,
 *         which raises SREQ; then waits to be clocked. Where the backend
 *         allows, up to SPI_ARM_MAX frames are armed behind one another, so
 *         that the master never waits for this thread between transfers.
 *
 * A transfer always carries a frame from both sides (an ACK when there is
 * nothing else), so acknowledgements and credits ride for free.
 */
#include "port_internal.h"

/* Slave: frames kept armed at most. Three while data flows, so that one is
 * armed while a master that queues transfers has the other two clocking;
 * two otherwise, because an empty frame armed ahead is one more transfer a
 * reply waits behind. */
#define SPI_ARM_MAX 3
#define SPI_ARM_IDLE 2

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

/* Builds this side's half of the next transfer: a frame, more frames while
 * messages wait and fit, zeros after. Returns false when stopping. */
static bool build(struct rpmsg_port *p, uint8_t *tx, size_t size)
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

static void spi_thread(void *arg)
{
    struct rpmsg_port *p = arg;
    const struct rpmsg_port_spi_ops *ops = p->cfg.spi;
    void *ctx = p->cfg.link_ctx;
    bool master = p->cfg.link == RPMSG_PORT_SPI_MASTER;
    size_t size = p->frame_cap;
    uint8_t *tx = p->frame_tx, *rx = p->frame_rx;
    bool mreq = false;
    int armed = 0;  /* slave: frames armed and not yet collected */
    int queued = 0; /* master: transfers queued and not yet collected */
    bool streaming = false; /* slave: the last frame collected carried messages */
    /* Whatever a previous life armed or queued is void. */
    ops->transfer(ctx, NULL, NULL, 0, 0);

    for (;;) {
        rpmsg_mutex_lock(&p->lock);
        bool stop = p->stop;
        uint64_t now = rpmsg_time_ms();
        bool pending = !stop && rpmsg_port_proto_pending(p, now);
        uint64_t dl = rpmsg_port_proto_deadline(p, now);
        rpmsg_mutex_unlock(&p->lock);
        if (stop)
            break;
        uint64_t idle_dl = dl < now + 200 ? dl : now + 200;

        if (master) {
            if (pending != mreq) {
                ops->set_request(ctx, pending);
                mreq = pending;
            }
            /* With a transfer queued, the backend returns at its end. */
            int r;
            if (ops->wait_peer(ctx, pending ? now + 50 : idle_dl) > 0) {
                if (!build(p, tx, size))
                    break;
                r = ops->transfer(ctx, tx, rx, size, rpmsg_time_ms() + 1000);
                if (r == 0)
                    queued++;
            } else if (queued) {
                r = ops->transfer(ctx, NULL, rx, size, rpmsg_time_ms() + 1000);
                if (r > 0)
                    queued--;
            } else {
                continue;
            }
            if (r > 0)
                rpmsg_port_spi_rx_transfer(p, rx, size);
        } else {
            /* Keep frames armed while there is something to say,
             * so that the master can clock back to back. */
            bool arm = false;
            if (armed < (pending || streaming ? SPI_ARM_MAX : SPI_ARM_IDLE)) {
                if (pending)
                    arm = true;
                else if (ops->wait_peer(ctx, armed ? now : idle_dl) > 0)
                    arm = true; /* MREQ: the master has something for us */
                else if (!armed)
                    continue;
            }
            int r;
            if (arm) {
                if (!build(p, tx, size))
                    break;
                r = ops->transfer(ctx, tx, rx, size, rpmsg_time_ms() + 200);
                if (r == -EBUSY)
                    armed = SPI_ARM_MAX;
                else if (r >= 0 || r == -ETIMEDOUT)
                    armed++;
            } else {
                r = ops->transfer(ctx, NULL, rx, size, idle_dl);
            }
            if (r > 0) {
                if (armed)
                    armed--;
                streaming = rpmsg_port_spi_rx_transfer(p, rx, size);
            }
        }
    }
    if (master && mreq)
        ops->set_request(ctx, false);
    ops->transfer(ctx, NULL, NULL, 0, 0);
}

int rpmsg_port_spi_start(struct rpmsg_port *p)
{
    int r = rpmsg_thread_create(&p->threads[0], spi_thread, p,
                                p->cfg.link == RPMSG_PORT_SPI_MASTER ? "port-spi-m" : "port-spi-s");
    if (r)
        return r;
    p->nthreads = 1;
    return 0;
}
