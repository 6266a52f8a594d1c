/* `rpmsg fs mount`'s FUSE side: a mounted rpmsgfs client. */
#ifndef RPMSG_TOOLS_FS_FUSE_H
#define RPMSG_TOOLS_FS_FUSE_H

#include <pthread.h>

#include "rpmsg/rpmsg_fs.h"

/*
 * What the mount serves. Its owner may replace the client (a link opened
 * again) under the write lock: c NULL meanwhile (operations fail with EIO
 * at once), gen bumped with each new client (files opened before stay EIO).
 */
struct fs_mount {
    pthread_rwlock_t lock;
    struct rpmsg_fs_client *c;
    uint32_t gen;
};

/* Initialises m around c; writers are preferred, so a replacement is not
 * starved by a busy mount. */
void fs_mount_init(struct fs_mount *m, struct rpmsg_fs_client *c);
/* Swaps in c (NULL: none for now); returns the client it replaced. */
struct rpmsg_fs_client *fs_mount_swap(struct fs_mount *m, struct rpmsg_fs_client *c);
void fs_mount_deinit(struct fs_mount *m);

/*
 * Mounts m's tree at mountpoint and serves it until unmounted or signalled.
 * fuse_opts: FUSE's -o list (may be NULL). Returns FUSE's exit code, or 1
 * when this build has no libfuse3.
 */
int fs_fuse_run(struct fs_mount *m, const char *prog, const char *mountpoint,
                const char *fuse_opts, bool debug);

struct fuse_operations;
/* The operations themselves (private data: a struct fs_mount), for a
 * process that serves them from threads of its own (fuse_bg.h, a
 * `rpmsg sim` core); NULL without libfuse3. */
const struct fuse_operations *fs_fuse_ops(void);

#endif
