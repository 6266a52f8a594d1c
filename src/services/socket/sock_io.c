/*
 * Moving bytes: send (stream: partial counts bounded by the peer's window;
 * datagram: whole or not at all), recv, and poll over several sockets.
 */
#include <errno.h>
#include <string.h>

#include "common/byteorder.h"
#include "sock_priv.h"

int sock_poll_wait(uint64_t deadline, struct rpmsg_device *rdev);

static uint64_t deadline_of(uint32_t timeout_ms)
{
    return timeout_ms ? rpmsg_deadline(timeout_ms) : RPMSG_FOREVER;
}

short sock_revents(struct rpmsg_socket *s)
{
    short ev = 0;
    switch (s->state) {
    case SS_LISTEN:
        if (s->q_head)
            ev |= RPMSG_POLLIN;
        break;
    case SS_CONNECTING:
        if (s->error)
            ev |= RPMSG_POLLERR | RPMSG_POLLHUP;
        break;
    case SS_CONNECTED:
        if (s->ring.used || s->rd_shut || s->peer_wr_shut || s->gone)
            ev |= RPMSG_POLLIN;
        if (s->peer_synced && sock_space(s) && !s->wr_shut && !s->peer_rd_shut && !s->gone)
            ev |= RPMSG_POLLOUT;
        if (s->gone)
            ev |= RPMSG_POLLHUP | RPMSG_POLLERR;
        else if (s->wr_shut && s->peer_wr_shut)
            ev |= RPMSG_POLLHUP;
        break;
    default:
        break;
    }
    return ev;
}

/* Why a send cannot go on (0 if it can). */
static int send_error(const struct rpmsg_socket *s)
{
    if (s->state == SS_CLOSED)
        return -EBADF;
    if (s->wr_shut)
        return -EPIPE;
    if (s->gone)
        return s->gone;
    if (s->peer_rd_shut)
        return -EPIPE;
    if (s->state != SS_CONNECTED)
        return -ENOTCONN;
    return 0;
}

/* Copies n bytes starting at byte off of the iovec array into dst. */
static void gather(uint8_t *dst, const struct rpmsg_iovec *iov, int cnt, size_t off, size_t n)
{
    for (int i = 0; i < cnt && n; i++) {
        if (off >= iov[i].len) {
            off -= iov[i].len;
            continue;
        }
        size_t k = iov[i].len - off < n ? iov[i].len - off : n;
        memcpy(dst, (const uint8_t *)iov[i].base + off, k);
        dst += k;
        n -= k;
        off = 0;
    }
}

/* The next DATA of a stream batch: at most what the buffer and our SYNC's
 * "full" allow. The write's last DATA is never full (sock_wire.h): one byte
 * less goes, the last byte alone after it. No empty DATA is then owed at
 * the end, which a nonblocking writer might fail to send and never call
 * again to retry. */
static size_t stream_chunk(size_t left, bool write_end, uint32_t cap, uint32_t full, bool promise)
{
    size_t n = left < cap - SOCK_DATA_HDR ? left : cap - SOCK_DATA_HDR;
    if (full && n > full)
        n = full;
    if (promise && write_end && n == left && n == full && n > 1)
        n--;
    return n;
}

/*
 * DATA messages for up to want bytes from offset done (tx_busy held,
 * sock_lock held on entry and on return). The window is reserved for the
 * whole batch in one lock round, and the messages go out without the lock:
 * a lock round per message cost more than the rest of the socket's path.
 * 1 with *sent set, 0 while the window is closed, or -errno (*sent may
 * still count what went before the error).
 */
