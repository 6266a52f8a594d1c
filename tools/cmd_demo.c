/*
 * `rpmsg demo`: two cores in one process over the loopback transport. Core
 * "b" registers an echo service; core "a" creates an endpoint of the same
 * name, the name service binds the two, and "a" streams messages with
 * sequence numbers and checksums through the echo and checks every one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpmsg/rpmsg_loopback.h"
#include "opt.h"
#include "payload.h"
#include "tools.h"

#define SVC "rpmsg-demo-echo"
#define DEMO_SIZE_MAX 496u /* a 512-byte buffer less the rpmsg header */
#define DEMO_COUNT_MAX 100000000u

struct demo {
    struct rpmsg_endpoint echo; /* on b */
    struct rpmsg_sem bound, done;
    unsigned long expect, received, errors;
    unsigned count;
};

static int echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    int r = rpmsg_sendto(ept, data, len, src);
    return r < 0 ? r : 0;
}

static bool match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)rdev, (void)priv, (void)dest;
    return !strcmp(name, SVC);
}

static void bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    struct demo *d = priv;
    if (rpmsg_create_ept(&d->echo, rdev, name, RPMSG_ADDR_ANY, dest, echo_cb, NULL) == 0)
        printf("  b: service '%s' bound: local 0x%x -> remote 0x%x\n", name, d->echo.addr, dest);
}

static int a_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    struct demo *d = priv;
    uint32_t seq = 0;
    if (payload_check(data, len, &seq) || seq != d->expect)
        d->errors++;
    if (len >= PAYLOAD_MIN)
        d->expect = seq + 1;
    if (++d->received == d->count)
        rpmsg_post(ept, &d->done);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg demo [--count N] [--size BYTES]\n"
               "Two cores over the in-process loopback link: discovery, echo, checks.\n"
               "  --count N      messages, 1..%u (default 20000)\n"
               "  --size BYTES   payload, %u..%u (default %u)\n",
            DEMO_COUNT_MAX, PAYLOAD_MIN, DEMO_SIZE_MAX, DEMO_SIZE_MAX);
}

static int run(int argc, char **argv)
{
    uint32_t count = 20000, size = DEMO_SIZE_MAX;
    static const struct option opts[] = {
        { "count", required_argument, NULL, 'n' },
        { "size", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "n:s:h", opts, NULL)) != -1) {
        int k = 0;
        switch (c) {
        case 'n': k = opt_u32("count", optarg, 1, DEMO_COUNT_MAX, &count); break;
        case 's': k = opt_u32("size", optarg, PAYLOAD_MIN, DEMO_SIZE_MAX, &size); break;
        case 'h': usage(stdout); return TOOL_OK;
        default: usage(stderr); return TOOL_USAGE;
        }
        if (k)
            return TOOL_USAGE;
    }
    if (optind < argc) {
        tool_err("unexpected argument '%s'", argv[optind]);
        return TOOL_USAGE;
    }

    static struct demo d;
    d.count = count;
    rpmsg_sem_init(&d.done, 0);
    printf("rpmsg demo: cores 'a' and 'b' over the loopback transport\n");
    int r = rpmsg_register_callback(&d, NULL, NULL, match, bind);
    struct rpmsg_loopback *lb = NULL;
    if (!r)
        r = rpmsg_loopback_create(&lb, NULL);
    if (r) {
        fprintf(stderr, "rpmsg demo: setup failed: %s\n", rpmsg_strerror(r));
        return 1;
    }
    struct rpmsg_device *a = rpmsg_loopback_dev_a(lb);
    printf("  link up: %s <-> %s, features 0x%x\n", rpmsg_get_local_cpuname(a),
           rpmsg_get_cpuname(a), rpmsg_get_features(a));

    struct rpmsg_endpoint ept;
    ept.priv = &d;
    r = rpmsg_create_ept(&ept, a, SVC, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, a_cb, NULL);
    if (r) {
        fprintf(stderr, "rpmsg demo: create endpoint: %s\n", rpmsg_strerror(r));
        return 1;
    }
    printf("  a: endpoint '%s' at 0x%x announced\n", SVC, ept.addr);

    uint8_t buf[DEMO_SIZE_MAX];
    uint64_t t0 = rpmsg_time_ms();
    for (uint32_t i = 0; i < count && r >= 0; i++) {
        payload_fill(buf, size, i);
        r = rpmsg_send(&ept, buf, size); /* waits for the binding, then for buffers */
    }
    if (r >= 0)
        r = rpmsg_wait_timeout(&ept, &d.done, 10000);
    uint64_t ms = rpmsg_time_ms() - t0;
    printf("  a: bound to 0x%x; sent %u, echoed back %lu, errors %lu\n", ept.dest_addr, count,
           d.received, d.errors);

    struct rpmsg_stats st;
    rpmsg_get_stats(a, &st);
    printf("  link a: tx %llu msgs / %llu bytes, rx %llu msgs, drops %llu\n",
           (unsigned long long)st.tx_msgs, (unsigned long long)st.tx_bytes,
           (unsigned long long)st.rx_msgs,
           (unsigned long long)(st.drop_bad_header + st.drop_unknown_dst + st.drop_bad_ns));
    if (ms)
        printf("  %.0f messages/s echoed (%u bytes each way, pipelined)\n", count * 1000.0 / (double)ms, size);

    /* Every way the run can have gone wrong, in one figure. */
    unsigned long long errors = d.errors + (count - d.received) + (r < 0) + st.drop_bad_header +
                                st.drop_unknown_dst + st.drop_bad_ns;
    printf("  errors: %llu\n", errors);
    bool ok = errors == 0;
    rpmsg_destroy_ept(&ept);
    rpmsg_loopback_destroy(lb);
    rpmsg_unregister_callback(&d, NULL, NULL, match, bind);
    printf("rpmsg demo: %s\n", ok ? "OK" : "FAILED");
    if (r < 0)
        fprintf(stderr, "rpmsg demo: %s\n", rpmsg_strerror(r));
    return ok ? 0 : 1;
}

const struct rpmsg_tool_cmd rpmsg_cmd_demo = {
    .name = "demo",
    .summary = "two cores over the loopback link: discovery, echo, checks",
    .run = run,
};
