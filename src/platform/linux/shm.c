/*
 * The shared object under /dev/shm.
 *
 * Life of a native object:
 * 1. The creator builds it unnamed (O_TMPFILE), sizes it, writes the control
 *    page, and only then gives it its name with linkat(): nobody ever sees a
 *    half-initialised object, so "invalid contents" never means "still being
 *    built".
 * 2. The attacher opens it, validates it, registers in the control page and
 *    unlinks the name: from then on only the two mappings keep it alive and
 *    the kernel frees it when both processes are gone, however they die.
 * 3. A name whose owners are all dead (a creator killed before anyone
 *    attached) is stale: the next creator replaces it, the next attacher
 *    removes it. Replacers and attachers serialise on flock() of the object
 *    and unlink a path only while it still names the inode they examined, so
 *    two of them cannot remove each other's fresh object.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/linux/linux_priv.h"

#define SHM_DIR "/dev/shm"

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096u;
}

static size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

int rpmsg_linux_shm_path(char *out, size_t cap, const char *name)
{
    if (!name)
        return -EINVAL;
    if (*name == '/')
        name++;
    size_t n = strnlen(name, RPMSG_LINUX_NAME_MAX + 1);
    if (n == 0)
        return -EINVAL;
    if (n > RPMSG_LINUX_NAME_MAX)
        return -ENAMETOOLONG;
    if (memchr(name, '/', n) || !strcmp(name, ".") || !strcmp(name, ".."))
        return -EINVAL;
    int w = snprintf(out, cap, SHM_DIR "/%s", name);
    return w < 0 || (size_t)w >= cap ? -ENAMETOOLONG : 0;
}

static void shm_reset(struct rpmsg_linux_shm *shm)
{
    memset(shm, 0, sizeof(*shm));
    shm->fd = -1;
}

/* The path still names the object we hold: only then may we unlink it. */
static bool path_is(const char *path, dev_t dev, ino_t ino)
{
    struct stat st;
    return lstat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static void unlink_if(const char *path, dev_t dev, ino_t ino)
{
    if (path[0] && path_is(path, dev, ino))
        unlink(path);
}

/*
 * The object lock serialises replacers, attachers and the creator's close.
 * Holders keep it for microseconds; a process that sits on it (buggy or
 * hostile: anyone who can open the name can flock it) must not hang us.
 */
static int lock_object(int fd)
{
    for (int i = 0; i < 100; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -errno;
        usleep(2000);
    }
    return -EBUSY;
}

static int own_start(uint64_t *start)
{
    *start = 0;
    return rpmsg_linux_proc_stat(getpid(), start, NULL);
}

static bool side_alive(const struct rpmsg_linux_ctl *ctl, int side)
{
    if (atomic_load(&ctl->state[side]) != RPMSG_LINUX_PRESENT)
        return false;
    return rpmsg_linux_proc_alive(atomic_load(&ctl->pid[side]), ctl->start[side]);
}

/*
 * Checks a mapped control page against the object's size; 0 or -EPROTO.
 * The peer can rewrite the page at any time, so each field is read exactly
 * once and *region_size is the value that was checked.
 */
static int ctl_valid(const struct rpmsg_linux_ctl *ctl, off_t obj_size, size_t page,
                     uint64_t *region_size)
{
    const volatile struct rpmsg_linux_ctl *v = ctl;
    uint32_t magic = v->magic, version = v->version, ctl_size = v->ctl_size;
    uint64_t rs = v->region_size;
    if (magic != RPMSG_LINUX_MAGIC || version != RPMSG_LINUX_VERSION || ctl_size != page)
        return -EPROTO;
    if (rs == 0 || rs > RPMSG_LINUX_REGION_MAX)
        return -EPROTO;
    if ((uint64_t)obj_size != round_up((size_t)rs, page) + page)
        return -EPROTO;
    *region_size = rs;
    return 0;
}

/*
 * Looks at an existing object at path (opened as fd, flock held):
 * 0 = stale, -EADDRINUSE = a live owner, -EEXIST = not one of ours.
 */
static int judge(int fd, const struct stat *st)
{
    size_t page = page_size();
    if (st->st_size < (off_t)(2 * page) || st->st_size % (off_t)page)
        return -EEXIST;
    if ((uint64_t)st->st_size > RPMSG_LINUX_REGION_MAX + page)
        return -EEXIST;
    void *m = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, st->st_size - (off_t)page);
    if (m == MAP_FAILED)
        return -EEXIST;
    const struct rpmsg_linux_ctl *ctl = m;
    int r;
    uint64_t rs;
    if (ctl_valid(ctl, st->st_size, page, &rs) < 0)
        r = -EEXIST;
    else if (side_alive(ctl, 0) || side_alive(ctl, 1))
        r = -EADDRINUSE;
    else
        r = 0;
    munmap(m, page);
    return r;
}

