/*
 * The port transport (UART link) against a peer that the fuzzer steers.
 *
 * The harness is the peer: it builds every frame itself (valid header, tags,
 * sequence numbers, acks, credits, CRC, COBS), answers the handshake and
 * keeps a model of the session, so that inputs reach a connected link and
 * its deep states (holes, retransmissions, credit stalls, reboots) instead
 * of dying at the CRC check. The input is a program of operations; each
 * takes an opcode byte and the bytes it needs (see enum op). The fuzzer
 * chooses what is sent, what is corrupted, lost or repeated, and when time
 * passes.
 *
 * The port runs without link threads (rpmsg_port_init_unlinked) and without
 * an RX thread: bytes go in through the UART deframer (or, after OP_SPI, as
 * SPI transfers through the SPI link's receive step), frames come out of
 * rpmsg_port_proto_build() at a clock the harness advances, the core runs
 * through rpmsg_poll(). One thread, no sleeps, deterministic apart from the
 * port's nonce.
 *
 * Checked besides ASan/UBSan: every frame the port sends is well formed
 * (CRC, length, messages inside the body); it never acknowledges a message
 * that was not sent; the application receives the peer's messages in
 * sequence order (each carries its sequence number), exactly once.
 * The last two hold only for frames the model knows: the raw-frame and
 * corrupt-before-CRC operations switch them off for the rest of the input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "transport/port/port_internal.h"

#define BODY_MAX 1024u
#define FRAME_MAX (PORT_OVERHEAD + BODY_MAX)
#define PEER_SRC 0x5EEu  /* source address of the peer's modelled messages */
#define APP_ADDR 0x400u
#define HIST 8u

enum op {
    OP_HELLO,      /* u8 how, [u32 nonce], u8 size choice, u8 bufs, u8 features, u8 n + name */
    OP_DATA,       /* u8 how, [s8 seq shift], [s8 ack shift], [u8 limit], per message u8 kind ... */
    OP_ACK,        /* u8 how, [s8 ack shift], [u32 sack], [u8 limit], [u8 n, n x u32 SACK extension] */
    OP_RAW,        /* u8 how, 16 header bytes, u8 n + body: sealed, fields as given */
    OP_GARBAGE,    /* u8 n + bytes onto the line as they are */
    OP_CORRUPT,    /* u8 how, u16 where: applies to the next frame the peer sends */
    OP_TICK,       /* u8 how long: time passes, the port's timers run */
    OP_APP,        /* u8 what the application does */
    OP_LOSE,       /* u8: the next 1..4 frames of the port are lost */
    OP_REPEAT,     /* u8: one of the last data frames sent again, as it was */
    OP_REBOOT,     /* the peer restarts: new nonce, new session */
    OP_SPI,        /* from now on frames travel as SPI transfers (padded, fixed size) */
    OP_COUNT
};

/* The peer's view of the session. */
static struct peer {
    struct rpmsg_port *p;
    struct rpmsg_device *dev;
    struct port_uart_rx rx;
    uint64_t now;
    uint32_t nonce, reboots;
    uint32_t port_nonce;
    bool port_known, auto_answer, answer_owed, modelled, spi;
    uint16_t snd_next, snd_max; /* our next new seq; highest sent + 1 */
    uint16_t rcv_next;          /* next seq expected from the port */
    uint16_t session;           /* bumped at each reboot; in each payload */
    /* Corruption waiting for the next frame. */
    uint8_t corrupt;
    uint16_t corrupt_at;
    unsigned lose;
    /* Recent data frames (header + body, unsealed), for OP_REPEAT. */
    uint8_t hist[HIST][FRAME_MAX];
    size_t hist_len[HIST];
    unsigned hist_next;
    /* Application. */
    struct rpmsg_endpoint app, named;
    bool named_live, holding;
    void *held[RPMSG_HOLD_MAX];
    unsigned nheld;
    bool last_valid;
    uint16_t last_seq, last_session;
} pr;

static uint8_t rx_acc[FRAME_MAX * 2];

