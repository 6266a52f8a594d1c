/*
 * Loopback transport: two devices in one process, back to back. Each
 * direction has a fixed pool of buffers (free stack + FIFO of sent ones), so
 * running out of buffers, holding them and getting them back behave as over
 * a real ring. One lock covers the pair: this is a test transport, not a fast
 * path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpmsg/rpmsg_loopback.h"

struct lb_dir {
    uint8_t *mem;
    uint32_t *free_stack, nfree;
    uint32_t *ready_idx, *ready_len, head, count;
    bool starved; /* a get_tx found no buffer since the last one came back */
};

struct lb_side {
    struct rpmsg_device dev;
    struct rpmsg_loopback *lb;
    int idx;
    bool doorbell;
    rpmsg_cond_t cond;
};

struct rpmsg_loopback {
    rpmsg_mutex_t lock;
    struct lb_side side[2];
    struct lb_dir dir[2]; /* dir[i]: what side i sends */
    uint32_t nbuf, size;
    uint32_t features[2];
    char names[2][RPMSG_CPUNAME_SIZE];
    bool up;      /* the line carries messages */
    bool rx_open; /* both ends are up: messages may be delivered */
};

static struct lb_side *side_of(struct rpmsg_device *rdev)
{
    return rdev->transport;
}

static void ring(struct lb_side *s)
{
    s->doorbell = true;
    rpmsg_cond_broadcast(&s->cond);
}

/* Index of buf in dir's pool, or -1 if it is not one of its buffers. */
static long buf_index(const struct rpmsg_loopback *lb, const struct lb_dir *d, const void *buf)
{
    const uint8_t *p = buf;
    if (p < d->mem || p >= d->mem + (size_t)lb->nbuf * lb->size)
        return -1;
    size_t off = (size_t)(p - d->mem);
    return off % lb->size ? -1 : (long)(off / lb->size);
}

static void *lb_get_tx(struct rpmsg_device *rdev, uint32_t *size)
{
    struct lb_side *s = side_of(rdev);
    struct rpmsg_loopback *lb = s->lb;
    struct lb_dir *d = &lb->dir[s->idx];
    void *buf = NULL;
    rpmsg_mutex_lock(&lb->lock);
    if (d->nfree) {
        buf = d->mem + (size_t)d->free_stack[--d->nfree] * lb->size;
        *size = lb->size;
    } else {
        d->starved = true;
    }
    rpmsg_mutex_unlock(&lb->lock);
    return buf;
}

static int push_ready(struct rpmsg_loopback *lb, int from, uint32_t i, uint32_t len)
{
    struct lb_dir *d = &lb->dir[from];
    if (!lb->up) {
        d->free_stack[d->nfree++] = i; /* a down line loses what is sent */
        return -ENOTCONN;
    }
    uint32_t tail = (d->head + d->count) % lb->nbuf;
    d->ready_idx[tail] = i;
    d->ready_len[tail] = len;
    d->count++;
    ring(&lb->side[1 - from]);
    return 0;
}

static int lb_send(struct rpmsg_device *rdev, void *buf, uint32_t len)
{
    struct lb_side *s = side_of(rdev);
    struct rpmsg_loopback *lb = s->lb;
    long i = buf_index(lb, &lb->dir[s->idx], buf);
    if (i < 0 || len > lb->size)
        return -EINVAL;
    rpmsg_mutex_lock(&lb->lock);
    int r = push_ready(lb, s->idx, (uint32_t)i, len);
    rpmsg_mutex_unlock(&lb->lock);
    if (r)
        rpmsg_device_tx_done(rdev);
    return r;
}

static int lb_release_tx(struct rpmsg_device *rdev, void *buf)
{
    struct lb_side *s = side_of(rdev);
    struct rpmsg_loopback *lb = s->lb;
    struct lb_dir *d = &lb->dir[s->idx];
    long i = buf_index(lb, d, buf);
    if (i < 0)
        return -EINVAL;
    rpmsg_mutex_lock(&lb->lock);
    d->free_stack[d->nfree++] = (uint32_t)i;
    rpmsg_mutex_unlock(&lb->lock);
    return 0;
}

static void lb_wakeup(struct rpmsg_device *rdev);

static void lb_release_rx(struct rpmsg_device *rdev, void *buf)
{
    struct lb_side *s = side_of(rdev);
    struct rpmsg_loopback *lb = s->lb;
    struct lb_side *peer = &lb->side[1 - s->idx];
    struct lb_dir *d = &lb->dir[peer->idx];
    long i = buf_index(lb, d, buf);
    if (i < 0)
        return;
    rpmsg_mutex_lock(&lb->lock);
    d->free_stack[d->nfree++] = (uint32_t)i;
    /* The peer's RX context may be waiting for this buffer (a send from a
     * callback waits on its doorbell): rung only if a get_tx found none.
     * Rung for every buffer, an idle RX thread woke for each message it
     * sent (a hub's outgoing link: a wake-up per relayed message). Other
     * senders wait on the core's condition (tx_done). */
    bool starved = d->starved;
    d->starved = false;
    rpmsg_mutex_unlock(&lb->lock);
    /* tx_done first: a waiter woken by the bell must find the buffer
     * counted, or it sleeps again and no later release rings. */
    rpmsg_device_tx_done(&peer->dev);
    if (starved)
        lb_wakeup(&peer->dev);
}

