/*
 * RPMsg FS: a remote core's files, wire-compatible with NuttX's rpmsgfs
 * (fs/rpmsgfs). docs/fs.md describes the protocol, its extension between two
 * peers of this project, and how exports are named.
 *
 * Client: a connection to one export (or, on a NuttX server, one directory
 * of its VFS) over one link. Calls are made from application threads, never
 * from an rpmsg callback: each waits for its answer, at most timeout_ms
 * (-ETIMEDOUT). Several threads may share one client. All calls return 0, a
 * count, a handle or a new offset, or a negative errno exactly as the server
 * saw it.
 *
 * Server (Linux): exports directories by name; a client's requests for
 * "/NAME/..." are resolved inside NAME's root and can never leave it.
 */
#ifndef RPMSG_FS_H
#define RPMSG_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "rpmsg.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef RPMSG_FS_SLOTS
#define RPMSG_FS_SLOTS 8 /* requests in flight per client; more callers wait */
#endif
#define RPMSG_FS_ROOT_MAX 128
#define RPMSG_FS_NAME_MAX 256
#ifndef RPMSG_FS_PATH_MAX
#define RPMSG_FS_PATH_MAX 4096 /* a client path, NUL included (Linux's PATH_MAX) */
#endif
#define RPMSG_FS_TIMEOUT_MS 10000u

