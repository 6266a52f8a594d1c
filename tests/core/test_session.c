/*
 * Link sessions: an address is learnt in one session of a link (between a
 * link up and the next link down) and means nothing in the next.
 * - A message taken off the transport before the link went down, and handed
 *   to the core after it came up again, is dropped (stats.drop_stale): it
 *   would bind a waiting endpoint to an address of the old session. So is
 *   an announcement handled while the link is down.
 * - A named, name-bound endpoint whose binding died with the link cannot send to an
 *   explicit address until its name binds it again; a send to its own peer
 *   waits for that binding.
 * Polled devices, so each step is checked between messages.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

struct fx {
    struct tu_pair p;
    struct rpmsg_endpoint e[3];
    struct tu_rec r[3];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    for (int i = 0; i < 3; i++)
        tu_rec_init(&f->r[i]);
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = true;
    if (tu_pair_open(&f->p, &cfg) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = 3; i-- > 0;)
        tu_ept_cleanup(&f->e[i]);
    tu_pair_close(&f->p);
    for (int i = 0; i < 3; i++)
        tu_rec_deinit(&f->r[i]);
    free(f);
    return 0;
}

static int mk(struct fx *f, int i, struct rpmsg_device *d, const char *name, uint32_t dst)
{
    return tu_ept_create(&f->e[i], d, name, RPMSG_ADDR_ANY, dst, tu_rec_cb, tu_rec_unbind_cb,
                         &f->r[i]);
}

static void cycle_link(struct fx *f)
{
    assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
}

static void test_stale_message_dropped(void **state)
{
    struct fx *f = *state;
    /* A name-bound endpoint on a whose name b never serves: unbound. */
    assert_int_equal(mk(f, 0, f->p.a, "lonely", RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    uint32_t old = rpmsg_device_session(f->p.a);
    cycle_link(f);
    assert_int_not_equal(rpmsg_device_session(f->p.a), old);
    assert_false(rpmsg_is_ept_ready(&f->e[0]));

    /* Taken off the line in the old session: dropped, binds nothing. */
    uint8_t buf[RPMSG_HDR_SIZE + 4];
    uint32_t n = tu_build_msg(buf, 0x4242, f->e[0].addr, 4, 0, "late", 4);
    rpmsg_device_rx_in(f->p.a, buf, n, old);
    assert_int_equal(tu_stats(f->p.a).drop_stale, 1);
    assert_int_equal(tu_rec_count(&f->r[0]), 0);
    assert_int_equal(f->e[0].dest_addr, RPMSG_ADDR_ANY);

    /* The same message of this session is delivered, and binds. */
    rpmsg_device_rx_in(f->p.a, buf, n, rpmsg_device_session(f->p.a));
    assert_int_equal(tu_rec_count(&f->r[0]), 1);
    assert_int_equal(f->r[0].msgs[0].src, 0x4242);
    assert_memory_equal(f->r[0].msgs[0].data, "late", 4);
    assert_int_equal(f->e[0].dest_addr, 0x4242);
    assert_int_equal(tu_stats(f->p.a).drop_stale, 1);
}

/*
 * An announcement (or its acknowledgement) taken off the line before a link
 * down and handled after it is of the session that ended there, though the
 * session only moves at the next link up: it binds nothing, also while the
 * link is down (the race test_ns's link cycles under TSan once lost).
 */
static void test_stale_announcement_binds_nothing(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    assert_false(rpmsg_is_ept_ready(&f->e[0]));
    uint8_t buf[RPMSG_HDR_SIZE + sizeof(struct rpmsg_ns_msg)];

    assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
    uint32_t session = rpmsg_device_session(f->p.a);
    uint32_t n = tu_build_ns(buf, 0x4242, "svc", false, 0x4242, RPMSG_NS_CREATE);
    rpmsg_device_rx_in(f->p.a, buf, n, session);
    n = tu_build_ns(buf, 0x4242, "svc", false, 0x4242, RPMSG_NS_CREATE_ACK);
    rpmsg_device_rx_in(f->p.a, buf, n, session);
    assert_int_equal(tu_stats(f->p.a).drop_stale, 2);
    assert_int_equal(f->e[0].dest_addr, RPMSG_ADDR_ANY);
    assert_false(rpmsg_is_ept_ready(&f->e[0]));

    /* The same announcement in the next session binds. */
    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    n = tu_build_ns(buf, 0x4242, "svc", false, 0x4242, RPMSG_NS_CREATE);
    rpmsg_device_rx_in(f->p.a, buf, n, rpmsg_device_session(f->p.a));
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    assert_int_equal(f->e[0].dest_addr, 0x4242);
    assert_int_equal(tu_stats(f->p.a).drop_stale, 2);
}

static void test_orphan_cannot_send_to_old_address(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    assert_true(rpmsg_is_ept_ready(&f->e[0]));
    uint32_t old_peer = f->e[0].dest_addr;
    assert_int_equal(old_peer, f->e[1].addr);

    /* b's endpoint goes while the link is down: a's comes back unbound. */
    assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
    assert_int_equal(tu_rec_unbinds(&f->r[0]), 1);
    assert_int_equal(rpmsg_destroy_ept(&f->e[1]), 0);
    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    assert_false(rpmsg_is_ept_ready(&f->e[0]));

    /* A stranger now holds the old address on b. */
    assert_int_equal(tu_ept_create(&f->e[2], f->p.b, "", old_peer, RPMSG_ADDR_ANY, tu_rec_cb,
                                   NULL, &f->r[2]),
                     0);
    assert_int_equal(rpmsg_trysendto(&f->e[0], "old", 3, old_peer), -ENOTCONN);
    assert_int_equal(rpmsg_trysend(&f->e[0], "old", 3), -EAGAIN); /* waits for a peer */
    uint32_t cap = 0;
    void *buf = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, 0);
    assert_non_null(buf);
    memcpy(buf, "old", 3);
    int r = rpmsg_sendto_nocopy(&f->e[0], buf, 3, old_peer);
    assert_int_equal(r, -ENOTCONN);
    assert_false(rpmsg_nocopy_kept(r)); /* the stack took the buffer back */
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    assert_int_equal(tu_rec_count(&f->r[2]), 0);

    /* The name binds it again: both kinds of send work. */
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    assert_true(rpmsg_is_ept_ready(&f->e[0]));
    assert_int_equal(rpmsg_trysend(&f->e[0], "new", 3), 3);
    assert_int_equal(rpmsg_trysendto(&f->e[0], "to2", 3, f->e[2].addr), 3);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    assert_int_equal(tu_rec_count(&f->r[1]), 1);
    assert_memory_equal(f->r[1].msgs[0].data, "new", 3);
    assert_int_equal(tu_rec_count(&f->r[2]), 1);
    assert_memory_equal(f->r[2].msgs[0].data, "to2", 3);
}

/* A static pair keeps its addresses over link resets: not an orphan. */
static void test_static_pair_survives_reset(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_ept_create(&f->e[0], f->p.a, "", 0x500, 0x600, tu_rec_cb, NULL, &f->r[0]),
                     0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, "", 0x600, 0x500, tu_rec_cb, NULL, &f->r[1]),
                     0);
    cycle_link(f);
    assert_int_equal(rpmsg_trysendto(&f->e[0], "s", 1, 0x600), 1);
    assert_int_equal(rpmsg_trysend(&f->e[0], "t", 1), 1);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    assert_int_equal(tu_rec_count(&f->r[1]), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stale_message_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_announcement_binds_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_cannot_send_to_old_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_pair_survives_reset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