static int lb_poll(struct rpmsg_device *rdev)
{
    struct lb_side *s = side_of(rdev);
    struct rpmsg_loopback *lb = s->lb;
    struct lb_dir *d = &lb->dir[1 - s->idx];
    int n = 0;
    for (; n < 64; n++) {
        rpmsg_mutex_lock(&lb->lock);
        if (!d->count || !lb->rx_open) {
            rpmsg_mutex_unlock(&lb->lock);
            break;
        }
        uint32_t i = d->ready_idx[d->head], len = d->ready_len[d->head];
        d->head = (d->head + 1) % lb->nbuf;
        d->count--;
        /* rx_open: the core's session is this message's; link down and up
         * on another thread before the core has it make it stale. */
        uint32_t session = rpmsg_device_session(rdev);
        rpmsg_mutex_unlock(&lb->lock);
        rpmsg_device_rx_in(rdev, d->mem + (size_t)i * lb->size, len, session);
    }
    return n;
}

static int lb_wait(struct rpmsg_device *rdev, uint64_t deadline)
{
    struct lb_side *s = side_of(rdev);
    struct rpmsg_loopback *lb = s->lb;
    int r = 0;
    rpmsg_mutex_lock(&lb->lock);
    while (!s->doorbell && r == 0)
        r = rpmsg_cond_wait(&s->cond, &lb->lock, deadline);
    s->doorbell = false;
    rpmsg_mutex_unlock(&lb->lock);
    return r == -ETIMEDOUT ? r : 0;
}

static void lb_wakeup(struct rpmsg_device *rdev)
{
    struct lb_side *s = side_of(rdev);
    rpmsg_mutex_lock(&s->lb->lock);
    ring(s);
    rpmsg_mutex_unlock(&s->lb->lock);
}

static const struct rpmsg_transport_ops lb_ops = {
    .get_tx_buffer = lb_get_tx,
    .send = lb_send,
    .release_tx_buffer = lb_release_tx,
    .release_rx_buffer = lb_release_rx,
    .poll = lb_poll,
    .wait = lb_wait,
    .wakeup = lb_wakeup,
};

static void free_dir(struct lb_dir *d)
{
    free(d->mem);
    free(d->free_stack);
    free(d->ready_idx);
    free(d->ready_len);
}

static int alloc_dir(struct lb_dir *d, uint32_t nbuf, uint32_t size)
{
    d->mem = calloc(nbuf, size);
    d->free_stack = calloc(nbuf, sizeof(uint32_t));
    d->ready_idx = calloc(nbuf, sizeof(uint32_t));
    d->ready_len = calloc(nbuf, sizeof(uint32_t));
    if (!d->mem || !d->free_stack || !d->ready_idx || !d->ready_len)
        return -ENOMEM;
    for (uint32_t i = 0; i < nbuf; i++)
        d->free_stack[i] = nbuf - 1 - i;
    d->nfree = nbuf;
    return 0;
}

int rpmsg_loopback_create(struct rpmsg_loopback **out, const struct rpmsg_loopback_config *cfg)
{
    static const struct rpmsg_loopback_config defaults;
    if (!out)
        return -EINVAL;
    if (!cfg)
        cfg = &defaults;
    uint32_t nbuf = cfg->num_bufs ? cfg->num_bufs : 16;
    uint32_t size = cfg->buf_size ? cfg->buf_size : RPMSG_BUFFER_SIZE;
    if (size <= RPMSG_HDR_SIZE || size > 65536 || nbuf > 65536)
        return -EINVAL;
    struct rpmsg_loopback *lb = calloc(1, sizeof(*lb));
    if (!lb)
        return -ENOMEM;
    lb->nbuf = nbuf;
    lb->size = size;
    int r = rpmsg_mutex_init(&lb->lock);
    if (r) {
        free(lb);
        return r;
    }
    uint32_t def = RPMSG_F_NS | RPMSG_F_ACK;
    lb->features[0] = cfg->no_features_a ? 0 : cfg->features_a ? cfg->features_a : def;
    lb->features[1] = cfg->no_features_b ? 0 : cfg->features_b ? cfg->features_b : def;
    const char *names[2] = { cfg->name_a ? cfg->name_a : "a", cfg->name_b ? cfg->name_b : "b" };
    for (int i = 0; i < 2; i++)
        memcpy(lb->names[i], names[i], strnlen(names[i], RPMSG_CPUNAME_SIZE - 1));
    int inited = 0;
    for (int i = 0; i < 2 && !r; i++) {
        r = alloc_dir(&lb->dir[i], nbuf, size);
        if (r)
            break;
        struct lb_side *s = &lb->side[i];
        s->lb = lb;
        s->idx = i;
        r = rpmsg_cond_init(&s->cond);
        if (r)
            break;
        struct rpmsg_device_config dc = {
            .local_cpuname = lb->names[i],
            .features = lb->features[i],
            .no_rx_thread = cfg->no_rx_thread,
        };
        r = rpmsg_device_init(&s->dev, &lb_ops, s, &dc);
        if (r) {
            rpmsg_cond_deinit(&s->cond);
            break;
        }
        s->dev.tx_buf_size = size;
        inited++;
    }
    for (int i = 0; i < inited && !r; i++)
        r = rpmsg_device_start(&lb->side[i].dev);
    if (r) {
        for (int i = 0; i < inited; i++) {
            rpmsg_device_deinit(&lb->side[i].dev);
            rpmsg_cond_deinit(&lb->side[i].cond);
        }
        free_dir(&lb->dir[0]);
        free_dir(&lb->dir[1]);
        rpmsg_mutex_deinit(&lb->lock);
        free(lb);
        return r;
    }
    *out = lb;
    if (!cfg->manual_link)
        rpmsg_loopback_link_up(lb);
    return 0;
}

