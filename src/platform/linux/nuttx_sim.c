/*
 * The NuttX simulator's shared-memory link (arch/sim sim_rptun.c,
 * nuttx-wire.md §4) as a platform under the VirtIO transport: the region,
 * the boot words, and notification by counters.
 *
 * Header of the region (little-endian):
 *   @0  u64 base   the master's virtual address of the object; descriptor
 *                  addresses are base + offset (the transport translates)
 *   @8  u32 seqs   the slave's notify counter; @12 u32 seqm the master's
 *   @16 u32 boots  the slave's status;        @20 u32 bootm the master's
 *                  BOOT 1, OK 2, NEED_RESET 4
 * then the resource table at 24, whose reserved words are NuttX's command
 * words (cmd_master @32, cmd_slave @36).
 *
 * Boot, as NuttX does it. Master: table, base, NEED_RESET into boots if the
 * slave was OK (it must restart), bootm = BOOT; once boots has BOOT,
 * bootm = OK. Slave: NEED_RESET into bootm if it was OK before (the master
 * must restart), boots = BOOT; once bootm has OK, boots = OK. Either side
 * seeing NEED_RESET in its own word starts over. All of this runs in
 * peer_alive(), which the transport calls on every poll(): -ENOTCONN until
 * the handshake is done, 0 while up; a restart of the peer shows as a
 * -ENOTCONN, then 0 again, and the transport brings the link back.
 *
 * NuttX polls the counters every 1 ms; our wait() spins briefly on the
 * peer's counter (and the boot words), then sleeps in growing slices up to
 * 1 ms on a futex of our own, which wakeup() rings.
 *
 * A NuttX side that powers off unlinks the name; its successor makes a new
 * object. While the link is not up we therefore look at the name now and
 * then and, when it names another object, map that one over ours
 * (MAP_FIXED: the transport's pointers stay valid).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "platform/linux/linux_priv.h"
#include "platform/linux/nuttx_sim.h"

/* Resource table entry offsets relative to the table (sim_rptun.c's struct). */
#define T_OFFSETS 16u
#define T_RPMSG_VDEV 131320u
#define T_RPMSG_CARVEOUT 131452u
#define RSC_VDEV_TYPE 3u
#define RSC_CARVEOUT_TYPE 0u
#define CARVEOUT_LEN 0x10000u

struct nx_plat {
    int fd;
    uint8_t *map;
    char path[16 + RPMSG_LINUX_NAME_MAX];
    char name[RPMSG_LINUX_NAME_MAX + 1];
    dev_t dev;
    ino_t ino;
    bool master;
    uint32_t poll_ms; /* 0: adaptive */
    char host_name[8], remote_name[8];
    pthread_mutex_t lock;
    int state;
    bool peer_ok; /* master: the slave has said OK in this session */
    uint64_t next_name_check;
    _Atomic uint32_t wake; /* futex word: wakeup() bumps it */
    _Atomic uint32_t wake_seen;
    _Atomic uint64_t seen; /* snapshot() when wait() last returned */
    _Atomic uint32_t left;
};

enum { NX_START, NX_WAIT, NX_UP };

static _Atomic uint32_t *word(struct nx_plat *p, uint32_t off)
{
    return (_Atomic uint32_t *)(void *)(p->map + off);
}

static uint32_t ld(struct nx_plat *p, uint32_t off)
{
    return atomic_load(word(p, off));
}

static void st(struct nx_plat *p, uint32_t off, uint32_t v)
{
    atomic_store(word(p, off), v);
}

static uint32_t my_boot(struct nx_plat *p)
{
    return p->master ? NX_SIM_BOOTM : NX_SIM_BOOTS;
}

static uint32_t peer_boot(struct nx_plat *p)
{
    return p->master ? NX_SIM_BOOTS : NX_SIM_BOOTM;
}

static uint32_t peer_seq(struct nx_plat *p)
{
    return p->master ? NX_SIM_SEQS : NX_SIM_SEQM;
}


static void put32(uint8_t *b, uint32_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[off + (uint32_t)i] = (uint8_t)(v >> (8 * i));
}

