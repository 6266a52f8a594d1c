/*
 * `rpmsg ping`: finds the echo service by name, then measures round trips.
 * Latency mode (default) keeps one message in flight and drives the next send
 * from the receive callback, so no thread hand-off is measured; --window K
 * keeps K in flight for throughput. Every echo is checked (sequence, checksum).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linkopts.h"
#include "nuttx_ping.h"
#include "payload.h"
#include "stop.h"
#include "tools.h"

struct ping {
    const char *name;
    struct rpmsg_endpoint ept;
    struct rpmsg_sem bound, done;
    bool nocopy;
    uint32_t nuttx; /* 0, or the NuttX ping command sent (--nuttx) */
    unsigned size, count, window;
    atomic_uint next; /* next sequence number to send; main and RX thread both send */
    unsigned received;
    unsigned long errors;
    atomic_ulong send_errors;
    uint32_t expect;
    _Atomic uint32_t probe_ack; /* --check: the ACK command the probe got back */
    uint64_t *sent_ns; /* per sequence number */
    uint64_t *rtt_ns;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fill(struct ping *p, uint8_t *buf, uint32_t seq)
{
    if (p->nuttx)
        nx_ping_fill(buf, p->size, p->nuttx, seq);
    else
        payload_fill(buf, p->size, seq);
}

/* 0 and *seq if data answers one of our messages. */
static int check(struct ping *p, const void *data, size_t len, uint32_t *seq)
{
    if (!p->nuttx)
        return len != p->size || payload_check(data, len, seq);
    uint64_t cookie = 0;
    int r = nx_ping_check_ack(data, len, p->size, p->nuttx, &cookie);
    *seq = (uint32_t)cookie;
    return r || cookie > UINT32_MAX;
}

static int send_one(struct ping *p)
{
    uint32_t seq = atomic_fetch_add(&p->next, 1);
    if (seq >= p->count)
        return 0;
    p->sent_ns[seq] = now_ns();
    int r;
    if (p->nocopy) {
        uint32_t cap;
        uint8_t *buf = rpmsg_get_tx_payload_buffer(&p->ept, &cap, RPMSG_WAIT);
        if (!buf)
            return -ENOBUFS;
        fill(p, buf, seq);
        r = rpmsg_send_nocopy(&p->ept, buf, p->size);
        if (r < 0 && rpmsg_nocopy_kept(r))
            rpmsg_release_tx_buffer(&p->ept, buf);
    } else {
        uint8_t buf[RPMSG_BUFFER_SIZE];
        fill(p, buf, seq);
        r = rpmsg_send(&p->ept, buf, p->size);
    }
    if (r < 0)
        p->send_errors++;
    return r;
}

static int ping_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    struct ping *p = priv;
    uint64_t t = now_ns();
    uint32_t seq = 0;
    /* The encoding probe's answer (or a second answer to it): not a ping. */
    if (p->nuttx && len >= NX_PING_HEAD && nx_ping_get((const uint8_t *)data + 8, 8) == NX_PROBE) {
        uint32_t none = 0;
        if (atomic_compare_exchange_strong(&p->probe_ack, &none,
                                           (uint32_t)nx_ping_get(data, 4)))
            rpmsg_post(ept, &p->bound);
        return 0;
    }
    int bad = check(p, data, len, &seq);
    /* A second ACK to a request already answered: a responder that answers
     * an ambiguous SEND in both encodings (nuttx_ping.h), like our echo. */
    if (p->nuttx && !bad && seq < p->expect)
        return 0;
    if (bad || seq != p->expect || seq >= p->count) {
        p->errors++;
    } else {
        p->rtt_ns[p->received] = t - p->sent_ns[seq];
    }
    p->expect++;
    p->received++;
    if (p->received == p->count || p->errors) {
        rpmsg_post(ept, &p->done);
    } else if (send_one(p) < 0) {
        rpmsg_post(ept, &p->done);
    }
    return 0;
}

static bool match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)rdev, (void)dest;
    struct ping *p = priv;
    return !strcmp(name, p->name);
}

static void bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    struct ping *p = priv;
    p->ept.priv = p;
    if (rpmsg_create_ept(&p->ept, rdev, name, RPMSG_ADDR_ANY, dest, ping_cb, NULL) == 0)
        rpmsg_post(NULL, &p->bound);
}

