/*
 * `rpmsg trace`: every message on a link, in a pcap file for Wireshark
 * (tools/wireshark/rpmsg.lua), or a capture read back as text.
 *
 *   rpmsg trace --link NAME -w FILE     passive: watches the VirtIO region
 *   rpmsg trace -w FILE -- rpmsg CMD    runs CMD, which records its links
 *   rpmsg trace -r FILE                 prints a capture
 *
 * Only shared memory can be watched without taking part: a UART or SPI line
 * has two ends and no room for a third, so there the command that owns an
 * end records what it sends and receives.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "opt.h"
#include "pcap.h"
#include "stop.h"
#include "tools.h"
#include "trace_shm.h"
#include "trace_text.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rpmsg trace (--link NAME | --openamp SHM[:SOCK]) -w FILE [options]\n"
            "       rpmsg trace -w FILE [options] -- COMMAND [ARGS...]\n"
            "       rpmsg trace -r FILE\n"
            "Writes every message of a link into FILE (pcap; Wireshark with\n"
            "tools/wireshark/rpmsg.lua), or prints a capture as text.\n"
            "  --link NAME          watch the native VirtIO link in /dev/shm/NAME without\n"
            "                       taking part; start it after the side that creates the\n"
            "                       link and before the other joins\n"
            "  --openamp SHM[:SOCK] the same for an OpenAMP-layout region /dev/shm/SHM\n"
            "  -- COMMAND ...       run COMMAND (an `rpmsg` link command: echo, ping, bench,\n"
            "                       list, sock, fs) and record what it sends and receives on\n"
            "                       its link, whatever the link: UART and SPI too\n"
            "  -w, --write FILE     the capture to write\n"
            "  -r, --read FILE      print the capture FILE, one message a line\n"
            "  --count N            stop after N messages\n"
            "  --duration S         stop after S seconds (COMMAND: sent SIGINT)\n"
            "  --wait MS            how long to wait for /dev/shm/NAME (default 10000)\n");
}

/* Runs argv with the capture handed down in its environment; its exit code. */
static int wrap(char **argv, const char *file, unsigned long count, uint32_t duration_s)
{
    char n[32];
    snprintf(n, sizeof(n), "%lu", count);
    if (setenv(PCAP_ENV_FILE, file, 1) || (count && setenv(PCAP_ENV_COUNT, n, 1))) {
        tool_err("cannot set the environment: %s", strerror(errno));
        return TOOL_FAIL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        tool_err("cannot start %s: %s", argv[0], strerror(errno));
        return TOOL_FAIL;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "rpmsg trace: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    /* Our signals go to the command, which then ends its capture cleanly. */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = 0, sent = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            tool_err("waiting for %s: %s", argv[0], strerror(errno));
            return TOOL_FAIL;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        bool over = duration_s && t.tv_sec - t0.tv_sec >= (time_t)duration_s;
        if ((tool_stop || over) && !sent) {
            kill(pid, SIGINT);
            sent = 1;
        }
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    /* A command ended by our --duration's SIGINT ends as asked. */
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGINT && sent ? TOOL_OK : TOOL_FAIL;
}

static int watch(const char *name, const char *file, const struct trace_shm_limits *lim)
{
    struct pcap *p;
    int r = pcap_open(&p, file);
    if (r) {
        tool_err("cannot write %s: %s", file, strerror(-r));
        return TOOL_FAIL;
    }
    struct trace_shm_stats st = { 0 };
    r = trace_shm_watch(name, p, lim, &st);
    pcap_close(p);
    if (r)
        return TOOL_FAIL;
    fprintf(stderr, "rpmsg trace: %lu messages", st.records);
    if (st.missed)
        fprintf(stderr, ", %lu missed (reused before seen)", st.missed);
    if (st.lost)
        fprintf(stderr, ", %lu seen too late for their contents", st.lost);
    if (st.bad)
        fprintf(stderr, ", %lu bad ring entries", st.bad);
    if (st.resets)
        fprintf(stderr, ", link restarted %u times", st.resets);
    fprintf(stderr, "\n");
    return TOOL_OK;
}

static int run(int argc, char **argv)
{
    const char *wfile = NULL, *rfile = NULL, *shm = NULL;
    char shm_name[256];
    unsigned long count = 0;
    uint32_t duration = 0, wait_ms = 10000;
    static const struct option opts[] = {
        { "link", required_argument, NULL, 'L' },
        { "openamp", required_argument, NULL, 'O' },
        { "write", required_argument, NULL, 'w' },
        { "read", required_argument, NULL, 'r' },
        { "count", required_argument, NULL, 'c' },
        { "duration", required_argument, NULL, 'd' },
        { "wait", required_argument, NULL, 'W' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    /* '+': stop at the first operand, the wrapped command's name. */
    while ((c = getopt_long(argc, argv, "+hw:r:", opts, NULL)) != -1) {
        int k = 0;
        switch (c) {
        case 'L': shm = optarg; break;
        case 'O':
            /* SHM:SOCK as for the link commands; only the region matters here. */
            snprintf(shm_name, sizeof(shm_name), "%.*s", (int)strcspn(optarg, ":"), optarg);
            shm = shm_name;
            break;
        case 'w': wfile = optarg; break;
        case 'r': rfile = optarg; break;
        case 'c': k = opt_ulong("count", optarg, 1, ~0ul, &count); break;
        case 'd': k = opt_u32("duration", optarg, 1, 86400, &duration); break;
        case 'W': k = opt_u32("wait", optarg, 1, 86400000, &wait_ms); break;
        case 'h': usage(stdout); return TOOL_OK;
        default: usage(stderr); return TOOL_USAGE;
        }
        if (k < 0)
            return TOOL_USAGE;
    }
    char **cmd = optind < argc ? argv + optind : NULL;
    if (rfile) {
        if (wfile || shm || cmd || count || duration) {
            tool_err("-r FILE takes no other option");
            return TOOL_USAGE;
        }
        return trace_print_file(rfile, stdout) < 0 ? TOOL_FAIL : TOOL_OK;
    }
    if (!wfile || !!shm + !!cmd != 1) {
        tool_err("give -w FILE and either --link NAME (or --openamp SHM) or -- COMMAND");
        return TOOL_USAGE;
    }
    tool_stop_on_signals();
    if (cmd)
        return wrap(cmd, wfile, count, duration);
    struct trace_shm_limits lim = { .count = count, .duration_ms = duration * 1000u,
                                    .wait_ms = wait_ms };
    return watch(shm, wfile, &lim);
}

const struct rpmsg_tool_cmd rpmsg_cmd_trace = {
    .name = "trace",
    .summary = "record a link's messages in a pcap file (-w), or print one (-r)",
    .run = run,
};