void rpmsg_nuttx_sim_write_table(uint8_t *region, const char *host_name, const char *remote_name)
{
    uint8_t *t = region + NX_SIM_TABLE;
    /* Only the rpmsg vdev and its carve-out are listed: the entropy devices'
     * bytes in between stay as they are. */
    memset(t, 0, T_OFFSETS + 8);
    put32(t, 0, 1);
    put32(t, 4, 2);
    put32(t, T_OFFSETS, T_RPMSG_VDEV);
    put32(t, T_OFFSETS + 4, T_RPMSG_CARVEOUT);

    struct rpmsg_virtio_layout l;
    rpmsg_virtio_layout_nuttx_sim(&l);
    uint8_t *v = t + T_RPMSG_VDEV;
    memset(v, 0, T_RPMSG_CARVEOUT + 56 - T_RPMSG_VDEV);
    put32(v, 0, RSC_VDEV_TYPE);
    put32(v, 4, RPMSG_VIRTIO_ID_RPMSG);
    put32(v, 8, l.vdev_notifyid);
    put32(v, 12, RPMSG_F_NS | RPMSG_F_ACK | RPMSG_VIRTIO_F_BUFSZ | RPMSG_VIRTIO_F_CPUNAME);
    put32(v, 20, 64); /* config_len */
    v[25] = 2;        /* num_of_vrings; status, reserved[0] (the master is the driver: 0) */
    for (uint32_t i = 0; i < 2; i++) {
        uint8_t *r = v + 28 + 20 * i;
        put32(r, 0, l.vring_da[i]);
        put32(r, 4, l.align);
        put32(r, 8, l.num[i]);
        put32(r, 12, l.notifyid[i]);
    }
    uint8_t *c = v + 68;
    put32(c, 0, l.buf_size[1]);
    put32(c, 4, l.buf_size[0]);
    strncpy((char *)c + 24, host_name, 7);
    strncpy((char *)c + 32, remote_name, 7);
    uint8_t *co = t + T_RPMSG_CARVEOUT;
    put32(co, 0, RSC_CARVEOUT_TYPE);
    put32(co, 4, NX_SIM_CARVEOUT);
    put32(co, 8, 0xFFFFFFFFu);
    put32(co, 12, CARVEOUT_LEN);
    memcpy(co + 24, "rpmsg0_shm", 10);
}

/* Master: a fresh table and base, then BOOT (NuttX's get_resource). Lock held. */
static void master_boot(struct nx_plat *p)
{
    st(p, NX_SIM_BOOTM, 0);
    rpmsg_nuttx_sim_write_table(p->map, p->host_name, p->remote_name);
    uint64_t base = (uintptr_t)p->map;
    atomic_store((_Atomic uint64_t *)(void *)p->map, base);
    if (ld(p, NX_SIM_BOOTS) & NX_SIM_OK)
        st(p, NX_SIM_BOOTS, NX_SIM_NEED_RESET);
    st(p, NX_SIM_BOOTM, NX_SIM_BOOT);
    p->state = NX_WAIT;
}