/* Removes path if it holds a stale object. 0: gone now (retry), else why not. */
static int remove_stale(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    int r = lock_object(fd);
    if (r == 0) {
        struct stat st;
        if (fstat(fd, &st) < 0) {
            r = -errno;
        } else if (!S_ISREG(st.st_mode)) {
            r = -EEXIST;
        } else {
            r = judge(fd, &st);
            if (r == 0)
                unlink_if(path, st.st_dev, st.st_ino);
        }
    }
    close(fd);
    return r;
}

static int publish(int fd, const char *path)
{
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    int err = errno;
    if (err == EEXIST)
        return -EEXIST;
    /* No /proc: AT_EMPTY_PATH works where the caller may use it. */
    if (linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0)
        return 0;
    return errno == EEXIST ? -EEXIST : -err;
}

int rpmsg_linux_shm_create(struct rpmsg_linux_shm *shm, const char *name, size_t region_size)
{
    shm_reset(shm);
    int r = rpmsg_linux_shm_path(shm->path, sizeof(shm->path), name);
    if (r < 0)
        return r;
    if (region_size == 0 || region_size > RPMSG_LINUX_REGION_MAX)
        return -EINVAL;
    size_t page = page_size();
    size_t total = round_up(region_size, page) + page;

    shm->fd = open(SHM_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (shm->fd < 0) {
        r = -errno;
        goto fail;
    }
    struct stat st;
    if (ftruncate(shm->fd, (off_t)total) < 0 || fstat(shm->fd, &st) < 0) {
        r = -errno;
        goto fail;
    }
    shm->dev = st.st_dev;
    shm->ino = st.st_ino;
    shm->map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, shm->fd, 0);
    if (shm->map == MAP_FAILED) {
        shm->map = NULL;
        r = -errno;
        goto fail;
    }
    shm->map_size = total;
    shm->region_size = region_size;
    struct rpmsg_linux_ctl *ctl = (void *)((char *)shm->map + total - page);
    uint64_t start;
    own_start(&start);
    ctl->magic = RPMSG_LINUX_MAGIC;
    ctl->version = RPMSG_LINUX_VERSION;
    ctl->region_size = region_size;
    ctl->ctl_size = (uint32_t)page;
    atomic_store(&ctl->pid[0], (int32_t)getpid());
    ctl->start[0] = start;
    atomic_store(&ctl->generation, 1);
    atomic_store(&ctl->state[0], RPMSG_LINUX_PRESENT);
    shm->ctl = ctl;

    for (int tries = 0; tries < 8; tries++) {
        r = publish(shm->fd, shm->path);
        if (r != -EEXIST)
            break;
        r = remove_stale(shm->path);
        if (r < 0)
            break;
        r = -EBUSY; /* someone keeps re-creating it: give up after a few rounds */
    }
    if (r < 0)
        goto fail;
    return 0;

fail:
    shm->path[0] = '\0'; /* never unlink a name we did not publish */
    if (shm->map)
        munmap(shm->map, shm->map_size);
    if (shm->fd >= 0)
        close(shm->fd);
    shm_reset(shm);
    return r;
}

/* One attempt; -ENOENT means "nothing live there (yet)". Takes fd. */
static int attach_fd(struct rpmsg_linux_shm *shm, int fd, size_t want)
{
    size_t page = page_size();
    struct stat st;
    int r = lock_object(fd);
    if (r < 0)
        return r;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t)(2 * page) || st.st_size % (off_t)page ||
        (uint64_t)st.st_size > RPMSG_LINUX_REGION_MAX + page)
        return -EPROTO;
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    struct rpmsg_linux_ctl *ctl = (void *)((char *)m + st.st_size - (off_t)page);
    uint64_t rs = 0;
    r = ctl_valid(ctl, st.st_size, page, &rs);
    if (r == 0 && want && rs != want)
        r = -EINVAL;
    if (r == 0 && !side_alive(ctl, 0)) {
        /* Creator gone or closed: a leftover, not a link. */
        if (!side_alive(ctl, 1))
            unlink_if(shm->path, st.st_dev, st.st_ino);
        r = -ENOENT;
    }
    if (r == 0 && atomic_load(&ctl->state[1]) != RPMSG_LINUX_ABSENT)
        r = -EADDRINUSE;
    if (r < 0) {
        munmap(m, (size_t)st.st_size);
        return r;
    }
    uint64_t start;
    own_start(&start);
    atomic_store(&ctl->pid[1], (int32_t)getpid());
    ctl->start[1] = start;
    atomic_store(&ctl->state[1], RPMSG_LINUX_PRESENT);
    atomic_fetch_add(&ctl->generation, 1);
    /* Both sides have it mapped: the name has done its job. */
    unlink_if(shm->path, st.st_dev, st.st_ino);
    flock(fd, LOCK_UN);

    shm->fd = fd;
    shm->map = m;
    shm->map_size = (size_t)st.st_size;
    shm->region_size = (size_t)rs;
    shm->ctl = ctl;
    shm->dev = st.st_dev;
    shm->ino = st.st_ino;
    rpmsg_linux_db_ring(&ctl->bell[0]); /* tell the creator we are here */
    return 0;
}

