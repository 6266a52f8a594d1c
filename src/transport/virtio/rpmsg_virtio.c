/*
 * The VirtIO rpmsg device: configuration, the status/feature handshake, link
 * state, resets and faults. The protocol (gen/ack bytes, who writes what) is
 * described in include/rpmsg/rpmsg_virtio.h; the data path is virtio_bufs.c.
 *
 * Everything that changes link state happens in poll(), on the RX context,
 * so the core's link_up/link_down are called from one place and never with
 * our lock held.
 */
#include "virtio_internal.h"
#include "virtio_wire.h"

#define STATUS_ALL                                                                     \
    (RPMSG_VIRTIO_STATUS_ACK | RPMSG_VIRTIO_STATUS_DRIVER | RPMSG_VIRTIO_STATUS_FEATURES_OK | \
     RPMSG_VIRTIO_STATUS_DRIVER_OK)
#define CFG_FEATURES (RPMSG_VIRTIO_F_BUFSZ | RPMSG_VIRTIO_F_CPUNAME)
/* Consecutive faults after which the host stops restarting sessions. */
#define FAULT_STREAK_MAX 3u

static void copy_name(char *dst, const char *src)
{
    size_t i = 0;
    if (src)
        for (; i + 1 < RPMSG_CPUNAME_SIZE && src[i]; i++)
            dst[i] = src[i];
    memset(dst + i, 0, RPMSG_CPUNAME_SIZE - i);
}

/* A name from the region: each byte read once, cut at 31 characters. */
static void read_name(const struct rpmsg_virtio *vd, char *dst, const uint8_t *src)
{
    size_t n = CFGF(vd)->name_len;
    memset(dst, 0, RPMSG_CPUNAME_SIZE);
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)vw_ld8(src + i);
    dst[n - 1] = 0;
}

/* The field holds n bytes: a longer name is cut, NUL included. */
static void put_name(uint8_t *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vw_st8(dst + i, i + 1 < n ? (uint8_t)src[i] : 0);
}

static void write_name(const struct rpmsg_virtio *vd, uint8_t *dst, const char *src)
{
    put_name(dst, src, CFGF(vd)->name_len);
}

static bool size_ok(uint32_t s)
{
    return s > RPMSG_HDR_SIZE && s <= RPMSG_VIRTIO_BUF_MAX;
}

/* Features that can work with the table as it is (config space or not). */
static uint32_t usable(const struct rpmsg_virtio *vd)
{
    return vd->cfgsp ? ~0u : ~CFG_FEATURES;
}

static int my_vq(const struct rpmsg_virtio *vd)
{
    return vd_host(vd) ? VQ_TX_HOST : VQ_RX_HOST;
}

/* ---- The table ------------------------------------------------------------ */

static void use_vdev(struct rpmsg_virtio *vd, uint32_t vdev_off, uint32_t config_len)
{
    vd->vdev = vd->shm + vdev_off;
    vd->cfgsp = config_len >= CFGF(vd)->size ? vd->vdev + VDEV_CONFIG : NULL;
}

static uint32_t offer_of(const struct rpmsg_virtio_config *cfg)
{
    uint32_t f = cfg->no_features ? 0 : cfg->features ? cfg->features : RPMSG_VIRTIO_F_DEFAULT;
    /* Nothing the core is built without, nor another stack's bit that we
     * do not implement: negotiation is an AND, so never offered, never
     * accepted. */
    return f & RPMSG_F_KEEP & ~RPMSG_VIRTIO_F_FOREIGN;
}

/* Config space length of the table a writer offering these features makes. */
static uint32_t config_len_of(uint32_t offered)
{
    return (offered & CFG_FEATURES) ? CFG_SIZE : 0;
}

/* The dfeatures a writer puts in its table: the remote declares its
 * features there; a host declares its own only for a legacy remote, which
 * takes the table as its firmware's. */
static uint32_t declared_of(uint32_t offered, bool remote, bool legacy)
{
    uint32_t mask = config_len_of(offered) ? ~0u : ~CFG_FEATURES;
    return remote || legacy ? offered & mask : 0;
}

