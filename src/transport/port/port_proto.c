/*
 * The port protocol, independent of the physical link: handshake, selective
 * repeat ARQ with cumulative + selective ACKs, credits. Frames come in
 * through rpmsg_port_proto_rx() and go out through rpmsg_port_proto_build();
 * the caller holds p->lock for both.
 *
 * Liveness: every valid frame of the session from the peer counts as a sign
 * of life. An idle link asks for one (an ACK with PORT_F_POLL) after a
 * quarter of peer_timeout; with none for 7/8 of it the session ends as if
 * the peer had rebooted: this end takes a new nonce, so that a peer that was
 * only cut off drops the old session too when it hears from us.
 *
 * Frame size: the sender counts the messages it had to resend against the
 * line bits they went out in, which estimates the bit error rate, and packs
 * frames up to the body that maximises goodput at that rate (small frames
 * pay more header per byte, large ones are lost more often). Resending
 * takes only the messages marked lost, with the same cap.
 *
 * Window: with a peer that offered PORT_HF_WIDE (and when we do too), up to
 * PORT_WIN_WIDE messages in flight and a SACK extension that reaches all of
 * them, so that a fast line with losses keeps its pipe full while holes
 * are resent, and every hole is seen after one round trip rather than by
 * the timer. Otherwise the first format's 128 messages and 32-bit SACK.
 *
 * Credits: the receiver advertises limit = rcv_next + free buffers + buffers
 * holding out-of-order messages. Delivering a message in order moves
 * rcv_next and uses a buffer, so the limit never goes back; every sequence
 * number below it has a free buffer waiting, hence a message inside the
 * limit is never dropped for want of memory.
 */
#include "port_internal.h"

/* Error estimate: halved past this many line bits (a few MB: long enough
 * to see a 1e-6 line's errors, short enough to follow a change). */
#define EST_WINDOW_BITS (1ull << 25)
#define EST_ONE 256u  /* est_lost counts lost messages in 1/256ths */
#define BODY_MIN 64u
#define BACKOFF_MAX 6u
#define HELLO_MIN_MS 10u
#define HELLO_MAX_MS 200u

static struct port_txent *txe(struct rpmsg_port *p, uint16_t seq)
{
    return &p->txw[seq % PORT_WIN_MAX];
}

static struct port_rxslot *rxs(struct rpmsg_port *p, uint16_t seq)
{
    return &p->rxw[seq % PORT_WIN_MAX];
}

/* The largest limit this end takes from its peer, past snd_una. */
static uint32_t local_win(const struct rpmsg_port *p)
{
    return p->cfg.v1_wire ? PORT_WIN_V1 : PORT_WIN_WIDE;
}

/* End of what the selective ACK can speak of: the first unacknowledged
 * message and the 32 after it (the whole window in a wide session). The
 * timer and hole detection look no further: past it the peer may hold what
 * it cannot say. */
static uint16_t sack_end(const struct rpmsg_port *p)
{
    uint16_t end = (uint16_t)(p->snd_una + (p->wide ? PORT_WIN_WIDE : 33u));
    return port_seq_diff(p->snd_nxt, end) < 0 ? p->snd_nxt : end;
}

/* Messages past rcv_next the peer may send: every free buffer and every
 * held one, within what the peer's format takes. */
static uint32_t rx_window(const struct rpmsg_port *p)
{
    uint32_t w = p->rx_nfree + p->ooo, cap = p->wide ? PORT_WIN_WIDE : PORT_WIN_V1;
    return w < cap ? w : cap;
}

static uint16_t rx_limit(const struct rpmsg_port *p)
{
    return (uint16_t)(p->rcv_next + rx_window(p));
}

static uint32_t rx_sack(struct rpmsg_port *p)
{
    uint32_t sack = 0;
    if (!p->ooo)
        return 0;
    /* Past the tables' size a slot would stand for an older seq. */
    for (uint32_t i = 0; i < 32 && 1 + i < PORT_WIN_MAX; i++)
        if (rxs(p, (uint16_t)(p->rcv_next + 1 + i))->used)
            sack |= 1u << i;
    return sack;
}

/* The SACK extension's words, up to the last one with a bit set; 0 when
 * nothing is held past the header's reach. */
