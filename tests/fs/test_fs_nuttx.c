/*
 * Interoperability with NuttX's rpmsgfs, both directions, with the NuttX
 * side written here byte by byte (not with our encoder):
 * - our client against an emulated NuttX server (creates its endpoint aimed
 *   at the client, never says HELLO, drops commands it does not know);
 * - a NuttX-format client (raw requests) against our server.
 */
#include "fs_fixture.h"

static void p32(uint8_t *b, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t g32(const uint8_t *b, size_t off)
{
    return (uint32_t)b[off] | (uint32_t)b[off + 1] << 8 | (uint32_t)b[off + 2] << 16 |
           (uint32_t)b[off + 3] << 24;
}

static uint64_t g64(const uint8_t *b, size_t off)
{
    return g32(b, off) | (uint64_t)g32(b, off + 4) << 32;
}

static void p64(uint8_t *b, size_t off, uint64_t v)
{
    p32(b, off, (uint32_t)v);
    p32(b, off + 4, (uint32_t)(v >> 32));
}

/* ---- An emulated NuttX server --------------------------------------------- */

struct nx_server {
    struct rpmsg_endpoint ept;
    bool bound;
    pthread_mutex_t lock;
    uint8_t file[8192]; /* the one file, "/data/f" */
    uint32_t size, pos;
    unsigned requests, write_chunks, write_answered, max_cmd;
    uint64_t last_cookie_zero; /* write chunks that came with cookie 0 */
    char first_path[64];
    int32_t first_result;
};

static struct nx_server nx;

static void nx_send(struct rpmsg_endpoint *ept, const uint8_t *b, size_t len)
{
    TU_CHECK(rpmsg_send(ept, b, len) >= 0); /* not on the test's thread: no assert */
}

static int nx_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    (void)priv;
    uint8_t b[RPMSG_BUFFER_SIZE];
    if (len > sizeof(b) || len < 16)
        return 0;
    memcpy(b, data, len);
    uint32_t cmd = g32(b, 0);
    pthread_mutex_lock(&nx.lock);
    nx.requests++;
    if (cmd > nx.max_cmd)
        nx.max_cmd = cmd;
    if (nx.requests == 1) {
        size_t k = len > 104 ? strnlen((char *)b + 104, len - 104) : 0;
        k = k < sizeof(nx.first_path) ? k : sizeof(nx.first_path) - 1;
        memcpy(nx.first_path, b + 104, k);
        nx.first_path[k] = '\0';
        nx.first_result = (int32_t)g32(b, 4);
    }
    pthread_mutex_unlock(&nx.lock);
    int cap = rpmsg_get_tx_buffer_size(ept);
    switch (cmd) {
    case 20: { /* STAT: stat @16, path @104 */
        const char *path = (char *)b + 104;
        memset(b + 16, 0, 88);
        if (!strcmp(path, "/data")) {
            p32(b, 20, 4 << 12 | 0755);
        } else if (!strcmp(path, "/data/f")) {
            p32(b, 20, 8 << 12 | 0644);
            p64(b, 32, nx.size);
        } else {
            p32(b, 4, (uint32_t)-2);
            nx_send(ept, b, 104);
            return 0;
        }
        p32(b, 4, 0);
        nx_send(ept, b, 104);
        return 0;
    }
    case 1: /* OPEN -> fd 0 */
        p32(b, 4, strcmp((char *)b + 24, "/data/f") ? (uint32_t)-2 : 0);
        nx.pos = 0;
        nx_send(ept, b, 24);
        return 0;
    case 3: { /* READ: one reply per chunk of at most cap - 24 */
        uint32_t count = g32(b, 20), done = 0;
        for (;;) {
            uint8_t r[RPMSG_BUFFER_SIZE];
            memcpy(r, b, 24);
            uint32_t n = (uint32_t)cap - 24;
            if (n > count - done)
                n = count - done;
            if (n > nx.size - nx.pos)
                n = nx.size - nx.pos;
            memcpy(r + 24, nx.file + nx.pos, n);
            nx.pos += n;
            done += n;
            p32(r, 4, n);
            nx_send(ept, r, 24 + n);
            if (n == 0 || done >= count)
                return 0;
        }
    }
    case 4: { /* WRITE: answered only when the cookie is not 0 */
        uint32_t n = g32(b, 20);
        memcpy(nx.file + nx.pos, b + 24, n);
        nx.pos += n;
        if (nx.pos > nx.size)
            nx.size = nx.pos;
        nx.write_chunks++;
        if (g64(b, 8) == 0) {
            nx.last_cookie_zero++;
            return 0;
        }
        nx.write_answered++;
        p32(b, 4, n);
        nx_send(ept, b, 24);
        return 0;
    }
    case 5: /* LSEEK (SEEK_SET only here) */
        nx.pos = g32(b, 24);
        p32(b, 4, nx.pos);
        nx_send(ept, b, 28);
        return 0;
    case 2: /* CLOSE */
        p32(b, 4, 0);
        nx_send(ept, b, 20);
        return 0;
    case 17: /* MKDIR: it exists */
        p32(b, 4, (uint32_t)-17);
        nx_send(ept, b, 24);
        return 0;
    case 16: /* UNLINK: NuttX's ENOTEMPTY-free world says ENOENT */
        p32(b, 4, (uint32_t)-2);
        nx_send(ept, b, 16);
        return 0;
    default: /* like NuttX: nothing for what it does not handle */
        return 0;
    }
}

