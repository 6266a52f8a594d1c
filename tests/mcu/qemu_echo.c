/*
 * On an emulated Cortex-M4 (QEMU mps2-an386, semihosting): the VirtIO host and
 * remote of one image share a static region, both poll-driven with the MCU
 * profile. The remote announces "echo" and echoes from its callback; the
 * host sends 10,000 messages of 1-496 B in bursts and checks every echo's
 * length, contents and order. With ECHO_BLOCKING the remote answers with
 * blocking sends and gets only 2 buffers to answer a burst of 8, so its
 * sends must wait inside the callback (the run fails if none did);
 * otherwise it answers with rpmsg_trysendto, which must never fail.
 * With ECHO_LEAN the remote is the lean remote (rpmsg_lean.h) and the host
 * the full library's, linked side by side; ECHO_LEGACY: the legacy handshake
 * (the lean remote built with RPMSG_VIRTIO_GENACK 0, the host offering NS
 * only, as a lean remote asks).
 * Prints PASS and exits 0, or prints why and exits non-zero.
 */
#include <string.h>

#include "board.h"
#include "rpmsg/rpmsg_virtio.h"
#ifdef ECHO_LEAN
#include "rpmsg/rpmsg_lean.h"
#endif

#define MSGS 10000u
#define MAX_LEN 496u
#define BURST 8u
#ifdef ECHO_BLOCKING
#define HOST_RX_NUM 2u /* the remote's TX buffers */
#else
#define HOST_RX_NUM 8u
#endif

static uint8_t shm[0x3000] __attribute__((aligned(8)));
static struct rpmsg_virtio host;
static struct rpmsg_endpoint host_ept;
#ifdef ECHO_LEAN
static struct rpmsg_lean remote;
static struct rpmsg_lean_ept remote_ept;
typedef struct rpmsg_lean_ept remote_ept_t;
#define remote_sendto rpmsg_lean_sendto
#define remote_trysendto rpmsg_lean_trysendto
#define remote_poll() rpmsg_lean_poll(&remote)
#else
static struct rpmsg_virtio remote;
static struct rpmsg_endpoint remote_ept;
typedef struct rpmsg_endpoint remote_ept_t;
#define remote_sendto rpmsg_sendto
#define remote_trysendto rpmsg_trysendto
#define remote_poll() rpmsg_poll(rpmsg_virtio_get_device(&remote))
#endif
static unsigned sent, echoed, polling_peer, remote_waits;
static int failed;

static void put_uint(const char *label, uint32_t v)
{
    char buf[16];
    char *p = buf + sizeof(buf);
    *--p = 0;
    *--p = '\n';
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    board_puts(label);
    board_puts(p);
}

static void fail(const char *why, uint32_t value)
{
    if (!failed)
        put_uint(why, value);
    failed = 1;
}

static uint32_t len_of(unsigned i)
{
    return i % MAX_LEN + 1;
}

static void fill(uint8_t *p, unsigned i)
{
    for (uint32_t j = 0; j < len_of(i); j++)
        p[j] = (uint8_t)(i * 7u + j * 13u);
}

/* Both sides live in this one context: a side that has to wait runs the
 * other (not itself again: a wait inside that run just returns). */
static int notify(void *plat, uint32_t notifyid)
{
    (void)plat;
    (void)notifyid;
    return 0;
}

static int run_peer(void *plat, uint64_t deadline_ms)
{
    (void)deadline_ms;
    if (polling_peer)
        return 0;
    polling_peer = 1;
    if (plat == &host) {
        remote_waits++;
        rpmsg_poll(rpmsg_virtio_get_device(&host));
    } else {
        remote_poll();
    }
    polling_peer = 0;
    return 0;
}

static const struct rpmsg_virtio_platform_ops ops = { .notify = notify, .wait = run_peer };

static int remote_cb(remote_ept_t *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
#ifdef ECHO_BLOCKING
    int r = remote_sendto(e, data, len, src);
#else
    int r = remote_trysendto(e, data, len, src);
#endif
    if (r != (int)len)
        fail("FAIL remote send returned -", (uint32_t)-r);
    return 0;
}

