/*
 * Peer loss. Link down: what arrived is still read, then -ECONNRESET; writes
 * (a blocked writer too) -ECONNRESET; poll HUP|ERR. Peer closed (its
 * endpoint destroyed): read drains, then 0; writes -EPIPE. VirtIO peer dying
 * mid-stream: the writer blocked on a full window gets -ECONNRESET. A peer
 * whose DESTROY has unbound our endpoint, before the socket is told: a
 * control message fails at once instead of waiting for a new binding.
 */
#include "services/socket/sock_priv.h"
#include "sock_fixture.h"

static void expect_hup_err(struct rpmsg_socket *s)
{
    struct rpmsg_socket_pollfd pf = { s, 0, 0 };
    assert_int_equal(rpmsg_socket_poll(&pf, 1, TU_TIMEOUT_MS), 1);
    assert_int_equal(pf.revents, RPMSG_POLLHUP | RPMSG_POLLERR);
}

static void test_link_down(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *l = sf_listen(&f, "ld", 1);
    struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_STREAM, "ld");
    struct rpmsg_socket *s = sf_accept(l);
    assert_int_equal(rpmsg_socket_send(c, "0123456789", 10, 0), 10);
    char b[16];
    assert_int_equal(rpmsg_socket_recv(s, b, 3, 0), 3);
    /* The second server socket: a writer blocked on a full window. */
    struct rpmsg_socket *c2 = sf_connect(&f, RPMSG_SOCK_STREAM, "ld");
    struct rpmsg_socket *s2 = sf_accept(l);
    struct sf_sender w = { c2, 3, UINT64_MAX, 65536, 1 };
    struct tu_thread t;
    assert_int_equal(tu_thread_start(&t, sf_send_thread, &w), 0);

    assert_int_equal(rpmsg_loopback_link_down(f.lp.lb), 0);
    expect_hup_err(s);
    expect_hup_err(c);
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 7);
    assert_memory_equal(b, "3456789", 7);
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), -ECONNRESET);
    assert_int_equal(rpmsg_socket_send(s, "x", 1, 0), -ECONNRESET);
    assert_int_equal(rpmsg_socket_recv(c, b, sizeof(b), 0), -ECONNRESET);
    assert_int_equal(rpmsg_socket_send(c, "x", 1, 0), -ECONNRESET);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(w.rc, -ECONNRESET);
    rpmsg_socket_close(c2);
    rpmsg_socket_close(s2);
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
}

static void test_peer_closed(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *l = sf_listen(&f, "pc", 1);
    for (int side = 0; side < 2; side++) {
        struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_STREAM, "pc");
        struct rpmsg_socket *s = sf_accept(l);
        /* side 0: the client closes; side 1: the server does. */
        struct rpmsg_socket *closer = side ? s : c, *left = side ? c : s;
        assert_int_equal(rpmsg_socket_send(closer, "bye", 3, 0), 3);
        assert_int_equal(rpmsg_socket_close(closer), 0);
        expect_hup_err(left);
        char b[8];
        assert_int_equal(rpmsg_socket_recv(left, b, sizeof(b), 0), 3);
        assert_int_equal(rpmsg_socket_recv(left, b, sizeof(b), 0), 0);
        assert_int_equal(rpmsg_socket_send(left, "x", 1, 0), -EPIPE);
        rpmsg_socket_close(left);
    }
    rpmsg_socket_close(l);
    sf_close(&f);
}

static void test_virtio_peer_dies(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_VIRTIO), 0);
    struct rpmsg_socket *l = sf_listen(&f, "vd", 1);
    struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_STREAM, "vd");
    struct rpmsg_socket *s = sf_accept(l);
    struct sf_sender w = { c, 3, UINT64_MAX, 65536, 1 };
    struct tu_thread t;
    assert_int_equal(tu_thread_start(&t, sf_send_thread, &w), 0);
    char b[1000];
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0) > 0, 1);
    /* The server's core stops answering: the host's liveness check sees it. */
    __atomic_store_n(&f.vp.link.alive[1], 0, __ATOMIC_RELEASE);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(w.rc, -ECONNRESET);
    expect_hup_err(c);
    assert_int_equal(rpmsg_socket_recv(c, b, sizeof(b), 0), -ECONNRESET);
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
}

struct shut_call {
    struct rpmsg_socket *s;
    int rc;
};

static void *shut_thread(void *arg)
{
    struct shut_call *a = arg;
    a->rc = rpmsg_socket_shutdown(a->s, RPMSG_SHUT_RDWR);
    return NULL;
}

/*
 * The window between the core's NS DESTROY handling, which unbinds a client's
 * endpoint, and sock_unbind_cb, which tells the socket: a shutdown (a bridge
 * closing after a failed write) sent its SHUTDOWN with rpmsg_send(), which
 * waited for a binding that never comes, up to the send timeout. The window
 * is made here by unbinding the endpoint as the core does.
 */
static void test_unbound_before_told(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *l = sf_listen(&f, "ub", 1);
    struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_STREAM, "ub");
    struct rpmsg_socket *s = sf_accept(l);
    /* A round trip: the handshake's last message (the server's second SYNC)
     * is in, and no message of the server's can bind c again below. */
    char b[4];
    assert_int_equal(rpmsg_socket_send(c, "a", 1, 0), 1);
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 1);
    assert_int_equal(rpmsg_socket_send(s, "b", 1, 0), 1);
    assert_int_equal(rpmsg_socket_recv(c, b, sizeof(b), 0), 1);
    assert_int_equal(b[0], 'b');
    /* Longer than the join below: a send waiting for a binding outlives it. */
    assert_int_equal(rpmsg_set_send_timeout(f.cdev, 6 * TU_TIMEOUT_MS), 0);
    rpmsg_mutex_lock(&f.cdev->lock);
    assert_int_not_equal(c->ept.dest_addr, RPMSG_ADDR_ANY);
    __atomic_store_n(&c->ept.dest_addr, RPMSG_ADDR_ANY, __ATOMIC_RELAXED);
    rpmsg_mutex_unlock(&f.cdev->lock);

    struct shut_call a = { c, 1 };
    struct tu_thread t;
    assert_int_equal(tu_thread_start(&t, shut_thread, &a), 0);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(a.rc, 0);
    /* Not sent: still owed, and the server has seen nothing. */
    rpmsg_mutex_lock(&sock_lock);
    assert_true(c->owe & OWE_SHUT);
    rpmsg_mutex_unlock(&sock_lock);
    struct rpmsg_socket_pollfd pf = { s, RPMSG_POLLIN, 0 };
    assert_int_equal(rpmsg_socket_poll(&pf, 1, 0), 0);
    assert_int_equal(rpmsg_socket_send(c, "x", 1, 0), -EPIPE); /* shut for writing */

    rpmsg_socket_close(c);
    expect_hup_err(s); /* told by the DESTROY of c's close */
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_down),
        cmocka_unit_test(test_peer_closed),
        cmocka_unit_test(test_virtio_peer_dies),
        cmocka_unit_test(test_unbound_before_told),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
