/*
 * Malformed input from the peer, injected raw: it is dropped, counted in the
 * right struct rpmsg_stats counter, and leaves the device working.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define BUF RPMSG_BUFFER_SIZE

struct fx {
    struct tu_pair p;
    struct rpmsg_endpoint e[8];
    struct tu_rec r[8];
    uint8_t raw[BUF + 64];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    for (int i = 0; i < 8; i++)
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
    for (int i = 8; i-- > 0;)
        tu_ept_cleanup(&f->e[i]);
    tu_pair_close(&f->p);
    for (int i = 0; i < 8; i++)
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

/* b receives raw[0..len) as if a had sent it; then the pair runs dry. */
static void inject_b(struct fx *f, uint32_t len)
{
    assert_int_equal(rpmsg_loopback_inject(f->p.lb, f->p.b, f->raw, len), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
}

static void assert_drops(struct rpmsg_device *d, uint64_t hdr, uint64_t dst, uint64_t ns)
{
    struct rpmsg_stats st = tu_stats(d);
    assert_int_equal(st.drop_bad_header, hdr);
    assert_int_equal(st.drop_unknown_dst, dst);
    assert_int_equal(st.drop_bad_ns, ns);
    assert_int_equal(st.drop_ns_overflow, 0);
}

/* After whatever was injected, a fresh NS pair binds and talks both ways. */
static void assert_still_works(struct fx *f, const char *name)
{
    assert_int_equal(mk(f, 6, f->p.b, name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 7, f->p.a, name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 2);
    assert_int_equal(f->e[6].dest_addr, f->e[7].addr);
    assert_int_equal(f->e[7].dest_addr, f->e[6].addr);
    assert_int_equal(rpmsg_trysend(&f->e[7], "ok?", 3), 3);
    assert_int_equal(rpmsg_trysend(&f->e[6], "ok!", 3), 3);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 2);
    assert_int_equal(tu_rec_count(&f->r[6]), 1);
    assert_int_equal(tu_rec_count(&f->r[7]), 1);
    assert_memory_equal(f->r[6].msgs[0].data, "ok?", 3);
    assert_memory_equal(f->r[7].msgs[0].data, "ok!", 3);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), 16);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.b), 16);
}

static void test_unknown_dst(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mk(f, 0, f->p.b, NULL, 0x200, RPMSG_ADDR_ANY), 0);

    inject_b(f, tu_build_msg(f->raw, 0x100, 0x7777, 4, 0, "lost", 4));
    inject_b(f, tu_build_msg(f->raw, 0x100, RPMSG_ADDR_DYN_BASE + 5, 4, 0, "lost", 4));
    inject_b(f, tu_build_msg(f->raw, 0x100, RPMSG_ADDR_ANY, 4, 0, "lost", 4));
    assert_drops(f->p.b, 0, 3, 0);
    assert_int_equal(tu_rec_count(&f->r[0]), 0);
    /* A well-formed one to a live endpoint is delivered. */
    inject_b(f, tu_build_msg(f->raw, 0x100, 0x200, 5, 0, "found", 5));
    assert_int_equal(tu_rec_count(&f->r[0]), 1);
    assert_int_equal(f->r[0].msgs[0].src, 0x100);
    assert_memory_equal(f->r[0].msgs[0].data, "found", 5);
    assert_drops(f->p.b, 0, 3, 0);
    assert_drops(f->p.a, 0, 0, 0);
    assert_still_works(f, "after-unknown-dst");
}

static void test_bad_header(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mk(f, 0, f->p.b, NULL, 0x200, RPMSG_ADDR_ANY), 0);
    memset(f->raw, 0, sizeof(f->raw));

    /* Shorter than a header. */
    tu_build_msg(f->raw, 0x100, 0x200, 0, 0, NULL, 0);
    inject_b(f, 10);
    inject_b(f, RPMSG_HDR_SIZE - 1);
    assert_drops(f->p.b, 2, 0, 0);

    /* len claims more than a buffer can hold. */
    tu_build_msg(f->raw, 0x100, 0x200, BUF - RPMSG_HDR_SIZE + 1, 0, NULL, 0);
    inject_b(f, BUF);
    tu_build_msg(f->raw, 0x100, 0x200, 0xFFFF, 0, NULL, 0);
    inject_b(f, BUF);
    tu_build_msg(f->raw, 0x100, 0x200, 0xFFFF, 0, NULL, 0);
    inject_b(f, RPMSG_HDR_SIZE);
    assert_drops(f->p.b, 5, 0, 0);

    /* len claims more than arrived. */
    tu_build_msg(f->raw, 0x100, 0x200, 100, 0, "short", 5);
    inject_b(f, RPMSG_HDR_SIZE + 5);
    assert_drops(f->p.b, 6, 0, 0);
    assert_int_equal(tu_rec_count(&f->r[0]), 0);

    /* Exactly full is fine. */
    uint8_t payload[BUF - RPMSG_HDR_SIZE];
    memset(payload, 0xEE, sizeof(payload));
    inject_b(f, tu_build_msg(f->raw, 0x100, 0x200, sizeof(payload), 0, payload, sizeof(payload)));
    assert_int_equal(tu_rec_count(&f->r[0]), 1);
    assert_int_equal(f->r[0].msgs[0].len, sizeof(payload));
    assert_memory_equal(f->r[0].msgs[0].data, payload, sizeof(payload));
    assert_drops(f->p.b, 6, 0, 0);

    /* The transport refuses more than a buffer. */
    assert_true(rpmsg_loopback_inject(f->p.lb, f->p.b, f->raw, BUF + 1) < 0);
    assert_still_works(f, "after-bad-header");
}

