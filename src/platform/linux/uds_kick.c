/*
 * OpenAMP-compatible kick (wire-formats.md §4): an AF_UNIX stream socket,
 * one side listens, the other connects; a kick is one byte (value 1) that
 * does not say which vring, so the receiver checks both. Any byte received
 * counts as a kick: being lenient costs nothing here.
 *
 * wait() polls the socket together with an eventfd that wakeup() writes, so
 * one poll() serves both. EOF, a reset or a hang-up on the socket is how the
 * peer's death shows.
 *
 * A stale socket file (listener crashed) is replaced; a live listener (seen
 * in /proc/net/unix, without connecting to it, since a probing connection
 * would be taken for the peer) is refused with -EADDRINUSE. The listener
 * unlinks its path as soon as the peer is connected.
 *
 * While open waits for the peer it asks its cancel hook every few ms, so a
 * signal handler's flag ends the wait (-ECANCELED).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform/linux/linux_priv.h"

#define ACCEPTCON_FLAG 0x10000u /* __SO_ACCEPTCON in /proc/net/unix "Flags" */

static int make_addr(struct sockaddr_un *sa, socklen_t *len, const char *path)
{
    if (!path || !path[0])
        return -EINVAL;
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memcpy(sa->sun_path, path, n);
    if (path[0] == '@') {
        if (n < 2)
            return -EINVAL;
        sa->sun_path[0] = '\0'; /* abstract: the name is the bytes after the NUL */
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        *len = (socklen_t)sizeof(*sa);
    }
    return 0;
}

/* Somebody listens on a socket bound to path (or its canonical form). */
static bool listener_alive(const char *path)
{
    FILE *f = fopen("/proc/net/unix", "re");
    if (!f)
        return true; /* cannot tell: refusing is the safe answer */
    char canon[PATH_MAX];
    const char *alt = realpath(path, canon) ? canon : path;
    char line[512];
    bool found = false;
    if (!fgets(line, sizeof(line), f)) /* header */
        line[0] = '\0';
    while (!found && fgets(line, sizeof(line), f)) {
        unsigned flags;
        int pos = 0;
        /* Num RefCount Protocol Flags Type St Inode Path */
        if (sscanf(line, "%*s %*s %*s %x %*s %*s %*s %n", &flags, &pos) < 1 || pos == 0)
            continue;
        char *p = line + pos;
        p[strcspn(p, "\n")] = '\0';
        if ((flags & ACCEPTCON_FLAG) && (!strcmp(p, path) || !strcmp(p, alt)))
            found = true;
    }
    fclose(f);
    return found;
}

/* Longest a wait for the peer goes without asking its cancel hook. */
#define CANCEL_SLICE_MS 20

static int listen_accept(struct rpmsg_linux_uds *u, const char *path, uint64_t deadline,
                         const struct rpmsg_linux_cancel *c)
{
    struct sockaddr_un sa;
    socklen_t len;
    int r = make_addr(&sa, &len, path);
    if (r < 0)
        return r;
    bool abstract = path[0] == '@';
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        return -errno;
    if (bind(lfd, (struct sockaddr *)&sa, len) < 0) {
        r = -errno;
        if (r == -EADDRINUSE && !abstract) {
            struct stat st;
            if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
                r = -EEXIST; /* someone's file, not a socket: leave it alone */
            else if (!listener_alive(path) && unlink(path) == 0)
                r = bind(lfd, (struct sockaddr *)&sa, len) < 0 ? -errno : 0;
        }
        if (r < 0) {
            close(lfd);
            return r;
        }
    }
    struct stat bound;
    bool named = !abstract && lstat(path, &bound) == 0;
    if (listen(lfd, 1) < 0) {
        r = -errno;
        goto out;
    }
    for (;;) {
        int ms = CANCEL_SLICE_MS;
        if (rpmsg_linux_cancelled(c)) {
            r = -ECANCELED;
            goto out;
        }
        if (deadline != RPMSG_FOREVER) {
            uint64_t now = rpmsg_time_ms();
            if (now >= deadline) {
                r = -ETIMEDOUT;
                goto out;
            }
            if (deadline - now < (uint64_t)ms)
                ms = (int)(deadline - now);
        }
        struct pollfd pfd = { .fd = lfd, .events = POLLIN };
        int n = poll(&pfd, 1, ms);
        if (n < 0 && errno != EINTR) {
            r = -errno;
            goto out;
        }
        if (n <= 0)
            continue;
        u->sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (u->sock >= 0) {
            r = 0;
            goto out;
        }
        if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
            r = -errno;
            goto out;
        }
    }
out:
    /* Connected or failed: either way the name has nothing more to do. */
    if (named) {
        struct stat now;
        if (lstat(path, &now) == 0 && now.st_dev == bound.st_dev && now.st_ino == bound.st_ino)
            unlink(path);
    }
    close(lfd);
    return r;
}