static unsigned rx_xsack(struct rpmsg_port *p, uint32_t *words)
{
    unsigned n = 0;
    if (!p->wide || !p->ooo)
        return 0;
    for (unsigned w = 0; w < PORT_XSACK_WORDS_MAX && 33 + 32 * w < PORT_WIN_MAX; w++) {
        words[w] = 0;
        for (uint32_t i = 0; i < 32 && 33 + 32 * w + i < PORT_WIN_MAX; i++)
            if (rxs(p, (uint16_t)(p->rcv_next + 33 + 32 * w + i))->used)
                words[w] |= 1u << i;
        if (words[w])
            n = w + 1;
    }
    return n;
}

/* Backed off, but never past rto_max: on a noisy line a long wait for a
 * lost frame costs more than a needless resend. */
static uint32_t rto_now(const struct rpmsg_port *p)
{
    uint32_t rto = p->rto << (p->backoff < BACKOFF_MAX ? p->backoff : BACKOFF_MAX);
    return rto < p->rto_max ? rto : p->rto_max;
}

static uint64_t isqrt64(uint64_t v)
{
    uint64_t r = 0, bit = 1ull << 62;
    while (bit > v)
        bit >>= 2;
    while (bit) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

/*
 * Goodput of a frame with body B and o bytes of overhead at bit error rate
 * q is about B / (B + o) * exp(-8q(B + o)); it peaks where
 * B^2 + oB = o / (8q), with q = lost / bits as measured.
 */
static void adapt_body(struct rpmsg_port *p)
{
    uint32_t body = p->body_max;
    if (!p->cfg.fixed_frames && p->est_lost) {
        uint64_t o = PORT_OVERHEAD + p->link_ovh;
        uint64_t c = o * p->est_bits * EST_ONE / (8 * (uint64_t)p->est_lost);
        uint64_t b = (isqrt64(o * o + 4 * c) - o) / 2;
        body = b < BODY_MIN ? BODY_MIN : b < body ? (uint32_t)b : body;
    }
    p->body_now = body;
    p->stats.frame_body_now = body;
}

/* The fate of a message's last transmission, for the error estimate. */
static void est_note(struct rpmsg_port *p, struct port_txent *e, bool lost)
{
    if (!e->fbytes)
        return;
    p->est_bits += 8u * e->fbytes;
    e->fbytes = 0; /* one verdict per transmission */
    if (lost)
        p->est_lost += EST_ONE;
    if (p->est_bits > EST_WINDOW_BITS) {
        p->est_bits >>= 1;
        p->est_lost >>= 1;
    }
    adapt_body(p);
}

static void mark_lost(struct rpmsg_port *p, struct port_txent *e)
{
    e->rtx = true;
    est_note(p, e, true);
}

static uint32_t hello_interval(const struct rpmsg_port *p)
{
    uint32_t base = p->rto_min > HELLO_MIN_MS ? p->rto_min : HELLO_MIN_MS;
    uint32_t v = base << (p->hello_backoff < 5 ? p->hello_backoff : 5);
    return v < HELLO_MAX_MS ? v : HELLO_MAX_MS;
}

static uint32_t fresh_nonce(const struct rpmsg_port *p)
{
    uint32_t n = 0;
    while (!n || (n & 0xFF) == 0) {
        /* Time, address, a counter and the board's entropy: differs across
         * boots and ports. */
        static uint32_t counter;
#if RPMSG_NO_SYS
        uint64_t t = rpmsg_time_ms(); /* a single context: no race on counter */
        uint32_t c = counter += 0x9E3779B9u;
#else
        uint64_t t = rpmsg_port_now_us();
        uint32_t c = __atomic_add_fetch(&counter, 0x9E3779B9u, __ATOMIC_RELAXED);
#endif
        n = (uint32_t)(t * 2654435761u) ^ (uint32_t)(t >> 32) ^ (uint32_t)(uintptr_t)&n ^ c ^
            p->cfg.boot_entropy;
        n ^= n >> 16;
        n *= 0x45D9F3Bu;
        n ^= n >> 16;
    }
    return n;
}

void rpmsg_port_proto_init(struct rpmsg_port *p)
{
    p->nonce = fresh_nonce(p);
    p->tag = (uint8_t)p->nonce;
    p->rto = p->rto_min;
    p->adv_limit = rx_limit(p);
    adapt_body(p);
}

uint64_t rpmsg_port_proto_dead_at(const struct rpmsg_port *p)
{
    return p->connected ? p->last_rx_ms + p->peer_timeout - p->peer_timeout / 8 : RPMSG_FOREVER;
}

/* A session the peer let lapse ends like one the peer rebooted out of. It
 * ends an eighth early, so that the core hears of it within peer_timeout
 * even when the threads are slow to run. */
static void check_peer(struct rpmsg_port *p, uint64_t now)
{
    /* This runs at least every quarter of the timeout while connected. A
     * longer gap means this machine starved our threads, and the peer's
     * frames may be waiting unread: silence so far counts as half. */
    if (p->connected && now > p->last_check_ms + p->peer_timeout / 3 &&
        p->last_rx_ms + p->peer_timeout / 2 < now)
        p->last_rx_ms = now - p->peer_timeout / 2;
    p->last_check_ms = now;
    uint64_t dead_at = rpmsg_port_proto_dead_at(p);
    if (now < dead_at)
        return;
    /* A reader kept off the CPU leaves the peer's frames waiting unread:
     * they are signs of life we have not looked at yet. The session ends
     * only once the reader has been through the line past the deadline. */
    if (p->rx_gated && p->rx_drained_ms < dead_at)
        return;
    p->stats.peer_timeouts++;
    p->stats.last_end = RPMSG_PORT_END_SILENT;
    p->nonce = fresh_nonce(p);
    p->tag = (uint8_t)p->nonce;
    rpmsg_port_proto_reset(p);
}

static uint64_t keepalive_at(const struct rpmsg_port *p)
{
    uint64_t t = p->last_rx_ms + p->peer_timeout / 4;
    return t > p->next_keepalive_ms ? t : p->next_keepalive_ms;
}

void rpmsg_port_proto_reset(struct rpmsg_port *p)
{
    uint32_t lost = 0;
    for (uint16_t s = p->snd_una; s != p->snd_end; s++) {
        struct port_txent *e = txe(p, s);
        p->tx_free[p->tx_nfree++] = e->buf;
        e->buf = NULL;
        lost++;
    }
    for (uint32_t i = 0; i < PORT_WIN_MAX; i++)
        if (p->rxw[i].used) {
            p->rx_free[p->rx_nfree++] = p->rxw[i].buf;
            p->rxw[i].used = false;
        }
    p->stats.lost_on_reset += lost;
    p->snd_una = p->snd_nxt = p->snd_end = p->peer_limit = 0;
    p->stalled = false;
    p->backoff = 0;
    p->ooo = 0;
    p->rcv_next = 0;
    p->adv_limit = rx_limit(p);
    p->ack_owed = false;
    p->xsack_owed = false;
    p->wide = false;
    p->peer_known = false;
    p->connected = false;
    p->connack_owed = false;
    p->next_hello_ms = 0;
    p->hello_backoff = 0;
    p->gen++;
    if (lost)
        p->tx_done_owed = true;
    rpmsg_port_core_signal(p);
    rpmsg_port_kick(p);
}

/* ---- Receiving ----------------------------------------------------------- */

static void rtt_sample(struct rpmsg_port *p, uint32_t rtt)
{
    if (!p->srtt8) {
        p->srtt8 = (rtt << 3) | 1; /* | 1: a zero RTT is still a sample */
        p->rttvar4 = rtt << 1;
    } else {
        int32_t delta = (int32_t)rtt - (int32_t)(p->srtt8 >> 3);
        p->srtt8 = (uint32_t)((int32_t)p->srtt8 + delta) | 1;
        if (delta < 0)
            delta = -delta;
        delta -= (int32_t)(p->rttvar4 >> 2);
        p->rttvar4 = (uint32_t)((int32_t)p->rttvar4 + delta);
    }
    uint32_t rto = (p->srtt8 >> 3) + p->rttvar4 + 1;
    if (rto < p->rto_min)
        rto = p->rto_min;
    if (rto > p->rto_max)
        rto = p->rto_max;
    p->rto = rto;
}

static void take_limit(struct rpmsg_port *p, uint16_t limit)
{
    if (port_seq_diff(limit, p->peer_limit) <= 0 ||
        port_seq_diff(limit, p->snd_una) > (int32_t)local_win(p))
        return;
    p->peer_limit = limit;
    if (p->snd_nxt != p->snd_end) {
        p->stalled = false;
        rpmsg_port_kick(p);
    }
}

/* Bit i of the selective ACK (seq ack + 1 + i): the header's 32, then the extension's. */
static bool sack_bit(const struct port_hdr *h, const uint32_t *xw, unsigned xn, uint32_t i)
{
    if (i < 32)
        return h->sack >> i & 1u;
    i -= 32;
    return i / 32 < xn && (xw[i / 32] >> (i % 32) & 1u);
}

static void take_ack(struct rpmsg_port *p, const struct port_hdr *h, const uint32_t *xw, unsigned xn,
                     uint64_t now)
{
    uint16_t a = h->ack;
    if (port_seq_diff(a, p->snd_una) < 0 || port_seq_diff(a, p->snd_nxt) > 0)
        return; /* older than what we know, or acks what was never sent: ignore */
    uint32_t freed = 0;
    while (p->snd_una != a) {
        struct port_txent *e = txe(p, p->snd_una);
        if (e->sends == 1 && now >= e->first_ms)
            rtt_sample(p, (uint32_t)(now - e->first_ms));
        if (!e->rtx && !e->sacked)
            est_note(p, e, false);
        p->tx_free[p->tx_nfree++] = e->buf;
        e->buf = NULL;
        p->snd_una++;
        freed++;
    }
    if (freed) {
        p->backoff = 0;
        p->tx_done_owed = true;
        rpmsg_port_core_signal(p);
    }
    if (h->sack || xn) {
        bool any = false;
        uint32_t newest = 0;
        for (uint32_t i = 0; i < 32 + 32 * xn; i++) {
            uint16_t s = (uint16_t)(a + 1 + i);
            if (port_seq_diff(s, p->snd_nxt) >= 0)
                break;
            struct port_txent *e = txe(p, s);
            if (sack_bit(h, xw, xn, i) && !e->sacked) {
                e->sacked = true;
                if (!e->rtx)
                    est_note(p, e, false);
            }
            if (e->sacked && (!any || (int32_t)(e->order - newest) > 0)) {
                newest = e->order;
                any = true;
            }
        }
        /* A serial link never reorders: a hole sent before something the peer
         * holds was lost. Resend it now rather than at the timer. */
        bool marked = false;
        for (uint16_t s = p->snd_una, end = sack_end(p); s != end; s++) {
            struct port_txent *e = txe(p, s);
            if (any && !e->sacked && !e->rtx && (int32_t)(e->order - newest) < 0) {
                mark_lost(p, e);
                marked = true;
            }
        }
        if (marked)
            rpmsg_port_kick(p);
    }
    if (p->snd_una == p->snd_nxt && p->snd_nxt == p->snd_end)
        p->backoff = 0;
}

static void take_data(struct rpmsg_port *p, const struct port_hdr *h, const uint8_t *body)
{
    uint32_t off = 0, n = 0;
    while (off < h->len) {
        if (h->len - off < RPMSG_HDR_SIZE) {
            p->stats.truncated++;
            return;
        }
        uint32_t mlen = RPMSG_HDR_SIZE + rpmsg_get16(body + off + 12);
        if (mlen > p->buf_size) {
            p->stats.oversized++;
            return;
        }
        if (mlen > h->len - off) {
            p->stats.truncated++;
            return;
        }
        off += mlen;
        n++;
    }
    if (!n) {
        p->stats.bad_length++;
        return;
    }
    off = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t s = (uint16_t)(h->seq + i);
        uint32_t mlen = RPMSG_HDR_SIZE + rpmsg_get16(body + off + 12);
        int32_t d = port_seq_diff(s, p->rcv_next);
        struct port_rxslot *slot = rxs(p, s);
        if (d < 0 || (d < (int32_t)rx_window(p) && slot->used)) {
            p->stats.duplicates++;
        } else if (d >= (int32_t)rx_window(p) || !p->rx_nfree) {
            p->stats.out_of_window++;
        } else {
            uint8_t *buf = p->rx_free[--p->rx_nfree];
            memcpy(buf, body + off, mlen);
            slot->buf = buf;
            slot->len = mlen;
            slot->used = true;
            p->ooo++;
        }
        off += mlen;
    }
    bool delivered = false;
    for (;;) {
        struct port_rxslot *slot = rxs(p, p->rcv_next);
        if (!slot->used)
            break;
        uint32_t tail = (p->rxq_head + p->rxq_count) % p->nrx;
        p->rxq[tail] = (struct port_rxq){ slot->buf, slot->len, p->gen };
        p->rxq_count++;
        slot->used = false;
        p->ooo--;
        p->rcv_next++;
        p->stats.rx_msgs++;
        delivered = true;
    }
    p->ack_owed = true;
    p->xsack_owed = p->wide;
    rpmsg_port_kick(p);
    if (delivered)
        rpmsg_port_core_signal(p);
}

