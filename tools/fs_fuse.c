/*
 * FUSE operations over an rpmsgfs client (high-level libfuse3 API). Each
 * operation is one or a few client calls; fds and directory handles are the
 * server's, kept in fuse_file_info with the client's epoch. A lost server or
 * link (-ENOTCONN) and a request that timed out show as EIO, as a local
 * disk's failure would. When the link or server comes back the client binds
 * again by itself: new opens work, while files opened before stay EIO (the
 * server closed them, and a new fd may reuse their number).
 */
#include "fs_fuse.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#ifdef RPMSG_HAVE_FUSE3
#define FUSE_USE_VERSION 31
#include <fuse.h>

static struct fs_mount *mnt(void)
{
    return fuse_get_context()->private_data;
}

/* The client for one operation, read-locked against its replacement; NULL
 * (nothing locked) while there is none: the operation fails with EIO. */
static struct rpmsg_fs_client *cli_get(void)
{
    struct fs_mount *m = mnt();
    pthread_rwlock_rdlock(&m->lock);
    /* Read once, under the lock: read again after unlocking, a client
     * swapped in meanwhile would be used (and unlocked) unlocked. */
    struct rpmsg_fs_client *c = m->c;
    if (!c)
        pthread_rwlock_unlock(&m->lock);
    return c;
}

static int cli_put(int r)
{
    pthread_rwlock_unlock(&mnt()->lock);
    return r;
}

/* A connection's identity: the owner's generation and the client's epoch. */
static uint32_t epoch_of(struct rpmsg_fs_client *c)
{
    return mnt()->gen << 16 | (rpmsg_fs_client_epoch(c) & 0xFFFF);
}

static int eio(int64_t r)
{
    return r == -ENOTCONN || r == -ETIMEDOUT ? -EIO : (int)r;
}

/* fi->fh: the epoch in the high half, the server's fd in the low. */
static uint64_t fh_make(int fd, uint32_t epoch)
{
    return (uint64_t)epoch << 32 | (uint32_t)fd;
}

/* The server's fd, or -EIO when it belongs to a connection since lost. */
static int fh_fd(struct rpmsg_fs_client *c, const struct fuse_file_info *fi)
{
    if ((uint32_t)(fi->fh >> 32) != epoch_of(c))
        return -EIO;
    return (int)(uint32_t)fi->fh;
}

/* Who calls: a new file is theirs (the export applies it where it may). */
static struct rpmsg_fs_cred caller(void)
{
    const struct fuse_context *x = fuse_get_context();
    return (struct rpmsg_fs_cred){ x->uid, x->gid, x->umask };
}

/* Opens path; on success stores the handle in fi. */
static int open_fh(const char *path, int flags, mode_t mode, struct fuse_file_info *fi)
{
    struct rpmsg_fs_client *c = cli_get();
    if (!c)
        return -EIO;
    uint32_t epoch = epoch_of(c);
    struct rpmsg_fs_cred cr = caller();
    int fd = rpmsg_fs_open_as(c, path, flags, mode, &cr);
    if (fd < 0)
        return cli_put(eio(fd));
    if (epoch_of(c) != epoch)
        return cli_put(-EIO); /* the connection was lost and renewed meanwhile */
    fi->fh = fh_make(fd, epoch);
    return cli_put(0);
}

static void to_stat(const struct rpmsg_fs_stat *s, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_dev = s->dev;
    st->st_ino = s->ino;
    st->st_mode = s->mode;
    st->st_nlink = s->nlink;
    st->st_uid = s->uid;
    st->st_gid = s->gid;
    st->st_rdev = s->rdev;
    st->st_size = s->size;
    st->st_blksize = s->blksize;
    st->st_blocks = s->blocks;
    st->st_atim = (struct timespec){ s->atime_sec, s->atime_nsec };
    st->st_mtim = (struct timespec){ s->mtime_sec, s->mtime_nsec };
    st->st_ctim = (struct timespec){ s->ctime_sec, s->ctime_nsec };
}

/* Opens a client section: c, or EIO when there is no client now. */
#define CLIENT(c)                                                                                  \
    struct rpmsg_fs_client *c = cli_get();                                                         \
    if (!c)                                                                                        \
    return -EIO

