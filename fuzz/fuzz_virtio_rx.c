/*
 * The VirtIO transport against a peer that writes into the shared region.
 * Each input brings up a fresh host/remote pair (poll-driven) over a heap
 * region of exactly the layout's size, so that any access outside it is an
 * ASan report, then replays records [u8 what] + arguments:
 *
 *   what & 7 = 0..3  raw bytes [u16 offset][u8 n][n bytes] into vring0,
 *                    vring1, the buffer pool or the resource table
 *              4     a descriptor field [u8 sel][u8 v]: address (a pool
 *                    buffer, its end, outside), length (around the buffer
 *                    size), flags (NEXT, WRITE, INDIRECT), next (in or out
 *                    of range, loops)
 *              5     an avail field: idx moved from where it is, an entry
 *              6     a used field: idx moved, an entry's id or length
 *              7     a resource-table field: status, gen, ack, vring count,
 *                    config length
 *
 * each followed by a poll of one side (what & 0x80) and, now and then, a
 * send (what & 0x40), so that the writes meet the RX path, TX reclaim and
 * the handshake at every stage. Field writes aim at what the checks look
 * at, with values near the edges, which raw bytes rarely hit. Afterwards
 * both sides must still be able to poll and shut down. Every input runs
 * twice: over split rings, then over packed ones (RPMSG_VIRTIO_F_RING_PACKED).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "rpmsg/rpmsg_virtio.h"
#include "transport/virtio/rsc_table.h"
#include "transport/virtio/vring.h"

static uint8_t *shm;
static size_t shm_size;
static struct rpmsg_virtio_layout layout;
static struct rpmsg_virtio *host, *remote;
static unsigned long delivered;

static int f_notify(void *plat, uint32_t id)
{
    (void)plat, (void)id;
    return 0;
}

static int f_wait(void *plat, uint64_t deadline)
{
    (void)plat, (void)deadline;
    return -ETIMEDOUT;
}

static void f_wakeup(void *plat)
{
    (void)plat;
}

static const struct rpmsg_virtio_platform_ops f_ops = {
    .notify = f_notify, .wait = f_wait, .wakeup = f_wakeup,
};

static int cb(struct rpmsg_endpoint *e, void *d, size_t l, uint32_t s, void *p)
{
    (void)e, (void)d, (void)l, (void)s, (void)p;
    delivered++;
    return 0;
}

static void setup(void)
{
    struct rpmsg_virtio_layout_params p = { .num = { 16, 16 }, .align = 64 };
    shm_size = rpmsg_virtio_layout_default(&layout, &p);
    shm = aligned_alloc(64, (shm_size + 63) & ~(size_t)63);
    host = calloc(1, sizeof(*host));
    remote = calloc(1, sizeof(*remote));
    if (!shm || !host || !remote)
        abort();
}

static void st16(uint32_t off, uint16_t v)
{
    shm[off] = (uint8_t)v;
    shm[off + 1] = (uint8_t)(v >> 8);
}

static void st32(uint32_t off, uint32_t v)
{
    st16(off, (uint16_t)v);
    st16(off + 2, (uint16_t)(v >> 16));
}

static uint16_t ld16(uint32_t off)
{
    return (uint16_t)(shm[off] | shm[off + 1] << 8);
}

/* One field of a vring or of the resource table, to a value near an edge. */
static void field(unsigned kind, uint8_t sel, uint8_t v)
{
    static const uint32_t lens[8] = { 0, 1, 16, 511, 512, 513, 0x10000, 0xFFFFFFFFu };
    const uint32_t num = 16, ring = layout.vring_da[sel & 1];
    const uint32_t slot = (sel >> 1) % (num + 2); /* two past the end */
    const uint32_t avail = ring + (uint32_t)rpmsg_vring_avail_off(num);
    const uint32_t used = ring + (uint32_t)rpmsg_vring_used_off(num, layout.align);
    switch (kind) {
    case 4: {
        uint32_t d = ring + (slot % num) * VRING_DESC_SIZE;
        switch (sel >> 5 & 3) {
        case 0: { /* addr: a pool buffer, one past the pool, or far away */
            uint64_t a = v & 0x80 ? (uint64_t)v << 56 | v
                                  : (uint64_t)layout.buf_offset + (uint64_t)(v % 40) * 512u - (v & 0x40 ? 8 : 0);
            st32(d, (uint32_t)a);
            st32(d + 4, (uint32_t)(a >> 32));
            break;
        }
        case 1:
            st32(d + 8, v & 0x80 ? lens[v % 8] : v * 4u);
            break;
        case 2:
            st16(d + 12, v & 7);
            break;
        default:
            st16(d + 14, v % (num + 4));
            break;
        }
        break;
    }
    case 5:
        if (sel & 0x20)
            st16(avail + 4 + (slot % num) * 2, v % (num + 4));
        else
            st16(avail + 2, (uint16_t)(ld16(avail + 2) + (int8_t)v));
        break;
    case 6:
        if (sel & 0x20)
            st32(used + 4 + (slot % num) * VRING_USED_ELEM_SIZE, v % (num + 4));
        else if (sel & 0x40)
            st32(used + 8 + (slot % num) * VRING_USED_ELEM_SIZE, lens[v % 8]);
        else
            st16(used + 2, (uint16_t)(ld16(used + 2) + (int8_t)v));
        break;
    default: {
        static const uint32_t fields[6] = { VDEV_STATUS, VDEV_GEN, VDEV_ACK, VDEV_NUM_VRINGS,
                                            VDEV_CONFIG_LEN, VDEV_VRINGS + 8 };
        uint32_t at = layout.rsc_offset + RSC_VDEV_OFF + fields[sel % 6];
        if (sel % 6 >= 4)
            st32(at, v & 0x80 ? lens[v % 8] : v);
        else
            shm[at] = v;
        break;
    }
    }
}

