/*
 * RPMsg Socket against raw rpmsg on the same link, in the same run: two
 * processes over a native VirtIO link (/dev/shm + futex doorbell), then
 * over the simulated SPI bus (40 MHz, in /dev/shm).
 *
 * Throughput. Raw: rpmsg_send messages of the link's largest payload (496
 * bytes on VirtIO's 512-byte buffers), counted by the receiver's callback. Socket: one stream connection, 64 KiB writes, read in 64 KiB
 * reads, default window. Each timed from the first byte sent to the
 * receiver's "all here" coming back; median of the rounds, alternating.
 * Round trip: 16 bytes echoed, one at a time. Raw: to an endpoint that
 * sends them back; socket: over a stream connection whose other end sends
 * them back. Median.
 *
 * Usage: bench_socket [--json] [--quick] [--socket-only | --raw-only]
 *                     [--rcvbuf BYTES] [--virtio-only]
 * (--socket-only, --raw-only: throughput of one alone, for profiling)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_report.h"
#include "rpmsg/rpmsg_link.h"
#include "rpmsg/rpmsg_socket.h"

#define RAW_SVC "bench-raw"
#define RAW_ECHO "bench-raw-echo"
#define SOCK_SVC "bench-sock"
#define SOCK_ECHO "bench-sock-echo"
#define WRITE_SIZE 65536u
#define RTT_SIZE 16u

struct kind {
    const char *name;  /* result name prefix */
    const char *label; /* in the table */
    uint64_t bytes, quick_bytes;
    unsigned rtts;
};

static const struct kind kinds[] = {
    { "virtio", "VirtIO", 64u << 20, 8u << 20, 2000 },
    { "spi", "SPI 40 MHz", 4u << 20, 1u << 20, 300 },
};

static char host_spec[128], remote_spec[128];
static uint64_t total_bytes;
static unsigned rounds, rtts;
static uint32_t rcvbuf; /* --rcvbuf: the receiver's window, 0 for the default */
static bool sock_only, raw_only;

static struct rpmsg_link *open_side(bool host)
{
    struct rpmsg_link_config cfg = {
        .spec = host ? host_spec : remote_spec,
        .role = host ? RPMSG_LINK_HOST : RPMSG_LINK_REMOTE,
        .side = host ? RPMSG_LINK_CREATE : RPMSG_LINK_ATTACH,
        .cpuname = host ? "bhost" : "bremote",
    };
    struct rpmsg_link *l;
    if (rpmsg_link_open(&l, &cfg))
        return NULL;
    if (rpmsg_link_wait_up(l, 10000)) {
        rpmsg_link_close(l);
        return NULL;
    }
    return l;
}

static struct rpmsg_sockaddr addr_of(const char *name)
{
    struct rpmsg_sockaddr a;
    memset(&a, 0, sizeof(a));
    strcpy(a.name, name);
    return a;
}

static struct rpmsg_socket *listener(const char *name)
{
    struct rpmsg_socket *l;
    struct rpmsg_sockaddr a = addr_of(name);
    if (rpmsg_socket_open(&l, RPMSG_SOCK_STREAM))
        return NULL;
    if (rcvbuf)
        rpmsg_socket_setopt(l, RPMSG_SO_RCVBUF, rcvbuf);
    if (rpmsg_socket_bind(l, &a) || rpmsg_socket_listen(l, 1)) {
        rpmsg_socket_close(l);
        return NULL;
    }
    return l;
}

/* recv until n bytes came; false at end of stream or error. */
static bool recv_all(struct rpmsg_socket *s, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = rpmsg_socket_recv(s, (uint8_t *)buf + got, n - got, 0);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* ---- receiver (child) ---- */

static uint64_t raw_rcvd;

static int raw_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)data, (void)src, (void)priv;
    if (len == 1) { /* end of a round: everything before it has arrived */
        uint64_t n = raw_rcvd;
        raw_rcvd = 0;
        rpmsg_send(ept, &n, sizeof(n));
        return 0;
    }
    raw_rcvd += len;
    return 0;
}

