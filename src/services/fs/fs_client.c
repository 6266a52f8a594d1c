/*
 * RPMsg FS client. Each call takes a request slot, sends, and waits (bounded)
 * on the slot's semaphore; the endpoint callback matches answers to slots by
 * cookie (slot index + generation, never 0: NuttX's server answers only
 * writes with a non-zero cookie) and copies what they carry. A slot given up
 * on timeout gets a new generation, so a late answer finds nothing to write
 * to. No allocation, no OS beyond rpmsg_os.h: the bare-metal build links it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_send.h"
#include "fs_wire.h"
#include "fs_xlate.h"
#include "rpmsg/rpmsg_fs.h"
#include "rpmsg/rpmsg_os.h"

/* One request's count: fits NuttX's i32 result. Its answers may outnumber
 * the link's buffers: the server's RX context waits for returned ones. */
#define READ_MAX (1u << 30)

/* Read once per call: a reconnection may change it between two calls
 * (client_unbind), never within one. */
static bool use_ext(const struct rpmsg_fs_client *c)
{
    return __atomic_load_n(&c->ext, __ATOMIC_ACQUIRE);
}

/* The server's POSIX commands (links, credentials, long paths). */
static bool use_posix(const struct rpmsg_fs_client *c)
{
    return use_ext(c) && (__atomic_load_n(&c->xfeat, __ATOMIC_ACQUIRE) & RPMSGFS_XF_POSIX);
}

/* Waits (bounded) for a free slot: more callers than slots queue here. */
static struct rpmsg_fs_slot *slot_take(struct rpmsg_fs_client *c, uint32_t cmd, uint64_t *cookie)
{
    if (rpmsg_wait_timeout(&c->ept, &c->free, c->timeout_ms) < 0)
        return NULL;
    rpmsg_mutex_lock(&c->lock);
    for (unsigned i = 0; i < RPMSG_FS_SLOTS; i++) {
        struct rpmsg_fs_slot *s = &c->slots[i];
        if (s->busy)
            continue;
        /* Field by field: the semaphore stays as it is, only emptied (a
         * late post may have been left in it by a request that timed out). */
        s->done = false;
        s->result = 0;
        s->buf = NULL;
        s->want = s->got = 0;
        s->offset = 0;
        s->st = NULL;
        s->sfs = NULL;
        s->sem.count = 0;
        s->busy = true;
        s->cmd = cmd;
        *cookie = (uint64_t)s->gen << 16 | (i + 1);
        rpmsg_mutex_unlock(&c->lock);
        return s;
    }
    rpmsg_mutex_unlock(&c->lock);
    return NULL;
}

static void slot_drop(struct rpmsg_fs_client *c, struct rpmsg_fs_slot *s)
{
    rpmsg_mutex_lock(&c->lock);
    s->gen++;
    s->busy = false;
    rpmsg_mutex_unlock(&c->lock);
    rpmsg_post(&c->ept, &c->free);
}

static struct rpmsg_fs_slot *slot_find(struct rpmsg_fs_client *c, uint64_t cookie, uint32_t cmd)
{
    uint32_t i = (uint32_t)(cookie & 0xFFFF);
    if (i == 0 || i > RPMSG_FS_SLOTS)
        return NULL;
    struct rpmsg_fs_slot *s = &c->slots[i - 1];
    if (!s->busy || s->done || s->gen != (uint32_t)(cookie >> 16) || s->cmd != cmd)
        return NULL;
    return s;
}

static void stat_from_wire(const struct rpmsgfs_wstat *w, struct rpmsg_fs_stat *h)
{
    *h = (struct rpmsg_fs_stat){
        .dev = w->dev, .ino = w->ino, .rdev = w->rdev,
        .mode = rpmsgfs_mode_from_nx(w->mode), .nlink = w->nlink,
        .uid = (uint16_t)w->uid, .gid = (uint16_t)w->gid,
        .size = w->size, .blksize = w->blksize, .blocks = (int64_t)w->blocks,
        .atime_sec = w->atim_sec, .atime_nsec = w->atim_nsec,
        .mtime_sec = w->mtim_sec, .mtime_nsec = w->mtim_nsec,
        .ctime_sec = w->ctim_sec, .ctime_nsec = w->ctim_nsec,
    };
}

