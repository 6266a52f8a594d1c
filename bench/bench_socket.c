/*
 * RPMsg Socket stream throughput against raw rpmsg on the same link, in the
 * same run: two processes over a native VirtIO link (/dev/shm + futex
 * doorbell). Raw: 496-byte rpmsg_send messages (the link's largest), counted
 * by the receiver's callback. Socket: one stream connection, 64 KiB writes,
 * read by the receiver in 64 KiB reads, default window. Each is timed from
 * the first byte sent to the receiver's "all here" coming back; median of
 * the rounds.
 *
 * Usage: bench_socket [--json] [--quick] [--socket-only] [--rcvbuf BYTES]
 * (--socket-only: no raw rounds, for profiling the socket path alone)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_report.h"
#include "rpmsg/rpmsg_link.h"
#include "rpmsg/rpmsg_socket.h"

#define RAW_SVC "bench-raw"
#define SOCK_SVC "bench-sock"
#define WRITE_SIZE 65536u

static char spec[96];
static uint64_t total_bytes;
static unsigned rounds;
static uint32_t rcvbuf; /* --rcvbuf: the receiver's window, 0 for the default */

static struct rpmsg_link *open_side(bool host)
{
    struct rpmsg_link_config cfg = {
        .spec = spec,
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

static int receiver(void *arg)
{
    (void)arg;
    struct rpmsg_link *link = open_side(false);
    if (!link)
        return 1;
    struct rpmsg_endpoint raw;
    memset(&raw, 0, sizeof(raw));
    if (rpmsg_create_ept(&raw, rpmsg_link_device(link), RAW_SVC, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                         raw_cb, NULL))
        return 2;
    struct rpmsg_socket *l;
    struct rpmsg_sockaddr a;
    memset(&a, 0, sizeof(a));
    strcpy(a.name, SOCK_SVC);
    if (rpmsg_socket_open(&l, RPMSG_SOCK_STREAM) || rpmsg_socket_bind(l, &a) ||
        rpmsg_socket_listen(l, 1))
        return 3;
    if (rcvbuf)
        rpmsg_socket_setopt(l, RPMSG_SO_RCVBUF, rcvbuf);
    uint8_t *buf = malloc(WRITE_SIZE);
    for (unsigned r = 0; r < rounds; r++) {
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
    free(buf);
    rpmsg_socket_close(l);
    /* The sender leaves first; we wait for it so buffers all come back. */
    sleep(1);
    rpmsg_destroy_ept(&raw);
    rpmsg_link_close(link);
    return 0;
}

/* ---- sender (parent) ---- */

static struct rpmsg_sem raw_done;
static uint64_t raw_echo;

static int done_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src, (void)priv;
    if (len == sizeof(raw_echo))
        memcpy(&raw_echo, data, len);
    rpmsg_post(ept, &raw_done);
    return 0;
}

static double raw_round(struct rpmsg_endpoint *ept)
{
    static uint8_t payload[496];
    uint64_t t0 = bench_now_ns();
    for (uint64_t sent = 0; sent < total_bytes; sent += sizeof(payload))
        if (rpmsg_send(ept, payload, sizeof(payload)) < 0)
            return -1;
    rpmsg_send(ept, "E", 1);
    rpmsg_wait(NULL, &raw_done);
    uint64_t t1 = bench_now_ns();
    if (raw_echo < total_bytes)
        return -1;
    return (double)raw_echo / ((double)(t1 - t0) / 1e9) / 1e6;
}

static double sock_round(void)
{
    struct rpmsg_socket *c;
    struct rpmsg_sockaddr a;
    memset(&a, 0, sizeof(a));
    strcpy(a.name, SOCK_SVC);
    if (rpmsg_socket_open(&c, RPMSG_SOCK_STREAM))
        return -1;
    rpmsg_socket_setopt(c, RPMSG_SO_SNDTIMEO, 10000);
    if (rpmsg_socket_connect(c, &a)) {
        rpmsg_socket_close(c);
        return -1;
    }
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

int main(int argc, char **argv)
{
    bool json = false, quick = false, sock_only = false;
    for (int i = 1; i < argc; i++) {
        json |= !strcmp(argv[i], "--json");
        quick |= !strcmp(argv[i], "--quick");
        sock_only |= !strcmp(argv[i], "--socket-only");
        if (!strcmp(argv[i], "--rcvbuf") && i + 1 < argc)
            rcvbuf = (uint32_t)strtoul(argv[++i], NULL, 0);
    }
    total_bytes = quick ? (8u << 20) : (64u << 20);
    rounds = quick ? 2 : 5;
    snprintf(spec, sizeof(spec), "virtio:rpmsg-bench-sock-%d", (int)getpid());
    struct bench_cpus cpus;
    bench_cpus_pick(&cpus);
    pid_t child = bench_fork(cpus.b, receiver, NULL);
    if (child < 0)
        return 1;
    bench_pin(cpus.a);
    struct rpmsg_link *link = open_side(true);
    if (!link)
        return 1;
    rpmsg_sem_init(&raw_done, 0);
    struct rpmsg_endpoint raw;
    memset(&raw, 0, sizeof(raw));
    rpmsg_create_ept(&raw, rpmsg_link_device(link), RAW_SVC, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                     done_cb, NULL);
    if (rpmsg_wait_ept_ready(&raw, 10000))
        return 1;
    struct bench_samples rs, ss;
    bench_samples_init(&rs);
    bench_samples_init(&ss);
    for (unsigned r = 0; r < rounds; r++) {
        double x = sock_only ? 1 : raw_round(&raw);
        double y = sock_round();
        if (x <= 0 || y <= 0) {
            fprintf(stderr, "bench_socket: round %u failed\n", r);
            return 1;
        }
        bench_samples_add(&rs, x);
        bench_samples_add(&ss, y);
    }
    struct bench_dist dr, ds;
    bench_samples_summary(&rs, &dr);
    bench_samples_summary(&ss, &ds);
    struct bench_report rep;
    bench_report_init(&rep, "socket", "RPMsg Socket stream vs raw rpmsg, VirtIO between two processes",
                      &cpus);
    struct bench_result res;
    memset(&res, 0, sizeof(res));
    bench_result_set(&res, "raw_rpmsg_mbps", "raw rpmsg, 496-byte messages", "MB/s", dr.p50);
    bench_result_dist(&res, &dr);
    bench_report_add(&rep, &res);
    memset(&res, 0, sizeof(res));
    bench_result_set(&res, "socket_stream_mbps", "socket stream, 64 KiB writes", "MB/s", ds.p50);
    bench_result_dist(&res, &ds);
    bench_report_add(&rep, &res);
    memset(&res, 0, sizeof(res));
    bench_result_set(&res, "socket_vs_raw", "socket / raw (medians)", "%",
                     dr.p50 > 0 ? 100.0 * ds.p50 / dr.p50 : 0);
    bench_report_add(&rep, &res);
    if (!json)
        bench_report_table(stdout, &rep);
    bench_report_json(stdout, &rep);
    rpmsg_destroy_ept(&raw);
    rpmsg_link_close(link);
    bench_samples_free(&rs);
    bench_samples_free(&ss);
    return bench_join(child) == 0 ? 0 : 1;
}
