/*
 * A split ring stores a descriptor's fields, an avail entry and a used
 * element only when they change (vw_set16, vw_set32): a lap that puts the
 * same buffers at the same positions writes none of those lines, so they
 * stay shared with the peer instead of moving to the writer and back.
 *
 * Each part of the ring sits on its own page here. After a first lap the
 * pages are made read-only; a store then faults, and the handler counts it
 * and makes the page writable again, so the store goes through and the
 * test sees what was written as well as whether anything was.
 */
#include <setjmp.h>
#include <stdlib.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/virtio/virtio_wire.h"
#include "transport/virtio/vring.h"

#define NUM 256u /* descriptors: exactly one 4 KiB page */
#define PAGE 4096u
#define ADDR(id) (0x10000u + 512u * (id))

enum { P_DESC, P_AVAIL, P_USED, P_COUNT };

static uint8_t *ring; /* P_COUNT pages: desc, avail, used (ALIGN = PAGE) */
static volatile sig_atomic_t faults[P_COUNT];
static struct rpmsg_virtio_vq drv, dev;

static void one(uint16_t id, uint32_t len, uint32_t used_len);

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    uintptr_t a = (uintptr_t)si->si_addr, base = (uintptr_t)ring;
    if (a < base || a >= base + P_COUNT * PAGE)
        abort(); /* not ours: a real fault */
    size_t page = (a - base) / PAGE;
    faults[page]++;
    mprotect(ring + page * PAGE, PAGE, PROT_READ | PROT_WRITE);
}

static int setup(void **state)
{
    (void)state;
    ring = mmap(NULL, P_COUNT * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ring == MAP_FAILED)
        return -1;
    /* The layout this test relies on: each part on its own page. */
    if (rpmsg_vring_avail_off(NUM) != PAGE || rpmsg_vring_used_at(0, NUM, PAGE) != 2 * PAGE)
        return -1;
    return 0;
}

/* A zeroed ring, both views at position 0, after one lap of buffer i at
 * position i (descriptor length 32, used length 16). */
static void first_lap(void)
{
    memset(ring, 0, P_COUNT * PAGE);
    memset(&drv, 0, sizeof(drv));
    memset(&dev, 0, sizeof(dev));
    rpmsg_vring_attach(&drv, ring, 0, NUM, PAGE, 0);
    rpmsg_vring_attach(&dev, ring, 0, NUM, PAGE, 0);
    for (uint32_t i = 0; i < NUM; i++)
        one((uint16_t)i, 32, 16);
}

static int teardown(void **state)
{
    (void)state;
    munmap(ring, P_COUNT * PAGE);
    return 0;
}

/* Our handler is set here, in the test: cmocka sets its own around each. */
static void protect(void)
{
    struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGSEGV, &sa, NULL), 0);
    for (int p = 0; p < P_COUNT; p++)
        faults[p] = 0;
    assert_int_equal(mprotect(ring, P_COUNT * PAGE, PROT_READ), 0);
}

static void unprotect(void)
{
    assert_int_equal(mprotect(ring, P_COUNT * PAGE, PROT_READ | PROT_WRITE), 0);
}

/* One message through both views, published (the indices are written). */
static void one(uint16_t id, uint32_t len, uint32_t used_len)
{
    rpmsg_vring_drv_add(&drv, id, ADDR(id), len, 0);
    rpmsg_vring_drv_publish(&drv);
    uint16_t got = 0;
    assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &got), 1);
    assert_int_equal(got, id);
    rpmsg_vring_dev_put_used(&dev, got, used_len);
    rpmsg_vring_dev_publish(&dev);
    uint32_t uid = 0, ulen = 0;
    assert_int_equal(rpmsg_vring_drv_get_used(&drv, &uid, &ulen), 1);
    assert_int_equal(uid, id);
    assert_int_equal(ulen, used_len);
}

static uint16_t avail_at(uint32_t pos)
{
    return vw_ld16(ring + PAGE + 4 + 2 * (pos % NUM));
}

static uint32_t used_len_at(uint32_t pos)
{
    return vw_ld32(ring + 2 * PAGE + 4 + 8 * (pos % NUM) + 4);
}

/* The second lap puts the same buffers at the same positions: no store. */
static void test_same_lap_stores_nothing(void **state)
{
    (void)state;
    first_lap();
    protect();
    for (uint32_t i = 0; i < NUM; i++) {
        /* Added and given back without publishing: the indices share the
         * pages of the entries, and are the one thing a lap must change. */
        rpmsg_vring_drv_add(&drv, (uint16_t)i, ADDR(i), 32, 0);
        rpmsg_vring_dev_put_used(&dev, (uint16_t)i, 16);
    }
    unprotect();
    assert_int_equal(faults[P_DESC], 0);
    assert_int_equal(faults[P_AVAIL], 0);
    assert_int_equal(faults[P_USED], 0);
    for (uint32_t i = 0; i < NUM; i++) {
        assert_int_equal(avail_at(i), i);
        assert_int_equal(used_len_at(i), 16);
    }
}

/* What changes is stored, in the page it belongs to and no other. */
static void test_a_change_is_stored(void **state)
{
    (void)state;
    first_lap();

    /* Buffer 1 at position 0 (buffer 0's a lap ago): a new avail entry;
     * buffer 1's descriptor is as it was. */
    protect();
    rpmsg_vring_drv_add(&drv, 1, ADDR(1), 32, 0);
    unprotect();
    assert_int_equal(faults[P_DESC], 0);
    assert_int_equal(faults[P_AVAIL], 1);
    assert_int_equal(avail_at(NUM), 1);

    /* Buffer 2, 48 bytes now, at position 1: its descriptor and the entry. */
    protect();
    rpmsg_vring_drv_add(&drv, 2, ADDR(2), 48, 0);
    unprotect();
    assert_int_equal(faults[P_DESC], 1);
    assert_int_equal(faults[P_AVAIL], 1);
    uint64_t addr = 0;
    uint32_t len = 0;
    rpmsg_vring_get_buf(&drv, ring + 16 * 2, &addr, &len);
    assert_int_equal(addr, ADDR(2));
    assert_int_equal(len, 48);
    assert_int_equal(avail_at(NUM + 1), 2);

    /* Buffer 2 again, 48 bytes, at position 2 (where it was a lap ago):
     * both already hold what it needs. */
    protect();
    rpmsg_vring_drv_add(&drv, 2, ADDR(2), 48, 0);
    unprotect();
    assert_int_equal(faults[P_DESC], 0);
    assert_int_equal(faults[P_AVAIL], 0);

    /* A used element with another length. */
    protect();
    rpmsg_vring_dev_put_used(&dev, 0, 17);
    unprotect();
    assert_int_equal(faults[P_USED], 1);
    assert_int_equal(used_len_at(NUM), 17);
    assert_int_equal(faults[P_DESC] + faults[P_AVAIL], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_lap_stores_nothing),
        cmocka_unit_test(test_a_change_is_stored),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
