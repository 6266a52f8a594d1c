/*
 * `rpmsg bench`: iperf for rpmsg, against `rpmsg echo` on any link. First
 * the round-trip latency distribution (one message in flight), then echoed
 * throughput over a sweep of sizes and windows; every echo is checked as
 * ping checks it (pinger.h). Then one-way throughput per size: the echo
 * swallows and checks the messages and reports at the end (oneway.h). A
 * table, or --json; --plot FILE.svg draws throughput against size and the
 * latency histogram with gnuplot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev_find.h"
#include "linkopts.h"
#include "opt.h"
#include "payload.h"
#include "pinger.h"
#include "stop.h"
#include "tools.h"
#include "rpmsg/rpmsg_router.h"

#define LIST_MAX 16
#define TARGETS_MAX 8

/* Upper bounds of the latency histogram's buckets, in us; the last is open. */
static const double bucket_us[] = { 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 1e30 };
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

struct point {
    uint32_t size, window;
    double msgs_per_s, mb_per_s;
    unsigned long errors;
};

struct bench {
    uint32_t sizes[LIST_MAX], windows[LIST_MAX];
    unsigned nsizes, nwindows;
    uint32_t count, latency_count;
    struct ping_stats lat;
    unsigned long hist[NBUCKETS];
    struct point pts[LIST_MAX * LIST_MAX];
    unsigned npts;
    struct point ow[LIST_MAX]; /* one-way, per size */
    unsigned now;
    bool ow_unknown; /* the echo echoed the one-way request: an older echo */
    unsigned long errors;
};

/* "16,64,496" into out (each in min..max). 0, or -1 with a message. */
static int parse_list(const char *name, const char *arg, uint32_t min, uint32_t max,
                      uint32_t *out, unsigned *n)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", arg);
    *n = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == LIST_MAX) {
            tool_err("--%s: at most %d values", name, LIST_MAX);
            return -1;
        }
        if (opt_u32(name, t, min, max, &out[(*n)++]))
            return -1;
    }
    if (!*n) {
        tool_err("--%s: give at least one value", name);
        return -1;
    }
    return 0;
}

static void progress(const char *what)
{
    if (isatty(2))
        fprintf(stderr, "\r\033[Kbench: %s", what);
}

static int measure(struct bench *b, struct ping *p, struct linkopts *lo)
{
    char line[128];
    p->size = 16;
    p->window = 1;
    p->count = b->latency_count;
    snprintf(line, sizeof(line), "latency, %u round trips", p->count);
    progress(line);
    int r = pinger_round(p, lo, &b->lat);
    b->errors += pinger_errors(p);
    for (unsigned i = 0; i < b->lat.n; i++) {
        unsigned k = 0;
        while (p->rtt_ns[i] * 1e-3 > bucket_us[k])
            k++;
        b->hist[k]++;
    }
    for (unsigned s = 0; s < b->nsizes && !r; s++)
        for (unsigned w = 0; w < b->nwindows && !r; w++) {
            struct point *pt = &b->pts[b->npts++];
            p->size = pt->size = b->sizes[s];
            p->window = pt->window = b->windows[w];
            p->count = b->count;
            snprintf(line, sizeof(line), "%u bytes, window %u", pt->size, pt->window);
            progress(line);
            struct ping_stats st;
            r = pinger_round(p, lo, &st);
            pt->errors = pinger_errors(p);
            b->errors += pt->errors;
            pt->msgs_per_s = st.msgs_per_s;
            pt->mb_per_s = st.msgs_per_s * pt->size / 1e6;
        }
    for (unsigned s = 0; s < b->nsizes && !r; s++) {
        struct point *pt = &b->ow[b->now];
        p->size = pt->size = b->sizes[s];
        p->count = b->count;
        snprintf(line, sizeof(line), "one-way, %u bytes", pt->size);
        progress(line);
        struct ping_stats st;
        r = pinger_oneway(p, lo, &st);
        if (r == -ENOTSUP) {
            b->ow_unknown = true;
            r = 0;
            break;
        }
        b->now++;
        pt->errors = pinger_errors(p);
        b->errors += pt->errors;
        pt->msgs_per_s = st.msgs_per_s;
        pt->mb_per_s = st.msgs_per_s * pt->size / 1e6;
    }
    progress("");
    if (isatty(2))
        fprintf(stderr, "\r");
    return r;
}

