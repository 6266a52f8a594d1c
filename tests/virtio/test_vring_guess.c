/*
 * The guess a receiver spinning on an empty ring makes at its next message
 * (rpmsg_vring_guess_next), for cache hints: the ring bytes the entry will
 * be read from and the buffer it will most likely name. The driver (the
 * host receiving) guesses the id it made available at that position; the
 * device (the remote receiving) the id the driver put there a lap ago, with
 * that id's descriptor and address. Split and packed rings, across the
 * ring's end and the u16 wrap; ids out of range give no descriptor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "transport/virtio/vring.h"

#define NUM 16u
#define ALIGN 64u

static uint8_t shm[8192] __attribute__((aligned(64)));
static struct rpmsg_virtio_vq drv, dev;

static uint64_t addr_of(uint16_t id)
{
    return 0x1000u + 512u * id;
}

/* The driver makes id available, the device takes it and gives it back;
 * the driver takes it back. */
static void one(uint16_t id)
{
    rpmsg_vring_drv_add(&drv, id, addr_of(id), 512, 0);
    rpmsg_vring_drv_publish(&drv);
    uint16_t got = 0;
    assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &got), 1);
    assert_int_equal(got, id);
    rpmsg_vring_dev_put_used(&dev, got, 16);
    rpmsg_vring_dev_publish(&dev);
    uint32_t uid = 0, len = 0;
    assert_int_equal(rpmsg_vring_drv_get_used(&drv, &uid, &len), 1);
    assert_int_equal(uid, id);
}

/* A fresh pair, both sides `start` entries on (the ring's end and the u16
 * wrap are crossed by going round, as a real ring would). */
static void pair(bool packed, uint16_t start)
{
    memset(shm, 0, sizeof(shm));
    memset(&drv, 0, sizeof(drv));
    memset(&dev, 0, sizeof(dev));
    rpmsg_vring_attach(&drv, shm, 0, NUM, ALIGN, 0);
    rpmsg_vring_attach(&dev, shm, 0, NUM, ALIGN, 0);
    drv.packed = dev.packed = packed;
    for (unsigned i = 0; i < start; i++)
        one((uint16_t)(i % NUM));
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
    pair(packed, start);
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
    pair(packed, start);
    for (unsigned i = 0; i < NUM; i++)
        one(order(i));
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
        one(id);
    }
}

static void test_driver_split(void **state)
{
    (void)state;
    driver_guess(false, 0);
    driver_guess(false, NUM - 3);
    driver_guess(false, (uint16_t)(65536u - 5u));
}

static void test_driver_packed(void **state)
{
    (void)state;
    driver_guess(true, 0);
    driver_guess(true, NUM - 3);
    driver_guess(true, (uint16_t)(65536u - 5u));
}

static void test_device_split(void **state)
{
    (void)state;
    device_guess(false, 0);
    device_guess(false, NUM - 3);
    device_guess(false, (uint16_t)(65536u - 5u));
}

static void test_device_packed(void **state)
{
    (void)state;
    device_guess(true, 0);
    device_guess(true, NUM - 3);
    device_guess(true, (uint16_t)(65536u - 5u));
}

/* Whatever the peer left in the ring: an id out of range names no
 * descriptor (a split ring's device would otherwise index past the table). */
static void test_device_split_garbage_id(void **state)
{
    (void)state;
    pair(false, 0);
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
