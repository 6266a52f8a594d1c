/*
 * `rpmsg ping --pcap FILE` against `rpmsg echo --pcap FILE`, both captures
 * decoded by tshark (Debian) with tools/wireshark/rpmsg.lua: the name
 * service exchange first, then every message each way, in order, with its
 * addresses and length. `rpmsg trace`: a passive capture of a VirtIO link,
 * a wrapped command's capture, and both read back as text (-r).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "toolrun.h"

#define COUNT 20

static char ping_pcap[160], echo_pcap[160], trace_pcap[160];

/* tshark's fields of every record in file, one record a line. */
static void decode(const char *file, char *buf, size_t size)
{
    assert_int_equal(tr_tshark(file, "rpmsg.dir rpmsg.src rpmsg.dst rpmsg.len rpmsg_ns.name "
                                     "rpmsg_ns.addr rpmsg_ns.flags", buf, size), 0);
}

static int count_lines(const char *text, const char *line)
{
    int n = 0;
    size_t l = strlen(line);
    for (const char *s = text; (s = strstr(s, line)); s += l)
        if (s == text || s[-1] == '\n')
            n++;
    return n;
}

static void test_pcap_decoded_by_tshark(void **st)
{
    (void)st;
    char name[96];
    snprintf(name, sizeof(name), "%strace", tr_prefix);
    const char *echo[] = { "echo", "--link", name, "--count", "20", "--pcap", echo_pcap, NULL };
    const char *ping[] = { "ping", "--link", name, "--count", "20", "--pcap", ping_pcap, NULL };
    tr_start(&tr_procs[0], echo);
    int r = tr_run(&tr_procs[1], ping, 60000);
    int re = tr_finish(&tr_procs[0], 20000);
    if (r || re) {
        tr_dump("ping", &tr_procs[1]);
        tr_dump("echo", &tr_procs[0]);
    }
    assert_int_equal(r, 0);
    assert_int_equal(re, 0);

    static char text[65536];
    decode(ping_pcap, text, sizeof(text));
    /* The echo's announcement arrives first; the ping acknowledges it. */
    const char *first = "1,0x00000400,0x00000035,40,rpmsg-ping,0x00000400,0\n"
                        "0,0x00000400,0x00000035,40,rpmsg-ping,0x00000400,2\n";
    if (strncmp(text, first, strlen(first)))
        fprintf(stderr, "decoded:\n%s\n", text);
    assert_int_equal(strncmp(text, first, strlen(first)), 0);
    /* Then each ping out and its echo back, 16 bytes between 0x400 and 0x400. */
    assert_int_equal(count_lines(text, "0,0x00000400,0x00000400,16,,,"), COUNT);
    assert_int_equal(count_lines(text, "1,0x00000400,0x00000400,16,,,"), COUNT);
    const char *pairs = strstr(text, "0,0x00000400,0x00000400,16,,,\n"
                                     "1,0x00000400,0x00000400,16,,,\n");
    assert_non_null(pairs);

    /* The echo's side of the same exchange: mirror image. */
    decode(echo_pcap, text, sizeof(text));
    assert_int_equal(strncmp(text, "0,0x00000400,0x00000035,40,rpmsg-ping,0x00000400,0\n", 51), 0);
    assert_int_equal(count_lines(text, "1,0x00000400,0x00000400,16,,,"), COUNT);
    assert_int_equal(count_lines(text, "0,0x00000400,0x00000400,16,,,"), COUNT);
    unlink(ping_pcap);
    unlink(echo_pcap);
    assert_int_equal(tr_leftovers(), 0);
}

/* Records in a decoded capture that start with prefix. */
static int count_prefix(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *s = text; *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : s + strlen(s))
        n += !strncmp(s, prefix, strlen(prefix));
    return n;
}

/*
 * `rpmsg sim --pcap DIR`: one capture per link end; what one end of a
 * VirtIO link sent, the other received, message for message (but for
 * those in flight at the end).
 */
