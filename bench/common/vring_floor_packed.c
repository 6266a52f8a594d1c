/*
 * The floor of the packed virtqueue layout (VirtIO 1.1 §2.7,
 * VIRTIO_F_RING_PACKED, with VIRTIO_F_IN_ORDER): the same bare rpmsg echo
 * as vring_floor.c, between the same two busy-polling processes, over two
 * packed rings instead of two split ones. Nothing else: no rpmsg stack, no
 * checks, no locks, no callbacks.
 *
 * A packed ring is one array of 16-byte descriptors. The driver makes a
 * buffer available by writing a descriptor at its next slot (flags last:
 * AVAIL = its wrap counter, USED = the opposite); the device gives it back
 * by writing the used descriptor over a slot (AVAIL = USED = its wrap
 * counter). So a message moves its descriptor and its buffer, where a split
 * ring moves an index, a ring entry and a descriptor.
 *
 * Per round trip: the host writes a request and its descriptor in the TX
 * ring; the remote sees the descriptor, reads the request, takes the next
 * buffer the host posted in the RX ring, writes the echo into it and its
 * used descriptor over the same slot; the host sees that descriptor, reads
 * the echo and posts the buffer again. TX buffers come back in batches of
 * BATCH with one used descriptor (IN_ORDER: it names the batch's last
 * buffer); RX buffers are posted again in batches, written at the batch's
 * end (a slot written at once shares its line with the next used
 * descriptor the remote writes), the batch's first flags last.
 *
 * A store to a line the peer spins on lets the peer take the line back
 * before the next store: so a buffer comes back to the same slot a lap
 * later and a descriptor's address, length and id are stored only if they
 * changed, and the remote writes a used descriptor's length, id and flags
 * in one store (with the batched posting, 10% off this floor). Each side,
 * spinning for its next message, fetches the lines that message will need
 * alongside the descriptor it polls: the buffer (the host its own posted
 * one, the remote the one at that slot a lap ago), as the stack's
 * transport does (rx_foresee), and the remote its next RX descriptor.
 */
#include "machine_limits.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#define VQ_NUM 256u
#define BUF_SIZE 512u
#define MSG_LEN 32u /* 16-byte rpmsg header + 16-byte payload */
#define BATCH 32u

#define F_WRITE 0x2u
#define F_AVAIL 0x80u
#define F_USED 0x8000u

struct pdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t id;
    _Atomic uint16_t flags;
};

struct pring {
    _Alignas(4096) struct pdesc d[VQ_NUM];
};

struct pshm {
    struct pring rx, tx; /* the host's view: rx carries remote -> host */
    _Alignas(64) _Atomic uint32_t stop;
    _Alignas(64) uint8_t bufs[2 * VQ_NUM][BUF_SIZE]; /* rx buffers, then tx buffers */
};

/* A position in a ring and its wrap counter. */
struct pos {
    uint16_t i;
    bool wrap;
};

static void advance(struct pos *p, unsigned n)
{
    p->i = (uint16_t)(p->i + n);
    if (p->i >= VQ_NUM) {
        p->i = (uint16_t)(p->i - VQ_NUM);
        p->wrap = !p->wrap;
    }
}

static uint16_t avail_flags(bool wrap)
{
    return wrap ? F_AVAIL : F_USED;
}

static uint16_t used_flags(bool wrap)
{
    return wrap ? F_AVAIL | F_USED : 0;
}

static bool is(const struct pdesc *d, uint16_t want)
{
    return (atomic_load_explicit(&((struct pdesc *)d)->flags, memory_order_acquire) &
            (F_AVAIL | F_USED)) == want;
}

/* A field that already holds its value is not stored (see the top). */
static void set_fields(struct pdesc *d, uint64_t addr, uint32_t len, uint16_t id)
{
    if (d->addr != addr)
        d->addr = addr;
    if (d->len != len)
        d->len = len;
    if (d->id != id)
        d->id = id;
}

static uint64_t addr_of(struct pshm *s, unsigned i)
{
    return (uint64_t)(s->bufs[i] - (uint8_t *)s);
}

struct host {
    struct pshm *s;
    struct pos tx_avail, tx_used, rx_used, rx_avail;
    unsigned tx_inflight, rx_pending;
    uint16_t rx_ids[BATCH]; /* of the batch being posted */
};

static int remote_main(void *p)
{
    struct pshm *s = ((struct host *)p)->s;
    struct pos tx = { 0, true }, tx_ret = { 0, true }, rx = { 0, true };
    unsigned unreturned = 0;
    for (;;) {
        struct pdesc *d = &s->tx.d[tx.i];
        while (!is(d, avail_flags(tx.wrap))) {
            if (atomic_load_explicit(&s->stop, memory_order_relaxed))
                return 0;
            __builtin_prefetch((const uint8_t *)s + (d->addr < sizeof(*s) ? d->addr : 0));
            __builtin_prefetch(&s->rx.d[rx.i]);
            bench_relax();
        }
        uint16_t id = d->id;
        uint32_t len = d->len < BUF_SIZE ? d->len : BUF_SIZE;
        const uint8_t *msg = (const uint8_t *)s + d->addr;

        struct pdesc *rd = &s->rx.d[rx.i];
        while (!is(rd, avail_flags(rx.wrap)))
            bench_relax();
        uint8_t *out = (uint8_t *)s + rd->addr;
        uint32_t olen = len < rd->len ? len : rd->len;
        memcpy(out, msg + 4, 4); /* src <- dst */
        memcpy(out + 4, msg, 4); /* dst <- src */
        memcpy(out + 8, msg + 8, olen - 8);
        /* len, id and flags in one store: two would let the host, spinning
         * on this line, take it between them. */
        uint64_t w = (uint64_t)olen | (uint64_t)rd->id << 32 | (uint64_t)used_flags(rx.wrap) << 48;
        atomic_store_explicit((_Atomic uint64_t *)&rd->len, w, memory_order_release);
        advance(&rx, 1);

        advance(&tx, 1);
        if (++unreturned == BATCH) {
            /* One used descriptor for the batch, over its first slot. */
            struct pdesc *u = &s->tx.d[tx_ret.i];
            if (u->id != id)
                u->id = id;
            atomic_store_explicit(&u->flags, used_flags(tx_ret.wrap), memory_order_release);
            advance(&tx_ret, BATCH);
            unreturned = 0;
        }
    }
}

