/*
 * The protocol side of a socket: what the peer's SYNC / DATA / SHUTDOWN do
 * to it (on the link's RX context, never blocking), and the control
 * messages it owes the peer (SYNC, acknowledgements, SHUTDOWN).
 */
#include "sock_priv.h"

#include <errno.h>
#include <string.h>
#if !RPMSG_NO_SYS
#include <unistd.h>
#endif

uint32_t sock_space(const struct rpmsg_socket *s)
{
    uint32_t inflight = s->sendpos - s->ackpos;
    return inflight >= s->peer_window ? 0 : s->peer_window - inflight;
}

static void malformed(struct rpmsg_socket *s)
{
    s->malformed++;
}

/* The peer's pos acknowledges what it consumed of ours. A pos behind the one
 * we know is stale (an ack overtaken by a later one): ignored. A pos ahead of
 * what we sent is impossible: malformed. */
static bool take_pos(struct rpmsg_socket *s, uint32_t pos)
{
    uint32_t adv = pos - s->ackpos;
    if (adv <= s->sendpos - s->ackpos) {
        s->ackpos = pos;
        return true;
    }
    return (int32_t)(pos - s->ackpos) < 0;
}

/* A peer of ours names the service (SYNC extension): two long names of
 * the same endpoint name (2 characters and the same CRC) are told apart.
 * The connecting side refuses; an accepted side is reset (its client
 * refuses too). */
static bool wrong_service(const struct rpmsg_socket *s, const struct sock_msg *m)
{
    return m->ext_name && s->svc &&
           (strlen(s->svc) != m->ext_name_len || memcmp(s->svc, m->ext_name, m->ext_name_len));
}

static void rx_sync(struct rpmsg_socket *s, const struct sock_msg *m)
{
    if (wrong_service(s, m)) {
        if (s->state == SS_CONNECTING)
            s->error = -ECONNREFUSED;
        else if (!s->gone)
            s->gone = -ECONNRESET;
        return;
    }
    s->peer_window = m->size;
    if (s->type == RPMSG_SOCK_STREAM)
        s->peer_full = m->ext_full;
    if (m->ext_full && !s->peer_ours) {
        /* One of ours: our whole window, in a second SYNC if the first
         * went with NuttX's. */
        s->peer_ours = true;
        if (s->sync_sent && s->adv < s->rcvbuf)
            s->owe |= OWE_SYNC;
    }
    if (m->has_cred) {
        s->cred.pid = m->pid;
        s->cred.uid = m->uid;
        s->cred.gid = m->gid;
    }
    s->peer_synced = true;
    if (s->state == SS_CONNECTING)
        s->state = SS_CONNECTED;
    if (!s->sync_sent)
        s->owe |= OWE_SYNC;
}

uint32_t sock_adv(const struct rpmsg_socket *s)
{
    return s->adv ? s->adv : s->rcvbuf;
}

void sock_consumed(struct rpmsg_socket *s, uint32_t n)
{
    s->recvpos += n;
    if (s->recvpos - s->lastpos > sock_adv(s) / 2)
        s->owe |= OWE_ACK;
}

/*
 * A full DATA from a peer that promised a shorter one at the end of every
 * write (sock_wire.h): more is coming, so the reader may sleep on, saving a
 * wake-up (and on a shared CPU a context switch) per message. Not once half
 * our window waits unread: the writer could be about to stall on it. What
 * the reader consumed but we have not acknowledged does not count: a reader
 * that sleeps has acknowledged all but at most half the window (take()), so
 * a writer stalled on a closed window has left half of it unread here. It
 * used to count, and a reader with nearly half the window unacknowledged
 * was woken by the first DATA of the next write, for that one message.
 * A posted buffer's fill is unread too (the reader counts it when it
 * returns); a full post wakes its reader.
 */
static bool rx_hold(const struct rpmsg_socket *s, const struct sock_msg *m, uint32_t ackpos)
{
    return s->peer_full && m->data_len == s->peer_full && s->ackpos == ackpos && !s->rd_shut &&
           s->ring.used + s->post_got < sock_adv(s) / 2 && (!s->post || s->post_got < s->post_len);
}

/* Into the posted buffer first, while the ring is empty (order); the rest
 * into the ring. The reader counts what it got as consumed when it returns,
 * as for a read from the ring: an acknowledgement sent from here would wake
 * it (the flush notifies) before the write's end. */
