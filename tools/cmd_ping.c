/*
 * `rpmsg ping`: finds the echo service by name, then measures round trips.
 * Latency mode (default) keeps one message in flight and drives the next send
 * from the receive callback, so no thread hand-off is measured; --window K
 * keeps K in flight for throughput. Every echo is checked (sequence, checksum).
 *
 * Only the link's RX thread sends once the first message is out: a sequence
 * number is taken and its message queued by one thread, so messages leave in
 * sequence order and an echo out of order is a real error (main and RX thread
 * sending both used to reorder them).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linkopts.h"
#include "nuttx_ping.h"
#include "opt.h"
#include "payload.h"
#include "stop.h"
#include "tools.h"

/*
 * The largest window: a native or OpenAMP VirtIO link has 256 buffers each
 * way, a UART/SPI link 32 or 128 (more in flight wait for a buffer there).
 * Beyond the buffers of the link, sends wait for buffers the peer can only
 * free by answering into ours, which are full too.
 */
#define PING_WINDOW_MAX 256u
/* What --count can ask: one round-trip time (8 bytes) is kept per message. */
#define PING_COUNT_MAX 100000000u

struct ping {
    const char *name;
    struct rpmsg_endpoint ept;
    struct rpmsg_sem bound, done;
    bool nocopy;
    uint32_t nuttx; /* 0, or the NuttX ping command sent (--nuttx) */
    uint32_t size, count, window;
    /* RX thread only, once the first message is out. */
    uint32_t next, in_flight, expect;
    atomic_uint received;
    atomic_ulong errors, send_errors;
    uint64_t *sent_ns; /* per message in flight: [seq % window] */
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
    uint32_t seq = p->next++;
    p->in_flight++;
    p->sent_ns[seq % p->window] = now_ns();
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
    unsigned n = atomic_load(&p->received);
    if (check(p, data, len, &seq) || seq != p->expect || seq >= p->next) {
        p->errors++;
    } else {
        p->rtt_ns[n] = t - p->sent_ns[seq % p->window];
    }
    p->expect++;
    p->in_flight--;
    atomic_store(&p->received, n + 1);
    if (n + 1 == p->count || p->errors) {
        rpmsg_post(ept, &p->done);
        return 0;
    }
    /* Tops the window up: after the first echo, that is the whole window. */
    while (p->in_flight < p->window && p->next < p->count)
        if (send_one(p) < 0) {
            rpmsg_post(ept, &p->done);
            break;
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
               "  --count N       messages, 1..%u (default 10000)\n"
               "  --size BYTES    payload, 8..496 (default 16)\n"
               "  --window K      messages in flight, 1..%u (default 1: latency); a UART\n"
               "                  or SPI link has 32 or 128 buffers: more wait for one\n"
               "  --nocopy        send through zero-copy TX buffers\n"
               "  --json          one JSON object instead of the table\n"
               "  --nuttx         NuttX's ping protocol (SEND, answered by ACK): pings a NuttX\n"
               "                  core's rpmsg-ping responder; --size counts its 16-byte head\n"
               "  --check         with --nuttx: SEND_CHECK (data 0xEE, checked by the peer)\n"
               "Gives up when no echo comes for --wait ms (the run itself has no limit).\n"
               "defaults: --role host --side attach\n" LINKOPTS_USAGE,
            PING_COUNT_MAX, PING_WINDOW_MAX);
}

/* Waits for the binding; says what to check when it does not come. */
static int find_service(struct ping *p, struct linkopts *lo, struct rpmsg_link *link)
{
    int r = -ETIMEDOUT;
    for (uint32_t t = 0; r && t < lo->cfg.timeout_ms && !tool_stop; t += 20)
        r = rpmsg_wait_timeout(NULL, &p->bound, 20);
    if (!r)
        return 0;
    if (tool_stop) {
        tool_err("interrupted while looking for service '%s'", p->name);
    } else if (linkopts_report(link, "ping") == RPMSG_LINK_DOWN_NONE) {
        tool_err("service '%s' not found: '%s' announced no such name within %u ms.\n"
                 "  Is `rpmsg echo --name %s` running on the other end, and not serving\n"
                 "  another ping (an echo answers one peer at a time)?",
                 p->name, rpmsg_get_cpuname(rpmsg_link_device(link)), lo->cfg.timeout_ms,
                 p->name);
    }
    return r;
}

/*
 * Until every echo is in, an error, a signal, the link drops, or no echo for
 * --wait ms: a long run on a healthy link is never cut short.
 */
