/*
 * A user program as a core: examples/sim_join.c is compiled against the
 * library of this build, named by examples/with-program.ini, joins with
 * rpmsg_link_join() and answers the demo client through a hub.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim_helpers.h"

static char out[SIM_OUT_MAX];

/* Plain flags first; a sanitizer build's library needs the same runtime. */
static bool build_example(const char *bin)
{
    char src[1024], inc[1100], lib[1024];
    snprintf(src, sizeof(src), "%s", sim_example("sim_join.c"));
    snprintf(inc, sizeof(inc), "-I%s", sim_example(""));
    char *p = strstr(inc, "/examples/");
    if (!p)
        return false;
    strcpy(p, "/include");
    snprintf(lib, sizeof(lib), "%s/librpmsg.a", getenv("RPMSG_TEST_BIN_DIR") ? getenv("RPMSG_TEST_BIN_DIR") : ".");
    char *plain[] = { "/usr/bin/cc", "-std=c11", "-D_GNU_SOURCE", inc, src, lib, "-lpthread",
                      "-lrt", "-o", (char *)bin, NULL };
    if (sim_run(plain, out, sizeof(out), 60) == 0)
        return true;
    char *san[] = { "/usr/bin/cc", "-std=c11", "-D_GNU_SOURCE", "-fsanitize=address,undefined",
                    inc, src, lib, "-lpthread", "-lrt", "-o", (char *)bin, NULL };
    if (sim_run(san, out, sizeof(out), 60) == 0)
        return true;
    fprintf(stderr, "cannot build the example:\n%s\n", out);
    return false;
}

static void program_joins(void **state)
{
    (void)state;
    char bin[64], file[64];
    snprintf(bin, sizeof(bin), "/tmp/rpmsg-simtest-%d-join", (int)getpid());
    snprintf(file, sizeof(file), "/tmp/rpmsg-simtest-%d-prog.out", (int)getpid());
    if (access("/usr/bin/cc", X_OK) || !build_example(bin)) {
        unlink(bin);
        skip();
    }
    setenv("SIM_JOIN", bin, 1);
    char *argv[] = { (char *)sim_bin(), "sim", (char *)sim_example("with-program.ini"), "--demo",
                     "--count", "300", "--pings", "20", "--interval", "0", NULL };
    pid_t pid = sim_spawn(argv, file);
    assert_true(pid > 0);
    int rc = sim_wait(pid, 40);
    sim_read(file, out, sizeof(out));
    unlink(file);
    unlink(bin);
    if (rc || !strstr(out, "result: OK") || !strstr(out, "left after echoing"))
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "core app        program: exec ${SIM_JOIN:-./sim_join}"));
    assert_non_null(strstr(out, "sim_join: joined as core app"));
    assert_non_null(strstr(out, "route:  big -spi-> A -virtio-> app  (2 hops, 1 hub)"));
    assert_non_null(strstr(out, "300 echoed back, 0 sequence errors, 0 checksum errors"));
    /* It was stopped with SIGTERM and left cleanly. */
    assert_non_null(strstr(out, "sim_join: core app left after echoing"));
    assert_non_null(strstr(out, "result: OK"));
    assert_int_equal(sim_leftovers(pid), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(program_joins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
