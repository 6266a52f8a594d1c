/* A link as the framework sees it: lifecycle, RX thread, waiting, link state. */
#include "internal.h"

rpmsg_mutex_t rpmsg_registry_lock = RPMSG_MUTEX_INITIALIZER;
rpmsg_cond_t rpmsg_registry_cond = RPMSG_COND_INITIALIZER;
static struct rpmsg_device *devices;

static void copy_name(char *dst, const char *src, size_t size)
{
    size_t i = 0;
    if (src)
        for (; i + 1 < size && src[i]; i++)
            dst[i] = src[i];
    memset(dst + i, 0, size - i);
}

int rpmsg_device_init(struct rpmsg_device *rdev, const struct rpmsg_transport_ops *ops,
                      void *transport, const struct rpmsg_device_config *cfg)
{
    if (!rdev || !ops || !ops->get_tx_buffer || !ops->send || !ops->release_tx_buffer ||
        !ops->release_rx_buffer || !ops->poll || !ops->wait)
        return -EINVAL;
    memset(rdev, 0, sizeof(*rdev));
    rpmsg_hazards_init(); /* before any endpoint: a hazard's barrier is chosen once */
    int r = rpmsg_mutex_init(&rdev->lock);
    if (r)
        return r;
    r = rpmsg_cond_init(&rdev->cond);
    if (r) {
        rpmsg_mutex_deinit(&rdev->lock);
        return r;
    }
    rdev->ops = ops;
    rdev->transport = transport;
    rdev->send_timeout_ms = RPMSG_SEND_TIMEOUT_MS;
    rdev->tx_buf_size = RPMSG_BUFFER_SIZE;
    if (cfg) {
        copy_name(rdev->local_cpuname, cfg->local_cpuname, sizeof(rdev->local_cpuname));
        rdev->local_features = cfg->features;
        rdev->no_rx_thread = cfg->no_rx_thread;
        rdev->lent_rx = cfg->lent_rx;
    }
#if RPMSG_NO_SYS
    rdev->no_rx_thread = true;
#endif
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    rpmsg_trace_inherit(rdev); /* before any thread can see the device */
    rdev->next = devices;
    devices = rdev;
    rdev->listed = true;
    rpmsg_mutex_unlock(&rpmsg_registry_lock);
    return 0;
}

/* ---- The RX context ---------------------------------------------------------
 * Normally the device's own RX thread. A lent_rx device's context passes
 * between threads in turns; each thread keeps its turns on a list of its own,
 * so asking "am I the context?" takes no lock. */

#if !RPMSG_NO_SYS
static _Thread_local struct rpmsg_rx_turn *turns;

static bool has_turn(const struct rpmsg_device *rdev)
{
    for (const struct rpmsg_rx_turn *t = turns; t; t = t->up)
        if (t->rdev == rdev)
            return true;
    return false;
}

static void push_turn(struct rpmsg_device *rdev, struct rpmsg_rx_turn *turn)
{
    turn->rdev = rdev;
    turn->up = turns;
    turns = turn;
}
#endif

const void *rpmsg_self_tag(void)
{
#if RPMSG_NO_SYS
    static const char self;
#else
    static _Thread_local const char self;
#endif
    return &self;
}

bool rpmsg_on_rx_context(struct rpmsg_device *rdev)
{
    if (rdev->no_rx_thread)
        return true;
#if !RPMSG_NO_SYS
    if (rdev->lent_rx)
        return has_turn(rdev);
#endif
    return rdev->thread_started && rpmsg_thread_is_self(&rdev->rx_thread);
}

bool rpmsg_device_on_rx_context(struct rpmsg_device *rdev)
{
    return rdev && rdev->ops && rpmsg_on_rx_context(rdev);
}

/*
 * A lent_rx device's context, rx_state: TAKEN by a thread; FREE, where the
 * RX thread may be waiting on the transport (its own wait, which looks at
 * the ring without the turn); or PARKED, the RX thread waiting in
 * rx_thread_turn for its next turn, the only state in which rpmsg_drive()
 * takes it: a drive never polls beside the RX thread's wait. Changed only
 * by compare-and-swap (taking) and by the holder (leaving), so a turn costs
 * no lock; a leave locks only to wake a thread counted in rx_parked.
 */
