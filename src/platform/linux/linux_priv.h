/*
 * Internals of the Linux platform, shared by its files and by its tests.
 *
 * Native object layout, /dev/shm/<name>:
 *   [0, round_up(region_size, page))   the region, handed to the transport
 *   [round_up(region_size, page), +page) the control page (struct rpmsg_linux_ctl)
 * The control page sits after the region so that device addresses stay plain
 * offsets from 0 and the virtio layout never has to leave room for it.
 */
#ifndef RPMSG_LINUX_PRIV_H
#define RPMSG_LINUX_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rpmsg/rpmsg_linux.h"

#define RPMSG_LINUX_MAGIC 0x4b4c5052u /* "RPLK" */
#define RPMSG_LINUX_VERSION 1u

#define RPMSG_LINUX_DEFAULT_SPIN_US 20u
#define RPMSG_LINUX_DEFAULT_LIVENESS_MS 100u
#define RPMSG_LINUX_DEFAULT_OPENAMP_TIMEOUT_MS 10000u

/* state[] values in the control page. */
#define RPMSG_LINUX_ABSENT 0u
#define RPMSG_LINUX_PRESENT 1u
#define RPMSG_LINUX_CLOSED 2u

/* The side index in the control page: 0 = creator, 1 = attacher. */

/*
 * One direction's doorbell: rung by one side, waited on by the other. A
 * cache line of its own so that the two directions never contend.
 */
struct rpmsg_linux_bell {
    _Atomic uint32_t seq;      /* the futex word: every ring bumps it */
    _Atomic uint32_t sleepers; /* waiters in FUTEX_WAIT: ringers skip FUTEX_WAKE at 0 */
    uint8_t pad[56];
};

struct rpmsg_linux_ctl {
    uint32_t magic;
    uint32_t version;
    uint64_t region_size; /* exact bytes the creator asked for */
    uint32_t ctl_size;    /* the creator's page size */
    _Atomic uint32_t generation; /* bumped on every attach and close */
    _Atomic uint32_t state[2];
    _Atomic int32_t pid[2];
    /* /proc/<pid>/stat starttime: tells a reused pid apart. Plain: written
     * before state[] is stored, read after it is loaded (both seq_cst), and
     * 64-bit atomics need not be lock-free (hence process-local) everywhere. */
    uint64_t start[2];
    /* bell[i] is side i's: the other side rings it. */
    _Alignas(64) struct rpmsg_linux_bell bell[2];
};

/* Atomics in shared memory work across processes only when lock-free. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert(sizeof(struct rpmsg_linux_bell) == 64, "bell must fill one cache line");
_Static_assert(sizeof(struct rpmsg_linux_ctl) == 192, "control page layout changed");
_Static_assert(__builtin_offsetof(struct rpmsg_linux_ctl, bell) == 64, "control page layout changed");

static inline void rpmsg_linux_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

uint64_t rpmsg_linux_now_ns(void);

/* What a wait for the peer asks, every few ms, whether to give up (-ECANCELED). */
struct rpmsg_linux_cancel {
    bool (*fn)(void *arg);
    void *arg;
};

static inline bool rpmsg_linux_cancelled(const struct rpmsg_linux_cancel *c)
{
    return c && c->fn && c->fn(c->arg);
}

/* ---- doorbell.c: futex doorbell with poll / interrupt / adaptive waits ---- */

struct rpmsg_linux_doorbell {
    struct rpmsg_linux_bell *mine; /* we wait on it */
    struct rpmsg_linux_bell *peer; /* we ring it */
    _Atomic uint32_t seen;         /* mine->seq when the last wait returned */
    enum rpmsg_linux_mode mode;
    uint64_t spin_ns;              /* adaptive: the most a wait spins */
    /* Adaptive: what the next wait spins, learnt from how spins end, and
     * waits since the last full-length probe (see doorbell.c). */
    _Atomic uint32_t spin_now_ns;
    _Atomic uint32_t since_probe;
};

void rpmsg_linux_db_init(struct rpmsg_linux_doorbell *db, struct rpmsg_linux_bell *mine,
                         struct rpmsg_linux_bell *peer, enum rpmsg_linux_mode mode,
                         uint32_t spin_us);
/* Rings bell: no syscall unless a waiter sleeps on it. */
void rpmsg_linux_db_ring(struct rpmsg_linux_bell *bell);
/* 0 once mine was rung since the last return, or -ETIMEDOUT. spin: allow the adaptive spin. */
int rpmsg_linux_db_wait(struct rpmsg_linux_doorbell *db, uint64_t deadline_ms, bool spin);
/* The same, and while it spins it returns 1 as soon as w->ready() holds; it
 * calls w->arm() before it sleeps (w may be NULL). A sleep still waits for
 * the bell. */
int rpmsg_linux_db_wait_ready(struct rpmsg_linux_doorbell *db, uint64_t deadline_ms, bool spin,
                              const struct rpmsg_virtio_watch *w);
