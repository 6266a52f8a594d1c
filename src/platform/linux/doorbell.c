/*
 * Futex doorbell between two processes sharing a mapping.
 *
 * No lost wake-up: a sleeper first announces itself (sleepers++) and then
 * re-reads seq; a ringer first bumps seq and then reads sleepers. Both are
 * sequentially consistent, so at least one of them sees the other. FUTEX_WAIT
 * itself re-checks seq against the value the sleeper saw, closing the gap
 * between the re-read and the sleep.
 *
 * A busy link costs no syscall: the ringer only calls FUTEX_WAKE when
 * somebody sleeps, and an adaptive waiter usually catches the ring while
 * spinning.
 *
 * The adaptive spin learns. A spin that catches the ring earns the next wait
 * the full spin; one that runs out halves it, down to none. With none, every
 * 64th wait still spins in full, to notice when spinning pays again. Spinning
 * pays between two processes with a CPU each, and it hurts when there are
 * more busy threads than CPUs (three cores on two CPUs, a router's hub):
 * there the spinner holds the CPU that the thread which would ring needs.
 *
 * The futex ops are the shared (non-PRIVATE) ones: the word lives in a
 * MAP_SHARED mapping used by two processes.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "platform/linux/linux_priv.h"

uint64_t rpmsg_linux_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int futex_wait(_Atomic uint32_t *word, uint32_t val, const struct timespec *rel)
{
    if (syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, val, rel, NULL, 0) == 0)
        return 0;
    return -errno;
}

static void futex_wake(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void rpmsg_linux_db_init(struct rpmsg_linux_doorbell *db, struct rpmsg_linux_bell *mine,
                         struct rpmsg_linux_bell *peer, enum rpmsg_linux_mode mode,
                         uint32_t spin_us)
{
    db->mine = mine;
    db->peer = peer;
    /*
     * Start from 0, not from the current value: rings that happened before
     * this side arrived (e.g. the creator posting buffers before the attacher
     * mapped the object) then make the first wait return at once.
     */
    atomic_store_explicit(&db->seen, 0, memory_order_relaxed);
    db->mode = mode;
    db->spin_ns = (uint64_t)(spin_us ? spin_us : RPMSG_LINUX_DEFAULT_SPIN_US) * 1000u;
    if (db->spin_ns > UINT32_MAX)
        db->spin_ns = UINT32_MAX; /* over 4 s: the budget below is 32 bits */
    atomic_store_explicit(&db->spin_now_ns, (uint32_t)db->spin_ns, memory_order_relaxed);
    atomic_store_explicit(&db->since_probe, 0, memory_order_relaxed);
}

/* How long this wait spins (adaptive mode). */
static uint64_t spin_budget(struct rpmsg_linux_doorbell *db)
{
    uint32_t now = atomic_load_explicit(&db->spin_now_ns, memory_order_relaxed);
    if (now)
        return now;
    if (atomic_fetch_add_explicit(&db->since_probe, 1, memory_order_relaxed) + 1 < 64)
        return 0;
    atomic_store_explicit(&db->since_probe, 0, memory_order_relaxed);
    return db->spin_ns;
}

static void spin_outcome(struct rpmsg_linux_doorbell *db, bool caught)
{
    uint32_t now = atomic_load_explicit(&db->spin_now_ns, memory_order_relaxed);
    uint32_t next = caught ? (uint32_t)db->spin_ns : now / 2 < 1000u ? 0 : now / 2;
    atomic_store_explicit(&db->spin_now_ns, next, memory_order_relaxed);
}

void rpmsg_linux_db_ring(struct rpmsg_linux_bell *bell)
{
    atomic_fetch_add_explicit(&bell->seq, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&bell->sleepers, memory_order_seq_cst) != 0)
        futex_wake(&bell->seq);
}

void rpmsg_linux_db_wakeup(struct rpmsg_linux_doorbell *db)
{
    rpmsg_linux_db_ring(db->mine);
}

/* True once mine->seq moved away from seen; remembers the new value. */
static bool rung(struct rpmsg_linux_doorbell *db, uint32_t seen, memory_order mo)
{
    uint32_t cur = atomic_load_explicit(&db->mine->seq, mo);
    if (cur == seen)
        return false;
    atomic_store_explicit(&db->seen, cur, memory_order_relaxed);
    return true;
}

static bool watched(const struct rpmsg_virtio_watch *w)
{
    return w && w->ready(w->arg);
}

