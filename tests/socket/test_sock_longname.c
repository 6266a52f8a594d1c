/*
 * Service names beyond NuttX's 10 characters between two peers of ours.
 * The endpoint name holds only 2 characters and a CRC, so the two 31-char
 * names below (same first 2 characters, same NuttX CRC32) share one
 * endpoint name; the full name in the SYNC extension tells them apart:
 * a client of one reaches its listener and streams both ways, a client of
 * the other is refused (-ECONNREFUSED) and the listener's side of that
 * connection ends (reset if the client's SYNC came, else when the refused
 * client closes). Loopback and VirtIO.
 */
#include "sock_fixture.h"
#include "services/socket/sock_wire.h"

#define NAME_A "ab-long-service-name-twin-l98cu"
#define NAME_B "ab-long-service-name-twin-pvdba"

static void run_longname(enum sf_kind kind)
{
    char ea[RPMSG_NAME_SIZE], eb[RPMSG_NAME_SIZE];
    assert_int_equal(strlen(NAME_A), 31);
    assert_int_equal(sock_ept_name(ea, sizeof(ea), NAME_A, false, 0),
                     sock_ept_name(eb, sizeof(eb), NAME_B, false, 0));
    assert_string_equal(ea, eb); /* the twins NuttX cannot tell apart */

    struct sf f;
    assert_int_equal(sf_open(&f, kind), 0);
    struct rpmsg_socket *l = sf_listen(&f, NAME_A, 4);

    /* The twin: refused, and the listener's side of it reset. */
    struct rpmsg_socket *w = NULL;
    assert_int_equal(rpmsg_socket_open(&w, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_setopt(w, RPMSG_SO_SNDTIMEO, TU_TIMEOUT_MS), 0);
    struct rpmsg_sockaddr b = sf_addr(f.server_cpu, NAME_B);
    assert_int_equal(rpmsg_socket_connect(w, &b), -ECONNREFUSED);
    struct rpmsg_socket *ws = sf_accept(l);
    assert_int_equal(rpmsg_socket_close(w), 0);
    uint8_t x;
    assert_true(rpmsg_socket_recv(ws, &x, 1, 0) <= 0); /* reset, or the end */
    assert_int_equal(rpmsg_socket_close(ws), 0);

    /* The right one: a stream both ways, every byte checked. */
    struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_STREAM, NAME_A);
    struct rpmsg_socket *s = sf_accept(l);
    sf_both_ways(c, s, 256u << 10, 4096, 1000, 777, 4096);
    struct rpmsg_socket_stats st;
    assert_int_equal(rpmsg_socket_stats(s, &st), 0);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(rpmsg_socket_close(c), 0);
    assert_int_equal(rpmsg_socket_recv(s, &x, 1, 0), 0);
    assert_int_equal(rpmsg_socket_close(s), 0);
    assert_int_equal(rpmsg_socket_close(l), 0);
    sf_close(&f);
}

static void test_longname_loopback(void **st)
{
    (void)st;
    run_longname(SF_LOOPBACK);
}

static void test_longname_virtio(void **st)
{
    (void)st;
    run_longname(SF_VIRTIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_longname_loopback),
        cmocka_unit_test(test_longname_virtio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
