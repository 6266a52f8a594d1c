/*
 * tools/wireshark/rpmsg.lua on real captures made by our own tools with
 * --pcap, decoded by tshark (Debian), field by field; and the same captures
 * read back by `rpmsg trace -r`:
 * - RPMsg Socket: `rpmsg sock` stdio to stdio with a 15-character service
 *   name: both SYNCs with our RSX1 extension and the full name, the DATA
 *   carrying the bytes, the SHUTDOWNs;
 * - RPMsg FS: `rpmsg fs export` read through `rpmsg fs mount` (FUSE; skipped
 *   where it cannot mount): X_HELLO, STAT, OPEN and READDIR with their
 *   paths and names, the file's bytes in a read reply.
 * - port frames: `rpmsg line --pcap` between `rpmsg echo --uart` and
 *   `rpmsg ping --uart`: CONNECT and CONNACK each way with the cpu names,
 *   DATA frames packing the name service and the pings, ACKs.
 * (The router's control messages: test_trace.c, test_sim_pcap_dir.)
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
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

static char pcap_a[160], pcap_b[160], tmp_in[160], tmp_dir[160], tmp_mnt[160];

static void tshark(const char *file, const char *fields, char *buf, size_t size)
{
    assert_int_equal(tr_tshark(file, fields, buf, size), 0);
}

static bool has_line(const char *text, const char *line)
{
    size_t l = strlen(line);
    for (const char *s = text; (s = strstr(s, line)); s += l)
        if ((s == text || s[-1] == '\n') && (s[l] == '\n' || s[l] == '\0'))
            return true;
    return false;
}

static void expect_line(const char *text, const char *line)
{
    if (!has_line(text, line))
        fprintf(stderr, "no line '%s' in:\n%s\n", line, text);
    assert_true(has_line(text, line));
}

/* `rpmsg trace -r file` into buf. */
static void read_back(const char *file, char *buf, size_t size)
{
    const char *rd[] = { "trace", "-r", file, NULL };
    assert_int_equal(tr_run(&tr_procs[2], rd, 30000), 0);
    tr_slurp(tr_procs[2].out, buf, size);
}

static void test_socket_decoded(void **st)
{
    (void)st;
    FILE *f = fopen(tmp_in, "w");
    assert_non_null(f);
    fputs("hello-rpmsg", f);
    assert_int_equal(fclose(f), 0);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "timeout 60 sh -c '%s sock --link %ssock --role remote --side create --pcap %s "
             "rpmsg-listen:longservicename stdio </dev/null >/dev/null 2>&1 & "
             "%s sock --link %ssock --pcap %s stdio rpmsg:longservicename <%s >/dev/null 2>&1; "
             "r=$?; wait $!; exit $r'",
             tr_bin, tr_prefix, pcap_b, tr_bin, tr_prefix, pcap_a, tmp_in);
    assert_int_equal(system(cmd), 0);

    static char t[65536];
    const char *fields = "rpmsg.dir rpmsg_sock.cmd rpmsg_sock.size rpmsg_sock.ext rpmsg_sock.full "
                         "rpmsg_sock.name rpmsg_sock.pos rpmsg_sock.len rpmsg_sock.data "
                         "rpmsg_sock.how";
    tshark(pcap_a, fields, t, sizeof(t));
    /* The client's side: SYNC each way with the extension and the full
     * name (the endpoint name holds 2 characters and a CRC), its 11 bytes,
     * and the half-close each way. The listener's first SYNC offers NuttX's
     * 1,024-byte window; it raises it to ours with a second SYNC once the
     * client's SYNC shows a peer of ours, unless it has shut down first:
     * its stdin is empty, and which comes first is a race (the second SYNC
     * was missing twice in about a hundred runs under ASan). */
    const char *name = "longservicename";
    char line[256];
    snprintf(line, sizeof(line), "0,1,262144,0x31585352,484,%s,,,,", name);
    expect_line(t, line);
    char raised[256];
    snprintf(line, sizeof(line), "1,1,1024,0x31585352,484,%s,,,,", name);
    snprintf(raised, sizeof(raised), "1,1,262144,0x31585352,484,%s,,,,", name);
    if (!has_line(t, line) && !has_line(t, raised))
        fprintf(stderr, "no listener SYNC ('%s' or '%s') in:\n%s\n", line, raised, t);
    assert_true(has_line(t, line) || has_line(t, raised));
    for (int dir = 0; dir < 2; dir++) {
        snprintf(line, sizeof(line), "%d,3,,,,,,,,2", dir);
        expect_line(t, line);
    }
    expect_line(t, "0,2,,,,,0,11,68656c6c6f2d72706d7367,");
    /* The server's side saw the same DATA arrive. */
    tshark(pcap_b, fields, t, sizeof(t));
    expect_line(t, "1,2,,,,,0,11,68656c6c6f2d72706d7367,");
    read_back(pcap_a, t, sizeof(t));
    assert_non_null(strstr(t, "sent     0x400 -> 0x400 len 23 [s:lo"));
    assert_non_null(strstr(t, "] DATA pos 0 len 11\n"));
    assert_non_null(strstr(t, "] SYNC size 262144 RSX1 full 484 name \"longservicename\"\n"));
    assert_int_equal(tr_leftovers(), 0);
}

