/*
 * `rpmsg ping`: finds the echo service by name, then measures round trips.
 * Latency mode (default) keeps one message in flight and drives the next send
 * from the receive callback, so no thread hand-off is measured; --window K
 * keeps K in flight for throughput. Every echo is checked (sequence, checksum,
 * order): see pinger.h.
 */
#include <stdio.h>
#include <string.h>

#include "linkopts.h"
#include "nuttx_ping.h"
#include "opt.h"
#include "payload.h"
#include "pinger.h"
#include "stop.h"
#include "tools.h"

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
               "  --check         with --nuttx: a checked request (data 0xEE, checked by the\n"
               "                  peer), in the encoding a first SEND finds out\n"
               "  --to CPU        only CPU's service (a far core behind a hub)\n"
               "  --join          as a `program =` core of `rpmsg sim`: its links and router\n"
               "                  instead of the link options\n"
               "Gives up when no echo comes for --wait ms (the run itself has no limit).\n"
               "defaults: --role host --side attach\n" LINKOPTS_USAGE,
            PING_COUNT_MAX, PING_WINDOW_MAX);
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
        { "to", required_argument, NULL, 'T' },
        { "join", no_argument, NULL, 'J' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    const uint32_t size_max = RPMSG_BUFFER_SIZE - RPMSG_HDR_SIZE;
    while ((c = linkopts_getopt(&lo, argc, argv, opts)) != -1) {
        int k = 0;
        switch (c) {
        case 'N': p.name = optarg; break;
        case 'n': k = opt_u32("count", optarg, 1, PING_COUNT_MAX, &p.count); break;
        case 's': k = opt_u32("size", optarg, PAYLOAD_MIN, size_max, &p.size); break;
        case 'w': k = opt_u32("window", optarg, 1, PING_WINDOW_MAX, &p.window); break;
        case 'z': p.nocopy = true; break;
        case 'j': json = true; break;
        case 'X': p.nuttx = p.nuttx ? p.nuttx : NX_PING_SEND; break;
        case 'C': p.nuttx = NX_PING_SEND_CHECK; break;
        case 'T': p.to = optarg; break;
        case 'J': p.join = true; break;
        case 'h': usage(stdout); return TOOL_OK;
        case LINKOPTS_BAD: return TOOL_USAGE;
        default: usage(stderr); return TOOL_USAGE;
        }
        if (k < 0)
            return TOOL_USAGE;
    }
    if (p.join && (optind < argc || lo.link || lo.openamp || lo.uart || lo.spi || lo.nuttx)) {
        tool_err("--join takes the core's links from `rpmsg sim`: no link option, no argument");
        return TOOL_USAGE;
    }
    if (!p.join && linkopts_done(&lo, argc, argv, "ping"))
        return TOOL_USAGE;
    if (p.nuttx && p.size < NX_PING_HEAD) {
        tool_err("--size must be %u..%u with --nuttx", NX_PING_HEAD, size_max);
        return TOOL_USAGE;
    }
    struct rpmsg_link *link;
    if (pinger_open(&p, p.count, &lo, "ping", &link))
        return TOOL_FAIL;
    if (p.nuttx == NX_PING_SEND_CHECK && pinger_probe_encoding(&p, &lo))
        tool_err("no answer to the encoding probe; checking as nuttx-wire");
    struct ping_stats st;
    int r = pinger_round(&p, &lo, &st);
    pinger_unregister(&p);
    unsigned received = atomic_load(&p.received);
    unsigned long errors = pinger_errors(&p);
    /* Says why the link went down, or that it faulted (and healed) meanwhile. */
    bool faulted = linkopts_report(link, "ping") == RPMSG_LINK_DOWN_FAULT;
    bool ok = r == 0 && received == p.count && !errors && !faulted;
    if (json) {
        printf("{\"service\":\"%s\",\"size\":%u,\"count\":%u,\"window\":%u,\"nocopy\":%s,"
               "\"received\":%u,\"errors\":%lu,\"rtt_us\":{\"min\":%.2f,\"avg\":%.2f,"
               "\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f},\"msgs_per_s\":%.0f,\"ok\":%s}\n",
               p.name, p.size, p.count, p.window, p.nocopy ? "true" : "false", received,
               errors, st.min, st.avg, st.p50, st.p99, st.max, st.msgs_per_s,
               ok ? "true" : "false");
    } else {
        printf("ping '%s' on link to '%s': %u x %u bytes, window %u, %s\n", p.name,
               rpmsg_get_cpuname(rpmsg_link_device(link)), p.count, p.size, p.window,
               p.nocopy ? "zero-copy" : "copy");
        printf("  received %u, errors %lu\n", received, errors);
        printf("  round trip us: min %.2f  avg %.2f  p50 %.2f  p99 %.2f  max %.2f\n", st.min,
               st.avg, st.p50, st.p99, st.max);
        printf("  %.0f msgs/s\n", st.msgs_per_s);
    }
    pinger_close(&p, link);
    return ok ? TOOL_OK : TOOL_FAIL;
}

const struct rpmsg_tool_cmd rpmsg_cmd_ping = {
    .name = "ping",
    .summary = "find the echo service by name and measure round trips",
    .run = run,
};
