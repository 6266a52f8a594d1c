/*
 * Port transport over emulated lines: payload throughput as a fraction of
 * the raw line rate (UART 8N1: baud / 10 bytes/s; SPI: clock / 8 bytes/s,
 * one direction), and round-trip latency, on a clean line and at BER 1e-5.
 * UART goes through real ptys and termios with the line emulator pacing
 * bytes; SPI through the simulated bus pacing transfers.
 *
 * Latency ratio: the wire time of the two frames a round trip needs at
 * least (UART: the two encoded frames; SPI: two transfers) over the
 * measured round trip; 1.0 would be a round trip at wire speed.
 *
 * Usage: bench_port [--json] [--quick]; BENCH_PORT_DEBUG=1 prints per-run counters,
 * BENCH_PORT_FRAME_BODY=n changes the frame body (SPI transfer size - 20),
 * BENCH_PORT_LINKS=spi (or uart, or a full link name) runs only the links
 * whose name starts with it.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "port_pair.h"

#define ADDR_A 0x500u
#define ADDR_B 0x600u
static unsigned FRAME_BODY = 1024u;
#define PORT_FRAME_SPI (FRAME_BODY + 20.0) /* one transfer: header, body, CRC */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 128 buffers each way and the frame body under test. */
static int pair_open(struct port_pair *p, const struct port_link *l, double ber)
{
    struct rpmsg_port_config c;
    memset(&c, 0, sizeof(c));
    c.num_rx_bufs = c.num_tx_bufs = 128;
    c.frame_body = FRAME_BODY;
    return port_pair_open(p, l, ber, 0, 3, &c);
}

/* ---- Throughput ----------------------------------------------------------- */

struct sink {
    pthread_mutex_t lock;
    uint64_t bytes, msgs;
};

static int sink_cb(struct rpmsg_endpoint *e, void *d, size_t len, uint32_t s, void *priv)
{
    (void)e, (void)d, (void)s;
    struct sink *k = priv;
    pthread_mutex_lock(&k->lock);
    k->bytes += len;
    k->msgs++;
    pthread_mutex_unlock(&k->lock);
    return 0;
}

struct pump {
    struct rpmsg_endpoint *ept;
    size_t size;
    volatile bool stop;
};

static void *pump_run(void *arg)
{
    struct pump *p = arg;
    uint32_t cap;
    while (!p->stop) {
        /* Zero copy: the application writes straight into a port buffer. */
        uint8_t *buf = rpmsg_get_tx_payload_buffer(p->ept, &cap, RPMSG_WAIT);
        if (!buf)
            continue;
        memset(buf, 0x5A, p->size);
        if (rpmsg_send_nocopy(p->ept, buf, p->size) < 0)
            rpmsg_release_tx_buffer(p->ept, buf);
    }
    return NULL;
}

static void snapshot(struct sink *k, uint64_t *bytes, double *t)
{
    pthread_mutex_lock(&k->lock);
    *bytes = k->bytes;
    *t = now_s();
    pthread_mutex_unlock(&k->lock);
}

