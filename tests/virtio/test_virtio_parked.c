/*
 * A zero-copy send takes, in its round of the lock, the buffer the next
 * rpmsg_get_tx_payload_buffer() will return, and parks it; that call then
 * takes no lock (park_tx, virtio_bufs.c). Checked for both sides as
 * senders: the claim goes through while another thread holds the sender's
 * lock; a parked buffer is not lost: copy sends get it once the others are
 * gone, so a sender still fills the whole ring; a session's end
 * takes it back, so the next session's sends land in that session's
 * buffers. Every message arrives, in order, with its contents, also with
 * four threads sending at once. A zero-copy send is counted under the
 * transport's lock. Split rings here; tests/CMakeLists.txt runs
 * the file again over packed rings.
 */
#include <pthread.h>
#include <unistd.h>

#include "vt_eps.h"

#include "transport/virtio/virtio_internal.h"

struct side {
    struct rpmsg_device *sd, *rd;
    struct rpmsg_virtio *sv;
};

static struct side sides(const struct vt_pair *p, bool remote_sends)
{
    struct side s = { remote_sends ? p->r : p->h, remote_sends ? p->h : p->r,
                      remote_sends ? p->remote : p->host };
    return s;
}

/* Receives until n messages are in; checks they are first, first + 1, ... */
static void expect(struct rpmsg_device *rd, struct vt_eps *e, unsigned n, uint32_t first)
{
    while (tu_rec_count(&e->rr) < n)
        assert_true(rpmsg_poll(rd) > 0);
    assert_int_equal(tu_rec_count(&e->rr), n);
    for (unsigned i = 0; i < n; i++) {
        uint32_t got;
        assert_int_equal(e->rr.msgs[i].len, sizeof(got));
        memcpy(&got, e->rr.msgs[i].data, sizeof(got));
        assert_int_equal(got, first + i);
    }
}

struct claim {
    struct rpmsg_endpoint *ept;
    void *buf;
    bool done;
};

static void *claim_run(void *arg)
{
    struct claim *c = arg;
    uint32_t cap = 0;
    c->buf = rpmsg_get_tx_payload_buffer(c->ept, &cap, RPMSG_NOWAIT);
    __atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
    return NULL;
}

static void claim_without_lock(void **state)
{
    bool remote_sends = *(const bool *)*state;
    struct vt_pair p;
    struct vt_eps e;
    vt_eps_open(&p, &e, remote_sends);
    struct side s = sides(&p, remote_sends);
    /* The first zero-copy send after a copy one parks nothing (one-off
     * two-step sends leave the wire's order alone); the second parks. */
    vt_send_nocopy(&e.se, 0);
    assert_int_equal(s.sv->tx_parked, 0);
    vt_send_nocopy(&e.se, 1);
    assert_int_not_equal(s.sv->tx_parked, 0);

    /* The next buffer comes while another thread holds the sender's lock. */
    struct claim c = { .ept = &e.se };
    pthread_t t;
    rpmsg_lock_acquire(&s.sv->lock);
    assert_int_equal(pthread_create(&t, NULL, claim_run, &c), 0);
    /* Bounded like any wait here: a new thread on a loaded machine under
     * TSan may take a while to run at all. */
    for (uint64_t until = rpmsg_time_ms() + TU_TIMEOUT_MS;
         !__atomic_load_n(&c.done, __ATOMIC_ACQUIRE) && rpmsg_time_ms() < until;)
        usleep(1000);
    bool claimed = __atomic_load_n(&c.done, __ATOMIC_ACQUIRE);
    rpmsg_lock_release(&s.sv->lock);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(claimed);
    assert_non_null(c.buf);
    assert_int_equal(s.sv->tx_parked, 0);
    uint32_t v = 2;
    memcpy(c.buf, &v, sizeof(v));
    assert_int_equal(rpmsg_send_nocopy(&e.se, c.buf, sizeof(v)), (int)sizeof(v));
    for (uint32_t i = 3; i < 100; i++)
        vt_send_nocopy(&e.se, i);
    expect(s.rd, &e, 100, 0);
    vt_eps_close(&p, &e);
}

