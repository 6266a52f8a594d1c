/*
 * Core dispatch cost: messages sent and dispatched through the loopback
 * transport in one thread (rpmsg_poll), to 10 and to 10,000 endpoints picked
 * at random. Dispatch looks endpoints up by direct index, so the two figures
 * should match. The machine's limit in the same run: a bare copy of the same
 * payload into a ring slot and back, i.e. what any transport must at least do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpmsg/rpmsg_loopback.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned long delivered;

static int count_cb(struct rpmsg_endpoint *e, void *d, size_t l, uint32_t s, void *p)
{
    (void)e, (void)d, (void)l, (void)s, (void)p;
    delivered++;
    return 0;
}

/* ns per message, send + dispatch, to n endpoints at random addresses. */
static double run(unsigned n, unsigned msgs, unsigned size)
{
    struct rpmsg_loopback_config cfg = { .num_bufs = 64, .no_rx_thread = true };
    struct rpmsg_loopback *lb;
    if (rpmsg_loopback_create(&lb, &cfg))
        return -1;
    struct rpmsg_device *a = rpmsg_loopback_dev_a(lb), *b = rpmsg_loopback_dev_b(lb);
    struct rpmsg_endpoint *epts = calloc(n, sizeof(*epts));
    uint32_t *order = malloc(msgs * sizeof(uint32_t));
    struct rpmsg_endpoint tx;
    memset(&tx, 0, sizeof(tx));
    rpmsg_create_ept(&tx, a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL, NULL);
    for (unsigned i = 0; i < n; i++)
        rpmsg_create_ept(&epts[i], b, NULL, RPMSG_ADDR_ANY, 0x1, count_cb, NULL);
    srand(1);
    for (unsigned i = 0; i < msgs; i++)
        order[i] = epts[(unsigned)rand() % n].addr;
    uint8_t payload[496] = { 0 };
    delivered = 0;
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < msgs; i++) {
        if (rpmsg_trysendto(&tx, payload, size, order[i]) < 0) {
            rpmsg_poll(b);
            rpmsg_poll(a);
            i--;
            continue;
        }
        if ((i & 31) == 31)
            rpmsg_poll(b);
    }
    while (rpmsg_poll(b) > 0)
        ;
    uint64_t t1 = now_ns();
    double ns = delivered == msgs ? (double)(t1 - t0) / msgs : -1;
    for (unsigned i = 0; i < n; i++)
        rpmsg_destroy_ept(&epts[i]);
    rpmsg_destroy_ept(&tx);
    rpmsg_loopback_destroy(lb);
    free(epts);
    free(order);
    return ns;
}

static double bare_copy(unsigned msgs, unsigned size)
{
    static uint8_t ring[64][512], out[512], payload[496];
    volatile uint8_t sink = 0;
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < msgs; i++) {
        uint8_t *slot = ring[i & 63];
        payload[0] = (uint8_t)i;
        memcpy(slot + 16, payload, size);
        memcpy(out, slot + 16, size);
        sink ^= out[0];
    }
    (void)sink;
    return (double)(now_ns() - t0) / msgs;
}

int main(int argc, char **argv)
{
    bool json = argc > 1 && !strcmp(argv[1], "--json");
    const unsigned msgs = 1000000;
    unsigned sizes[] = { 16, 496 };
    double small[2], large[2], bare[2];
    for (int s = 0; s < 2; s++) {
        bare[s] = bare_copy(msgs, sizes[s]);
        small[s] = run(10, msgs, sizes[s]);
        large[s] = run(10000, msgs, sizes[s]);
    }
    if (!json) {
        printf("core dispatch (loopback, one thread, send + dispatch per message, %u msgs)\n", msgs);
        printf("%-8s %14s %16s %10s %12s %10s\n", "payload", "10 epts ns", "10000 epts ns",
               "10k/10", "bare copy ns", "x bare");
        for (int s = 0; s < 2; s++)
            printf("%-8u %14.1f %16.1f %10.3f %12.1f %10.2f\n", sizes[s], small[s], large[s],
                   large[s] / small[s], bare[s], small[s] / bare[s]);
    }
    /* The last line is always the JSON record (scripts/bench collects it). */
    {
        printf("{\"bench\":\"core\",\"results\":[");
        for (int s = 0; s < 2; s++)
            printf("%s{\"payload\":%u,\"ns_per_msg_10_epts\":%.1f,\"ns_per_msg_10000_epts\":%.1f,"
                   "\"ratio_10000_vs_10\":%.3f,\"bare_copy_ns\":%.1f,\"ratio_to_bare\":%.2f}",
                   s ? "," : "", sizes[s], small[s], large[s], large[s] / small[s], bare[s],
                   small[s] / bare[s]);
        printf("]}\n");
    }
    return 0;
}
