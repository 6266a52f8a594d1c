/*
 * Helpers for the multi-process platform tests: unique names, forked
 * children that are always killed and reaped, and names that are always
 * removed, even when an assertion fails half-way (atexit).
 *
 * A child never touches cmocka: it returns an exit code (0 = success, else
 * the step that failed) and the parent asserts on it.
 */
#ifndef PLAT_HELPERS_H
#define PLAT_HELPERS_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PH_MAX_CHILDREN 16
#define PH_MAX_NAMES 64

static pid_t ph_children[PH_MAX_CHILDREN];
static char ph_names[PH_MAX_NAMES][192]; /* absolute paths to unlink at exit */
static pid_t ph_owner;
static unsigned ph_counter;

static inline void ph_cleanup(void)
{
    if (getpid() != ph_owner)
        return;
    for (int i = 0; i < PH_MAX_CHILDREN; i++) {
        if (ph_children[i] > 0) {
            kill(ph_children[i], SIGKILL);
            waitpid(ph_children[i], NULL, 0);
            ph_children[i] = 0;
        }
    }
    for (int i = 0; i < PH_MAX_NAMES; i++) {
        if (ph_names[i][0])
            unlink(ph_names[i]);
        ph_names[i][0] = '\0';
    }
}

/* Killed by ctest's timeout or ^C: clean up all the same, then die of the signal. */
static inline void ph_on_signal(int sig)
{
    ph_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

static inline void ph_init(void)
{
    if (ph_owner == 0) {
        ph_owner = getpid();
        atexit(ph_cleanup);
        signal(SIGTERM, ph_on_signal);
        signal(SIGINT, ph_on_signal);
        signal(SIGHUP, ph_on_signal);
    }
}

static inline void ph_remember(const char *path)
{
    for (int i = 0; i < PH_MAX_NAMES; i++) {
        if (!ph_names[i][0]) {
            snprintf(ph_names[i], sizeof(ph_names[i]), "%s", path);
            return;
        }
    }
}

/* A fresh shm name (no slash), remembered for cleanup as /dev/shm/<name>. */
static inline const char *ph_shm_name(char *buf, size_t cap)
{
    ph_init();
    snprintf(buf, cap, "rpmsg-test-%d-%u", (int)getpid(), ph_counter++);
    char path[160];
    snprintf(path, sizeof(path), "/dev/shm/%s", buf);
    ph_remember(path);
    return buf;
}

/* A fresh socket path in /tmp, remembered for cleanup. */
static inline const char *ph_sock_path(char *buf, size_t cap)
{
    ph_init();
    snprintf(buf, cap, "/tmp/rpmsg-test-%d-%u.sock", (int)getpid(), ph_counter++);
    ph_remember(buf);
    return buf;
}

static inline bool ph_shm_exists(const char *name)
{
    char path[160];
    struct stat st;
    snprintf(path, sizeof(path), "/dev/shm/%s", name);
    return lstat(path, &st) == 0;
}

static inline bool ph_path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Number of /dev/shm entries this test process created and left behind. */
static inline int ph_shm_leftovers(void)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "rpmsg-test-%d-", (int)ph_owner);
    DIR *d = opendir("/dev/shm");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)))
            n++;
    closedir(d);
    return n;
}

/* Runs fn(arg) in a child that exits with its return value (and dies after 60 s at most). */
static inline pid_t ph_fork(int (*fn)(void *), void *arg)
{
    ph_init();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(60);
        _exit(fn(arg) & 0xff);
    }
    if (pid > 0) {
        for (int i = 0; i < PH_MAX_CHILDREN; i++) {
            if (ph_children[i] == 0) {
                ph_children[i] = pid;
                break;
            }
        }
    }
    return pid;
}

static inline void ph_forget(pid_t pid)
{
    for (int i = 0; i < PH_MAX_CHILDREN; i++)
        if (ph_children[i] == pid)
            ph_children[i] = 0;
}

/* Exit code of the child (0..255), 1000 + signal if it was killed, -1 on error. */
static inline int ph_join(pid_t pid)
{
    int st;
    pid_t r;
    do {
        r = waitpid(pid, &st, 0);
    } while (r < 0 && errno == EINTR);
    ph_forget(pid);
    if (r != pid)
        return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 1000 + WTERMSIG(st);
    return -1;
}

/* Pipes as one-shot go signals between parent and child. */
static inline int ph_signal(int fd)
{
    char c = 1;
    return write(fd, &c, 1) == 1 ? 0 : -1;
}

static inline int ph_await(int fd)
{
    char c;
    ssize_t n;
    do {
        n = read(fd, &c, 1);
    } while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

#endif
