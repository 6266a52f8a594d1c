/*
 * Golden bytes of the VirtIO transport: the resource table, the vring layout,
 * and what the region holds after an OpenAMP-layout link came up and carried
 * an NS announcement and a data message (wire-formats.md §1-4).
 */
#include "vt_plat.h"
#include "transport/virtio/rsc_table.h"
#include "transport/virtio/vring.h"

static void test_rsc_table_bytes(void **state)
{
    (void)state;
    static const uint8_t want[] = {
        /* header: ver 1, num 1, reserved, offset[0] = 20 */
        1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0,
        /* vdev: type 3, id 7, notifyid 5, dfeatures 1, gfeatures 0, config_len 0 */
        3, 0, 0, 0, 7, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        /* status 0, num_of_vrings 2, reserved (gen 0x11, ack 0x22) */
        0, 2, 0x11, 0x22,
        /* vring0: da 0x4000, align 0x1000, num 256, notifyid 1, reserved */
        0x00, 0x40, 0, 0, 0x00, 0x10, 0, 0, 0x00, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
        /* vring1: da 0x8000, align 0x1000, num 256, notifyid 2, reserved */
        0x00, 0x80, 0, 0, 0x00, 0x10, 0, 0, 0x00, 0x01, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
    };
    struct rpmsg_rsc_info info = {
        .vdev_notifyid = 5,
        .dfeatures = 1,
        .gen = 0x11,
        .ack = 0x22,
        .vring = { { 0x4000, 0x1000, 256, 1 }, { 0x8000, 0x1000, 256, 2 } },
    };
    _Alignas(8) uint8_t buf[256];
    memset(buf, 0xEE, sizeof(buf));
    rpmsg_rsc_write(buf, &info, 0);
    assert_int_equal(rpmsg_rsc_table_size(0), sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(buf[sizeof(want)], 0xEE); /* nothing written past it */

    /* keep_ack leaves the remote's byte alone */
    buf[RSC_VDEV_OFF + VDEV_ACK] = 0x77;
    rpmsg_rsc_write(buf, &info, 1);
    assert_int_equal(buf[RSC_VDEV_OFF + VDEV_ACK], 0x77);

    /* and it parses back */
    struct rpmsg_rsc_info out;
    assert_int_equal(rpmsg_rsc_parse(buf, sizeof(buf), 0, &out), 0);
    assert_int_equal(out.vdev_off, 20);
    assert_int_equal(out.entry_end, sizeof(want));
    assert_int_equal(out.dfeatures, 1);
    assert_int_equal(out.vring[1].da, 0x8000);
    assert_int_equal(out.vring[1].notifyid, 2);
    assert_int_equal(out.gen, 0x11);

    /* with a config space: 128 more bytes, zeroed */
    memset(buf, 0xEE, sizeof(buf));
    info.config_len = CFG_SIZE;
    rpmsg_rsc_write(buf, &info, 0);
    assert_int_equal(vt_le32(buf + RSC_VDEV_OFF + VDEV_CONFIG_LEN), 128);
    for (unsigned i = 0; i < 128; i++)
        assert_int_equal(buf[sizeof(want) + i], 0);
    assert_int_equal(buf[sizeof(want) + 128], 0xEE);
    assert_int_equal(sizeof(struct rpmsg_virtio_cfgspace), 128);
}

static void test_rsc_parse_rejects(void **state)
{
    (void)state;
    _Alignas(8) uint8_t buf[256];
    struct rpmsg_rsc_info info = { .vring = { { 0x4000, 0x1000, 256, 1 }, { 0x8000, 0x1000, 256, 2 } } };
    struct rpmsg_rsc_info out;
    memset(buf, 0, sizeof(buf));
    assert_int_equal(rpmsg_rsc_parse(buf, sizeof(buf), 0, &out), -EAGAIN); /* not written */
    rpmsg_rsc_write(buf, &info, 0);
    assert_int_equal(rpmsg_rsc_parse(buf, sizeof(buf), 0, &out), 0);
    assert_int_equal(rpmsg_rsc_parse(buf, 80, 0, &out), -EPROTO); /* entry past the end */
    assert_int_equal(rpmsg_rsc_parse(buf, sizeof(buf), 2, &out), -EPROTO); /* misaligned */
    buf[4] = 200; /* num of entries */
    assert_int_equal(rpmsg_rsc_parse(buf, sizeof(buf), 0, &out), -EPROTO);
    buf[4] = 1;
    buf[16] = 0xF0; /* entry offset outside */
    assert_int_equal(rpmsg_rsc_parse(buf, sizeof(buf), 0, &out), -EPROTO);
    buf[16] = 20;
    buf[RSC_VDEV_OFF + VDEV_NUM_VRINGS] = 3;
    assert_int_equal(rpmsg_rsc_parse(buf, sizeof(buf), 0, &out), -EPROTO);
    buf[RSC_VDEV_OFF + VDEV_NUM_VRINGS] = 2;
    buf[RSC_VDEV_OFF + VDEV_CONFIG_LEN + 3] = 0x80; /* config_len 2 GiB */
    assert_int_equal(rpmsg_rsc_parse(buf, sizeof(buf), 0, &out), -EPROTO);
    buf[RSC_VDEV_OFF + VDEV_CONFIG_LEN + 3] = 0;
    buf[RSC_VDEV_OFF + VDEV_ID] = 5; /* not rpmsg */
    assert_int_equal(rpmsg_rsc_parse(buf, sizeof(buf), 0, &out), -EPROTO);
}

static void test_vring_layout(void **state)
{
    (void)state;
    /* num 256, align 0x1000: avail at da + 4096, used at the next 0x1000 boundary */
    assert_int_equal(rpmsg_vring_avail_off(256), 4096);
    assert_int_equal(rpmsg_vring_used_off(256, 0x1000), 0x2000);
    assert_int_equal(rpmsg_virtio_vring_size(256, 0x1000), 0x2000 + 6 + 8 * 256);
    /* Linux's vring_size() for a small ring */
    assert_int_equal(rpmsg_vring_used_off(16, 4), (16 * 16 + 2 * (3 + 16) + 3) & ~3);
    assert_int_equal(rpmsg_virtio_vring_size(16, 4), 296 + 6 + 8 * 16);
    assert_int_equal(rpmsg_virtio_vring_size(100, 0x1000), 0);

    _Alignas(4096) static uint8_t shm[0x10000];
    struct rpmsg_virtio_vq vq;
    rpmsg_vring_attach(&vq, shm, 0x4000, 256, 0x1000, 1);
    assert_ptr_equal(vq.desc, shm + 0x4000);
    assert_ptr_equal(vq.avail, shm + 0x5000);
    assert_ptr_equal(vq.used, shm + 0x6000);

    /* the driver's add lands where the spec says */
    rpmsg_vring_drv_add(&vq, 3, 0x12345678abull, 512, VRING_DESC_F_WRITE);
    rpmsg_vring_drv_publish(&vq);
    assert_int_equal(vt_le64(shm + 0x4000 + 3 * 16), 0x12345678abull);
    assert_int_equal(vt_le32(shm + 0x4000 + 3 * 16 + 8), 512);
    assert_int_equal(vt_le16(shm + 0x4000 + 3 * 16 + 12), 2);
    assert_int_equal(vt_le16(shm + 0x5000 + 2), 1); /* avail.idx */
    assert_int_equal(vt_le16(shm + 0x5000 + 4), 3); /* avail.ring[0] */

    /* and the device's used entry */
    struct rpmsg_virtio_vq dev;
    rpmsg_vring_attach(&dev, shm, 0x4000, 256, 0x1000, 1);
    uint16_t id;
    assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &id), 1);
    assert_int_equal(id, 3);
    rpmsg_vring_dev_put_used(&dev, 3, 77);
    rpmsg_vring_dev_publish(&dev);
    assert_int_equal(vt_le16(shm + 0x6000 + 2), 1);
    assert_int_equal(vt_le32(shm + 0x6000 + 4), 3);
    assert_int_equal(vt_le32(shm + 0x6000 + 8), 77);
    uint32_t uid, ulen;
    assert_int_equal(rpmsg_vring_drv_get_used(&vq, &uid, &ulen), 1);
    assert_int_equal(uid, 3);
    assert_int_equal(ulen, 77);

    /* event indices: used_event after avail.ring, avail_event after used.ring */
    rpmsg_vring_drv_intr(&vq, true, true);
    assert_int_equal(vt_le16(shm + 0x5000 + 4 + 2 * 256), 1);
    rpmsg_vring_dev_notify(&dev, true, true);
    assert_int_equal(vt_le16(shm + 0x6000 + 4 + 8 * 256), 1);
    assert_true(rpmsg_vring_need_event(0, 1, 0));
    assert_false(rpmsg_vring_need_event(0, 2, 1));
    assert_true(rpmsg_vring_need_event(5, 10, 3));
    assert_true(rpmsg_vring_need_event(0xFFFF, 0, 0xFFFF));

    /* an idx that ran ahead by more than num is refused */
    shm[0x5000 + 2] = 0x02;
    shm[0x5000 + 3] = 0x02; /* 0x0202 - 1 > 256 */
    assert_int_equal(rpmsg_vring_dev_get_avail(&dev, &id), -EPROTO);
}

