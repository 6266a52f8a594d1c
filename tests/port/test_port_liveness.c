/*
 * Dead peers: when one side of a port link stops (torn down without a word,
 * as after kill -9, or cut off by the line), the other takes the link down
 * by itself once nothing came for the peer timeout: its services get
 * device_destroyed, and the port reports a peer timeout. When the peer comes
 * back the link comes up again and messages flow both ways. UART and SPI,
 * each side in turn. Timings are the benchmark's (bench_port); this checks
 * that it happens at all.
 */
#include <stdatomic.h>

#include "port_harness.h"

#define TIMEOUT_MS 300u

/* Rounds a case may take: see disturbed(). */
#define ROUNDS 5

struct watch {
    struct life life[2];
    struct tu_rec rec[2];
    struct rpmsg_endpoint ept[2];
    bool open[2];
};

static void watch_start(struct watch *w, struct ph_pair *p)
{
    memset(w, 0, sizeof(*w));
    for (int i = 0; i < 2; i++) {
        w->life[i].watch = p->dev[i];
        tu_event_init(&w->life[i].created);
        tu_event_init(&w->life[i].destroyed);
        tu_rec_init(&w->rec[i]);
        assert_int_equal(rpmsg_register_callback(&w->life[i], on_created, on_destroyed, NULL, NULL), 0);
        assert_int_equal(tu_event_wait(&w->life[i].created, 1, TU_TIMEOUT_MS), 0);
    }
}

static void ept_close(struct watch *w, int i)
{
    if (w->open[i])
        rpmsg_destroy_ept(&w->ept[i]);
    w->open[i] = false;
}

/* The end of a round, whatever its outcome. */
static void watch_stop(struct watch *w, struct ph_pair *p)
{
    ept_close(w, 0);
    ept_close(w, 1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rpmsg_unregister_callback(&w->life[i], on_created, on_destroyed, NULL, NULL), 0);
        assert_int_equal(w->life[i].order_bad, 0);
        tu_event_deinit(&w->life[i].created);
        tu_event_deinit(&w->life[i].destroyed);
        tu_rec_deinit(&w->rec[i]);
    }
    ph_close(p);
}

static void ept_open(struct watch *w, struct ph_pair *p, int i)
{
    memset(&w->ept[i], 0, sizeof(w->ept[i]));
    w->ept[i].priv = &w->rec[i];
    uint32_t me = i ? PH_ADDR_B : PH_ADDR_A, peer = i ? PH_ADDR_A : PH_ADDR_B;
    assert_int_equal(rpmsg_create_ept(&w->ept[i], p->dev[i], NULL, me, peer, tu_rec_cb, NULL), 0);
    w->open[i] = true;
}

/* How a side's sessions ended, for the log. */
static void dump_stats(const char *why, struct ph_pair *p, int i)
{
    struct rpmsg_port_stats s = ph_stats(p->dev[i]);
    print_message("%s: side %d connects %llu timeouts %llu resets %llu closes %llu last_end %u "
                  "stale %llu keepalives %llu rx_frames %llu tx_frames %llu lost_on_reset %llu\n",
                  why, i, (unsigned long long)s.connects, (unsigned long long)s.peer_timeouts,
                  (unsigned long long)s.peer_resets, (unsigned long long)s.peer_closes, s.last_end,
                  (unsigned long long)s.stale, (unsigned long long)s.keepalives,
                  (unsigned long long)s.rx_frames, (unsigned long long)s.tx_frames,
                  (unsigned long long)s.lost_on_reset);
}

/*
 * Side i timed out more often than the case caused (allowed). The design
 * ends a session that heard nothing for 7/8 of peer_timeout (262 ms here),
 * and on this shared 2-core machine at load 9-16 the emulated line's relay
 * thread, or both ports' RX threads at once, were seen not running for
 * 0.2-2 s while the checkers ran: both sides then time out together with
 * the peer alive, and what was in flight is lost (lost_on_reset), as
 * documented. Such a round shows nothing about dead-peer handling and is
 * run again; a case fails if no round of ROUNDS is undisturbed.
 */
static bool disturbed(struct ph_pair *p, int i, uint64_t allowed)
{
    if (ph_stats(p->dev[i]).peer_timeouts <= allowed)
        return false;
    dump_stats("round disturbed (a live peer timed out; run again)", p, i);
    return true;
}