static void print_text(const struct bench *b, const char *peer, bool routed)
{
    const struct ping_stats *l = &b->lat;
    printf("bench against '%s'%s\n", peer, routed ? " (a far core, routed through hubs)" : "");
    printf("latency, 16 bytes, %u round trips: min %.1f  p50 %.1f  avg %.1f  p99 %.1f  max %.1f us\n",
           l->n, l->min, l->p50, l->avg, l->p99, l->max);
    for (unsigned k = 0; k < NBUCKETS; k++)
        if (b->hist[k]) {
            if (k + 1 < NBUCKETS)
                printf("  <= %6.0f us  %lu\n", bucket_us[k], b->hist[k]);
            else
                printf("  >  %6.0f us  %lu\n", bucket_us[k - 1], b->hist[k]);
        }
    printf("echoed throughput (each way), %u messages a point:\n", b->count);
    printf("  %6s %6s %12s %9s %6s\n", "bytes", "window", "msgs/s", "MB/s", "errors");
    for (unsigned i = 0; i < b->npts; i++)
        printf("  %6u %6u %12.0f %9.2f %6lu\n", b->pts[i].size, b->pts[i].window,
               b->pts[i].msgs_per_s, b->pts[i].mb_per_s, b->pts[i].errors);
    if (b->ow_unknown)
        printf("one-way throughput: the echo does not know one-way rounds (it echoed the "
               "request)\n");
    else
        printf("one-way throughput, %u messages a point:\n", b->count);
    if (b->now)
        printf("  %6s %12s %9s %6s\n", "bytes", "msgs/s", "MB/s", "errors");
    for (unsigned i = 0; i < b->now; i++)
        printf("  %6u %12.0f %9.2f %6lu\n", b->ow[i].size, b->ow[i].msgs_per_s, b->ow[i].mb_per_s,
               b->ow[i].errors);
    printf("errors: %lu\n", b->errors);
}

static void print_json(const struct bench *b, const char *spec, const char *peer, bool routed,
                       bool ok)
{
    const struct ping_stats *l = &b->lat;
    printf("{\"bench\":\"rpmsg_bench\",\"link\":\"%s\",\"peer\":\"%s\",\"routed\":%s,"
           "\"latency\":{\"size\":16,"
           "\"count\":%u,\"min_us\":%.2f,\"p50_us\":%.2f,\"avg_us\":%.2f,\"p99_us\":%.2f,"
           "\"max_us\":%.2f,\"histogram\":[",
           spec, peer, routed ? "true" : "false", l->n, l->min, l->p50, l->avg, l->p99, l->max);
    for (unsigned k = 0; k < NBUCKETS; k++)
        printf("%s{\"le_us\":%s%.0f%s,\"n\":%lu}", k ? "," : "", k + 1 < NBUCKETS ? "" : "\"",
               k + 1 < NBUCKETS ? bucket_us[k] : bucket_us[k - 1], k + 1 < NBUCKETS ? "" : "+\"",
               b->hist[k]);
    printf("]},\"throughput\":[");
    for (unsigned i = 0; i < b->npts; i++)
        printf("%s{\"size\":%u,\"window\":%u,\"msgs_per_s\":%.0f,\"mb_per_s\":%.3f,\"errors\":%lu}",
               i ? "," : "", b->pts[i].size, b->pts[i].window, b->pts[i].msgs_per_s,
               b->pts[i].mb_per_s, b->pts[i].errors);
    printf("],\"oneway\":[");
    for (unsigned i = 0; i < b->now; i++)
        printf("%s{\"size\":%u,\"msgs_per_s\":%.0f,\"mb_per_s\":%.3f,\"errors\":%lu}", i ? "," : "",
               b->ow[i].size, b->ow[i].msgs_per_s, b->ow[i].mb_per_s, b->ow[i].errors);
    printf("],\"oneway_known\":%s,\"errors\":%lu,\"ok\":%s}\n", b->ow_unknown ? "false" : "true",
           b->errors, ok ? "true" : "false");
}

