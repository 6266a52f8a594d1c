/*
 * RPMsg FS server (Linux): one session per client endpoint, each with its
 * own fd and directory tables, answered on the link's RX thread. A request
 * costs one file operation plus its answers; nothing else waits in a
 * callback. Every path is resolved with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS) from the export's root fd, so "..", absolute paths
 * and symlinks cannot leave the export whatever the string looks like.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs_send.h"
#include "fs_wire.h"
#include "fs_xlate.h"
#include "rpmsg/rpmsg_fs.h"

#define EXPORTS_MAX 16
#define EXPORT_NAME_MAX 64
#define IOBUF_SIZE (64u * 1024u)
#define WACC_MAX 16 /* a client of ours has at most RPMSG_FS_SLOTS calls in flight */

struct export {
    char name[EXPORT_NAME_MAX];
    int dirfd;
    bool ro;
};

struct session {
    struct rpmsg_endpoint ept;
    struct rpmsg_fs_server *srv;
    struct rpmsg_device *rdev;
    pthread_mutex_t lock; /* the tables: requests vs. release on link down */
    bool ext;
    bool dead;
    int *fds; /* host fd or -1, index = the client's fd */
    int nfds;
    struct fsdir {
        DIR *dir;
        const struct export *exp;
    } *dirs; /* index = handle; 0 unused (NuttX's handles start at 1) */
    int ndirs;
    const struct export **fexp; /* export of each fd (read-only checks) */
    uint8_t *iobuf;             /* reads: one file read feeds many answers */
    struct wacc {
        bool used, stopped;
        uint64_t cookie, written, received;
        int64_t err;
    } acc[WACC_MAX]; /* write calls in progress (X_PWRITE: by cookie, WRITE: by fd) */
    /* X_PWRITE data not yet written: contiguous chunks of one call, written
     * in one system call when full, at the call's end, or before any other
     * request of this client. */
    uint8_t *wbuf;
    uint32_t wb_len;
    int wb_acc, wb_fd;
    int64_t wb_off;
    /* A long path's X_PATH pieces, for the request with the same cookie. */
    struct stage {
        char *buf[2]; /* RPMSGFS_XP_PATH, RPMSGFS_XP_PATH2 */
        uint32_t len[2];
        uint64_t cookie;
    } stage;
    struct session *next;
};

struct rpmsg_fs_server {
    pthread_mutex_t lock; /* exports and the session list */
    struct export exports[EXPORTS_MAX];
    int nexports;
    bool no_ext;
    struct session *sessions;
};

/* ---- Paths --------------------------------------------------------------- */

static int resolve_at(int dirfd, const char *rel, uint64_t flags, uint64_t mode)
{
    struct open_how how = { .flags = flags | O_CLOEXEC, .mode = mode,
                            .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
    long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
    if (fd >= 0)
        return (int)fd;
    /* EXDEV is openat2's "that would leave the root": to the client it is a refusal. */
    return errno == EXDEV ? -EACCES : -errno;
}

/* "/NAME/rest" -> the export NAME and "rest" ("." for the root itself). */
static const struct export *find_export(struct rpmsg_fs_server *s, const char *path,
                                        const char **rel)
{
    while (*path == '/')
        path++;
    size_t n = strcspn(path, "/");
    const struct export *found = NULL;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->nexports; i++)
        if (strlen(s->exports[i].name) == n && !memcmp(s->exports[i].name, path, n))
            found = &s->exports[i];
    pthread_mutex_unlock(&s->lock);
    path += n;
    while (*path == '/')
        path++;
    *rel = *path ? path : ".";
    return found;
}

/* Opens the parent of rel's last component; *base is that component. */
static int open_parent(const struct export *e, const char *rel, char *tmp, size_t cap,
                       const char **base)
{
    size_t n = strlen(rel);
    if (n >= cap)
        return -ENAMETOOLONG;
    memcpy(tmp, rel, n + 1);
    while (n > 1 && tmp[n - 1] == '/')
        tmp[--n] = '\0';
    char *slash = strrchr(tmp, '/');
    const char *dir = ".";
    if (slash) {
        *slash = '\0';
        *base = slash + 1;
        dir = tmp;
    } else {
        *base = tmp;
    }
    if (!strcmp(*base, ".") || !strcmp(*base, ".."))
        return -EINVAL;
    return resolve_at(e->dirfd, dir, O_PATH | O_DIRECTORY, 0);
}

static void proc_path(char *buf, size_t cap, int fd)
{
    snprintf(buf, cap, "/proc/self/fd/%d", fd);
}

/* ---- Tables -------------------------------------------------------------- */

static int fd_add(struct session *ss, int hostfd, const struct export *e)
{
    for (int i = 0; i < ss->nfds; i++)
        if (ss->fds[i] < 0) {
            ss->fds[i] = hostfd;
            ss->fexp[i] = e;
            return i;
        }
    int n = ss->nfds ? ss->nfds * 2 : 16;
    int *f = realloc(ss->fds, sizeof(*f) * (size_t)n);
    if (!f)
        return -ENFILE;
    ss->fds = f;
    const struct export **x = realloc(ss->fexp, sizeof(*x) * (size_t)n);
    if (!x)
        return -ENFILE;
    ss->fexp = x;
    for (int i = ss->nfds; i < n; i++)
        ss->fds[i] = -1;
    int i = ss->nfds;
    ss->nfds = n;
    ss->fds[i] = hostfd;
    ss->fexp[i] = e;
    return i;
}

