/*
 * A send on the RX context that waits for a TX buffer (all of them in
 * flight) goes on as soon as a poll brings buffers back, even when that
 * poll delivers no message and nothing rings afterwards. A transport
 * reports returned buffers from poll() (rpmsg_device_tx_done) and may
 * switch the peer's notifications for them off right there, as VirtIO
 * does; the wait used to sleep on the link after such a poll until the
 * peer next sent. That was a 10 s stall of `rpmsg fs export` streaming a
 * read to a mount whose client waited for that very answer (EIO after the
 * client's timeout; test_fs_mount under TSan, about 1 run in 4 stalled).
 *
 * The transport is a stub: NBUF TX buffers; send() puts one in flight; the
 * test gives buffers back into a "ring" that only poll() looks at (as a
 * used ring), and wait() returns only for wakeup(), a message or its
 * deadline, never for buffers given back.
 *
 * The same for rpmsg_wait() on the RX context: a post that lands while the
 * wait's poll runs (the poll finds nothing) ends the wait. The check after
 * that poll takes the post (a semaphore's take); it used to go on to wait
 * for another one, until its deadline (test_wait.c's nesting case timed
 * out that way under load, about 1 run in 7 under TSan with two busy CPUs).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define NBUF 4
#define BUF_SIZE 64
#define EPT_ADDR 0x400u
#define PEER_ADDR 0x401u
/* Long: the send must go on long before it (half of it is the bound), and
 * a loaded machine under TSan must not reach that bound by being slow. */
#define SEND_TIMEOUT_MS 20000u

enum { B_FREE, B_TAKEN, B_FLIGHT, B_BACK };

struct stub {
    struct rpmsg_device dev;
    rpmsg_mutex_t lock;
    rpmsg_cond_t cond;
    uint8_t buf[NBUF][BUF_SIZE];
    int state[NBUF];
    uint8_t sent[2 * NBUF]; /* first payload byte of each message sent, in order */
    unsigned nsent;
    uint8_t rx[BUF_SIZE];   /* one message to deliver, if rx_len */
    uint32_t rx_len;
    bool wake, waiting;
    unsigned reclaims;      /* polls that took buffers back */
    struct rpmsg_sem *post_in_poll; /* posted (once) by the next poll */
    unsigned waits;         /* wait() calls */
};

static struct stub *stub_of(struct rpmsg_device *rdev)
{
    return rdev->transport;
}

static int index_of(struct stub *s, const void *buf)
{
    for (int i = 0; i < NBUF; i++)
        if (buf == s->buf[i])
            return i;
    return -1;
}

static void *st_get_tx(struct rpmsg_device *rdev, uint32_t *size)
{
    struct stub *s = stub_of(rdev);
    void *b = NULL;
    rpmsg_mutex_lock(&s->lock);
    for (int i = 0; i < NBUF && !b; i++)
        if (s->state[i] == B_FREE) {
            s->state[i] = B_TAKEN;
            b = s->buf[i];
        }
    rpmsg_mutex_unlock(&s->lock);
    *size = BUF_SIZE;
    return b;
}

static int st_send(struct rpmsg_device *rdev, void *buf, uint32_t len)
{
    struct stub *s = stub_of(rdev);
    int i = index_of(s, buf);
    if (i < 0)
        return -EINVAL;
    rpmsg_mutex_lock(&s->lock);
    s->state[i] = B_FLIGHT;
    if (len > RPMSG_HDR_SIZE && s->nsent < sizeof(s->sent))
        s->sent[s->nsent++] = s->buf[i][RPMSG_HDR_SIZE];
    rpmsg_mutex_unlock(&s->lock);
    return 0;
}

static int st_release_tx(struct rpmsg_device *rdev, void *buf)
{
    struct stub *s = stub_of(rdev);
    int i = index_of(s, buf);
    if (i < 0)
        return -EINVAL;
    rpmsg_mutex_lock(&s->lock);
    s->state[i] = B_FREE;
    rpmsg_mutex_unlock(&s->lock);
    return 0;
}

static void st_release_rx(struct rpmsg_device *rdev, void *buf)
{
    (void)rdev, (void)buf;
}