static void take_hello(struct rpmsg_port *p, const struct port_hdr *h, const uint8_t *body)
{
    if (h->len < PORT_HELLO_SIZE) {
        p->stats.bad_length++;
        return;
    }
    struct port_hello m;
    rpmsg_port_hello_get(&m, body);
    if (m.version != PORT_VERSION) {
        p->stats.unknown_cmd++;
        return;
    }
    if (!m.nonce)
        return;
    if (p->peer_known && m.nonce != p->peer_nonce) {
        /* Someone else speaks now: the peer rebooted. Nothing in flight survives. */
        if (p->connected) {
            p->stats.peer_resets++;
            p->stats.last_end = RPMSG_PORT_END_RESTART;
        }
        rpmsg_port_proto_reset(p);
    }
    if (!p->peer_known) {
        p->peer_known = true;
        p->peer_nonce = m.nonce;
        p->peer_tag = (uint8_t)m.nonce;
        memcpy(p->peer_name, m.cpuname, sizeof(p->peer_name));
        p->peer_features = m.features;
        p->peer_rx_size = m.rx_buf_size;
        p->peer_hflags = m.hflags;
        p->wide = !p->cfg.v1_wire && (m.hflags & PORT_HF_WIDE);
        p->peer_limit = 0;
    }
    if (p->connected)
        p->last_rx_ms = rpmsg_time_ms();
    take_limit(p, h->limit);
    if (h->type == PORT_T_CONNECT)
        p->connack_owed = true;
    if (m.peer_nonce == p->nonce && !p->connected) {
        p->connected = true;
        p->stats.connects++;
        p->hello_backoff = 0;
        p->last_rx_ms = p->last_check_ms = rpmsg_time_ms();
        p->next_keepalive_ms = 0;
        /* The peer may not know yet that we know it: say so once. */
        if (h->type == PORT_T_CONNACK)
            p->connack_owed = true;
        rpmsg_port_core_signal(p);
    }
    if (p->connack_owed)
        rpmsg_port_kick(p);
}

