/*
 * Port transport on noisy lines with default options, against the best the
 * frame format could do on the same line, and how fast a dead peer is seen.
 *
 * Goodput: N 64-byte messages each way at once (every payload numbered and
 * checked: none may be lost, duplicated or reordered), payload bytes per
 * second per direction from the first send to the last delivery. The only
 * option set is line_rate, which a real program knows from its baud rate
 * or clock.
 *
 * Optimum, computed for the same BER and drop rate: a frame of k messages
 * (20 bytes of header and CRC, 16 + 64 bytes per message) arrives whole with
 * P = (1 - BER)^bits * (1 - drop)^bytes; goodput(k) = k * 64 * P / line
 * bytes, at the best k. UART: line bytes are the COBS-encoded frame and its
 * delimiter, any k up to PORT_BODY_MAX. SPI: the transfer size is fixed by
 * the configuration (20 + 2 * 512 by default) and carries as many frames of
 * k messages as fit; a dropped byte shifts, and so loses, the rest of its
 * transfer. Acknowledgements are taken as free (they ride in the frames
 * going the other way), so the optimum is an upper bound.
 *
 * The ratio is goodput over that optimum. On a machine whose CPUs are
 * busy, the emulated line itself (a relay thread, or the bus's clock thread)
 * falls behind, which a timed ratio charges to the protocol; so a second
 * ratio compares bytes instead: payload delivered per byte the two sides
 * put on the line (frames, acknowledgements, retransmissions, SPI padding),
 * against the optimum's payload per line byte.
 *
 * Dead peer: one side of an idle link is torn down without a word; the time
 * until the other side's device is down (RPMSG_PORT_PEER_TIMEOUT_MS, 1 s by
 * default), median and max over several runs.
 *
 * Usage: bench_port_ber [--json] [--quick] [--full]; messages per direction:
 * 20,000 (quick: 5,000; full: 100,000), or BENCH_PORT_BER_MSGS. BENCH_PORT_LINKS=spi
 * or =uart runs one link, BENCH_PORT_BER=1e-4 the points at one error rate,
 * BENCH_PORT_NO_DETECT=1 skips the dead-peer runs.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "port_pair.h"

#define MSG 64u
#define ADDR_A 0x500u
#define ADDR_B 0x600u
#define BODY_FORMAT_MAX 8192u /* PORT_BODY_MAX */
#define SPI_TRANSFER (20u + 2u * RPMSG_BUFFER_SIZE)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- The optimum --------------------------------------------------------- */

/* Best payload bytes per line byte; *best_k messages per frame. */
static double optimum(bool spi, double ber, double drop, unsigned *best_k)
{
    double best = 0;
    unsigned msg = RPMSG_HDR_SIZE + MSG;
    for (unsigned k = 1; 20 + k * msg <= BODY_FORMAT_MAX + 20; k++) {
        double frame = 20.0 + k * msg, g = 0;
        if (!spi) {
            double line = frame + ceil(frame / 254.0) + 1; /* COBS code bytes, delimiter */
            g = k * MSG * pow(1 - ber, 8 * line) * pow(1 - drop, line) / line;
        } else {
            unsigned fit = (unsigned)(SPI_TRANSFER / frame);
            for (unsigned i = 0; i < fit; i++)
                g += k * MSG * pow(1 - ber, 8 * frame) * pow(1 - drop, (i + 1) * frame);
            g /= SPI_TRANSFER;
        }
        if (g > best) {
            best = g;
            *best_k = k;
        }
    }
    return best;
}

/* ---- Goodput ------------------------------------------------------------- */

struct stream {
    pthread_mutex_t lock;
    uint32_t next, received, bad; /* bad: lost, duplicated, reordered or damaged */
    uint32_t n;
    double done_at;
};