/* Writes the table (and the writer's config fields) of layout l into shm. */
static void put_table(uint8_t *shm, const struct rpmsg_virtio_layout *l, uint32_t offered,
                      bool remote, bool legacy, const char *name, bool keep_ack)
{
    struct rpmsg_rsc_info info = { 0 };
    info.vdev_notifyid = l->vdev_notifyid;
    info.config_len = config_len_of(offered);
    for (int i = 0; i < 2; i++) {
        info.vring[i].da = l->vring_da[i];
        info.vring[i].align = l->align;
        info.vring[i].num = l->num[i];
        info.vring[i].notifyid = l->notifyid[i];
    }
    info.dfeatures = declared_of(offered, remote, legacy);
    uint8_t *tbl = shm + l->rsc_offset;
    rpmsg_rsc_write(tbl, &info, keep_ack);
    if (info.config_len) {
        const struct rpmsg_virtio_cfgfmt *f = rpmsg_virtio_cfgfmt(l->cfg_format);
        uint8_t *cfgsp = tbl + RSC_VDEV_OFF + VDEV_CONFIG;
        vw_st32(cfgsp + f->h2r, l->buf_size[1] ? l->buf_size[1] : RPMSG_BUFFER_SIZE);
        vw_st32(cfgsp + f->r2h, l->buf_size[0] ? l->buf_size[0] : RPMSG_BUFFER_SIZE);
        put_name(cfgsp + (remote ? f->remote_name : f->host_name), name, f->name_len);
    }
}

/*
 * Writes our table from our layout, unless the application already wrote it
 * (rpmsg_virtio_write_table, table_written): then the first call only takes
 * it as ours, since the peer may be using it already. Lock held.
 */
static void write_table(struct rpmsg_virtio *vd, bool keep_ack)
{
    const struct rpmsg_virtio_layout *l = &vd->layout;
    bool remote = !vd_host(vd);
    if (vd->table_written)
        vd->table_written = false;
    else
        put_table(vd->shm, l, vd->offered, remote, vd_legacy(vd), vd->local_name, keep_ack);
    vd->declared = declared_of(vd->offered, remote, vd_legacy(vd));
    use_vdev(vd, l->rsc_offset + RSC_VDEV_OFF, config_len_of(vd->offered));
    for (int i = 0; i < 2; i++)
        rpmsg_vring_attach(&vd->vq[i], vd->shm, l->vring_da[i], l->num[i], l->align, l->notifyid[i]);
}

/*
 * Parses the table in the region and takes its vring geometry once it is
 * validated against the region and our buffer pool. Lock held.
 * 0, -EAGAIN (not written yet) or -EPROTO.
 */
static int read_table(struct rpmsg_virtio *vd)
{
    struct rpmsg_rsc_info info;
    int r = rpmsg_rsc_parse(vd->shm, vd->shm_size, vd->layout.rsc_offset, &info);
    if (r)
        return r;
    struct rpmsg_virtio_geom g = {
        .table_off = vd->layout.rsc_offset,
        .table_end = info.entry_end,
        .pool_start = vd->pool_start,
        .pool_end = vd->pool_end,
    };
    if (g.table_end < g.table_off + RSC_VDEV_OFF)
        g.table_end = g.table_off + RSC_VDEV_OFF;
    for (int i = 0; i < 2; i++)
        g.vring[i] = info.vring[i];
    if (rpmsg_virtio_geometry_check(&g, vd->shm_size))
        return -EPROTO;
    use_vdev(vd, info.vdev_off, info.config_len);
    for (int i = 0; i < 2; i++)
        rpmsg_vring_attach(&vd->vq[i], vd->shm, g.vring[i].da, g.vring[i].num, g.vring[i].align,
                           g.vring[i].notifyid);
    return 0;
}

/* ---- Link state --------------------------------------------------------- */

/* The session this side is up in still stands, as far as the region says.
 * Read by the RX context, which alone changes the link state (no lock). */
static bool session_intact(const struct rpmsg_virtio *vd)
{
    uint8_t st = vw_ld8_acq(vd->vdev + VDEV_STATUS);
    if (vd_host(vd))
        return vd_legacy(vd) ? !(st & RPMSG_VIRTIO_STATUS_NEEDS_RESET)
                             : vw_ld8_acq(vd->vdev + VDEV_ACK) == vd->gen;
    return (st & RPMSG_VIRTIO_STATUS_DRIVER_OK) &&
           (vd_legacy(vd) || vw_ld8_acq(vd->vdev + VDEV_GEN) == vd->gen);
}

/* Leaves the session for why (enum rpmsg_virtio_down). Lock held. True if
 * the core must hear link_down. */
static bool go_down(struct rpmsg_virtio *vd, uint32_t why)
{
    bool was = vd->up;
    vd->up = false;
    rpmsg_virtio_bufs_down(vd);
    if (was) {
        vd->stats.link_downs++;
        vd->stats.last_down = why;
    }
    return was;
}

