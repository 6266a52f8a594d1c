/*
 * Endpoint registration: creation and destruction, argument errors, dynamic
 * address allocation (from 1024 up, next-fit, exhaustion) and static addresses.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define NEPT (RPMSG_EPT_DYN_MAX + 8)

struct fx {
    struct tu_pair p;
    struct rpmsg_endpoint *e; /* NEPT of them, on the heap: tests may fail half way */
    struct tu_rec rec;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->e = calloc(NEPT, sizeof(*f->e));
    tu_rec_init(&f->rec);
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = true; /* this file checks registration, not threading */
    if (!f->e || tu_pair_open(&f->p, &cfg) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (!f)
        return 0;
    for (size_t i = NEPT; i-- > 0;)
        tu_ept_cleanup(&f->e[i]);
    tu_pair_close(&f->p);
    tu_rec_deinit(&f->rec);
    free(f->e);
    free(f);
    return 0;
}

static void test_create_destroy(void **state)
{
    struct fx *f = *state;
    struct rpmsg_endpoint *e = &f->e[0];

    assert_int_equal(tu_ept_create(e, f->p.a, "hello", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, tu_rec_cb,
                                   NULL, &f->rec),
                     0);
    assert_string_equal(e->name, "hello");
    assert_ptr_equal(e->rdev, f->p.a);
    assert_int_equal(e->addr, RPMSG_ADDR_DYN_BASE);
    assert_int_equal(e->dest_addr, RPMSG_ADDR_ANY);
    assert_false(rpmsg_is_ept_ready(e));
    assert_ptr_equal(e->priv, &f->rec);
    assert_true(tu_ept_registered(e));
    assert_int_equal(rpmsg_destroy_ept(e), 0);
    assert_false(tu_ept_registered(e));

    /* A known peer address makes the endpoint ready at once. */
    assert_int_equal(tu_ept_create(e, f->p.a, NULL, 0x300, 0x301, tu_rec_cb, NULL, &f->rec), 0);
    assert_int_equal(e->addr, 0x300);
    assert_int_equal(e->dest_addr, 0x301);
    assert_true(rpmsg_is_ept_ready(e));
    assert_string_equal(e->name, "");
    assert_int_equal(rpmsg_destroy_ept(e), 0);

    /* The same address is free again once destroyed. */
    assert_int_equal(tu_ept_create(e, f->p.a, "", 0x300, RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    assert_int_equal(e->addr, 0x300);
    assert_int_equal(rpmsg_destroy_ept(e), 0);
}

static void test_argument_errors(void **state)
{
    struct fx *f = *state;
    struct rpmsg_endpoint *e = &f->e[0];
    char name32[RPMSG_NAME_SIZE + 1];
    char name31[RPMSG_NAME_SIZE];

    memset(name32, 'n', RPMSG_NAME_SIZE);
    name32[RPMSG_NAME_SIZE] = '\0';
    memset(name31, 'n', RPMSG_NAME_SIZE - 1);
    name31[RPMSG_NAME_SIZE - 1] = '\0';

    assert_int_equal(rpmsg_create_ept(NULL, f->p.a, "x", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL, NULL),
                     -EINVAL);
    memset(e, 0, sizeof(*e));
    assert_int_equal(rpmsg_create_ept(e, NULL, "x", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL, NULL),
                     -EINVAL);
    assert_false(tu_ept_registered(e));

    assert_int_equal(tu_ept_create(e, f->p.a, name32, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL, NULL,
                                   NULL),
                     -ENAMETOOLONG);
    assert_false(tu_ept_registered(e));
    assert_int_equal(tu_ept_create(e, f->p.a, name31, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL, NULL,
                                   NULL),
                     0);
    assert_string_equal(e->name, name31);

    /* Registering the same struct twice must not corrupt the tables. */
    assert_int_equal(rpmsg_create_ept(e, f->p.a, "again", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL, NULL),
                     -EBUSY);
    assert_string_equal(e->name, name31);
    assert_ptr_equal(e->rdev, f->p.a);
    assert_int_equal(rpmsg_destroy_ept(e), 0);

    /* The name service's own address is never the application's. */
    assert_int_equal(tu_ept_create(e, f->p.a, "ns", RPMSG_NS_ADDR, RPMSG_ADDR_ANY, NULL, NULL, NULL),
                     -EADDRINUSE);
    assert_false(tu_ept_registered(e));

    assert_int_equal(rpmsg_destroy_ept(NULL), -EINVAL);
    memset(e, 0, sizeof(*e));
    assert_true(rpmsg_destroy_ept(e) < 0); /* never registered */
    assert_false(rpmsg_is_ept_ready(e));
}

/* A struct live on one device cannot be registered on another: both tables would hold it. */
static void test_register_twice_other_device(void **state)
{
    struct fx *f = *state;
    struct rpmsg_endpoint *e = &f->e[0];

    assert_int_equal(tu_ept_create(e, f->p.a, "first", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL, NULL,
                                   NULL),
                     0);
    assert_int_equal(rpmsg_create_ept(e, f->p.b, "again", 0x400, RPMSG_ADDR_ANY, NULL, NULL),
                     -EBUSY);
    assert_string_equal(e->name, "first");
    assert_ptr_equal(e->rdev, f->p.a);
    assert_int_equal(e->addr, RPMSG_ADDR_DYN_BASE);
    assert_int_equal(rpmsg_destroy_ept(e), 0);
}

static void test_static_address_in_use(void **state)
{
    struct fx *f = *state;

    assert_int_equal(tu_ept_create(&f->e[0], f->p.a, "s", 0x200, RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.a, "t", 0x200, RPMSG_ADDR_ANY, NULL, NULL, NULL),
                     -EADDRINUSE);
    assert_false(tu_ept_registered(&f->e[1]));
    /* Addresses are per device: the peer may use the same number. */
    assert_int_equal(tu_ept_create(&f->e[2], f->p.b, "s", 0x200, RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    /* Static addresses inside the dynamic range and far above it. */
    assert_int_equal(tu_ept_create(&f->e[3], f->p.a, NULL, 5000, RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&f->e[4], f->p.a, NULL, 5000, RPMSG_ADDR_ANY, NULL, NULL, NULL),
                     -EADDRINUSE);
    assert_int_equal(tu_ept_create(&f->e[5], f->p.a, NULL, 0x10000000, RPMSG_ADDR_ANY, NULL, NULL,
                                   NULL),
                     0);
    assert_int_equal(tu_ept_create(&f->e[6], f->p.a, NULL, 0x10000000, RPMSG_ADDR_ANY, NULL, NULL,
                                   NULL),
                     -EADDRINUSE);
    /* Same hash bucket, different address. */
    assert_int_equal(tu_ept_create(&f->e[7], f->p.a, NULL, 0x10000000 + RPMSG_EPT_HASH_SIZE,
                                   RPMSG_ADDR_ANY, NULL, NULL, NULL),
                     0);
    assert_int_equal(rpmsg_destroy_ept(&f->e[5]), 0);
    assert_int_equal(tu_ept_create(&f->e[6], f->p.a, NULL, 0x10000000, RPMSG_ADDR_ANY, NULL, NULL,
                                   NULL),
                     0);
    assert_int_equal(tu_ept_create(&f->e[8], f->p.a, NULL, 0x10000000 + RPMSG_EPT_HASH_SIZE,
                                   RPMSG_ADDR_ANY, NULL, NULL, NULL),
                     -EADDRINUSE);
}

static void test_dynamic_next_fit(void **state)
{
    struct fx *f = *state;

    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(tu_ept_create(&f->e[i], f->p.a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL,
                                       NULL, NULL),
                         0);
        assert_int_equal(f->e[i].addr, RPMSG_ADDR_DYN_BASE + i);
    }
    /* A just-freed address is not handed out again at once. */
    assert_int_equal(rpmsg_destroy_ept(&f->e[1]), 0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL,
                                   NULL, NULL),
                     0);
    assert_int_equal(f->e[1].addr, RPMSG_ADDR_DYN_BASE + 4);
    assert_int_equal(rpmsg_destroy_ept(&f->e[3]), 0);
    assert_int_equal(tu_ept_create(&f->e[3], f->p.a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL,
                                   NULL, NULL),
                     0);
    assert_int_equal(f->e[3].addr, RPMSG_ADDR_DYN_BASE + 5);

    /* Each device allocates on its own. */
    assert_int_equal(tu_ept_create(&f->e[4], f->p.b, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL,
                                   NULL, NULL),
                     0);
    assert_int_equal(f->e[4].addr, RPMSG_ADDR_DYN_BASE);
}

/* Fills the dynamic range; 'skip' is a static address inside it, taken first. */
static void exhaust(struct fx *f, uint32_t skip)
{
    unsigned dyn = RPMSG_EPT_DYN_MAX;
    unsigned first = 0;
    uint8_t *seen = calloc(dyn, 1);
    assert_non_null(seen);

    if (skip != RPMSG_ADDR_ANY) {
        assert_int_equal(tu_ept_create(&f->e[0], f->p.a, NULL, skip, RPMSG_ADDR_ANY, NULL, NULL,
                                       NULL),
                         0);
        seen[skip - RPMSG_ADDR_DYN_BASE] = 1;
        dyn--;
        first = 1;
    }
    for (unsigned i = first; i < first + dyn; i++) {
        int rc = tu_ept_create(&f->e[i], f->p.a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL, NULL,
                               NULL);
        if (rc != 0) {
            free(seen);
            print_error("endpoint %u of %u: %d\n", i - first, dyn, rc);
            fail();
        }
        uint32_t a = f->e[i].addr;
        if (a < RPMSG_ADDR_DYN_BASE || a >= RPMSG_ADDR_DYN_BASE + RPMSG_EPT_DYN_MAX ||
            seen[a - RPMSG_ADDR_DYN_BASE]) {
            free(seen);
            print_error("bad or duplicate dynamic address %u\n", a);
            fail();
        }
        seen[a - RPMSG_ADDR_DYN_BASE] = 1;
    }
    free(seen);

    unsigned next = first + dyn;
    assert_int_equal(tu_ept_create(&f->e[next], f->p.a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL,
                                   NULL, NULL),
                     -EADDRNOTAVAIL);
    assert_false(tu_ept_registered(&f->e[next]));
    assert_int_equal(tu_ept_create(&f->e[next], f->p.a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL,
                                   NULL, NULL),
                     -EADDRNOTAVAIL);
    /* Static addresses outside the range still work when it is full. */
    assert_int_equal(tu_ept_create(&f->e[next], f->p.a, NULL, 0x100, RPMSG_ADDR_ANY, NULL, NULL,
                                   NULL),
                     0);

    /* Freeing one makes exactly that one available. */
    unsigned victim = first + dyn / 2;
    uint32_t freed = f->e[victim].addr;
    assert_int_equal(rpmsg_destroy_ept(&f->e[victim]), 0);
    assert_int_equal(tu_ept_create(&f->e[victim], f->p.a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                   NULL, NULL, NULL),
                     0);
    assert_int_equal(f->e[victim].addr, freed);
    assert_int_equal(tu_ept_create(&f->e[next + 1], f->p.a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                   NULL, NULL, NULL),
                     -EADDRNOTAVAIL);

    /* The peer device is unaffected. */
    assert_int_equal(tu_ept_create(&f->e[next + 2], f->p.b, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                   NULL, NULL, NULL),
                     0);
}

static void test_dynamic_exhaustion(void **state)
{
    exhaust(*state, RPMSG_ADDR_ANY);
}

static void test_dynamic_exhaustion_around_static(void **state)
{
    exhaust(*state, RPMSG_ADDR_DYN_BASE + 7);
}

/* Without a callback, messages are consumed and counted. */
static void test_null_callback(void **state)
{
    struct fx *f = *state;
    struct rpmsg_endpoint *rx = &f->e[0], *tx = &f->e[1];

    assert_int_equal(tu_ept_create(rx, f->p.b, NULL, 0x120, RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(tx, f->p.a, NULL, 0x121, 0x120, NULL, NULL, NULL), 0);
    uint32_t free0 = rpmsg_loopback_free_tx(f->p.lb, f->p.a);
    assert_int_equal(rpmsg_trysend(tx, "abc", 3), 3);
    assert_int_equal(rpmsg_trysend(tx, "defg", 4), 4);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 2);
    struct rpmsg_stats st = tu_stats(f->p.b);
    assert_int_equal(st.rx_msgs, 2);
    assert_int_equal(st.rx_bytes, 7);
    assert_int_equal(st.drop_unknown_dst, 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), free0);
    /* It still learned its peer from the first message. */
    assert_int_equal(rx->dest_addr, 0x121);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argument_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_twice_other_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_address_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dynamic_next_fit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dynamic_exhaustion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dynamic_exhaustion_around_static, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_callback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