static int fd_get(struct session *ss, int32_t fd)
{
    return fd >= 0 && fd < ss->nfds ? ss->fds[fd] : -1;
}

static int dir_add(struct session *ss, DIR *d, const struct export *e)
{
    for (int i = 1; i < ss->ndirs; i++)
        if (!ss->dirs[i].dir) {
            ss->dirs[i] = (struct fsdir){ d, e };
            return i;
        }
    int n = ss->ndirs ? ss->ndirs * 2 : 8;
    struct fsdir *t = realloc(ss->dirs, sizeof(*t) * (size_t)n);
    if (!t)
        return -ENFILE;
    memset(t + ss->ndirs, 0, sizeof(*t) * (size_t)(n - ss->ndirs));
    ss->dirs = t;
    int i = ss->ndirs ? ss->ndirs : 1;
    ss->ndirs = n;
    ss->dirs[i] = (struct fsdir){ d, e };
    return i;
}

static DIR *dir_get(struct session *ss, int32_t h)
{
    return h >= 1 && h < ss->ndirs ? ss->dirs[h].dir : NULL;
}

static void wb_flush(struct session *ss);

/* Closes everything the client had open; ss->lock held. Idempotent. */
static void release_tables(struct session *ss)
{
    wb_flush(ss);
    for (int i = 0; i < ss->nfds; i++)
        if (ss->fds[i] >= 0)
            close(ss->fds[i]);
    for (int i = 1; i < ss->ndirs; i++)
        if (ss->dirs[i].dir)
            closedir(ss->dirs[i].dir);
    free(ss->fds);
    free(ss->fexp);
    free(ss->dirs);
    free(ss->iobuf);
    free(ss->wbuf);
    free(ss->stage.buf[0]);
    free(ss->stage.buf[1]);
    ss->stage = (struct stage){ 0 };
    ss->iobuf = ss->wbuf = NULL;
    ss->fds = NULL;
    ss->fexp = NULL;
    ss->dirs = NULL;
    ss->nfds = ss->ndirs = 0;
}

/*
 * The client went away. Never waits for a request in progress (it may sit
 * in a send that only the endpoint's destruction ends, and this can run on
 * the thread taking the link down): whoever holds the lock after `dead` is
 * set releases the tables, here or at the end of that request.
 */
static void session_release(struct session *ss)
{
    __atomic_store_n(&ss->dead, true, __ATOMIC_SEQ_CST);
    if (pthread_mutex_trylock(&ss->lock) == 0) {
        release_tables(ss);
        pthread_mutex_unlock(&ss->lock);
    }
}

static bool session_dead(struct session *ss)
{
    return __atomic_load_n(&ss->dead, __ATOMIC_SEQ_CST);
}

/* ---- Answers ------------------------------------------------------------- */

static int reply(struct session *ss, const struct rpmsgfs_msg *m)
{
    uint32_t cap;
    void *buf = rpmsg_get_tx_payload_buffer(&ss->ept, &cap, RPMSG_WAIT);
    if (!buf)
        return -EPIPE;
    int len = rpmsgfs_encode(m, true, buf, cap);
    if (len < 0) {
        rpmsg_release_tx_buffer(&ss->ept, buf);
        return len;
    }
    return rpmsgfs_send_nocopy(&ss->ept, buf, (size_t)len);
}

static void stat_to_wire(const struct stat *h, struct rpmsgfs_wstat *w)
{
    w->dev = (uint32_t)h->st_dev;
    w->mode = rpmsgfs_mode_to_nx(h->st_mode);
    w->rdev = (uint32_t)h->st_rdev;
    w->ino = (uint32_t)h->st_ino;
    w->size = h->st_size;
    w->atim_sec = h->st_atim.tv_sec;
    w->atim_nsec = h->st_atim.tv_nsec;
    w->mtim_sec = h->st_mtim.tv_sec;
    w->mtim_nsec = h->st_mtim.tv_nsec;
    w->ctim_sec = h->st_ctim.tv_sec;
    w->ctim_nsec = h->st_ctim.tv_nsec;
    w->blocks = (uint64_t)h->st_blocks;
    w->uid = (int16_t)h->st_uid;
    w->gid = (int16_t)h->st_gid;
    w->blksize = (int16_t)(h->st_blksize > INT16_MAX ? 4096 : h->st_blksize);
    w->nlink = (uint16_t)(h->st_nlink > UINT16_MAX ? UINT16_MAX : h->st_nlink);
}

/*
 * Streams a READ/X_PREAD answer: chunks until count, EOF or an error. The
 * file is read in blocks of up to IOBUF_SIZE (never past count, so the file
 * position ends where the client expects), each cut into answers.
 */