/* Takes back what the peer gave back, then delivers the message if any. */
static int st_poll(struct rpmsg_device *rdev)
{
    struct stub *s = stub_of(rdev);
    uint8_t msg[BUF_SIZE];
    rpmsg_mutex_lock(&s->lock);
    bool back = false;
    for (int i = 0; i < NBUF; i++)
        if (s->state[i] == B_BACK) {
            s->state[i] = B_FREE;
            back = true;
        }
    s->reclaims += back;
    uint32_t len = s->rx_len;
    memcpy(msg, s->rx, len);
    s->rx_len = 0;
    struct rpmsg_sem *post = len ? NULL : s->post_in_poll;
    if (post)
        s->post_in_poll = NULL;
    rpmsg_mutex_unlock(&s->lock);
    if (post)
        rpmsg_post(NULL, post);
    if (back)
        rpmsg_device_tx_done(rdev);
    if (!len)
        return 0;
    rpmsg_device_rx(rdev, msg, len);
    return 1;
}

static int st_wait(struct rpmsg_device *rdev, uint64_t deadline)
{
    struct stub *s = stub_of(rdev);
    int rc = 0;
    rpmsg_mutex_lock(&s->lock);
    s->waiting = true;
    s->waits++;
    rpmsg_cond_broadcast(&s->cond);
    while (!s->wake && !s->rx_len && rc != -ETIMEDOUT)
        rc = rpmsg_cond_wait(&s->cond, &s->lock, deadline);
    s->wake = false;
    s->waiting = false;
    rpmsg_mutex_unlock(&s->lock);
    return rc == -ETIMEDOUT ? rc : 0;
}

static void st_wakeup(struct rpmsg_device *rdev)
{
    struct stub *s = stub_of(rdev);
    rpmsg_mutex_lock(&s->lock);
    s->wake = true;
    rpmsg_cond_broadcast(&s->cond);
    rpmsg_mutex_unlock(&s->lock);
}

static const struct rpmsg_transport_ops stub_ops = {
    .get_tx_buffer = st_get_tx,
    .send = st_send,
    .release_tx_buffer = st_release_tx,
    .release_rx_buffer = st_release_rx,
    .poll = st_poll,
    .wait = st_wait,
    .wakeup = st_wakeup,
};

/* The stub's device, up and started, with ept bound to the peer. */
static void stub_open(struct stub *s, struct rpmsg_endpoint *ept, rpmsg_ept_cb cb, void *priv)
{
    assert_int_equal(rpmsg_mutex_init(&s->lock), 0);
    assert_int_equal(rpmsg_cond_init(&s->cond), 0);
    struct rpmsg_device_config cfg = { .local_cpuname = "here" };
    assert_int_equal(rpmsg_device_init(&s->dev, &stub_ops, s, &cfg), 0);
    rpmsg_device_set_tx_buf_size(&s->dev, BUF_SIZE);
    assert_int_equal(rpmsg_set_send_timeout(&s->dev, SEND_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_create_ept(ept, &s->dev, NULL, EPT_ADDR, PEER_ADDR, cb, NULL), 0);
    ept->priv = priv;
    rpmsg_device_link_up(&s->dev, "there", 0);
    assert_int_equal(rpmsg_device_start(&s->dev), 0);
}

/* The peer's request: one message for the next poll. */
static void stub_request(struct stub *s)
{
    struct rpmsg_hdr h = { .src = PEER_ADDR, .dst = EPT_ADDR, .len = 1 };
    rpmsg_mutex_lock(&s->lock);
    memcpy(s->rx, &h, sizeof(h));
    s->rx[sizeof(h)] = 'r';
    s->rx_len = (uint32_t)sizeof(h) + 1;
    rpmsg_cond_broadcast(&s->cond);
    rpmsg_mutex_unlock(&s->lock);
}

static void stub_close(struct stub *s, struct rpmsg_endpoint *ept)
{
    rpmsg_destroy_ept(ept);
    rpmsg_device_deinit(&s->dev);
    rpmsg_cond_deinit(&s->cond);
    rpmsg_mutex_deinit(&s->lock);
}

struct fx {
    struct stub st;
    struct rpmsg_endpoint ept;
    int rc[NBUF + 1];
    uint64_t last_ms; /* how long the send that waited took */
    struct tu_event done;
};

/* The request: NBUF + 1 replies, from the callback (the RX context). */
static int on_msg(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)data, (void)len, (void)src;
    struct fx *f = priv;
    for (uint8_t i = 0; i <= NBUF; i++) {
        uint64_t t0 = rpmsg_time_ms();
        f->rc[i] = rpmsg_send(ept, &i, 1);
        f->last_ms = rpmsg_time_ms() - t0;
    }
    tu_event_post(&f->done);
    return 0;
}