/* An answer for slot s; returns true when the request is complete. */
static bool take_answer(struct rpmsg_fs_slot *s, const struct rpmsgfs_msg *m)
{
    int64_t r = rpmsgfs_result_from_nx(m->result);
    switch (m->cmd) {
    case RPMSGFS_READ: case RPMSGFS_X_PREAD:
        if (r > 0) {
            uint64_t n = (uint64_t)r;
            if (n > s->want - s->got)
                n = s->want - s->got;
            memcpy((uint8_t *)s->buf + s->got, m->data, (size_t)n);
            s->got += n;
        }
        if (r > 0 && s->got < s->want)
            return false;
        s->result = r < 0 && s->got == 0 ? r : (int64_t)s->got;
        return true;
    case RPMSGFS_X_READLINK:
        if (r >= 0 && s->buf && s->want) {
            size_t n = strlen(m->path);
            if (n >= s->want)
                n = (size_t)s->want - 1;
            memcpy(s->buf, m->path, n);
            ((char *)s->buf)[n] = '\0';
            r = (int64_t)n;
        }
        break;
    case RPMSGFS_STAT: case RPMSGFS_FSTAT: case RPMSGFS_X_LSTAT:
        if (r >= 0 && s->st)
            stat_from_wire(&m->st, s->st);
        break;
    case RPMSGFS_STATFS:
        if (r >= 0 && s->sfs)
            *s->sfs = (struct rpmsg_fs_statfs){ m->sfs.type, m->sfs.namelen, m->sfs.bsize,
                                                m->sfs.blocks, m->sfs.bfree, m->sfs.bavail,
                                                m->sfs.files, m->sfs.ffree };
        break;
    case RPMSGFS_READDIR:
        if (r >= 0 && s->buf) {
            struct rpmsg_fs_dirent *e = s->buf;
            e->ino = m->ino;
            e->type = rpmsgfs_dtype_from_nx(m->type);
            snprintf(e->name, sizeof(e->name), "%s", m->path);
        }
        break;
    case RPMSGFS_X_LSEEK:
        s->offset = m->offset;
        break;
    default:
        break;
    }
    s->result = r;
    return true;
}

static int client_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept;
    (void)src;
    struct rpmsg_fs_client *c = priv;
    struct rpmsgfs_msg m;
    if (rpmsgfs_decode(data, len, true, &m) < 0)
        return 0;
    rpmsg_mutex_lock(&c->lock);
    if (m.cmd == RPMSGFS_X_HELLO) {
        if (m.cookie == 0 && m.version >= RPMSGFS_X_VERSION && c->want_ext) {
            __atomic_store_n(&c->xfeat, m.features, __ATOMIC_RELEASE);
            __atomic_store_n(&c->ext, true, __ATOMIC_RELEASE);
        }
        rpmsg_mutex_unlock(&c->lock);
        return 0;
    }
    struct rpmsg_fs_slot *s = slot_find(c, m.cookie, m.cmd);
    if (s && take_answer(s, &m)) {
        s->done = true;
        rpmsg_post(&c->ept, &s->sem);
    }
    rpmsg_mutex_unlock(&c->lock);
    return 0;
}

/* The server's endpoint went away (its NS DESTROY, or the link): what is
 * in flight will never be answered, and the server's handles are gone. The
 * next server may be NuttX's: the extension waits for its HELLO again (a
 * request sent before that uses NuttX's format, which ours serves too). */
static void client_unbind(struct rpmsg_endpoint *ept)
{
    struct rpmsg_fs_client *c = ept->priv;
    rpmsg_mutex_lock(&c->lock);
    __atomic_store_n(&c->ext, false, __ATOMIC_RELEASE);
    __atomic_store_n(&c->xfeat, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&c->unbound, true, __ATOMIC_RELEASE);
    c->epoch++;
    for (unsigned i = 0; i < RPMSG_FS_SLOTS; i++) {
        struct rpmsg_fs_slot *s = &c->slots[i];
        if (s->busy && !s->done) {
            s->result = -ENOTCONN;
            s->done = true;
            rpmsg_post(&c->ept, &s->sem);
        }
    }
    rpmsg_mutex_unlock(&c->lock);
}

/* Encodes m into a transmit buffer and sends it. */
static int send_msg(struct rpmsg_fs_client *c, const struct rpmsgfs_msg *m)
{
    /* Unbound once connected means the server or the link is gone: fail
     * now rather than wait (for the link) for a binding that may never
     * come. The core's answer costs a round of the device lock, which the
     * returning buffers and the RX thread also take: asked only once the
     * binding was lost (client_unbind) until it is back, not per write
     * chunk. A loss just after the look is the send's to see: it refuses
     * an unbound endpoint (-EAGAIN). */
    if (__atomic_load_n(&c->unbound, __ATOMIC_ACQUIRE)) {
        uint32_t epoch = rpmsg_fs_client_epoch(c);
        if (!rpmsg_is_ept_ready(&c->ept))
            return -ENOTCONN;
        /* Bound again; unless lost again meanwhile (a new epoch). */
        rpmsg_mutex_lock(&c->lock);
        if (c->epoch == epoch)
            __atomic_store_n(&c->unbound, false, __ATOMIC_RELEASE);
        rpmsg_mutex_unlock(&c->lock);
    }
    uint32_t cap;
    void *buf = rpmsg_get_tx_payload_buffer(&c->ept, &cap, RPMSG_WAIT);
    if (!buf)
        return rpmsg_is_ept_ready(&c->ept) ? -ETIMEDOUT : -ENOTCONN;
    int len = rpmsgfs_encode(m, false, buf, cap);
    if (len < 0) {
        rpmsg_release_tx_buffer(&c->ept, buf);
        return len;
    }
    len = rpmsgfs_send_nocopy(&c->ept, buf, (size_t)len);
    return len == -EAGAIN ? -ENOTCONN : len < 0 ? len : 0;
}