static int wait_done(struct ping *p, struct linkopts *lo, struct rpmsg_link *link)
{
    unsigned seen = 0;
    uint32_t quiet = 0;
    for (;;) {
        if (!rpmsg_wait_timeout(NULL, &p->done, 100))
            return 0;
        unsigned n = atomic_load(&p->received);
        quiet = n == seen ? quiet + 100 : 0;
        seen = n;
        if (tool_stop) {
            tool_err("interrupted after %u replies", n);
            return -ECANCELED;
        }
        if (!rpmsg_device_is_up(rpmsg_link_device(link))) {
            /* Why is said below, with the figures. */
            tool_err("link went down after %u replies", n);
            return -ENOTCONN;
        }
        if (quiet >= lo->cfg.timeout_ms) {
            tool_err("no echo for %u ms (--wait) after %u replies", quiet, n);
            return -ETIMEDOUT;
        }
    }
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
    const uint32_t size_max = RPMSG_BUFFER_SIZE - RPMSG_HDR_SIZE;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = linkopts_parse(&lo, c, optarg);
        if (k < 0)
            return TOOL_USAGE;
        if (k)
            continue;
        switch (c) {
        case 'N': p.name = optarg; break;
        case 'n': k = opt_u32("count", optarg, 1, PING_COUNT_MAX, &p.count); break;
        case 's': k = opt_u32("size", optarg, PAYLOAD_MIN, size_max, &p.size); break;
        case 'w': k = opt_u32("window", optarg, 1, PING_WINDOW_MAX, &p.window); break;
        case 'z': p.nocopy = true; break;
        case 'j': json = true; break;
        case 'X': p.nuttx = p.nuttx ? p.nuttx : NX_PING_SEND; break;
        case 'C': p.nuttx = NX_PING_SEND_CHECK; break;
        case 'h': usage(stdout); return TOOL_OK;
        default: usage(stderr); return TOOL_USAGE;
        }
        if (k < 0)
            return TOOL_USAGE;
    }
    if (optind < argc) {
        tool_err("unexpected argument '%s'", argv[optind]);
        return TOOL_USAGE;
    }
    if (linkopts_validate(&lo, "ping"))
        return TOOL_USAGE;
    if (p.nuttx && p.size < NX_PING_HEAD) {
        tool_err("--size must be %u..%u with --nuttx", NX_PING_HEAD, size_max);
        return TOOL_USAGE;
    }
    p.sent_ns = calloc(p.window, sizeof(uint64_t));
    p.rtt_ns = calloc(p.count, sizeof(uint64_t));
    if (!p.sent_ns || !p.rtt_ns) {
        tool_err("out of memory for %u round-trip times", p.count);
        free(p.sent_ns);
        free(p.rtt_ns);
        return TOOL_FAIL;
    }
    tool_stop_on_signals();
    rpmsg_sem_init(&p.bound, 0);
    rpmsg_sem_init(&p.done, 0);
    rpmsg_register_callback(&p, NULL, NULL, match, bind);
    struct rpmsg_link *link;
    if (linkopts_open(&lo, &link, "ping"))
        return TOOL_FAIL;
    if (find_service(&p, &lo, link)) {
        rpmsg_link_close(link);
        return TOOL_FAIL;
    }

    uint64_t t0 = now_ns();
    /* One message from here; its echo's callback sends the rest of the window. */
    int r = send_one(&p);
    if (r >= 0)
        r = wait_done(&p, &lo, link);
    uint64_t elapsed = now_ns() - t0;
    rpmsg_unregister_callback(&p, NULL, NULL, match, bind);

    unsigned received = atomic_load(&p.received);
    unsigned long errors = atomic_load(&p.errors) + atomic_load(&p.send_errors);
    unsigned n = received < p.count ? received : p.count;
    qsort(p.rtt_ns, n, sizeof(uint64_t), cmp_u64);
    double sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += (double)p.rtt_ns[i];
    double us = 1e-3;
    double mn = n ? p.rtt_ns[0] * us : 0, mx = n ? p.rtt_ns[n - 1] * us : 0;
    double avg = n ? sum / n * us : 0;
    double p50 = n ? p.rtt_ns[n / 2] * us : 0, p99 = n ? p.rtt_ns[(n * 99) / 100] * us : 0;
    double rate = elapsed ? received * 1e9 / (double)elapsed : 0;
    /* Says why the link went down, or that it faulted (and healed) meanwhile. */
    bool faulted = linkopts_report(link, "ping") == RPMSG_LINK_DOWN_FAULT;
    bool ok = r == 0 && received == p.count && !errors && !faulted;
    if (json) {
        printf("{\"service\":\"%s\",\"size\":%u,\"count\":%u,\"window\":%u,\"nocopy\":%s,"
               "\"received\":%u,\"errors\":%lu,\"rtt_us\":{\"min\":%.2f,\"avg\":%.2f,"
               "\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f},\"msgs_per_s\":%.0f,\"ok\":%s}\n",
               p.name, p.size, p.count, p.window, p.nocopy ? "true" : "false", received,
               errors, mn, avg, p50, p99, mx, rate, ok ? "true" : "false");
    } else {
        printf("ping '%s' on link to '%s': %u x %u bytes, window %u, %s\n", p.name,
               rpmsg_get_cpuname(rpmsg_link_device(link)), p.count, p.size, p.window,
               p.nocopy ? "zero-copy" : "copy");
        printf("  received %u, errors %lu\n", received, errors);
        printf("  round trip us: min %.2f  avg %.2f  p50 %.2f  p99 %.2f  max %.2f\n", mn, avg,
               p50, p99, mx);
        printf("  %.0f msgs/s\n", rate);
    }
    rpmsg_destroy_ept(&p.ept);
    rpmsg_link_close(link);
    free(p.sent_ns);
    free(p.rtt_ns);
    return ok ? TOOL_OK : TOOL_FAIL;
}

const struct rpmsg_tool_cmd rpmsg_cmd_ping = {
    .name = "ping",
    .summary = "find the echo service by name and measure round trips",
    .run = run,
};
