/*
 * Nonblocking use and timeouts: connect returns -EINPROGRESS and completes
 * as POLLOUT; connect to a core with no link stays in progress; accept and
 * recv return -EAGAIN; a refused nonblocking connect shows POLLERR and its
 * error; receive and send timeouts return -EAGAIN; poll over several
 * sockets reports only the ready ones; a refusal that lands while poll
 * sends the SYNC is still reported.
 */
#include "sock_fixture.h"

static void test_nonblocking_connect_and_poll(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *l = sf_listen(&f, "nb", 4);
    assert_int_equal(rpmsg_socket_setopt(l, RPMSG_SO_NONBLOCK, 1), 0);
    struct rpmsg_socket *s = NULL;
    assert_int_equal(rpmsg_socket_accept(l, &s, NULL), -EAGAIN);

    struct rpmsg_socket *c = NULL, *lost = NULL;
    assert_int_equal(rpmsg_socket_open(&c, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_open(&lost, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_setopt(c, RPMSG_SO_NONBLOCK, 1), 0);
    assert_int_equal(rpmsg_socket_setopt(lost, RPMSG_SO_NONBLOCK, 1), 0);
    struct rpmsg_sockaddr a = sf_addr(f.server_cpu, "nb");
    struct rpmsg_sockaddr nowhere = sf_addr("nosuchcpu", "nb");
    assert_int_equal(rpmsg_socket_connect(lost, &nowhere), -EINPROGRESS);
    assert_int_equal(rpmsg_socket_connect(lost, &nowhere), -EALREADY);
    /* In progress, or already done: the listener answers from its RX thread
     * while connect runs (test_sock_backlog has the always-pending case). */
    int cr = rpmsg_socket_connect(c, &a);
    assert_true(cr == -EINPROGRESS || cr == 0);

    /* The listener becomes readable, the client writable; the lost one
     * neither. */
    struct rpmsg_socket_pollfd pf[3] = {
        { l, RPMSG_POLLIN, 0 }, { c, RPMSG_POLLOUT, 0 }, { lost, RPMSG_POLLOUT, 0 }
    };
    uint64_t deadline = rpmsg_time_ms() + TU_TIMEOUT_MS;
    while (!(pf[0].revents && pf[1].revents)) {
        assert_true(rpmsg_time_ms() < deadline);
        assert_true(rpmsg_socket_poll(pf, 3, TU_TIMEOUT_MS) >= 1);
        assert_int_equal(pf[2].revents, 0);
    }
    assert_int_equal(pf[0].revents, RPMSG_POLLIN);
    assert_int_equal(pf[1].revents, RPMSG_POLLOUT);
    assert_int_equal(rpmsg_socket_error(c), 0);
    assert_int_equal(rpmsg_socket_accept(l, &s, NULL), 0);
    assert_int_equal(rpmsg_socket_poll(&pf[2], 1, 20), 0);

    char b[4];
    assert_int_equal(rpmsg_socket_recv(c, b, sizeof(b), 0), -EAGAIN);
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), RPMSG_MSG_DONTWAIT), -EAGAIN);
    assert_int_equal(rpmsg_socket_send(s, "hi", 2, 0), 2);
    pf[1].events = RPMSG_POLLIN;
    assert_int_equal(rpmsg_socket_poll(&pf[1], 1, TU_TIMEOUT_MS), 1);
    assert_int_equal(pf[1].revents, RPMSG_POLLIN);
    assert_int_equal(rpmsg_socket_recv(c, b, sizeof(b), 0), 2);

    /* Timeouts on blocking calls. */
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_NONBLOCK, 0), 0);
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_RCVTIMEO, 30), 0);
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), -EAGAIN);
    assert_int_equal(rpmsg_socket_setopt(l, RPMSG_SO_NONBLOCK, 0), 0);
    assert_int_equal(rpmsg_socket_setopt(l, RPMSG_SO_RCVTIMEO, 30), 0);
    struct rpmsg_socket *none = NULL;
    assert_int_equal(rpmsg_socket_accept(l, &none, NULL), -EAGAIN);
    rpmsg_socket_close(lost);
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
}

static void test_send_timeout_partial(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *l = NULL;
    assert_int_equal(rpmsg_socket_open(&l, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_setopt(l, RPMSG_SO_RCVBUF, 4096), 0);
    struct rpmsg_sockaddr a = sf_addr(f.client_cpu, "to");
    assert_int_equal(rpmsg_socket_bind(l, &a), 0);
    assert_int_equal(rpmsg_socket_listen(l, 1), 0);
    struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_STREAM, "to");
    struct rpmsg_socket *s = sf_accept(l);
    /* Nobody reads: a blocking send of 10000 returns the 4096 that fit
     * once its timeout passes (POSIX partial count), then -EAGAIN. */
    assert_int_equal(rpmsg_socket_setopt(c, RPMSG_SO_SNDTIMEO, 30), 0);
    static uint8_t big[10000];
    assert_int_equal(rpmsg_socket_send(c, big, sizeof(big), 0), 4096);
    assert_int_equal(rpmsg_socket_send(c, big, sizeof(big), 0), -EAGAIN);
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
}

