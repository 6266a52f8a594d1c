/*
 * Ports with buffers smaller than the handshake: the CONNECT body (cpu name,
 * sizes, nonces) must still fit a frame, whatever the buffer size, so the
 * default frame body is never below it and a configured one below it is
 * refused. Found by fuzz_port_rx: a 24-byte buffer gave 48-byte frames, and
 * the TX thread wrote its 56-byte CONNECT past the end of its frame buffer.
 */
#include "port_harness.h"

static struct {
    unsigned got;
} rx;

static int cb(struct rpmsg_endpoint *e, void *d, size_t l, uint32_t s, void *p)
{
    (void)e, (void)s, (void)p;
    if (l == 4 && !memcmp(d, "ping", 4))
        __atomic_add_fetch(&rx.got, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static bool got_one(void *arg)
{
    (void)arg;
    return __atomic_load_n(&rx.got, __ATOMIC_SEQ_CST) >= 1;
}

static void tiny_buffers(enum ph_kind kind)
{
    struct ph_pair p;
    struct ph_opts o = { .kind = kind, .buf_size = 24 }; /* 8 bytes of payload */
    assert_int_equal(ph_open(&p, &o), 0);
    assert_int_equal(ph_wait_up(&p), 0);
    struct rpmsg_endpoint ea, eb;
    rx.got = 0;
    assert_int_equal(rpmsg_create_ept(&ea, p.dev[0], NULL, PH_ADDR_A, PH_ADDR_B, cb, NULL), 0);
    assert_int_equal(rpmsg_create_ept(&eb, p.dev[1], NULL, PH_ADDR_B, PH_ADDR_A, cb, NULL), 0);
    assert_int_equal(rpmsg_send(&ea, "ping", 4), 4);
    assert_int_equal(tu_wait_until(got_one, NULL, TU_TIMEOUT_MS), 0);
    rpmsg_destroy_ept(&ea);
    rpmsg_destroy_ept(&eb);
    ph_close(&p);
}

static void test_tiny_buffers_uart(void **state)
{
    (void)state;
    tiny_buffers(PH_UART);
}

static void test_tiny_buffers_spi(void **state)
{
    (void)state;
    tiny_buffers(PH_SPI);
}

static void test_frame_below_handshake_refused(void **state)
{
    (void)state;
    /* Refused before the line is touched: no tty needed behind the ops. */
    struct rpmsg_port_config c = {
        .buf_size = 24, .frame_body = 48, .link = RPMSG_PORT_UART, .uart = &rpmsg_tty_ops,
    };
    struct rpmsg_port *port = NULL;
    assert_int_equal(rpmsg_port_init(&port, &c), -EINVAL);
    assert_null(port);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_buffers_uart),
        cmocka_unit_test(test_tiny_buffers_spi),
        cmocka_unit_test(test_frame_below_handshake_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
