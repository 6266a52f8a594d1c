/*
 * Event suppression: with VIRTIO_RING_F_EVENT_IDX a burst costs one
 * notification; buffers returned while the peer is not starved cost none;
 * a starved sender is kicked when buffers come back (with 256, once 64
 * are). Without the event index
 * (flags only) every message of a burst into an idle peer kicks, and so does
 * every buffer returned to a starved peer until it runs. Devices are
 * poll-driven so every count is exact.
 */
#include <unistd.h>

#include "vt_plat.h"

#define BURST 200u

static int open_pair(struct vt_pair *p, bool event_idx)
{
    uint32_t f = RPMSG_F_NS | RPMSG_F_ACK | (event_idx ? RPMSG_VIRTIO_F_EVENT_IDX : 0);
    struct vt_opts o = { .hfeat = f, .rfeat = f, .no_rx_thread = true };
    int r = vt_pair_open(p, &o);
    if (!r)
        r = vt_wait_up(p);
    return r;
}

static void burst(struct rpmsg_endpoint *e, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(rpmsg_trysend(e, &i, sizeof(i)), (int)sizeof(i));
}

/* Polls d until rec has n messages. */
static void drain(struct rpmsg_device *d, struct tu_rec *rec, unsigned n)
{
    for (int i = 0; i < 1000 && tu_rec_count(rec) < n; i++)
        assert_true(rpmsg_poll(d) >= 0);
    assert_int_equal(tu_rec_count(rec), n);
}

static void test_event_idx_burst(void **state)
{
    (void)state;
    struct vt_pair p;
    assert_int_equal(open_pair(&p, true), 0);
    assert_true(rpmsg_get_features(p.h) & RPMSG_VIRTIO_F_EVENT_IDX);
    struct rpmsg_endpoint he, re;
    struct tu_rec hr, rr;
    tu_rec_init(&hr);
    tu_rec_init(&rr);
    assert_int_equal(tu_ept_create(&he, p.h, NULL, 0x700, 0x701, tu_rec_cb, NULL, &hr), 0);
    assert_int_equal(tu_ept_create(&re, p.r, NULL, 0x701, 0x700, tu_rec_cb, NULL, &rr), 0);

    for (unsigned round = 1; round <= 3; round++) {
        /* host → remote: one kick for the whole burst */
        uint64_t h0 = vt_rung(&p.link, 0), r0 = vt_rung(&p.link, 1);
        burst(&he, BURST);
        assert_int_equal(vt_rung(&p.link, 0) - h0, 1);
        drain(p.r, &rr, round * BURST);
        /* the remote returned 200 buffers to a host that is not short of any */
        assert_int_equal(vt_rung(&p.link, 1) - r0, 0);
        assert_int_equal(rpmsg_poll(p.h), 0);

        /* remote → host: the same */
        h0 = vt_rung(&p.link, 0);
        r0 = vt_rung(&p.link, 1);
        burst(&re, BURST);
        assert_int_equal(vt_rung(&p.link, 1) - r0, 1);
        drain(p.h, &hr, round * BURST);
        assert_int_equal(vt_rung(&p.link, 0) - h0, 0);
        assert_int_equal(rpmsg_poll(p.r), 0);
    }
    struct rpmsg_virtio_stats hs = vt_stats(p.host), rs = vt_stats(p.remote);
    assert_int_equal(hs.tx_msgs, 3 * BURST);
    assert_int_equal(rs.tx_msgs, 3 * BURST);
    assert_true(hs.notify_suppressed >= 2 * 3 * BURST - 10);

    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    tu_rec_deinit(&hr);
    tu_rec_deinit(&rr);
    vt_pair_close(&p);
}

static void starve(bool event_idx)
{
    struct vt_pair p;
    assert_int_equal(open_pair(&p, event_idx), 0);
    struct rpmsg_endpoint he, re;
    struct tu_rec hr, rr;
    tu_rec_init(&hr);
    tu_rec_init(&rr);
    assert_int_equal(tu_ept_create(&he, p.h, NULL, 0x700, 0x701, tu_rec_cb, NULL, &hr), 0);
    assert_int_equal(tu_ept_create(&re, p.r, NULL, 0x701, 0x700, tu_rec_cb, NULL, &rr), 0);

    /* The remote uses up the host's 256 RX buffers. */
    burst(&re, 256);
    int one = 1;
    assert_int_equal(rpmsg_trysend(&re, &one, sizeof(one)), -EAGAIN);
    /* The host drains: returning buffers to a starved remote kicks it once. */
    uint64_t h0 = vt_rung(&p.link, 0);
    drain(p.h, &hr, 256);
    /* (with flags alone, every returned buffer kicks until the remote runs) */
    assert_int_equal(vt_rung(&p.link, 0) - h0, event_idx ? 1 : 256);
    assert_int_equal(rpmsg_poll(p.r), 0);
    assert_int_equal(rpmsg_trysend(&re, &one, sizeof(one)), (int)sizeof(one));

    /* The same for the host's TX buffers. */
    burst(&he, 256);
    assert_int_equal(rpmsg_trysend(&he, &one, sizeof(one)), -EAGAIN);
    uint64_t r0 = vt_rung(&p.link, 1);
    drain(p.r, &rr, 256);
    assert_int_equal(vt_rung(&p.link, 1) - r0, event_idx ? 1 : 256);
    assert_int_equal(rpmsg_trysend(&he, &one, sizeof(one)), (int)sizeof(one));

    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    tu_rec_deinit(&hr);
    tu_rec_deinit(&rr);
    vt_pair_close(&p);
}