/* One path in X_PATH pieces (its NUL in the last), all with the request's cookie. */
static int send_pieces(struct rpmsg_fs_client *c, uint64_t cookie, uint32_t part, const char *path)
{
    int cap = rpmsg_get_tx_buffer_size(&c->ept);
    size_t fixed = rpmsgfs_fixed_size(RPMSGFS_X_PATH);
    if (cap <= (int)fixed)
        return -EMSGSIZE;
    size_t len = strlen(path) + 1, room = (size_t)cap - fixed;
    for (size_t off = 0; off < len; off += room) {
        size_t n = len - off < room ? len - off : room;
        struct rpmsgfs_msg m = { .cmd = RPMSGFS_X_PATH, .cookie = cookie, .part = part,
                                 .offset = (int64_t)off, .data = path + off,
                                 .data_len = (uint32_t)n };
        int r = send_msg(c, &m);
        if (r < 0)
            return r;
    }
    return 0;
}

/*
 * Sends a request; with a server of ours, paths that do not fit the
 * message go first in pieces and the request names them with "" (a path
 * of ours is never empty: it starts with the root). Pieces of one request
 * are not interleaved with another's: the server stages one at a time.
 */
static int send_req(struct rpmsg_fs_client *c, const struct rpmsgfs_msg *m)
{
    int r = send_msg(c, m);
    if (r != -ENAMETOOLONG || !m->path || !use_posix(c))
        return r;
    if (strlen(m->path) >= RPMSG_FS_PATH_MAX + RPMSG_FS_ROOT_MAX ||
        (m->path2 && strlen(m->path2) >= RPMSG_FS_PATH_MAX + RPMSG_FS_ROOT_MAX))
        return -ENAMETOOLONG;
    struct rpmsgfs_msg s = *m;
    rpmsg_mutex_lock(&c->long_lock);
    r = send_pieces(c, m->cookie, RPMSGFS_XP_PATH, m->path);
    s.path = "";
    if (r == 0 && m->path2) {
        r = send_pieces(c, m->cookie, RPMSGFS_XP_PATH2, m->path2);
        s.path2 = "";
    }
    if (r == 0)
        r = send_msg(c, &s);
    rpmsg_mutex_unlock(&c->long_lock);
    return r;
}

/* Bounded by silence, not by size: a long READ stays alive while its
 * answers keep coming, and ends after timeout_ms without one. */
static int64_t wait_slot(struct rpmsg_fs_client *c, struct rpmsg_fs_slot *s)
{
    uint64_t seen = 0;
    int r;
    for (;;) {
        r = rpmsg_wait_timeout(&c->ept, &s->sem, c->timeout_ms);
        if (r != -ETIMEDOUT)
            break;
        rpmsg_mutex_lock(&c->lock);
        bool moved = !s->done && s->got != seen;
        seen = s->got;
        rpmsg_mutex_unlock(&c->lock);
        if (!moved)
            break;
    }
    rpmsg_mutex_lock(&c->lock);
    int64_t res = s->done ? s->result : r < 0 ? r : -ETIMEDOUT;
    rpmsg_mutex_unlock(&c->lock);
    return res;
}

/* One request, one answer (or a READ's stream of answers). */
static int64_t call(struct rpmsg_fs_client *c, struct rpmsgfs_msg *m, struct rpmsg_fs_slot *pre)
{
    struct rpmsg_fs_slot *s = pre ? pre : slot_take(c, m->cmd, &m->cookie);
    if (!s)
        return -ETIMEDOUT;
    m->result = -rpmsgfs_errno_to_nx(ENXIO); /* what NuttX's client sends */
    int r = send_req(c, m);
    int64_t res = r < 0 ? r : wait_slot(c, s);
    slot_drop(c, s);
    return res;
}

