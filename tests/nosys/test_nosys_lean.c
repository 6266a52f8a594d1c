/*
 * The lean remote (src/lean/) against a host played by the test, which
 * writes the region by hand: the handshake, the announcement, messages both
 * ways, and a host that breaks the protocol (ring index run ahead,
 * descriptor id, address or length out of bounds, a header longer than its
 * buffer, features never offered): each is refused without touching
 * anything outside the region (a heap block of its exact size, so ASan sees
 * any stray access), the link goes down, and a new session brings it back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The lean remote is compiled where a firmware asks for it (RPMSG_LEAN_REMOTE
 * 1): here, in this test's own unit, beside the bare-metal library. */
#define RPMSG_LEAN_REMOTE 1
#include "lean/lean_ept.c"
#include "lean/lean_link.c"

#define SHM_SIZE 0x4000u
#define NUM 4u
#define POOL 0x1000u
#define BUF 512u
#define VDEV (RSC_VDEV_OFF)

uint32_t rpmsg_board_time_ms(void);
uint32_t rpmsg_board_time_ms(void)
{
    static uint32_t ms;
    return ms += 100; /* a blocking send gives up after a few calls */
}

static const struct rpmsg_virtio_layout lay = {
    .vring_da = { 0x400, 0x800 },
    .num = { NUM, NUM },
    .align = 16,
    .notifyid = { 1, 2 },
    .buf_offset = POOL,
};

static uint8_t *shm;
static unsigned kicks, waits;
static uint16_t host_avail[2], host_used[2];

static int notify(void *plat, uint32_t id)
{
    (void)plat;
    (void)id;
    kicks++;
    return 0;
}

static int wait_peer(void *plat, uint64_t deadline)
{
    (void)plat;
    (void)deadline;
    waits++;
    return 0;
}

static const struct rpmsg_virtio_platform_ops ops = { .notify = notify, .wait = wait_peer };

static void put32(uint32_t off, uint32_t v)
{
    memcpy(shm + off, &v, 4);
}
static void put16(uint32_t off, uint16_t v)
{
    memcpy(shm + off, &v, 2);
}
static uint32_t get32(uint32_t off)
{
    uint32_t v;
    memcpy(&v, shm + off, 4);
    return v;
}

static uint32_t avail_off(int q)
{
    return lay.vring_da[q] + 16u * NUM;
}
static uint32_t used_off_of(int q)
{
    return lay.vring_da[q] + 80u; /* 64 + 14 rounded up to 16 */
}

static void host_table(void)
{
    memset(shm, 0, SHM_SIZE);
    put32(4, 1);
    put32(RSC_HDR_SIZE, RSC_VDEV_OFF);
    put32(VDEV + VDEV_TYPE, RPMSG_RSC_VDEV);
    put32(VDEV + VDEV_ID, RPMSG_VIRTIO_ID_RPMSG);
    shm[VDEV + VDEV_NUM_VRINGS] = 2;
    for (int q = 0; q < 2; q++) {
        uint32_t r = VDEV + VDEV_VRINGS + (uint32_t)q * RSC_VRING_SIZE;
        put32(r, lay.vring_da[q]);
        put32(r + 4, lay.align);
        put32(r + 8, NUM);
        put32(r + 12, lay.notifyid[q]);
    }
    put32(0, 1);
}

/* A new session: rings zeroed, gen published, status cleared. */
static void host_publish(uint8_t gen)
{
    shm[VDEV + VDEV_STATUS] = 0;
    for (int q = 0; q < 2; q++) {
        memset(shm + lay.vring_da[q], 0, used_off_of(q) + 6 + 8 * NUM);
        host_avail[q] = host_used[q] = 0;
    }
    shm[VDEV + VDEV_GEN] = gen;
}

static void host_post(int q, uint16_t id, uint64_t addr, uint32_t len)
{
    uint32_t d = lay.vring_da[q] + 16u * id;
    memcpy(shm + d, &addr, 8);
    put32(d + 8, len);
    put16(avail_off(q) + 4 + 2 * (host_avail[q] % NUM), id);
    put16(avail_off(q) + 2, ++host_avail[q]);
}