/* ---- What the port says ---------------------------------------------------- */

static void port_frame(const uint8_t *f, size_t n)
{
    struct port_hdr h;
    if (n < PORT_OVERHEAD || rpmsg_port_crc32c(0, f, n - PORT_CRC_SIZE) != rpmsg_get32(f + n - PORT_CRC_SIZE))
        abort(); /* the port sent a broken frame */
    rpmsg_port_hdr_get(&h, f);
    if (h.type >> 4 != PORT_VERSION || h.len != n - PORT_OVERHEAD)
        abort();
    uint8_t type = h.type & 0x0F;
    const uint8_t *body = f + PORT_HDR_SIZE;
    if (type == PORT_T_CONNECT || type == PORT_T_CONNACK) {
        struct port_hello m;
        if (h.len < PORT_HELLO_SIZE)
            abort();
        rpmsg_port_hello_get(&m, body);
        if (pr.port_known && m.nonce != pr.port_nonce) {
            /* The port ended its session (its peer timeout, say) and
             * starts afresh: so does the numbering of what we send it. */
            pr.snd_next = pr.snd_max = pr.rcv_next = 0;
            pr.session++;
            memset(pr.hist_len, 0, sizeof(pr.hist_len));
        }
        pr.port_nonce = m.nonce;
        pr.port_known = true;
        if (type == PORT_T_CONNECT && pr.auto_answer)
            pr.answer_owed = true;
        return;
    }
    if (type != PORT_T_DATA && type != PORT_T_ACK)
        abort();
    bool ours = h.rtag == (uint8_t)pr.nonce && h.stag == (uint8_t)pr.port_nonce;
    if (ours && pr.modelled && port_seq_diff(h.ack, pr.snd_max) > 0)
        abort(); /* acknowledges what we never sent */
    if (h.flags & PORT_F_XSACK) {
        /* We offered the wide format: a SACK extension ends the body. */
        uint32_t words[PORT_XSACK_WORDS_MAX];
        int xn = rpmsg_port_xsack_get(words, body, h.len);
        if (xn < 0)
            abort();
        h.len = (uint16_t)(h.len - (1u + 4u * (unsigned)xn));
    }
    if (type != PORT_T_DATA)
        return;
    uint32_t off = 0, count = 0;
    while (off < h.len) {
        if (h.len - off < RPMSG_HDR_SIZE)
            abort();
        off += RPMSG_HDR_SIZE + rpmsg_get16(body + off + 12);
        if (off > h.len)
            abort();
        count++;
    }
    if (!count)
        abort();
    int32_t d = port_seq_diff(pr.rcv_next, h.seq);
    if (ours && d >= 0 && d < (int32_t)count)
        pr.rcv_next = (uint16_t)(h.seq + count);
}

/* The port's frames due at the current time, to the peer (or lost). */
static void pump(void)
{
    /* The buffer the port's TX thread builds into, sized as the port sized it. */
    uint8_t *out = pr.p->frame_tx;
    rpmsg_poll(pr.dev);
    for (int i = 0; i < 32; i++) {
        rpmsg_mutex_lock(&pr.p->lock);
        size_t n = rpmsg_port_proto_build(pr.p, out, pr.now, false);
        rpmsg_mutex_unlock(&pr.p->lock);
        if (!n)
            break;
        if (pr.lose) {
            pr.lose--;
            continue;
        }
        port_frame(out, n);
    }
}

/* ---- What the peer says ---------------------------------------------------- */

/* Bytes as they arrive: a UART byte stream, or one SPI transfer (padded to
 * the transfer size, cut to it) per call. */
static void line_in(const uint8_t *b, size_t n)
{
    if (pr.spi) {
        static uint8_t xfer[PORT_OVERHEAD + PORT_BODY_MAX];
        size_t size = pr.p->frame_cap;
        memset(xfer, 0, size);
        memcpy(xfer, b, n < size ? n : size);
        rpmsg_port_spi_rx_transfer(pr.p, xfer, size);
    } else {
        rpmsg_mutex_lock(&pr.p->lock);
        rpmsg_port_uart_rx_bytes(pr.p, &pr.rx, b, n);
        rpmsg_mutex_unlock(&pr.p->lock);
        rpmsg_port_after_rx(pr.p);
    }
    pump();
}

