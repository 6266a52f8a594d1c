/*
 * A stream reader on a VirtIO link runs the link itself while it waits
 * (rpmsg_drive), instead of sleeping until the RX thread has filled its
 * buffer. Pinned here with the RX thread held busy by another endpoint's
 * callback: the reader asks for the link, the RX thread hands it over after
 * that callback, and the socket's DATA is then received on the reader's own
 * thread (the device's trace runs on whichever thread receives), every byte
 * in order.
 */
#include <pthread.h>

#include "sock_fixture.h"

#define BLK_SRV 0x700u
#define BLK_CLI 0x701u
#define WRITE (64u * 1024u)

static struct tu_event in_blk, gate;
static pthread_t reader_id;
static bool reader_known;
static unsigned rx_on_reader; /* DATA-sized messages received on the reader's thread */
static unsigned tx_data;      /* DATA-sized messages the client has published */

static int blk_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)data, (void)len, (void)src, (void)priv;
    tu_event_post(&in_blk);
    TU_CHECK(tu_event_wait(&gate, 1, TU_TIMEOUT_MS) == 0); /* the RX thread stays here */
    return 0;
}

static void trace(struct rpmsg_device *rdev, void *arg, int dir, const void *msg, size_t len)
{
    (void)rdev, (void)arg, (void)msg;
    if (dir != RPMSG_TRACE_RX || len < 256) /* DATA of the stream only */
        return;
    if (__atomic_load_n(&reader_known, __ATOMIC_ACQUIRE) && pthread_equal(pthread_self(), reader_id))
        __atomic_add_fetch(&rx_on_reader, 1, __ATOMIC_SEQ_CST);
}

static void trace_tx(struct rpmsg_device *rdev, void *arg, int dir, const void *msg, size_t len)
{
    (void)rdev, (void)arg, (void)msg;
    if (dir == RPMSG_TRACE_TX && len >= 256)
        __atomic_add_fetch(&tx_data, 1, __ATOMIC_SEQ_CST);
}

static void *reader_main(void *arg)
{
    reader_id = pthread_self();
    __atomic_store_n(&reader_known, true, __ATOMIC_RELEASE);
    return sf_read_once(arg);
}

/* The reader waits for the link, and the write's first DATA is on it. */
static bool wants_link(void *arg)
{
    struct rpmsg_device *rdev = arg;
    return __atomic_load_n(&rdev->rx_wanted, __ATOMIC_SEQ_CST) == 1 &&
           __atomic_load_n(&tx_data, __ATOMIC_SEQ_CST) > 0;
}

static void test_reader_receives_on_its_thread(void **st)
{
    (void)st;
    tu_event_init(&in_blk);
    tu_event_init(&gate);
    struct sf f;
    assert_int_equal(sf_open(&f, SF_VIRTIO), 0);
    struct rpmsg_socket *l = sf_listen(&f, "drv", 1);
    struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_STREAM, "drv");
    struct rpmsg_socket *s = sf_accept(l);
    struct rpmsg_endpoint blk, cli;
    memset(&blk, 0, sizeof(blk));
    memset(&cli, 0, sizeof(cli));
    assert_int_equal(rpmsg_create_ept(&blk, f.sdev, "blk", BLK_SRV, BLK_CLI, blk_cb, NULL), 0);
    assert_int_equal(rpmsg_create_ept(&cli, f.cdev, "blk", BLK_CLI, BLK_SRV, NULL, NULL), 0);
    assert_int_equal(rpmsg_set_trace(f.sdev, trace, NULL), 0);
    assert_int_equal(rpmsg_set_trace(f.cdev, trace_tx, NULL), 0);

    /* The server's RX thread is busy in blk's callback; a write waits on
     * the link behind it. */
    assert_int_equal(rpmsg_send(&cli, "x", 1), 1);
    assert_int_equal(tu_event_wait(&in_blk, 1, TU_TIMEOUT_MS), 0);
    struct sf_sender w = { c, 7, WRITE, WRITE, -1 };
    struct tu_thread tw, tr;
    assert_int_equal(tu_thread_start(&tw, sf_send_thread, &w), 0);
    uint8_t *buf = malloc(WRITE);
    assert_non_null(buf);
    struct sf_reader r = { s, buf, WRITE, -1 };
    assert_int_equal(tu_thread_start(&tr, reader_main, &r), 0);
    /* The reader found its ring empty and asks for the link, and the write
     * has published DATA behind blk's message. (Waiting for the first alone
     * failed about once in 40 runs under ASan: a sender thread not yet
     * sending left the reader's drive nothing to take within its wait, and
     * the RX thread got the DATA after all.) */
    assert_int_equal(tu_wait_until(wants_link, f.sdev, TU_TIMEOUT_MS), 0);
    tu_event_post(&gate);
    assert_int_equal(tu_thread_join(&tr, TU_TIMEOUT_MS), 0);

    assert_true(r.got > 0);
    for (ssize_t i = 0; i < r.got; i++)
        if (buf[i] != sf_byte(7, (uint64_t)i))
            fail_msg("byte %zd differs", i);
    /* None before the gate: the RX thread was in blk's callback. */
    assert_true(__atomic_load_n(&rx_on_reader, __ATOMIC_SEQ_CST) > 0);

    /* The rest of the write comes as usual, and the stream ends. */
    uint64_t off = (uint64_t)r.got;
    for (;;) {
        ssize_t n = rpmsg_socket_recv(s, buf, WRITE, 0);
        assert_true(n >= 0);
        if (!n)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != sf_byte(7, off + (uint64_t)i))
                fail_msg("byte %llu differs", (unsigned long long)(off + (uint64_t)i));
        off += (uint64_t)n;
    }
    assert_int_equal(off, WRITE);
    assert_int_equal(tu_thread_join(&tw, TU_TIMEOUT_MS), 0);
    assert_int_equal(w.rc, 0);

    rpmsg_set_trace(f.sdev, NULL, NULL);
    rpmsg_set_trace(f.cdev, NULL, NULL);
    rpmsg_destroy_ept(&cli);
    rpmsg_destroy_ept(&blk);
    free(buf);
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
    tu_event_deinit(&in_blk);
    tu_event_deinit(&gate);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_receives_on_its_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
