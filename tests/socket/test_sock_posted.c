/*
 * A stream reader asleep on an empty ring posts its buffer, and the RPMsg
 * callback copies data straight into it (sock_priv.h, rx_store). Pinned
 * here: a post smaller than what arrives takes its fill and the rest waits in
 * the ring, in order; what went into the post is acknowledged like any read
 * (the writer gets its window back without another recv); a second reader
 * waits without a post and gets what the first left; a peer that sends past
 * the window while a post holds data is caught, as with the ring.
 */
#include "services/socket/sock_priv.h"
#include "services/socket/sock_wire.h"
#include "sock_fixture.h"

struct posted {
    struct rpmsg_socket *s;
    unsigned waiters;
};

static bool is_posted(void *arg)
{
    struct posted *p = arg;
    rpmsg_mutex_lock(&sock_lock);
    bool yes = p->s->post != NULL && p->s->waiters == p->waiters;
    rpmsg_mutex_unlock(&sock_lock);
    return yes;
}

static uint32_t ring_used(struct rpmsg_socket *s)
{
    rpmsg_mutex_lock(&sock_lock);
    uint32_t n = s->ring.used;
    rpmsg_mutex_unlock(&sock_lock);
    return n;
}

static void open3(struct sf *f, struct rpmsg_socket **l, struct rpmsg_socket **c,
                  struct rpmsg_socket **s, const char *name)
{
    assert_int_equal(sf_open(f, SF_VIRTIO), 0);
    *l = sf_listen(f, name, 1);
    *c = sf_connect(f, RPMSG_SOCK_STREAM, name);
    *s = sf_accept(*l);
}

static void close3(struct sf *f, struct rpmsg_socket *l, struct rpmsg_socket *c,
                   struct rpmsg_socket *s)
{
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(f);
}

/* Ten bytes into a posted five: five in the post, five in the ring. */
static void test_short_post_then_ring(void **st)
{
    (void)st;
    struct sf f;
    struct rpmsg_socket *l, *c, *s;
    open3(&f, &l, &c, &s, "p1");
    uint8_t b[16] = { 0 };
    struct sf_reader r = { s, b, 5, 0 };
    struct tu_thread t;
    assert_int_equal(tu_thread_start(&t, sf_read_once, &r), 0);
    struct posted p = { s, 1 };
    assert_int_equal(tu_wait_until(is_posted, &p, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_socket_send(c, "0123456789", 10, 0), 10);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(r.got, 5);
    assert_memory_equal(b, "01234", 5);
    assert_int_equal(ring_used(s), 5);
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 5);
    assert_memory_equal(b, "56789", 5);
    assert_int_equal(ring_used(s), 0);
    close3(&f, l, c, s);
}

/* Posted readers consume as data lands: four windows' worth in 64 KiB
 * writes, every byte checked, read in 64 KiB reads, then in reads of four
 * windows each (a post larger than the window). The window reopens only
 * through acknowledgements: a post not counted as read would stall the
 * writer. */
static void test_posted_stream_flows(void **st)
{
    (void)st;
    uint32_t win = 0;
    for (int big = 0; big < 2; big++) {
        struct sf f;
        struct rpmsg_socket *l, *c, *s;
        open3(&f, &l, &c, &s, big ? "p2b" : "p2");
        assert_int_equal(rpmsg_socket_getopt(s, RPMSG_SO_RCVBUF, &win), 0);
        assert_true(win >= 65536);
        uint64_t total = 4ull * win;
        struct sf_sender w = { c, 7, total, 65536, 1 };
        struct tu_thread t;
        assert_int_equal(tu_thread_start(&t, sf_send_thread, &w), 0);
        assert_int_equal(sf_recv_stream(s, 7, big ? 4u * win : 65536), (int64_t)total);
        assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
        assert_int_equal(w.rc, 0);
        close3(&f, l, c, s);
    }
}

/* A post made here stands for a first reader's (it cannot wake early and
 * take its post back, so what lands where is certain). */
static void fake_post(struct rpmsg_socket *s, uint8_t *buf, uint32_t len)
{
    rpmsg_mutex_lock(&sock_lock);
    s->post = buf;
    s->post_len = len;
    s->post_got = 0;
    rpmsg_mutex_unlock(&sock_lock);
}