/* The receiver does not poll: the sender fills every buffer it has. */
static void not_stranded(void **state)
{
    bool remote_sends = *(const bool *)*state;
    struct vt_pair p;
    struct vt_eps e;
    vt_eps_open(&p, &e, remote_sends);
    struct side s = sides(&p, remote_sends);
    uint32_t num = s.sv->vq[remote_sends ? VQ_RX_HOST : VQ_TX_HOST].num;
    vt_send_nocopy(&e.se, 0);
    vt_send_nocopy(&e.se, 1);
    assert_int_not_equal(s.sv->tx_parked, 0);
    uint32_t v = 2;
    while (rpmsg_trysend(&e.se, &v, sizeof(v)) == (int)sizeof(v))
        v++;
    assert_int_equal(v, num);
    assert_int_equal(s.sv->tx_parked, 0);
    assert_int_equal(rpmsg_trysend(&e.se, &v, sizeof(v)), -EAGAIN);
    expect(s.rd, &e, num, 0);
    vt_eps_close(&p, &e);
}

/* The receiving side restarts with a buffer parked on the sending side. */
static void ends_with_session(void **state)
{
    bool remote_sends = *(const bool *)*state;
    struct vt_pair p;
    struct vt_eps e;
    vt_eps_open(&p, &e, remote_sends);
    struct side s = sides(&p, remote_sends);
    vt_send_nocopy(&e.se, 0);
    vt_send_nocopy(&e.se, 1);
    assert_int_not_equal(s.sv->tx_parked, 0);
    expect(s.rd, &e, 2, 0);

    int side = remote_sends ? 0 : 1;
    rpmsg_destroy_ept(&e.re);
    tu_rec_deinit(&e.rr);
    vt_stop(&p, side);
    assert_int_equal(vt_start(&p, side), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    assert_int_equal(s.sv->tx_parked, 0);
    s = sides(&p, remote_sends);
    tu_rec_init(&e.rr);
    assert_int_equal(tu_ept_create(&e.re, s.rd, NULL, 0x501, 0x500, tu_rec_cb, NULL, &e.rr), 0);
    assert_int_equal(tu_poll_idle(p.h, p.r), 0);
    /* The new session's buffers, all of them, and nothing else. */
    uint32_t num = s.sv->vq[remote_sends ? VQ_RX_HOST : VQ_TX_HOST].num;
    uint32_t v = 100;
    vt_send_nocopy(&e.se, v++);
    vt_send_nocopy(&e.se, v++);
    while (rpmsg_trysend(&e.se, &v, sizeof(v)) == (int)sizeof(v))
        v++;
    assert_int_equal(v - 100, num);
    expect(s.rd, &e, num, 100);
    vt_eps_close(&p, &e);
}

/*
 * Several threads send zero-copy on one device at once, each claiming the
 * buffer another may have parked: every message arrives once, each
 * thread's in its order, with its contents (and TSan sees the claims).
 */
#define SENDERS 4
#define PER_SENDER 3000u

struct many {
    unsigned count;
    uint32_t next[SENDERS];
    unsigned bad;
};

static int many_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)src;
    struct many *m = priv;
    uint32_t v[2];
    if (len != sizeof(v)) {
        __atomic_add_fetch(&m->bad, 1, __ATOMIC_RELAXED);
        return 0;
    }
    memcpy(v, data, sizeof(v));
    if (v[0] >= SENDERS || v[1] != m->next[v[0]])
        __atomic_add_fetch(&m->bad, 1, __ATOMIC_RELAXED);
    else
        m->next[v[0]]++;
    __atomic_add_fetch(&m->count, 1, __ATOMIC_RELEASE);
    return 0;
}

struct many_sender {
    struct rpmsg_endpoint *ept;
    uint32_t who;
    int err;
};

static void *many_run(void *arg)
{
    struct many_sender *s = arg;
    for (uint32_t i = 0; i < PER_SENDER && !s->err; i++) {
        uint32_t cap = 0, v[2] = { s->who, i };
        void *b = rpmsg_get_tx_payload_buffer(s->ept, &cap, RPMSG_WAIT);
        if (!b || cap < sizeof(v)) {
            s->err = -ENOBUFS;
            break;
        }
        memcpy(b, v, sizeof(v));
        int r = rpmsg_send_nocopy(s->ept, b, sizeof(v));
        if (r != (int)sizeof(v))
            s->err = r < 0 ? r : -EIO;
    }
    return NULL;
}

