/*
 * Device start under resource failure: a loopback pair (two devices, their
 * locks, conditions and RX threads, the buffer pools) and a device started
 * alone, with each fallible OS call failing in turn.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fault_inject.h"
#include "testutil.h"

static int open_pair(void *ctx)
{
    return rpmsg_loopback_create(ctx, NULL);
}

static void close_pair(void *ctx)
{
    struct rpmsg_loopback **lb = ctx;
    /* It works: a message goes across before it is closed. */
    struct tu_rec rec;
    tu_rec_init(&rec);
    struct rpmsg_endpoint a, b;
    assert_int_equal(tu_ept_create(&b, rpmsg_loopback_dev_b(*lb), NULL, 0x400, RPMSG_ADDR_ANY,
                                   tu_rec_cb, NULL, &rec), 0);
    assert_int_equal(tu_ept_create(&a, rpmsg_loopback_dev_a(*lb), NULL, 0x401, 0x400, NULL, NULL,
                                   NULL), 0);
    assert_int_equal(rpmsg_send(&a, "x", 1), 1);
    assert_int_equal(tu_rec_wait(&rec, 1, TU_TIMEOUT_MS), 0);
    rpmsg_destroy_ept(&a);
    rpmsg_destroy_ept(&b);
    tu_rec_deinit(&rec);
    rpmsg_loopback_destroy(*lb);
    *lb = NULL;
}

static void test_loopback_pair(void **state)
{
    (void)state;
    struct rpmsg_loopback *lb = NULL;
    unsigned n = fault_sweep(open_pair, close_pair, &lb);
    print_message("  loopback pair: %u fallible calls, each failed once\n", n);
    assert_true(n >= 8); /* pair + pools + 2 x (lock, cond, RX thread) */
}

/* A pair whose devices have no RX thread: init without start. */
static int open_polled(void *ctx)
{
    struct rpmsg_loopback_config cfg = { .no_rx_thread = true };
    return rpmsg_loopback_create(ctx, &cfg);
}

static void close_polled(void *ctx)
{
    struct rpmsg_loopback **lb = ctx;
    rpmsg_loopback_destroy(*lb);
    *lb = NULL;
}

static void test_loopback_polled(void **state)
{
    (void)state;
    struct rpmsg_loopback *lb = NULL;
    assert_true(fault_sweep(open_polled, close_polled, &lb) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_pair),
        cmocka_unit_test(test_loopback_polled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
