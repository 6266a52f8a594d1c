/*
 * The VirtIO transport against a peer that writes arbitrary bytes into the
 * shared region. Each input brings up a fresh host/remote pair (poll-driven)
 * over a heap region of exactly the layout's size, so that any access
 * outside it is an ASan report, then replays records
 *     [u8 what][u16 offset][u8 n][n bytes]
 * as writes into vring0, vring1, the buffer pool or the resource table
 * (what & 3), each followed by a poll of one side and, now and then, a send,
 * so the garbage meets the RX path, TX reclaim and the handshake at every
 * stage. Afterwards both sides must still be able to poll and shut down.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpmsg/rpmsg_virtio.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!shm)
        setup();
    memset(shm, 0, shm_size);
    struct rpmsg_virtio_config c = {
        .shm = shm, .shm_size = shm_size, .layout = &layout, .ops = &f_ops, .no_rx_thread = true,
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
    size_t i = 0;
    while (i + 4 <= size) {
        uint8_t what = data[i];
        uint32_t off = (uint32_t)(data[i + 1] | data[i + 2] << 8);
        size_t n = data[i + 3];
        i += 4;
        if (n > size - i)
            n = size - i;
        const uint32_t base = area[what & 3].off, len = area[what & 3].len;
        for (size_t k = 0; k < n; k++)
            shm[base + (off + k) % len] = data[i + k];
        i += n;
        rpmsg_poll(what & 0x80 ? h : r);
        if (what & 0x40)
            rpmsg_trysend(what & 0x20 ? &he : &re, data + i - n, n < 64 ? n : 64);
    }
    for (int k = 0; k < 4; k++) {
        rpmsg_poll(h);
        rpmsg_poll(r);
    }
    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    rpmsg_virtio_deinit(remote);
    rpmsg_virtio_deinit(host);
    return 0;
}
