/*
 * rpmsg_link_open(): a link specification turned into a physical layer plus a
 * transport. The only file that knows both the Linux platform and the
 * transports; neither of them knows the other.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpmsg/rpmsg_link.h"
#include "rpmsg/rpmsg_linux.h"
#include "rpmsg/rpmsg_port.h"
#include "rpmsg/rpmsg_router.h"
#include "rpmsg/rpmsg_virtio.h"

struct rpmsg_link {
    struct rpmsg_linux_link phys;
    struct rpmsg_virtio vdev; /* large; this struct is heap-allocated */
    bool vdev_inited;
    bool nuttx; /* nuttx-sim: link: phys is a NuttX simulator link */
    bool nuttx_host; /* ... and we play its master */
    bool openamp; /* openamp: link */
    struct rpmsg_port *port; /* uart: and spi: links */
    struct rpmsg_tty *tty;
    struct rpmsg_spibus *bus; /* spi: a bus in a named object, opened here */
    struct rpmsg_sem up;
    bool (*cancel)(void *arg);
    void *cancel_arg;
};

/*
 * Simulated SPI buses live in anonymous shared memory, which only forked
 * processes share; a name table is how a spec string finds one.
 */
#define SPIBUS_NAMES_MAX 16
static struct {
    char name[64];
    struct rpmsg_spibus *bus;
    uint32_t clock_hz;
} spibus_names[SPIBUS_NAMES_MAX];
static rpmsg_mutex_t spibus_lock = RPMSG_MUTEX_INITIALIZER;

int rpmsg_link_register_spibus(const char *name, struct rpmsg_spibus *bus, uint32_t clock_hz)
{
    if (!name || !name[0] || strlen(name) >= sizeof(spibus_names[0].name))
        return -EINVAL;
    int r = -ENOSPC, slot = -1;
    rpmsg_mutex_lock(&spibus_lock);
    for (int i = 0; i < SPIBUS_NAMES_MAX; i++) {
        if (spibus_names[i].bus && !strcmp(spibus_names[i].name, name)) {
            slot = i;
            break;
        }
        if (!spibus_names[i].bus && slot < 0)
            slot = i;
    }
    if (slot >= 0) {
        strcpy(spibus_names[slot].name, name);
        spibus_names[slot].bus = bus;
        spibus_names[slot].clock_hz = clock_hz;
        if (!bus)
            spibus_names[slot].name[0] = '\0';
        r = 0;
    }
    rpmsg_mutex_unlock(&spibus_lock);
    return r;
}

static struct rpmsg_spibus *find_spibus(const char *name, uint32_t *clock_hz)
{
    struct rpmsg_spibus *bus = NULL;
    rpmsg_mutex_lock(&spibus_lock);
    for (int i = 0; i < SPIBUS_NAMES_MAX; i++)
        if (spibus_names[i].bus && !strcmp(spibus_names[i].name, name)) {
            bus = spibus_names[i].bus;
            *clock_hz = spibus_names[i].clock_hz;
        }
    rpmsg_mutex_unlock(&spibus_lock);
    return bus;
}

/* Default clock of a bus in a named object created by a spi: spec. */
#define SPI_SHARED_CLOCK_HZ 10000000u

