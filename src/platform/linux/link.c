/*
 * The public face of the Linux platform: opens a link and exposes it through
 * struct rpmsg_virtio_platform_ops.
 *
 * A native wait() sleeps in slices of liveness_ms so that it notices a peer
 * killed while we sleep (nobody would ring us otherwise). The check runs only
 * when a slice ends without a ring, so a busy link never pays for it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/linux/linux_priv.h"

static struct rpmsg_linux_plat *plat_new(void)
{
    struct rpmsg_linux_plat *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return NULL;
    }
    rpmsg_linux_peer_init(&p->peer);
    p->shm.fd = -1;
    p->uds.sock = -1;
    p->uds.efd = -1;
    return p;
}

static void plat_free(struct rpmsg_linux_plat *p)
{
    rpmsg_linux_peer_release(&p->peer);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* ---- native ---- */

/*
 * Milliseconds on the coarse monotonic clock: the time of the last tick,
 * read without the clock source (5 ns here against 26 for CLOCK_MONOTONIC,
 * which every poll paid). Up to a tick behind rpmsg_time_ms(), and the
 * liveness period is 100 ms: a check may come that much later.
 */
static uint64_t coarse_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts))
        return rpmsg_time_ms();
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * The transport asks on every poll(), so the common answer must cost no
 * syscall: the peer's state word is read every time (a clean close shows at
 * once), the process itself is checked at most once per liveness period
 * unless force (a wait slice ended: nothing else will notice for us).
 */
static int native_check(struct rpmsg_linux_plat *p, bool force)
{
    if (atomic_load(&p->dead))
        return -ENOTCONN;
    struct rpmsg_linux_ctl *ctl = p->shm.ctl;
    int other = 1 - p->side;
    uint32_t st = atomic_load(&ctl->state[other]);
    if (st == RPMSG_LINUX_ABSENT)
        return 0;
    int r = 0;
    if (st != RPMSG_LINUX_PRESENT) {
        r = -ENOTCONN; /* closed, or a value no honest peer writes */
    } else {
        if (!force && coarse_ms() < atomic_load(&p->next_check))
            return 0;
        uint64_t now = rpmsg_time_ms();
        pthread_mutex_lock(&p->lock);
        if (p->peer.pid == 0)
            r = rpmsg_linux_peer_track(&p->peer, atomic_load(&ctl->pid[other]),
                                       ctl->start[other]);
        if (r == 0)
            r = rpmsg_linux_peer_check(&p->peer);
        atomic_store(&p->next_check, now + p->liveness_ms);
        pthread_mutex_unlock(&p->lock);
    }
    if (r < 0)
        atomic_store(&p->dead, true);
    return r;
}

static int native_alive(void *plat)
{
    return native_check(plat, false);
}

static int native_notify(void *plat, uint32_t notifyid)
{
    struct rpmsg_linux_plat *p = plat;
    (void)notifyid; /* one doorbell per direction: the peer checks every vring */
    if (atomic_load(&p->dead))
        return -ENOTCONN;
    rpmsg_linux_db_ring(p->db.peer);
    return 0;
}

static int native_wait_ready(void *plat, uint64_t deadline_ms, const struct rpmsg_virtio_watch *w)
{
    struct rpmsg_linux_plat *p = plat;
    for (bool first = true;; first = false) {
        uint64_t d = deadline_ms;
        if (!atomic_load(&p->dead_reported)) {
            uint64_t slice = rpmsg_deadline(p->liveness_ms);
            if (slice < d)
                d = slice;
        }
        int r = rpmsg_linux_db_wait_ready(&p->db, d, first, w);
        if (r != -ETIMEDOUT)
            return r;
        if (deadline_ms != RPMSG_FOREVER && rpmsg_time_ms() >= deadline_ms)
            return -ETIMEDOUT;
        if (native_check(p, true) < 0 && !atomic_exchange(&p->dead_reported, true))
            return 0; /* the caller learns why from peer_alive() */
    }
}

static int native_wait(void *plat, uint64_t deadline_ms)
{
    return native_wait_ready(plat, deadline_ms, NULL);
}

static bool native_spins(void *plat)
{
    struct rpmsg_linux_plat *p = plat;
    return p->db.mode == RPMSG_LINUX_POLL;
}

static void native_wakeup(void *plat)
{
    struct rpmsg_linux_plat *p = plat;
    rpmsg_linux_db_wakeup(&p->db);
}

static const struct rpmsg_virtio_platform_ops native_ops = {
    .notify = native_notify,
    .wait = native_wait,
    .wakeup = native_wakeup,
    .peer_alive = native_alive,
    .wait_ready = native_wait_ready,
    .spins = native_spins,
};

int rpmsg_linux_open(struct rpmsg_linux_link *link, const struct rpmsg_linux_config *cfg)
{
    if (!link || !cfg)
        return -EINVAL;
    memset(link, 0, sizeof(*link));
    if (cfg->side != RPMSG_LINUX_CREATOR && cfg->side != RPMSG_LINUX_ATTACHER)
        return -EINVAL;
    if (cfg->mode != RPMSG_LINUX_ADAPTIVE && cfg->mode != RPMSG_LINUX_POLL &&
        cfg->mode != RPMSG_LINUX_INTERRUPT)
        return -EINVAL;
    struct rpmsg_linux_plat *p = plat_new();
    if (!p)
        return -ENOMEM;
    p->side = cfg->side == RPMSG_LINUX_CREATOR ? 0 : 1;
    p->liveness_ms = cfg->liveness_ms ? cfg->liveness_ms : RPMSG_LINUX_DEFAULT_LIVENESS_MS;
    struct rpmsg_linux_cancel c = { cfg->cancel, cfg->cancel_arg };
    int r = p->side == 0 ? rpmsg_linux_shm_create(&p->shm, cfg->name, cfg->region_size)
                         : rpmsg_linux_shm_attach_cancel(&p->shm, cfg->name, cfg->region_size,
                                                         cfg->timeout_ms, &c);
    if (r < 0) {
        plat_free(p);
        return r;
    }
    struct rpmsg_linux_ctl *ctl = p->shm.ctl;
    rpmsg_linux_db_init(&p->db, &ctl->bell[p->side], &ctl->bell[1 - p->side], cfg->mode,
                        cfg->spin_us);
    link->ops = native_ops;
    link->plat = p;
    link->base = p->shm.map;
    link->size = p->shm.region_size;
    return 0;
}

