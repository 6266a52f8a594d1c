/*
 * The lean edge's port link: the base format of the port transport over a
 * UART (port_wire.h), cut to what one message per frame needs. COBS frames
 * with a zero delimiter, CRC-32C computed bit by bit (no table: a UART's
 * bytes come slower than 8 shifts each), the CONNECT/CONNACK handshake with
 * nonces and tags, go-back-N resends from the oldest unacknowledged message,
 * cumulative ACKs, credits both ways, keepalives and the dead-peer timeout.
 * Everything from the line is checked before it is used.
 */
#include "common/linecode.h"
#include "edge.h"

#if RPMSG_LEAN_EDGE

_Static_assert((RPMSG_LEAN_EDGE_TX & (RPMSG_LEAN_EDGE_TX - 1)) == 0 && RPMSG_LEAN_EDGE_TX <= 64,
               "RPMSG_LEAN_EDGE_TX: a power of two, at most 64");
_Static_assert(RPMSG_LEAN_EDGE_BUF > 2 * RPMSG_HDR_SIZE && RPMSG_LEAN_EDGE_BUF < 65536,
               "RPMSG_LEAN_EDGE_BUF: room for two headers");

enum { T_CONNECT = 1, T_CONNACK, T_DATA, T_ACK, T_BYE };
#define F_POLL 0x01u
#define HDR 16u
#define OVERHEAD 20u
#define HELLO_SIZE (24u + RPMSG_CPUNAME_SIZE)
#define HELLO_MS 50u
#define BACKOFF_MAX 4u

static int16_t seq_diff(uint16_t a, uint16_t b)
{
    return (int16_t)(uint16_t)(a - b);
}

static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = ~0u;
    while (n--)
        c = rpmsg_crc32c_byte(c, *p++);
    return ~c;
}

/* In place: what is written never overtakes what is read. Length, or -1. */
static long cobs_decode(uint8_t *b, size_t n)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = b[i++];
        if (!code || code - 1u > n - i)
            return -1;
        for (uint8_t k = 1; k < code; k++)
            b[o++] = b[i++];
        if (code != 0xFF && i < n)
            b[o++] = 0;
    }
    return (long)o;
}

static uint32_t fresh_nonce(const struct rpmsg_lean_edge *e)
{
    uint32_t n = (rpmsg_board_time_ms() + 1u) * 2654435761u ^ e->cfg.boot_entropy ^ e->nonce;
    n ^= n >> 16;
    n *= 0x45D9F3Bu;
    n ^= n >> 15;
    return (n & 0xFF) ? n : n | 0x5A;
}

/* The session ends (the peer rebooted, went silent or said BYE): what was in
 * flight is lost, and sequence numbers start over with the next one. */
static void session_end(struct rpmsg_lean_edge *e, bool new_nonce)
{
    bool was = e->connected;
    e->snd_una = e->snd_nxt = e->snd_end = e->peer_limit = e->rcv_next = 0;
    e->peer_known = e->connected = e->connack_owed = e->ack_owed = e->poll_owed = false;
    e->backoff = 0;
    if (new_nonce)
        e->nonce = fresh_nonce(e);
    if (was)
        rpmsg_lean_edge_on_link(e, false);
}

int rpmsg_lean_edge_init(struct rpmsg_lean_edge *e, const struct rpmsg_lean_edge_config *cfg)
{
    if (!e || !cfg || !cfg->local_cpuname || !cfg->far_cpuname || !cfg->uart ||
        !cfg->uart->read || !cfg->uart->write)
        return -EINVAL;
    memset(e, 0, sizeof(*e));
    e->cfg = *cfg;
    if (!e->cfg.rto_ms)
        e->cfg.rto_ms = 20;
    if (!e->cfg.peer_timeout_ms)
        e->cfg.peer_timeout_ms = RPMSG_PORT_PEER_TIMEOUT_MS;
    e->nonce = fresh_nonce(e);
    return 0;
}

uint32_t rpmsg_lean_edge_out_max(const struct rpmsg_lean_edge *e)
{
    return e->peer_size < RPMSG_LEAN_EDGE_BUF ? e->peer_size : RPMSG_LEAN_EDGE_BUF;
}

int rpmsg_lean_edge_out(struct rpmsg_lean_edge *e, uint32_t src, uint32_t dst, const void *a,
                        size_t alen, const void *b, size_t blen)
{
    if (!e->connected)
        return -ENOTCONN;
    size_t len = RPMSG_HDR_SIZE + alen + blen;
    if (len > rpmsg_lean_edge_out_max(e))
        return -EMSGSIZE;
    if ((uint16_t)(e->snd_end - e->snd_una) >= RPMSG_LEAN_EDGE_TX)
        return -EAGAIN;
    uint8_t *m = e->tx[e->snd_end % RPMSG_LEAN_EDGE_TX].buf;
    rpmsg_put32(m, src);
    rpmsg_put32(m + 4, dst);
    rpmsg_put32(m + 8, 0);
    rpmsg_put16(m + 12, (uint16_t)(len - RPMSG_HDR_SIZE));
    rpmsg_put16(m + 14, 0);
    memcpy(m + RPMSG_HDR_SIZE, a, alen);
    if (blen)
        memcpy(m + RPMSG_HDR_SIZE + alen, b, blen);
    e->tx[e->snd_end++ % RPMSG_LEAN_EDGE_TX].len = (uint16_t)len;
    return 0;
}