static bool mounted(const char *file)
{
    return access(file, R_OK) == 0;
}

static void test_fs_decoded(void **st)
{
    (void)st;
    int fd = open("/dev/fuse", O_RDWR);
    if (fd < 0) {
        print_message("skipped: /dev/fuse: %s\n", strerror(errno));
        skip();
    }
    close(fd);
    assert_int_equal(mkdir(tmp_dir, 0700), 0);
    assert_int_equal(mkdir(tmp_mnt, 0700), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/f.txt", tmp_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("fs-hello", f);
    assert_int_equal(fclose(f), 0);
    char link[96];
    snprintf(link, sizeof(link), "%sfs", tr_prefix);
    const char *exp[] = { "fs", "export", "--link", link, "--role", "remote", "--side", "create",
                          "--pcap", pcap_a, "data", tmp_dir, NULL };
    const char *mnt[] = { "fs", "mount", "--link", link, "data", tmp_mnt, NULL };
    tr_start(&tr_procs[0], exp);
    tr_start(&tr_procs[1], mnt);
    snprintf(path, sizeof(path), "%s/f.txt", tmp_mnt);
    int t;
    for (t = 0; t < 400 && !mounted(path); t++)
        usleep(50000);
    if (t == 400) {
        tr_dump("mount", &tr_procs[1]);
        print_message("skipped: the mount did not come up (no right to mount?)\n");
        skip();
    }
    char got[64] = "";
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(got, sizeof(got), f));
    fclose(f);
    assert_string_equal(got, "fs-hello");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "ls %s >/dev/null && fusermount3 -u %s", tmp_mnt, tmp_mnt);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(tr_finish(&tr_procs[1], 20000), 0);
    kill(tr_procs[0].pid, SIGINT);
    assert_int_equal(tr_finish(&tr_procs[0], 20000), 0);

    static char text[1 << 18];
    tshark(pcap_a, "rpmsg.dir rpmsg_fs.cmd rpmsg_fs.result rpmsg_fs.version rpmsg_fs.path "
                   "rpmsg_fs.count rpmsg_fs.data",
           text, sizeof(text));
    /* Our server greets ours with the extension's version; the client's
     * first request STATs the export's root. */
    expect_line(text, "0,64,0,1,,,");
    expect_line(text, "1,20,-6,,/data,,");
    /* Between peers of ours the open carries the caller (X_OPEN). */
    expect_line(text, "1,69,-6,,/data/f.txt,,");
    expect_line(text, "1,11,-6,,/data,,");
    /* READDIR's reply names the file; a read reply carries its 8 bytes
     * (READ or, between peers of ours, X_PREAD). */
    expect_line(text, "0,12,0,,f.txt,,");
    bool read = strstr(text, ",66732d68656c6c6f\n") &&
                (strstr(text, "\n0,65,8,,,") || strstr(text, "\n0,3,8,,,"));
    if (!read)
        fprintf(stderr, "no read reply of 8 bytes in:\n%s\n", text);
    assert_true(read);
    read_back(pcap_a, text, sizeof(text));
    assert_non_null(strstr(text, "FS X_OPEN request \"/data/f.txt\"\n"));
    assert_non_null(strstr(text, "FS READDIR reply 0 \"f.txt\"\n"));
    assert_non_null(strstr(text, "FS X_HELLO version 1"));
    assert_int_equal(tr_leftovers(), 0);
}


/* Lines of text (fields separated by ',') whose field i equals v[i] for
 * every i where v[i] is not NULL. */
static int count_records(const char *text, const char *const *v, int nv)
{
    int n = 0;
    for (const char *s = text; *s;) {
        const char *e = strchr(s, '\n');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        char line[1024];
        snprintf(line, sizeof(line), "%.*s", (int)l, s);
        bool ok = true;
        char *f = line;
        for (int i = 0; i < nv && ok; i++) {
            char *comma = strchr(f, ',');
            if (comma)
                *comma = '\0';
            ok = !v[i] || !strcmp(f, v[i]);
            f = comma ? comma + 1 : f + strlen(f);
        }
        n += ok;
        s += l + (e != NULL);
    }
    return n;
}

/* Messages of length len (and NS name, if given) that DATA frames of
 * direction dir carry: fields dir,type,cpu,msgs,len,name with '/' between
 * the values of one frame's messages. */
static int data_msgs(const char *text, const char *dir, const char *len, const char *name)
{
    int n = 0;
    for (const char *s = text; *s;) {
        const char *e = strchr(s, '\n');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        char line[1024], *f[6] = { 0 };
        snprintf(line, sizeof(line), "%.*s", (int)l, s);
        s += l + (e != NULL);
        char *p = line;
        for (int i = 0; i < 6 && p; i++) {
            f[i] = p;
            p = strchr(p, ',');
            if (p)
                *p++ = '\0';
        }
        if (!f[5] || strcmp(f[0], dir) || strcmp(f[1], "3"))
            continue;
        if (name) {
            n += strstr(f[5], name) != NULL && strstr(f[4], len) != NULL;
            continue;
        }
        char *save = NULL;
        /* Several messages in one frame: tshark joins their values with the
         * aggregator, and has been seen to print it as '\\'. */
        for (char *v = strtok_r(f[4], "/\\", &save); v; v = strtok_r(NULL, "/\\", &save))
            n += !strcmp(v, len);
    }
    return n;
}

