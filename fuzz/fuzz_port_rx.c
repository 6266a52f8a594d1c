/*
 * The port transport (UART link) against a peer that sends anything. Each
 * input runs a fresh port whose line is this harness. What the port writes
 * is decoded for its nonce, so that the harness can answer its CONNECT as a
 * real peer would and most inputs speak to a connected link. What the port
 * reads is that CONNECT, then the input as records [u8 kind][u8 n][n bytes]:
 *
 *   kind % 4 == 0  the bytes as they are, onto the line (framing garbage)
 *              1   the bytes as header + body, sealed with a valid CRC
 *              2   the same, with version, length and session tags made
 *                  right, so that it reaches the protocol (type from the
 *                  bytes: CONNECT, CONNACK, DATA, ACK or unknown)
 *              3   a DATA frame whose body is the bytes (rpmsg messages as
 *                  the port will parse them), the next sequence number plus
 *                  kind / 4, and tags right
 *
 * Afterwards the port must shut down cleanly; ASan and UBSan watch the rest.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpmsg/rpmsg_port.h"
#include "transport/port/port_wire.h"

#define PEER_NONCE 0x5EED0A17u
#define BODY_MAX 1024u
#define FEED_MAX (2 * (PORT_OVERHEAD + BODY_MAX) + 16)

static struct harness {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* Input still to turn into line bytes. */
    const uint8_t *in;
    size_t in_len, in_pos;
    /* Line bytes built and not yet read by the port. */
    uint8_t feed[FEED_MAX];
    size_t feed_len, feed_pos;
    bool connect_sent, drained;
    uint16_t next_seq;
    /* The port's side, from what it wrote. */
    uint8_t wbuf[FEED_MAX];
    size_t wlen;
    bool nonce_known;
    uint32_t nonce;
} h = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static unsigned long delivered;

/* ---- What the port writes -------------------------------------------------- */

static void port_frame(const uint8_t *enc, size_t n)
{
    uint8_t f[PORT_OVERHEAD + BODY_MAX];
    long len = rpmsg_port_cobs_decode(enc, n, f, sizeof(f));
    if (len < (long)(PORT_OVERHEAD + PORT_HELLO_SIZE))
        return;
    struct port_hdr ph;
    rpmsg_port_hdr_get(&ph, f);
    uint8_t type = ph.type & 0x0F;
    if (type != PORT_T_CONNECT && type != PORT_T_CONNACK)
        return;
    struct port_hello m;
    rpmsg_port_hello_get(&m, f + PORT_HDR_SIZE);
    h.nonce = m.nonce;
    h.nonce_known = true;
    pthread_cond_broadcast(&h.cond);
}

static int l_write(void *ctx, const void *buf, size_t len, uint64_t deadline)
{
    (void)ctx, (void)deadline;
    const uint8_t *b = buf;
    pthread_mutex_lock(&h.lock);
    for (size_t i = 0; i < len; i++) {
        if (b[i] == 0) {
            port_frame(h.wbuf, h.wlen);
            h.wlen = 0;
        } else if (h.wlen < sizeof(h.wbuf)) {
            h.wbuf[h.wlen++] = b[i];
        }
    }
    pthread_mutex_unlock(&h.lock);
    return (int)len;
}

/* ---- What the port reads --------------------------------------------------- */

static void feed_raw(const uint8_t *b, size_t n)
{
    memcpy(h.feed + h.feed_len, b, n);
    h.feed_len += n;
}

/* Seals header + body (the header's len is what it is) and queues it COBS-encoded. */
static void feed_frame(uint8_t *frame, size_t body_len)
{
    uint8_t enc[FEED_MAX];
    size_t n = rpmsg_port_seal(frame, body_len);
    size_t e = rpmsg_port_cobs_encode(frame, n, enc);
    enc[e++] = 0;
    feed_raw(enc, e);
}

static void put_hdr(uint8_t *f, uint8_t type, uint8_t flags, uint16_t seq, uint16_t ack,
                    uint16_t limit, uint16_t len, uint32_t sack)
{
    struct port_hdr ph = {
        .type = (uint8_t)(PORT_VERSION << 4 | type),
        .flags = flags,
        .stag = (uint8_t)PEER_NONCE,
        .rtag = (uint8_t)h.nonce,
        .seq = seq, .ack = ack, .limit = limit, .len = len, .sack = sack,
    };
    rpmsg_port_hdr_put(f, &ph);
}

static void feed_connect(void)
{
    uint8_t f[PORT_OVERHEAD + PORT_HELLO_SIZE];
    struct port_hello m = {
        .version = PORT_VERSION,
        .nonce = PEER_NONCE,
        .peer_nonce = h.nonce,
        .features = RPMSG_F_NS,
        .rx_buf_size = 512,
        .rx_bufs = 16,
    };
    strcpy(m.cpuname, "fuzz-peer");
    put_hdr(f, PORT_T_CONNECT, 0, 0, 0, 16, PORT_HELLO_SIZE, 0);
    rpmsg_port_hello_put(f + PORT_HDR_SIZE, &m);
    feed_frame(f, PORT_HELLO_SIZE);
}

