/*
 * Does the peer wait for our next entries (rpmsg_vring_peer_waits)? A side
 * holds received buffers back to give them in batches unless the peer asked
 * to be told of one of its next few positions: a sender starved of buffers
 * does. Split and packed rings, the driver's view of the device's request and
 * the device's view of the driver's, with positions that cross the ring's
 * end (a packed ring names an event as an offset and a wrap bit).
 */
#include "vring_pair.h"

#define WITHIN 8u

/* The driver giving buffers back to a device that may starve for them: the
 * device asks (as tx_arm does) for a kick n entries on, or for none. */
static void driver_view(bool packed, unsigned start)
{
    vp_pair(packed);
    vp_cycle(start);
    /* No request: not waiting. */
    rpmsg_vring_dev_notify(&dev, true, false);
    assert_false(rpmsg_vring_peer_waits(&drv, true, true, WITHIN));
    /* Told of the very next entry. */
    rpmsg_vring_dev_notify(&dev, true, true);
    assert_true(rpmsg_vring_peer_waits(&drv, true, true, WITHIN));
    assert_true(rpmsg_vring_peer_waits(&drv, true, true, 1));
    /* Of the 12th: not within 8 positions of ours, within 12. */
    rpmsg_vring_dev_notify_after(&dev, 12);
    assert_false(rpmsg_vring_peer_waits(&drv, true, true, WITHIN));
    assert_true(rpmsg_vring_peer_waits(&drv, true, true, 12));
    assert_false(rpmsg_vring_peer_waits(&drv, true, true, 11));
    /* Five entries later it is the 7th. */
    for (unsigned i = 0; i < 5; i++) {
        uint16_t id = (uint16_t)(drv.shadow % NUM);
        rpmsg_vring_drv_add(&drv, id, 0x1000u + 512u * id, 512, 0);
    }
    rpmsg_vring_drv_publish(&drv);
    assert_true(rpmsg_vring_peer_waits(&drv, true, true, WITHIN));
    assert_false(rpmsg_vring_peer_waits(&drv, true, true, 6));
    /* Without event indices: flags only, every entry or none. */
    rpmsg_vring_dev_notify(&dev, false, true);
    assert_true(rpmsg_vring_peer_waits(&drv, true, false, WITHIN));
    rpmsg_vring_dev_notify(&dev, false, false);
    assert_false(rpmsg_vring_peer_waits(&drv, true, false, WITHIN));
}

/* The device giving buffers back (used entries) to a driver that may
 * starve for them: the driver asks n entries on, or for none. */
static void device_view(bool packed, unsigned start)
{
    vp_pair(packed);
    vp_cycle(start);
    /* Ten buffers out with the device, not used yet. */
    for (unsigned i = 0; i < 10; i++) {
        uint16_t id = (uint16_t)(drv.shadow % NUM);
        rpmsg_vring_drv_add(&drv, id, 0x1000u + 512u * id, 512, 0);
        rpmsg_vring_drv_publish(&drv);
        uint16_t got = 0;
        assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &got), 1);
    }
    rpmsg_vring_drv_intr(&drv, true, false);
    assert_false(rpmsg_vring_peer_waits(&dev, false, true, WITHIN));
    rpmsg_vring_drv_intr(&drv, true, true);
    assert_true(rpmsg_vring_peer_waits(&dev, false, true, 1));
    rpmsg_vring_drv_intr_after(&drv, 10);
    assert_false(rpmsg_vring_peer_waits(&dev, false, true, 9));
    assert_true(rpmsg_vring_peer_waits(&dev, false, true, 10));
    /* Three used: the request is now the 7th of ours. */
    for (unsigned i = 0; i < 3; i++)
        rpmsg_vring_dev_put_used(&dev, (uint16_t)((start + i) % NUM), 16);
    rpmsg_vring_dev_publish(&dev);
    assert_true(rpmsg_vring_peer_waits(&dev, false, true, 7));
    assert_false(rpmsg_vring_peer_waits(&dev, false, true, 6));
    rpmsg_vring_drv_intr(&drv, false, true);
    assert_true(rpmsg_vring_peer_waits(&dev, false, false, WITHIN));
    rpmsg_vring_drv_intr(&drv, false, false);
    assert_false(rpmsg_vring_peer_waits(&dev, false, false, WITHIN));
}

/* Positions: the first lap; just before the ring's end, so that the
 * requests and our next entries lie in the next lap; a lap later (the
 * packed wrap counter is then 0); and far on (the counters wrapped u16). */
static const unsigned starts[] = { 0, NUM - 3, 2 * NUM - 2, 65536 - 5 };

static void each_start(void (*view)(bool, unsigned), bool packed)
{
    for (unsigned i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
        view(packed, starts[i]);
}

static void test_split_driver(void **state)
{
    (void)state;
    each_start(driver_view, false);
}

static void test_packed_driver(void **state)
{
    (void)state;
    each_start(driver_view, true);
}

static void test_split_device(void **state)
{
    (void)state;
    each_start(device_view, false);
}

static void test_packed_device(void **state)
{
    (void)state;
    each_start(device_view, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_driver),
        cmocka_unit_test(test_packed_driver),
        cmocka_unit_test(test_split_device),
        cmocka_unit_test(test_packed_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
