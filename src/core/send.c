/*
 * The send family. A send holds its endpoint for its whole life (its thread's
 * hazard, a reference, or its callback's hold), so a concurrent
 * rpmsg_destroy_ept() waits for it, and leaves as soon as the endpoint is
 * marked for destruction.
 */
#include "internal.h"

struct tx_wait {
    struct rpmsg_device *rdev;
    struct rpmsg_endpoint *ept;
    uint32_t gen;
    bool need_bind;
};

static bool tx_ready(void *arg)
{
    struct tx_wait *w = arg;
    if (w->ept && (w->ept->flags & RPMSG_EPT_F_DESTROYING))
        return true;
    if (!w->rdev->up)
        return !w->ept; /* the core's own messages give up (see take_buffer) */
    if (w->need_bind)
        return w->ept->dest_addr != RPMSG_ADDR_ANY;
    return rpmsg_ref_load(&w->rdev->tx_gen) != w->gen;
}

/*
 * A send's hold on its endpoint: its thread's hazard (hazard.c), its own
 * reference where the hazard is busy or missing, or nothing where the
 * dispatch running ept's callback on this thread holds it (a reply from the
 * callback, the echo and request/response shape). That thread is also the
 * link's RX context, one thread at a time, so such a send counts in counters
 * of its own with plain stores: it pays no atomic read-modify-write at all.
 */
struct hold {
    uint32_t bits; /* ept->refs as read: its state bits */
    bool own;      /* riding on the callback's hold */
    struct rpmsg_tx_hazard *hz; /* held by this thread's hazard */
};

static inline void ept_release(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept,
                               const struct hold *h)
{
    if (h->hz)
        rpmsg_hazard_drop(rdev, &h->hz->ept, ept);
    else if (!h->own)
        rpmsg_ept_unref(rdev, ept);
}

/*
 * Holds ept without rdev->lock: reads the endpoint's state bits after the
 * hazard's store, or in the atomic step that takes the reference (see
 * internal.h). -EPIPE, and no hold, once its destruction has begun.
 */
static inline int ept_hold(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept, struct hold *h)
{
    h->own = !RPMSG_NO_SYS && rpmsg_dispatch_holds(ept);
    h->hz = h->own ? NULL : rpmsg_tx_hazard_hold(ept);
    h->bits = h->own || h->hz ? rpmsg_ref_load(&ept->refs) : rpmsg_ref_add(&ept->refs, 1);
    if (h->bits & RPMSG_REF_DYING) {
        ept_release(rdev, ept, h);
        return -EPIPE;
    }
    return 0;
}

/*
 * bits: ept->refs as read. An address is learnt in one session of the link: once
 * the link went down under a named endpoint, an address it was given
 * names nobody, or a stranger, in the next session. A send to an explicit
 * address from such an endpoint fails until the name binds it again, so a
 * reply still being written for the old session (a server answering a
 * request of a client that is gone) cannot reach, and bind, the new one.
 * A send to the endpoint's own peer waits for that new binding instead.
 */
static bool void_address(uint32_t bits, bool explicit_dst)
{
    return explicit_dst && (bits & RPMSG_REF_ORPHAN);
}

/* A message is counted before it goes, so that whoever sees it arrive sees
 * it counted; a send that fails uncounts. No lock: senders take none. */
static inline void count_tx(struct rpmsg_device *rdev, size_t len, int sign, const struct hold *h)
{
    /* Unsigned wrap-around: -1 uncounts, in the counters' own width (no
     * 64-bit arithmetic on a 32-bit target with 32-bit counters). */
    rpmsg_counter_t n = (rpmsg_counter_t)sign, b = (rpmsg_counter_t)sign * (rpmsg_counter_t)len;
#if !RPMSG_NO_SYS
    if (h->own) {
        rpmsg_stat_bump(&rdev->tx_msgs_cb, n);
        rpmsg_stat_bump(&rdev->tx_bytes_cb, b);
        return;
    }
#else
    (void)h;
#endif
    rpmsg_stat_add(&rdev->tx_msgs, n);
    rpmsg_stat_add(&rdev->tx_bytes, b);
}