#define RX_FREE 0u
#define RX_TAKEN 1u
#define RX_PARKED 2u
/* How long a parked RX thread or a waiting drive sleeps before looking again. */
#define RX_PARK_MS (RPMSG_RX_LEASE_MS ? RPMSG_RX_LEASE_MS : 1)

#if !RPMSG_NO_SYS
static bool state_cas(struct rpmsg_device *rdev, uint32_t from, uint32_t to)
{
    return __atomic_compare_exchange_n(&rdev->rx_state, &from, to, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

static bool turn_cas(struct rpmsg_device *rdev, uint32_t from)
{
    return state_cas(rdev, from, RX_TAKEN);
}

static uint32_t turn_state(const struct rpmsg_device *rdev)
{
    return __atomic_load_n(&rdev->rx_state, __ATOMIC_SEQ_CST);
}

/* Wakes the threads waiting on rdev->cond for a turn, if any. */
static void turn_signal(struct rpmsg_device *rdev)
{
    if (rpmsg_ref_load(&rdev->rx_parked)) {
        rpmsg_mutex_lock(&rdev->lock);
        rpmsg_cond_broadcast(&rdev->cond);
        rpmsg_mutex_unlock(&rdev->lock);
    }
}

/* Ends a turn; lease: the RX thread stays parked a while (rpmsg_drive). */
static void turn_leave(struct rpmsg_rx_turn *turn, bool lease)
{
    struct rpmsg_device *rdev = turn ? turn->rdev : NULL;
    if (!rdev || rdev->no_rx_thread)
        return;
    /* Turns end in the order they began; one ended out of order is still
     * taken off, or the device's RX thread would wait for it forever. */
    struct rpmsg_rx_turn **p = &turns;
    while (*p && *p != turn)
        p = &(*p)->up;
    if (!*p)
        return; /* not a turn this thread took */
    *p = turn->up;
    if (has_turn(rdev))
        return;
    lease = lease && RPMSG_RX_LEASE_MS > 0;
    if (lease)
        __atomic_store_n(&rdev->rx_lease_until, rpmsg_time_ms() + RPMSG_RX_LEASE_MS,
                         __ATOMIC_SEQ_CST);
    __atomic_store_n(&rdev->rx_state, rdev->rx_prev, __ATOMIC_SEQ_CST);
    /* A lease wakes only another drive waiting; the parked RX thread comes
     * back by itself when the lease ends. */
    if (!lease || rpmsg_ref_load(&rdev->rx_wanted))
        turn_signal(rdev);
}
#endif

bool rpmsg_device_rx_try_enter(struct rpmsg_device *rdev, struct rpmsg_rx_turn *turn)
{
    if (!rdev || !rdev->ops || !turn)
        return false;
    turn->rdev = rdev; /* leave() needs it even for a turn that is not listed */
#if RPMSG_NO_SYS
    return true; /* one context */
#else
    if (rdev->no_rx_thread)
        return true;
    if (!rdev->lent_rx)
        return false;
    if (!has_turn(rdev)) {
        if (turn_cas(rdev, RX_FREE))
            rdev->rx_prev = RX_FREE;
        else if (turn_cas(rdev, RX_PARKED))
            rdev->rx_prev = RX_PARKED;
        else
            return false;
    }
    push_turn(rdev, turn);
    return true;
#endif
}

void rpmsg_device_rx_leave(struct rpmsg_rx_turn *turn)
{
#if !RPMSG_NO_SYS
    turn_leave(turn, false);
#else
    (void)turn;
#endif
}

void rpmsg_rx_yield(struct rpmsg_endpoint *ept)
{
    if (ept && ept->rdev && rpmsg_on_rx_context(ept->rdev))
        ept->rdev->rx_yield = true;
}

#if !RPMSG_NO_SYS
/* The RX thread should leave the link to a drive: one waits for it, or a
 * drive's lease runs. */
static bool rx_park_due(struct rpmsg_device *rdev)
{
    if (rpmsg_ref_load(&rdev->rx_wanted))
        return true;
    /* No clock read per round unless a lease was given: an ended one is
     * cleared (unless a new one replaced it meanwhile). */
    uint64_t until = __atomic_load_n(&rdev->rx_lease_until, __ATOMIC_SEQ_CST);
    if (!until)
        return false;
    if (rpmsg_time_ms() < until)
        return true;
    __atomic_compare_exchange_n(&rdev->rx_lease_until, &until, 0, false, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return false;
}

/*
 * The RX thread's own turn. It waits (parked: drives may take the turn)
 * while another thread has it, while a drive waits for it, and while a
 * drive's lease runs; a timed wait, as a lease ends without a wake-up.
 */
static bool rx_thread_turn(struct rpmsg_device *rdev, struct rpmsg_rx_turn *turn)
{
    for (;;) {
        if (!__atomic_load_n(&rdev->running, __ATOMIC_ACQUIRE))
            return false;
        bool yield = rx_park_due(rdev);
        if (!yield && (turn_cas(rdev, RX_FREE) || turn_cas(rdev, RX_PARKED))) {
            rdev->rx_prev = RX_FREE;
            push_turn(rdev, turn);
            return true;
        }
        rpmsg_mutex_lock(&rdev->lock);
        rpmsg_ref_add(&rdev->rx_parked, 1);
        if (state_cas(rdev, RX_FREE, RX_PARKED) && rpmsg_ref_load(&rdev->rx_wanted))
            rpmsg_cond_broadcast(&rdev->cond); /* a drive waits for exactly this */
        /* Counted in rx_parked before this look: a leave after it signals. */
        if (yield || turn_state(rdev) == RX_TAKEN)
            rpmsg_cond_wait(&rdev->cond, &rdev->lock, rpmsg_deadline(RX_PARK_MS));
        rpmsg_ref_add(&rdev->rx_parked, -1);
        rpmsg_mutex_unlock(&rdev->lock);
    }
}

static void rx_thread(void *arg)
{
    struct rpmsg_device *rdev = arg;
    while (__atomic_load_n(&rdev->running, __ATOMIC_ACQUIRE)) {
        struct rpmsg_rx_turn turn;
        if (rdev->lent_rx && !rx_thread_turn(rdev, &turn))
            continue; /* stopping */
        rdev->rx_yield = false;
        rpmsg_backlog_drain(rdev);
        int n = rdev->ops->poll(rdev);
        if (rdev->lent_rx) {
            /* Bound for a park (a drive waits, or a lease runs): the link is
             * a drive's from now, not only once this thread has parked. */
            if (n > 0 && rx_park_due(rdev))
                rdev->rx_prev = RX_PARKED;
            turn_leave(&turn, false);
        }
        if (n > 0)
            continue;
        /* The transport's wait owns its own timers (liveness, retransmission). */
        rdev->ops->wait(rdev, RPMSG_FOREVER);
    }
}

/* A drive's wait for the turn: until the parked RX thread leaves it free,
 * done(), the deadline, or the RX thread went to wait on the link. */
static bool drive_enter(struct rpmsg_device *rdev, struct rpmsg_rx_turn *turn, uint64_t deadline,
                        bool (*done)(void *arg), void *arg)
{
    turn->rdev = rdev;
    if (turn_cas(rdev, RX_PARKED)) {
        rdev->rx_prev = RX_PARKED;
        push_turn(rdev, turn);
        return true;
    }
    if (turn_state(rdev) != RX_TAKEN)
        return false; /* the RX thread waits for the link: nothing flows */
    bool got = false;
    rpmsg_ref_add(&rdev->rx_wanted, 1); /* the holder ends its round (rx_yielding) */
    rpmsg_mutex_lock(&rdev->lock);
    rpmsg_ref_add(&rdev->rx_parked, 1);
    for (;;) {
        if (turn_cas(rdev, RX_PARKED)) {
            got = true;
            break;
        }
        if (turn_state(rdev) == RX_FREE || rpmsg_time_ms() >= deadline ||
            !__atomic_load_n(&rdev->running, __ATOMIC_SEQ_CST))
            break;
        rpmsg_mutex_unlock(&rdev->lock);
        bool d = done(arg);
        rpmsg_mutex_lock(&rdev->lock);
        if (d)
            break;
        /* Timed: a notify from another thread (a close) reaches done(). */
        uint64_t until = rpmsg_deadline(RX_PARK_MS);
        if (turn_state(rdev) == RX_TAKEN)
            rpmsg_cond_wait(&rdev->cond, &rdev->lock, until < deadline ? until : deadline);
    }
    rpmsg_ref_add(&rdev->rx_parked, -1);
    rpmsg_mutex_unlock(&rdev->lock);
    rpmsg_ref_add(&rdev->rx_wanted, -1);
    if (got) {
        rdev->rx_prev = RX_PARKED;
        push_turn(rdev, turn);
    }
    return got;
}
#endif

void rpmsg_drive_end(struct rpmsg_device *rdev)
{
#if !RPMSG_NO_SYS
    if (!rdev || !rdev->ops || !rdev->lent_rx ||
        !__atomic_load_n(&rdev->rx_lease_until, __ATOMIC_SEQ_CST))
        return;
    __atomic_store_n(&rdev->rx_lease_until, 0, __ATOMIC_SEQ_CST);
    /* Without rdev->lock: callers hold their own locks (the socket's), and
     * those come after the core's. A parked RX thread that looked at the
     * lease just before the store misses this wake-up; its timed wait
     * bounds that to RX_PARK_MS, what the lease would have cost. */
    if (rpmsg_ref_load(&rdev->rx_parked))
        rpmsg_cond_broadcast(&rdev->cond);
#else
    (void)rdev;
#endif
}

void rpmsg_drive_wake(struct rpmsg_device *rdev)
{
#if !RPMSG_NO_SYS
    /* Without rdev->lock, as rpmsg_drive_end(): a miss costs RX_PARK_MS. */
    if (rdev && rdev->ops && rdev->lent_rx && rpmsg_ref_load(&rdev->rx_wanted))
        rpmsg_cond_broadcast(&rdev->cond);
#else
    (void)rdev;
#endif
}

int rpmsg_drive(struct rpmsg_device *rdev, uint64_t deadline, bool (*done)(void *arg), void *arg)
{
    if (!rdev || !rdev->ops || !done)
        return -EINVAL;
#if RPMSG_NO_SYS
    (void)deadline;
    (void)arg;
    return -ENOTSUP;
#else
    if (!rdev->lent_rx || rdev->no_rx_thread)
        return -ENOTSUP;
    if (has_turn(rdev))
        return -EBUSY; /* already the context: its caller's wait runs the link */
    /* Counted before running is looked at: a stop after that waits for us. */
    rpmsg_ref_add(&rdev->rx_drivers, 1);
    if (!__atomic_load_n(&rdev->running, __ATOMIC_SEQ_CST)) {
        rpmsg_ref_add(&rdev->rx_drivers, -1);
        return -ENOTSUP;
    }
    struct rpmsg_rx_turn turn;
    if (!drive_enter(rdev, &turn, deadline, done, arg)) {
        rpmsg_ref_add(&rdev->rx_drivers, -1);
        return done(arg) ? 1 : rpmsg_time_ms() >= deadline ? -ETIMEDOUT : 0;
    }
    int r;
    bool waited = false;
    for (;;) {
        if (!__atomic_load_n(&rdev->running, __ATOMIC_ACQUIRE)) {
            r = 0;
            break;
        }
        rdev->rx_yield = false;
        if (!rdev->deferring)
            rpmsg_backlog_drain(rdev);
        int n = rdev->ops->poll(rdev);
        if (done(arg)) {
            r = 1;
            break;
        }
        if (n < 0 || (n == 0 && waited)) {
            r = n; /* nothing came: the RX thread waits for the link again */
            break;
        }
        uint64_t now = rpmsg_time_ms();
        if (now >= deadline) {
            r = -ETIMEDOUT;
            break;
        }
        if (n == 0) {
            /* Nothing yet: wait for the link here, as the RX thread would
             * (the transport's wait, spinning first where it spins), for a
             * lease's time at most. Handing it back now would cost a wake-up
             * of that thread, and of this one when data comes. */
            uint64_t until = now + RX_PARK_MS;
            rdev->ops->wait(rdev, until < deadline ? until : deadline);
            waited = true;
        } else {
            waited = false;
        }
    }
    turn_leave(&turn, r == 1);
    rpmsg_ref_add(&rdev->rx_drivers, -1);
    return r;
#endif
}

int rpmsg_device_start(struct rpmsg_device *rdev)
{
    if (!rdev || !rdev->ops)
        return -EINVAL;
    if (rdev->no_rx_thread || rdev->thread_started)
        return 0;
#if RPMSG_NO_SYS
    return -ENOSYS; /* unreachable: init sets no_rx_thread */
#else
    __atomic_store_n(&rdev->running, true, __ATOMIC_RELEASE);
    char name[16] = "rpmsg-rx";
    int r = rpmsg_thread_create(&rdev->rx_thread, rx_thread, rdev, name);
    if (r) {
        __atomic_store_n(&rdev->running, false, __ATOMIC_RELEASE);
        return r;
    }
    rdev->thread_started = true;
    return 0;
#endif
}

void rpmsg_device_stop(struct rpmsg_device *rdev)
{
    if (!rdev || !rdev->ops || !rdev->thread_started)
        return;
#if !RPMSG_NO_SYS
    __atomic_store_n(&rdev->running, false, __ATOMIC_RELEASE);
    rpmsg_mutex_lock(&rdev->lock);
    rpmsg_cond_broadcast(&rdev->cond); /* an RX thread waiting for its turn */
    rpmsg_mutex_unlock(&rdev->lock);
    if (rdev->ops->wakeup)
        rdev->ops->wakeup(rdev);
    rpmsg_thread_join(&rdev->rx_thread);
    /* A thread running the link (rpmsg_drive) sees the stop at its next
     * round or wait, woken from the transport's wait like the RX thread. */
    while (rpmsg_ref_load(&rdev->rx_drivers)) {
        if (rdev->ops->wakeup)
            rdev->ops->wakeup(rdev);
        rpmsg_mutex_lock(&rdev->lock);
        rpmsg_cond_wait(&rdev->cond, &rdev->lock, rpmsg_deadline(1));
        rpmsg_mutex_unlock(&rdev->lock);
    }
    rdev->thread_started = false;
#endif
}

void rpmsg_device_deinit(struct rpmsg_device *rdev)
{
    if (!rdev || !rdev->ops)
        return;
    rpmsg_device_stop(rdev);
    rpmsg_device_link_down(rdev); /* a no-op unless up */

    rpmsg_mutex_lock(&rpmsg_registry_lock);
    if (rdev->listed) {
        for (struct rpmsg_device **p = &devices; *p; p = &(*p)->next)
            if (*p == rdev) {
                *p = rdev->next;
                break;
            }
        rdev->listed = false;
    }
    while (rdev->users)
        rpmsg_cond_wait(&rpmsg_registry_cond, &rpmsg_registry_lock, RPMSG_FOREVER);
    rpmsg_mutex_unlock(&rpmsg_registry_lock);

    rpmsg_cond_deinit(&rdev->cond);
    rpmsg_mutex_deinit(&rdev->lock);
    rdev->ops = NULL;
}


/* The RX context waits by running its own link (see docs/architecture.md). */
static int rx_context_wait(struct rpmsg_device *rdev, uint64_t deadline, bool dispatch_now,
                           bool (*ready)(void *arg), void *arg)
{
    uint64_t stalled_since = rpmsg_time_ms();
    int r = 0;
    while (!ready(arg)) {
        uint64_t now = rpmsg_time_ms();
        if (now >= deadline) {
            r = -ETIMEDOUT;
            break;
        }
        bool run;
        if (dispatch_now) {
            /* A reply comes only by dispatching: nested, in arrival order. */
            if (rdev->nest >= RPMSG_NEST_MAX) {
                r = -EDEADLK;
                break;
            }
            run = true;
        } else {
            /* Waiting for a buffer: arrivals are set aside (copied while
             * slots last, which frees the peer's buffers) without running
             * callbacks out of order. Slots all taken and still no buffer
             * after a stall: the peer may be blocked on the buffers we hold,
             * so let deferral overflow into nested dispatch. */
            bool slots_free = rdev->slot_busy != (uint32_t)((1ull << RPMSG_RX_BACKLOG) - 1);
            bool stalled = now - stalled_since >= RPMSG_RX_STALL_MS;
            run = slots_free || stalled;
            if (stalled && !slots_free && rdev->nest < RPMSG_NEST_MAX) {
                rdev->deferring = 0; /* last resort */
                rpmsg_mutex_unlock(&rdev->lock);
                rpmsg_backlog_drain(rdev);
                rpmsg_mutex_lock(&rdev->lock);
                rdev->deferring = 1;
                stalled_since = rpmsg_time_ms();
                continue;
            }
        }
        rpmsg_mutex_unlock(&rdev->lock);
        int n = run ? rdev->ops->poll(rdev) : 0;
        rpmsg_mutex_lock(&rdev->lock);
        /* A poll that delivered nothing may still have brought what this
         * waits for: TX buffers the peer gave back, which the transport
         * reports from poll() (rpmsg_device_tx_done), switching the peer's
         * notifications for them off right there (VirtIO does). No ring
         * follows, so sleeping on the link would last until the peer next
         * sends, and a peer waiting for this very answer may not send
         * before its own timeout (`rpmsg fs export` stalled 10 s in the
         * middle of a read; test_tx_wait.c). ready() may take what it
         * reports (rpmsg_wait()'s semaphore): true here ends the wait, or
         * the post it took is lost and the wait lasts to its deadline
         * (test_wait.c's nesting case, under load). */
        if (n <= 0) {
            if (ready(arg))
                break;
            uint64_t until = run ? deadline : now + 1;
            rpmsg_mutex_unlock(&rdev->lock);
            rdev->ops->wait(rdev, until < deadline ? until : deadline);
            rpmsg_mutex_lock(&rdev->lock);
        }
    }
    return r;
}

int rpmsg_dev_wait(struct rpmsg_device *rdev, uint64_t deadline, bool dispatch_now,
                   bool (*ready)(void *arg), void *arg)
{
    if (rpmsg_on_rx_context(rdev)) {
        /* deferring and the backlog belong to the RX context: no lock needed,
         * but the lock is held here and dispatch takes it, so drop it. */
        unsigned saved = rdev->deferring;
        int r;
        if (dispatch_now) {
            rdev->deferring = 0;
            rpmsg_mutex_unlock(&rdev->lock);
            rpmsg_backlog_drain(rdev);
            rpmsg_mutex_lock(&rdev->lock);
        } else {
            rdev->deferring++;
        }
        r = rx_context_wait(rdev, deadline, dispatch_now, ready, arg);
        rdev->deferring = saved;
        return r;
    }
    /* Whatever this waits for, the link brings it: its RX thread runs it
     * now, not at the end of a drive's lease. */
    rpmsg_drive_end(rdev);
    /* Counted before ready() reads: rpmsg_device_tx_done() moves tx_gen
     * without the lock and takes it only to wake a counted waiter. */
    rpmsg_ref_add(&rdev->waiters, 1);
    int r = 0;
    while (!ready(arg)) {
        r = rpmsg_cond_wait(&rdev->cond, &rdev->lock, deadline);
        if (r == -ETIMEDOUT) {
            r = ready(arg) ? 0 : -ETIMEDOUT;
            break;
        }
        r = 0;
    }
    rpmsg_ref_add(&rdev->waiters, -1);
    return r;
}

int rpmsg_poll(struct rpmsg_device *rdev)
{
    if (!rdev || !rdev->ops)
        return -EINVAL;
    rdev->rx_yield = false;
    if (!rdev->deferring)
        rpmsg_backlog_drain(rdev);
    return rdev->ops->poll(rdev);
}

void rpmsg_device_tx_done(struct rpmsg_device *rdev)
{
    if (!rdev)
        return;
    /* Once per reclaim, on the hot path: the lock only when a sender sleeps. */
    rpmsg_ref_add(&rdev->tx_gen, 1);
    if (rpmsg_ref_load(&rdev->waiters)) {
        rpmsg_mutex_lock(&rdev->lock);
        rpmsg_dev_signal(rdev);
        rpmsg_mutex_unlock(&rdev->lock);
    }
}

/*
 * Endpoint work at a link change is done one endpoint at a time with the
 * lock dropped (a send or a user callback may block), so mark the candidates
 * first and pick them off by flag: an endpoint destroyed meanwhile just
 * leaves the list.
 */
static struct rpmsg_endpoint *next_todo(struct rpmsg_device *rdev)
{
    for (struct rpmsg_endpoint *e = rdev->epts; e; e = e->next)
        if (e->flags & RPMSG_EPT_F_TODO) {
            e->flags &= (uint16_t)~RPMSG_EPT_F_TODO;
            return e;
        }
    return NULL;
}

void rpmsg_device_link_up(struct rpmsg_device *rdev, const char *remote_cpuname,
                          uint32_t remote_features)
{
    if (!rdev || !rdev->ops)
        return;
    rpmsg_mutex_lock(&rdev->lock);
    if (rdev->up) {
        rpmsg_mutex_unlock(&rdev->lock);
        return;
    }
    copy_name(rdev->remote_cpuname, remote_cpuname, sizeof(rdev->remote_cpuname));
    rdev->features = rdev->local_features & remote_features & RPMSG_F_KEEP;
    rpmsg_ref_add(&rdev->session, 1); /* under the lock: deliver() reads it there too */
    /* Release: rpmsg_register_callback() replays an up link from another
     * thread on this flag alone (no rdev->lock), and its device_created may
     * read the name and features written just above. */
    __atomic_store_n(&rdev->up, true, __ATOMIC_RELEASE);
    rpmsg_ref_add(&rdev->tx_gen, 1); /* a sender that waited for the link retries its buffer now */
    bool ns = rpmsg_dev_features(rdev) & RPMSG_F_NS;
    for (struct rpmsg_endpoint *e = rdev->epts; e; e = e->next)
        if (ns && e->name[0] && (e->flags & RPMSG_EPT_F_NS_BIND) && e->dest_addr == RPMSG_ADDR_ANY)
            e->flags |= RPMSG_EPT_F_TODO;
    rpmsg_dev_signal(rdev);
    struct rpmsg_endpoint *e;
    while ((e = next_todo(rdev))) {
        char name[RPMSG_NAME_SIZE];
        memcpy(name, e->name, sizeof(name));
        uint32_t addr = e->addr;
        e->flags |= RPMSG_EPT_F_ANNOUNCED;
        rpmsg_mutex_unlock(&rdev->lock);
        rpmsg_ns_send(rdev, name, addr, RPMSG_NS_CREATE);
        rpmsg_mutex_lock(&rdev->lock);
    }
    rpmsg_mutex_unlock(&rdev->lock);
    rpmsg_services_link_up(rdev);
}

void rpmsg_device_link_down(struct rpmsg_device *rdev)
{
    if (!rdev || !rdev->ops)
        return;
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    rpmsg_pending_clear(rdev);
    rpmsg_mutex_unlock(&rpmsg_registry_lock);

    rpmsg_mutex_lock(&rdev->lock);
    if (!rdev->up) {
        rpmsg_mutex_unlock(&rdev->lock);
        return;
    }
    __atomic_store_n(&rdev->up, false, __ATOMIC_RELAXED);
    for (struct rpmsg_endpoint *e = rdev->epts; e; e = e->next) {
        e->flags &= (uint16_t)~RPMSG_EPT_F_ANNOUNCED;
        if ((e->flags & RPMSG_EPT_F_NS_BIND) && e->dest_addr != RPMSG_ADDR_ANY) {
            rpmsg_ept_set_dest(e, RPMSG_ADDR_ANY);
            e->flags |= RPMSG_EPT_F_TODO;
            /* A named one is bound again by its name; an unnamed one (bound
             * by a first message, e.g. the router's tunnels) belongs to an
             * owner that follows the link itself. */
            if (e->name[0])
                rpmsg_ref_bits(&e->refs, RPMSG_REF_ORPHAN, true);
        }
    }
    rpmsg_dev_signal(rdev);
    struct rpmsg_endpoint *e;
    while ((e = next_todo(rdev))) {
        if (!e->ns_unbind_cb || (e->flags & RPMSG_EPT_F_DESTROYING))
            continue;
        rpmsg_ept_ref(e);
        rpmsg_mutex_unlock(&rdev->lock);
        e->ns_unbind_cb(e);
        rpmsg_mutex_lock(&rdev->lock);
        rpmsg_ept_unref_locked(rdev, e);
    }
    rpmsg_mutex_unlock(&rdev->lock);
    rpmsg_services_link_down(rdev);
}

int rpmsg_device_withdraw(struct rpmsg_device *rdev)
{
    if (!rdev || !rdev->ops)
        return -EINVAL;
    int n = 0;
    rpmsg_mutex_lock(&rdev->lock);
    bool ns = rpmsg_dev_features(rdev) & RPMSG_F_NS;
    for (struct rpmsg_endpoint *e = rdev->epts; e; e = e->next)
        if (ns && rdev->up && e->name[0] && (e->flags & RPMSG_EPT_F_ANNOUNCED) &&
            !(e->flags & RPMSG_EPT_F_DESTROYING))
            e->flags |= RPMSG_EPT_F_TODO;
    struct rpmsg_endpoint *e;
    while ((e = next_todo(rdev))) {
        char name[RPMSG_NAME_SIZE];
        memcpy(name, e->name, sizeof(name));
        uint32_t addr = e->addr;
        e->flags &= (uint16_t)~RPMSG_EPT_F_ANNOUNCED; /* its destroy says nothing more */
        rpmsg_mutex_unlock(&rdev->lock);
        if (rpmsg_ns_send(rdev, name, addr, RPMSG_NS_DESTROY) == 0)
            n++;
        rpmsg_mutex_lock(&rdev->lock);
    }
    rpmsg_mutex_unlock(&rdev->lock);
    return n;
}

/* ---- Device registry ---------------------------------------------------- */

void rpmsg_device_get(struct rpmsg_device *rdev)
{
    rdev->users++; /* registry lock held */
}

void rpmsg_device_put(struct rpmsg_device *rdev)
{
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    if (--rdev->users == 0)
        rpmsg_cond_broadcast(&rpmsg_registry_cond);
    rpmsg_mutex_unlock(&rpmsg_registry_lock);
}

struct rpmsg_device *rpmsg_device_first(void)
{
    return devices;
}

struct rpmsg_device *rpmsg_device_next(struct rpmsg_device *rdev)
{
    return rdev ? rdev->next : NULL;
}

struct rpmsg_device *rpmsg_device_find(const char *remote_cpuname)
{
    if (!remote_cpuname)
        return NULL;
    struct rpmsg_device *found = NULL;
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    for (struct rpmsg_device *d = devices; d && !found; d = d->next) {
        /* The name is rewritten at each link-up, under the device lock. */
        rpmsg_mutex_lock(&d->lock);
        if (d->up && !strncmp(d->remote_cpuname, remote_cpuname, RPMSG_CPUNAME_SIZE))
            found = d;
        rpmsg_mutex_unlock(&d->lock);
    }
    rpmsg_mutex_unlock(&rpmsg_registry_lock);
    return found;
}

/* ---- Queries ------------------------------------------------------------ */

const char *rpmsg_get_cpuname(struct rpmsg_device *rdev)
{
    return rdev ? rdev->remote_cpuname : NULL;
}

const char *rpmsg_get_local_cpuname(struct rpmsg_device *rdev)
{
    return rdev ? rdev->local_cpuname : NULL;
}

bool rpmsg_device_is_up(struct rpmsg_device *rdev)
{
    if (!rdev || !rdev->ops)
        return false;
    rpmsg_mutex_lock(&rdev->lock);
    bool up = rdev->up;
    rpmsg_mutex_unlock(&rdev->lock);
    return up;
}

uint32_t rpmsg_get_features(struct rpmsg_device *rdev)
{
    if (!rdev || !rdev->ops)
        return 0;
    rpmsg_mutex_lock(&rdev->lock);
    uint32_t f = rdev->up ? rdev->features : 0;
    rpmsg_mutex_unlock(&rdev->lock);
    return f;
}

int rpmsg_get_stats(struct rpmsg_device *rdev, struct rpmsg_stats *out)
{
    if (!rdev || !rdev->ops || !out)
        return -EINVAL;
    rpmsg_mutex_lock(&rdev->lock);
    *out = rdev->stats;
    rpmsg_mutex_unlock(&rdev->lock);
    out->tx_msgs = rpmsg_stat_load(&rdev->tx_msgs) + rpmsg_stat_load(&rdev->tx_msgs_tp);
    out->tx_bytes = rpmsg_stat_load(&rdev->tx_bytes) + rpmsg_stat_load(&rdev->tx_bytes_tp);
#if !RPMSG_NO_SYS
    out->tx_msgs += rpmsg_stat_load(&rdev->tx_msgs_cb);
    out->tx_bytes += rpmsg_stat_load(&rdev->tx_bytes_cb);
#endif
    out->rx_msgs = rpmsg_stat_load(&rdev->rx_msgs);
    out->rx_bytes = rpmsg_stat_load(&rdev->rx_bytes);
    return 0;
}

int rpmsg_set_send_timeout(struct rpmsg_device *rdev, uint32_t timeout_ms)
{
    if (!rdev || !rdev->ops)
        return -EINVAL;
    rpmsg_mutex_lock(&rdev->lock);
    rdev->send_timeout_ms = timeout_ms;
    rpmsg_mutex_unlock(&rdev->lock);
    return 0;
}
