/*
 * The send family. A send takes a reference on its endpoint for its whole
 * life, so a concurrent rpmsg_destroy_ept() waits for it, and leaves as soon
 * as the endpoint is marked for destruction.
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

/* rdev->lock held. */
static int ept_get(struct rpmsg_endpoint *ept)
{
    if (ept->flags & RPMSG_EPT_F_DESTROYING)
        return -EPIPE;
    if (!(ept->flags & RPMSG_EPT_F_REGISTERED))
        return -EINVAL;
    rpmsg_ept_ref(ept);
    return 0;
}

/*
 * rdev->lock held. An address is learnt in one session of the link: once
 * the link went down under a named endpoint, an address it was given
 * names nobody, or a stranger, in the next session. A send to an explicit
 * address from such an endpoint fails until the name binds it again, so a
 * reply still being written for the old session (a server answering a
 * request of a client that is gone) cannot reach, and bind, the new one.
 * A send to the endpoint's own peer waits for that new binding instead.
 */
static bool void_address(const struct rpmsg_endpoint *ept, bool explicit_dst)
{
    return explicit_dst && (ept->flags & RPMSG_EPT_F_ORPHAN);
}

/* rdev->lock held. A message is counted when its buffer is taken, so that
 * the common path needs no second lock round; a send that fails uncounts. */
