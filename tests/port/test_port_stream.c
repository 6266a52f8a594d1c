/*
 * Exactly once, in order, intact: 100,000 messages each way at once over a
 * damaged line (BER 1e-4 and lost bytes), UART through ptys and termios,
 * then SPI over the simulated bus. RPMSG_PORT_TEST_MSGS sets the count
 * (ten times as many in `make soak`). Then the same at line speed with
 * default options (3 Mbaud UART, 20 MHz SPI, window 16, 64-byte messages,
 * BER 1e-4): before frames were sized to the error rate, such a stream
 * crawled (a few hundred messages a minute); the test bounds each stall,
 * not the total time.
 */
#include "port_harness.h"

#define MAXP 200u

static void run_stream(const struct ph_opts *o, uint32_t n, uint32_t fixed)
{
    struct ph_pair p;
    assert_int_equal(ph_open(&p, o), 0);
    assert_int_equal(ph_wait_up(&p), 0);

    struct ph_stream rs[2];
    struct rpmsg_endpoint ept[2];
    ph_stream_init(&rs[0], MAXP, 1); /* what A receives from B */
    ph_stream_init(&rs[1], MAXP, 2); /* what B receives from A */
    rs[0].min = rs[0].max = rs[1].min = rs[1].max = fixed ? fixed : MAXP;
    if (!fixed)
        rs[0].min = rs[1].min = 0;
    memset(ept, 0, sizeof(ept));
    ept[0].priv = &rs[0];
    ept[1].priv = &rs[1];
    assert_int_equal(rpmsg_create_ept(&ept[0], p.dev[0], NULL, PH_ADDR_A, PH_ADDR_B,
                                      ph_stream_cb, NULL), 0);
    assert_int_equal(rpmsg_create_ept(&ept[1], p.dev[1], NULL, PH_ADDR_B, PH_ADDR_A,
                                      ph_stream_cb, NULL), 0);

    struct ph_sender snd[2] = {
        { .ept = &ept[0], .count = n, .min = fixed, .max = rs[1].max, .salt = 2 },
        { .ept = &ept[1], .count = n, .min = fixed, .max = rs[0].max, .salt = 1 },
    };
    struct tu_thread th[2] = { 0 };
    for (int i = 0; i < 2; i++)
        assert_int_equal(tu_thread_start(&th[i], ph_sender_run, &snd[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(tu_thread_join(&th[i], 120000 * tu_soak_factor()), 0);
    assert_int_equal(snd[0].err, 0);
    assert_int_equal(snd[1].err, 0);
    assert_int_equal(ph_stream_wait(&rs[0], n, TU_TIMEOUT_MS), 0);
    assert_int_equal(ph_stream_wait(&rs[1], n, TU_TIMEOUT_MS), 0);

    for (int i = 0; i < 2; i++) {
        assert_int_equal(rs[i].received, n);
        assert_int_equal(rs[i].corrupt, 0);
        assert_int_equal(rs[i].misordered, 0);
        assert_int_equal(rs[i].skipped, 0);
    }
    struct rpmsg_port_stats s[2] = { ph_stats(p.dev[0]), ph_stats(p.dev[1]) };
    for (int i = 0; i < 2; i++) {
        printf("side %c: frames tx %llu rx %llu, retransmits %llu, crc %llu, resyncs %llu, "
               "dups %llu, stalls %llu, timeouts %llu\n",
               'a' + i, (unsigned long long)s[i].tx_frames, (unsigned long long)s[i].rx_frames,
               (unsigned long long)s[i].retransmits, (unsigned long long)s[i].crc_errors,
               (unsigned long long)s[i].resyncs, (unsigned long long)s[i].duplicates,
               (unsigned long long)s[i].credit_stalls, (unsigned long long)s[i].timeouts);
        assert_int_equal(s[i].tx_msgs, n);
        assert_int_equal(s[i].rx_msgs, n);
        assert_int_equal(s[i].connects, 1);
        assert_int_equal(s[i].peer_resets, 0);
        assert_int_equal(s[i].out_of_window, 0);
    }
    if (o->ber > 0) {
        /* The damage really happened and was repaired, not avoided. */
        assert_true(s[0].crc_errors + s[1].crc_errors > 0);
        assert_true(s[0].retransmits > 0 && s[1].retransmits > 0);
    }
    rpmsg_destroy_ept(&ept[0]);
    rpmsg_destroy_ept(&ept[1]);
    ph_close(&p);
    ph_stream_deinit(&rs[0]);
    ph_stream_deinit(&rs[1]);
}

static void test_uart_ber(void **state)
{
    (void)state;
    struct ph_opts o = { .kind = PH_UART, .ber = 1e-4, .drop = 2e-5, .buf_size = 256, .seed = 11 };
    run_stream(&o, ph_env_u32("RPMSG_PORT_TEST_MSGS", tu_soak(100000)), 0);
}

static void test_spi_ber(void **state)
{
    (void)state;
    struct ph_opts o = { .kind = PH_SPI, .ber = 1e-4, .drop = 2e-5, .buf_size = 256, .seed = 12 };
    run_stream(&o, ph_env_u32("RPMSG_PORT_TEST_MSGS", tu_soak(100000)), 0);
}

static void test_uart_ber_paced(void **state)
{
    (void)state;
    struct ph_opts o = { .kind = PH_UART, .rate = 3000000, .ber = 1e-4, .nbufs = 16, .seed = 13 };
    run_stream(&o, ph_env_u32("RPMSG_PORT_TEST_PACED_MSGS", tu_soak(20000)), 64);
}

static void test_spi_ber_paced(void **state)
{
    (void)state;
    struct ph_opts o = { .kind = PH_SPI, .rate = 20000000, .ber = 1e-4, .nbufs = 16, .seed = 14 };
    run_stream(&o, ph_env_u32("RPMSG_PORT_TEST_PACED_MSGS", tu_soak(20000)), 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uart_ber),
        cmocka_unit_test(test_spi_ber),
        cmocka_unit_test(test_uart_ber_paced),
        cmocka_unit_test(test_spi_ber_paced),
    };
    ph_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
