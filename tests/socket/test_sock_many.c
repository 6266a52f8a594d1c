/*
 * 64 connections on one link at once, driven from one thread with
 * nonblocking sockets and poll: each carries its own checksummed stream to
 * the end while one connection's reader never reads. Its writer fills the
 * window and stops; nobody else notices.
 */
#include "sock_fixture.h"

#define NCONN 64
#define PER_CONN (256u << 10)
#define STALLED 7
#define WINDOW (64u << 10) /* under PER_CONN: the stalled writer fills it */

struct conn {
    struct rpmsg_socket *c, *s;
    uint64_t sent, rcvd;
    bool eof;
};

static void run_many(enum sf_kind kind)
{
    struct sf f;
    struct rpmsg_loopback_config cfg = { .num_bufs = 64 };
    assert_int_equal(sf_open_cfg(&f, kind, &cfg), 0);
    struct rpmsg_socket *l = sf_listen(&f, "many", NCONN);
    assert_int_equal(rpmsg_socket_setopt(l, RPMSG_SO_RCVBUF, WINDOW), 0);
    static struct conn cs[NCONN];
    memset(cs, 0, sizeof(cs));
    for (int i = 0; i < NCONN; i++) {
        cs[i].c = sf_connect(&f, RPMSG_SOCK_STREAM, "many");
        cs[i].s = sf_accept(l);
        assert_int_equal(rpmsg_socket_setopt(cs[i].c, RPMSG_SO_NONBLOCK, 1), 0);
        assert_int_equal(rpmsg_socket_setopt(cs[i].s, RPMSG_SO_NONBLOCK, 1), 0);
    }
    /* Accepted in connect order: client i talks to server i. Each stream's
     * seed is its index, so a crossed pair would fail the check. */
    static uint8_t buf[8192];
    static struct rpmsg_socket_pollfd pf[2 * NCONN];
    unsigned done = 0;
    uint64_t deadline = rpmsg_time_ms() + 6 * TU_TIMEOUT_MS;
    while (done < NCONN - 1) {
        assert_true(rpmsg_time_ms() < deadline);
        unsigned n = 0;
        for (int i = 0; i < NCONN; i++) {
            if (cs[i].sent < PER_CONN)
                pf[n++] = (struct rpmsg_socket_pollfd){ cs[i].c, RPMSG_POLLOUT, 0 };
            if (i != STALLED && !cs[i].eof)
                pf[n++] = (struct rpmsg_socket_pollfd){ cs[i].s, RPMSG_POLLIN, 0 };
        }
        int ready = rpmsg_socket_poll(pf, n, TU_TIMEOUT_MS);
        if (ready <= 0) {
            for (int i = 0; i < NCONN; i++) {
                struct rpmsg_socket_stats a, b;
                rpmsg_socket_stats(cs[i].c, &a);
                rpmsg_socket_stats(cs[i].s, &b);
                if (cs[i].sent < PER_CONN || !cs[i].eof)
                    print_error("%d sent %lu rcvd %lu eof %d | c infl %u win %u q %u | s q %u mal %lu\n", i,
                                (unsigned long)cs[i].sent, (unsigned long)cs[i].rcvd, cs[i].eof,
                                a.inflight, a.peer_window, a.queued, b.queued, (unsigned long)b.malformed);
            }
        }
        assert_true(ready > 0);
        for (int i = 0; i < NCONN; i++) {
            struct conn *k = &cs[i];
            if (k->sent < PER_CONN) {
                size_t want = PER_CONN - k->sent < sizeof(buf) ? PER_CONN - k->sent : sizeof(buf);
                sf_fill(buf, want, (uint32_t)i, k->sent);
                ssize_t w = rpmsg_socket_send(k->c, buf, want, 0);
                assert_true(w > 0 || w == -EAGAIN);
                if (w > 0)
                    k->sent += (uint64_t)w;
                if (k->sent == PER_CONN)
                    assert_int_equal(rpmsg_socket_shutdown(k->c, RPMSG_SHUT_WR), 0);
            }
            if (i == STALLED || k->eof)
                continue;
            ssize_t r = rpmsg_socket_recv(k->s, buf, sizeof(buf), 0);
            assert_true(r >= 0 || r == -EAGAIN);
            for (ssize_t j = 0; j < r; j++)
                assert_int_equal(buf[j], sf_byte((uint32_t)i, k->rcvd + (uint64_t)j));
            if (r > 0)
                k->rcvd += (uint64_t)r;
            if (r == 0) {
                assert_int_equal(k->rcvd, PER_CONN);
                k->eof = true;
                done++;
            }
        }
    }
    /* The stalled one: exactly its window went, then its writer stopped. */
    struct rpmsg_socket_stats st;
    assert_int_equal(rpmsg_socket_stats(cs[STALLED].s, &st), 0);
    assert_int_equal(st.queued, WINDOW);
    assert_int_equal(cs[STALLED].sent, WINDOW);
    assert_int_equal(rpmsg_socket_send(cs[STALLED].c, buf, 1, 0), -EAGAIN);
    /* Reading it now lets it finish too. */
    assert_int_equal(rpmsg_socket_setopt(cs[STALLED].s, RPMSG_SO_NONBLOCK, 0), 0);
    assert_int_equal(rpmsg_socket_setopt(cs[STALLED].c, RPMSG_SO_NONBLOCK, 0), 0);
    uint8_t one[4096];
    for (uint64_t got = 0; got < 4096;) {
        ssize_t r = rpmsg_socket_recv(cs[STALLED].s, one, sizeof(one) - got, 0);
        assert_true(r > 0);
        got += (uint64_t)r;
    }
    for (int i = 0; i < NCONN; i++) {
        rpmsg_socket_close(cs[i].c);
        rpmsg_socket_close(cs[i].s);
    }
    rpmsg_socket_close(l);
    sf_close(&f);
}

static void test_many_loopback(void **st)
{
    (void)st;
    run_many(SF_LOOPBACK);
}

static void test_many_virtio(void **st)
{
    (void)st;
    run_many(SF_VIRTIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_loopback),
        cmocka_unit_test(test_many_virtio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