/* File status, in this host's values (mode bits, S_IF*). */
struct rpmsg_fs_stat {
    uint64_t dev, ino, rdev;
    uint32_t mode, nlink, uid, gid;
    int64_t size, blksize, blocks;
    int64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

struct rpmsg_fs_statfs {
    uint32_t type;
    uint64_t namelen, bsize, blocks, bfree, bavail, files, ffree;
};

struct rpmsg_fs_dirent {
    uint64_t ino;
    unsigned type; /* DT_* */
    char name[RPMSG_FS_NAME_MAX];
};

/* ---- Client ------------------------------------------------------------- */

/*
 * Who makes a new file (FUSE's caller): with a server of ours it creates the
 * file with mode & ~umask exactly and, when it runs with the right to,
 * gives it uid and gid (docs/fs.md). NULL: the server's own identity, umask 0.
 */
struct rpmsg_fs_cred {
    uint32_t uid, gid, umask;
};

struct rpmsg_fs_client_config {
    uint32_t timeout_ms; /* per request; 0: RPMSG_FS_TIMEOUT_MS */
    bool nuttx_only;     /* never use the extension (behave as NuttX's client) */
};

/* Private to the client. */
struct rpmsg_fs_slot {
    bool busy, done;
    uint32_t gen, cmd;
    int64_t result;
    struct rpmsg_sem sem;
    void *buf;        /* READ: destination; READDIR: a struct rpmsg_fs_dirent */
    uint64_t want;    /* READ: bytes asked */
    uint64_t got;     /* READ: bytes received */
    int64_t offset;   /* X_LSEEK answer */
    struct rpmsg_fs_stat *st;
    struct rpmsg_fs_statfs *sfs;
};

struct rpmsg_fs_client {
    /* Private. */
    struct rpmsg_endpoint ept;
    rpmsg_mutex_t lock;
    char root[RPMSG_FS_ROOT_MAX];
    uint32_t timeout_ms;
    bool ext;      /* the server is ours: extension in use */
    bool want_ext;
    uint32_t xfeat; /* the server's extension features (RPMSGFS_XF_*) */
    rpmsg_mutex_t long_lock; /* one long path's pieces at a time */
    uint32_t epoch; /* bumped each time the server's state is lost */
    bool unbound;   /* lost since the last look at the binding (atomic) */
    struct rpmsg_sem free; /* counts free slots */
    struct rpmsg_fs_slot slots[RPMSG_FS_SLOTS];
};

/*
 * Connects to the rpmsgfs server on rdev. root: the directory on the server
 * that paths are relative to: "/NAME" for an export NAME of ours, any
 * directory of a NuttX server's VFS. Waits for the server to answer and
 * checks that root exists. cfg may be NULL.
 */
int rpmsg_fs_client_init(struct rpmsg_fs_client *c, struct rpmsg_device *rdev, const char *root,
                         const struct rpmsg_fs_client_config *cfg);
/* Safe to call twice, or after a failed init. */
void rpmsg_fs_client_deinit(struct rpmsg_fs_client *c);
/* True when both peers are ours and the extension is in use. */
bool rpmsg_fs_client_extended(const struct rpmsg_fs_client *c);
/*
 * The connection's generation: it changes whenever the server's endpoint or
 * the link went away, which closed every fd and directory handle the client
 * had (calls in flight and calls while unbound fail with -ENOTCONN). When
 * the link or the server comes back, the client binds again by itself; new
 * handles then work, old ones must not be used (a new handle may reuse the
 * number). Callers that keep handles keep the epoch they were opened in.
 */
uint32_t rpmsg_fs_client_epoch(struct rpmsg_fs_client *c);
/* Waits (bounded) until the client is bound to a server: 0, -ETIMEDOUT,
 * or the core's error (-EPIPE while the client is being destroyed). */
int rpmsg_fs_client_wait_connected(struct rpmsg_fs_client *c, uint32_t timeout_ms);

/*
 * Paths are relative to the client's root (a leading '/' is allowed), up to
 * RPMSG_FS_PATH_MAX with a server of ours whatever the buffer size (a path
 * longer than one message travels in pieces); one message with NuttX's.
 */
int rpmsg_fs_open(struct rpmsg_fs_client *c, const char *path, int flags, mode_t mode);
/* As open/mkdir, for the caller cred (NULL: as above); a NuttX server
 * ignores cred. */
int rpmsg_fs_open_as(struct rpmsg_fs_client *c, const char *path, int flags, mode_t mode,
                     const struct rpmsg_fs_cred *cred);
int rpmsg_fs_mkdir_as(struct rpmsg_fs_client *c, const char *path, mode_t mode,
                      const struct rpmsg_fs_cred *cred);
/* Symbolic and hard links, with a server of ours (-ENOSYS with NuttX's). */
int rpmsg_fs_symlink(struct rpmsg_fs_client *c, const char *target, const char *linkpath,
                     const struct rpmsg_fs_cred *cred);
int rpmsg_fs_link(struct rpmsg_fs_client *c, const char *from, const char *to);
/* The target, NUL-terminated, truncated to cap: its length, or -errno. */
int rpmsg_fs_readlink(struct rpmsg_fs_client *c, const char *path, char *buf, size_t cap);
/* stat of a symlink itself (NuttX's server: stat). */
int rpmsg_fs_lstat(struct rpmsg_fs_client *c, const char *path, struct rpmsg_fs_stat *st);
/* chown and utimens of a symlink itself, not of its target (NuttX's: follow). */
int rpmsg_fs_lchown(struct rpmsg_fs_client *c, const char *path, uid_t uid, gid_t gid);
int rpmsg_fs_lutimens(struct rpmsg_fs_client *c, const char *path,
                      const struct timespec times[2]);
int rpmsg_fs_close(struct rpmsg_fs_client *c, int fd);
ssize_t rpmsg_fs_read(struct rpmsg_fs_client *c, int fd, void *buf, size_t n);
ssize_t rpmsg_fs_write(struct rpmsg_fs_client *c, int fd, const void *buf, size_t n);
/* Without the extension these move the server's file position and back
 * (three more requests, not atomic against other users of fd). */
ssize_t rpmsg_fs_pread(struct rpmsg_fs_client *c, int fd, void *buf, size_t n, int64_t off);
ssize_t rpmsg_fs_pwrite(struct rpmsg_fs_client *c, int fd, const void *buf, size_t n,
                        int64_t off);
/* Offsets beyond 2 GiB need the extension (-EOVERFLOW otherwise). */
int64_t rpmsg_fs_lseek(struct rpmsg_fs_client *c, int fd, int64_t off, int whence);
int rpmsg_fs_fsync(struct rpmsg_fs_client *c, int fd);
int rpmsg_fs_ftruncate(struct rpmsg_fs_client *c, int fd, int64_t len);
int rpmsg_fs_fstat(struct rpmsg_fs_client *c, int fd, struct rpmsg_fs_stat *st);
int rpmsg_fs_dup(struct rpmsg_fs_client *c, int fd);
int rpmsg_fs_stat(struct rpmsg_fs_client *c, const char *path, struct rpmsg_fs_stat *st);
int rpmsg_fs_statfs(struct rpmsg_fs_client *c, const char *path, struct rpmsg_fs_statfs *st);
int rpmsg_fs_unlink(struct rpmsg_fs_client *c, const char *path);
int rpmsg_fs_rename(struct rpmsg_fs_client *c, const char *from, const char *to);
int rpmsg_fs_mkdir(struct rpmsg_fs_client *c, const char *path, mode_t mode);
int rpmsg_fs_rmdir(struct rpmsg_fs_client *c, const char *path);
int rpmsg_fs_chmod(struct rpmsg_fs_client *c, const char *path, mode_t mode);
/* (uid_t)-1 / (gid_t)-1 leave that id alone. NuttX's wire has 16-bit ids. */
int rpmsg_fs_chown(struct rpmsg_fs_client *c, const char *path, uid_t uid, gid_t gid);
/* times[0] access, times[1] modification; tv_nsec may be UTIME_NOW/UTIME_OMIT. */
int rpmsg_fs_utimens(struct rpmsg_fs_client *c, const char *path, const struct timespec times[2]);
/* Directory handles (>= 1). readdir returns 1 with an entry, 0 at the end. */
int rpmsg_fs_opendir(struct rpmsg_fs_client *c, const char *path);
int rpmsg_fs_readdir(struct rpmsg_fs_client *c, int dir, struct rpmsg_fs_dirent *ent);
int rpmsg_fs_rewinddir(struct rpmsg_fs_client *c, int dir);
int rpmsg_fs_closedir(struct rpmsg_fs_client *c, int dir);

/* ---- Server (Linux) ------------------------------------------------------ */

struct rpmsg_fs_server;

struct rpmsg_fs_server_config {
    bool nuttx_only; /* never offer the extension */
};

/* Starts answering rpmsgfs clients on every link (present and future). */
int rpmsg_fs_server_create(struct rpmsg_fs_server **out, const struct rpmsg_fs_server_config *cfg);
/* Serves dir as "/name". Returns 0, -EEXIST, -ENOMEM, or open(2)'s error. */
int rpmsg_fs_server_export(struct rpmsg_fs_server *s, const char *name, const char *dir,
                           bool read_only);
/* Closes every client's files and endpoints. */
void rpmsg_fs_server_destroy(struct rpmsg_fs_server *s);
/* Clients currently served (for tests and status). */
unsigned rpmsg_fs_server_clients(struct rpmsg_fs_server *s);

#ifdef __cplusplus
}
#endif

#endif
