/*
 * Between two sockets of ours a reader sleeps through a write's full DATA
 * messages and is woken at the write's end (sock_wire.h: the SYNC
 * extension's promise). A write of exactly three full messages goes as two
 * full ones, one a byte short, and that last byte alone: a reader already
 * waiting must get at least two full messages' worth at once. Woken per
 * message it would get one; if the write ended on a full DATA, nothing (its
 * receive timeout). Then a write longer than one batch of the sender's
 * (SOCK_TX_BATCH), shorter than half the window: one read gets all of it
 * (a batch ending on a short DATA would wake the reader in the middle).
 * Last, three full messages again to a reader that has consumed, without
 * acknowledging, one byte less than half the window: what it consumed does
 * not wake it early (it did, at the first of the three).
 */
#include <unistd.h>

#include "services/socket/sock_priv.h"
#include "sock_fixture.h"

static unsigned waiters_of(struct rpmsg_socket *s)
{
    rpmsg_mutex_lock(&sock_lock);
    unsigned n = s->waiters;
    rpmsg_mutex_unlock(&sock_lock);
    return n;
}

static uint32_t full_of(struct rpmsg_socket *s, bool peer)
{
    rpmsg_mutex_lock(&sock_lock);
    uint32_t n = peer ? s->peer_full : s->tx_full;
    rpmsg_mutex_unlock(&sock_lock);
    return n;
}

/* Brings what s consumed without acknowledging it to one byte short of
 * half its window (no acknowledgement goes), through c. */
static void consume_to_half(struct rpmsg_socket *c, struct rpmsg_socket *s)
{
    rpmsg_mutex_lock(&sock_lock);
    uint32_t unacked = s->recvpos - s->lastpos, half = sock_adv(s) / 2;
    rpmsg_mutex_unlock(&sock_lock);
    assert_true(unacked < half);
    size_t n = half - unacked - 1;
    uint8_t *buf = calloc(1, n);
    assert_non_null(buf);
    assert_int_equal(rpmsg_socket_send(c, buf, n, 0), (ssize_t)n);
    for (size_t got = 0; got < n;) {
        ssize_t k = rpmsg_socket_recv(s, buf + got, n - got, 0);
        assert_true(k > 0);
        got += (size_t)k;
    }
    free(buf);
    rpmsg_mutex_lock(&sock_lock);
    unacked = s->recvpos - s->lastpos;
    rpmsg_mutex_unlock(&sock_lock);
    assert_int_equal(unacked, half - 1);
}

static void run_push(enum sf_kind kind)
{
    struct sf f;
    assert_int_equal(sf_open(&f, kind), 0);
    struct rpmsg_socket *l = sf_listen(&f, "push", 1);
    struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_STREAM, "push");
    struct rpmsg_socket *s = sf_accept(l);
    uint32_t full = full_of(c, false);
    assert_true(full > 0);
    /* The client's SYNC may still be on its way after accept: it would wake
     * the reader once more (harmless, but the count below would differ). */
    uint64_t until = rpmsg_time_ms() + TU_TIMEOUT_MS;
    while (full_of(s, true) == 0 && rpmsg_time_ms() < until)
        usleep(1000);
    assert_int_equal(full_of(s, true), full);
    for (int round = 0; round < 5; round++) {
        if (round == 4)
            consume_to_half(c, s);
        size_t n = round != 3 ? 3u * full : (SOCK_TX_BATCH / full + 8) * full + 7;
        uint8_t *out = malloc(n), *in = malloc(2 * n);
        assert_non_null(out);
        assert_non_null(in);
        sf_fill(out, n, 21, (uint64_t)round * 3u * full);
        struct sf_reader r = { s, in, 2 * n, 0 };
        assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_RCVTIMEO, TU_TIMEOUT_MS), 0);
        struct tu_thread t;
        assert_int_equal(tu_thread_start(&t, sf_read_once, &r), 0);
        uint64_t deadline = rpmsg_time_ms() + TU_TIMEOUT_MS;
        while (waiters_of(s) == 0 && rpmsg_time_ms() < deadline)
            usleep(1000);
        assert_int_equal(waiters_of(s), 1);
        assert_int_equal(rpmsg_socket_send(c, out, n, 0), (ssize_t)n);
        assert_int_equal(tu_thread_join(&t, 2 * TU_TIMEOUT_MS), 0);
        if (round != 3)
            assert_true(r.got > (ssize_t)(2 * full) && r.got <= (ssize_t)n);
        else
            assert_int_equal(r.got, n);
        for (size_t got = (size_t)r.got; got < n;) {
            ssize_t k = rpmsg_socket_recv(s, in + got, n - got, 0);
            assert_true(k > 0);
            got += (size_t)k;
        }
        assert_memory_equal(in, out, n);
        free(out);
        free(in);
    }
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
}

static void test_push_loopback(void **st)
{
    (void)st;
    run_push(SF_LOOPBACK);
}

static void test_push_virtio(void **st)
{
    (void)st;
    run_push(SF_VIRTIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_loopback),
        cmocka_unit_test(test_push_virtio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