/* "uart:PATH[@BAUD]" or "spi:BUS[@HZ]:master|slave". */
static int open_port(struct rpmsg_link *l, const struct rpmsg_link_config *cfg, bool spi,
                     char *rest)
{
    const char *role_name = cfg->role == RPMSG_LINK_HOST ? "host" : "remote";
    struct rpmsg_port_config pc = {
        .local_cpuname = cfg->cpuname ? cfg->cpuname : role_name,
        .buf_size = cfg->buf_size,
    };
    int r;
    if (spi) {
        char *role = strrchr(rest, ':');
        if (!role || role == rest)
            return -EINVAL;
        *role++ = '\0';
        bool master = !strcmp(role, "master");
        if (!master && strcmp(role, "slave"))
            return -EINVAL;
        uint32_t clock = 0;
        char *at = strrchr(rest, '@');
        if (at) {
            *at++ = '\0';
            char *end;
            clock = (uint32_t)strtoul(at, &end, 10);
            if (*end || !clock)
                return -EINVAL;
        }
        uint32_t registered_clock = 0;
        struct rpmsg_spibus *bus = find_spibus(rest, &registered_clock);
        if (bus) {
            clock = registered_clock;
        } else {
            /* Not one of this process tree's: a bus in /dev/shm/BUS. */
            struct rpmsg_spibus_config bc = { .clock_hz = clock ? clock : SPI_SHARED_CLOCK_HZ };
            r = rpmsg_spibus_open_shared(&l->bus, rest, cfg->side == RPMSG_LINK_CREATE, &bc,
                                         cfg->timeout_ms ? cfg->timeout_ms : 10000);
            if (r)
                return r;
            bus = l->bus;
            clock = rpmsg_spibus_clock(bus);
        }
        pc.link = master ? RPMSG_PORT_SPI_MASTER : RPMSG_PORT_SPI_SLAVE;
        pc.spi = &rpmsg_spibus_ops;
        pc.link_ctx = rpmsg_spibus_end(bus, master);
        pc.line_rate = clock / 8;
    } else {
        char *at = strrchr(rest, '@');
        uint32_t baud = 0;
        if (at) {
            *at++ = '\0';
            char *end;
            baud = (uint32_t)strtoul(at, &end, 10);
            if (*end || !baud)
                return -EINVAL;
        }
        struct rpmsg_tty_config tc = { .path = rest, .baud = baud };
        r = rpmsg_tty_open(&l->tty, &tc);
        if (r)
            return r;
        pc.link = RPMSG_PORT_UART;
        pc.uart = &rpmsg_tty_ops;
        pc.link_ctx = l->tty;
        pc.line_rate = baud / 10;
    }
    r = rpmsg_port_init(&l->port, &pc);
    if (r && l->tty) {
        rpmsg_tty_close(l->tty);
        l->tty = NULL;
    }
    if (r && l->bus) {
        rpmsg_spibus_destroy(l->bus);
        l->bus = NULL;
    }
    return r;
}

/* OpenAMP listener: the table is in place before a host can connect and read it. */
static int write_table_early(void *arg, void *base, size_t size)
{
    struct rpmsg_virtio_config *vc = arg;
    vc->shm = base;
    vc->shm_size = size;
    vc->table_written = true;
    return rpmsg_virtio_write_table(vc);
}

static int open_virtio(struct rpmsg_link *l, const struct rpmsg_link_config *cfg,
                       const char *name, bool openamp, const char *sock)
{
    l->openamp = openamp;
    struct rpmsg_virtio_layout lay;
    struct rpmsg_virtio_config vc = {
        .role = cfg->role == RPMSG_LINK_HOST ? RPMSG_VIRTIO_HOST : RPMSG_VIRTIO_REMOTE,
        .layout = &lay,
        .legacy = openamp,
        .cpuname = cfg->cpuname ? cfg->cpuname : cfg->role == RPMSG_LINK_HOST ? "host" : "remote",
        /* OpenAMP's demos offer the name service only. */
        .features = openamp ? RPMSG_F_NS : cfg->features,
    };
    int r;
    if (openamp) {
        /* In OpenAMP's Linux demos the side that listens writes the table. */
        vc.remote_writes_table = cfg->listen == (cfg->role == RPMSG_LINK_REMOTE);
        struct rpmsg_linux_openamp_config oc = {
            .shm_name = name,
            .sock_path = sock,
            .listen = cfg->listen,
            .timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000,
            .prepare = cfg->listen ? write_table_early : NULL,
            .prepare_arg = &vc,
            .cancel = cfg->cancel,
            .cancel_arg = cfg->cancel_arg,
        };
        rpmsg_virtio_layout_openamp(&lay);
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
            .cancel = cfg->cancel,
            .cancel_arg = cfg->cancel_arg,
            .liveness_ms = cfg->liveness_ms,
        };
        r = rpmsg_linux_open(&l->phys, &lc);
    }
    if (r)
        return r;
    vc.shm = l->phys.base;
    vc.shm_size = l->phys.size;
    vc.ops = &l->phys.ops;
    vc.plat = l->phys.plat;
    r = rpmsg_virtio_init(&l->vdev, &vc);
    if (r) {
        rpmsg_linux_close(&l->phys);
        return r;
    }
    l->vdev_inited = true;
    return 0;
}

/*
 * "nuttx-sim:SHM[:host|remote]": NuttX's simulator link; host plays
 * rpserver (NuttX's master), remote plays rpproxy. Without the suffix the
 * config's role decides.
 */
