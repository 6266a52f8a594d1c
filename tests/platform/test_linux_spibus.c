/*
 * Linux platform: the simulated SPI bus as the port's SPI link sees it
 * through rpmsg_spibus_ops. Both ends are driven from one thread, unpaced
 * (clock 0) unless a test says otherwise: every step is deterministic.
 *
 * What is checked: the slave's ring of armed frames, the master's queue of
 * two transfers (queued, collected in order, each exchanged with the frame
 * the slave had armed for it), what an unarmed slave gives, dropping the
 * queue, a master's wait for SREQ ending with its queued transfer, and a
 * bus in a named object opened twice (two mappings, as in two processes).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rpmsg/rpmsg_port.h"

#define LEN 64u

struct bus {
    struct rpmsg_spibus *b;
    void *m, *s;
};

static const struct rpmsg_port_spi_ops *ops = &rpmsg_spibus_ops;

static struct bus the_bus;

static int bus_open(void **state, uint32_t clock_hz)
{
    struct bus *x = &the_bus;
    struct rpmsg_spibus_config c = { .clock_hz = clock_hz, .seed = 1 };
    if (rpmsg_spibus_create(&x->b, &c))
        return -1;
    x->m = rpmsg_spibus_end(x->b, true);
    x->s = rpmsg_spibus_end(x->b, false);
    *state = x;
    return 0;
}

static int unpaced(void **state)
{
    return bus_open(state, 0);
}

static int paced_1mhz(void **state)
{
    return bus_open(state, 1000000); /* 64 bytes: a 512 us transfer */
}

static int bus_close(void **state)
{
    struct bus *x = *state;
    rpmsg_spibus_destroy(x->b);
    return 0;
}

static void fill(uint8_t *buf, uint8_t tag)
{
    for (unsigned i = 0; i < LEN; i++)
        buf[i] = (uint8_t)(tag + i);
}

static void assert_frame(const uint8_t *buf, uint8_t tag)
{
    uint8_t want[LEN];
    fill(want, tag);
    assert_memory_equal(buf, want, LEN);
}

/* Arms a slave frame tagged tag; returns what the backend said. */
static int arm(struct bus *x, uint8_t tag)
{
    uint8_t tx[LEN], rx[LEN];
    fill(tx, tag);
    return ops->transfer(x->s, tx, rx, LEN, 0);
}

/* The master clocks a frame tagged tag; returns what the backend said. */
static int clock_out(struct bus *x, uint8_t tag, uint8_t *rx)
{
    uint8_t tx[LEN];
    fill(tx, tag);
    return ops->transfer(x->m, tx, rx, LEN, 0);
}

static void test_master_queue_in_order(void **state)
{
    struct bus *x = *state;
    uint8_t rx[LEN];

    /* Three slots: room after the first two, the third fills the ring
     * (nothing finished by the deadline), a fourth does not fit. */
    assert_int_equal(arm(x, 0x10), 0);
    assert_int_equal(arm(x, 0x20), 0);
    assert_int_equal(arm(x, 0x30), -ETIMEDOUT);
    assert_int_equal(arm(x, 0x40), -EBUSY);
    assert_int_equal(ops->wait_peer(x->m, 0), 1); /* SREQ */

    /* The first transfer is queued; the second fills the queue, so the
     * call waits for the first and hands back what the slave armed first. */
    assert_int_equal(clock_out(x, 0xA0, rx), 0);
    assert_int_equal(clock_out(x, 0xB0, rx), (int)LEN);
    assert_frame(rx, 0x10);
    /* A third cannot be queued before the second is collected... */
    assert_int_equal(ops->transfer(x->m, NULL, rx, LEN, 0), (int)LEN);
    assert_frame(rx, 0x20);
    /* ...and with nothing queued, collecting gives nothing. */
    assert_int_equal(ops->transfer(x->m, NULL, rx, LEN, 0), 0);

    /* The slave got the master's frames in order, each once. */
    assert_int_equal(ops->transfer(x->s, NULL, rx, LEN, 0), (int)LEN);
    assert_frame(rx, 0xA0);
    assert_int_equal(ops->transfer(x->s, NULL, rx, LEN, 0), (int)LEN);
    assert_frame(rx, 0xB0);
    assert_int_equal(ops->transfer(x->s, NULL, rx, LEN, 0), -ETIMEDOUT);

    /* Its third frame is still armed and is what the next transfer reads. */
    assert_int_equal(ops->wait_peer(x->m, 0), 1);
    assert_int_equal(clock_out(x, 0xC0, rx), 0);
    assert_int_equal(ops->wait_peer(x->m, 0), 0); /* nothing armed any more */
    assert_int_equal(ops->transfer(x->m, NULL, rx, LEN, 0), (int)LEN);
    assert_frame(rx, 0x30);
    assert_int_equal(ops->transfer(x->s, NULL, rx, LEN, 0), (int)LEN);
    assert_frame(rx, 0xC0);

    struct rpmsg_spibus_stats st;
    rpmsg_spibus_get_stats(x->b, &st);
    assert_int_equal(st.transfers, 3);
    assert_int_equal(st.bytes, 3 * LEN);
    assert_int_equal(st.unarmed, 0);
}