static void test_default_layout(void **state)
{
    (void)state;
    struct rpmsg_virtio_layout l;
    size_t sz = rpmsg_virtio_layout_default(&l, NULL);
    assert_int_equal(l.rsc_offset, 0);
    assert_int_equal(l.vring_da[0], 0x1000);
    assert_int_equal(l.vring_da[1], 0x4000);
    assert_int_equal(l.num[0], 256);
    assert_int_equal(l.num[1], 256);
    assert_int_equal(l.buf_offset, 0x7000);
    assert_int_equal(l.pool_size, 512 * 512);
    assert_int_equal(sz, 0x7000 + 512 * 512);
    assert_int_equal(rpmsg_virtio_layout_check(&l, sz), 0);
    assert_int_equal(rpmsg_virtio_layout_check(&l, sz - 1), -EINVAL);

    assert_int_equal(rpmsg_virtio_layout_openamp(&l), 0x80000);
    assert_int_equal(l.vring_da[0], 0x4000);
    assert_int_equal(l.vring_da[1], 0x8000);
    assert_int_equal(l.notifyid[0], 1);
    assert_int_equal(l.notifyid[1], 2);
    assert_int_equal(l.buf_offset, 0x10000);
    assert_int_equal(l.buf_offset + l.pool_size, 0x50000);
    assert_int_equal(rpmsg_virtio_layout_check(&l, 0x80000), 0);

    struct rpmsg_virtio_layout_params p = { .num = { 64, 16 }, .buf_size = { 2048, 512 }, .align = 64 };
    sz = rpmsg_virtio_layout_default(&l, &p);
    assert_int_not_equal(sz, 0);
    assert_int_equal(l.pool_size, 64 * 2048 + 16 * 512);
    assert_int_equal(rpmsg_virtio_layout_check(&l, sz), 0);
    p.num[0] = 3;
    assert_int_equal(rpmsg_virtio_layout_default(&l, &p), 0);
}

