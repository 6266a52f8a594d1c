/*
 * One vring of NUM entries in memory, seen by its driver (drv) and its
 * device (dev), for the ring's unit tests (test_vring_*.c): one test file
 * each, so the ring's memory and views are the file's own.
 */
#ifndef VRING_PAIR_H
#define VRING_PAIR_H

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

/* A fresh ring, both views at position 0, in the layout asked for. */
static inline void vp_pair(bool packed)
{
    memset(shm, 0, sizeof(shm));
    memset(&drv, 0, sizeof(drv));
    memset(&dev, 0, sizeof(dev));
    rpmsg_vring_attach(&drv, shm, 0, NUM, ALIGN, 0);
    rpmsg_vring_attach(&dev, shm, 0, NUM, ALIGN, 0);
    drv.packed = dev.packed = packed;
}

/* The driver makes buffer id available (at 0x1000 + 512 id), the device
 * takes it and gives it back, the driver takes it back. */
static inline void vp_one(uint16_t id)
{
    rpmsg_vring_drv_add(&drv, id, 0x1000u + 512u * id, 512, 0);
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

/* n buffers round (each the one at the driver's position), so that a test
 * starts anywhere: across the ring's end, across the u16 wrap. */
static inline void vp_cycle(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        vp_one((uint16_t)(drv.shadow % NUM));
}

#endif
