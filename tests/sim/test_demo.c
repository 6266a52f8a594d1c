/*
 * `rpmsg sim --demo` end to end on the three example topologies: discovery
 * across hubs, ping, a checked stream both ways, a clean stop with no names
 * left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim_helpers.h"

static char out[SIM_OUT_MAX];

static void run_demo(const char *example, const char *route, const char *hops)
{
    char file[64];
    snprintf(file, sizeof(file), "/tmp/rpmsg-simtest-%d-demo.out", (int)getpid());
    char *argv[] = { (char *)sim_bin(), "sim", (char *)sim_example(example), "--demo",
                     "--count", "400", "--pings", "20", "--interval", "0", NULL };
    pid_t pid = sim_spawn(argv, file);
    assert_true(pid > 0);
    int rc = sim_wait(pid, 40);
    sim_read(file, out, sizeof(out));
    unlink(file);
    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, route));
    assert_non_null(strstr(out, "20 round trips of 16 bytes"));
    assert_non_null(strstr(out, "400 echoed back, 0 sequence errors, 0 checksum errors"));
    assert_non_null(strstr(out, "result: OK"));
    const char *last = sim_last_line(out);
    assert_true(!strncmp(last, "{\"bench\":\"sim_topology\"", 23));
    assert_non_null(strstr(last, "\"ok\":true"));
    assert_non_null(strstr(last, hops));
    assert_int_equal(sim_leftovers(pid), 0);
}

static void heterogeneous(void **state)
{
    (void)state;
    run_demo("heterogeneous.ini", "route:  big -spi-> A -virtio-> B  (2 hops, 1 hub)",
             "\"hops\":2");
    /* The first hop is measured too, for comparison. */
    assert_non_null(strstr(out, "first hop only, for comparison big -> A:"));
}

static void homogeneous(void **state)
{
    (void)state;
    run_demo("homogeneous.ini", "route:  B -virtio-> C  (1 hop, 0 hubs)", "\"hops\":1");
}

static void chain_of_four(void **state)
{
    (void)state;
    run_demo("chain4.ini", "route:  big -spi-> A -virtio-> B -uart-> C  (3 hops, 2 hubs)",
             "\"hops\":3");
}

/* Bit errors on the SPI hop: CRC catches them, the port protocol resends,
 * the data still arrives intact and in order. */
static void noisy_spi(void **state)
{
    (void)state;
    char ini[64], file[64];
    snprintf(ini, sizeof(ini), "/tmp/rpmsg-simtest-%d-noisy.ini", (int)getpid());
    snprintf(file, sizeof(file), "/tmp/rpmsg-simtest-%d-noisy.out", (int)getpid());
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fputs("[sim]\ndemo_from = big\ndemo_to = B\n[core big]\n[core A]\nhub = yes\n[core B]\n"
          "[link s]\ntype = spi\nmaster = big\nslave = A\nclock_hz = 20000000\nber = 2e-5\n"
          "[link v]\ntype = virtio\nhost = A\nremote = B\n", f);
    fclose(f);
    char *argv[] = { (char *)sim_bin(), "sim", ini, "--demo", "--count", "1000", "--pings", "20",
                     "--interval", "0", NULL };
    pid_t pid = sim_spawn(argv, file);
    int rc = sim_wait(pid, 40);
    sim_read(file, out, sizeof(out));
    unlink(file);
    unlink(ini);
    if (rc)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "1000 echoed back, 0 sequence errors, 0 checksum errors"));
    assert_non_null(strstr(out, "link-level errors recovered by the transports: "));
    assert_null(strstr(out, "link-level errors recovered by the transports: 0\n"));
    assert_int_equal(sim_leftovers(pid), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heterogeneous),
        cmocka_unit_test(homogeneous),
        cmocka_unit_test(chain_of_four),
        cmocka_unit_test(noisy_spi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
