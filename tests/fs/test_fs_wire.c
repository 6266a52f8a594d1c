/*
 * Golden bytes of every rpmsgfs request and reply (NuttX's packed
 * little-endian layouts, nuttx-wire.md §2, and the extension commands), and
 * the decoder's refusal of malformed messages. Expected bytes are written
 * from the layout table by offset, not by the encoder.
 */
#include <string.h>

#include "services/fs/fs_wire.h"
#include "services/fs/fs_xlate.h"
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <dirent.h>

static uint8_t exp_buf[512];

static void e32(size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        exp_buf[off + i] = (uint8_t)(v >> (8 * i));
}

static void e64(size_t off, uint64_t v)
{
    e32(off, (uint32_t)v);
    e32(off + 4, (uint32_t)(v >> 32));
}

static void e16(size_t off, uint16_t v)
{
    exp_buf[off] = (uint8_t)v;
    exp_buf[off + 1] = (uint8_t)(v >> 8);
}

static void estr(size_t off, const char *s)
{
    memcpy(exp_buf + off, s, strlen(s) + 1);
}

/* Header: command, result, cookie 0x1122334455667788. */
static void ehdr(uint32_t cmd, int32_t result)
{
    memset(exp_buf, 0, sizeof(exp_buf));
    e32(0, cmd);
    e32(4, (uint32_t)result);
    e64(8, 0x1122334455667788ull);
}

static void check(const struct rpmsgfs_msg *m, bool reply, size_t want_len)
{
    uint8_t got[512];
    memset(got, 0xA5, sizeof(got));
    int len = rpmsgfs_encode(m, reply, got, sizeof(got));
    assert_int_equal(len, (int)want_len);
    assert_memory_equal(got, exp_buf, want_len);
    /* And back: the decoder reads what the encoder wrote. */
    struct rpmsgfs_msg d;
    assert_int_equal(rpmsgfs_decode(got, (size_t)len, reply, &d), 0);
    assert_int_equal(d.cmd, m->cmd);
    assert_int_equal(d.result, m->result);
    assert_true(d.cookie == m->cookie);
}

#define MSG(c, r) .cmd = (c), .result = (r), .cookie = 0x1122334455667788ull

static struct rpmsgfs_wstat sample_stat(void)
{
    return (struct rpmsgfs_wstat){ .dev = 1, .mode = 0100644, .rdev = 3, .ino = 4,
                                   .size = 0x123456789ll, .atim_sec = 6, .atim_nsec = 7,
                                   .mtim_sec = 8, .mtim_nsec = 9, .ctim_sec = 10,
                                   .ctim_nsec = 11, .blocks = 12, .uid = 13, .gid = 14,
                                   .blksize = 4096, .nlink = 2 };
}

static void estat(size_t off)
{
    e32(off, 1); e32(off + 4, 0100644); e32(off + 8, 3); e32(off + 12, 4);
    e64(off + 16, 0x123456789ull);
    for (int i = 0; i < 6; i++)
        e64(off + 24 + 8 * i, (uint64_t)(6 + i));
    e64(off + 72, 12);
    e16(off + 80, 13); e16(off + 82, 14); e16(off + 84, 4096); e16(off + 86, 2);
}

static void test_header_and_init(void **state)
{
    (void)state;
    struct rpmsgfs_msg m = { MSG(RPMSGFS_INIT, -6) };
    ehdr(0, -6);
    check(&m, false, 16);
    check(&m, true, 16);
    assert_int_equal(RPMSGFS_HDR_SIZE, 16);
}

static void test_open_close_dup_sync(void **state)
{
    (void)state;
    struct rpmsgfs_msg m = { MSG(RPMSGFS_OPEN, -6), .flags = 0101, .mode = 0644, .path = "/ex/a" };
    ehdr(1, -6); e32(16, 0101); e32(20, 0644); estr(24, "/ex/a");
    check(&m, false, 30);
    m.result = 3;
    ehdr(1, 3); e32(16, 0101); e32(20, 0644);
    check(&m, true, 24); /* the answer echoes the fixed part, no path */
    const uint32_t cmds[] = { RPMSGFS_CLOSE, RPMSGFS_SYNC, RPMSGFS_DUP, RPMSGFS_REWINDDIR,
                              RPMSGFS_CLOSEDIR };
    for (size_t i = 0; i < 5; i++) {
        struct rpmsgfs_msg c = { MSG(cmds[i], 0), .fd = 7 };
        ehdr(cmds[i], 0); e32(16, 7);
        check(&c, false, 20);
        check(&c, true, 20);
    }
}

