/*
 * The `rpmsg` command line as a user meets it, driving the built binary:
 * number options checked strictly, exit codes (0 done, 1 runtime failure,
 * 2 usage) and "rpmsg CMD: " prefixes, --version everywhere, ping's window
 * limit, order and stall handling, echo's lifetime, "not found" hints, the
 * demo's errors line and the simulator's topology checks and messages.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "toolrun.h"

static char out[16384], err[16384];

/* Runs args to its end; leaves its stdout and stderr in out and err. */
static int run(const char *const *args, int ms)
{
    int r = tr_run(&tr_procs[0], args, ms);
    tr_slurp(tr_procs[0].out, out, sizeof(out));
    tr_slurp(tr_procs[0].err, err, sizeof(err));
    return r;
}

/* args is refused as a usage error naming what is wrong, fast. */
static void refused(const char *const *args, const char *want)
{
    int r = run(args, 10000);
    if (r != 2 || !strstr(err, want)) {
        fprintf(stderr, "args:");
        for (int i = 0; args[i]; i++)
            fprintf(stderr, " %s", args[i]);
        fprintf(stderr, "\nwant '%s'\n", want);
        tr_dump("refused", &tr_procs[0]);
    }
    assert_int_equal(r, 2);
    assert_non_null(strstr(err, want));
}