static void do_read(struct session *ss, struct rpmsgfs_msg *m, int fd)
{
    size_t fixed = rpmsgfs_fixed_size(m->cmd);
    if (!ss->iobuf && !(ss->iobuf = malloc(IOBUF_SIZE)))
        fd = -2;
    uint64_t done = 0;
    size_t have = 0, used = 0;
    for (;;) {
        ssize_t n = 0;
        if (used == have) {
            size_t want = m->count - done < IOBUF_SIZE ? (size_t)(m->count - done) : IOBUF_SIZE;
            if (fd == -2)
                n = -ENOMEM;
            else if (fd < 0)
                n = -EBADF;
            else if (m->cmd == RPMSGFS_X_PREAD && m->offset >= 0)
                n = pread(fd, ss->iobuf, want, (off_t)(m->offset + (int64_t)done));
            else
                n = read(fd, ss->iobuf, want);
            if (n < 0 && fd >= 0)
                n = -errno;
            have = n > 0 ? (size_t)n : 0;
            used = 0;
        }
        if (session_dead(ss))
            return;
        uint32_t cap;
        uint8_t *buf = rpmsg_get_tx_payload_buffer(&ss->ept, &cap, RPMSG_WAIT);
        if (!buf)
            return;
        if (have) {
            size_t room = cap > fixed ? cap - fixed : 0;
            n = (ssize_t)(have - used < room ? have - used : room);
            memcpy(buf + fixed, ss->iobuf + used, (size_t)n);
            used += (size_t)n;
        }
        struct rpmsgfs_msg r = *m;
        r.result = rpmsgfs_result_to_nx(n);
        r.data = NULL;
        r.data_len = 0;
        rpmsgfs_encode(&r, true, buf, fixed); /* header and fixed part only */
        if (rpmsgfs_send_nocopy(&ss->ept, buf, fixed + (n > 0 ? (size_t)n : 0)) < 0)
            return;
        if (n <= 0)
            return;
        done += (uint64_t)n;
        if (done >= m->count)
            return;
    }
}

/* The bytes written; *err gets the errno that stopped it short (0: none). */
static int64_t do_write(int fd, const struct rpmsgfs_msg *m, int *err)
{
    *err = 0;
    if (fd < 0) {
        *err = EBADF;
        return -EBADF;
    }
    uint64_t done = 0;
    const uint8_t *p = m->data;
    while (done < m->data_len) {
        ssize_t n = m->offset >= 0
                        ? pwrite(fd, p + done, m->data_len - done, (off_t)(m->offset + (int64_t)done))
                        : write(fd, p + done, m->data_len - done);
        if (n <= 0) {
            *err = n < 0 ? errno : EIO;
            return done ? (int64_t)done : -*err;
        }
        done += (uint64_t)n;
    }
    return (int64_t)done;
}

/* Writes what wbuf holds, accounting it to the call it belongs to. */
static void wb_flush(struct session *ss)
{
    if (!ss->wb_len)
        return;
    struct wacc *a = &ss->acc[ss->wb_acc];
    struct rpmsgfs_msg w = { .cmd = RPMSGFS_X_PWRITE, .offset = ss->wb_off, .data = ss->wbuf,
                             .data_len = ss->wb_len, .count = ss->wb_len };
    int err;
    int64_t n = do_write(ss->wb_fd, &w, &err);
    if (n > 0)
        a->written += (uint64_t)n;
    if (err) {
        a->stopped = true;
        a->err = -err;
    }
    ss->wb_len = 0;
}

static int64_t do_readdir(struct session *ss, struct rpmsgfs_msg *m, char *name, size_t cap)
{
    DIR *d = dir_get(ss, m->fd);
    if (!d)
        return -EBADF;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e)
            return errno ? -errno : -ENOENT; /* NuttX's end of directory */
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(name, cap, "%s", e->d_name);
        m->path = name;
        m->ino = (uint32_t)e->d_ino;
        m->type = rpmsgfs_dtype_to_nx(e->d_type);
        return 0;
    }
}

