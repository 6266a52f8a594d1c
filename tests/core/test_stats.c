/*
 * Per-link counters (struct rpmsg_stats): messages and payload bytes each
 * way, sends that waited, drops.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

struct fx {
    struct tu_pair p;
    struct rpmsg_endpoint e[4];
    struct tu_rec r[4];
    struct tu_gate gate;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    for (int i = 0; i < 4; i++)
        tu_rec_init(&f->r[i]);
    tu_gate_init(&f->gate);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_gate_open(&f->gate);
    for (int i = 4; i-- > 0;)
        tu_ept_cleanup(&f->e[i]);
    tu_pair_close(&f->p);
    tu_gate_deinit(&f->gate);
    for (int i = 0; i < 4; i++)
        tu_rec_deinit(&f->r[i]);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static void open_static(struct fx *f, bool polled)
{
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = polled;
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);
    assert_int_equal(tu_ept_create(&f->e[0], f->p.a, NULL, 0x100, 0x200, tu_rec_cb, NULL, &f->r[0]),
                     0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, NULL, 0x200, 0x100, tu_rec_cb, NULL, &f->r[1]),
                     0);
}

static void assert_all_zero(struct rpmsg_device *d)
{
    struct rpmsg_stats st = tu_stats(d), zero;
    memset(&zero, 0, sizeof(zero));
    assert_memory_equal(&st, &zero, sizeof(st));
}

static void test_zero_at_start(void **state)
{
    struct fx *f = *state;
    open_static(f, true);
    assert_all_zero(f->p.a);
    assert_all_zero(f->p.b);
    struct rpmsg_stats st;
    assert_int_equal(rpmsg_get_stats(NULL, &st), -EINVAL);
    assert_int_equal(rpmsg_get_stats(f->p.a, NULL), -EINVAL);
}

static void test_counts_each_way(void **state)
{
    struct fx *f = *state;
    open_static(f, true);
    uint8_t buf[496];
    memset(buf, 1, sizeof(buf));

    uint64_t ab = 0, ba = 0;
    for (unsigned i = 0; i < 10; i++) {
        assert_int_equal(rpmsg_trysend(&f->e[0], buf, i), (int)i); /* including empty */
        ab += i;
    }
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(rpmsg_trysend(&f->e[1], buf, 100 + i), (int)(100 + i));
        ba += 100 + i;
    }
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 13);

    struct rpmsg_stats a = tu_stats(f->p.a), b = tu_stats(f->p.b);
    assert_int_equal(a.tx_msgs, 10);
    assert_int_equal(a.tx_bytes, ab);
    assert_int_equal(a.rx_msgs, 3);
    assert_int_equal(a.rx_bytes, ba);
    assert_int_equal(b.tx_msgs, 3);
    assert_int_equal(b.tx_bytes, ba);
    assert_int_equal(b.rx_msgs, 10);
    assert_int_equal(b.rx_bytes, ab);
    assert_int_equal(a.tx_waits + b.tx_waits, 0);
    assert_int_equal(a.drop_bad_header + a.drop_unknown_dst + a.drop_bad_ns + a.drop_ns_overflow, 0);
    assert_int_equal(b.drop_bad_header + b.drop_unknown_dst + b.drop_bad_ns + b.drop_ns_overflow, 0);
    assert_int_equal(tu_rec_count(&f->r[1]), 10);
    assert_int_equal(tu_rec_count(&f->r[0]), 3);

    /* Zero-copy and off-channel sends count the same way. */
    uint32_t cap;
    void *z = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_NOWAIT);
    assert_non_null(z);
    assert_int_equal(rpmsg_send_nocopy(&f->e[0], z, 7), 7);
    assert_int_equal(rpmsg_trysend_offchannel(&f->e[0], 0x111, 0x200, buf, 5), 5);
    /* Failures do not count. */
    assert_int_equal(rpmsg_trysend(&f->e[0], buf, 497), -EMSGSIZE);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 2);
    a = tu_stats(f->p.a);
    b = tu_stats(f->p.b);
    assert_int_equal(a.tx_msgs, 12);
    assert_int_equal(a.tx_bytes, ab + 12);
    assert_int_equal(b.rx_msgs, 12);
    assert_int_equal(b.rx_bytes, ab + 12);
}