static void test_bad_numbers(void **st)
{
    (void)st;
    struct {
        const char *args[8];
        const char *want;
    } cases[] = {
        { { "demo", "--count", "-3" }, "rpmsg demo: bad value for --count: '-3'" },
        { { "demo", "--count", "10x" }, "rpmsg demo: bad value for --count: '10x'" },
        { { "demo", "--size", "16abc" }, "rpmsg demo: bad value for --size: '16abc'" },
        { { "demo", "--count", "" }, "rpmsg demo: bad value for --count: ''" },
        { { "demo", "--count", "99999999999999999999999" }, "bad value for --count" },
        { { "ping", "--link", "x", "--window", "-1" }, "rpmsg ping: bad value for --window: '-1'" },
        { { "ping", "--link", "x", "--count", "-5" }, "rpmsg ping: bad value for --count: '-5'" },
        { { "ping", "--link", "x", "--size", "0x" }, "rpmsg ping: bad value for --size: '0x'" },
        { { "ping", "--link", "x", "--wait", "5s" }, "rpmsg ping: bad value for --wait: '5s'" },
        { { "echo", "--link", "x", "--count", "1e3" }, "rpmsg echo: bad value for --count: '1e3'" },
        { { "echo", "--link", "x", "--role", "boss" }, "rpmsg echo: bad value for --role: 'boss'" },
        { { "ping", "--uart", "/dev/null:-5" }, "rpmsg ping: bad value for --uart" },
        { { "sim", "--window", "0", "x.ini" }, "rpmsg sim: bad value for --window: '0'" },
        { { "sim", "--count", "12 ", "x.ini" }, "rpmsg sim: bad value for --count: '12 '" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        refused(cases[i].args, cases[i].want);
    /* The range is stated with the refusal. */
    const char *w[] = { "ping", "--link", "x", "--window", "-1", NULL };
    refused(w, "1..256");
}

static void test_version_everywhere(void **st)
{
    (void)st;
    const char *cmds[] = { NULL, "bench", "demo", "echo", "fs", "line", "list", "ping", "sim",
                           "sim-ctl", "sock", "trace" };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *args[] = { cmds[i] ? cmds[i] : "--version", "--version", NULL };
        if (!cmds[i])
            args[1] = NULL;
        int r = run(args, 10000);
        if (r || strncmp(out, "rpmsg ", 6))
            tr_dump(args[0], &tr_procs[0]);
        assert_int_equal(r, 0);
        assert_int_equal(strncmp(out, "rpmsg ", 6), 0);
        assert_true(out[6] >= '0' && out[6] <= '9');
    }
}

/* Usage errors exit 2 with the command's prefix, getopt's own included. */
static void test_usage_codes_and_prefixes(void **st)
{
    (void)st;
    const char *nolink[] = { "ping", "--count", "1", NULL };
    refused(nolink, "rpmsg ping: give exactly one of --link");
    const char *echo_nolink[] = { "echo", NULL };
    refused(echo_nolink, "rpmsg echo: give exactly one of --link");
    const char *unknown[] = { "ping", "--link", "x", "--frobnicate", NULL };
    refused(unknown, "rpmsg ping: unrecognized option '--frobnicate'");
    const char *extra[] = { "echo", "--link", "x", "surplus", NULL };
    refused(extra, "rpmsg echo: unexpected argument 'surplus'");
    const char *cmd[] = { "frobnicate", NULL };
    refused(cmd, "rpmsg: unknown command 'frobnicate'");
    /* A runtime failure is 1: no peer within --wait, said plainly. */
    char name[96];
    snprintf(name, sizeof(name), "%snopeer", tr_prefix);
    const char *nopeer[] = { "echo", "--link", name, "--wait", "300", NULL };
    assert_int_equal(run(nopeer, 20000), 1);
    assert_non_null(strstr(err, "rpmsg echo: no peer on virtio:"));
    assert_non_null(strstr(err, "within 300 ms (--wait)"));
    const char *noshm[] = { "ping", "--link", name, NULL };
    assert_int_equal(run(noshm, 20000), 1);
    assert_non_null(strstr(err, "must start first"));
    assert_int_equal(tr_leftovers(), 0);
}

/* echo (procs[0]) and ping (procs[1]) over a native link named tag. */
static int pair(const char *tag, const char *const *ping_extra, int ms)
{
    char name[96];
    snprintf(name, sizeof(name), "%s%s", tr_prefix, tag);
    const char *echo[] = { "echo", "--link", name, NULL };
    const char *ping[24] = { "ping", "--link", name };
    int n = 3;
    for (int i = 0; ping_extra[i] && n < 22; i++)
        ping[n++] = ping_extra[i];
    ping[n] = NULL;
    tr_start(&tr_procs[0], echo);
    int r = tr_run(&tr_procs[1], ping, ms);
    tr_slurp(tr_procs[1].out, out, sizeof(out));
    tr_slurp(tr_procs[1].err, err, sizeof(err));
    return r;
}

/* The echo left by pair() stops on SIGINT with exit 0 and no names behind. */
static void stop_echo(void)
{
    kill(tr_procs[0].pid, SIGINT);
    int r = tr_finish(&tr_procs[0], 10000);
    if (r)
        tr_dump("echo", &tr_procs[0]);
    assert_int_equal(r, 0);
    assert_int_equal(tr_leftovers(), 0);
}

/*
 * A window of messages in flight never reports false errors: in interrupt
 * mode the RX thread's sends and the main thread's used to interleave, so
 * echoes came back "out of order". The largest window the links allow works;
 * a larger one is refused with the limit stated.
 */
static void test_ping_window(void **st)
{
    (void)st;
    for (int i = 0; i < 4; i++) {
        const char *args[] = { "--mode", "interrupt", "--window", "64", "--count", "3000",
                               "--json", NULL };
        int r = pair("win", args, 60000);
        if (r || tr_json_int(out, "errors") != 0)
            tr_dump("ping", &tr_procs[1]);
        assert_int_equal(r, 0);
        assert_int_equal(tr_json_int(out, "received"), 3000);
        assert_int_equal(tr_json_int(out, "errors"), 0);
        stop_echo();
    }
    const char *full[] = { "--window", "256", "--count", "3000", "--json", NULL };
    int r = pair("win", full, 60000);
    if (r)
        tr_dump("ping", &tr_procs[1]);
    assert_int_equal(r, 0);
    assert_int_equal(tr_json_int(out, "errors"), 0);
    stop_echo();
    const char *big[] = { "ping", "--link", "x", "--window", "512", NULL };
    refused(big, "bad value for --window: '512' (a whole number, 1..256)");
}

/*
 * ping gives up after --wait ms without an echo (an echo stopped mid-run),
 * not after a fixed 60 s whatever --count asks.
 */
static void test_ping_gives_up_on_silence(void **st)
{
    (void)st;
    char name[96];
    snprintf(name, sizeof(name), "%sstall", tr_prefix);
    const char *echo[] = { "echo", "--link", name, NULL };
    const char *ping[] = { "ping", "--link", name, "--count", "100000000", "--wait", "1500", NULL };
    tr_start(&tr_procs[0], echo);
    /* --wait also bounds the ping's wait for the link: it starts once the
     * echo has created its side, or a loaded machine (TSan) that starts the
     * echo more than 1.5 s late leaves the ping no link and the echo no peer. */
    char shm[160];
    snprintf(shm, sizeof(shm), "/dev/shm/%s", name);
    for (int t = 0; t < 3000 && access(shm, F_OK); t++)
        usleep(10000);
    tr_start(&tr_procs[1], ping);
    if (!tr_err_has(&tr_procs[0], " on link to ", 30000)) {
        tr_dump("echo", &tr_procs[0]);
        tr_dump("ping", &tr_procs[1]);
        fail();
    }
    usleep(200000);
    assert_int_equal(kill(tr_procs[0].pid, SIGSTOP), 0);
    int r = tr_finish(&tr_procs[1], 30000);
    kill(tr_procs[0].pid, SIGCONT);
    tr_slurp(tr_procs[1].err, err, sizeof(err));
    if (r != 1 || !strstr(err, "no echo for"))
        tr_dump("ping", &tr_procs[1]);
    assert_int_equal(r, 1);
    assert_non_null(strstr(err, "rpmsg ping: no echo for "));
    assert_non_null(strstr(err, " ms (--wait) after "));
    tr_kill_all();
    tr_leftovers();
}

/* A ping for a name nobody announces says what to check. */
static void test_not_found_hint(void **st)
{
    (void)st;
    const char *args[] = { "--name", "no-such-svc", "--wait", "1500", NULL };
    int r = pair("nf", args, 30000);
    if (r != 1)
        tr_dump("ping", &tr_procs[1]);
    assert_int_equal(r, 1);
    assert_non_null(strstr(err, "rpmsg ping: service 'no-such-svc' not found"));
    assert_non_null(strstr(err, "Is `rpmsg echo --name no-such-svc` running"));
    stop_echo();
}

/*
 * `echo --serve` waits for its peers as long as it runs (it used to give up
 * after --wait's 10 s default), answers the one that comes, and stops on
 * SIGINT with exit 0.
 */
static void test_serve_waits(void **st)
{
    (void)st;
    char name[96];
    snprintf(name, sizeof(name), "%sserve", tr_prefix);
    const char *echo[] = { "echo", "--link", name, "--serve", NULL };
    tr_start(&tr_procs[0], echo);
    sleep(11); /* beyond the default --wait of 10 s */
    const char *ping[] = { "ping", "--link", name, "--count", "100", "--json", NULL };
    int r = tr_run(&tr_procs[1], ping, 30000);
    if (r) {
        tr_dump("echo", &tr_procs[0]);
        tr_dump("ping", &tr_procs[1]);
    }
    assert_int_equal(r, 0);
    stop_echo();
}

/*
 * An SPI echo without --count ends when its ping has left, exit 0: the ping's
 * link says BYE as it closes, and the echo takes that as the orderly end
 * (before, it waited out the peer timeout and exited 1, "peer silent").
 */
static void test_spi_echo_ends_with_its_peer(void **st)
{
    (void)st;
    char name[96];
    snprintf(name, sizeof(name), "%sspibye", tr_prefix);
    const char *echo[] = { "echo", "--spi", name, "--role", "remote", "--side", "create", NULL };
    const char *ping[] = { "ping", "--spi", name, "--role", "host", "--side", "attach",
                           "--count", "5", NULL };
    tr_start(&tr_procs[0], echo);
    int rp = tr_run(&tr_procs[1], ping, 30000);
    int re = tr_finish(&tr_procs[0], 30000);
    char err[4096];
    tr_slurp(tr_procs[0].err, err, sizeof(err));
    if (rp || re) {
        tr_dump("echo", &tr_procs[0]);
        tr_dump("ping", &tr_procs[1]);
    }
    assert_int_equal(rp, 0);
    assert_int_equal(re, 0);
    assert_null(strstr(err, "peer silent"));
    assert_non_null(strstr(err, "echoed 5 messages, 0 errors"));
    assert_int_equal(tr_leftovers(), 0);
}

/* `rpmsg list` shows the peer's cpu, features, buffers and services. */
static void test_list(void **st)
{
    (void)st;
    char name[96];
    snprintf(name, sizeof(name), "%slist", tr_prefix);
    const char *echo[] = { "echo", "--link", name, "--name", "svc-one", "--cpu", "far", NULL };
    const char *list[] = { "list", "--link", name, "--json", NULL };
    tr_start(&tr_procs[0], echo);
    int r = tr_run(&tr_procs[1], list, 30000);
    tr_slurp(tr_procs[1].out, out, sizeof(out));
    if (r)
        tr_dump("list", &tr_procs[1]);
    assert_int_equal(r, 0);
    assert_non_null(strstr(out, "\"kind\":\"virtio\""));
    assert_non_null(strstr(out, "\"peer_cpu\":\"far\""));
    assert_non_null(strstr(out, "\"feature_names\":[\"ns\",\"ns-ack\""));
    assert_int_equal(tr_json_int(out, "tx_bufs"), 256);
    assert_int_equal(tr_json_int(out, "rx_buf_size"), 512);
    assert_non_null(strstr(out, "\"services\":[{\"name\":\"svc-one\",\"addr\":1024}]"));
    tr_finish(&tr_procs[0], 10000);
    assert_int_equal(tr_leftovers(), 0);
}

/*
 * `rpmsg bench`: a latency histogram and a point per size and window, every
 * echo checked, then a one-way point per size (the echo counted and checked
 * all 300, and said so), as JSON; the plot is an SVG drawn by gnuplot.
 */
static void test_bench(void **st)
{
    (void)st;
    char svg[160];
    snprintf(svg, sizeof(svg), "/tmp/%sbench.svg", tr_prefix);
    const char *args[] = { "--sizes", "16,496", "--windows", "1,8", "--count", "300",
                           "--latency", "300", "--json", "--plot", svg, NULL };
    char name[96];
    snprintf(name, sizeof(name), "%sbench", tr_prefix);
    const char *echo[] = { "echo", "--link", name, NULL };
    const char *bench[24] = { "bench", "--link", name };
    int n = 3;
    for (int i = 0; args[i]; i++)
        bench[n++] = args[i];
    bench[n] = NULL;
    tr_start(&tr_procs[0], echo);
    int r = tr_run(&tr_procs[1], bench, 60000);
    tr_slurp(tr_procs[1].out, out, sizeof(out));
    if (r)
        tr_dump("bench", &tr_procs[1]);
    assert_int_equal(r, 0);
    assert_non_null(strstr(out, "\"bench\":\"rpmsg_bench\""));
    assert_non_null(strstr(out, "\"count\":300,"));
    const char *pts[] = { "{\"size\":16,\"window\":1,", "{\"size\":16,\"window\":8,",
                          "{\"size\":496,\"window\":1,", "{\"size\":496,\"window\":8," };
    for (int i = 0; i < 4; i++)
        assert_non_null(strstr(out, pts[i]));
    /* Every round trip is in one bucket of the histogram. */
    long total = 0;
    for (const char *s = out; (s = strstr(s, "\"n\":")); s += 4)
        total += strtol(s + 4, NULL, 10);
    assert_int_equal(total, 300);
    const char *ow = strstr(out, "\"oneway\":[{\"size\":16,");
    assert_non_null(ow);
    assert_non_null(strstr(ow, "},{\"size\":496,"));
    assert_null(strstr(ow, "\"msgs_per_s\":0,"));
    assert_non_null(strstr(out, "\"oneway_known\":true,\"errors\":0,\"ok\":true}"));
    FILE *f = fopen(svg, "r");
    assert_non_null(f);
    char head[4096];
    size_t got = fread(head, 1, sizeof(head) - 1, f);
    head[got] = '\0';
    fclose(f);
    unlink(svg);
    assert_non_null(strstr(head, "<svg"));
    stop_echo();
}

static void test_demo_errors_line(void **st)
{
    (void)st;
    const char *demo[] = { "demo", "--count", "200", NULL };
    int r = run(demo, 30000);
    if (r)
        tr_dump("demo", &tr_procs[0]);
    assert_int_equal(r, 0);
    assert_non_null(strstr(out, "\n  errors: 0\n"));
}

static const char *write_ini(const char *tag, const char *text)
{
    static char path[128];
    snprintf(path, sizeof(path), "/tmp/%s%s.ini", tr_prefix, tag);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* A demo across a core that is no hub is refused when the file is read. */
static void test_sim_middle_core_without_hub(void **st)
{
    (void)st;
    const char *ini = write_ini("nohub", "[sim]\ndemo_from = a\ndemo_to = c\n"
                                         "[core a]\n[core b]\n[core c]\n"
                                         "[link ab]\ntype = virtio\nhost = a\nremote = b\n"
                                         "[link bc]\ntype = virtio\nhost = b\nremote = c\n");
    const char *check[] = { "sim", ini, "--check", NULL };
    int r = run(check, 10000);
    unlink(ini);
    if (r != 2)
        tr_dump("sim --check", &tr_procs[0]);
    assert_int_equal(r, 2);
    assert_non_null(strstr(err, "rpmsg sim: "));
    assert_non_null(strstr(err, "no route from 'a' to 'c'"));
    assert_non_null(strstr(err, "must be a hub"));
}

/* Waits until a unix socket exists at path. */
static bool socket_at(const char *path, int ms)
{
    struct stat sb;
    for (int t = 0; t < ms; t += 10) {
        if (!stat(path, &sb) && S_ISSOCK(sb.st_mode))
            return true;
        usleep(10000);
    }
    return false;
}

/*
 * The simulator's demo report ends with an errors line; `cut` on a VirtIO
 * link says why it cannot, and on a line says what it did.
 */
static void test_sim_demo_and_cut(void **st)
{
    (void)st;
    char ctl[128];
    snprintf(ctl, sizeof(ctl), "/tmp/%sctl", tr_prefix);
    /* examples/ of the source tree (CMake compiles with absolute paths). */
    char ini[1024];
    snprintf(ini, sizeof(ini), "%s", __FILE__);
    char *p = strstr(ini, "/tests/tools/");
    assert_non_null(p);
    snprintf(p, sizeof(ini) - (size_t)(p - ini), "/examples/heterogeneous.ini");
    const char *sim[] = { "sim", ini, "--ctl", ctl, "--demo-wait", "--count", "300",
                          "--pings", "20", "--interval", "0", NULL };
    tr_start(&tr_procs[0], sim);
    assert_true(socket_at(ctl, 30000));
    const char *cut_vq[] = { "sim-ctl", "--ctl", ctl, "cut", "vq0", "500", NULL };
    int r = tr_run(&tr_procs[1], cut_vq, 10000);
    tr_slurp(tr_procs[1].out, out, sizeof(out));
    assert_int_equal(r, 1);
    assert_non_null(strstr(out, "error: link vq0 is VirtIO shared memory: only uart and spi"));
    const char *cut_spi[] = { "sim-ctl", "--ctl", ctl, "cut", "spi0", "100", NULL };
    r = tr_run(&tr_procs[1], cut_spi, 10000);
    tr_slurp(tr_procs[1].out, out, sizeof(out));
    if (r)
        tr_dump("cut spi0", &tr_procs[1]);
    assert_int_equal(r, 0);
    assert_non_null(strstr(out, "ok: link spi0 cut for 100 ms"));
    /* status CORE: each link of the hub as `rpmsg list` shows one. */
    const char *status[] = { "sim-ctl", "--ctl", ctl, "status", "A", NULL };
    bool both = false;
    for (int t = 0; t < 300 && !both; t++) {
        assert_int_equal(tr_run(&tr_procs[1], status, 10000), 0);
        tr_slurp(tr_procs[1].out, out, sizeof(out));
        both = strstr(out, "peer cpu:  big") && strstr(out, "peer cpu:  B");
        if (!both)
            usleep(100000);
    }
    if (!both)
        fprintf(stderr, "status A:\n%s\n", out);
    assert_true(both);
    assert_non_null(strstr(out, "core A: running\n"));
    assert_non_null(strstr(out, "  link vq0 (virtio, host) to B: up\n"));
    /* vq0 as examples/heterogeneous.ini gives it: bufs 128, buf_size 512. */
    assert_non_null(strstr(out, "    buffers:   tx 128 x 512 bytes, rx 128 x 512 bytes\n"));
    assert_non_null(strstr(out, "  link spi0 (spi, slave) to big: up\n"));
    const char *go[] = { "sim-ctl", "--ctl", ctl, "go", NULL };
    assert_int_equal(tr_run(&tr_procs[1], go, 10000), 0);
    r = tr_finish(&tr_procs[0], 120000);
    tr_slurp(tr_procs[0].out, out, sizeof(out));
    if (r)
        tr_dump("sim", &tr_procs[0]);
    assert_int_equal(r, 0);
    assert_non_null(strstr(out, "\nerrors: 0\nresult: OK\n"));
    unlink(ctl);
}

static int teardown(void **st)
{
    (void)st;
    tr_kill_all();
    tr_leftovers();
    return 0;
}

int main(void)
{
    if (!tr_init("rpmsg-clitest"))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_bad_numbers, teardown),
        cmocka_unit_test_teardown(test_version_everywhere, teardown),
        cmocka_unit_test_teardown(test_usage_codes_and_prefixes, teardown),
        cmocka_unit_test_teardown(test_ping_window, teardown),
        cmocka_unit_test_teardown(test_ping_gives_up_on_silence, teardown),
        cmocka_unit_test_teardown(test_not_found_hint, teardown),
        cmocka_unit_test_teardown(test_serve_waits, teardown),
        cmocka_unit_test_teardown(test_spi_echo_ends_with_its_peer, teardown),
        cmocka_unit_test_teardown(test_list, teardown),
        cmocka_unit_test_teardown(test_bench, teardown),
        cmocka_unit_test_teardown(test_demo_errors_line, teardown),
        cmocka_unit_test_teardown(test_sim_middle_core_without_hub, teardown),
        cmocka_unit_test_teardown(test_sim_demo_and_cut, teardown),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    tr_kill_all();
    return r || tr_leftovers() ? 1 : 0;
}