static bool nx_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)rdev;
    (void)priv;
    (void)dest;
    return !strncmp(name, "rpmsgfs-", 8);
}

static void nx_bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)priv;
    /* NuttX: an endpoint of the same name aimed at the client. */
    nx.ept.priv = NULL;
    int r = rpmsg_create_ept(&nx.ept, rdev, name, RPMSG_ADDR_ANY, dest, nx_cb, NULL);
    TU_CHECK(r == 0);
    nx.bound = r == 0;
}

static struct tu_pair pair;
static struct rpmsg_fs_client c;

static int nx_setup(void **state)
{
    (void)state;
    memset(&nx, 0, sizeof(nx));
    pthread_mutex_init(&nx.lock, NULL);
    assert_int_equal(tu_pair_open(&pair, NULL), 0);
    assert_int_equal(rpmsg_register_callback(&nx, NULL, NULL, nx_match, nx_bind), 0);
    return 0;
}

/* Also after a failure: a service left registered would answer the next test. */
static int nx_teardown(void **state)
{
    (void)state;
    rpmsg_fs_client_deinit(&c);
    rpmsg_unregister_callback(&nx, NULL, NULL, nx_match, nx_bind);
    if (nx.bound)
        rpmsg_destroy_ept(&nx.ept);
    tu_pair_close(&pair);
    pthread_mutex_destroy(&nx.lock);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static void test_our_client_nuttx_server(void **state)
{
    (void)state;
    assert_int_equal(rpmsg_fs_client_init(&c, pair.a, "/data", NULL), 0);
    assert_false(rpmsg_fs_client_extended(&c)); /* no HELLO: NuttX's format */
    assert_string_equal(nx.first_path, "/data");
    assert_int_equal(nx.first_result, -6); /* -ENXIO, as NuttX's client sends */

    uint8_t src[3000];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7);
    int fd = rpmsg_fs_open(&c, "f", O_RDWR, 0);
    assert_int_equal(fd, 0);
    assert_int_equal(rpmsg_fs_write(&c, fd, src, sizeof(src)), (ssize_t)sizeof(src));
    unsigned chunks = (sizeof(src) + (RPMSG_BUFFER_SIZE - 16 - 24) - 1) / (RPMSG_BUFFER_SIZE - 16 - 24);
    assert_int_equal(nx.write_chunks, chunks);
    assert_int_equal(nx.write_answered, 1);
    assert_int_equal(nx.last_cookie_zero, chunks - 1);
    assert_int_equal(rpmsg_fs_lseek(&c, fd, 0, SEEK_SET), 0);
    uint8_t back[4000];
    assert_int_equal(rpmsg_fs_read(&c, fd, back, sizeof(back)), (ssize_t)sizeof(src));
    assert_memory_equal(back, src, sizeof(src));
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_stat(&c, "f", &st), 0);
    assert_int_equal(st.size, sizeof(src));
    assert_true(S_ISREG(st.mode));
    assert_int_equal(rpmsg_fs_stat(&c, "g", &st), -ENOENT);
    assert_int_equal(rpmsg_fs_mkdir(&c, "d", 0755), -EEXIST);
    assert_int_equal(rpmsg_fs_close(&c, fd), 0);
    /* 64-bit offsets need the extension: refused locally, never sent. */
    assert_int_equal(rpmsg_fs_lseek(&c, 0, 1ll << 32, SEEK_SET), -EOVERFLOW);
    assert_true(nx.max_cmd < 23);
}

static void test_our_client_times_out(void **state)
{
    (void)state;
    /* A server that binds and never answers: each call ends in -ETIMEDOUT. */
    struct rpmsg_fs_client_config cc = { .timeout_ms = 300 };
    assert_int_equal(rpmsg_fs_client_init(&c, pair.a, "/data", &cc), 0);
    struct rpmsg_fs_statfs sf;
    assert_int_equal(rpmsg_fs_statfs(&c, "", &sf), -ETIMEDOUT); /* STATFS: unhandled */
    /* The client is still usable afterwards (with time to answer: 300 ms
     * ran out on a machine at load 18). */
    c.timeout_ms = TU_TIMEOUT_MS;
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_stat(&c, "", &st), 0);
}