static void test_read_write(void **state)
{
    (void)state;
    struct rpmsgfs_msg m = { MSG(RPMSGFS_READ, -6), .fd = 2, .count = 1000 };
    ehdr(3, -6); e32(16, 2); e32(20, 1000);
    check(&m, false, 24);
    m.result = 3; m.data = "xyz"; m.data_len = 3;
    ehdr(3, 3); e32(16, 2); e32(20, 1000); memcpy(exp_buf + 24, "xyz", 3);
    check(&m, true, 27);
    struct rpmsgfs_msg w = { MSG(RPMSGFS_WRITE, -6), .fd = 2, .count = 4, .data = "abcd",
                             .data_len = 4 };
    ehdr(4, -6); e32(16, 2); e32(20, 4); memcpy(exp_buf + 24, "abcd", 4);
    check(&w, false, 28);
    w.result = 4;
    ehdr(4, 4); e32(16, 2); e32(20, 4);
    check(&w, true, 24);
}

static void test_lseek_ftruncate(void **state)
{
    (void)state;
    struct rpmsgfs_msg m = { MSG(RPMSGFS_LSEEK, -6), .fd = 2, .whence = 1, .offset = -5 };
    ehdr(5, -6); e32(16, 2); e32(20, 1); e32(24, (uint32_t)-5);
    check(&m, false, 28);
    struct rpmsgfs_msg t = { MSG(RPMSGFS_FTRUNCATE, 0), .fd = 2, .offset = 4096 };
    ehdr(10, 0); e32(16, 2); e32(20, 4096);
    check(&t, false, 24);
    check(&t, true, 24);
}

static void test_ioctl(void **state)
{
    (void)state;
    struct rpmsgfs_msg m = { MSG(RPMSGFS_IOCTL, -25), .fd = 1, .request = 0x5401,
                             .arg = 0xAABBCCDDEEFF0011ull, .arglen = 2, .data = "\x01\x02",
                             .data_len = 2 };
    ehdr(6, -25); e32(16, 1); e32(20, 0x5401); e64(24, 0xAABBCCDDEEFF0011ull); e32(32, 2);
    exp_buf[36] = 1; exp_buf[37] = 2;
    check(&m, false, 38);
    check(&m, true, 38);
}

static void test_stat_family(void **state)
{
    (void)state;
    struct rpmsgfs_msg f = { MSG(RPMSGFS_FSTAT, 0), .fd = 9, .st = sample_stat() };
    ehdr(9, 0); estat(16); e32(104, 9);
    check(&f, false, 108);
    check(&f, true, 108);
    struct rpmsgfs_msg s = { MSG(RPMSGFS_STAT, 0), .st = sample_stat(), .path = "/ex" };
    ehdr(20, 0); estat(16); estr(104, "/ex");
    check(&s, false, 108);
    check(&s, true, 104);
    struct rpmsgfs_msg fc = { MSG(RPMSGFS_FCHSTAT, 0), .st = sample_stat(), .flags = 0x1f, .fd = 5 };
    ehdr(21, 0); estat(16); e32(104, 0x1f); e32(108, 5);
    check(&fc, false, 112);
    check(&fc, true, 112);
    struct rpmsgfs_msg c = { MSG(RPMSGFS_CHSTAT, 0), .st = sample_stat(), .flags = 1, .path = "/p" };
    ehdr(22, 0); estat(16); e32(104, 1); estr(108, "/p");
    check(&c, false, 111);
    check(&c, true, 108);
}