/* ---- Receiving ---------------------------------------------------------------- */

static void take_limit(struct rpmsg_lean_edge *e, uint16_t limit)
{
    /* Never back, never further than the first format's window. */
    if (seq_diff(limit, e->peer_limit) > 0 && seq_diff(limit, e->snd_una) <= 128)
        e->peer_limit = limit;
}

static void take_hello(struct rpmsg_lean_edge *e, uint8_t type, const uint8_t *b, uint16_t len,
                       uint16_t limit)
{
    uint32_t nonce = rpmsg_get32(b + 4), size = rpmsg_get32(b + 16);
    /* Buffers that cannot hold a tunnelled message (two headers) are no link. */
    if (len < HELLO_SIZE || rpmsg_get16(b) != 1 || !nonce || size <= 2 * RPMSG_HDR_SIZE)
        return;
    if (e->peer_known && nonce != e->peer_nonce)
        session_end(e, false); /* the peer rebooted */
    if (!e->peer_known) {
        e->peer_known = true;
        e->peer_nonce = nonce;
        e->peer_size = (uint16_t)(size < RPMSG_LEAN_EDGE_BUF ? size : RPMSG_LEAN_EDGE_BUF);
    }
    take_limit(e, limit);
    if (type == T_CONNECT)
        e->connack_owed = true;
    if (rpmsg_get32(b + 8) == e->nonce && !e->connected) {
        e->connected = true;
        e->last_rx = rpmsg_board_time_ms();
        if (type == T_CONNACK)
            e->connack_owed = true; /* the peer may not know that we know it */
        rpmsg_lean_edge_on_link(e, true);
    }
}

/* Messages of a DATA body, in order from seq: the next expected ones are
 * delivered, anything else dropped (the peer resends). */
static void take_data(struct rpmsg_lean_edge *e, uint16_t seq, const uint8_t *b, uint16_t len)
{
    for (uint32_t off = 0; len - off >= RPMSG_HDR_SIZE; seq++) {
        uint32_t mlen = RPMSG_HDR_SIZE + rpmsg_get16(b + off + 12);
        if (mlen > len - off || mlen > RPMSG_LEAN_EDGE_BUF)
            break;
        if (seq == e->rcv_next) {
            e->rcv_next++;
            rpmsg_lean_edge_on_msg(e, b + off, mlen);
            if (!e->connected)
                return; /* a callback's doing cannot end it, but be safe */
        }
        off += mlen;
    }
    e->ack_owed = true;
}

static void take_frame(struct rpmsg_lean_edge *e, const uint8_t *f, size_t n)
{
    if (n < OVERHEAD || crc32c(f, n - 4) != rpmsg_get32(f + n - 4) || f[0] >> 4 != 1 ||
        rpmsg_get16(f + 10) != n - OVERHEAD)
        return;
    uint8_t type = f[0] & 0x0F;
    uint16_t seq = rpmsg_get16(f + 4), ack = rpmsg_get16(f + 6), limit = rpmsg_get16(f + 8);
    uint16_t len = (uint16_t)(n - OVERHEAD);
    if (type == T_CONNECT || type == T_CONNACK) {
        take_hello(e, type, f + HDR, len, limit);
        return;
    }
    /* Only this session's frames, both tags right. */
    if (!e->connected || f[2] != (uint8_t)e->peer_nonce || f[3] != (uint8_t)e->nonce ||
        (f[1] & ~F_POLL))
        return;
    e->last_rx = rpmsg_board_time_ms();
    if (type == T_BYE) {
        session_end(e, true);
        return;
    }
    if (seq_diff(ack, e->snd_una) > 0 && seq_diff(ack, e->snd_nxt) <= 0) {
        e->snd_una = ack;
        e->backoff = 0;
        e->sent_at = e->last_rx; /* the timer runs for what is still out */
    }
    take_limit(e, limit);
    if (f[1] & F_POLL)
        e->ack_owed = true;
    if (type == T_DATA)
        take_data(e, seq, f + HDR, len);
}

/* What the UART holds: frames end at a zero byte. */
static int read_line(struct rpmsg_lean_edge *e)
{
    uint8_t chunk[16];
    int got = 0, n;
    while ((n = e->cfg.uart->read(e->cfg.uart_ctx, chunk, sizeof(chunk), 0)) > 0) {
        got += n;
        for (int i = 0; i < n; i++) {
            if (chunk[i]) {
                if (e->rx_len < sizeof(e->rx))
                    e->rx[e->rx_len++] = chunk[i];
                else
                    e->rx_skip = true;
                continue;
            }
            long len = e->rx_skip ? -1 : cobs_decode(e->rx, e->rx_len);
            if (len > 0)
                take_frame(e, e->rx, (size_t)len);
            e->rx_len = 0;
            e->rx_skip = false;
        }
    }
    return got;
}

