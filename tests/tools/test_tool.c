/*
 * The built `rpmsg` tool, run as separate programs: `rpmsg echo` in one
 * process and `rpmsg ping --json` in another over a native link, over
 * the OpenAMP-compatible link (abstract socket: no file left), over an
 * emulated UART line (`rpmsg line` in a third process) and over a simulated
 * SPI bus in shared memory, and `rpmsg demo`. Checks exit codes, the ping's JSON counts, the echo's
 * endpoint address. Output is captured in memfds; the binary comes from
 * $RPMSG_TEST_BIN_DIR/rpmsg.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "toolrun.h"

static void at_exit(void)
{
    tr_kill_all();
    tr_leftovers();
}

#define COUNT "2000"

static void check_ping_json(struct tr_proc *ping, long count)
{
    char out[8192];
    tr_slurp(ping->out, out, sizeof(out));
    assert_non_null(strstr(out, "{\"service\""));
    assert_int_equal(tr_json_int(out, "received"), count);
    assert_int_equal(tr_json_int(out, "count"), count);
    assert_int_equal(tr_json_int(out, "errors"), 0);
    assert_non_null(strstr(out, "\"ok\":true"));
}

/* Runs echo (tr_procs[0]) and ping (tr_procs[1]) with the given arguments and
 * checks both ends' reports: exit codes, the ping's counts, the echo's
 * total. Leaves echo's stderr in err for further checks. */
static void run_pair(const char *const *echo, const char *const *ping, long count, char *err,
                     size_t size)
{
    tr_start(&tr_procs[0], echo);
    tr_start(&tr_procs[1], ping);
    int rp = tr_finish(&tr_procs[1], 60000);
    int re = tr_finish(&tr_procs[0], 10000);
    if (rp || re) {
        tr_dump("ping", &tr_procs[1]);
        tr_dump("echo", &tr_procs[0]);
    }
    assert_int_equal(rp, 0);
    assert_int_equal(re, 0);
    check_ping_json(&tr_procs[1], count);
    char want[64];
    tr_slurp(tr_procs[0].err, err, size);
    snprintf(want, sizeof(want), "echoed %ld messages, 0 errors", count);
    assert_non_null(strstr(err, want));
}

/* echo and ping over one kind of link, given by opt and its two arguments. */
static void echo_ping(const char *opt, const char *echo_arg, const char *ping_arg, long count)
{
    char n[16], err[8192];
    snprintf(n, sizeof(n), "%ld", count);
    const char *echo[] = { "echo", opt, echo_arg, "--count", n, NULL };
    const char *ping[] = { "ping", opt, ping_arg, "--count", n, "--json", NULL };
    run_pair(echo, ping, count, err, sizeof(err));
}

static void test_echo_ping_openamp(void **st)
{
    (void)st;
    char link[160], err[8192];
    snprintf(link, sizeof(link), "%soamp:@%soamp-sock", tr_prefix, tr_prefix);
    const char *echo[] = { "echo", "--openamp", link, "--listen", "--name",
                           "rpmsg-openamp-demo-channel", "--count", COUNT, NULL };
    const char *ping[] = { "ping", "--openamp", link, "--name", "rpmsg-openamp-demo-channel",
                           "--count", COUNT, "--json", NULL };
    run_pair(echo, ping, 2000, err, sizeof(err));
    /* The first dynamic address, as OpenAMP's demo remote has it. */
    assert_non_null(strstr(err, "'rpmsg-openamp-demo-channel' at 0x400 "));
    assert_int_equal(tr_leftovers(), 0);
}

/* Somebody listens on the abstract AF_UNIX socket @name (/proc/net/unix). */
static bool listening(const char *name)
{
    FILE *f = fopen("/proc/net/unix", "re");
    char line[512], want[160];
    bool found = false;
    snprintf(want, sizeof(want), "@%s", name);
    while (f && !found && fgets(line, sizeof(line), f)) {
        unsigned flags;
        int pos = 0;
        if (sscanf(line, "%*s %*s %*s %x %*s %*s %*s %n", &flags, &pos) < 1 || !pos)
            continue;
        line[strcspn(line, "\n")] = '\0';
        found = (flags & 0x10000) && !strcmp(line + pos, want); /* __SO_ACCEPTCON */
    }
    if (f)
        fclose(f);
    return found;
}

