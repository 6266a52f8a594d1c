/*
 * Waiting inside callbacks: rpmsg_wait() on the RX thread keeps dispatching
 * the link (nested, in order) until posted; timeouts; the nesting bound; both
 * sides waiting on each other at once with very few buffers, for many rounds;
 * both RX threads blocked sending to each other.
 *
 * Callbacks log 'X' when they start and 'x' when they end, so the exact
 * interleaving of nested dispatch can be asserted.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGMAX 16384

/* One side of a conversation: its endpoint, semaphore and callback log. */
struct side {
    struct fx *f;
    struct rpmsg_endpoint *ept;
    struct rpmsg_sem sem;
    char log[LOGMAX];
    unsigned nlog;
    int depth, max_depth;
    int wait_rc[64];
    unsigned nwait;
    struct tu_event done;    /* a top-level unit of work finished */
    struct tu_event started; /* a callback started */
    struct tu_event ended;   /* a callback ended (its log entries are written) */
    bool have_q, have_a;     /* deferred answering: what the last posts were for */
    uint32_t q_src;
    uint32_t sink_next;      /* storm: next expected sequence number */
    uint32_t sink_errors;
};

struct fx {
    struct tu_pair p;
    struct rpmsg_endpoint ma, mb, ka, kb, park;
    struct side sa, sb;
    struct tu_gate gate;
    struct tu_barrier barrier;
    struct rpmsg_sem sems[64];
    uint32_t wait_timeout_ms;
    unsigned storm_burst;
    bool deferred; /* both_cb: answer requests from the waiting callback */
};

static void logc(struct side *s, char c)
{
    if (s->nlog < LOGMAX - 1)
        s->log[s->nlog++] = c;
}

static void enter(struct side *s, char c)
{
    logc(s, c);
    if (++s->depth > s->max_depth)
        s->max_depth = s->depth;
    tu_event_post(&s->started);
}