static int send_batch(struct rpmsg_socket *s, const struct rpmsg_iovec *iov, int cnt, size_t done,
                      size_t want, bool nonblock, size_t *sent)
{
    bool dgram = s->type == RPMSG_SOCK_DGRAM;
    uint32_t extra = dgram ? SOCK_DGRAM_PREFIX : 0;
    uint32_t space = sock_space(s);
    *sent = 0;
    if (!s->peer_synced || space < (dgram ? want + extra : 1))
        return 0;
    /* Fixed for the batch: the acknowledgement it carries, and the sizes. */
    uint32_t pos = s->recvpos, full = s->tx_full;
    size_t budget = want;
    if (!dgram) {
        budget = budget < space ? budget : space;
        budget = budget < SOCK_TX_BATCH ? budget : SOCK_TX_BATCH;
        /* A batch that does not end the write ends on a full DATA: a short
         * one would wake the reader (rx_hold) in the middle of the write. */
        if (budget < want && full && budget > full)
            budget -= budget % full;
    }
    bool promise = s->peer_full != 0, write_end = budget == want;
    s->lastpos = pos;
    s->owe &= ~OWE_ACK;
    s->sendpos += (uint32_t)(budget + extra);
    rpmsg_mutex_unlock(&sock_lock);
    size_t off = 0, n = 0;
    int r = 0;
    bool nobuf = false, out = false;
    while (!out && (dgram || off < budget)) {
        uint32_t cap = 0;
        uint8_t *buf =
            rpmsg_get_tx_payload_buffer(&s->ept, &cap, nonblock ? RPMSG_NOWAIT : RPMSG_WAIT);
        if (buf && !dgram && cap <= SOCK_DATA_HDR) {
            rpmsg_release_tx_buffer(&s->ept, buf); /* no room for data: never from a real link */
            buf = NULL;
        }
        if (!buf) {
            nobuf = true; /* why is looked at under the lock */
            break;
        }
        n = dgram ? want : stream_chunk(budget - off, write_end, cap, full, promise);
        sock_put_data_hdr(buf, pos, (uint32_t)n);
        if (dgram)
            rpmsg_put32(buf + SOCK_DATA_HDR, (uint32_t)n);
        gather(buf + SOCK_DATA_HDR + extra, iov, cnt, done + off, n);
        r = rpmsg_send_nocopy(&s->ept, buf, SOCK_DATA_HDR + extra + n);
        if (r < 0) {
            if (rpmsg_nocopy_kept(r))
                rpmsg_release_tx_buffer(&s->ept, buf); /* refused before sending: still ours */
            break;
        }
        off += n;
        out = dgram;
    }
    rpmsg_mutex_lock(&sock_lock);
    /* What did not go is not in flight (nobody can have acknowledged it). */
    s->sendpos -= (uint32_t)(budget - off + (dgram && !out ? extra : 0));
    if (off && !dgram)
        s->tx_last_full = full && n == full;
    *sent = off;
    if (nobuf) {
        int e = send_error(s);
        return e ? e : -EAGAIN;
    }
    if (r < 0) {
        /* Counted as sent but never left: the stream is broken. The endpoint
         * went (peer closed, or the link: its teardown runs concurrently),
         * so what the application sees is why. */
        if (!s->gone)
            s->gone = -ECONNRESET;
        sock_notify(s);
        return s->gone;
    }
    return 1;
}

/* Datagram limits: one message of the link, and the peer's whole window. */
static int dgram_check(struct rpmsg_socket *s, size_t total)
{
    int cap = rpmsg_get_tx_buffer_size(&s->ept);
    if (cap > 0 && total + SOCK_DATA_HDR + SOCK_DGRAM_PREFIX > (size_t)cap)
        return -EMSGSIZE;
    /* A peer of ours may have sent NuttX's window first: its whole one
     * follows, so such a datagram waits for the window (the send timeout). */
    if (s->peer_synced && total + SOCK_DGRAM_PREFIX > s->peer_window &&
        !(s->peer_ours && s->peer_window == SOCK_NUTTX_WINDOW))
        return -EFBIG;
    return 0;
}

ssize_t rpmsg_socket_sendv(struct rpmsg_socket *s, const struct rpmsg_iovec *iov, int iovcnt,
                           int flags)
{
    if (!s || iovcnt < 0 || (iovcnt && !iov))
        return -EINVAL;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].len && !iov[i].base)
            return -EINVAL;
        total += iov[i].len;
    }
    bool dgram = s->type == RPMSG_SOCK_DGRAM;
    rpmsg_mutex_lock(&sock_lock);
    bool nonblock = s->nonblock || (flags & RPMSG_MSG_DONTWAIT);
    uint64_t deadline = deadline_of(s->sndtimeo);
    int e = send_error(s);
    if (!e && dgram)
        e = dgram_check(s, total);
    if (!e)
        e = sock_tx_take(s, !nonblock, deadline);
    if (e) {
        rpmsg_mutex_unlock(&sock_lock);
        return e;
    }
    size_t done = 0;
    bool sent_dgram = false;
    while (dgram ? !sent_dgram : done < total) {
        if ((e = send_error(s)) != 0 || (dgram && (e = dgram_check(s, total)) != 0))
            break;
        size_t n = 0;
        int r = send_batch(s, iov, iovcnt, done, total - done, nonblock, &n);
        done += n;
        if (r < 0) {
            e = r;
            break;
        }
        if (r > 0) {
            sent_dgram = true;
            continue;
        }
        /* Window closed: owed acks go out, then wait for the peer's. Sending
         * them drops the lock, and the peer's ack may come meanwhile: its
         * notify found no waiter, so look at the window again first. */
        unsigned seq = s->nseq;
        sock_flush_owed(s, !nonblock);
        if (!nonblock && s->nseq != seq)
            continue;
        if (nonblock || sock_wait(s, deadline) < 0) {
            e = -EAGAIN;
            break;
        }
    }
    /* Our promise to a peer of ours (sock_wire.h): a write cut short (window
     * or buffers) may have ended on a full DATA; its reader, left asleep by
     * those, is woken by an empty DATA. */
    if (s->tx_last_full && s->peer_full)
        s->owe |= OWE_ACK;
    sock_tx_give(s, !nonblock);
    rpmsg_mutex_unlock(&sock_lock);
    if (done || sent_dgram)
        return (ssize_t)done; /* POSIX: a partial count hides a later error */
    return e;
}