static void test_drop_unknown_dst_counts_at_receiver(void **state)
{
    struct fx *f = *state;
    open_static(f, true);

    assert_int_equal(rpmsg_trysendto(&f->e[0], "x", 1, 0x999), 1);
    assert_int_equal(rpmsg_trysendto(&f->e[0], "yy", 2, 0x998), 2);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 2);
    struct rpmsg_stats a = tu_stats(f->p.a), b = tu_stats(f->p.b);
    assert_int_equal(a.tx_msgs, 2);
    assert_int_equal(a.tx_bytes, 3);
    assert_int_equal(b.drop_unknown_dst, 2);
    assert_int_equal(b.rx_msgs, 0); /* delivered messages only */
    assert_int_equal(b.rx_bytes, 0);
    assert_int_equal(a.drop_unknown_dst, 0);
}

/* A polled device that must wait for a buffer can only time out: nobody drains. */
static void test_tx_waits_polled(void **state)
{
    struct fx *f = *state;
    open_static(f, true);
    for (int i = 0; i < 16; i++)
        assert_int_equal(rpmsg_trysend(&f->e[0], &i, sizeof(i)), (int)sizeof(i));
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, 20), 0);
    assert_int_equal(rpmsg_send(&f->e[0], "w", 1), -ETIMEDOUT);
    struct rpmsg_stats a = tu_stats(f->p.a);
    assert_int_equal(a.tx_msgs, 16);
    assert_int_equal(a.tx_waits, 1);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 16);
    assert_int_equal(rpmsg_send(&f->e[0], "w", 1), 1);
    assert_int_equal(tu_stat(f->p.a, TU_STAT(tx_waits)), 1);
}

/* Threaded: a send that had to wait for a buffer and then got one. */
static void test_tx_waits_threaded(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(tu_ept_create(&f->e[0], f->p.a, NULL, 0x100, 0x200, tu_rec_cb, NULL, &f->r[0]),
                     0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, NULL, 0x200, 0x100, tu_gate_cb, NULL, &f->gate),
                     0);
    for (int i = 0; i < 16; i++)
        assert_int_equal(rpmsg_trysend(&f->e[0], &i, sizeof(i)), (int)sizeof(i));
    assert_int_equal(tu_event_wait(&f->gate.entered, 1, TU_TIMEOUT_MS), 0);
    tu_gate_open(&f->gate);
    /* Whether or not these wait, every message arrives and is counted. */
    for (int i = 16; i < 100; i++)
        assert_int_equal(rpmsg_send(&f->e[0], &i, sizeof(i)), (int)sizeof(i));
    assert_int_equal(tu_rec_wait(&f->gate.rec, 100, TU_TIMEOUT_MS), 0);
    struct rpmsg_stats a = tu_stats(f->p.a);
    assert_int_equal(a.tx_msgs, 100);
    assert_true(a.tx_waits <= 84);
    assert_int_equal(tu_wait_stat(f->p.b, TU_STAT(rx_msgs), 100, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_stat(f->p.b, TU_STAT(rx_msgs)), 100);
    assert_int_equal(tu_stat(f->p.b, TU_STAT(rx_bytes)), 400);
}

/*
 * Replies sent from inside the receiving endpoint's callback count in the RX
 * context's own counters, without atomics (send.c); sends from other
 * threads on the same device count in the shared ones at the same time.
 * rpmsg_get_stats() adds them: every message and byte, exactly once.
 */
#define REPLY_LEN 7u
#define OTHER_LEN 5u
#define N_EACH 500u

struct replier {
    struct fx *f;
    int first_rc; /* the first message's trysend with every buffer taken */
    unsigned n;
};