static void rx_store(struct rpmsg_socket *s, const uint8_t *data, uint32_t len)
{
    if (s->post && !s->ring.used && s->post_got < s->post_len) {
        uint32_t n = s->post_len - s->post_got < len ? s->post_len - s->post_got : len;
        memcpy(s->post + s->post_got, data, n);
        s->post_got += n;
        data += n;
        len -= n;
    }
    if (len)
        sock_ring_put(&s->ring, data, len);
}

/* Returns true when the message needs no wake-up (rx_hold). */
static bool rx_data(struct rpmsg_socket *s, const struct sock_msg *m)
{
    uint32_t ackpos = s->ackpos;
    if (!take_pos(s, m->pos)) {
        malformed(s);
        return false;
    }
    if (!m->data_len)
        return false;
    /* More than the window we advertised: a hostile or broken peer. A post's
     * fill is in the window until its reader returns. */
    if (!s->ring.buf || m->data_len + s->post_got > sock_ring_free(&s->ring)) {
        malformed(s);
        return false;
    }
    if (s->rd_shut) {
        /* Nobody will read: discarded, and acknowledged at once so that the
         * writer does not wait for a window that would never open. */
        sock_consumed(s, m->data_len);
        s->owe |= OWE_ACK;
        return false;
    }
    rx_store(s, m->data, m->data_len); /* only a stream's reader posts */
    return s->type == RPMSG_SOCK_STREAM && rx_hold(s, m, ackpos);
}

int sock_ept_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    struct rpmsg_socket *s = priv;
    struct sock_msg m;
    rpmsg_mutex_lock(&sock_lock);
    if (sock_parse(data, len, s->type == RPMSG_SOCK_DGRAM, &m) < 0) {
        malformed(s);
        rpmsg_mutex_unlock(&sock_lock);
        return 0;
    }
    s->in_cb++;
    bool hold = false;
    switch (m.cmd) {
    case SOCK_CMD_SYNC:
        rx_sync(s, &m);
        break;
    case SOCK_CMD_DATA:
        hold = rx_data(s, &m);
        break;
    default:
        if (m.how & RPMSG_SHUT_WR)
            s->peer_wr_shut = true;
        if (m.how & RPMSG_SHUT_RD)
            s->peer_rd_shut = true;
        break;
    }
    if (!hold) {
        sock_notify(s);
        /* A reader that drives the link (sock_drive) returns now, not after
         * the rest of the round went into the ring. */
        if (s->post)
            rpmsg_rx_yield(ept);
    }
    sock_try_flush(s, false);
    /* The socket outlives its callback (destroy waits for it), so its
     * condition is still there after the unlock. */
    unsigned wake = --s->in_cb ? 0 : sock_wake_take(s);
    rpmsg_mutex_unlock(&sock_lock);
    sock_wake(s, ept->rdev, wake);
    return 0;
}

/* The peer's endpoint went away: NS DESTROY (its close, or its refusal), or
 * the link went down (the core unbinds before telling services; the reset
 * is then what the application must see, not an orderly close). */
void sock_unbind_cb(struct rpmsg_endpoint *ept)
{
    struct rpmsg_socket *s = ept->priv;
    bool link_lost = !rpmsg_device_is_up(ept->rdev);
    rpmsg_mutex_lock(&sock_lock);
    if (!s->gone || link_lost)
        s->gone = link_lost ? -ECONNRESET : -EPIPE;
    if (s->state == SS_CONNECTING)
        s->error = link_lost ? -ECONNRESET : -ECONNREFUSED;
    sock_notify(s);
    rpmsg_mutex_unlock(&sock_lock);
}