static void host_unpublish(struct rpmsg_virtio *vd)
{
    if (!vd->vdev)
        return;
    vw_st8(vd->vdev + VDEV_GEN, 0);
    vw_st8_rel(vd->vdev + VDEV_STATUS, 0);
}

/* Host: starts a session (unpublish, table, new gen). Lock held. */
static void host_publish(struct rpmsg_virtio *vd)
{
    uint8_t prev = vd->vdev ? vw_ld8(vd->vdev + VDEV_GEN) : 0;
    if (!prev)
        prev = vd->gen;
    host_unpublish(vd);
    if (vd->writer) {
        /* A fresh table also clears a stale ack left by an earlier life. */
        write_table(vd, vd->vdev != NULL);
    } else if (read_table(vd)) {
        vd->state = VS_WAIT_TABLE;
        return;
    }
    vd->stats.resets++;
    vd->state = VS_WAIT_ACK;
    if (vd_legacy(vd))
        return;
    uint8_t g = (uint8_t)(prev + 1);
    vd->gen = g ? g : 1;
    vw_st8_rel(vd->vdev + VDEV_GEN, vd->gen);
}

/* Both vrings of a session are split or both packed, as negotiated. */
static void use_layout(struct rpmsg_virtio *vd, uint32_t neg)
{
    for (int i = 0; i < 2; i++)
        vd->vq[i].packed = (neg & RPMSG_VIRTIO_F_RING_PACKED) != 0;
}

/* Host: the remote is ready (acked, or legacy). Lock held. True if now up. */
static bool host_negotiate(struct rpmsg_virtio *vd)
{
    uint32_t neg = vw_ld32(vd->vdev + VDEV_DFEATURES) & vd->offered & usable(vd);
    uint32_t s0 = RPMSG_BUFFER_SIZE, s1 = RPMSG_BUFFER_SIZE;
    if (neg & RPMSG_VIRTIO_F_BUFSZ) {
        s1 = vw_ld32(vd->cfgsp + CFGF(vd)->h2r);
        s0 = vw_ld32(vd->cfgsp + CFGF(vd)->r2h);
        if (!size_ok(s0) || !size_ok(s1)) {
            rpmsg_virtio_fault(vd, RPMSG_VIRTIO_FAULT_CONFIG, -1, size_ok(s0) ? s1 : s0);
            return false;
        }
    }
    vd->event_idx = (neg & RPMSG_VIRTIO_F_EVENT_IDX) != 0;
    use_layout(vd, neg);
    for (int i = 0; i < 2; i++)
        rpmsg_vring_clear(&vd->vq[i]);
    if (rpmsg_virtio_host_bufs_up(vd, s0, s1)) {
        rpmsg_virtio_fault(vd, RPMSG_VIRTIO_FAULT_CONFIG, -1, s0 > s1 ? s0 : s1);
        return false;
    }
    if (neg & RPMSG_VIRTIO_F_CPUNAME)
        read_name(vd, vd->peer_name, vd->cfgsp + CFGF(vd)->remote_name);
    else
        memcpy(vd->peer_name, vd->peer_default, RPMSG_CPUNAME_SIZE);
    if (vd->cfgsp) {
        if (neg & RPMSG_VIRTIO_F_BUFSZ) {
            vw_st32(vd->cfgsp + CFGF(vd)->h2r, s1);
            vw_st32(vd->cfgsp + CFGF(vd)->r2h, s0);
        }
        write_name(vd, vd->cfgsp + CFGF(vd)->host_name, vd->local_name);
    }
    vw_st32(vd->vdev + VDEV_GFEATURES, neg);
    vd->negotiated = neg;
    vw_st8_rel(vd->vdev + VDEV_STATUS, STATUS_ALL);
    return true;
}