/* Throughput against size (a line per window) and the latency histogram. */
static int plot(const struct bench *b, const char *path, const char *peer)
{
    FILE *g = popen("gnuplot", "w");
    if (!g)
        return -1;
    fprintf(g, "set terminal svg size 1000,420 dynamic\nset output '%s'\n", path);
    for (unsigned w = 0; w < b->nwindows; w++) {
        fprintf(g, "$w%u << EOD\n", w);
        for (unsigned i = 0; i < b->npts; i++)
            if (b->pts[i].window == b->windows[w])
                fprintf(g, "%u %.4f\n", b->pts[i].size, b->pts[i].mb_per_s);
        fprintf(g, "EOD\n");
    }
    fprintf(g, "$ow << EOD\n");
    for (unsigned i = 0; i < b->now; i++)
        fprintf(g, "%u %.4f\n", b->ow[i].size, b->ow[i].mb_per_s);
    fprintf(g, "EOD\n");
    fprintf(g, "$hist << EOD\n");
    for (unsigned k = 0; k < NBUCKETS; k++)
        fprintf(g, "\"%s%.0f\" %lu\n", k + 1 < NBUCKETS ? "<=" : ">",
                k + 1 < NBUCKETS ? bucket_us[k] : bucket_us[k - 1], b->hist[k]);
    fprintf(g, "EOD\n");
    fprintf(g, "set multiplot layout 1,2 title 'rpmsg bench against %s'\n", peer);
    fprintf(g, "set title 'throughput'\nset xlabel 'message bytes'\n"
               "set ylabel 'MB/s (echoed: each way)'\nset key top left\nset grid\n");
    fprintf(g, "plot ");
    for (unsigned w = 0; w < b->nwindows; w++)
        fprintf(g, "%s$w%u using 1:2 with linespoints title 'echoed, window %u'", w ? ", " : "", w,
                b->windows[w]);
    if (b->now)
        fprintf(g, ", $ow using 1:2 with linespoints dashtype 2 title 'one-way'");
    fprintf(g, "\nset title 'round trip, 16 bytes'\nset xlabel 'us'\nset ylabel 'round trips'\n"
               "set style fill solid 0.6\nset boxwidth 0.8\nset xtics rotate by -45\n"
               "unset key\nplot $hist using 0:2:xtic(1) with boxes\nunset multiplot\n");
    return pclose(g) ? -1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg bench [options]\n"
               "       rpmsg bench --join --to CPU[,CPU...] [options]   (a core of `rpmsg sim`)\n"
               "Measures against `rpmsg echo`: round-trip latency (16 bytes, one in flight),\n"
               "then echoed throughput over sizes x windows; every echo is checked; then\n"
               "one-way throughput per size (the echo checks and counts, and reports).\n"
               "  --name SERVICE    the echo's name (default rpmsg-ping)\n"
               "  --sizes LIST      message bytes, 8..496 (default 16,64,256,496)\n"
               "  --windows LIST    messages in flight, 1..%u (default 1,16,64)\n"
               "  --count N         messages per throughput point (default 5000)\n"
               "  --latency N       round trips for the latency figures (default 5000)\n"
               "  --nocopy          send through zero-copy TX buffers\n"
               "  --json            one JSON object (per target) instead of the table\n"
               "  --plot FILE.svg   throughput and latency histogram, drawn by gnuplot\n"
               "                    (several targets: FILE-CPU.svg each)\n"
               "  --join            run as a `program =` core of `rpmsg sim` (its links from\n"
               "                    the environment, rpmsg_link_join) instead of a link option\n"
               "  --to LIST         with --join: the cores to measure, in turn, neighbours or\n"
               "                    far cores behind hubs; their built-in echo answers\n"
               "defaults: --role host --side attach\n" LINKOPTS_USAGE,
            PING_WINDOW_MAX);
}

/* What one run reports, and where; a bench per target. */
struct out {
    bool json;
    const char *svg;
    unsigned ntargets;
};

/* Prints and plots one measured target; false if anything failed. */
static bool report(struct bench *b, const struct out *o, const char *spec, const char *peer,
                   bool routed, bool ok)
{
    if (o->json)
        print_json(b, spec, peer, routed, ok);
    else
        print_text(b, peer, routed);
    fflush(stdout);
    if (!o->svg)
        return ok;
    char path[512];
    const char *dot = strrchr(o->svg, '.');
    if (o->ntargets > 1 && dot)
        snprintf(path, sizeof(path), "%.*s-%s%s", (int)(dot - o->svg), o->svg, peer, dot);
    else
        snprintf(path, sizeof(path), "%s%s%s", o->svg, o->ntargets > 1 ? "-" : "",
                 o->ntargets > 1 ? peer : "");
    if (plot(b, path, peer)) {
        tool_err("gnuplot could not draw %s (is gnuplot installed?)", path);
        return false;
    }
    return ok;
}

