/*
 * Datagram sockets: both ends use the same name (no connection id); one
 * binds and receives, the other connects. Boundaries are kept, a short
 * receive buffer truncates one datagram and leaves the next whole, an empty
 * datagram is a datagram, and oversize ones fail whole: -EMSGSIZE beyond one
 * message of the link, -EFBIG beyond the peer's window.
 */
#include "sock_fixture.h"

struct rx_arg {
    struct sf *f;
    struct rpmsg_socket *s;
    char first[16];
    ssize_t first_len;
};

static void *bind_and_recv(void *arg)
{
    struct rx_arg *a = arg;
    /* A bound datagram socket pairs with its name on its first receive. */
    a->first_len = rpmsg_socket_recv(a->s, a->first, sizeof(a->first), 0);
    return NULL;
}

static uint8_t big[1024];

static bool send_296(void *c)
{
    ssize_t r = rpmsg_socket_send(c, big, 296, RPMSG_MSG_DONTWAIT);
    TU_CHECK(r == 296 || r == -EAGAIN);
    return r == 296;
}

static void test_dgram(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rx_arg ra = { &f, NULL, { 0 }, -1 };
    assert_int_equal(rpmsg_socket_open(&ra.s, RPMSG_SOCK_DGRAM), 0);
    assert_int_equal(rpmsg_socket_setopt(ra.s, RPMSG_SO_RCVBUF, 600), 0);
    assert_int_equal(rpmsg_socket_setopt(ra.s, RPMSG_SO_RCVTIMEO, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_socket_setopt(ra.s, RPMSG_SO_SNDTIMEO, TU_TIMEOUT_MS), 0);
    struct rpmsg_sockaddr self = sf_addr(f.client_cpu, "dg");
    assert_int_equal(rpmsg_socket_bind(ra.s, &self), 0);
    assert_int_equal(rpmsg_socket_listen(ra.s, 1), -EOPNOTSUPP);
    struct tu_thread t;
    assert_int_equal(tu_thread_start(&t, bind_and_recv, &ra), 0);

    struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_DGRAM, "dg");
    assert_int_equal(rpmsg_socket_send(c, "first", 5, 0), 5);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(ra.first_len, 5);
    assert_memory_equal(ra.first, "first", 5);
    struct rpmsg_socket *s = ra.s;

    /* Boundaries, gather, an empty datagram. */
    struct rpmsg_iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };
    assert_int_equal(rpmsg_socket_sendv(c, iov, 3, 0), 5);
    assert_int_equal(rpmsg_socket_send(c, "", 0, 0), 0);
    assert_int_equal(rpmsg_socket_send(c, "0123456789", 10, 0), 10);
    assert_int_equal(rpmsg_socket_send(c, "z", 1, 0), 1);
    char b[64];
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 5);
    assert_memory_equal(b, "abcde", 5);
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 0);
    assert_int_equal(rpmsg_socket_recv(s, b, 4, 0), 4); /* truncated ... */
    assert_memory_equal(b, "0123", 4);
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 1); /* ... rest dropped */
    assert_int_equal(b[0], 'z');

    /* Oversize: a link message holds 512 - 16 - 12 - 4 bytes of datagram. */
    int cap = RPMSG_BUFFER_SIZE - RPMSG_HDR_SIZE - 12 - 4;
    assert_int_equal(rpmsg_socket_send(c, big, (size_t)cap + 1, 0), -EMSGSIZE);
    /* The receiver's window is 600 and 41 bytes of it are read but not yet
     * acknowledged (an ack goes once half the window is consumed). */
    assert_int_equal(rpmsg_socket_setopt(c, RPMSG_SO_NONBLOCK, 1), 0);
    assert_int_equal(rpmsg_socket_send(c, big, 296, 0), 296);
    assert_int_equal(rpmsg_socket_send(c, big, 296, 0), -EAGAIN); /* whole or not at all */
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 64);   /* ack: 341 consumed */
    /* POLLOUT means some window, not enough for any datagram: try until the
     * acknowledgement has arrived. */
    assert_int_equal(tu_wait_until(send_296, c, TU_TIMEOUT_MS), 0);
    /* ... and one larger than the window could never go: -EFBIG. */
    struct rpmsg_socket *s2 = NULL, *c2 = NULL;
    assert_int_equal(rpmsg_socket_open(&s2, RPMSG_SOCK_DGRAM), 0);
    assert_int_equal(rpmsg_socket_setopt(s2, RPMSG_SO_RCVBUF, 100), 0);
    assert_int_equal(rpmsg_socket_setopt(s2, RPMSG_SO_SNDTIMEO, TU_TIMEOUT_MS), 0);
    struct rpmsg_sockaddr a2 = sf_addr(f.client_cpu, "dg2");
    assert_int_equal(rpmsg_socket_setopt(s2, RPMSG_SO_NONBLOCK, 1), 0);
    assert_int_equal(rpmsg_socket_connect(s2, &a2), -EINPROGRESS);
    c2 = sf_connect(&f, RPMSG_SOCK_DGRAM, "dg2");
    assert_int_equal(rpmsg_socket_send(c2, big, 96, 0), 96);
    assert_int_equal(rpmsg_socket_send(c2, big, 97, 0), -EFBIG);

    struct rpmsg_socket_stats ss;
    assert_int_equal(rpmsg_socket_stats(s, &ss), 0);
    assert_int_equal(ss.malformed, 0);
    TU_ASSERT_NO_THREAD_FAILURES();
    rpmsg_socket_close(c2);
    rpmsg_socket_close(s2);
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    sf_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dgram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