/* Remote: the host's DRIVER_OK arrived. Lock held. True if now up. */
static bool remote_negotiate(struct rpmsg_virtio *vd)
{
    uint32_t gf = vw_ld32(vd->vdev + VDEV_GFEATURES);
    uint32_t mine = vd_legacy(vd) ? vd->offered & usable(vd) : vd->declared;
    if (!vd_legacy(vd) && (gf & ~mine)) {
        rpmsg_virtio_fault(vd, RPMSG_VIRTIO_FAULT_FEATURES, -1, gf);
        return false;
    }
    uint32_t neg = gf & mine;
    uint32_t s0 = RPMSG_BUFFER_SIZE, s1 = RPMSG_BUFFER_SIZE;
    if (neg & RPMSG_VIRTIO_F_BUFSZ) {
        s1 = vw_ld32(vd->cfgsp + CFGF(vd)->h2r);
        s0 = vw_ld32(vd->cfgsp + CFGF(vd)->r2h);
        if (!size_ok(s0) || !size_ok(s1)) {
            rpmsg_virtio_fault(vd, RPMSG_VIRTIO_FAULT_CONFIG, -1, size_ok(s0) ? s1 : s0);
            return false;
        }
    }
    if (neg & RPMSG_VIRTIO_F_CPUNAME)
        read_name(vd, vd->peer_name, vd->cfgsp + CFGF(vd)->host_name);
    else
        memcpy(vd->peer_name, vd->peer_default, RPMSG_CPUNAME_SIZE);
    vd->event_idx = (neg & RPMSG_VIRTIO_F_EVENT_IDX) != 0;
    use_layout(vd, neg);
    vd->negotiated = neg;
    rpmsg_virtio_remote_bufs_up(vd, s0, s1);
    return true;
}

static void mark_up(struct rpmsg_virtio *vd)
{
    vd->state = VS_UP;
    vd->up = true;
    vd->fault_streak = 0;
    vd->stats.link_ups++;
}

/* Remote: ack the published gen if there is one to ack. Lock held. True if acked. */
static bool remote_try_ack(struct rpmsg_virtio *vd)
{
    if (read_table(vd))
        return false;
    uint8_t g = vw_ld8_acq(vd->vdev + VDEV_GEN);
    uint8_t st = vw_ld8_acq(vd->vdev + VDEV_STATUS);
    if (vd_legacy(vd)) {
        if (st & RPMSG_VIRTIO_STATUS_DRIVER_OK)
            vd->state = VS_WAIT_OK;
        return false;
    }
    if (!g || (st & RPMSG_VIRTIO_STATUS_DRIVER_OK))
        return false; /* not published, or a session we are not part of */
    vd->declared = vd->offered & usable(vd);
    vw_st32(vd->vdev + VDEV_DFEATURES, vd->declared);
    if (vd->cfgsp)
        write_name(vd, vd->cfgsp + CFGF(vd)->remote_name, vd->local_name);
    if (vw_ld8_acq(vd->vdev + VDEV_GEN) != g)
        return false; /* the host restarted meanwhile: try again on its next kick */
    vd->gen = g;
    vw_st8_rel(vd->vdev + VDEV_ACK, g);
    vd->state = VS_WAIT_OK;
    return true;
}

/* Acts on a fault found anywhere. Lock held. True if the core must hear link_down. */
static bool fault_locked(struct rpmsg_virtio *vd)
{
    __atomic_store_n(&vd->fault_pending, 0, __ATOMIC_RELAXED);
    bool was = go_down(vd, RPMSG_VIRTIO_DOWN_FAULT);
    if (vd_host(vd)) {
        host_unpublish(vd);
        vd->fault_streak++;
        vd->state = VS_FAULTED;
    } else if (!vd_legacy(vd)) {
        if (vd->vdev)
            vw_st8_rel(vd->vdev + VDEV_ACK, 0);
        vd->state = VS_WAIT_GEN;
    } else {
        /* A legacy host has no ack to watch: ask it for a reset the way a
         * virtio device does, and wait for it (step, VS_FAULTED). */
        if (vd->vdev)
            vw_st8_rel(vd->vdev + VDEV_STATUS,
                       vw_ld8(vd->vdev + VDEV_STATUS) | RPMSG_VIRTIO_STATUS_NEEDS_RESET);
        vd->state = VS_FAULTED;
    }
    return was;
}

/*
 * One step of the handshake or link watch. Lock held. Sets *down / *up when
 * the core must be told, *kick when the peer must look.
 */