/* A sealed frame onto the line, framed for the link, with the damage
 * (corruption modes 3 and 4) that happens there. */
static void transmit(const uint8_t *f, size_t flen, uint8_t how)
{
    uint8_t enc[FRAME_MAX * 2 + 1];
    size_t e;
    if (pr.spi) {
        /* 3: the tail lost; 4: a byte dropped, the rest shifted. */
        memcpy(enc, f, flen);
        e = flen;
        if (how == 3 && pr.corrupt_at < e)
            memset(enc + pr.corrupt_at, 0, e - pr.corrupt_at);
        if (how == 4 && e) {
            size_t at = pr.corrupt_at % e;
            memmove(enc + at, enc + at + 1, e - at - 1);
            enc[e - 1] = 0xFF;
        }
    } else {
        e = rpmsg_port_cobs_encode(f, flen, enc);
        if (how == 3 && pr.corrupt_at < e)
            e = pr.corrupt_at; /* cut short, and the delimiter follows */
        if (how != 4)
            enc[e++] = 0; /* 4: no delimiter, the next frame runs into this one */
    }
    line_in(enc, e);
}

/* The one place a peer frame is built: header from h (len set here), body,
 * CRC, and whatever corruption is pending. */
static void peer_send(struct port_hdr *h, const uint8_t *body, size_t blen)
{
    uint8_t f[FRAME_MAX + PORT_CRC_SIZE];
    if (blen > BODY_MAX)
        blen = BODY_MAX;
    h->len = (uint16_t)blen;
    rpmsg_port_hdr_put(f, h);
    if (blen)
        memcpy(f + PORT_HDR_SIZE, body, blen);
    size_t flen = PORT_HDR_SIZE + blen;
    uint8_t how = pr.corrupt;
    pr.corrupt = 0;
    if (how == 2) {
        f[pr.corrupt_at / 8 % flen] ^= (uint8_t)(1u << pr.corrupt_at % 8);
        pr.modelled = false; /* a valid CRC over a changed field */
    }
    flen = rpmsg_port_seal(f, blen);
    if (how == 1)
        f[pr.corrupt_at / 8 % flen] ^= (uint8_t)(1u << pr.corrupt_at % 8);
    transmit(f, flen, how);
}

static void hdr_init(struct port_hdr *h, uint8_t type)
{
    *h = (struct port_hdr){
        .type = (uint8_t)(PORT_VERSION << 4 | type),
        .stag = (uint8_t)pr.nonce,
        .rtag = pr.port_known ? (uint8_t)pr.port_nonce : 0,
        .ack = pr.rcv_next,
        .limit = (uint16_t)(pr.rcv_next + 16),
    };
}

static void send_hello(uint8_t type, uint32_t peer_nonce, uint32_t rx_size, uint16_t bufs,
                       uint32_t features, const uint8_t *name, size_t nlen)
{
    struct port_hdr h;
    uint8_t body[PORT_HELLO_SIZE];
    struct port_hello m = {
        .version = PORT_VERSION,
        .nonce = pr.nonce,
        .peer_nonce = peer_nonce,
        .features = features,
        .rx_buf_size = rx_size,
        .rx_bufs = bufs,
        .hflags = PORT_HF_WIDE, /* the port under test reads SACK extensions */
    };
    memcpy(m.cpuname, name, nlen < sizeof(m.cpuname) ? nlen : sizeof(m.cpuname));
    rpmsg_port_hello_put(body, &m);
    hdr_init(&h, type);
    peer_send(&h, body, sizeof(body));
}

static void answer(void)
{
    static const uint8_t name[] = "peer";
    pr.answer_owed = false;
    send_hello(PORT_T_CONNACK, pr.port_nonce, 512, 16, RPMSG_F_NS | RPMSG_F_ACK, name, sizeof(name));
}

