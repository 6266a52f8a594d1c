/*
 * Helpers of the port transport tests: a pair of ports joined by the UART
 * line emulator (through real ptys and termios) or by the simulated SPI
 * bus, and a self-checking message stream (sequence number and CRC in every
 * payload, contents derived from the sequence number).
 */
#ifndef PORT_HARNESS_H
#define PORT_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "rpmsg/rpmsg_port.h"
#include "transport/port/port_wire.h"

#define PH_ADDR_A 0x500u
#define PH_ADDR_B 0x600u

enum ph_kind { PH_UART, PH_SPI };

struct ph_opts {
    enum ph_kind kind;
    uint32_t rate;       /* UART baud or SPI clock; 0: unpaced */
    double ber, drop;
    uint32_t buf_size;   /* 0: default */
    uint32_t buf_size_b; /* side B's, if different; 0: same */
    uint32_t frame_body; /* 0: default */
    uint32_t nbufs;      /* per direction; 0: default */
    uint32_t seed;
    uint32_t peer_timeout_ms; /* 0: default */
    const struct rpmsg_tty_io *io[2]; /* UART: each side's read/write stand-ins (NULL: the system's) */
    bool v1_wire[2];     /* that side speaks only the first wire format */
};

struct ph_pair {
    struct ph_opts o;
    struct rpmsg_line *line;
    struct rpmsg_spibus *bus;
    struct rpmsg_tty *tty[2];
    struct rpmsg_port *port[2];
    struct rpmsg_device *dev[2];
};

static inline uint32_t ph_env_u32(const char *name, uint32_t def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    long n = strtol(v, NULL, 0);
    return n > 0 ? (uint32_t)n : def;
}

static inline int ph_side_open(struct ph_pair *p, int i)
{
    struct rpmsg_port_config c;
    memset(&c, 0, sizeof(c));
    c.local_cpuname = i ? "b" : "a";
    c.buf_size = i && p->o.buf_size_b ? p->o.buf_size_b : p->o.buf_size;
    c.frame_body = p->o.frame_body;
    c.num_rx_bufs = c.num_tx_bufs = p->o.nbufs;
    c.peer_timeout_ms = p->o.peer_timeout_ms;
    c.v1_wire = p->o.v1_wire[i];
    if (p->o.kind == PH_UART) {
        struct rpmsg_tty_config tc = {
            .path = i ? rpmsg_line_tty_b(p->line) : rpmsg_line_tty_a(p->line),
            .fd = -1,
            .baud = p->o.rate ? p->o.rate : 115200, /* a pty ignores it; the emulator paces */
            .io = p->o.io[i],
        };
        int r = rpmsg_tty_open(&p->tty[i], &tc);
        if (r)
            return r;
        c.link = RPMSG_PORT_UART;
        c.uart = &rpmsg_tty_ops;
        c.link_ctx = p->tty[i];
        c.line_rate = p->o.rate / 10;
    } else {
        c.link = i ? RPMSG_PORT_SPI_SLAVE : RPMSG_PORT_SPI_MASTER;
        c.spi = &rpmsg_spibus_ops;
        c.link_ctx = rpmsg_spibus_end(p->bus, i == 0);
        c.line_rate = p->o.rate / 8;
    }
    int r = rpmsg_port_init(&p->port[i], &c);
    if (r) {
        rpmsg_tty_close(p->tty[i]);
        p->tty[i] = NULL;
        return r;
    }
    p->dev[i] = rpmsg_port_device(p->port[i]);
    return 0;
}

static inline void ph_side_close(struct ph_pair *p, int i)
{
    rpmsg_port_deinit(p->port[i]);
    p->port[i] = NULL;
    p->dev[i] = NULL;
    rpmsg_tty_close(p->tty[i]);
    p->tty[i] = NULL;
}

static inline int ph_open(struct ph_pair *p, const struct ph_opts *o)
{
    memset(p, 0, sizeof(*p));
    p->o = *o;
    int r;
    if (o->kind == PH_UART) {
        struct rpmsg_line_config lc = { .baud = o->rate, .ber = o->ber, .drop_rate = o->drop, .seed = o->seed };
        r = rpmsg_line_create(&p->line, &lc);
    } else {
        struct rpmsg_spibus_config bc = { .clock_hz = o->rate, .ber = o->ber, .drop_rate = o->drop, .seed = o->seed };
        r = rpmsg_spibus_create(&p->bus, &bc);
    }
    if (r)
        return r;
    for (int i = 0; i < 2 && !r; i++)
        r = ph_side_open(p, i);
    return r;
}