static void leave(struct side *s, char c)
{
    logc(s, c);
    s->depth--;
    tu_event_post(&s->ended);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    struct side *sides[2] = {&f->sa, &f->sb};
    for (int i = 0; i < 2; i++) {
        sides[i]->f = f;
        rpmsg_sem_init(&sides[i]->sem, 0);
        tu_event_init(&sides[i]->done);
        tu_event_init(&sides[i]->started);
        tu_event_init(&sides[i]->ended);
    }
    f->sa.ept = &f->ma;
    f->sb.ept = &f->mb;
    for (int i = 0; i < 64; i++)
        rpmsg_sem_init(&f->sems[i], 0);
    tu_gate_init(&f->gate);
    tu_barrier_init(&f->barrier, 2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_gate_open(&f->gate);
    /* Unblock any callback still waiting so that destroy can complete. */
    for (int i = 0; i < 64; i++)
        rpmsg_post(NULL, &f->sems[i]);
    rpmsg_post(&f->ma, &f->sa.sem);
    rpmsg_post(&f->mb, &f->sb.sem);
    struct rpmsg_endpoint *all[] = {&f->park, &f->kb, &f->ka, &f->mb, &f->ma};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        tu_ept_cleanup(all[i]);
    tu_pair_close(&f->p);
    struct side *sides[2] = {&f->sa, &f->sb};
    for (int i = 0; i < 2; i++) {
        rpmsg_sem_deinit(&sides[i]->sem);
        tu_event_deinit(&sides[i]->done);
        tu_event_deinit(&sides[i]->started);
        tu_event_deinit(&sides[i]->ended);
    }
    for (int i = 0; i < 64; i++)
        rpmsg_sem_deinit(&f->sems[i]);
    tu_gate_deinit(&f->gate);
    tu_barrier_deinit(&f->barrier);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

/* ---- A callback that asks and waits for the answer ----------------------- */

/*
 * 'T' trigger: send 'Q' to the peer, wait for the answer.
 * 'Q' request: answer 'A' to its source.
 * 'A' answer: post the waiter.
 * 'X' extra: nothing, logged only.
 */
static int client_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct side *s = priv;
    struct fx *f = s->f;
    char type = len ? ((const char *)data)[0] : '?';
    enter(s, type);
    switch (type) {
    case 'T': {
        TU_CHECK(rpmsg_send(ept, "Q", 1) == 1);
        int rc = f->wait_timeout_ms ? rpmsg_wait_timeout(ept, &s->sem, f->wait_timeout_ms)
                                    : rpmsg_wait(ept, &s->sem);
        if (s->nwait < 64)
            s->wait_rc[s->nwait++] = rc;
        break;
    }
    case 'Q':
        TU_CHECK(rpmsg_sendto(ept, "A", 1, src) == 1);
        break;
    case 'A':
        TU_CHECK(rpmsg_post(ept, &s->sem) == 0);
        break;
    default:
        break;
    }
    leave(s, (char)(type | 0x20));
    if (type == 'T')
        tu_event_post(&s->done);
    return 0;
}

static void open_static(struct fx *f, const struct rpmsg_loopback_config *cfg, rpmsg_ept_cb cb)
{
    assert_int_equal(tu_pair_open(&f->p, cfg), 0);
    assert_int_equal(tu_ept_create(&f->ma, f->p.a, NULL, 0x100, 0x200, cb, NULL, &f->sa), 0);
    assert_int_equal(tu_ept_create(&f->mb, f->p.b, NULL, 0x200, 0x100, cb, NULL, &f->sb), 0);
}

static void test_wait_for_reply_in_callback(void **state)
{
    struct fx *f = *state;
    open_static(f, NULL, client_cb);

    const unsigned rounds = 200;
    for (unsigned i = 0; i < rounds; i++) {
        assert_int_equal(rpmsg_send(&f->mb, "T", 1), 1);
        assert_int_equal(tu_event_wait(&f->sa.done, i + 1, TU_TIMEOUT_MS), 0);
    }
    /* The answer was dispatched inside the waiting callback, in order. */
    char expect[4 * 200 + 1];
    for (unsigned i = 0; i < rounds; i++)
        memcpy(expect + 4 * i, "TAat", 4);
    expect[4 * rounds] = '\0';
    f->sa.log[f->sa.nlog] = '\0';
    assert_string_equal(f->sa.log, expect);
    assert_int_equal(f->sa.max_depth, 2);
    assert_int_equal(f->sa.nwait, 64); /* capped record */
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(f->sa.wait_rc[i], 0);
}

/* Parks a's RX thread so that the next messages queue up behind it. */
static int park_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct fx *f = priv;
    enter(&f->sa, 'P');
    tu_gate_cb(ept, data, len, src, &f->gate);
    leave(&f->sa, 'p');
    return 0;
}