/* The region after an OpenAMP-layout link carried an NS announcement and a reply. */
static void test_openamp_region(void **state)
{
    (void)state;
    struct vt_pair p;
    struct vt_opts o = {
        .openamp = true, .legacy_host = true, .legacy_remote = true,
        .hfeat = RPMSG_F_NS, .rfeat = RPMSG_F_NS, .no_rx_thread = true,
    };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    struct rpmsg_endpoint he = { 0 };
    assert_int_equal(rpmsg_create_ept(&he, p.h, "rpmsg-openamp-demo-channel", 0x400,
                                      RPMSG_ADDR_ANY, NULL, NULL), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    assert_true(tu_poll_idle(p.h, p.r) >= 0);
    const uint8_t *s = p.shm;

    /* table: one vdev, dfeatures = NS, no config, DRIVER_OK, gfeatures = NS */
    assert_int_equal(vt_le32(s + 0), 1);
    assert_int_equal(vt_le32(s + 4), 1);
    assert_int_equal(vt_le32(s + 16), 20);
    assert_int_equal(vt_le32(s + 20), 3);
    assert_int_equal(vt_le32(s + 24), 7);
    assert_int_equal(vt_le32(s + 32), 1);       /* dfeatures */
    assert_int_equal(vt_le32(s + 36), 1);       /* gfeatures */
    assert_int_equal(vt_le32(s + 40), 0);       /* config_len */
    assert_int_equal(s[44], 0x0f);              /* status */
    assert_int_equal(s[45], 2);
    assert_int_equal(vt_le32(s + 48), 0x4000);
    assert_int_equal(vt_le32(s + 56), 256);
    assert_int_equal(vt_le32(s + 60), 1);
    assert_int_equal(vt_le32(s + 68), 0x8000);
    assert_int_equal(vt_le32(s + 80), 2);

    /* vring0: the host's 256 RX buffers, 0x10000.., writable */
    const uint8_t *d0 = s + 0x4000, *a0 = s + 0x5000, *u0 = s + 0x6000;
    assert_int_equal(vt_le16(a0 + 2), 256);
    for (unsigned i = 0; i < 256; i++) {
        assert_int_equal(vt_le64(d0 + 16 * i), 0x10000 + 512 * i);
        assert_int_equal(vt_le32(d0 + 16 * i + 8), 512);
        assert_int_equal(vt_le16(d0 + 16 * i + 12), 2);
        assert_int_equal(vt_le16(a0 + 4 + 2 * i), i);
    }
    /* suppression as in OpenAMP: remote NO_NOTIFY on vring0 used, host NO_INTERRUPT on vring1 avail */
    assert_int_equal(vt_le16(u0), 1);
    const uint8_t *d1 = s + 0x8000, *a1 = s + 0x9000, *u1 = s + 0xA000;
    assert_int_equal(vt_le16(a1), 1);
    assert_int_equal(vt_le16(u1), 0);
    assert_int_equal(vt_le16(a0), 0);

    /* the NS announcement went host→remote in TX buffer 0 at 0x30000 */
    assert_int_equal(vt_le16(a1 + 2), 1);
    assert_int_equal(vt_le16(a1 + 4), 0);
    assert_int_equal(vt_le64(d1), 0x30000);
    assert_int_equal(vt_le32(d1 + 8), 16 + 40);
    assert_int_equal(vt_le16(d1 + 12), 0);
    /* consumed, and waiting in the remote's backlog of eight: the host does
     * not wait for TX buffers (NO_INTERRUPT above) */
    assert_int_equal(vt_le16(u1 + 2), 0);
    static const uint8_t ns[56] = {
        0x00, 0x04, 0, 0, 0x35, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0,
        'r', 'p', 'm', 's', 'g', '-', 'o', 'p', 'e', 'n', 'a', 'm', 'p', '-', 'd', 'e',
        'm', 'o', '-', 'c', 'h', 'a', 'n', 'n', 'e', 'l', 0, 0, 0, 0, 0, 0,
        0x00, 0x04, 0, 0, 0, 0, 0, 0,
    };
    assert_memory_equal(s + 0x30000, ns, sizeof(ns));
    /* seven more (to an address nobody has) and the eight go back at once */
    for (int i = 0; i < 7; i++)
        assert_int_equal(rpmsg_sendto(&he, "x", 1, 0x7777), 1);
    assert_int_equal(rpmsg_poll(p.r), 7);
    assert_int_equal(vt_le16(u1 + 2), 8);
    assert_int_equal(vt_le32(u1 + 4), 0);
    assert_int_equal(vt_le32(u1 + 8), 16 + 40); /* used.len: the descriptor's length */
    assert_int_equal(vt_le32(u1 + 4 + 7 * 8), 7);
    assert_int_equal(vt_le32(u1 + 8 + 7 * 8), 16 + 1);

    /* a reply remote→host fills the first RX buffer the host posted */
    struct rpmsg_endpoint re = { 0 };
    assert_int_equal(rpmsg_create_ept(&re, p.r, NULL, 0x401, 0x400, NULL, NULL), 0);
    assert_int_equal(rpmsg_send(&re, "hello", 5), 5);
    assert_int_equal(vt_le16(u0 + 2), 1);
    assert_int_equal(vt_le32(u0 + 4), 0);       /* id */
    assert_int_equal(vt_le32(u0 + 8), 16 + 5);  /* len */
    static const uint8_t msg[21] = {
        0x01, 0x04, 0, 0, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o',
    };
    assert_memory_equal(s + 0x10000, msg, sizeof(msg));

    rpmsg_destroy_ept(&re);
    rpmsg_destroy_ept(&he);
    vt_pair_close(&p);
}

static void test_da_to_va(void **state)
{
    (void)state;
    struct vt_pair p;
    assert_int_equal(vt_pair_open(&p, NULL), 0);
    assert_ptr_equal(rpmsg_virtio_da_to_va(p.host, 0, 16), p.shm);
    assert_ptr_equal(rpmsg_virtio_da_to_va(p.host, p.size - 16, 16), p.shm + p.size - 16);
    assert_null(rpmsg_virtio_da_to_va(p.host, p.size - 15, 16));
    assert_null(rpmsg_virtio_da_to_va(p.host, UINT64_MAX, 2));
    assert_null(rpmsg_virtio_da_to_va(p.host, 0x100000000ull, 0));
    vt_pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsc_table_bytes),
        cmocka_unit_test(test_rsc_parse_rejects),
        cmocka_unit_test(test_vring_layout),
        cmocka_unit_test(test_default_layout),
        cmocka_unit_test(test_openamp_region),
        cmocka_unit_test(test_da_to_va),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