void rpmsg_port_proto_rx(struct rpmsg_port *p, const uint8_t *frame, size_t len)
{
    /* After our BYE: a CONNECT from the peer must not start a session that
     * this end, about to stop, would then leave to time out. */
    if (p->bye_sent)
        return;
    if (len < PORT_OVERHEAD) {
        p->stats.truncated++;
        return;
    }
    if (len > p->frame_cap) {
        p->stats.oversized++;
        return;
    }
    if (rpmsg_port_crc32c(0, frame, len - PORT_CRC_SIZE) != rpmsg_get32(frame + len - PORT_CRC_SIZE)) {
        p->stats.crc_errors++;
        return;
    }
    struct port_hdr h;
    rpmsg_port_hdr_get(&h, frame);
    if (h.type >> 4 != PORT_VERSION) {
        p->stats.unknown_cmd++;
        return;
    }
    h.type &= 0x0F;
    if (h.len != len - PORT_OVERHEAD) {
        p->stats.bad_length++;
        return;
    }
    const uint8_t *body = frame + PORT_HDR_SIZE;
    switch (h.type) {
    case PORT_T_CONNECT:
    case PORT_T_CONNACK:
        p->stats.rx_frames++;
        take_hello(p, &h, body);
        return;
    case PORT_T_DATA:
    case PORT_T_ACK:
        break;
    case PORT_T_BYE:
        /* Only from the peer of this session: an old BYE must not end a new one. */
        if (h.len || !p->connected || h.stag != p->peer_tag || h.rtag != p->tag) {
            p->stats.stale++;
            return;
        }
        p->stats.rx_frames++;
        p->stats.peer_closes++;
        p->stats.last_end = RPMSG_PORT_END_CLOSED;
        p->nonce = fresh_nonce(p);
        p->tag = (uint8_t)p->nonce;
        rpmsg_port_proto_reset(p);
        return;
    default:
        p->stats.unknown_cmd++;
        return;
    }
    uint32_t xw[PORT_XSACK_WORDS_MAX];
    int xn = 0;
    if ((h.flags & PORT_F_XSACK) && !p->cfg.v1_wire) { /* the first format knows no such flag */
        xn = rpmsg_port_xsack_get(xw, body, h.len);
        if (xn < 0) {
            p->stats.bad_length++;
            return;
        }
        h.len = (uint16_t)(h.len - (1u + 4u * (unsigned)xn));
    }
    if (h.type == PORT_T_ACK && h.len) {
        p->stats.bad_length++;
        return;
    }
    p->stats.rx_frames++;
    if (!p->connected || h.stag != p->peer_tag || h.rtag != p->tag) {
        p->stats.stale++;
        return;
    }
    uint64_t now = rpmsg_time_ms();
    p->last_rx_ms = now;
    take_ack(p, &h, xw, (unsigned)xn, now);
    take_limit(p, h.limit);
    if (h.flags & PORT_F_POLL) {
        p->ack_owed = true;
        rpmsg_port_kick(p);
    }
    if (h.type == PORT_T_DATA)
        take_data(p, &h, body);
}

