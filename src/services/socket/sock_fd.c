/*
 * Linux: a descriptor per socket that is readable and writable with it, for
 * the application's own poll/epoll/libuv loop.
 *
 * An eventfd cannot be "neither readable nor writable" (a connecting socket,
 * or a full window with nothing to read), so the descriptor is one end (A)
 * of an AF_UNIX stream pair whose other end (B) the layer keeps:
 *   readable  <=> a byte from B waits in A      <=> POLLIN | POLLHUP | POLLERR
 *   writable  <=> A's small send buffer has room <=> POLLOUT | POLLERR
 * Each is changed only on a transition, with nonblocking calls. The
 * application polls A and must neither read nor write it.
 */
#include <errno.h>

#include "sock_priv.h"

#if defined(__linux__) && !RPMSG_NO_SYS
#include <sys/socket.h>
#include <unistd.h>

static void drain(int fd)
{
    char buf[4096];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

void sock_fd_update(struct rpmsg_socket *s)
{
    if (s->fd < 0)
        return;
    short ev = sock_revents(s);
    bool want_r = ev & (RPMSG_POLLIN | RPMSG_POLLHUP | RPMSG_POLLERR);
    bool want_w = ev & (RPMSG_POLLOUT | RPMSG_POLLERR);
    if (want_r && !s->fd_readable)
        s->fd_readable = write(s->fd_peer, "r", 1) == 1;
    else if (!want_r && s->fd_readable) {
        drain(s->fd);
        s->fd_readable = false;
    }
    if (!want_w && s->fd_writable) {
        static const char fill[4096];
        while (write(s->fd, fill, sizeof(fill)) > 0)
            ;
        s->fd_writable = false;
    } else if (want_w && !s->fd_writable) {
        drain(s->fd_peer);
        s->fd_writable = true;
    }
}

void sock_fd_close(struct rpmsg_socket *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        close(s->fd_peer);
    }
    s->fd = s->fd_peer = -1;
}

int rpmsg_socket_fd(struct rpmsg_socket *s)
{
    if (!s)
        return -EINVAL;
    rpmsg_mutex_lock(&sock_lock);
    if (s->fd < 0) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
            int e = -errno;
            rpmsg_mutex_unlock(&sock_lock);
            return e;
        }
        /* The smallest send buffer: a few writes make A unwritable. */
        int small = 1;
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
        s->fd = sv[0];
        s->fd_peer = sv[1];
        s->fd_readable = false;
        s->fd_writable = true;
        sock_fd_update(s);
    }
    int fd = s->fd;
    rpmsg_mutex_unlock(&sock_lock);
    return fd;
}
#else
void sock_fd_update(struct rpmsg_socket *s)
{
    (void)s;
}

void sock_fd_close(struct rpmsg_socket *s)
{
    (void)s;
}

int rpmsg_socket_fd(struct rpmsg_socket *s)
{
    (void)s;
    return -ENOSYS;
}
#endif
