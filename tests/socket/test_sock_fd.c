/*
 * The Linux readiness descriptor follows the socket through every state,
 * as poll(2) sees it: neither readable nor writable while connecting,
 * writable once connected, readable with data and not after it is read,
 * unwritable on a full window and writable again on the acknowledgement,
 * readable on the peer's end of stream; a listener's is readable with a
 * connection waiting.
 */
#include <poll.h>

#include "sock_fixture.h"

/* The descriptor's poll(2) events now (no waiting), or after waiting for
 * want to show up. */
static short fd_events(int fd, short want)
{
    struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
    if (want) {
        uint64_t deadline = rpmsg_time_ms() + TU_TIMEOUT_MS;
        do {
            p.events = want;
            if (poll(&p, 1, 100) < 0)
                return -1;
        } while (!(p.revents & want) && rpmsg_time_ms() < deadline);
        p.events = POLLIN | POLLOUT;
    }
    p.revents = 0;
    if (poll(&p, 1, 0) < 0)
        return -1;
    return p.revents;
}

static void test_fd_follows_socket(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *l = NULL;
    assert_int_equal(rpmsg_socket_open(&l, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_setopt(l, RPMSG_SO_RCVBUF, 1000), 0);
    struct rpmsg_sockaddr a = sf_addr(f.client_cpu, "fd");
    assert_int_equal(rpmsg_socket_bind(l, &a), 0);
    assert_int_equal(rpmsg_socket_listen(l, 2), 0);
    int lfd = rpmsg_socket_fd(l);
    assert_true(lfd >= 0);
    assert_int_equal(rpmsg_socket_fd(l), lfd); /* one per socket */
    assert_int_equal(fd_events(lfd, 0), 0);

    /* A client that cannot progress (no listener of that name: "fd-other" would match "fd" by prefix, as in NuttX). */
    struct rpmsg_socket *c = NULL;
    assert_int_equal(rpmsg_socket_open(&c, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_setopt(c, RPMSG_SO_NONBLOCK, 1), 0);
    int cfd = rpmsg_socket_fd(c);
    assert_true(cfd >= 0);
    struct rpmsg_sockaddr other = sf_addr(f.server_cpu, "elsewhere");
    assert_int_equal(rpmsg_socket_connect(c, &other), -EINPROGRESS);
    assert_int_equal(fd_events(cfd, 0), 0);
    rpmsg_socket_close(c);

    c = sf_connect(&f, RPMSG_SOCK_STREAM, "fd");
    cfd = rpmsg_socket_fd(c);
    assert_int_equal(fd_events(lfd, POLLIN), POLLIN);
    struct rpmsg_socket *s = sf_accept(l);
    assert_int_equal(fd_events(lfd, 0), 0);
    int sfd = rpmsg_socket_fd(s);
    assert_int_equal(fd_events(cfd, POLLOUT), POLLOUT);
    assert_int_equal(fd_events(sfd, POLLOUT), POLLOUT);

    assert_int_equal(rpmsg_socket_send(c, "data", 4, 0), 4);
    assert_int_equal(fd_events(sfd, POLLIN), POLLIN | POLLOUT);
    char b[1000];
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 4);
    assert_int_equal(fd_events(sfd, 0), POLLOUT);

    /* Fill the server's window: the client's descriptor stops being writable. */
    static uint8_t big[1000];
    assert_int_equal(rpmsg_socket_send(c, big, 996, 0), 996);
    assert_int_equal(fd_events(cfd, 0), 0);
    for (size_t got = 0; got < 996;) { /* reading it acknowledges */
        ssize_t r = rpmsg_socket_recv(s, b, sizeof(b), 0);
        assert_true(r > 0);
        got += (size_t)r;
    }
    assert_int_equal(fd_events(cfd, POLLOUT), POLLOUT);

    /* The peer's end of stream makes it readable. */
    assert_int_equal(rpmsg_socket_shutdown(s, RPMSG_SHUT_WR), 0);
    assert_int_equal(fd_events(cfd, POLLIN), POLLIN | POLLOUT);
    assert_int_equal(rpmsg_socket_recv(c, b, sizeof(b), 0), 0);
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_follows_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