static void test_port_frames_decoded(void **st)
{
    (void)st;
    const char *line[] = { "line", "--pcap", pcap_a, NULL };
    tr_start(&tr_procs[0], line);
    char out[512] = "", a[256] = "", b[256] = "";
    for (int t = 0; t < 400 && !b[0]; t++) {
        usleep(25000);
        tr_slurp(tr_procs[0].out, out, sizeof(out));
        char *pa = strstr(out, "a: "), *pb = strstr(out, "b: ");
        if (pa && pb && strchr(pb, '\n')) {
            snprintf(a, sizeof(a), "%.*s", (int)strcspn(pa + 3, "\n"), pa + 3);
            snprintf(b, sizeof(b), "%.*s", (int)strcspn(pb + 3, "\n"), pb + 3);
        }
    }
    assert_true(b[0]);
    const char *echo[] = { "echo", "--uart", a, "--count", "5", NULL };
    const char *ping[] = { "ping", "--uart", b, "--count", "5", NULL };
    tr_start(&tr_procs[1], echo);
    int rp = tr_run(&tr_procs[2], ping, 60000);
    int re = tr_finish(&tr_procs[1], 20000);
    kill(tr_procs[0].pid, SIGINT);
    int rl = tr_finish(&tr_procs[0], 20000);
    if (rp || re || rl) {
        tr_dump("ping", &tr_procs[2]);
        tr_dump("echo", &tr_procs[1]);
        tr_dump("line", &tr_procs[0]);
    }
    assert_int_equal(rp, 0);
    assert_int_equal(re, 0);
    assert_int_equal(rl, 0);

    static char text[1 << 18];
    tshark(pcap_a, "rpmsg.dir rpmsg_port.type rpmsg_port.hello.cpuname rpmsg_port.msgs "
                   "rpmsg.len rpmsg_ns.name",
           text, sizeof(text));
    /* The handshake each way: a is the echo (remote), b the ping (host). */
    const char *connect_a[] = { "0", "1", "remote" }, *connect_b[] = { "1", "1", "host" };
    const char *connack_a[] = { "0", "2", "remote" }, *connack_b[] = { "1", "2", "host" };
    assert_true(count_records(text, connect_a, 3) >= 1);
    assert_true(count_records(text, connect_b, 3) >= 1);
    assert_true(count_records(text, connack_a, 3) >= 1);
    assert_true(count_records(text, connack_b, 3) >= 1);
    /* DATA: the echo's announcement, then the pings and their echoes (a
     * frame may pack several messages; retransmissions count again). */
    assert_true(data_msgs(text, "0", "40", "rpmsg-ping") >= 1);
    if (data_msgs(text, "1", "16", NULL) < 5)
        fprintf(stderr, "fewer than 5 pings b>a in:\n%s\n", text);
    assert_true(data_msgs(text, "1", "16", NULL) >= 5);
    assert_true(data_msgs(text, "0", "16", NULL) >= 5);
    const char *acks[] = { NULL, "4" };
    assert_true(count_records(text, acks, 2) >= 1);
    read_back(pcap_a, text, sizeof(text));
    assert_non_null(strstr(text, " a>b CONNECT seq 0 ack 0 limit "));
    assert_non_null(strstr(text, " cpu \"host\"\n"));
    assert_non_null(strstr(text, " | 0x400 -> 0x35 len 40 NS CREATE \"rpmsg-ping\" at 0x400\n"));
    assert_non_null(strstr(text, " | 0x400 -> 0x400 len 16 [rpmsg-ping] data "));
}

static int teardown(void **st)
{
    (void)st;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "fusermount3 -uq %s 2>/dev/null; rm -rf %s %s", tmp_mnt, tmp_mnt,
             tmp_dir);
    if (system(cmd) < 0)
        perror("cleanup");
    tr_kill_all();
    tr_leftovers();
    unlink(pcap_a);
    unlink(pcap_b);
    unlink(tmp_in);
    return 0;
}

int main(void)
{
    if (!tr_init("rpmsg-dissect"))
        return 1;
    snprintf(pcap_a, sizeof(pcap_a), "/tmp/%sa.pcap", tr_prefix);
    snprintf(pcap_b, sizeof(pcap_b), "/tmp/%sb.pcap", tr_prefix);
    snprintf(tmp_in, sizeof(tmp_in), "/tmp/%sin", tr_prefix);
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/%sdir", tr_prefix);
    snprintf(tmp_mnt, sizeof(tmp_mnt), "/tmp/%smnt", tr_prefix);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_socket_decoded, teardown),
        cmocka_unit_test_teardown(test_fs_decoded, teardown),
        cmocka_unit_test_teardown(test_port_frames_decoded, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
