/*
 * The port transport's link threads, for an OS with threads (not in an
 * RPMSG_NO_SYS build, where the application calls rpmsg_port_poll_link()).
 *
 * UART: two threads. RX reads and parses, TX builds and writes. When the
 * line rate is known, TX keeps the driver's queue short (about two frames or
 * 2 ms): messages then wait here, where they can be packed and where credits
 * and retransmissions still apply, instead of in a kernel buffer.
 *
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
#include <time.h>

#include "port_internal.h"

#if !RPMSG_NO_SYS

uint64_t rpmsg_port_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = { .tv_sec = (time_t)(us / 1000000u), .tv_nsec = (long)(us % 1000000u) * 1000L };
    nanosleep(&ts, NULL);
}

/* ---- UART ---------------------------------------------------------------- */

static void uart_rx_thread(void *arg)
{
    struct rpmsg_port *p = arg;
    const struct rpmsg_port_uart_ops *ops = p->cfg.uart;
    uint8_t chunk[2048];
    for (;;) {
        rpmsg_mutex_lock(&p->lock);
        bool stop = p->stop;
        uint64_t asked = rpmsg_time_ms();
        /* An empty read that ends at the peer's deadline lets the session
         * end on time (see rpmsg_port_proto_rx_drained). */
        uint64_t until = rpmsg_port_proto_dead_at(p);
        if (until <= asked || until > asked + 100)
            until = asked + 100;
        rpmsg_mutex_unlock(&p->lock);
        if (stop)
            break;
        int n = ops->read(p->cfg.link_ctx, chunk, sizeof(chunk), until);
        rpmsg_mutex_lock(&p->lock);
        if (n < 0)
            p->stats.io_errors++;
        if (n > 0)
            rpmsg_port_uart_rx_bytes(p, &p->urx, chunk, (size_t)n);
        /* A short read took all there was when it was asked; an empty or
         * failed one, all there was until it returned. */
        if (n <= 0 || (size_t)n < sizeof(chunk)) {
            uint64_t now = rpmsg_time_ms();
            rpmsg_port_proto_rx_drained(p, n <= 0 ? now : asked, now);
        }
        rpmsg_mutex_unlock(&p->lock);
        if (n < 0)
            sleep_us(5000); /* the line is gone for now (a pty with no other end) */
        if (n > 0)
            rpmsg_port_after_rx(p);
    }
}

static void uart_tx_thread(void *arg)
{
    struct rpmsg_port *p = arg;
    const struct rpmsg_port_uart_ops *ops = p->cfg.uart;
    uint8_t *enc = p->uart_enc;
    bool cut_short = false; /* the last frame broke off: the receiver needs a delimiter first */
    uint64_t rate = p->cfg.line_rate; /* bytes per second */
    /* Driver queue allowed: one encoded frame plus 2 ms of line time.
     * Levels in bytes x 1e6 (integer maths), drained at rate per us. */
    uint64_t frame_b = port_cobs_max(p->frame_cap) + 1;
    uint64_t high = rate ? (frame_b + rate / 500) * 1000000u : 0;
    uint64_t level = 0;
    uint64_t last = rpmsg_port_now_us();

    rpmsg_mutex_lock(&p->lock);
    while (!p->stop) {
        if (rate) {
            uint64_t now = rpmsg_port_now_us();
            uint64_t drained = (now - last) * rate;
            level = level > drained ? level - drained : 0;
            last = now;
            /* Wait for the queue to drain down to one frame, so that the
             * line never idles while frames are being built. */
            uint64_t low = high - frame_b * 1000000u;
            if (level > low) {
                rpmsg_mutex_unlock(&p->lock);
                sleep_us((level - low) / rate + 1);
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
        level += (uint64_t)m * 1000000u;
        rpmsg_mutex_lock(&p->lock);
    }
    rpmsg_mutex_unlock(&p->lock);
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

/* ---- SPI ----------------------------------------------------------------- */

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
                if (!rpmsg_port_spi_build(p, tx, size))
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
                if (!rpmsg_port_spi_build(p, tx, size))
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

#endif /* !RPMSG_NO_SYS */
