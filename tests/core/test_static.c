/*
 * Address-based channels (the seed's static case) and learning the peer's
 * address from the first message when created with dst ANY.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define NE 8

struct fx {
    struct tu_pair p;
    struct rpmsg_endpoint e[NE];
    struct tu_rec r[NE];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    for (int i = 0; i < NE; i++)
        tu_rec_init(&f->r[i]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = NE; i-- > 0;)
        tu_ept_cleanup(&f->e[i]);
    tu_pair_close(&f->p);
    for (int i = 0; i < NE; i++)
        tu_rec_deinit(&f->r[i]);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static int mk(struct fx *f, int i, struct rpmsg_device *d, const char *name, uint32_t src,
              uint32_t dst)
{
    return tu_ept_create(&f->e[i], d, name, src, dst, tu_rec_cb, tu_rec_unbind_cb, &f->r[i]);
}

static void check_msg(struct tu_rec *r, unsigned idx, uint32_t src, const char *text)
{
    size_t len = strlen(text);
    assert_true(tu_rec_count(r) > idx);
    assert_int_equal(r->msgs[idx].src, src);
    assert_int_equal(r->msgs[idx].len, len);
    assert_memory_equal(r->msgs[idx].data, text, len);
}

/* The seed's direct connection: src=0x100 dst=0x200 <-> src=0x200 dst=0x100. */
static void test_seed_static_pair(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);

    assert_int_equal(mk(f, 0, f->p.a, "svc", 0x100, 0x200), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc", 0x200, 0x100), 0);
    assert_true(rpmsg_is_ept_ready(&f->e[0]));
    assert_true(rpmsg_is_ept_ready(&f->e[1]));
    assert_int_equal(f->e[0].addr, 0x100);
    assert_int_equal(f->e[0].dest_addr, 0x200);

    assert_int_equal(rpmsg_send(&f->e[0], "to b", 4), 4);
    assert_int_equal(rpmsg_send(&f->e[1], "to a!", 5), 5);
    assert_int_equal(tu_rec_wait(&f->r[1], 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_wait(&f->r[0], 1, TU_TIMEOUT_MS), 0);
    check_msg(&f->r[1], 0, 0x100, "to b");
    check_msg(&f->r[0], 0, 0x200, "to a!");

    /* Many messages, both ways, in order. */
    for (unsigned i = 0; i < 200; i++) {
        uint32_t v = i;
        assert_int_equal(rpmsg_send(&f->e[0], &v, sizeof(v)), (int)sizeof(v));
        assert_int_equal(rpmsg_send(&f->e[1], &v, sizeof(v)), (int)sizeof(v));
    }
    assert_int_equal(tu_rec_wait(&f->r[1], 201, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_wait(&f->r[0], 201, TU_TIMEOUT_MS), 0);
    for (unsigned i = 0; i < 200; i++) {
        uint32_t v;
        memcpy(&v, f->r[1].msgs[1 + i].data, sizeof(v));
        assert_int_equal(v, i);
        memcpy(&v, f->r[0].msgs[1 + i].data, sizeof(v));
        assert_int_equal(v, i);
    }
    assert_int_equal(tu_rec_count(&f->r[0]), 201);
    assert_int_equal(tu_rec_count(&f->r[1]), 201);
    assert_int_equal(f->r[0].overlaps, 0);
    assert_int_equal(f->r[1].overlaps, 0);

    /* Static endpoints are not announced, so destroying one tells nobody. */
    assert_int_equal(rpmsg_destroy_ept(&f->e[0]), 0);
    assert_int_equal(rpmsg_send(&f->e[1], "gone", 4), 4); /* dropped at b's peer */
    assert_int_equal(tu_wait_stat(f->p.a, TU_STAT(drop_unknown_dst), 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_stat(f->p.a, TU_STAT(drop_unknown_dst)), 1);
    assert_int_equal(f->e[1].dest_addr, 0x100);
    assert_int_equal(tu_rec_unbinds(&f->r[1]), 0);
}

/* Unnamed static endpoints cause no name-service traffic at all. */
static void test_static_sends_no_ns(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = true;
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);

    assert_int_equal(mk(f, 0, f->p.a, NULL, 0x100, 0x200), 0);
    assert_int_equal(mk(f, 1, f->p.b, NULL, 0x200, 0x100), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 0);
    assert_int_equal(rpmsg_destroy_ept(&f->e[0]), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 0);
    struct rpmsg_stats st = tu_stats(f->p.a);
    assert_int_equal(st.tx_msgs, 0);
}

/* Named static endpoints: whatever the name service says, the static binding holds. */
static void test_named_static_binding_holds(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = true;
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);

    assert_int_equal(mk(f, 0, f->p.a, "svc", 0x100, 0x200), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc", 0x200, 0x100), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    assert_int_equal(f->e[0].dest_addr, 0x200);
    assert_int_equal(f->e[1].dest_addr, 0x100);
    /* A dynamic endpoint of the same name on a must not steal b's static peer. */
    assert_int_equal(mk(f, 2, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    assert_int_equal(f->e[1].dest_addr, 0x100);
    assert_int_equal(rpmsg_trysend(&f->e[1], "s", 1), 1);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    assert_int_equal(tu_rec_count(&f->r[0]), 1);
    assert_int_equal(tu_rec_count(&f->r[2]), 0);

    assert_int_equal(rpmsg_destroy_ept(&f->e[0]), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    assert_int_equal(f->e[1].dest_addr, 0x100);
    assert_int_equal(tu_rec_unbinds(&f->r[1]), 0);
    struct rpmsg_stats st = tu_stats(f->p.b);
    assert_int_equal(st.drop_bad_ns + st.drop_unknown_dst + st.drop_bad_header, 0);
}

/* dst ANY learns the src of its first message, and only of the first. */
static void test_any_learns_first_src(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);

    assert_int_equal(mk(f, 0, f->p.a, NULL, 0x100, 0x200), 0);
    assert_int_equal(mk(f, 1, f->p.b, NULL, 0x200, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 2, f->p.a, NULL, 0x101, RPMSG_ADDR_ANY), 0);
    assert_false(rpmsg_is_ept_ready(&f->e[1]));
    assert_int_equal(rpmsg_trysend(&f->e[1], "x", 1), -EAGAIN);

    assert_int_equal(rpmsg_send(&f->e[0], "first", 5), 5);
    assert_int_equal(tu_rec_wait(&f->r[1], 1, TU_TIMEOUT_MS), 0);
    check_msg(&f->r[1], 0, 0x100, "first");
    assert_true(rpmsg_is_ept_ready(&f->e[1]));
    assert_int_equal(f->e[1].dest_addr, 0x100);

    /* The reply goes to the learned address. */
    assert_int_equal(rpmsg_send(&f->e[1], "reply", 5), 5);
    assert_int_equal(tu_rec_wait(&f->r[0], 1, TU_TIMEOUT_MS), 0);
    check_msg(&f->r[0], 0, 0x200, "reply");

    /* Another sender does not take the binding over. */
    assert_int_equal(rpmsg_sendto(&f->e[2], "other", 5, 0x200), 5);
    assert_int_equal(tu_rec_wait(&f->r[1], 2, TU_TIMEOUT_MS), 0);
    check_msg(&f->r[1], 1, 0x101, "other");
    assert_int_equal(f->e[1].dest_addr, 0x100);
    assert_false(rpmsg_is_ept_ready(&f->e[2])); /* sendto binds nobody */
    assert_int_equal(rpmsg_send(&f->e[1], "again", 5), 5);
    assert_int_equal(tu_rec_wait(&f->r[0], 2, TU_TIMEOUT_MS), 0);
    check_msg(&f->r[0], 1, 0x200, "again");
    assert_int_equal(tu_rec_count(&f->r[2]), 0);
    assert_int_equal(tu_rec_unbinds(&f->r[1]), 0);
}

/* Off-channel: the src on the wire is the one given, not the endpoint's. */
static void test_offchannel_src(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);

    assert_int_equal(mk(f, 0, f->p.a, NULL, 0x100, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, NULL, 0x200, RPMSG_ADDR_ANY), 0);
    assert_int_equal(rpmsg_send_offchannel(&f->e[0], 0x155, 0x200, "off", 3), 3);
    assert_int_equal(tu_rec_wait(&f->r[1], 1, TU_TIMEOUT_MS), 0);
    check_msg(&f->r[1], 0, 0x155, "off");
    assert_int_equal(f->e[1].dest_addr, 0x155);
    assert_int_equal(rpmsg_trysend_offchannel(&f->e[0], 0x156, 0x200, "off2", 4), 4);
    assert_int_equal(tu_rec_wait(&f->r[1], 2, TU_TIMEOUT_MS), 0);
    check_msg(&f->r[1], 1, 0x156, "off2");
    assert_int_equal(f->e[1].dest_addr, 0x155);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seed_static_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_sends_no_ns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_static_binding_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_any_learns_first_src, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offchannel_src, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