static void test_sim_pcap_dir(void **st)
{
    (void)st;
    char dir[160], ini[1024];
    snprintf(dir, sizeof(dir), "/tmp/%ssim", tr_prefix);
    assert_int_equal(mkdir(dir, 0700), 0);
    tr_source_path(ini, sizeof(ini), "examples/heterogeneous.ini");
    const char *sim[] = { "sim", ini, "--demo", "--count", "200", "--pings", "20",
                          "--interval", "0", "--pcap", dir, NULL };
    int r = tr_run(&tr_procs[0], sim, 120000);
    if (r)
        tr_dump("sim", &tr_procs[0]);
    assert_int_equal(r, 0);
    static char a[1 << 20], b[1 << 20];
    char path[256];
    const char *ends[] = { "spi0-big", "spi0-A", "vq0-A", "vq0-B" };
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s.pcap", dir, ends[i]);
        assert_int_equal(access(path, R_OK), 0);
    }
    snprintf(path, sizeof(path), "%s/vq0-A.pcap", dir);
    decode(path, a, sizeof(a));
    snprintf(path, sizeof(path), "%s/vq0-B.pcap", dir);
    decode(path, b, sizeof(b));
    int a_sent = count_prefix(a, "0,"), a_received = count_prefix(a, "1,");
    assert_true(a_sent > 200 && a_received > 200); /* the demo's 200 went through */
    /* Mirror images, but for what was in flight when the cores were stopped
     * (a ring holds at most 128 here: bufs in the topology). */
    int b_received = count_prefix(b, "1,"), b_sent = count_prefix(b, "0,");
    assert_true(b_received <= a_sent && a_sent - b_received <= 128);
    assert_true(a_received <= b_sent && b_sent - a_received <= 128);
    /* The router's control messages on big's SPI link to the hub A: both
     * HELLOs (A's says HUB), A's route to B one hop away, and B's circuit
     * setup to big, answered. */
    snprintf(path, sizeof(path), "%s/spi0-big.pcap", dir);
    assert_int_equal(tr_tshark(path, "rpmsg.dir rpmsg_router.type rpmsg_router.name "
                                     "rpmsg_router.src rpmsg_router.hops rpmsg_router.hub",
                               a, sizeof(a)), 0);
    const char *want[] = { "0,1,big,,0,0\n", "1,1,A,,0,1\n", "1,2,B,,1,0\n", "1,3,big,B,1,0\n",
                           "0,4,,,0,0\n" };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!strstr(a, want[i]))
            fprintf(stderr, "no %s in:\n%s\n", want[i], a);
        assert_non_null(strstr(a, want[i]));
    }
    char rm[256];
    snprintf(rm, sizeof(rm), "rm -rf %s", dir);
    assert_int_equal(system(rm), 0);
}


/* `rpmsg trace -r FILE` into buf; the command's status. */
static int read_text(const char *file, char *buf, size_t size)
{
    const char *rd[] = { "trace", "-r", file, NULL };
    int r = tr_run(&tr_procs[2], rd, 30000);
    tr_slurp(tr_procs[2].out, buf, size);
    return r;
}

/* Lines of text holding needle. */
static int count_in_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *s = text; *s;) {
        const char *e = strchr(s, '\n');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        char line[512];
        snprintf(line, sizeof(line), "%.*s", (int)l, s);
        n += strstr(line, needle) != NULL;
        s += l + (e != NULL);
    }
    return n;
}

/* The passive trace around one ping run; stopped: the trace is held
 * (SIGSTOP) for the whole session, as a starved process would be. */
static void run_passive(const char *tag, bool stopped)
{
    char name[96];
    snprintf(name, sizeof(name), "%s%s", tr_prefix, tag);
    const char *echo[] = { "echo", "--link", name, "--count", "20", NULL };
    const char *trace[] = { "trace", "--link", name, "-w", trace_pcap, NULL };
    const char *ping[] = { "ping", "--link", name, "--count", "20", NULL };
    tr_start(&tr_procs[0], echo);
    tr_start(&tr_procs[1], trace);
    assert_true(tr_err_has(&tr_procs[1], "watching", 20000));
    if (stopped) {
        usleep(100000); /* it has looked at the link before the ping joins */
        kill(tr_procs[1].pid, SIGSTOP);
    }
    int rp = tr_run(&tr_procs[2], ping, 60000);
    int re = tr_finish(&tr_procs[0], 20000);
    if (stopped)
        kill(tr_procs[1].pid, SIGCONT);
    int rt = tr_finish(&tr_procs[1], 20000);
    if (rp || re || rt) {
        tr_dump("ping", &tr_procs[2]);
        tr_dump("echo", &tr_procs[0]);
        tr_dump("trace", &tr_procs[1]);
    }
    assert_int_equal(rp, 0);
    assert_int_equal(re, 0);
    assert_int_equal(rt, 0);
}

/*
 * What a passive trace of one ping run holds: the remote's messages (vring0,
 * whose buffers the host hands out in turn) all with their contents; the
 * host's all counted (a buffer the ping reused before the trace looked is
 * recorded as seen too late).
 */