/* CHSTAT's changes to name in dfd; at: AT_SYMLINK_NOFOLLOW for a link itself. */
static int64_t chstat_at(int dfd, const char *name, int at, const struct rpmsgfs_msg *m)
{
    if (m->flags & RPMSGFS_CH_MODE) {
        if (at & AT_SYMLINK_NOFOLLOW)
            return -EOPNOTSUPP; /* Linux has no mode on symlinks */
        if (fchmodat(dfd, name, rpmsgfs_mode_from_nx(m->st.mode) & 07777, 0) < 0)
            return -errno;
    }
    if (m->flags & (RPMSGFS_CH_UID | RPMSGFS_CH_GID)) {
        uid_t u = (m->flags & RPMSGFS_CH_UID) ? (uid_t)(uint16_t)m->st.uid : (uid_t)-1;
        gid_t g = (m->flags & RPMSGFS_CH_GID) ? (gid_t)(uint16_t)m->st.gid : (gid_t)-1;
        if (fchownat(dfd, name, u, g, at) < 0)
            return -errno;
    }
    if (m->flags & (RPMSGFS_CH_ATIME | RPMSGFS_CH_MTIME)) {
        struct timespec t[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
        if (m->flags & RPMSGFS_CH_ATIME)
            t[0] = (struct timespec){ m->st.atim_sec, m->st.atim_nsec };
        if (m->flags & RPMSGFS_CH_MTIME)
            t[1] = (struct timespec){ m->st.mtim_sec, m->st.mtim_nsec };
        if (utimensat(dfd, name, t, at) < 0)
            return -errno;
    }
    return 0;
}

/* On a resolved fd, through its /proc name (O_PATH fds have no fchmod). */
static int64_t do_chstat(int fd, const struct rpmsgfs_msg *m)
{
    char pp[64];
    proc_path(pp, sizeof(pp), fd);
    return chstat_at(AT_FDCWD, pp, 0, m);
}

/* ---- Long paths ---------------------------------------------------------- */

#define STAGE_CAP (RPMSG_FS_PATH_MAX + RPMSG_FS_ROOT_MAX)

/* One X_PATH piece: pieces come in order (one link delivers in order). */
static void stage_piece(struct session *ss, const struct rpmsgfs_msg *m)
{
    struct stage *st = &ss->stage;
    if (m->part > RPMSGFS_XP_PATH2)
        return;
    if (st->cookie != m->cookie || m->offset == 0) {
        if (st->cookie != m->cookie)
            st->len[0] = st->len[1] = 0;
        st->cookie = m->cookie;
        st->len[m->part] = 0;
    }
    char **b = &st->buf[m->part];
    if (!*b && !(*b = malloc(STAGE_CAP)))
        return;
    uint32_t *len = &st->len[m->part];
    /* Out of order or too long: the request finds no complete path (EINVAL). */
    if ((uint64_t)m->offset != *len || m->data_len > STAGE_CAP - *len) {
        *len = UINT32_MAX;
        return;
    }
    if (*len == UINT32_MAX)
        return;
    memcpy(*b + *len, m->data, m->data_len);
    *len += m->data_len;
}

/* A request naming its path "" takes the staged one; false when none is
 * complete for it. */
static bool stage_take(struct session *ss, struct rpmsgfs_msg *m)
{
    struct stage *st = &ss->stage;
    const char **p[2] = { &m->path, &m->path2 };
    bool ok = true;
    for (int i = 0; i < 2; i++) {
        if (!*p[i] || **p[i])
            continue;
        uint32_t n = st->len[i];
        if (st->cookie != m->cookie || !st->buf[i] || n == 0 || n == UINT32_MAX ||
            st->buf[i][n - 1] != '\0')
            ok = false;
        else
            *p[i] = st->buf[i];
    }
    return ok;
}

/* ---- Creation as the caller ----------------------------------------------- */

/* X_OPEN & co.: the caller's identity; NuttX's OPEN/MKDIR: none (umask 0). */
static struct rpmsg_fs_cred cred_of(const struct rpmsgfs_msg *m)
{
    bool x = m->cmd == RPMSGFS_X_OPEN || m->cmd == RPMSGFS_X_MKDIR || m->cmd == RPMSGFS_X_SYMLINK;
    return (struct rpmsg_fs_cred){ x ? m->uid : UINT32_MAX, x ? m->gid : UINT32_MAX,
                                   x ? m->umask & 0777 : 0 };
}

/*
 * A file just created (fd): owner and mode as the caller asked, not as this
 * process's ids and umask made them. The owner only where this process may
 * give files away (root, CAP_CHOWN): otherwise it stays the exporter's, as
 * docs/fs.md says. The group stays the one a set-group-ID directory gave.
 */
static void own_new(int fd, bool is_dir, uint32_t mode, const struct rpmsg_fs_cred *cr)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return;
    uid_t u = cr->uid != UINT32_MAX && cr->uid != st.st_uid ? cr->uid : (uid_t)-1;
    gid_t g = cr->gid != UINT32_MAX && cr->gid != st.st_gid && st.st_gid == getegid()
                  ? cr->gid : (gid_t)-1;
    if (u != (uid_t)-1 || g != (gid_t)-1)
        (void)!fchownat(fd, "", u, g, AT_EMPTY_PATH); /* EPERM: not ours to give */
    if (is_dir && (st.st_mode & S_ISGID))
        mode |= S_ISGID; /* inherited from the parent, as mkdir does */
    char pp[64];
    proc_path(pp, sizeof(pp), fd);
    (void)!chmod(pp, mode & 07777);
}

/*
 * open(O_CREAT) that knows whether it created the file (first with O_EXCL),
 * so that a new file gets mode & ~umask exactly and the caller's ids, and
 * an existing one is left alone.
 */
static int open_create(const struct export *e, const char *rel, int hf, uint32_t mode,
                       const struct rpmsg_fs_cred *cr)
{
    if (!(hf & O_CREAT))
        return resolve_at(e->dirfd, rel, (uint64_t)hf, 0);
    mode &= 07777 & ~cr->umask;
    for (int tries = 0; tries < 2; tries++) {
        int fd = resolve_at(e->dirfd, rel, (uint64_t)(hf | O_EXCL), mode);
        if (fd >= 0) {
            own_new(fd, false, mode, cr);
            return fd;
        }
        if (fd != -EEXIST || (hf & O_EXCL))
            return fd;
        fd = resolve_at(e->dirfd, rel, (uint64_t)(hf & ~(O_CREAT | O_EXCL)), 0);
        if (fd != -ENOENT)
            return fd; /* existed: opened as it is; or its error */
    }
    /* A symlink to a name that does not exist (O_EXCL sees the link, the
     * plain open finds no target): create the target as open(2) does, in
     * the export; its mode then also passes this process's umask. */
    return resolve_at(e->dirfd, rel, (uint64_t)hf, mode);
}