/* ---- A NuttX-format client against our server ----------------------------- */

static struct fs_fix fix;
static struct rpmsg_endpoint raw;
static struct tu_rec rec;

static int raw_setup(void **state)
{
    (void)state;
    fs_fix_serve(&fix, NULL, NULL, false);
    tu_rec_init(&rec);
    assert_int_equal(tu_ept_create(&raw, fix.pair.a, "rpmsgfs-0x2003a4f0", RPMSG_ADDR_ANY,
                                   RPMSG_ADDR_ANY, tu_rec_cb, NULL, &rec), 0);
    assert_int_equal(rpmsg_wait_ept_ready(&raw, TU_TIMEOUT_MS), 0);
    return 0;
}

static int raw_teardown(void **state)
{
    (void)state;
    tu_ept_cleanup(&raw);
    rpmsg_fs_server_destroy(fix.srv);
    tu_pair_close(&fix.pair);
    tu_rec_deinit(&rec);
    fs_fix_rmtree(fix.dir);
    return 0;
}

static void hdr(uint8_t *b, uint32_t cmd, uint64_t cookie)
{
    memset(b, 0, 64);
    p32(b, 0, cmd);
    p32(b, 4, (uint32_t)-6);
    p64(b, 8, cookie);
}

/* Sends and waits for the n-th recorded answer; returns it. */
static struct tu_msg *ask(const uint8_t *b, size_t len, unsigned nth)
{
    assert_true(rpmsg_send(&raw, b, len) >= 0);
    assert_int_equal(tu_rec_wait(&rec, nth, TU_TIMEOUT_MS), 0);
    return &rec.msgs[nth - 1];
}

