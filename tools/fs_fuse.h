/* `rpmsg fs mount`'s FUSE side: a mounted rpmsgfs client. */
#ifndef RPMSG_TOOLS_FS_FUSE_H
#define RPMSG_TOOLS_FS_FUSE_H

#include "rpmsg/rpmsg_fs.h"

/*
 * Mounts c's tree at mountpoint and serves it until unmounted or signalled.
 * fuse_opts: FUSE's -o list (may be NULL). Returns FUSE's exit code, or 1
 * when this build has no libfuse3.
 */
int fs_fuse_run(struct rpmsg_fs_client *c, const char *prog, const char *mountpoint,
                const char *fuse_opts, bool debug);

#endif