/* One owed control message into buf; its length, or 0 if nothing is owed. */
static uint32_t next_owed(struct rpmsg_socket *s, uint8_t *buf, unsigned *bit)
{
    *bit = s->owe & OWE_SYNC ? OWE_SYNC : s->owe & OWE_ACK ? OWE_ACK : OWE_SHUT;
    s->owe &= ~*bit;
    s->tx_last_full = false; /* whatever goes now is not a full DATA */
    if (*bit == OWE_SYNC) {
        s->sync_sent = true;
        s->adv = s->rcvbuf;
        /* Datagrams too: a NuttX sender bursts as many as the window
         * holds, each in a TX buffer of its own. */
        if (!s->peer_ours && s->adv > SOCK_NUTTX_WINDOW)
            s->adv = SOCK_NUTTX_WINDOW;
#if RPMSG_NO_SYS
        sock_put_sync(buf, s->adv, 0, 0, 0);
#else
        sock_put_sync(buf, s->adv, (uint32_t)getpid(), (uint32_t)getuid(), (uint32_t)getgid());
#endif
        if (!s->tx_full) {
            int cap = rpmsg_get_tx_buffer_size(&s->ept); /* lock-free */
            s->tx_full = cap > (int)SOCK_DATA_HDR ? (uint32_t)cap - SOCK_DATA_HDR : 0;
        }
        if (!s->tx_full)
            return SOCK_SYNC_LEN;
        /* A datagram socket sends the extension only to say it is ours. */
        sock_put_sync_ext(buf, s->tx_full);
        return s->type == RPMSG_SOCK_STREAM ? sock_put_sync_name(buf, s->svc) : SOCK_SYNC_EXT_LEN;
    }
    if (*bit == OWE_ACK) {
        s->lastpos = s->recvpos;
        return sock_put_data_hdr(buf, s->recvpos, 0);
    }
    return sock_put_shutdown(buf, s->shut_how);
}

/*
 * A control message goes only to a bound peer: the client sends its first
 * SYNC once bound, the server's endpoint is born bound. Unbound later means
 * the peer's endpoint went (NS DESTROY), and the socket is told so just
 * after, in sock_unbind_cb. rpmsg_send() would wait for a new binding that
 * never comes, up to the send timeout, holding tx_busy (a close stuck for
 * 15 s); so the wait is for a buffer only, and an unbound send fails.
 */
static int send_owed(struct rpmsg_socket *s, const uint8_t *msg, uint32_t n, bool may_block)
{
    if (!may_block)
        return rpmsg_trysend(&s->ept, msg, n);
    uint32_t cap = 0;
    uint8_t *buf = rpmsg_get_tx_payload_buffer(&s->ept, &cap, RPMSG_WAIT);
    if (!buf)
        return -EAGAIN;
    if (cap < n) {
        rpmsg_release_tx_buffer(&s->ept, buf); /* never from a real link */
        return -EMSGSIZE;
    }
    memcpy(buf, msg, n);
    int r = rpmsg_send_nocopy(&s->ept, buf, n);
    if (r < 0 && rpmsg_nocopy_kept(r))
        rpmsg_release_tx_buffer(&s->ept, buf);
    return r;
}

void sock_flush_owed(struct rpmsg_socket *s, bool may_block)
{
    uint8_t buf[SOCK_SYNC_MAX_LEN];
    while (s->ept_live && !s->gone && s->owe) {
        unsigned bit;
        uint32_t lastpos = s->lastpos, adv = s->adv;
        bool last_full = s->tx_last_full;
        uint32_t n = next_owed(s, buf, &bit);
        rpmsg_mutex_unlock(&sock_lock);
        int r = send_owed(s, buf, n, may_block);
        rpmsg_mutex_lock(&sock_lock);
        if (r < 0) {
            /* Still owed: the next holder of tx_busy tries again. */
            s->owe |= bit;
            if (bit == OWE_SYNC) {
                s->sync_sent = false;
                s->adv = adv; /* the peer still has the old window */
            }
            if (bit == OWE_ACK)
                s->lastpos = lastpos;
            s->tx_last_full = last_full;
            break;
        }
    }
}

int sock_tx_take(struct rpmsg_socket *s, bool may_block, uint64_t deadline)
{
    while (s->tx_busy) {
        if (!may_block)
            return -EAGAIN;
        if (sock_wait(s, deadline) < 0)
            return -EAGAIN;
    }
    s->tx_busy = true;
    return 0;
}

void sock_tx_give(struct rpmsg_socket *s, bool may_block)
{
    sock_flush_owed(s, may_block);
    s->tx_busy = false;
    sock_notify(s);
}

bool sock_try_flush(struct rpmsg_socket *s, bool may_block)
{
    if (!s->owe || s->tx_busy || !s->ept_live)
        return false;
    s->tx_busy = true;
    sock_tx_give(s, may_block);
    return true;
}
