/*
 * UART line emulator: two pseudo-terminal pairs and one relay thread. Side A
 * uses the slave end of pair A, side B that of pair B; the thread moves
 * bytes between the two master ends, paced at baud / 10 bytes per second
 * (8N1) and damaged on the way (bit flips, lost bytes, a cut line).
 *
 * The emulator keeps both slave ends open itself, so a side may close its
 * tty and open it again (a rebooting peer) without the pty going away.
 * A full FIFO stops the relay from reading, so an unpaced line has
 * backpressure instead of losses: faults are only the ones asked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "line_fault.h"
#include "rpmsg/rpmsg_port.h"

#define FIFO_SIZE 8192u
#define OUT_SIZE 4096u
#define INJ_SIZE 65536u

struct line_dir {
    int src, dst; /* master fds */
    uint8_t fifo[FIFO_SIZE];
    size_t head, count;
    uint8_t out[OUT_SIZE];
    size_t out_off, out_len;
    uint8_t inj[INJ_SIZE];
    size_t inj_len;
    uint64_t line_us; /* when the line finishes the last byte sent (paced lines) */
    double frac_us;   /* sub-microsecond remainder of line_us */
    struct line_fault fault;
    uint64_t bytes, cut_dropped;
};

struct rpmsg_line {
    pthread_mutex_t lock;
    pthread_t thread;
    bool started, stop;
    int evfd;
    int master[2], slave[2];
    char path[2][64];
    double rate; /* bytes per second, 0: unpaced */
    uint64_t cut_until_us;
    struct line_dir dir[2]; /* dir[0]: A -> B, dir[1]: B -> A */
    void (*tap)(void *arg, bool to_b, const uint8_t *bytes, size_t n);
    void *tap_arg;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void pull(struct line_dir *d, uint64_t now)
{
    /* An idle line does not bank time: the first byte starts when it comes. */
    if (!d->count && d->line_us < now) {
        d->line_us = now;
        d->frac_us = 0;
    }
    while (d->count < FIFO_SIZE) {
        size_t tail = (d->head + d->count) % FIFO_SIZE;
        size_t room = FIFO_SIZE - d->count;
        if (room > FIFO_SIZE - tail)
            room = FIFO_SIZE - tail;
        ssize_t n = read(d->src, d->fifo + tail, room);
        if (n <= 0)
            return;
        d->count += (size_t)n;
    }
}

/* Moves up to n bytes from the FIFO onto the wire (out), through the faults. */
static void transmit(struct rpmsg_line *l, struct line_dir *d, size_t n, uint64_t now)
{
    pthread_mutex_lock(&l->lock);
    bool cut = now < l->cut_until_us;
    d->out_off = d->out_len = 0;
    if (d->inj_len) {
        /* Injected bytes go out whole and undamaged, ahead of the stream. */
        size_t k = d->inj_len < OUT_SIZE ? d->inj_len : OUT_SIZE;
        memcpy(d->out, d->inj, k);
        memmove(d->inj, d->inj + k, d->inj_len - k);
        d->inj_len -= k;
        d->out_len = k;
        pthread_mutex_unlock(&l->lock);
        if (l->tap)
            l->tap(l->tap_arg, d == &l->dir[0], d->out, d->out_len);
        return;
    }
    if (n > OUT_SIZE)
        n = OUT_SIZE;
    for (size_t i = 0; i < n && d->count; i++) {
        uint8_t b = d->fifo[d->head];
        d->head = (d->head + 1) % FIFO_SIZE;
        d->count--;
        d->bytes++;
        if (cut) {
            d->cut_dropped++;
            continue;
        }
        if (line_fault_byte(&d->fault, &b))
            d->out[d->out_len++] = b;
    }
    pthread_mutex_unlock(&l->lock);
    if (l->tap && d->out_len)
        l->tap(l->tap_arg, d == &l->dir[0], d->out, d->out_len);
}

/* Bytes whose whole 10-bit time on the line has passed by now. */
static size_t due(const struct rpmsg_line *l, const struct line_dir *d, uint64_t now)
{
    if (now <= d->line_us)
        return 0;
    double n = ((double)(now - d->line_us) - d->frac_us) * l->rate / 1e6;
    return n < 1 ? 0 : (size_t)n;
}

static void *relay(void *arg)
{
    struct rpmsg_line *l = arg;
    for (;;) {
        pthread_mutex_lock(&l->lock);
        bool stop = l->stop;
        pthread_mutex_unlock(&l->lock);
        if (stop)
            break;
        uint64_t now = now_us();
        long wait_us = -1;
        struct pollfd pf[5];
        int np = 0;
        for (int i = 0; i < 2; i++) {
            struct line_dir *d = &l->dir[i];
            pull(d, now);
            for (int round = 0; round < 16; round++) {
                if (d->out_off < d->out_len) {
                    ssize_t w = write(d->dst, d->out + d->out_off, d->out_len - d->out_off);
                    if (w > 0)
                        d->out_off += (size_t)w;
                    if (d->out_off < d->out_len)
                        break; /* the far end is full: wait for it */
                }
                pthread_mutex_lock(&l->lock);
                bool inj = d->inj_len > 0;
                pthread_mutex_unlock(&l->lock);
                size_t n = d->count;
                if (l->rate > 0 && !inj) {
                    size_t k = due(l, d, now);
                    if (k < n)
                        n = k;
                }
                if (!n && !inj)
                    break;
                transmit(l, d, n, now);
                if (l->rate > 0 && !inj) {
                    double t = d->frac_us + (double)n * 1e6 / l->rate;
                    d->line_us += (uint64_t)t;
                    d->frac_us = t - (double)(uint64_t)t;
                }
                pull(d, now);
            }
            if (d->count < FIFO_SIZE)
                pf[np++] = (struct pollfd){ .fd = d->src, .events = POLLIN };
            if (d->out_off < d->out_len)
                pf[np++] = (struct pollfd){ .fd = d->dst, .events = POLLOUT };
            else if (d->count && l->rate <= 0)
                wait_us = 0;
            else if (d->count && l->rate > 0) {
                /* Come back when a useful chunk is through: 32 bytes or all of it. */
                double want = d->count < 32 ? (double)d->count : 32;
                double at = (double)d->line_us + d->frac_us + want * 1e6 / l->rate;
                long us = (long)(at - (double)now);
                if (us < 20)
                    us = 20;
                if (wait_us < 0 || us < wait_us)
                    wait_us = us;
            }
        }
        pf[np++] = (struct pollfd){ .fd = l->evfd, .events = POLLIN };
        struct timespec ts = { .tv_sec = wait_us / 1000000, .tv_nsec = (wait_us % 1000000) * 1000 };
        if (wait_us < 0)
            ts = (struct timespec){ .tv_sec = 0, .tv_nsec = 100 * 1000000L };
        int r = ppoll(pf, (nfds_t)np, &ts, NULL);
        if (r > 0 && (pf[np - 1].revents & POLLIN)) {
            uint64_t v;
            if (read(l->evfd, &v, sizeof(v)) < 0) {
                /* drained already */
            }
        }
        /* A master whose slave is closed everywhere reports POLLHUP at
         * once; we hold the slaves open, so this only guards a busy loop. */
        for (int i = 0; r > 0 && i < np - 1; i++)
            if ((pf[i].revents & (POLLHUP | POLLERR)) && !(pf[i].revents & (POLLIN | POLLOUT))) {
                struct timespec nap = { 0, 1000000L };
                nanosleep(&nap, NULL);
                break;
            }
    }
    return NULL;
}

static int raw_nonblock(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
        return -errno;
    return 0;
}

int rpmsg_line_create(struct rpmsg_line **out, const struct rpmsg_line_config *cfg)
{
    static const struct rpmsg_line_config defaults;
    if (!out)
        return -EINVAL;
    if (!cfg)
        cfg = &defaults;
    if (cfg->ber < 0 || cfg->ber > 1 || cfg->drop_rate < 0 || cfg->drop_rate > 1)
        return -EINVAL;
    struct rpmsg_line *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->master[0] = l->master[1] = l->slave[0] = l->slave[1] = -1;
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int r = l->evfd < 0 ? -errno : 0;
    for (int i = 0; i < 2 && !r; i++) {
        if (openpty(&l->master[i], &l->slave[i], l->path[i], NULL, NULL)) {
            r = -errno;
            break;
        }
        fcntl(l->master[i], F_SETFD, FD_CLOEXEC);
        fcntl(l->slave[i], F_SETFD, FD_CLOEXEC);
        r = raw_nonblock(l->slave[i]);
        if (!r)
            r = raw_nonblock(l->master[i]);
    }
    if (!r)
        r = -pthread_mutex_init(&l->lock, NULL);
    if (r) {
        for (int i = 0; i < 2; i++) {
            if (l->master[i] >= 0)
                close(l->master[i]);
            if (l->slave[i] >= 0)
                close(l->slave[i]);
        }
        if (l->evfd >= 0)
            close(l->evfd);
        free(l);
        return r;
    }
    l->rate = cfg->baud / 10.0;
    l->tap = cfg->tap;
    l->tap_arg = cfg->tap_arg;
    uint64_t seed = cfg->seed ? cfg->seed : 12345;
    for (int i = 0; i < 2; i++) {
        l->dir[i].src = l->master[i];
        l->dir[i].dst = l->master[1 - i];
        line_fault_init(&l->dir[i].fault, seed * 2 + (uint64_t)i + 1, cfg->ber, cfg->drop_rate);
    }
    r = -pthread_create(&l->thread, NULL, relay, l);
    if (r) {
        rpmsg_line_destroy(l);
        return r;
    }
    l->started = true;
    *out = l;
    return 0;
}

void rpmsg_line_destroy(struct rpmsg_line *l)
{
    if (!l)
        return;
    if (l->started) {
        pthread_mutex_lock(&l->lock);
        l->stop = true;
        pthread_mutex_unlock(&l->lock);
        uint64_t one = 1;
        if (write(l->evfd, &one, sizeof(one)) < 0) {
            /* the relay polls with a timeout anyway */
        }
        pthread_join(l->thread, NULL);
    }
    for (int i = 0; i < 2; i++) {
        close(l->master[i]);
        close(l->slave[i]);
    }
    close(l->evfd);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

const char *rpmsg_line_tty_a(struct rpmsg_line *l)
{
    return l ? l->path[0] : NULL;
}

const char *rpmsg_line_tty_b(struct rpmsg_line *l)
{
    return l ? l->path[1] : NULL;
}

int rpmsg_line_cut(struct rpmsg_line *l, uint32_t ms)
{
    if (!l)
        return -EINVAL;
    pthread_mutex_lock(&l->lock);
    l->cut_until_us = now_us() + (uint64_t)ms * 1000u;
    pthread_mutex_unlock(&l->lock);
    return 0;
}

int rpmsg_line_set_faults(struct rpmsg_line *l, double ber, double drop_rate)
{
    if (!l || ber < 0 || ber > 1 || drop_rate < 0 || drop_rate > 1)
        return -EINVAL;
    pthread_mutex_lock(&l->lock);
    for (int i = 0; i < 2; i++)
        line_fault_set(&l->dir[i].fault, ber, drop_rate);
    pthread_mutex_unlock(&l->lock);
    return 0;
}

int rpmsg_line_inject(struct rpmsg_line *l, bool to_b, const void *buf, size_t len)
{
    if (!l || (!buf && len))
        return -EINVAL;
    struct line_dir *d = &l->dir[to_b ? 0 : 1];
    pthread_mutex_lock(&l->lock);
    int r = 0;
    if (len > INJ_SIZE - d->inj_len) {
        r = -ENOSPC;
    } else {
        memcpy(d->inj + d->inj_len, buf, len);
        d->inj_len += len;
    }
    pthread_mutex_unlock(&l->lock);
    uint64_t one = 1;
    if (!r && write(l->evfd, &one, sizeof(one)) < 0) {
        /* a wake is pending already */
    }
    return r;
}

void rpmsg_line_get_stats(struct rpmsg_line *l, struct rpmsg_line_stats *out)
{
    if (!l || !out)
        return;
    pthread_mutex_lock(&l->lock);
    for (int i = 0; i < 2; i++) {
        out->bytes[i] = l->dir[i].bytes;
        out->flipped[i] = l->dir[i].fault.flipped;
        out->dropped[i] = l->dir[i].fault.dropped + l->dir[i].cut_dropped;
    }
    pthread_mutex_unlock(&l->lock);
}
