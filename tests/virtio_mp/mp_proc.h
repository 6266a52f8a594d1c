/*
 * Process plumbing shared by the multi-process tests (header-only: only
 * test_*.c files are built): children that die with the test, link specs
 * with unique names, and the /dev/shm leftover check.
 */
#ifndef MP_PROC_H
#define MP_PROC_H

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rpmsg/rpmsg_link.h"

#define MP_MAX_CHILDREN 4

static pid_t mp_children[MP_MAX_CHILDREN];

/* Kills every child still running; teardown and atexit both call it. */
static void mp_kill_children(void)
{
    for (int i = 0; i < MP_MAX_CHILDREN; i++) {
        if (mp_children[i] > 0) {
            kill(mp_children[i], SIGKILL);
            waitpid(mp_children[i], NULL, 0);
            mp_children[i] = 0;
        }
    }
}

/* Forks fn(arg) in a child that the kernel kills if the test dies; -1 on failure. */
static pid_t mp_spawn(int (*fn)(void *), void *arg)
{
    int slot = -1;
    for (int i = 0; i < MP_MAX_CHILDREN && slot < 0; i++)
        if (mp_children[i] <= 0)
            slot = i;
    if (slot < 0)
        return -1;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(99);
        _exit(fn(arg));
    }
    if (pid > 0)
        mp_children[slot] = pid;
    return pid;
}

/* Waits for a child and forgets it; its exit code, or 128 + signal, or -1. */
static int mp_join(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    for (int i = 0; i < MP_MAX_CHILDREN; i++)
        if (mp_children[i] == pid)
            mp_children[i] = 0;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

/* A prefix unique to this test process: every name it makes starts with it. */
static const char *mp_prefix(void)
{
    static char p[64];
    if (!p[0])
        snprintf(p, sizeof(p), "rpmsg-mp-%d-", (int)getpid());
    return p;
}

/* "virtio:<prefix><tag>" */
static void mp_spec(char *buf, size_t size, const char *tag)
{
    snprintf(buf, size, "virtio:%s%s", mp_prefix(), tag);
}

/* Entries of /dev/shm that start with our prefix (removed as they are counted). */
static int mp_shm_leftovers(void)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return 0;
    int n = 0;
    const char *pre = mp_prefix();
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strncmp(e->d_name, pre, strlen(pre))) {
            char path[512];
            snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
            fprintf(stderr, "leftover: %s\n", path);
            unlink(path);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void mp_atexit(void)
{
    mp_kill_children();
    mp_shm_leftovers();
}

/* Opens a native link and waits for it to come up; NULL on failure (printed). */
static struct rpmsg_link *mp_open(const char *spec, bool host, uint32_t features,
                                  enum rpmsg_link_wait wait)
{
    struct rpmsg_link_config cfg = {
        .spec = spec,
        .role = host ? RPMSG_LINK_HOST : RPMSG_LINK_REMOTE,
        .side = host ? RPMSG_LINK_CREATE : RPMSG_LINK_ATTACH,
        .listen = !host, /* openamp: the remote listens, as in OpenAMP's demos */
        .wait = wait,
        .cpuname = host ? "mp-host" : "mp-remote",
        .features = features,
    };
    struct rpmsg_link *l;
    int r = rpmsg_link_open(&l, &cfg);
    if (r) {
        fprintf(stderr, "%d: open %s: %d\n", (int)getpid(), spec, r);
        return NULL;
    }
    r = rpmsg_link_wait_up(l, 10000);
    if (r) {
        fprintf(stderr, "%d: %s not up: %d\n", (int)getpid(), spec, r);
        rpmsg_link_close(l);
        return NULL;
    }
    return l;
}

/* Waits (bounded) until the link is down: the peer closed or died. */
static bool mp_wait_down(struct rpmsg_link *l, unsigned ms)
{
    struct rpmsg_device *rdev = rpmsg_link_device(l);
    for (unsigned t = 0; t < ms && rpmsg_device_is_up(rdev); t += 5)
        usleep(5000);
    return !rpmsg_device_is_up(rdev);
}

#endif
