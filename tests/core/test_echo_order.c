/*
 * A callback that answers with a blocking send while its link is out of TX
 * buffers must not let later messages overtake it: the answers leave in the
 * order the requests arrived. The requester stalls now and then so the
 * answering side really runs out of buffers and waits (RPMSG_RX_STALL_MS and
 * more), which is when messages that arrive meanwhile must be set aside, not
 * dispatched ahead.
 */
#include "testutil.h"

#include <string.h>
#include <time.h>

#define N 20000u

struct order {
    uint32_t next;
    unsigned long bad, got;
    struct tu_event done;
};

static int echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    TU_CHECK(rpmsg_sendto(ept, data, len, src) == (int)len);
    return 0;
}

static int check_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)src;
    struct order *o = priv;
    uint32_t seq;
    TU_CHECK(len == sizeof(seq));
    memcpy(&seq, data, sizeof(seq));
    if (seq != o->next)
        o->bad++;
    o->next = seq + 1;
    if (seq % 2000 == 1999) {
        /* Hold our RX thread long enough for the peer's sends to stall. */
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (++o->got == N)
        tu_event_post(&o->done);
    return 0;
}

static void test_answers_keep_order(void **state)
{
    (void)state;
    struct rpmsg_loopback_config cfg = { .num_bufs = 2 };
    struct tu_pair p;
    assert_int_equal(tu_pair_open(&p, &cfg), 0);
    static struct order o;
    memset(&o, 0, sizeof(o));
    tu_event_init(&o.done);
    struct rpmsg_endpoint ea, eb;
    assert_int_equal(tu_ept_create(&eb, p.b, NULL, 0x200, 0x100, echo_cb, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&ea, p.a, NULL, 0x100, 0x200, check_cb, NULL, &o), 0);
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(rpmsg_send(&ea, &i, sizeof(i)), (int)sizeof(i));
    assert_int_equal(tu_event_wait(&o.done, 1, 60000), 0);
    assert_int_equal(o.got, N);
    assert_int_equal(o.bad, 0);
    assert_int_equal(o.next, N);
    TU_ASSERT_NO_THREAD_FAILURES();
    rpmsg_destroy_ept(&ea);
    rpmsg_destroy_ept(&eb);
    tu_pair_close(&p);
    tu_event_deinit(&o.done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_keep_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