/* A listener of backlog 1 that one connection fills, and a nonblocking
 * socket (c2) whose connect it will refuse. */
struct full_listener {
    struct sf f;
    struct rpmsg_socket *l, *c1, *c2;
};

static void full_open(struct full_listener *k, const char *name)
{
    assert_int_equal(sf_open(&k->f, SF_LOOPBACK), 0);
    k->l = sf_listen(&k->f, name, 1);
    k->c1 = sf_connect(&k->f, RPMSG_SOCK_STREAM, name);
    k->c2 = NULL;
    assert_int_equal(rpmsg_socket_open(&k->c2, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_setopt(k->c2, RPMSG_SO_NONBLOCK, 1), 0);
}

static void full_close(struct full_listener *k)
{
    rpmsg_socket_close(k->c2);
    rpmsg_socket_close(k->c1);
    rpmsg_socket_close(k->l);
    sf_close(&k->f);
}

static void test_refused_nonblocking(void **st)
{
    (void)st;
    struct full_listener k;
    full_open(&k, "rf");
    struct rpmsg_socket *c2 = k.c2;
    struct rpmsg_sockaddr a = sf_addr(k.f.server_cpu, "rf");
    int cr = rpmsg_socket_connect(c2, &a);
    if (cr == -EINPROGRESS) {
        struct rpmsg_socket_pollfd pf = { c2, RPMSG_POLLOUT, 0 };
        assert_int_equal(rpmsg_socket_poll(&pf, 1, TU_TIMEOUT_MS), 1);
        assert_int_equal(pf.revents, RPMSG_POLLERR | RPMSG_POLLHUP);
        assert_int_equal(rpmsg_socket_error(c2), -ECONNREFUSED);
    } else {
        assert_int_equal(cr, -ECONNREFUSED); /* refused before connect returned */
    }
    assert_int_equal(rpmsg_socket_error(c2), 0);
    full_close(&k);
}

/*
 * The refusal lands while poll's connect step sends the SYNC (sock_lock
 * dropped): poll must still report it. The client's trace orders it: the
 * CREATE_ACK is held until connect has returned -EINPROGRESS, the NS
 * DESTROY until the SYNC is on its way, and the SYNC's send until the
 * destroy has been dispatched. The old step took the error for itself and
 * poll dropped it: poll slept out its timeout.
 */
static struct {
    _Atomic int armed, ns_rx, sync_started, destroy_passed, connect_returned;
} rs;

static void refuse_trace(struct rpmsg_device *rdev, void *arg, int dir, const void *msg, size_t len)
{
    (void)rdev, (void)arg;
    if (!rs.armed || len < 16)
        return;
    const uint8_t *h = msg;
    uint32_t dst = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
    if (dir == RPMSG_TRACE_RX && dst == RPMSG_NS_ADDR) {
        if (++rs.ns_rx == 1) {
            /* CREATE_ACK: connect returns first (it returned -EINPROGRESS
             * because of this; a fixed 100 ms was not always enough). */
            for (int t = 0; t < 5000 && !rs.connect_returned; t++)
                usleep(1000);
        } else {
            for (int t = 0; t < 5000 && !rs.sync_started; t++)
                usleep(1000);
            rs.destroy_passed = 1;
        }
    } else if (dir == RPMSG_TRACE_TX && dst != RPMSG_NS_ADDR && !rs.sync_started) {
        rs.sync_started = 1;
        for (int t = 0; t < 5000 && !rs.destroy_passed; t++)
            usleep(1000);
        usleep(100000); /* the destroy's dispatch: sock_unbind_cb */
    }
}

static void test_refused_during_poll_flush(void **st)
{
    (void)st;
    struct full_listener k;
    full_open(&k, "rp");
    struct rpmsg_socket *c2 = k.c2;
    assert_int_equal(rpmsg_set_trace(k.f.cdev, refuse_trace, NULL), 0);
    rs.armed = 1;
    struct rpmsg_sockaddr a = sf_addr(k.f.server_cpu, "rp");
    int cr = rpmsg_socket_connect(c2, &a);
    rs.connect_returned = 1;
    assert_int_equal(cr, -EINPROGRESS);
    struct rpmsg_socket_pollfd pf = { c2, RPMSG_POLLOUT, 0 };
    assert_int_equal(rpmsg_socket_poll(&pf, 1, TU_TIMEOUT_MS), 1);
    assert_int_equal(pf.revents, RPMSG_POLLERR | RPMSG_POLLHUP);
    assert_int_equal(rs.sync_started, 1); /* the order this test is about */
    assert_int_equal(rpmsg_socket_error(c2), -ECONNREFUSED);
    assert_int_equal(rpmsg_socket_error(c2), 0);
    rs.armed = 0;
    rpmsg_set_trace(k.f.cdev, NULL, NULL);
    full_close(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonblocking_connect_and_poll),
        cmocka_unit_test(test_send_timeout_partial),
        cmocka_unit_test(test_refused_nonblocking),
        cmocka_unit_test(test_refused_during_poll_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
