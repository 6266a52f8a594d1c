/*
 * `rpmsg sock`: a socat-style bridge between ordinary sockets (TCP, Unix,
 * UDP, stdio; tools/sock_end.c) and RPMsg Socket streams or datagrams, so
 * ordinary programs run over the link unchanged.
 *   rpmsg sock [LINK] ACCEPTING-END rpmsg:[CPU:]NAME
 *   rpmsg sock [LINK] rpmsg-listen:NAME CONNECTING-END
 *   rpmsg sock [LINK] udp-listen:[HOST:]PORT rpmsg-dgram:[CPU:]NAME
 *   rpmsg sock [LINK] rpmsg-dgram-listen:NAME udp:HOST:PORT
 * LINK is one link (then rpmsg:NAME needs no CPU), or --sim: this process
 * is a `program =` core of `rpmsg sim`, and CPU names any core it reaches,
 * through hubs too.
 * The bridge itself is sock_bridge.c (also run by `rpmsg sim` cores).
 */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "linkopts.h"
#include "opt.h"
#include "sock_bridge.h"
#include "stop.h"
#include "tools.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg sock [options] ADDRESS ADDRESS\n"
               "Bridges sockets and RPMsg Socket streams or datagrams over the link:\n"
               SOCK_BRIDGE_USAGE "options:\n"
               "  --count N        exit after N connections have ended\n"
               "  --sim            run as a `program =` core of rpmsg sim (no link option):\n"
               "                   rpmsg:CPU:NAME reaches any core, through hubs too\n"
               "defaults: --role host --side attach\n" LINKOPTS_USAGE);
}

static int run(int argc, char **argv)
{
    static struct sock_bridge b;
    bool sim = false;
    struct linkopts lo;
    linkopts_init(&lo, RPMSG_LINK_HOST, RPMSG_LINK_ATTACH);
    static const struct option opts[] = {
        LINKOPTS_LONG,
        { "count", required_argument, NULL, 'n' },
        { "sim", no_argument, NULL, 's' },
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
        case 'n':
            if (opt_ulong("count", optarg, 1, ULONG_MAX, &b.limit))
                return TOOL_USAGE;
            break;
        case 's': sim = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2 || !sock_bridge_parse(&b, argv[optind], argv[optind + 1])) {
        usage(stderr);
        return 2;
    }
    tool_stop_on_signals();
    struct rpmsg_link *link = NULL;
    struct rpmsg_link_member *me = NULL;
    if (sim) {
        int r = rpmsg_link_join(&me, 0);
        if (r) {
            fprintf(stderr, "rpmsg sock: cannot join the sim: %s\n", rpmsg_strerror(r));
            return 1;
        }
    } else if (linkopts_open(&lo, &link, "sock")) {
        return 1;
    }
    struct rpmsg_device *rdev = link ? rpmsg_link_device(link) : NULL;
    int rc = sock_bridge_run(&b, rdev);
    /* Connections still running finish first (bounded by their own ends). */
    while (atomic_load(&b.active) && !tool_stop)
        usleep(10000);
    fprintf(stderr,
            "rpmsg sock: %lu connections, %lu errors, %lu datagrams refused, %llu bytes to "
            "rpmsg, %llu to the end\n",
            (unsigned long)b.done, (unsigned long)b.errors, (unsigned long)b.refused,
            (unsigned long long)b.to_rpmsg, (unsigned long long)b.to_end);
    if (!atomic_load(&b.active)) {
        if (link)
            rpmsg_link_close(link);
        else
            rpmsg_link_leave(me);
    }
    return rc || b.errors ? 1 : 0;
}

const struct rpmsg_tool_cmd rpmsg_cmd_sock = {
    .name = "sock",
    .summary = "bridge TCP/Unix/UDP/stdio and RPMsg Socket streams or datagrams (socat-style)",
    .run = run,
};