static int map_object(struct nx_plat *p, int fd, bool fixed)
{
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return -errno;
    if ((size_t)sb.st_size < NX_SIM_SIZE)
        return -EAGAIN;
    void *m = mmap(fixed ? p->map : NULL, NX_SIM_SIZE, PROT_READ | PROT_WRITE,
                   MAP_SHARED | (fixed ? MAP_FIXED : 0), fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = fd;
    p->map = m;
    p->dev = sb.st_dev;
    p->ino = sb.st_ino;
    return 0;
}

/* Opens (master: creates if missing) the object by name and maps it. */
static int open_object(struct nx_plat *p, bool fixed)
{
    int fd = open(p->path, O_RDWR | O_CLOEXEC | (p->master ? O_CREAT : 0), 0600);
    if (fd < 0)
        return -errno;
    struct stat sb;
    if (p->master && fstat(fd, &sb) == 0 && (size_t)sb.st_size < NX_SIM_SIZE &&
        ftruncate(fd, NX_SIM_SIZE) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    int r = map_object(p, fd, fixed);
    if (r)
        close(fd);
    return r;
}

/* Not up: has the name been given to another object (a restarted peer)? Lock held. */
static bool follow_name(struct nx_plat *p)
{
    uint64_t now = rpmsg_time_ms();
    if (now < p->next_name_check)
        return false;
    p->next_name_check = now + 100;
    struct stat sb;
    if (stat(p->path, &sb) == 0) {
        if (sb.st_dev == p->dev && sb.st_ino == p->ino)
            return false;
        if (!p->master && (size_t)sb.st_size < NX_SIM_SIZE)
            return false; /* being set up */
    } else if (!p->master) {
        return false;
    }
    return open_object(p, true) == 0;
}

/*
 * The master's TX buffers must come back whenever it tears a session down:
 * on the NEED_RESET of a slave it sends one name-service destroy per
 * endpoint from a thread that cannot wait for its partner to process
 * anything, and asserts when its 8 TX buffers run out (open-amp's
 * rpmsg_virtio.c, "Panic remote cpu"). Two cases:
 * - A slave of ours that died left the buffers it had been handed
 *   unreturned (vring1's avail entries past its used index), and the master
 *   does not notice a dead slave. So before a new slave says NEED_RESET it
 *   returns them on the dead session's behalf, and again whatever the
 *   master sends meanwhile, until nothing has been outstanding for a while
 *   (a master thread that was blocked for a buffer finishes).
 * - A slave of ours that leaves cleanly returns everything, says
 *   NEED_RESET and, its transport stopped, keeps returning what the master
 *   sends during its teardown until the master starts its next session
 *   (BOOT: the rings are its own again) or is quiet after taking the
 *   NEED_RESET. (Not after a dead session's drain: a new slave spinning
 *   there kept the real rpserver's next session from coming up, not
 *   understood; so a dead slave's successor relies on the master having
 *   at most 8 endpoints towards it.)
 * NuttX's sender does not wait when it finds no buffer outside its RX
 * thread (its notify_wait says -EAGAIN and the assert follows at once), so
 * during a teardown we spin: a returned buffer must be there by the time
 * it asks for the next one (20 destroys in about 1 ms, measured). That race
 * is lost under load (4 of 5 runs at load 4-6), so the main defence is
 * before: a leaving slave first withdraws its names with the link up
 * (rpmsg_link_close), and the master drops what it made for them from its
 * RX thread, which can wait; its teardown then needs only its own 8.
 * Buffers are returned in order (ours are), so the outstanding ones are the
 * avail entries from the used index on. Bounded.
 */
#define DRAIN_QUIET_MS 30u     /* dead session: the master is not tearing down yet */
#define LEAVE_QUIET_MS 200u    /* leaving: the master took NEED_RESET and sent nothing since */
#define LEAVE_UNSEEN_MS 500u   /* leaving: the master never looked (dead or stopped) */
#define DRAIN_MAX_MS 3000u

struct nx_ring {
    uint32_t desc, avail, used, num;
};

/* Where the table says vring1 is, checked against the carve-out; false if not sane. */
static bool tx_ring(struct nx_plat *p, struct nx_ring *r)
{
    const uint8_t *e = p->map + NX_SIM_TABLE + T_RPMSG_VDEV + 28 + 20;
    uint32_t da = (uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 | (uint32_t)e[3] << 24;
    uint32_t align = (uint32_t)e[4] | (uint32_t)e[5] << 8;
    uint32_t num = (uint32_t)e[8] | (uint32_t)e[9] << 8;
    if (num == 0 || num > 256 || (num & (num - 1)) || align < 4 || align > 4096 || (align & (align - 1)) ||
        (da & 3) || da < NX_SIM_CARVEOUT)
        return false;
    r->num = num;
    r->desc = da;
    r->avail = da + 16 * num;
    r->used = (r->avail + 6 + 2 * num + align - 1) & ~(align - 1);
    return (uint64_t)r->used + 4 + 8 * num <= NX_SIM_CARVEOUT + CARVEOUT_LEN;
}

static uint16_t ld16(struct nx_plat *p, uint32_t off)
{
    return atomic_load((_Atomic uint16_t *)(void *)(p->map + off));
}

/* Returns what is outstanding on vring1; the number returned. */
static uint32_t give_back(struct nx_plat *p, const struct nx_ring *r)
{
    uint16_t avail = ld16(p, r->avail + 2), used = ld16(p, r->used + 2);
    uint16_t n = (uint16_t)(avail - used);
    if (n > r->num)
        return 0; /* not a ring we understand: leave it alone */
    for (uint16_t k = 0; k < n; k++) {
        uint16_t id = ld16(p, r->avail + 4 + 2 * ((uint16_t)(used + k) % r->num));
        if (id >= r->num)
            return k;
        uint32_t e = r->used + 4 + 8 * ((uint16_t)(used + k) % r->num);
        st(p, e, id);
        st(p, e + 4, ld(p, r->desc + 16 * id + 8)); /* the whole buffer, as a slave returns it */
        /* A master starting over zeroes its rings (avail first) and then
         * says BOOT: a stale index must not land in its fresh ring. */
        uint16_t a2 = ld16(p, r->avail + 2);
        if ((uint16_t)(a2 - used) > r->num || (uint16_t)(a2 - used) <= k ||
            (ld(p, NX_SIM_BOOTM) & NX_SIM_BOOT))
            return k;
        atomic_store((_Atomic uint16_t *)(void *)(p->map + r->used + 2), (uint16_t)(used + k + 1));
    }
    if (n)
        atomic_fetch_add(word(p, NX_SIM_SEQS), 1);
    return n;
}

static void drain(struct nx_plat *p, bool leaving)
{
    struct nx_ring r;
    if (!tx_ring(p, &r))
        return;
    uint64_t start = rpmsg_time_ms(), quiet_since = start;
    while (rpmsg_time_ms() - start < DRAIN_MAX_MS) {
        uint32_t m = ld(p, NX_SIM_BOOTM);
        /* A master that starts over rewrites its rings: hands off. Dead
         * session: it lost OK by itself; leaving: it says BOOT (or OK). */
        if (leaving ? (m & (NX_SIM_BOOT | NX_SIM_OK)) != 0 : !(m & NX_SIM_OK))
            break;
        uint32_t quiet_ms = !leaving ? DRAIN_QUIET_MS : (m & NX_SIM_NEED_RESET) ? LEAVE_UNSEEN_MS
                                                                                : LEAVE_QUIET_MS;
        if (give_back(p, &r))
            quiet_since = rpmsg_time_ms();
        else if (rpmsg_time_ms() - quiet_since >= quiet_ms)
            break;
        if (leaving)
            rpmsg_linux_cpu_relax(); /* the master cannot wait: be there at once */
        else
            usleep(1000);
    }
}

static int nx_alive(void *plat)
{
    struct nx_plat *p = plat;
    pthread_mutex_lock(&p->lock);
    /* Under the lock: a master leaves while its transport still runs, and a
     * look that raced its leave would boot the session it just ended. */
    if (atomic_load(&p->left)) {
        pthread_mutex_unlock(&p->lock);
        return -ENOTCONN;
    }
    int r = -ENOTCONN;
    uint32_t mine = ld(p, my_boot(p)), peer = ld(p, peer_boot(p));
    switch (p->state) {
    case NX_START:
        if (p->master) {
            master_boot(p);
        } else {
            bool reset = mine & NX_SIM_OK;
            if (reset) {
                if (peer & NX_SIM_OK)
                    drain(p, false);
                st(p, NX_SIM_BOOTM, NX_SIM_NEED_RESET);
            }
            /* At once: a master tearing down while our word still says OK
             * takes it for a shutdown of both (it unlinks the object). */
            st(p, NX_SIM_BOOTS, NX_SIM_BOOT);
            p->state = NX_WAIT;
        }
        break;
    case NX_WAIT:
        if (p->master) {
            if (mine & NX_SIM_NEED_RESET) {
                master_boot(p);
            } else if (peer & NX_SIM_BOOT) {
                st(p, NX_SIM_BOOTM, NX_SIM_OK);
                p->state = NX_UP;
                p->peer_ok = false;
                r = 0;
            } else if (follow_name(p)) {
                master_boot(p);
            }
        } else if (peer & NX_SIM_OK && ld(p, NX_SIM_BASE) != 0) {
            st(p, NX_SIM_BOOTS, NX_SIM_OK);
            p->state = NX_UP;
            r = 0;
        } else if (mine & NX_SIM_NEED_RESET || !mine || follow_name(p)) {
            p->state = NX_START; /* the master started again meanwhile */
        }
        break;
    case NX_UP: {
        /* NEED_RESET in our word: the peer restarted. Our word lost OK, or
         * the peer's lost what it had: it was reset or left. A command from
         * a master: it stops (NuttX powers off). */
        bool gone = (mine & NX_SIM_NEED_RESET) || !(mine & NX_SIM_OK);
        if (p->master) {
            /* A slave goes from BOOT to OK a moment after we say OK. */
            if (peer & NX_SIM_OK)
                p->peer_ok = true;
            gone |= !(peer & (NX_SIM_BOOT | NX_SIM_OK)) || (p->peer_ok && !(peer & NX_SIM_OK));
        } else {
            gone |= !(peer & NX_SIM_OK) || ld(p, NX_SIM_CMD_MASTER);
        }
        if (!gone) {
            r = 0;
        } else if (p->master) {
            master_boot(p);
        } else {
            st(p, NX_SIM_BOOTS, 0);
            p->state = NX_START;
        }
        break;
    }
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

static int nx_notify(void *plat, uint32_t notifyid)
{
    struct nx_plat *p = plat;
    (void)notifyid; /* one counter per side: the peer checks every vring */
    atomic_fetch_add(word(p, p->master ? NX_SIM_SEQM : NX_SIM_SEQS), 1);
    return 0;
}

static long futex(_Atomic uint32_t *w, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, w, op, val, ts, NULL, 0);
}

/* What the peer can change that we must look at: its counter and both status words. */
static uint64_t snapshot(struct nx_plat *p)
{
    return (uint64_t)ld(p, peer_seq(p)) << 32 ^ (uint64_t)ld(p, NX_SIM_BOOTS) << 8 ^
           ld(p, NX_SIM_BOOTM) ^ (uint64_t)ld(p, NX_SIM_CMD_MASTER) << 16;
}

/* Anything new since the last return? If so, that is what the next one saw. */
static bool changed(struct nx_plat *p, uint64_t snap, uint32_t w)
{
    uint64_t now = snapshot(p);
    uint32_t wk = atomic_load(&p->wake);
    if (now == snap && wk == w)
        return false;
    atomic_store(&p->seen, now);
    atomic_store(&p->wake_seen, wk);
    return true;
}

#define SPIN_NS 20000u
#define SLICE_MIN_US 50u
#define SLICE_MAX_US 1000u

static int nx_wait(void *plat, uint64_t deadline_ms)
{
    struct nx_plat *p = plat;
    /* Compared with what the last return saw, not with what is there now:
     * a peer that counts between our caller's poll() and this call must
     * not be slept through. */
    uint32_t w = atomic_load(&p->wake_seen);
    uint64_t snap = atomic_load(&p->seen);
    if (!p->poll_ms) {
        uint64_t until = rpmsg_linux_now_ns() + SPIN_NS;
        do {
            if (changed(p, snap, w))
                return 0;
            rpmsg_linux_cpu_relax();
        } while (rpmsg_linux_now_ns() < until);
    }
    uint32_t slice_us = p->poll_ms ? p->poll_ms * 1000u : SLICE_MIN_US;
    for (;;) {
        uint64_t now = rpmsg_time_ms();
        if (deadline_ms != RPMSG_FOREVER && now >= deadline_ms)
            return -ETIMEDOUT;
        uint64_t us = slice_us;
        if (deadline_ms != RPMSG_FOREVER && (deadline_ms - now) * 1000 < us)
            us = (deadline_ms - now) * 1000;
        struct timespec ts = { .tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000 };
        futex(&p->wake, FUTEX_WAIT_PRIVATE, w, &ts);
        if (changed(p, snap, w))
            return 0;
        if (!p->poll_ms && slice_us < SLICE_MAX_US)
            slice_us *= 2;
    }
}

static void nx_wakeup(void *plat)
{
    struct nx_plat *p = plat;
    atomic_fetch_add(&p->wake, 1);
    futex(&p->wake, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL);
}

static const struct rpmsg_virtio_platform_ops nx_ops = {
    .notify = nx_notify,
    .wait = nx_wait,
    .wakeup = nx_wakeup,
    .peer_alive = nx_alive,
};

static void copy8(char *dst, const char *src, const char *def)
{
    memset(dst, 0, 8);
    strncpy(dst, src && src[0] ? src : def, 7);
}

int rpmsg_linux_open_nuttx_sim(struct rpmsg_linux_link *link,
                               const struct rpmsg_linux_nuttx_config *cfg)
{
    if (!link || !cfg)
        return -EINVAL;
    memset(link, 0, sizeof(*link));
    const char *name = cfg->shm_name ? cfg->shm_name : "server-proxy";
    struct nx_plat *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->fd = -1;
    p->master = cfg->master;
    p->poll_ms = cfg->poll_ms;
    int r = rpmsg_linux_shm_path(p->path, sizeof(p->path), name);
    if (r) {
        free(p);
        return r;
    }
    snprintf(p->name, sizeof(p->name), "%s", name);
    copy8(p->host_name, cfg->host_cpuname, "server");
    copy8(p->remote_name, cfg->remote_cpuname, "proxy");
    pthread_mutex_init(&p->lock, NULL);
    uint64_t deadline = rpmsg_deadline(cfg->timeout_ms);
    for (;;) {
        r = open_object(p, false);
        if (r == 0 || p->master || (r != -ENOENT && r != -EAGAIN))
            break;
        if (rpmsg_time_ms() >= deadline)
            break;
        usleep(1000);
    }
    if (r) {
        pthread_mutex_destroy(&p->lock);
        free(p);
        return r == -EAGAIN ? -ETIMEDOUT : r;
    }
    p->state = NX_START;
    pthread_mutex_lock(&p->lock);
    if (p->master)
        master_boot(p);
    pthread_mutex_unlock(&p->lock);
    link->ops = nx_ops;
    link->plat = p;
    link->base = p->map;
    link->size = NX_SIM_SIZE;
    return 0;
}

void rpmsg_linux_nuttx_sim_leave(struct rpmsg_linux_link *link)
{
    if (!link || !link->plat)
        return;
    struct nx_plat *p = link->plat;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->left, 1);
    /* Tell the peer to start over, the way a NuttX side that restarts does:
     * our word loses OK, NEED_RESET goes into the peer's. */
    if (p->master) {
        st(p, NX_SIM_BOOTM, 0);
        if (ld(p, NX_SIM_BOOTS) & (NX_SIM_OK | NX_SIM_BOOT))
            st(p, NX_SIM_BOOTS, NX_SIM_NEED_RESET);
    } else {
        struct nx_ring r;
        if (p->state == NX_UP && tx_ring(p, &r))
            give_back(p, &r); /* all of them free before the master's teardown starts */
        st(p, NX_SIM_BOOTS, 0);
        if (ld(p, NX_SIM_BOOTM) & (NX_SIM_OK | NX_SIM_BOOT))
            st(p, NX_SIM_BOOTM, NX_SIM_NEED_RESET);
    }
    atomic_fetch_add(word(p, p->master ? NX_SIM_SEQM : NX_SIM_SEQS), 1);
    /* The transport has stopped (rpmsg_link_close): the rings are ours to
     * drain while the master tears its session down. */
    if (!p->master && p->state == NX_UP)
        drain(p, true);
    pthread_mutex_unlock(&p->lock);
}

void rpmsg_linux_nuttx_sim_settle(struct rpmsg_linux_link *link, uint32_t quiet_ms,
                                  uint32_t max_ms)
{
    if (!link || !link->plat)
        return;
    struct nx_plat *p = link->plat;
    uint64_t start = rpmsg_time_ms(), quiet_since = start;
    uint32_t seq = ld(p, peer_seq(p));
    while (rpmsg_time_ms() - start < max_ms && rpmsg_time_ms() - quiet_since < quiet_ms) {
        usleep(1000);
        uint32_t now = ld(p, peer_seq(p));
        if (now != seq) {
            seq = now;
            quiet_since = rpmsg_time_ms();
        }
    }
}

void rpmsg_linux_close_nuttx_sim(struct rpmsg_linux_link *link, bool unlink_name)
{
    if (!link || !link->plat)
        return;
    struct nx_plat *p = link->plat;
    if (!atomic_load(&p->left))
        rpmsg_linux_nuttx_sim_leave(link);
    if (unlink_name) {
        struct stat sb;
        if (stat(p->path, &sb) == 0 && sb.st_dev == p->dev && sb.st_ino == p->ino)
            unlink(p->path);
    }
    munmap(p->map, NX_SIM_SIZE);
    close(p->fd);
    pthread_mutex_destroy(&p->lock);
    free(p);
    memset(link, 0, sizeof(*link));
}
