/*
 * A device that lends its RX context (cfg.lent_rx, rpmsg_device_rx_try_enter):
 * one thread at a time is the context, turns nest on one thread, the
 * device's own RX thread waits for its turn, and a callback delivered by a
 * thread holding a turn waits (rpmsg_wait) by running the device's poll on
 * that same thread; rpmsg_drive() takes the link from a busy RX thread and
 * never from an idle one.
 *
 * The transport here is a stub: a queue the test fills, delivered by poll().
 */
#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QMAX 8
#define MSG_SIZE 64

struct stub {
    struct rpmsg_device dev;
    rpmsg_mutex_t lock;
    rpmsg_cond_t cond;
    uint8_t msg[QMAX][MSG_SIZE];
    uint32_t len[QMAX];
    unsigned head, count;
    bool wake;
    unsigned polls; /* poll() calls that found something */
};

static struct stub *stub_of(struct rpmsg_device *rdev)
{
    return rdev->transport;
}

static void *st_get_tx(struct rpmsg_device *rdev, uint32_t *size)
{
    (void)rdev, (void)size;
    return NULL; /* nothing is sent here */
}

static int st_send(struct rpmsg_device *rdev, void *buf, uint32_t len)
{
    (void)rdev, (void)buf, (void)len;
    return -EINVAL;
}

static int st_release_tx(struct rpmsg_device *rdev, void *buf)
{
    (void)rdev, (void)buf;
    return -EINVAL;
}

static void st_release_rx(struct rpmsg_device *rdev, void *buf)
{
    (void)rdev, (void)buf; /* the queue slot is reused only after a reset */
}

static int st_poll(struct rpmsg_device *rdev)
{
    struct stub *s = stub_of(rdev);
    int n = 0;
    for (;;) {
        rpmsg_mutex_lock(&s->lock);
        if (!s->count) {
            rpmsg_mutex_unlock(&s->lock);
            return n;
        }
        unsigned i = s->head;
        s->head = (s->head + 1) % QMAX;
        s->count--;
        s->polls++;
        rpmsg_mutex_unlock(&s->lock);
        rpmsg_device_rx(rdev, s->msg[i], s->len[i]); /* no lock held: it may nest */
        n++;
        if (rpmsg_device_rx_yielding(rdev))
            return n; /* as a real transport: the rest for the next round */
    }
}