/* ---- A starved sender is kicked once a quarter of its buffers is back ---- */

struct kick_log {
    struct vt_pair *p;
    int side;        /* whose doorbell: the side returning the buffers */
    uint64_t base;   /* its kicks before it drained */
    unsigned n;      /* messages seen */
    unsigned kicked; /* the first message seen after the kick, 0 before */
};

static int kick_log_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                       void *priv)
{
    (void)ept, (void)data, (void)len, (void)src;
    struct kick_log *k = priv;
    k->n++;
    if (!k->kicked && vt_rung(&k->p->link, k->side) != k->base)
        k->kicked = k->n;
    return 0;
}

/*
 * Each buffer goes back to the sender right after its message's callback.
 * A sender starved of all 256 is kicked after the 64th, not the first:
 * woken at the first it sent one message and starved again, paying a
 * wake-up per buffer (virtio_bufs.c, tx_wake_batch).
 */
static void starved_batch(bool host_sends)
{
    struct vt_pair p;
    assert_int_equal(open_pair(&p, true), 0);
    struct rpmsg_device *sd = host_sends ? p.h : p.r, *rd = host_sends ? p.r : p.h;
    struct rpmsg_endpoint se, re;
    struct kick_log k = { .p = &p, .side = host_sends ? 1 : 0 };
    assert_int_equal(tu_ept_create(&se, sd, NULL, 0x700, 0x701, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&re, rd, NULL, 0x701, 0x700, kick_log_cb, NULL, &k), 0);
    burst(&se, 256);
    int one = 1;
    assert_int_equal(rpmsg_trysend(&se, &one, sizeof(one)), -EAGAIN);
    k.base = vt_rung(&p.link, k.side);
    for (int i = 0; i < 1000 && k.n < 256; i++)
        assert_true(rpmsg_poll(rd) >= 0);
    assert_int_equal(k.n, 256);
    /* RPMSG_VIRTIO_TX_BATCH off (the default): kicked at the first buffer back. */
    assert_int_equal(k.kicked, RPMSG_VIRTIO_TX_BATCH ? 256 / 4 + 1 : 2);
    assert_int_equal(vt_rung(&p.link, k.side) - k.base, 1);
    assert_int_equal(rpmsg_trysend(&se, &one, sizeof(one)), (int)sizeof(one));
    rpmsg_destroy_ept(&se);
    rpmsg_destroy_ept(&re);
    vt_pair_close(&p);
}

static void test_starved_host_batch(void **state)
{
    (void)state;
    starved_batch(true);
}

static void test_starved_remote_batch(void **state)
{
    (void)state;
    starved_batch(false);
}

static void test_starved_event_idx(void **state)
{
    (void)state;
    starve(true);
}

static void test_starved_flags(void **state)
{
    (void)state;
    starve(false);
}

static void test_flags_burst(void **state)
{
    (void)state;
    struct vt_pair p;
    assert_int_equal(open_pair(&p, false), 0);
    assert_false(rpmsg_get_features(p.h) & RPMSG_VIRTIO_F_EVENT_IDX);
    struct rpmsg_endpoint he, re;
    struct tu_rec rr;
    tu_rec_init(&rr);
    assert_int_equal(tu_ept_create(&he, p.h, NULL, 0x700, 0x701, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&re, p.r, NULL, 0x701, 0x700, tu_rec_cb, NULL, &rr), 0);
    /* An idle receiver asks for a kick per message with flags alone... */
    uint64_t h0 = vt_rung(&p.link, 0), r0 = vt_rung(&p.link, 1);
    burst(&he, BURST);
    assert_int_equal(vt_rung(&p.link, 0) - h0, BURST);
    drain(p.r, &rr, BURST);
    /* ...but still none for buffers going back to a sender with plenty. */
    assert_int_equal(vt_rung(&p.link, 1) - r0, 0);
    struct rpmsg_virtio_stats hs = vt_stats(p.host);
    assert_int_equal(hs.notify_sent, vt_rung(&p.link, 0));
    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    tu_rec_deinit(&rr);
    vt_pair_close(&p);
}

