/*
 * Golden bytes of NuttX's rpmsg socket wire format (nuttx-wire.md §3):
 * SYNC, DATA, SHUTDOWN, the endpoint names with NuttX's crc32, and the
 * parser's verdict on malformed messages.
 */
#include "testutil.h"

#include <string.h>

#include "common/byteorder.h"
#include "services/socket/sock_wire.h"

static void test_crc32_is_nuttx(void **st)
{
    (void)st;
    assert_int_equal(sock_crc32("longservicename", 15), 0x2fc221d6u);
    assert_int_equal(sock_crc32("", 0), 0u);
    /* zlib's crc32 of "123456789" is 0xcbf43926; without the final XOR and
     * with init 0 instead of ~0 it differs. */
    assert_int_not_equal(sock_crc32("123456789", 9), 0xcbf43926u);
    assert_int_equal(sock_crc32("123456789", 9), 0x2dfd2d88u);
}

static void test_names(void **st)
{
    (void)st;
    char n[RPMSG_NAME_SIZE];
    assert_int_equal(sock_ept_name(n, sizeof(n), "svc", false, 0), 5);
    assert_string_equal(n, "s:svc");
    assert_int_equal(sock_ept_name(n, sizeof(n), "svc", true, 0x1f), 8);
    assert_string_equal(n, "s:svc:1f");
    /* Ten characters are kept as they are. */
    assert_int_equal(sock_ept_name(n, sizeof(n), "abcdefghij", true, 0), 14);
    assert_string_equal(n, "s:abcdefghij:0");
    /* Eleven and more: two characters and the crc. */
    assert_int_equal(sock_ept_name(n, sizeof(n), "longservicename", false, 0), 12);
    assert_string_equal(n, "s:lo2fc221d6");
    assert_int_equal(sock_ept_name(n, sizeof(n), "longservicename", true, 0xffffffffu), 21);
    assert_string_equal(n, "s:lo2fc221d6:ffffffff");
    /* The longest name a sockaddr holds still fits an endpoint name. */
    const char *max31 = "abcdefghijklmnopqrstuvwxyz01234";
    assert_int_equal(sock_ept_name(n, sizeof(n), max31, true, 0xffffffffu), 21);
    assert_int_equal(sock_ept_name(n, sizeof(n), "abcdefghijklmnopqrstuvwxyz012345", false, 0),
                     -ENAMETOOLONG);
    assert_int_equal(sock_ept_name(n, sizeof(n), "", false, 0), -EINVAL);
    assert_int_equal(sock_ept_name(n, 6, "svc", true, 1), -ENAMETOOLONG);
}

static void test_sync_bytes(void **st)
{
    (void)st;
    uint8_t b[SOCK_SYNC_LEN];
    assert_int_equal(sock_put_sync(b, 0x10000, 0x1234, 1000, 0x64), 20);
    static const uint8_t want[20] = { 1, 0, 0, 0, 0, 0, 1, 0, 0x34, 0x12, 0, 0,
                                      0xe8, 3, 0, 0, 0x64, 0, 0, 0 };
    assert_memory_equal(b, want, sizeof(want));
    struct sock_msg m;
    assert_int_equal(sock_parse(b, 20, false, &m), 0);
    assert_int_equal(m.cmd, SOCK_CMD_SYNC);
    assert_int_equal(m.size, 0x10000);
    assert_true(m.has_cred);
    assert_int_equal(m.pid, 0x1234);
    assert_int_equal(m.uid, 1000);
    assert_int_equal(m.gid, 0x64);
    /* An older NuttX sends cmd and size only. */
    assert_int_equal(sock_parse(b, 8, false, &m), 0);
    assert_false(m.has_cred);
    assert_int_equal(m.size, 0x10000);
}

/* Our SYNC extension: NuttX's 20 bytes unchanged, then "RSX1" and the
 * largest data of one DATA. Without the magic the tail means nothing. */
static void test_sync_ext_bytes(void **st)
{
    (void)st;
    uint8_t b[SOCK_SYNC_EXT_LEN];
    sock_put_sync(b, 0x40000, 7, 8, 9);
    assert_int_equal(sock_put_sync_ext(b, 484), SOCK_SYNC_EXT_LEN);
    static const uint8_t want[28] = { 1, 0, 0, 0, 0, 0, 4, 0, 7, 0, 0, 0, 8, 0,
                                      0, 0, 9, 0, 0, 0, 'R', 'S', 'X', '1', 0xe4, 1, 0, 0 };
    assert_memory_equal(b, want, sizeof(want));
    struct sock_msg m;
    assert_int_equal(sock_parse(b, sizeof(b), false, &m), 0);
    assert_int_equal(m.size, 0x40000);
    assert_int_equal(m.pid, 7);
    assert_int_equal(m.ext_full, 484);
    assert_int_equal(sock_parse(b, SOCK_SYNC_LEN, false, &m), 0); /* NuttX's form */
    assert_int_equal(m.ext_full, 0);
    b[20] = 'X';
    assert_int_equal(sock_parse(b, sizeof(b), false, &m), 0);
    assert_int_equal(m.ext_full, 0);
}

/* Then the full service name, only for one NuttX would shorten to 2
 * characters and a CRC; a length that does not fit is malformed. */