static void count_tx(struct rpmsg_device *rdev, size_t len, int sign)
{
    /* Unsigned wrap-around: -1 uncounts, in the counters' own width (no
     * 64-bit arithmetic on a 32-bit target with 32-bit counters). */
    rdev->stats.tx_msgs += (rpmsg_counter_t)sign;
    rdev->stats.tx_bytes += (rpmsg_counter_t)sign * (rpmsg_counter_t)len;
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
        } else if (ept && *dst == RPMSG_ADDR_ANY && ept->dest_addr == RPMSG_ADDR_ANY) {
            *err = wait ? 0 : -EAGAIN;
            w.need_bind = true;
        } else {
            rpmsg_mutex_unlock(&rdev->lock);
            void *buf = rdev->ops->get_tx_buffer(rdev, size);
            rpmsg_mutex_lock(&rdev->lock);
            if (buf) {
                if (*dst == RPMSG_ADDR_ANY)
                    *dst = ept->dest_addr;
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

static int fill_and_send(struct rpmsg_device *rdev, void *buf, uint32_t src, uint32_t dst,
                         uint32_t len)
{
    struct rpmsg_hdr hdr = {
        .src = rpmsg_le32(src),
        .dst = rpmsg_le32(dst),
        .reserved = 0,
        .len = rpmsg_le16((uint16_t)len),
        .flags = 0,
    };
    memcpy(buf, &hdr, sizeof(hdr));
    rpmsg_trace_msg(rdev, RPMSG_TRACE_TX, buf, RPMSG_HDR_SIZE + len);
    return rdev->ops->send(rdev, buf, RPMSG_HDR_SIZE + len);
}

static uint32_t payload_max(struct rpmsg_device *rdev)
{
    uint32_t size = rpmsg_device_tx_buf_size(rdev);
    return size > RPMSG_HDR_SIZE ? size - RPMSG_HDR_SIZE : 0;
}

/*
 * Takes ept's reference and a TX buffer for a message of len bytes, and
 * counts it. The common path (link up, endpoint bound, a buffer free) is one
 * round of rdev->lock: the transport's get_tx_buffer has its own lock. Waits,
 * if asked, on the slow path. Returns with rdev->lock released; on failure
 * the reference is dropped and *err set.
 */
static void *reserve(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept, uint32_t *dst,
                     size_t len, bool wait, uint32_t *size, int *err)
{
    rpmsg_mutex_lock(&rdev->lock);
    *err = ept_get(ept);
    if (*err) {
        rpmsg_mutex_unlock(&rdev->lock);
        return NULL;
    }
    bool explicit_dst = *dst != RPMSG_ADDR_ANY;
    if (void_address(ept, explicit_dst)) {
        rpmsg_ept_unref_locked(rdev, ept);
        rpmsg_mutex_unlock(&rdev->lock);
        *err = -ENOTCONN;
        return NULL;
    }
    bool fast = rdev->up && (*dst != RPMSG_ADDR_ANY || ept->dest_addr != RPMSG_ADDR_ANY);
    if (fast) {
        if (*dst == RPMSG_ADDR_ANY)
            *dst = ept->dest_addr;
        count_tx(rdev, len, 1);
    }
    rpmsg_mutex_unlock(&rdev->lock);
    void *buf = fast ? rdev->ops->get_tx_buffer(rdev, size) : NULL;
    if (buf)
        return buf;
    rpmsg_mutex_lock(&rdev->lock);
    if (fast)
        count_tx(rdev, len, -1);
    buf = take_buffer(rdev, ept, dst, wait, size, err);
    if (buf && void_address(ept, explicit_dst)) {
        /* The link went down and came back while this send waited. */
        rpmsg_mutex_unlock(&rdev->lock);
        rdev->ops->release_tx_buffer(rdev, buf);
        rpmsg_mutex_lock(&rdev->lock);
        buf = NULL;
        *err = -ENOTCONN;
    }
    if (buf)
        count_tx(rdev, len, 1);
    rpmsg_mutex_unlock(&rdev->lock);
    if (!buf)
        rpmsg_ept_unref(rdev, ept);
    return buf;
}

/* The end of a send that reserved: uncount on failure, drop the reference. */
static int finish_send(struct rpmsg_device *rdev, struct rpmsg_endpoint *ept, size_t len, int r)
{
    if (r) {
        rpmsg_mutex_lock(&rdev->lock);
        count_tx(rdev, len, -1);
        rpmsg_mutex_unlock(&rdev->lock);
    }
    rpmsg_ept_unref(rdev, ept);
    return r ? r : (int)len;
}

static int send_copy(struct rpmsg_endpoint *ept, uint32_t src, uint32_t dst, const void *data,
                     size_t len, bool wait)
{
    if (!ept || !ept->rdev || !ept->rdev->ops || (!data && len))
        return -EINVAL;
    struct rpmsg_device *rdev = ept->rdev;
    if (len > payload_max(rdev) || len > UINT16_MAX)
        return -EMSGSIZE;
    uint32_t size = 0;
    int r;
    void *buf = reserve(rdev, ept, &dst, len, wait, &size, &r);
    if (!buf)
        return r;
    /* Read with our reference held: destroy clears it once references end. */
    if (src == RPMSG_ADDR_ANY)
        src = ept->addr;
    if (len + RPMSG_HDR_SIZE > size) {
        rdev->ops->release_tx_buffer(rdev, buf);
        r = -EMSGSIZE;
    } else {
        if (len)
            memcpy((uint8_t *)buf + RPMSG_HDR_SIZE, data, len);
        r = fill_and_send(rdev, buf, src, dst, (uint32_t)len);
    }
    return finish_send(rdev, ept, len, r);
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
    if (!buf)
        return r;
    if (len + RPMSG_HDR_SIZE > size) {
        rdev->ops->release_tx_buffer(rdev, buf);
        return -EMSGSIZE;
    }
    memcpy((uint8_t *)buf + RPMSG_HDR_SIZE, data, len);
    return fill_and_send(rdev, buf, src, dst, len);
}

/* ---- Zero copy ---------------------------------------------------------- */

void *rpmsg_get_tx_payload_buffer(struct rpmsg_endpoint *ept, uint32_t *len, int wait)
{
    if (!ept || !ept->rdev || !ept->rdev->ops || !len)
        return NULL;
    struct rpmsg_device *rdev = ept->rdev;
    rpmsg_mutex_lock(&rdev->lock);
    int r = ept_get(ept);
    bool up = rdev->up;
    rpmsg_mutex_unlock(&rdev->lock);
    if (r)
        return NULL;
    /* As reserve(): one round of rdev->lock when a buffer is free (a
     * stream of zero-copy sends paid two more per message). */
    uint32_t size = 0;
    void *buf = up ? rdev->ops->get_tx_buffer(rdev, &size) : NULL;
    if (!buf) {
        uint32_t dst = 0; /* the buffer does not depend on a binding */
        rpmsg_mutex_lock(&rdev->lock);
        buf = take_buffer(rdev, ept, &dst, wait != 0, &size, &r);
        rpmsg_mutex_unlock(&rdev->lock);
    }
    rpmsg_ept_unref(rdev, ept);
    if (!buf)
        return NULL;
    if (size <= RPMSG_HDR_SIZE) {
        rdev->ops->release_tx_buffer(rdev, buf);
        return NULL;
    }
    *len = size - RPMSG_HDR_SIZE;
    return (uint8_t *)buf + RPMSG_HDR_SIZE;
}

static int send_nocopy(struct rpmsg_endpoint *ept, uint32_t src, uint32_t dst, void *data,
                       size_t len)
{
    if (!ept || !ept->rdev || !ept->rdev->ops || !data)
        return -EINVAL;
    struct rpmsg_device *rdev = ept->rdev;
    if (len > payload_max(rdev) || len > UINT16_MAX)
        return -EMSGSIZE;
    void *buf = (uint8_t *)data - RPMSG_HDR_SIZE;
    rpmsg_mutex_lock(&rdev->lock);
    int r = ept_get(ept);
    if (r) {
        rpmsg_mutex_unlock(&rdev->lock);
        if (r == -EPIPE && rdev->ops->release_tx_buffer(rdev, buf) == 0)
            rpmsg_device_tx_done(rdev); /* rpmsg_nocopy_kept(): not the caller's now */
        return r;
    }
    if (src == RPMSG_ADDR_ANY)
        src = ept->addr; /* with the reference: destroy clears it after the last */
    if (void_address(ept, dst != RPMSG_ADDR_ANY)) {
        rpmsg_ept_unref_locked(rdev, ept);
        rpmsg_mutex_unlock(&rdev->lock);
        if (rdev->ops->release_tx_buffer(rdev, buf) == 0)
            rpmsg_device_tx_done(rdev); /* not the caller's now, as for -EPIPE */
        return -ENOTCONN;
    }
    if (dst == RPMSG_ADDR_ANY) {
        dst = ept->dest_addr;
        if (dst == RPMSG_ADDR_ANY) {
            rpmsg_ept_unref_locked(rdev, ept);
            rpmsg_mutex_unlock(&rdev->lock);
            return -EAGAIN; /* the buffer stays the caller's: bind, then retry */
        }
    }
    count_tx(rdev, len, 1);
    rpmsg_mutex_unlock(&rdev->lock);
    r = fill_and_send(rdev, buf, src, dst, (uint32_t)len);
    /* A transport refuses a buffer that is not its own with -EINVAL and
     * takes any other back: keep rpmsg_nocopy_kept() true to that. */
    if (r == -EMSGSIZE || r == -EAGAIN)
        r = -ENOBUFS;
    return finish_send(rdev, ept, len, r);
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