/* MKDIR, X_MKDIR, X_SYMLINK in the parent pfd: the new entry base. */
static int64_t make_at(int pfd, const char *base, const struct rpmsgfs_msg *m,
                       const struct rpmsg_fs_cred *cr)
{
    if (m->cmd == RPMSGFS_X_SYMLINK) {
        if (symlinkat(m->path2, pfd, base) < 0)
            return -errno;
        if (cr->uid != UINT32_MAX || cr->gid != UINT32_MAX)
            (void)!fchownat(pfd, base, cr->uid, cr->gid, AT_SYMLINK_NOFOLLOW);
        return 0;
    }
    uint32_t mode = rpmsgfs_mode_from_nx((uint32_t)m->mode) & 07777 & ~cr->umask;
    if (mkdirat(pfd, base, mode) < 0)
        return -errno;
    int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        own_new(fd, true, mode, cr);
        close(fd);
    }
    return 0;
}

static bool writes(int hostflags)
{
    return (hostflags & O_ACCMODE) != O_RDONLY || (hostflags & (O_CREAT | O_TRUNC));
}

/* Path requests; the result is a host value (>= 0, or -errno). */
static int64_t path_op(struct session *ss, struct rpmsgfs_msg *m, char *name, size_t name_cap)
{
    const char *rel;
    const struct export *e = find_export(ss->srv, m->path, &rel);
    if (!e)
        return -ENOENT;
    bool modifies = m->cmd == RPMSGFS_UNLINK || m->cmd == RPMSGFS_MKDIR ||
                    m->cmd == RPMSGFS_RMDIR || m->cmd == RPMSGFS_RENAME ||
                    m->cmd == RPMSGFS_CHSTAT || m->cmd == RPMSGFS_X_MKDIR ||
                    m->cmd == RPMSGFS_X_SYMLINK || m->cmd == RPMSGFS_X_LINK;
    if (e->ro && modifies)
        return -EROFS;
    char tmp[STAGE_CAP], tmp2[STAGE_CAP];
    const char *base, *base2;
    struct rpmsg_fs_cred cr = cred_of(m);
    int64_t r;
    int fd;
    switch (m->cmd) {
    case RPMSGFS_OPEN: case RPMSGFS_X_OPEN: {
        int hf = rpmsgfs_flags_from_nx(m->flags);
        if (e->ro && writes(hf))
            return -EROFS;
        fd = open_create(e, rel, hf, rpmsgfs_mode_from_nx((uint32_t)m->mode), &cr);
        if (fd < 0)
            return fd;
        r = fd_add(ss, fd, e);
        if (r < 0)
            close(fd);
        return r;
    }
    case RPMSGFS_OPENDIR: {
        fd = resolve_at(e->dirfd, rel, O_RDONLY | O_DIRECTORY, 0);
        if (fd < 0)
            return fd;
        DIR *d = fdopendir(fd);
        if (!d) {
            r = -errno;
            close(fd);
            return r;
        }
        r = dir_add(ss, d, e);
        if (r < 0)
            closedir(d);
        return r;
    }
    case RPMSGFS_STAT: case RPMSGFS_X_LSTAT: case RPMSGFS_STATFS: case RPMSGFS_CHSTAT: {
        bool nofollow = m->cmd == RPMSGFS_X_LSTAT ||
                        (m->cmd == RPMSGFS_CHSTAT && ss->ext && (m->flags & RPMSGFS_CH_X_NOFOLLOW));
        fd = resolve_at(e->dirfd, rel, O_PATH | (nofollow ? O_NOFOLLOW : 0), 0);
        if (fd < 0)
            return fd;
        struct stat st;
        struct statfs sf;
        r = 0;
        if (m->cmd == RPMSGFS_STAT || m->cmd == RPMSGFS_X_LSTAT) {
            if (fstat(fd, &st) < 0)
                r = -errno;
            else
                stat_to_wire(&st, &m->st);
        } else if (m->cmd == RPMSGFS_STATFS) {
            if (fstatfs(fd, &sf) < 0) {
                r = -errno;
            } else {
                m->sfs = (struct rpmsgfs_wstatfs){ (uint32_t)sf.f_type, (uint64_t)sf.f_namelen,
                                                   (uint64_t)sf.f_bsize, sf.f_blocks, sf.f_bfree,
                                                   sf.f_bavail, sf.f_files, sf.f_ffree };
            }
        } else if (nofollow && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
            int pfd = open_parent(e, rel, tmp, sizeof(tmp), &base);
            r = pfd < 0 ? pfd : chstat_at(pfd, base, AT_SYMLINK_NOFOLLOW, m);
            if (pfd >= 0)
                close(pfd);
        } else {
            r = do_chstat(fd, m);
        }
        close(fd);
        return r;
    }
    case RPMSGFS_X_READLINK: {
        m->path = NULL; /* the answer's name: only the target, on success */
        fd = open_parent(e, rel, tmp, sizeof(tmp), &base);
        if (fd < 0)
            return fd;
        ssize_t n = readlinkat(fd, base, name, name_cap);
        r = n < 0 ? -errno : (size_t)n >= name_cap ? -ENAMETOOLONG : n;
        close(fd);
        if (r >= 0) {
            name[r] = '\0';
            m->path = name;
        }
        return r;
    }
    case RPMSGFS_RENAME: case RPMSGFS_X_LINK: {
        const char *rel2;
        const struct export *e2 = find_export(ss->srv, m->path2, &rel2);
        if (!e2)
            return -ENOENT;
        if (e2 != e)
            return -EXDEV;
        fd = open_parent(e, rel, tmp, sizeof(tmp), &base);
        if (fd < 0)
            return fd;
        int fd2 = open_parent(e, rel2, tmp2, sizeof(tmp2), &base2);
        if (fd2 < 0) {
            close(fd);
            return fd2;
        }
        if (m->cmd == RPMSGFS_RENAME)
            r = renameat(fd, base, fd2, base2) < 0 ? -errno : 0;
        else
            r = linkat(fd, base, fd2, base2, 0) < 0 ? -errno : 0;
        close(fd);
        close(fd2);
        return r;
    }
    default: /* UNLINK, RMDIR, MKDIR, X_MKDIR, X_SYMLINK */
        fd = open_parent(e, rel, tmp, sizeof(tmp), &base);
        bool makes = m->cmd == RPMSGFS_MKDIR || m->cmd == RPMSGFS_X_MKDIR ||
                     m->cmd == RPMSGFS_X_SYMLINK;
        if (fd < 0)
            return makes && fd == -EINVAL ? -EEXIST : fd;
        if (makes)
            r = make_at(fd, base, m, &cr);
        else
            r = unlinkat(fd, base, m->cmd == RPMSGFS_RMDIR ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
        close(fd);
        return r;
    }
}

/* Requests on an open fd or directory handle. */
static int64_t handle_op(struct session *ss, struct rpmsgfs_msg *m)
{
    int fd = fd_get(ss, m->fd);
    const struct export *e = fd >= 0 ? ss->fexp[m->fd] : NULL;
    struct stat st;
    off_t pos;
    switch (m->cmd) {
    case RPMSGFS_CLOSE:
        if (fd < 0)
            return -EBADF;
        ss->fds[m->fd] = -1;
        return close(fd) < 0 ? -errno : 0;
    case RPMSGFS_LSEEK: case RPMSGFS_X_LSEEK:
        if (fd < 0)
            return -EBADF;
        pos = lseek(fd, (off_t)m->offset, m->whence);
        if (pos < 0)
            return -errno;
        if (m->cmd == RPMSGFS_X_LSEEK) {
            m->offset = pos;
            return 0;
        }
        return pos > INT32_MAX ? -EOVERFLOW : pos;
    case RPMSGFS_SYNC:
        return fd < 0 ? -EBADF : fsync(fd) < 0 ? -errno : 0;
    case RPMSGFS_DUP: {
        if (fd < 0)
            return -EBADF;
        int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (nfd < 0)
            return -errno;
        int64_t r = fd_add(ss, nfd, e);
        if (r < 0)
            close(nfd);
        return r;
    }
    case RPMSGFS_FSTAT:
        if (fd < 0)
            return -EBADF;
        if (fstat(fd, &st) < 0)
            return -errno;
        stat_to_wire(&st, &m->st);
        return 0;
    case RPMSGFS_FTRUNCATE: case RPMSGFS_X_FTRUNCATE:
        if (fd < 0)
            return -EBADF;
        if (e->ro)
            return -EROFS;
        return ftruncate(fd, (off_t)m->offset) < 0 ? -errno : 0;
    case RPMSGFS_FCHSTAT:
        if (fd < 0)
            return -EBADF;
        if (e->ro)
            return -EROFS;
        return do_chstat(fd, m);
    case RPMSGFS_IOCTL:
        return fd < 0 ? -EBADF : -ENOTTY; /* no host ioctl is passed through */
    case RPMSGFS_REWINDDIR: {
        DIR *d = dir_get(ss, m->fd);
        if (!d)
            return -EBADF;
        rewinddir(d);
        return 0;
    }
    case RPMSGFS_CLOSEDIR: {
        DIR *d = dir_get(ss, m->fd);
        if (!d)
            return -EBADF;
        ss->dirs[m->fd].dir = NULL;
        return closedir(d) < 0 ? -errno : 0;
    }
    case RPMSGFS_INIT:
        return 0;
    default:
        return -ENOSYS;
    }
}

/*
 * One chunk of a write call, which is: an X_PWRITE's chunks (one cookie, the
 * last marked by result 1), or a NuttX WRITE's chunks on one fd (cookie 0,
 * then the last with its cookie). Contiguous chunks are gathered in wbuf.
 * Chunks after a failed or short one are not written. Only the last chunk
 * is answered: X_PWRITE with the bytes written, or the first failure's
 * error when nothing was; WRITE, as NuttX's client expects, with what its
 * own last chunk amounts to. Returns true when *r is to be answered.
 */
static bool pwrite_chunk(struct session *ss, struct rpmsgfs_msg *m, int64_t *r)
{
    bool nuttx = m->cmd == RPMSGFS_WRITE;
    uint64_t key = nuttx ? 1ull << 63 | (uint32_t)m->fd : m->cookie;
    bool last = nuttx ? m->cookie != 0 : m->result == 1;
    if (nuttx)
        m->offset = RPMSGFS_X_OFF_CURRENT;
    struct wacc *a = NULL, *free_slot = NULL;
    for (int i = 0; i < WACC_MAX; i++) {
        if (ss->acc[i].used && ss->acc[i].cookie == key)
            a = &ss->acc[i];
        else if (!ss->acc[i].used && !free_slot)
            free_slot = &ss->acc[i];
    }
    if (!a) {
        if (!free_slot) {
            *r = -ENOBUFS; /* more calls in flight than any client of ours makes */
            return last;
        }
        a = free_slot;
        *a = (struct wacc){ .used = true, .cookie = key };
    }
    a->received += m->data_len;
    int idx = (int)(a - ss->acc);
    int hfd = fd_get(ss, m->fd);
    if (!a->stopped && hfd < 0) {
        a->stopped = true;
        a->err = -EBADF;
    }
    if (!a->stopped) {
        bool next = ss->wb_len && ss->wb_acc == idx && ss->wb_fd == hfd &&
                    (m->offset < 0 ? ss->wb_off < 0
                                   : ss->wb_off >= 0 && m->offset == ss->wb_off + ss->wb_len);
        if (ss->wb_len && (!next || ss->wb_len + m->data_len > IOBUF_SIZE))
            wb_flush(ss);
        if (!ss->wbuf && !(ss->wbuf = malloc(IOBUF_SIZE))) {
            a->stopped = true;
            a->err = -ENOMEM;
        }
    }
    if (!a->stopped) {
        if (!ss->wb_len) {
            ss->wb_acc = idx;
            ss->wb_fd = hfd;
            ss->wb_off = m->offset;
        }
        memcpy(ss->wbuf + ss->wb_len, m->data, m->data_len);
        ss->wb_len += m->data_len;
    }
    if (!last)
        return false;
    if (ss->wb_len && ss->wb_acc == idx)
        wb_flush(ss);
    if (nuttx) {
        uint64_t before = a->received - m->data_len; /* the earlier chunks */
        /* Its client takes the earlier chunks as written: any shortfall
         * must come back as the error, never as a count. */
        *r = a->written < a->received ? (a->err ? a->err : -EIO)
                                      : (int64_t)(a->written - before);
    } else {
        *r = a->written ? (int64_t)a->written : a->err;
    }
    a->used = false;
    return true;
}

/* One request; ss->lock held. */
static void session_req(struct session *ss, void *data, size_t len)
{
    struct rpmsgfs_msg m;
    int d = rpmsgfs_decode(data, len, false, &m);
    if (d == -ENOSYS || (m.cmd >= RPMSGFS_NUTTX_CMDS && !ss->ext))
        return; /* as NuttX: an unknown command has no answer */
    if (d < 0) {
        /* Malformed: answer the fixed part as it came, with the error. */
        uint8_t echo[128] = { 0 };
        size_t fixed = rpmsgfs_fixed_size(m.cmd);
        memcpy(echo, data, len < fixed ? len : fixed);
        rpmsgfs_decode(echo, fixed, true, &m);
        m.path = NULL;
        m.data_len = 0;
        m.result = -rpmsgfs_errno_to_nx(EINVAL);
        reply(ss, &m);
        return;
    }
    char name[RPMSG_FS_PATH_MAX];
    int64_t r;
    if (m.cmd == RPMSGFS_X_PATH) {
        stage_piece(ss, &m);
        return; /* pieces are not answered: the request they belong to is */
    }
    if (m.cmd != RPMSGFS_X_PWRITE && m.cmd != RPMSGFS_WRITE)
        wb_flush(ss); /* what was written before this request is on disk for it */
    uint32_t cap = (uint32_t)rpmsg_get_tx_buffer_size(&ss->ept);
    switch (m.cmd) {
    case RPMSGFS_READ: case RPMSGFS_X_PREAD:
        do_read(ss, &m, fd_get(ss, m.fd));
        return;
    case RPMSGFS_WRITE:
    case RPMSGFS_X_PWRITE:
        if (!pwrite_chunk(ss, &m, &r))
            return;
        break;
    case RPMSGFS_READDIR: {
        size_t room = cap > 29 ? cap - 28 : 1;
        r = do_readdir(ss, &m, name, room < RPMSG_FS_NAME_MAX ? room : RPMSG_FS_NAME_MAX);
        break;
    }
    case RPMSGFS_OPEN: case RPMSGFS_OPENDIR: case RPMSGFS_STAT: case RPMSGFS_STATFS:
    case RPMSGFS_UNLINK: case RPMSGFS_MKDIR: case RPMSGFS_RMDIR: case RPMSGFS_RENAME:
    case RPMSGFS_CHSTAT: case RPMSGFS_X_OPEN: case RPMSGFS_X_MKDIR: case RPMSGFS_X_SYMLINK:
    case RPMSGFS_X_LINK: case RPMSGFS_X_READLINK: case RPMSGFS_X_LSTAT: {
        if (ss->ext && !stage_take(ss, &m)) {
            r = -EINVAL; /* "" with no complete long path staged for it */
            m.path = NULL;
            break;
        }
        /* The answer carries the target: it must fit one message. */
        size_t room = cap > RPMSGFS_HDR_SIZE + 1 ? cap - RPMSGFS_HDR_SIZE : 1;
        r = path_op(ss, &m, name, room < sizeof(name) ? room : sizeof(name));
        break;
    }
    default:
        r = handle_op(ss, &m);
        break;
    }
    m.result = rpmsgfs_result_to_nx(r);
    if (m.cmd != RPMSGFS_IOCTL)
        m.data_len = 0;
    reply(ss, &m);
}

static int session_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept;
    (void)src;
    struct session *ss = priv;
    pthread_mutex_lock(&ss->lock);
    if (!session_dead(ss))
        session_req(ss, data, len);
    pthread_mutex_unlock(&ss->lock);
    /* Looked at once unlocked: a release while we held the lock found it
     * taken and left the tables to us (a look before the unlock would miss
     * one that came after it, and the gone client's descriptors would stay
     * open until the session is freed). */
    if (session_dead(ss) && pthread_mutex_trylock(&ss->lock) == 0) {
        release_tables(ss);
        pthread_mutex_unlock(&ss->lock);
    }
    return 0;
}