static void test_master_unarmed_slave(void **state)
{
    struct bus *x = *state;
    uint8_t rx[LEN];
    assert_int_equal(ops->wait_peer(x->m, 0), 0);
    /* Clocked anyway: the master reads an idle MISO line and the slave,
     * which armed nothing, receives nothing. */
    assert_int_equal(clock_out(x, 0x55, rx), 0);
    assert_int_equal(ops->transfer(x->m, NULL, rx, LEN, 0), (int)LEN);
    for (unsigned i = 0; i < LEN; i++)
        assert_int_equal(rx[i], 0xFF);
    assert_int_equal(ops->transfer(x->s, NULL, rx, LEN, 0), -ETIMEDOUT);
    struct rpmsg_spibus_stats st;
    rpmsg_spibus_get_stats(x->b, &st);
    assert_int_equal(st.transfers, 1);
    assert_int_equal(st.unarmed, 1);
}

static void test_master_drop_queue(void **state)
{
    struct bus *x = *state;
    uint8_t rx[LEN];
    assert_int_equal(arm(x, 0x10), 0);
    assert_int_equal(arm(x, 0x20), 0);
    assert_int_equal(clock_out(x, 0xA0, rx), 0);
    /* A master starting over drops what it queued: the transfer still
     * happened on the wire, so the slave still sees it, and only it. */
    assert_int_equal(ops->transfer(x->m, NULL, NULL, 0, 0), 0);
    assert_int_equal(ops->transfer(x->m, NULL, rx, LEN, 0), 0);
    assert_int_equal(ops->transfer(x->s, NULL, rx, LEN, 0), (int)LEN);
    assert_frame(rx, 0xA0);
    assert_int_equal(ops->transfer(x->s, NULL, rx, LEN, 0), -ETIMEDOUT);
    /* The slave's second frame was not clocked: still armed. */
    assert_int_equal(ops->wait_peer(x->m, 0), 1);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_wait_peer_ends_with_transfer(void **state)
{
    struct bus *x = *state;
    uint8_t rx[LEN];
    assert_int_equal(arm(x, 0x10), 0);
    assert_int_equal(clock_out(x, 0xA0, rx), 0);
    /* No SREQ, and a deadline far off: the wait still ends when the queued
     * transfer does, so that the master collects it on time instead of
     * holding both ends' frames until the deadline. */
    uint64_t t0 = mono_ms();
    assert_int_equal(ops->wait_peer(x->m, t0 + 20000), 0);
    assert_true(mono_ms() - t0 < 10000);
    assert_int_equal(ops->transfer(x->m, NULL, rx, LEN, 0), (int)LEN);
    assert_frame(rx, 0x10);
}

static void test_shared_bus(void **state)
{
    (void)state;
    char name[64], path[96];
    snprintf(name, sizeof(name), "rpmsg-spibus-test-%d", (int)getpid());
    snprintf(path, sizeof(path), "/dev/shm/%s", name);
    struct rpmsg_spibus_config c = { .clock_hz = 5000000 };
    struct rpmsg_spibus *mine, *theirs;
    /* Nobody created it: the attacher gives up at its deadline. */
    assert_int_equal(rpmsg_spibus_open_shared(&theirs, name, false, &c, 50), -ENOENT);
    assert_int_equal(rpmsg_spibus_open_shared(&mine, name, true, &c, 0), 0);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(rpmsg_spibus_open_shared(&theirs, name, false, NULL, 1000), 0);
    /* Both have it: the name has gone, the clock came with the bus. */
    assert_int_equal(access(path, F_OK), -1);
    assert_ptr_not_equal(mine, theirs);
    assert_int_equal(rpmsg_spibus_clock(theirs), 5000000);

    /* Slave on one mapping, master on the other: one bus. */
    struct bus x = { mine, rpmsg_spibus_end(theirs, true), rpmsg_spibus_end(mine, false) };
    uint8_t rx[LEN];
    assert_int_equal(arm(&x, 0x10), 0);
    assert_int_equal(ops->wait_peer(x.m, 0), 1);
    assert_int_equal(clock_out(&x, 0xA0, rx), 0);
    assert_int_equal(ops->transfer(x.m, NULL, rx, LEN, 0), (int)LEN);
    assert_frame(rx, 0x10);
    assert_int_equal(ops->transfer(x.s, NULL, rx, LEN, 0), (int)LEN);
    assert_frame(rx, 0xA0);
    rpmsg_spibus_destroy(theirs);
    rpmsg_spibus_destroy(mine);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_bad_args(void **state)
{
    struct bus *x = *state;
    uint8_t tx[LEN];
    fill(tx, 0x11);
    assert_int_equal(ops->transfer(NULL, tx, tx, LEN, 0), -EINVAL);
    assert_int_equal(ops->transfer(x->m, tx, NULL, LEN, 0), -EINVAL);
    assert_int_equal(ops->transfer(x->s, tx, NULL, LEN, 0), -EINVAL);
    assert_int_equal(ops->transfer(x->m, tx, tx, 0, 0), -EINVAL);
    assert_int_equal(ops->transfer(x->m, tx, tx, 1u << 20, 0), -EINVAL);
    assert_int_equal(ops->set_request(x->s, true), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_master_queue_in_order, unpaced, bus_close),
        cmocka_unit_test_setup_teardown(test_master_unarmed_slave, unpaced, bus_close),
        cmocka_unit_test_setup_teardown(test_master_drop_queue, unpaced, bus_close),
        cmocka_unit_test_setup_teardown(test_wait_peer_ends_with_transfer, paced_1mhz, bus_close),
        cmocka_unit_test(test_shared_bus),
        cmocka_unit_test_setup_teardown(test_bad_args, unpaced, bus_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