/* ---- Sending ------------------------------------------------------------- */

/*
 * How long a transmission may wait for its answer. A message already resent
 * waits about two round trips, not the backed-off timer: a lost resend of
 * the oldest hole holds up the whole window behind it, and past the
 * selective ACK's reach only a timer can tell it was lost.
 */
static uint64_t expiry(const struct rpmsg_port *p, const struct port_txent *e, uint32_t rto)
{
    if (e->sends > 1 && p->srtt8) {
        uint32_t hole = (p->srtt8 >> 2) + 1;
        hole = hole > p->rto_min ? hole : p->rto_min;
        rto = hole < rto ? hole : rto;
    }
    return e->sent_ms + rto;
}

/* When the first transmission still waiting for an answer expires, or RPMSG_FOREVER. */
static uint64_t first_expiry(struct rpmsg_port *p)
{
    uint64_t t = RPMSG_FOREVER;
    uint32_t rto = rto_now(p);
    for (uint16_t s = p->snd_una, end = sack_end(p); s != end; s++) {
        struct port_txent *e = txe(p, s);
        if (!e->sacked && !e->rtx && expiry(p, e, rto) < t)
            t = expiry(p, e, rto);
    }
    return t;
}

static bool has_rtx(struct rpmsg_port *p)
{
    for (uint16_t s = p->snd_una; s != p->snd_nxt; s++)
        if (txe(p, s)->rtx && !txe(p, s)->sacked)
            return true;
    return false;
}