/* ---- Sessions ------------------------------------------------------------ */

static void session_unbind(struct rpmsg_endpoint *ept)
{
    /* The client's endpoint went away; the endpoint itself is destroyed
     * later (reap), since this runs with the core holding a reference. */
    session_release(ept->priv);
}

static void session_free(struct session *ss)
{
    rpmsg_destroy_ept(&ss->ept); /* ends a request in progress, and waits for it */
    pthread_mutex_lock(&ss->lock);
    release_tables(ss);
    pthread_mutex_unlock(&ss->lock);
    pthread_mutex_destroy(&ss->lock);
    free(ss);
}

/* Frees sessions that are dead, or all of rdev's (NULL: none by device). */
static void reap(struct rpmsg_fs_server *s, struct rpmsg_device *rdev, bool all)
{
    struct session *doomed = NULL;
    pthread_mutex_lock(&s->lock);
    for (struct session **pp = &s->sessions; *pp;) {
        struct session *ss = *pp;
        if (all || ss->rdev == rdev || session_dead(ss)) {
            *pp = ss->next;
            ss->next = doomed;
            doomed = ss;
        } else {
            pp = &ss->next;
        }
    }
    pthread_mutex_unlock(&s->lock);
    while (doomed) {
        struct session *ss = doomed;
        doomed = ss->next;
        session_free(ss);
    }
}