/* The server's path for a client path: root + "/" + path. */
static int full_path(struct rpmsg_fs_client *c, const char *path, char *out, size_t cap)
{
    if (!path)
        return -EINVAL;
    while (*path == '/')
        path++;
    /* The root itself is named without a trailing '/', as NuttX's client does. */
    int n = *path ? snprintf(out, cap, "%s/%s", c->root, path)
                  : snprintf(out, cap, "%s", *c->root ? c->root : "/");
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

#define PATH_CALL(c, m, p)                                                                         \
    char full_[RPMSG_FS_PATH_MAX + RPMSG_FS_ROOT_MAX];                                             \
    int pr_ = full_path(c, p, full_, sizeof(full_));                                               \
    if (pr_ < 0)                                                                                   \
        return pr_;                                                                                \
    (m).path = full_

int rpmsg_fs_client_init(struct rpmsg_fs_client *c, struct rpmsg_device *rdev, const char *root,
                         const struct rpmsg_fs_client_config *cfg)
{
    static unsigned counter;
    if (!c || !rdev || !root || strlen(root) >= RPMSG_FS_ROOT_MAX)
        return -EINVAL;
    memset(c, 0, sizeof(*c));
    snprintf(c->root, sizeof(c->root), "%s", root);
    size_t rl = strlen(c->root);
    while (rl > 0 && c->root[rl - 1] == '/')
        c->root[--rl] = '\0';
    c->timeout_ms = cfg && cfg->timeout_ms ? cfg->timeout_ms : RPMSG_FS_TIMEOUT_MS;
    c->want_ext = !(cfg && cfg->nuttx_only);
    rpmsg_mutex_init(&c->lock);
    rpmsg_mutex_init(&c->long_lock);
    for (unsigned i = 0; i < RPMSG_FS_SLOTS; i++)
        rpmsg_sem_init(&c->slots[i].sem, 0);
    rpmsg_sem_init(&c->free, RPMSG_FS_SLOTS);
    /* Unique on the link; NuttX uses the client's address in memory. */
    char name[RPMSG_NAME_SIZE];
    snprintf(name, sizeof(name), "%s%s%lx-%x", RPMSGFS_PREFIX, c->want_ext ? RPMSGFS_EXT_TAG : "",
             (unsigned long)((uintptr_t)c & 0xFFFFFFFu), ++counter);
    c->ept.priv = c;
    int r = rpmsg_create_ept(&c->ept, rdev, name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, client_cb,
                             client_unbind);
    if (r == 0)
        r = rpmsg_wait_ept_ready(&c->ept, c->timeout_ms);
    if (r == 0) {
        /* As NuttX's client does before path requests; by the time this is
         * answered, a server of ours has said HELLO (same link, in order). */
        struct rpmsg_fs_stat st;
        r = rpmsg_fs_stat(c, "", &st);
        if (r == 0 && !S_ISDIR(st.mode))
            r = -ENOTDIR;
    }
    if (r < 0)
        rpmsg_fs_client_deinit(c);
    return r;
}

void rpmsg_fs_client_deinit(struct rpmsg_fs_client *c)
{
    /* timeout_ms is set by init and cleared here: a second call, or one
     * after a failed init, does nothing. */
    if (!c || !c->timeout_ms)
        return;
    c->timeout_ms = 0;
    if (c->ept.rdev)
        rpmsg_destroy_ept(&c->ept);
    c->ept.rdev = NULL;
    for (unsigned i = 0; i < RPMSG_FS_SLOTS; i++)
        rpmsg_sem_deinit(&c->slots[i].sem);
    rpmsg_sem_deinit(&c->free);
    rpmsg_mutex_deinit(&c->long_lock);
    rpmsg_mutex_deinit(&c->lock);
}

bool rpmsg_fs_client_extended(const struct rpmsg_fs_client *c)
{
    return c && use_ext(c);
}

uint32_t rpmsg_fs_client_epoch(struct rpmsg_fs_client *c)
{
    rpmsg_mutex_lock(&c->lock);
    uint32_t e = c->epoch;
    rpmsg_mutex_unlock(&c->lock);
    return e;
}

int rpmsg_fs_client_wait_connected(struct rpmsg_fs_client *c, uint32_t timeout_ms)
{
    /* The core's own error is the caller's clue (-EPIPE: closing). */
    return rpmsg_wait_ept_ready(&c->ept, timeout_ms);
}

/* X_OPEN/X_MKDIR/X_SYMLINK's caller fields; no cred: the server's own ids. */
static void put_cred(struct rpmsgfs_msg *m, const struct rpmsg_fs_cred *cred)
{
    m->uid = cred ? cred->uid : UINT32_MAX;
    m->gid = cred ? cred->gid : UINT32_MAX;
    m->umask = cred ? cred->umask & 0777 : 0;
}

int rpmsg_fs_open_as(struct rpmsg_fs_client *c, const char *path, int flags, mode_t mode,
                     const struct rpmsg_fs_cred *cred)
{
    bool x = use_posix(c);
    struct rpmsgfs_msg m = { .cmd = x ? RPMSGFS_X_OPEN : RPMSGFS_OPEN,
                             .flags = rpmsgfs_flags_to_nx(flags),
                             .mode = (int32_t)rpmsgfs_mode_to_nx(mode & 07777) };
    put_cred(&m, cred);
    PATH_CALL(c, m, path);
    return (int)call(c, &m, NULL);
}

int rpmsg_fs_open(struct rpmsg_fs_client *c, const char *path, int flags, mode_t mode)
{
    return rpmsg_fs_open_as(c, path, flags, mode, NULL);
}

static int fd_call(struct rpmsg_fs_client *c, uint32_t cmd, int fd)
{
    struct rpmsgfs_msg m = { .cmd = cmd, .fd = fd };
    return (int)call(c, &m, NULL);
}

int rpmsg_fs_close(struct rpmsg_fs_client *c, int fd) { return fd_call(c, RPMSGFS_CLOSE, fd); }
int rpmsg_fs_fsync(struct rpmsg_fs_client *c, int fd) { return fd_call(c, RPMSGFS_SYNC, fd); }
int rpmsg_fs_dup(struct rpmsg_fs_client *c, int fd) { return fd_call(c, RPMSGFS_DUP, fd); }
int rpmsg_fs_rewinddir(struct rpmsg_fs_client *c, int d) { return fd_call(c, RPMSGFS_REWINDDIR, d); }
int rpmsg_fs_closedir(struct rpmsg_fs_client *c, int d) { return fd_call(c, RPMSGFS_CLOSEDIR, d); }

/* One READ/X_PREAD of at most READ_MAX bytes; off < 0: at the file position. */
static ssize_t read_once(struct rpmsg_fs_client *c, int fd, void *buf, size_t n, int64_t off)
{
    struct rpmsgfs_msg m = { .fd = fd, .count = (uint32_t)(n > READ_MAX ? READ_MAX : n),
                             .offset = off < 0 ? RPMSGFS_X_OFF_CURRENT : off };
    m.cmd = use_ext(c) ? RPMSGFS_X_PREAD : RPMSGFS_READ;
    if (off >= 0 && m.cmd == RPMSGFS_READ)
        return -ENOTCONN; /* the extension was lost since the caller chose this path */
    struct rpmsg_fs_slot *s = slot_take(c, m.cmd, &m.cookie);
    if (!s)
        return -ETIMEDOUT;
    s->buf = buf;
    s->want = m.count;
    return (ssize_t)call(c, &m, s);
}

/*
 * Writes n bytes in chunks that fit a buffer, all sent before waiting for
 * the answer (pipelined). NuttX format: the last chunk's result only.
 * Extension: the server stops at the first failed chunk and answers the
 * bytes written before it, or its error.
 */
static ssize_t write_all(struct rpmsg_fs_client *c, int fd, const void *buf, size_t n, int64_t off)
{
    int cap = rpmsg_get_tx_buffer_size(&c->ept);
    uint32_t cmd = use_ext(c) ? RPMSGFS_X_PWRITE : RPMSGFS_WRITE;
    if (off >= 0 && cmd == RPMSGFS_WRITE)
        return -ENOTCONN; /* as in read_once */
    size_t fixed = rpmsgfs_fixed_size(cmd);
    if (cap <= (int)fixed)
        return -EMSGSIZE;
    size_t chunk = (size_t)cap - fixed;
    uint64_t cookie;
    struct rpmsg_fs_slot *s = slot_take(c, cmd, &cookie);
    if (!s)
        return -ETIMEDOUT;
    uint64_t chunks = n ? (n + chunk - 1) / chunk : 1;
    const uint8_t *p = buf;
    size_t done = 0;
    int r = 0;
    for (uint64_t i = 0; i < chunks && r == 0; i++) {
        size_t len = n - done < chunk ? n - done : chunk;
        struct rpmsgfs_msg m = { .cmd = cmd, .fd = fd, .count = (uint32_t)len, .data = p + done,
                                 .data_len = (uint32_t)len,
                                 .offset = off < 0 ? RPMSGFS_X_OFF_CURRENT : off + (int64_t)done,
                                 .result = -rpmsgfs_errno_to_nx(ENXIO) };
        /* NuttX: only the last chunk has a cookie. Extension: all have it,
         * and the last is marked in the request's result field. */
        m.cookie = cmd == RPMSGFS_X_PWRITE || i + 1 == chunks ? cookie : 0;
        if (cmd == RPMSGFS_X_PWRITE)
            m.result = i + 1 == chunks;
        r = send_msg(c, &m);
        done += len;
    }
    int64_t res = r < 0 ? r : wait_slot(c, s);
    slot_drop(c, s);
    if (cmd == RPMSGFS_WRITE && res >= 0 && n) {
        /* Only the last chunk's result came back: the earlier ones are
         * taken as written, as NuttX's own client does. */
        size_t last = n - (size_t)(chunks - 1) * chunk;
        res = (int64_t)(n - last) + res;
    }
    return (ssize_t)res;
}

/* Reads of more than READ_MAX: one request after the other, until n bytes,
 * a short answer (end of file) or an error (returned if nothing came). */
static ssize_t read_all(struct rpmsg_fs_client *c, int fd, void *buf, size_t n, int64_t off)
{
    size_t done = 0;
    do {
        size_t want = n - done < READ_MAX ? n - done : READ_MAX;
        ssize_t r = read_once(c, fd, (uint8_t *)buf + done, want,
                              off < 0 ? -1 : off + (int64_t)done);
        if (r < 0)
            return done ? (ssize_t)done : r;
        done += (size_t)r;
        if ((size_t)r < want)
            break;
    } while (done < n);
    return (ssize_t)done;
}

ssize_t rpmsg_fs_read(struct rpmsg_fs_client *c, int fd, void *buf, size_t n)
{
    return read_all(c, fd, buf, n, -1);
}

ssize_t rpmsg_fs_write(struct rpmsg_fs_client *c, int fd, const void *buf, size_t n)
{
    return write_all(c, fd, buf, n, -1);
}

int64_t rpmsg_fs_lseek(struct rpmsg_fs_client *c, int fd, int64_t off, int whence)
{
    if (use_ext(c)) {
        uint64_t cookie;
        struct rpmsgfs_msg m = { .cmd = RPMSGFS_X_LSEEK, .fd = fd, .whence = whence,
                                 .offset = off };
        struct rpmsg_fs_slot *s = slot_take(c, m.cmd, &cookie);
        if (!s)
            return -ETIMEDOUT;
        m.cookie = cookie;
        m.result = -rpmsgfs_errno_to_nx(ENXIO);
        int r = send_msg(c, &m);
        int64_t res = r < 0 ? r : wait_slot(c, s);
        if (res == 0)
            res = s->offset;
        slot_drop(c, s);
        return res;
    }
    if (off > INT32_MAX || off < INT32_MIN)
        return -EOVERFLOW;
    struct rpmsgfs_msg m = { .cmd = RPMSGFS_LSEEK, .fd = fd, .whence = whence, .offset = off };
    return call(c, &m, NULL);
}

/* Without the extension: move the position, transfer, move it back. */
static ssize_t positioned(struct rpmsg_fs_client *c, int fd, void *rbuf, const void *wbuf,
                          size_t n, int64_t off)
{
    if (off < 0)
        return -EINVAL;
    if (use_ext(c))
        return rbuf ? read_all(c, fd, rbuf, n, off) : write_all(c, fd, wbuf, n, off);
    int64_t pos = rpmsg_fs_lseek(c, fd, 0, SEEK_CUR);
    if (pos < 0)
        return (ssize_t)pos;
    int64_t r = rpmsg_fs_lseek(c, fd, off, SEEK_SET);
    if (r < 0)
        return (ssize_t)r;
    ssize_t n2 = rbuf ? read_all(c, fd, rbuf, n, -1) : write_all(c, fd, wbuf, n, -1);
    r = rpmsg_fs_lseek(c, fd, pos, SEEK_SET);
    return n2 < 0 ? n2 : r < 0 ? (ssize_t)r : n2;
}

ssize_t rpmsg_fs_pread(struct rpmsg_fs_client *c, int fd, void *buf, size_t n, int64_t off)
{
    return positioned(c, fd, buf, NULL, n, off);
}

ssize_t rpmsg_fs_pwrite(struct rpmsg_fs_client *c, int fd, const void *buf, size_t n, int64_t off)
{
    return positioned(c, fd, NULL, buf, n, off);
}

int rpmsg_fs_ftruncate(struct rpmsg_fs_client *c, int fd, int64_t len)
{
    if (len < 0)
        return -EINVAL;
    bool x = use_ext(c);
    if (!x && len > INT32_MAX)
        return -EOVERFLOW;
    struct rpmsgfs_msg m = { .cmd = x ? RPMSGFS_X_FTRUNCATE : RPMSGFS_FTRUNCATE, .fd = fd,
                             .offset = len };
    return (int)call(c, &m, NULL);
}

int rpmsg_fs_fstat(struct rpmsg_fs_client *c, int fd, struct rpmsg_fs_stat *st)
{
    struct rpmsgfs_msg m = { .cmd = RPMSGFS_FSTAT, .fd = fd };
    struct rpmsg_fs_slot *s = slot_take(c, m.cmd, &m.cookie);
    if (!s)
        return -ETIMEDOUT;
    s->st = st;
    return (int)call(c, &m, s);
}

static int stat_call(struct rpmsg_fs_client *c, uint32_t cmd, const char *path,
                     struct rpmsg_fs_stat *st)
{
    struct rpmsgfs_msg m = { .cmd = cmd };
    PATH_CALL(c, m, path);
    struct rpmsg_fs_slot *s = slot_take(c, m.cmd, &m.cookie);
    if (!s)
        return -ETIMEDOUT;
    s->st = st;
    return (int)call(c, &m, s);
}

int rpmsg_fs_stat(struct rpmsg_fs_client *c, const char *path, struct rpmsg_fs_stat *st)
{
    return stat_call(c, RPMSGFS_STAT, path, st);
}

int rpmsg_fs_lstat(struct rpmsg_fs_client *c, const char *path, struct rpmsg_fs_stat *st)
{
    return stat_call(c, use_posix(c) ? RPMSGFS_X_LSTAT : RPMSGFS_STAT, path, st);
}

int rpmsg_fs_readlink(struct rpmsg_fs_client *c, const char *path, char *buf, size_t cap)
{
    if (!buf || !cap)
        return -EINVAL;
    if (!use_posix(c))
        return -ENOSYS;
    struct rpmsgfs_msg m = { .cmd = RPMSGFS_X_READLINK };
    PATH_CALL(c, m, path);
    struct rpmsg_fs_slot *s = slot_take(c, m.cmd, &m.cookie);
    if (!s)
        return -ETIMEDOUT;
    s->buf = buf;
    s->want = cap;
    return (int)call(c, &m, s);
}

int rpmsg_fs_statfs(struct rpmsg_fs_client *c, const char *path, struct rpmsg_fs_statfs *st)
{
    struct rpmsgfs_msg m = { .cmd = RPMSGFS_STATFS };
    PATH_CALL(c, m, path);
    struct rpmsg_fs_slot *s = slot_take(c, m.cmd, &m.cookie);
    if (!s)
        return -ETIMEDOUT;
    s->sfs = st;
    return (int)call(c, &m, s);
}

static int path_call(struct rpmsg_fs_client *c, uint32_t cmd, const char *path, mode_t mode)
{
    struct rpmsgfs_msg m = { .cmd = cmd, .mode = (int32_t)rpmsgfs_mode_to_nx(mode & 07777) };
    PATH_CALL(c, m, path);
    return (int)call(c, &m, NULL);
}

int rpmsg_fs_unlink(struct rpmsg_fs_client *c, const char *p) { return path_call(c, RPMSGFS_UNLINK, p, 0); }
int rpmsg_fs_rmdir(struct rpmsg_fs_client *c, const char *p) { return path_call(c, RPMSGFS_RMDIR, p, 0); }
int rpmsg_fs_opendir(struct rpmsg_fs_client *c, const char *p) { return path_call(c, RPMSGFS_OPENDIR, p, 0); }
int rpmsg_fs_mkdir_as(struct rpmsg_fs_client *c, const char *p, mode_t mode,
                      const struct rpmsg_fs_cred *cred)
{
    if (!use_posix(c))
        return path_call(c, RPMSGFS_MKDIR, p, mode);
    struct rpmsgfs_msg m = { .cmd = RPMSGFS_X_MKDIR,
                             .mode = (int32_t)rpmsgfs_mode_to_nx(mode & 07777) };
    put_cred(&m, cred);
    PATH_CALL(c, m, p);
    return (int)call(c, &m, NULL);
}

int rpmsg_fs_mkdir(struct rpmsg_fs_client *c, const char *p, mode_t mode)
{
    return rpmsg_fs_mkdir_as(c, p, mode, NULL);
}

/* RENAME, X_LINK: two client paths. X_SYMLINK: path2 is the target's text. */
static int two_paths(struct rpmsg_fs_client *c, const struct rpmsgfs_msg *req, const char *from,
                     const char *to, bool to_is_path)
{
    char to_full[RPMSG_FS_PATH_MAX + RPMSG_FS_ROOT_MAX];
    struct rpmsgfs_msg m = *req;
    if (to_is_path) {
        int r = full_path(c, to, to_full, sizeof(to_full));
        if (r < 0)
            return r;
        m.path2 = to_full;
    } else {
        if (!to || strlen(to) >= RPMSG_FS_PATH_MAX)
            return to ? -ENAMETOOLONG : -EINVAL;
        m.path2 = to;
    }
    PATH_CALL(c, m, from);
    return (int)call(c, &m, NULL);
}

int rpmsg_fs_rename(struct rpmsg_fs_client *c, const char *from, const char *to)
{
    struct rpmsgfs_msg m = { .cmd = RPMSGFS_RENAME };
    return two_paths(c, &m, from, to, true);
}

int rpmsg_fs_link(struct rpmsg_fs_client *c, const char *from, const char *to)
{
    if (!use_posix(c))
        return -ENOSYS;
    struct rpmsgfs_msg m = { .cmd = RPMSGFS_X_LINK };
    put_cred(&m, NULL);
    return two_paths(c, &m, from, to, true);
}

int rpmsg_fs_symlink(struct rpmsg_fs_client *c, const char *target, const char *linkpath,
                     const struct rpmsg_fs_cred *cred)
{
    if (!use_posix(c))
        return -ENOSYS;
    struct rpmsgfs_msg m = { .cmd = RPMSGFS_X_SYMLINK };
    put_cred(&m, cred);
    return two_paths(c, &m, linkpath, target, false);
}

static int chstat(struct rpmsg_fs_client *c, const char *path, struct rpmsgfs_msg *m)
{
    m->cmd = RPMSGFS_CHSTAT;
    PATH_CALL(c, *m, path);
    return (int)call(c, m, NULL);
}

int rpmsg_fs_chmod(struct rpmsg_fs_client *c, const char *path, mode_t mode)
{
    struct rpmsgfs_msg m = { .flags = RPMSGFS_CH_MODE };
    m.st.mode = rpmsgfs_mode_to_nx(mode & 07777);
    return chstat(c, path, &m);
}

static int chown_flags(struct rpmsg_fs_client *c, const char *path, uid_t uid, gid_t gid,
                       int32_t flags)
{
    struct rpmsgfs_msg m = { .flags = flags };
    if (uid != (uid_t)-1) {
        m.flags |= RPMSGFS_CH_UID;
        m.st.uid = (int16_t)uid;
    }
    if (gid != (gid_t)-1) {
        m.flags |= RPMSGFS_CH_GID;
        m.st.gid = (int16_t)gid;
    }
    if (!(m.flags & ~RPMSGFS_CH_X_NOFOLLOW))
        return 0;
    return chstat(c, path, &m);
}

int rpmsg_fs_chown(struct rpmsg_fs_client *c, const char *path, uid_t uid, gid_t gid)
{
    return chown_flags(c, path, uid, gid, 0);
}

int rpmsg_fs_lchown(struct rpmsg_fs_client *c, const char *path, uid_t uid, gid_t gid)
{
    return chown_flags(c, path, uid, gid, use_posix(c) ? RPMSGFS_CH_X_NOFOLLOW : 0);
}

static int utimens_flags(struct rpmsg_fs_client *c, const char *path,
                         const struct timespec times[2], int32_t flags)
{
    struct rpmsgfs_msg m = { .flags = flags };
    struct timespec now[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
    const struct timespec *t = times ? times : now;
    if (t[0].tv_nsec != UTIME_OMIT) {
        m.flags |= RPMSGFS_CH_ATIME;
        m.st.atim_sec = t[0].tv_sec;
        m.st.atim_nsec = t[0].tv_nsec;
    }
    if (t[1].tv_nsec != UTIME_OMIT) {
        m.flags |= RPMSGFS_CH_MTIME;
        m.st.mtim_sec = t[1].tv_sec;
        m.st.mtim_nsec = t[1].tv_nsec;
    }
    if (!(m.flags & ~RPMSGFS_CH_X_NOFOLLOW))
        return 0;
    return chstat(c, path, &m);
}

int rpmsg_fs_utimens(struct rpmsg_fs_client *c, const char *path, const struct timespec times[2])
{
    return utimens_flags(c, path, times, 0);
}

int rpmsg_fs_lutimens(struct rpmsg_fs_client *c, const char *path,
                      const struct timespec times[2])
{
    return utimens_flags(c, path, times, use_posix(c) ? RPMSGFS_CH_X_NOFOLLOW : 0);
}

int rpmsg_fs_readdir(struct rpmsg_fs_client *c, int dir, struct rpmsg_fs_dirent *ent)
{
    struct rpmsgfs_msg m = { .cmd = RPMSGFS_READDIR, .fd = dir };
    struct rpmsg_fs_slot *s = slot_take(c, m.cmd, &m.cookie);
    if (!s)
        return -ETIMEDOUT;
    s->buf = ent;
    int r = (int)call(c, &m, s);
    /* NuttX ends a directory with -ENOENT. */
    return r == -ENOENT ? 0 : r < 0 ? r : 1;
}