/* Every buffer in flight and the RX context asleep in wait(). */
static bool stuck(void *arg)
{
    struct stub *s = arg;
    rpmsg_mutex_lock(&s->lock);
    bool r = s->waiting && s->nsent == NBUF;
    rpmsg_mutex_unlock(&s->lock);
    return r;
}

static void test_buffers_back_in_an_empty_poll_end_the_wait(void **state)
{
    (void)state;
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    struct stub *s = &f->st;
    tu_event_init(&f->done);
    stub_open(s, &f->ept, on_msg, f);

    /* The request arrives; the callback sends until every buffer is out. */
    stub_request(s);
    assert_int_equal(tu_wait_until(stuck, s, TU_TIMEOUT_MS), 0);

    /* The peer gives them all back, without a ring; then a wake-up that
     * is not about them (the link's own, another kick): one poll takes
     * the buffers back and delivers nothing. */
    rpmsg_mutex_lock(&s->lock);
    for (int i = 0; i < NBUF; i++) {
        assert_int_equal(s->state[i], B_FLIGHT);
        s->state[i] = B_BACK;
    }
    rpmsg_mutex_unlock(&s->lock);
    st_wakeup(&s->dev);

    /* The last reply goes at once, long before the send's timeout. */
    assert_int_equal(tu_event_wait(&f->done, 1, SEND_TIMEOUT_MS / 2), 0);
    for (int i = 0; i <= NBUF; i++)
        assert_int_equal(f->rc[i], 1);
    assert_true(f->last_ms < SEND_TIMEOUT_MS / 2);
    rpmsg_mutex_lock(&s->lock);
    unsigned nsent = s->nsent, reclaims = s->reclaims;
    uint8_t sent[NBUF + 1];
    memcpy(sent, s->sent, sizeof(sent));
    rpmsg_mutex_unlock(&s->lock);
    assert_int_equal(nsent, NBUF + 1);
    for (uint8_t i = 0; i <= NBUF; i++)
        assert_int_equal(sent[i], i);
    assert_int_equal(reclaims, 1);

    stub_close(s, &f->ept);
    tu_event_deinit(&f->done);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
}

/* The callback waits for a post that its wait's own poll brings. */
struct semfx {
    struct stub st;
    struct rpmsg_endpoint ept;
    struct rpmsg_sem sem;
    int rc;
    uint64_t ms;
    unsigned waits; /* the stub's wait() calls during the wait */
    struct tu_event done;
};

static int on_req(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)data, (void)len, (void)src;
    struct semfx *f = priv;
    rpmsg_mutex_lock(&f->st.lock);
    f->st.post_in_poll = &f->sem;
    unsigned w0 = f->st.waits;
    rpmsg_mutex_unlock(&f->st.lock);
    uint64_t t0 = rpmsg_time_ms();
    f->rc = rpmsg_wait_timeout(ept, &f->sem, SEND_TIMEOUT_MS);
    f->ms = rpmsg_time_ms() - t0;
    rpmsg_mutex_lock(&f->st.lock);
    f->waits = f->st.waits - w0;
    rpmsg_mutex_unlock(&f->st.lock);
    tu_event_post(&f->done);
    return 0;
}

static void test_post_in_an_empty_poll_ends_the_wait(void **state)
{
    (void)state;
    struct semfx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(rpmsg_sem_init(&f->sem, 0), 0);
    tu_event_init(&f->done);
    stub_open(&f->st, &f->ept, on_req, f);
    stub_request(&f->st);

    /* Ended by the post, not by its deadline, and without sleeping. */
    assert_int_equal(tu_event_wait(&f->done, 1, 2 * SEND_TIMEOUT_MS), 0);
    assert_int_equal(f->rc, 0);
    assert_true(f->ms < SEND_TIMEOUT_MS / 2);
    assert_int_equal(f->waits, 0);
    /* The post was taken once: nothing is left over. */
    assert_int_equal(rpmsg_wait_timeout(NULL, &f->sem, 0), -ETIMEDOUT);

    stub_close(&f->st, &f->ept);
    tu_event_deinit(&f->done);
    rpmsg_sem_deinit(&f->sem);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffers_back_in_an_empty_poll_end_the_wait),
        cmocka_unit_test(test_post_in_an_empty_poll_ends_the_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
