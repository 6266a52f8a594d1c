#include "trace_shm.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "opt.h"
#include "platform/linux/linux_priv.h"
#include "stop.h"
#include "transport/virtio/rsc_table.h"
#include "transport/virtio/vring.h"

#define STATUS_DRIVER_OK 0x0fu
#define SPIN_ROUNDS 2000 /* polls without news before sleeping */

struct ring {
    uint32_t da, num;
    size_t used_off;
    uint16_t last; /* next entry to record */
};

struct watch {
    const uint8_t *shm;
    size_t size;                        /* the region, without our control page */
    size_t map_size;
    const struct rpmsg_linux_ctl *ctl;  /* NULL: a plain (OpenAMP) region */
    struct ring ring[2];
    bool up;     /* DRIVER_OK when we last looked */
    bool looked; /* at the status once: what ran before us is history */
    bool known;  /* ring geometry read for the session w->gen */
    uint8_t gen;
    struct pcap *pcap;
    struct trace_shm_stats *st;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pause_us(long us)
{
    struct timespec ts = { 0, us * 1000 };
    nanosleep(&ts, NULL);
}

static uint16_t ld16(const uint8_t *p)
{
    return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* The object's size and where its region ends: our control page, if any,
 * sits on the last page and says how big the region is. */
static int map_object(struct watch *w, int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return -errno;
    size_t size = (size_t)sb.st_size, page = (size_t)sysconf(_SC_PAGESIZE);
    if (size < page)
        return -EPROTO;
    void *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    w->shm = m;
    w->size = w->map_size = size;
    const struct rpmsg_linux_ctl *ctl = (const void *)(w->shm + size - page);
    if (size >= 2 * page && ctl->magic == RPMSG_LINUX_MAGIC && ctl->region_size <= size - page) {
        w->ctl = ctl;
        w->size = (size_t)ctl->region_size;
    }
    return 0;
}

/* Vring geometry from the table, checked against the region. */
static bool read_rings(struct watch *w, const struct rpmsg_rsc_info *info)
{
    for (int i = 0; i < 2; i++) {
        const struct rpmsg_rsc_vring *v = &info->vring[i];
        size_t span = rpmsg_vring_span(v->da, v->num, v->align);
        if (!span || v->num > RPMSG_VIRTIO_NUM_MAX || v->da > w->size || span > w->size - v->da)
            return false;
        w->ring[i] = (struct ring){ .da = v->da, .num = v->num,
                                    .used_off = v->da + rpmsg_vring_used_at(v->da, v->num, v->align) };
    }
    return true;
}

/* Records the message in the buffer a descriptor points to; lost: a later
 * entry already reuses that buffer, whose contents are no longer this
 * message's (recorded as a message of unknown contents). */
static void record(struct watch *w, const struct ring *r, uint32_t id, int dir, bool lost)
{
    if (id >= r->num) {
        w->st->bad++;
        return;
    }
    const uint8_t *d = w->shm + r->da + (size_t)VRING_DESC_SIZE * id;
    uint64_t addr = rd64(d);
    uint32_t len = rd32(d + 8);
    if (addr >= w->size || len < RPMSG_HDR_SIZE || len > w->size - addr) {
        w->st->bad++;
        return;
    }
    if (lost) {
        w->st->lost++;
        if (pcap_write(w->pcap, dir, PCAP_F_OBSERVED | PCAP_F_LOST, NULL, 0) == 0)
            w->st->records++;
        return;
    }
    /* A copy first: the ends may reuse the buffer while we write it out. */
    static uint8_t msg[RPMSG_HDR_SIZE + 65536];
    size_t n = len < sizeof(msg) ? len : sizeof(msg);
    memcpy(msg, w->shm + addr, n);
    if (pcap_write(w->pcap, dir, PCAP_F_OBSERVED, msg, n) == 0)
        w->st->records++;
}

/* Descriptor id of entry pos of a ring: avail (u16 ring from +4) or used
 * ({u32 id, u32 len} from +4). */
static uint32_t entry_id(const uint8_t *base, bool used, uint32_t num, uint16_t pos)
{
    uint32_t slot = pos & (num - 1);
    return used ? rd32(base + 4 + (size_t)VRING_USED_ELEM_SIZE * slot)
                : (uint32_t)(base[4 + 2 * slot] | base[5 + 2 * slot] << 8);
}

/*
 * New entries of one ring: avail of vring1 (the host's sends), used of
 * vring0 (the remote's). Counts what the ring overwrote before we came.
 * Records recorded.
 */
static unsigned long drain(struct watch *w, int which, unsigned long budget)
{
    struct ring *r = &w->ring[which];
    bool used = which == 0;
    const uint8_t *base = w->shm + (used ? r->used_off : r->da + rpmsg_vring_avail_off(r->num));
    uint16_t idx = ld16(base + 2);
    uint16_t ahead = (uint16_t)(idx - r->last);
    if (ahead > r->num && !w->up)
        return 0; /* being cleared for the next session: nothing left to read */
    if (ahead > r->num) {
        w->st->missed += (uint16_t)(ahead - r->num);
        r->last = (uint16_t)(idx - r->num);
        ahead = (uint16_t)r->num;
    }
    if (ahead > budget)
        ahead = (uint16_t)budget;
    /* Backwards: an entry is lost if a later one visible now names its buffer. */
    static uint8_t seen[RPMSG_VIRTIO_NUM_MAX], lost[RPMSG_VIRTIO_NUM_MAX];
    uint16_t end = (uint16_t)(r->last + ahead);
    memset(seen, 0, r->num);
    for (uint16_t i = (uint16_t)(idx - 1), k = 0; k < (uint16_t)(idx - r->last); i--, k++) {
        uint32_t id = entry_id(base, used, r->num, i) & (r->num - 1);
        lost[i & (r->num - 1)] = seen[id];
        seen[id] = 1;
    }
    unsigned long n = 0;
    for (; r->last != end; r->last++, n++)
        record(w, r, entry_id(base, used, r->num, r->last), used ? PCAP_DIR_RX : PCAP_DIR_TX,
               lost[r->last & (r->num - 1)]);
    return n;
}

/* The producer's index of the ring we read: vring0's used, vring1's avail. */
static uint16_t ring_idx(const struct watch *w, int which)
{
    const struct ring *r = &w->ring[which];
    return ld16(w->shm + (which ? r->da + rpmsg_vring_avail_off(r->num) : r->used_off) + 2);
}

/*
 * Follows the handshake. A session is read from the moment the host says
 * DRIVER_OK with a generation we have not read (for a plain OpenAMP region,
 * which has none: each time DRIVER_OK comes back), from its first entry; a
 * session already running when we came, from where it is. Its rings are
 * read until the next session starts: a closing host resets only the
 * status, so its last messages are still there to read.
 */
static void follow(struct watch *w)
{
    struct rpmsg_rsc_info info;
    if (rpmsg_rsc_parse(w->shm, w->size, 0, &info) != 0) {
        w->up = false;
        w->looked = true;
        return;
    }
    bool up = (info.status & STATUS_DRIVER_OK) == STATUS_DRIVER_OK;
    /* A host unpublishing clears the gen before the status: a look between
     * the two sees a session without a gen. It is going down, not new. */
    if (up && !info.gen && w->known && w->gen)
        up = false;
    bool fresh = up && (!w->up || info.gen != w->gen) && !(w->known && info.gen && info.gen == w->gen);
    if (fresh && read_rings(w, &info)) {
        if (!w->looked)
            for (int i = 0; i < 2; i++)
                w->ring[i].last = ring_idx(w, i);
        if (w->known)
            w->st->resets++;
        w->known = true;
        w->gen = info.gen;
    }
    else if (!up && !w->known && w->looked && read_rings(w, &info) &&
             (ring_idx(w, 0) || ring_idx(w, 1))) {
        /* A whole session came and went while we were not scheduled: its
         * rings still hold it. */
        w->known = true;
        w->gen = info.gen;
    }
    w->up = up;
    w->looked = true;
}

/* Both ends were here and have closed (or died): nothing more can come. */
static bool ended(const struct watch *w)
{
    if (!w->ctl)
        return false;
    uint32_t a = __atomic_load_n((const uint32_t *)&w->ctl->state[0], __ATOMIC_ACQUIRE);
    uint32_t b = __atomic_load_n((const uint32_t *)&w->ctl->state[1], __ATOMIC_ACQUIRE);
    return a == RPMSG_LINUX_CLOSED && b == RPMSG_LINUX_CLOSED;
}

static int open_object(const char *name, uint32_t wait_ms, int *fd)
{
    char path[300];
    int r = rpmsg_linux_shm_path(path, sizeof(path), name);
    if (r)
        return r;
    uint64_t end = now_ms() + wait_ms;
    while ((*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        if (errno != ENOENT)
            return -errno;
        if (tool_stop)
            return -ECANCELED;
        if (now_ms() >= end)
            return -ENOENT;
        pause_us(10000);
    }
    return 0;
}

int trace_shm_watch(const char *name, struct pcap *p, const struct trace_shm_limits *lim,
                    struct trace_shm_stats *st)
{
    int fd, r = open_object(name, lim->wait_ms, &fd);
    if (r == -ENOENT) {
        tool_err("no /dev/shm/%s within %u ms: a passive trace looks at a link that one end\n"
                 "  has created and the other has not yet joined (start it between the two)",
                 name, lim->wait_ms);
        return r;
    }
    if (r == -ECANCELED)
        return 0;
    if (r) {
        tool_err("cannot open /dev/shm/%s: %s", name, strerror(-r));
        return r;
    }
    struct watch w = { .pcap = p, .st = st };
    r = map_object(&w, fd);
    close(fd); /* the mapping keeps the region; the name may go now */
    if (r) {
        tool_err("cannot map /dev/shm/%s: %s", name, strerror(-r));
        return r;
    }
    fprintf(stderr, "rpmsg trace: watching /dev/shm/%s (%zu bytes)\n", name, w.size);
    /* Wake-ups to the microsecond, not the default 50 us of slack: a
     * buffer may be reused within a round trip. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    uint64_t t0 = now_ms();
    unsigned idle = 0;
    while (!tool_stop) {
        if (lim->duration_ms && now_ms() - t0 >= lim->duration_ms)
            break;
        bool end = ended(&w); /* read before the rings: what came before is drained */
        follow(&w);
        unsigned long n = 0;
        if (w.known)
            for (int i = 1; i >= 0; i--) {
                unsigned long left = lim->count ? lim->count - st->records : 65536;
                n += drain(&w, i, left);
                if (lim->count && st->records >= lim->count)
                    goto out;
            }
        if (end)
            break;
        /* Spins while traffic flows (a buffer is reused one round trip after
         * it was sent), sleeps when idle: an observer must not hold a CPU
         * that the two ends it watches need. */
        idle = n ? 0 : idle + 1;
        if (idle > SPIN_ROUNDS)
            pause_us(100);
        else
            sched_yield();
    }
out:
    munmap((void *)w.shm, w.map_size);
    return 0;
}