static void run(const uint8_t *data, size_t size, uint32_t features)
{
    memset(shm, 0, shm_size);
    struct rpmsg_virtio_config c = {
        .shm = shm, .shm_size = shm_size, .layout = &layout, .ops = &f_ops, .no_rx_thread = true,
        .features = features,
    };
    c.role = RPMSG_VIRTIO_HOST;
    if (rpmsg_virtio_init(host, &c))
        abort();
    c.role = RPMSG_VIRTIO_REMOTE;
    if (rpmsg_virtio_init(remote, &c))
        abort();
    struct rpmsg_device *h = rpmsg_virtio_get_device(host), *r = rpmsg_virtio_get_device(remote);
    for (int i = 0; i < 8; i++) {
        rpmsg_poll(h);
        rpmsg_poll(r);
    }
    if (!rpmsg_device_is_up(h) || !rpmsg_device_is_up(r))
        abort(); /* a clean region must always come up */
    struct rpmsg_endpoint he = { 0 }, re = { 0 };
    rpmsg_create_ept(&he, h, NULL, 0x400, 0x401, cb, NULL);
    rpmsg_create_ept(&re, r, NULL, 0x401, 0x400, cb, NULL);
    rpmsg_trysend(&he, "ping", 4);
    rpmsg_trysend(&re, "pong", 4);

    const struct {
        uint32_t off, len;
    } area[4] = {
        { layout.vring_da[0], (uint32_t)rpmsg_virtio_vring_size(16, layout.align) },
        { layout.vring_da[1], (uint32_t)rpmsg_virtio_vring_size(16, layout.align) },
        { layout.buf_offset, layout.pool_size },
        { layout.rsc_offset, 216 },
    };
    struct fin f = { data, size };
    while (f.n) {
        uint8_t what = fin_u8(&f);
        const uint8_t *b = NULL;
        size_t n = 0;
        if ((what & 7) < 4) {
            uint32_t off = fin_u16(&f);
            n = fin_bytes(&f, &b, fin_u8(&f));
            const uint32_t base = area[what & 3].off, len = area[what & 3].len;
            for (size_t k = 0; k < n; k++)
                shm[base + (off + k) % len] = b[k];
        } else {
            uint8_t sel = fin_u8(&f);
            field(what & 7, sel, fin_u8(&f));
        }
        rpmsg_poll(what & 0x80 ? h : r);
        if (what & 0x40) {
            static const uint8_t payload[64];
            rpmsg_trysend(what & 0x20 ? &he : &re, b ? b : payload, n < 64 ? n : 64);
        }
    }
    for (int k = 0; k < 4; k++) {
        rpmsg_poll(h);
        rpmsg_poll(r);
    }
    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    rpmsg_virtio_deinit(remote);
    rpmsg_virtio_deinit(host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!shm)
        setup();
    run(data, size, 0);
    /* The same writes against packed rings: the descriptor fields sit at the
     * same offsets, a split descriptor's flags/next are a packed one's
     * id/flags, and the raw bytes cover the rest. */
    run(data, size, RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED);
    return 0;
}
