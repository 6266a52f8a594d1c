/*
 * The stream window towards a NuttX peer: our first SYNC advertises NuttX's
 * own 1,024 bytes (a wider one lets a NuttX sender run out of TX buffers,
 * and NuttX asserts then: test_nuttx_real_sock's NuttX client showed it);
 * between two peers of ours the SYNC extension shows who is who and a
 * second SYNC opens the whole window, both ways, before data needs it.
 */
#include "../socket/sock_fixture.h"
#include "services/socket/sock_wire.h"

static bool windows_open(void *arg)
{
    struct rpmsg_socket **s = arg;
    struct rpmsg_socket_stats a, b;
    return rpmsg_socket_stats(s[0], &a) == 0 && rpmsg_socket_stats(s[1], &b) == 0 &&
           a.peer_window == RPMSG_SOCKET_RCVBUF_DEFAULT &&
           b.peer_window == RPMSG_SOCKET_RCVBUF_DEFAULT;
}

static void both_ours(enum sf_kind kind)
{
    struct sf f;
    assert_int_equal(sf_open(&f, kind), 0);
    struct rpmsg_socket *l = sf_listen(&f, "window", 2);
    struct rpmsg_socket *s[2];
    s[0] = sf_connect(&f, RPMSG_SOCK_STREAM, "window");
    s[1] = sf_accept(l);
    assert_int_equal(tu_wait_until(windows_open, s, TU_TIMEOUT_MS), 0);
    /* More than NuttX's window in one write, without the reader reading. */
    static uint8_t out[3 * SOCK_NUTTX_WINDOW], in[sizeof(out)];
    sf_fill(out, sizeof(out), 7, 0);
    assert_int_equal(rpmsg_socket_setopt(s[0], RPMSG_SO_NONBLOCK, 1), 0);
    assert_int_equal(rpmsg_socket_send(s[0], out, sizeof(out), 0), (ssize_t)sizeof(out));
    size_t have = 0;
    while (have < sizeof(in)) {
        ssize_t n = rpmsg_socket_recv(s[1], in + have, sizeof(in) - have, 0);
        assert_true(n > 0);
        have += (size_t)n;
    }
    assert_memory_equal(in, out, sizeof(out));
    for (int i = 0; i < 2; i++) {
        struct rpmsg_socket_stats st;
        assert_int_equal(rpmsg_socket_stats(s[i], &st), 0);
        assert_int_equal(st.malformed, 0);
        assert_int_equal(rpmsg_socket_close(s[i]), 0);
    }
    assert_int_equal(rpmsg_socket_close(l), 0);
    sf_close(&f);
}

static void test_window_loopback(void **st)
{
    (void)st;
    both_ours(SF_LOOPBACK);
}

static void test_window_virtio(void **st)
{
    (void)st;
    both_ours(SF_VIRTIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_loopback),
        cmocka_unit_test(test_window_virtio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