static void op_hello(struct fin *f)
{
    static const uint32_t sizes[8] = { 512, 16, 17, 64, 0, 8192, 65535, 0xFFFFFFFFu };
    uint8_t how = fin_u8(f);
    uint32_t pn = pr.port_known ? pr.port_nonce : 0;
    if ((how & 6) == 4)
        pn = 0;
    else if ((how & 6) == 6)
        pn = fin_u32(f);
    uint32_t size = sizes[fin_u8(f) % 8];
    uint16_t bufs = fin_u8(f);
    uint32_t features = fin_u8(f);
    const uint8_t *name;
    size_t nlen = fin_bytes(f, &name, fin_u8(f) % (RPMSG_CPUNAME_SIZE + 1));
    send_hello(how & 1 ? PORT_T_CONNACK : PORT_T_CONNECT, pn, size, bufs, features, name, nlen);
}

/* Appends one message to body (at *off); returns false when full. */
static bool add_msg(struct fin *f, uint8_t *body, size_t *off, uint16_t seq)
{
    uint8_t kind = fin_u8(f);
    uint8_t *m = body + *off;
    uint32_t src = PEER_SRC, dst = APP_ADDR;
    size_t plen;
    const uint8_t *b;
    if (*off + RPMSG_HDR_SIZE + 64 > BODY_MAX)
        return false;
    uint8_t *pl = m + RPMSG_HDR_SIZE;
    switch (kind & 3) {
    case 0: /* to the application, numbered */
        rpmsg_put16(pl, seq);
        rpmsg_put16(pl + 2, pr.session);
        plen = 4 + fin_bytes(f, &b, kind >> 2 & 15);
        memcpy(pl + 4, b, plen - 4);
        break;
    case 1: { /* name service */
        src = 0x500u + (kind >> 4);
        dst = RPMSG_NS_ADDR;
        memset(pl, 0, 40);
        size_t n = fin_bytes(f, &b, (kind >> 2 & 3) ? 8 : 32);
        memcpy(pl, b, n);
        rpmsg_put32(pl + 32, src);
        rpmsg_put32(pl + 36, kind >> 6 & 1 ? RPMSG_NS_DESTROY : RPMSG_NS_CREATE);
        plen = kind & 0x80 ? 40 : (size_t)(fin_u8(f) % 48);
        break;
    }
    case 2: /* anywhere, from anyone (but the numbered source) */
        src = fin_u16(f);
        if (src == PEER_SRC)
            src++;
        dst = (uint32_t)fin_u16(f) | (kind & 0x80 ? 0xFFFF0000u : 0);
        plen = fin_bytes(f, &b, kind >> 2 & 31);
        memcpy(pl, b, plen);
        break;
    default: /* a message whose length runs past the frame */
        plen = fin_bytes(f, &b, kind >> 2 & 15);
        memcpy(pl, b, plen);
        rpmsg_put32(m, src);
        rpmsg_put32(m + 4, dst);
        rpmsg_put32(m + 8, 0);
        rpmsg_put16(m + 12, (uint16_t)(plen + 1 + fin_u8(f)));
        rpmsg_put16(m + 14, 0);
        *off += RPMSG_HDR_SIZE + plen;
        return false;
    }
    rpmsg_put32(m, src);
    rpmsg_put32(m + 4, dst);
    rpmsg_put32(m + 8, 0);
    rpmsg_put16(m + 12, (uint16_t)plen);
    rpmsg_put16(m + 14, 0);
    *off += RPMSG_HDR_SIZE + plen;
    return true;
}

