/*
 * VirtIO handshake: feature negotiation (NS, ACK, BUFSZ, CPUNAME, EVENT_IDX)
 * between two of our devices, against plain peers (NS only, legacy), with
 * either side writing the table, and link recovery after a peer restart.
 */
#include "vt_plat.h"

#define ALL RPMSG_VIRTIO_F_DEFAULT

struct counts {
    struct tu_event created, destroyed;
};
static struct counts hc;

static void created(struct rpmsg_device *rdev, void *priv)
{
    (void)rdev;
    tu_event_post(&((struct counts *)priv)->created);
}

static void destroyed(struct rpmsg_device *rdev, void *priv)
{
    (void)rdev;
    tu_event_post(&((struct counts *)priv)->destroyed);
}

static int setup(void **state)
{
    (void)state;
    tu_event_init(&hc.created);
    tu_event_init(&hc.destroyed);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_event_deinit(&hc.created);
    tu_event_deinit(&hc.destroyed);
    return 0;
}

static void check_pair(const struct vt_opts *o, uint32_t want_feat, uint32_t h2r, uint32_t r2h,
                       const char *hname_seen_by_remote, const char *rname_seen_by_host)
{
    struct vt_pair p;
    assert_int_equal(vt_pair_open(&p, o), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    assert_int_equal(vt_features(p.h), want_feat);
    assert_int_equal(vt_features(p.r), want_feat);
    struct rpmsg_endpoint he = { 0 }, re = { 0 };
    assert_int_equal(rpmsg_create_ept(&he, p.h, NULL, 100, 200, NULL, NULL), 0);
    assert_int_equal(rpmsg_create_ept(&re, p.r, NULL, 200, 100, NULL, NULL), 0);
    assert_int_equal(rpmsg_get_tx_buffer_size(&he), (int)(h2r - RPMSG_HDR_SIZE));
    assert_int_equal(rpmsg_get_tx_buffer_size(&re), (int)(r2h - RPMSG_HDR_SIZE));
    assert_string_equal(rpmsg_get_cpuname(p.h), rname_seen_by_host);
    assert_string_equal(rpmsg_get_cpuname(p.r), hname_seen_by_remote);
    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    struct rpmsg_virtio_stats hs = vt_stats(p.host), rs = vt_stats(p.remote);
    assert_int_equal(hs.link_ups, 1);
    assert_int_equal(rs.link_ups, 1);
    assert_int_equal(hs.faults, 0);
    assert_int_equal(rs.faults, 0);
    vt_pair_close(&p);
}

static void test_all_features(void **state)
{
    (void)state;
    struct vt_opts o = { .params = { .buf_size = { 256, 1024 } } };
    /* buf_size[0] is vring0 = remote→host, [1] host→remote */
    check_pair(&o, ALL, 1024, 256, "hostcpu", "remotecpu");
}

static void test_host_without_ack_and_bufsz(void **state)
{
    (void)state;
    struct vt_opts o = {
        .hfeat = RPMSG_F_NS | RPMSG_VIRTIO_F_CPUNAME,
        .params = { .buf_size = { 256, 1024 } },
    };
    /* No BUFSZ: both directions fall back to 512 whatever the layout proposes. */
    check_pair(&o, RPMSG_F_NS | RPMSG_VIRTIO_F_CPUNAME, 512, 512, "hostcpu", "remotecpu");
}

static void test_remote_ns_only(void **state)
{
    (void)state;
    struct vt_opts o = { .rfeat = RPMSG_F_NS };
    check_pair(&o, RPMSG_F_NS, 512, 512, "host", "remote");
}

static void test_no_features(void **state)
{
    (void)state;
    struct vt_opts o = { .hnone = true };
    check_pair(&o, 0, 512, 512, "host", "remote");
}

static void test_remote_writes_table(void **state)
{
    (void)state;
    struct vt_opts o = { .remote_writes_table = true, .params = { .buf_size = { 1024, 512 } } };
    check_pair(&o, ALL, 512, 1024, "hostcpu", "remotecpu");
}

static void test_remote_first(void **state)
{
    (void)state;
    /* The remote starts before the host has written anything. */
    struct vt_pair p;
    struct vt_opts o = { .no_start_remote = true };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    vt_stop(&p, 0);
    memset(p.shm, 0, p.size);
    assert_int_equal(vt_start(&p, 1), 0);
    assert_false(rpmsg_device_is_up(p.r));
    assert_int_equal(vt_start(&p, 0), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    vt_pair_close(&p);
}

/* Both sides in legacy mode over the OpenAMP layout: what plain OpenAMP/Linux peers do. */
static void test_legacy_openamp(void **state)
{
    (void)state;
    struct vt_opts o = {
        .openamp = true,
        .legacy_host = true,
        .legacy_remote = true,
        .hfeat = RPMSG_F_NS,
        .rfeat = RPMSG_F_NS | RPMSG_F_ACK,
    };
    check_pair(&o, RPMSG_F_NS, 512, 512, "host", "remote");
}

/*
 * A legacy host that finishes booting while our remote takes its first look
 * at the peer: the look says "not there yet" (-ENOTCONN), and the host's
 * DRIVER_OK lands before the remote acts on that look. NuttX's simulator
 * master does exactly this (it says OK, then sets DRIVER_OK), and the
 * remote once took the look for a death and cleared the status the host had
 * just written, then waited for a DRIVER_OK that never came again.
 */
static struct vt_pair *booting_pair;
static int booting_calls;

static int host_boots_meanwhile(void *plat)
{
    if (booting_calls++ == 0) {
        rpmsg_poll(booting_pair->h); /* a legacy host is up at once: DRIVER_OK */
        assert_true(rpmsg_device_is_up(booting_pair->h));
        return -ENOTCONN;
    }
    return vt_peer_alive(plat);
}

static void test_legacy_host_boots_during_first_look(void **state)
{
    (void)state;
    struct vt_pair p;
    struct vt_opts o = {
        .openamp = true, .legacy_host = true, .legacy_remote = true, .no_rx_thread = true,
        .hfeat = RPMSG_F_NS, .rfeat = RPMSG_F_NS, .no_start_remote = true,
    };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    static struct rpmsg_virtio_platform_ops ops;
    ops = vt_ops;
    ops.peer_alive = host_boots_meanwhile;
    p.rcfg.ops = &ops;
    booting_pair = &p;
    booting_calls = 0;
    assert_int_equal(vt_start(&p, 1), 0);
    assert_int_equal(rpmsg_poll(p.r), -ENOTCONN);
    assert_int_equal(booting_calls, 1);
    assert_int_equal(vt_wait_up(&p), 0);
    assert_int_equal(vt_stats(p.remote).link_ups, 1);
    assert_int_equal(vt_stats(p.host).link_ups, 1);
    vt_pair_close(&p);
}

static void test_legacy_remote_writes_table(void **state)
{
    (void)state;
    struct vt_opts o = {
        .openamp = true,
        .legacy_host = true,
        .legacy_remote = true,
        .remote_writes_table = true,
        .rfeat = RPMSG_F_NS,
    };
    check_pair(&o, RPMSG_F_NS, 512, 512, "host", "remote");
}

static void test_no_rx_thread(void **state)
{
    (void)state;
    struct vt_opts o = { .no_rx_thread = true };
    check_pair(&o, ALL, 512, 512, "hostcpu", "remotecpu");
}

/* ---- Restarts ------------------------------------------------------------- */

static void restart(int side, bool by_liveness)
{
    struct vt_pair p;
    assert_int_equal(vt_pair_open(&p, NULL), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    struct rpmsg_device *survivor = side == 0 ? p.r : p.h;
    struct counts *c = &hc;
    tu_event_deinit(&c->created);
    tu_event_deinit(&c->destroyed);
    tu_event_init(&c->created);
    tu_event_init(&c->destroyed);
    assert_int_equal(rpmsg_register_callback(c, created, destroyed, NULL, NULL), 0);
    assert_int_equal(tu_event_wait(&c->created, 2, TU_TIMEOUT_MS), 0); /* both devices */

    if (by_liveness)
        __atomic_store_n(&p.link.alive[side], 0, __ATOMIC_RELEASE);
    vt_stop(&p, side);
    assert_int_equal(tu_event_wait(&c->destroyed, 2, TU_TIMEOUT_MS), 0);
    assert_false(rpmsg_device_is_up(survivor));
    if (by_liveness)
        __atomic_store_n(&p.link.alive[side], 1, __ATOMIC_RELEASE);
    assert_int_equal(vt_start(&p, side), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    assert_int_equal(tu_event_wait(&c->created, 4, TU_TIMEOUT_MS), 0);

    struct rpmsg_endpoint he = { 0 }, re = { 0 };
    struct tu_rec rec;
    tu_rec_init(&rec);
    assert_int_equal(tu_ept_create(&re, p.r, NULL, 300, 301, tu_rec_cb, NULL, &rec), 0);
    assert_int_equal(tu_ept_create(&he, p.h, NULL, 301, 300, NULL, NULL, NULL), 0);
    assert_int_equal(rpmsg_send(&he, "again", 5), 5);
    assert_int_equal(tu_rec_wait(&rec, 1, TU_TIMEOUT_MS), 0);
    assert_memory_equal(rec.msgs[0].data, "again", 5);
    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    tu_rec_deinit(&rec);
    assert_int_equal(rpmsg_unregister_callback(c, created, destroyed, NULL, NULL), 0);
    struct rpmsg_virtio_stats s = vt_stats(side == 0 ? p.remote : p.host);
    assert_int_equal(s.link_ups, 2);
    assert_int_equal(s.link_downs, 1);
    assert_int_equal(s.faults, 0);
    vt_pair_close(&p);
}

static void test_remote_restart(void **state)
{
    (void)state;
    restart(1, false);
}

static void test_host_restart(void **state)
{
    (void)state;
    restart(0, false);
}

static void test_remote_dies(void **state)
{
    (void)state;
    restart(1, true);
}

static void test_host_dies(void **state)
{
    (void)state;
    restart(0, true);
}

/*
 * What a peer sent before it closed is delivered before the link goes down:
 * the host sends ten messages and closes at once; the remote, polled only
 * afterwards, sees all ten in order, then the link down.
 */
static void test_sent_before_close_delivered(void **state)
{
    (void)state;
    struct vt_opts o = { .no_rx_thread = true };
    struct vt_pair p;
    assert_int_equal(vt_pair_open(&p, &o), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    struct rpmsg_endpoint he = { 0 }, re = { 0 };
    struct tu_rec rec;
    tu_rec_init(&rec);
    assert_int_equal(tu_ept_create(&re, p.r, NULL, 300, 301, tu_rec_cb, NULL, &rec), 0);
    assert_int_equal(tu_ept_create(&he, p.h, NULL, 301, 300, NULL, NULL, NULL), 0);
    char m[4] = "m0";
    for (char i = 0; i < 10; i++) {
        m[1] = (char)('0' + i);
        assert_int_equal(rpmsg_send(&he, m, 3), 3);
    }
    rpmsg_destroy_ept(&he);
    vt_stop(&p, 0);
    for (int t = 0; t < 1000 && rpmsg_device_is_up(p.r); t++)
        rpmsg_poll(p.r);
    assert_false(rpmsg_device_is_up(p.r));
    assert_int_equal(tu_rec_count(&rec), 10);
    for (int i = 0; i < 10; i++) {
        m[1] = (char)('0' + i);
        assert_memory_equal(rec.msgs[i].data, m, 3);
    }
    rpmsg_destroy_ept(&re);
    tu_rec_deinit(&rec);
    vt_pair_close(&p);
}

static void test_bad_config(void **state)
{
    (void)state;
    struct vt_pair p;
    assert_int_equal(vt_pair_open(&p, NULL), 0);
    struct rpmsg_virtio *v = calloc(1, sizeof(*v));
    struct rpmsg_virtio_config c = p.hcfg;
    c.shm = p.shm + 1;
    assert_int_equal(rpmsg_virtio_init(v, &c), -EINVAL);
    c = p.hcfg;
    c.shm_size = p.size - 1;
    assert_int_equal(rpmsg_virtio_init(v, &c), -EINVAL);
    struct rpmsg_virtio_layout l = p.layout;
    l.vring_da[1] = l.vring_da[0] + 16; /* overlapping vrings */
    c = p.hcfg;
    c.layout = &l;
    assert_int_equal(rpmsg_virtio_init(v, &c), -EINVAL);
    l = p.layout;
    l.num[0] = 100; /* not a power of two */
    assert_int_equal(rpmsg_virtio_init(v, &c), -EINVAL);
    l = p.layout;
    l.buf_size[0] = 4096; /* pool too small for it */
    assert_int_equal(rpmsg_virtio_init(v, &c), -EINVAL);
    c = p.hcfg;
    c.ops = NULL;
    assert_int_equal(rpmsg_virtio_init(v, &c), -EINVAL);
    assert_int_equal(rpmsg_virtio_init(NULL, &p.hcfg), -EINVAL);
    free(v);
    vt_pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_features),
        cmocka_unit_test(test_host_without_ack_and_bufsz),
        cmocka_unit_test(test_remote_ns_only),
        cmocka_unit_test(test_no_features),
        cmocka_unit_test(test_remote_writes_table),
        cmocka_unit_test(test_remote_first),
        cmocka_unit_test(test_legacy_openamp),
        cmocka_unit_test(test_legacy_remote_writes_table),
        cmocka_unit_test(test_legacy_host_boots_during_first_look),
        cmocka_unit_test(test_no_rx_thread),
        cmocka_unit_test(test_remote_restart),
        cmocka_unit_test(test_host_restart),
        cmocka_unit_test(test_remote_dies),
        cmocka_unit_test(test_host_dies),
        cmocka_unit_test(test_sent_before_close_delivered),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
