/*
 * Is the peer process still there?
 *
 * A pid alone is not an identity: after a crash the number may be reused by
 * an unrelated process. The control page therefore stores the process start
 * time next to the pid, and a pidfd (which cannot be reused) follows the
 * peer once it has been verified. kill(pid, 0) plus /proc is the fallback
 * for kernels without pidfd_open (before 5.3).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "platform/linux/linux_priv.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int rpmsg_linux_proc_stat(pid_t pid, uint64_t *start, char *state)
{
    char path[32], buf[1024];
    if (pid <= 0)
        return -EINVAL;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    int err = errno;
    close(fd);
    if (n <= 0)
        return n < 0 ? -err : -EIO;
    buf[n] = '\0';
    /* comm (field 2) may hold spaces and parentheses: parse after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -EIO;
    p += 2;
    if (state)
        *state = *p;
    /* p is at field 3; starttime is field 22. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -EIO;
        p++;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || errno)
        return -EIO;
    if (start)
        *start = v;
    return 0;
}

bool rpmsg_linux_proc_alive(pid_t pid, uint64_t start)
{
    if (pid <= 0)
        return false;
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return false;
    uint64_t s;
    char st;
    if (rpmsg_linux_proc_stat(pid, &s, &st) == 0) {
        if (st == 'Z' || st == 'X' || st == 'x')
            return false;
        if (start && s != start)
            return false;
    }
    /* kill() said it exists (maybe EPERM: another user's) and /proc did not contradict. */
    return true;
}

void rpmsg_linux_peer_init(struct rpmsg_linux_peer *p)
{
    p->pid = 0;
    p->start = 0;
    p->pidfd = -1;
    p->dead = false;
}

int rpmsg_linux_peer_track(struct rpmsg_linux_peer *p, pid_t pid, uint64_t start)
{
    if (p->pidfd >= 0)
        close(p->pidfd);
    p->pidfd = -1;
    p->pid = pid;
    p->start = start;
    p->dead = false;
    if (pid <= 0) {
        p->dead = true;
        return -ENOTCONN;
    }
    long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0 && errno == ESRCH) {
        p->dead = true;
        return -ENOTCONN;
    }
    if (fd >= 0)
        p->pidfd = (int)fd;
    /*
     * Verify after opening: if pid still names the process that started at
     * start now, the pidfd we hold was opened on that very process.
     */
    if (!rpmsg_linux_proc_alive(pid, start)) {
        p->dead = true;
        return -ENOTCONN;
    }
    return 0;
}

int rpmsg_linux_peer_check(struct rpmsg_linux_peer *p)
{
    if (p->dead)
        return -ENOTCONN;
    if (p->pid <= 0)
        return 0;
    if (p->pidfd >= 0) {
        struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
        if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            p->dead = true;
    } else if (!rpmsg_linux_proc_alive(p->pid, p->start)) {
        p->dead = true;
    }
    return p->dead ? -ENOTCONN : 0;
}

void rpmsg_linux_peer_release(struct rpmsg_linux_peer *p)
{
    if (p->pidfd >= 0)
        close(p->pidfd);
    rpmsg_linux_peer_init(p);
}
