/*
 * The floor of the wire format itself: an rpmsg echo over two split
 * virtqueues laid out as Linux and OpenAMP lay them out (wire-formats.md
 * §1-3), between two busy-polling processes, with nothing else: no rpmsg
 * stack, no checks, no locks, no callbacks. A transport that must stay
 * byte-compatible with those peers moves at least these cache lines per
 * message, so its poll-mode round trip can approach this figure but not the
 * bare cache-line ping-pong's.
 *
 * Per round trip, as between a Linux host and a remote:
 *   host:   writes the message into a TX buffer, fills its descriptor and
 *           the avail entry of the TX ring, publishes avail.idx;
 *   remote: sees avail.idx, reads entry, descriptor, message; takes an RX
 *           buffer the host posted (avail entry, descriptor), writes the
 *           echo into it, publishes it in the RX ring's used.idx, then gives
 *           the TX buffer back through the TX ring's used ring;
 *   host:   sees used.idx of the RX ring, reads element, descriptor and
 *           message, posts the buffer again (avail entry, avail.idx).
 * Buffers go back in batches of BATCH (TX buffers to the host, RX buffers
 * reposted by the host), the cheapest way the format allows. Buffers go
 * round in ring order, so a position holds, lap after lap, the same buffer
 * in its avail entry and used element with the same descriptor: those are
 * not stored again (vl_set16, as the stack's vw_set16), and per message
 * only the message's own lines and the two rings' heads move.
 * And as early as the format allows: each side, spinning for its next
 * message, fetches the lines that message will be read from alongside the
 * index it polls (the entry at that position and the buffer it will most
 * likely name: the host's own posted one; for the remote, the one there a
 * lap ago, the host's TX buffers going round in order), so the misses of a
 * message overlap, as the stack's transport does (rx_foresee).
 */
#include "machine_limits.h"
#include "vring_layout.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#define MSG_LEN 32u /* 16-byte rpmsg header + 16-byte payload */
#define BATCH 32u

struct floor_shm {
    struct vq rx, tx; /* the host's view: rx carries remote -> host */
    _Alignas(64) _Atomic uint32_t stop;
    _Alignas(64) uint8_t bufs[2 * VQ_NUM][BUF_SIZE]; /* rx buffers, then tx buffers */
};

static uint8_t *buf_at(struct floor_shm *s, uint64_t addr)
{
    return (uint8_t *)s + addr;
}

static uint64_t addr_of(struct floor_shm *s, unsigned i)
{
    return (uint64_t)(s->bufs[i] - (uint8_t *)s);
}


struct host {
    struct floor_shm *s;
    uint16_t tx_next, tx_reclaimed, rx_seen, rx_posted;
    uint16_t free_ids[VQ_NUM]; /* a queue: taken at free_first, in the order they came back */
    unsigned nfree, free_first;
};

/* The child: it inherits the host's view, and uses only the mapping. */
static int remote_main(void *p)
{
    struct floor_shm *s = ((struct host *)p)->s;
    uint16_t tx_seen = 0, rx_taken = 0;
    for (;;) {
        while (atomic_load_explicit(&s->tx.avail.idx, memory_order_acquire) == tx_seen) {
            if (atomic_load_explicit(&s->stop, memory_order_relaxed))
                return 0;
            const uint16_t *e = &s->tx.avail.ring[tx_seen % VQ_NUM];
            const struct vdesc *g = &s->tx.desc[*e % VQ_NUM];
            __builtin_prefetch(e);
            __builtin_prefetch(buf_at(s, g->addr < sizeof(*s) ? g->addr : 0));
            bench_relax();
        }
        uint16_t head = s->tx.avail.ring[tx_seen % VQ_NUM];
        const struct vdesc *d = &s->tx.desc[head % VQ_NUM];
        uint32_t len = d->len < BUF_SIZE ? d->len : BUF_SIZE;
        const uint8_t *msg = buf_at(s, d->addr);

        /* The echo, into a buffer the host posted on the RX ring. */
        while (atomic_load_explicit(&s->rx.avail.idx, memory_order_acquire) == rx_taken)
            bench_relax();
        uint16_t rhead = s->rx.avail.ring[rx_taken % VQ_NUM];
        const struct vdesc *rd = &s->rx.desc[rhead % VQ_NUM];
        uint8_t *out = buf_at(s, rd->addr);
        uint32_t olen = len < rd->len ? len : rd->len;
        memcpy(out, msg + 4, 4); /* src <- dst */
        memcpy(out + 4, msg, 4); /* dst <- src */
        memcpy(out + 8, msg + 8, olen - 8);
        vl_set_elem(&s->rx.used.ring[rx_taken % VQ_NUM], rhead, olen);
        rx_taken++;
        atomic_store_explicit(&s->rx.used.idx, rx_taken, memory_order_release);

        /* The request's buffer goes back to the host, published in batches. */
        vl_set_elem(&s->tx.used.ring[tx_seen % VQ_NUM], head, len);
        tx_seen++;
        if (tx_seen % BATCH == 0)
            atomic_store_explicit(&s->tx.used.idx, tx_seen, memory_order_release);
    }
}

