/*
 * FUSE operations over an rpmsgfs client (high-level libfuse3 API). Each
 * operation is one or a few client calls; fds and directory handles are the
 * server's, kept in fuse_file_info. A lost server or link (-ENOTCONN) and a
 * request that timed out show as EIO, as a local disk's failure would.
 */
#include "fs_fuse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef RPMSG_HAVE_FUSE3
#define FUSE_USE_VERSION 31
#include <fuse.h>

static struct rpmsg_fs_client *cli(void)
{
    return fuse_get_context()->private_data;
}

static int eio(int64_t r)
{
    return r == -ENOTCONN || r == -ETIMEDOUT ? -EIO : (int)r;
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

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct rpmsg_fs_stat s;
    int r = fi ? rpmsg_fs_fstat(cli(), (int)fi->fh, &s) : rpmsg_fs_stat(cli(), path, &s);
    if (r == 0)
        to_stat(&s, st);
    return eio(r);
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)off;
    (void)fi;
    (void)flags;
    int h = rpmsg_fs_opendir(cli(), path);
    if (h < 0)
        return eio(h);
    fill(buf, ".", NULL, 0, 0);
    fill(buf, "..", NULL, 0, 0);
    struct rpmsg_fs_dirent e;
    int r;
    while ((r = rpmsg_fs_readdir(cli(), h, &e)) == 1) {
        struct stat st = { .st_ino = e.ino, .st_mode = (mode_t)(e.type << 12) };
        if (fill(buf, e.name, &st, 0, 0))
            break;
    }
    rpmsg_fs_closedir(cli(), h);
    return r < 0 ? eio(r) : 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    int fd = rpmsg_fs_open(cli(), path, fi->flags, 0);
    if (fd < 0)
        return eio(fd);
    fi->fh = (uint64_t)fd;
    return 0;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int fd = rpmsg_fs_open(cli(), path, fi->flags | O_CREAT, mode);
    if (fd < 0)
        return eio(fd);
    fi->fh = (uint64_t)fd;
    return 0;
}

static int op_read(const char *path, char *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
    (void)path;
    return eio(rpmsg_fs_pread(cli(), (int)fi->fh, buf, n, off));
}

static int op_write(const char *path, const char *buf, size_t n, off_t off,
                    struct fuse_file_info *fi)
{
    (void)path;
    return eio(rpmsg_fs_pwrite(cli(), (int)fi->fh, buf, n, off));
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    return eio(rpmsg_fs_close(cli(), (int)fi->fh));
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    (void)datasync;
    return eio(rpmsg_fs_fsync(cli(), (int)fi->fh));
}

static int op_truncate(const char *path, off_t len, struct fuse_file_info *fi)
{
    if (fi)
        return eio(rpmsg_fs_ftruncate(cli(), (int)fi->fh, len));
    int fd = rpmsg_fs_open(cli(), path, O_WRONLY, 0);
    if (fd < 0)
        return eio(fd);
    int r = rpmsg_fs_ftruncate(cli(), fd, len);
    rpmsg_fs_close(cli(), fd);
    return eio(r);
}

static int op_unlink(const char *path) { return eio(rpmsg_fs_unlink(cli(), path)); }
static int op_rmdir(const char *path) { return eio(rpmsg_fs_rmdir(cli(), path)); }
static int op_mkdir(const char *path, mode_t mode) { return eio(rpmsg_fs_mkdir(cli(), path, mode)); }

static int op_rename(const char *from, const char *to, unsigned flags)
{
    if (flags)
        return -EINVAL; /* RENAME_NOREPLACE/EXCHANGE have no wire form */
    return eio(rpmsg_fs_rename(cli(), from, to));
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    (void)fi;
    return eio(rpmsg_fs_chmod(cli(), path, mode));
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    (void)fi;
    return eio(rpmsg_fs_chown(cli(), path, uid, gid));
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    (void)fi;
    return eio(rpmsg_fs_utimens(cli(), path, tv));
}

static int op_statfs(const char *path, struct statvfs *sv)
{
    struct rpmsg_fs_statfs s;
    int r = rpmsg_fs_statfs(cli(), path, &s);
    if (r < 0)
        return eio(r);
    memset(sv, 0, sizeof(*sv));
    sv->f_bsize = sv->f_frsize = s.bsize;
    sv->f_blocks = s.blocks;
    sv->f_bfree = s.bfree;
    sv->f_bavail = s.bavail;
    sv->f_files = s.files;
    sv->f_ffree = s.ffree;
    sv->f_namemax = s.namelen;
    return 0;
}

static const struct fuse_operations ops = {
    .getattr = op_getattr, .readdir = op_readdir, .open = op_open,     .create = op_create,
    .read = op_read,       .write = op_write,     .release = op_release, .fsync = op_fsync,
    .truncate = op_truncate, .unlink = op_unlink, .rmdir = op_rmdir,   .mkdir = op_mkdir,
    .rename = op_rename,   .chmod = op_chmod,     .chown = op_chown,   .utimens = op_utimens, .statfs = op_statfs,
};

int fs_fuse_run(struct rpmsg_fs_client *c, const char *prog, const char *mountpoint,
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
    return fuse_main(argc, argv, &ops, c);
}

#else

int fs_fuse_run(struct rpmsg_fs_client *c, const char *prog, const char *mountpoint,
                const char *fuse_opts, bool debug)
{
    (void)c;
    (void)mountpoint;
    (void)fuse_opts;
    (void)debug;
    fprintf(stderr, "%s: built without libfuse3 (scripts/install-deps installs it)\n", prog);
    return 1;
}

#endif