static int run_link(struct bench *b, struct ping *p, struct linkopts *lo, const struct out *o)
{
    uint32_t most = b->count > b->latency_count ? b->count : b->latency_count;
    struct rpmsg_link *link;
    if (pinger_open(p, most, lo, "bench", &link))
        return TOOL_FAIL;
    int r = measure(b, p, lo);
    pinger_unregister(p);
    const char *peer = rpmsg_get_cpuname(rpmsg_link_device(link));
    bool faulted = linkopts_report(link, "bench") == RPMSG_LINK_DOWN_FAULT;
    bool ok = report(b, o, lo->spec, peer, false, !r && !b->errors && !faulted);
    pinger_close(p, link);
    return ok ? TOOL_OK : TOOL_FAIL;
}

/* Sizes the route cannot carry are measured at its largest message instead. */
static void fit_sizes(struct bench *b, uint32_t cap, const char *peer)
{
    unsigned n = 0;
    bool dropped = false, has_cap = false;
    for (unsigned i = 0; i < b->nsizes; i++) {
        if (b->sizes[i] > cap) {
            dropped = true;
            continue;
        }
        has_cap |= b->sizes[i] == cap;
        b->sizes[n++] = b->sizes[i];
    }
    if (dropped && !has_cap)
        b->sizes[n++] = cap;
    b->nsizes = n;
    if (dropped)
        tool_err("the route to '%s' carries at most %u bytes: larger sizes measured at %u", peer,
                 cap, cap);
}

static bool stop_asked(void *arg)
{
    (void)arg;
    return tool_stop;
}

/* One bench per target, from a core that joined the sim. */
static int run_join(const struct bench *tmpl, struct ping *p, struct linkopts *lo,
                    const struct out *o, char *const *targets)
{
    uint32_t most = tmpl->count > tmpl->latency_count ? tmpl->count : tmpl->latency_count;
    if (pinger_init(p, most)) {
        tool_err("out of memory for %u round-trip times", most);
        return TOOL_FAIL;
    }
    tool_stop_on_signals();
    struct rpmsg_link_member *m;
    int r = rpmsg_link_join(&m, lo->cfg.timeout_ms);
    if (r) {
        if (r == -ENOENT)
            tool_err("--join: not started by `rpmsg sim` (no RPMSG_SIM_CORE, RPMSG_SIM_LINKS)");
        else
            tool_err("--join: %s", rpmsg_strerror(r));
        pinger_deinit(p);
        return TOOL_FAIL;
    }
    char spec[64];
    snprintf(spec, sizeof(spec), "sim:%s", rpmsg_link_member_cpuname(m));
    bool ok = true;
    for (unsigned t = 0; t < o->ntargets && ok && !tool_stop; t++) {
        static struct bench b;
        b = *tmpl;
        struct rpmsg_device *dev = dev_find(targets[t], lo->cfg.timeout_ms, stop_asked, NULL);
        if (!dev) {
            tool_err("core '%s' never appeared within %u ms (--wait): no link or route to it "
                     "from '%s'", targets[t], lo->cfg.timeout_ms, rpmsg_link_member_cpuname(m));
            ok = false;
            break;
        }
        r = pinger_bind_dev(p, dev, lo->cfg.timeout_ms);
        if (r) {
            tool_err("core '%s' did not bind '%s' within %u ms (--wait): %s", targets[t],
                     p->name, lo->cfg.timeout_ms, rpmsg_strerror(r));
            ok = false;
            break;
        }
        int cap = rpmsg_get_tx_buffer_size(&p->ept);
        if (cap >= PAYLOAD_MIN)
            fit_sizes(&b, (uint32_t)cap, targets[t]);
        r = measure(&b, p, lo);
        bool routed = rpmsg_router_is_virtual(dev);
        ok = report(&b, o, spec, targets[t], routed, !r && !b.errors);
        rpmsg_destroy_ept(&p->ept);
    }
    rpmsg_link_leave(m);
    pinger_deinit(p);
    return ok ? TOOL_OK : TOOL_FAIL;
}

