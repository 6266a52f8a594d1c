/*
 * Simulated SPI bus for the port transport's SPI link. The bus lives in an
 * anonymous shared mapping with process-shared locks, so its two ends may be
 * threads of one process or processes forked after rpmsg_spibus_create().
 *
 * A transfer is exactly full duplex: the master's bytes reach the slave and
 * the slave's armed bytes reach the master in the same exchange, which
 * takes len * 8 / clock_hz seconds (the master's call returns at its end;
 * back-to-back transfers are scheduled end to start). A master clocking a
 * slave that armed nothing reads 0xFF, as from an idle MISO line.
 *
 * The master may queue a second transfer behind the one being clocked, as
 * an SPI controller with a DMA queue does: it starts the moment the first
 * ends, so the bus does not idle while the master's thread handles what the
 * first brought in. Its bytes are exchanged when it is queued, which is
 * allowed only while the slave has a transfer armed for it (SREQ).
 *
 * Timing: on a small VM a sleeping thread wakes 50-150 us late, which is
 * most of a 40 MHz transfer, where hardware would signal the end within
 * microseconds (DMA interrupt). So the master sleeps to shortly before the
 * end of its clocking and spins the rest (the margin adapts to how late
 * its sleeps wake), and a master with data waiting for SREQ looks at the
 * bell briefly before sleeping. Nothing gets faster than the clock: a
 * transfer starts no earlier than the previous one ended and lasts
 * len * 8 / clock_hz; the master collects it at its end, never before.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "line_fault.h"
#include "platform/linux/linux_priv.h"
#include "rpmsg/rpmsg_port.h"

#define XFER_MAX 8448u
/* The slave's DMA slots (armed, clocking or done): three, so that one can be
 * armed while the master has two queued. */
#define SLOTS 3u
/* Transfers the master may have queued or clocking. */
#define MQUEUE 2u
/* Bounds of the spin that stands for an end-of-transfer interrupt. */
#define MARGIN_MIN_US 20u
#define MARGIN_MAX_US 200u
/* How long a waiter looks at the bell before sleeping when nothing says
 * when the peer will act (the master waiting for SREQ while it has data). */
#define SPIN_PEER_US 30u

/* An end is found from its place in the bus, not through a pointer: a bus
 * in a named object sits at a different address in each process. */
struct spibus_end {
    bool master;
};

#define BUS_READY 0x53504942u /* "SPIB": a shared bus is initialised */

struct rpmsg_spibus {
    _Atomic uint32_t ready; /* BUS_READY once usable (shared buses) */
    pthread_mutex_t lock;
    sem_t bell[2]; /* per end ([0] slave, [1] master): "look again" */
    _Atomic uint32_t ring_seq[2]; /* bumped with every ring: what spinners watch */
    _Atomic uint32_t late_us[2];  /* per end: how late its timed sleeps wake (running average) */
    double clock_hz;
    struct line_fault fault[2]; /* [0] MOSI, [1] MISO */
    uint64_t cut_until_us;
    uint64_t busy_until_us;
    bool mreq, sreq;
    /* The slave's side: up to SLOTS transfers armed, clocking, or done but
     * not yet collected, like a ring of DMA descriptors. */
    unsigned a_head, a_n;     /* armed, in the order they will be clocked */
    unsigned d_head, d_n;     /* exchanged, waiting for the slave to collect */
    unsigned s_inflight;      /* slave's transfers queued or clocking, not yet ended */
    size_t a_len[SLOTS];
    /* The master's side: transfers queued or clocking, oldest first. */
    unsigned m_head, m_n;
    uint64_t m_end_us[MQUEUE];
    bool m_armed[MQUEUE]; /* the slave had this one armed */
    uint8_t master_rx[MQUEUE][XFER_MAX];
    bool wake[2]; /* [0] slave end, [1] master end */
    uint8_t slave_tx[SLOTS][XFER_MAX], slave_rx[SLOTS][XFER_MAX];
    struct rpmsg_spibus_stats stats;
    struct spibus_end ends[2];
};

