/*
 * `rpmsg sock` as two separate programs over a native VirtIO link: one
 * bridges rpmsg-listen:echo to a TCP echo server run by this test, the
 * other tcp-listen: to rpmsg:echo. A TCP client sends 4 MiB through both
 * bridges and reads every byte back, in order, then end of stream; both
 * bridges exit 0 after their one connection. The binary comes from
 * $RPMSG_TEST_BIN_DIR/rpmsg; the link name holds our pid.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sock_fixture.h"
#include "sock_bridge.h"

#define BRIDGE_BYTES (4u << 20)

static pid_t kids[2];

static void kill_kids(void)
{
    for (int i = 0; i < 2; i++)
        sp_stop(&kids[i], SIGKILL);
}

static void test_tcp_through_two_bridges(void **st)
{
    (void)st;
    const char *dir = getenv("RPMSG_TEST_BIN_DIR");
    char bin[512], link[64], tcp_to[64], tcp_listen[64];
    snprintf(bin, sizeof(bin), "%s/rpmsg", dir ? dir : ".");
    snprintf(link, sizeof(link), "rpmsg-test-sock-%d", (int)getpid());
    uint16_t echo_port = 0, front_port = 0;
    int efd = sp_listen_any(&echo_port);
    assert_true(efd >= 0);
    /* The front port: found free here, given to the bridge to listen on. */
    front_port = sp_free_port();
    assert_true(front_port > 0);
    snprintf(tcp_to, sizeof(tcp_to), "tcp:127.0.0.1:%u", echo_port);
    snprintf(tcp_listen, sizeof(tcp_listen), "tcp-listen:127.0.0.1:%u", front_port);
    struct tu_thread et;
    assert_int_equal(tu_thread_start(&et, sb_echo_server, &efd), 0);

    char *back[] = { bin, "sock", "--link", link, "--role", "remote", "--side", "create",
                     "--count", "1", "rpmsg-listen:echo", tcp_to, NULL };
    char *front[] = { bin, "sock", "--link", link, "--count", "1", tcp_listen, "rpmsg:echo", NULL };
    kids[0] = sp_spawn(back, NULL);
    kids[1] = sp_spawn(front, NULL);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(front_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int c = sb_connect(AF_INET, (struct sockaddr *)&a, sizeof(a));
    if (c < 0)
        kill_kids();
    assert_true(c >= 0);
    struct sb_writer w = { c, BRIDGE_BYTES, 77, -1 };
    struct tu_thread wt;
    assert_int_equal(tu_thread_start(&wt, sb_write_all, &w), 0);
    bool same;
    uint64_t got = sb_read_check(c, 77, &same);
    close(c);
    int rb = sp_exit_code(&kids[0], TU_TIMEOUT_MS), rf = sp_exit_code(&kids[1], TU_TIMEOUT_MS);
    kill_kids();
    assert_int_equal(tu_thread_join(&wt, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_thread_join(&et, TU_TIMEOUT_MS), 0);
    close(efd);
    TU_ASSERT_NO_THREAD_FAILURES();
    assert_int_equal(w.rc, 0);
    assert_int_equal(got, BRIDGE_BYTES);
    assert_true(same);
    assert_int_equal(rf, 0);
    assert_int_equal(rb, 0);
}

int main(void)
{
    atexit(kill_kids);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_through_two_bridges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
