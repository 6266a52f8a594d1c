/*
 * Link open under resource failure: rpmsg_link_open() of a native VirtIO
 * link and of a simulated SPI link (each the creating side, which opens
 * without a peer), with each fallible OS call failing in turn. A failed open
 * returns the fault's errno and leaves no thread, descriptor or shm name.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "../platform/plat_helpers.h"
#include "fault_inject.h"
#include "rpmsg/rpmsg_link.h"

struct ctx {
    char spec[256];
    const char *name; /* the /dev/shm object the link creates */
    struct rpmsg_link *link;
};

static int open_link(void *arg)
{
    struct ctx *c = arg;
    struct rpmsg_link_config cfg = {
        .spec = c->spec,
        .role = RPMSG_LINK_HOST,
        .side = RPMSG_LINK_CREATE,
        .num_bufs = 8,
    };
    int r = rpmsg_link_open(&c->link, &cfg);
    if (r)
        assert_false(ph_shm_exists(c->name));
    return r;
}

static void close_link(void *arg)
{
    struct ctx *c = arg;
    assert_non_null(rpmsg_link_device(c->link));
    rpmsg_link_close(c->link);
    c->link = NULL;
    assert_false(ph_shm_exists(c->name));
}

static void sweep(const char *fmt)
{
    char name[64];
    struct ctx c = { .name = ph_shm_name(name, sizeof(name)) };
    snprintf(c.spec, sizeof(c.spec), fmt, name);
    unsigned n = fault_sweep(open_link, close_link, &c);
    print_message("  %s: %u fallible calls, each failed once\n", fmt, n);
    assert_true(n > 0);
}

static void test_virtio_native(void **state)
{
    (void)state;
    sweep("virtio:%s");
}

static void test_spi_sim(void **state)
{
    (void)state;
    sweep("spi:%s:master");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virtio_native),
        cmocka_unit_test(test_spi_sim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
