/*
 * `rpmsg list`: attaches to a link and prints what the peer offers, as
 * /sys/bus/rpmsg/devices or NuttX's `rpmsg dump` would: cpu names, the
 * features negotiated, buffer counts and sizes, and every service the peer
 * announced with its address. Binds to nothing: an announcement is recorded
 * by the match callback, which then declines it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "linkopts.h"
#include "opt.h"
#include "rpmsg/rpmsg_virtio.h"
#include "stop.h"
#include "tools.h"

#define LIST_MAX 64

struct service {
    char name[32];
    uint32_t addr;
};

static struct {
    pthread_mutex_t lock;
    struct service svc[LIST_MAX];
    unsigned n;
    unsigned long dropped; /* beyond LIST_MAX */
} seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool record(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)rdev, (void)priv;
    pthread_mutex_lock(&seen.lock);
    bool known = false;
    for (unsigned i = 0; i < seen.n && !known; i++)
        known = seen.svc[i].addr == dest && !strcmp(seen.svc[i].name, name);
    if (!known && seen.n < LIST_MAX) {
        snprintf(seen.svc[seen.n].name, sizeof(seen.svc[0].name), "%s", name);
        seen.svc[seen.n++].addr = dest;
    } else if (!known) {
        seen.dropped++;
    }
    pthread_mutex_unlock(&seen.lock);
    return false; /* looked at, not taken: no endpoint is created */
}

static const struct {
    uint32_t bit;
    const char *name;
} feature_names[] = {
    { RPMSG_F_NS, "ns" },
    { RPMSG_F_ACK, "ns-ack" },
    { RPMSG_VIRTIO_F_BUFSZ, "bufsz" },
    { RPMSG_VIRTIO_F_CPUNAME, "cpuname" },
    { RPMSG_VIRTIO_F_EVENT_IDX, "event-idx" },
};

/* The names of the bits in f, joined by sep, each quoted if quote. */
static void print_features(FILE *f, uint32_t bits, const char *sep, bool quote)
{
    bool first = true;
    for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
        if (bits & feature_names[i].bit) {
            fprintf(f, "%s%s%s%s", first ? "" : sep, quote ? "\"" : "", feature_names[i].name,
                    quote ? "\"" : "");
            first = false;
        }
}

static void print_text(const char *spec, struct rpmsg_device *rdev, const struct rpmsg_link_info *li)
{
    uint32_t feat = rpmsg_get_features(rdev);
    printf("link %s (%s)\n", spec, li->kind);
    printf("  local cpu:  %s\n", rpmsg_get_local_cpuname(rdev));
    printf("  peer cpu:   %s\n", rpmsg_get_cpuname(rdev));
    printf("  features:   0x%x (", feat);
    print_features(stdout, feat, ", ", false);
    printf(")\n");
    printf("  buffers:    tx %u x %u bytes, rx %u x %u bytes\n", li->tx_bufs, li->tx_buf_size,
           li->rx_bufs, li->rx_buf_size);
    printf("  services:   %u announced\n", seen.n);
    for (unsigned i = 0; i < seen.n; i++)
        printf("    0x%-8x %s\n", seen.svc[i].addr, seen.svc[i].name);
}

/* s as a JSON string: names come from the peer (or the command line). */
static void json_str(const char *key, const char *s)
{
    printf("\"%s\":\"", key);
    for (; *s; s++)
        printf(*s == '"' || *s == '\\' ? "\\%c" : (unsigned char)*s < 0x20 ? "?" : "%c", *s);
    printf("\"");
}

static void print_json(const char *spec, struct rpmsg_device *rdev, const struct rpmsg_link_info *li)
{
    uint32_t feat = rpmsg_get_features(rdev);
    printf("{");
    json_str("link", spec);
    printf(",\"kind\":\"%s\",", li->kind);
    json_str("local_cpu", rpmsg_get_local_cpuname(rdev));
    printf(",");
    json_str("peer_cpu", rpmsg_get_cpuname(rdev));
    printf(",\"features\":%u,\"feature_names\":[", feat);
    print_features(stdout, feat, ",", true);
    printf("],\"tx_bufs\":%u,\"tx_buf_size\":%u,\"rx_bufs\":%u,\"rx_buf_size\":%u,\"services\":[",
           li->tx_bufs, li->tx_buf_size, li->rx_bufs, li->rx_buf_size);
    for (unsigned i = 0; i < seen.n; i++) {
        printf("%s{", i ? "," : "");
        json_str("name", seen.svc[i].name);
        printf(",\"addr\":%u}", seen.svc[i].addr);
    }
    printf("]}\n");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg list [options]\n"
               "Attaches to a link and prints what the peer offers: cpu names, features,\n"
               "buffers, and every service it announces with its address.\n"
               "  --settle MS   how long to collect announcements once the link is up\n"
               "                (default 500)\n"
               "  --json        one JSON object instead of the text\n"
               "defaults: --role host --side attach\n" LINKOPTS_USAGE);
}

static int run(int argc, char **argv)
{
    bool json = false;
    uint32_t settle = 500;
    struct linkopts lo;
    linkopts_init(&lo, RPMSG_LINK_HOST, RPMSG_LINK_ATTACH);
    static const struct option opts[] = {
        LINKOPTS_LONG,
        { "settle", required_argument, NULL, 'S' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = linkopts_getopt(&lo, argc, argv, opts)) != -1) {
        int k = 0;
        switch (c) {
        case 'S': k = opt_u32("settle", optarg, 0, LINKOPTS_WAIT_MAX, &settle); break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return TOOL_OK;
        case LINKOPTS_BAD: return TOOL_USAGE;
        default: usage(stderr); return TOOL_USAGE;
        }
        if (k < 0)
            return TOOL_USAGE;
    }
    if (linkopts_done(&lo, argc, argv, "list"))
        return TOOL_USAGE;
    tool_stop_on_signals();
    rpmsg_register_callback(&seen, NULL, NULL, record, NULL);
    struct rpmsg_link *link;
    if (linkopts_open(&lo, &link, "list")) {
        rpmsg_unregister_callback(&seen, NULL, NULL, record, NULL);
        return TOOL_FAIL;
    }
    struct rpmsg_sem never;
    rpmsg_sem_init(&never, 0);
    for (uint32_t t = 0; t < settle && !tool_stop; t += 20)
        rpmsg_wait_timeout(NULL, &never, 20);
    rpmsg_sem_deinit(&never);
    struct rpmsg_link_info li;
    int r = rpmsg_link_info(link, &li);
    struct rpmsg_device *rdev = rpmsg_link_device(link);
    pthread_mutex_lock(&seen.lock);
    if (r)
        tool_err("cannot describe %s: %s", lo.spec, rpmsg_strerror(r));
    else if (json)
        print_json(lo.spec, rdev, &li);
    else
        print_text(lo.spec, rdev, &li);
    if (seen.dropped)
        tool_err("%lu more services not shown (at most %d)", seen.dropped, LIST_MAX);
    pthread_mutex_unlock(&seen.lock);
    rpmsg_unregister_callback(&seen, NULL, NULL, record, NULL);
    int why = linkopts_report(link, "list");
    rpmsg_link_close(link);
    return r || why == RPMSG_LINK_DOWN_FAULT ? TOOL_FAIL : TOOL_OK;
}

const struct rpmsg_tool_cmd rpmsg_cmd_list = {
    .name = "list",
    .summary = "attach to a link and list what the peer offers (cpu, features, services)",
    .run = run,
};