static int connect_abstract(const char *name)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n = strlen(name);
    memcpy(sa.sun_path + 1, name, n);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 &&
        connect(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Starts `rpmsg echo --openamp SHM:@SOCK --listen` (tr_procs[0]) and waits until it listens. */
static void start_listener(const char *tag, const char *wait_ms, char *shm, char *sock)
{
    static char link[200];
    snprintf(shm, 96, "%s%s", tr_prefix, tag);
    snprintf(sock, 96, "%s%s-sock", tr_prefix, tag);
    snprintf(link, sizeof(link), "%s:@%s", shm, sock);
    const char *echo[] = { "echo", "--openamp", link, "--listen", "--wait", wait_ms, NULL };
    tr_start(&tr_procs[0], echo);
    bool ok = false;
    for (int t = 0; t < 1000 && !(ok = listening(sock)); t++)
        usleep(10000);
    assert_true(ok);
}

/* Maps the first size bytes of /dev/shm/name. */
static uint8_t *map_shm(const char *name, size_t size)
{
    char path[160];
    snprintf(path, sizeof(path), "/dev/shm/%s", name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(m != MAP_FAILED);
    return m;
}

/*
 * What an OpenAMP host does: connect to the listening remote and read the
 * resource table as soon as connect() returns. The listener is stopped once
 * it listens, so nothing it would do after accept() can have happened: the
 * table must have been written before listen().
 */
static void test_openamp_table_before_listen(void **st)
{
    (void)st;
    char shm[96], sock[96];
    start_listener("oamp-t", "20000", shm, sock);
    assert_int_equal(kill(tr_procs[0].pid, SIGSTOP), 0);
    int fd = connect_abstract(sock);
    assert_true(fd >= 0);
    const uint8_t *s = map_shm(shm, 0x1000);
    /* One vdev (virtio id 7), NS offered, two vrings at 0x4000 and 0x8000. */
    assert_int_equal(le32(s + 0), 1);
    assert_int_equal(le32(s + 4), 1);
    assert_int_equal(le32(s + 16), 20);
    assert_int_equal(le32(s + 20), 3);
    assert_int_equal(le32(s + 24), 7);
    assert_int_equal(le32(s + 32), 1);
    assert_int_equal(s[44], 0);
    assert_int_equal(s[45], 2);
    assert_int_equal(le32(s + 48), 0x4000);
    assert_int_equal(le32(s + 56), 256);
    assert_int_equal(le32(s + 68), 0x8000);
    munmap((void *)s, 0x1000);
    kill(tr_procs[0].pid, SIGCONT);
    close(fd);
    tr_kill_all();
    tr_leftovers();
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/*
 * A hostile OpenAMP host: it sets DRIVER_OK with a descriptor id out of
 * range on vring1. The echo's link faults: it must say why (which check,
 * which ring, which entry) and exit non-zero, and ask for a reset.
 */
static void test_openamp_fault_reported(void **st)
{
    (void)st;
    char shm[96], sock[96];
    start_listener("oamp-f", "3000", shm, sock);
    uint8_t *s = map_shm(shm, 0x80000);
    int fd = connect_abstract(sock);
    assert_true(fd >= 0);
    uint8_t *avail1 = s + 0x9000;
    put16(avail1 + 4, 300); /* vring1 has 256 entries */
    put16(avail1 + 2, 1);
    s[36] = 1; /* gfeatures: NS */
    __atomic_store_n(&s[44], 0x0f, __ATOMIC_RELEASE);
    char kick = 1;
    assert_int_equal(send(fd, &kick, 1, MSG_NOSIGNAL), 1);
    int r = tr_finish(&tr_procs[0], 20000);
    char err[8192];
    tr_slurp(tr_procs[0].err, err, sizeof(err));
    if (r != 1)
        tr_dump("echo", &tr_procs[0]);
    assert_int_equal(r, 1);
    assert_non_null(strstr(err, "fault: descriptor id out of range"));
    assert_non_null(strstr(err, "(vring1 avail entry 0: id 300)"));
    assert_true(__atomic_load_n(&s[44], __ATOMIC_ACQUIRE) & 0x40); /* NEEDS_RESET */
    munmap(s, 0x80000);
    close(fd);
}

/*
 * kill -9 of one end of echo/ping while messages flow: the other end says
 * the peer died and exits non-zero, well before its own limits (--wait and
 * ping's 60 s).
 */
static void peer_killed(const char *opt, const char *echo_arg, const char *ping_arg,
                        bool listen, bool kill_echo)
{
    const char *echo[] = { "echo", opt, echo_arg, listen ? "--listen" : NULL, NULL };
    const char *ping[] = { "ping", opt, ping_arg, "--count", "1000000", "--window", "4", NULL };
    tr_start(&tr_procs[0], echo);
    tr_start(&tr_procs[1], ping);
    if (!tr_err_has(&tr_procs[0], " on link to ", 20000)) {
        tr_dump("echo", &tr_procs[0]);
        tr_dump("ping", &tr_procs[1]);
        fail();
    }
    usleep(200000); /* messages are flowing (not asserted: the kill is what counts) */
    struct tr_proc *victim = &tr_procs[kill_echo ? 0 : 1], *survivor = &tr_procs[kill_echo ? 1 : 0];
    assert_int_equal(kill(victim->pid, SIGKILL), 0);
    if (tr_finish(victim, 10000) != 128 + SIGKILL)
        tr_dump("victim (ended before the kill)", victim);
    assert_int_equal(victim->status, 128 + SIGKILL);
    int r = tr_finish(survivor, 30000);
    char err[8192];
    tr_slurp(survivor->err, err, sizeof(err));
    if (r != 1 || !strstr(err, "the peer died"))
        tr_dump("survivor", survivor);
    assert_int_equal(r, 1);
    assert_non_null(strstr(err, "link down: the peer died"));
    tr_leftovers();
}

static void test_native_ping_killed(void **st)
{
    (void)st;
    char name[96];
    snprintf(name, sizeof(name), "%snkill", tr_prefix);
    peer_killed("--link", name, name, false, false);
}

static void test_native_echo_killed(void **st)
{
    (void)st;
    char name[96];
    snprintf(name, sizeof(name), "%snkill", tr_prefix);
    peer_killed("--link", name, name, false, true);
}

static void test_openamp_ping_killed(void **st)
{
    (void)st;
    char link[200];
    snprintf(link, sizeof(link), "%sokill:@%sokill-sock", tr_prefix, tr_prefix);
    peer_killed("--openamp", link, link, true, false);
}

static void test_openamp_echo_killed(void **st)
{
    (void)st;
    char link[200];
    snprintf(link, sizeof(link), "%sokill:@%sokill-sock", tr_prefix, tr_prefix);
    peer_killed("--openamp", link, link, true, true);
}

/*
 * SIGTERM or SIGINT while a link is opening ends the tool at once
 * ("interrupted"; echo exits 0, ping 1), long before its --wait, and leaves
 * no names behind.
 */
/* pid catches sig (SigCgt in /proc/PID/status): its handler is installed. */
static bool catches(pid_t pid, int sig)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    unsigned long long mask = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "SigCgt: %llx", &mask) == 1)
            break;
    if (f)
        fclose(f);
    return (mask >> (sig - 1)) & 1;
}