/* Payload bytes per second, one direction, steady state. */
static double throughput(struct port_pair *p, size_t size, double secs, struct rpmsg_port_stats *st)
{
    struct sink k = { .lock = PTHREAD_MUTEX_INITIALIZER };
    struct rpmsg_endpoint ea, eb;
    memset(&ea, 0, sizeof(ea));
    memset(&eb, 0, sizeof(eb));
    eb.priv = &k;
    if (rpmsg_create_ept(&ea, p->dev[0], NULL, ADDR_A + 2 + (uint32_t)size, ADDR_B + 2 + (uint32_t)size, NULL, NULL) ||
        rpmsg_create_ept(&eb, p->dev[1], NULL, ADDR_B + 2 + (uint32_t)size, ADDR_A + 2 + (uint32_t)size, sink_cb, NULL))
        return -1;
    struct pump pu = { .ept = &ea, .size = size };
    pthread_t th;
    pthread_create(&th, NULL, pump_run, &pu);
    usleep((useconds_t)(secs * 0.25 * 1e6)); /* warm up: queues fill, RTO settles */
    uint64_t b0, b1;
    double t0, t1;
    snapshot(&k, &b0, &t0);
    struct rpmsg_port_stats s0, s1, r0, r1;
    rpmsg_port_get_stats(p->dev[0], &s0);
    rpmsg_port_get_stats(p->dev[1], &r0);
    usleep((useconds_t)(secs * 1e6));
    snapshot(&k, &b1, &t1);
    rpmsg_port_get_stats(p->dev[0], &s1);
    rpmsg_port_get_stats(p->dev[1], &r1);
    if (getenv("BENCH_PORT_DEBUG"))
        fprintf(stderr, "line bytes/s out of A %.0f, into B: %.0f, msgs %llu\n",
                (double)(s1.tx_line_bytes - s0.tx_line_bytes) / (t1 - t0),
                (double)(r1.rx_line_bytes - r0.rx_line_bytes) / (t1 - t0),
                (unsigned long long)(r1.rx_msgs - r0.rx_msgs));
    pu.stop = true;
    pthread_join(th, NULL);
    /* Let the queue drain, so that the next run measures only itself. */
    uint64_t last = 0;
    for (int i = 0, quiet = 0; i < 1000 && quiet < 5; i++) {
        struct rpmsg_port_stats sa, sb;
        rpmsg_port_get_stats(p->dev[0], &sa);
        rpmsg_port_get_stats(p->dev[1], &sb);
        /* Queued messages are not counted as sent yet: wait for both
         * counters to agree and stand still for a while. */
        quiet = sa.tx_msgs == sb.rx_msgs && sb.rx_msgs == last ? quiet + 1 : 0;
        last = sb.rx_msgs;
        usleep(20000);
    }
    rpmsg_destroy_ept(&ea);
    rpmsg_destroy_ept(&eb);
    st->retransmits = s1.retransmits - s0.retransmits;
    st->tx_msgs = s1.tx_msgs - s0.tx_msgs;
    st->tx_frames = s1.tx_frames - s0.tx_frames;
    st->timeouts = s1.timeouts - s0.timeouts;
    if (getenv("BENCH_PORT_DEBUG"))
        fprintf(stderr, "size %zu: msgs %llu frames %llu rtx %llu timeouts %llu stalls %llu\n", size,
                (unsigned long long)st->tx_msgs, (unsigned long long)st->tx_frames,
                (unsigned long long)st->retransmits, (unsigned long long)st->timeouts,
                (unsigned long long)(s1.credit_stalls - s0.credit_stalls));
    return (double)(b1 - b0) / (t1 - t0);
}

/* ---- Latency --------------------------------------------------------------- */

struct pong {
    sem_t got;
};

static int echo_cb(struct rpmsg_endpoint *e, void *d, size_t len, uint32_t s, void *priv)
{
    (void)priv;
    rpmsg_sendto(e, d, len, s);
    return 0;
}

