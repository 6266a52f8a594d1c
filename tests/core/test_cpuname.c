/*
 * CPU names of a link (local and remote), finding a device by its remote
 * name, the process-wide device list, link state queries.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

struct fx {
    struct tu_pair p, q;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_pair_close(&f->q);
    tu_pair_close(&f->p);
    free(f);
    return 0;
}

static bool listed(struct rpmsg_device *d)
{
    for (struct rpmsg_device *it = rpmsg_device_first(); it; it = rpmsg_device_next(it))
        if (it == d)
            return true;
    return false;
}

static void test_default_names(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_string_equal(rpmsg_get_local_cpuname(f->p.a), "a");
    assert_string_equal(rpmsg_get_cpuname(f->p.a), "b");
    assert_string_equal(rpmsg_get_local_cpuname(f->p.b), "b");
    assert_string_equal(rpmsg_get_cpuname(f->p.b), "a");
    assert_true(rpmsg_device_is_up(f->p.a));
    assert_false(rpmsg_device_is_up(NULL));
}

static void test_custom_names_and_find(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.name_a = "host-cpu";
    cfg.name_b = "dsp0";
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);
    cfg.name_a = "host-cpu2";
    cfg.name_b = "audio";
    cfg.no_rx_thread = true;
    assert_int_equal(tu_pair_open(&f->q, &cfg), 0);

    assert_string_equal(rpmsg_get_local_cpuname(f->p.a), "host-cpu");
    assert_string_equal(rpmsg_get_cpuname(f->p.a), "dsp0");
    assert_string_equal(rpmsg_get_cpuname(f->p.b), "host-cpu");
    assert_string_equal(rpmsg_get_cpuname(f->q.a), "audio");

    /* Found by the name of the far end. */
    assert_ptr_equal(rpmsg_device_find("dsp0"), f->p.a);
    assert_ptr_equal(rpmsg_device_find("host-cpu"), f->p.b);
    assert_ptr_equal(rpmsg_device_find("audio"), f->q.a);
    assert_ptr_equal(rpmsg_device_find("host-cpu2"), f->q.b);
    assert_null(rpmsg_device_find("nonexistent"));
    assert_null(rpmsg_device_find("dsp"));  /* no prefix match */
    assert_null(rpmsg_device_find("dsp00"));
    assert_null(rpmsg_device_find(NULL));

    struct rpmsg_device *d[4] = {f->p.a, f->p.b, f->q.a, f->q.b};
    for (int k = 0; k < 4; k++)
        assert_true(listed(d[k]));

    /* Only devices whose link is up are found. */
    assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
    assert_null(rpmsg_device_find("dsp0"));
    assert_null(rpmsg_device_find("host-cpu"));
    assert_ptr_equal(rpmsg_device_find("audio"), f->q.a);
    assert_true(listed(f->p.a));
    assert_int_equal(rpmsg_get_features(f->p.a), 0);
    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_ptr_equal(rpmsg_device_find("dsp0"), f->p.a);

    /* Destroyed devices leave the list. */
    struct rpmsg_device *qa = f->q.a, *qb = f->q.b;
    tu_pair_close(&f->q);
    assert_false(listed(qa));
    assert_false(listed(qb));
    assert_null(rpmsg_device_find("audio"));
    assert_true(listed(f->p.a));
}

static void test_long_name_truncated_safely(void **state)
{
    struct fx *f = *state;
    char longname[100];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    struct rpmsg_loopback_config cfg = {0};
    cfg.name_a = longname;
    cfg.no_rx_thread = true;
    int rc = tu_pair_open(&f->p, &cfg);
    if (rc < 0)
        return; /* refusing is fine too */
    const char *n = rpmsg_get_local_cpuname(f->p.a);
    assert_non_null(n);
    size_t len = strnlen(n, RPMSG_CPUNAME_SIZE);
    assert_true(len < RPMSG_CPUNAME_SIZE);
    assert_true(len > 0);
    assert_memory_equal(n, longname, len);
    assert_string_equal(rpmsg_get_cpuname(f->p.b), n);
}

static void test_names_before_link_up(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.manual_link = true;
    cfg.name_b = "late-peer";
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);
    assert_false(rpmsg_device_is_up(f->p.a));
    assert_string_equal(rpmsg_get_local_cpuname(f->p.a), "a");
    assert_null(rpmsg_device_find("late-peer"));
    assert_int_equal(rpmsg_get_features(f->p.a), 0);
    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_string_equal(rpmsg_get_cpuname(f->p.a), "late-peer");
    assert_ptr_equal(rpmsg_device_find("late-peer"), f->p.a);
    assert_int_equal(rpmsg_get_features(f->p.a), RPMSG_F_NS | RPMSG_F_ACK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_names_and_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_name_truncated_safely, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_before_link_up, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