static struct rpmsg_spibus *bus_of(struct spibus_end *e)
{
    return (struct rpmsg_spibus *)((char *)(e - (e->master ? 1 : 0)) -
                                   offsetof(struct rpmsg_spibus, ends));
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* How far ahead of an event end me starts spinning instead of sleeping. */
static uint64_t margin_us(struct rpmsg_spibus *b, int me)
{
    uint64_t m = atomic_load_explicit(&b->late_us[me], memory_order_relaxed) * 3 / 2 + 10;
    return m < MARGIN_MIN_US ? MARGIN_MIN_US : m > MARGIN_MAX_US ? MARGIN_MAX_US : m;
}

/* Folds one observed wake-up lateness into end me's running average. */
static void note_late(struct rpmsg_spibus *b, int me, uint64_t late)
{
    if (late > 4 * MARGIN_MAX_US)
        late = 4 * MARGIN_MAX_US; /* preempted: not what a sleep costs */
    uint32_t old = atomic_load_explicit(&b->late_us[me], memory_order_relaxed);
    atomic_store_explicit(&b->late_us[me], (uint32_t)((old * 7u + late) / 8u), memory_order_relaxed);
}

static void sleep_until_us(uint64_t t)
{
    struct timespec ts = { .tv_sec = (time_t)(t / 1000000u), .tv_nsec = (long)(t % 1000000u) * 1000L };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* Spins on end me's bell until it rings or until 'until'; true when rung. */
static bool spin_bell(struct rpmsg_spibus *b, int me, uint32_t seen, uint64_t until)
{
    for (unsigned i = 1;; i++) {
        cpu_relax();
        if (atomic_load_explicit(&b->ring_seq[me], memory_order_acquire) != seen)
            return true;
        if ((i & 15) == 0 && now_us() >= until)
            return false;
    }
}

/* The lock is robust: an end killed while holding it (a crashed peer
 * process) must not hang the other end. The state it guards stays usable. */
static void bus_lock(struct rpmsg_spibus *b)
{
    if (pthread_mutex_lock(&b->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&b->lock);
}

static void bus_unlock(struct rpmsg_spibus *b)
{
    pthread_mutex_unlock(&b->lock);
}

/*
 * Sleeps on end me's bell with the lock dropped. Semaphores, not a condition
 * variable: a process killed while waiting on a shared condition variable
 * can leave it unusable for the survivor, a semaphore cannot. With spin_us,
 * first watches the bell that long without sleeping (a ring caught there
 * leaves the semaphore posted: the next wait returns at once, harmlessly).
 */
static int wait_until(struct rpmsg_spibus *b, int me, uint64_t deadline_ms, uint32_t spin_us)
{
    if (spin_us) {
        uint32_t seen = atomic_load_explicit(&b->ring_seq[me], memory_order_acquire);
        bus_unlock(b);
        bool rung = spin_bell(b, me, seen, now_us() + spin_us);
        bus_lock(b);
        if (rung)
            return 0;
    }
    if (deadline_ms == RPMSG_FOREVER) {
        /* Bounded anyway, so that a peer that died mid-transfer is noticed. */
        deadline_ms = rpmsg_time_ms() + 1000;
    }
    struct timespec ts = { .tv_sec = (time_t)(deadline_ms / 1000),
                           .tv_nsec = (long)(deadline_ms % 1000) * 1000000L };
    bus_unlock(b);
    int r = 0;
    while (sem_clockwait(&b->bell[me], CLOCK_MONOTONIC, &ts) != 0) {
        if (errno != EINTR) {
            r = errno == ETIMEDOUT ? -ETIMEDOUT : -errno;
            break;
        }
    }
    bus_lock(b);
    return r;
}

static void ring(struct rpmsg_spibus *b, int end)
{
    atomic_fetch_add_explicit(&b->ring_seq[end], 1, memory_order_release);
    int v = 0;
    if (sem_getvalue(&b->bell[end], &v) == 0 && v > 0)
        return; /* already rung: one look is enough */
    sem_post(&b->bell[end]);
}

/* One direction of the exchange: faults, and a lost byte shifts the rest. */
static void carry(struct rpmsg_spibus *b, int dir, const uint8_t *in, uint8_t *out, size_t len,
                  bool cut)
{
    size_t o = 0;
    if (!cut)
        for (size_t i = 0; i < len; i++) {
            uint8_t v = in[i];
            if (line_fault_byte(&b->fault[dir], &v))
                out[o++] = v;
        }
    memset(out + o, 0xFF, len - o);
    b->stats.flipped = b->fault[0].flipped + b->fault[1].flipped;
    b->stats.dropped = b->fault[0].dropped + b->fault[1].dropped;
}

static unsigned outstanding(const struct rpmsg_spibus *b)
{
    return b->a_n + b->d_n + b->s_inflight;
}

/* Master, lock held: the exchange of a new transfer, clocked after whatever
 * is queued. The slave's armed bytes and the master's cross now; each end
 * sees them when the transfer ends. */
static void master_queue(struct rpmsg_spibus *b, const void *tx, size_t len)
{
    uint64_t now = now_us();
    uint64_t start = b->busy_until_us > now ? b->busy_until_us : now;
    uint64_t end = start;
    if (b->clock_hz > 0)
        end += (uint64_t)((double)len * 8e6 / b->clock_hz);
    b->busy_until_us = end;
    bool cut = now < b->cut_until_us;
    unsigned mslot = (b->m_head + b->m_n) % MQUEUE;
    unsigned slot = b->a_head;
    bool armed = b->a_n && b->a_len[slot] == len;
    if (b->a_n && !armed) {
        b->a_head = (b->a_head + 1) % SLOTS; /* armed for another size: lost */
        b->a_n--;
    }
    if (armed) {
        b->a_head = (b->a_head + 1) % SLOTS;
        b->a_n--;
        /* Its rx lands in the slot the slave will collect from after the
         * ones still in flight. */
        unsigned dslot = (b->d_head + b->d_n + b->s_inflight) % SLOTS;
        b->s_inflight++;
        carry(b, 1, b->slave_tx[slot], b->master_rx[mslot], len, cut);
        carry(b, 0, tx, b->slave_rx[dslot], len, cut);
    } else {
        memset(b->master_rx[mslot], 0xFF, len);
        b->stats.unarmed++;
    }
    b->m_end_us[mslot] = end;
    b->m_armed[mslot] = armed;
    b->m_n++;
    b->sreq = b->a_n > 0;
    b->stats.transfers++;
    b->stats.bytes += len;
}

/* Master, lock held: waits for the oldest queued transfer to end, hands its
 * rx over (rx NULL: dropped) and tells the slave. */
static void master_collect(struct rpmsg_spibus *b, void *rx, size_t len)
{
    unsigned mslot = b->m_head;
    uint64_t end = b->m_end_us[mslot];
    bus_unlock(b);
    if (b->clock_hz > 0) {
        /* Sleep most of the transfer, spin to its end (never past it early). */
        uint64_t m = margin_us(b, 1);
        uint64_t t = now_us();
        if (end > t + m) {
            sleep_until_us(end - m);
            t = now_us();
            note_late(b, 1, t > end - m ? t - (end - m) : 0);
        }
        while (t < end) {
            cpu_relax();
            t = now_us();
        }
    }
    bus_lock(b);
    if (rx)
        memcpy(rx, b->master_rx[mslot], len);
    if (b->m_armed[mslot] && b->s_inflight) {
        b->s_inflight--;
        b->d_n++;
        ring(b, 0);
    }
    b->m_head = (b->m_head + 1) % MQUEUE;
    b->m_n--;
}

/*
 * Master: queues tx behind what is being clocked and returns 0 while room
 * is left for another; otherwise waits for the oldest transfer to end and
 * returns len with its rx. tx NULL only collects (0 when nothing is
 * queued); tx and rx NULL finish and drop whatever is queued.
 */
static int master_transfer(struct rpmsg_spibus *b, const void *tx, void *rx, size_t len)
{
    static __thread bool slack_set;
    if (!slack_set) {
        /* The exchange ends on a timer: sleep precisely, as a clock would. */
        prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
        slack_set = true;
    }
    bus_lock(b);
    int r = 0;
    if (!tx && !rx) {
        while (b->m_n)
            master_collect(b, NULL, 0);
    } else if (tx && b->m_n >= MQUEUE) {
        r = -EBUSY;
    } else {
        if (tx)
            master_queue(b, tx, len);
        if (b->m_n && (!tx || b->m_n == MQUEUE)) {
            master_collect(b, rx, len);
            r = (int)len;
        }
    }
    bus_unlock(b);
    return r;
}

/*
 * Slave: arms tx behind what is already armed (at most SLOTS outstanding),
 * then hands back the oldest finished exchange: len when rx was filled, 0
 * when tx was armed and room is left for another (or after wakeup), and
 * -ETIMEDOUT when nothing finished by the deadline (tx stays armed).
 * tx NULL only collects; tx and rx NULL withdraw everything armed.
 */
static int slave_transfer(struct rpmsg_spibus *b, const void *tx, void *rx, size_t len,
                          uint64_t deadline)
{
    bus_lock(b);
    if (!tx && !rx) {
        b->a_n = 0;
        b->d_n = 0;
        b->sreq = false;
        bus_unlock(b);
        return 0;
    }
    if (tx) {
        if (outstanding(b) >= SLOTS) {
            bus_unlock(b);
            return -EBUSY;
        }
        unsigned slot = (b->a_head + b->a_n) % SLOTS;
        memcpy(b->slave_tx[slot], tx, len);
        b->a_len[slot] = len;
        b->a_n++;
        b->sreq = true;
        ring(b, 1);
    }
    int r = 0;
    for (;;) {
        if (b->d_n) {
            memcpy(rx, b->slave_rx[b->d_head], len);
            b->d_head = (b->d_head + 1) % SLOTS;
            b->d_n--;
            r = (int)len;
            break;
        }
        if (tx && outstanding(b) < SLOTS)
            break;
        if (b->wake[0]) {
            b->wake[0] = false;
            break;
        }
        if (r == -ETIMEDOUT)
            break;
        /* No spinning here: with two slots armed the slave has a whole
         * transfer to collect and re-arm, which a plain sleep meets. */
        r = wait_until(b, 0, deadline, 0);
    }
    bus_unlock(b);
    return r;
}

static int bus_transfer(void *ctx, const void *tx, void *rx, size_t len, uint64_t deadline)
{
    struct spibus_end *e = ctx;
    if (!e || len > XFER_MAX || (tx && (!rx || !len)))
        return -EINVAL;
    return e->master ? master_transfer(bus_of(e), tx, rx, len)
                     : slave_transfer(bus_of(e), tx, rx, len, deadline);
}

static int bus_set_request(void *ctx, bool on)
{
    struct spibus_end *e = ctx;
    if (!e || !e->master)
        return -EINVAL;
    struct rpmsg_spibus *b = bus_of(e);
    bus_lock(b);
    if (b->mreq != on) {
        b->mreq = on;
        ring(b, 0);
    }
    bus_unlock(b);
    return 0;
}

/*
 * Master, lock held, a transfer queued: waits for SREQ, a wakeup or the end
 * of the oldest transfer, whichever comes first, sleeping until shortly
 * before that end and watching the bell the rest, as master_collect() does.
 */
static void master_wait_bell(struct rpmsg_spibus *b, uint64_t deadline_ms)
{
    uint64_t end = b->m_end_us[b->m_head];
    uint64_t dl = deadline_ms == RPMSG_FOREVER ? end : deadline_ms * 1000u;
    if (dl > end)
        dl = end;
    uint32_t seen = atomic_load_explicit(&b->ring_seq[1], memory_order_acquire);
    uint64_t m = margin_us(b, 1);
    bus_unlock(b);
    uint64_t now = now_us();
    bool rung = false;
    if (dl > now + m) {
        uint64_t t = dl - m;
        struct timespec ts = { .tv_sec = (time_t)(t / 1000000u), .tv_nsec = (long)(t % 1000000u) * 1000L };
        int r;
        while ((r = sem_clockwait(&b->bell[1], CLOCK_MONOTONIC, &ts)) != 0 && errno == EINTR) {
        }
        rung = r == 0;
    }
    if (!rung)
        spin_bell(b, 1, seen, dl);
    bus_lock(b);
}

static int bus_wait_peer(void *ctx, uint64_t deadline)
{
    struct spibus_end *e = ctx;
    if (!e)
        return -EINVAL;
    struct rpmsg_spibus *b = bus_of(e);
    int me = e->master ? 1 : 0;
    bus_lock(b);
    int r = 0;
    for (;;) {
        bool ready = e->master ? b->a_n > 0 : b->mreq;
        if (ready || b->wake[me] || r)
            break;
        if (e->master && b->m_n) {
            /* A transfer is clocking: its end must be collected on time. */
            if (now_us() >= b->m_end_us[b->m_head] ||
                (deadline != RPMSG_FOREVER && rpmsg_time_ms() >= deadline))
                break;
            master_wait_bell(b, deadline);
        } else if (e->master && b->mreq) {
            /* A master with data to send (MREQ up) expects SREQ any moment. */
            r = wait_until(b, me, deadline, SPIN_PEER_US);
        } else {
            r = wait_until(b, me, deadline, 0);
        }
    }
    int out = (e->master ? b->a_n > 0 : b->mreq) ? 1 : 0;
    b->wake[me] = false;
    bus_unlock(b);
    return out;
}

static void bus_wakeup(void *ctx)
{
    struct spibus_end *e = ctx;
    if (!e)
        return;
    struct rpmsg_spibus *b = bus_of(e);
    bus_lock(b);
    b->wake[e->master ? 1 : 0] = true;
    ring(b, e->master ? 1 : 0);
    bus_unlock(b);
}

const struct rpmsg_port_spi_ops rpmsg_spibus_ops = {
    .transfer = bus_transfer,
    .set_request = bus_set_request,
    .wait_peer = bus_wait_peer,
    .wakeup = bus_wakeup,
};

static int check_config(const struct rpmsg_spibus_config *cfg)
{
    return cfg->ber < 0 || cfg->ber > 1 || cfg->drop_rate < 0 || cfg->drop_rate > 1 ? -EINVAL
                                                                                   : 0;
}

/* Initialises a zeroed bus in shared memory. */
static int bus_init(struct rpmsg_spibus *b, const struct rpmsg_spibus_config *cfg)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    int r = -pthread_mutex_init(&b->lock, &ma);
    if (!r && (sem_init(&b->bell[0], 1, 0) || sem_init(&b->bell[1], 1, 0))) {
        r = -errno;
        pthread_mutex_destroy(&b->lock);
    }
    pthread_mutexattr_destroy(&ma);
    if (r)
        return r;
    b->clock_hz = cfg->clock_hz;
    uint64_t seed = cfg->seed ? cfg->seed : 777;
    line_fault_init(&b->fault[0], seed * 2 + 1, cfg->ber, cfg->drop_rate);
    line_fault_init(&b->fault[1], seed * 2 + 2, cfg->ber, cfg->drop_rate);
    b->ends[0] = (struct spibus_end){ false };
    b->ends[1] = (struct spibus_end){ true };
    atomic_store_explicit(&b->ready, BUS_READY, memory_order_release);
    return 0;
}

int rpmsg_spibus_create(struct rpmsg_spibus **out, const struct rpmsg_spibus_config *cfg)
{
    static const struct rpmsg_spibus_config defaults;
    if (!out)
        return -EINVAL;
    if (!cfg)
        cfg = &defaults;
    if (check_config(cfg))
        return -EINVAL;
    struct rpmsg_spibus *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED)
        return -errno;
    memset(b, 0, sizeof(*b));
    int r = bus_init(b, cfg);
    if (r) {
        munmap(b, sizeof(*b));
        return r;
    }
    *out = b;
    return 0;
}

/*
 * Buses in named objects, by the process that opened them: how to close
 * each. The object is a native one of shm.c, so it inherits its life: the
 * attacher removes the name, a creator killed before anyone attached leaves
 * a stale name that the next creator replaces.
 */
#define SHARED_MAX 8
static struct shared_bus {
    bool used; /* taken (bus still NULL while being opened) */
    struct rpmsg_spibus *bus;
    struct rpmsg_linux_shm shm;
    int side;
} shared[SHARED_MAX];
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

int rpmsg_spibus_open_shared(struct rpmsg_spibus **out, const char *name, bool create,
                             const struct rpmsg_spibus_config *cfg, uint32_t timeout_ms)
{
    static const struct rpmsg_spibus_config defaults;
    if (!out || !name)
        return -EINVAL;
    if (!cfg)
        cfg = &defaults;
    if (check_config(cfg))
        return -EINVAL;
    pthread_mutex_lock(&shared_lock);
    struct shared_bus *sb = NULL;
    for (int i = 0; i < SHARED_MAX && !sb; i++)
        if (!shared[i].used)
            sb = &shared[i];
    if (sb)
        sb->used = true;
    pthread_mutex_unlock(&shared_lock);
    if (!sb)
        return -EMFILE;
    struct rpmsg_linux_shm shm;
    int r = create ? rpmsg_linux_shm_create(&shm, name, sizeof(struct rpmsg_spibus))
                   : rpmsg_linux_shm_attach(&shm, name, sizeof(struct rpmsg_spibus), timeout_ms);
    if (r)
        goto unreserve;
    struct rpmsg_spibus *b = shm.map;
    if (create) {
        r = bus_init(b, cfg);
    } else {
        /* The object is named before its creator fills the bus in. */
        uint64_t deadline = rpmsg_deadline(timeout_ms ? timeout_ms : 1000);
        while (atomic_load_explicit(&b->ready, memory_order_acquire) != BUS_READY) {
            if (rpmsg_time_ms() >= deadline) {
                r = -ETIMEDOUT;
                break;
            }
            usleep(1000);
        }
    }
    if (r) {
        rpmsg_linux_shm_close(&shm, create ? 0 : 1);
        goto unreserve;
    }
    pthread_mutex_lock(&shared_lock);
    *sb = (struct shared_bus){ true, b, shm, create ? 0 : 1 };
    pthread_mutex_unlock(&shared_lock);
    *out = b;
    return 0;

unreserve:
    pthread_mutex_lock(&shared_lock);
    sb->used = false;
    pthread_mutex_unlock(&shared_lock);
    return r;
}

uint32_t rpmsg_spibus_clock(const struct rpmsg_spibus *b)
{
    return b ? (uint32_t)b->clock_hz : 0;
}

void rpmsg_spibus_destroy(struct rpmsg_spibus *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&shared_lock);
    for (int i = 0; i < SHARED_MAX; i++) {
        if (!shared[i].used || shared[i].bus != b)
            continue;
        struct shared_bus sb = shared[i];
        shared[i] = (struct shared_bus){ 0 };
        pthread_mutex_unlock(&shared_lock);
        /* The peer may still use the bus: only let go of it. */
        rpmsg_linux_shm_close(&sb.shm, sb.side);
        return;
    }
    pthread_mutex_unlock(&shared_lock);
    sem_destroy(&b->bell[0]);
    sem_destroy(&b->bell[1]);
    pthread_mutex_destroy(&b->lock);
    munmap(b, sizeof(*b));
}

void *rpmsg_spibus_end(struct rpmsg_spibus *b, bool master)
{
    return b ? &b->ends[master ? 1 : 0] : NULL;
}

int rpmsg_spibus_cut(struct rpmsg_spibus *b, uint32_t ms)
{
    if (!b)
        return -EINVAL;
    bus_lock(b);
    b->cut_until_us = now_us() + (uint64_t)ms * 1000u;
    bus_unlock(b);
    return 0;
}

int rpmsg_spibus_set_faults(struct rpmsg_spibus *b, double ber, double drop_rate)
{
    if (!b || ber < 0 || ber > 1 || drop_rate < 0 || drop_rate > 1)
        return -EINVAL;
    bus_lock(b);
    line_fault_set(&b->fault[0], ber, drop_rate);
    line_fault_set(&b->fault[1], ber, drop_rate);
    bus_unlock(b);
    return 0;
}

void rpmsg_spibus_get_stats(struct rpmsg_spibus *b, struct rpmsg_spibus_stats *out)
{
    if (!b || !out)
        return;
    bus_lock(b);
    *out = b->stats;
    bus_unlock(b);
}
