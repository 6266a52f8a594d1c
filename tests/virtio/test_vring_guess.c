/*
 * The guess a receiver spinning on an empty ring makes at its next message
 * (rpmsg_vring_guess_next), for cache hints: the ring bytes the entry will
 * be read from and the buffer it will most likely name. The driver (the
 * host receiving) guesses the id it made available at that position; the
 * device (the remote receiving) the id the driver put there a lap ago, with
 * that id's descriptor and address. Split and packed rings, across the
 * ring's end and the u16 wrap; ids out of range give no descriptor.
 */
#include "vring_pair.h"

/* Where vp_one() puts buffer id. */
static uint64_t addr_of(uint16_t id)
{
    return 0x1000u + 512u * id;
}

/* An order of the NUM ids that is not the identity, as a host's free list
 * gives them once buffers came back in batches. */
static uint16_t order(unsigned i)
{
    return (uint16_t)((i * 5u + 3u) % NUM);
}

/* The driver, waiting for its next used entry, guesses the id it made
 * available at that position: right whatever order it posted them in. */
static void driver_guess(bool packed, uint16_t start)
{
    vp_pair(packed);
    vp_cycle(start);
    for (unsigned lap = 0; lap < 3; lap++) {
        /* Post a lap's worth ahead, then watch them come back one by one. */
        for (unsigned i = 0; i < NUM; i++) {
            uint16_t id = order(i + lap);
            rpmsg_vring_drv_add(&drv, id, addr_of(id), 512, 0);
        }
        rpmsg_vring_drv_publish(&drv);
        for (unsigned i = 0; i < NUM; i++) {
            struct rpmsg_vring_guess g;
            rpmsg_vring_guess_next(&drv, true, &g);
            assert_int_equal(g.id, order(i + lap));
            if (packed)
                assert_ptr_equal(g.entry, drv.desc + 16u * (drv.last % NUM));
            else
                assert_ptr_equal(g.entry, drv.used + 4u + 8u * (drv.last % NUM));
            uint16_t got = 0;
            assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &got), 1);
            rpmsg_vring_dev_put_used(&dev, got, 16);
            rpmsg_vring_dev_publish(&dev);
            uint32_t uid = 0, len = 0;
            assert_int_equal(rpmsg_vring_drv_get_used(&drv, &uid, &len), 1);
            assert_int_equal(uid, g.id);
        }
    }
}

/* The device, waiting for its next avail entry, guesses the buffer the
 * driver put at that position a lap ago: right from the second lap on when
 * the driver's buffers go round in the same order every lap. */
static void device_guess(bool packed, uint16_t start)
{
    vp_pair(packed);
    vp_cycle(start);
    for (unsigned i = 0; i < NUM; i++)
        vp_one(order(i));
    for (unsigned i = 0; i < 2 * NUM; i++) {
        struct rpmsg_vring_guess g;
        rpmsg_vring_guess_next(&dev, false, &g);
        uint16_t id = order(i % NUM);
        assert_int_equal(g.id, id);
        assert_true(g.addr == addr_of(id));
        if (packed) {
            assert_ptr_equal(g.entry, dev.desc + 16u * (dev.last % NUM));
            assert_null(g.desc);
        } else {
            assert_ptr_equal(g.entry, dev.avail + 4u + 2u * (dev.last % NUM));
            assert_ptr_equal(g.desc, dev.desc + 16u * id);
        }
        vp_one(id);
    }
}

/* Where each case starts: at 0, across the ring's end, across the u16 wrap. */
static const uint16_t STARTS[] = { 0, NUM - 3, (uint16_t)(65536u - 5u) };

static void each_start(void (*guess)(bool packed, uint16_t start), bool packed)
{
    for (size_t i = 0; i < sizeof(STARTS) / sizeof(STARTS[0]); i++)
        guess(packed, STARTS[i]);
}

static void test_driver_split(void **state)
{
    (void)state;
    each_start(driver_guess, false);
}

static void test_driver_packed(void **state)
{
    (void)state;
    each_start(driver_guess, true);
}

static void test_device_split(void **state)
{
    (void)state;
    each_start(device_guess, false);
}

static void test_device_packed(void **state)
{
    (void)state;
    each_start(device_guess, true);
}

/* Whatever the peer left in the ring: an id out of range names no
 * descriptor (a split ring's device would otherwise index past the table). */
static void test_device_split_garbage_id(void **state)
{
    (void)state;
    vp_pair(false);
    uint16_t bad = 0xBEEF;
    memcpy(dev.avail + 4, &bad, 2);
    struct rpmsg_vring_guess g;
    rpmsg_vring_guess_next(&dev, false, &g);
    assert_int_equal(g.id, bad);
    assert_null(g.desc);
    assert_true(g.addr == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_driver_split),
        cmocka_unit_test(test_driver_packed),
        cmocka_unit_test(test_device_split),
        cmocka_unit_test(test_device_packed),
        cmocka_unit_test(test_device_split_garbage_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