static void step(struct rpmsg_virtio *vd, bool *down, bool *up, bool *kick)
{
    if (vd_host(vd)) {
        switch (vd->state) {
        case VS_WAIT_TABLE:
            host_publish(vd);
            *kick = vd->state != VS_WAIT_TABLE;
            if (*kick && vd_legacy(vd))
                goto wait_ack;
            break;
        case VS_WAIT_ACK:
        wait_ack:
            if (vd_legacy(vd) || vw_ld8_acq(vd->vdev + VDEV_ACK) == vd->gen) {
                if (host_negotiate(vd)) {
                    mark_up(vd);
                    *up = *kick = true;
                }
            }
            break;
        case VS_UP:
            if (!session_intact(vd)) {
                /* The remote restarted or gave up on this session. */
                *down |= go_down(vd, RPMSG_VIRTIO_DOWN_CLOSED);
                host_publish(vd);
                *kick = true;
            }
            break;
        case VS_FAULTED:
            if (!vd_legacy(vd) && vd->fault_streak < FAULT_STREAK_MAX &&
                vw_ld8_acq(vd->vdev + VDEV_ACK) == 0) {
                host_publish(vd);
                *kick = true;
            }
            break;
        default:
            break;
        }
        return;
    }
    switch (vd->state) {
    case VS_FAULTED:
        /* Legacy: the host reset the device, which clears NEEDS_RESET. */
        if (!vd->vdev || (vw_ld8_acq(vd->vdev + VDEV_STATUS) & RPMSG_VIRTIO_STATUS_NEEDS_RESET))
            break;
        vd->state = VS_WAIT_GEN;
        __attribute__((fallthrough));
    case VS_WAIT_GEN:
        *kick = remote_try_ack(vd);
        if (vd->state != VS_WAIT_OK)
            break;
        /* DRIVER_OK may already be there (legacy) */
        __attribute__((fallthrough));
    case VS_WAIT_OK:
        if (!vd_legacy(vd) && vw_ld8_acq(vd->vdev + VDEV_GEN) != vd->gen) {
            vd->state = VS_WAIT_GEN;
            *kick |= remote_try_ack(vd);
            break;
        }
        /* DRIVER_OK with NEEDS_RESET is a session about to be reset. */
        if ((vw_ld8_acq(vd->vdev + VDEV_STATUS) &
             (RPMSG_VIRTIO_STATUS_DRIVER_OK | RPMSG_VIRTIO_STATUS_NEEDS_RESET)) ==
                RPMSG_VIRTIO_STATUS_DRIVER_OK &&
            remote_negotiate(vd)) {
            mark_up(vd);
            *up = true;
        }
        break;
    case VS_UP: {
        if (!session_intact(vd)) {
            /* The host reset the device. */
            *down |= go_down(vd, RPMSG_VIRTIO_DOWN_CLOSED);
            vd->state = VS_WAIT_GEN;
            if (!vd_legacy(vd))
                vw_st8_rel(vd->vdev + VDEV_ACK, 0);
            *kick = true;
        }
        break;
    }
    default:
        break;
    }
}

/* The peer reset the session before it went: it closed in order. Lock held. */
static bool peer_reset(const struct rpmsg_virtio *vd)
{
    if (!vd->up || !vd->vdev)
        return false;
    uint8_t st = vw_ld8_acq(vd->vdev + VDEV_STATUS);
    if (!vd_host(vd))
        return !(st & RPMSG_VIRTIO_STATUS_DRIVER_OK);
    return vd_legacy(vd) ? (st & RPMSG_VIRTIO_STATUS_NEEDS_RESET) != 0
                      : vw_ld8_acq(vd->vdev + VDEV_ACK) != vd->gen;
}

/* Peer liveness transitions. Lock held. */
static void watch_peer(struct rpmsg_virtio *vd, int alive, bool *down, bool *kick)
{
    if (alive == 0)
        vd->peer_seen = true;
    if (alive < 0 && !vd->peer_dead) {
        vd->peer_dead = true;
        __atomic_store_n(&vd->fault_pending, 0, __ATOMIC_RELAXED);
        *down |= go_down(vd, peer_reset(vd) ? RPMSG_VIRTIO_DOWN_CLOSED : RPMSG_VIRTIO_DOWN_DEAD);
        if (vd_host(vd))
            host_unpublish(vd);
        else if (vd->vdev && !vd_legacy(vd))
            vw_st8_rel(vd->vdev + VDEV_ACK, 0);
        else if (vd->vdev && vd->peer_seen)
            /* Nobody else writes it now, and a restarted legacy host must be
             * seen setting DRIVER_OK again, not the dead one's. Only a host
             * seen alive can have died: before that, "not there" may mean
             * "still booting", and the host may be writing DRIVER_OK now
             * (NuttX's sim master says OK first, then sets it). */
            vw_st8_rel(vd->vdev + VDEV_STATUS, 0);
        vd->state = VS_DEAD;
    } else if (alive == 0 && vd->peer_dead) {
        vd->peer_dead = false;
        vd->fault_streak = 0;
        if (vd_host(vd))
            host_publish(vd);
        else
            vd->state = VS_WAIT_GEN;
        *kick = true;
    }
}