/* The next used entry of vring q: 1 with id and len, 0 if none. */
static int host_take_used(int q, uint32_t *id, uint32_t *len)
{
    uint16_t idx;
    memcpy(&idx, shm + used_off_of(q) + 2, 2);
    if (idx == host_used[q])
        return 0;
    uint32_t e = used_off_of(q) + 4 + 8 * (host_used[q]++ % NUM);
    *id = get32(e);
    *len = get32(e + 4);
    return 1;
}

static uint32_t buf_of(int q, uint16_t id)
{
    return POOL + ((uint32_t)q * NUM + id) * BUF;
}

/* A message from the host: src 0x400 to dst, in its TX buffer id. */
static void host_send(uint16_t id, uint32_t dst, const char *text, uint16_t hdr_len)
{
    uint32_t b = buf_of(1, id), len = (uint32_t)strlen(text);
    put32(b, 0x400);
    put32(b + 4, dst);
    put32(b + 8, 0);
    put16(b + 12, hdr_len);
    put16(b + 14, 0);
    memcpy(shm + b + RPMSG_HDR_SIZE, text, len);
    host_post(1, id, b, RPMSG_HDR_SIZE + len);
}

static char got[64];
static unsigned calls;
static uint32_t got_src;

static int cb(struct rpmsg_lean_ept *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    calls++;
    got_src = src;
    memset(got, 0, sizeof(got));
    memcpy(got, data, len < sizeof(got) - 1 ? len : sizeof(got) - 1);
    return rpmsg_lean_trysendto(e, data, len, src);
}

static struct rpmsg_lean ld;
static struct rpmsg_lean_ept ept;

/* Handshake of session gen; the announcement is checked once up. */
static void bring_up(uint8_t gen)
{
    host_publish(gen);
    assert_int_equal(rpmsg_lean_poll(&ld), 0);
    assert_int_equal(shm[VDEV + VDEV_ACK], gen);
    assert_int_equal(get32(VDEV + VDEV_DFEATURES), RPMSG_F_NS);
    assert_false(rpmsg_lean_is_up(&ld));
    for (uint16_t i = 0; i < NUM; i++)
        host_post(0, i, buf_of(0, i), BUF);
    put32(VDEV + VDEV_GFEATURES, RPMSG_F_NS);
    shm[VDEV + VDEV_STATUS] = 0x0f;
    assert_int_equal(rpmsg_lean_poll(&ld), 0);
    assert_true(rpmsg_lean_is_up(&ld));
    uint32_t id = 0, len = 0;
    assert_int_equal(host_take_used(0, &id, &len), 1);
    assert_int_equal(len, RPMSG_HDR_SIZE + sizeof(struct rpmsg_ns_msg));
    uint32_t b = buf_of(0, (uint16_t)id);
    assert_int_equal(get32(b), RPMSG_ADDR_DYN_BASE);
    assert_int_equal(get32(b + 4), RPMSG_NS_ADDR);
    assert_string_equal((char *)shm + b + RPMSG_HDR_SIZE, "echo");
    assert_int_equal(get32(b + RPMSG_HDR_SIZE + 32), RPMSG_ADDR_DYN_BASE);
    host_post(0, (uint16_t)id, b, BUF); /* the host reads it and gives the buffer back */
}