/* Turns the next input record into line bytes; false when there is none. */
static bool feed_record(void)
{
    if (h.in_pos + 2 > h.in_len)
        return false;
    uint8_t kind = h.in[h.in_pos], n = h.in[h.in_pos + 1];
    h.in_pos += 2;
    if (n > h.in_len - h.in_pos)
        n = (uint8_t)(h.in_len - h.in_pos);
    const uint8_t *b = h.in + h.in_pos;
    h.in_pos += n;
    uint8_t f[PORT_OVERHEAD + BODY_MAX];
    switch (kind % 4) {
    case 0:
        feed_raw(b, n);
        break;
    case 1:
        if (n < PORT_HDR_SIZE)
            return true;
        memcpy(f, b, n);
        feed_frame(f, n - PORT_HDR_SIZE);
        break;
    case 2: {
        if (n < PORT_HDR_SIZE)
            return true;
        struct port_hdr ph;
        rpmsg_port_hdr_get(&ph, b);
        memcpy(f + PORT_HDR_SIZE, b + PORT_HDR_SIZE, n - PORT_HDR_SIZE);
        put_hdr(f, ph.type & 0x0F, ph.flags, ph.seq, ph.ack, ph.limit,
                (uint16_t)(n - PORT_HDR_SIZE), ph.sack);
        feed_frame(f, n - PORT_HDR_SIZE);
        break;
    }
    default: {
        /* rpmsg messages cut from the bytes: each takes a byte saying where
         * it goes and how long it is, then that many bytes of payload. */
        size_t body = 0;
        uint16_t msgs = 0;
        for (size_t i = 0; i < n && body + RPMSG_HDR_SIZE + 64 <= BODY_MAX;) {
            uint8_t c = b[i++];
            size_t plen = c % 64 < n - i ? c % 64 : n - i;
            static const uint32_t dsts[4] = { 0x400, RPMSG_NS_ADDR, 0x401, 0x400 };
            uint8_t *m = f + PORT_HDR_SIZE + body;
            rpmsg_put32(m, 0x500u + c);
            rpmsg_put32(m + 4, dsts[c >> 6]);
            rpmsg_put32(m + 8, 0);
            rpmsg_put16(m + 12, (uint16_t)plen);
            rpmsg_put16(m + 14, 0);
            memcpy(m + RPMSG_HDR_SIZE, b + i, plen);
            i += plen;
            body += RPMSG_HDR_SIZE + plen;
            msgs++;
        }
        put_hdr(f, PORT_T_DATA, kind & 0x80 ? PORT_F_POLL : 0,
                (uint16_t)(h.next_seq + kind / 4 % 4), 0, 64, (uint16_t)body, 0);
        /* Mostly in order; kind / 4 skips some, to leave holes. */
        h.next_seq = (uint16_t)(h.next_seq + msgs);
        feed_frame(f, body);
        break;
    }
    }
    return true;
}

static void wait_ms(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&h.cond, &h.lock, &ts);
}

static int l_read(void *ctx, void *buf, size_t len, uint64_t deadline)
{
    (void)ctx, (void)deadline;
    pthread_mutex_lock(&h.lock);
    while (h.feed_pos == h.feed_len) {
        h.feed_pos = h.feed_len = 0;
        if (!h.connect_sent) {
            /* Answer the port's own CONNECT, once it has said who it is. */
            for (int i = 0; i < 20 && !h.nonce_known; i++)
                wait_ms(5);
            feed_connect();
            h.connect_sent = true;
        } else if (!feed_record()) {
            h.drained = true;
            pthread_cond_broadcast(&h.cond);
            wait_ms(1); /* the harness stops the port now */
            pthread_mutex_unlock(&h.lock);
            return 0;
        }
    }
    size_t n = h.feed_len - h.feed_pos;
    if (n > len)
        n = len;
    memcpy(buf, h.feed + h.feed_pos, n);
    h.feed_pos += n;
    pthread_mutex_unlock(&h.lock);
    return (int)n;
}

static void l_wakeup(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&h.lock);
    pthread_cond_broadcast(&h.cond);
    pthread_mutex_unlock(&h.lock);
}

static const struct rpmsg_port_uart_ops line = {
    .write = l_write, .read = l_read, .wakeup = l_wakeup,
};

static int cb(struct rpmsg_endpoint *e, void *d, size_t l, uint32_t s, void *p)
{
    (void)e, (void)d, (void)l, (void)s, (void)p;
    __atomic_add_fetch(&delivered, 1, __ATOMIC_RELAXED);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pthread_mutex_lock(&h.lock);
    h.in = data;
    h.in_len = size;
    h.in_pos = h.feed_len = h.feed_pos = h.wlen = 0;
    h.connect_sent = h.drained = h.nonce_known = false;
    h.next_seq = 0;
    h.nonce = 0;
    pthread_mutex_unlock(&h.lock);

    struct rpmsg_port_config c = {
        .local_cpuname = "fuzz",
        .num_tx_bufs = 8,
        .num_rx_bufs = 16,
        .frame_body = BODY_MAX,
        .link = RPMSG_PORT_UART,
        .uart = &line,
        .link_ctx = &h,
    };
    struct rpmsg_port *p;
    if (rpmsg_port_init(&p, &c))
        abort();
    struct rpmsg_endpoint ept;
    memset(&ept, 0, sizeof(ept));
    /* No name: an announcement nobody acknowledges would hold up the
     * port's shutdown for its linger time. */
    rpmsg_create_ept(&ept, rpmsg_port_device(p), NULL, 0x400, RPMSG_ADDR_ANY, cb, NULL);

    pthread_mutex_lock(&h.lock);
    for (int i = 0; i < 2000 && !h.drained; i++)
        wait_ms(1);
    pthread_mutex_unlock(&h.lock);

    rpmsg_destroy_ept(&ept);
    rpmsg_port_deinit(p);
    return 0;
}
