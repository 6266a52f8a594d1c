/*
 * Golden bytes of the NuttX simulator link and of NuttX's ping, written out
 * by hand from nuttx-wire.md §1/§4 and the 13.0.1 builds' messages (not
 * produced by the code under test):
 * - the status words each side writes (BOOT, OK, NEED_RESET at 16/20);
 * - the resource table our master writes, and nothing else of the region;
 * - ping requests and the answers `rpmsg echo` gives in both encodings.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../tools/nuttx_ping.h"
#include "platform/linux/nuttx_sim.h"
#include "rpmsg/rpmsg_link.h"

static uint8_t region[NX_SIM_SIZE];

static void expect_bytes(const uint8_t *got, const uint8_t *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s: byte %zu is %02x, want %02x", what, i, got[i], want[i]);
}

static void test_table(void **st)
{
    (void)st;
    memset(region, 0xCC, sizeof(region));
    rpmsg_nuttx_sim_write_table(region, "server", "proxy");
    static const uint8_t hdr[] = {
        0x01, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* ver 1, num 2, cmd words 0 */
        0xf8, 0x00, 0x02, 0x00, 0x7c, 0x01, 0x02, 0x00,       /* offsets 131320, 131452 */
    };
    static const uint8_t vdev[132] = {
        0x03, 0, 0, 0, 0x07, 0, 0, 0, 0x04, 0, 0, 0,     /* RSC_VDEV, VIRTIO_ID_RPMSG, notifyid 4 */
        0x0f, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0,        /* dfeatures NS|ACK|BUFSZ|CPUNAME, config 64 */
        0x00, 0x02, 0, 0,                                /* status 0, 2 vrings */
        0xcc, 0x01, 0x02, 0x00, 8, 0, 0, 0, 8, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, /* vring0 @131532 */
        0xac, 0x02, 0x02, 0x00, 8, 0, 0, 0, 8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, /* vring1 @131756 */
        0x00, 0x06, 0, 0, 0x00, 0x06, 0, 0,              /* h2r, r2h buffer sizes 0x600 */
        [68 + 24] = 's', 'e', 'r', 'v', 'e', 'r', 0, 0,
        [68 + 32] = 'p', 'r', 'o', 'x', 'y', 0, 0, 0,
    };
    static const uint8_t carveout[56] = {
        0x00, 0, 0, 0, 0xcc, 0x01, 0x02, 0x00,          /* RSC_CARVEOUT, da 131532 */
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00, /* pa ANY, len 64 KiB */
        0, 0, 0, 0, 0, 0, 0, 0,                         /* flags, reserved */
        'r', 'p', 'm', 's', 'g', '0', '_', 's', 'h', 'm',
    };
    const uint32_t t = NX_SIM_TABLE, v = t + 131320, c = t + 131452;
    expect_bytes(region + t, hdr, sizeof(hdr), "table header");
    expect_bytes(region + v, vdev, sizeof(vdev), "rpmsg vdev");
    expect_bytes(region + c, carveout, sizeof(carveout), "carve-out");
    /* Everything else (base, counters, the entropy devices) untouched. */
    for (uint32_t i = 0; i < NX_SIM_SIZE; i++) {
        bool ours = (i >= t && i < t + sizeof(hdr)) || (i >= v && i < v + sizeof(vdev)) ||
                    (i >= c && i < c + sizeof(carveout));
        if (!ours && region[i] != 0xCC)
            fail_msg("byte %u written", i);
    }
}

/* ---- status words ------------------------------------------------------ */

static char name[64], path[80];

static uint8_t *map_object(void)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    void *m = mmap(NULL, NX_SIM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(m != MAP_FAILED);
    return m;
}

static bool word_is(volatile uint8_t *m, uint32_t off, uint32_t v)
{
    for (int t = 0; t < 20000; t += 2) {
        uint8_t want[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
        if (!memcmp((const uint8_t *)m + off, want, 4))
            return true;
        usleep(2000);
    }
    return false;
}

static void put_word(uint8_t *m, uint32_t off, uint32_t v)
{
    __atomic_store_n((uint32_t *)(void *)(m + off), v, __ATOMIC_SEQ_CST);
}

static struct rpmsg_link *open_ours(bool master)
{
    struct rpmsg_link_config cfg = { .spec = name,
                                     .role = master ? RPMSG_LINK_HOST : RPMSG_LINK_REMOTE,
                                     .timeout_ms = 20000 };
    struct rpmsg_link *l = NULL;
    assert_int_equal(rpmsg_link_open(&l, &cfg), 0);
    return l;
}

static void names(const char *what)
{
    char n[40];
    snprintf(n, sizeof(n), "nxgold-%d-%s", (int)getpid(), what);
    snprintf(name, sizeof(name), "nuttx-sim:%s", n);
    snprintf(path, sizeof(path), "/dev/shm/%s", n);
    unlink(path);
}

/* Our master: bootm BOOT, OK once the slave says BOOT; leaving: NEED_RESET to the slave. */
static void test_status_master(void **st)
{
    (void)st;
    names("m");
    struct rpmsg_link *l = open_ours(true);
    uint8_t *m = map_object();
    assert_true(word_is(m, NX_SIM_BOOTM, NX_SIM_BOOT));
    put_word(m, NX_SIM_BOOTS, NX_SIM_BOOT);
    assert_true(word_is(m, NX_SIM_BOOTM, NX_SIM_OK));
    put_word(m, NX_SIM_BOOTS, NX_SIM_OK);
    rpmsg_link_close(l);
    assert_true(word_is(m, NX_SIM_BOOTM, 0));
    assert_true(word_is(m, NX_SIM_BOOTS, NX_SIM_NEED_RESET));
    munmap(m, NX_SIM_SIZE);
    unlink(path);
}

/* Our slave: boots BOOT, OK once the master says OK; leaving: NEED_RESET to the master. */
static void test_status_slave(void **st)
{
    (void)st;
    names("s");
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, NX_SIM_SIZE), 0);
    close(fd);
    uint8_t *m = map_object();
    rpmsg_nuttx_sim_write_table(m, "server", "proxy");
    *(volatile uint64_t *)(void *)m = (uintptr_t)m;
    put_word(m, NX_SIM_BOOTM, NX_SIM_BOOT);
    struct rpmsg_link *l = open_ours(false);
    assert_true(word_is(m, NX_SIM_BOOTS, NX_SIM_BOOT));
    put_word(m, NX_SIM_BOOTM, NX_SIM_OK);
    assert_true(word_is(m, NX_SIM_BOOTS, NX_SIM_OK));
    rpmsg_link_close(l);
    assert_true(word_is(m, NX_SIM_BOOTS, 0));
    assert_true(word_is(m, NX_SIM_BOOTM, NX_SIM_NEED_RESET));
    munmap(m, NX_SIM_SIZE);
    unlink(path);
}

