/*
 * Shared memory too small for the link: the peer created a region smaller
 * than our layout needs (or someone cut the object short). Opening fails
 * with a clean errno and leaves no thread, descriptor or mapping behind.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "../platform/plat_helpers.h"
#include "fault_inject.h"
#include "rpmsg/rpmsg_link.h"
#include "rpmsg/rpmsg_linux.h"

/* A creator (platform layer only) offering region bytes. */
static void create_region(struct rpmsg_linux_link *pl, const char *name, size_t region)
{
    struct rpmsg_linux_config c = { .name = name, .side = RPMSG_LINUX_CREATOR,
                                    .region_size = region };
    assert_int_equal(rpmsg_linux_open(pl, &c), 0);
}

static int attach_link(const char *name, struct rpmsg_link **out)
{
    char spec[128];
    snprintf(spec, sizeof(spec), "virtio:%s", name);
    struct rpmsg_link_config cfg = {
        .spec = spec,
        .role = RPMSG_LINK_REMOTE,
        .side = RPMSG_LINK_ATTACH,
        .timeout_ms = 2000,
    };
    return rpmsg_link_open(out, &cfg);
}

static void check_too_small(size_t region)
{
    char name[64];
    ph_shm_name(name, sizeof(name));
    struct rpmsg_linux_link pl;
    create_region(&pl, name, region);
    struct fault_snapshot before = fault_snapshot();
    struct rpmsg_link *l = NULL;
    int r = attach_link(name, &l);
    print_message("  region %zu bytes: %d (%s)\n", region, r, strerror(-r));
    assert_true(r < 0 && r > -4096);
    assert_null(l);
    assert_true(fault_snapshot_equal(before, fault_snapshot()));
    rpmsg_linux_close(&pl);
    assert_false(ph_shm_exists(name));
}

static void test_region_far_too_small(void **state)
{
    (void)state;
    check_too_small(1);
}

static void test_region_one_page(void **state)
{
    (void)state;
    check_too_small(4096);
}

/* The default layout (256 buffers of 512 bytes each way) needs ~260 KiB. */
static void test_region_just_short(void **state)
{
    (void)state;
    check_too_small(256 * 1024);
}

/* The same attach succeeds once the region is large enough: the failures
 * above are about size, not about attaching. */
static void test_region_large_enough(void **state)
{
    (void)state;
    char name[64];
    ph_shm_name(name, sizeof(name));
    struct rpmsg_linux_link pl;
    create_region(&pl, name, 1024 * 1024);
    struct rpmsg_link *l = NULL;
    assert_int_equal(attach_link(name, &l), 0);
    rpmsg_link_close(l);
    rpmsg_linux_close(&pl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_region_far_too_small),
        cmocka_unit_test(test_region_one_page),
        cmocka_unit_test(test_region_just_short),
        cmocka_unit_test(test_region_large_enough),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
