/*
 * RPMsg Socket on the bare-metal build (RPMSG_NO_SYS=1): one thread, both
 * devices driven by rpmsg_poll(), sockets nonblocking and polled with a zero
 * timeout. Connect, accept, 256 KiB with every byte checked, end of stream.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rpmsg/rpmsg.h"
#include "rpmsg/rpmsg_loopback.h"
#include "rpmsg/rpmsg_socket.h"

#if !RPMSG_NO_SYS
#error "this test must be built against the bare-metal library"
#endif

#define TOTAL (256u << 10)

static uint8_t byte_at(uint32_t i)
{
    return (uint8_t)(i * 7u + (i >> 9));
}

static void spin(struct rpmsg_device *a, struct rpmsg_device *b)
{
    rpmsg_poll(a);
    rpmsg_poll(b);
}

static void test_socket_poll_driven(void **st)
{
    (void)st;
    struct rpmsg_loopback_config cfg = { .num_bufs = 16, .no_rx_thread = true };
    struct rpmsg_loopback *lb;
    assert_int_equal(rpmsg_loopback_create(&lb, &cfg), 0);
    struct rpmsg_device *a = rpmsg_loopback_dev_a(lb), *b = rpmsg_loopback_dev_b(lb);
    for (int i = 0; i < 100; i++)
        spin(a, b);

    struct rpmsg_socket *l, *c, *s = NULL;
    assert_int_equal(rpmsg_socket_open(&l, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_set_device(l, b), 0);
    assert_int_equal(rpmsg_socket_setopt(l, RPMSG_SO_NONBLOCK, 1), 0);
    struct rpmsg_sockaddr la = { "", "bare" };
    assert_int_equal(rpmsg_socket_bind(l, &la), 0);
    assert_int_equal(rpmsg_socket_listen(l, 1), 0);
    assert_int_equal(rpmsg_socket_open(&c, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_set_device(c, a), 0);
    assert_int_equal(rpmsg_socket_setopt(c, RPMSG_SO_NONBLOCK, 1), 0);
    int r = rpmsg_socket_connect(c, &la);
    assert_true(r == 0 || r == -EINPROGRESS);

    struct rpmsg_socket_pollfd pf[2] = { { l, RPMSG_POLLIN, 0 }, { c, RPMSG_POLLOUT, 0 } };
    for (int i = 0; i < 100000 && !(pf[0].revents && pf[1].revents); i++) {
        spin(a, b);
        assert_true(rpmsg_socket_poll(pf, 2, 0) >= 0);
    }
    assert_int_equal(pf[0].revents, RPMSG_POLLIN);
    assert_int_equal(pf[1].revents, RPMSG_POLLOUT);
    assert_int_equal(rpmsg_socket_accept(l, &s, NULL), 0);
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_NONBLOCK, 1), 0);

    static uint8_t out[4096], in[4096];
    uint32_t sent = 0, got = 0;
    bool shut = false, eof = false;
    for (int i = 0; i < 1000000 && !eof; i++) {
        if (sent < TOTAL) {
            uint32_t n = TOTAL - sent < sizeof(out) ? TOTAL - sent : (uint32_t)sizeof(out);
            for (uint32_t k = 0; k < n; k++)
                out[k] = byte_at(sent + k);
            ssize_t w = rpmsg_socket_send(c, out, n, 0);
            assert_true(w > 0 || w == -EAGAIN);
            if (w > 0)
                sent += (uint32_t)w;
        } else if (!shut) {
            assert_int_equal(rpmsg_socket_shutdown(c, RPMSG_SHUT_WR), 0);
            shut = true;
        }
        spin(a, b);
        ssize_t n = rpmsg_socket_recv(s, in, sizeof(in), 0);
        assert_true(n >= 0 || n == -EAGAIN);
        for (ssize_t k = 0; k < n; k++)
            assert_int_equal(in[k], byte_at(got + (uint32_t)k));
        if (n > 0)
            got += (uint32_t)n;
        eof = n == 0;
        /* What a nonblocking recv only tried to send (an ack) goes now. */
        struct rpmsg_socket_pollfd q = { s, RPMSG_POLLIN, 0 };
        rpmsg_socket_poll(&q, 1, 0);
        spin(a, b);
    }
    assert_true(eof);
    assert_int_equal(got, TOTAL);
    rpmsg_socket_close(c);
    for (int i = 0; i < 100; i++)
        spin(a, b);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    rpmsg_loopback_destroy(lb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_socket_poll_driven),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