/* The data path's poll, then a fault it found acted on; plus drained. */
static int data_poll_checked(struct rpmsg_virtio *vd, int drained)
{
    int n = rpmsg_virtio_data_poll(vd, (int)vd->vq[my_vq(vd) ^ 1].num, false);

    /* A fault found while receiving (or by another thread's send). Looked
     * at without the lock first: faults are rare, and this lock round was
     * a sixth of the lock rounds per message. One set by a send just after
     * the look is not lost: that send wakes this context, which polls. */
    if (!__atomic_load_n(&vd->fault_pending, __ATOMIC_RELAXED))
        return n + drained;
    rpmsg_lock_acquire(&vd->lock);
    bool faulted = vd->fault_pending != 0;
    bool down = faulted && fault_locked(vd);
    rpmsg_lock_release(&vd->lock);
    if (!faulted)
        return n + drained;
    if (down)
        rpmsg_device_link_down(&vd->rdev);
    rpmsg_virtio_kick(vd, my_vq(vd));
    return -EPROTO;
}

int rpmsg_virtio_op_poll(struct rpmsg_device *rdev)
{
    struct rpmsg_virtio *vd = vd_of(rdev);
    int alive = vd->ops->peer_alive ? vd->ops->peer_alive(vd->plat) : 0;
    bool down = false, up = false, kick = false;
    int ret = 0;
    __atomic_store_n(&vd->rx_polled, true, __ATOMIC_RELAXED);

    /* Up, nothing found and nothing changed: the link-state round below
     * would do nothing, and it was one of the two lock rounds per poll. */
    if (alive == 0 && vd->state == VS_UP && vd->up && !vd->peer_dead &&
        !__atomic_load_n(&vd->fault_pending, __ATOMIC_RELAXED) && session_intact(vd))
        return data_poll_checked(vd, 0);

    /* A peer that closed or died may have published messages just before:
     * they were sent, so they are delivered before the link goes down. The
     * end was seen first (acquire), so all it published before is visible. */
    int drained = 0;
    rpmsg_lock_acquire(&vd->lock);
    if (vd->up && !vd->fault_pending && (alive < 0 || peer_reset(vd))) {
        rpmsg_lock_release(&vd->lock);
        drained = rpmsg_virtio_data_poll(vd, (int)vd->vq[my_vq(vd) ^ 1].num, true);
        rpmsg_lock_acquire(&vd->lock);
    }
    watch_peer(vd, alive, &down, &kick);
    if (vd->peer_dead) {
        ret = -ENOTCONN;
    } else {
        if (vd->fault_pending) {
            down |= fault_locked(vd);
            kick = true;
            ret = -EPROTO;
        } else if (vd->state == VS_FAULTED && (vd_legacy(vd) || vd->fault_streak >= FAULT_STREAK_MAX)) {
            ret = -EPROTO;
        }
        step(vd, &down, &up, &kick);
        if (vd->fault_pending) {
            /* The handshake itself found the region unusable. */
            down |= fault_locked(vd);
            up = false;
            kick = true;
            ret = -EPROTO;
        }
    }
    uint32_t tx_size = vd->vq[vd_host(vd) ? VQ_TX_HOST : VQ_RX_HOST].buf_size;
    rpmsg_lock_release(&vd->lock);

    if (down)
        rpmsg_device_link_down(rdev);
    if (kick)
        rpmsg_virtio_kick(vd, my_vq(vd));
    if (up) {
        rpmsg_device_set_tx_buf_size(rdev, tx_size);
        rpmsg_device_link_up(rdev, vd->peer_name, vd->negotiated);
    }
    if (ret)
        return ret;

    return data_poll_checked(vd, drained > 0 ? drained : 0);
}

