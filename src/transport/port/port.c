/*
 * The port transport as the core sees it: a pool of TX and RX buffers, a
 * queue of messages delivered in order, and link state reported through
 * poll(). The link threads (port_threads.c) or the application's calls to
 * rpmsg_port_poll_link() move frames; this file never touches the wire.
 */
#include "port_internal.h"

/* rpmsg_port_uart_<fn> or rpmsg_port_spi_<fn> by link kind, naming only the
 * kinds compiled in (the config check lets no other through). */
#if RPMSG_PORT_UART_LINK && RPMSG_PORT_SPI_LINK
#define LINK_CALL(link, fn, p) \
    ((link) == RPMSG_PORT_UART ? rpmsg_port_uart_##fn(p) : rpmsg_port_spi_##fn(p))
#elif RPMSG_PORT_UART_LINK
#define LINK_CALL(link, fn, p) ((void)(link), rpmsg_port_uart_##fn(p))
#else
#define LINK_CALL(link, fn, p) ((void)(link), rpmsg_port_spi_##fn(p))
#endif

static struct rpmsg_port *port_of(struct rpmsg_device *rdev)
{
    return rdev->transport;
}

void rpmsg_port_core_signal(struct rpmsg_port *p)
{
    p->core_event = true;
    rpmsg_cond_broadcast(&p->core_cond);
}

void rpmsg_port_after_rx(struct rpmsg_port *p)
{
    rpmsg_mutex_lock(&p->lock);
    bool done = p->tx_done_owed && p->core_up;
    if (done)
        p->tx_done_owed = false;
    rpmsg_mutex_unlock(&p->lock);
    if (done)
        rpmsg_device_tx_done(&p->rdev);
}

void rpmsg_port_kick(struct rpmsg_port *p)
{
    rpmsg_cond_broadcast(&p->link_cond);
    if (p->cfg.link != RPMSG_PORT_UART && p->cfg.spi->wakeup)
        p->cfg.spi->wakeup(p->cfg.link_ctx);
}

void rpmsg_port_link_wakeup(struct rpmsg_port *p)
{
    rpmsg_cond_broadcast(&p->link_cond);
    if (p->cfg.link == RPMSG_PORT_UART) {
        if (p->cfg.uart->wakeup)
            p->cfg.uart->wakeup(p->cfg.link_ctx);
    } else if (p->cfg.spi->wakeup) {
        p->cfg.spi->wakeup(p->cfg.link_ctx);
    }
}

/* Index of buf in a pool [first, first + n) of buffers, or -1. */
static long pool_index(const struct rpmsg_port *p, const void *buf, uint32_t first, uint32_t n)
{
    const uint8_t *b = buf, *base = p->mem + (size_t)first * p->buf_size;
    if (!b || b < base || b >= base + (size_t)n * p->buf_size)
        return -1;
    size_t off = (size_t)(b - base);
    return off % p->buf_size ? -1 : (long)(off / p->buf_size);
}

static uint32_t tx_size(const struct rpmsg_port *p)
{
    return p->peer_rx_size && p->peer_rx_size < p->buf_size ? p->peer_rx_size : p->buf_size;
}

static void *port_get_tx(struct rpmsg_device *rdev, uint32_t *size)
{
    struct rpmsg_port *p = port_of(rdev);
    void *buf = NULL;
    rpmsg_mutex_lock(&p->lock);
    if (p->connected && p->core_up && p->gen == p->core_gen && p->tx_nfree) {
        buf = p->tx_free[--p->tx_nfree];
        if (size)
            *size = tx_size(p);
    }
    rpmsg_mutex_unlock(&p->lock);
    return buf;
}

static int port_send(struct rpmsg_device *rdev, void *buf, uint32_t len)
{
    struct rpmsg_port *p = port_of(rdev);
    if (pool_index(p, buf, 0, p->ntx) < 0)
        return -EINVAL; /* not ours: nothing to take back */
    int r = 0;
    rpmsg_mutex_lock(&p->lock);
    uint32_t mlen = len >= RPMSG_HDR_SIZE ? RPMSG_HDR_SIZE + rpmsg_get16((uint8_t *)buf + 12) : 0;
    if (len < RPMSG_HDR_SIZE || len > p->buf_size || mlen > len || mlen > tx_size(p)) {
        r = -EPROTO; /* taken back below: -EINVAL would mean "not ours" */
    } else if (!p->connected || !p->core_up || p->gen != p->core_gen) {
        r = -ENOTCONN; /* a buffer of a session that ended: its peer is gone */
    } else {
        struct port_txent *e = &p->txw[p->snd_end % PORT_WIN_MAX];
        *e = (struct port_txent){ .buf = buf, .len = mlen };
        p->snd_end++;
        rpmsg_port_kick(p);
    }
    if (r)
        p->tx_free[p->tx_nfree++] = buf;
    rpmsg_mutex_unlock(&p->lock);
    if (r)
        rpmsg_device_tx_done(rdev);
    return r;
}

static int port_release_tx(struct rpmsg_device *rdev, void *buf)
{
    struct rpmsg_port *p = port_of(rdev);
    if (pool_index(p, buf, 0, p->ntx) < 0)
        return -EINVAL;
    rpmsg_mutex_lock(&p->lock);
    p->tx_free[p->tx_nfree++] = buf;
    rpmsg_mutex_unlock(&p->lock);
    return 0;
}

static void port_release_rx(struct rpmsg_device *rdev, void *buf)
{
    struct rpmsg_port *p = port_of(rdev);
    if (pool_index(p, buf, p->ntx, p->nrx) < 0)
        return;
    rpmsg_mutex_lock(&p->lock);
    p->rx_free[p->rx_nfree++] = buf;
    if (p->connected) {
        /* Tell the peer about new credit when it matters: a quarter of the
         * pool freed since the last word, or the peer nearly out of it. */
        uint16_t limit = (uint16_t)(p->rcv_next + p->rx_nfree + p->ooo);
        int32_t grown = port_seq_diff(limit, p->adv_limit);
        int32_t left = port_seq_diff(p->adv_limit, p->rcv_next);
        int32_t quarter = (int32_t)(p->nrx / 4 ? p->nrx / 4 : 1);
        if (grown > 0 && (grown >= quarter || left < quarter)) {
            p->ack_owed = true;
            rpmsg_port_kick(p);
        }
    }
    rpmsg_mutex_unlock(&p->lock);
}

static int port_poll(struct rpmsg_device *rdev)
{
    struct rpmsg_port *p = port_of(rdev);
    int n = 0;
    while (n < 64) {
        rpmsg_mutex_lock(&p->lock);
        struct port_rxq *q = p->rxq_count ? &p->rxq[p->rxq_head] : NULL;
        if (q && p->core_up && q->gen == p->core_gen) {
            struct port_rxq m = *q;
            p->rxq_head = (p->rxq_head + 1) % p->nrx;
            p->rxq_count--;
            rpmsg_mutex_unlock(&p->lock);
            rpmsg_device_rx(rdev, m.buf, m.len);
            n++;
            continue;
        }
        /* What is left of an ended session has been delivered: report the end. */
        if (p->core_up && (p->core_gen != p->gen || !p->connected)) {
            p->core_up = false;
            rpmsg_mutex_unlock(&p->lock);
            rpmsg_device_link_down(rdev);
            continue;
        }
        if (q && q->gen != p->gen) {
            /* From a session the core never saw up: nobody to give it to. */
            p->rx_free[p->rx_nfree++] = q->buf;
            p->rxq_head = (p->rxq_head + 1) % p->nrx;
            p->rxq_count--;
            rpmsg_mutex_unlock(&p->lock);
            continue;
        }
        if (!p->core_up && p->connected) {
            char name[RPMSG_CPUNAME_SIZE];
            memcpy(name, p->peer_name, sizeof(name));
            uint32_t features = p->peer_features;
            p->core_up = true;
            p->core_gen = p->gen;
            rpmsg_device_set_tx_buf_size(rdev, tx_size(p));
            rpmsg_mutex_unlock(&p->lock);
            rpmsg_device_link_up(rdev, name, features);
            /* A sender that waited for a buffer across the reset waits for
             * buffers to come back; in the new session they all are. */
            rpmsg_device_tx_done(rdev);
            continue;
        }
        bool done = p->tx_done_owed;
        p->tx_done_owed = false;
        rpmsg_mutex_unlock(&p->lock);
        if (done)
            rpmsg_device_tx_done(rdev);
        break;
    }
    return n;
}

static int port_wait(struct rpmsg_device *rdev, uint64_t deadline_ms)
{
    struct rpmsg_port *p = port_of(rdev);
    int r = 0;
    rpmsg_mutex_lock(&p->lock);
    while (!p->core_event && r == 0)
        r = rpmsg_cond_wait(&p->core_cond, &p->lock, deadline_ms);
    p->core_event = false;
    rpmsg_mutex_unlock(&p->lock);
    return r == -ETIMEDOUT ? r : 0;
}

static void port_wakeup(struct rpmsg_device *rdev)
{
    struct rpmsg_port *p = port_of(rdev);
    rpmsg_mutex_lock(&p->lock);
    rpmsg_port_core_signal(p);
    rpmsg_mutex_unlock(&p->lock);
}

static const struct rpmsg_transport_ops port_ops = {
    .get_tx_buffer = port_get_tx,
    .send = port_send,
    .release_tx_buffer = port_release_tx,
    .release_rx_buffer = port_release_rx,
    .poll = port_poll,
    .wait = port_wait,
    .wakeup = port_wakeup,
};

/* ---- Lifecycle ----------------------------------------------------------- */

static int check_config(const struct rpmsg_port_config *cfg)
{
    if (!cfg)
        return -EINVAL;
    /* A link kind compiled out (rpmsg_opt.h) is a bad config here. */
    if (cfg->link == RPMSG_PORT_UART) {
        if (!RPMSG_PORT_UART_LINK || !cfg->uart || !cfg->uart->write || !cfg->uart->read)
            return -EINVAL;
    } else if (cfg->link == RPMSG_PORT_SPI_MASTER || cfg->link == RPMSG_PORT_SPI_SLAVE) {
        if (!RPMSG_PORT_SPI_LINK || !cfg->spi || !cfg->spi->transfer || !cfg->spi->wait_peer ||
            (cfg->link == RPMSG_PORT_SPI_MASTER && !cfg->spi->set_request))
            return -EINVAL;
    } else {
        return -EINVAL;
    }
    if (cfg->num_tx_bufs > PORT_WIN_MAX || cfg->num_rx_bufs > PORT_WIN_MAX)
        return -EINVAL;
    uint32_t size = cfg->buf_size ? cfg->buf_size : RPMSG_BUFFER_SIZE;
    if (size <= RPMSG_HDR_SIZE || size > RPMSG_HDR_SIZE + UINT16_MAX || size > PORT_BODY_MAX)
        return -EINVAL;
    /* A frame carries a whole buffer, and the handshake. */
    if (cfg->frame_body && (cfg->frame_body < size || cfg->frame_body < PORT_HELLO_SIZE ||
                            cfg->frame_body > PORT_BODY_MAX))
        return -EINVAL;
    return 0;
}

static void free_port(struct rpmsg_port *p)
{
#if !RPMSG_NO_SYS
    if (p->own_mem)
        free(p);
#else
    (void)p;
#endif
}

static void stop_links(struct rpmsg_port *p)
{
    rpmsg_mutex_lock(&p->lock);
    p->stop = true;
    rpmsg_mutex_unlock(&p->lock);
    rpmsg_port_link_wakeup(p);
    for (int i = 0; i < p->nthreads; i++)
        rpmsg_thread_join(&p->threads[i]);
    p->nthreads = 0;
}

/* Sizes that follow from the configuration (checked before). */
struct port_dims {
    uint32_t buf_size, ntx, nrx, body_max, frame_cap;
    size_t off_mem, off_tx_free, off_rx_free, off_rxq, off_frames, frame_buf, off_uart, total;
};

static size_t align8(size_t n)
{
    return (n + 7u) & ~(size_t)7u;
}

/* One block: the port, its buffers, its tables and its frame buffers. */
static void dims_of(const struct rpmsg_port_config *cfg, struct port_dims *d)
{
    d->buf_size = cfg->buf_size ? cfg->buf_size : RPMSG_BUFFER_SIZE;
    /* A fast line needs a window that covers its round trip and the holes
     * waiting to be resent (SPI at 20 MHz and BER 1e-4: a couple of hundred
     * small messages, 512 measured best); a slow one does with fewer buffers. */
    uint32_t nbufs = cfg->line_rate >= 1000000 ? PORT_WIN_MAX : 32;
    nbufs = nbufs < PORT_WIN_MAX ? nbufs : PORT_WIN_MAX;
    d->ntx = cfg->num_tx_bufs ? cfg->num_tx_bufs : nbufs;
    d->nrx = cfg->num_rx_bufs ? cfg->num_rx_bufs : nbufs;
    d->body_max = cfg->frame_body ? cfg->frame_body : 2 * d->buf_size;
    if (d->body_max < PORT_HELLO_SIZE)
        d->body_max = PORT_HELLO_SIZE; /* tiny buffers: the CONNECT must still fit */
    if (d->body_max > PORT_BODY_MAX)
        d->body_max = PORT_BODY_MAX;
    d->frame_cap = PORT_OVERHEAD + d->body_max;
    /* A frame buffer also holds a whole COBS-encoded frame (UART). */
    d->frame_buf = align8(port_cobs_max(d->frame_cap) + 2);
    d->off_mem = align8(sizeof(struct rpmsg_port));
    d->off_tx_free = d->off_mem + align8((size_t)(d->ntx + d->nrx) * d->buf_size);
    d->off_rx_free = d->off_tx_free + align8(d->ntx * sizeof(uint8_t *));
    d->off_rxq = d->off_rx_free + align8(d->nrx * sizeof(uint8_t *));
    d->off_frames = d->off_rxq + align8(d->nrx * sizeof(struct port_rxq));
    d->off_uart = d->off_frames + 2 * d->frame_buf;
    /* UART: the deframer's accumulator and the encoded frame going out. */
    d->total = d->off_uart + (cfg->link == RPMSG_PORT_UART ? 2 * d->frame_buf : 0);
}

size_t rpmsg_port_mem_size(const struct rpmsg_port_config *cfg)
{
    if (check_config(cfg))
        return 0;
    struct port_dims d;
    dims_of(cfg, &d);
    return d.total;
}

/* Lays the port out in mem (d.total bytes, 8-aligned, zeroed). */
static struct rpmsg_port *port_place(const struct rpmsg_port_config *cfg, const struct port_dims *d,
                                     uint8_t *mem)
{
    struct rpmsg_port *p = (struct rpmsg_port *)mem;
    p->cfg = *cfg;
    p->buf_size = d->buf_size;
    p->ntx = d->ntx;
    p->nrx = d->nrx;
    p->body_max = d->body_max;
    p->frame_cap = d->frame_cap;
    p->mem = mem + d->off_mem;
    p->tx_free = (uint8_t **)(void *)(mem + d->off_tx_free);
    p->rx_free = (uint8_t **)(void *)(mem + d->off_rx_free);
    p->rxq = (struct port_rxq *)(void *)(mem + d->off_rxq);
    p->frame_tx = mem + d->off_frames;
    p->frame_rx = mem + d->off_frames + d->frame_buf;
    if (cfg->link == RPMSG_PORT_UART) {
        p->urx.acc = mem + d->off_uart;
        p->urx.cap = port_cobs_max(p->frame_cap);
        p->uart_enc = mem + d->off_uart + d->frame_buf;
    }
    for (uint32_t i = 0; i < p->ntx; i++)
        p->tx_free[p->tx_nfree++] = p->mem + (size_t)i * p->buf_size;
    for (uint32_t i = 0; i < p->nrx; i++)
        p->rx_free[p->rx_nfree++] = p->mem + (size_t)(p->ntx + i) * p->buf_size;
    return p;
}

enum port_links { PORT_LINK_THREADS, PORT_LINK_NONE };

static int port_create(struct rpmsg_port **out, const struct rpmsg_port_config *cfg,
                       enum port_links links, void *mem, size_t size)
{
    if (!out)
        return -EINVAL;
    int r = check_config(cfg);
    if (r)
        return r;
    struct port_dims d;
    dims_of(cfg, &d);
    bool own = !mem;
    if (mem) {
        if (size < d.total || ((uintptr_t)mem & 7u))
            return -EINVAL;
        memset(mem, 0, d.total);
    } else {
#if RPMSG_NO_SYS
        return -EINVAL; /* no allocator: the caller gives the memory */
#else
        mem = calloc(1, d.total);
        if (!mem)
            return -ENOMEM;
#endif
    }
    struct rpmsg_port *p = port_place(cfg, &d, mem);
    p->own_mem = own;
    if (cfg->local_cpuname)
        strncpy(p->cpuname, cfg->local_cpuname, sizeof(p->cpuname) - 1);
    p->features = cfg->no_features ? 0 : cfg->features ? cfg->features : RPMSG_F_NS | RPMSG_F_ACK;

    /* The retransmission floor: a couple of frames on the wire each way,
     * plus what the UART driver may queue ahead (port_threads.c keeps ~2 ms). */
    uint32_t frame_ms = cfg->line_rate ? (uint32_t)((uint64_t)p->frame_cap * 1000 / cfg->line_rate) + 1 : 0;
    p->rto_min = cfg->rto_min_ms ? cfg->rto_min_ms : 5 + 3 * frame_ms;
    p->rto_max = 4 * p->rto_min > 150 ? 4 * p->rto_min : 150;
    /* A dead peer is declared after a few full frames' time at the least,
     * so that a slow line is not taken for a dead one. */
    uint32_t min_timeout = 8 * frame_ms + 2 * p->rto_max;
    p->peer_timeout = cfg->peer_timeout_ms ? cfg->peer_timeout_ms : RPMSG_PORT_PEER_TIMEOUT_MS;
    if (!cfg->peer_timeout_ms && p->peer_timeout < min_timeout)
        p->peer_timeout = min_timeout;
    /* COBS code bytes and the delimiter count against the error estimate. */
    p->link_ovh = cfg->link == RPMSG_PORT_UART ? 2 + p->frame_cap / 254 : 0;

    (void)rpmsg_port_crc32c(0, NULL, 0); /* builds the tables before any thread runs */
    if ((r = rpmsg_mutex_init(&p->lock))) {
        free_port(p);
        return r;
    }
    if ((r = rpmsg_cond_init(&p->core_cond))) {
        rpmsg_mutex_deinit(&p->lock);
        free_port(p);
        return r;
    }
    if ((r = rpmsg_cond_init(&p->link_cond))) {
        rpmsg_cond_deinit(&p->core_cond);
        rpmsg_mutex_deinit(&p->lock);
        free_port(p);
        return r;
    }
    rpmsg_port_proto_init(p);

    struct rpmsg_device_config dc = {
        .local_cpuname = p->cpuname,
        .features = p->features,
        .no_rx_thread = cfg->no_rx_thread,
    };
    r = rpmsg_device_init(&p->rdev, &port_ops, p, &dc);
    if (!r) {
        p->rdev_inited = true;
        p->rdev.tx_buf_size = p->buf_size;
#if !RPMSG_NO_SYS
        if (links == PORT_LINK_THREADS)
            r = LINK_CALL(cfg->link, start, p);
#else
        (void)links;
#endif
    }
    if (!r)
        r = rpmsg_device_start(&p->rdev);
    if (r) {
        rpmsg_port_deinit(p);
        return r;
    }
    *out = p;
    return 0;
}

int rpmsg_port_init_mem(struct rpmsg_port **out, const struct rpmsg_port_config *cfg, void *mem,
                        size_t size)
{
    if (!mem)
        return -EINVAL;
    return port_create(out, cfg, PORT_LINK_NONE, mem, size);
}

#if !RPMSG_NO_SYS
int rpmsg_port_init(struct rpmsg_port **out, const struct rpmsg_port_config *cfg)
{
    return port_create(out, cfg, PORT_LINK_THREADS, NULL, 0);
}

int rpmsg_port_init_unlinked(struct rpmsg_port **out, const struct rpmsg_port_config *cfg)
{
    return port_create(out, cfg, PORT_LINK_NONE, NULL, 0);
}
#endif

/* Until cond() holds or 100 ms pass, while the link is up; lock held. */
static void wait_brief(struct rpmsg_port *p, bool (*done)(const struct rpmsg_port *))
{
    uint64_t until = rpmsg_time_ms() + 100;
    while (p->nthreads && p->connected && !p->stop && !done(p)) {
        uint64_t now = rpmsg_time_ms();
        if (now >= until)
            break;
        rpmsg_cond_wait(&p->core_cond, &p->lock, now + 5 < until ? now + 5 : until);
    }
}

static bool all_acked(const struct rpmsg_port *p)
{
    return p->snd_una == p->snd_end;
}

static bool bye_gone(const struct rpmsg_port *p)
{
    return p->bye_sent;
}

void rpmsg_port_bye(struct rpmsg_port *p)
{
    if (!p)
        return;
    rpmsg_mutex_lock(&p->lock);
    /* What the application sent last (an NS destroy, say) first: the BYE
     * ends the peer's session, and with it whatever is still in flight. */
    wait_brief(p, all_acked);
    if (p->connected && !p->cfg.v1_wire && (p->peer_hflags & PORT_HF_BYE)) {
        p->bye_owed = true;
        rpmsg_port_kick(p);
        /* An SPI slave's goes out with the master's next transfer, if one
         * comes soon; without it the peer times out as it always did. */
        wait_brief(p, bye_gone);
    }
    rpmsg_mutex_unlock(&p->lock);
}

void rpmsg_port_deinit(struct rpmsg_port *p)
{
    if (!p)
        return;
    /* Give what the application already sent (an NS destroy, say) a short
     * chance to reach the peer before the link stops. */
    rpmsg_mutex_lock(&p->lock);
    wait_brief(p, all_acked);
    rpmsg_mutex_unlock(&p->lock);
    stop_links(p);
    if (p->rdev_inited)
        rpmsg_device_deinit(&p->rdev);
    rpmsg_cond_deinit(&p->link_cond);
    rpmsg_cond_deinit(&p->core_cond);
    rpmsg_mutex_deinit(&p->lock);
    free_port(p);
}

int rpmsg_port_poll_link(struct rpmsg_port *p)
{
    if (!p)
        return -EINVAL;
    if (p->nthreads)
        return -EBUSY; /* link threads move the bytes of this port */
    return LINK_CALL(p->cfg.link, poll, p);
}

struct rpmsg_device *rpmsg_port_device(struct rpmsg_port *p)
{
    return p ? &p->rdev : NULL;
}

int rpmsg_port_get_stats(struct rpmsg_device *rdev, struct rpmsg_port_stats *out)
{
    if (!rdev || !out || rdev->ops != &port_ops || !rdev->transport)
        return -EINVAL;
    struct rpmsg_port *p = port_of(rdev);
    rpmsg_mutex_lock(&p->lock);
    *out = p->stats;
    rpmsg_mutex_unlock(&p->lock);
    return 0;
}

int rpmsg_port_get_bufs(struct rpmsg_device *rdev, uint32_t *ntx, uint32_t *nrx, uint32_t *size)
{
    if (!rdev || !ntx || !nrx || !size || rdev->ops != &port_ops || !rdev->transport)
        return -EINVAL;
    struct rpmsg_port *p = port_of(rdev);
    *ntx = p->ntx;
    *nrx = p->nrx;
    *size = p->buf_size;
    return 0;
}

bool rpmsg_port_is_connected(struct rpmsg_port *p)
{
    if (!p)
        return false;
    rpmsg_mutex_lock(&p->lock);
    bool c = p->connected;
    rpmsg_mutex_unlock(&p->lock);
    return c;
}