static int open_nuttx(struct rpmsg_link *l, const struct rpmsg_link_config *cfg, char *rest)
{
    bool host = cfg->role == RPMSG_LINK_HOST;
    char *role = strrchr(rest, ':');
    if (role) {
        *role++ = '\0';
        host = !strcmp(role, "host");
        if (!host && strcmp(role, "remote"))
            return -EINVAL;
    }
    if (!rest[0])
        return -EINVAL;
    struct rpmsg_linux_nuttx_config nc = {
        .shm_name = rest,
        .master = host,
        .host_cpuname = host ? cfg->cpuname : cfg->peer_cpuname,
        .remote_cpuname = host ? cfg->peer_cpuname : cfg->cpuname,
        .poll_ms = cfg->wait == RPMSG_LINK_INTERRUPT ? 1 : 0,
        .timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000,
    };
    int r = rpmsg_linux_open_nuttx_sim(&l->phys, &nc);
    if (r)
        return r;
    struct rpmsg_virtio_layout lay;
    rpmsg_virtio_layout_nuttx_sim(&lay);
    struct rpmsg_virtio_config vc = {
        .role = host ? RPMSG_VIRTIO_HOST : RPMSG_VIRTIO_REMOTE,
        .shm = l->phys.base,
        .shm_size = l->phys.size,
        .layout = &lay,
        /* NuttX's master writes the table; here the platform does, at each
         * boot, so the transport's host only reads it. */
        .remote_writes_table = host,
        .legacy = true,
        .cpuname = cfg->cpuname ? cfg->cpuname : host ? "server" : "proxy",
        .peer_cpuname = cfg->peer_cpuname ? cfg->peer_cpuname : host ? "proxy" : "server",
        .features = RPMSG_F_NS | RPMSG_F_ACK | RPMSG_VIRTIO_F_BUFSZ | RPMSG_VIRTIO_F_CPUNAME,
        .ops = &l->phys.ops,
        .plat = l->phys.plat,
    };
    l->nuttx = true;
    l->nuttx_host = host;
    r = rpmsg_virtio_init(&l->vdev, &vc);
    if (r) {
        rpmsg_linux_close_nuttx_sim(&l->phys, false);
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
    l->cancel = cfg->cancel;
    l->cancel_arg = cfg->cancel_arg;
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
    } else if (!strcmp(kind, "nuttx-sim")) {
        r = open_nuttx(l, cfg, rest);
    } else if (!strcmp(kind, "uart") || !strcmp(kind, "spi")) {
        r = open_port(l, cfg, kind[0] == 's', rest);
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
    if (l && l->port)
        return rpmsg_port_device(l->port);
    return l && l->vdev_inited ? rpmsg_virtio_get_device(&l->vdev) : NULL;
}

bool rpmsg_link_is_dead(struct rpmsg_link *l)
{
    /* A port link recovers by itself; a native VirtIO link, once its peer
     * is gone, stays down until it is reopened. */
    struct rpmsg_virtio_stats st;
    return l && l->vdev_inited && !rpmsg_virtio_get_stats(&l->vdev, &st) && st.link_downs > 0;
}

uint64_t rpmsg_link_errors(struct rpmsg_link *l)
{
    if (!l)
        return 0;
    if (l->port) {
        struct rpmsg_port_stats ps;
        if (rpmsg_port_get_stats(rpmsg_port_device(l->port), &ps))
            return 0;
        return ps.crc_errors + ps.bad_length + ps.truncated + ps.oversized + ps.unknown_cmd +
               ps.lost_on_reset;
    }
    struct rpmsg_virtio_stats st;
    return l->vdev_inited && !rpmsg_virtio_get_stats(&l->vdev, &st) ? st.faults : 0;
}

/* A port link has no faults (a bad frame is dropped and resent); it goes
 * down when its peer goes silent or comes back with a new session, or in
 * order when the peer closes it (BYE). */
static int port_trouble(struct rpmsg_link *l, char *buf, size_t size)
{
    struct rpmsg_port_stats st;
    if (rpmsg_port_get_stats(rpmsg_link_device(l), &st))
        return RPMSG_LINK_DOWN_NONE;
    if (st.last_end == RPMSG_PORT_END_CLOSED) {
        if (buf && size)
            snprintf(buf, size, "down: the peer closed the link");
        return RPMSG_LINK_DOWN_CLOSED;
    }
    const char *why = st.peer_timeouts ? "down: peer silent: nothing heard within the peer "
                                         "timeout (dead, or the line cut)"
                      : st.peer_resets ? "down: the peer restarted"
                                       : NULL;
    if (!why)
        return RPMSG_LINK_DOWN_NONE;
    if (buf && size)
        snprintf(buf, size, "%s", why);
    return RPMSG_LINK_DOWN_DEAD;
}

int rpmsg_link_trouble(struct rpmsg_link *l, char *buf, size_t size)
{
    struct rpmsg_virtio_stats st;
    if (buf && size)
        buf[0] = '\0';
    if (l && !l->vdev_inited)
        return port_trouble(l, buf, size);
    if (!l || rpmsg_virtio_get_stats(&l->vdev, &st))
        return RPMSG_LINK_DOWN_NONE;
    int why = st.faults ? RPMSG_LINK_DOWN_FAULT
              : st.last_down == RPMSG_VIRTIO_DOWN_DEAD ? RPMSG_LINK_DOWN_DEAD
              : st.last_down == RPMSG_VIRTIO_DOWN_CLOSED ? RPMSG_LINK_DOWN_CLOSED
                                                        : RPMSG_LINK_DOWN_NONE;
    if (!buf || !size)
        return why;
    if (why == RPMSG_LINK_DOWN_FAULT) {
        char f[160];
        rpmsg_virtio_fault_text(&st, l->vdev.role == RPMSG_VIRTIO_HOST, f, sizeof(f));
        snprintf(buf, size, "fault: %s, %llu fault%s", f, (unsigned long long)st.faults,
                 st.faults == 1 ? "" : "s");
    } else if (why == RPMSG_LINK_DOWN_DEAD) {
        snprintf(buf, size, "down: the peer died");
    } else if (why == RPMSG_LINK_DOWN_CLOSED) {
        snprintf(buf, size, "down: the peer closed it");
    }
    return why;
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
    /* In slices, so that the cancel hook is asked every few ms. */
    uint64_t deadline = rpmsg_deadline(timeout_ms);
    for (;;) {
        uint64_t now = rpmsg_time_ms();
        uint32_t slice = now >= deadline ? 0 : deadline - now > 20 ? 20 : (uint32_t)(deadline - now);
        r = rpmsg_wait_timeout(NULL, &l->up, slice);
        if (r != -ETIMEDOUT || now >= deadline)
            break;
        if (l->cancel && l->cancel(l->cancel_arg)) {
            r = -ECANCELED;
            break;
        }
    }
    rpmsg_unregister_callback(l, up_cb, NULL, NULL, NULL);
    return r;
}

int rpmsg_link_info(struct rpmsg_link *l, struct rpmsg_link_info *out)
{
    if (!l || !out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (l->port) {
        out->kind = l->tty ? "uart" : "spi";
        uint32_t size;
        int r = rpmsg_port_get_bufs(rpmsg_port_device(l->port), &out->tx_bufs, &out->rx_bufs,
                                    &size);
        out->tx_buf_size = out->rx_buf_size = size;
        return r;
    }
    out->kind = l->nuttx ? "nuttx-sim" : l->openamp ? "openamp" : "virtio";
    /* vring0 carries remote -> host, vring1 host -> remote. */
    const struct rpmsg_virtio_vq *tx = &l->vdev.vq[l->vdev.role == RPMSG_VIRTIO_HOST ? 1 : 0];
    const struct rpmsg_virtio_vq *rx = &l->vdev.vq[l->vdev.role == RPMSG_VIRTIO_HOST ? 0 : 1];
    out->tx_bufs = tx->num;
    out->rx_bufs = rx->num;
    out->tx_buf_size = tx->buf_size;
    out->rx_buf_size = rx->buf_size;
    return 0;
}

int rpmsg_link_describe(struct rpmsg_link *l, char *buf, size_t size)
{
    if (!l || !buf || !size)
        return -EINVAL;
    if (l->port) {
        struct rpmsg_port_stats ps;
        int r = rpmsg_port_get_stats(rpmsg_port_device(l->port), &ps);
        if (r)
            return r;
        int n = snprintf(buf, size,
                         "frames_tx=%llu frames_rx=%llu line_bytes_tx=%llu line_bytes_rx=%llu "
                         "retransmits=%llu crc_errors=%llu connects=%llu peer_resets=%llu",
                         (unsigned long long)ps.tx_frames, (unsigned long long)ps.rx_frames,
                         (unsigned long long)ps.tx_line_bytes, (unsigned long long)ps.rx_line_bytes,
                         (unsigned long long)ps.retransmits, (unsigned long long)ps.crc_errors,
                         (unsigned long long)ps.connects, (unsigned long long)ps.peer_resets);
        return n < 0 ? -EINVAL : n;
    }
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
    if (l->port) {
        rpmsg_port_bye(l->port); /* closed, not dead: the peer need not time out */
        rpmsg_port_deinit(l->port);
    }
    if (l->tty)
        rpmsg_tty_close(l->tty);
    if (l->bus)
        rpmsg_spibus_destroy(l->bus);
    /* A NuttX master sends one NS destroy per endpoint when it tears its
     * session down and asserts if its 8 TX buffers run out (nuttx_sim.c). So
     * a slave first withdraws its names, link up, and lets the master drop
     * what it made for them; then it leaves after its transport has stopped,
     * returning the master's buffers during the teardown (nothing else may
     * touch the rings meanwhile). */
    if (l->nuttx && !l->nuttx_host && l->vdev_inited) {
        /* Also lets what our endpoints' own destroys started finish. */
        rpmsg_device_withdraw(rpmsg_virtio_get_device(&l->vdev));
        rpmsg_linux_nuttx_sim_settle(&l->phys, 100, 2000);
    }
    if (l->nuttx && l->nuttx_host)
        rpmsg_linux_nuttx_sim_leave(&l->phys);
    if (l->vdev_inited)
        rpmsg_virtio_deinit(&l->vdev);
    if (l->nuttx && !l->nuttx_host)
        rpmsg_linux_nuttx_sim_leave(&l->phys);
    if (l->nuttx)
        rpmsg_linux_close_nuttx_sim(&l->phys, false); /* NuttX leaves it too */
    else
        rpmsg_linux_close(&l->phys);
    rpmsg_sem_deinit(&l->up);
    free(l);
}

/* ---- Joining an `rpmsg sim` topology --------------------------------------- */



struct rpmsg_link_member {
    char cpuname[RPMSG_CPUNAME_SIZE];
    struct rpmsg_router *router;
    struct rpmsg_link *link[RPMSG_ROUTER_LINKS_MAX];
    int nlinks;
};

void rpmsg_link_leave(struct rpmsg_link_member *m)
{
    if (!m)
        return;
    if (m->router)
        rpmsg_router_destroy(m->router);
    for (int i = 0; i < m->nlinks; i++)
        rpmsg_link_close(m->link[i]);
    free(m);
}

/* One "SPEC,host|remote" entry of RPMSG_SIM_LINKS. */
static int join_link(struct rpmsg_link_member *m, char *entry, uint32_t timeout_ms)
{
    char *role = strrchr(entry, ',');
    if (!role || m->nlinks == RPMSG_ROUTER_LINKS_MAX)
        return -EINVAL;
    *role++ = '\0';
    bool host = !strcmp(role, "host");
    if (!host && strcmp(role, "remote"))
        return -EINVAL;
    struct rpmsg_link_config cfg = {
        .spec = entry,
        .role = host ? RPMSG_LINK_HOST : RPMSG_LINK_REMOTE,
        /* The sim made every SPI bus (a named object): both ends attach. */
        .side = host && strncmp(entry, "spi:", 4) ? RPMSG_LINK_CREATE : RPMSG_LINK_ATTACH,
        .cpuname = m->cpuname,
        .timeout_ms = timeout_ms,
    };
    int r = rpmsg_link_open(&m->link[m->nlinks], &cfg);
    if (r)
        return r;
    r = rpmsg_router_attach(m->router, rpmsg_link_device(m->link[m->nlinks]));
    if (r) {
        rpmsg_link_close(m->link[m->nlinks]);
        return r;
    }
    m->nlinks++;
    return 0;
}

int rpmsg_link_join(struct rpmsg_link_member **out, uint32_t timeout_ms)
{
    const char *name = getenv("RPMSG_SIM_CORE"), *links = getenv("RPMSG_SIM_LINKS");
    const char *hub = getenv("RPMSG_SIM_HUB");
    if (!out)
        return -EINVAL;
    if (!name || !links)
        return -ENOENT;
    if (!name[0] || strlen(name) >= RPMSG_CPUNAME_SIZE || strlen(links) >= 4096)
        return -EINVAL;
    struct rpmsg_link_member *m = calloc(1, sizeof(*m));
    char *list = strdup(links);
    if (!m || !list) {
        free(m);
        free(list);
        return -ENOMEM;
    }
    strcpy(m->cpuname, name);
    struct rpmsg_router_config rc = {
        .local_cpuname = m->cpuname,
        .hub = hub && !strcmp(hub, "1"),
    };
    int r = rpmsg_router_create(&m->router, &rc);
    char *save = NULL;
    for (char *e = strtok_r(list, ";", &save); e && !r; e = strtok_r(NULL, ";", &save))
        r = join_link(m, e, timeout_ms ? timeout_ms : 10000);
    free(list);
    if (r) {
        rpmsg_link_leave(m);
        return r;
    }
    *out = m;
    return 0;
}

const char *rpmsg_link_member_cpuname(struct rpmsg_link_member *m)
{
    return m ? m->cpuname : NULL;
}

struct rpmsg_router *rpmsg_link_member_router(struct rpmsg_link_member *m)
{
    return m ? m->router : NULL;
}

struct rpmsg_link *rpmsg_link_member_link(struct rpmsg_link_member *m, int i)
{
    return m && i >= 0 && i < m->nlinks ? m->link[i] : NULL;
}