/* ---- A starved sender is woken when another sender takes the buffers ---- */

#include <semaphore.h>

struct blocked_send {
    struct rpmsg_endpoint *ept;
    int result;
};

static void *blocked_send_run(void *arg)
{
    struct blocked_send *b = arg;
    int v = 42;
    b->result = rpmsg_send(b->ept, &v, sizeof(v));
    return NULL;
}

static bool is_waiting(void *arg)
{
    struct rpmsg_stats st;
    return rpmsg_get_stats(arg, &st) == 0 && st.tx_waits > 0;
}

/* Holds its link's RX thread until posted: a kick to that side stays unseen. */
struct gate {
    sem_t entered, open;
};

static int gate_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)data, (void)len, (void)src;
    struct gate *g = priv;
    sem_post(&g->entered);
    sem_wait(&g->open);
    return 0;
}

/*
 * Sender T waits for a buffer; the peer returns buffers and kicks, but
 * before this side's RX thread runs, another sender takes one and with it
 * switches off the kick T was waiting for: that sender must wake T itself.
 * (With the bug T waited for its whole send timeout.)
 */
static void starved_waiter(bool remote_sends)
{
    struct vt_pair p;
    uint32_t f = RPMSG_F_NS | RPMSG_F_ACK | RPMSG_VIRTIO_F_EVENT_IDX;
    struct vt_opts o = { .hfeat = f, .rfeat = f };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    struct rpmsg_device *sd = remote_sends ? p.r : p.h, *rd = remote_sends ? p.h : p.r;
    struct gate sg, rg; /* held in the sender's / the receiver's RX thread */
    sem_init(&sg.entered, 0, 0);
    sem_init(&sg.open, 0, 0);
    sem_init(&rg.entered, 0, 0);
    sem_init(&rg.open, 0, 0);
    struct rpmsg_endpoint se, re, sgate, rgate;
    struct tu_rec rr;
    tu_rec_init(&rr);
    assert_int_equal(tu_ept_create(&se, sd, NULL, 0x700, 0x701, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&re, rd, NULL, 0x701, 0x700, tu_rec_cb, NULL, &rr), 0);
    assert_int_equal(tu_ept_create(&rgate, rd, NULL, 0x702, 0x703, gate_cb, NULL, &rg), 0);
    assert_int_equal(tu_ept_create(&sgate, sd, NULL, 0x703, 0x702, gate_cb, NULL, &sg), 0);

    /* Both RX threads held: the receiver keeps what it gets, the sender
     * cannot see kicks. */
    int one = 1;
    assert_int_equal(rpmsg_trysend(&sgate, &one, sizeof(one)), (int)sizeof(one));
    assert_int_equal(sem_wait(&rg.entered), 0);
    assert_int_equal(rpmsg_trysend(&rgate, &one, sizeof(one)), (int)sizeof(one));
    assert_int_equal(sem_wait(&sg.entered), 0);
    unsigned sent = 0;
    while (rpmsg_trysend(&se, &one, sizeof(one)) == (int)sizeof(one))
        sent++;
    assert_true(sent >= 200);
    assert_int_equal(rpmsg_set_send_timeout(sd, 20000), 0);

    struct blocked_send b = { .ept = &se, .result = 1 };
    struct tu_thread t = { 0 };
    assert_int_equal(tu_thread_start(&t, blocked_send_run, &b), 0);
    assert_int_equal(tu_wait_until(is_waiting, sd, TU_TIMEOUT_MS), 0);
    /* The receiver drains and returns the buffers (kicking the sender). */
    sem_post(&rg.open);
    assert_int_equal(tu_rec_wait(&rr, sent, TU_TIMEOUT_MS), 0);
    /* The other sender, while the sender's RX thread is still held. */
    int r = -EAGAIN;
    for (uint64_t until = rpmsg_time_ms() + TU_TIMEOUT_MS; r == -EAGAIN && rpmsg_time_ms() < until;) {
        r = rpmsg_trysend(&se, &one, sizeof(one));
        if (r == -EAGAIN)
            usleep(1000); /* the last buffers may still be on their way back */
    }
    assert_int_equal(r, (int)sizeof(one));
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(b.result, (int)sizeof(int));
    sem_post(&sg.open);
    assert_int_equal(tu_rec_wait(&rr, sent + 2, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_count(&rr), sent + 2);

    rpmsg_destroy_ept(&se);
    rpmsg_destroy_ept(&re);
    rpmsg_destroy_ept(&sgate);
    rpmsg_destroy_ept(&rgate);
    tu_rec_deinit(&rr);
    vt_pair_close(&p);
    sem_destroy(&sg.entered);
    sem_destroy(&sg.open);
    sem_destroy(&rg.entered);
    sem_destroy(&rg.open);
}

/*
 * A side whose platform watches the ring while it waits (wait_ready) asks
 * for a kick only right before it sleeps: messages sent while it has only
 * looked cost no kick, the first one after it went to sleep costs one, and
 * one already there when it asks is seen without sleeping.
 */
static void test_late_arm(void **state)
{
    (void)state;
    struct vt_pair p;
    uint32_t f = RPMSG_F_NS | RPMSG_F_ACK | RPMSG_VIRTIO_F_EVENT_IDX;
    struct vt_opts o = { .hfeat = f, .rfeat = f, .no_rx_thread = true, .watch = true };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    struct rpmsg_endpoint he, re;
    struct tu_rec rr;
    tu_rec_init(&rr);
    assert_int_equal(tu_ept_create(&he, p.h, NULL, 0x700, 0x701, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&re, p.r, NULL, 0x701, 0x700, tu_rec_cb, NULL, &rr), 0);
    struct vt_end *rend = &p.link.end[1];
    rend->looks = 1;
    unsigned got = 0;

    for (int round = 0; round < 3; round++) {
        /* The remote received and looked again (its poll): no request. */
        burst(&he, BURST);
        drain(p.r, &rr, got += BURST);
        assert_int_equal(rpmsg_poll(p.r), 0);
        uint64_t h0 = vt_rung(&p.link, 0);
        burst(&he, BURST);
        assert_int_equal(vt_rung(&p.link, 0) - h0, 0);

        /* Its wait sees them at its first look: no request either. */
        unsigned a0 = rend->arms;
        assert_int_equal(p.r->ops->wait(p.r, rpmsg_time_ms() + TU_TIMEOUT_MS), 0);
        assert_int_equal(rend->arms, a0);
        drain(p.r, &rr, got += BURST);

        /* Nothing there: it asks, then sleeps until the deadline (kicks
         * rung before, for buffers given back, are forgotten first). */
        pthread_mutex_lock(&rend->m);
        rend->pending = 0;
        pthread_mutex_unlock(&rend->m);
        assert_int_equal(p.r->ops->wait(p.r, rpmsg_time_ms() + 20), -ETIMEDOUT);
        assert_int_equal(rend->arms, a0 + 1);
        /* A burst into the sleeper: one kick, which ends its next wait. */
        h0 = vt_rung(&p.link, 0);
        burst(&he, BURST);
        assert_int_equal(vt_rung(&p.link, 0) - h0, 1);
        rend->looks = 0;
        assert_int_equal(p.r->ops->wait(p.r, rpmsg_time_ms() + TU_TIMEOUT_MS), 0);
        drain(p.r, &rr, got += BURST);

        /* Messages that came after its last look, before its request: the
         * request finds them, and the wait returns without a kick (none
         * comes: they were published before it asked). */
        assert_int_equal(rpmsg_poll(p.r), 0);
        h0 = vt_rung(&p.link, 0);
        burst(&he, BURST);
        assert_int_equal(vt_rung(&p.link, 0) - h0, 0);
        a0 = rend->arms;
        assert_int_equal(p.r->ops->wait(p.r, rpmsg_time_ms() + TU_TIMEOUT_MS), 0);
        assert_int_equal(rend->arms, a0 + 1);
        drain(p.r, &rr, got += BURST);
        rend->looks = 1;
    }
    assert_int_equal(tu_rec_count(&rr), 4 * 3 * BURST);
    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    tu_rec_deinit(&rr);
    vt_pair_close(&p);
}

static void test_starved_waiter_remote(void **state)
{
    (void)state;
    starved_waiter(true);
}

static void test_starved_waiter_host(void **state)
{
    (void)state;
    starved_waiter(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_idx_burst),
        cmocka_unit_test(test_starved_event_idx),
        cmocka_unit_test(test_starved_flags),
        cmocka_unit_test(test_starved_host_batch),
        cmocka_unit_test(test_starved_remote_batch),
        cmocka_unit_test(test_flags_burst),
        cmocka_unit_test(test_starved_waiter_remote),
        cmocka_unit_test(test_starved_waiter_host),
        cmocka_unit_test(test_late_arm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
