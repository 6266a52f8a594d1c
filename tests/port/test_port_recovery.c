/*
 * Links that break and come back: a line cut long enough for the
 * retransmission timer to fire, and shorter than the peer timeout, loses
 * nothing; a
 * peer torn down and created again mid-stream is seen as a reboot (the core
 * gets device_destroyed, then device_created) and traffic resumes, in order
 * and without duplicates. Both over UART and over SPI.
 */
#include "port_harness.h"

#define MAXP 120u

static void open_stream_epts(struct ph_pair *p, struct rpmsg_endpoint ept[2], struct ph_stream rs[2])
{
    ph_stream_init(&rs[0], MAXP, 1);
    ph_stream_init(&rs[1], MAXP, 2);
    memset(ept, 0, 2 * sizeof(*ept));
    ept[0].priv = &rs[0];
    ept[1].priv = &rs[1];
    assert_int_equal(rpmsg_create_ept(&ept[0], p->dev[0], NULL, PH_ADDR_A, PH_ADDR_B, ph_stream_cb, NULL), 0);
    assert_int_equal(rpmsg_create_ept(&ept[1], p->dev[1], NULL, PH_ADDR_B, PH_ADDR_A, ph_stream_cb, NULL), 0);
}

static double secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Either of A's timers: retransmission (data in flight) or credit probe
 * (data queued, no credit: the peer's credit update may be lost). Which
 * one fires depends on where the cut caught A. */
static uint64_t timer_count(struct rpmsg_device *d)
{
    struct rpmsg_port_stats s = ph_stats(d);
    return s.timeouts + s.credit_probes;
}

struct timer_arg {
    struct rpmsg_device *d;
    uint64_t fired;
};

static bool timer_fired(void *arg)
{
    struct timer_arg *a = arg;
    return timer_count(a->d) > a->fired;
}

static void run_cut(const struct ph_opts *o)
{
    double t0 = secs();
    const uint32_t n = 20000;
    struct ph_pair p;
    assert_int_equal(ph_open(&p, o), 0);
    assert_int_equal(ph_wait_up(&p), 0);
    struct rpmsg_endpoint ept[2];
    struct ph_stream rs[2];
    open_stream_epts(&p, ept, rs);
    struct ph_sender snd[2] = {
        { .ept = &ept[0], .count = n, .max = MAXP, .salt = 2 },
        { .ept = &ept[1], .count = n, .max = MAXP, .salt = 1 },
    };
    /* A probe pair outside the streams: one message sent into the cut line
     * guarantees the cut is felt, however far the streams have got. */
    struct rpmsg_endpoint probe[2];
    struct tu_rec probe_rec;
    tu_rec_init(&probe_rec);
    memset(probe, 0, sizeof(probe));
    probe[1].priv = &probe_rec;
    assert_int_equal(rpmsg_create_ept(&probe[0], p.dev[0], NULL, 0x300, 0x301, NULL, NULL), 0);
    assert_int_equal(rpmsg_create_ept(&probe[1], p.dev[1], NULL, 0x301, 0x300, tu_rec_cb, NULL), 0);
    struct tu_thread th[2] = { 0 };
    for (int i = 0; i < 2; i++)
        assert_int_equal(tu_thread_start(&th[i], ph_sender_run, &snd[i]), 0);

    /* Cut while both directions are busy, and keep it cut until A's
     * retransmission timer has fired, however slowly this machine runs
     * (a fixed-length cut could end before a descheduled sender noticed). */
    assert_int_equal(ph_stream_wait(&rs[1], 2000, TU_TIMEOUT_MS), 0);
    struct rpmsg_port_stats before = ph_stats(p.dev[0]);
    if (o->kind == PH_UART)
        assert_int_equal(rpmsg_line_cut(p.line, 60000), 0);
    else
        assert_int_equal(rpmsg_spibus_cut(p.bus, 60000), 0);
    /* Without a free buffer for the probe, A has messages in flight, which
     * the cut holds up just as well; the probe then goes after the cut. */
    bool probe_sent = rpmsg_trysend(&probe[0], "probe", 5) == 5;
    struct timer_arg ta = { p.dev[0], before.timeouts + before.credit_probes };
    assert_int_equal(tu_wait_until(timer_fired, &ta, TU_TIMEOUT_MS), 0);
    if (o->kind == PH_UART)
        assert_int_equal(rpmsg_line_cut(p.line, 0), 0);
    else
        assert_int_equal(rpmsg_spibus_cut(p.bus, 0), 0);
    if (!probe_sent)
        assert_int_equal(rpmsg_send(&probe[0], "probe", 5), 5);
    assert_int_equal(tu_rec_wait(&probe_rec, 1, TU_TIMEOUT_MS), 0);

    for (int i = 0; i < 2; i++)
        assert_int_equal(tu_thread_join(&th[i], 60000), 0);
    assert_int_equal(snd[0].err, 0);
    assert_int_equal(snd[1].err, 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ph_stream_wait(&rs[i], n, TU_TIMEOUT_MS), 0);
        assert_int_equal(rs[i].received, n);
        assert_int_equal(rs[i].corrupt, 0);
        assert_int_equal(rs[i].misordered, 0);
        assert_int_equal(rs[i].skipped, 0);
    }
    struct rpmsg_port_stats after = ph_stats(p.dev[0]);
    printf("cut: %.2f s, timeouts %llu, credit probes %llu\n", secs() - t0,
           (unsigned long long)(after.timeouts - before.timeouts),
           (unsigned long long)(after.credit_probes - before.credit_probes));
    /* The cut was felt (timer expiries) but not as a reset. */
    assert_true(timer_count(p.dev[0]) > ta.fired);
    assert_int_equal(after.connects, 1);
    assert_int_equal(after.peer_resets, 0);
    if (o->kind == PH_UART) {
        struct rpmsg_line_stats ls;
        rpmsg_line_get_stats(p.line, &ls);
        assert_true(ls.dropped[0] + ls.dropped[1] > 0);
    }
    assert_int_equal(tu_rec_count(&probe_rec), 1);
    rpmsg_destroy_ept(&probe[0]);
    rpmsg_destroy_ept(&probe[1]);
    tu_rec_deinit(&probe_rec);
    rpmsg_destroy_ept(&ept[0]);
    rpmsg_destroy_ept(&ept[1]);
    ph_close(&p);
    ph_stream_deinit(&rs[0]);
    ph_stream_deinit(&rs[1]);
}

