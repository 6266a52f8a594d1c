/*
 * Stream sockets: connect / accept, several MiB each way with every byte
 * checked, end of stream on close, peer credentials from SYNC; over the
 * loopback transport and over VirtIO in this process.
 */
#include <unistd.h>

#include "sock_fixture.h"

#define STREAM_BYTES (4u << 20)

static void run_stream(enum sf_kind kind)
{
    struct sf f;
    assert_int_equal(sf_open(&f, kind), 0);
    struct rpmsg_socket *l = sf_listen(&f, "stream", 4);
    struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_STREAM, "stream");
    struct rpmsg_sockaddr peer;
    struct rpmsg_socket *s = NULL;
    assert_int_equal(rpmsg_socket_accept(l, &s, &peer), 0);
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_RCVTIMEO, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_SNDTIMEO, TU_TIMEOUT_MS), 0);
    assert_string_equal(peer.cpu, f.client_cpu);
    assert_memory_equal(peer.name, "stream:", 7);

    /* Both directions at once: client -> server and server -> client. */
    sf_both_ways(c, s, STREAM_BYTES, 65536, 1000, 7777, 4096);

    struct rpmsg_sock_cred cred;
    assert_int_equal(rpmsg_socket_peercred(s, &cred), 0);
    assert_int_equal(cred.pid, (uint32_t)getpid());
    assert_int_equal(cred.uid, (uint32_t)getuid());
    assert_int_equal(cred.gid, (uint32_t)getgid());
    assert_int_equal(rpmsg_socket_peercred(c, &cred), 0);
    assert_int_equal(cred.pid, (uint32_t)getpid());

    struct rpmsg_socket_stats st;
    assert_int_equal(rpmsg_socket_stats(s, &st), 0);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(rpmsg_socket_stats(c, &st), 0);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(st.inflight, 0);

    /* Close: the other side reads the end of stream. */
    assert_int_equal(rpmsg_socket_close(c), 0);
    uint8_t b;
    assert_int_equal(rpmsg_socket_recv(s, &b, 1, 0), 0);
    assert_int_equal(rpmsg_socket_close(s), 0);
    assert_int_equal(rpmsg_socket_close(l), 0);
    sf_close(&f);
}

static void test_stream_loopback(void **st)
{
    (void)st;
    run_stream(SF_LOOPBACK);
}

static void test_stream_virtio(void **st)
{
    (void)st;
    run_stream(SF_VIRTIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_loopback),
        cmocka_unit_test(test_stream_virtio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
