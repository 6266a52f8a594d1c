/*
 * A FUSE file system served by threads of a process that does other work
 * too (a `rpmsg sim` core), instead of in the foreground with FUSE owning
 * the signals: mounted by fuse_bg_start, unmounted by fuse_bg_stop.
 */
#ifndef RPMSG_TOOLS_FUSE_BG_H
#define RPMSG_TOOLS_FUSE_BG_H

#include <stdbool.h>

struct fuse_bg;
struct fuse_operations;

/* Mounts ops (with private_data priv) at mountpoint; fuse_opts: FUSE's -o
 * list or NULL. 0, or a negative errno (-ENOTSUP without libfuse3). */
int fuse_bg_start(struct fuse_bg **out, const struct fuse_operations *ops, void *priv,
                  const char *prog, const char *mountpoint, const char *fuse_opts);
/* Unmounts (lazily: open files stay usable until closed) and ends the
 * threads, waiting at most timeout_ms for them; NULL is fine. true when
 * they ended (bg freed); false leaves a stuck worker to the process's exit. */
bool fuse_bg_stop(struct fuse_bg *bg, unsigned timeout_ms);
/* Detaches a mount at mountpoint whose server died (a killed process left
 * it: "Transport endpoint is not connected"); true if it did. */
bool fuse_bg_clear_stale(const char *mountpoint);
/* Detaches every FUSE mount at mountpoint, stacked ones too, for a caller
 * that knows their server is gone (a core the sim killed): the stale test
 * above can miss one, as the kernel answers stat from its attribute cache
 * for a second after the server died. Returns how many it detached. */
int fuse_bg_detach_all(const char *mountpoint);
/* Whether the loop still serves (false once unmounted from outside). */
bool fuse_bg_running(const struct fuse_bg *bg);

#endif