ssize_t rpmsg_socket_send(struct rpmsg_socket *s, const void *buf, size_t len, int flags)
{
    struct rpmsg_iovec iov = { buf, len };
    return rpmsg_socket_sendv(s, &iov, 1, flags);
}

struct drive_arg {
    struct rpmsg_socket *s;
    unsigned nseq;
};

/* Anything for the reader since it posted: the notify it would sleep for. */
static bool drive_done(void *arg)
{
    struct drive_arg *a = arg;
    rpmsg_mutex_lock(&sock_lock);
    bool done = a->s->nseq != a->nseq;
    rpmsg_mutex_unlock(&sock_lock);
    return done;
}

/*
 * sock_lock held, a buffer posted: instead of sleeping until the RX thread
 * has filled it and wakes us, fill it ourselves by running the link while
 * a stream flows (rpmsg_drive). The callbacks then run on this thread and
 * the read returns without a wake-up: on a CPU the RX thread shares, that
 * is two context switches saved per read. 0 when notified (as a wait's
 * wake-up), 1 to sleep as usual (nothing flows, or the link does not lend
 * its RX context), or -ETIMEDOUT.
 */
static int sock_drive(struct rpmsg_socket *s, uint64_t deadline)
{
    struct rpmsg_device *rdev = s->rdev;
    if (!rdev || !s->ept_live || s->gone)
        return 1;
    struct drive_arg a = { s, s->nseq };
    s->driving = true;
    rpmsg_mutex_unlock(&sock_lock);
    int r = rpmsg_drive(rdev, deadline, drive_done, &a);
    rpmsg_mutex_lock(&sock_lock);
    s->driving = false;
    if (s->gone)
        sock_notify(s); /* on_device_destroyed may wait for this */
    if (r == 1 || s->nseq != a.nseq)
        return 0;
    return r == -ETIMEDOUT ? -ETIMEDOUT : 1;
}

/* sock_lock held: one read from the ring; its result, or -EAGAIN if empty. */
static ssize_t take(struct rpmsg_socket *s, void *buf, size_t len)
{
    if (!s->ring.used)
        return -EAGAIN;
    uint32_t n, consumed;
    if (s->type == RPMSG_SOCK_DGRAM) {
        uint8_t pre[SOCK_DGRAM_PREFIX];
        sock_ring_get(&s->ring, pre, sizeof(pre), true);
        uint32_t dlen = rpmsg_get32(pre); /* checked on arrival */
        n = dlen < len ? dlen : (uint32_t)len;
        sock_ring_get(&s->ring, buf, n, true);
        sock_ring_get(&s->ring, NULL, dlen - n, true);
        consumed = dlen + SOCK_DGRAM_PREFIX;
    } else {
        n = sock_ring_get(&s->ring, buf, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len, true);
        consumed = n;
    }
    sock_consumed(s, consumed);
    return n;
}