/*
 * The watch saw a message: the ring that comes with it (the peer rings after
 * publishing) is taken as seen too, as the poll that follows a wait handles
 * whatever a ring was for. Left standing, it ended the next wait at once:
 * a socket reader driving its link then found nothing, handed the link back
 * and slept, a 21 us round trip instead of 2 (docs/benchmarks.md, stop 20).
 */
static int caught(struct rpmsg_linux_doorbell *db)
{
    uint32_t cur = atomic_load_explicit(&db->mine->seq, memory_order_acquire);
    atomic_store_explicit(&db->seen, cur, memory_order_relaxed);
    return 1;
}

static int spin_until_ms(struct rpmsg_linux_doorbell *db, uint32_t seen, uint64_t deadline_ms,
                         const struct rpmsg_virtio_watch *w)
{
    for (unsigned i = 1;; i++) {
        rpmsg_linux_cpu_relax();
        if (rung(db, seen, memory_order_acquire))
            return 0;
        if (watched(w))
            return caught(db);
        /* Reading the clock costs ~20-50 ns; checking it every 256 pauses keeps
         * it out of the latency while still honouring the deadline. */
        if ((i & 255) == 0 && deadline_ms != RPMSG_FOREVER && rpmsg_time_ms() >= deadline_ms)
            return -ETIMEDOUT;
    }
}

/* 0 rung, 1 ready, -ETIMEDOUT the budget ran out. */
static int spin_for_ns(struct rpmsg_linux_doorbell *db, uint32_t seen, uint64_t budget_ns,
                       const struct rpmsg_virtio_watch *w)
{
    uint64_t end = rpmsg_linux_now_ns() + budget_ns;
    for (unsigned i = 1;; i++) {
        rpmsg_linux_cpu_relax();
        if (rung(db, seen, memory_order_acquire))
            return 0;
        if (watched(w))
            return caught(db);
        if ((i & 15) == 0 && rpmsg_linux_now_ns() >= end)
            return -ETIMEDOUT;
    }
}

static int sleep_until(struct rpmsg_linux_doorbell *db, uint32_t seen, uint64_t deadline_ms)
{
    struct rpmsg_linux_bell *b = db->mine;
    for (;;) {
        struct timespec ts, *rel = NULL;
        if (deadline_ms != RPMSG_FOREVER) {
            uint64_t now = rpmsg_time_ms();
            if (now >= deadline_ms)
                return -ETIMEDOUT;
            uint64_t left = deadline_ms - now;
            ts.tv_sec = (time_t)(left / 1000u);
            ts.tv_nsec = (long)(left % 1000u) * 1000000L;
            rel = &ts;
        }
        atomic_fetch_add_explicit(&b->sleepers, 1, memory_order_seq_cst);
        if (rung(db, seen, memory_order_seq_cst)) {
            atomic_fetch_sub_explicit(&b->sleepers, 1, memory_order_relaxed);
            return 0;
        }
        int r = futex_wait(&b->seq, seen, rel);
        atomic_fetch_sub_explicit(&b->sleepers, 1, memory_order_relaxed);
        if (rung(db, seen, memory_order_acquire))
            return 0;
        if (r == -EINTR)
            return 0; /* let the caller see signals; a spurious return is allowed */
        if (r != 0 && r != -EAGAIN && r != -ETIMEDOUT)
            return r;
        /* Timed out or woken without a change (another waiter's wake): re-check the deadline. */
    }
}

int rpmsg_linux_db_wait_ready(struct rpmsg_linux_doorbell *db, uint64_t deadline_ms, bool spin,
                              const struct rpmsg_virtio_watch *w)
{
    uint32_t seen = atomic_load_explicit(&db->seen, memory_order_relaxed);
    if (rung(db, seen, memory_order_acquire))
        return 0;
    switch (db->mode) {
    case RPMSG_LINUX_POLL:
        return spin_until_ms(db, seen, deadline_ms, w);
    case RPMSG_LINUX_ADAPTIVE:
        if (spin) {
            uint64_t budget = spin_budget(db);
            if (budget) {
                int r = spin_for_ns(db, seen, budget, w);
                spin_outcome(db, r >= 0);
                if (r >= 0)
                    return r;
            }
        }
        break;
    case RPMSG_LINUX_INTERRUPT:
    default:
        break;
    }
    /* The peer rings for messages only once asked (w->arm): ask, then look
     * once more for one published before the request was visible. */
    if (w && w->arm && w->arm(w->arg))
        return caught(db);
    return sleep_until(db, seen, deadline_ms);
}

int rpmsg_linux_db_wait(struct rpmsg_linux_doorbell *db, uint64_t deadline_ms, bool spin)
{
    return rpmsg_linux_db_wait_ready(db, deadline_ms, spin, NULL);
}