static void signal_while_opening(const char *const *args, int sig)
{
    tr_start(&tr_procs[0], args);
    bool ready = false;
    for (int t = 0; t < 2000 && !(ready = catches(tr_procs[0].pid, sig)); t++)
        usleep(10000);
    assert_true(ready);
    usleep(100000); /* into its wait for the peer (not asserted: any moment will do) */
    assert_int_equal(kill(tr_procs[0].pid, sig), 0);
    int r = tr_finish(&tr_procs[0], 10000);
    /* A signal is how an echo is stopped (exit 0); a ping's job is undone. */
    int want = strcmp(args[0], "echo") ? 1 : 0;
    if (r != want)
        tr_dump("opening", &tr_procs[0]);
    assert_int_equal(r, want);
    char err[8192];
    tr_slurp(tr_procs[0].err, err, sizeof(err));
    assert_non_null(strstr(err, "interrupted while"));
    assert_int_equal(tr_leftovers(), 0);
}

static void test_signal_while_opening(void **st)
{
    (void)st;
    char name[96], link[200];
    snprintf(name, sizeof(name), "%ssig", tr_prefix);
    snprintf(link, sizeof(link), "%ssig:@%ssig-sock", tr_prefix, tr_prefix);
    /* native attacher waiting for its creator */
    const char *attach[] = { "echo", "--link", name, "--side", "attach", "--wait", "120000", NULL };
    signal_while_opening(attach, SIGTERM);
    /* native creator waiting for the link to come up */
    const char *create[] = { "echo", "--link", name, "--wait", "120000", NULL };
    signal_while_opening(create, SIGINT);
    /* OpenAMP listener waiting for a connection */
    const char *listen[] = { "echo", "--openamp", link, "--listen", "--wait", "120000", NULL };
    signal_while_opening(listen, SIGTERM);
    /* OpenAMP connector waiting for a listener */
    const char *conn[] = { "ping", "--openamp", link, "--wait", "120000", NULL };
    signal_while_opening(conn, SIGTERM);
}