static int connect_retry(struct rpmsg_linux_uds *u, const char *path, uint64_t deadline,
                         const struct rpmsg_linux_cancel *c)
{
    struct sockaddr_un sa;
    socklen_t len;
    int r = make_addr(&sa, &len, path);
    if (r < 0)
        return r;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (connect(fd, (struct sockaddr *)&sa, len) == 0) {
            int fl = fcntl(fd, F_GETFL);
            if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
                r = -errno;
                close(fd);
                return r;
            }
            u->sock = fd;
            return 0;
        }
        r = -errno;
        close(fd);
        /* The listener may not be up yet: that is what the timeout is for. */
        if (r != -ENOENT && r != -ECONNREFUSED && r != -EAGAIN && r != -EINTR)
            return r;
        if (rpmsg_time_ms() >= deadline)
            return -ETIMEDOUT;
        if (rpmsg_linux_cancelled(c))
            return -ECANCELED;
        usleep(5000);
    }
}

int rpmsg_linux_uds_open(struct rpmsg_linux_uds *u, const char *path, bool listen,
                         uint32_t timeout_ms, const struct rpmsg_linux_cancel *c)
{
    u->sock = -1;
    u->peer_pid = 0;
    atomic_store(&u->dead, false);
    atomic_store(&u->heard, false);
    atomic_store(&u->next_check, 0);
    u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (u->efd < 0)
        return -errno;
    if (timeout_ms == 0)
        timeout_ms = RPMSG_LINUX_DEFAULT_OPENAMP_TIMEOUT_MS;
    uint64_t deadline = timeout_ms == UINT32_MAX ? RPMSG_FOREVER : rpmsg_deadline(timeout_ms);
    int r = listen ? listen_accept(u, path, deadline, c) : connect_retry(u, path, deadline, c);
    if (r < 0) {
        close(u->efd);
        u->efd = -1;
        return r;
    }
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    if (getsockopt(u->sock, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cl == sizeof(cred))
        u->peer_pid = cred.pid;
    return 0;
}

int rpmsg_linux_uds_notify(struct rpmsg_linux_uds *u)
{
    if (atomic_load(&u->dead))
        return -ENOTCONN;
    const char kick = 1;
    for (;;) {
        if (send(u->sock, &kick, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
            return 0;
        if (errno == EINTR)
            continue;
        /* A full socket means the peer has unread kicks: this one adds nothing. */
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
            atomic_store(&u->dead, true);
            return -ENOTCONN;
        }
        return -errno;
    }
}

/* Reads the pending kicks; a peer that floods us is cut off after a bounded amount. */
static void drain_socket(struct rpmsg_linux_uds *u)
{
    char buf[256];
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(u->sock, buf, sizeof(buf), MSG_DONTWAIT);
        if (n >= 0)
            atomic_store(&u->heard, true);
        if (n > 0)
            continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            atomic_store(&u->dead, true);
        return;
    }
}

int rpmsg_linux_uds_wait(struct rpmsg_linux_uds *u, uint64_t deadline_ms)
{
    int ms = -1;
    if (deadline_ms != RPMSG_FOREVER) {
        /* A deadline already past still looks once: wait(now) is "any kick pending?". */
        uint64_t now = rpmsg_time_ms();
        ms = now >= deadline_ms ? 0
             : deadline_ms - now > INT_MAX ? INT_MAX : (int)(deadline_ms - now);
    }
    struct pollfd pfd[2] = {
        { .fd = u->efd, .events = POLLIN },
        { .fd = u->sock, .events = POLLIN | POLLRDHUP },
    };
    /* A dead socket stays readable forever: leave it out or we would spin. */
    nfds_t n = atomic_load(&u->dead) ? 1 : 2;
    int r = poll(pfd, n, ms);
    if (r < 0)
        return errno == EINTR ? 0 : -errno;
    if (r == 0)
        return -ETIMEDOUT;
    if (pfd[0].revents) {
        uint64_t v;
        if (read(u->efd, &v, sizeof(v)) < 0) {
            /* EAGAIN: another waiter took it; still a wake-up for us */
        }
    }
    if (n == 2 && pfd[1].revents)
        drain_socket(u);
    return 0;
}

void rpmsg_linux_uds_wakeup(struct rpmsg_linux_uds *u)
{
    uint64_t one = 1;
    if (write(u->efd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is saturated, so a wake-up is pending anyway */
    }
}

int rpmsg_linux_uds_alive(struct rpmsg_linux_uds *u)
{
    if (atomic_load(&u->dead))
        return -ENOTCONN;
    /* Asked on every transport poll: look at the socket at most once per period.
     * wait() sees the EOF at once anyway. */
    uint64_t now = rpmsg_time_ms();
    if (now < atomic_load(&u->next_check))
        return 0;
    atomic_store(&u->next_check, now + RPMSG_LINUX_DEFAULT_LIVENESS_MS);
    struct pollfd pfd = { .fd = u->sock, .events = POLLRDHUP };
    if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
        atomic_store(&u->dead, true);
        return -ENOTCONN;
    }
    return 0;
}

void rpmsg_linux_uds_close(struct rpmsg_linux_uds *u)
{
    if (u->sock >= 0)
        close(u->sock);
    if (u->efd >= 0)
        close(u->efd);
    u->sock = -1;
    u->efd = -1;
    atomic_store(&u->dead, true);
}
