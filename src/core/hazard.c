/*
 * The per-thread hazards a send holds its endpoint by, and the asymmetric
 * barrier that makes hazards cheap (internal.h).
 *
 * A hazard is the classic one: the holder stores the endpoint's address in a
 * slot, then reads the endpoint's state; the destroyer marks the endpoint,
 * then reads the slots. One of the two must see the other's store, which
 * takes a full fence between each side's store and load. The holder's fence
 * is per message; the destroyer's is rare. So the holder keeps a compiler
 * barrier only and the destroyer makes every thread of the process pass a
 * full barrier (rpmsg_barrier_heavy) before it reads: a send then pays no
 * atomic read-modify-write to hold its endpoint, where a reference costs
 * two (its take and its drop), about 6 ns each here (docs/benchmarks.md,
 * stop 27).
 *
 * Slots live in a fixed pool, one per thread that sends, taken at its first
 * send and given back when it ends (rpmsg_thread_at_exit): no allocation.
 * A thread that finds none free, a send nested in another on the same
 * thread, or a port without the barrier, takes a reference instead.
 */
#include "internal.h"

#if !RPMSG_NO_SYS

bool rpmsg_asym;

struct rpmsg_tx_hazard rpmsg_tx_hazards[RPMSG_TX_HAZARDS];

/* Never scanned, always busy: a thread without a slot takes references. */
static struct rpmsg_tx_hazard no_slot = { .ept = (struct rpmsg_endpoint *)&no_slot };

_Thread_local struct rpmsg_tx_hazard *rpmsg_my_tx_hazard;

void rpmsg_hazards_init(void)
{
    if (RPMSG_ASYM_BARRIER && !__atomic_load_n(&rpmsg_asym, __ATOMIC_ACQUIRE) &&
        rpmsg_barrier_init() == 0)
        __atomic_store_n(&rpmsg_asym, true, __ATOMIC_RELEASE);
}

static void give_back(void *arg)
{
    struct rpmsg_tx_hazard *h = arg;
    __atomic_store_n(&h->ept, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&h->owned, 0, __ATOMIC_RELEASE);
}

struct rpmsg_tx_hazard *rpmsg_tx_hazard_claim(void)
{
    struct rpmsg_tx_hazard *mine = &no_slot;
    if (__atomic_load_n(&rpmsg_asym, __ATOMIC_ACQUIRE)) {
        for (unsigned i = 0; i < RPMSG_TX_HAZARDS; i++) {
            struct rpmsg_tx_hazard *h = &rpmsg_tx_hazards[i];
            uint32_t free_ = 0;
            if (__atomic_load_n(&h->owned, __ATOMIC_RELAXED) ||
                !__atomic_compare_exchange_n(&h->owned, &free_, 1, false, __ATOMIC_ACQUIRE,
                                             __ATOMIC_RELAXED))
                continue;
            if (rpmsg_thread_at_exit(give_back, h) == 0)
                mine = h;
            else
                give_back(h); /* it would never come back: references instead */
            break;
        }
    }
    rpmsg_my_tx_hazard = mine;
    return mine;
}

bool rpmsg_tx_hazard_on(const struct rpmsg_endpoint *ept)
{
    for (unsigned i = 0; i < RPMSG_TX_HAZARDS; i++)
        if (__atomic_load_n(&rpmsg_tx_hazards[i].ept, __ATOMIC_ACQUIRE) == ept)
            return true;
    return false;
}

unsigned rpmsg_tx_hazards_owned(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < RPMSG_TX_HAZARDS; i++)
        n += __atomic_load_n(&rpmsg_tx_hazards[i].owned, __ATOMIC_ACQUIRE) != 0;
    return n;
}

#else
typedef int rpmsg_no_hazards; /* no threads: nothing to hold against */
#endif
