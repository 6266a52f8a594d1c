/*
 * RPMsg Socket against raw rpmsg on the same link, in the same run: two
 * processes over a native VirtIO link (/dev/shm + futex doorbell); three
 * over two VirtIO links through a hub process that routes (the far core
 * reached by name, as `rpmsg sim` cores do); then two over the simulated
 * SPI bus (40 MHz, in /dev/shm).
 *
 * Throughput. Raw: rpmsg_send messages of the link's largest payload (496
 * bytes on VirtIO's 512-byte buffers, 480 through the hub), each copied out
 * by the receiver's callback into the application's buffer, as the socket's
 * recv does: both references move every byte to the receiving CPU. (A
 * callback that only counts them, --raw-count, never reads the payload:
 * its lines stay in the sender's cache and no data crosses the CPUs.)
 * Socket: one stream connection, 64 KiB writes, read in 64 KiB reads,
 * default window. Each timed from the first byte sent to the
 * receiver's "all here" coming back; median of the rounds, alternating.
 * CPU: each side's process time (user + system, all its threads) per MB
 * in the same rounds, and the socket's throughput as the busier side's CPU
 * per MB would allow it against raw's: what the wall-clock ratio comes to
 * on a quiet machine, and far steadier than it when other work shares the
 * CPUs (raw collapses under load more than the socket does). The hub's own
 * time is not counted.
 * Round trip: 16 bytes echoed, one at a time. Raw: to an endpoint that
 * sends them back; socket: over a stream connection whose other end sends
 * them back. Median.
 *
 * Sleeps: both processes' voluntary context switches (getrusage, all
 * threads) per MB, in the same rounds: the wake-ups, counted alike on a
 * loaded machine.
 *
 * Usage: bench_socket [--json] [--quick] [--socket-only | --raw-only]
 *                     [--rcvbuf BYTES] [--virtio-only | --hop-only] [--raw-count]
 * (--socket-only, --raw-only: throughput of one alone, for profiling;
 * --raw-count: raw's receiver only counts each payload, without reading it)
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_report.h"
#include "machine_limits.h"
#include "rpmsg/rpmsg_link.h"
#include "rpmsg/rpmsg_router.h"
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
    bool hop; /* sender -- hub -- receiver, three processes */
};

static const struct kind kinds[] = {
    { "virtio", "VirtIO", 64u << 20, 8u << 20, 2000, false },
    { "hop", "VirtIO via a hub", 32u << 20, 4u << 20, 1000, true },
    { "spi", "SPI 40 MHz", 4u << 20, 1u << 20, 300, false },
};

/* Cpu names through the hub (the sender's, the hub's, the receiver's). */
#define HOP_TX "bx"
#define HOP_HUB "by"
#define HOP_RX "bz"

static char host_spec[128], remote_spec[128];
static const struct kind *kind;
static uint64_t total_bytes;
static unsigned rounds, rtts;
static uint32_t rcvbuf; /* --rcvbuf: the receiver's window, 0 for the default */
static bool sock_only, raw_only;

/* One process's end: a link, or (through the hub) its membership of the
 * topology and the far core's device. */
struct side {
    struct rpmsg_link *link;
    struct rpmsg_link_member *member;
    struct rpmsg_device *rdev;
};

/* As `rpmsg sim` starts a core: its name, whether it routes, its links. */
static int join_as(struct rpmsg_link_member **m, const char *cpu, const char *links, bool hub)
{
    setenv("RPMSG_SIM_CORE", cpu, 1);
    setenv("RPMSG_SIM_HUB", hub ? "1" : "0", 1);
    setenv("RPMSG_SIM_LINKS", links, 1);
    return rpmsg_link_join(m, 10000);
}

static struct rpmsg_link *open_link(bool host)
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

static void side_close(struct side *sd)
{
    if (sd->member)
        rpmsg_link_leave(sd->member);
    if (sd->link)
        rpmsg_link_close(sd->link);
    memset(sd, 0, sizeof(*sd));
}

/* host: the sender's end. Through the hub: host_spec is the sender's link
 * to it, remote_spec the receiver's; the far core's device appears once
 * the hub has announced it. */