void rpmsg_loopback_destroy(struct rpmsg_loopback *lb)
{
    if (!lb)
        return;
    rpmsg_loopback_link_down(lb);
    /* Each side's RX thread hands buffers back to the other side's device:
     * both must be still before either is torn down. */
    for (int i = 0; i < 2; i++)
        rpmsg_device_stop(&lb->side[i].dev);
    for (int i = 0; i < 2; i++)
        rpmsg_device_deinit(&lb->side[i].dev);
    for (int i = 0; i < 2; i++) {
        rpmsg_cond_deinit(&lb->side[i].cond);
        free_dir(&lb->dir[i]);
    }
    rpmsg_mutex_deinit(&lb->lock);
    free(lb);
}

struct rpmsg_device *rpmsg_loopback_dev_a(struct rpmsg_loopback *lb)
{
    return lb ? &lb->side[0].dev : NULL;
}

struct rpmsg_device *rpmsg_loopback_dev_b(struct rpmsg_loopback *lb)
{
    return lb ? &lb->side[1].dev : NULL;
}

int rpmsg_loopback_link_down(struct rpmsg_loopback *lb)
{
    if (!lb)
        return -EINVAL;
    rpmsg_mutex_lock(&lb->lock);
    lb->up = false;
    lb->rx_open = false;
    /* Messages on the line are lost with it, as on a reset peer. */
    for (int i = 0; i < 2; i++) {
        struct lb_dir *d = &lb->dir[i];
        while (d->count) {
            d->free_stack[d->nfree++] = d->ready_idx[d->head];
            d->head = (d->head + 1) % lb->nbuf;
            d->count--;
        }
    }
    rpmsg_mutex_unlock(&lb->lock);
    for (int i = 0; i < 2; i++)
        rpmsg_device_link_down(&lb->side[i].dev);
    for (int i = 0; i < 2; i++)
        rpmsg_device_tx_done(&lb->side[i].dev);
    return 0;
}

int rpmsg_loopback_link_up(struct rpmsg_loopback *lb)
{
    if (!lb)
        return -EINVAL;
    rpmsg_mutex_lock(&lb->lock);
    lb->up = true;
    rpmsg_mutex_unlock(&lb->lock);
    for (int i = 0; i < 2; i++)
        rpmsg_device_link_up(&lb->side[i].dev, lb->names[1 - i], lb->features[1 - i]);
    /* Deliver only once both ends know the negotiated features: an
     * announcement handled by a side not yet up could not be answered. */
    rpmsg_mutex_lock(&lb->lock);
    lb->rx_open = true;
    ring(&lb->side[0]);
    ring(&lb->side[1]);
    rpmsg_mutex_unlock(&lb->lock);
    return 0;
}

int rpmsg_loopback_inject(struct rpmsg_loopback *lb, struct rpmsg_device *dev,
                          const void *raw, uint32_t len)
{
    if (!lb || !dev || (!raw && len) || len > lb->size)
        return -EINVAL;
    int to = dev == &lb->side[0].dev ? 0 : dev == &lb->side[1].dev ? 1 : -1;
    if (to < 0)
        return -EINVAL;
    struct lb_dir *d = &lb->dir[1 - to];
    rpmsg_mutex_lock(&lb->lock);
    if (!d->nfree) {
        rpmsg_mutex_unlock(&lb->lock);
        return -EAGAIN;
    }
    uint32_t i = d->free_stack[--d->nfree];
    memcpy(d->mem + (size_t)i * lb->size, raw, len);
    int r = push_ready(lb, 1 - to, i, len);
    rpmsg_mutex_unlock(&lb->lock);
    return r;
}

uint32_t rpmsg_loopback_free_tx(struct rpmsg_loopback *lb, struct rpmsg_device *dev)
{
    if (!lb || !dev)
        return 0;
    int from = dev == &lb->side[0].dev ? 0 : dev == &lb->side[1].dev ? 1 : -1;
    if (from < 0)
        return 0;
    rpmsg_mutex_lock(&lb->lock);
    uint32_t n = lb->dir[from].nfree;
    rpmsg_mutex_unlock(&lb->lock);
    return n;
}