static void check_timer(struct rpmsg_port *p, uint64_t now)
{
    uint32_t rto = rto_now(p);
    if (now < first_expiry(p))
        return;
    /* One expiry counts as one loss for the error estimate: a stall of the
     * peer or of this machine expires a whole window at once. Only what the
     * selective ACK covers is resent; the next ACK tells about the rest. */
    bool first = true;
    for (uint16_t s = p->snd_una, end = sack_end(p); s != end; s++) {
        struct port_txent *e = txe(p, s);
        if (!e->sacked && !e->rtx && expiry(p, e, rto) <= now) {
            if (!first)
                e->fbytes = 0;
            mark_lost(p, e);
            first = false;
        }
    }
    p->stats.timeouts++;
    if (p->backoff < BACKOFF_MAX)
        p->backoff++;
}

static bool can_send_new(const struct rpmsg_port *p)
{
    return p->snd_nxt != p->snd_end && port_seq_diff(p->snd_nxt, p->peer_limit) < 0;
}

/* Data queued and no credit for it: the start of a stall is counted once. */
static void note_stall(struct rpmsg_port *p, uint64_t now)
{
    if (p->stalled || p->snd_nxt == p->snd_end || can_send_new(p))
        return;
    p->stalled = true;
    p->stats.credit_stalls++;
    p->next_probe_ms = now + rto_now(p);
}