static void test_dirs(void **state)
{
    (void)state;
    struct rpmsgfs_msg o = { MSG(RPMSGFS_OPENDIR, -6), .path = "/ex/d" };
    ehdr(11, -6); estr(16, "/ex/d");
    check(&o, false, 22);
    o.result = 1;
    ehdr(11, 1);
    check(&o, true, 16);
    struct rpmsgfs_msg r = { MSG(RPMSGFS_READDIR, -6), .fd = 1 };
    ehdr(12, -6); e32(16, 1);
    check(&r, false, 28);
    r.result = 0; r.ino = 77; r.type = 8; r.path = "file";
    ehdr(12, 0); e32(16, 1); e32(20, 77); e32(24, 8); estr(28, "file");
    check(&r, true, 33);
    r.result = -2; r.path = NULL; r.ino = 0; r.type = 0;
    ehdr(12, -2); e32(16, 1);
    check(&r, true, 28); /* end of directory: no name */
}

static void test_statfs(void **state)
{
    (void)state;
    struct rpmsgfs_msg m = { MSG(RPMSGFS_STATFS, 0), .path = "/ex",
                             .sfs = { 0xEF53, 255, 4096, 100, 50, 40, 1000, 900 } };
    ehdr(15, 0); e32(16, 0xEF53);
    const uint64_t v[7] = { 255, 4096, 100, 50, 40, 1000, 900 };
    for (int i = 0; i < 7; i++)
        e64(24 + 8 * i, v[i]);
    estr(80, "/ex");
    check(&m, false, 84);
    check(&m, true, 80);
}

static void test_path_ops(void **state)
{
    (void)state;
    const uint32_t cmds[] = { RPMSGFS_UNLINK, RPMSGFS_RMDIR };
    for (size_t i = 0; i < 2; i++) {
        struct rpmsgfs_msg m = { MSG(cmds[i], 0), .path = "/ex/x" };
        ehdr(cmds[i], 0); estr(16, "/ex/x");
        check(&m, false, 22);
        check(&m, true, 16);
    }
    struct rpmsgfs_msg k = { MSG(RPMSGFS_MKDIR, 0), .mode = 0755, .path = "/ex/d" };
    ehdr(17, 0); e32(16, 0755); estr(24, "/ex/d");
    check(&k, false, 30);
    check(&k, true, 24);
    /* RENAME: old path and its NUL padded to a multiple of 8, then the new one. */
    struct rpmsgfs_msg n = { MSG(RPMSGFS_RENAME, 0), .path = "/ex/a", .path2 = "/ex/bb" };
    ehdr(19, 0); estr(16, "/ex/a"); estr(24, "/ex/bb");
    check(&n, false, 31);
    check(&n, true, 16);
    struct rpmsgfs_msg n8 = { MSG(RPMSGFS_RENAME, 0), .path = "/ex/abc", .path2 = "/b" };
    ehdr(19, 0); estr(16, "/ex/abc"); estr(24, "/b");
    check(&n8, false, 27);
    struct rpmsgfs_msg d;
    uint8_t buf[64];
    int len = rpmsgfs_encode(&n, false, buf, sizeof(buf));
    assert_int_equal(rpmsgfs_decode(buf, (size_t)len, false, &d), 0);
    assert_string_equal(d.path, "/ex/a");
    assert_string_equal(d.path2, "/ex/bb");
}

static void test_extension(void **state)
{
    (void)state;
    struct rpmsgfs_msg h = { MSG(RPMSGFS_X_HELLO, 0), .version = 1, .features = 0 };
    ehdr(64, 0); e32(16, 1); e32(20, 0);
    check(&h, true, 24);
    struct rpmsgfs_msg r = { MSG(RPMSGFS_X_PREAD, 0), .fd = 3, .count = 100,
                             .offset = 0x100000000ll };
    ehdr(65, 0); e32(16, 3); e32(20, 100); e64(24, 0x100000000ull);
    check(&r, false, 32);
    struct rpmsgfs_msg w = { MSG(RPMSGFS_X_PWRITE, 0), .fd = 3, .count = 2, .offset = -1,
                             .data = "hi", .data_len = 2 };
    ehdr(66, 0); e32(16, 3); e32(20, 2); e64(24, UINT64_MAX); memcpy(exp_buf + 32, "hi", 2);
    check(&w, false, 34);
    struct rpmsgfs_msg l = { MSG(RPMSGFS_X_LSEEK, 0), .fd = 3, .whence = 2, .offset = 5ll << 32 };
    ehdr(67, 0); e32(16, 3); e32(20, 2); e64(24, 5ull << 32);
    check(&l, false, 32);
    struct rpmsgfs_msg t = { MSG(RPMSGFS_X_FTRUNCATE, 0), .fd = 3, .offset = 6ll << 32 };
    ehdr(68, 0); e32(16, 3); e64(24, 6ull << 32);
    check(&t, false, 32);
}