/* ... and with the server's fd of fi (EIO for a handle of a lost connection). */
#define CLIENT_FD(c, fd, fi)                                                                       \
    CLIENT(c);                                                                                     \
    int fd = fh_fd(c, fi);                                                                         \
    if (fd < 0)                                                                                    \
    return cli_put(fd)

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    CLIENT(c);
    struct rpmsg_fs_stat s;
    int fd = fi ? fh_fd(c, fi) : 0;
    if (fd < 0)
        return cli_put(fd);
    /* The kernel resolves symlinks itself: a path names the link. */
    int r = fi ? rpmsg_fs_fstat(c, fd, &s) : rpmsg_fs_lstat(c, path, &s);
    if (r == 0)
        to_stat(&s, st);
    return cli_put(eio(r));
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)off;
    (void)fi;
    (void)flags;
    CLIENT(c);
    int h = rpmsg_fs_opendir(c, path);
    if (h < 0)
        return cli_put(eio(h));
    fill(buf, ".", NULL, 0, 0);
    fill(buf, "..", NULL, 0, 0);
    struct rpmsg_fs_dirent e;
    int r;
    while ((r = rpmsg_fs_readdir(c, h, &e)) == 1) {
        struct stat st = { .st_ino = e.ino, .st_mode = (mode_t)(e.type << 12) };
        if (fill(buf, e.name, &st, 0, 0))
            break;
    }
    rpmsg_fs_closedir(c, h);
    return cli_put(r < 0 ? eio(r) : 0);
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    return open_fh(path, fi->flags, 0, fi);
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return open_fh(path, fi->flags | O_CREAT, mode, fi);
}

static int op_read(const char *path, char *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
    (void)path;
    CLIENT_FD(c, fd, fi);
    return cli_put(eio(rpmsg_fs_pread(c, fd, buf, n, off)));
}

static int op_write(const char *path, const char *buf, size_t n, off_t off,
                    struct fuse_file_info *fi)
{
    (void)path;
    CLIENT_FD(c, fd, fi);
    return cli_put(eio(rpmsg_fs_pwrite(c, fd, buf, n, off)));
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    struct rpmsg_fs_client *c = cli_get();
    if (!c)
        return 0; /* a lost connection's files are closed already */
    int fd = fh_fd(c, fi);
    return cli_put(fd < 0 ? 0 : eio(rpmsg_fs_close(c, fd)));
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    (void)datasync;
    CLIENT_FD(c, fd, fi);
    return cli_put(eio(rpmsg_fs_fsync(c, fd)));
}

static int op_truncate(const char *path, off_t len, struct fuse_file_info *fi)
{
    if (fi) {
        CLIENT_FD(c, fd, fi);
        return cli_put(eio(rpmsg_fs_ftruncate(c, fd, len)));
    }
    CLIENT(c);
    int fd = rpmsg_fs_open(c, path, O_WRONLY, 0);
    if (fd < 0)
        return cli_put(eio(fd));
    int r = rpmsg_fs_ftruncate(c, fd, len);
    rpmsg_fs_close(c, fd);
    return cli_put(eio(r));
}

static int op_unlink(const char *path)
{
    CLIENT(c);
    return cli_put(eio(rpmsg_fs_unlink(c, path)));
}

static int op_rmdir(const char *path)
{
    CLIENT(c);
    return cli_put(eio(rpmsg_fs_rmdir(c, path)));
}

static int op_mkdir(const char *path, mode_t mode)
{
    CLIENT(c);
    struct rpmsg_fs_cred cr = caller();
    return cli_put(eio(rpmsg_fs_mkdir_as(c, path, mode, &cr)));
}

static int op_symlink(const char *target, const char *path)
{
    CLIENT(c);
    struct rpmsg_fs_cred cr = caller();
    return cli_put(eio(rpmsg_fs_symlink(c, target, path, &cr)));
}

static int op_link(const char *from, const char *to)
{
    CLIENT(c);
    return cli_put(eio(rpmsg_fs_link(c, from, to)));
}

static int op_readlink(const char *path, char *buf, size_t n)
{
    CLIENT(c);
    int r = rpmsg_fs_readlink(c, path, buf, n);
    return cli_put(r < 0 ? eio(r) : 0);
}