void rpmsg_port_proto_rx_drained(struct rpmsg_port *p, uint64_t at_ms, uint64_t now)
{
    p->rx_gated = true;
    if (at_ms > p->rx_drained_ms)
        p->rx_drained_ms = at_ms;
    check_peer(p, now);
}

bool rpmsg_port_proto_session_over(struct rpmsg_port *p, uint32_t gen, uint64_t now)
{
    check_peer(p, now);
    return p->gen != gen;
}

bool rpmsg_port_proto_pending(struct rpmsg_port *p, uint64_t now)
{
    check_peer(p, now);
    if (p->bye_sent)
        return false;
    if (p->connack_owed || (p->bye_owed && p->connected))
        return true;
    if (!p->connected)
        return now >= p->next_hello_ms;
    if (p->ack_owed || can_send_new(p) || has_rtx(p) || now >= keepalive_at(p))
        return true;
    note_stall(p, now);
    if (p->stalled && now >= p->next_probe_ms)
        return true;
    return now >= first_expiry(p);
}

uint64_t rpmsg_port_proto_deadline(struct rpmsg_port *p, uint64_t now)
{
    (void)now;
    if (!p->connected)
        return p->next_hello_ms;
    uint64_t t = first_expiry(p);
    if (p->snd_nxt != p->snd_end && !can_send_new(p) && p->next_probe_ms < t)
        t = p->next_probe_ms;
    uint64_t ka = keepalive_at(p);
    return ka < t ? ka : t;
}

static size_t put_hello(struct rpmsg_port *p, uint8_t *body)
{
    struct port_hello m = {
        .version = PORT_VERSION,
        .nonce = p->nonce,
        .peer_nonce = p->peer_known ? p->peer_nonce : 0,
        .features = p->features,
        .rx_buf_size = p->buf_size,
        .rx_bufs = (uint16_t)p->nrx,
        .hflags = (uint16_t)((p->cfg.link == RPMSG_PORT_UART ? 0 : PORT_HF_MULTI) |
                             (p->cfg.v1_wire ? 0 : PORT_HF_WIDE | PORT_HF_BYE)),
    };
    memcpy(m.cpuname, p->cpuname, sizeof(m.cpuname));
    rpmsg_port_hello_put(body, &m);
    return PORT_HELLO_SIZE;
}

/* Copies a run of messages starting at seq into body; returns bytes used.
 * Stops before soft bytes, except for a first message, never past hard. */
static size_t pack(struct rpmsg_port *p, uint8_t *body, uint16_t seq, bool resend,
                   uint64_t now, size_t soft, size_t hard, uint16_t *count)
{
    size_t used = 0;
    uint16_t n = 0;
    for (uint16_t s = seq;; s++) {
        struct port_txent *e = txe(p, s);
        if (resend) {
            if (s == p->snd_nxt || !e->rtx || e->sacked)
                break;
        } else if (s == p->snd_end || port_seq_diff(s, p->peer_limit) >= 0) {
            break;
        }
        if (used + e->len > hard || (n && used + e->len > soft))
            break;
        memcpy(body + used, e->buf, e->len);
        used += e->len;
        e->sent_ms = now;
        e->order = ++p->tx_order;
        if (resend) {
            e->rtx = false;
            p->stats.retransmits++;
        } else {
            e->first_ms = now;
            e->sacked = false;
            e->rtx = false;
            p->stats.tx_msgs++;
        }
        e->sends++;
        n++;
    }
    uint32_t fbytes = PORT_OVERHEAD + (uint32_t)used + p->link_ovh;
    for (uint16_t i = 0; i < n; i++)
        txe(p, (uint16_t)(seq + i))->fbytes = (uint16_t)(fbytes < UINT16_MAX ? fbytes : UINT16_MAX);
    *count = n;
    return used;
}

/* Resends what is marked lost, else sends what is new; returns the count. */
static uint16_t pack_data(struct rpmsg_port *p, struct port_hdr *h, uint8_t *body, uint64_t now,
                          size_t soft, size_t hard, size_t *blen)
{
    uint16_t count = 0;
    for (uint16_t s = p->snd_una; s != p->snd_nxt; s++) {
        struct port_txent *e = txe(p, s);
        if (e->rtx && !e->sacked) {
            h->seq = s;
            *blen = pack(p, body, s, true, now, soft, hard, &count);
            return count;
        }
    }
    if (can_send_new(p)) {
        h->seq = p->snd_nxt;
        *blen = pack(p, body, p->snd_nxt, false, now, soft, hard, &count);
        p->snd_nxt = (uint16_t)(p->snd_nxt + count);
        p->stalled = false;
    }
    return count;
}