int rpmsg_virtio_op_wait(struct rpmsg_device *rdev, uint64_t deadline_ms)
{
    struct rpmsg_virtio *vd = vd_of(rdev);
    /* The ring is watched only if someone polled since the last wait. A
     * send waiting inside a callback with every backlog slot taken does
     * not poll: the message that made the last wait return is still there,
     * and watching it again would spin (a lock round a pass) instead of
     * sleeping until the bell says TX buffers are back. */
    rpmsg_virtio_rx_back_now(vd);
    bool watch = vd->ops->wait_ready && __atomic_load_n(&vd->rx_polled, __ATOMIC_RELAXED);
    __atomic_store_n(&vd->rx_polled, false, __ATOMIC_RELAXED);
    const struct rpmsg_virtio_watch w = { rpmsg_virtio_rx_ready, rpmsg_virtio_rx_arm, vd };
    int r;
    if (watch) {
        r = vd->ops->wait_ready(vd->plat, deadline_ms, &w);
    } else {
        /* Asked as the old way did at its last empty look: at most one
         * kick for a message this wait will not watch for. */
        if (vd->ops->wait_ready)
            (void)rpmsg_virtio_rx_arm(vd);
        r = vd->ops->wait(vd->plat, deadline_ms);
    }
    if (r == -ETIMEDOUT)
        return r;
    /* 1: a message seen on the ring, not a kick. The poll that follows
     * receives it and looks at the TX side at its end: a lock round here
     * would sit between the message and its callback. A send waiting on
     * the RX context with every backlog slot taken does not poll; its next
     * wait does not watch the ring (rx_polled), so it sleeps on the bell,
     * and the kick it asked for when it starved brings it here below. */
    if (r == 1)
        return 0;
    /* Under the lock, as get_stats copies the whole struct. A kick may mean
     * TX buffers are back: such a send must hear of them here. */
    rpmsg_lock_acquire(&vd->lock);
    vd->stats.notify_received++;
    bool tx_done = rpmsg_virtio_tx_back(vd);
    rpmsg_lock_release(&vd->lock);
    if (tx_done)
        rpmsg_device_tx_done(rdev);
    return 0;
}

void rpmsg_virtio_op_wakeup(struct rpmsg_device *rdev)
{
    struct rpmsg_virtio *vd = vd_of(rdev);
    if (vd->ops->wakeup)
        vd->ops->wakeup(vd->plat);
}

/* ---- API ------------------------------------------------------------------ */

/* The checks both init and write_table make; the layout in use into *lay. */
static int check_config(const struct rpmsg_virtio_config *cfg, struct rpmsg_virtio_layout *lay)
{
    if (!cfg || !cfg->shm || ((uintptr_t)cfg->shm & 7) || !cfg->shm_size ||
        cfg->shm_size > UINT32_MAX ||
        (cfg->role != RPMSG_VIRTIO_HOST && cfg->role != RPMSG_VIRTIO_REMOTE))
        return -EINVAL;
    if ((cfg->role == RPMSG_VIRTIO_HOST ? !RPMSG_VIRTIO_HOST_ROLE : !RPMSG_VIRTIO_REMOTE_ROLE) ||
        (cfg->legacy ? !RPMSG_VIRTIO_LEGACY : !RPMSG_VIRTIO_GENACK))
        return -ENOTSUP; /* compiled out (rpmsg_opt.h) */
    if (cfg->layout)
        *lay = *cfg->layout;
    else if (!rpmsg_virtio_layout_default(lay, NULL))
        return -EINVAL;
    return rpmsg_virtio_layout_check(lay, cfg->shm_size) ? -EINVAL : 0;
}

int rpmsg_virtio_write_table(const struct rpmsg_virtio_config *cfg)
{
    struct rpmsg_virtio_layout lay;
    int r = check_config(cfg, &lay);
    if (r)
        return r;
    bool remote = cfg->role == RPMSG_VIRTIO_REMOTE;
    if (remote != cfg->remote_writes_table)
        return -EINVAL; /* the other side writes it */
    char name[RPMSG_CPUNAME_SIZE];
    copy_name(name, cfg->cpuname);
    put_table(cfg->shm, &lay, offer_of(cfg), remote, cfg->legacy, name, false);
    return 0;
}