ssize_t rpmsg_socket_recv(struct rpmsg_socket *s, void *buf, size_t len, int flags)
{
    if (!s || (len && !buf))
        return -EINVAL;
    rpmsg_mutex_lock(&sock_lock);
    bool nonblock = s->nonblock || (flags & RPMSG_MSG_DONTWAIT);
    if (s->type == RPMSG_SOCK_DGRAM && s->state == SS_BOUND) {
        /* A bound datagram socket receives by pairing with its own name. */
        struct rpmsg_sockaddr self = s->local;
        rpmsg_mutex_unlock(&sock_lock);
        int r = rpmsg_socket_connect(s, &self);
        if (r < 0 && r != -EINPROGRESS)
            return r;
        rpmsg_mutex_lock(&sock_lock);
    }
    uint64_t deadline = deadline_of(s->rcvtimeo);
    ssize_t r;
    for (;;) {
        if (s->state == SS_CONNECTING) {
            int e = sock_connect_step(s, !nonblock);
            if (e < 0 && e != -EINPROGRESS) {
                s->error = 0; /* the connect failed: this recv reports it */
                s->state = SS_IDLE;
                r = e;
                break;
            }
        }
        r = take(s, buf, len);
        if (r >= 0)
            break;
        if (s->state == SS_CLOSED) {
            r = -EBADF;
            break;
        }
        if (s->state != SS_CONNECTED && s->state != SS_CONNECTING) {
            r = -ENOTCONN;
            break;
        }
        if (s->rd_shut || s->peer_wr_shut) {
            r = 0;
            break;
        }
        if (s->gone) {
            r = s->gone == -ECONNRESET ? -ECONNRESET : 0;
            break;
        }
        if (nonblock) {
            r = -EAGAIN;
            break;
        }
        /* An owed ack goes first; sending it drops the lock, so data that
         * came meanwhile is looked for again before sleeping. */
        unsigned seq = s->nseq;
        if (sock_try_flush(s, true))
            seq++; /* its own notify */
        if (s->nseq != seq)
            continue;
        /* The ring is empty: the callback may fill buf directly (rx_store). */
        bool posted = s->type == RPMSG_SOCK_STREAM && len && !s->post;
        if (posted) {
            s->post = buf;
            s->post_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
            s->post_got = 0;
        }
        int w = posted ? sock_drive(s, deadline) : 1;
        if (w > 0)
            w = sock_wait(s, deadline);
        if (posted) {
            uint32_t got = s->post_got;
            s->post = NULL;
            s->post_got = 0;
            if (got) {
                r = got; /* ours, even if the wait timed out */
                sock_consumed(s, got);
                break;
            }
        }
        if (w < 0) {
            r = -EAGAIN;
            break;
        }
    }
    /* The acknowledgement goes now if nobody is sending; else the sender
     * sends it (woken by the notify). */
    sock_try_flush(s, !nonblock);
    sock_notify(s);
    rpmsg_mutex_unlock(&sock_lock);
    return r;
}

int rpmsg_socket_poll(struct rpmsg_socket_pollfd *fds, unsigned nfds, int timeout_ms)
{
    if (nfds && !fds)
        return -EINVAL;
    for (unsigned i = 0; i < nfds; i++)
        if (!fds[i].s)
            return -EINVAL;
    uint64_t deadline = timeout_ms < 0 ? RPMSG_FOREVER : rpmsg_deadline((uint64_t)timeout_ms);
    rpmsg_mutex_lock(&sock_lock);
    int ready;
    bool block_flush = false;
    for (;;) {
        /* Everything that drops the lock comes before the readiness check,
         * so no notify can fall between the check and the sleep. */
        bool owed = false;
        for (unsigned i = 0; i < nfds; i++) {
            struct rpmsg_socket *s = fds[i].s;
            if (s->state == SS_CONNECTING && !s->error)
                sock_connect_step(s, false);
            sock_try_flush(s, block_flush);
            owed = owed || (s->owe && s->ept_live && !s->gone);
        }
        ready = 0;
        struct rpmsg_device *any = NULL;
        for (unsigned i = 0; i < nfds; i++) {
            struct rpmsg_socket *s = fds[i].s;
            short mask = (short)(fds[i].events | RPMSG_POLLERR | RPMSG_POLLHUP);
            fds[i].revents = (short)(sock_revents(s) & mask);
            if (fds[i].revents)
                ready++;
            if (s->rdev)
                any = s->rdev;
        }
        if (ready || timeout_ms == 0)
            break;
        if (owed && !block_flush) {
            /* About to sleep with something owed (a nonblocking recv only
             * tried): send it, waiting for a buffer if need be, or the peer
             * may wait for our acknowledgement while we wait for its data. */
            block_flush = true;
            continue;
        }
        block_flush = false;
        /* A connecting socket checks its binding again after a while: the
         * core has no callback for CREATE_ACK. */
        uint64_t until = deadline;
        for (unsigned i = 0; i < nfds; i++)
            if (fds[i].s->state == SS_CONNECTING && fds[i].s->ept_live &&
                !fds[i].s->sync_sent) {
                uint64_t t = rpmsg_deadline(20);
                until = t < until ? t : until;
            }
        for (unsigned i = 0; i < nfds; i++)
            rpmsg_drive_end(fds[i].s->rdev);
        if (sock_poll_wait(until, any) < 0 && until == deadline)
            break;
    }
    rpmsg_mutex_unlock(&sock_lock);
    return ready;
}
