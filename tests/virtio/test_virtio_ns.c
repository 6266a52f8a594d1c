/*
 * Name service over VirtIO: two-phase binding with CREATE_ACK, first-message
 * binding with a peer without ACK, NS DESTROY, and services binding on
 * announcements.
 */
#include "vt_plat.h"

static void exchange(struct rpmsg_endpoint *a, struct tu_rec *ra, struct rpmsg_endpoint *b,
                     struct tu_rec *rb, unsigned seen_a, unsigned seen_b)
{
    assert_int_equal(rpmsg_send(a, "from-a", 6), 6);
    assert_int_equal(tu_rec_wait(rb, seen_b + 1, TU_TIMEOUT_MS), 0);
    assert_memory_equal(rb->msgs[seen_b].data, "from-a", 6);
    assert_int_equal(rb->msgs[seen_b].src, a->addr);
    assert_int_equal(rpmsg_send(b, "from-b!", 7), 7);
    assert_int_equal(tu_rec_wait(ra, seen_a + 1, TU_TIMEOUT_MS), 0);
    assert_memory_equal(ra->msgs[seen_a].data, "from-b!", 7);
    assert_int_equal(ra->msgs[seen_a].src, b->addr);
}

static void test_two_phase(void **state)
{
    (void)state;
    struct vt_pair p;
    assert_int_equal(vt_pair_open(&p, NULL), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    assert_true(vt_features(p.h) & RPMSG_F_ACK);
    struct rpmsg_endpoint he, re;
    struct tu_rec hr, rr;
    tu_rec_init(&hr);
    tu_rec_init(&rr);
    assert_int_equal(tu_ept_create(&he, p.h, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, tu_rec_cb,
                                   tu_rec_unbind_cb, &hr), 0);
    assert_int_equal(tu_ept_create(&re, p.r, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, tu_rec_cb,
                                   tu_rec_unbind_cb, &rr), 0);
    /* Both bind without any data message: announcement + CREATE_ACK. */
    assert_int_equal(tu_wait_until(tu_pred_ept_ready, &he, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until(tu_pred_ept_ready, &re, TU_TIMEOUT_MS), 0);
    assert_int_equal(he.dest_addr, re.addr);
    assert_int_equal(re.dest_addr, he.addr);
    assert_int_equal(tu_rec_count(&hr), 0);
    exchange(&he, &hr, &re, &rr, 0, 0);

    /* NS DESTROY unbinds the peer's endpoint. */
    rpmsg_destroy_ept(&re);
    assert_int_equal(tu_rec_wait_unbinds(&hr, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until(tu_pred_ept_unbound, &he, TU_TIMEOUT_MS), 0);
    rpmsg_destroy_ept(&he);
    tu_rec_deinit(&hr);
    tu_rec_deinit(&rr);
    vt_pair_close(&p);
}

static void test_first_message_binding(void **state)
{
    (void)state;
    struct vt_pair p;
    /* The host is a plain peer: NS but no ACK. */
    struct vt_opts o = { .hfeat = RPMSG_F_NS };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    assert_int_equal(vt_features(p.r), RPMSG_F_NS);
    struct rpmsg_endpoint he, re;
    struct tu_rec hr, rr;
    tu_rec_init(&hr);
    tu_rec_init(&rr);
    assert_int_equal(tu_ept_create(&he, p.h, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, tu_rec_cb,
                                   NULL, &hr), 0);
    assert_int_equal(tu_ept_create(&re, p.r, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, tu_rec_cb,
                                   NULL, &rr), 0);
    /* Each side learns the other's address from its announcement. */
    assert_int_equal(tu_wait_until(tu_pred_ept_ready, &re, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until(tu_pred_ept_ready, &he, TU_TIMEOUT_MS), 0);
    exchange(&re, &rr, &he, &hr, 0, 0);
    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);

    /* An unnamed-on-one-side pair: the host endpoint binds to the first sender. */
    assert_int_equal(tu_ept_create(&he, p.h, NULL, 0x500, RPMSG_ADDR_ANY, tu_rec_cb, NULL, &hr), 0);
    assert_int_equal(tu_ept_create(&re, p.r, NULL, 0x501, 0x500, tu_rec_cb, NULL, &rr), 0);
    assert_false(rpmsg_is_ept_ready(&he));
    assert_int_equal(rpmsg_send(&re, "first", 5), 5);
    assert_int_equal(tu_rec_wait(&hr, 2, TU_TIMEOUT_MS), 0);
    assert_true(rpmsg_is_ept_ready(&he));
    assert_int_equal(he.dest_addr, 0x501);
    assert_int_equal(rpmsg_send(&he, "reply", 5), 5);
    assert_int_equal(tu_rec_wait(&rr, 2, TU_TIMEOUT_MS), 0);
    assert_memory_equal(rr.msgs[1].data, "reply", 5);
    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    tu_rec_deinit(&hr);
    tu_rec_deinit(&rr);
    vt_pair_close(&p);
}

/* A service on the remote binds the host's announcement (OpenAMP demo style). */
struct svc {
    struct rpmsg_endpoint ept;
    struct tu_rec rec;
    struct tu_event bound;
};

static bool svc_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)rdev;
    (void)priv;
    (void)dest;
    return !strcmp(name, "rpmsg-openamp-demo-channel");
}

static void svc_bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    struct svc *s = priv;
    TU_CHECK(tu_ept_create(&s->ept, rdev, name, RPMSG_ADDR_ANY, dest, tu_rec_cb, NULL,
                           &s->rec) == 0);
    tu_event_post(&s->bound);
}

static void test_service_bind_legacy(void **state)
{
    (void)state;
    struct vt_pair p;
    struct vt_opts o = {
        .openamp = true, .legacy_host = true, .legacy_remote = true,
        .hfeat = RPMSG_F_NS, .rfeat = RPMSG_F_NS,
    };
    struct svc s;
    memset(&s, 0, sizeof(s));
    tu_rec_init(&s.rec);
    tu_event_init(&s.bound);
    assert_int_equal(rpmsg_register_callback(&s, NULL, NULL, svc_match, svc_bind), 0);
    assert_int_equal(vt_pair_open(&p, &o), 0);
    struct rpmsg_endpoint he;
    struct tu_rec hr;
    tu_rec_init(&hr);
    assert_int_equal(tu_ept_create(&he, p.h, "rpmsg-openamp-demo-channel", 0x400,
                                   RPMSG_ADDR_ANY, tu_rec_cb, NULL, &hr), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    assert_int_equal(tu_event_wait(&s.bound, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(s.ept.dest_addr, 0x400);
    /* first message binds the host endpoint (no ACK) */
    assert_int_equal(rpmsg_send(&s.ept, "hi", 2), 2);
    assert_int_equal(tu_rec_wait(&hr, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(he.dest_addr, s.ept.addr);
    assert_int_equal(rpmsg_send(&he, "yo", 2), 2);
    assert_int_equal(tu_rec_wait(&s.rec, 1, TU_TIMEOUT_MS), 0);
    TU_ASSERT_NO_THREAD_FAILURES();
    rpmsg_destroy_ept(&s.ept);
    rpmsg_destroy_ept(&he);
    vt_pair_close(&p);
    assert_int_equal(rpmsg_unregister_callback(&s, NULL, NULL, svc_match, svc_bind), 0);
    tu_rec_deinit(&hr);
    tu_rec_deinit(&s.rec);
    tu_event_deinit(&s.bound);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_phase),
        cmocka_unit_test(test_first_message_binding),
        cmocka_unit_test(test_service_bind_legacy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