/* XF_POSIX: creation as the caller, links, lstat, long paths in pieces. */
static void test_extension_posix(void **state)
{
    (void)state;
    struct rpmsgfs_msg o = { MSG(RPMSGFS_X_OPEN, 0), .flags = 01101, .mode = 0100666,
                             .uid = 1000, .gid = 100, .umask = 022, .path = "/ex/f" };
    ehdr(69, 0); e32(16, 01101); e32(20, 0100666); e32(24, 1000); e32(28, 100); e32(32, 022);
    estr(40, "/ex/f");
    check(&o, false, 46);
    check(&o, true, 40); /* the answer: the fixed part, no path */
    struct rpmsgfs_msg d = { MSG(RPMSGFS_X_MKDIR, 0), .mode = 0777, .uid = UINT32_MAX,
                             .gid = UINT32_MAX, .path = "/ex/d" };
    ehdr(70, 0); e32(20, 0777); e32(24, UINT32_MAX); e32(28, UINT32_MAX); estr(40, "/ex/d");
    check(&d, false, 46);
    /* Two paths as RENAME has them: the first padded to 8. */
    struct rpmsgfs_msg sl = { MSG(RPMSGFS_X_SYMLINK, 0), .uid = 1, .gid = 2, .path = "/ex/l",
                              .path2 = "../t" };
    ehdr(71, 0); e32(24, 1); e32(28, 2); estr(40, "/ex/l"); estr(48, "../t");
    check(&sl, false, 53);
    struct rpmsgfs_msg ln = { MSG(RPMSGFS_X_LINK, 0), .path = "/ex/a", .path2 = "/ex/b" };
    ehdr(72, 0); estr(40, "/ex/a"); estr(48, "/ex/b");
    check(&ln, false, 54);
    struct rpmsgfs_msg rl = { MSG(RPMSGFS_X_READLINK, 0), .path = "/ex/l" };
    ehdr(73, 0); estr(16, "/ex/l");
    check(&rl, false, 22);
    struct rpmsgfs_msg ra = { MSG(RPMSGFS_X_READLINK, 4), .path = "../t" };
    ehdr(73, 4); estr(16, "../t");
    check(&ra, true, 21);
    struct rpmsgfs_msg ls = { MSG(RPMSGFS_X_LSTAT, 0), .st = sample_stat() };
    ehdr(74, 0); estat(16);
    check(&ls, true, 104);
    struct rpmsgfs_msg pc = { MSG(RPMSGFS_X_PATH, 0), .part = RPMSGFS_XP_PATH2, .offset = 480,
                              .data = "abc", .data_len = 3 };
    ehdr(75, 0); e32(16, 1); e32(20, 480); memcpy(exp_buf + 24, "abc", 3);
    check(&pc, false, 27);
    struct rpmsgfs_msg back;
    uint8_t buf[64];
    int len = rpmsgfs_encode(&pc, false, buf, sizeof(buf));
    assert_int_equal(rpmsgfs_decode(buf, (size_t)len, false, &back), 0);
    assert_int_equal(back.part, 1);
    assert_int_equal(back.offset, 480);
    assert_int_equal(back.data_len, 3);
    assert_memory_equal(back.data, "abc", 3);
    /* A readlink request's path and answer's target must end inside the message. */
    ehdr(73, 4);
    uint8_t bad[20];
    memcpy(bad, exp_buf, 16);
    memcpy(bad + 16, "abcd", 4);
    assert_int_equal(rpmsgfs_decode(bad, sizeof(bad), true, &back), -EPROTO);
    assert_int_equal(rpmsgfs_decode(bad, sizeof(bad), false, &back), -EPROTO);
}