/*
 * A peer that connects to the OpenAMP listener first and maps the region
 * afterwards: the shm name must still be there when it looks (it used to be
 * unlinked at accept(): "No such file"). The listener kicks once it has set
 * up its side, so the peer looks after that; the name goes once the peer
 * has kicked back.
 */
static void test_openamp_name_kept_until_mapped(void **st)
{
    (void)st;
    char shm[96], sock[96];
    start_listener("oamp-n", "120000", shm, sock);
    int fd = connect_abstract(sock);
    assert_true(fd >= 0);
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 20000), 1); /* its first kick */
    uint8_t *s = map_shm(shm, 0x1000);
    assert_int_equal(s[20], 3); /* its table */
    munmap(s, 0x1000);
    char kick = 1, path[160];
    assert_int_equal(send(fd, &kick, 1, MSG_NOSIGNAL), 1);
    snprintf(path, sizeof(path), "/dev/shm/%s", shm);
    bool gone = false;
    for (int t = 0; t < 2000 && !(gone = access(path, F_OK) != 0); t++)
        usleep(10000);
    assert_true(gone);
    kill(tr_procs[0].pid, SIGTERM);
    assert_int_equal(tr_finish(&tr_procs[0], 10000), 0); /* stopped, as an echo is */
    close(fd);
    assert_int_equal(tr_leftovers(), 0);
}

/*
 * `rpmsg echo --serve` goes on after a peer that was killed: the next ping
 * gets all its echoes; asked to stop, echo says a peer died and exits 1.
 */
static void test_serve_after_kill(void **st)
{
    (void)st;
    char name[96];
    snprintf(name, sizeof(name), "%sserve", tr_prefix);
    const char *echo[] = { "echo", "--link", name, "--serve", NULL };
    const char *ping1[] = { "ping", "--link", name, "--count", "1000000", NULL };
    const char *ping2[] = { "ping", "--link", name, "--count", "200", "--json", NULL };
    tr_start(&tr_procs[0], echo);
    tr_start(&tr_procs[1], ping1);
    assert_true(tr_err_has(&tr_procs[0], " on link to ", 20000));
    assert_int_equal(kill(tr_procs[1].pid, SIGKILL), 0);
    tr_finish(&tr_procs[1], 10000);
    assert_true(tr_err_has(&tr_procs[0], "link down: the peer died", 20000));
    tr_start(&tr_procs[1], ping2);
    int r = tr_finish(&tr_procs[1], 60000);
    if (r)
        tr_dump("second ping", &tr_procs[1]);
    assert_int_equal(r, 0);
    check_ping_json(&tr_procs[1], 200);
    kill(tr_procs[0].pid, SIGTERM);
    assert_int_equal(tr_finish(&tr_procs[0], 10000), 1);
    assert_int_equal(tr_leftovers(), 0);
}