static int echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    rpmsg_sendto(ept, data, len, src);
    return 0;
}

static int receiver(void *arg)
{
    (void)arg;
    struct rpmsg_link *link = open_side(false);
    if (!link)
        return 1;
    struct rpmsg_endpoint raw, echo;
    memset(&raw, 0, sizeof(raw));
    memset(&echo, 0, sizeof(echo));
    struct rpmsg_device *rdev = rpmsg_link_device(link);
    if (rpmsg_create_ept(&raw, rdev, RAW_SVC, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, raw_cb, NULL) ||
        rpmsg_create_ept(&echo, rdev, RAW_ECHO, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, echo_cb, NULL))
        return 2;
    struct rpmsg_socket *l = listener(SOCK_SVC), *le = listener(SOCK_ECHO);
    if (!l || !le)
        return 3;
    uint8_t *buf = malloc(WRITE_SIZE);
    for (unsigned r = 0; r < (raw_only ? 0 : rounds); r++) {
        struct rpmsg_socket *s;
        if (rpmsg_socket_accept(l, &s, NULL))
            return 4;
        uint64_t got = 0;
        ssize_t n;
        while ((n = rpmsg_socket_recv(s, buf, WRITE_SIZE, 0)) > 0)
            got += (uint64_t)n;
        rpmsg_socket_send(s, &got, sizeof(got), 0);
        rpmsg_socket_close(s);
    }
    if (!sock_only) {
        struct rpmsg_socket *s;
        if (rpmsg_socket_accept(le, &s, NULL))
            return 5;
        uint8_t m[RTT_SIZE];
        while (recv_all(s, m, sizeof(m)))
            if (rpmsg_socket_send(s, m, sizeof(m), 0) != (ssize_t)sizeof(m))
                break;
        rpmsg_socket_close(s);
    }
    free(buf);
    rpmsg_socket_close(l);
    rpmsg_socket_close(le);
    /* The sender leaves first; we wait for it so buffers all come back. */
    sleep(1);
    rpmsg_destroy_ept(&raw);
    rpmsg_destroy_ept(&echo);
    rpmsg_link_close(link);
    return 0;
}

/* ---- sender (parent) ---- */

static struct rpmsg_sem raw_done, echo_done;
static uint64_t raw_echo;

static int done_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    struct rpmsg_sem *sem = priv;
    if (sem == &raw_done && len == sizeof(raw_echo))
        memcpy(&raw_echo, data, len);
    rpmsg_post(ept, sem);
    return 0;
}

/* Messages of the link's largest payload. */
static double raw_round(struct rpmsg_endpoint *ept)
{
    static uint8_t payload[4096];
    int max = rpmsg_get_tx_buffer_size(ept);
    size_t n = max > 0 && (size_t)max < sizeof(payload) ? (size_t)max : sizeof(payload);
    uint64_t t0 = bench_now_ns();
    for (uint64_t sent = 0; sent < total_bytes; sent += n)
        if (rpmsg_send(ept, payload, n) < 0)
            return -1;
    rpmsg_send(ept, "E", 1);
    rpmsg_wait(NULL, &raw_done);
    uint64_t t1 = bench_now_ns();
    if (raw_echo < total_bytes)
        return -1;
    return (double)raw_echo / ((double)(t1 - t0) / 1e9) / 1e6;
}

static struct rpmsg_socket *connect_to(const char *name)
{
    struct rpmsg_socket *c;
    struct rpmsg_sockaddr a = addr_of(name);
    if (rpmsg_socket_open(&c, RPMSG_SOCK_STREAM))
        return NULL;
    rpmsg_socket_setopt(c, RPMSG_SO_SNDTIMEO, 10000);
    if (rpmsg_socket_connect(c, &a)) {
        rpmsg_socket_close(c);
        return NULL;
    }
    return c;
}