static inline void ph_close(struct ph_pair *p)
{
    for (int i = 0; i < 2; i++)
        if (p->port[i])
            ph_side_close(p, i);
    rpmsg_line_destroy(p->line);
    rpmsg_spibus_destroy(p->bus);
    p->line = NULL;
    p->bus = NULL;
}

static inline bool ph_pred_up(void *arg)
{
    struct ph_pair *p = arg;
    return rpmsg_device_is_up(p->dev[0]) && rpmsg_device_is_up(p->dev[1]);
}

static inline int ph_wait_up(struct ph_pair *p)
{
    return tu_wait_until(ph_pred_up, p, TU_TIMEOUT_MS);
}

static inline struct rpmsg_port_stats ph_stats(struct rpmsg_device *d)
{
    struct rpmsg_port_stats s;
    memset(&s, 0, sizeof(s));
    rpmsg_port_get_stats(d, &s);
    return s;
}

/* device_created / device_destroyed of one device, counted and checked for order. */
struct life {
    struct rpmsg_device *watch;
    struct tu_event created, destroyed;
    int order_bad; /* destroyed seen when not created, or created twice in a row */
    int state;     /* 1 up, 0 down */
};

static inline void on_created(struct rpmsg_device *rdev, void *priv)
{
    struct life *l = priv;
    if (rdev != l->watch)
        return;
    if (l->state == 1)
        l->order_bad++;
    l->state = 1;
    tu_event_post(&l->created);
}

static inline void on_destroyed(struct rpmsg_device *rdev, void *priv)
{
    struct life *l = priv;
    if (rdev != l->watch)
        return;
    if (l->state == 0)
        l->order_bad++;
    l->state = 0;
    tu_event_post(&l->destroyed);
}

/* PH_FILTER=pattern runs only the matching tests (debugging). */
static inline void ph_filter(void)
{
    const char *f = getenv("PH_FILTER");
    if (f && *f)
        cmocka_set_test_filter(f);
}

/* ---- Self-checking stream --------------------------------------------------- */

static inline uint32_t ph_mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

/* Payload of message seq: [seq][crc of the rest][bytes from seq], min..max
 * bytes (min 0: 8). */
static inline uint32_t ph_payload(uint8_t *out, uint32_t seq, uint32_t min, uint32_t max, uint32_t salt)
{
    min = min > 8 ? min : 8;
    uint32_t len = min + ph_mix(seq ^ salt) % (max - min + 1);
    uint32_t x = ph_mix(seq * 2654435761u + salt);
    for (uint32_t i = 8; i < len; i++) {
        x = x * 1103515245u + 12345u;
        out[i] = (uint8_t)(x >> 16);
    }
    rpmsg_put32(out, seq);
    rpmsg_put32(out + 4, rpmsg_port_crc32c(0, out + 8, len - 8));
    return len;
}

struct ph_stream {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t min, max, salt; /* min: set after init for fixed sizes */
    uint32_t next;     /* sequence number expected */
    uint32_t received;
    uint32_t corrupt, misordered;
    uint32_t skipped;  /* messages never seen (allowed only where a reset lost them) */
    bool allow_gaps;
};

static inline void ph_stream_init(struct ph_stream *s, uint32_t max, uint32_t salt)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->max = max;
    s->salt = salt;
}

static inline void ph_stream_deinit(struct ph_stream *s)
{
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
}