/* The value after "key: " on a line of text, into out. */
static bool field(const char *text, const char *key, char *out, size_t size)
{
    const char *s = strstr(text, key);
    if (!s)
        return false;
    s += strlen(key);
    size_t n = strcspn(s, "\n");
    if (!s[n] || n == 0 || n >= size)
        return false; /* no end of line yet: still being written */
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

static void test_echo_ping_native(void **st)
{
    (void)st;
    char name[96];
    snprintf(name, sizeof(name), "%snative", tr_prefix);
    echo_ping("--link", name, name, 2000);
    assert_int_equal(tr_leftovers(), 0);
}

static void test_echo_ping_uart(void **st)
{
    (void)st;
    const char *line[] = { "line", "--baud", "3000000", NULL };
    tr_start(&tr_procs[2], line);
    char out[1024], a[256], b[256];
    bool ok = false;
    for (int t = 0; t < 500 && !ok; t++) {
        tr_slurp(tr_procs[2].out, out, sizeof(out));
        ok = field(out, "a: ", a, sizeof(a)) && field(out, "b: ", b, sizeof(b));
        if (!ok)
            usleep(10000);
    }
    assert_true(ok);
    strcat(a, ":3000000");
    strcat(b, ":3000000");
    echo_ping("--uart", a, b, 300);
    /* The line carried it all and stops cleanly when told to. */
    kill(tr_procs[2].pid, SIGTERM);
    assert_int_equal(tr_finish(&tr_procs[2], 10000), 0);
    char err[1024];
    tr_slurp(tr_procs[2].err, err, sizeof(err));
    assert_non_null(strstr(err, "rpmsg line: carried "));
    assert_null(strstr(err, "carried 0 bytes"));
}

static void test_echo_ping_spi(void **st)
{
    (void)st;
    char bus[96], bus_clocked[128];
    snprintf(bus, sizeof(bus), "%sspi", tr_prefix);
    snprintf(bus_clocked, sizeof(bus_clocked), "%s@20000000", bus);
    /* echo creates the bus (--side create by default), ping attaches. */
    echo_ping("--spi", bus_clocked, bus, 300);
    assert_int_equal(tr_leftovers(), 0);
}

/*
 * kill -9 of one side of a running echo/ping pair over a port link: the
 * survivor notices the silence on its own, says why and exits non-zero
 * (before port links had a peer timeout, neither ever noticed).
 */
static void kill_one_side(const char *opt, const char *echo_arg, const char *ping_arg, bool kill_echo)
{
    /* A generous --wait: on a loaded machine under ASan the first handshake
     * can take seconds. */
    const char *echo[] = { "echo", opt, echo_arg, "--wait", "30000", NULL };
    const char *ping[] = { "ping", opt, ping_arg, "--count", "100000000", "--wait", "30000", NULL };
    tr_start(&tr_procs[0], echo);
    tr_start(&tr_procs[1], ping);
    if (!tr_err_has(&tr_procs[0], "' at 0x", 40000)) {
        tr_dump("echo", &tr_procs[0]);
        tr_dump("ping", &tr_procs[1]);
        fail_msg("the echo never served");
    }
    usleep(300000); /* the ping is under way */
    struct tr_proc *victim = &tr_procs[kill_echo ? 0 : 1], *survivor = &tr_procs[kill_echo ? 1 : 0];
    kill(victim->pid, SIGKILL);
    tr_finish(victim, 10000);
    int r = tr_finish(survivor, 20000);
    char err[8192];
    tr_slurp(survivor->err, err, sizeof(err));
    if (r == 0 || r >= 128 || !strstr(err, "link down: peer silent"))
        tr_dump("survivor", survivor);
    assert_true(r != 0 && r < 128); /* exited by itself, with a failure */
    assert_non_null(strstr(err, "link down: peer silent"));
}

static void start_line(char *a, char *b, size_t size)
{
    const char *line[] = { "line", "--baud", "3000000", NULL };
    tr_start(&tr_procs[2], line);
    char out[1024];
    bool ok = false;
    for (int t = 0; t < 500 && !ok; t++) {
        tr_slurp(tr_procs[2].out, out, sizeof(out));
        ok = field(out, "a: ", a, size) && field(out, "b: ", b, size);
        if (!ok)
            usleep(10000);
    }
    assert_true(ok);
    strcat(a, ":3000000");
    strcat(b, ":3000000");
}

static void test_kill_uart(void **st)
{
    (void)st;
    for (int k = 0; k < 2; k++) {
        char a[256], b[256];
        start_line(a, b, sizeof(a) - 16);
        kill_one_side("--uart", a, b, k == 0);
        tr_kill_all();
    }
}

static void test_kill_spi(void **st)
{
    (void)st;
    for (int k = 0; k < 2; k++) {
        char bus[96], bus_clocked[128];
        snprintf(bus, sizeof(bus), "%sspik%d", tr_prefix, k);
        snprintf(bus_clocked, sizeof(bus_clocked), "%s@20000000", bus);
        kill_one_side("--spi", bus_clocked, bus, k == 0);
        tr_kill_all();
    }
    tr_leftovers(); /* a bus whose creator was killed is left behind: not ours to judge here */
}

static void test_demo(void **st)
{
    (void)st;
    const char *demo[] = { "demo", NULL };
    tr_start(&tr_procs[0], demo);
    int r = tr_finish(&tr_procs[0], 30000);
    if (r)
        tr_dump("demo", &tr_procs[0]);
    assert_int_equal(r, 0);
    char out[8192];
    tr_slurp(tr_procs[0].out, out, sizeof(out));
    assert_non_null(strstr(out, "OK"));
    assert_null(strstr(out, "FAILED"));
}

static void test_bad_usage(void **st)
{
    (void)st;
    /* Neither --link nor --openamp: refused, not hung. */
    const char *ping[] = { "ping", "--count", "1", NULL };
    tr_start(&tr_procs[0], ping);
    assert_true(tr_finish(&tr_procs[0], 10000) != 0);
    char err[8192];
    tr_slurp(tr_procs[0].err, err, sizeof(err));
    assert_non_null(strstr(err, "--link"));
}

static int teardown(void **st)
{
    (void)st;
    tr_kill_all();
    tr_leftovers(); /* a failed test's names must not fail the next one */
    return 0;
}

int main(void)
{
    if (!tr_init("rpmsg-tooltest"))
        return 1;
    atexit(at_exit);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_echo_ping_native, teardown),
        cmocka_unit_test_teardown(test_echo_ping_openamp, teardown),
        cmocka_unit_test_teardown(test_openamp_table_before_listen, teardown),
        cmocka_unit_test_teardown(test_openamp_fault_reported, teardown),
        cmocka_unit_test_teardown(test_signal_while_opening, teardown),
        cmocka_unit_test_teardown(test_openamp_name_kept_until_mapped, teardown),
        cmocka_unit_test_teardown(test_native_ping_killed, teardown),
        cmocka_unit_test_teardown(test_native_echo_killed, teardown),
        cmocka_unit_test_teardown(test_openamp_ping_killed, teardown),
        cmocka_unit_test_teardown(test_openamp_echo_killed, teardown),
        cmocka_unit_test_teardown(test_serve_after_kill, teardown),
        cmocka_unit_test_teardown(test_echo_ping_uart, teardown),
        cmocka_unit_test_teardown(test_echo_ping_spi, teardown),
        cmocka_unit_test_teardown(test_kill_uart, teardown),
        cmocka_unit_test_teardown(test_kill_spi, teardown),
        cmocka_unit_test_teardown(test_demo, teardown),
        cmocka_unit_test_teardown(test_bad_usage, teardown),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    return r || tr_leftovers() ? 1 : 0;
}