static void op_data(struct fin *f)
{
    uint8_t how = fin_u8(f);
    struct port_hdr h;
    hdr_init(&h, PORT_T_DATA);
    int shift = how & 0x08 ? (int8_t)fin_u8(f) : 0;
    h.seq = (uint16_t)(pr.snd_next + shift);
    if (how & 0x10)
        h.ack = (uint16_t)(h.ack + (int8_t)fin_u8(f));
    if (how & 0x20)
        h.limit = (uint16_t)(pr.rcv_next + fin_u8(f));
    if (how & 0x40)
        h.flags = PORT_F_POLL;
    uint8_t body[BODY_MAX];
    size_t off = 0;
    uint16_t n = 0;
    for (unsigned i = 0; i <= (how & 7u); i++) {
        bool more = add_msg(f, body, &off, (uint16_t)(h.seq + n));
        n++;
        if (!more)
            break;
    }
    uint16_t end = (uint16_t)(h.seq + n);
    if (port_seq_diff(end, pr.snd_max) > 0)
        pr.snd_max = end;
    if (!shift)
        pr.snd_next = end;
    /* Kept as it was for OP_REPEAT. */
    rpmsg_port_hdr_put(pr.hist[pr.hist_next], &h);
    memcpy(pr.hist[pr.hist_next] + PORT_HDR_SIZE, body, off);
    pr.hist_len[pr.hist_next] = off;
    pr.hist_next = (pr.hist_next + 1) % HIST;
    peer_send(&h, body, off);
}

static void op_ack(struct fin *f)
{
    uint8_t how = fin_u8(f);
    struct port_hdr h;
    hdr_init(&h, PORT_T_ACK);
    if (how & 1)
        h.ack = (uint16_t)(h.ack + (int8_t)fin_u8(f));
    if (how & 2)
        h.sack = fin_u32(f);
    if (how & 4)
        h.limit = (uint16_t)(pr.rcv_next + fin_u8(f));
    if (how & 8)
        h.flags = PORT_F_POLL;
    uint8_t ext[PORT_XSACK_MAX];
    size_t elen = 0;
    if (how & 16) {
        /* A SACK extension: 1..15 words as given. */
        uint32_t words[PORT_XSACK_WORDS_MAX];
        unsigned n = 1 + fin_u8(f) % PORT_XSACK_WORDS_MAX;
        for (unsigned w = 0; w < n; w++)
            words[w] = fin_u32(f);
        elen = rpmsg_port_xsack_put(ext, words, n);
        h.flags |= PORT_F_XSACK;
    }
    peer_send(&h, elen ? ext : NULL, elen);
}

static void op_raw(struct fin *f)
{
    uint8_t how = fin_u8(f);
    const uint8_t *b;
    uint8_t hb[PORT_HDR_SIZE] = { 0 }, body[BODY_MAX];
    size_t hn = fin_bytes(f, &b, PORT_HDR_SIZE);
    memcpy(hb, b, hn);
    size_t n = fin_bytes(f, &b, fin_u8(f) * (how & 0x80 ? 4u : 1u));
    memcpy(body, b, n);
    struct port_hdr h;
    rpmsg_port_hdr_get(&h, hb);
    if (how & 1)
        h.type = (uint8_t)(PORT_VERSION << 4 | (h.type & 0x0F));
    if (how & 2) {
        h.stag = (uint8_t)pr.nonce;
        h.rtag = (uint8_t)pr.port_nonce;
    }
    pr.modelled = false;
    uint16_t len = h.len;
    peer_send(&h, body, n);
    if (!(how & 4) && len != n) {
        /* The header's own length, sealed as it is (bad_length). */
        uint8_t fr[FRAME_MAX + PORT_CRC_SIZE];
        h.len = len;
        rpmsg_port_hdr_put(fr, &h);
        memcpy(fr + PORT_HDR_SIZE, body, n);
        transmit(fr, rpmsg_port_seal(fr, n), 0);
    }
}

