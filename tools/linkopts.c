#include "linkopts.h"

#include "rpmsg/rpmsg_port.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "pcap.h"
#include "stop.h"

void linkopts_init(struct linkopts *o, enum rpmsg_link_role role, enum rpmsg_link_side side)
{
    memset(o, 0, sizeof(*o));
    o->cfg.role = role;
    o->cfg.side = side;
    o->cfg.timeout_ms = 10000;
    /* A signal ends the wait for the peer at once, not after --wait. */
    o->cfg.cancel = tool_stop_requested;
}

int linkopts_getopt(struct linkopts *o, int argc, char **argv, const struct option *opts)
{
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = linkopts_parse(o, c, optarg);
        if (k < 0)
            return LINKOPTS_BAD;
        if (!k)
            return c;
    }
    return -1;
}

int linkopts_done(struct linkopts *o, int argc, char **argv, const char *cmd)
{
    if (optind < argc) {
        tool_err("unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return linkopts_validate(o, cmd) ? -1 : 0;
}

static int bad(const char *what, const char *arg)
{
    tool_err("bad value for --%s: '%s'", what, arg);
    return -1;
}

int linkopts_parse(struct linkopts *o, int opt, const char *arg)
{
    switch (opt) {
    case 0x100: o->link = arg; return 1;
    case 0x101: o->openamp = arg; return 1;
    case 0x102: o->cfg.listen = true; return 1;
    case 0x103:
        if (!strcmp(arg, "host")) o->cfg.role = RPMSG_LINK_HOST;
        else if (!strcmp(arg, "remote")) o->cfg.role = RPMSG_LINK_REMOTE;
        else return bad("role", arg);
        return 1;
    case 0x104:
        if (!strcmp(arg, "create")) o->cfg.side = RPMSG_LINK_CREATE;
        else if (!strcmp(arg, "attach")) o->cfg.side = RPMSG_LINK_ATTACH;
        else return bad("side", arg);
        return 1;
    case 0x105:
        if (!strcmp(arg, "adaptive")) o->cfg.wait = RPMSG_LINK_ADAPTIVE;
        else if (!strcmp(arg, "poll")) o->cfg.wait = RPMSG_LINK_POLL;
        else if (!strcmp(arg, "interrupt")) o->cfg.wait = RPMSG_LINK_INTERRUPT;
        else return bad("mode", arg);
        return 1;
    case 0x106: o->cfg.cpuname = arg; return 1;
    case 0x107:
        o->wait_given = true;
        return opt_u32("wait", arg, 1, LINKOPTS_WAIT_MAX, &o->cfg.timeout_ms) ? -1 : 1;
    case 0x108: o->uart = arg; return 1;
    case 0x109: o->spi = arg; return 1;
    case 0x10a: o->nuttx = arg; return 1;
    case 0x10b: o->cfg.peer_cpuname = arg; return 1;
    case 0x10c: o->pcap = arg; return 1;
    default: return 0;
    }
}

/* One capture per process, kept across the links it opens (echo --serve),
 * closed at exit, after the command has closed its links. */
static struct pcap *capture;

static void close_capture(void)
{
    rpmsg_set_trace(NULL, NULL, NULL);
    pcap_close(capture);
    capture = NULL;
}

/* Records the messages of every link opened from now on in --pcap FILE,
 * each from its first message (the trace every new device starts with). */
static int start_capture(struct linkopts *o, const char *cmd)
{
    /* `rpmsg trace -w FILE -- rpmsg CMD ...` hands its file down this way. */
    const char *path = o->pcap ? o->pcap : getenv(PCAP_ENV_FILE);
    if (!path || !path[0] || capture)
        return 0;
    int r = pcap_open(&capture, path);
    if (r) {
        fprintf(stderr, "rpmsg %s: cannot write %s: %s\n", cmd, path, strerror(-r));
        return r;
    }
    unsigned long max = 0;
    const char *count = o->pcap ? NULL : getenv(PCAP_ENV_COUNT);
    if (count && opt_ulong(PCAP_ENV_COUNT, count, 1, ~0ul, &max) == 0)
        pcap_set_limit(capture, max);
    atexit(close_capture);
    return pcap_trace_new_devices(capture);
}

static void no_peer(const struct linkopts *o, const char *cmd)
{
    fprintf(stderr, "rpmsg %s: no peer on %s within %u ms (--wait)\n", cmd, o->spec,
            o->cfg.timeout_ms);
}

int linkopts_validate(struct linkopts *o, const char *cmd)
{
    if (!!o->link + !!o->openamp + !!o->uart + !!o->spi + !!o->nuttx != 1) {
        fprintf(stderr, "rpmsg %s: give exactly one of --link NAME, --openamp SHM:SOCK, "
                        "--uart DEVICE[:BAUD], --spi NAME[@HZ] or --nuttx-sim SHM\n", cmd);
        return -EINVAL;
    }
    int w;
    if (o->uart) {
        /* DEVICE:BAUD on the command line, uart:DEVICE@BAUD as a spec. */
        const char *colon = strrchr(o->uart, ':');
        char *end = NULL;
        unsigned long baud = colon ? strtoul(colon + 1, &end, 10) : 0;
        if (colon && (colon == o->uart || !isdigit((unsigned char)colon[1]) || *end || !baud)) {
            fprintf(stderr, "rpmsg %s: bad value for --uart: '%s'\n", cmd, o->uart);
            return -EINVAL;
        }
        if (colon)
            w = snprintf(o->spec, sizeof(o->spec), "uart:%.*s@%lu", (int)(colon - o->uart),
                         o->uart, baud);
        else
            w = snprintf(o->spec, sizeof(o->spec), "uart:%s", o->uart);
    } else if (o->nuttx) {
        w = snprintf(o->spec, sizeof(o->spec), "nuttx-sim:%s:%s", o->nuttx,
                     o->cfg.role == RPMSG_LINK_HOST ? "host" : "remote");
    } else if (o->spi) {
        w = snprintf(o->spec, sizeof(o->spec), "spi:%s:%s", o->spi,
                     o->cfg.role == RPMSG_LINK_HOST ? "master" : "slave");
    } else {
        w = snprintf(o->spec, sizeof(o->spec), "%s:%s", o->link ? "virtio" : "openamp",
                     o->link ? o->link : o->openamp);
    }
    if (w < 0 || (size_t)w >= sizeof(o->spec)) {
        fprintf(stderr, "rpmsg %s: link name too long\n", cmd);
        return -ENAMETOOLONG;
    }
    return 0;
}

int linkopts_open(struct linkopts *o, struct rpmsg_link **out, const char *cmd)
{
    int r = linkopts_validate(o, cmd);
    if (r)
        return r;
    o->cfg.spec = o->spec;
    if ((r = start_capture(o, cmd)))
        return r;
    r = rpmsg_link_open(out, &o->cfg);
    if (r == -ECANCELED) {
        fprintf(stderr, "rpmsg %s: interrupted while opening %s\n", cmd, o->spec);
        return r;
    }
    if (r == -ETIMEDOUT) {
        no_peer(o, cmd);
        return r;
    }
    if (r == -ENOENT && o->link) {
        fprintf(stderr, "rpmsg %s: cannot open %s: no /dev/shm/%s; the side that creates it\n"
                        "  (`rpmsg echo --link %s`, or --side create) must start first\n",
                cmd, o->spec, o->link, o->link);
        return r;
    }
    if (r) {
        fprintf(stderr, "rpmsg %s: cannot open %s: %s\n", cmd, o->spec, rpmsg_strerror(r));
        return r;
    }
    r = rpmsg_link_wait_up(*out, o->cfg.timeout_ms);
    if (r == -ECANCELED) {
        fprintf(stderr, "rpmsg %s: interrupted while waiting for %s\n", cmd, o->spec);
        rpmsg_link_close(*out);
        *out = NULL;
    } else if (r == -ETIMEDOUT) {
        no_peer(o, cmd);
        linkopts_report(*out, cmd);
        rpmsg_link_close(*out);
        *out = NULL;
    } else if (r) {
        fprintf(stderr, "rpmsg %s: link %s did not come up: %s\n", cmd, o->spec,
                rpmsg_strerror(r));
        linkopts_report(*out, cmd); /* a fault may be why */
        rpmsg_link_close(*out);
        *out = NULL;
    }
    return r;
}

int linkopts_report(struct rpmsg_link *link, const char *cmd)
{
    char why[256];
    int r = rpmsg_link_trouble(link, why, sizeof(why));
    if (r == RPMSG_LINK_DOWN_FAULT || r == RPMSG_LINK_DOWN_DEAD)
        fprintf(stderr, "rpmsg %s: link %s\n", cmd, why);
    return r;
}