static void host_round(void *p, uint32_t seq)
{
    struct host *h = p;
    struct pshm *s = h->s;
    if (h->tx_inflight == VQ_NUM) {
        /* Wait for a batch back: in order, its used descriptor names its last buffer. */
        struct pdesc *u = &s->tx.d[h->tx_used.i];
        while (!is(u, used_flags(h->tx_used.wrap)))
            bench_relax();
        unsigned n = (unsigned)((u->id + VQ_NUM - h->tx_used.i) % VQ_NUM) + 1;
        advance(&h->tx_used, n);
        h->tx_inflight -= n;
    }
    uint16_t id = h->tx_avail.i; /* in order: a buffer per slot */
    uint8_t *b = s->bufs[VQ_NUM + id];
    uint32_t hdr[4] = { 0x400, 0x401, 0, 16 };
    memcpy(b, hdr, sizeof(hdr));
    memcpy(b + 16, &seq, sizeof(seq));
    struct pdesc *d = &s->tx.d[id];
    set_fields(d, addr_of(s, VQ_NUM + id), MSG_LEN, id);
    atomic_store_explicit(&d->flags, avail_flags(h->tx_avail.wrap), memory_order_release);
    advance(&h->tx_avail, 1);
    h->tx_inflight++;

    struct pdesc *e = &s->rx.d[h->rx_used.i];
    while (!is(e, used_flags(h->rx_used.wrap))) {
        __builtin_prefetch(s->bufs[e->id % VQ_NUM]);
        bench_relax();
    }
    uint16_t rid = e->id;
    uint32_t elen = e->len;
    advance(&h->rx_used, 1);
    uint32_t got;
    memcpy(&got, s->bufs[rid % VQ_NUM] + 16, sizeof(got));
    if (got != seq || elen != MSG_LEN)
        atomic_store_explicit(&s->stop, 2, memory_order_relaxed); /* reported by the caller */

    /* Posted again, a batch at a time, once the remote is done with the
     * batch's lines (a slot written now shares its line with the next used
     * descriptor the remote writes): the first slot's flags last. */
    h->rx_ids[h->rx_pending] = rid;
    if (++h->rx_pending == BATCH) {
        struct pos p = h->rx_avail;
        advance(&h->rx_avail, BATCH);
        for (unsigned k = BATCH; k-- > 0;) {
            struct pos q = p;
            advance(&q, k);
            struct pdesc *a = &s->rx.d[q.i];
            set_fields(a, addr_of(s, h->rx_ids[k] % VQ_NUM), BUF_SIZE, h->rx_ids[k]);
            atomic_store_explicit(&a->flags, (uint16_t)(avail_flags(q.wrap) | F_WRITE),
                                  k ? memory_order_relaxed : memory_order_release);
        }
        h->rx_pending = 0;
    }
}

static void host_stop(void *p)
{
    atomic_store(&((struct host *)p)->s->stop, 1);
}

static bool host_failed(void *p)
{
    return atomic_load(&((struct host *)p)->s->stop) == 2;
}

int bench_limits_packed_pingpong(const struct bench_limits_opts *o, struct bench_result *rtt)
{
    if (o->cpus.a < 0)
        return -EOPNOTSUPP; /* one CPU for both: a busy-polled floor means nothing */
    struct pshm *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
    if (s == MAP_FAILED)
        return -ENOMEM;
    static struct host h;
    memset(&h, 0, sizeof(h));
    h.s = s;
    h.tx_avail = h.tx_used = h.rx_used = (struct pos){ 0, true };
    /* Every RX buffer posted: the driver's position wraps once. */
    for (unsigned i = 0; i < VQ_NUM; i++) {
        s->rx.d[i] = (struct pdesc){ .addr = addr_of(s, i), .len = BUF_SIZE, .id = (uint16_t)i };
        atomic_store(&s->rx.d[i].flags, (uint16_t)(avail_flags(true) | F_WRITE));
    }
    h.rx_avail = (struct pos){ 0, false };

    const unsigned batch = 64;
    struct bench_dist d;
    int r = bench_pingpong_run(o, remote_main, &h, host_round, host_stop, host_failed, batch, &d);
    munmap(s, sizeof(*s));
    bench_result_set(rtt, "packed_pingpong_rtt",
                     "bare packed-virtqueue rpmsg echo RTT (no stack)", "ns", d.p50);
    bench_result_dist(rtt, &d);
    snprintf(rtt->note, sizeof(rtt->note), "(samples: means of %u round trips)", batch);
    return r;
}