static int reply_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)data, (void)src;
    struct replier *r = priv;
    uint8_t out[REPLY_LEN] = {0};
    if (r->n++ == 0) {
        /* A send that counted, then found no buffer, uncounts. */
        void *held[64];
        unsigned k = 0;
        uint32_t cap;
        while (k < 64 && (held[k] = rpmsg_get_tx_payload_buffer(ept, &cap, RPMSG_NOWAIT)))
            k++;
        TU_CHECK(k > 0 && k < 64);
        r->first_rc = rpmsg_trysend(ept, out, 3);
        while (k--)
            TU_CHECK(rpmsg_release_tx_buffer(ept, held[k]) == 0);
        TU_CHECK(rpmsg_send(ept, out, 3) == 3);
        return 0;
    }
    TU_CHECK(len == REPLY_LEN);
    if (r->n % 2) {
        uint32_t cap;
        void *z = rpmsg_get_tx_payload_buffer(ept, &cap, RPMSG_WAIT);
        TU_CHECK(z && cap >= REPLY_LEN);
        if (z) {
            memcpy(z, out, REPLY_LEN);
            TU_CHECK(rpmsg_send_nocopy(ept, z, REPLY_LEN) == (int)REPLY_LEN);
        }
    } else {
        TU_CHECK(rpmsg_send(ept, out, REPLY_LEN) == (int)REPLY_LEN);
    }
    return 0;
}

static void *other_sender(void *arg)
{
    struct fx *f = arg;
    uint8_t out[OTHER_LEN] = {0};
    for (unsigned i = 0; i < N_EACH; i++)
        TU_CHECK(rpmsg_send(&f->e[2], out, OTHER_LEN) == (int)OTHER_LEN);
    return NULL;
}

static void test_replies_from_callbacks_count(void **state)
{
    struct fx *f = *state;
    struct replier r = { .f = f, .first_rc = 1 };
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(tu_ept_create(&f->e[0], f->p.a, NULL, 0x100, 0x200, tu_rec_cb, NULL, &f->r[0]),
                     0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, NULL, 0x200, 0x100, reply_cb, NULL, &r), 0);
    assert_int_equal(tu_ept_create(&f->e[2], f->p.b, NULL, 0x300, 0x100, NULL, NULL, NULL), 0);
    uint8_t in[REPLY_LEN] = {0};
    assert_int_equal(rpmsg_send(&f->e[0], in, REPLY_LEN), (int)REPLY_LEN);
    assert_int_equal(tu_rec_wait(&f->r[0], 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(r.first_rc, -EAGAIN);
    assert_int_equal(tu_stat(f->p.b, TU_STAT(tx_msgs)), 1);
    assert_int_equal(tu_stat(f->p.b, TU_STAT(tx_bytes)), 3);

    struct tu_thread th;
    assert_int_equal(tu_thread_start(&th, other_sender, f), 0);
    for (unsigned i = 0; i < N_EACH; i++)
        assert_int_equal(rpmsg_send(&f->e[0], in, REPLY_LEN), (int)REPLY_LEN);
    assert_int_equal(tu_thread_join(&th, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_wait(&f->r[0], 1 + 2 * N_EACH, TU_TIMEOUT_MS), 0);
    struct rpmsg_stats a = tu_stats(f->p.a), b = tu_stats(f->p.b);
    assert_int_equal(b.tx_msgs, 1 + 2 * N_EACH);
    assert_int_equal(b.tx_bytes, 3 + N_EACH * (REPLY_LEN + OTHER_LEN));
    assert_int_equal(a.rx_msgs, b.tx_msgs);
    assert_int_equal(a.rx_bytes, b.tx_bytes);
    assert_int_equal(b.rx_msgs, 1 + N_EACH);
    assert_int_equal(tu_rec_count(&f->r[0]), 1 + 2 * N_EACH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zero_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_each_way, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_unknown_dst_counts_at_receiver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_waits_polled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_waits_threaded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_from_callbacks_count, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
