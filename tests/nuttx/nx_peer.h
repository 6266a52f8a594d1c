/*
 * A test peer that plays a NuttX simulator core (arch/sim sim_rptun.c with
 * open-amp under it) as nuttx-wire.md §4 describes, written from the page
 * and independent of src/: the master writes NuttX's whole six-entry table
 * (the two entropy devices included) with its own mapping's address as base,
 * puts 8-entry vrings at the start of the rpmsg carve-out and 16 buffers of
 * 1,536 bytes after them, and hands out descriptor addresses in its own
 * address space; the slave takes everything from the table and base. Both
 * look at the other's counter every 1 ms (usleep), as NuttX does, and
 * notify by incrementing their own.
 *
 * On the link it runs endpoint "nx-echo" at 0x400 (announced; every message
 * goes back to its sender) and answers an announcement of "nx-svc" with a
 * CREATE_ACK from 0x401. It records what it saw for the test to check.
 * Faults on request: a base that is not its mapping's, a descriptor address
 * outside the region, a used entry with an id out of range.
 *
 * One peer per thread; nx_peer_stop() stops it dead (no goodbye), like a
 * NuttX process that is killed; a new nx_peer_start() on the same object is
 * that core restarting.
 */
#ifndef RPMSG_TEST_NX_PEER_H
#define RPMSG_TEST_NX_PEER_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NXP_SIZE 197072u
#define NXP_TABLE 24u
/* Offsets of the table's entries (NuttX's struct sim_rptun_rsc_s). */
#define NXP_RNG0 40u
#define NXP_RNG0_SHM 144u
#define NXP_RNG1 65680u
#define NXP_RNG1_SHM 65784u
#define NXP_RPMSG 131320u
#define NXP_CARVEOUT 131452u
#define NXP_SHM 131508u
#define NXP_SHM_LEN 0x10000u
#define NXP_NUM 8u
#define NXP_ALIGN 8u
#define NXP_BUF 0x600u
#define NXP_HDR 16u
#define NXP_NS_ADDR 0x35u
#define NXP_ECHO 0x400u
#define NXP_SVC 0x401u
#define NXP_DRIVER_OK 4u

enum nxp_fault { NXP_FAULT_NONE, NXP_FAULT_BASE, NXP_FAULT_DESC, NXP_FAULT_USED_ID };

struct nxp_ring {
    uint32_t desc, avail, used;
    uint16_t last; /* the index this side consumes next */
};

struct nx_peer {
    /* set by the test before nx_peer_start() */
    bool master;
    const char *path;          /* /dev/shm/... */
    enum nxp_fault fault;      /* applied once the link is up and traffic flows */
    uint32_t fault_after;      /* messages echoed before the fault */
    /* results, read by the test once the peer is stopped or quiet */
    _Atomic uint32_t echoed, svc_acked, up_count;
    _Atomic uint32_t ack_from;  /* address of a CREATE_ACK for nx-echo (0: none) */
    _Atomic uint32_t order_errors;
    _Atomic uint32_t resets;    /* master: sessions reset by a slave's NEED_RESET */
    _Atomic bool asserted;      /* master: a reset found TX buffers still out (NuttX asserts) */
    /* master: TX buffers handed to the slave and not given back, as the peer's
     * thread last saw them (the test reads this, not the rings: TSan cannot
     * tell that our link's mapping of the object is the same memory, so a
     * read of the rings through the peer's mapping raced its reset) */
    _Atomic uint32_t outstanding;
    char peer_cpu[9];           /* the name the other side gave (master: from the table) */
    /* private */
    pthread_t th;
    _Atomic bool stop;
    uint8_t *m;
    uint64_t base;
    _Atomic uint32_t echo_dest;
    uint32_t next_seq;
    struct nxp_ring rx, tx;
    uint16_t free_ids[NXP_NUM];
    unsigned nfree;
    bool faulted;
    uint32_t moves;
};