static void test_uart_cut(void **state)
{
    (void)state;
    /* A cut shorter than the peer timeout: the session survives it. */
    struct ph_opts o = { .kind = PH_UART, .peer_timeout_ms = 60000 };
    run_cut(&o);
}

static void test_spi_cut(void **state)
{
    (void)state;
    /* A cut shorter than the peer timeout: the session survives it. */
    struct ph_opts o = { .kind = PH_SPI, .peer_timeout_ms = 60000 };
    run_cut(&o);
}

/* ---- Peer restart ---------------------------------------------------------- */

static void run_restart(const struct ph_opts *o)
{
    const uint32_t n = 12000;
    double t0 = secs();
    struct ph_pair p;
    assert_int_equal(ph_open(&p, o), 0);
    assert_int_equal(ph_wait_up(&p), 0);

    struct life life = { .watch = p.dev[0] };
    tu_event_init(&life.created);
    tu_event_init(&life.destroyed);
    assert_int_equal(rpmsg_register_callback(&life, on_created, on_destroyed, NULL, NULL), 0);
    assert_int_equal(tu_event_wait(&life.created, 1, TU_TIMEOUT_MS), 0);

    struct rpmsg_endpoint ept[2];
    struct ph_stream rs[2];
    open_stream_epts(&p, ept, rs);
    /* The sender pauses halfway until B is gone: however fast or slow this
     * machine, part of the stream is left for the new B. */
    struct ph_sender snd = { .ept = &ept[0], .count = n, .max = MAXP, .salt = 2, .retry = true,
                             .hold_at = n / 2 };
    struct tu_thread th = { 0 };
    assert_int_equal(tu_thread_start(&th, ph_sender_run, &snd), 0);

    /* Mid-stream, B goes away and comes back as a new instance. */
    assert_int_equal(ph_stream_wait(&rs[1], 3000, TU_TIMEOUT_MS), 0);
    rpmsg_destroy_ept(&ept[1]);
    ph_side_close(&p, 1);
    snd.release = true; /* it now sends into a lost link and retries */
    uint32_t seen = rs[1].next;
    printf("closed at %.2f s\n", secs() - t0);
    usleep(100 * 1000);
    assert_int_equal(ph_side_open(&p, 1), 0);
    struct ph_stream fresh;
    ph_stream_init(&fresh, MAXP, 2);
    fresh.allow_gaps = true; /* messages in flight at the reboot are lost, and said so */
    fresh.next = seen;
    memset(&ept[1], 0, sizeof(ept[1]));
    ept[1].priv = &fresh;
    assert_int_equal(rpmsg_create_ept(&ept[1], p.dev[1], NULL, PH_ADDR_B, PH_ADDR_A, ph_stream_cb, NULL), 0);

    assert_int_equal(tu_event_wait(&life.destroyed, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_event_wait(&life.created, 2, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_thread_join(&th, 60000), 0);
    assert_int_equal(snd.err, 0);
    assert_int_equal(ph_stream_wait(&fresh, n, TU_TIMEOUT_MS), 0);
    printf("restart: %.2f s, skipped %u\n", secs() - t0, fresh.skipped);

    assert_int_equal(life.order_bad, 0);
    assert_int_equal(tu_event_count(&life.destroyed), 1);
    assert_int_equal(tu_event_count(&life.created), 2);
    assert_int_equal(fresh.corrupt, 0);
    assert_int_equal(fresh.misordered, 0); /* no duplicate, nothing out of order */
    assert_true(fresh.received > 0);
    struct rpmsg_port_stats s = ph_stats(p.dev[0]);
    /* Seen as a reboot, or, on a slow run, as a silence first. */
    assert_int_equal(s.peer_resets + s.peer_timeouts, 1);
    assert_int_equal(s.connects, 2);

    assert_int_equal(rpmsg_unregister_callback(&life, on_created, on_destroyed, NULL, NULL), 0);
    rpmsg_destroy_ept(&ept[0]);
    rpmsg_destroy_ept(&ept[1]);
    ph_close(&p);
    ph_stream_deinit(&rs[0]);
    ph_stream_deinit(&rs[1]);
    ph_stream_deinit(&fresh);
    tu_event_deinit(&life.created);
    tu_event_deinit(&life.destroyed);
}

static void test_uart_restart(void **state)
{
    (void)state;
    struct ph_opts o = { .kind = PH_UART };
    run_restart(&o);
}

static void test_spi_restart(void **state)
{
    (void)state;
    struct ph_opts o = { .kind = PH_SPI };
    run_restart(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uart_cut),
        cmocka_unit_test(test_spi_cut),
        cmocka_unit_test(test_uart_restart),
        cmocka_unit_test(test_spi_restart),
    };
    ph_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
