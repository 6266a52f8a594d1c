/*
 * The core's hot path in one thread, for a profiler: N messages sent with
 * rpmsg_sendto and dispatched (rpmsg_poll) through the loopback transport,
 * one at a time, so every message pays the whole path (buffer, copy, send,
 * dispatch, callback, release). The loop is hot_loop(): run it under
 *   valgrind --tool=callgrind --toggle-collect=hot_loop bench_hotpath -n 100000
 * and divide the instruction count, and the calls of rpmsg_mutex_lock split
 * by caller (scripts/profile-hotpath), by N. Instruction and lock counts do
 * not depend on the machine's load, wall-clock time does: the ns figure
 * printed here is only indicative.
 *
 * Usage: bench_hotpath [--json] [-n N] [--size BYTES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_report.h"
#include "rpmsg/rpmsg_loopback.h"

static unsigned long delivered;

static int count_cb(struct rpmsg_endpoint *e, void *d, size_t l, uint32_t s, void *p)
{
    (void)e, (void)d, (void)l, (void)s, (void)p;
    delivered++;
    return 0;
}

/* Kept out of line: the profiler collects inside this function only. */
__attribute__((noinline)) int hot_loop(struct rpmsg_endpoint *tx, struct rpmsg_device *rx,
                                       uint32_t dst, const void *payload, unsigned size,
                                       unsigned long n)
{
    for (unsigned long i = 0; i < n; i++) {
        if (rpmsg_sendto(tx, payload, size, dst) != (int)size)
            return -1;
        if (rpmsg_poll(rx) != 1)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bool json = false;
    unsigned long n = 1000000;
    unsigned size = 16;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = (unsigned)strtoul(argv[++i], NULL, 0);
        else {
            fprintf(stderr, "usage: %s [--json] [-n N] [--size BYTES]\n", argv[0]);
            return 2;
        }
    }
    if (!n || size > 496)
        return 2;
    struct rpmsg_loopback_config cfg = { .num_bufs = 16, .no_rx_thread = true };
    struct rpmsg_loopback *lb;
    if (rpmsg_loopback_create(&lb, &cfg))
        return 1;
    static struct rpmsg_endpoint tx, rx;
    static uint8_t payload[496];
    int r = rpmsg_create_ept(&tx, rpmsg_loopback_dev_a(lb), NULL, RPMSG_ADDR_ANY,
                             RPMSG_ADDR_ANY, NULL, NULL);
    if (!r)
        r = rpmsg_create_ept(&rx, rpmsg_loopback_dev_b(lb), NULL, RPMSG_ADDR_ANY, tx.addr,
                             count_cb, NULL);
    uint64_t t0 = bench_now_ns();
    if (!r)
        r = hot_loop(&tx, rpmsg_loopback_dev_b(lb), rx.addr, payload, size, n);
    double ns = (double)(bench_now_ns() - t0) / (double)n;
    rpmsg_destroy_ept(&rx);
    rpmsg_destroy_ept(&tx);
    rpmsg_loopback_destroy(lb);
    if (r || delivered != n) {
        fprintf(stderr, "bench_hotpath: %lu of %lu delivered\n", delivered, n);
        return 1;
    }
    if (!json)
        printf("hot path (loopback, one thread): %lu msgs of %u B, %.1f ns/msg "
               "(wall clock, indicative only: profile it with callgrind)\n",
               n, size, ns);
    printf("{\"bench\":\"hotpath\",\"results\":[{\"name\":\"send_dispatch_%u\","
           "\"unit\":\"ns\",\"value\":%.1f,\"msgs\":%lu}]}\n",
           size, ns, n);
    return 0;
}