static void test_decode_refuses(void **state)
{
    (void)state;
    struct rpmsgfs_msg m;
    uint8_t buf[64] = { 0 };
    assert_int_equal(rpmsgfs_decode(buf, 15, false, &m), -EPROTO);
    buf[0] = 99; /* unknown command: header still decoded */
    assert_int_equal(rpmsgfs_decode(buf, 16, false, &m), -ENOSYS);
    assert_int_equal(m.cmd, 99);
    buf[0] = RPMSGFS_OPEN; /* fixed part cut short */
    assert_int_equal(rpmsgfs_decode(buf, 20, false, &m), -EPROTO);
    memset(buf + 24, 'a', 40); /* path without its NUL */
    assert_int_equal(rpmsgfs_decode(buf, 64, false, &m), -EPROTO);
    buf[0] = RPMSGFS_WRITE; /* count beyond the message */
    buf[20] = 41;
    assert_int_equal(rpmsgfs_decode(buf, 64, false, &m), -EPROTO);
    buf[20] = 40;
    assert_int_equal(rpmsgfs_decode(buf, 64, false, &m), 0);
    assert_int_equal(m.data_len, 40);
    buf[0] = RPMSGFS_READ; /* reply claiming more than it carries */
    buf[4] = 50;
    assert_int_equal(rpmsgfs_decode(buf, 64, true, &m), -EPROTO);
    uint8_t small[20];
    struct rpmsgfs_msg o = { .cmd = RPMSGFS_OPEN, .path = "/long/path" };
    assert_int_equal(rpmsgfs_encode(&o, false, small, sizeof(small)), -EMSGSIZE);
    uint8_t mid[28];
    assert_int_equal(rpmsgfs_encode(&o, false, mid, sizeof(mid)), -ENAMETOOLONG);
}

static void test_values(void **state)
{
    (void)state;
    /* NuttX's numbers (fcntl.h, sys/stat.h, errno.h, dirent.h). */
    assert_int_equal(rpmsgfs_flags_to_nx(O_WRONLY | O_CREAT | O_TRUNC), 01101);
    assert_int_equal(rpmsgfs_flags_to_nx(O_RDWR | O_APPEND | O_EXCL), 02202);
    assert_int_equal(rpmsgfs_flags_from_nx(0200000), O_RDONLY | O_DIRECTORY);
    assert_int_equal(rpmsgfs_flags_from_nx(01101), O_WRONLY | O_CREAT | O_TRUNC);
    assert_int_equal(rpmsgfs_mode_to_nx(S_IFDIR | 0755), 040755);
    assert_int_equal(rpmsgfs_mode_from_nx(3 << 12 | 0600), S_IFREG | 0600); /* NuttX semaphore */
    assert_int_equal(rpmsgfs_mode_from_nx(10 << 12 | 0777), S_IFLNK | 0777);
    assert_int_equal(rpmsgfs_errno_to_nx(ENOTEMPTY), 39);
    assert_int_equal(rpmsgfs_errno_to_nx(EROFS), 30);
    assert_int_equal(rpmsgfs_errno_from_nx(13), EACCES);
    assert_int_equal(rpmsgfs_errno_from_nx(999), EIO);
    assert_int_equal(rpmsgfs_result_to_nx(-ENOENT), -2);
    assert_int_equal(rpmsgfs_result_to_nx(5), 5);
    assert_int_equal(rpmsgfs_dtype_to_nx(DT_DIR), 4);
    assert_int_equal(rpmsgfs_dtype_from_nx(8), DT_REG);
    assert_int_equal(rpmsgfs_dtype_from_nx(5), DT_REG); /* NuttX message queue */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_init),  cmocka_unit_test(test_open_close_dup_sync),
        cmocka_unit_test(test_read_write),       cmocka_unit_test(test_lseek_ftruncate),
        cmocka_unit_test(test_ioctl),            cmocka_unit_test(test_stat_family),
        cmocka_unit_test(test_dirs),             cmocka_unit_test(test_statfs),
        cmocka_unit_test(test_path_ops),         cmocka_unit_test(test_extension),
        cmocka_unit_test(test_extension_posix),
        cmocka_unit_test(test_decode_refuses),   cmocka_unit_test(test_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