/* Header fields every frame carries: tags, ack, credit, sack; and the SACK
 * extension when there is news for it and the body (at most cap) has room. */
static size_t seal_frame(struct rpmsg_port *p, uint8_t *out, struct port_hdr *h, size_t blen,
                         size_t cap)
{
    if (p->xsack_owed && (h->type == PORT_T_DATA || h->type == PORT_T_ACK)) {
        uint32_t words[PORT_XSACK_WORDS_MAX];
        unsigned n = rx_xsack(p, words);
        if (!n) {
            p->xsack_owed = false;
        } else if (blen + 1u + 4u * n <= cap) {
            blen += rpmsg_port_xsack_put(out + PORT_HDR_SIZE + blen, words, n);
            h->flags |= PORT_F_XSACK;
            p->xsack_owed = false;
        }
    }
    h->stag = p->tag;
    h->rtag = p->peer_known ? p->peer_tag : 0;
    h->ack = p->rcv_next;
    h->limit = rx_limit(p);
    h->sack = rx_sack(p);
    h->len = (uint16_t)blen;
    p->adv_limit = h->limit;
    p->ack_owed = false;
    rpmsg_port_hdr_put(out, h);
    p->stats.tx_frames++;
    return rpmsg_port_seal(out, blen);
}

size_t rpmsg_port_proto_build(struct rpmsg_port *p, uint8_t *out, uint64_t now, bool force)
{
    struct port_hdr h = { 0 };
    uint8_t *body = out + PORT_HDR_SIZE;
    size_t blen = 0;

    check_peer(p, now);
    if (p->bye_sent)
        return 0; /* said goodbye: nothing more goes out */
    if (p->bye_owed && p->connected) {
        h.type = PORT_T_BYE;
        p->bye_owed = false;
        p->bye_sent = true;
        return seal_frame(p, out, &h, 0, p->body_max);
    }
    if (p->connack_owed || !p->connected) {
        if (p->connack_owed) {
            h.type = PORT_T_CONNACK;
        } else if (now >= p->next_hello_ms || force) {
            h.type = PORT_T_CONNECT;
            p->next_hello_ms = now + hello_interval(p);
            if (p->hello_backoff < 5)
                p->hello_backoff++;
        } else {
            return 0;
        }
        p->connack_owed = false;
        blen = put_hello(p, body);
    } else {
        check_timer(p, now);
        uint16_t count = pack_data(p, &h, body, now, p->body_now, p->body_max, &blen);
        if (!count)
            note_stall(p, now);
        if (count) {
            h.type = PORT_T_DATA;
        } else if (p->stalled && now >= p->next_probe_ms) {
            /* Our last credit update from the peer may have been lost: ask. */
            h.type = PORT_T_ACK;
            h.flags = PORT_F_POLL;
            p->next_probe_ms = now + rto_now(p);
            p->stats.credit_probes++;
        } else if (now >= keepalive_at(p)) {
            /* Quiet for a while: is the peer still there? */
            h.type = PORT_T_ACK;
            h.flags = PORT_F_POLL;
            p->next_keepalive_ms = now + p->peer_timeout / 8;
            p->stats.keepalives++;
        } else if (p->ack_owed || force) {
            h.type = PORT_T_ACK;
        } else {
            return 0;
        }
    }
    return seal_frame(p, out, &h, blen, p->body_max);
}

size_t rpmsg_port_proto_build_more(struct rpmsg_port *p, uint8_t *out, uint64_t now, size_t room)
{
    if (!(p->peer_hflags & PORT_HF_MULTI) || !p->connected || p->connack_owed || p->bye_sent ||
        room < PORT_OVERHEAD + RPMSG_HDR_SIZE)
        return 0;
    room -= PORT_OVERHEAD;
    struct port_hdr h = { .type = PORT_T_DATA };
    size_t blen = 0;
    size_t soft = room < p->body_now ? room : p->body_now;
    if (!pack_data(p, &h, out + PORT_HDR_SIZE, now, soft, room, &blen))
        return 0;
    return seal_frame(p, out, &h, blen, room);
}