/* ---- OpenAMP ---- */

static int uds_notify_op(void *plat, uint32_t notifyid)
{
    (void)notifyid; /* the kick does not say which vring (wire-formats.md §4) */
    return rpmsg_linux_uds_notify(&((struct rpmsg_linux_plat *)plat)->uds);
}

static int uds_wait_op(void *plat, uint64_t deadline_ms)
{
    struct rpmsg_linux_plat *p = plat;
    int r = rpmsg_linux_uds_wait(&p->uds, deadline_ms);
    /* The peer kicked (so it has the region mapped) or left: the listener's
     * shm name has done its job. */
    if (atomic_load(&p->name_held) && atomic_load(&p->uds.heard) &&
        atomic_exchange(&p->name_held, false))
        rpmsg_linux_shm_unlink(&p->shm);
    return r;
}

static void uds_wakeup_op(void *plat)
{
    rpmsg_linux_uds_wakeup(&((struct rpmsg_linux_plat *)plat)->uds);
}

static int uds_alive_op(void *plat)
{
    return rpmsg_linux_uds_alive(&((struct rpmsg_linux_plat *)plat)->uds);
}

static const struct rpmsg_virtio_platform_ops openamp_ops = {
    .notify = uds_notify_op,
    .wait = uds_wait_op,
    .wakeup = uds_wakeup_op,
    .peer_alive = uds_alive_op,
};

int rpmsg_linux_open_openamp(struct rpmsg_linux_link *link,
                             const struct rpmsg_linux_openamp_config *cfg)
{
    if (!link || !cfg || !cfg->sock_path)
        return -EINVAL;
    memset(link, 0, sizeof(*link));
    struct rpmsg_linux_plat *p = plat_new();
    if (!p)
        return -ENOMEM;
    p->openamp = true;
    p->keep_names = cfg->keep_names;
    size_t size = cfg->shm_size ? cfg->shm_size : RPMSG_LINUX_OPENAMP_SHM_SIZE;
    /* Map before connecting: once connected the peer may unlink the name. */
    int r = rpmsg_linux_shm_open_plain(&p->shm, cfg->shm_name, size);
    if (r < 0) {
        plat_free(p);
        return r;
    }
    if (cfg->prepare)
        r = cfg->prepare(cfg->prepare_arg, p->shm.map, p->shm.region_size);
    struct rpmsg_linux_cancel c = { cfg->cancel, cfg->cancel_arg };
    if (r == 0)
        r = rpmsg_linux_uds_open(&p->uds, cfg->sock_path, cfg->listen, cfg->timeout_ms, &c);
    if (r < 0) {
        /* Nobody came: we may have created the object, and nobody else uses it. */
        if (p->keep_names)
            p->shm.path[0] = '\0';
        rpmsg_linux_shm_close(&p->shm, -1);
        plat_free(p);
        return r;
    }
    /* A connector mapped the region before it connected, and so did the
     * listener: the name can go. A listener keeps it until the peer shows
     * it has mapped it too (uds_wait_op): a peer may connect first and map
     * afterwards. */
    if (cfg->listen && !p->keep_names)
        atomic_store(&p->name_held, true);
    else if (!p->keep_names)
        rpmsg_linux_shm_unlink(&p->shm);
    link->ops = openamp_ops;
    link->plat = p;
    link->base = p->shm.map;
    link->size = p->shm.region_size;
    return 0;
}

/* ---- common ---- */

void rpmsg_linux_close(struct rpmsg_linux_link *link)
{
    if (!link || !link->plat)
        return;
    struct rpmsg_linux_plat *p = link->plat;
    if (p->openamp) {
        rpmsg_linux_uds_close(&p->uds);
        if (p->keep_names)
            p->shm.path[0] = '\0';
        rpmsg_linux_shm_close(&p->shm, -1);
    } else {
        rpmsg_linux_shm_close(&p->shm, p->side);
    }
    plat_free(p);
    memset(link, 0, sizeof(*link));
}

int rpmsg_linux_wait_peer(struct rpmsg_linux_link *link, uint64_t deadline_ms)
{
    if (!link || !link->plat)
        return -EINVAL;
    struct rpmsg_linux_plat *p = link->plat;
    if (p->openamp || p->side == 1)
        return 0;
    for (;;) {
        uint32_t st = atomic_load(&p->shm.ctl->state[1]);
        if (st == RPMSG_LINUX_PRESENT)
            return 0;
        if (st != RPMSG_LINUX_ABSENT)
            return -ENOTCONN;
        int r = native_wait(p, deadline_ms);
        if (r < 0)
            return r;
    }
}

pid_t rpmsg_linux_peer_pid(const struct rpmsg_linux_link *link)
{
    if (!link || !link->plat)
        return 0;
    struct rpmsg_linux_plat *p = link->plat;
    if (p->openamp)
        return p->uds.peer_pid;
    int32_t pid = atomic_load(&p->shm.ctl->pid[1 - p->side]);
    return atomic_load(&p->shm.ctl->state[1 - p->side]) != RPMSG_LINUX_ABSENT && pid > 0 ? pid : 0;
}