/*
 * --check: which encoding does the responder speak? A checked request is 2
 * in nuttx-wire's (SEND_CHECK) and 3 in the 13.0.1 builds' (ack + check),
 * and each encoding takes the other's value for a request it does not
 * answer. A SEND (1 in both) with cookie NX_PROBE goes first; an ACK of 0x20
 * means the 13.0.1 encoding. 0, or -ETIMEDOUT (wire encoding kept).
 */
static int probe_encoding(struct ping *p, const struct linkopts *lo)
{
    uint8_t buf[RPMSG_BUFFER_SIZE];
    nx_ping_fill(buf, p->size, NX_PING_SEND, NX_PROBE);
    if (rpmsg_send(&p->ept, buf, p->size) < 0)
        return -EIO;
    int r = -ETIMEDOUT;
    for (uint32_t t = 0; r && t < lo->cfg.timeout_ms && !tool_stop; t += 20)
        r = rpmsg_wait_timeout(NULL, &p->bound, 20);
    if (!r && atomic_load(&p->probe_ack) == NX_PING_ACK_V2)
        p->nuttx = NX_PING_CHECK_V2;
    return r;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg ping [options]\n"
               "Binds to SERVICE by name and measures echo round trips.\n"
               "  --name SERVICE  service name (default rpmsg-ping)\n"
               "  --count N       messages (default 10000)\n"
               "  --size BYTES    payload, 8..496 (default 16)\n"
               "  --window K      messages in flight (default 1: latency)\n"
               "  --nocopy        send through zero-copy TX buffers\n"
               "  --json          one JSON object instead of the table\n"
               "  --nuttx         NuttX's ping protocol (SEND, answered by ACK): pings a NuttX\n"
               "                  core's rpmsg-ping responder; --size counts its 16-byte head\n"
               "  --check         with --nuttx: a checked request (data 0xEE, checked by the\n"
               "                  peer), in the encoding a first SEND finds out\n"
               "defaults: --role host --side attach\n" LINKOPTS_USAGE);
}

