/*
 * A link coming up publishes what it learnt (the remote cpu name, the
 * features) before anyone can see it up. rpmsg_register_callback() replays
 * links already up from the registering thread, so a device_created there
 * may run while the link's own thread is still inside link_up, announcing
 * endpoints; what that callback reads of the device must be the finished
 * writes. Under TSan a missing happens-before is reported (this failed with
 * the flag stored relaxed: nuttx_test_nuttx_peer read rpmsg_get_cpuname()
 * after rpmsg_link_wait_up() and TSan flagged the race, 2 of 33 runs).
 *
 * The transport is a stub whose send() parks the link_up thread in the
 * name-service announcement; the test learns that it is parked through a
 * relaxed flag, which orders nothing, so only the core's own publication
 * can order the name for the reader.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct stub {
    struct rpmsg_device dev;
    uint8_t buf[512];
    int parked;             /* relaxed: in send(), waiting for go */
    struct tu_event go;     /* the test lets send() return */
};

static void *st_get_tx(struct rpmsg_device *rdev, uint32_t *size)
{
    struct stub *s = rdev->transport;
    *size = sizeof(s->buf);
    return s->buf;
}

static int st_send(struct rpmsg_device *rdev, void *buf, uint32_t len)
{
    (void)buf, (void)len;
    struct stub *s = rdev->transport;
    __atomic_store_n(&s->parked, 1, __ATOMIC_RELAXED);
    tu_event_wait(&s->go, 1, TU_TIMEOUT_MS);
    return 0;
}

static const struct rpmsg_transport_ops stub_ops = {
    .get_tx_buffer = st_get_tx,
    .send = st_send,
    .release_tx_buffer = tu_op_release_tx_none,
    .release_rx_buffer = tu_op_release_rx_none,
    .poll = tu_op_poll_none,
    .wait = tu_op_wait_none,
    .wakeup = tu_op_wakeup_none,
};

struct seen {
    struct rpmsg_device *dev;
    char name[RPMSG_CPUNAME_SIZE];
    int calls;
};

static void on_created(struct rpmsg_device *rdev, void *priv)
{
    struct seen *w = priv;
    if (rdev != w->dev)
        return;
    const char *n = rpmsg_get_cpuname(rdev);
    strncpy(w->name, n ? n : "", sizeof(w->name) - 1);
    w->calls++;
}

/* Polled, not waited on: a wait would order the name for the reader. */
static bool parked(void *arg)
{
    struct stub *s = arg;
    return __atomic_load_n(&s->parked, __ATOMIC_RELAXED);
}

static void *bring_up(void *arg)
{
    rpmsg_device_link_up(arg, "far-cpu", RPMSG_F_NS);
    return NULL;
}

static int svc_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)data, (void)len, (void)src, (void)priv;
    return 0;
}

/* device_created replayed while link_up is still announcing sees the name. */
static void test_replay_during_link_up_sees_name(void **state)
{
    (void)state;
    struct stub *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    tu_event_init(&s->go);
    struct rpmsg_device_config cfg = { .local_cpuname = "near", .features = RPMSG_F_NS,
                                       .no_rx_thread = true };
    assert_int_equal(rpmsg_device_init(&s->dev, &stub_ops, s, &cfg), 0);
    /* Named and unbound: link_up announces it, which parks in send(). */
    struct rpmsg_endpoint ept;
    assert_int_equal(rpmsg_create_ept(&ept, &s->dev, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                      svc_cb, NULL), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bring_up, &s->dev), 0);
    assert_int_equal(tu_wait_until(parked, s, TU_TIMEOUT_MS), 0);

    struct seen w = { .dev = &s->dev };
    assert_int_equal(rpmsg_register_callback(&w, on_created, NULL, NULL, NULL), 0);
    assert_int_equal(w.calls, 1); /* replayed here, on this thread */
    assert_string_equal(w.name, "far-cpu");

    tu_event_post(&s->go);
    pthread_join(t, NULL);
    assert_int_equal(rpmsg_unregister_callback(&w, on_created, NULL, NULL, NULL), 0);
    assert_int_equal(w.calls, 1); /* link_up's own delivery found it served */
    rpmsg_destroy_ept(&ept);
    rpmsg_device_deinit(&s->dev);
    tu_event_deinit(&s->go);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_during_link_up_sees_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
