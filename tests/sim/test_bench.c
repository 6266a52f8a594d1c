/*
 * `rpmsg bench` from a core of `rpmsg sim` (examples/bench.ini): the big
 * core runs the bench (`--join`), measures its SPI neighbour A, then B two
 * hops away through A's router, and the sim ends with it (--until-exit).
 * Checks what was counted and checked, not how fast.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim_helpers.h"

static char out[SIM_OUT_MAX];

/* The JSON line of the bench against peer, copied into line. */
static bool json_of(const char *text, const char *peer, char *line, size_t len)
{
    char key[64];
    snprintf(key, sizeof(key), "\"peer\":\"%s\"", peer);
    const char *p = strstr(text, key);
    if (!p)
        return false;
    while (p > text && p[-1] != '\n')
        p--;
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    snprintf(line, len, "%.*s", (int)(n < len ? n : len - 1), p);
    return true;
}

static int run_bench_sim(const char *args, int timeout_s, pid_t *pid_out)
{
    setenv("BENCH_ARGS", args, 1);
    char file[64];
    snprintf(file, sizeof(file), "/tmp/rpmsg-simtest-%d-bench.out", (int)getpid());
    char *argv[] = { (char *)sim_bin(), "sim", (char *)sim_example("bench.ini"), "--until-exit",
                     "big", "--interval", "0", NULL };
    pid_t pid = sim_spawn(argv, file);
    assert_true(pid > 0);
    int rc = sim_wait(pid, timeout_s);
    sim_read(file, out, sizeof(out));
    unlink(file);
    *pid_out = pid;
    return rc;
}

static void bench_direct_and_routed(void **state)
{
    (void)state;
    pid_t pid;
    int rc = run_bench_sim("--json --count 200 --latency 100 --sizes 16,496 --windows 1,8", 120,
                           &pid);
    if (rc)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    static char a[8192], b[8192];
    assert_true(json_of(out, "A", a, sizeof(a)));
    assert_true(json_of(out, "B", b, sizeof(b)));
    /* A is the SPI neighbour, B a far core behind hub A, each measured whole. */
    assert_non_null(strstr(a, "\"link\":\"sim:big\""));
    assert_non_null(strstr(a, "\"routed\":false"));
    assert_non_null(strstr(b, "\"routed\":true"));
    const char *both[] = { a, b };
    for (int i = 0; i < 2; i++) {
        const char *l = both[i];
        assert_non_null(strstr(l, "\"latency\":{\"size\":16,\"count\":100,"));
        assert_non_null(strstr(l, "{\"size\":16,\"window\":1,"));
        assert_non_null(strstr(l, "{\"size\":16,\"window\":8,"));
        /* Every echo checked and every one-way message counted by the far
         * echo (a message missing counts as an error). */
        assert_non_null(strstr(l, "\"oneway_known\":true,\"errors\":0,\"ok\":true}"));
        assert_null(strstr(l, "\"errors\":1"));
        assert_null(strstr(l, "\"msgs_per_s\":0,"));
    }
    /* 496 fits a direct SPI buffer; the route carries less and says so. */
    assert_non_null(strstr(a, "{\"size\":496,\"window\":8,"));
    assert_null(strstr(b, "\"size\":496"));
    assert_non_null(strstr(out, "the route to 'B' carries at most"));
    /* A before B, then the sim ends with the bench. */
    assert_true(strstr(out, "\"peer\":\"A\"") < strstr(out, "\"peer\":\"B\""));
    assert_non_null(strstr(out, "rpmsg sim: core big exited (status 0)"));
    assert_int_equal(sim_leftovers(pid), 0);
}

static void bench_text_table(void **state)
{
    (void)state;
    pid_t pid;
    int rc = run_bench_sim("--count 50 --latency 20 --sizes 64 --windows 4", 120, &pid);
    if (rc)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "bench against 'A'\n"));
    assert_non_null(strstr(out, "bench against 'B' (a far core, routed through hubs)\n"));
    assert_non_null(strstr(out, "latency, 16 bytes, 20 round trips:"));
    const char *b = strstr(out, "bench against 'B'");
    assert_non_null(strstr(b, "errors: 0\n"));
    assert_null(strstr(out, "errors: 1"));
    assert_int_equal(sim_leftovers(pid), 0);
}