static double sock_round(void)
{
    struct rpmsg_socket *c = connect_to(SOCK_SVC);
    if (!c)
        return -1;
    static uint8_t buf[WRITE_SIZE];
    uint64_t t0 = bench_now_ns();
    for (uint64_t sent = 0; sent < total_bytes;) {
        ssize_t w = rpmsg_socket_send(c, buf, WRITE_SIZE, 0);
        if (w <= 0)
            return -1;
        sent += (uint64_t)w;
    }
    rpmsg_socket_shutdown(c, RPMSG_SHUT_WR);
    uint64_t got = 0;
    if (rpmsg_socket_recv(c, &got, sizeof(got), 0) != sizeof(got))
        return -1;
    uint64_t t1 = bench_now_ns();
    rpmsg_socket_close(c);
    return (double)got / ((double)(t1 - t0) / 1e9) / 1e6;
}

static int raw_rtts(struct rpmsg_endpoint *ept, struct bench_samples *out)
{
    uint8_t m[RTT_SIZE] = { 0 };
    for (unsigned i = 0; i < rtts; i++) {
        uint64_t t0 = bench_now_ns();
        if (rpmsg_send(ept, m, sizeof(m)) < 0 || rpmsg_wait_timeout(NULL, &echo_done, 10000))
            return -1;
        bench_samples_add(out, (double)(bench_now_ns() - t0) / 1e3);
    }
    return 0;
}

static int sock_rtts(struct bench_samples *out)
{
    struct rpmsg_socket *c = connect_to(SOCK_ECHO);
    if (!c)
        return -1;
    uint8_t m[RTT_SIZE] = { 0 };
    int r = 0;
    for (unsigned i = 0; i < rtts && !r; i++) {
        uint64_t t0 = bench_now_ns();
        if (rpmsg_socket_send(c, m, sizeof(m), 0) != (ssize_t)sizeof(m) ||
            !recv_all(c, m, sizeof(m)))
            r = -1;
        else
            bench_samples_add(out, (double)(bench_now_ns() - t0) / 1e3);
    }
    rpmsg_socket_close(c);
    return r;
}

static void add(struct bench_report *rep, const struct kind *k, const char *what,
                const char *label, const char *unit, struct bench_samples *s, double value)
{
    struct bench_result res;
    memset(&res, 0, sizeof(res));
    char name[48], lab[64];
    snprintf(name, sizeof(name), "%s_%s", k->name, what);
    snprintf(lab, sizeof(lab), "%s: %s", k->label, label);
    struct bench_dist d;
    if (s) {
        bench_samples_summary(s, &d);
        value = d.p50;
    }
    bench_result_set(&res, name, lab, unit, value);
    if (s)
        bench_result_dist(&res, &d);
    bench_report_add(rep, &res);
}

static double median(struct bench_samples *s)
{
    struct bench_dist d;
    bench_samples_summary(s, &d);
    return d.p50;
}