static void test_sync_name_bytes(void **st)
{
    (void)st;
    uint8_t b[SOCK_SYNC_MAX_LEN + 4];
    sock_put_sync(b, 0x40000, 7, 8, 9);
    sock_put_sync_ext(b, 484);
    assert_int_equal(sock_put_sync_name(b, "echo-service"), 44);
    static const uint8_t want[44] = { 1,   0,   0,   0,   0,   0,   4,   0,   7,   0,   0,
                                      0,   8,   0,   0,   0,   9,   0,   0,   0,   'R', 'S',
                                      'X', '1', 0xe4, 1,   0,   0,   12,  0,   0,   0,   'e',
                                      'c', 'h', 'o', '-', 's', 'e', 'r', 'v', 'i', 'c', 'e' };
    assert_memory_equal(b, want, sizeof(want));
    struct sock_msg m;
    assert_int_equal(sock_parse(b, 44, false, &m), 0);
    assert_int_equal(m.ext_full, 484);
    assert_int_equal(m.ext_name_len, 12);
    assert_memory_equal(m.ext_name, "echo-service", 12);
    assert_int_equal(sock_parse(b, SOCK_SYNC_EXT_LEN, false, &m), 0); /* no name */
    assert_null(m.ext_name);
    assert_int_equal(sock_parse(b, 43, false, &m), -EBADMSG); /* cut short */
    rpmsg_put32(b + SOCK_SYNC_NAME_OFF, 0);
    assert_int_equal(sock_parse(b, 44, false, &m), -EBADMSG);
    rpmsg_put32(b + SOCK_SYNC_NAME_OFF, RPMSG_SOCKET_NAME_SIZE);
    assert_int_equal(sock_parse(b, sizeof(b), false, &m), -EBADMSG);

    /* A 31-char name fills the largest SYNC; up to 10 characters (NuttX
     * keeps them whole) none is sent. */
    const char *n31 = "ab-long-service-name-twin-l98cu";
    assert_int_equal(sock_put_sync_name(b, n31), SOCK_SYNC_MAX_LEN);
    assert_int_equal(rpmsg_get32(b + SOCK_SYNC_NAME_OFF), 31);
    assert_memory_equal(b + SOCK_SYNC_NAME_OFF + 4, n31, 31);
    assert_int_equal(sock_parse(b, SOCK_SYNC_MAX_LEN, false, &m), 0);
    assert_int_equal(m.ext_name_len, 31);
    assert_int_equal(sock_put_sync_name(b, "tenletters"), SOCK_SYNC_EXT_LEN);
}

static void test_data_and_shutdown_bytes(void **st)
{
    (void)st;
    uint8_t b[32];
    assert_int_equal(sock_put_data_hdr(b, 0x01020304, 5), 12);
    static const uint8_t want[12] = { 2, 0, 0, 0, 4, 3, 2, 1, 5, 0, 0, 0 };
    assert_memory_equal(b, want, sizeof(want));
    memcpy(b + 12, "hello", 5);
    struct sock_msg m;
    assert_int_equal(sock_parse(b, 17, false, &m), 0);
    assert_int_equal(m.cmd, SOCK_CMD_DATA);
    assert_int_equal(m.pos, 0x01020304);
    assert_int_equal(m.data_len, 5);
    assert_memory_equal(m.data, "hello", 5);
    /* A pure acknowledgement: 12 bytes, len 0. */
    sock_put_data_hdr(b, 77, 0);
    assert_int_equal(sock_parse(b, 12, false, &m), 0);
    assert_int_equal(m.data_len, 0);
    assert_int_equal(m.pos, 77);
    /* Datagram: len counts the datagram; a u32 copy of it comes first. */
    static const uint8_t dg[19] = { 2, 0, 0, 0, 9, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 'a', 'b', 'c' };
    assert_int_equal(sock_parse(dg, sizeof(dg), true, &m), 0);
    assert_int_equal(m.len, 3);
    assert_int_equal(m.data_len, 7);
    assert_int_equal(sock_put_shutdown(b, 2), 8);
    static const uint8_t sh[8] = { 3, 0, 0, 0, 2, 0, 0, 0 };
    assert_memory_equal(b, sh, 8);
    assert_int_equal(sock_parse(b, 8, false, &m), 0);
    assert_int_equal(m.how, 2);
}

static void test_malformed(void **st)
{
    (void)st;
    struct sock_msg m;
    uint8_t b[32] = { 0 };
    assert_int_equal(sock_parse(b, 3, false, &m), -EBADMSG);
    b[0] = 9; /* unknown command */
    assert_int_equal(sock_parse(b, 12, false, &m), -EBADMSG);
    sock_put_sync(b, 0, 0, 0, 0); /* zero window */
    assert_int_equal(sock_parse(b, 20, false, &m), -EBADMSG);
    sock_put_sync(b, 64, 0, 0, 0);
    assert_int_equal(sock_parse(b, 7, false, &m), -EBADMSG);
    sock_put_data_hdr(b, 0, 5); /* len says 5, 4 present */
    assert_int_equal(sock_parse(b, 16, false, &m), -EBADMSG);
    assert_int_equal(sock_parse(b, 11, false, &m), -EBADMSG);
    /* Datagram whose prefix disagrees with len, or is cut short. */
    sock_put_data_hdr(b, 0, 3);
    b[12] = 4;
    assert_int_equal(sock_parse(b, 19, true, &m), -EBADMSG);
    assert_int_equal(sock_parse(b, 14, true, &m), -EBADMSG);
    sock_put_shutdown(b, 0);
    assert_int_equal(sock_parse(b, 8, false, &m), -EBADMSG);
    sock_put_shutdown(b, 4);
    assert_int_equal(sock_parse(b, 8, false, &m), -EBADMSG);
    sock_put_shutdown(b, 3);
    assert_int_equal(sock_parse(b, 7, false, &m), -EBADMSG);
    assert_int_equal(sock_parse(b, 8, false, &m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_is_nuttx),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_sync_bytes),
        cmocka_unit_test(test_sync_ext_bytes),
        cmocka_unit_test(test_sync_name_bytes),
        cmocka_unit_test(test_data_and_shutdown_bytes),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
