/*
 * `rpmsg sim` topologies with a NuttX simulator core (kind = nuttx-sim):
 * examples/nuttx.ini parses and names the object; the rules (one VirtIO link
 * to a core of ours, no hub, no program, no demo) give file:line: reason.
 * The run against the real rpserver is nuttx_test_nuttx_real.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../sim/sim_helpers.h"

static char out[SIM_OUT_MAX];

/* --check on text written to a unique file: its exit code; the output in out. */
static int check_text(const char *text)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/rpmsg-nxtopo-%d.ini", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    char *argv[] = { (char *)sim_bin(), "sim", path, "--check", NULL };
    int rc = sim_run(argv, out, sizeof(out), 20);
    unlink(path);
    return rc;
}

static void expect_error(const char *text, int line, const char *reason)
{
    char want[256];
    snprintf(want, sizeof(want), ".ini:%d: %s", line, reason);
    int rc = check_text(text);
    if (!strstr(out, want))
        fprintf(stderr, "wanted '%s', got:\n%s\n", want, out);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, want));
}

static void example_parses(void **state)
{
    (void)state;
    char ex[1024];
    snprintf(ex, sizeof(ex), "%s", __FILE__);
    char *at = strstr(ex, "/tests/nuttx/");
    assert_non_null(at);
    snprintf(at, sizeof(ex) - (size_t)(at - ex), "/examples/nuttx.ini");
    char *argv[] = { (char *)sim_bin(), "sim", ex, "--check", NULL };
    assert_int_equal(sim_run(argv, out, sizeof(out), 20), 0);
    assert_non_null(strstr(out, "core server     nuttx-sim: /dev/shm/server-proxy"));
    assert_non_null(strstr(out, "nx         virtio server (host) <-> A (remote)"));
    /* shm defaults to NuttX's name */
    assert_int_equal(check_text("[core n]\nkind = nuttx-sim\n[core A]\n[link l]\ntype = virtio\n"
                                "host = A\nremote = n\n"),
                     0);
    assert_non_null(strstr(out, "core n          nuttx-sim: /dev/shm/server-proxy"));
}

static void bad_files(void **state)
{
    (void)state;
    expect_error("[core n]\nkind = zephyr\n", 2, "kind: expected builtin or nuttx-sim, got 'zephyr'");
    expect_error("[core n]\nkind = nuttx-sim\n[core A]\n[link l]\ntype = uart\na = n\nb = A\n", 4,
                 "link 'l' to NuttX core 'n' must be virtio");
    expect_error("[core n]\nkind = nuttx-sim\nhub = true\n[core A]\n[link l]\ntype = virtio\n"
                 "host = n\nremote = A\n",
                 1, "core 'n' is a NuttX simulator: no hub, no program");
    expect_error("[core n]\nkind = nuttx-sim\n[core A]\n[core B]\n[link l]\ntype = virtio\n"
                 "host = n\nremote = A\n[link m]\ntype = virtio\nhost = n\nremote = B\n",
                 1, "core 'n' is a NuttX simulator: exactly one link");
    expect_error("[core n]\nkind = nuttx-sim\n[core m]\nkind = nuttx-sim\n[link l]\n"
                 "type = virtio\nhost = n\nremote = m\n",
                 5, "link 'l' joins two NuttX cores");
    expect_error("[core n]\nshm = x\n[core A]\n[link l]\ntype = virtio\nhost = n\nremote = A\n", 1,
                 "core 'n': shm applies to kind = nuttx-sim only");
    expect_error("[core n]\nkind = nuttx-sim\n[core A]\n[link l]\ntype = virtio\nhost = n\n"
                 "remote = A\n[sim]\ndemo_to = n\n",
                 9, "core 'n' is a NuttX simulator: no demo on it");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(example_parses),
        cmocka_unit_test(bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