/*
 * Takes a TX buffer for ept (NULL for the core's own messages), waiting if
 * asked. rdev->lock held on entry and exit. *dst ANY means "the endpoint's
 * peer": it is resolved here, after waiting for the binding if need be.
 */
static void *take_buffer(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept,
                         uint32_t *dst, bool wait, uint32_t *size, int *err)
{
    uint64_t deadline = 0; /* set at the first wait: reading the clock costs */
    struct tx_wait w = { .rdev = rdev, .ept = ept };
    bool counted = false;
    for (;;) {
        if (ept && (ept->flags & RPMSG_EPT_F_DESTROYING)) {
            *err = -EPIPE;
            return NULL;
        }
        w.need_bind = false;
        w.gen = rpmsg_ref_load(&rdev->tx_gen);
        if (!rdev->up) {
            /* Applications may wait for the link (link up bumps tx_gen). The
             * core's own name-service messages do not: the next link up
             * announces afresh, and a DESTROY for a dead link would hold
             * rpmsg_destroy_ept() for the whole send timeout. */
            *err = wait && ept ? 0 : -ENOTCONN;
        } else if (ept && *dst == RPMSG_ADDR_ANY && rpmsg_ept_dest(ept) == RPMSG_ADDR_ANY) {
            *err = wait ? 0 : -EAGAIN;
            w.need_bind = true;
        } else {
            rpmsg_mutex_unlock(&rdev->lock);
            void *buf = rdev->ops->get_tx_buffer(rdev, size);
            rpmsg_mutex_lock(&rdev->lock);
            if (buf) {
                if (*dst == RPMSG_ADDR_ANY && ept)
                    *dst = rpmsg_ept_dest(ept);
                return buf;
            }
            *err = wait ? 0 : -EAGAIN;
            if (wait && !counted) {
                rdev->stats.tx_waits++; /* this send waits for a buffer */
                counted = true;
            }
        }
        if (*err)
            return NULL;
        if (!deadline)
            deadline = rpmsg_deadline(rdev->send_timeout_ms);
        int r = rpmsg_dev_wait(rdev, deadline, false, tx_ready, &w);
        if (r) {
            *err = r;
            return NULL;
        }
    }
}

static void make_hdr(struct rpmsg_hdr *hdr, uint32_t src, uint32_t dst, uint32_t len)
{
    hdr->src = rpmsg_le32(src);
    hdr->dst = rpmsg_le32(dst);
    hdr->reserved = 0;
    hdr->len = rpmsg_le16((uint16_t)len);
    hdr->flags = 0;
}

static int fill_and_send(struct rpmsg_device *rdev, void *buf, uint32_t src, uint32_t dst,
                         uint32_t len, int (*send)(struct rpmsg_device *, void *, uint32_t))
{
    struct rpmsg_hdr hdr;
    make_hdr(&hdr, src, dst, len);
    memcpy(buf, &hdr, sizeof(hdr));
    rpmsg_trace_msg(rdev, RPMSG_TRACE_TX, buf, RPMSG_HDR_SIZE + len);
    return send(rdev, buf, RPMSG_HDR_SIZE + len);
}

/* fill_and_send(), counted: by the transport where it can (ops->send_counted,
 * under its lock, no atomic instruction), else here, before it goes and
 * taken back if it fails. */
static int fill_counted(struct rpmsg_device *rdev, void *buf, uint32_t src, uint32_t dst,
                        uint32_t len, const struct hold *h)
{
    if (rdev->ops->send_counted)
        return fill_and_send(rdev, buf, src, dst, len, rdev->ops->send_counted);
    count_tx(rdev, len, 1, h);
    int r = fill_and_send(rdev, buf, src, dst, len, rdev->ops->send);
    if (r)
        count_tx(rdev, len, -1, h);
    return r;
}