static bool ns_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)rdev;
    (void)priv;
    (void)dest;
    return !strncmp(name, RPMSGFS_PREFIX, strlen(RPMSGFS_PREFIX));
}

static void ns_bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    struct rpmsg_fs_server *s = priv;
    reap(s, NULL, false);
    struct session *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return;
    ss->srv = s;
    ss->rdev = rdev;
    ss->ext = !s->no_ext && !strncmp(name + strlen(RPMSGFS_PREFIX), RPMSGFS_EXT_TAG,
                                     strlen(RPMSGFS_EXT_TAG));
    pthread_mutex_init(&ss->lock, NULL);
    ss->ept.priv = ss;
    /* Same name, dst ANY: announced back to the client, which binds it, and
     * name-bound, so the client's NS DESTROY reaches session_unbind. */
    if (rpmsg_create_ept(&ss->ept, rdev, name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, session_cb,
                         session_unbind) < 0) {
        pthread_mutex_destroy(&ss->lock);
        free(ss);
        return;
    }
    pthread_mutex_lock(&s->lock);
    ss->next = s->sessions;
    s->sessions = ss;
    pthread_mutex_unlock(&s->lock);
    if (ss->ext) {
        uint8_t hello[32];
        struct rpmsgfs_msg h = { .cmd = RPMSGFS_X_HELLO, .version = RPMSGFS_X_VERSION,
                                 .features = RPMSGFS_XF_POSIX };
        int len = rpmsgfs_encode(&h, true, hello, sizeof(hello));
        /* To the announced address: it arrives after our announcement. */
        rpmsg_sendto(&ss->ept, hello, (size_t)len, dest);
    }
}