/* A core the route does not reach: the bench says so and fails, and the
 * sim exits with its status. */
static void bench_unknown_core(void **state)
{
    (void)state;
    /* The ini's --to comes first; a second --to replaces it. */
    pid_t pid;
    int rc = run_bench_sim("--to nowhere --wait 1000", 60, &pid);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "rpmsg bench: core 'nowhere' never appeared within 1000 ms"));
    assert_non_null(strstr(out, "core big exited (status 1)"));
    assert_int_equal(sim_leftovers(pid), 0);
}

/* A program attaches its SPI bus by name, once: a second start is refused
 * with the reason, and the rest of the sim runs on. */
static void bench_core_restart_refused(void **state)
{
    (void)state;
    setenv("BENCH_ARGS", "--count 100000000 --latency 10 --sizes 16 --windows 1", 1);
    char file[64], sock[64];
    snprintf(file, sizeof(file), "/tmp/rpmsg-simtest-%d-bench3.out", (int)getpid());
    snprintf(sock, sizeof(sock), "/tmp/rpmsg-simtest-%d-bench.sock", (int)getpid());
    char *argv[] = { (char *)sim_bin(), "sim", (char *)sim_example("bench.ini"), "--until-exit",
                     "big", "--interval", "0", "--ctl", sock, NULL };
    pid_t pid = sim_spawn(argv, file);
    assert_true(pid > 0);
    static char ans[4096];
    /* The bench runs (its SPI bus attached) once A's echo has answered. */
    bool running = false;
    for (int i = 0; i < 600 && !running; i++) {
        unsigned far;
        unsigned long long echoed = 0;
        const char *a = sim_ctl(sock, "status", NULL, ans, sizeof(ans)) ? NULL
                        : strstr(ans, " A:running(");
        running = a && sscanf(a, " A:running(far %u, echoed %llu", &far, &echoed) == 2 && echoed;
        if (!running)
            usleep(100000);
    }
    int r = sim_ctl(sock, "restart", "big", ans, sizeof(ans));
    sim_ctl(sock, "quit", NULL, ans + 2048, sizeof(ans) - 2048);
    int rc = sim_wait(pid, 30);
    sim_read(file, out, sizeof(out));
    unlink(file);
    if (!running || !strstr(ans, "error:"))
        fprintf(stderr, "answer: %s\n%s\n", ans, out);
    assert_true(running);
    assert_int_equal(r, 1);
    assert_non_null(strstr(out, "attached the SPI bus of link spi0 already: it cannot start again"));
    assert_int_equal(rc, 0);
    assert_int_equal(sim_leftovers(pid), 0);
}

static void bench_join_usage(void **state)
{
    (void)state;
    char *no_to[] = { (char *)sim_bin(), "bench", "--join", NULL };
    assert_int_equal(sim_run(no_to, out, sizeof(out), 10), 2);
    assert_non_null(strstr(out, "--to CPU"));
    char *no_join[] = { (char *)sim_bin(), "bench", "--to", "B", "--link", "x", NULL };
    assert_int_equal(sim_run(no_join, out, sizeof(out), 10), 2);
    assert_non_null(strstr(out, "goes with --join"));
    char *both[] = { (char *)sim_bin(), "bench", "--join", "--to", "B", "--link", "x", NULL };
    assert_int_equal(sim_run(both, out, sizeof(out), 10), 2);
    assert_non_null(strstr(out, "no link option with it"));
    /* Outside a sim: nothing to join. */
    unsetenv("RPMSG_SIM_CORE");
    unsetenv("RPMSG_SIM_LINKS");
    char *outside[] = { (char *)sim_bin(), "bench", "--join", "--to", "B", NULL };
    assert_int_equal(sim_run(outside, out, sizeof(out), 10), 1);
    assert_non_null(strstr(out, "not started by `rpmsg sim`"));
    char *until[] = { (char *)sim_bin(), "sim", (char *)sim_example("bench.ini"), "--until-exit",
                      "zz", NULL };
    assert_int_equal(sim_run(until, out, sizeof(out), 10), 2);
    assert_non_null(strstr(out, "--until-exit: no core 'zz'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bench_join_usage),
        cmocka_unit_test(bench_direct_and_routed),
        cmocka_unit_test(bench_text_table),
        cmocka_unit_test(bench_unknown_core),
        cmocka_unit_test(bench_core_restart_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