/* Both processes over one kind of link: the figures into rep. */
static int run_kind(const struct kind *k, bool quick, const struct bench_cpus *cpus,
                    struct bench_report *rep)
{
    int pid = (int)getpid();
    if (!strcmp(k->name, "spi")) {
        snprintf(host_spec, sizeof(host_spec), "spi:rpmsg-bench-sock-%d@40000000:master", pid);
        snprintf(remote_spec, sizeof(remote_spec), "spi:rpmsg-bench-sock-%d:slave", pid);
    } else {
        snprintf(host_spec, sizeof(host_spec), "virtio:rpmsg-bench-sock-%d", pid);
        snprintf(remote_spec, sizeof(remote_spec), "virtio:rpmsg-bench-sock-%d", pid);
    }
    total_bytes = quick ? k->quick_bytes : k->bytes;
    rtts = raw_only ? 0 : quick ? k->rtts / 4 : k->rtts; /* raw_only: 0, the echo just closes */
    pid_t child = bench_fork(cpus->b, receiver, NULL);
    if (child < 0)
        return -1;
    struct rpmsg_link *link = open_side(true);
    if (!link)
        return -1;
    struct rpmsg_device *rdev = rpmsg_link_device(link);
    rpmsg_sem_init(&raw_done, 0);
    rpmsg_sem_init(&echo_done, 0);
    struct rpmsg_endpoint raw, echo;
    memset(&raw, 0, sizeof(raw));
    memset(&echo, 0, sizeof(echo));
    raw.priv = &raw_done;
    echo.priv = &echo_done;
    rpmsg_create_ept(&raw, rdev, RAW_SVC, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, done_cb, NULL);
    rpmsg_create_ept(&echo, rdev, RAW_ECHO, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, done_cb, NULL);
    if (rpmsg_wait_ept_ready(&raw, 10000) || rpmsg_wait_ept_ready(&echo, 10000))
        return -1;
    struct bench_samples rs, ss, rt, st;
    bench_samples_init(&rs);
    bench_samples_init(&ss);
    bench_samples_init(&rt);
    bench_samples_init(&st);
    int rc = 0;
    for (unsigned r = 0; r < rounds && !rc; r++) {
        double x = sock_only ? 1 : raw_round(&raw);
        double y = raw_only ? 1 : sock_round();
        if (x <= 0 || y <= 0) {
            fprintf(stderr, "bench_socket: %s round %u failed\n", k->name, r);
            rc = -1;
        }
        bench_samples_add(&rs, x);
        bench_samples_add(&ss, y);
    }
    if (!rc && !sock_only && (raw_rtts(&echo, &rt) || sock_rtts(&st))) {
        fprintf(stderr, "bench_socket: %s round trips failed\n", k->name);
        rc = -1;
    }
    if (!rc) {
        double raw_mbps = median(&rs), sock_mbps = median(&ss);
        if (!sock_only)
            add(rep, k, "raw_mbps", "raw rpmsg, largest messages", "MB/s", &rs, 0);
        if (!raw_only)
            add(rep, k, "socket_mbps", "socket stream, 64 KiB writes", "MB/s", &ss, 0);
        if (!sock_only && !raw_only) {
            add(rep, k, "socket_vs_raw", "socket / raw throughput (medians)", "%", NULL,
                100.0 * sock_mbps / raw_mbps);
            add(rep, k, "raw_rtt_us", "raw rpmsg round trip, 16 B", "us", &rt, 0);
            add(rep, k, "socket_rtt_us", "socket round trip, 16 B", "us", &st, 0);
            add(rep, k, "socket_rtt_vs_raw", "socket / raw round trip (medians)", "x", NULL,
                median(&st) / median(&rt));
        }
    }
    rpmsg_destroy_ept(&raw);
    rpmsg_destroy_ept(&echo);
    rpmsg_link_close(link);
    bench_samples_free(&rs);
    bench_samples_free(&ss);
    bench_samples_free(&rt);
    bench_samples_free(&st);
    if (bench_join(child) != 0)
        rc = -1;
    return rc;
}

int main(int argc, char **argv)
{
    bool json = false, quick = false, virtio_only = false;
    for (int i = 1; i < argc; i++) {
        json |= !strcmp(argv[i], "--json");
        quick |= !strcmp(argv[i], "--quick");
        sock_only |= !strcmp(argv[i], "--socket-only");
        raw_only |= !strcmp(argv[i], "--raw-only");
        virtio_only |= !strcmp(argv[i], "--virtio-only");
        if (!strcmp(argv[i], "--rcvbuf") && i + 1 < argc)
            rcvbuf = (uint32_t)strtoul(argv[++i], NULL, 0);
    }
    rounds = quick ? 2 : 5;
    struct bench_cpus cpus;
    bench_cpus_pick(&cpus);
    bench_pin(cpus.a);
    struct bench_report rep;
    bench_report_init(&rep, "socket", "RPMsg Socket vs raw rpmsg on the same link, two processes",
                      &cpus);
    size_t nk = virtio_only ? 1 : sizeof(kinds) / sizeof(kinds[0]);
    for (size_t i = 0; i < nk; i++)
        if (run_kind(&kinds[i], quick, &cpus, &rep))
            return 1;
    if (!json)
        bench_report_table(stdout, &rep);
    bench_report_json(stdout, &rep);
    return 0;
}
