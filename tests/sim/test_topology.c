/* Topology files: the examples parse; bad files give file:line: reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim_helpers.h"

static char out[SIM_OUT_MAX];

static int check_file(const char *path)
{
    char *argv[] = { (char *)sim_bin(), "sim", (char *)path, "--check", NULL };
    return sim_run(argv, out, sizeof(out), 20);
}

/* Writes text to a unique file, runs --check on it, expects failure with
 * "<file>:<line>: <reason>". */
static void expect_error(const char *text, int line, const char *reason)
{
    char path[64], want[512];
    snprintf(path, sizeof(path), "/tmp/rpmsg-simtest-%d.ini", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    int rc = check_file(path);
    unlink(path);
    snprintf(want, sizeof(want), "%s:%d: %s", path, line, reason);
    if (!strstr(out, want))
        fprintf(stderr, "wanted '%s', got:\n%s\n", want, out);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, want));
}

static void examples_parse(void **state)
{
    (void)state;
    assert_int_equal(check_file(sim_example("heterogeneous.ini")), 0);
    assert_non_null(strstr(out, "3 cores, 2 links"));
    assert_non_null(strstr(out, "core A          hub"));
    assert_non_null(strstr(out, "spi0       spi    big (master) <-> A (slave) clock_hz 20000000"));
    assert_non_null(strstr(out, "vq0        virtio A (host) <-> B (remote)"));
    assert_int_equal(check_file(sim_example("homogeneous.ini")), 0);
    assert_non_null(strstr(out, "3 cores, 3 links"));
    assert_int_equal(check_file(sim_example("chain4.ini")), 0);
    assert_non_null(strstr(out, "4 cores, 3 links"));
    assert_non_null(strstr(out, "uart0      uart   B (a) <-> C (b) baud 3000000"));
}

static void bad_files(void **state)
{
    (void)state;
    expect_error("[core a]\n[core b]\ncolour = red\n", 3,
                 "unknown key 'colour' in a core section");
    expect_error("[core a]\n[core b]\n\n[link l]\ntype = virtio\nhost = a\nremote = c\n", 7,
                 "link 'l' names unknown core 'c'");
    expect_error("[core a]\n[core b]\n[link l]\ntype = virtio\nhost = a\nremote = a\n", 6,
                 "link 'l' joins core 'a' to itself");
    expect_error("[core a]\n[core b]\n[link l]\ntype = virtio\nhost = a\n", 3,
                 "link 'l' lacks its remote end");
    expect_error("[core a]\n[core b]\n[link l]\ntype = carrier-pigeon\n", 4,
                 "unknown link type 'carrier-pigeon'");
    expect_error("[core a]\nthis is not ini\n", 2, "syntax error");
    expect_error("[core a]\n[core b]\n[link l]\ntype = spi\nhost = a\n", 5,
                 "'host' is not an end of a spi link (use master/slave)");
    expect_error("[core a]\n[core a]\n", 2, "core 'a' defined twice (first at line 1)");
    expect_error("[core a]\n[core b]\n[link l]\ntype = uart\na = a\nb = b\nbaud = fast\n", 7,
                 "baud: expected a number, got 'fast'");
    expect_error("[core a]\n[core b]\n[link l]\ntype = virtio\nhost = a\nremote = b\n"
                 "[sim]\ndemo_to = z\n", 8, "unknown core 'z'");
    expect_error("[core a]\n[core b]\n[core c]\n[link l]\ntype = virtio\nhost = a\nremote = b\n",
                 3, "core 'c' has no link");
}

static void missing_file(void **state)
{
    (void)state;
    assert_int_equal(check_file("/nonexistent/topology.ini"), 2);
    assert_non_null(strstr(out, "/nonexistent/topology.ini: No such file or directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(examples_parse),
        cmocka_unit_test(bad_files),
        cmocka_unit_test(missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