static int side_open(struct side *sd, bool host)
{
    memset(sd, 0, sizeof(*sd));
    if (!kind->hop) {
        sd->link = open_link(host);
        sd->rdev = sd->link ? rpmsg_link_device(sd->link) : NULL;
        return sd->rdev ? 0 : -1;
    }
    char links[300];
    snprintf(links, sizeof(links), "%s,%s", host ? host_spec : remote_spec,
             host ? "host" : "remote");
    if (join_as(&sd->member, host ? HOP_TX : HOP_RX, links, false))
        return -1;
    struct rpmsg_router *r = rpmsg_link_member_router(sd->member);
    for (int i = 0; i < 1000 && !sd->rdev; i++) {
        struct rpmsg_device *d = rpmsg_router_find(r, host ? HOP_RX : HOP_TX);
        if (d && rpmsg_device_is_up(d))
            sd->rdev = d;
        else
            usleep(10000);
    }
    if (!sd->rdev)
        side_close(sd);
    return sd->rdev ? 0 : -1;
}

/* The hub: routes between its two links until the sender says stop. */
static int hub(void *arg)
{
    (void)arg;
    char links[300];
    snprintf(links, sizeof(links), "%s,remote;%s,host", host_spec, remote_spec);
    struct rpmsg_link_member *m;
    if (join_as(&m, HOP_HUB, links, true))
        return 1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    int sig;
    sigwait(&set, &sig); /* SIGTERM blocked since before the fork */
    rpmsg_link_leave(m);
    return 0;
}

/* The service on the receiver's core (any link when there is one). */
static struct rpmsg_sockaddr addr_of(const char *name, const char *cpu)
{
    struct rpmsg_sockaddr a;
    memset(&a, 0, sizeof(a));
    strcpy(a.name, name);
    strcpy(a.cpu, cpu);
    return a;
}

static struct rpmsg_socket *listener(const char *name)
{
    struct rpmsg_socket *l;
    struct rpmsg_sockaddr a = addr_of(name, "");
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

/* This process's use so far, all threads: CPU time in microseconds, and
 * voluntary context switches (a thread going to sleep: each costs a
 * wake-up, more than the copies on this path). Unlike the involuntary ones
 * they do not grow with other work on the machine. */
struct usage {
    uint64_t cpu_us, csw;
};

static struct usage usage_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct usage u = {
        (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
            (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec),
        (uint64_t)ru.ru_nvcsw,
    };
    return u;
}

static struct usage usage_since(struct usage u0)
{
    struct usage u = usage_now();
    u.cpu_us -= u0.cpu_us;
    u.csw -= u0.csw;
    return u;
}

/* What the receiver sends back at the end of a round (one machine: its own
 * byte order). */
struct round_end {
    uint64_t bytes;
    struct usage use;
};

/* A round's result: MB/s, each side's CPU microseconds per MB, and both
 * sides' sleeps per MB. */
struct round {
    double mbps, tx_cpu, rx_cpu, csw;
};

static void round_set(struct round *r, uint64_t t0, struct usage u0, const struct round_end *e)
{
    double mb = (double)e->bytes / 1e6;
    struct usage tx = usage_since(u0);
    r->mbps = mb / ((double)(bench_now_ns() - t0) / 1e9);
    r->tx_cpu = (double)tx.cpu_us / mb;
    r->rx_cpu = (double)e->use.cpu_us / mb;
    r->csw = (double)(tx.csw + e->use.csw) / mb;
}

/* ---- receiver (child) ---- */

static uint64_t raw_rcvd;
static struct usage raw_use0;
static bool raw_read = true; /* off: --raw-count */

static int raw_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src, (void)priv;
    if (len == 1) { /* end of a round: everything before it has arrived */
        struct round_end e = { raw_rcvd, usage_since(raw_use0) };
        raw_rcvd = 0;
        rpmsg_send(ept, &e, sizeof(e));
        return 0;
    }
    if (!raw_rcvd)
        raw_use0 = usage_now();
    raw_rcvd += len;
    if (raw_read) {
        /* As an application that uses the data: its cache lines move to
         * this CPU, and the sender's next write to them moves them back. */
        static uint8_t app[WRITE_SIZE]; /* filled in turn, as the socket's recv buffer */
        static size_t at;
        if (len > sizeof(app))
            len = sizeof(app);
        if (at + len > sizeof(app))
            at = 0;
        memcpy(app + at, data, len);
        at += len;
        __asm__ volatile("" : : "r"(app) : "memory");
    }
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
    struct side sd;
    if (side_open(&sd, false))
        return 1;
    struct rpmsg_endpoint raw, echo;
    memset(&raw, 0, sizeof(raw));
    memset(&echo, 0, sizeof(echo));
    struct rpmsg_device *rdev = sd.rdev;
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
        struct round_end e = { 0, usage_now() };
        ssize_t n;
        while ((n = rpmsg_socket_recv(s, buf, WRITE_SIZE, 0)) > 0)
            e.bytes += (uint64_t)n;
        e.use = usage_since(e.use);
        rpmsg_socket_send(s, &e, sizeof(e), 0);
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
    side_close(&sd);
    return 0;
}