/* Copies the payload into buf (size bytes) and sends it, counted unless h is
 * NULL (the core's own messages). */
static int put_and_send(struct rpmsg_device *rdev, void *buf, uint32_t size, uint32_t src,
                        uint32_t dst, const void *data, uint32_t len, const struct hold *h)
{
    if (len + RPMSG_HDR_SIZE > size) {
        rdev->ops->release_tx_buffer(rdev, buf);
        return -EMSGSIZE;
    }
    if (len)
        memcpy((uint8_t *)buf + RPMSG_HDR_SIZE, data, len);
    return h ? fill_counted(rdev, buf, src, dst, len, h)
             : fill_and_send(rdev, buf, src, dst, len, rdev->ops->send);
}

/*
 * A copy send that does not wait: in one step of the transport where it
 * offers one, which counts it (a traced message is written whole before it
 * goes, so it takes the two steps). -ENOBUFS: no buffer free now.
 */
static int tx_now(struct rpmsg_device *rdev, uint32_t src, uint32_t dst, const void *data,
                  uint32_t len, const struct hold *h)
{
    if (rdev->ops->send_copy && !__atomic_load_n(&rdev->trace, __ATOMIC_RELAXED)) {
        struct rpmsg_hdr hdr;
        make_hdr(&hdr, src, dst, len);
        return rdev->ops->send_copy(rdev, &hdr, data, len);
    }
    uint32_t size = 0;
    void *buf = rdev->ops->get_tx_buffer(rdev, &size);
    return buf ? put_and_send(rdev, buf, size, src, dst, data, len, h) : -ENOBUFS;
}

static uint32_t payload_max(struct rpmsg_device *rdev)
{
    uint32_t size = rpmsg_device_tx_buf_size(rdev);
    return size > RPMSG_HDR_SIZE ? size - RPMSG_HDR_SIZE : 0;
}

/*
 * The slow way to a TX buffer, when the link is down, the endpoint unbound
 * or no buffer free: waits, if asked, for all three (take_buffer). ept
 * held. *dst ANY is resolved to the endpoint's peer.
 */
static void *reserve_slow(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept, uint32_t *dst,
                          bool wait, uint32_t *size, int *err)
{
    bool explicit_dst = *dst != RPMSG_ADDR_ANY;
    void *buf = NULL;
    rpmsg_mutex_lock(&rdev->lock);
    if (void_address(rpmsg_ref_load(&ept->refs), explicit_dst))
        *err = -ENOTCONN;
    else
        buf = take_buffer(rdev, ept, dst, wait, size, err);
    rpmsg_mutex_unlock(&rdev->lock);
    if (buf && void_address(rpmsg_ref_load(&ept->refs), explicit_dst)) {
        /* The link went down and came back while this send waited. */
        rdev->ops->release_tx_buffer(rdev, buf);
        buf = NULL;
        *err = -ENOTCONN;
    }
    return buf;
}

/*
 * The common case (link up, endpoint bound, a buffer free) takes no device
 * lock: the hold takes no atomic step (ept_hold), the binding is one load,
 * and the buffer, the copy and the send are the transport's (one round of
 * its lock where it has send_copy).
 */