int rpmsg_linux_shm_attach(struct rpmsg_linux_shm *shm, const char *name, size_t region_size,
                           uint32_t timeout_ms)
{
    return rpmsg_linux_shm_attach_cancel(shm, name, region_size, timeout_ms, NULL);
}

int rpmsg_linux_shm_attach_cancel(struct rpmsg_linux_shm *shm, const char *name,
                                  size_t region_size, uint32_t timeout_ms,
                                  const struct rpmsg_linux_cancel *c)
{
    shm_reset(shm);
    int r = rpmsg_linux_shm_path(shm->path, sizeof(shm->path), name);
    if (r < 0)
        return r;
    if (region_size > RPMSG_LINUX_REGION_MAX)
        return -EINVAL;
    uint64_t deadline = rpmsg_deadline(timeout_ms);
    for (;;) {
        int fd = open(shm->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            r = -errno;
        } else {
            r = attach_fd(shm, fd, region_size);
            if (r < 0)
                close(fd);
        }
        if (r != -ENOENT || rpmsg_time_ms() >= deadline)
            break;
        if (rpmsg_linux_cancelled(c)) {
            r = -ECANCELED;
            break;
        }
        usleep(2000);
    }
    if (r < 0) {
        shm_reset(shm);
        return r;
    }
    shm->path[0] = '\0'; /* unlinked: nothing of ours is named any more */
    return 0;
}

int rpmsg_linux_shm_open_plain(struct rpmsg_linux_shm *shm, const char *name, size_t size)
{
    shm_reset(shm);
    int r = rpmsg_linux_shm_path(shm->path, sizeof(shm->path), name);
    if (r < 0)
        return r;
    if (size == 0 || size > RPMSG_LINUX_REGION_MAX)
        return -EINVAL;
    struct stat st;
    shm->fd = open(shm->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (shm->fd < 0 || fstat(shm->fd, &st) < 0) {
        r = -errno;
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        r = -EINVAL;
        goto fail;
    }
    /* Grow, never shrink: the peer may already use a larger object. */
    if (st.st_size < (off_t)size && ftruncate(shm->fd, (off_t)size) < 0) {
        r = -errno;
        goto fail;
    }
    shm->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, shm->fd, 0);
    if (shm->map == MAP_FAILED) {
        shm->map = NULL;
        r = -errno;
        goto fail;
    }
    shm->map_size = size;
    shm->region_size = size;
    shm->dev = st.st_dev;
    shm->ino = st.st_ino;
    return 0;
fail:
    if (shm->fd >= 0)
        close(shm->fd);
    shm_reset(shm);
    return r;
}

void rpmsg_linux_shm_unlink(struct rpmsg_linux_shm *shm)
{
    unlink_if(shm->path, shm->dev, shm->ino);
    shm->path[0] = '\0';
}

void rpmsg_linux_shm_close(struct rpmsg_linux_shm *shm, int side)
{
    if (shm->ctl && (side == 0 || side == 1)) {
        /* Under the lock an attacher either finished (and sees us closed later)
         * or has not looked yet (and will find the creator closed). */
        if (shm->fd >= 0)
            lock_object(shm->fd); /* best effort: closing must not fail */
        atomic_store(&shm->ctl->state[side], RPMSG_LINUX_CLOSED);
        atomic_fetch_add(&shm->ctl->generation, 1);
        rpmsg_linux_db_ring(&shm->ctl->bell[1 - side]);
    }
    rpmsg_linux_shm_unlink(shm);
    if (shm->map)
        munmap(shm->map, shm->map_size);
    if (shm->fd >= 0)
        close(shm->fd); /* drops the lock */
    shm_reset(shm);
}