/* ---- Sending ---------------------------------------------------------------------- */

/* The next frame, or 0 when nothing is owed. f holds RPMSG_LEAN_EDGE_TX_FRAME. */
static size_t build(struct rpmsg_lean_edge *e, uint8_t *f, uint32_t now)
{
    uint8_t type = T_ACK, flags = 0;
    uint16_t len = 0, seq = 0;
    uint8_t *b = f + HDR;
    if (!e->connected || e->connack_owed) {
        if (e->connack_owed) {
            type = T_CONNACK;
        } else if ((int32_t)(now - e->next_hello) >= 0) {
            type = T_CONNECT;
            e->next_hello = now + HELLO_MS;
        } else {
            return 0;
        }
        e->connack_owed = false;
        memset(b, 0, HELLO_SIZE);
        rpmsg_put16(b, 1);
        rpmsg_put32(b + 4, e->nonce);
        rpmsg_put32(b + 8, e->peer_known ? e->peer_nonce : 0);
        rpmsg_put32(b + 16, RPMSG_LEAN_EDGE_BUF);
        rpmsg_put16(b + 20, RPMSG_LEAN_EDGE_RX_WIN);
        memcpy(b + 24, e->cfg.local_cpuname, strnlen(e->cfg.local_cpuname, RPMSG_CPUNAME_SIZE - 1));
        len = HELLO_SIZE;
    } else if (e->snd_nxt != e->snd_end && seq_diff(e->snd_nxt, e->peer_limit) < 0) {
        type = T_DATA;
        seq = e->snd_nxt++;
        len = e->tx[seq % RPMSG_LEAN_EDGE_TX].len;
        memcpy(b, e->tx[seq % RPMSG_LEAN_EDGE_TX].buf, len);
        e->sent_at = now;
    } else if (e->poll_owed) {
        flags = F_POLL;
        e->poll_owed = false;
    } else if (!e->ack_owed) {
        return 0;
    }
    f[0] = (uint8_t)(0x10 | type);
    f[1] = flags;
    f[2] = (uint8_t)e->nonce;
    f[3] = e->peer_known ? (uint8_t)e->peer_nonce : 0;
    rpmsg_put16(f + 4, seq);
    rpmsg_put16(f + 6, e->rcv_next);
    rpmsg_put16(f + 8, (uint16_t)(e->rcv_next + RPMSG_LEAN_EDGE_RX_WIN));
    rpmsg_put16(f + 10, len);
    rpmsg_put32(f + 12, 0);
    rpmsg_put32(f + HDR + len, crc32c(f, HDR + len));
    e->ack_owed = false;
    return HDR + len + 4u;
}

/* Timers: the dead-peer timeout, resends, keepalives and credit probes. */
static void timers(struct rpmsg_lean_edge *e, uint32_t now)
{
    uint32_t t = e->cfg.peer_timeout_ms;
    if (!e->connected)
        return;
    if (now - e->last_rx >= t - t / 8) {
        session_end(e, true); /* a fresh nonce: a peer only cut off starts over too */
        return;
    }
    uint32_t rto = e->cfg.rto_ms << e->backoff;
    if (e->snd_una != e->snd_end && now - e->sent_at >= rto) {
        if (e->snd_una != e->snd_nxt)
            e->snd_nxt = e->snd_una; /* go back: resend from the oldest */
        else
            e->poll_owed = true; /* no credit: our last update may be lost */
        e->sent_at = now;
        if (e->backoff < BACKOFF_MAX)
            e->backoff++;
    }
    if (now - e->last_rx >= t / 4 && (int32_t)(now - e->next_ka) >= 0) {
        e->poll_owed = true;
        e->next_ka = now + t / 8;
    }
}

int rpmsg_lean_edge_poll(struct rpmsg_lean_edge *e)
{
    int moved = read_line(e);
    /* After the reading: a frame read now is not in the future of now. */
    uint32_t now = rpmsg_board_time_ms();
    timers(e, now);
    moved += rpmsg_lean_edge_route_step(e, now);
    for (;;) {
        if (e->out_off == e->out_len) {
            uint8_t f[RPMSG_LEAN_EDGE_TX_FRAME];
            size_t n = build(e, f, now);
            if (!n)
                break;
            e->out_len = (uint16_t)rpmsg_cobs_encode(f, n, e->out);
            e->out[e->out_len++] = 0;
            e->out_off = 0;
        }
        int w = e->cfg.uart->write(e->cfg.uart_ctx, e->out + e->out_off,
                                   (size_t)(e->out_len - e->out_off), 0);
        if (w <= 0)
            break; /* the line is busy: the rest goes next time */
        e->out_off = (uint16_t)(e->out_off + w);
        moved++;
    }
    return moved;
}

#endif /* RPMSG_LEAN_EDGE */