static void test_nuttx_client_our_server(void **state)
{
    (void)state;
    uint8_t b[RPMSG_BUFFER_SIZE];
    /* STAT of the root, as NuttX's client does first. */
    hdr(b, 20, 0x1000);
    strcpy((char *)b + 104, "/ex");
    struct tu_msg *m = ask(b, 108, 1);
    assert_int_equal(m->len, 104);
    assert_int_equal(g32(m->data, 0), 20);
    assert_int_equal((int32_t)g32(m->data, 4), 0);
    assert_true(g64(m->data, 8) == 0x1000);
    assert_int_equal(g32(m->data, 20) & 0170000, 4 << 12); /* a NuttX directory */

    /* OPEN /ex/f O_RDWR|O_CREAT (NuttX values 2|0100). */
    hdr(b, 1, 0x1001);
    p32(b, 16, 2 | 0100);
    p32(b, 20, 0644);
    strcpy((char *)b + 24, "/ex/f");
    m = ask(b, 30, 2);
    assert_int_equal(m->len, 24);
    int32_t fd = (int32_t)g32(m->data, 4);
    assert_int_equal(fd, 0);

    /* WRITE in three chunks: only the last (cookie != 0) is answered. */
    for (int i = 0; i < 3; i++) {
        hdr(b, 4, i == 2 ? 0x1002 : 0);
        p32(b, 16, (uint32_t)fd);
        p32(b, 20, 400);
        memset(b + 24, 'a' + i, 400);
        assert_true(rpmsg_send(&raw, b, 424) >= 0);
    }
    assert_int_equal(tu_rec_wait(&rec, 3, TU_TIMEOUT_MS), 0);
    m = &rec.msgs[2];
    assert_int_equal(m->len, 24);
    assert_true(g64(m->data, 8) == 0x1002);
    assert_int_equal((int32_t)g32(m->data, 4), 400);

    /* LSEEK back, then one READ of 1200: several answers of <= 496 - 24. */
    hdr(b, 5, 0x1003);
    p32(b, 16, (uint32_t)fd);
    p32(b, 20, 0);
    p32(b, 24, 0);
    m = ask(b, 28, 4);
    assert_int_equal(m->len, 28);
    assert_int_equal((int32_t)g32(m->data, 4), 0);
    hdr(b, 3, 0x1004);
    p32(b, 16, (uint32_t)fd);
    p32(b, 20, 1200);
    assert_true(rpmsg_send(&raw, b, 24) >= 0);
    uint32_t total = 0;
    unsigned n = 4, replies = 0;
    uint8_t data[1200];
    while (total < 1200) {
        assert_int_equal(tu_rec_wait(&rec, ++n, TU_TIMEOUT_MS), 0);
        m = &rec.msgs[n - 1];
        int32_t got = (int32_t)g32(m->data, 4);
        assert_int_equal(g32(m->data, 0), 3);
        assert_true(g64(m->data, 8) == 0x1004);
        assert_int_equal(g32(m->data, 20), 1200); /* the request echoed */
        assert_true(got > 0 && got <= RPMSG_BUFFER_SIZE - 16 - 24);
        assert_int_equal(m->len, 24u + (uint32_t)got);
        memcpy(data + total, m->data + 24, (size_t)got);
        total += (uint32_t)got;
        replies++;
    }
    assert_int_equal(total, 1200);
    assert_true(replies >= 3);
    for (int i = 0; i < 1200; i++)
        assert_int_equal(data[i], 'a' + i / 400);

    /* Unknown commands, and the extension's from a client that is not ours:
     * no answer at all, as from NuttX. The next request is answered next. */
    hdr(b, 30, 0x1005);
    assert_true(rpmsg_send(&raw, b, 16) >= 0);
    hdr(b, 65, 0x1006);
    p32(b, 16, (uint32_t)fd);
    p32(b, 20, 10);
    assert_true(rpmsg_send(&raw, b, 32) >= 0);
    hdr(b, 2, 0x1007); /* CLOSE */
    p32(b, 16, (uint32_t)fd);
    m = ask(b, 20, n + 1);
    assert_true(g64(m->data, 8) == 0x1007);
    assert_int_equal(m->len, 20);
    assert_int_equal((int32_t)g32(m->data, 4), 0);
    n++;

    /* OPENDIR, READDIR until -ENOENT (NuttX's end), CLOSEDIR. */
    hdr(b, 11, 0x1008);
    strcpy((char *)b + 16, "/ex");
    m = ask(b, 20, ++n);
    assert_int_equal(m->len, 16);
    int32_t dh = (int32_t)g32(m->data, 4);
    assert_int_equal(dh, 1);
    hdr(b, 12, 0x1009);
    p32(b, 16, (uint32_t)dh);
    m = ask(b, 28, ++n);
    assert_int_equal((int32_t)g32(m->data, 4), 0);
    assert_string_equal((char *)m->data + 28, "f");
    assert_int_equal(g32(m->data, 24), 8); /* DTYPE_FILE */
    assert_int_equal(m->len, 28 + 2);
    m = ask(b, 28, ++n);
    assert_int_equal((int32_t)g32(m->data, 4), -2);
    hdr(b, 14, 0x100a);
    p32(b, 16, (uint32_t)dh);
    m = ask(b, 20, ++n);
    assert_int_equal((int32_t)g32(m->data, 4), 0);

    /* Errors in NuttX's numbers: RMDIR of a file is -ENOTDIR (20). */
    hdr(b, 18, 0x100b);
    strcpy((char *)b + 16, "/ex/f");
    m = ask(b, 22, ++n);
    assert_int_equal((int32_t)g32(m->data, 4), -20);
    /* A malformed request (path without NUL) gets -EINVAL, fixed part echoed. */
    hdr(b, 16, 0x100c);
    memset(b + 16, 'x', 40);
    m = ask(b, 56, ++n);
    assert_int_equal(m->len, 16);
    assert_int_equal((int32_t)g32(m->data, 4), -22);
    assert_true(g64(m->data, 8) == 0x100c);

    /* Never a HELLO for this client: every answer had a cookie of ours. */
    for (unsigned i = 0; i < n; i++)
        assert_true(g64(rec.msgs[i].data, 8) != 0);
    assert_int_equal(rpmsg_fs_server_clients(fix.srv), 1);
}

static bool no_clients(void *srv)
{
    return rpmsg_fs_server_clients(srv) == 0;
}

static void test_nuttx_client_goes_away(void **state)
{
    (void)state;
    uint8_t b[64];
    hdr(b, 1, 0x2001);
    p32(b, 16, 2 | 0100);
    p32(b, 20, 0644);
    strcpy((char *)b + 24, "/ex/g");
    struct tu_msg *m = ask(b, 30, 1);
    assert_int_equal((int32_t)g32(m->data, 4), 0);
    assert_int_equal(rpmsg_fs_server_clients(fix.srv), 1);
    /* The client's endpoint goes: its session and open files with it. */
    rpmsg_destroy_ept(&raw);
    assert_int_equal(tu_wait_until(no_clients, fix.srv, TU_TIMEOUT_MS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_our_client_nuttx_server, nx_setup, nx_teardown),
        cmocka_unit_test_setup_teardown(test_our_client_times_out, nx_setup, nx_teardown),
        cmocka_unit_test_setup_teardown(test_nuttx_client_our_server, raw_setup, raw_teardown),
        cmocka_unit_test_setup_teardown(test_nuttx_client_goes_away, raw_setup, raw_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