/* ---- ping -------------------------------------------------------------- */

static void test_ping_request(void **st)
{
    (void)st;
    uint8_t b[24];
    nx_ping_fill(b, sizeof(b), NX_PING_SEND, 0x0102030405060708ull);
    static const uint8_t want[24] = { 0x01, 0, 0, 0, 24, 0, 0, 0, 0x08, 0x07, 0x06, 0x05,
                                      0x04, 0x03, 0x02, 0x01, 0xee, 0xee, 0xee, 0xee,
                                      0xee, 0xee, 0xee, 0xee };
    expect_bytes(b, want, sizeof(want), "SEND");
    assert_true(nx_ping_is_request(b, sizeof(b)));
    assert_false(nx_ping_is_request(b, sizeof(b) - 1)); /* len must be the message's */
}

/* What `rpmsg echo` sends back for request req (len bytes): answers n, bytes in out. */
static int answers(const uint8_t *req, size_t len, uint8_t out[2][64])
{
    uint32_t cmds[2];
    int n = nx_ping_answers(req, len, cmds);
    for (int i = 0; i < n; i++)
        assert_int_equal(nx_ping_answer(req, len, cmds[i], out[i]), (int)len);
    return n;
}

static void test_ping_answers(void **st)
{
    (void)st;
    uint8_t out[2][64];
    /* A 13.0.1 console `rpmsg ping ... 1` request as seen on the wire (32 bytes). */
    uint8_t req[32] = { 0x01, 0, 0, 0, 32, 0, 0, 0, 0x90, 0x90, 0x59, 0x77, 0xfb, 0x7f, 0, 0 };
    assert_int_equal(answers(req, 32, out), 2);
    uint8_t v2[32] = { 0x20, 0, 0, 0, 32, 0, 0, 0, 0x90, 0x90, 0x59, 0x77, 0xfb, 0x7f, 0, 0 };
    uint8_t wire[32] = { 0x04, 0, 0, 0, 32, 0, 0, 0, 0x90, 0x90, 0x59, 0x77, 0xfb, 0x7f, 0, 0 };
    expect_bytes(out[0], v2, 32, "1 -> ACK 0x20");
    expect_bytes(out[1], wire, 32, "1 -> ACK 4");

    /* Wire SEND_CHECK: data 0xEE, answered by ACK 4 with the data zeroed. */
    uint8_t chk[20] = { 0x02, 0, 0, 0, 20, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0xee, 0xee, 0xee, 0xee };
    assert_int_equal(answers(chk, 20, out), 1);
    uint8_t chk_ack[20] = { 0x04, 0, 0, 0, 20, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0 };
    expect_bytes(out[0], chk_ack, 20, "2 -> ACK 4, data zeroed");

    /* 13.0.1 "check, no ack" (data = its round number): no answer. */
    chk[16] = chk[17] = chk[18] = chk[19] = 0x03;
    assert_int_equal(answers(chk, 20, out), 0);

    /* 3: wire SEND_NOACK / 13.0.1 ack+check: the 0x20 ACK, data kept. */
    uint8_t ac[20] = { 0x03, 0, 0, 0, 20, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 0x05, 0x05, 0x05, 0x05 };
    assert_int_equal(answers(ac, 20, out), 1);
    uint8_t ac_ack[20] = { 0x20, 0, 0, 0, 20, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 0x05, 0x05, 0x05, 0x05 };
    expect_bytes(out[0], ac_ack, 20, "3 -> ACK 0x20");

    /* An ACK is no request; neither is anything else. */
    assert_false(nx_ping_is_request(v2, 32));
    assert_false(nx_ping_is_request(wire, 32));

    /* Our ping takes either ACK to its SEND. */
    uint64_t cookie = 0;
    uint8_t mine[24];
    nx_ping_fill(mine, 24, NX_PING_SEND, 77);
    for (uint32_t ack = 0; ack < 2; ack++) {
        uint8_t a[24];
        nx_ping_answer(mine, 24, ack ? NX_PING_ACK : NX_PING_ACK_V2, a);
        assert_int_equal(nx_ping_check_ack(a, 24, 24, NX_PING_SEND, &cookie), 0);
        assert_int_equal(cookie, 77);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_status_master),
        cmocka_unit_test(test_status_slave),
        cmocka_unit_test(test_ping_request),
        cmocka_unit_test(test_ping_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