static int send_copy(struct rpmsg_endpoint *ept, uint32_t src, uint32_t dst, const void *data,
                     size_t len, bool wait)
{
    if (!ept || !ept->rdev || !ept->rdev->ops || (!data && len))
        return -EINVAL;
    struct rpmsg_device *rdev = ept->rdev;
    if (len > payload_max(rdev) || len > UINT16_MAX)
        return -EMSGSIZE;
    struct hold h;
    int r = ept_hold(rdev, ept, &h);
    if (r)
        return r;
    bool explicit_dst = dst != RPMSG_ADDR_ANY;
    if (void_address(h.bits, explicit_dst)) {
        ept_release(rdev, ept, &h);
        return -ENOTCONN;
    }
    /* Read with our hold: destroy clears it once holds end. */
    if (src == RPMSG_ADDR_ANY)
        src = ept->addr;
    uint32_t to = explicit_dst ? dst : rpmsg_ept_dest(ept);
    r = -ENOBUFS;
    if (to != RPMSG_ADDR_ANY && rpmsg_dev_up_hint(rdev))
        r = tx_now(rdev, src, to, data, (uint32_t)len, &h);
    if (r == -ENOBUFS) {
        uint32_t size = 0;
        void *buf = reserve_slow(rdev, ept, &dst, wait, &size, &r);
        if (buf)
            r = put_and_send(rdev, buf, size, src, dst, data, (uint32_t)len, &h);
    }
    ept_release(rdev, ept, &h);
    return r ? r : (int)len;
}

int rpmsg_send(struct rpmsg_endpoint *ept, const void *data, size_t len)
{
    return send_copy(ept, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, data, len, true);
}

int rpmsg_sendto(struct rpmsg_endpoint *ept, const void *data, size_t len, uint32_t dst)
{
    if (dst == RPMSG_ADDR_ANY)
        return -EINVAL;
    return send_copy(ept, RPMSG_ADDR_ANY, dst, data, len, true);
}

int rpmsg_send_offchannel(struct rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                          const void *data, size_t len)
{
    if (dst == RPMSG_ADDR_ANY)
        return -EINVAL;
    return send_copy(ept, src, dst, data, len, true);
}

int rpmsg_trysend(struct rpmsg_endpoint *ept, const void *data, size_t len)
{
    return send_copy(ept, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, data, len, false);
}

int rpmsg_trysendto(struct rpmsg_endpoint *ept, const void *data, size_t len, uint32_t dst)
{
    if (dst == RPMSG_ADDR_ANY)
        return -EINVAL;
    return send_copy(ept, RPMSG_ADDR_ANY, dst, data, len, false);
}

int rpmsg_trysend_offchannel(struct rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                             const void *data, size_t len)
{
    if (dst == RPMSG_ADDR_ANY)
        return -EINVAL;
    return send_copy(ept, src, dst, data, len, false);
}

int rpmsg_core_send(struct rpmsg_device *rdev, uint32_t src, uint32_t dst, const void *data,
                    uint32_t len)
{
    if (len > payload_max(rdev))
        return -EMSGSIZE;
    int r = 0;
    uint32_t size = 0;
    rpmsg_mutex_lock(&rdev->lock);
    void *buf = take_buffer(rdev, NULL, &dst, true, &size, &r);
    rpmsg_mutex_unlock(&rdev->lock);
    return buf ? put_and_send(rdev, buf, size, src, dst, data, len, NULL) : r;
}

/* ---- Zero copy ---------------------------------------------------------- */

void *rpmsg_get_tx_payload_buffer(struct rpmsg_endpoint *ept, uint32_t *len, int wait)
{
    if (!ept || !ept->rdev || !ept->rdev->ops || !len)
        return NULL;
    struct rpmsg_device *rdev = ept->rdev;
    /* No reference when a buffer is free: the endpoint is not used past this
     * look, and a stream of zero-copy sends paid the device lock here. */
    if (rpmsg_ref_load(&ept->refs) & RPMSG_REF_DYING)
        return NULL;
    uint32_t size = 0;
    void *buf = rpmsg_dev_up_hint(rdev) ? rdev->ops->get_tx_buffer(rdev, &size) : NULL;
    if (!buf) {
        uint32_t dst = 0; /* the buffer does not depend on a binding */
        struct hold h;
        int r = ept_hold(rdev, ept, &h);
        if (r)
            return NULL;
        rpmsg_mutex_lock(&rdev->lock);
        buf = take_buffer(rdev, ept, &dst, wait != 0, &size, &r);
        rpmsg_mutex_unlock(&rdev->lock);
        ept_release(rdev, ept, &h);
    }
    if (!buf)
        return NULL;
    if (size <= RPMSG_HDR_SIZE) {
        rdev->ops->release_tx_buffer(rdev, buf);
        return NULL;
    }
    *len = size - RPMSG_HDR_SIZE;
    return (uint8_t *)buf + RPMSG_HDR_SIZE;
}

