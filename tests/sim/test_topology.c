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

/* bridge, export and mount keys: each rejection names its own line. */
static void bad_services(void **state)
{
    (void)state;
#define TWO "[link l]\ntype = virtio\nhost = a\nremote = b\n"
    expect_error("[core a]\nbridge = tcp-listen:5201\n[core b]\n" TWO, 2,
                 "bridge: expected two addresses of `rpmsg sock`");
    expect_error("[core a]\n[core b]\n\nbridge = tcp-listen:5201 tcp:1.2.3.4:5\n" TWO, 4,
                 "bridge: 'tcp-listen:5201 tcp:1.2.3.4:5' is no bridge of `rpmsg sock`");
    expect_error("[core a]\nbridge = tcp-listen:5201 rpmsg:zz:svc\n[core b]\n" TWO, 2,
                 "bridge: unknown core 'zz'");
    expect_error("[core a]\nbridge = tcp-listen:5201 rpmsg:svc\n[core b]\n" TWO, 2,
                 "bridge: rpmsg:svc names no core (rpmsg:CPU:NAME)");
    expect_error("[core a]\nbridge = stdio rpmsg:b:svc\n[core b]\n" TWO, 2,
                 "bridge: stdio: a core has no stdio");
    expect_error("[core a]\n[core b]\nexport = data /nonexistent/dir\n" TWO, 3,
                 "export 'data': '/nonexistent/dir' is no directory");
    expect_error("[core a]\n[core b]\nexport = data /tmp rw\n" TWO, 3,
                 "export: expected NAME DIR [ro]");
    expect_error("[core a]\n[core b]\nexport = d /tmp\nexport = d /tmp ro\n" TWO, 4,
                 "export 'd' defined twice on core 'b' (first at line 3)");
    expect_error("[core a]\nmount = b /tmp\n[core b]\n" TWO, 2,
                 "mount: expected CPU:NAME MOUNTPOINT");
    expect_error("[core a]\n\nmount = q:data /tmp\n[core b]\n" TWO, 3,
                 "mount: unknown core 'q'");
    expect_error("[core a]\nmount = a:data /tmp\n[core b]\n" TWO, 2,
                 "mount: core 'a' mounts its own export");
    expect_error("[core a]\nmount = b:data /nonexistent/mnt\n[core b]\n" TWO, 2,
                 "mount 'data': mount point '/nonexistent/mnt' is no directory");
    expect_error("[core a]\nmount = c:data /tmp\n[core b]\n[core c]\n" TWO
                 "[link m]\ntype = virtio\nhost = b\nremote = c\n", 2,
                 "mount: no route from 'a' to 'c' (only hubs forward)");
    expect_error("[core a]\nprogram = true\nexport = d /tmp\n[core b]\n" TWO, 3,
                 "core 'a' is not a built-in core (program or nuttx-sim)");
#undef TWO
}

/* A file with every new key parses and --check prints the services. */
static void services_parse(void **state)
{
    (void)state;
    assert_int_equal(check_file(sim_example("services.ini")), 0);
    assert_non_null(strstr(out, "core big        bridge tcp-listen:127.0.0.1:5201 rpmsg:B:iperf"));
    assert_non_null(strstr(out, "core B          bridge rpmsg-listen:iperf tcp:127.0.0.1:5202"));
    assert_non_null(strstr(out, "core B          export data /tmp (read-only)"));
    assert_non_null(strstr(out, "core big        mount B:data at /mnt"));
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
        cmocka_unit_test(bad_services),
        cmocka_unit_test(services_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