static int app_cb(struct rpmsg_endpoint *e, void *d, size_t l, uint32_t s, void *p)
{
    (void)p;
    if (s == PEER_SRC && l >= 4 && pr.modelled) {
        uint16_t seq = rpmsg_get16(d), session = rpmsg_get16((uint8_t *)d + 2);
        if (pr.last_valid && session == pr.last_session && port_seq_diff(seq, pr.last_seq) <= 0)
            abort(); /* delivered twice or out of order */
        pr.last_valid = true;
        pr.last_seq = seq;
        pr.last_session = session;
    }
    if (e == &pr.app && pr.holding && pr.nheld < RPMSG_HOLD_MAX && !rpmsg_hold_rx_buffer(e, d))
        pr.held[pr.nheld++] = d;
    return 0;
}

static void release_held(void)
{
    while (pr.nheld)
        rpmsg_release_rx_buffer(&pr.app, pr.held[--pr.nheld]);
}

static void op_app(struct fin *f)
{
    uint8_t what = fin_u8(f);
    switch (what & 3) {
    case 0: {
        static const uint8_t payload[600];
        rpmsg_trysendto(&pr.app, payload, (size_t)(what >> 2) * 9, 0x500u + (what >> 6));
        break;
    }
    case 1:
        if (pr.named_live)
            rpmsg_destroy_ept(&pr.named);
        else
            rpmsg_create_ept(&pr.named, pr.dev, "fuzz-svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                             app_cb, NULL);
        pr.named_live = !pr.named_live;
        break;
    case 2:
        pr.holding = true;
        break;
    default:
        pr.holding = false;
        release_held();
        break;
    }
    pump();
}

static void reboot(void)
{
    pr.reboots++;
    /* A low byte (the tag) of its own per session, never 0. */
    pr.nonce = 0x5EED0000u | (pr.reboots & 0xFF) << 8 | (1 + pr.reboots % 255);
    pr.snd_next = pr.snd_max = pr.rcv_next = 0;
    pr.session++;
    memset(pr.hist_len, 0, sizeof(pr.hist_len));
}

/* Never called: the harness moves the bytes; the port insists on a line. */
static int no_write(void *ctx, const void *buf, size_t len, uint64_t deadline)
{
    (void)ctx, (void)buf, (void)deadline;
    return (int)len;
}

static int no_read(void *ctx, void *buf, size_t len, uint64_t deadline)
{
    (void)ctx, (void)buf, (void)len, (void)deadline;
    return 0;
}

static const struct rpmsg_port_uart_ops no_line = { .write = no_write, .read = no_read };

static void run(struct fin *f)
{
    static const uint32_t ticks[8] = { 1, 3, 10, 40, 120, 300, 1000, 4000 };
    while (f->n) {
        uint8_t op = fin_u8(f) % OP_COUNT;
        switch (op) {
        case OP_HELLO:
            op_hello(f);
            break;
        case OP_DATA:
            op_data(f);
            break;
        case OP_ACK:
            op_ack(f);
            break;
        case OP_RAW:
            op_raw(f);
            break;
        case OP_GARBAGE: {
            const uint8_t *b;
            size_t n = fin_bytes(f, &b, fin_u8(f));
            line_in(b, n);
            break;
        }
        case OP_CORRUPT:
            pr.corrupt = 1 + fin_u8(f) % 4;
            pr.corrupt_at = fin_u16(f);
            break;
        case OP_TICK:
            pr.now += ticks[fin_u8(f) % 8];
            pump();
            break;
        case OP_APP:
            op_app(f);
            break;
        case OP_LOSE:
            pr.lose = 1 + fin_u8(f) % 4;
            break;
        case OP_REPEAT: {
            unsigned i = fin_u8(f) % HIST;
            if (pr.hist[i][0]) {
                struct port_hdr h;
                rpmsg_port_hdr_get(&h, pr.hist[i]);
                peer_send(&h, pr.hist[i] + PORT_HDR_SIZE, pr.hist_len[i]);
            }
            break;
        }
        case OP_SPI:
            pr.spi = !pr.spi;
            break;
        default:
            if (pr.reboots < 200) {
                reboot();
                static const uint8_t name[] = "peer";
                send_hello(PORT_T_CONNECT, 0, 512, 16, RPMSG_F_NS | RPMSG_F_ACK, name, sizeof(name));
            }
            break;
        }
        if (pr.answer_owed)
            answer();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin f = { data, size };
    /* First byte: the port's configuration, and whether the peer answers
     * the handshake by itself. */
    uint8_t cfgb = fin_u8(&f);
    static const uint32_t nbufs[4] = { 16, 4, 2, 1 };
    static const uint32_t bsize[4] = { 512, 128, 64, 17 };
    /* A port's device is large (160 KB): allocating and zeroing one per
     * input would cost more than the input. Ports are kept, one per
     * configuration, and each input starts a fresh session on its own, as
     * when a peer reboots. */
    static struct rpmsg_port *ports[128];
    unsigned key = (cfgb & 0x3Fu) | (cfgb & 0x80u) >> 1;
    memset(&pr, 0, sizeof(pr));
    pr.modelled = true;
    pr.auto_answer = !(cfgb & 0x40);
    /* Each input's clock starts at the real one (the port stamps received
     * frames with it) and runs ahead by the input's ticks only; the reset
     * below leaves no timer of the last input behind. */
    pr.now = rpmsg_time_ms();
    reboot();
    if (!ports[key]) {
        struct rpmsg_port_config c = {
            .local_cpuname = "fuzz",
            .num_tx_bufs = nbufs[cfgb >> 2 & 3],
            .num_rx_bufs = nbufs[cfgb & 3],
            .buf_size = bsize[cfgb >> 4 & 3],
            .frame_body = cfgb & 0x80 ? bsize[cfgb >> 4 & 3] : 0,
            .no_rx_thread = true,
            .link = RPMSG_PORT_UART,
            .uart = &no_line,
        };
        if (rpmsg_port_init_unlinked(&ports[key], &c))
            return 0; /* refused: a frame too small for the handshake */
        /* Nothing moves frames while a send waits (name announcements block). */
        rpmsg_set_send_timeout(rpmsg_port_device(ports[key]), 0);
    }
    pr.p = ports[key];
    pr.dev = rpmsg_port_device(pr.p);
    rpmsg_mutex_lock(&pr.p->lock);
    rpmsg_port_proto_reset(pr.p);
    pr.p->srtt8 = pr.p->rttvar4 = 0;
    pr.p->rto = pr.p->rto_min;
    rpmsg_mutex_unlock(&pr.p->lock);
    rpmsg_poll(pr.dev); /* the core sees the last input's session end */
    pr.rx = (struct port_uart_rx){ .acc = rx_acc, .cap = port_cobs_max(pr.p->frame_cap) };
    if (pr.rx.cap > sizeof(rx_acc))
        abort();
    if (rpmsg_create_ept(&pr.app, pr.dev, NULL, APP_ADDR, RPMSG_ADDR_ANY, app_cb, NULL))
        abort();
    pump();
    if (pr.answer_owed)
        answer();
    run(&f);

#ifdef FUZZ_TRACE
    /* What the input reached, for writing seeds: cc -DFUZZ_TRACE ... */
    struct rpmsg_port_stats st;
    rpmsg_port_get_stats(pr.dev, &st);
    fprintf(stderr, "connects %lu rx_msgs %lu tx_msgs %lu rtx %lu crc %lu dup %lu ooo %lu stale %lu "
            "stalls %lu probes %lu timeouts %lu resets %lu up %d\n",
            (unsigned long)st.connects, (unsigned long)st.rx_msgs, (unsigned long)st.tx_msgs,
            (unsigned long)st.retransmits, (unsigned long)st.crc_errors,
            (unsigned long)st.duplicates, (unsigned long)st.out_of_window, (unsigned long)st.stale,
            (unsigned long)st.credit_stalls, (unsigned long)st.credit_probes,
            (unsigned long)st.timeouts, (unsigned long)st.peer_resets, rpmsg_device_is_up(pr.dev));
#endif
    release_held();
    if (pr.named_live)
        rpmsg_destroy_ept(&pr.named);
    rpmsg_destroy_ept(&pr.app);
    rpmsg_poll(pr.dev);
    return 0;
}
