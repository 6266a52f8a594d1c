/*
 * Name service (address 0x35): announcements, two-phase binding with
 * CREATE_ACK, and teardown. Wire format: wire-formats.md §2.
 */
#include "internal.h"

int rpmsg_ns_send(struct rpmsg_device *rdev, const char *name, uint32_t addr, uint32_t flags)
{
    struct rpmsg_ns_msg msg;
    memset(&msg, 0, sizeof(msg));
    memcpy(msg.name, name, strnlen(name, sizeof(msg.name) - 1));
    msg.addr = rpmsg_le32(addr);
    msg.flags = rpmsg_le32(flags);
    int r = rpmsg_core_send(rdev, addr, RPMSG_NS_ADDR, &msg, sizeof(msg));
    return r < 0 ? r : 0;
}

/*
 * Is a message of session still one of a link that is up in that session?
 * rdev->lock held. deliver() looked at the session without the lock; a link
 * down since then unbound every endpoint (without moving the session), and
 * an announcement or acknowledgement handled after it would bind one again,
 * to an address of the ended session. A first message is held to the same
 * rule (lookup_locked()). Counted as stale.
 */
static bool ns_current(struct rpmsg_device *rdev, uint32_t session)
{
    if (rdev->up && session == rdev->session)
        return true;
    rdev->stats.drop_stale++;
    return false;
}

static void ns_create(struct rpmsg_device *rdev, const char *name, uint32_t addr,
                      uint32_t session)
{
    /* Registry lock across the lookup and the pending insert, so an endpoint
     * or service being created right now cannot miss this announcement. */
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    rpmsg_mutex_lock(&rdev->lock);
    if (!ns_current(rdev, session)) {
        rpmsg_mutex_unlock(&rdev->lock);
        rpmsg_mutex_unlock(&rpmsg_registry_lock);
        return;
    }
    struct rpmsg_endpoint *ept = rpmsg_ept_find_name(rdev, name);
    if (ept) {
        ept->flags |= RPMSG_EPT_F_ANNOUNCED;
        uint32_t local = ept->addr;
        bool ack = rpmsg_dev_features(rdev) & RPMSG_F_ACK;
        /*
         * With ACK, the ACK leaves before the binding is seen: a sender
         * waiting for it (a socket's SYNC) would otherwise overtake the
         * ACK, and a NuttX peer, bound by that first message instead,
         * never calls its ns_bound hook, so its SYNC never comes. Nothing
         * else binds the endpoint meanwhile: the peer's messages wait for
         * this RX context; the reference keeps a destroy waiting.
         */
        if (ack)
            rpmsg_ept_ref(ept);
        else
            rpmsg_ept_bind(rdev, ept, addr);
        rpmsg_mutex_unlock(&rdev->lock);
        rpmsg_mutex_unlock(&rpmsg_registry_lock);
        if (!ack)
            return;
        rpmsg_ns_send(rdev, name, local, RPMSG_NS_CREATE_ACK);
        rpmsg_mutex_lock(&rdev->lock);
        if (!(ept->flags & RPMSG_EPT_F_DESTROYING) && rpmsg_ept_dest(ept) == RPMSG_ADDR_ANY &&
            ns_current(rdev, session))
            rpmsg_ept_bind(rdev, ept, addr);
        rpmsg_ept_unref_locked(rdev, ept);
        rpmsg_mutex_unlock(&rdev->lock);
        return;
    }
    rpmsg_mutex_unlock(&rdev->lock);
    rpmsg_services_offer(rdev, name, addr);
}

static void ns_ack(struct rpmsg_device *rdev, const char *name, uint32_t addr,
                   uint32_t session)
{
    rpmsg_mutex_lock(&rdev->lock);
    struct rpmsg_endpoint *ept = rpmsg_ept_find_name(rdev, name);
    if (ept && ns_current(rdev, session))
        rpmsg_ept_bind(rdev, ept, addr);
    rpmsg_mutex_unlock(&rdev->lock);
}

static void ns_destroy(struct rpmsg_device *rdev, const char *name, uint32_t addr,
                       uint32_t session)
{
    /* One of an ended session would take back what the new one announced. */
    rpmsg_mutex_lock(&rpmsg_registry_lock);
    rpmsg_mutex_lock(&rdev->lock);
    bool current = ns_current(rdev, session);
    rpmsg_mutex_unlock(&rdev->lock);
    uint32_t stale;
    while (current && rpmsg_pending_take(rdev, name, &stale))
        ;
    rpmsg_mutex_unlock(&rpmsg_registry_lock);
    if (!current)
        return;

    rpmsg_mutex_lock(&rdev->lock);
    for (struct rpmsg_endpoint *e = rdev->epts; e; e = e->next) {
        bool ns_bound = e->flags & RPMSG_EPT_F_NS_BIND;
        bool dynamic = e->addr - RPMSG_ADDR_DYN_BASE < RPMSG_EPT_DYN_MAX;
        if ((e->flags & RPMSG_EPT_F_DESTROYING) || e->dest_addr != addr ||
            strncmp(e->name, name, RPMSG_NAME_SIZE) || (!ns_bound && !dynamic))
            continue;
        /* A name-bound endpoint goes back to waiting for its peer. One with a
         * dynamic address aimed at the announcer (what a service's ns_bind
         * creates) keeps its binding but is told as well, as NuttX does, so
         * that a server learns its client left. A static pair's binding
         * holds whatever the name service says, and is not told. */
        if (ns_bound) {
            rpmsg_ept_set_dest(e, RPMSG_ADDR_ANY);
            e->flags &= (uint16_t)~RPMSG_EPT_F_ANNOUNCED;
        }
        rpmsg_ns_unbind_cb cb = e->ns_unbind_cb;
        if (cb) {
            rpmsg_ept_ref(e);
            rpmsg_mutex_unlock(&rdev->lock);
            cb(e);
            rpmsg_mutex_lock(&rdev->lock);
            rpmsg_ept_unref_locked(rdev, e);
        }
        break;
    }
    rpmsg_mutex_unlock(&rdev->lock);
}

void rpmsg_ns_rx(struct rpmsg_device *rdev, const void *payload, uint32_t len, uint32_t session)
{
    struct rpmsg_ns_msg msg;
    if (len != sizeof(msg)) {
        rpmsg_mutex_lock(&rdev->lock);
        rdev->stats.drop_bad_ns++;
        rpmsg_mutex_unlock(&rdev->lock);
        return;
    }
    memcpy(&msg, payload, sizeof(msg));
    uint32_t addr = rpmsg_le32(msg.addr);
    uint32_t flags = rpmsg_le32(msg.flags);
    bool ok = memchr(msg.name, '\0', sizeof(msg.name)) != NULL && msg.name[0] &&
              addr != RPMSG_ADDR_ANY && flags <= RPMSG_NS_CREATE_ACK;
    if (!ok) {
        rpmsg_mutex_lock(&rdev->lock);
        rdev->stats.drop_bad_ns++;
        rpmsg_mutex_unlock(&rdev->lock);
        return;
    }
    switch (flags) {
    case RPMSG_NS_CREATE:
        ns_create(rdev, msg.name, addr, session);
        break;
    case RPMSG_NS_CREATE_ACK:
        ns_ack(rdev, msg.name, addr, session);
        break;
    default:
        ns_destroy(rdev, msg.name, addr, session);
        break;
    }
}