static void test_bad_ns(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mk(f, 0, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1); /* b's own announcement, kept by a */
    uint64_t ns_bad = 0;

    /* Wrong lengths: a valid CREATE for "svc", cut short or padded. */
    uint32_t full = tu_build_ns(f->raw, 0x100, "svc", false, 0x100, RPMSG_NS_CREATE);
    f->raw[12] = RPMSG_NAME_SIZE + 8 - 1;
    inject_b(f, full - 1);
    ns_bad++;
    f->raw[12] = RPMSG_NAME_SIZE + 8 + 1;
    f->raw[full] = 0;
    inject_b(f, full + 1);
    ns_bad++;
    f->raw[12] = 0;
    inject_b(f, RPMSG_HDR_SIZE);
    ns_bad++;
    assert_drops(f->p.b, 0, 0, ns_bad);
    assert_false(rpmsg_is_ept_ready(&f->e[0]));

    /* A name filling all 32 bytes without a terminator. */
    char name32[RPMSG_NAME_SIZE];
    memset(name32, 'x', sizeof(name32));
    inject_b(f, tu_build_ns(f->raw, 0x100, name32, true, 0x100, RPMSG_NS_CREATE));
    ns_bad++;
    assert_drops(f->p.b, 0, 0, ns_bad);
    char name31[RPMSG_NAME_SIZE];
    memset(name31, 'x', RPMSG_NAME_SIZE - 1);
    name31[RPMSG_NAME_SIZE - 1] = '\0';
    assert_int_equal(mk(f, 1, f->p.b, name31, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_false(rpmsg_is_ept_ready(&f->e[1]));

    /* Unknown flags. */
    inject_b(f, tu_build_ns(f->raw, 0x100, "svc", false, 0x100, 3));
    ns_bad++;
    inject_b(f, tu_build_ns(f->raw, 0x100, "svc", false, 0x100, 0xFFFFFFFFu));
    ns_bad++;
    inject_b(f, tu_build_ns(f->raw, 0x100, "svc", false, 0x100, 0x100u | RPMSG_NS_CREATE));
    ns_bad++;
    assert_drops(f->p.b, 0, 0, ns_bad);
    assert_false(rpmsg_is_ept_ready(&f->e[0]));
    assert_int_equal(tu_rec_unbinds(&f->r[0]), 0);

    /* A correct one still binds. */
    inject_b(f, tu_build_ns(f->raw, 0x155, "svc", false, 0x155, RPMSG_NS_CREATE));
    assert_int_equal(f->e[0].dest_addr, 0x155);
    assert_drops(f->p.b, 0, 0, ns_bad);
    assert_drops(f->p.a, 0, 0, 0);
    assert_still_works(f, "after-bad-ns");
}

/* A DESTROY for an address nobody is bound to leaves bound endpoints alone. */
static void test_foreign_destroy(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 2);
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);

    inject_b(f, tu_build_ns(f->raw, 0x300, "svc", false, 0x300, RPMSG_NS_DESTROY));
    inject_b(f, tu_build_ns(f->raw, 0x300, "other", false, f->e[0].addr + 1, RPMSG_NS_DESTROY));
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);
    assert_int_equal(tu_rec_unbinds(&f->r[1]), 0);
    assert_drops(f->p.b, 0, 0, 0);
}

static uint32_t rng_state = 0x12345678u;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Random garbage, some of it aimed at the name service and at live endpoints. */
static void test_fuzz(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mk(f, 0, f->p.b, NULL, 0x200, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, "fuzzed", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);

    for (int i = 0; i < 3000; i++) {
        uint32_t len = 1 + rnd() % BUF;
        for (uint32_t k = 0; k < len; k++)
            f->raw[k] = (uint8_t)rnd();
        if (len >= RPMSG_HDR_SIZE) {
            switch (rnd() % 4) {
            case 0: /* to the name service, plausible length */
                tu_put_le32(f->raw + 4, RPMSG_NS_ADDR);
                if (rnd() & 1) {
                    f->raw[12] = (uint8_t)(RPMSG_NAME_SIZE + 8);
                    f->raw[13] = 0;
                }
                if (len >= RPMSG_HDR_SIZE + RPMSG_NAME_SIZE + 8 && (rnd() & 1))
                    tu_put_le32(f->raw + RPMSG_HDR_SIZE + RPMSG_NAME_SIZE + 4, rnd() % 3);
                break;
            case 1: /* to a live endpoint */
                tu_put_le32(f->raw + 4, (rnd() & 1) ? 0x200 : f->e[1].addr);
                break;
            case 2: /* a length that fits */
                f->raw[12] = (uint8_t)((len - RPMSG_HDR_SIZE) & 0xFF);
                f->raw[13] = (uint8_t)((len - RPMSG_HDR_SIZE) >> 8);
                break;
            default:
                break;
            }
        }
        assert_int_equal(rpmsg_loopback_inject(f->p.lb, f->p.b, f->raw, len), 0);
        if ((i & 7) == 7)
            assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    }
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 0);
    struct rpmsg_stats st = tu_stats(f->p.b);
    assert_true(st.drop_bad_header > 0);
    assert_true(st.drop_bad_ns > 0);
    assert_true(st.drop_unknown_dst > 0);
    assert_true(tu_rec_count(&f->r[0]) > 0);

    /* Forged announcements may have taken b's pending slots; use a's side first. */
    assert_still_works(f, "after-fuzz");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unknown_dst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_ns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