static int host_cb(struct rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)e;
    (void)src;
    (void)priv;
    static uint8_t want[MAX_LEN];
    if (echoed >= sent) {
        fail("FAIL echo never sent, after message ", echoed);
        return 0;
    }
    fill(want, echoed);
    if ((len != len_of(echoed) || memcmp(data, want, len)) && !failed) {
        put_uint("length ", (uint32_t)len);
        put_uint("first byte ", ((uint8_t *)data)[0]);
        fail("FAIL wrong echo (length or contents, or out of order) of message ", echoed);
    }
    echoed++;
    return 0;
}

static int init(struct rpmsg_virtio *vd, enum rpmsg_virtio_role role, void *peer,
                const struct rpmsg_virtio_layout *lay)
{
    const struct rpmsg_virtio_config cfg = {
        .role = role,
        .shm = shm,
        .shm_size = sizeof(shm),
        .layout = lay,
        .cpuname = role == RPMSG_VIRTIO_HOST ? "host" : "mcu",
        .ops = &ops,
        .plat = peer,
        .no_rx_thread = true,
#ifdef ECHO_LEGACY
        .legacy = true,
        .features = RPMSG_F_NS,
#endif
    };
    return rpmsg_virtio_init(vd, &cfg);
}

int main(void)
{
    board_systick_start(25000000u);
    struct rpmsg_virtio_layout lay;
    const struct rpmsg_virtio_layout_params params = {
        .num = { HOST_RX_NUM, 8 }, .buf_size = { 512, 512 }, .align = 16 };
    if (!rpmsg_virtio_layout_default(&lay, &params) || init(&host, RPMSG_VIRTIO_HOST, &remote, &lay) ||
#ifdef ECHO_LEAN
        rpmsg_lean_init(&remote, shm, sizeof(shm), &lay, &ops, &host)) {
#else
        init(&remote, RPMSG_VIRTIO_REMOTE, &host, &lay)) {
#endif
        board_puts("FAIL init\n");
        return 1;
    }
    struct rpmsg_device *h = rpmsg_virtio_get_device(&host);
#ifdef ECHO_LEAN
    if (rpmsg_lean_create_ept(&remote_ept, &remote, "echo", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, remote_cb,
                              NULL) ||
#else
    if (rpmsg_create_ept(&remote_ept, rpmsg_virtio_get_device(&remote), "echo", RPMSG_ADDR_ANY,
                         RPMSG_ADDR_ANY, remote_cb, NULL) ||
#endif
        rpmsg_create_ept(&host_ept, h, "echo", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, host_cb, NULL)) {
        board_puts("FAIL create_ept\n");
        return 1;
    }
    /* The handshake and the announcement. */
    for (unsigned i = 0; i < 1000 && !rpmsg_is_ept_ready(&host_ept); i++) {
        rpmsg_poll(h);
        remote_poll();
    }
    if (!rpmsg_is_ept_ready(&host_ept)) {
        board_puts("FAIL the remote's announcement never bound the host's endpoint\n");
        return 1;
    }

    static uint8_t msg[MAX_LEN];
    while (echoed < MSGS && !failed) {
        for (unsigned k = 0; k < BURST && sent < MSGS; k++) {
            fill(msg, sent);
            int n = rpmsg_send(&host_ept, msg, len_of(sent));
            if (n != (int)len_of(sent)) {
                fail("FAIL host send returned -", (uint32_t)-n);
                break;
            }
            sent++;
        }
        uint32_t start = board_ms;
        while (echoed < sent && !failed) {
            int a = remote_poll(), b = rpmsg_poll(h);
            if (a < 0 || b < 0)
                fail("FAIL poll returned -", (uint32_t)-(a < 0 ? a : b));
            if (board_ms - start > 10000)
                fail("FAIL no echo for 10 s, after message ", echoed);
        }
    }
#ifdef ECHO_LEAN
    uint32_t waited = remote_waits; /* the lean remote keeps no statistics */
#else
    struct rpmsg_stats rs;
    rpmsg_get_stats(rpmsg_virtio_get_device(&remote), &rs);
    uint32_t waited = (uint32_t)rs.tx_waits;
#endif
#ifdef ECHO_BLOCKING
    if (!failed && waited == 0)
        fail("FAIL the remote's sends never had to wait: ", 0);
#endif
    if (failed)
        return 1;
    put_uint("echoes checked: ", echoed);
    put_uint("remote sends that waited: ", waited);
    board_puts("PASS\n");
    return 0;
}