/* wait_timeout on the RX thread: later messages are still dispatched, then -ETIMEDOUT. */
static void test_wait_timeout_on_rx_thread(void **state)
{
    struct fx *f = *state;
    open_static(f, NULL, client_cb);
    assert_int_equal(tu_ept_create(&f->park, f->p.a, NULL, 0x101, RPMSG_ADDR_ANY, park_cb, NULL, f),
                     0);
    /* b answers nothing: its endpoint is gone. */
    assert_int_equal(rpmsg_destroy_ept(&f->mb), 0);
    assert_int_equal(tu_ept_create(&f->kb, f->p.b, NULL, 0x201, RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    /* X is queued before T's wait begins, but the wait looks at its
     * deadline before its first poll: at 50 ms an RX thread descheduled in
     * between (TSan, a loaded machine) would time out with X undelivered. */
    f->wait_timeout_ms = 1000;

    assert_int_equal(rpmsg_sendto(&f->kb, "P", 1, 0x101), 1);
    assert_int_equal(tu_event_wait(&f->gate.entered, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_sendto(&f->kb, "T", 1, 0x100), 1);
    assert_int_equal(rpmsg_sendto(&f->kb, "X", 1, 0x100), 1);
    tu_gate_open(&f->gate);
    assert_int_equal(tu_event_wait(&f->sa.done, 1, TU_TIMEOUT_MS), 0);

    f->sa.log[f->sa.nlog] = '\0';
    assert_string_equal(f->sa.log, "PpTXxt");
    assert_int_equal(f->sa.nwait, 1);
    assert_int_equal(f->sa.wait_rc[0], -ETIMEDOUT);
}

/* Off the RX thread rpmsg_wait simply sleeps until posted. */
static void test_wait_off_rx_thread(void **state)
{
    struct fx *f = *state;
    open_static(f, NULL, client_cb);

    for (int i = 0; i < 20; i++) {
        assert_int_equal(rpmsg_send(&f->ma, "Q", 1), 1);
        assert_int_equal(rpmsg_wait(&f->ma, &f->sa.sem), 0);
    }
    /* The post comes from inside the callback: let it finish logging. */
    assert_int_equal(tu_event_wait(&f->sa.ended, 20, TU_TIMEOUT_MS), 0);
    f->sa.log[f->sa.nlog] = '\0';
    assert_int_equal(f->sa.nlog, 40);
    for (int i = 0; i < 20; i++)
        assert_memory_equal(f->sa.log + 2 * i, "Aa", 2);

    assert_int_equal(rpmsg_wait_timeout(&f->ma, &f->sa.sem, 20), -ETIMEDOUT);
    assert_int_equal(rpmsg_wait_timeout(NULL, &f->sa.sem, 20), -ETIMEDOUT);
    /* Posts count. */
    assert_int_equal(rpmsg_post(&f->ma, &f->sa.sem), 0);
    assert_int_equal(rpmsg_post(NULL, &f->sa.sem), 0);
    assert_int_equal(rpmsg_wait(&f->ma, &f->sa.sem), 0);
    assert_int_equal(rpmsg_wait_timeout(&f->ma, &f->sa.sem, 0), 0);
    assert_int_equal(rpmsg_wait_timeout(&f->ma, &f->sa.sem, 0), -ETIMEDOUT);
    assert_int_equal(rpmsg_wait(&f->ma, NULL), -EINVAL);
    assert_int_equal(rpmsg_post(&f->ma, NULL), -EINVAL);
}

/* ---- The nesting bound ----------------------------------------------------- */

/* Every message waits on its own semaphore. */
static int nest_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct side *s = priv;
    struct fx *f = s->f;
    (void)src;
    unsigned idx = len ? ((const uint8_t *)data)[0] : 0;
    enter(s, (char)('A' + idx));
    int rc = -1;
    if (idx < 64)
        rc = rpmsg_wait_timeout(ept, &f->sems[idx], 3 * TU_TIMEOUT_MS);
    if (idx < 64)
        s->wait_rc[idx] = rc;
    leave(s, (char)('a' + idx));
    tu_event_post(&s->done);
    return 0;
}

static void test_nesting_limit(void **state)
{
    struct fx *f = *state;
    open_static(f, NULL, nest_cb);
    enum { M = RPMSG_NEST_MAX + 3 };
    /* With N frames allowed on the RX stack, the N-th callback cannot wait any more. */
    const unsigned waiters = RPMSG_NEST_MAX - 1;

    for (uint8_t i = 0; i < M; i++)
        assert_int_equal(rpmsg_send(&f->mb, &i, 1), 1);
    assert_int_equal(tu_event_wait(&f->sa.started, M, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_event_wait(&f->sa.done, M - waiters, TU_TIMEOUT_MS), 0);
    for (unsigned i = 0; i < waiters; i++)
        assert_int_equal(rpmsg_post(&f->ma, &f->sems[i]), 0);
    assert_int_equal(tu_event_wait(&f->sa.done, M, TU_TIMEOUT_MS), 0);

    assert_int_equal(f->sa.max_depth, RPMSG_NEST_MAX);
    for (unsigned i = 0; i < M; i++)
        assert_int_equal(f->sa.wait_rc[i], i < waiters ? 0 : -EDEADLK);
    /* Starts in arrival order; the refused ones end at once; the waiters unwind innermost first. */
    char expect[4 * M + 1];
    unsigned n = 0;
    for (unsigned i = 0; i < waiters; i++)
        expect[n++] = (char)('A' + i);
    for (unsigned i = waiters; i < M; i++) {
        expect[n++] = (char)('A' + i);
        expect[n++] = (char)('a' + i);
    }
    for (unsigned i = waiters; i-- > 0;)
        expect[n++] = (char)('a' + i);
    expect[n] = '\0';
    f->sa.log[f->sa.nlog] = '\0';
    assert_string_equal(f->sa.log, expect);
}

/* ---- Both sides waiting on each other at once -------------------------------- */

/*
 * 'K' kick (from the main thread): meet the peer's kick callback, send 'Q',
 *     wait for 'A'. Both RX threads are then inside a waiting callback.
 * 'Q' request: answer 'A'.  'A' answer: post.
 */
static int both_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct side *s = priv;
    struct fx *f = s->f;
    char type = len ? ((const char *)data)[0] : '?';
    enter(s, type);
    switch (type) {
    case 'K':
        TU_CHECK(tu_barrier_wait(&f->barrier, TU_TIMEOUT_MS) == 0);
        TU_CHECK(rpmsg_send(ept, "Q", 1) == 1);
        if (!f->deferred) {
            TU_CHECK(rpmsg_wait(ept, &s->sem) == 0);
            break;
        }
        /* Woken for the peer's request (answer it from here) and for the answer. */
        for (bool answered = false, got = false; !answered || !got;) {
            if (rpmsg_wait_timeout(ept, &s->sem, TU_TIMEOUT_MS) != 0) {
                TU_CHECK(!"deferred wait timed out");
                break;
            }
            if (s->have_q && !answered) {
                s->have_q = false;
                answered = true;
                TU_CHECK(rpmsg_sendto(ept, "A", 1, s->q_src) == 1);
            }
            if (s->have_a) {
                s->have_a = false;
                got = true;
            }
        }
        break;
    case 'Q':
        if (f->deferred) {
            s->q_src = src;
            s->have_q = true;
            TU_CHECK(rpmsg_post(ept, &s->sem) == 0);
        } else {
            TU_CHECK(rpmsg_sendto(ept, "A", 1, src) == 1);
        }
        break;
    case 'A':
        s->have_a = true;
        TU_CHECK(rpmsg_post(ept, &s->sem) == 0);
        break;
    default:
        TU_CHECK(!"unexpected message");
        break;
    }
    leave(s, (char)(type | 0x20));
    if (type == 'K')
        tu_event_post(&s->done);
    return 0;
}

/*
 * When the request handler answers at once, three buffers per direction is
 * the fewest this exchange can live with: a waiting callback keeps its kick's
 * buffer, the peer's request occupies a second until its handler returns, and
 * that handler's answer needs a third. (Deferred answering needs only two.)
 */
static void both_sides_wait(struct fx *f, uint32_t nbufs, unsigned rounds)
{
    struct rpmsg_loopback_config cfg = {0};
    cfg.num_bufs = nbufs;
    open_static(f, &cfg, both_cb);
    assert_int_equal(tu_ept_create(&f->ka, f->p.a, NULL, 0x110, 0x200, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&f->kb, f->p.b, NULL, 0x210, 0x100, NULL, NULL, NULL), 0);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_set_send_timeout(f->p.b, TU_TIMEOUT_MS), 0);

    for (unsigned i = 0; i < rounds; i++) {
        if (i & 1) {
            assert_int_equal(rpmsg_send(&f->ka, "K", 1), 1);
            assert_int_equal(rpmsg_send(&f->kb, "K", 1), 1);
        } else {
            assert_int_equal(rpmsg_send(&f->kb, "K", 1), 1);
            assert_int_equal(rpmsg_send(&f->ka, "K", 1), 1);
        }
        if (tu_event_wait(&f->sa.done, i + 1, TU_TIMEOUT_MS) < 0 ||
            tu_event_wait(&f->sb.done, i + 1, TU_TIMEOUT_MS) < 0) {
            print_error("round %u did not complete\n", i);
            fail();
        }
        TU_ASSERT_NO_THREAD_FAILURES();
    }
    struct side *sides[2] = {&f->sa, &f->sb};
    for (int k = 0; k < 2; k++) {
        struct side *s = sides[k];
        assert_int_equal(s->nlog, 6 * rounds);
        for (unsigned i = 0; i < rounds; i++) {
            if (memcmp(s->log + 6 * i, "KQqAak", 6) != 0) {
                print_error("side %c round %u: %.6s\n", 'a' + k, i, s->log + 6 * i);
                fail();
            }
        }
        assert_int_equal(s->max_depth, 2);
    }
}

static void test_both_sides_wait_at_once(void **state)
{
    both_sides_wait(*state, 3, 1000);
}

/*
 * Two buffers a direction: the request handler only notes the request and
 * posts; the waiting callback answers it from its own level, then waits on.
 */
static void test_both_sides_wait_two_buffers(void **state)
{
    struct fx *f = *state;
    f->deferred = true;
    both_sides_wait(f, 2, 1000);
}

/* ---- Both RX threads blocked sending to each other ----------------------------- */

/*
 * 'T' (from the main thread): meet the peer's 'T' callback, then send a burst
 * of 'S' messages to the peer. With two buffers a direction the burst blocks
 * until the peer, itself blocked in the same way, consumes; only dispatching
 * while blocked lets both finish.
 */
static int storm_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct side *s = priv;
    struct fx *f = s->f;
    (void)src;
    char type = len ? ((const char *)data)[0] : '?';
    enter(s, type);
    if (type == 'T') {
        TU_CHECK(tu_barrier_wait(&f->barrier, TU_TIMEOUT_MS) == 0);
        static __thread uint32_t seq_out; /* per RX thread: one per side */
        for (unsigned i = 0; i < f->storm_burst; i++) {
            uint8_t msg[5] = {'S'};
            memcpy(msg + 1, &seq_out, 4);
            TU_CHECK(rpmsg_send(ept, msg, sizeof(msg)) == (int)sizeof(msg));
            seq_out++;
        }
    } else if (type == 'S' && len == 5) {
        uint32_t seq;
        memcpy(&seq, (const uint8_t *)data + 1, 4);
        if (seq != s->sink_next)
            s->sink_errors++;
        s->sink_next = seq + 1;
    } else {
        TU_CHECK(!"unexpected message");
    }
    leave(s, (char)(type | 0x20));
    if (type == 'S')
        tu_event_post(&s->done);
    return 0;
}