static int st_wait(struct rpmsg_device *rdev, uint64_t deadline)
{
    struct stub *s = stub_of(rdev);
    int rc = 0;
    rpmsg_mutex_lock(&s->lock);
    while (!s->count && !s->wake && rc != -ETIMEDOUT)
        rc = rpmsg_cond_wait(&s->cond, &s->lock, deadline);
    s->wake = false;
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

#define EPT_ADDR 0x400u
#define PEER_ADDR 0x401u

/* Builds message `tag` (one byte of payload) for the endpoint. */
static void *make_msg(uint8_t *buf, uint32_t *len, uint8_t tag)
{
    struct rpmsg_hdr h = { .src = PEER_ADDR, .dst = EPT_ADDR, .len = 1 };
    memcpy(buf, &h, sizeof(h));
    buf[sizeof(h)] = tag;
    *len = (uint32_t)sizeof(h) + 1;
    return buf;
}

/* Queues message `tag` for poll() and wakes the transport's waiters. */
static void inject(struct stub *s, uint8_t tag)
{
    rpmsg_mutex_lock(&s->lock);
    unsigned i = (s->head + s->count) % QMAX;
    make_msg(s->msg[i], &s->len[i], tag);
    s->count++;
    rpmsg_cond_broadcast(&s->cond);
    rpmsg_mutex_unlock(&s->lock);
}

/* ---- Fixture ------------------------------------------------------------------ */

struct fx {
    struct stub st;
    struct rpmsg_endpoint ept;
    struct rpmsg_sem sem;
    pthread_mutex_t log_lock;
    char log[32]; /* callbacks: 'A' start of a, 'a' its end, 'b' ... */
    unsigned nlog;
    pthread_t thread_of[256]; /* the thread each tag's callback ran on */
    bool ctx_of[256];         /* rpmsg_device_on_rx_context inside it */
    int wait_rc;
    struct tu_event ran;
    struct tu_event in_x, gate; /* 'x' blocks its context until the gate opens */
    bool c_done;                /* 'c' ran (atomic) */
};

static void log_c(struct fx *f, char c)
{
    pthread_mutex_lock(&f->log_lock);
    if (f->nlog + 1 < sizeof(f->log))
        f->log[f->nlog++] = c;
    pthread_mutex_unlock(&f->log_lock);
}

static int on_msg(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    struct fx *f = priv;
    uint8_t tag = len ? *(uint8_t *)data : 0;
    f->thread_of[tag] = pthread_self();
    f->ctx_of[tag] = rpmsg_device_on_rx_context(ept->rdev);
    log_c(f, (char)(tag - 'a' + 'A'));
    if (tag == 'w') /* waits for 'p', which posts */
        f->wait_rc = rpmsg_wait_timeout(ept, &f->sem, TU_TIMEOUT_MS);
    else if (tag == 'p')
        rpmsg_post(ept, &f->sem);
    else if (tag == 'x') {
        tu_event_post(&f->in_x);
        TU_CHECK(tu_event_wait(&f->gate, 1, TU_TIMEOUT_MS) == 0);
    } else if (tag == 'c')
        __atomic_store_n(&f->c_done, true, __ATOMIC_SEQ_CST);
    log_c(f, (char)tag);
    tu_event_post(&f->ran);
    return 0;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    if (rpmsg_mutex_init(&f->st.lock) || rpmsg_cond_init(&f->st.cond))
        return -1;
    pthread_mutex_init(&f->log_lock, NULL);
    tu_event_init(&f->ran);
    tu_event_init(&f->in_x);
    tu_event_init(&f->gate);
    rpmsg_sem_init(&f->sem, 0);
    struct rpmsg_device_config cfg = { .local_cpuname = "here", .lent_rx = true };
    if (rpmsg_device_init(&f->st.dev, &stub_ops, &f->st, &cfg) ||
        rpmsg_create_ept(&f->ept, &f->st.dev, "turns", EPT_ADDR, PEER_ADDR, on_msg, NULL) ||
        rpmsg_device_start(&f->st.dev))
        return -1;
    f->ept.priv = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rpmsg_destroy_ept(&f->ept);
    rpmsg_device_deinit(&f->st.dev);
    rpmsg_sem_deinit(&f->sem);
    tu_event_deinit(&f->ran);
    tu_event_deinit(&f->in_x);
    tu_event_deinit(&f->gate);
    pthread_mutex_destroy(&f->log_lock);
    rpmsg_cond_deinit(&f->st.cond);
    rpmsg_mutex_deinit(&f->st.lock);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

/* The device's RX thread may be in its own turn for a moment (its first
 * poll, a wake-up): the turn is not free then, so try again for a while. */
static bool enter_soon(struct rpmsg_device *rdev, struct rpmsg_rx_turn *turn)
{
    uint64_t until = rpmsg_time_ms() + TU_TIMEOUT_MS;
    while (!rpmsg_device_rx_try_enter(rdev, turn)) {
        if (rpmsg_time_ms() >= until)
            return false;
        usleep(1000);
    }
    return true;
}

/* ---- A helper thread that holds a turn while the test looks on ---------------- */

struct holder {
    struct fx *f;
    struct tu_barrier in, out; /* turn taken / may leave */
    bool entered, nested, ctx_inside, ctx_after_inner;
    uint8_t deliver; /* after `out`, deliver this tag itself, still in its turn (0: none) */
};

static void *holder_main(void *arg)
{
    struct holder *h = arg;
    struct rpmsg_device *rdev = &h->f->st.dev;
    struct rpmsg_rx_turn outer, inner;
    h->entered = enter_soon(rdev, &outer);
    h->nested = rpmsg_device_rx_try_enter(rdev, &inner);
    h->ctx_inside = rpmsg_device_on_rx_context(rdev);
    rpmsg_device_rx_leave(&inner);
    h->ctx_after_inner = rpmsg_device_on_rx_context(rdev);
    TU_CHECK(tu_barrier_wait(&h->in, TU_TIMEOUT_MS) == 0);
    TU_CHECK(tu_barrier_wait(&h->out, TU_TIMEOUT_MS) == 0);
    if (h->deliver) {
        uint8_t buf[MSG_SIZE];
        uint32_t len = 0;
        void *msg = make_msg(buf, &len, h->deliver);
        rpmsg_device_rx(rdev, msg, len);
    }
    rpmsg_device_rx_leave(&outer);
    return NULL;
}

static void holder_start(struct holder *h, struct fx *f, struct tu_thread *t, uint8_t deliver)
{
    memset(h, 0, sizeof(*h));
    h->f = f;
    h->deliver = deliver;
    tu_barrier_init(&h->in, 2);
    tu_barrier_init(&h->out, 2);
    assert_int_equal(tu_thread_start(t, holder_main, h), 0);
    assert_int_equal(tu_barrier_wait(&h->in, TU_TIMEOUT_MS), 0);
}

static void holder_finish(struct holder *h, struct tu_thread *t)
{
    assert_int_equal(tu_barrier_wait(&h->out, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_thread_join(t, TU_TIMEOUT_MS), 0);
    tu_barrier_deinit(&h->in);
    tu_barrier_deinit(&h->out);
}

/* One thread at a time; a turn nests on its own thread. */
static void test_one_thread_at_a_time(void **state)
{
    struct fx *f = *state;
    struct holder h;
    struct tu_thread t;
    holder_start(&h, f, &t, 0);
    assert_true(h.entered);
    assert_true(h.nested);
    assert_true(h.ctx_inside);
    assert_true(h.ctx_after_inner); /* the outer turn still holds */
    struct rpmsg_rx_turn mine;
    assert_false(rpmsg_device_rx_try_enter(&f->st.dev, &mine));
    assert_false(rpmsg_device_on_rx_context(&f->st.dev));
    holder_finish(&h, &t);

    assert_true(enter_soon(&f->st.dev, &mine));
    assert_true(rpmsg_device_on_rx_context(&f->st.dev));
    rpmsg_device_rx_leave(&mine);
    assert_false(rpmsg_device_on_rx_context(&f->st.dev));
}

/* Turns ended out of order still end; a turn never taken is ignored. */
static void test_leave_out_of_order(void **state)
{
    struct fx *f = *state;
    struct rpmsg_rx_turn outer, inner, never = { .rdev = &f->st.dev };
    assert_true(enter_soon(&f->st.dev, &outer));
    assert_true(rpmsg_device_rx_try_enter(&f->st.dev, &inner)); /* nested: at once */
    rpmsg_device_rx_leave(&outer);
    assert_true(rpmsg_device_on_rx_context(&f->st.dev)); /* inner still holds */
    rpmsg_device_rx_leave(&never);
    rpmsg_device_rx_leave(NULL);
    assert_true(rpmsg_device_on_rx_context(&f->st.dev));
    assert_false(rpmsg_device_on_rx_context(NULL));
    struct rpmsg_rx_turn t0;
    assert_false(rpmsg_device_rx_try_enter(NULL, &t0));
    assert_false(rpmsg_device_rx_try_enter(&f->st.dev, NULL));
    rpmsg_device_rx_leave(&inner);
    assert_false(rpmsg_device_on_rx_context(&f->st.dev));
    /* Free again: another thread gets it, and the RX thread delivers after. */
    struct holder h;
    struct tu_thread t;
    holder_start(&h, f, &t, 0);
    assert_true(h.entered);
    holder_finish(&h, &t);
    inject(&f->st, 'a');
    assert_int_equal(tu_event_wait(&f->ran, 1, TU_TIMEOUT_MS), 0);
}

/* The device's own RX thread takes no message while another thread has the
 * turn, and delivers it once the turn is given back. */
static void test_rx_thread_waits_for_its_turn(void **state)
{
    struct fx *f = *state;
    struct holder h;
    struct tu_thread t;
    holder_start(&h, f, &t, 0);
    inject(&f->st, 'a');
    /* Long enough for an RX thread that ignored turns to have polled. */
    assert_int_equal(tu_event_wait(&f->ran, 1, 200), -ETIMEDOUT);
    rpmsg_mutex_lock(&f->st.lock);
    unsigned polls = f->st.polls;
    rpmsg_mutex_unlock(&f->st.lock);
    assert_int_equal(polls, 0);
    holder_finish(&h, &t);
    assert_int_equal(tu_event_wait(&f->ran, 1, TU_TIMEOUT_MS), 0);
    assert_memory_equal(f->log, "Aa", 2);
    assert_true(f->ctx_of['a']);
    assert_false(pthread_equal(f->thread_of['a'], t.id));
}

/*
 * A message delivered by the turn holder runs its callback there; the
 * callback's rpmsg_wait runs the device's poll on that same thread, which
 * delivers the message that posts, nested: W P p w, all on the holder.
 */
static void test_wait_runs_on_turn_holder(void **state)
{
    struct fx *f = *state;
    struct holder h;
    struct tu_thread t;
    holder_start(&h, f, &t, 'w');
    inject(&f->st, 'p'); /* the RX thread wakes, and waits for its turn */
    holder_finish(&h, &t);
    assert_int_equal(tu_event_wait(&f->ran, 2, TU_TIMEOUT_MS), 0);
    assert_int_equal(f->wait_rc, 0);
    assert_int_equal(f->nlog, 4);
    assert_memory_equal(f->log, "WPpw", 4);
    assert_true(pthread_equal(f->thread_of['w'], t.id));
    assert_true(pthread_equal(f->thread_of['p'], t.id));
    assert_true(f->ctx_of['w']);
    assert_true(f->ctx_of['p']);
}

/* ---- rpmsg_drive: a waiting thread runs the link itself ----------------------- */

static bool c_seen(void *arg)
{
    struct fx *f = arg;
    return __atomic_load_n(&f->c_done, __ATOMIC_SEQ_CST);
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

struct driver {
    struct fx *f;
    int rc;
};

static void *driver_main(void *arg)
{
    struct driver *d = arg;
    d->rc = rpmsg_drive(&d->f->st.dev, rpmsg_deadline(TU_TIMEOUT_MS), c_seen, d->f);
    return NULL;
}

/*
 * A drive asked for while the RX thread is busy with the link: the RX
 * thread ends its round after the message in hand and parks, the driver
 * delivers the rest on its own thread, in order, and returns once done()
 * holds; the RX thread takes the link back afterwards.
 */
static void test_drive_takes_busy_link(void **state)
{
    struct fx *f = *state;
    inject(&f->st, 'x');
    assert_int_equal(tu_event_wait(&f->in_x, 1, TU_TIMEOUT_MS), 0); /* the RX thread is in it */
    inject(&f->st, 'b');
    inject(&f->st, 'c');
    struct driver d = { f, -1 };
    struct tu_thread t;
    assert_int_equal(tu_thread_start(&t, driver_main, &d), 0);
    /* The driver waits for the turn: counted before the gate opens. */
    uint64_t until = rpmsg_time_ms() + TU_TIMEOUT_MS;
    while (!__atomic_load_n(&f->st.dev.rx_wanted, __ATOMIC_SEQ_CST) && rpmsg_time_ms() < until)
        usleep(1000);
    assert_int_equal(__atomic_load_n(&f->st.dev.rx_wanted, __ATOMIC_SEQ_CST), 1);
    tu_event_post(&f->gate);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(d.rc, 1);
    assert_int_equal(f->nlog, 6);
    assert_memory_equal(f->log, "XxBbCc", 6);
    assert_false(pthread_equal(f->thread_of['x'], t.id));
    assert_true(pthread_equal(f->thread_of['b'], t.id));
    assert_true(pthread_equal(f->thread_of['c'], t.id));
    assert_true(f->ctx_of['b']);
    assert_false(rpmsg_device_on_rx_context(&f->st.dev));
    /* The link is the RX thread's again (at the latest when the lease ends). */
    rpmsg_drive_end(&f->st.dev);
    inject(&f->st, 'a');
    assert_int_equal(tu_event_wait(&f->ran, 4, TU_TIMEOUT_MS), 0);
    assert_memory_equal(f->log, "XxBbCcAa", 8);
    assert_false(pthread_equal(f->thread_of['a'], t.id));
    assert_false(pthread_equal(f->thread_of['a'], pthread_self()));
}

/* An idle link (its RX thread waiting on the transport) is never driven:
 * the drive returns 0 at once without polling, and the RX thread delivers. */
static void test_drive_leaves_idle_link(void **state)
{
    struct fx *f = *state;
    /* Let the RX thread reach its wait (its first round finds nothing). */
    uint64_t until = rpmsg_time_ms() + TU_TIMEOUT_MS;
    while (__atomic_load_n(&f->st.dev.rx_state, __ATOMIC_SEQ_CST) != 0 && rpmsg_time_ms() < until)
        usleep(1000);
    usleep(20000);
    assert_int_equal(rpmsg_drive(&f->st.dev, rpmsg_deadline(TU_TIMEOUT_MS), never, NULL), 0);
    rpmsg_mutex_lock(&f->st.lock);
    unsigned polls = f->st.polls;
    rpmsg_mutex_unlock(&f->st.lock);
    assert_int_equal(polls, 0);
    inject(&f->st, 'a');
    assert_int_equal(tu_event_wait(&f->ran, 1, TU_TIMEOUT_MS), 0);
    assert_false(pthread_equal(f->thread_of['a'], pthread_self()));
    assert_int_equal(rpmsg_drive(NULL, 0, never, NULL), -EINVAL);
    assert_int_equal(rpmsg_drive(&f->st.dev, 0, NULL, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_thread_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_thread_waits_for_its_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_runs_on_turn_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drive_takes_busy_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drive_leaves_idle_link, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
