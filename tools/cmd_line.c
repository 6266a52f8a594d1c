/*
 * `rpmsg line`: an emulated UART line between two pseudo-terminals, for
 * `rpmsg echo --uart` and `rpmsg ping --uart` in two other processes. It
 * prints the two ends, then relays (paced to the baud rate, with the faults
 * asked for) until it is signalled, and prints what it carried.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "line_pcap.h"
#include "pcap.h"
#include "rpmsg/rpmsg_port.h"
#include "stop.h"
#include "tools.h"


static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg line [options]\n"
               "Emulates a UART line between two pseudo-terminals and prints their paths\n"
               "(\"a: PATH\" and \"b: PATH\"); runs until SIGINT or SIGTERM.\n"
               "  --baud N      pace each direction to N baud, 8N1 (default 921600; 0: unpaced)\n"
               "  --ber X       bit error rate, each direction (default 0)\n"
               "  --drop X      probability that a byte is lost (default 0)\n"
               "  --pcap FILE   record every port frame each way, as the far end gets it,\n"
               "                in FILE (direction 0: a to b; Wireshark: rpmsg.lua)\n"
               "Then: rpmsg echo --uart A:BAUD   and   rpmsg ping --uart B:BAUD\n");
}

static int parse_rate(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || v < 0 || v > 1)
        return -1;
    *out = v;
    return 0;
}

static int run(int argc, char **argv)
{
    struct rpmsg_line_config cfg = { .baud = 921600 };
    const char *pcap_path = NULL;
    static const struct option opts[] = {
        { "baud", required_argument, NULL, 'b' },
        { "ber", required_argument, NULL, 'e' },
        { "drop", required_argument, NULL, 'd' },
        { "pcap", required_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': {
            char *end;
            unsigned long b = strtoul(optarg, &end, 10);
            if (*end || b > 100000000ul) {
                fprintf(stderr, "rpmsg line: bad value for --baud: '%s'\n", optarg);
                return 2;
            }
            cfg.baud = (uint32_t)b;
            break;
        }
        case 'e':
        case 'd':
            if (parse_rate(optarg, c == 'e' ? &cfg.ber : &cfg.drop_rate)) {
                fprintf(stderr, "rpmsg line: bad value for --%s: '%s'\n",
                        c == 'e' ? "ber" : "drop", optarg);
                return 2;
            }
            break;
        case 'p': pcap_path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    static struct line_pcap lp; /* 48 KiB: not on the stack */
    if (pcap_path) {
        int e = pcap_open(&lp.pcap, pcap_path);
        if (e) {
            fprintf(stderr, "rpmsg line: cannot write %s: %s\n", pcap_path, strerror(-e));
            return 1;
        }
        cfg.tap = line_pcap_tap;
        cfg.tap_arg = &lp;
    }
    struct rpmsg_line *line;
    int r = rpmsg_line_create(&line, &cfg);
    if (r) {
        fprintf(stderr, "rpmsg line: cannot create the line: %s\n", strerror(-r));
        pcap_close(lp.pcap);
        return 1;
    }
    tool_stop_on_signals();
    printf("a: %s\nb: %s\n", rpmsg_line_tty_a(line), rpmsg_line_tty_b(line));
    fflush(stdout);
    while (!tool_stop)
        usleep(50000); /* the relaying runs in the line's own thread */
    struct rpmsg_line_stats st;
    rpmsg_line_get_stats(line, &st);
    fprintf(stderr,
            "rpmsg line: carried %llu bytes a->b, %llu b->a; flipped %llu bits, dropped %llu "
            "bytes\n",
            (unsigned long long)st.bytes[0], (unsigned long long)st.bytes[1],
            (unsigned long long)(st.flipped[0] + st.flipped[1]),
            (unsigned long long)(st.dropped[0] + st.dropped[1]));
    rpmsg_line_destroy(line); /* stops the relay thread, the tap's only caller */
    pcap_close(lp.pcap);
    return 0;
}

const struct rpmsg_tool_cmd rpmsg_cmd_line = {
    .name = "line",
    .summary = "emulate a UART line between two pseudo-terminals (for --uart)",
    .run = run,
};
