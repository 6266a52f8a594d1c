/*
 * The floor of the wire format for a one-way stream: 496-byte rpmsg
 * messages from a host to a remote over one bare split virtqueue in the
 * Linux/OpenAMP layout, both sides busy-polling, no rpmsg stack. The
 * pipelined figures of bench_virtio divide by the SPSC ring, which moves a
 * message with its slot and one index; a split virtqueue cannot: per
 * message the host writes the buffer, its descriptor, an avail entry and
 * avail.idx, and the remote reads them in that order (each a cache line
 * that moves between the CPUs) and gives the buffer back through the used
 * ring. This measures what that costs with nothing else, so a stack's
 * stream can be put against the format's own ceiling as well as the ring's.
 *
 * What each side does is the least the format and the stack's benchmark
 * ask for: the host copies the whole message in (header and payload, as a
 * copy send does) and publishes each message at once (a sender does not
 * know whether another follows); the remote reads the header and the
 * sequence number in the payload's first bytes (as the stack's receiver
 * reads the header to dispatch and the benchmark's callback counts) and
 * gives buffers back in batches of 32, and the host takes them back only
 * when it has none left and uses them in ring order, storing only the ring
 * fields that change: the cheapest ways the format allows.
 */
#include "machine_limits.h"
#include "vring_layout.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HDR 16u
#define MSG (HDR + 496u)
#define BATCH 32u

struct stream_shm {
    struct vq q;
    _Alignas(64) _Atomic uint32_t stop;
    _Alignas(64) uint8_t bufs[VQ_NUM][BUF_SIZE];
};

/* The child: the host, sending until told to stop. */
static int producer(void *p)
{
    struct stream_shm *s = p;
    /* A queue: buffers go round in ring order, so each position gets the
     * buffer it had a lap ago and its entries need no store (vl_set16). */
    uint16_t free_ids[VQ_NUM], nfree = 0, first = 0, next = 0, reclaimed = 0;
    for (unsigned i = 0; i < VQ_NUM; i++)
        free_ids[nfree++] = (uint16_t)i;
    uint8_t msg[MSG];
    memset(msg, 0xa5, sizeof(msg));
    const uint32_t hdr[4] = { 0x400, 0x401, 0, 496 };
    memcpy(msg, hdr, sizeof(hdr));
    for (uint32_t seq = 0;; seq++) {
        while (!nfree) {
            uint16_t used = atomic_load_explicit(&s->q.used.idx, memory_order_acquire);
            while (reclaimed != used)
                free_ids[(first + nfree++) % VQ_NUM] =
                    (uint16_t)(s->q.used.ring[reclaimed++ % VQ_NUM].id % VQ_NUM);
            if (nfree)
                break;
            if (atomic_load_explicit(&s->stop, memory_order_relaxed))
                return 0;
            bench_relax();
        }
        uint16_t id = free_ids[first++ % VQ_NUM];
        nfree--;
        memcpy(msg + HDR, &seq, sizeof(seq));
        memcpy(s->bufs[id], msg, MSG);
        vl_set_desc(&s->q.desc[id], (uint64_t)(s->bufs[id] - (uint8_t *)s), MSG, 0);
        vl_set16(&s->q.avail.ring[next % VQ_NUM], id);
        next++;
        atomic_store_explicit(&s->q.avail.idx, next, memory_order_release);
    }
}

int bench_limits_vring_stream(const struct bench_limits_opts *o, struct bench_result *msgs)
{
    if (o->cpus.a < 0)
        return -EOPNOTSUPP; /* one CPU for both: a busy-polled floor means nothing */
    struct stream_shm *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        return -ENOMEM;
    pid_t pid = bench_fork(o->cpus.b, producer, s);
    if (pid < 0) {
        munmap(s, sizeof(*s));
        return (int)pid;
    }
    cpu_set_t saved;
    bool restore = sched_getaffinity(0, sizeof(saved), &saved) == 0;
    bench_pin(o->cpus.a);
    uint16_t seen = 0;
    uint64_t count = 0, errors = 0, t0 = 0, end = 0;
    const uint64_t warm = 20000;
    double secs = o->seconds > 0 ? o->seconds : 2.0;
    for (;;) {
        while (atomic_load_explicit(&s->q.avail.idx, memory_order_acquire) == seen)
            bench_relax();
        uint16_t id = s->q.avail.ring[seen % VQ_NUM];
        const struct vdesc *d = &s->q.desc[id % VQ_NUM];
        uint64_t off = d->addr;
        uint32_t hdr[4] = { 0 }, seq = 0;
        if (off >= (uint64_t)(s->bufs[0] - (uint8_t *)s) && d->len == MSG &&
            off + MSG <= sizeof(*s)) {
            const uint8_t *b = (const uint8_t *)s + off;
            memcpy(hdr, b, sizeof(hdr));
            memcpy(&seq, b + HDR, sizeof(seq));
        }
        if (hdr[3] != 496 || seq != (uint32_t)count)
            errors++;
        vl_set_elem(&s->q.used.ring[seen % VQ_NUM], id, MSG);
        seen++;
        if (seen % BATCH == 0)
            atomic_store_explicit(&s->q.used.idx, seen, memory_order_release);
        count++;
        if (count == warm) {
            t0 = bench_now_ns();
            end = t0 + (uint64_t)(secs * 1e9);
        }
        if (count > warm && (count & 4095) == 0 && bench_now_ns() >= end)
            break;
    }
    uint64_t t1 = bench_now_ns();
    atomic_store(&s->stop, 1);
    /* The producer may be waiting for buffers: give back what is held. */
    atomic_store_explicit(&s->q.used.idx, seen, memory_order_release);
    int code = bench_join(pid);
    if (restore)
        sched_setaffinity(0, sizeof(saved), &saved);
    munmap(s, sizeof(*s));
    double el = (double)(t1 - t0) / 1e9;
    double rate = el > 0 ? (double)(count - warm) / el : 0;
    bench_result_set(msgs, "vring_stream_msgs",
                     "bare split-virtqueue stream, 496 B messages (no stack)", "msgs/s", rate);
    bench_result_extra(msgs, "errors", (double)errors);
    snprintf(msgs->note, sizeof(msgs->note), "(the format's stream floor)");
    return code == 0 && errors == 0 ? 0 : -EIO;
}