static bool many_done(void *arg)
{
    struct many *m = arg;
    return __atomic_load_n(&m->count, __ATOMIC_ACQUIRE) >= SENDERS * PER_SENDER;
}

static void many_senders(void **state)
{
    bool remote_sends = *(const bool *)*state;
    struct vt_pair p;
    assert_int_equal(vt_pair_open(&p, NULL), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    struct side s = sides(&p, remote_sends);
    static struct many m;
    memset(&m, 0, sizeof(m));
    struct rpmsg_endpoint se, re;
    assert_int_equal(tu_ept_create(&se, s.sd, NULL, 0x500, 0x501, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&re, s.rd, NULL, 0x501, 0x500, many_cb, NULL, &m), 0);
    struct many_sender ms[SENDERS];
    pthread_t t[SENDERS];
    for (uint32_t i = 0; i < SENDERS; i++) {
        ms[i] = (struct many_sender){ .ept = &se, .who = i };
        assert_int_equal(pthread_create(&t[i], NULL, many_run, &ms[i]), 0);
    }
    for (uint32_t i = 0; i < SENDERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (uint32_t i = 0; i < SENDERS; i++)
        assert_int_equal(ms[i].err, 0);
    assert_int_equal(tu_wait_until(many_done, &m, TU_TIMEOUT_MS), 0);
    assert_int_equal(__atomic_load_n(&m.count, __ATOMIC_ACQUIRE), SENDERS * PER_SENDER);
    assert_int_equal(m.bad, 0);
    for (uint32_t i = 0; i < SENDERS; i++)
        assert_int_equal(m.next[i], PER_SENDER);
    rpmsg_destroy_ept(&se);
    rpmsg_destroy_ept(&re);
    vt_pair_close(&p);
}

/*
 * A zero-copy send is counted by the transport, under the lock its send
 * takes (ops.send_counted), not by the core's atomic counters; one the
 * transport refuses is not counted at all.
 */
static void counted_by_transport(void **state)
{
    bool remote_sends = *(const bool *)*state;
    struct vt_pair p;
    struct vt_eps e;
    vt_eps_open(&p, &e, remote_sends);
    struct side s = sides(&p, remote_sends);
    struct rpmsg_stats st0, st1;
    assert_int_equal(rpmsg_get_stats(s.sd, &st0), 0);
    rpmsg_counter_t core0 = s.sd->tx_msgs, tp0 = s.sd->tx_msgs_tp;
    for (uint32_t v = 0; v < 3; v++)
        vt_send_nocopy(&e.se, v);
    assert_int_equal(s.sd->tx_msgs, core0);
    assert_int_equal(s.sd->tx_msgs_tp, tp0 + 3);

    /* Refused by the transport (a buffer given back first): no count. */
    uint32_t cap = 0;
    void *b = rpmsg_get_tx_payload_buffer(&e.se, &cap, RPMSG_NOWAIT);
    assert_non_null(b);
    assert_int_equal(rpmsg_release_tx_buffer(&e.se, b), 0);
    assert_int_equal(rpmsg_send_nocopy(&e.se, b, 4), -EINVAL);

    assert_int_equal(rpmsg_get_stats(s.sd, &st1), 0);
    assert_int_equal(st1.tx_msgs, st0.tx_msgs + 3);
    assert_int_equal(st1.tx_bytes, st0.tx_bytes + 3 * sizeof(uint32_t));
    expect(s.rd, &e, 3, 0);
    vt_eps_close(&p, &e);
}

/* Each case runs with the host, then the remote, as the sender. */
static bool by_host = false, by_remote = true;

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(claim_without_lock, &by_host),
        cmocka_unit_test_prestate(claim_without_lock, &by_remote),
        cmocka_unit_test_prestate(not_stranded, &by_host),
        cmocka_unit_test_prestate(not_stranded, &by_remote),
        cmocka_unit_test_prestate(ends_with_session, &by_host),
        cmocka_unit_test_prestate(ends_with_session, &by_remote),
        cmocka_unit_test_prestate(many_senders, &by_host),
        cmocka_unit_test_prestate(many_senders, &by_remote),
        cmocka_unit_test_prestate(counted_by_transport, &by_host),
        cmocka_unit_test_prestate(counted_by_transport, &by_remote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
