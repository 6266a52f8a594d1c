/*
 * `rpmsg sock` with datagrams, as two programs over a native VirtIO link:
 * udp-listen: -> rpmsg-dgram:dg, and rpmsg-dgram-listen:dg -> udp: (an
 * echo server run here). Each datagram comes back whole and alone (an
 * empty one too); one too long for the link is refused with a message on
 * the bridge's stderr, and the next one still goes through.
 * Names hold our pid.
 */
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>

#include "sock_fixture.h"
#include "sock_bridge.h"

static pid_t kids[2];
static char errlog[96];
static atomic_bool echo_stop;

static void cleanup(void)
{
    for (int i = 0; i < 2; i++)
        sp_stop(&kids[i], SIGKILL);
    if (errlog[0])
        unlink(errlog);
}

static int udp_bound(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    if (fd >= 0 && (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
                    getsockname(fd, (struct sockaddr *)&a, &al))) {
        close(fd);
        fd = -1;
    }
    *port = fd >= 0 ? ntohs(a.sin_port) : 0;
    return fd;
}

static void *udp_echo(void *arg)
{
    int fd = *(int *)arg;
    static uint8_t buf[65536];
    while (!echo_stop) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 100) <= 0)
            continue;
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        if (n >= 0)
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

/* The next reply that is not a probe's echo: its length, -1 on timeout. */
static ssize_t reply(int fd, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
    uint64_t deadline = rpmsg_time_ms() + timeout_ms;
    while (rpmsg_time_ms() < deadline) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = recv(fd, buf, cap, 0);
        if (n >= 0 && !(n > 0 && buf[0] == 'p'))
            return n;
    }
    return -1;
}

static bool log_has(const char *path, const char *what)
{
    static char text[8192];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    return strstr(text, what) != NULL;
}

static void test_datagrams_through_two_bridges(void **st)
{
    (void)st;
    const char *dir = getenv("RPMSG_TEST_BIN_DIR");
    char bin[512], link[64], to[64], from[64];
    snprintf(bin, sizeof(bin), "%s/rpmsg", dir ? dir : ".");
    snprintf(link, sizeof(link), "rpmsg-test-sockdg-%d", (int)getpid());
    snprintf(errlog, sizeof(errlog), "/tmp/rpmsg-test-sockdg-%d.log", (int)getpid());
    uint16_t echo_port, front_port;
    int efd = udp_bound(&echo_port);
    assert_true(efd >= 0);
    /* The front port: found free here, given to the bridge. */
    int tmp = udp_bound(&front_port);
    assert_true(tmp >= 0);
    close(tmp);
    snprintf(to, sizeof(to), "udp:127.0.0.1:%u", echo_port);
    snprintf(from, sizeof(from), "udp-listen:127.0.0.1:%u", front_port);
    struct tu_thread et;
    assert_int_equal(tu_thread_start(&et, udp_echo, &efd), 0);
    char *back[] = { bin, "sock", "--link", link, "--role", "remote", "--side", "create",
                     "rpmsg-dgram-listen:dg", to, NULL };
    char *front[] = { bin, "sock", "--link", link, from, "rpmsg-dgram:dg", NULL };
    kids[0] = sp_spawn(back, NULL);
    kids[1] = sp_spawn_io(front, NULL, NULL, errlog);

    int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in fa = { .sin_family = AF_INET, .sin_port = htons(front_port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_true(c >= 0);
    /* Probes until one comes back: both bridges and the link are up. Late
     * echoes of other probes are skipped below. */
    static uint8_t buf[4096], got[4096];
    bool up = false;
    uint64_t deadline = rpmsg_time_ms() + 3 * TU_TIMEOUT_MS;
    for (int k = 0; !up && rpmsg_time_ms() < deadline; k++) {
        int n = snprintf((char *)buf, sizeof(buf), "p%d", k);
        sendto(c, buf, (size_t)n, 0, (struct sockaddr *)&fa, sizeof(fa));
        struct pollfd p = { c, POLLIN, 0 };
        up = poll(&p, 1, 200) > 0 && recv(c, got, sizeof(got), 0) > 0;
    }
    assert_true(up);

    static const size_t sizes[] = { 1, 0, 100, 7, 400, 2, 0, 333 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        sf_fill(buf, sizes[i], (uint8_t)i, 0);
        if (sizes[i])
            buf[0] = 'd';
        assert_int_equal(sendto(c, buf, sizes[i], 0, (struct sockaddr *)&fa, sizeof(fa)),
                         sizes[i]);
        assert_int_equal(reply(c, got, sizeof(got), TU_TIMEOUT_MS), sizes[i]);
        assert_memory_equal(got, buf, sizes[i]);
    }
    /* Too long for one message of the link: refused; the next one is the
     * next reply. */
    memset(buf, 'd', 2000);
    assert_int_equal(sendto(c, buf, 2000, 0, (struct sockaddr *)&fa, sizeof(fa)), 2000);
    assert_int_equal(sendto(c, "dafter", 6, 0, (struct sockaddr *)&fa, sizeof(fa)), 6);
    assert_int_equal(reply(c, got, sizeof(got), TU_TIMEOUT_MS), 6);
    assert_memory_equal(got, "dafter", 6);
    close(c);

    /* The back first, so that it sees no peer vanish. */
    sp_stop(&kids[0], SIGTERM);
    int rb = kids[0] ? -1 : 0;
    sp_stop(&kids[1], SIGTERM);
    echo_stop = true;
    assert_int_equal(tu_thread_join(&et, TU_TIMEOUT_MS), 0);
    close(efd);
    TU_ASSERT_NO_THREAD_FAILURES();
    assert_int_equal(rb, 0);
    assert_true(log_has(errlog, "datagram of 2000 bytes refused"));
    assert_true(log_has(errlog, "1 datagrams refused"));
}

int main(void)
{
    atexit(cleanup);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datagrams_through_two_bridges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