/* ---- sender (parent) ---- */

static struct rpmsg_sem raw_done, echo_done;
static struct round_end raw_echo;

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
static int raw_round(struct rpmsg_endpoint *ept, struct round *out)
{
    static uint8_t payload[4096];
    int max = rpmsg_get_tx_buffer_size(ept);
    size_t n = max > 0 && (size_t)max < sizeof(payload) ? (size_t)max : sizeof(payload);
    uint64_t t0 = bench_now_ns();
    struct usage u0 = usage_now();
    for (uint64_t sent = 0; sent < total_bytes; sent += n)
        if (rpmsg_send(ept, payload, n) < 0)
            return -1;
    rpmsg_send(ept, "E", 1);
    rpmsg_wait(NULL, &raw_done);
    if (raw_echo.bytes < total_bytes)
        return -1;
    round_set(out, t0, u0, &raw_echo);
    return 0;
}

static struct rpmsg_socket *connect_to(const char *name)
{
    struct rpmsg_socket *c;
    struct rpmsg_sockaddr a = addr_of(name, kind->hop ? HOP_RX : "");
    if (rpmsg_socket_open(&c, RPMSG_SOCK_STREAM))
        return NULL;
    rpmsg_socket_setopt(c, RPMSG_SO_SNDTIMEO, 10000);
    if (rpmsg_socket_connect(c, &a)) {
        rpmsg_socket_close(c);
        return NULL;
    }
    return c;
}