/* One message each way, and each arrives; false if the round was disturbed
 * (allowed[i]: side i's timeouts the case caused). */
static bool exchange(struct watch *w, struct ph_pair *p, const uint64_t allowed[2])
{
    for (int i = 0; i < 2; i++) {
        unsigned long had = tu_rec_count(&w->rec[!i]);
        if (rpmsg_send(&w->ept[i], "alive", 5) != 5 || tu_rec_wait(&w->rec[!i], had + 1, TU_TIMEOUT_MS)) {
            if (disturbed(p, 0, allowed[0]) || disturbed(p, 1, allowed[1]))
                return false;
            for (int k = 0; k < 2; k++)
                dump_stats(i ? "b to a lost" : "a to b lost", p, k);
            fail_msg("a message was lost with no session ended under it");
        }
    }
    return true;
}

/* Side 'victim' stops without a word; the survivor must see it alone.
 * False: the round was disturbed. */
static bool run_dead(enum ph_kind kind, int victim)
{
    int survivor = !victim;
    struct ph_pair p;
    struct ph_opts o = { .kind = kind, .peer_timeout_ms = TIMEOUT_MS };
    assert_int_equal(ph_open(&p, &o), 0);
    assert_int_equal(ph_wait_up(&p), 0);
    struct watch w;
    watch_start(&w, &p);
    ept_open(&w, &p, 0);
    ept_open(&w, &p, 1);
    const uint64_t none[2] = { 0, 0 };
    bool ok = exchange(&w, &p, none) && !disturbed(&p, 0, 0) && !disturbed(&p, 1, 0);
    if (!ok) {
        watch_stop(&w, &p);
        return false;
    }

    ept_close(&w, victim);
    w.life[victim].watch = NULL; /* only the survivor's view counts from here */
    ph_side_close(&p, victim);
    /* Nobody comes back until the survivor has noticed. */
    assert_int_equal(tu_event_wait(&w.life[survivor].destroyed, 1, TU_TIMEOUT_MS), 0);
    if (disturbed(&p, survivor, 1)) { /* the victim's end and one more */
        watch_stop(&w, &p);
        return false;
    }
    assert_false(rpmsg_device_is_up(p.dev[survivor]));
    assert_false(rpmsg_port_is_connected(p.port[survivor]));
    struct rpmsg_port_stats s = ph_stats(p.dev[survivor]);
    assert_int_equal(s.peer_timeouts, 1);
    assert_int_equal(s.peer_resets, 0);
    /* A send into the dead link fails rather than hang. */
    assert_true(rpmsg_trysend(&w.ept[survivor], "x", 1) < 0);

    assert_int_equal(ph_side_open(&p, victim), 0);
    assert_int_equal(tu_event_wait(&w.life[survivor].created, 2, TU_TIMEOUT_MS), 0);
    assert_int_equal(ph_wait_up(&p), 0);
    ept_open(&w, &p, victim);
    uint64_t allowed[2];
    allowed[survivor] = 1;
    allowed[victim] = 0;
    ok = exchange(&w, &p, allowed) && !disturbed(&p, survivor, 1) && !disturbed(&p, victim, 0);
    if (ok) {
        assert_int_equal(tu_event_count(&w.life[survivor].destroyed), 1);
        assert_int_equal(ph_stats(p.dev[survivor]).connects, 2);
    }
    watch_stop(&w, &p);
    return ok;
}

/* The line goes dead under both: each side notices alone, and both come
 * back with the line. False: the round was disturbed. */