static int stream_cb(struct rpmsg_endpoint *e, void *d, size_t len, uint32_t src, void *priv)
{
    (void)e, (void)src;
    struct stream *s = priv;
    uint32_t seq;
    memcpy(&seq, d, sizeof(seq));
    const uint8_t *b = d;
    pthread_mutex_lock(&s->lock);
    bool ok = len == MSG && seq == s->next;
    for (size_t i = 4; ok && i < len; i++)
        ok = b[i] == (uint8_t)(seq + i);
    if (!ok)
        s->bad++;
    s->next = seq + 1;
    if (++s->received == s->n)
        s->done_at = now_s();
    pthread_mutex_unlock(&s->lock);
    return 0;
}

struct sender {
    struct rpmsg_endpoint *ept;
    uint32_t n;
    int err;
};

static void *send_run(void *arg)
{
    struct sender *s = arg;
    uint8_t buf[MSG];
    for (uint32_t seq = 0; seq < s->n; seq++) {
        memcpy(buf, &seq, sizeof(seq));
        for (size_t i = 4; i < MSG; i++)
            buf[i] = (uint8_t)(seq + i);
        int r = rpmsg_send(s->ept, buf, MSG);
        if (r != (int)MSG) {
            s->err = r;
            break;
        }
    }
    return NULL;
}

struct point {
    const char *link;
    double ber, drop, line_bps;
    double goodput[2], optimum, ratio;
    double byte_ratio; /* payload per line byte sent, against the optimum's */
    unsigned best_k;
    uint32_t msgs, received[2], bad[2];
    uint32_t frame_body[2];
    uint64_t retransmits, timeouts, peer_timeouts;
};

