/*
 * Half-close both ways: after the client's SHUT_WR the server reads all
 * that was sent, then end of stream, and still writes to the client, which
 * reads it, until the server shuts too. Writing after SHUT_WR is -EPIPE;
 * after the peer's SHUT_RD as well; SHUT_RD drops and acknowledges what was
 * queued so the writer is not left waiting.
 */
#include "sock_fixture.h"

static void test_half_close(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *l = sf_listen(&f, "hc", 1);
    struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_STREAM, "hc");
    struct rpmsg_socket *s = sf_accept(l);

    assert_int_equal(rpmsg_socket_send(c, "request", 7, 0), 7);
    assert_int_equal(rpmsg_socket_shutdown(c, RPMSG_SHUT_WR), 0);
    assert_int_equal(rpmsg_socket_send(c, "x", 1, 0), -EPIPE);
    char b[32];
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 7);
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 0);
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 0); /* and stays so */
    struct rpmsg_socket_pollfd pf = { s, RPMSG_POLLIN | RPMSG_POLLOUT, 0 };
    assert_int_equal(rpmsg_socket_poll(&pf, 1, 0), 1);
    assert_int_equal(pf.revents, RPMSG_POLLIN | RPMSG_POLLOUT);

    /* The other way still works. */
    assert_int_equal(rpmsg_socket_send(s, "reply", 5, 0), 5);
    assert_int_equal(rpmsg_socket_recv(c, b, sizeof(b), 0), 5);
    assert_memory_equal(b, "reply", 5);
    assert_int_equal(rpmsg_socket_shutdown(s, RPMSG_SHUT_WR), 0);
    assert_int_equal(rpmsg_socket_recv(c, b, sizeof(b), 0), 0);
    /* Both directions shut: hang-up on both sides. */
    pf = (struct rpmsg_socket_pollfd){ c, 0, 0 };
    assert_int_equal(rpmsg_socket_poll(&pf, 1, TU_TIMEOUT_MS), 1);
    assert_int_equal(pf.revents, RPMSG_POLLHUP);
    pf = (struct rpmsg_socket_pollfd){ s, 0, 0 };
    assert_int_equal(rpmsg_socket_poll(&pf, 1, TU_TIMEOUT_MS), 1);
    assert_int_equal(pf.revents, RPMSG_POLLHUP);
    assert_int_equal(rpmsg_socket_shutdown(s, 0), -EINVAL);
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
}

static bool send_is_epipe(void *arg)
{
    return rpmsg_socket_send(arg, "y", 1, RPMSG_MSG_DONTWAIT) == -EPIPE;
}

static bool nothing_inflight(void *arg)
{
    struct rpmsg_socket_stats st;
    return rpmsg_socket_stats(arg, &st) == 0 && st.inflight == 0;
}

static void test_shut_rd(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *l = NULL;
    assert_int_equal(rpmsg_socket_open(&l, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_setopt(l, RPMSG_SO_RCVBUF, 1000), 0);
    struct rpmsg_sockaddr a = sf_addr(f.client_cpu, "rd");
    assert_int_equal(rpmsg_socket_bind(l, &a), 0);
    assert_int_equal(rpmsg_socket_listen(l, 1), 0);
    struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_STREAM, "rd");
    struct rpmsg_socket *s = sf_accept(l);
    /* Fill the server's window: the client's writer stops. */
    static uint8_t big[1000];
    assert_int_equal(rpmsg_socket_send(c, big, sizeof(big), 0), 1000);
    assert_int_equal(rpmsg_socket_send(c, big, 1, RPMSG_MSG_DONTWAIT), -EAGAIN);
    /* The server will not read: the queue is dropped and acknowledged, and
     * the client learns that writing is pointless. */
    assert_int_equal(rpmsg_socket_shutdown(s, RPMSG_SHUT_RD), 0);
    char b[4];
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 0);
    assert_int_equal(tu_wait_until(send_is_epipe, c, TU_TIMEOUT_MS), 0);
    /* Everything it sent was acknowledged, a late "y" included. */
    assert_int_equal(tu_wait_until(nothing_inflight, c, TU_TIMEOUT_MS), 0);
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_close),
        cmocka_unit_test(test_shut_rd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