static int run(int argc, char **argv)
{
    static struct ping p;
    p.name = "rpmsg-ping";
    p.size = 16;
    p.count = 10000;
    p.window = 1;
    bool json = false;
    struct linkopts lo;
    linkopts_init(&lo, RPMSG_LINK_HOST, RPMSG_LINK_ATTACH);
    static const struct option opts[] = {
        LINKOPTS_LONG,
        { "name", required_argument, NULL, 'N' },
        { "count", required_argument, NULL, 'n' },
        { "size", required_argument, NULL, 's' },
        { "window", required_argument, NULL, 'w' },
        { "nocopy", no_argument, NULL, 'z' },
        { "json", no_argument, NULL, 'j' },
        { "nuttx", no_argument, NULL, 'X' },
        { "check", no_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = linkopts_parse(&lo, c, optarg);
        if (k < 0)
            return 2;
        if (k)
            continue;
        switch (c) {
        case 'N': p.name = optarg; break;
        case 'n': p.count = (unsigned)strtoul(optarg, NULL, 0); break;
        case 's': p.size = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'w': p.window = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'z': p.nocopy = true; break;
        case 'j': json = true; break;
        case 'X': p.nuttx = p.nuttx ? p.nuttx : NX_PING_SEND; break;
        case 'C': p.nuttx = NX_PING_SEND_CHECK; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (p.size < (p.nuttx ? NX_PING_HEAD : PAYLOAD_MIN) || p.size > RPMSG_BUFFER_SIZE - RPMSG_HDR_SIZE || !p.count ||
        !p.window) {
        fprintf(stderr, "rpmsg ping: --size must be 8..496, --count and --window > 0\n");
        return 2;
    }
    p.sent_ns = calloc(p.count, sizeof(uint64_t));
    p.rtt_ns = calloc(p.count, sizeof(uint64_t));
    if (!p.sent_ns || !p.rtt_ns)
        return 1;
    tool_stop_on_signals();
    rpmsg_sem_init(&p.bound, 0);
    rpmsg_sem_init(&p.done, 0);
    rpmsg_register_callback(&p, NULL, NULL, match, bind);
    struct rpmsg_link *link;
    if (linkopts_open(&lo, &link, "ping"))
        return 1;
    int r = -ETIMEDOUT;
    for (uint32_t t = 0; r && t < lo.cfg.timeout_ms && !tool_stop; t += 20)
        r = rpmsg_wait_timeout(NULL, &p.bound, 20);
    if (r) {
        fprintf(stderr, "rpmsg ping: service '%s' not found: %s\n", p.name, rpmsg_strerror(r));
        linkopts_report(link, "ping");
        rpmsg_link_close(link);
        return 1;
    }

    if (p.nuttx == NX_PING_SEND_CHECK && probe_encoding(&p, &lo))
        fprintf(stderr, "rpmsg ping: no answer to the encoding probe; checking as nuttx-wire\n");

    uint64_t t0 = now_ns();
    unsigned first = p.window < p.count ? p.window : p.count;
    for (unsigned i = 0; i < first; i++)
        if (send_one(&p) < 0)
            break;
    /* Bounded, and given up early if the link drops (the echo is gone). */
    r = -ETIMEDOUT;
    for (int t = 0; t < 600 && r && !tool_stop; t++) {
        r = rpmsg_wait_timeout(NULL, &p.done, 100);
        if (r && !rpmsg_device_is_up(rpmsg_link_device(link))) {
            /* Why is said below, with the figures. */
            fprintf(stderr, "rpmsg ping: link went down after %u replies\n", p.received);
            r = -ENOTCONN;
            break;
        }
    }
    uint64_t elapsed = now_ns() - t0;
    rpmsg_unregister_callback(&p, NULL, NULL, match, bind);

    unsigned n = p.received < p.count ? p.received : p.count;
    qsort(p.rtt_ns, n, sizeof(uint64_t), cmp_u64);
    double sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += (double)p.rtt_ns[i];
    double us = 1e-3;
    double mn = n ? p.rtt_ns[0] * us : 0, mx = n ? p.rtt_ns[n - 1] * us : 0;
    double avg = n ? sum / n * us : 0;
    double p50 = n ? p.rtt_ns[n / 2] * us : 0, p99 = n ? p.rtt_ns[(n * 99) / 100] * us : 0;
    double rate = elapsed ? p.received * 1e9 / (double)elapsed : 0;
    /* Says why the link went down, or that it faulted (and healed) meanwhile. */
    bool faulted = linkopts_report(link, "ping") == RPMSG_LINK_DOWN_FAULT;
    bool ok = r == 0 && p.received == p.count && !p.errors && !atomic_load(&p.send_errors) &&
              !faulted;
    if (json) {
        printf("{\"service\":\"%s\",\"size\":%u,\"count\":%u,\"window\":%u,\"nocopy\":%s,"
               "\"received\":%u,\"errors\":%lu,\"rtt_us\":{\"min\":%.2f,\"avg\":%.2f,"
               "\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f},\"msgs_per_s\":%.0f,\"ok\":%s}\n",
               p.name, p.size, p.count, p.window, p.nocopy ? "true" : "false", p.received,
               p.errors + atomic_load(&p.send_errors), mn, avg, p50, p99, mx, rate, ok ? "true" : "false");
    } else {
        printf("ping '%s' on link to '%s': %u x %u bytes, window %u, %s\n", p.name,
               rpmsg_get_cpuname(rpmsg_link_device(link)), p.count, p.size, p.window,
               p.nocopy ? "zero-copy" : "copy");
        printf("  received %u, errors %lu\n", p.received, p.errors + atomic_load(&p.send_errors));
        printf("  round trip us: min %.2f  avg %.2f  p50 %.2f  p99 %.2f  max %.2f\n", mn, avg,
               p50, p99, mx);
        printf("  %.0f msgs/s\n", rate);
    }
    rpmsg_destroy_ept(&p.ept);
    rpmsg_link_close(link);
    free(p.sent_ns);
    free(p.rtt_ns);
    return ok ? 0 : 1;
}

const struct rpmsg_tool_cmd rpmsg_cmd_ping = {
    .name = "ping",
    .summary = "find the echo service by name and measure round trips",
    .run = run,
};