static void check_passive(void)
{
    static char text[65536];
    assert_int_equal(read_text(trace_pcap, text, sizeof(text)), 0);
    if (count_in_lines(text, "remote>host 0x400 -> 0x400 len 16 [rpmsg-ping] data ") != COUNT) {
        fprintf(stderr, "read back:\n%s\n", text);
        tr_dump("trace", &tr_procs[1]);
    }
    assert_int_equal(count_in_lines(text, "remote>host 0x400 -> 0x35 len 40 NS CREATE \"rpmsg-ping\" at 0x400"), 1);
    assert_int_equal(count_in_lines(text, "remote>host 0x400 -> 0x400 len 16 [rpmsg-ping] data "), COUNT);
    /* The host: its acknowledgement, 20 pings and its goodbye, each either
     * decoded or marked as seen too late. */
    int host = count_in_lines(text, "host>remote");
    int ok = count_in_lines(text, "host>remote 0x400 -> 0x400 len 16 ") +
             count_in_lines(text, "host>remote 0x400 -> 0x35 len 40 NS ");
    int late = count_in_lines(text, "host>remote (seen too late");
    if (host < COUNT + 1 || ok + late != host)
        fprintf(stderr, "read back:\n%s\n", text);
    assert_true(host >= COUNT + 1 && host <= COUNT + 2);
    assert_int_equal(ok + late, host);

    /* tshark agrees: every record observed, the remote's 20 echoes decoded. */
    static char dec[65536];
    decode(trace_pcap, dec, sizeof(dec));
    if (count_lines(dec, "1,0x00000400,0x00000400,16,,,\n") != COUNT)
        fprintf(stderr, "decoded:\n%s\n", dec);
    assert_int_equal(count_lines(dec, "1,0x00000400,0x00000400,16,,,"), COUNT);
    assert_int_equal(count_prefix(dec, "1,"), count_in_lines(text, "remote>host"));
    assert_int_equal(count_prefix(dec, "0,"), host);
    unlink(trace_pcap);
    assert_int_equal(tr_leftovers(), 0);
}

/* A passive trace between the echo that creates the link and the ping that
 * joins it. The trace ends by itself when both ends have closed. */
static void test_trace_passive(void **st)
{
    (void)st;
    run_passive("passive", false);
    check_passive();
}

/* The same with the trace not running during the whole session: it reads
 * the session from the rings afterwards. */
static void test_trace_passive_late(void **st)
{
    (void)st;
    run_passive("late", true);
    check_passive();
}

/*
 * `rpmsg trace -w FILE --count 10 -- rpmsg ping ...`: the ping records its
 * own link, the first 10 messages only, and its exit code is the trace's.
 */
static void test_trace_wraps_command(void **st)
{
    (void)st;
    char name[96];
    snprintf(name, sizeof(name), "%swrap", tr_prefix);
    const char *echo[] = { "echo", "--link", name, "--count", "20", NULL };
    const char *trace[] = { "trace", "-w", trace_pcap, "--count", "10", "--", tr_bin, "ping",
                            "--link", name, "--count", "20", NULL };
    tr_start(&tr_procs[0], echo);
    int rt = tr_run(&tr_procs[1], trace, 60000);
    int re = tr_finish(&tr_procs[0], 20000);
    if (rt || re) {
        tr_dump("trace", &tr_procs[1]);
        tr_dump("echo", &tr_procs[0]);
    }
    assert_int_equal(rt, 0);
    assert_int_equal(re, 0);
    static char text[16384];
    assert_int_equal(read_text(trace_pcap, text, sizeof(text)), 0);
    int lines = 0;
    for (const char *c = text; (c = strchr(c, '\n')); c++)
        lines++;
    assert_int_equal(lines, 10);
    assert_non_null(strstr(text, "    1    0.000000 received 0x400 -> 0x35 len 40 NS CREATE \"rpmsg-ping\" at 0x400\n"));
    assert_int_equal(count_in_lines(text, "sent     0x400 -> 0x400 len 16 [rpmsg-ping] data "), 4);
    assert_int_equal(count_in_lines(text, "received 0x400 -> 0x400 len 16 [rpmsg-ping] data "), 4);
    unlink(trace_pcap);

    /* A wrapped command's failure is the trace's: no echo now. */
    const char *lone[] = { "trace", "-w", trace_pcap, "--", tr_bin, "ping", "--link", name,
                           "--wait", "200", NULL };
    assert_int_equal(tr_run(&tr_procs[1], lone, 30000), 1);
    /* -r on something that is not a capture: a runtime failure, said so. */
    const char *bad[] = { "trace", "-r", "/proc/self/status", NULL };
    assert_int_equal(tr_run(&tr_procs[2], bad, 30000), 1);
    assert_true(tr_err_has(&tr_procs[2], "is not an rpmsg capture", 1000));
    unlink(trace_pcap);
    assert_int_equal(tr_leftovers(), 0);
}

static int teardown(void **st)
{
    (void)st;
    tr_kill_all();
    tr_leftovers();
    unlink(ping_pcap);
    unlink(echo_pcap);
    unlink(trace_pcap);
    return 0;
}

int main(void)
{
    if (!tr_init("rpmsg-tracetest"))
        return 1;
    snprintf(ping_pcap, sizeof(ping_pcap), "/tmp/%sping.pcap", tr_prefix);
    snprintf(echo_pcap, sizeof(echo_pcap), "/tmp/%secho.pcap", tr_prefix);
    snprintf(trace_pcap, sizeof(trace_pcap), "/tmp/%strace.pcap", tr_prefix);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_pcap_decoded_by_tshark, teardown),
        cmocka_unit_test_teardown(test_sim_pcap_dir, teardown),
        cmocka_unit_test_teardown(test_trace_passive, teardown),
        cmocka_unit_test_teardown(test_trace_passive_late, teardown),
        cmocka_unit_test_teardown(test_trace_wraps_command, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
