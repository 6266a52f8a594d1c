/*
 * Stream sockets: connect / accept, several MiB each way with every byte
 * checked, end of stream on close, peer credentials from SYNC; over the
 * loopback transport and over VirtIO in this process.
 */
#include <unistd.h>

#include "sock_fixture.h"

#define STREAM_BYTES (4u << 20)

struct sender {
    struct rpmsg_socket *s;
    uint32_t seed;
    uint64_t total;
    size_t chunk;
    int rc;
};

static void *send_thread(void *arg)
{
    struct sender *t = arg;
    t->rc = sf_send_stream(t->s, t->seed, t->total, t->chunk);
    if (!t->rc)
        t->rc = rpmsg_socket_shutdown(t->s, RPMSG_SHUT_WR);
    return NULL;
}

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
    struct sender up = { c, 11, STREAM_BYTES, 65536, -1 };
    struct sender down = { s, 22, STREAM_BYTES, 1000, -1 };
    struct tu_thread tu, td;
    assert_int_equal(tu_thread_start(&tu, send_thread, &up), 0);
    assert_int_equal(tu_thread_start(&td, send_thread, &down), 0);
    assert_int_equal(sf_recv_stream(s, 11, 7777), STREAM_BYTES);
    assert_int_equal(sf_recv_stream(c, 22, 4096), STREAM_BYTES);
    assert_int_equal(tu_thread_join(&tu, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_thread_join(&td, TU_TIMEOUT_MS), 0);
    assert_int_equal(up.rc, 0);
    assert_int_equal(down.rc, 0);

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
