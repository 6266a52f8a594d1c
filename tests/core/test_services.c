/*
 * Services (rpmsg_register_callback): device_created / device_destroyed for
 * links coming and going (and replayed for links already up), ns_match /
 * ns_bind for announcements no endpoint waits for (and replayed for those
 * that arrived before registration), unregistration, link down / up.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define NSVC (RPMSG_SERVICE_MAX + 1)

struct fx;

struct svc {
    struct fx *f;
    const char *want;   /* ns_match accepts this name (NULL: nothing) */
    bool create_in_bind; /* ns_bind creates f->bound[idx] with dst = dest */
    int idx;
    unsigned created[3], destroyed[3]; /* [0] a, [1] b, [2] any other device */
    unsigned matches, binds;
    struct rpmsg_device *bind_dev;
    char bind_name[RPMSG_NAME_SIZE];
    uint32_t bind_dest;
    int bind_create_rc;
    struct tu_event bound;
    bool registered;
    bool with_created, with_destroyed, with_match, with_bind;
};

struct fx {
    struct tu_pair p;
    struct svc s[NSVC];
    struct rpmsg_endpoint e[8];
    struct tu_rec r[8];
    struct rpmsg_endpoint bound[NSVC];
    struct tu_rec bound_rec[NSVC];
};

/* By name: callbacks may run inside rpmsg_loopback_create, before f->p is set. */
static int dev_index(struct svc *s, struct rpmsg_device *d)
{
    (void)s;
    const char *n = rpmsg_get_local_cpuname(d);
    if (n && !strcmp(n, "a"))
        return 0;
    if (n && !strcmp(n, "b"))
        return 1;
    return 2;
}

static void on_created(struct rpmsg_device *rdev, void *priv)
{
    struct svc *s = priv;
    TU_CHECK(rdev != NULL);
    TU_CHECK(rpmsg_device_is_up(rdev));
    s->created[dev_index(s, rdev)]++;
}

static void on_destroyed(struct rpmsg_device *rdev, void *priv)
{
    struct svc *s = priv;
    TU_CHECK(rdev != NULL);
    s->destroyed[dev_index(s, rdev)]++;
}

static bool on_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    struct svc *s = priv;
    (void)rdev;
    (void)dest;
    s->matches++;
    return s->want && strcmp(name, s->want) == 0;
}

static void on_bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    struct svc *s = priv;
    s->binds++;
    s->bind_dev = rdev;
    strncpy(s->bind_name, name, RPMSG_NAME_SIZE - 1);
    s->bind_dest = dest;
    /* A re-announcement (after link down/up) binds again: keep the first endpoint. */
    if (s->create_in_bind && !tu_ept_registered(&s->f->bound[s->idx]))
        s->bind_create_rc = tu_ept_create(&s->f->bound[s->idx], rdev, name, RPMSG_ADDR_ANY, dest,
                                          tu_rec_cb, tu_rec_unbind_cb, &s->f->bound_rec[s->idx]);
    tu_event_post(&s->bound);
}

static int reg(struct svc *s, bool c, bool d, bool m, bool b)
{
    s->with_created = c;
    s->with_destroyed = d;
    s->with_match = m;
    s->with_bind = b;
    int rc = rpmsg_register_callback(s, c ? on_created : NULL, d ? on_destroyed : NULL,
                                     m ? on_match : NULL, b ? on_bind : NULL);
    if (rc == 0)
        s->registered = true;
    return rc;
}

