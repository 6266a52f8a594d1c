/*
 * fuse_bg.h over libfuse3's high-level API. The stop order matters: the
 * session is told to exit, then the kernel mount is detached, which aborts
 * the connection and wakes the worker threads blocked reading /dev/fuse;
 * only then is the session's fd closed (fuse_unmount), so that no worker
 * reads a closed (or reused) descriptor.
 */
#include "fuse_bg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void detach(const char *mnt)
{
    if (geteuid() == 0) {
        umount2(mnt, MNT_DETACH);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        execlp("fusermount3", "fusermount3", "-u", "-q", "-z", mnt, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

bool fuse_bg_clear_stale(const char *mountpoint)
{
    struct stat st;
    if (stat(mountpoint, &st) == 0 || errno != ENOTCONN)
        return false;
    detach(mountpoint);
    return true;
}

/* Whether /proc/self/mounts has a FUSE mount at mnt (its escaping of
 * spaces and the like is not undone: such a path is never found). */
static bool fuse_mounted_at(const char *mnt)
{
    FILE *f = fopen("/proc/self/mounts", "r");
    if (!f)
        return false;
    char line[4096 + 256];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        char *sp1 = strchr(line, ' ');
        char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp2)
            continue;
        *sp2 = '\0';
        found = !strcmp(sp1 + 1, mnt) && !strncmp(sp2 + 1, "fuse", 4);
    }
    fclose(f);
    return found;
}

int fuse_bg_detach_all(const char *mountpoint)
{
    int n = 0;
    while (n < 16 && fuse_mounted_at(mountpoint)) {
        detach(mountpoint);
        n++;
    }
    return n;
}

#ifdef RPMSG_HAVE_FUSE3
#define FUSE_USE_VERSION 31
#include <fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

struct fuse_bg {
    struct fuse *f;
    pthread_t th;
    char mnt[4096];
    atomic_bool running;
};

static void *loop(void *arg)
{
    struct fuse_bg *bg = arg;
    fuse_loop_mt(bg->f, 0);
    atomic_store(&bg->running, false);
    return NULL;
}

int fuse_bg_start(struct fuse_bg **out, const struct fuse_operations *ops, void *priv,
                  const char *prog, const char *mountpoint, const char *fuse_opts)
{
    if (!ops)
        return -ENOTSUP;
    fuse_bg_clear_stale(mountpoint); /* a killed predecessor's */
    struct fuse_bg *bg = calloc(1, sizeof(*bg));
    if (!bg)
        return -ENOMEM;
    snprintf(bg->mnt, sizeof(bg->mnt), "%s", mountpoint);
    char *argv[4] = { (char *)prog };
    int argc = 1;
    if (fuse_opts && *fuse_opts) {
        argv[argc++] = "-o";
        argv[argc++] = (char *)fuse_opts;
    }
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    bg->f = fuse_new(&args, ops, sizeof(*ops), priv);
    fuse_opt_free_args(&args);
    if (!bg->f) {
        free(bg);
        return -EINVAL;
    }
    if (fuse_mount(bg->f, mountpoint)) {
        fuse_destroy(bg->f);
        free(bg);
        return -EPERM;
    }
    atomic_store(&bg->running, true);
    if (pthread_create(&bg->th, NULL, loop, bg)) {
        fuse_unmount(bg->f);
        fuse_destroy(bg->f);
        free(bg);
        return -EAGAIN;
    }
    *out = bg;
    return 0;
}


bool fuse_bg_stop(struct fuse_bg *bg, unsigned timeout_ms)
{
    if (!bg)
        return true;
    fuse_exit(bg->f);
    if (atomic_load(&bg->running))
        detach(bg->mnt);
    for (unsigned t = 0; t < timeout_ms / 10 && atomic_load(&bg->running); t++)
        usleep(10000);
    if (atomic_load(&bg->running))
        return false;
    pthread_join(bg->th, NULL);
    fuse_unmount(bg->f);
    fuse_destroy(bg->f);
    free(bg);
    return true;
}

bool fuse_bg_running(const struct fuse_bg *bg)
{
    return bg && atomic_load(&bg->running);
}

#else

int fuse_bg_start(struct fuse_bg **out, const struct fuse_operations *ops, void *priv,
                  const char *prog, const char *mountpoint, const char *fuse_opts)
{
    (void)out, (void)ops, (void)priv, (void)prog, (void)mountpoint, (void)fuse_opts;
    return -ENOTSUP;
}

bool fuse_bg_stop(struct fuse_bg *bg, unsigned timeout_ms)
{
    (void)bg, (void)timeout_ms;
    return true;
}

bool fuse_bg_running(const struct fuse_bg *bg)
{
    (void)bg;
    return false;
}

#endif