static void host_round(void *p, uint32_t seq)
{
    struct host *h = p;
    struct floor_shm *s = h->s;
    if (!h->nfree) {
        /* Batch reclaim: every buffer the remote has given back. */
        uint16_t used = atomic_load_explicit(&s->tx.used.idx, memory_order_acquire);
        while (h->tx_reclaimed != used)
            h->free_ids[(h->free_first + h->nfree++) % VQ_NUM] =
                (uint16_t)s->tx.used.ring[h->tx_reclaimed++ % VQ_NUM].id;
    }
    uint16_t id = h->free_ids[h->free_first++ % VQ_NUM];
    h->nfree--;
    uint8_t *b = s->bufs[VQ_NUM + id];
    uint32_t hdr[4] = { 0x400, 0x401, 0, 16 };
    memcpy(b, hdr, sizeof(hdr));
    memcpy(b + 16, &seq, sizeof(seq));
    vl_set_desc(&s->tx.desc[id], addr_of(s, VQ_NUM + id), MSG_LEN, 0);
    vl_set16(&s->tx.avail.ring[h->tx_next % VQ_NUM], id);
    h->tx_next++;
    atomic_store_explicit(&s->tx.avail.idx, h->tx_next, memory_order_release);

    while (atomic_load_explicit(&s->rx.used.idx, memory_order_acquire) == h->rx_seen) {
        __builtin_prefetch(&s->rx.used.ring[h->rx_seen % VQ_NUM]);
        __builtin_prefetch(s->bufs[s->rx.avail.ring[h->rx_seen % VQ_NUM] % VQ_NUM]);
        bench_relax();
    }
    struct velem e = s->rx.used.ring[h->rx_seen % VQ_NUM];
    h->rx_seen++;
    const uint8_t *in = buf_at(s, s->rx.desc[e.id % VQ_NUM].addr);
    uint32_t got;
    memcpy(&got, in + 16, sizeof(got));
    if (got != seq || e.len != MSG_LEN)
        atomic_store_explicit(&s->stop, 2, memory_order_relaxed); /* reported by the caller */
    /* The buffer is posted again, published in batches. */
    vl_set16(&s->rx.avail.ring[h->rx_posted % VQ_NUM], (uint16_t)e.id);
    h->rx_posted++;
    if (h->rx_posted % BATCH == 0)
        atomic_store_explicit(&s->rx.avail.idx, h->rx_posted, memory_order_release);
}

static void host_stop(void *p)
{
    struct host *h = p;
    atomic_store(&h->s->stop, 1);
}

/* The remote's echo did not match (host_round flagged it). */
static bool host_failed(void *p)
{
    struct host *h = p;
    return atomic_load(&h->s->stop) == 2;
}

int bench_limits_vring_pingpong(const struct bench_limits_opts *o, struct bench_result *rtt)
{
    struct floor_shm *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        return -ENOMEM;
    if (o->cpus.a < 0) {
        /* One CPU for both: a busy-polled floor means nothing there. */
        munmap(s, sizeof(*s));
        return -EOPNOTSUPP;
    }
    static struct host h;
    memset(&h, 0, sizeof(h));
    h.s = s;
    for (unsigned i = 0; i < VQ_NUM; i++) {
        s->rx.desc[i] = (struct vdesc){ addr_of(s, i), BUF_SIZE, 2 /* WRITE */, 0 };
        s->rx.avail.ring[i] = (uint16_t)i;
        h.free_ids[i] = (uint16_t)i;
    }
    h.nfree = VQ_NUM;
    h.rx_posted = VQ_NUM;
    atomic_store(&s->rx.avail.idx, (uint16_t)VQ_NUM);

    const unsigned batch = 64;
    struct bench_dist d;
    int r = bench_pingpong_run(o, remote_main, &h, host_round, host_stop, host_failed, batch, &d);
    munmap(s, sizeof(*s));
    bench_result_set(rtt, "vring_pingpong_rtt", "bare split-virtqueue rpmsg echo RTT (no stack)",
                     "ns", d.p50);
    bench_result_dist(rtt, &d);
    snprintf(rtt->note, sizeof(rtt->note), "(samples: means of %u round trips)", batch);
    return r;
}