static int pong_cb(struct rpmsg_endpoint *e, void *d, size_t len, uint32_t s, void *priv)
{
    (void)e, (void)d, (void)len, (void)s;
    sem_post(&((struct pong *)priv)->got);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median and 99th percentile round trip in microseconds, 32-byte payload. */
static void latency(struct port_pair *p, double secs, double *p50, double *p99)
{
    struct pong po;
    sem_init(&po.got, 0, 0);
    struct rpmsg_endpoint ea, eb;
    memset(&ea, 0, sizeof(ea));
    memset(&eb, 0, sizeof(eb));
    ea.priv = &po;
    *p50 = *p99 = -1;
    /* Fresh addresses: what the throughput run left in flight goes nowhere. */
    if (rpmsg_create_ept(&ea, p->dev[0], NULL, ADDR_A + 1, ADDR_B + 1, pong_cb, NULL) ||
        rpmsg_create_ept(&eb, p->dev[1], NULL, ADDR_B + 1, ADDR_A + 1, echo_cb, NULL))
        return;
    usleep(100 * 1000);
    while (sem_trywait(&po.got) == 0) {
    }
    static double v[20000];
    size_t n = 0;
    uint8_t msg[32] = { 1 };
    double end = now_s() + secs;
    while (n < 20000 && now_s() < end) {
        double t0 = now_s();
        if (rpmsg_send(&ea, msg, sizeof(msg)) < 0)
            break;
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 2;
        if (sem_timedwait(&po.got, &dl))
            break;
        v[n++] = (now_s() - t0) * 1e6;
    }
    if (n > 10) {
        qsort(v + 5, n - 5, sizeof(double), cmp_double); /* first few: warm-up */
        *p50 = v[5 + (n - 5) / 2];
        *p99 = v[5 + (size_t)((double)(n - 5) * 0.99)];
    }
    rpmsg_destroy_ept(&ea);
    rpmsg_destroy_ept(&eb);
    sem_destroy(&po.got);
}

/* ---- Report ----------------------------------------------------------------- */

struct row {
    const char *link;
    double ber;
    double line_bps;
    double tput[2], ratio[2], rtx_per_msg[2], msgs_per_frame[2];
    double rtt50, rtt99, rtt_ratio;
};

int main(int argc, char **argv)
{
    bool json = false, quick = false;
    for (int i = 1; i < argc; i++) {
        json |= !strcmp(argv[i], "--json");
        quick |= !strcmp(argv[i], "--quick");
    }
    const struct port_link links[] = {
        { "uart-921600", false, 921600 },
        { "uart-3000000", false, 3000000 },
        { "spi-10MHz", true, 10000000 },
        { "spi-40MHz", true, 40000000 },
    };
    const double bers[] = { 0, 1e-5 };
    const size_t sizes[] = { 496, 32 };
    struct row rows[8];
    int nrows = 0;
    double secs = quick ? 0.4 : 1.0;
    if (getenv("BENCH_PORT_FRAME_BODY"))
        FRAME_BODY = (unsigned)atoi(getenv("BENCH_PORT_FRAME_BODY"));

    const char *only = getenv("BENCH_PORT_LINKS");
    for (size_t l = 0; l < sizeof(links) / sizeof(links[0]); l++)
        for (int b = 0; b < 2; b++) {
            if (only && strncmp(links[l].name, only, strlen(only)))
                continue;
            struct row *r = &rows[nrows++];
            memset(r, 0, sizeof(*r));
            r->link = links[l].name;
            r->ber = bers[b];
            r->line_bps = port_line_bps(&links[l]);
            struct port_pair p;
            if (pair_open(&p, &links[l], bers[b])) {
                fprintf(stderr, "%s: link did not come up\n", links[l].name);
                continue;
            }
            for (int s = 0; s < 2; s++) {
                struct rpmsg_port_stats st;
                memset(&st, 0, sizeof(st));
                r->tput[s] = throughput(&p, sizes[s], secs, &st);
                r->ratio[s] = r->tput[s] / r->line_bps;
                r->rtx_per_msg[s] = st.tx_msgs ? (double)st.retransmits / (double)st.tx_msgs : 0;
                r->msgs_per_frame[s] = st.tx_frames ? (double)st.tx_msgs / (double)st.tx_frames : 0;
            }
            latency(&p, secs * 0.5, &r->rtt50, &r->rtt99);
            /* The least a round trip costs on this wire: two frames. */
            double frame = links[l].spi ? PORT_FRAME_SPI : 32 + 16 + 20 + 2;
            r->rtt_ratio = r->rtt50 > 0 ? 2 * frame / r->line_bps * 1e6 / r->rtt50 : 0;
            port_pair_close(&p);
        }

    if (!json) {
        printf("port transport over emulated lines (payload throughput one way / raw line rate;\n"
               "round trip with 32-byte payload; frame body %u)\n", FRAME_BODY);
        printf("%-13s %-6s %10s | %9s %6s %6s | %9s %6s %6s | %9s %9s %6s\n", "link", "BER",
               "line B/s", "496 B/s", "ratio", "rtx", "32 B/s", "ratio", "rtx", "rtt50 us",
               "rtt99 us", "ratio");
        for (int i = 0; i < nrows; i++) {
            struct row *r = &rows[i];
            printf("%-13s %-6g %10.0f | %9.0f %6.3f %6.3f | %9.0f %6.3f %6.3f | %9.0f %9.0f %6.3f\n",
                   r->link, r->ber, r->line_bps, r->tput[0], r->ratio[0], r->rtx_per_msg[0],
                   r->tput[1], r->ratio[1], r->rtx_per_msg[1], r->rtt50, r->rtt99, r->rtt_ratio);
        }
        printf("targets on a clean line: 496-byte payloads >= 0.90, 32-byte >= 0.60 of line rate\n");
    }
    printf("{\"bench\":\"port\",\"frame_body\":%u,\"results\":[", FRAME_BODY);
    for (int i = 0; i < nrows; i++) {
        struct row *r = &rows[i];
        printf("%s{\"link\":\"%s\",\"ber\":%g,\"line_bytes_per_s\":%.0f,"
               "\"payload496_bytes_per_s\":%.0f,\"payload496_ratio\":%.4f,\"payload496_rtx_per_msg\":%.4f,"
               "\"payload32_bytes_per_s\":%.0f,\"payload32_ratio\":%.4f,\"payload32_rtx_per_msg\":%.4f,"
               "\"payload32_msgs_per_frame\":%.2f,"
               "\"rtt_p50_us\":%.1f,\"rtt_p99_us\":%.1f,\"rtt_ratio\":%.4f}",
               i ? "," : "", r->link, r->ber, r->line_bps, r->tput[0], r->ratio[0], r->rtx_per_msg[0],
               r->tput[1], r->ratio[1], r->rtx_per_msg[1], r->msgs_per_frame[1], r->rtt50, r->rtt99,
               r->rtt_ratio);
    }
    printf("]}\n");
    return 0;
}
