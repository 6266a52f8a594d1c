/*
 * The window towards a NuttX peer (stream and datagram): our first SYNC advertises NuttX's
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

static ssize_t first_len;

/* A bound datagram socket pairs with its name on its first receive. */
static void *first_recv(void *arg)
{
    char b[8];
    first_len = rpmsg_socket_recv(arg, b, sizeof(b), 0);
    return NULL;
}

/* Datagram sockets too (a NuttX sender bursts what the window holds): the
 * extension in their SYNC opens the whole window between two of ours. */
static void test_window_dgram(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *s[2];
    assert_int_equal(rpmsg_socket_open(&s[1], RPMSG_SOCK_DGRAM), 0);
    assert_int_equal(rpmsg_socket_setopt(s[1], RPMSG_SO_RCVTIMEO, TU_TIMEOUT_MS), 0);
    struct rpmsg_sockaddr self = sf_addr(f.client_cpu, "wdg");
    assert_int_equal(rpmsg_socket_bind(s[1], &self), 0);
    struct tu_thread t;
    assert_int_equal(tu_thread_start(&t, first_recv, s[1]), 0);
    s[0] = sf_connect(&f, RPMSG_SOCK_DGRAM, "wdg");
    assert_int_equal(rpmsg_socket_send(s[0], "x", 1, 0), 1);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(first_len, 1);
    assert_int_equal(tu_wait_until(windows_open, s, TU_TIMEOUT_MS), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(rpmsg_socket_close(s[i]), 0);
    sf_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_loopback),
        cmocka_unit_test(test_window_virtio),
        cmocka_unit_test(test_window_dgram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