/* Makes a concurrent or the next wait return (rings our own bell). */
void rpmsg_linux_db_wakeup(struct rpmsg_linux_doorbell *db);

/* ---- liveness.c: is a process (still) there ---- */

/* starttime and state letter of /proc/<pid>/stat; 0 or -errno. */
int rpmsg_linux_proc_stat(pid_t pid, uint64_t *start, char *state);
/* pid runs and (start == 0 or) started at start; a zombie counts as dead. */
bool rpmsg_linux_proc_alive(pid_t pid, uint64_t start);

struct rpmsg_linux_peer {
    pid_t pid;     /* 0: not tracking anyone yet */
    uint64_t start;
    int pidfd;     /* -1: kernel without pidfd_open, fall back to kill()+/proc */
    bool dead;
};

void rpmsg_linux_peer_init(struct rpmsg_linux_peer *p);
/* Starts following pid; 0 or -ENOTCONN when it is already gone. */
int rpmsg_linux_peer_track(struct rpmsg_linux_peer *p, pid_t pid, uint64_t start);
/* 0 while alive, -ENOTCONN once gone (sticky). */
int rpmsg_linux_peer_check(struct rpmsg_linux_peer *p);
void rpmsg_linux_peer_release(struct rpmsg_linux_peer *p);

/* ---- shm.c: the shared object ---- */

#define RPMSG_LINUX_NAME_MAX 200

struct rpmsg_linux_shm {
    int fd;
    void *map;
    size_t map_size;
    size_t region_size;
    struct rpmsg_linux_ctl *ctl; /* NULL for a plain (OpenAMP) object */
    char path[16 + RPMSG_LINUX_NAME_MAX];
    dev_t dev;
    ino_t ino;
};

/* /dev/shm/<name> into out; -EINVAL / -ENAMETOOLONG for bad names. */
int rpmsg_linux_shm_path(char *out, size_t cap, const char *name);
int rpmsg_linux_shm_create(struct rpmsg_linux_shm *shm, const char *name, size_t region_size);
int rpmsg_linux_shm_attach(struct rpmsg_linux_shm *shm, const char *name, size_t region_size,
                           uint32_t timeout_ms);
/* The same, giving up with -ECANCELED when c says so (c may be NULL). */
int rpmsg_linux_shm_attach_cancel(struct rpmsg_linux_shm *shm, const char *name,
                                  size_t region_size, uint32_t timeout_ms,
                                  const struct rpmsg_linux_cancel *c);
/* OpenAMP: opens or creates a plain object of at least size bytes. */
int rpmsg_linux_shm_open_plain(struct rpmsg_linux_shm *shm, const char *name, size_t size);
/* Removes the name if it still refers to this object. */
void rpmsg_linux_shm_unlink(struct rpmsg_linux_shm *shm);
/* Native: marks side closed and rings the peer. Then unlinks if ours, unmaps. */
void rpmsg_linux_shm_close(struct rpmsg_linux_shm *shm, int side);

/* ---- uds_kick.c: OpenAMP kicks over an AF_UNIX stream socket ---- */

struct rpmsg_linux_uds {
    int sock;
    int efd; /* eventfd: wakeup() */
    atomic_bool dead;
    atomic_bool heard; /* the peer sent something or hung up */
    _Atomic uint64_t next_check; /* rpmsg_time_ms() of the next hang-up check */
    pid_t peer_pid;
};

int rpmsg_linux_uds_open(struct rpmsg_linux_uds *u, const char *path, bool listen,
                         uint32_t timeout_ms, const struct rpmsg_linux_cancel *c);
int rpmsg_linux_uds_notify(struct rpmsg_linux_uds *u);
int rpmsg_linux_uds_wait(struct rpmsg_linux_uds *u, uint64_t deadline_ms);
void rpmsg_linux_uds_wakeup(struct rpmsg_linux_uds *u);
int rpmsg_linux_uds_alive(struct rpmsg_linux_uds *u);
void rpmsg_linux_uds_close(struct rpmsg_linux_uds *u);

/* ---- link.c: what rpmsg_linux_link.plat points to ---- */

struct rpmsg_linux_plat {
    bool openamp;
    bool keep_names;
    int side; /* native: 0 creator, 1 attacher */
    uint32_t liveness_ms;
    struct rpmsg_linux_shm shm;
    struct rpmsg_linux_doorbell db;
    struct rpmsg_linux_uds uds;
    pthread_mutex_t lock; /* peer tracking: peer_alive() may race wait() */
    struct rpmsg_linux_peer peer;
    _Atomic uint64_t next_check; /* rpmsg_time_ms() of the next real liveness check */
    atomic_bool dead;
    atomic_bool dead_reported; /* a wait() already returned for the death */
    atomic_bool name_held; /* OpenAMP listener: shm name kept until the peer has mapped it */
};

#endif /* RPMSG_LINUX_PRIV_H */
