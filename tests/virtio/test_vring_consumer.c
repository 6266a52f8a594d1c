/*
 * The consumer side of a split vring (vring.c): the producer's index is read
 * once per batch it promises, a new session forgets the promise, and the
 * peeks that let a consumer running behind fetch its next buffer early say
 * nothing without a backlog and nothing about an id out of range. Both
 * directions: the remote consuming avail entries, the host consuming used ones.
 */
#include "vring_pair.h"

/* Buffer of descriptor id, at a made-up address the peeks must report. */
static uint64_t addr_of(uint16_t id)
{
    return 0x10000u + 512u * id;
}

static void publish(unsigned n, uint16_t first_id)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t id = (uint16_t)((first_id + i) % NUM);
        rpmsg_vring_drv_add(&drv, id, addr_of(id), 512, 0);
    }
    rpmsg_vring_drv_publish(&drv);
}

static uint16_t avail_idx_in_shm(void)
{
    uint16_t v;
    memcpy(&v, shm + rpmsg_vring_avail_off(NUM) + 2, 2);
    return v;
}

static void set_avail_idx(uint16_t v)
{
    memcpy(shm + rpmsg_vring_avail_off(NUM) + 2, &v, 2);
}

/* The consumer takes the next avail entry, and it is descriptor want. */
static void expect_avail(uint16_t want)
{
    uint16_t id = 0xffff;
    assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &id), 1);
    assert_int_equal(id, want);
}

static void test_index_read_once_per_promise(void **state)
{
    (void)state;
    vp_pair(false);
    publish(3, 0);
    uint16_t id = 99;
    expect_avail(0);
    /* A hostile producer now claims 100 entries (more than the ring):
     * the two promised by the first read are still taken, in order, and the
     * lie is found at the next read of the index. */
    set_avail_idx((uint16_t)(avail_idx_in_shm() + 100));
    expect_avail(1);
    expect_avail(2);
    assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &id), -EPROTO);
}

static void test_later_entries_are_seen(void **state)
{
    (void)state;
    vp_pair(false);
    uint16_t id = 0, want = 0;
    for (unsigned round = 0; round < 5; round++) {
        publish(round + 1, want);
        for (unsigned i = 0; i <= round; i++) {
            expect_avail(want);
            want = (uint16_t)((want + 1) % NUM);
        }
        assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &id), 0);
    }
}

static void test_new_session_forgets_the_promise(void **state)
{
    (void)state;
    vp_pair(false);
    publish(6, 0);
    uint16_t id = 0;
    assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &id), 1);
    /* Both sides start over (the region cleared, as a host does for a new
     * session): the 5 entries the old read promised are gone. */
    rpmsg_vring_clear(&drv);
    rpmsg_vring_attach(&dev, shm, 0, NUM, ALIGN, 0);
    publish(1, 7);
    expect_avail(7);
    assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &id), 0);
}

static void test_dev_peek_needs_a_backlog(void **state)
{
    (void)state;
    vp_pair(false);
    uint64_t a = 0;
    uint16_t id = 0;
    assert_false(rpmsg_vring_dev_peek(&dev, &a));
    publish(5, 0);
    assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &id), 1);
    assert_false(rpmsg_vring_dev_peek(&dev, &a)); /* 4 behind: keeps up */
    publish(9, 5);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &id), 1);
    /* Those four were promised by the first read; the next read sees 14. */
    expect_avail(5);
    assert_true(rpmsg_vring_dev_peek(&dev, &a)); /* 8 behind */
    assert_int_equal(a, addr_of(6));
    /* An id out of range in the next entry: no address at all. */
    uint16_t bad = NUM + 3;
    memcpy(shm + rpmsg_vring_avail_off(NUM) + 4 + 2 * 6, &bad, 2);
    assert_false(rpmsg_vring_dev_peek(&dev, &a));
}

static void test_drv_peek_needs_a_backlog(void **state)
{
    (void)state;
    vp_pair(false);
    publish(NUM, 0);
    uint16_t id = 0;
    for (unsigned i = 0; i < NUM; i++) {
        assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &id), 1);
        rpmsg_vring_dev_put_used(&dev, id, 512);
    }
    uint32_t uid = 0, len = 0;
    assert_false(rpmsg_vring_drv_peek(&drv, &uid));
    rpmsg_vring_dev_publish(&dev);
    assert_int_equal(rpmsg_vring_drv_get_used(&drv, &uid, &len), 1);
    assert_int_equal(uid, 0);
    assert_true(rpmsg_vring_drv_peek(&drv, &uid)); /* 15 behind */
    assert_int_equal(uid, 1);
    for (unsigned i = 1; i < NUM - 7; i++) {
        assert_int_equal(rpmsg_vring_drv_get_used(&drv, &uid, &len), 1);
        assert_int_equal(uid, i);
    }
    assert_false(rpmsg_vring_drv_peek(&drv, &uid)); /* 7 behind */
    for (unsigned i = NUM - 7; i < NUM; i++)
        assert_int_equal(rpmsg_vring_drv_get_used(&drv, &uid, &len), 1);
    assert_int_equal(rpmsg_vring_drv_get_used(&drv, &uid, &len), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_read_once_per_promise),
        cmocka_unit_test(test_later_entries_are_seen),
        cmocka_unit_test(test_new_session_forgets_the_promise),
        cmocka_unit_test(test_dev_peek_needs_a_backlog),
        cmocka_unit_test(test_drv_peek_needs_a_backlog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
