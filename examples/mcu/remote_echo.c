/*
 * The minimal firmware: the VirtIO remote of an application processor, one
 * endpoint announced by name, every message echoed from its callback. It is
 * what `make footprint` measures, and a template for a real board: replace
 * the mailbox, the region's address and the wait with the board's own.
 */
#include <stdbool.h>

#include "board.h"
#if RPMSG_LEAN_REMOTE
#include "rpmsg/rpmsg_lean.h"
#else
#include "rpmsg/rpmsg_virtio.h"
#endif

/* Where the application processor placed the shared region and its layout:
 * a real board has them from its linker script and its host's setup. */
#define SHM_BASE ((void *)0x20200000u)
#define SHM_SIZE 0x4000u
#define MAILBOX ((volatile uint32_t *)0x40000000u)

#if RPMSG_LEAN_REMOTE
static struct rpmsg_lean vd;
static struct rpmsg_lean_ept ept;
#else
static struct rpmsg_virtio vd;
static struct rpmsg_endpoint ept;
#endif

static int doorbell(void *plat, uint32_t notifyid)
{
    (void)plat;
    *MAILBOX = notifyid;
    return 0;
}

static int sleep_until_kick(void *plat, uint64_t deadline_ms)
{
    (void)plat;
    (void)deadline_ms;
    __asm volatile("wfi"); /* the mailbox interrupt (or SysTick) wakes us */
    return 0;
}

static const struct rpmsg_virtio_platform_ops board_ops = {
    .notify = doorbell,
    .wait = sleep_until_kick,
};

static const struct rpmsg_virtio_layout layout = {
    .align = 16,
    .num = { 8, 8 },
    .notifyid = { 1, 2 },
    .vring_da = { 0x200, 0x400 },
    .buf_offset = 0x600,
    .buf_size = { 512, 512 },
};

#if RPMSG_LEAN_REMOTE
static int echo(struct rpmsg_lean_ept *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    return rpmsg_lean_sendto(e, data, len, src);
}

int main(void)
{
    board_systick_start(25000000u);
    if (rpmsg_lean_init(&vd, SHM_BASE, SHM_SIZE, &layout, &board_ops, NULL) ||
        rpmsg_lean_create_ept(&ept, &vd, "rpmsg-echo", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, echo, NULL))
        return 1;
    for (;;)
        if (rpmsg_lean_poll(&vd) == 0)
            board_ops.wait(NULL, 0);
}
#else
static int echo(struct rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    return rpmsg_sendto(e, data, len, src);
}

int main(void)
{
    const struct rpmsg_virtio_config cfg = {
        .role = RPMSG_VIRTIO_REMOTE,
        .shm = SHM_BASE,
        .shm_size = SHM_SIZE,
        .layout = &layout,
        .cpuname = "mcu",
        .ops = &board_ops,
        .no_rx_thread = true,
    };
    board_systick_start(25000000u);
    if (rpmsg_virtio_init(&vd, &cfg))
        return 1;
    struct rpmsg_device *rdev = rpmsg_virtio_get_device(&vd);
    if (rpmsg_create_ept(&ept, rdev, "rpmsg-echo", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, echo, NULL))
        return 1;
    for (;;)
        if (rpmsg_poll(rdev) == 0)
            board_ops.wait(NULL, 0);
}
#endif