static int unreg(struct svc *s)
{
    int rc = rpmsg_unregister_callback(s, s->with_created ? on_created : NULL,
                                       s->with_destroyed ? on_destroyed : NULL,
                                       s->with_match ? on_match : NULL,
                                       s->with_bind ? on_bind : NULL);
    if (rc == 0)
        s->registered = false;
    return rc;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    for (int i = 0; i < NSVC; i++) {
        f->s[i].f = f;
        f->s[i].idx = i;
        tu_event_init(&f->s[i].bound);
        tu_rec_init(&f->bound_rec[i]);
    }
    for (int i = 0; i < 8; i++)
        tu_rec_init(&f->r[i]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    /* Services are process-wide: never leave one behind for the next test. */
    for (int i = 0; i < NSVC; i++)
        if (f->s[i].registered)
            unreg(&f->s[i]);
    for (int i = 8; i-- > 0;)
        tu_ept_cleanup(&f->e[i]);
    for (int i = 0; i < NSVC; i++)
        tu_ept_cleanup(&f->bound[i]);
    tu_pair_close(&f->p);
    for (int i = 0; i < NSVC; i++) {
        tu_event_deinit(&f->s[i].bound);
        tu_rec_deinit(&f->bound_rec[i]);
    }
    for (int i = 0; i < 8; i++)
        tu_rec_deinit(&f->r[i]);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static void open_polled(struct fx *f)
{
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = true;
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);
}

static int mk(struct fx *f, int i, struct rpmsg_device *d, const char *name, uint32_t src,
              uint32_t dst)
{
    return tu_ept_create(&f->e[i], d, name, src, dst, tu_rec_cb, tu_rec_unbind_cb, &f->r[i]);
}

static void assert_counts(struct svc *s, unsigned ca, unsigned cb, unsigned da, unsigned db)
{
    assert_int_equal(s->created[0], ca);
    assert_int_equal(s->created[1], cb);
    assert_int_equal(s->destroyed[0], da);
    assert_int_equal(s->destroyed[1], db);
    assert_int_equal(s->created[2], 0);
    assert_int_equal(s->destroyed[2], 0);
}

static void test_register_errors(void **state)
{
    struct fx *f = *state;
    open_polled(f);
    struct svc *s = &f->s[0];

    assert_int_equal(rpmsg_register_callback(s, NULL, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(reg(s, true, true, false, false), 0);
    assert_int_equal(rpmsg_register_callback(s, on_created, on_destroyed, NULL, NULL), -EEXIST);
    /* Same priv, another set of callbacks: a different service. */
    assert_int_equal(reg(&f->s[1], true, false, false, false), 0);
    f->s[1].registered = false;
    assert_int_equal(rpmsg_unregister_callback(&f->s[1], on_created, NULL, NULL, NULL), 0);
    assert_true(rpmsg_unregister_callback(&f->s[1], on_created, NULL, NULL, NULL) < 0);
    assert_true(rpmsg_unregister_callback(s, on_created, NULL, NULL, NULL) < 0);
    assert_int_equal(unreg(s), 0);
    assert_true(rpmsg_unregister_callback(s, on_created, on_destroyed, NULL, NULL) < 0);
}

static void test_table_full(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < RPMSG_SERVICE_MAX; i++)
        assert_int_equal(reg(&f->s[i], false, false, true, false), 0);
    assert_int_equal(reg(&f->s[RPMSG_SERVICE_MAX], false, false, true, false), -ENOMEM);
    assert_int_equal(unreg(&f->s[3]), 0);
    assert_int_equal(reg(&f->s[RPMSG_SERVICE_MAX], false, false, true, false), 0);
    for (int i = 0; i < NSVC; i++)
        if (f->s[i].registered)
            assert_int_equal(unreg(&f->s[i]), 0);
}

static void test_created_replayed_for_links_up(void **state)
{
    struct fx *f = *state;
    open_polled(f);
    struct svc *s = &f->s[0];

    assert_int_equal(reg(s, true, true, false, false), 0);
    assert_counts(s, 1, 1, 0, 0);
    assert_int_equal(unreg(s), 0);
    assert_counts(s, 1, 1, 0, 0);
    /* Registering again replays again. */
    assert_int_equal(reg(s, true, true, false, false), 0);
    assert_counts(s, 2, 2, 0, 0);
}

static void test_created_for_new_links(void **state)
{
    struct fx *f = *state;
    struct svc *s = &f->s[0];
    assert_int_equal(reg(s, true, true, false, false), 0);
    assert_counts(s, 0, 0, 0, 0);

    open_polled(f);
    assert_counts(s, 1, 1, 0, 0);
    tu_pair_close(&f->p);
    /* The devices are gone: count by total. */
    assert_int_equal(s->created[0] + s->created[1] + s->created[2], 2);
    assert_int_equal(s->destroyed[0] + s->destroyed[1] + s->destroyed[2], 2);

    /* A pair created with the link down reports it only when it comes up. */
    memset(s->created, 0, sizeof(s->created));
    memset(s->destroyed, 0, sizeof(s->destroyed));
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = true;
    cfg.manual_link = true;
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);
    assert_counts(s, 0, 0, 0, 0);
    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_counts(s, 1, 1, 0, 0);
}

static void test_link_down_up(void **state)
{
    struct fx *f = *state;
    open_polled(f);
    struct svc *s = &f->s[0];
    assert_int_equal(reg(s, true, true, false, false), 0);

    for (unsigned i = 1; i <= 5; i++) {
        assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
        assert_false(rpmsg_device_is_up(f->p.a));
        assert_false(rpmsg_device_is_up(f->p.b));
        assert_counts(s, i, i, i, i);
        assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
        assert_true(rpmsg_device_is_up(f->p.a));
        assert_true(rpmsg_device_is_up(f->p.b));
        assert_counts(s, i + 1, i + 1, i, i);
    }
    /* Unregistered: no more calls. */
    assert_int_equal(unreg(s), 0);
    assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_counts(s, 6, 6, 5, 5);
}

/* Link down unbinds name-bound endpoints and drops pending announcements;
 * link up announces the named unbound endpoints again. */
static void test_link_down_unbinds_and_reannounces(void **state)
{
    struct fx *f = *state;
    open_polled(f);

    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 2, f->p.a, "late", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 3, f->p.a, NULL, 0x100, 0x200), 0); /* static: survives */
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 3);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);
    assert_false(rpmsg_is_ept_ready(&f->e[2])); /* "late" is pending at b */

    assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
    assert_int_equal(tu_rec_unbinds(&f->r[0]), 1);
    assert_int_equal(tu_rec_unbinds(&f->r[1]), 1);
    assert_int_equal(f->e[0].dest_addr, RPMSG_ADDR_ANY);
    assert_int_equal(f->e[1].dest_addr, RPMSG_ADDR_ANY);
    assert_int_equal(f->e[3].dest_addr, 0x200);
    assert_int_equal(tu_rec_unbinds(&f->r[3]), 0);
    /* "late" goes away while nobody can be told. */
    assert_int_equal(rpmsg_destroy_ept(&f->e[2]), 0);

    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 2);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);
    assert_int_equal(rpmsg_trysend(&f->e[0], "back", 4), 4);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    assert_int_equal(tu_rec_count(&f->r[1]), 1);

    /* The dropped announcement must not bind a newcomer. */
    assert_int_equal(mk(f, 4, f->p.b, "late", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_false(rpmsg_is_ept_ready(&f->e[4]));
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    assert_false(rpmsg_is_ept_ready(&f->e[4]));
    assert_int_equal(tu_rec_unbinds(&f->r[0]), 1);
    assert_int_equal(tu_rec_unbinds(&f->r[1]), 1);
}

static void test_ns_match_bind(void **state)
{
    struct fx *f = *state;
    open_polled(f);
    struct svc *no = &f->s[0], *yes = &f->s[1], *also = &f->s[2];
    no->want = NULL;
    yes->want = "svc-x";
    yes->create_in_bind = true;
    also->want = "svc-x";
    assert_int_equal(reg(no, false, false, true, true), 0);
    assert_int_equal(reg(yes, false, false, true, true), 0);
    assert_int_equal(reg(also, false, false, true, true), 0);

    assert_int_equal(mk(f, 0, f->p.a, "svc-x", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    assert_int_equal(no->matches, 1);
    assert_int_equal(no->binds, 0);
    assert_int_equal(yes->matches, 1);
    assert_int_equal(yes->binds, 1);
    assert_int_equal(also->binds, 0); /* only the first taker */
    assert_ptr_equal(yes->bind_dev, f->p.b);
    assert_string_equal(yes->bind_name, "svc-x");
    assert_int_equal(yes->bind_dest, f->e[0].addr);
    assert_int_equal(yes->bind_create_rc, 0);

    struct rpmsg_endpoint *srv = &f->bound[1];
    assert_int_equal(srv->dest_addr, f->e[0].addr);
    assert_int_equal(rpmsg_trysend(srv, "hello", 5), 5);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    assert_int_equal(tu_rec_count(&f->r[0]), 1);
    assert_int_equal(f->r[0].msgs[0].src, srv->addr);
    assert_int_equal(f->e[0].dest_addr, srv->addr);
    assert_int_equal(rpmsg_trysend(&f->e[0], "reply", 5), 5);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    assert_int_equal(tu_rec_count(&f->bound_rec[1]), 1);

    /* A name nobody matches is kept pending, not offered again and again. */
    assert_int_equal(mk(f, 1, f->p.a, "svc-unwanted", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    assert_int_equal(no->matches, 2);
    assert_int_equal(yes->binds, 1);
    /* A local endpoint waiting for the name takes precedence over services. */
    assert_int_equal(mk(f, 2, f->p.b, "svc-local", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    unsigned before = no->matches;
    assert_int_equal(mk(f, 3, f->p.a, "svc-local", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    assert_int_equal(no->matches, before);
    assert_int_equal(f->e[2].dest_addr, f->e[3].addr);
}

static void test_pending_replayed_at_registration(void **state)
{
    struct fx *f = *state;
    open_polled(f);

    assert_int_equal(mk(f, 0, f->p.a, "early-1", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.a, "early-2", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 2);

    struct svc *other = &f->s[0], *want2 = &f->s[1];
    other->want = "not-there";
    assert_int_equal(reg(other, false, false, true, true), 0);
    assert_int_equal(other->matches, 2);
    assert_int_equal(other->binds, 0);

    want2->want = "early-2";
    want2->create_in_bind = true;
    assert_int_equal(reg(want2, false, false, true, true), 0);
    /* Replayed during registration, on b, with the announcer's address. */
    assert_int_equal(want2->binds, 1);
    assert_ptr_equal(want2->bind_dev, f->p.b);
    assert_string_equal(want2->bind_name, "early-2");
    assert_int_equal(want2->bind_dest, f->e[1].addr);
    assert_int_equal(want2->bind_create_rc, 0);
    assert_int_equal(f->bound[1].dest_addr, f->e[1].addr);

    /* Taken: a second matching registration gets nothing. */
    f->s[2].want = "early-2";
    assert_int_equal(reg(&f->s[2], false, false, true, true), 0);
    assert_int_equal(f->s[2].binds, 0);
    /* early-1 is still pending and binds a local endpoint created now. */
    assert_int_equal(mk(f, 2, f->p.b, "early-1", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(f->e[2].dest_addr, f->e[0].addr);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    assert_int_equal(f->e[0].dest_addr, f->e[2].addr);
}

/* With RX threads: ns_bind runs on the RX thread and may create endpoints there. */
static void test_threaded_bind(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    struct svc *s = &f->s[0];
    s->want = "threaded-svc";
    s->create_in_bind = true;
    assert_int_equal(reg(s, true, true, true, true), 0);
    assert_counts(s, 1, 1, 0, 0);

    assert_int_equal(mk(f, 0, f->p.a, "threaded-svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_event_wait(&s->bound, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(s->bind_create_rc, 0);
    assert_ptr_equal(s->bind_dev, f->p.b);
    assert_int_equal(rpmsg_send(&f->bound[0], "from-service", 12), 12);
    assert_int_equal(tu_rec_wait(&f->r[0], 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(f->r[0].msgs[0].src, f->bound[0].addr);
    assert_int_equal(rpmsg_send(&f->e[0], "to-service", 10), 10);
    assert_int_equal(tu_rec_wait(&f->bound_rec[0], 1, TU_TIMEOUT_MS), 0);

    assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
    assert_counts(s, 1, 1, 1, 1);
    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_counts(s, 2, 2, 1, 1);
}

/* Unregistering waits for a callback of the service still running on an RX
 * thread, so the caller may free priv on return. */
struct slow_svc {
    struct tu_event entered, release, unregistered;
    volatile bool cb_done;
};

static bool slow_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)rdev, (void)priv, (void)dest;
    return !strcmp(name, "slow-svc");
}

static void slow_bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)rdev, (void)name, (void)dest;
    struct slow_svc *s = priv;
    tu_event_post(&s->entered);
    TU_CHECK(tu_event_wait(&s->release, 1, TU_TIMEOUT_MS) == 0);
    /* The unregistering thread must still be waiting for us. */
    TU_CHECK(tu_event_count(&s->unregistered) == 0);
    s->cb_done = true;
}

static void *unregister_thread(void *arg)
{
    struct slow_svc *s = arg;
    TU_CHECK(rpmsg_unregister_callback(s, NULL, NULL, slow_match, slow_bind) == 0);
    TU_CHECK(s->cb_done);
    tu_event_post(&s->unregistered);
    return NULL;
}

static void test_unregister_waits_for_running_callback(void **state)
{
    struct fx *f = *state;
    static struct slow_svc s;
    tu_event_init(&s.entered);
    tu_event_init(&s.release);
    tu_event_init(&s.unregistered);
    s.cb_done = false;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(rpmsg_register_callback(&s, NULL, NULL, slow_match, slow_bind), 0);
    assert_int_equal(mk(f, 0, f->p.a, "slow-svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_event_wait(&s.entered, 1, TU_TIMEOUT_MS), 0);

    struct tu_thread t;
    assert_int_equal(tu_thread_start(&t, unregister_thread, &s), 0);
    /* Give the unregistering thread every chance to return too early: it is
     * blocked until the callback is released, whatever the scheduling. */
    assert_int_equal(tu_event_wait(&s.unregistered, 1, 200), -ETIMEDOUT);
    tu_event_post(&s.release);
    assert_int_equal(tu_event_wait(&s.unregistered, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_true(s.cb_done);
    TU_ASSERT_NO_THREAD_FAILURES();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_created_replayed_for_links_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_created_for_new_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_down_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_down_unbinds_and_reannounces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ns_match_bind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_replayed_at_registration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threaded_bind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unregister_waits_for_running_callback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