static inline int ph_stream_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                               void *priv)
{
    (void)ept;
    (void)src;
    struct ph_stream *s = priv;
    uint8_t expect[RPMSG_BUFFER_SIZE * 16];
    pthread_mutex_lock(&s->lock);
    bool ok = len >= 8;
    uint32_t seq = ok ? rpmsg_get32(data) : 0;
    if (ok) {
        uint32_t n = ph_payload(expect, seq, s->min, s->max, s->salt);
        ok = n == len && !memcmp(expect, data, len);
    }
    if (!ok) {
        s->corrupt++;
    } else if (seq == s->next || (s->allow_gaps && seq > s->next)) {
        s->skipped += seq - s->next;
        s->next = seq + 1;
        s->received++;
    } else {
        s->misordered++;
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* Waits until the message before 'next' arrived; 0 or -ETIMEDOUT after idle_ms without progress. */
static inline int ph_stream_wait(struct ph_stream *s, uint32_t next, unsigned idle_ms)
{
    pthread_mutex_lock(&s->lock);
    uint32_t seen = s->received;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int r = 0;
    while (s->next < next) {
        struct timespec dl = ts;
        dl.tv_sec += idle_ms / 1000;
        dl.tv_nsec += (long)(idle_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&s->cond, &s->lock, &dl) != 0) {
            if (s->received == seen) {
                r = -ETIMEDOUT;
                break;
            }
        }
        if (s->received != seen) {
            seen = s->received;
            clock_gettime(CLOCK_REALTIME, &ts);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

struct ph_sender {
    struct rpmsg_endpoint *ept;
    uint32_t first, count, min, max, salt;
    bool retry;        /* keep going through link loss (restart tests) */
    uint32_t hold_at;  /* if nonzero: message index to stop before until released */
    volatile bool release;
    volatile bool stop;
    uint32_t sent;
    int err;
};

static inline void *ph_sender_run(void *arg)
{
    struct ph_sender *s = arg;
    uint8_t buf[RPMSG_BUFFER_SIZE * 16];
    for (uint32_t i = 0; i < s->count && !s->stop; i++) {
        while (s->hold_at && i == s->hold_at && !s->release && !s->stop) {
            struct timespec nap = { 0, 1000000L };
            nanosleep(&nap, NULL);
        }
        uint32_t len = ph_payload(buf, s->first + i, s->min, s->max, s->salt);
        int r = rpmsg_send(s->ept, buf, len);
        if (r == (int)len) {
            s->sent++;
            continue;
        }
        if (s->retry && !s->stop) {
            struct timespec nap = { 0, 2000000L };
            nanosleep(&nap, NULL);
            i--;
            continue;
        }
        s->err = r;
        break;
    }
    return NULL;
}

/* n messages of min..max bytes each way at once (ph_stream senders on two
 * endpoints), all checked delivered once, intact, in order. */
static inline void ph_stream_both(struct ph_pair *p, uint32_t n, uint32_t min, uint32_t max)
{
    struct ph_stream rs[2];
    struct rpmsg_endpoint ept[2];
    ph_stream_init(&rs[0], max, 1);
    ph_stream_init(&rs[1], max, 2);
    rs[0].min = rs[1].min = min;
    memset(ept, 0, sizeof(ept));
    ept[0].priv = &rs[0];
    ept[1].priv = &rs[1];
    assert_int_equal(rpmsg_create_ept(&ept[0], p->dev[0], NULL, PH_ADDR_A, PH_ADDR_B, ph_stream_cb, NULL), 0);
    assert_int_equal(rpmsg_create_ept(&ept[1], p->dev[1], NULL, PH_ADDR_B, PH_ADDR_A, ph_stream_cb, NULL), 0);
    struct ph_sender snd[2] = {
        { .ept = &ept[0], .count = n, .min = min, .max = max, .salt = 2 },
        { .ept = &ept[1], .count = n, .min = min, .max = max, .salt = 1 },
    };
    struct tu_thread th[2] = { 0 };
    for (int i = 0; i < 2; i++)
        assert_int_equal(tu_thread_start(&th[i], ph_sender_run, &snd[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(tu_thread_join(&th[i], 120000), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(snd[i].err, 0);
        assert_int_equal(ph_stream_wait(&rs[i], n, TU_TIMEOUT_MS), 0);
        assert_int_equal(rs[i].received, n);
        assert_int_equal(rs[i].corrupt, 0);
        assert_int_equal(rs[i].misordered, 0);
        assert_int_equal(rs[i].skipped, 0);
    }
    rpmsg_destroy_ept(&ept[0]);
    rpmsg_destroy_ept(&ept[1]);
    ph_stream_deinit(&rs[0]);
    ph_stream_deinit(&rs[1]);
}

#endif
