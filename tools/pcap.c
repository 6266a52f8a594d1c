#include "pcap.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SNAPLEN 65535u

struct pcap {
    FILE *f;
    pthread_mutex_t lock; /* senders and the RX thread record at once */
    unsigned long records;
    unsigned long max; /* 0: no limit */
};

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

int pcap_open(struct pcap **out, const char *path)
{
    struct pcap *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->f = fopen(path, "wbe");
    if (!p->f) {
        int e = errno;
        free(p);
        return -e;
    }
    pthread_mutex_init(&p->lock, NULL);
    /* Little-endian classic pcap, microsecond stamps. */
    uint8_t h[24];
    put32(h, 0xa1b2c3d4);
    put16(h + 4, 2);
    put16(h + 6, 4);
    put32(h + 8, 0);
    put32(h + 12, 0);
    put32(h + 16, SNAPLEN);
    put32(h + 20, PCAP_LINKTYPE_RPMSG);
    if (fwrite(h, sizeof(h), 1, p->f) != 1 || fflush(p->f)) {
        fclose(p->f);
        free(p);
        return -EIO;
    }
    *out = p;
    return 0;
}

int pcap_write(struct pcap *p, int dir, unsigned flags, const void *msg, size_t len)
{
    /* A received buffer is the transport's whole buffer: keep the header and
     * the payload it declares. */
    if (msg && len >= RPMSG_HDR_SIZE) {
        const uint8_t *m = msg;
        size_t used = RPMSG_HDR_SIZE + (size_t)(m[12] | m[13] << 8);
        if (used < len)
            len = used;
    }
    return pcap_write_kind(p, PCAP_KIND_MSG, dir, flags, msg, len);
}

int pcap_write_kind(struct pcap *p, unsigned kind, int dir, unsigned flags, const void *msg,
                    size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t cap = len > SNAPLEN - PCAP_PSEUDO_SIZE ? SNAPLEN - PCAP_PSEUDO_SIZE : len;
    uint8_t h[16 + PCAP_PSEUDO_SIZE];
    put32(h, (uint32_t)ts.tv_sec);
    put32(h + 4, (uint32_t)(ts.tv_nsec / 1000));
    put32(h + 8, (uint32_t)(cap + PCAP_PSEUDO_SIZE));
    put32(h + 12, (uint32_t)(len + PCAP_PSEUDO_SIZE));
    h[16] = 'R';
    h[17] = (uint8_t)kind;
    h[18] = (uint8_t)dir;
    h[19] = (uint8_t)flags;
    put32(h + 20, (uint32_t)len);
    int r = 0;
    pthread_mutex_lock(&p->lock);
    if (p->max && p->records >= p->max) {
        pthread_mutex_unlock(&p->lock);
        return -ENOSPC;
    }
    /* Flushed per record: a capture stays readable if the process is killed. */
    if (fwrite(h, sizeof(h), 1, p->f) == 1 && (!cap || fwrite(msg, 1, cap, p->f) == cap))
        p->records++;
    else
        r = -EIO;
    if (fflush(p->f))
        r = -EIO;
    pthread_mutex_unlock(&p->lock);
    return r;
}

static void record(struct rpmsg_device *rdev, void *arg, int dir, const void *msg, size_t len)
{
    (void)rdev;
    pcap_write(arg, dir == RPMSG_TRACE_RX ? PCAP_DIR_RX : PCAP_DIR_TX, 0, msg, len);
}

int pcap_trace_new_devices(struct pcap *p)
{
    return rpmsg_set_trace(NULL, record, p);
}

void pcap_close(struct pcap *p)
{
    if (!p)
        return;
    fclose(p->f);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void pcap_set_limit(struct pcap *p, unsigned long max)
{
    pthread_mutex_lock(&p->lock);
    p->max = max;
    pthread_mutex_unlock(&p->lock);
}

unsigned long pcap_records(struct pcap *p)
{
    pthread_mutex_lock(&p->lock);
    unsigned long n = p->records;
    pthread_mutex_unlock(&p->lock);
    return n;
}