/* A buffer the caller gave up on, now the transport's (rpmsg_nocopy_kept()). */
static void drop_nocopy(struct rpmsg_device *rdev, void *buf)
{
    if (rdev->ops->release_tx_buffer(rdev, buf) == 0)
        rpmsg_device_tx_done(rdev);
}

/* As send_copy(): no device lock. */
static int send_nocopy(struct rpmsg_endpoint *ept, uint32_t src, uint32_t dst, void *data,
                       size_t len)
{
    if (!ept || !ept->rdev || !ept->rdev->ops || !data)
        return -EINVAL;
    struct rpmsg_device *rdev = ept->rdev;
    if (len > payload_max(rdev) || len > UINT16_MAX)
        return -EMSGSIZE;
    void *buf = (uint8_t *)data - RPMSG_HDR_SIZE;
    struct hold h;
    int r = ept_hold(rdev, ept, &h);
    if (r) {
        drop_nocopy(rdev, buf);
        return r;
    }
    if (void_address(h.bits, dst != RPMSG_ADDR_ANY)) {
        ept_release(rdev, ept, &h);
        drop_nocopy(rdev, buf);
        return -ENOTCONN;
    }
    if (src == RPMSG_ADDR_ANY)
        src = ept->addr; /* with the hold: destroy clears it after the last */
    if (dst == RPMSG_ADDR_ANY) {
        dst = rpmsg_ept_dest(ept);
        if (dst == RPMSG_ADDR_ANY) {
            ept_release(rdev, ept, &h);
            return -EAGAIN; /* the buffer stays the caller's: bind, then retry */
        }
    }
    r = fill_counted(rdev, buf, src, dst, (uint32_t)len, &h);
    /* A transport refuses a buffer that is not its own with -EINVAL and
     * takes any other back: keep rpmsg_nocopy_kept() true to that. */
    if (r == -EMSGSIZE || r == -EAGAIN)
        r = -ENOBUFS;
    ept_release(rdev, ept, &h);
    return r ? r : (int)len;
}

int rpmsg_send_nocopy(struct rpmsg_endpoint *ept, void *data, size_t len)
{
    return send_nocopy(ept, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, data, len);
}

int rpmsg_sendto_nocopy(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t dst)
{
    if (dst == RPMSG_ADDR_ANY)
        return -EINVAL;
    return send_nocopy(ept, RPMSG_ADDR_ANY, dst, data, len);
}

int rpmsg_send_offchannel_nocopy(struct rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                                 void *data, size_t len)
{
    if (dst == RPMSG_ADDR_ANY)
        return -EINVAL;
    return send_nocopy(ept, src, dst, data, len);
}

int rpmsg_release_tx_buffer(struct rpmsg_endpoint *ept, void *data)
{
    if (!ept || !ept->rdev || !ept->rdev->ops || !data)
        return -EINVAL;
    struct rpmsg_device *rdev = ept->rdev;
    int r = rdev->ops->release_tx_buffer(rdev, (uint8_t *)data - RPMSG_HDR_SIZE);
    if (r == 0)
        rpmsg_device_tx_done(rdev);
    return r;
}

int rpmsg_get_tx_buffer_size(struct rpmsg_endpoint *ept)
{
    if (!ept || !ept->rdev || !ept->rdev->ops)
        return -EINVAL;
    return (int)payload_max(ept->rdev);
}