static int setup(void **state)
{
    (void)state;
    shm = malloc(SHM_SIZE);
    assert_non_null(shm);
    host_table();
    calls = 0;
    assert_int_equal(rpmsg_lean_init(&ld, shm, SHM_SIZE, &lay, &ops, NULL), 0);
    assert_int_equal(rpmsg_lean_create_ept(&ept, &ld, "echo", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, cb, NULL),
                     0);
    bring_up(1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(shm);
    return 0;
}

/* The session went down on a fault: ack cleared, -EPROTO once, no callback. */
static void assert_faulted(unsigned calls_before)
{
    assert_int_equal(rpmsg_lean_poll(&ld), -EPROTO);
    assert_false(rpmsg_lean_is_up(&ld));
    assert_int_equal(shm[VDEV + VDEV_ACK], 0);
    assert_int_equal(calls, calls_before);
    /* The host resets the session and the link comes back. */
    bring_up(2);
}

static void test_echo(void **state)
{
    (void)state;
    host_send(0, RPMSG_ADDR_DYN_BASE, "hello", 5);
    host_send(1, RPMSG_ADDR_DYN_BASE, "world!", 6);
    assert_int_equal(rpmsg_lean_poll(&ld), 2);
    assert_int_equal(calls, 2);
    assert_string_equal(got, "world!");
    assert_int_equal(got_src, 0x400);
    assert_int_equal(ept.dest, 0x400); /* bound by the first message */
    uint32_t id = 0, len = 0;
    /* Both RX buffers back, with their lengths. */
    assert_int_equal(host_take_used(1, &id, &len), 1);
    assert_int_equal(id, 0);
    assert_int_equal(len, RPMSG_HDR_SIZE + 5);
    assert_int_equal(host_take_used(1, &id, &len), 1);
    assert_int_equal(id, 1);
    /* Both echoes, in order. */
    assert_int_equal(host_take_used(0, &id, &len), 1);
    assert_int_equal(len, RPMSG_HDR_SIZE + 5);
    assert_memory_equal(shm + buf_of(0, (uint16_t)id) + RPMSG_HDR_SIZE, "hello", 5);
    assert_int_equal(get32(buf_of(0, (uint16_t)id) + 4), 0x400);
    assert_int_equal(host_take_used(0, &id, &len), 1);
    assert_memory_equal(shm + buf_of(0, (uint16_t)id) + RPMSG_HDR_SIZE, "world!", 6);
    /* Nothing for an unknown address or the name service reaches a callback. */
    host_send(2, 0x999, "x", 1);
    host_send(3, RPMSG_NS_ADDR, "y", 1);
    assert_int_equal(rpmsg_lean_poll(&ld), 2);
    assert_int_equal(calls, 2);
}

static void test_send_waits_then_times_out(void **state)
{
    (void)state;
    uint32_t id = 0, len = 0;
    for (int i = 0; i < (int)NUM; i++) /* the host's 4 buffers */
        assert_int_equal(rpmsg_lean_trysendto(&ept, "abc", 3, 0x400), 3);
    assert_int_equal(rpmsg_lean_trysendto(&ept, "abc", 3, 0x400), -EAGAIN);
    waits = 0;
    assert_int_equal(rpmsg_lean_sendto(&ept, "abc", 3, 0x400), -ETIMEDOUT);
    assert_true(waits > 0);
    assert_int_equal(host_take_used(0, &id, &len), 1);
    host_post(0, (uint16_t)id, buf_of(0, (uint16_t)id), BUF);
    assert_int_equal(rpmsg_lean_sendto(&ept, "abc", 3, 0x400), 3);
    assert_int_equal(rpmsg_lean_trysendto(&ept, "x", RPMSG_BUFFER_SIZE, 0x400), -EMSGSIZE);
}

static void test_idx_ran_ahead(void **state)
{
    (void)state;
    put16(avail_off(1) + 2, NUM + 1);
    assert_faulted(0);
}

static void test_bad_id(void **state)
{
    (void)state;
    host_post(1, 0, buf_of(1, 0), 32);
    put16(avail_off(1) + 4, NUM); /* the entry names descriptor 4 of 4 */
    assert_faulted(0);
}

static void test_addr_outside_pool(void **state)
{
    (void)state;
    host_post(1, 0, POOL - 16, 32); /* below the pool */
    assert_faulted(0);
    host_post(1, 0, SHM_SIZE - 8, 32); /* runs past the region's end */
    assert_faulted(0);
    host_post(1, 0, (1ull << 32) | buf_of(1, 0), 32); /* high word */
    assert_faulted(0);
    host_post(1, 0, buf_of(1, 0), 8); /* shorter than a header */
    assert_faulted(0);
    host_post(1, 0, buf_of(1, 0) + 2, 32); /* not word-aligned */
    assert_faulted(0);
}

static void test_short_tx_buffer(void **state)
{
    (void)state;
    /* Use up the host's buffers, then give one too small for a message. */
    while (rpmsg_lean_trysendto(&ept, "abc", 3, 0x400) == 3)
        ;
    host_post(0, 0, buf_of(0, 0), 64);
    assert_int_equal(rpmsg_lean_trysendto(&ept, "abc", 3, 0x400), -EPROTO);
    assert_false(rpmsg_lean_is_up(&ld));
    bring_up(2);
}

static void test_header_longer_than_buffer(void **state)
{
    (void)state;
    host_send(0, RPMSG_ADDR_DYN_BASE, "abc", 400); /* claims 400 bytes in a 19-byte message */
    assert_int_equal(rpmsg_lean_poll(&ld), 1);
    assert_int_equal(calls, 0);
    uint32_t id = 0, len = 0;
    assert_int_equal(host_take_used(1, &id, &len), 1); /* dropped, buffer returned */
    assert_true(rpmsg_lean_is_up(&ld));
}

static void test_features_not_offered(void **state)
{
    (void)state;
    host_publish(2);
    assert_int_equal(rpmsg_lean_poll(&ld), 0); /* the host reset: down, acks gen 2 */
    assert_int_equal(shm[VDEV + VDEV_ACK], 2);
    put32(VDEV + VDEV_GFEATURES, RPMSG_F_NS | RPMSG_VIRTIO_F_BUFSZ);
    shm[VDEV + VDEV_STATUS] = 0x0f;
    assert_int_equal(rpmsg_lean_poll(&ld), -EPROTO);
    assert_false(rpmsg_lean_is_up(&ld));
    bring_up(3);
}

static void test_bad_layout_or_table(void **state)
{
    (void)state;
    struct rpmsg_lean other;
    struct rpmsg_virtio_layout l = lay;
    l.num[0] = 3;
    assert_int_equal(rpmsg_lean_init(&other, shm, SHM_SIZE, &l, &ops, NULL), -EINVAL);
    l = lay;
    l.vring_da[1] = SHM_SIZE - 64; /* the used ring would pass the end */
    assert_int_equal(rpmsg_lean_init(&other, shm, SHM_SIZE, &l, &ops, NULL), -EINVAL);
    l = lay;
    l.pool_size = SHM_SIZE;
    assert_int_equal(rpmsg_lean_init(&other, shm, SHM_SIZE, &l, &ops, NULL), -EINVAL);
    l = lay;
    l.flags = RPMSG_VIRTIO_LAYOUT_F_BASE;
    assert_int_equal(rpmsg_lean_init(&other, shm, SHM_SIZE, &l, &ops, NULL), -ENOTSUP);
    /* A table of other vrings is not acked. */
    assert_int_equal(rpmsg_lean_init(&other, shm, SHM_SIZE, &lay, &ops, NULL), 0);
    host_publish(5);
    put32(VDEV + VDEV_VRINGS + 8, 8);
    assert_int_equal(rpmsg_lean_poll(&other), 0);
    assert_int_not_equal(shm[VDEV + VDEV_ACK], 5);
}

static void test_ept_table(void **state)
{
    (void)state;
    struct rpmsg_lean_ept e2, e3;
    assert_int_equal(rpmsg_lean_create_ept(&e2, &ld, NULL, 0x50, RPMSG_ADDR_ANY, cb, NULL), 0);
    assert_int_equal(rpmsg_lean_create_ept(&e3, &ld, NULL, 0x51, RPMSG_ADDR_ANY, cb, NULL), -ENOMEM);
    rpmsg_lean_destroy_ept(&e2);
    assert_int_equal(rpmsg_lean_create_ept(&e3, &ld, NULL, RPMSG_ADDR_DYN_BASE, RPMSG_ADDR_ANY, cb,
                                           NULL), -EINVAL);
    assert_int_equal(rpmsg_lean_create_ept(&e3, &ld, NULL, 0x51, RPMSG_ADDR_ANY, cb, NULL), 0);
    host_send(0, 0x51, "to e3", 5);
    assert_int_equal(rpmsg_lean_poll(&ld), 1);
    assert_int_equal(calls, 1);
    assert_string_equal(got, "to e3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_waits_then_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_ran_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_addr_outside_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_tx_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_longer_than_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_features_not_offered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_layout_or_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ept_table, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
