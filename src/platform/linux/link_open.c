/*
 * rpmsg_link_open(): a link specification turned into a physical layer plus a
 * transport. The only file that knows both the Linux platform and the
 * transports; neither of them knows the other.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpmsg/rpmsg_link.h"
#include "rpmsg/rpmsg_linux.h"
#include "rpmsg/rpmsg_virtio.h"

struct rpmsg_link {
    struct rpmsg_linux_link phys;
    struct rpmsg_virtio vdev; /* large; this struct is heap-allocated */
    bool vdev_inited;
    struct rpmsg_sem up;
};

static int open_virtio(struct rpmsg_link *l, const struct rpmsg_link_config *cfg,
                       const char *name, bool openamp, const char *sock)
{
    struct rpmsg_virtio_layout lay;
    bool remote_writes = false;
    int r;
    if (openamp) {
        struct rpmsg_linux_openamp_config oc = {
            .shm_name = name,
            .sock_path = sock,
            .listen = cfg->listen,
            .timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000,
        };
        rpmsg_virtio_layout_openamp(&lay);
        /* In OpenAMP's Linux demos the side that listens writes the table. */
        remote_writes = cfg->listen == (cfg->role == RPMSG_LINK_REMOTE);
        r = rpmsg_linux_open_openamp(&l->phys, &oc);
    } else {
        struct rpmsg_virtio_layout_params p = {
            .num = { cfg->num_bufs, cfg->num_bufs },
            .buf_size = { cfg->buf_size, cfg->buf_size },
        };
        size_t size = rpmsg_virtio_layout_default(&lay, &p);
        if (!size)
            return -EINVAL;
        static const enum rpmsg_linux_mode modes[] = {
            [RPMSG_LINK_ADAPTIVE] = RPMSG_LINUX_ADAPTIVE,
            [RPMSG_LINK_POLL] = RPMSG_LINUX_POLL,
            [RPMSG_LINK_INTERRUPT] = RPMSG_LINUX_INTERRUPT,
        };
        struct rpmsg_linux_config lc = {
            .name = name,
            .side = cfg->side == RPMSG_LINK_CREATE ? RPMSG_LINUX_CREATOR : RPMSG_LINUX_ATTACHER,
            .region_size = cfg->side == RPMSG_LINK_CREATE ? size : 0,
            .mode = modes[cfg->wait <= RPMSG_LINK_INTERRUPT ? cfg->wait : 0],
            .timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000,
        };
        r = rpmsg_linux_open(&l->phys, &lc);
    }
    if (r)
        return r;
    struct rpmsg_virtio_config vc = {
        .role = cfg->role == RPMSG_LINK_HOST ? RPMSG_VIRTIO_HOST : RPMSG_VIRTIO_REMOTE,
        .shm = l->phys.base,
        .shm_size = l->phys.size,
        .layout = &lay,
        .remote_writes_table = remote_writes,
        .legacy = openamp,
        .cpuname = cfg->cpuname ? cfg->cpuname : cfg->role == RPMSG_LINK_HOST ? "host" : "remote",
        /* OpenAMP's demos offer the name service only. */
        .features = openamp ? RPMSG_F_NS : 0,
        .ops = &l->phys.ops,
        .plat = l->phys.plat,
    };
    r = rpmsg_virtio_init(&l->vdev, &vc);
    if (r) {
        rpmsg_linux_close(&l->phys);
        return r;
    }
    l->vdev_inited = true;
    return 0;
}

int rpmsg_link_open(struct rpmsg_link **out, const struct rpmsg_link_config *cfg)
{
    if (!out || !cfg || !cfg->spec)
        return -EINVAL;
    char spec[512];
    if (strlen(cfg->spec) >= sizeof(spec))
        return -ENAMETOOLONG;
    strcpy(spec, cfg->spec);
    char *kind = spec, *rest = strchr(spec, ':');
    if (!rest || !rest[1])
        return -EINVAL;
    *rest++ = '\0';

    struct rpmsg_link *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    int r = rpmsg_sem_init(&l->up, 0);
    if (r) {
        free(l);
        return r;
    }
    if (!strcmp(kind, "virtio")) {
        r = open_virtio(l, cfg, rest, false, NULL);
    } else if (!strcmp(kind, "openamp")) {
        char *sock = strchr(rest, ':');
        if (!sock || sock == rest || !sock[1])
            r = -EINVAL;
        else {
            *sock++ = '\0';
            r = open_virtio(l, cfg, rest, true, sock);
        }
    } else {
        r = -EPROTONOSUPPORT;
    }
    if (r) {
        rpmsg_sem_deinit(&l->up);
        free(l);
        return r;
    }
    *out = l;
    return 0;
}

struct rpmsg_device *rpmsg_link_device(struct rpmsg_link *l)
{
    return l && l->vdev_inited ? rpmsg_virtio_get_device(&l->vdev) : NULL;
}

static void up_cb(struct rpmsg_device *rdev, void *priv)
{
    struct rpmsg_link *l = priv;
    if (rdev == rpmsg_link_device(l))
        rpmsg_post(NULL, &l->up);
}

int rpmsg_link_wait_up(struct rpmsg_link *l, uint32_t timeout_ms)
{
    if (!l)
        return -EINVAL;
    /* Registering replays a link that is already up, so this cannot miss it. */
    int r = rpmsg_register_callback(l, up_cb, NULL, NULL, NULL);
    if (r)
        return r;
    r = rpmsg_wait_timeout(NULL, &l->up, timeout_ms);
    rpmsg_unregister_callback(l, up_cb, NULL, NULL, NULL);
    return r;
}

int rpmsg_link_describe(struct rpmsg_link *l, char *buf, size_t size)
{
    if (!l || !buf || !size)
        return -EINVAL;
    struct rpmsg_virtio_stats st;
    int r = rpmsg_virtio_get_stats(&l->vdev, &st);
    if (r)
        return r;
    int n = snprintf(buf, size,
                     "notify_sent=%llu notify_suppressed=%llu notify_received=%llu faults=%llu "
                     "link_ups=%u link_downs=%u",
                     (unsigned long long)st.notify_sent, (unsigned long long)st.notify_suppressed,
                     (unsigned long long)st.notify_received, (unsigned long long)st.faults,
                     st.link_ups, st.link_downs);
    return n < 0 ? -EINVAL : n;
}

void rpmsg_link_close(struct rpmsg_link *l)
{
    if (!l)
        return;
    if (l->vdev_inited)
        rpmsg_virtio_deinit(&l->vdev);
    rpmsg_linux_close(&l->phys);
    rpmsg_sem_deinit(&l->up);
    free(l);
}