static inline uint32_t nxp_ld32(struct nx_peer *p, uint32_t off)
{
    return atomic_load((_Atomic uint32_t *)(void *)(p->m + off));
}
static inline void nxp_st32(struct nx_peer *p, uint32_t off, uint32_t v)
{
    atomic_store((_Atomic uint32_t *)(void *)(p->m + off), v);
}
static inline uint16_t nxp_ld16(struct nx_peer *p, uint32_t off)
{
    return atomic_load((_Atomic uint16_t *)(void *)(p->m + off));
}
static inline void nxp_st16(struct nx_peer *p, uint32_t off, uint16_t v)
{
    atomic_store((_Atomic uint16_t *)(void *)(p->m + off), v);
}
static inline void nxp_put(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t nxp_get(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

#define NXP_SEQS 8u
#define NXP_SEQM 12u
#define NXP_BOOTS 16u
#define NXP_BOOTM 20u
#define NXP_VDEV (NXP_TABLE + NXP_RPMSG)
#define NXP_STATUS (NXP_VDEV + 24u)
#define NXP_VRING_DA(i) (NXP_VDEV + 28u + 20u * (i))
#define NXP_CONFIG (NXP_VDEV + 68u)
/* Where the buffers start in the carve-out (after both vrings, as NuttX's heap does). */
#define NXP_POOL (NXP_TABLE + NXP_SHM + 484u)

static inline void nxp_ring_at(struct nxp_ring *r, uint32_t da)
{
    r->desc = da;
    r->avail = da + 16 * NXP_NUM;
    r->used = (r->avail + 6 + 2 * NXP_NUM + NXP_ALIGN - 1) & ~(NXP_ALIGN - 1);
    r->last = 0;
}

static inline void nxp_notify(struct nx_peer *p)
{
    atomic_fetch_add((_Atomic uint32_t *)(void *)(p->m + (p->master ? NXP_SEQM : NXP_SEQS)), 1);
}

/* The master's table: NuttX's six entries, then base and the boot word. */
static inline void nxp_master_table(struct nx_peer *p)
{
    uint8_t *t = p->m + NXP_TABLE;
    memset(t, 0, NXP_SIZE - NXP_TABLE);
    /* The entropy devices' memory gets a pattern the other side must leave alone. */
    memset(t + NXP_RNG0_SHM, 0xA5, NXP_SHM_LEN);
    memset(t + NXP_RNG1_SHM, 0x5A, NXP_SHM_LEN);
    nxp_put(t, 1);
    nxp_put(t + 4, 6);
    static const uint32_t offs[6] = { NXP_RNG0, NXP_RNG0 + 48, NXP_RNG1, NXP_RNG1 + 48, NXP_RPMSG,
                                      NXP_CARVEOUT };
    for (int i = 0; i < 6; i++)
        nxp_put(t + 16 + 4 * i, offs[i]);
    for (int i = 0; i < 2; i++) {
        uint8_t *v = t + (i ? NXP_RNG1 : NXP_RNG0);
        nxp_put(v, 3);          /* RSC_VDEV */
        nxp_put(v + 4, 4);      /* VIRTIO_ID_ENTROPY */
        nxp_put(v + 8, ~0u);
        v[25] = 1;
        nxp_put(v + 28 + 4, NXP_ALIGN);
        nxp_put(v + 28 + 8, NXP_NUM);
        nxp_put(v + 28 + 12, ~0u);
        uint8_t *c = v + 48;
        nxp_put(c + 4, NXP_TABLE + (i ? NXP_RNG1_SHM : NXP_RNG0_SHM));
        nxp_put(c + 8, ~0u);
        nxp_put(c + 12, NXP_SHM_LEN);
        memcpy(c + 24, i ? "rng1_shm" : "rng0_shm", 9);
    }
    uint8_t *v = t + NXP_RPMSG;
    nxp_put(v, 3);
    nxp_put(v + 4, 7);          /* VIRTIO_ID_RPMSG */
    nxp_put(v + 8, ~0u);
    nxp_put(v + 12, 0xF);       /* NS, CREATE_ACK, BUFSZ, CPUNAME */
    nxp_put(v + 20, 64);
    v[25] = 2;
    for (uint32_t i = 0; i < 2; i++) {
        /* Both vrings at the start of the carve-out, back to back. */
        nxp_put(v + 28 + 20 * i, NXP_TABLE + NXP_SHM + 224 * i);
        nxp_put(v + 28 + 20 * i + 4, NXP_ALIGN);
        nxp_put(v + 28 + 20 * i + 8, NXP_NUM);
        nxp_put(v + 28 + 20 * i + 12, ~0u);
    }
    nxp_put(v + 68, NXP_BUF);
    nxp_put(v + 72, NXP_BUF);
    memcpy(v + 68 + 24, "server", 6);
    memcpy(v + 68 + 32, "proxy", 5);
    uint8_t *c = t + NXP_CARVEOUT;
    nxp_put(c + 4, NXP_TABLE + NXP_SHM);
    nxp_put(c + 8, ~0u);
    nxp_put(c + 12, NXP_SHM_LEN);
    memcpy(c + 24, "rpmsg0_shm", 10);
    p->base = (uintptr_t)p->m;
    /* A corrupted base: descriptors are in our space, the word says otherwise. */
    uint64_t said = p->base + (p->fault == NXP_FAULT_BASE ? 1ull << 30 : 0);
    atomic_store((_Atomic uint64_t *)(void *)p->m, said);
    if (nxp_ld32(p, NXP_BOOTS) & 2)
        nxp_st32(p, NXP_BOOTS, 4); /* NEED_RESET: the slave must start over */
    nxp_st32(p, NXP_BOOTM, 1);
}

/* Master, once the slave has booted: the driver's side of both vrings. */
static inline void nxp_master_rings(struct nx_peer *p)
{
    nxp_ring_at(&p->rx, nxp_ld32(p, NXP_VRING_DA(0)));
    nxp_ring_at(&p->tx, nxp_ld32(p, NXP_VRING_DA(1)));
    for (uint16_t i = 0; i < NXP_NUM; i++) {
        uint32_t d = p->rx.desc + 16 * i;
        atomic_store((_Atomic uint64_t *)(void *)(p->m + d), p->base + NXP_POOL + i * NXP_BUF);
        nxp_st32(p, d + 8, NXP_BUF);
        nxp_st16(p, d + 12, 2); /* WRITE */
        nxp_st16(p, p->rx.avail + 4 + 2 * i, i);
        d = p->tx.desc + 16 * i;
        atomic_store((_Atomic uint64_t *)(void *)(p->m + d),
                     p->base + NXP_POOL + (NXP_NUM + i) * NXP_BUF);
        nxp_st32(p, d + 8, NXP_BUF);
        p->free_ids[i] = (uint16_t)(NXP_NUM - 1 - i);
    }
    p->nfree = NXP_NUM;
    nxp_st16(p, p->rx.avail + 2, NXP_NUM);
    nxp_st32(p, NXP_VDEV + 16, 0xF); /* gfeatures */
    p->m[NXP_STATUS] = NXP_DRIVER_OK;
}

/* A buffer's place in the region from an address in the master's space; 0 if out of it. */
static inline uint32_t nxp_off(struct nx_peer *p, uint64_t addr, uint32_t len)
{
    uint64_t off = addr - p->base;
    if (addr < p->base || off < NXP_TABLE + NXP_SHM || off + len > NXP_TABLE + NXP_SHM + NXP_SHM_LEN)
        return 0;
    return (uint32_t)off;
}

/* A TX buffer (its region offset and, through *id, its descriptor), or 0. */
static inline uint32_t nxp_tx_get(struct nx_peer *p, uint16_t *id)
{
    if (p->master) {
        while (p->tx.last != nxp_ld16(p, p->tx.used + 2) && p->nfree < NXP_NUM) {
            uint32_t uid = nxp_ld32(p, p->tx.used + 4 + 8 * (p->tx.last % NXP_NUM));
            p->tx.last++;
            if (uid < NXP_NUM)
                p->free_ids[p->nfree++] = (uint16_t)uid;
        }
        if (!p->nfree)
            return 0;
        *id = p->free_ids[--p->nfree];
        return (uint32_t)(atomic_load((_Atomic uint64_t *)(void *)(p->m + p->tx.desc + 16 * *id)) -
                          p->base);
    }
    /* Slave: the master's RX ring (vring0) offers buffers on its avail ring. */
    if (p->tx.last == nxp_ld16(p, p->tx.avail + 2))
        return 0;
    *id = nxp_ld16(p, p->tx.avail + 4 + 2 * (p->tx.last % NXP_NUM));
    if (*id >= NXP_NUM)
        return 0;
    uint64_t a = atomic_load((_Atomic uint64_t *)(void *)(p->m + p->tx.desc + 16 * *id));
    uint32_t off = nxp_off(p, a, NXP_BUF);
    if (off)
        p->tx.last++;
    return off;
}

static inline void nxp_tx_put(struct nx_peer *p, uint16_t id, uint32_t len)
{
    if (p->master) {
        uint32_t d = p->tx.desc + 16 * id;
        uint64_t a = p->base + NXP_POOL + (NXP_NUM + id) * NXP_BUF;
        if (p->fault == NXP_FAULT_DESC && p->echoed >= p->fault_after && !p->faulted) {
            a = p->base + NXP_SIZE + 4096; /* past the region's end */
            p->faulted = true;
        }
        atomic_store((_Atomic uint64_t *)(void *)(p->m + d), a);
        nxp_st32(p, d + 8, NXP_BUF);
        uint16_t ai = nxp_ld16(p, p->tx.avail + 2);
        nxp_st16(p, p->tx.avail + 4 + 2 * (ai % NXP_NUM), id);
        nxp_st16(p, p->tx.avail + 2, (uint16_t)(ai + 1));
    } else {
        uint16_t ui = nxp_ld16(p, p->tx.used + 2);
        uint32_t e = p->tx.used + 4 + 8 * (ui % NXP_NUM);
        if (p->fault == NXP_FAULT_USED_ID && p->echoed >= p->fault_after && !p->faulted) {
            id = 200; /* no such descriptor */
            p->faulted = true;
        }
        nxp_st32(p, e, id);
        nxp_st32(p, e + 4, len);
        nxp_st16(p, p->tx.used + 2, (uint16_t)(ui + 1));
    }
    p->moves++;
}

static inline bool nxp_send(struct nx_peer *p, uint32_t src, uint32_t dst, const void *data,
                            uint32_t len)
{
    uint16_t id;
    uint32_t off = nxp_tx_get(p, &id);
    if (!off)
        return false;
    uint8_t *b = p->m + off;
    nxp_put(b, src);
    nxp_put(b + 4, dst);
    nxp_put(b + 8, 0);
    b[12] = (uint8_t)len;
    b[13] = (uint8_t)(len >> 8);
    b[14] = b[15] = 0;
    memcpy(b + NXP_HDR, data, len);
    nxp_tx_put(p, id, NXP_HDR + len);
    return true;
}

static inline bool nxp_ns(struct nx_peer *p, const char *name, uint32_t addr, uint32_t flags)
{
    uint8_t ns[40] = { 0 };
    strncpy((char *)ns, name, 31);
    nxp_put(ns + 32, addr);
    nxp_put(ns + 36, flags);
    return nxp_send(p, addr, NXP_NS_ADDR, ns, sizeof(ns));
}

/* One message from the other side; false if it must wait for a TX buffer. */
static inline bool nxp_handle(struct nx_peer *p, const uint8_t *b, uint32_t blen)
{
    if (blen < NXP_HDR)
        return true;
    uint32_t src = nxp_get(b), dst = nxp_get(b + 4), len = (uint32_t)b[12] | (uint32_t)b[13] << 8;
    if (len > blen - NXP_HDR)
        return true;
    const uint8_t *d = b + NXP_HDR;
    if (dst == NXP_NS_ADDR && len == 40) {
        char name[33] = { 0 };
        memcpy(name, d, 32);
        uint32_t addr = nxp_get(d + 32), flags = nxp_get(d + 36);
        if (!strcmp(name, "nx-echo")) {
            p->echo_dest = addr;
            if (flags == 2)
                p->ack_from = addr;
        } else if (!strcmp(name, "nx-svc") && flags == 0) {
            if (!nxp_ns(p, "nx-svc", NXP_SVC, 2))
                return false;
            p->svc_acked++;
        }
        return true;
    }
    if (dst == NXP_ECHO) {
        if (!nxp_send(p, NXP_ECHO, src, d, len))
            return false; /* handled again once a TX buffer is back */
        if (len >= 4 && nxp_get(d) != p->next_seq)
            p->order_errors++;
        p->next_seq++;
        p->echoed++;
    }
    return true;
}

/* Takes in what the other side sent, as far as TX buffers allow. */
static inline void nxp_receive(struct nx_peer *p)
{
    for (;;) {
        uint32_t off, len = 0;
        uint16_t id;
        if (p->master) {
            if (p->rx.last == nxp_ld16(p, p->rx.used + 2))
                return;
            uint32_t e = p->rx.used + 4 + 8 * (p->rx.last % NXP_NUM);
            uint32_t uid = nxp_ld32(p, e);
            len = nxp_ld32(p, e + 4);
            id = (uint16_t)uid;
            off = uid < NXP_NUM ? NXP_POOL + id * NXP_BUF : 0;
        } else {
            if (p->rx.last == nxp_ld16(p, p->rx.avail + 2))
                return;
            id = nxp_ld16(p, p->rx.avail + 4 + 2 * (p->rx.last % NXP_NUM));
            uint64_t a = id < NXP_NUM ? atomic_load((_Atomic uint64_t *)(void *)(p->m + p->rx.desc + 16 * id)) : 0;
            len = id < NXP_NUM ? nxp_ld32(p, p->rx.desc + 16 * id + 8) : 0;
            off = nxp_off(p, a, len);
        }
        if (off && len <= NXP_BUF && !nxp_handle(p, p->m + off, len))
            return; /* again once a TX buffer is back */
        p->rx.last++;
        if (p->master) {
            uint16_t ai = nxp_ld16(p, p->rx.avail + 2);
            nxp_st16(p, p->rx.avail + 4 + 2 * (ai % NXP_NUM), id);
            nxp_st16(p, p->rx.avail + 2, (uint16_t)(ai + 1));
        } else {
            uint16_t ui = nxp_ld16(p, p->rx.used + 2);
            nxp_st32(p, p->rx.used + 4 + 8 * (ui % NXP_NUM), id);
            nxp_st32(p, p->rx.used + 4 + 8 * (ui % NXP_NUM) + 4, len);
            nxp_st16(p, p->rx.used + 2, (uint16_t)(ui + 1));
        }
        p->moves++;
    }
}

static inline bool nxp_sleep(struct nx_peer *p)
{
    usleep(1000); /* NuttX's SIM_RPTUN_WORK_DELAY */
    return !atomic_load(&p->stop);
}

/* Boot (sim_rptun_get_resource / _start, and the slave's wait for DRIVER_OK). */
static bool nxp_boot(struct nx_peer *p)
{
    if (p->master) {
        nxp_master_table(p);
        while (!(nxp_ld32(p, NXP_BOOTS) & 1))
            if (!nxp_sleep(p))
                return false;
        nxp_st32(p, NXP_BOOTM, 2);
        nxp_master_rings(p);
        memcpy(p->peer_cpu, p->m + NXP_CONFIG + 32, 8);
    } else {
        if (nxp_ld32(p, NXP_BOOTS) & 2)
            nxp_st32(p, NXP_BOOTM, 4);
        nxp_st32(p, NXP_BOOTS, 1);
        while (!(nxp_ld32(p, NXP_BOOTM) & 2))
            if (!nxp_sleep(p))
                return false;
        nxp_st32(p, NXP_BOOTS, 2);
        while (!(p->m[NXP_STATUS] & NXP_DRIVER_OK))
            if (!nxp_sleep(p))
                return false;
        p->base = atomic_load((_Atomic uint64_t *)(void *)p->m);
        /* The device's view: it receives on vring1 and sends on vring0. */
        nxp_ring_at(&p->rx, nxp_ld32(p, NXP_VRING_DA(1)));
        nxp_ring_at(&p->tx, nxp_ld32(p, NXP_VRING_DA(0)));
        memcpy(p->peer_cpu, p->m + NXP_CONFIG + 24, 8);
    }
    p->up_count++;
    p->next_seq = 0;
    return true;
}

/*
 * Master: a slave that starts again puts NEED_RESET into bootm. NuttX then
 * tears its session down, sending on the way (name-service destroys), and
 * asserts when it has no TX buffer for that: so do we, when any of ours is
 * still out (the dead slave's), before booting again.
 */
static bool nxp_reset(struct nx_peer *p)
{
    nxp_st32(p, NXP_BOOTM, 0);
    uint16_t id;
    unsigned got = 0;
    while (got < NXP_NUM && nxp_tx_get(p, &id))
        got++;
    if (got < NXP_NUM) {
        p->asserted = true; /* "Panic remote cpu": the process would be gone */
        return false;
    }
    p->resets++;
    return nxp_boot(p);
}

static void *nxp_main(void *arg)
{
    struct nx_peer *p = arg;
    if (!nxp_boot(p))
        return NULL;
    bool announced = false;
    uint32_t seen = 0;
    while (!atomic_load(&p->stop)) {
        if (p->master && (nxp_ld32(p, NXP_BOOTM) & 4)) {
            if (!nxp_reset(p))
                return NULL;
            announced = false;
        }
        if (!announced)
            announced = nxp_ns(p, "nx-echo", NXP_ECHO, 0);
        nxp_receive(p);
        /* A notification when a ring moved (sent, or buffers given back). */
        if (p->moves != seen) {
            seen = p->moves;
            nxp_notify(p);
        }
        if (p->master)
            atomic_store(&p->outstanding,
                         (uint16_t)(nxp_ld16(p, p->tx.avail + 2) - nxp_ld16(p, p->tx.used + 2)));
        nxp_sleep(p);
    }
    return NULL;
}

/* Master: TX buffers handed to the slave and not given back yet. */
static inline unsigned nx_peer_outstanding(struct nx_peer *p)
{
    return atomic_load(&p->outstanding);
}

/* Maps the object (the master creates it) and runs the peer on a thread. 0 or -errno. */
static inline int nx_peer_start(struct nx_peer *p)
{
    int fd = open(p->path, O_RDWR | (p->master ? O_CREAT : 0), 0600);
    if (fd < 0)
        return -errno;
    if (p->master && ftruncate(fd, NXP_SIZE) < 0) {
        close(fd);
        return -errno;
    }
    void *m = mmap(NULL, NXP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return -errno;
    p->m = m;
    atomic_store(&p->stop, false);
    p->echo_dest = 0;
    p->faulted = false;
    memset(p->peer_cpu, 0, sizeof(p->peer_cpu));
    return -pthread_create(&p->th, NULL, nxp_main, p);
}

/* Stops it dead: no goodbye, nothing given back. */
static inline void nx_peer_stop(struct nx_peer *p)
{
    if (!p->m)
        return;
    atomic_store(&p->stop, true);
    pthread_join(p->th, NULL);
    munmap(p->m, NXP_SIZE);
    p->m = NULL;
}

#endif
