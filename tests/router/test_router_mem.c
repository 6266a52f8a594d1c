/*
 * A router in the caller's memory with threads (rpmsg_router_init_mem is
 * the bare-metal way, and works with an OS too): it refuses a block that is
 * too small or misaligned, routes like an allocated one (big reaches B
 * through the hub A, all three in caller memory), and destroy leaves the
 * block to its owner (ASan would see a free of it).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "rpmsg/rpmsg_loopback.h"
#include "rpmsg/rpmsg_router.h"

static bool up(struct rpmsg_router *r, const char *far)
{
    struct rpmsg_device *d = rpmsg_router_find(r, far);
    return d && rpmsg_device_is_up(d);
}

static void test_router_in_caller_memory(void **state)
{
    (void)state;
    size_t need = rpmsg_router_mem_size();
    uint64_t *mem[3];
    struct rpmsg_router *r[3];
    static const char *const names[3] = { "big", "A", "B" };
    for (int i = 0; i < 3; i++) {
        mem[i] = malloc(need + 8);
        assert_non_null(mem[i]);
        struct rpmsg_router_config c = { .local_cpuname = names[i], .hub = i == 1 };
        assert_int_equal(rpmsg_router_init_mem(&r[i], &c, mem[i], need - 1), -EINVAL);
        assert_int_equal(rpmsg_router_init_mem(&r[i], &c, (uint8_t *)mem[i] + 4, need), -EINVAL);
        assert_int_equal(rpmsg_router_init_mem(&r[i], &c, mem[i], need), 0);
        assert_ptr_equal(r[i], (void *)mem[i]);
        assert_int_equal(rpmsg_router_poll(r[i]), 0); /* its threads do the work */
    }
    struct rpmsg_loopback_config a = { .name_a = "big", .name_b = "A" };
    struct rpmsg_loopback_config b = { .name_a = "A", .name_b = "B" };
    struct rpmsg_loopback *la, *lb;
    assert_int_equal(rpmsg_loopback_create(&la, &a), 0);
    assert_int_equal(rpmsg_loopback_create(&lb, &b), 0);
    assert_int_equal(rpmsg_router_attach(r[0], rpmsg_loopback_dev_a(la)), 0);
    assert_int_equal(rpmsg_router_attach(r[1], rpmsg_loopback_dev_b(la)), 0);
    assert_int_equal(rpmsg_router_attach(r[1], rpmsg_loopback_dev_a(lb)), 0);
    assert_int_equal(rpmsg_router_attach(r[2], rpmsg_loopback_dev_b(lb)), 0);
    for (int i = 0; i < 3000 && !(up(r[0], "B") && up(r[2], "big")); i++)
        nanosleep(&(struct timespec){ 0, 5000000 }, NULL); /* bounded: 15 s */
    assert_true(up(r[0], "B"));
    assert_true(up(r[2], "big"));
    for (int i = 0; i < 3; i++)
        rpmsg_router_destroy(r[i]);
    rpmsg_loopback_destroy(la);
    rpmsg_loopback_destroy(lb);
    for (int i = 0; i < 3; i++)
        free(mem[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_in_caller_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