static void test_both_sides_blocked_sending(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.num_bufs = 2;
    open_static(f, &cfg, storm_cb);
    assert_int_equal(tu_ept_create(&f->ka, f->p.a, NULL, 0x110, 0x200, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&f->kb, f->p.b, NULL, 0x210, 0x100, NULL, NULL, NULL), 0);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_set_send_timeout(f->p.b, TU_TIMEOUT_MS), 0);
    f->storm_burst = 6;

    const unsigned rounds = 150;
    for (unsigned i = 0; i < rounds; i++) {
        unsigned start_a = f->sa.nlog, start_b = f->sb.nlog;
        assert_int_equal(rpmsg_send(&f->kb, "T", 1), 1);
        assert_int_equal(rpmsg_send(&f->ka, "T", 1), 1);
        unsigned long want = (unsigned long)(i + 1) * f->storm_burst;
        if (tu_event_wait(&f->sa.done, want, TU_TIMEOUT_MS) < 0 ||
            tu_event_wait(&f->sb.done, want, TU_TIMEOUT_MS) < 0) {
            print_error("round %u did not complete\n", i);
            fail();
        }
        /* Wait for the 'T' callbacks to return too, then check the start order. */
        struct side *sides[2] = {&f->sa, &f->sb};
        unsigned starts[2] = {start_a, start_b};
        for (int k = 0; k < 2; k++) {
            struct side *s = sides[k];
            assert_int_equal(tu_wait_until_free_tx(f->p.lb, k ? f->p.a : f->p.b, 2, TU_TIMEOUT_MS),
                             0);
            char order[64];
            unsigned n = 0;
            for (unsigned j = starts[k]; j < s->nlog && n < sizeof(order) - 1; j++)
                if (s->log[j] == 'T' || s->log[j] == 'S')
                    order[n++] = s->log[j];
            order[n] = '\0';
            assert_string_equal(order, "TSSSSSS");
        }
        TU_ASSERT_NO_THREAD_FAILURES();
    }
    assert_int_equal(f->sa.sink_errors, 0);
    assert_int_equal(f->sb.sink_errors, 0);
    assert_int_equal(f->sa.sink_next, rounds * f->storm_burst);
    assert_int_equal(f->sb.sink_next, rounds * f->storm_burst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wait_for_reply_in_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_timeout_on_rx_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_off_rx_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nesting_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_sides_wait_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_sides_wait_two_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_sides_blocked_sending, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
