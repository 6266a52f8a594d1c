/*
 * Router creation under resource failure: rpmsg_router_create() (the router,
 * its locks and worker thread) and attaching a link to it, with each
 * fallible OS call failing in turn.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fault_inject.h"
#include "rpmsg/rpmsg_router.h"
#include "testutil.h"

static int open_router(void *ctx)
{
    struct rpmsg_router_config cfg = { .local_cpuname = "hub", .hub = true };
    return rpmsg_router_create(ctx, &cfg);
}

static void close_router(void *ctx)
{
    struct rpmsg_router **r = ctx;
    rpmsg_router_destroy(*r);
    *r = NULL;
}

static void test_create(void **state)
{
    (void)state;
    struct rpmsg_router *r = NULL;
    unsigned n = fault_sweep(open_router, close_router, &r);
    print_message("  router create: %u fallible calls, each failed once\n", n);
    assert_true(n > 0);
}

struct attach_ctx {
    struct rpmsg_router *r;
    struct rpmsg_loopback *lb;
};

static int open_attach(void *arg)
{
    struct attach_ctx *c = arg;
    return rpmsg_router_attach(c->r, rpmsg_loopback_dev_a(c->lb));
}

static void close_attach(void *arg)
{
    struct attach_ctx *c = arg;
    assert_int_equal(rpmsg_router_detach(c->r, rpmsg_loopback_dev_a(c->lb)), 0);
}

static void test_attach(void **state)
{
    (void)state;
    struct attach_ctx c = { 0 };
    struct rpmsg_router_config cfg = { .local_cpuname = "a", .hub = true };
    assert_int_equal(rpmsg_router_create(&c.r, &cfg), 0);
    assert_int_equal(rpmsg_loopback_create(&c.lb, NULL), 0);
    unsigned n = fault_sweep(open_attach, close_attach, &c);
    print_message("  router attach: %u fallible calls, each failed once\n", n);
    rpmsg_router_destroy(c.r);
    rpmsg_loopback_destroy(c.lb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_attach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