static uint32_t unpost(struct rpmsg_socket *s)
{
    rpmsg_mutex_lock(&sock_lock);
    uint32_t got = s->post_got;
    s->post = NULL;
    s->post_got = 0;
    rpmsg_mutex_unlock(&sock_lock);
    return got;
}

struct fill {
    struct rpmsg_socket *s;
    uint32_t n;
};

static bool post_holds(void *arg)
{
    struct fill *w = arg;
    rpmsg_mutex_lock(&sock_lock);
    bool yes = w->s->post_got == w->n;
    rpmsg_mutex_unlock(&sock_lock);
    return yes;
}

/* The post is the first reader's; a second waits on the ring, without a
 * post of its own, and gets what does not fit the first's. */
static void test_second_reader_waits_on_ring(void **st)
{
    (void)st;
    struct sf f;
    struct rpmsg_socket *l, *c, *s;
    open3(&f, &l, &c, &s, "p3");
    uint8_t b1[4] = { 0 }, b2[16] = { 0 };
    fake_post(s, b1, sizeof(b1));
    struct sf_reader r2 = { s, b2, sizeof(b2), 0 };
    struct tu_thread t2;
    assert_int_equal(tu_thread_start(&t2, sf_read_once, &r2), 0);
    struct posted p2 = { s, 1 };
    assert_int_equal(tu_wait_until(is_posted, &p2, TU_TIMEOUT_MS), 0);
    rpmsg_mutex_lock(&sock_lock);
    assert_ptr_equal(s->post, b1); /* the second reader did not post */
    rpmsg_mutex_unlock(&sock_lock);
    assert_int_equal(rpmsg_socket_send(c, "abcdefgh", 8, 0), 8);
    assert_int_equal(tu_thread_join(&t2, TU_TIMEOUT_MS), 0);
    assert_int_equal(r2.got, 4);
    assert_memory_equal(b2, "efgh", 4);
    assert_int_equal(unpost(s), 4);
    assert_memory_equal(b1, "abcd", 4);
    close3(&f, l, c, s);
}

/* Window 256, a post of 1024 bytes: 100 bytes land in it, 200 more would
 * pass the window with the post's fill counted and are refused, one byte
 * after them still flows into the post. */
static void test_post_counts_in_window(void **st)
{
    (void)st;
    static struct sf_raw_peer p;
    sf_raw_open(&p, "pw", 256);
    struct rpmsg_socket *s = p.s;
    struct rpmsg_endpoint *raw = &p.raw;
    uint8_t m[SOCK_SYNC_EXT_LEN + 16];
    memset(m, 0, sizeof(m));
    sock_put_sync(m, 1024, 1, 2, 3);
    uint32_t n = sock_put_sync_ext(m, 100); /* one of ours: its full DATA carries 100 */
    assert_int_equal(rpmsg_send(raw, m, n), (int)n);

    uint8_t *b = calloc(1, 1024);
    assert_non_null(b);
    fake_post(s, b, 1024);
    uint8_t d[212];
    memset(d + 12, 'a', 200);
    sock_put_data_hdr(d, 0, 100);
    assert_int_equal(rpmsg_send(raw, d, 112), 112);
    sock_put_data_hdr(d, 0, 200);
    assert_int_equal(rpmsg_send(raw, d, 212), 212);
    sock_put_data_hdr(d, 0, 1);
    d[12] = 'b';
    assert_int_equal(rpmsg_send(raw, d, 13), 13);
    struct fill w = { s, 101 };
    assert_int_equal(tu_wait_until(post_holds, &w, TU_TIMEOUT_MS), 0);
    assert_int_equal(ring_used(s), 0);
    assert_int_equal(unpost(s), 101);
    assert_int_equal(b[99], 'a');
    assert_int_equal(b[100], 'b');
    struct rpmsg_socket_stats ss;
    assert_int_equal(rpmsg_socket_stats(s, &ss), 0);
    assert_int_equal(ss.malformed, 1);
    free(b);
    sf_raw_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_post_then_ring),
        cmocka_unit_test(test_posted_stream_flows),
        cmocka_unit_test(test_second_reader_waits_on_ring),
        cmocka_unit_test(test_post_counts_in_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
