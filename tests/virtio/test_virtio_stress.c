/*
 * VirtIO under load: messages of random sizes in both directions at once,
 * each carrying a sequence number and a checksum, in copy mode (rpmsg_send,
 * buffers released when the callback returns) and zero-copy mode (payload
 * buffers from the ring, RX buffers held by the callback and released later
 * by another thread), and mixed: every other RX buffer held and released by
 * another thread while the RX context gives the rest back itself (batched,
 * in its poll's next lock round), checked again just before its release, so
 * a buffer given back early (and overwritten by the peer) shows. Nothing may
 * be lost, duplicated, reordered or corrupted, and the counters must match
 * exactly.
 */
#include "vt_plat.h"

#define PER_DIR 55000u /* per direction and mode: 110,000 messages per mode */
#define QCAP 32u

static uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static uint32_t xs(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Message: u32 seq, u32 len, u32 crc of the rest, then bytes from a PRNG seeded by seq. */
static uint32_t build(uint8_t *buf, uint32_t seq, uint32_t dir, uint32_t len)
{
    uint32_t s = seq * 2654435761u + dir + 1;
    for (uint32_t i = 12; i < len; i++)
        buf[i] = (uint8_t)xs(&s);
    memcpy(buf, &seq, 4);
    memcpy(buf + 4, &len, 4);
    uint32_t c = crc32(buf + 12, len - 12);
    memcpy(buf + 8, &c, 4);
    return len;
}

struct side {
    struct rpmsg_endpoint ept;
    uint32_t dir;
    uint32_t expect; /* next seq */
    uint32_t errors;
    uint64_t bytes;
    bool zc;
    bool mixed; /* zc: hold only odd messages, checked here in order */
    /* zero copy: held buffers waiting for the consumer thread */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    void *q[QCAP];
    size_t qlen[QCAP];
    unsigned head, count;
    bool stop;
    struct tu_thread consumer, sender;
    struct rpmsg_endpoint *tx;
    uint32_t sent;
    int send_err;
};

static void check(struct side *s, const uint8_t *p, size_t len)
{
    uint32_t seq, l, c;
    if (len < 12) {
        s->errors++;
        return;
    }
    memcpy(&seq, p, 4);
    memcpy(&l, p + 4, 4);
    memcpy(&c, p + 8, 4);
    if (seq != s->expect || l != len || c != crc32(p + 12, len - 12))
        s->errors++;
    s->bytes += len;
    /* Last: publishes errors and bytes to the main thread (got_all). */
    __atomic_store_n(&s->expect, seq + 1, __ATOMIC_RELEASE);
}

/* A held buffer still holds what arrived: nobody gave it back early. */
static void check_intact(struct side *s, const uint8_t *p, size_t len)
{
    uint32_t l, c;
    memcpy(&l, p + 4, 4);
    memcpy(&c, p + 8, 4);
    if (l != len || c != crc32(p + 12, len - 12))
        __atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
}

static int rx_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    struct side *s = priv;
    if (!s->zc || s->mixed) {
        uint32_t seq = s->expect;
        check(s, data, len);
        if (!s->zc || !(seq & 1))
            return 0;
    }
    if (rpmsg_hold_rx_buffer(ept, data)) {
        s->errors++;
        return 0;
    }
    pthread_mutex_lock(&s->lock);
    while (s->count == QCAP)
        pthread_cond_wait(&s->cond, &s->lock);
    unsigned t = (s->head + s->count) % QCAP;
    s->q[t] = data;
    s->qlen[t] = len;
    s->count++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void *consumer(void *arg)
{
    struct side *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->count && !s->stop)
            pthread_cond_wait(&s->cond, &s->lock);
        if (!s->count)
            break;
        void *d = s->q[s->head];
        size_t len = s->qlen[s->head];
        pthread_mutex_unlock(&s->lock);
        if (s->mixed)
            check_intact(s, d, len);
        else
            check(s, d, len);
        TU_CHECK(rpmsg_release_rx_buffer(&s->ept, d) == 0);
        pthread_mutex_lock(&s->lock);
        s->head = (s->head + 1) % QCAP;
        s->count--;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void *sender(void *arg)
{
    struct side *s = arg;
    uint32_t rnd = 12345 + s->dir;
    uint32_t max = (uint32_t)rpmsg_get_tx_buffer_size(s->tx);
    uint8_t local[2048];
    for (uint32_t i = 0; i < PER_DIR; i++) {
        uint32_t len = (i % 97 == 0) ? max : 12 + xs(&rnd) % (max - 11);
        if (!s->zc) {
            build(local, i, s->dir, len);
            int r = rpmsg_send(s->tx, local, len);
            if (r != (int)len) {
                s->send_err = r;
                break;
            }
        } else {
            uint32_t cap = 0;
            uint8_t *b = rpmsg_get_tx_payload_buffer(s->tx, &cap, RPMSG_WAIT);
            if (!b || cap < len) {
                s->send_err = -ENOBUFS;
                break;
            }
            build(b, i, s->dir, len);
            int r = rpmsg_send_nocopy(s->tx, b, len);
            if (r != (int)len) {
                s->send_err = r;
                break;
            }
        }
        s->sent++;
    }
    return NULL;
}

static void side_init(struct side *s, uint32_t dir, bool zc, bool mixed)
{
    memset(s, 0, sizeof(*s));
    s->dir = dir;
    s->zc = zc;
    s->mixed = mixed;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
}

static void side_deinit(struct side *s)
{
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
}

static bool got_all(void *arg)
{
    struct side *s = arg;
    return __atomic_load_n(&s->expect, __ATOMIC_ACQUIRE) >= PER_DIR;
}

static void run(bool zc, bool mixed, const struct vt_opts *o)
{
    struct vt_pair p;
    assert_int_equal(vt_pair_open(&p, o), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    struct side *hs = calloc(1, sizeof(*hs)), *rs = calloc(1, sizeof(*rs));
    side_init(hs, 0, zc, mixed); /* host receives what the remote sends (dir 1) */
    side_init(rs, 1, zc, mixed);
    hs->dir = 1;
    rs->dir = 0;
    assert_int_equal(rpmsg_create_ept(&hs->ept, p.h, NULL, 0x600, 0x601, rx_cb, NULL), 0);
    hs->ept.priv = hs;
    assert_int_equal(rpmsg_create_ept(&rs->ept, p.r, NULL, 0x601, 0x600, rx_cb, NULL), 0);
    rs->ept.priv = rs;
    /* The host's endpoint sends direction 0; the remote's direction 1. */
    struct side hsend = { .tx = &hs->ept, .dir = 0, .zc = zc };
    struct side rsend = { .tx = &rs->ept, .dir = 1, .zc = zc };
    if (zc) {
        assert_int_equal(tu_thread_start(&hs->consumer, consumer, hs), 0);
        assert_int_equal(tu_thread_start(&rs->consumer, consumer, rs), 0);
    }
    assert_int_equal(tu_thread_start(&hsend.sender, sender, &hsend), 0);
    assert_int_equal(tu_thread_start(&rsend.sender, sender, &rsend), 0);
    assert_int_equal(tu_thread_join(&hsend.sender, 60000), 0);
    assert_int_equal(tu_thread_join(&rsend.sender, 60000), 0);
    assert_int_equal(hsend.send_err, 0);
    assert_int_equal(rsend.send_err, 0);
    assert_int_equal(hsend.sent, PER_DIR);
    assert_int_equal(rsend.sent, PER_DIR);
    assert_int_equal(tu_wait_until(got_all, hs, 30000), 0);
    assert_int_equal(tu_wait_until(got_all, rs, 30000), 0);
    if (zc) {
        for (int i = 0; i < 2; i++) {
            struct side *s = i ? rs : hs;
            pthread_mutex_lock(&s->lock);
            s->stop = true;
            pthread_cond_broadcast(&s->cond);
            pthread_mutex_unlock(&s->lock);
            assert_int_equal(tu_thread_join(&s->consumer, 10000), 0);
        }
    }
    assert_int_equal(hs->errors, 0);
    assert_int_equal(rs->errors, 0);
    assert_int_equal(hs->expect, PER_DIR);
    assert_int_equal(rs->expect, PER_DIR);
    TU_ASSERT_NO_THREAD_FAILURES();

    struct rpmsg_stats h = tu_stats(p.h), r = tu_stats(p.r);
    assert_int_equal(h.rx_msgs, PER_DIR);
    assert_int_equal(r.rx_msgs, PER_DIR);
    assert_int_equal(h.tx_msgs, PER_DIR);
    assert_int_equal(r.tx_msgs, PER_DIR);
    assert_int_equal(h.rx_bytes + 0, hs->bytes);
    assert_int_equal(r.rx_bytes + 0, rs->bytes);
    /* Copy sends are counted by the transport (send_copy), zero-copy ones
     * by the core: each side sent what the other received. */
    assert_int_equal(h.tx_bytes, r.rx_bytes);
    assert_int_equal(r.tx_bytes, h.rx_bytes);
    struct rpmsg_virtio_stats vh = vt_stats(p.host), vr = vt_stats(p.remote);
    assert_int_equal(vh.tx_msgs, PER_DIR);
    assert_int_equal(vr.tx_msgs, PER_DIR);
    assert_int_equal(vh.rx_msgs, PER_DIR);
    assert_int_equal(vr.rx_msgs, PER_DIR);
    assert_int_equal(vh.faults + vr.faults, 0);
    assert_int_equal(vh.link_ups, 1);
    assert_int_equal(vr.link_ups, 1);
    print_message("  %s: host kicks %llu (suppressed %llu), remote kicks %llu (suppressed %llu)\n",
                  mixed ? "mixed holds" : zc ? "zero-copy" : "copy", (unsigned long long)vh.notify_sent,
                  (unsigned long long)vh.notify_suppressed, (unsigned long long)vr.notify_sent,
                  (unsigned long long)vr.notify_suppressed);

    rpmsg_destroy_ept(&hs->ept);
    rpmsg_destroy_ept(&rs->ept);
    vt_pair_close(&p);
    side_deinit(hs);
    side_deinit(rs);
    free(hs);
    free(rs);
}

static void test_copy(void **state)
{
    (void)state;
    run(false, false, NULL);
}

static void test_zero_copy(void **state)
{
    (void)state;
    run(true, false, NULL);
}

static void test_mixed_holds(void **state)
{
    (void)state;
    run(true, true, NULL);
}

static void test_mixed_holds_packed(void **state)
{
    (void)state;
    uint32_t f = RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED;
    struct vt_opts o = { .hfeat = f, .rfeat = f };
    run(true, true, &o);
}

/* Plain flags (no event index), small rings, per-direction sizes. */
static void test_copy_small_rings_flags(void **state)
{
    (void)state;
    struct vt_opts o = {
        .hfeat = RPMSG_F_NS | RPMSG_VIRTIO_F_BUFSZ,
        .rfeat = RPMSG_F_NS | RPMSG_VIRTIO_F_BUFSZ,
        .params = { .num = { 16, 8 }, .buf_size = { 1024, 200 } },
    };
    run(false, false, &o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_zero_copy),
        cmocka_unit_test(test_mixed_holds),
        cmocka_unit_test(test_mixed_holds_packed),
        cmocka_unit_test(test_copy_small_rings_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