/* "A,B" into at most max names (pointing into buf). */
static int split_targets(char *buf, char **out, unsigned max, unsigned *n)
{
    char *save = NULL;
    *n = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == max || strlen(t) >= RPMSG_CPUNAME_SIZE) {
            tool_err("--to: at most %u cpu names of at most %d characters", max,
                     RPMSG_CPUNAME_SIZE - 1);
            return -1;
        }
        out[(*n)++] = t;
    }
    if (!*n) {
        tool_err("--to: give at least one cpu name");
        return -1;
    }
    return 0;
}

static int run(int argc, char **argv)
{
    static struct ping p;
    static struct bench b = {
        .sizes = { 16, 64, 256, 496 }, .nsizes = 4,
        .windows = { 1, 16, 64 }, .nwindows = 3,
        .count = 5000, .latency_count = 5000,
    };
    p.name = "rpmsg-ping";
    struct out o = { .ntargets = 1 };
    bool join = false;
    static char to_buf[256];
    char *targets[TARGETS_MAX];
    const char *to = NULL;
    struct linkopts lo;
    linkopts_init(&lo, RPMSG_LINK_HOST, RPMSG_LINK_ATTACH);
    static const struct option opts[] = {
        LINKOPTS_LONG,
        { "name", required_argument, NULL, 'N' },
        { "sizes", required_argument, NULL, 's' },
        { "windows", required_argument, NULL, 'w' },
        { "count", required_argument, NULL, 'n' },
        { "latency", required_argument, NULL, 'l' },
        { "nocopy", no_argument, NULL, 'z' },
        { "json", no_argument, NULL, 'j' },
        { "plot", required_argument, NULL, 'P' },
        { "join", no_argument, NULL, 'J' },
        { "to", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const uint32_t size_max = RPMSG_BUFFER_SIZE - RPMSG_HDR_SIZE;
    int c;
    while ((c = linkopts_getopt(&lo, argc, argv, opts)) != -1) {
        int k = 0;
        switch (c) {
        case 'N': p.name = optarg; break;
        case 's': k = parse_list("sizes", optarg, PAYLOAD_MIN, size_max, b.sizes, &b.nsizes); break;
        case 'w':
            k = parse_list("windows", optarg, 1, PING_WINDOW_MAX, b.windows, &b.nwindows);
            break;
        case 'n': k = opt_u32("count", optarg, 1, PING_COUNT_MAX, &b.count); break;
        case 'l': k = opt_u32("latency", optarg, 1, PING_COUNT_MAX, &b.latency_count); break;
        case 'z': p.nocopy = true; break;
        case 'j': o.json = true; break;
        case 'P': o.svg = optarg; break;
        case 'J': join = true; break;
        case 'T': to = optarg; break;
        case 'h': usage(stdout); return TOOL_OK;
        case LINKOPTS_BAD: return TOOL_USAGE;
        default: usage(stderr); return TOOL_USAGE;
        }
        if (k < 0)
            return TOOL_USAGE;
    }
    if (!join) {
        if (to) {
            tool_err("--to names cores of `rpmsg sim`: it goes with --join");
            return TOOL_USAGE;
        }
        if (linkopts_done(&lo, argc, argv, "bench"))
            return TOOL_USAGE;
        return run_link(&b, &p, &lo, &o);
    }
    if (optind < argc) {
        tool_err("unexpected argument '%s'", argv[optind]);
        return TOOL_USAGE;
    }
    if (lo.link || lo.openamp || lo.uart || lo.spi || lo.nuttx) {
        tool_err("--join takes its links from `rpmsg sim`: no link option with it");
        return TOOL_USAGE;
    }
    if (!to) {
        tool_err("--join: say which cores to measure with --to CPU[,CPU...]");
        return TOOL_USAGE;
    }
    snprintf(to_buf, sizeof(to_buf), "%s", to);
    if (split_targets(to_buf, targets, TARGETS_MAX, &o.ntargets))
        return TOOL_USAGE;
    return run_join(&b, &p, &lo, &o, targets);
}

const struct rpmsg_tool_cmd rpmsg_cmd_bench = {
    .name = "bench",
    .summary = "latency distribution and throughput sweep against `rpmsg echo`",
    .run = run,
};
