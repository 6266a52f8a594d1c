/*
 * The Linux side of the routed cross-chip test (mcu_test.sh edge): a hub and
 * a far core "big" in this process, joined by a loopback link, the hub's
 * other link the microcontroller's UART (QEMU's pty). The microcontroller
 * runs the lean router edge (examples/mcu/uart_edge.c); big sees it as a
 * virtual device "mcu" through the hub, binds its "rpmsg-ping" by name and
 * sends COUNT messages of 1 to 64 bytes, 4 in flight, each of which must
 * come back once, intact and in order.
 *   uart_hub PTY [COUNT]      exit 0 when every echo came back right
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpmsg/rpmsg.h"
#include "rpmsg/rpmsg_link.h"
#include "rpmsg/rpmsg_loopback.h"
#include "rpmsg/rpmsg_port.h"
#include "rpmsg/rpmsg_router.h"

#define WINDOW 4u

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static uint32_t got, errors;

static size_t msg_len(uint32_t seq)
{
    return 1 + seq * 7 % 64;
}

static uint8_t msg_byte(uint32_t seq, size_t i)
{
    return (uint8_t)(seq * 31 + i);
}

static int on_echo(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)src, (void)priv;
    pthread_mutex_lock(&lock);
    uint32_t seq = got;
    bool ok = len == msg_len(seq);
    for (size_t i = 0; ok && i < len; i++)
        ok = ((const uint8_t *)data)[i] == msg_byte(seq, i);
    if (!ok)
        errors++;
    got++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits (bounded) until ready() holds, polling every 10 ms. */
static bool wait_for(bool (*ready)(void *), void *arg, double seconds)
{
    double until = now_s() + seconds;
    while (!ready(arg)) {
        if (now_s() > until)
            return false;
        nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
    }
    return true;
}

static bool vdev_up(void *arg)
{
    struct rpmsg_device *d = rpmsg_router_find(arg, "mcu");
    return d && rpmsg_device_is_up(d);
}

static bool ept_ready(void *arg)
{
    return rpmsg_is_ept_ready(arg);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: uart_hub PTY [COUNT]\n");
        return 2;
    }
    uint32_t count = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 2000;
    char spec[256];
    snprintf(spec, sizeof(spec), "uart:%s@115200", argv[1]);
    struct rpmsg_link_config lc = { .spec = spec, .cpuname = "hub", .buf_size = 256 };
    struct rpmsg_link *link;
    int rc = rpmsg_link_open(&link, &lc);
    if (rc) {
        fprintf(stderr, "uart_hub: %s: %s\n", spec, rpmsg_strerror(rc));
        return 1;
    }
    struct rpmsg_loopback_config bc = { .name_a = "hub", .name_b = "big" };
    struct rpmsg_loopback *lb;
    struct rpmsg_router *hub, *big;
    struct rpmsg_router_config hc = { .local_cpuname = "hub", .hub = true };
    struct rpmsg_router_config gc = { .local_cpuname = "big" };
    if (rpmsg_loopback_create(&lb, &bc) || rpmsg_router_create(&hub, &hc) ||
        rpmsg_router_create(&big, &gc) || rpmsg_router_attach(hub, rpmsg_link_device(link)) ||
        rpmsg_router_attach(hub, rpmsg_loopback_dev_a(lb)) ||
        rpmsg_router_attach(big, rpmsg_loopback_dev_b(lb))) {
        fprintf(stderr, "uart_hub: setup failed\n");
        return 1;
    }
    if (!wait_for(vdev_up, big, 60)) {
        fprintf(stderr, "uart_hub: no route to mcu through the hub\n");
        return 1;
    }
    struct rpmsg_device *mcu = rpmsg_router_find(big, "mcu");
    struct rpmsg_endpoint ept;
    memset(&ept, 0, sizeof(ept));
    if (rpmsg_create_ept(&ept, mcu, "rpmsg-ping", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, on_echo, NULL) ||
        !wait_for(ept_ready, &ept, 30)) {
        fprintf(stderr, "uart_hub: mcu's rpmsg-ping did not bind\n");
        return 1;
    }
    double t0 = now_s();
    uint32_t sent = 0;
    int send_errors = 0;
    while (sent < count) {
        pthread_mutex_lock(&lock);
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 10;
        int w = 0;
        while (sent - got >= WINDOW && w != ETIMEDOUT)
            w = pthread_cond_timedwait(&cond, &lock, &dl);
        pthread_mutex_unlock(&lock);
        if (w == ETIMEDOUT)
            break; /* an echo lost for good */
        uint8_t msg[64];
        size_t len = msg_len(sent);
        for (size_t i = 0; i < len; i++)
            msg[i] = msg_byte(sent, i);
        if (rpmsg_send(&ept, msg, len) != (int)len) {
            send_errors++;
            break;
        }
        sent++;
    }
    pthread_mutex_lock(&lock);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    while (got < sent && pthread_cond_timedwait(&cond, &lock, &dl) != ETIMEDOUT)
        ;
    uint32_t g = got, e = errors;
    pthread_mutex_unlock(&lock);
    struct rpmsg_router_stats hs, bs;
    struct rpmsg_stats ms;
    rpmsg_router_get_stats(hub, &hs);
    rpmsg_router_get_stats(big, &bs);
    rpmsg_get_stats(mcu, &ms);
    struct rpmsg_port_stats ps;
    if (!rpmsg_port_get_stats(rpmsg_link_device(link), &ps))
        printf("{\"connects\":%llu,\"peer_resets\":%llu,\"peer_timeouts\":%llu,\"crc_errors\":%llu,"
               "\"resyncs\":%llu,\"stale\":%llu,\"retransmits\":%llu,\"rx_frames\":%llu}\n",
               (unsigned long long)ps.connects, (unsigned long long)ps.peer_resets,
               (unsigned long long)ps.peer_timeouts, (unsigned long long)ps.crc_errors,
               (unsigned long long)ps.resyncs, (unsigned long long)ps.stale,
               (unsigned long long)ps.retransmits, (unsigned long long)ps.rx_frames);
    printf("{\"sent\":%u,\"received\":%u,\"errors\":%u,\"send_errors\":%d,\"relayed\":%llu,"
           "\"seconds\":%.1f,\"big_tunnel_rx\":%llu,\"big_drops\":%llu,\"mcu_rx\":%llu,"
           "\"mcu_drop_dst\":%llu,\"routes_down\":%llu}\n",
           sent, g, e, send_errors, (unsigned long long)hs.relayed_msgs, now_s() - t0,
           (unsigned long long)bs.tunnel_rx,
           (unsigned long long)(bs.drop_no_route + bs.drop_queue_full),
           (unsigned long long)ms.rx_msgs, (unsigned long long)ms.drop_unknown_dst,
           (unsigned long long)bs.routes_down);
    rpmsg_destroy_ept(&ept);
    rpmsg_router_destroy(big);
    rpmsg_router_destroy(hub);
    rpmsg_loopback_destroy(lb);
    rpmsg_link_close(link);
    return sent == count && g == count && !e && !send_errors ? 0 : 1;
}