static void dev_destroyed(struct rpmsg_device *rdev, void *priv)
{
    reap(priv, rdev, false);
}

int rpmsg_fs_server_create(struct rpmsg_fs_server **out, const struct rpmsg_fs_server_config *cfg)
{
    if (!out)
        return -EINVAL;
    struct rpmsg_fs_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    s->no_ext = cfg && cfg->nuttx_only;
    int r = rpmsg_register_callback(s, NULL, dev_destroyed, ns_match, ns_bind);
    if (r < 0) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return r;
    }
    *out = s;
    return 0;
}

int rpmsg_fs_server_export(struct rpmsg_fs_server *s, const char *name, const char *dir,
                           bool read_only)
{
    if (!s || !name || !dir || !*name || strchr(name, '/') || strlen(name) >= EXPORT_NAME_MAX)
        return -EINVAL;
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = 0;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->nexports; i++)
        if (!strcmp(s->exports[i].name, name))
            r = -EEXIST;
    if (!r && s->nexports == EXPORTS_MAX)
        r = -ENOMEM;
    if (!r) {
        struct export *e = &s->exports[s->nexports++];
        snprintf(e->name, sizeof(e->name), "%s", name);
        e->dirfd = fd;
        e->ro = read_only;
    }
    pthread_mutex_unlock(&s->lock);
    if (r)
        close(fd);
    return r;
}

unsigned rpmsg_fs_server_clients(struct rpmsg_fs_server *s)
{
    unsigned n = 0;
    pthread_mutex_lock(&s->lock);
    for (struct session *ss = s->sessions; ss; ss = ss->next)
        n += !session_dead(ss);
    pthread_mutex_unlock(&s->lock);
    return n;
}

void rpmsg_fs_server_destroy(struct rpmsg_fs_server *s)
{
    if (!s)
        return;
    rpmsg_unregister_callback(s, NULL, dev_destroyed, ns_match, ns_bind);
    reap(s, NULL, true);
    for (int i = 0; i < s->nexports; i++)
        close(s->exports[i].dirfd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