static int sock_round(struct round *out)
{
    struct rpmsg_socket *c = connect_to(SOCK_SVC);
    if (!c)
        return -1;
    static uint8_t buf[WRITE_SIZE];
    uint64_t t0 = bench_now_ns();
    struct usage u0 = usage_now();
    for (uint64_t sent = 0; sent < total_bytes;) {
        ssize_t w = rpmsg_socket_send(c, buf, WRITE_SIZE, 0);
        if (w <= 0)
            return -1;
        sent += (uint64_t)w;
    }
    rpmsg_socket_shutdown(c, RPMSG_SHUT_WR);
    struct round_end e;
    int r = recv_all(c, &e, sizeof(e)) && e.bytes >= total_bytes ? 0 : -1;
    if (!r)
        round_set(out, t0, u0, &e);
    rpmsg_socket_close(c);
    return r;
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

/*
 * The most a socket whose reader sleeps can reach against raw, by the
 * receiving CPU: at least raw's work (each byte copied once, each message
 * taken off the link) plus one wake-up per 64 KiB write, its reader woken by
 * the RX thread on the same CPU. A reader that runs the link itself
 * (rpmsg_drive, on VirtIO) is not woken while the stream flows, and can pass
 * it: the figure then says what driving saves. The wake-up is measured
 * before the rounds and after them; a move of more than 20% is flagged.
 */
static void add_ceiling(struct bench_report *rep, const struct kind *k,
                        const struct bench_result *wake, double raw_rx_us)
{
    double a = wake[0].value, b = wake[1].value, us = (a + b) / 2 / 1e3;
    char note[96];
    snprintf(note, sizeof(note), "before %.2f, after %.2f us%s", a / 1e3, b / 1e3,
             fabs(a - b) > 0.2 * fmin(a, b) ? " (limit moved > 20%)" : "");
    add(rep, k, "wake_us", "a reader's wake-up, receiving CPU", "us", NULL, us);
    snprintf(rep->r[rep->n - 1].note, sizeof(rep->r[0].note), "%s", note);
    double wakes = 1e6 / WRITE_SIZE; /* per MB: one per write */
    add(rep, k, "socket_ceiling_cpu", "a sleeping reader's ceiling", "%", NULL,
        100.0 * raw_rx_us / (raw_rx_us + wakes * us));
}

/* Both processes over one kind of link: the figures into rep. */
static int run_kind(const struct kind *k, bool quick, const struct bench_cpus *cpus,
                    struct bench_report *rep)
{
    int pid = (int)getpid();
    kind = k;
    if (k->hop) {
        snprintf(host_spec, sizeof(host_spec), "virtio:rpmsg-bench-sock-%d-xy", pid);
        snprintf(remote_spec, sizeof(remote_spec), "virtio:rpmsg-bench-sock-%d-yz", pid);
    } else if (!strcmp(k->name, "spi")) {
        snprintf(host_spec, sizeof(host_spec), "spi:rpmsg-bench-sock-%d@40000000:master", pid);
        snprintf(remote_spec, sizeof(remote_spec), "spi:rpmsg-bench-sock-%d:slave", pid);
    } else {
        snprintf(host_spec, sizeof(host_spec), "virtio:rpmsg-bench-sock-%d", pid);
        snprintf(remote_spec, sizeof(remote_spec), "virtio:rpmsg-bench-sock-%d", pid);
    }
    total_bytes = quick ? k->quick_bytes : k->bytes;
    rtts = raw_only ? 0 : quick ? k->rtts / 4 : k->rtts; /* raw_only: 0, the echo just closes */
    /* The hub waits for SIGTERM with sigwait: blocked before the fork, so
     * that an early one cannot kill it. Not pinned: it takes its turns on
     * both CPUs, the same for the raw rounds and the socket's. */
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &old);
    /* The receiving CPU's own limit, before anything of ours runs there
     * (for the ceiling, which needs both raw and the socket). */
    struct bench_limits_opts lo = { .seconds = quick ? 0.3 : 1.0, .cpus = *cpus };
    struct bench_result wake[2];
    if (!sock_only && !raw_only && bench_limits_thread_wake(&lo, cpus->b, &wake[0]))
        return -1;
    pid_t hub_pid = k->hop ? bench_fork(-1, hub, NULL) : 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    pid_t child = bench_fork(cpus->b, receiver, NULL);
    if (child < 0 || hub_pid < 0)
        return -1;
    struct side sd;
    if (side_open(&sd, true))
        return -1;
    struct rpmsg_device *rdev = sd.rdev;
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
    /* Per round: raw's and the socket's MB/s and CPU per MB of each side. */
    enum { RAW, RAW_TX, RAW_RX, RAW_CSW, SOCK, SOCK_TX, SOCK_RX, SOCK_CSW, RTT_RAW, RTT_SOCK, NSETS };
    struct bench_samples set[NSETS];
    for (int i = 0; i < NSETS; i++)
        bench_samples_init(&set[i]);
    int rc = 0;
    double raw_rx = 0; /* set when both ran: the ceiling is computed after the join */
    for (unsigned r = 0; r < rounds && !rc; r++) {
        struct round x = { 1, 1, 1, 1 }, y = { 1, 1, 1, 1 };
        if ((!sock_only && raw_round(&raw, &x)) || (!raw_only && sock_round(&y))) {
            fprintf(stderr, "bench_socket: %s round %u failed\n", k->name, r);
            rc = -1;
        }
        const struct round *from[2] = { &x, &y };
        for (int i = 0; i < 2; i++) {
            int at = i * (SOCK - RAW);
            bench_samples_add(&set[RAW + at], from[i]->mbps);
            bench_samples_add(&set[RAW_TX + at], from[i]->tx_cpu);
            bench_samples_add(&set[RAW_RX + at], from[i]->rx_cpu);
            bench_samples_add(&set[RAW_CSW + at], from[i]->csw);
        }
    }
    if (!rc && !sock_only && (raw_rtts(&echo, &set[RTT_RAW]) || sock_rtts(&set[RTT_SOCK]))) {
        fprintf(stderr, "bench_socket: %s round trips failed\n", k->name);
        rc = -1;
    }
    if (!rc) {
        if (!sock_only) {
            add(rep, k, "raw_mbps", "raw rpmsg, largest messages", "MB/s", &set[RAW], 0);
            add(rep, k, "raw_tx_cpu", "raw, sender CPU per MB", "us", &set[RAW_TX], 0);
            add(rep, k, "raw_rx_cpu", "raw, receiver CPU per MB", "us", &set[RAW_RX], 0);
            add(rep, k, "raw_csw", "raw, sleeps per MB (both sides)", "", &set[RAW_CSW], 0);
        }
        if (!raw_only) {
            add(rep, k, "socket_mbps", "socket stream, 64 KiB writes", "MB/s", &set[SOCK], 0);
            add(rep, k, "socket_tx_cpu", "socket, sender CPU per MB", "us", &set[SOCK_TX], 0);
            add(rep, k, "socket_rx_cpu", "socket, receiver CPU per MB", "us", &set[SOCK_RX], 0);
            add(rep, k, "socket_csw", "socket, sleeps per MB (both sides)", "", &set[SOCK_CSW], 0);
        }
        if (!sock_only && !raw_only) {
            add(rep, k, "socket_vs_raw", "socket / raw throughput (medians)", "%", NULL,
                100.0 * median(&set[SOCK]) / median(&set[RAW]));
            double raw_busy = fmax(median(&set[RAW_TX]), median(&set[RAW_RX]));
            double sock_busy = fmax(median(&set[SOCK_TX]), median(&set[SOCK_RX]));
            add(rep, k, "socket_vs_raw_cpu", "socket / raw by the busier side's CPU", "%", NULL,
                100.0 * raw_busy / sock_busy);
            raw_rx = median(&set[RAW_RX]);
            add(rep, k, "raw_rtt_us", "raw rpmsg round trip, 16 B", "us", &set[RTT_RAW], 0);
            add(rep, k, "socket_rtt_us", "socket round trip, 16 B", "us", &set[RTT_SOCK], 0);
            add(rep, k, "socket_rtt_vs_raw", "socket / raw round trip (medians)", "x", NULL,
                median(&set[RTT_SOCK]) / median(&set[RTT_RAW]));
        }
    }
    rpmsg_destroy_ept(&raw);
    rpmsg_destroy_ept(&echo);
    for (int i = 0; i < NSETS; i++)
        bench_samples_free(&set[i]);
    side_close(&sd);
    if (bench_join(child) != 0)
        rc = -1;
    if (hub_pid > 0 && (kill(hub_pid, SIGTERM) || bench_join(hub_pid) != 0))
        rc = -1;
    if (!rc && raw_rx > 0 && bench_limits_thread_wake(&lo, cpus->b, &wake[1]) == 0)
        add_ceiling(rep, k, wake, raw_rx);
    return rc;
}