static bool run_cut_off(enum ph_kind kind)
{
    struct ph_pair p;
    struct ph_opts o = { .kind = kind, .peer_timeout_ms = TIMEOUT_MS };
    assert_int_equal(ph_open(&p, &o), 0);
    assert_int_equal(ph_wait_up(&p), 0);
    struct watch w;
    watch_start(&w, &p);
    ept_open(&w, &p, 0);
    ept_open(&w, &p, 1);
    const uint64_t none[2] = { 0, 0 };
    if (!exchange(&w, &p, none) || disturbed(&p, 0, 0) || disturbed(&p, 1, 0)) {
        watch_stop(&w, &p);
        return false;
    }

    if (kind == PH_UART)
        assert_int_equal(rpmsg_line_cut(p.line, 600000), 0);
    else
        assert_int_equal(rpmsg_spibus_cut(p.bus, 600000), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(tu_event_wait(&w.life[i].destroyed, 1, TU_TIMEOUT_MS), 0);
    uint64_t cut[2];
    for (int i = 0; i < 2; i++) {
        cut[i] = ph_stats(p.dev[i]).peer_timeouts;
        assert_true(cut[i] >= 1);
    }
    if (kind == PH_UART)
        assert_int_equal(rpmsg_line_cut(p.line, 0), 0);
    else
        assert_int_equal(rpmsg_spibus_cut(p.bus, 0), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(tu_event_wait(&w.life[i].created, 2, TU_TIMEOUT_MS), 0);
    bool ok = exchange(&w, &p, cut) && !disturbed(&p, 0, cut[0]) && !disturbed(&p, 1, cut[1]);
    watch_stop(&w, &p);
    return ok;
}

static void dead(enum ph_kind kind, int victim)
{
    int round = 0;
    while (round < ROUNDS && !run_dead(kind, victim))
        round++;
    assert_true(round < ROUNDS);
}

static void cut_off(enum ph_kind kind)
{
    int round = 0;
    while (round < ROUNDS && !run_cut_off(kind))
        round++;
    assert_true(round < ROUNDS);
}

static void test_uart_dead_b(void **state)
{
    (void)state;
    dead(PH_UART, 1);
}

static void test_uart_dead_a(void **state)
{
    (void)state;
    dead(PH_UART, 0);
}

static void test_spi_dead_slave(void **state)
{
    (void)state;
    dead(PH_SPI, 1);
}

static void test_spi_dead_master(void **state)
{
    (void)state;
    dead(PH_SPI, 0);
}

static void test_uart_cut_off(void **state)
{
    (void)state;
    cut_off(PH_UART);
}

static void test_spi_cut_off(void **state)
{
    (void)state;
    cut_off(PH_SPI);
}

/*
 * A reader kept off the CPU (a loaded machine) is not a dead peer: side A's
 * tty read stand-in sleeps once for 1.5 peer timeouts mid-stream, while A's
 * writer and the peer go on. The peer's frames wait in the line meanwhile;
 * the session must survive and the streams arrive whole. Before the peer
 * timeout waited for the reader, A ended the session at 7/8 of it and the
 * messages in flight were lost.
 */
struct stall_io {
    atomic_uint reads;
    unsigned stall_at; /* the read call that sleeps */
    unsigned stall_ms;
};

static ssize_t stall_read(void *ctx, int fd, void *buf, size_t len)
{
    struct stall_io *s = ctx;
    if (atomic_fetch_add(&s->reads, 1) + 1 == s->stall_at) {
        struct timespec nap = { s->stall_ms / 1000, (long)(s->stall_ms % 1000) * 1000000L };
        nanosleep(&nap, NULL);
    }
    return read(fd, buf, len);
}

static ssize_t plain_write(void *ctx, int fd, const void *buf, size_t len)
{
    (void)ctx;
    return write(fd, buf, len);
}

static void test_uart_reader_starved(void **state)
{
    (void)state;
    struct stall_io st = { .stall_at = 50, .stall_ms = 1500 };
    struct rpmsg_tty_io io = { stall_read, plain_write, &st };
    struct ph_opts o = { .kind = PH_UART, .io = { &io, NULL } };
    struct ph_pair p;
    assert_int_equal(ph_open(&p, &o), 0);
    assert_int_equal(ph_wait_up(&p), 0);
    ph_stream_both(&p, 3000, 8, 200);
    assert_true(atomic_load(&st.reads) > st.stall_at); /* the stall happened mid-stream */
    for (int i = 0; i < 2; i++) {
        struct rpmsg_port_stats s = ph_stats(p.dev[i]);
        assert_int_equal(s.peer_timeouts, 0);
        assert_int_equal(s.peer_resets, 0);
        assert_int_equal(s.connects, 1);
        assert_int_equal(s.lost_on_reset, 0);
    }
    ph_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uart_dead_b),
        cmocka_unit_test(test_uart_dead_a),
        cmocka_unit_test(test_spi_dead_slave),
        cmocka_unit_test(test_spi_dead_master),
        cmocka_unit_test(test_uart_cut_off),
        cmocka_unit_test(test_spi_cut_off),
        cmocka_unit_test(test_uart_reader_starved),
    };
    ph_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