static int op_rename(const char *from, const char *to, unsigned flags)
{
    if (flags)
        return -EINVAL; /* RENAME_NOREPLACE/EXCHANGE have no wire form */
    CLIENT(c);
    return cli_put(eio(rpmsg_fs_rename(c, from, to)));
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    (void)fi;
    CLIENT(c);
    return cli_put(eio(rpmsg_fs_chmod(c, path, mode)));
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    (void)fi;
    CLIENT(c);
    /* The kernel asks for the inode the path names, a symlink included. */
    return cli_put(eio(rpmsg_fs_lchown(c, path, uid, gid)));
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    (void)fi;
    CLIENT(c);
    return cli_put(eio(rpmsg_fs_lutimens(c, path, tv)));
}

static int op_statfs(const char *path, struct statvfs *sv)
{
    CLIENT(c);
    struct rpmsg_fs_statfs s;
    int r = rpmsg_fs_statfs(c, path, &s);
    if (r < 0)
        return cli_put(eio(r));
    memset(sv, 0, sizeof(*sv));
    sv->f_bsize = sv->f_frsize = s.bsize;
    sv->f_blocks = s.blocks;
    sv->f_bfree = s.bfree;
    sv->f_bavail = s.bavail;
    sv->f_files = s.files;
    sv->f_ffree = s.ffree;
    sv->f_namemax = s.namelen;
    return cli_put(0);
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    /* Writes of up to 1 MiB per FUSE request (128 KiB by default): each
     * request is one pipelined write call and one answer's round trip. */
    conn->max_write = 1u << 20;
    /* The server's inode numbers, not FUSE's per-path ones: tar, cp -a and
     * du find hard links by them (32-bit on the wire: see docs/fs.md). */
    cfg->use_ino = 1;
    return fuse_get_context()->private_data;
}

static const struct fuse_operations ops = {
    .init = op_init,
    .getattr = op_getattr, .readdir = op_readdir, .open = op_open,     .create = op_create,
    .read = op_read,       .write = op_write,     .release = op_release, .fsync = op_fsync,
    .truncate = op_truncate, .unlink = op_unlink, .rmdir = op_rmdir,   .mkdir = op_mkdir,
    .rename = op_rename,   .chmod = op_chmod,     .chown = op_chown,   .utimens = op_utimens,
    .statfs = op_statfs,   .symlink = op_symlink, .link = op_link,     .readlink = op_readlink,
};

int fs_fuse_run(struct fs_mount *m, const char *prog, const char *mountpoint,
                const char *fuse_opts, bool debug)
{
    /* Foreground always: the link's threads live in this process. */
    char *argv[8];
    int argc = 0;
    argv[argc++] = (char *)prog;
    argv[argc++] = (char *)mountpoint;
    argv[argc++] = "-f";
    if (debug)
        argv[argc++] = "-d";
    if (fuse_opts && *fuse_opts) {
        argv[argc++] = "-o";
        argv[argc++] = (char *)fuse_opts;
    }
    argv[argc] = NULL;
    return fuse_main(argc, argv, &ops, m);
}

const struct fuse_operations *fs_fuse_ops(void)
{
    return &ops;
}

#else

int fs_fuse_run(struct fs_mount *m, const char *prog, const char *mountpoint,
                const char *fuse_opts, bool debug)
{
    (void)m;
    (void)mountpoint;
    (void)fuse_opts;
    (void)debug;
    fprintf(stderr, "%s: built without libfuse3 (scripts/install-deps installs it)\n", prog);
    return 1;
}

const struct fuse_operations *fs_fuse_ops(void)
{
    return NULL;
}

#endif

void fs_mount_init(struct fs_mount *m, struct rpmsg_fs_client *c)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&m->lock, &a);
    pthread_rwlockattr_destroy(&a);
    m->c = c;
    m->gen = 0;
}

struct rpmsg_fs_client *fs_mount_swap(struct fs_mount *m, struct rpmsg_fs_client *c)
{
    pthread_rwlock_wrlock(&m->lock);
    struct rpmsg_fs_client *old = m->c;
    m->c = c;
    if (c)
        m->gen++;
    pthread_rwlock_unlock(&m->lock);
    return old;
}

void fs_mount_deinit(struct fs_mount *m)
{
    pthread_rwlock_destroy(&m->lock);
}
