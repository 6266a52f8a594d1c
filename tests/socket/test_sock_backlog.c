/*
 * Backlog: with backlog 2 and nobody accepting, two clients connect and a
 * third is refused (the listener answers and destroys, as NuttX does);
 * once accepted, room is made for the next. A client may also connect
 * before the listener exists: its announcement waits for it.
 */
#include "sock_fixture.h"

static void test_backlog_overflow(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *l = sf_listen(&f, "bl", 2);
    struct rpmsg_socket *c1 = sf_connect(&f, RPMSG_SOCK_STREAM, "bl");
    struct rpmsg_socket *c2 = sf_connect(&f, RPMSG_SOCK_STREAM, "bl");
    struct rpmsg_socket *c3 = NULL;
    assert_int_equal(rpmsg_socket_open(&c3, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_setopt(c3, RPMSG_SO_SNDTIMEO, TU_TIMEOUT_MS), 0);
    struct rpmsg_sockaddr a = sf_addr(f.server_cpu, "bl");
    assert_int_equal(rpmsg_socket_connect(c3, &a), -ECONNREFUSED);
    assert_int_equal(rpmsg_socket_connect(c3, &a), -EINVAL); /* a failed socket stays failed */
    rpmsg_socket_close(c3);

    struct rpmsg_socket *s1 = sf_accept(l);
    struct rpmsg_socket *c4 = sf_connect(&f, RPMSG_SOCK_STREAM, "bl");
    struct rpmsg_socket *s2 = sf_accept(l);
    struct rpmsg_socket *s4 = sf_accept(l);
    /* Each accepted socket is its client's: check with one byte each way. */
    struct rpmsg_socket *cl[3] = { c1, c2, c4 }, *sv[3] = { s1, s2, s4 };
    for (int i = 0; i < 3; i++) {
        uint8_t b = (uint8_t)(0x40 + i), g = 0;
        assert_int_equal(rpmsg_socket_send(cl[i], &b, 1, 0), 1);
        assert_int_equal(rpmsg_socket_recv(sv[i], &g, 1, 0), 1);
        assert_int_equal(g, b);
    }
    for (int i = 0; i < 3; i++) {
        rpmsg_socket_close(cl[i]);
        rpmsg_socket_close(sv[i]);
    }
    rpmsg_socket_close(l);
    sf_close(&f);
}

static void test_client_before_listener(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *c = NULL;
    assert_int_equal(rpmsg_socket_open(&c, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_setopt(c, RPMSG_SO_NONBLOCK, 1), 0);
    struct rpmsg_sockaddr a = sf_addr(f.server_cpu, "late");
    /* The announcement leaves now, before any listener exists. */
    assert_int_equal(rpmsg_socket_connect(c, &a), -EINPROGRESS);
    struct rpmsg_socket_pollfd pf = { c, RPMSG_POLLOUT, 0 };
    assert_int_equal(rpmsg_socket_poll(&pf, 1, 0), 0);
    struct rpmsg_socket *l = sf_listen(&f, "late", 1);
    struct rpmsg_socket *s = sf_accept(l);
    assert_int_equal(rpmsg_socket_poll(&pf, 1, TU_TIMEOUT_MS), 1);
    assert_int_equal(pf.revents, RPMSG_POLLOUT);
    assert_int_equal(rpmsg_socket_error(c), 0);
    assert_int_equal(rpmsg_socket_send(s, "ok", 2, 0), 2);
    assert_int_equal(rpmsg_socket_setopt(c, RPMSG_SO_NONBLOCK, 0), 0);
    assert_int_equal(rpmsg_socket_setopt(c, RPMSG_SO_RCVTIMEO, TU_TIMEOUT_MS), 0);
    char b[2];
    assert_int_equal(rpmsg_socket_recv(c, b, 2, 0), 2);
    assert_memory_equal(b, "ok", 2);
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backlog_overflow),
        cmocka_unit_test(test_client_before_listener),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
