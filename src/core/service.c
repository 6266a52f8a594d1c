/*
 * Services (rpmsg_register_callback) and the announcements no endpoint has
 * claimed yet. Everything here is under the registry lock; user callbacks run
 * with it released, one device pinned (users) while they do.
 */
#include "internal.h"

struct service {
    bool used;
    void *priv;
    rpmsg_dev_cb_t created, destroyed;
    rpmsg_match_cb_t match;
    rpmsg_bind_cb_t bind;
    unsigned busy; /* callbacks of this service running now */
};

/* Slots in use: none when services are compiled out (the loops over them
 * fold away; the one-element array is then never referenced). */
static struct service services[RPMSG_SERVICES ? RPMSG_SERVICE_MAX : 1];

static inline unsigned svc_max(void)
{
    return RPMSG_SERVICES ? RPMSG_SERVICE_MAX : 0;
}

_Static_assert(RPMSG_SERVICE_MAX <= 32, "svc_created is a 32-bit mask");

#if !RPMSG_NO_SYS
/* The service whose callback this thread is running, so that a service may
 * unregister itself from its own callback without waiting for itself. */
static _Thread_local int current_svc = -1;
#else
static int current_svc = -1;
#endif

/* Registry lock held on entry, released on return: the callback runs unlocked
 * with its device pinned and its service marked busy. */
static int call_begin(unsigned i, struct rpmsg_device *rdev)
{
    services[i].busy++;
    rpmsg_device_get(rdev);
    rpmsg_mutex_unlock(&rpmsg_registry_lock);
    int prev = current_svc;
    current_svc = (int)i;
    return prev;
}

static void call_end(unsigned i, struct rpmsg_device *rdev, int prev)
{
    current_svc = prev;
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    services[i].busy--;
    rpmsg_cond_broadcast(&rpmsg_registry_cond);
    rpmsg_mutex_unlock(&rpmsg_registry_lock);
    rpmsg_device_put(rdev);
}

bool rpmsg_pending_take(struct rpmsg_device *rdev, const char *name, uint32_t *addr)
{
    for (unsigned i = 0; i < RPMSG_NS_PENDING_MAX; i++) {
        struct rpmsg_ns_pending *p = &rdev->pending[i];
        if (p->used && !strncmp(p->name, name, RPMSG_NAME_SIZE)) {
            p->used = false;
            *addr = p->addr;
            return true;
        }
    }
    return false;
}

void rpmsg_pending_clear(struct rpmsg_device *rdev)
{
    for (unsigned i = 0; i < RPMSG_NS_PENDING_MAX; i++)
        rdev->pending[i].used = false;
}

static void pending_add(struct rpmsg_device *rdev, const char *name, uint32_t addr)
{
    struct rpmsg_ns_pending *slot = NULL;
    for (unsigned i = 0; i < RPMSG_NS_PENDING_MAX; i++) {
        struct rpmsg_ns_pending *p = &rdev->pending[i];
        if (p->used && !strncmp(p->name, name, RPMSG_NAME_SIZE)) {
            slot = p; /* a re-announcement replaces the old address */
            break;
        }
        if (!p->used && !slot)
            slot = p;
    }
    if (!slot) {
        rpmsg_mutex_lock(&rdev->lock);
        rdev->stats.drop_ns_overflow++;
        rpmsg_mutex_unlock(&rdev->lock);
        return;
    }
    memcpy(slot->name, name, RPMSG_NAME_SIZE);
    slot->addr = addr;
    slot->used = true;
}

void rpmsg_services_offer(struct rpmsg_device *rdev, const char *name, uint32_t addr)
{
    for (unsigned i = 0; i < svc_max(); i++) {
        struct service s = services[i];
        if (!s.used || !s.match || !s.match(rdev, s.priv, name, addr))
            continue;
        int prev = call_begin(i, rdev);
        if (s.bind)
            s.bind(rdev, s.priv, name, addr);
        call_end(i, rdev, prev);
        return;
    }
    pending_add(rdev, name, addr);
    rpmsg_mutex_unlock(&rpmsg_registry_lock);
}

/* Delivers device_created (or destroyed) once per (service, device) pair: the
 * svc_created bit makes a registration racing with a link change neither miss
 * nor double the call. */
static bool deliver_one(struct rpmsg_device *rdev, bool created)
{
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    for (unsigned i = 0; i < svc_max(); i++) {
        struct service s = services[i];
        uint32_t bit = 1u << i;
        bool has = rdev->svc_created & bit;
        if (!s.used || has == created)
            continue;
        rdev->svc_created ^= bit;
        int prev = call_begin(i, rdev);
        rpmsg_dev_cb_t cb = created ? s.created : s.destroyed;
        if (cb)
            cb(rdev, s.priv);
        call_end(i, rdev, prev);
        return true;
    }
    rpmsg_mutex_unlock(&rpmsg_registry_lock);
    return false;
}

void rpmsg_services_link_up(struct rpmsg_device *rdev)
{
    while (RPMSG_SERVICES && rpmsg_device_is_up(rdev) && deliver_one(rdev, true))
        ;
}