int main(int argc, char **argv)
{
    bool json = false, quick = false, virtio_only = false, hop_only = false;
    for (int i = 1; i < argc; i++) {
        json |= !strcmp(argv[i], "--json");
        quick |= !strcmp(argv[i], "--quick");
        sock_only |= !strcmp(argv[i], "--socket-only");
        raw_only |= !strcmp(argv[i], "--raw-only");
        virtio_only |= !strcmp(argv[i], "--virtio-only");
        hop_only |= !strcmp(argv[i], "--hop-only");
        raw_read &= !!strcmp(argv[i], "--raw-count");
        if (!strcmp(argv[i], "--rcvbuf") && i + 1 < argc)
            rcvbuf = (uint32_t)strtoul(argv[++i], NULL, 0);
    }
    rounds = quick ? 2 : 5;
    struct bench_cpus cpus;
    bench_cpus_pick(&cpus);
    bench_pin(cpus.a);
    struct bench_report rep;
    bench_report_init(&rep, "socket",
                      "RPMsg Socket vs raw rpmsg on the same link, two processes (three via a hub)",
                      &cpus);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if ((virtio_only && strcmp(kinds[i].name, "virtio")) || (hop_only && !kinds[i].hop))
            continue;
        if (run_kind(&kinds[i], quick, &cpus, &rep))
            return 1;
    }
    if (!json)
        bench_report_table(stdout, &rep);
    bench_report_json(stdout, &rep);
    return 0;
}