static void run_point(struct point *pt, const struct port_link *l, uint32_t n)
{
    struct port_pair p;
    pt->msgs = n;
    if (port_pair_open(&p, l, pt->ber, pt->drop, 7, NULL)) {
        fprintf(stderr, "%s: link did not come up\n", l->name);
        return;
    }
    struct stream st[2];
    struct rpmsg_endpoint ept[2];
    memset(ept, 0, sizeof(ept));
    for (int i = 0; i < 2; i++) {
        memset(&st[i], 0, sizeof(st[i]));
        pthread_mutex_init(&st[i].lock, NULL);
        st[i].n = n;
        ept[i].priv = &st[i];
        uint32_t me = i ? ADDR_B : ADDR_A, peer = i ? ADDR_A : ADDR_B;
        if (rpmsg_create_ept(&ept[i], p.dev[i], NULL, me, peer, stream_cb, NULL))
            return;
    }
    struct sender snd[2] = { { &ept[0], n, 0 }, { &ept[1], n, 0 } };
    double line_bytes = 0;
    pthread_t th[2];
    double t0 = now_s();
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, send_run, &snd[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    /* The senders are done once the last message is queued: wait for the
     * deliveries (bounded: a stall shows as missing messages). */
    for (int t = 0; t < 60000; t++) {
        bool done = true;
        for (int i = 0; i < 2; i++) {
            pthread_mutex_lock(&st[i].lock);
            done &= st[i].received >= n;
            pthread_mutex_unlock(&st[i].lock);
        }
        if (done)
            break;
        usleep(1000);
    }
    for (int i = 0; i < 2; i++) {
        pthread_mutex_lock(&st[i].lock);
        /* st[i] is what side i received: the other side's direction. */
        pt->received[i] = st[i].received;
        pt->bad[i] = st[i].bad + (st[i].received < n ? n - st[i].received : 0);
        double t = st[i].done_at > 0 ? st[i].done_at - t0 : 0;
        pt->goodput[i] = t > 0 ? (double)n * MSG / t : 0;
        pthread_mutex_unlock(&st[i].lock);
        struct rpmsg_port_stats s;
        rpmsg_port_get_stats(p.dev[i], &s);
        line_bytes += s.tx_line_bytes;
        pt->retransmits += s.retransmits;
        pt->timeouts += s.timeouts;
        pt->peer_timeouts += s.peer_timeouts;
        pt->frame_body[i] = s.frame_body_now;
        if (getenv("BENCH_PORT_DEBUG"))
            fprintf(stderr, "  side %d: frames tx %llu rx %llu, rtx %llu, crc %llu, dups %llu, timeouts %llu, "
                    "stalls %llu, probes %llu, oow %llu\n", i, (unsigned long long)s.tx_frames,
                    (unsigned long long)s.rx_frames, (unsigned long long)s.retransmits,
                    (unsigned long long)s.crc_errors, (unsigned long long)s.duplicates,
                    (unsigned long long)s.timeouts, (unsigned long long)s.credit_stalls,
                    (unsigned long long)s.credit_probes, (unsigned long long)s.out_of_window);
        if (snd[i].err)
            fprintf(stderr, "%s: send failed: %d\n", l->name, snd[i].err);
    }
    double best = optimum(l->spi, pt->ber, pt->drop, &pt->best_k);
    pt->optimum = best * port_line_bps(l);
    /* Time on a loaded machine also measures the scheduler; bytes do not. */
    pt->byte_ratio = line_bytes > 0 ? 2.0 * n * MSG / line_bytes / best : 0;
    double g = (pt->goodput[0] + pt->goodput[1]) / 2;
    pt->ratio = pt->optimum > 0 ? g / pt->optimum : 0;
    for (int i = 0; i < 2; i++)
        rpmsg_destroy_ept(&ept[i]);
    port_pair_close(&p);
    for (int i = 0; i < 2; i++)
        pthread_mutex_destroy(&st[i].lock);
}

/* ---- Dead peer ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Milliseconds from B's teardown until A's device is down; -1 if never. */
static double detect_once(const struct port_link *l, unsigned rep)
{
    struct port_pair p;
    if (port_pair_open(&p, l, 0, 0, 11 + rep, NULL))
        return -1;
    /* Idle for a while, at a different phase of the keepalive each run. */
    usleep(200000 + (rep * 37 % 10) * 50000);
    double t0 = now_s(), t = -1;
    port_pair_side_close(&p, 1);
    for (int k = 0; k < 10000; k++) {
        if (!rpmsg_device_is_up(p.dev[0])) {
            t = (now_s() - t0) * 1e3;
            break;
        }
        usleep(1000);
    }
    port_pair_close(&p);
    return t;
}

struct detect {
    const char *link;
    double median, max;
    unsigned runs, missed;
};

static void run_detect(struct detect *d, const struct port_link *l, unsigned runs)
{
    double v[32];
    unsigned n = 0;
    d->link = l->name;
    d->runs = runs;
    for (unsigned r = 0; r < runs && r < 32; r++) {
        double t = detect_once(l, r);
        if (t < 0)
            d->missed++;
        else
            v[n++] = t;
    }
    qsort(v, n, sizeof(double), cmp_double);
    d->median = n ? v[n / 2] : -1;
    d->max = n ? v[n - 1] : -1;
}

int main(int argc, char **argv)
{
    bool json = false, quick = false, full = false;
    for (int i = 1; i < argc; i++) {
        json |= !strcmp(argv[i], "--json");
        quick |= !strcmp(argv[i], "--quick");
        full |= !strcmp(argv[i], "--full");
    }
    uint32_t n = full ? 100000 : quick ? 5000 : 20000;
    if (getenv("BENCH_PORT_BER_MSGS"))
        n = (uint32_t)atoi(getenv("BENCH_PORT_BER_MSGS"));
    const struct port_link links[] = {
        { "uart-3000000", false, 3000000 },
        { "spi-20MHz", true, 20000000 },
    };
    const double faults[][2] = { { 0, 0 }, { 1e-6, 0 }, { 1e-5, 0 }, { 1e-4, 0 }, { 0, 1e-5 } };
    enum { NL = 2, NF = 5 };
    static struct point pts[NL * NF];
    struct detect det[NL];
    memset(det, 0, sizeof(det));
    int np = 0;
    const char *only = getenv("BENCH_PORT_LINKS");
    /* BENCH_PORT_BER=1e-4: only the points at that bit error rate. */
    const char *only_ber = getenv("BENCH_PORT_BER");
    for (int l = 0; l < NL; l++) {
        if (only && strncmp(links[l].name, only, strlen(only)))
            continue;
        for (int f = 0; f < NF; f++) {
            if (only_ber && faults[f][0] != atof(only_ber))
                continue;
            struct point *pt = &pts[np++];
            pt->link = links[l].name;
            pt->ber = faults[f][0];
            pt->drop = faults[f][1];
            pt->line_bps = port_line_bps(&links[l]);
            run_point(pt, &links[l], n);
            if (!json)
                fprintf(stderr, "%s ber %g drop %g: %.0f / %.0f B/s\n", pt->link, pt->ber, pt->drop,
                        (pt->goodput[0] + pt->goodput[1]) / 2, pt->optimum);
        }
        if (!getenv("BENCH_PORT_NO_DETECT"))
            run_detect(&det[l], &links[l], quick ? 5 : 11);
    }

    if (!json) {
        printf("port links, default options, %u x %u-byte messages each way at once;\n"
               "goodput per direction against the frame format's optimum at that error rate\n",
               n, MSG);
        printf("%-13s %-7s %-7s | %9s %9s %9s %6s %6s %4s | %5s %5s | %8s %6s %s\n", "link", "BER",
               "drop", "A->B B/s", "B->A B/s", "best B/s", "ratio", "bytes", "k", "body", "body",
               "rtx", "bad", "");
        for (int i = 0; i < np; i++) {
            struct point *pt = &pts[i];
            printf("%-13s %-7g %-7g | %9.0f %9.0f %9.0f %6.3f %6.3f %4u | %5u %5u | %8llu %6u %s\n",
                   pt->link, pt->ber, pt->drop, pt->goodput[1], pt->goodput[0], pt->optimum,
                   pt->ratio, pt->byte_ratio, pt->best_k, pt->frame_body[0], pt->frame_body[1],
                   (unsigned long long)pt->retransmits, pt->bad[0] + pt->bad[1],
                   pt->ratio >= 0.70 && !pt->bad[0] && !pt->bad[1] ? "ok" : "BELOW TARGET");
        }
        printf("target: >= 0.70 of the optimum, nothing lost, duplicated or reordered\n"
               "(ratio: goodput / optimum; bytes: payload per line byte / the optimum's; k: messages\n"
               " per frame at the optimum; body: frame body each side packs up to at the end)\n");
        printf("dead peer (one side torn down on an idle link), ms until the other is down:\n");
        for (int l = 0; l < NL; l++)
            if (det[l].link)
                printf("  %-13s median %.0f  max %.0f  (%u runs, %u never)\n", det[l].link,
                       det[l].median, det[l].max, det[l].runs, det[l].missed);
    }
    printf("{\"bench\":\"port_ber\",\"msg_bytes\":%u,\"msgs_each_way\":%u,\"results\":[", MSG, n);
    for (int i = 0; i < np; i++) {
        struct point *pt = &pts[i];
        printf("%s{\"link\":\"%s\",\"ber\":%g,\"drop\":%g,\"line_bytes_per_s\":%.0f,"
               "\"goodput_a_to_b\":%.0f,\"goodput_b_to_a\":%.0f,\"optimum\":%.0f,\"ratio\":%.4f,\"byte_ratio\":%.4f,"
               "\"optimum_msgs_per_frame\":%u,\"received\":[%u,%u],\"bad\":%u,\"retransmits\":%llu,"
               "\"timeouts\":%llu,\"peer_timeouts\":%llu}",
               i ? "," : "", pt->link, pt->ber, pt->drop, pt->line_bps, pt->goodput[1], pt->goodput[0],
               pt->optimum, pt->ratio, pt->byte_ratio, pt->best_k, pt->received[0], pt->received[1],
               pt->bad[0] + pt->bad[1], (unsigned long long)pt->retransmits,
               (unsigned long long)pt->timeouts, (unsigned long long)pt->peer_timeouts);
    }
    printf("],\"dead_peer_ms\":[");
    for (int l = 0, first = 1; l < NL; l++)
        if (det[l].link) {
            printf("%s{\"link\":\"%s\",\"median\":%.1f,\"max\":%.1f,\"runs\":%u,\"missed\":%u}",
                   first ? "" : ",", det[l].link, det[l].median, det[l].max, det[l].runs, det[l].missed);
            first = 0;
        }
    printf("]}\n");
    return 0;
}