void rpmsg_services_link_down(struct rpmsg_device *rdev)
{
    while (RPMSG_SERVICES && deliver_one(rdev, false))
        ;
}

static bool same(const struct service *s, void *priv, rpmsg_dev_cb_t c, rpmsg_dev_cb_t d,
                 rpmsg_match_cb_t m, rpmsg_bind_cb_t b)
{
    return s->used && s->priv == priv && s->created == c && s->destroyed == d &&
           s->match == m && s->bind == b;
}

/* One pending announcement on an up device that service i wants, taken out
 * of the table; false when there is none left. Registry lock held. */
static bool take_match(unsigned i, struct rpmsg_device **out, char *name, uint32_t *addr)
{
    struct service *s = &services[i];
    if (!s->match)
        return false;
    for (struct rpmsg_device *d = rpmsg_device_first(); d; d = d->next) {
        if (!rpmsg_dev_up_unlocked(d))
            continue;
        for (unsigned k = 0; k < RPMSG_NS_PENDING_MAX; k++) {
            struct rpmsg_ns_pending *p = &d->pending[k];
            if (p->used && s->match(d, s->priv, p->name, p->addr)) {
                p->used = false;
                memcpy(name, p->name, RPMSG_NAME_SIZE);
                *addr = p->addr;
                *out = d;
                return true;
            }
        }
    }
    return false;
}

int rpmsg_register_callback(void *priv, rpmsg_dev_cb_t device_created,
                            rpmsg_dev_cb_t device_destroyed, rpmsg_match_cb_t ns_match,
                            rpmsg_bind_cb_t ns_bind)
{
    if (!RPMSG_SERVICES)
        return -ENOTSUP;
    if (!device_created && !device_destroyed && !ns_match && !ns_bind)
        return -EINVAL;
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    unsigned slot = RPMSG_SERVICE_MAX;
    for (unsigned i = 0; i < svc_max(); i++) {
        if (same(&services[i], priv, device_created, device_destroyed, ns_match, ns_bind)) {
            rpmsg_mutex_unlock(&rpmsg_registry_lock);
            return -EEXIST;
        }
        if (!services[i].used && !services[i].busy && slot == RPMSG_SERVICE_MAX)
            slot = i;
    }
    if (slot == RPMSG_SERVICE_MAX) {
        rpmsg_mutex_unlock(&rpmsg_registry_lock);
        return -ENOMEM;
    }
    services[slot] = (struct service){ true, priv, device_created, device_destroyed,
                                       ns_match, ns_bind, 0 };
    for (struct rpmsg_device *d = rpmsg_device_first(); d; d = d->next)
        d->svc_created &= ~(1u << slot);

    /* Replay links already up, then announcements nobody took yet. */
    for (;;) {
        struct rpmsg_device *d = rpmsg_device_first();
        while (d && (!rpmsg_dev_up_unlocked(d) || (d->svc_created & (1u << slot))))
            d = d->next;
        if (!d)
            break;
        d->svc_created |= 1u << slot;
        int prev = call_begin(slot, d);
        if (device_created)
            device_created(d, priv);
        call_end(slot, d, prev);
        rpmsg_mutex_lock(&rpmsg_registry_lock);
    }
    for (;;) {
        struct rpmsg_device *d;
        char name[RPMSG_NAME_SIZE];
        uint32_t addr;
        if (!services[slot].used || !take_match(slot, &d, name, &addr))
            break;
        int prev = call_begin(slot, d);
        if (ns_bind)
            ns_bind(d, priv, name, addr);
        call_end(slot, d, prev);
        rpmsg_mutex_lock(&rpmsg_registry_lock);
    }
    rpmsg_mutex_unlock(&rpmsg_registry_lock);
    return 0;
}

int rpmsg_unregister_callback(void *priv, rpmsg_dev_cb_t device_created,
                              rpmsg_dev_cb_t device_destroyed, rpmsg_match_cb_t ns_match,
                              rpmsg_bind_cb_t ns_bind)
{
    if (!RPMSG_SERVICES)
        return -ENOTSUP;
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    for (unsigned i = 0; i < svc_max(); i++)
        if (same(&services[i], priv, device_created, device_destroyed, ns_match, ns_bind)) {
            services[i].used = false;
            for (struct rpmsg_device *d = rpmsg_device_first(); d; d = d->next)
                d->svc_created &= ~(1u << i);
            /* On return the caller may free priv: let running callbacks end
             * (but not one on this very thread: that would wait for itself). */
            while (services[i].busy > (current_svc == (int)i ? 1u : 0u) &&
                   rpmsg_cond_wait(&rpmsg_registry_cond, &rpmsg_registry_lock,
                                   RPMSG_FOREVER) != -EAGAIN)
                ;
            rpmsg_mutex_unlock(&rpmsg_registry_lock);
            return 0;
        }
    rpmsg_mutex_unlock(&rpmsg_registry_lock);
    return -ENOENT;
}