int rpmsg_virtio_init(struct rpmsg_virtio *vd, const struct rpmsg_virtio_config *cfg)
{
    struct rpmsg_virtio_layout lay;
    if (!vd || !cfg || !cfg->ops || !cfg->ops->notify || !cfg->ops->wait)
        return -EINVAL;
    int r = check_config(cfg, &lay);
    if (r)
        return r;

    memset(vd, 0, sizeof(*vd));
    vd->ops = cfg->ops;
    vd->plat = cfg->plat;
    vd->rx_spins = cfg->ops->wait_ready && cfg->ops->spins && cfg->ops->spins(cfg->plat);
    vd->role = cfg->role;
    vd->writer = (cfg->role == RPMSG_VIRTIO_REMOTE) == cfg->remote_writes_table;
    vd->legacy = cfg->legacy;
    vd->layout = lay;
    vd->shm = cfg->shm;
    vd->shm_size = cfg->shm_size;
    vd->pool_start = lay.buf_offset;
    vd->pool_end = lay.pool_size ? lay.buf_offset + lay.pool_size : (uint32_t)cfg->shm_size;
    vd->offered = offer_of(cfg);
    vd->table_written = vd->writer && cfg->table_written;
    copy_name(vd->local_name, cfg->cpuname);
    copy_name(vd->peer_default, cfg->peer_cpuname ? cfg->peer_cpuname
                                : cfg->role == RPMSG_VIRTIO_HOST ? "remote" : "host");
    vd->state = cfg->role == RPMSG_VIRTIO_HOST ? VS_WAIT_TABLE : VS_WAIT_GEN;
    vd->cfgfmt = rpmsg_virtio_cfgfmt(lay.cfg_format);
    for (int i = 0; i < 2; i++) {
        rpmsg_vring_attach(&vd->vq[i], vd->shm, lay.vring_da[i], lay.num[i], lay.align,
                           lay.notifyid[i]);
        vd->vq[i].free_head = SLOT_NIL;
        if (lay.flags & RPMSG_VIRTIO_LAYOUT_F_BASE)
            vd->vq[i].base_word = vd->shm + lay.base_off;
    }

    r = rpmsg_lock_init(&vd->lock);
    if (r)
        return r;
    struct rpmsg_device_config dc = {
        .local_cpuname = vd->local_name,
        .features = vd->offered,
        .no_rx_thread = cfg->no_rx_thread,
        /* A reader may run the link while it waits (rpmsg_drive): one
         * wake-up less per read of a stream. */
        .lent_rx = true,
    };
    r = rpmsg_device_init(&vd->rdev,
                          vd_host(vd) ? &rpmsg_virtio_ops_host : &rpmsg_virtio_ops_remote,
                          vd, &dc);
    if (r) {
        rpmsg_lock_deinit(&vd->lock);
        return r;
    }

    rpmsg_lock_acquire(&vd->lock);
    if (vd_host(vd)) {
        host_publish(vd);
    } else if (vd->writer) {
        write_table(vd, false);
    } else if (read_table(vd) == 0 && !vd_legacy(vd)) {
        /* A host still running an earlier session of ours must restart it. */
        vw_st8_rel(vd->vdev + VDEV_ACK, 0);
    }
    rpmsg_lock_release(&vd->lock);
    rpmsg_virtio_kick(vd, my_vq(vd));

    r = rpmsg_device_start(&vd->rdev);
    if (r) {
        rpmsg_device_deinit(&vd->rdev);
        rpmsg_lock_deinit(&vd->lock);
        return r;
    }
    return 0;
}

struct rpmsg_device *rpmsg_virtio_get_device(struct rpmsg_virtio *vd)
{
    return vd ? &vd->rdev : NULL;
}

void rpmsg_virtio_deinit(struct rpmsg_virtio *vd)
{
    if (!vd || !vd->rdev.ops)
        return;
    rpmsg_device_deinit(&vd->rdev);
    rpmsg_lock_acquire(&vd->lock);
    go_down(vd, vd->stats.last_down);
    if (vd_host(vd))
        host_unpublish(vd);
    else if (vd->vdev && !vd_legacy(vd))
        vw_st8_rel(vd->vdev + VDEV_ACK, 0);
    else if (vd->vdev)
        /* A legacy remote has no ack: a device that leaves needs a reset. */
        vw_st8_rel(vd->vdev + VDEV_STATUS,
                   vw_ld8(vd->vdev + VDEV_STATUS) | RPMSG_VIRTIO_STATUS_NEEDS_RESET);
    rpmsg_lock_release(&vd->lock);
    rpmsg_virtio_kick(vd, my_vq(vd));
    rpmsg_lock_deinit(&vd->lock);
}

int rpmsg_virtio_get_stats(struct rpmsg_virtio *vd, struct rpmsg_virtio_stats *out)
{
    if (!vd || !out)
        return -EINVAL;
    rpmsg_lock_acquire(&vd->lock);
    *out = vd->stats;
    rpmsg_lock_release(&vd->lock);
    return 0;
}

void *rpmsg_virtio_da_to_va(struct rpmsg_virtio *vd, uint64_t da, uint32_t len)
{
    if (!vd || !vd->shm || da > vd->shm_size || len > vd->shm_size - da)
        return NULL;
    return vd->shm + da;
}
