/*
 * RPMsg Socket: stream and datagram sockets between cores, over any rpmsg
 * device (VirtIO, UART, SPI, a far core behind a router).
 *
 * Wire-compatible with NuttX's net/rpmsg socket (SYNC / DATA / SHUTDOWN,
 * byte credits, its endpoint names), so a program using this API talks to
 * a NuttX core's AF_RPMSG socket both ways. The calls mirror BSD sockets;
 * every call returns 0 or a count on success and a negative errno on
 * failure, as the rest of the library does.
 *
 * Threads: every call may be made from any application thread, never from
 * inside an rpmsg callback (a blocking socket call there would stop the very
 * link it waits on). On the bare-metal build (RPMSG_NO_SYS) a blocking call
 * drives rpmsg_poll() on its socket's device while it waits.
 */
#ifndef RPMSG_SOCKET_H
#define RPMSG_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rpmsg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RPMSG_SOCK_STREAM 1
#define RPMSG_SOCK_DGRAM 2

/* shutdown(): NuttX's values, which travel on the wire as they are. */
#define RPMSG_SHUT_RD 1
#define RPMSG_SHUT_WR 2
#define RPMSG_SHUT_RDWR 3

/* Poll events: the same bits as <poll.h> on Linux. */
#define RPMSG_POLLIN 0x001
#define RPMSG_POLLOUT 0x004
#define RPMSG_POLLERR 0x008
#define RPMSG_POLLHUP 0x010

/* send/recv flags */
#define RPMSG_MSG_DONTWAIT 0x40

/* Service names: NuttX's sockaddr_rpmsg sizes (name NUL-terminated). */
#define RPMSG_SOCKET_CPU_SIZE 16
#define RPMSG_SOCKET_NAME_SIZE 32

#ifndef RPMSG_SOCKET_RCVBUF_DEFAULT
/* Receive window of a new socket, between two peers of ours (a stream
 * advertises NuttX's 1024 until the peer shows it is ours: a wider one lets
 * a NuttX sender run out of TX buffers, and NuttX asserts then; datagram
 * sockets advertise it as it is). 256 KiB: with 64 KiB the reader and the
 * link took turns (docs/benchmarks.md). */
#define RPMSG_SOCKET_RCVBUF_DEFAULT 262144u
#endif
#define RPMSG_SOCKET_RCVBUF_MAX (16u << 20)

struct rpmsg_sockaddr {
    /* Remote cpu name ("" = any link: the first one up for connect, every
     * link for listen). */
    char cpu[RPMSG_SOCKET_CPU_SIZE];
    char name[RPMSG_SOCKET_NAME_SIZE];
};

struct rpmsg_sock_cred {
    uint32_t pid, uid, gid;
};

struct rpmsg_iovec {
    const void *base;
    size_t len;
};

struct rpmsg_socket;

/* ---- Life cycle ----------------------------------------------------------- */

/* type: RPMSG_SOCK_STREAM or RPMSG_SOCK_DGRAM. 0 or -EINVAL / -ENOMEM. */
int rpmsg_socket_open(struct rpmsg_socket **out, int type);
/*
 * Ties the socket to one link (device): connect uses it, listen takes
 * announcements from it only. For programs that hold several cores in one
 * process, where a cpu name alone does not say which core's link is meant.
 * Before connect / listen. 0 or -EINVAL / -EISCONN.
 */
int rpmsg_socket_set_device(struct rpmsg_socket *s, struct rpmsg_device *rdev);
/* Sets the local service name (listen, or datagram receive). */
int rpmsg_socket_bind(struct rpmsg_socket *s, const struct rpmsg_sockaddr *addr);
/*
 * Stream only: accept connections to the bound name (and, like NuttX, to
 * every name it is a prefix of). At most backlog connections wait for
 * accept; further ones are refused. 0, -EINVAL, -EOPNOTSUPP, -ENOMEM.
 */
int rpmsg_socket_listen(struct rpmsg_socket *s, int backlog);
/* *out: the new connection; peer (may be NULL): its cpu and name. */
int rpmsg_socket_accept(struct rpmsg_socket *s, struct rpmsg_socket **out,
                        struct rpmsg_sockaddr *peer);
/*
 * Stream: connect to a listening service. Datagram: pair with the peer of
 * the same name (both sides connect, or one binds and receives).
 * Blocking: 0 when the peer's SYNC arrived, -ETIMEDOUT after the send
 * timeout, -ECONNREFUSED if the listener refused. Nonblocking: -EINPROGRESS;
 * completion shows as POLLOUT (or POLLERR, then rpmsg_socket_error()).
 */
int rpmsg_socket_connect(struct rpmsg_socket *s, const struct rpmsg_sockaddr *addr);
/* RPMSG_SHUT_RD / _WR / _RDWR; SHUT_WR is sent to the peer (EOF there). */
int rpmsg_socket_shutdown(struct rpmsg_socket *s, int how);
/* Destroys the endpoint (the peer sees EOF after what was sent) and frees s. */
int rpmsg_socket_close(struct rpmsg_socket *s);

/* ---- Data ------------------------------------------------------------------ */

/*
 * Stream: returns the bytes queued, possibly fewer than asked (POSIX partial
 * count) when nonblocking, on a timeout, or on an error after some bytes.
 * Datagram: one datagram, whole or not at all: -EMSGSIZE beyond one
 * message of the link, -EFBIG beyond the peer's receive window.
 * -EAGAIN (nothing sent, would block / timed out), -EPIPE (shut down, or the
 * peer closed), -ECONNRESET (link lost), -ENOTCONN.
 */
ssize_t rpmsg_socket_send(struct rpmsg_socket *s, const void *buf, size_t len, int flags);
ssize_t rpmsg_socket_sendv(struct rpmsg_socket *s, const struct rpmsg_iovec *iov, int iovcnt,
                           int flags);
/*
 * Stream: up to len bytes; 0 at end of stream (peer shut down or closed,
 * after everything it sent was read); -ECONNRESET once drained after a lost
 * link. Datagram: one datagram, truncated to len. On a socket whose
 * nonblocking connect has failed meanwhile: that error (then cleared).
 */
ssize_t rpmsg_socket_recv(struct rpmsg_socket *s, void *buf, size_t len, int flags);

/* ---- Waiting --------------------------------------------------------------- */

struct rpmsg_socket_pollfd {
    struct rpmsg_socket *s;
    short events;
    short revents;
};

/*
 * Like poll(2): timeout_ms < 0 waits forever, 0 does not wait. Returns the
 * number of entries with revents != 0. POLLHUP and POLLERR are always
 * reported. On a datagram socket POLLOUT means the peer's window is not
 * full: a datagram larger than what is left may still return -EAGAIN.
 */
int rpmsg_socket_poll(struct rpmsg_socket_pollfd *fds, unsigned nfds, int timeout_ms);

/*
 * Linux: a descriptor for the application's own poll/epoll loop, created on
 * the first call and closed by rpmsg_socket_close(). It is readable while
 * the socket has POLLIN, POLLHUP or POLLERR, and writable while it has
 * POLLOUT or POLLERR. Only wait on it: never read, write or close it.
 * -ENOSYS elsewhere.
 */
int rpmsg_socket_fd(struct rpmsg_socket *s);

/* ---- Options --------------------------------------------------------------- */

enum rpmsg_socket_opt {
    RPMSG_SO_NONBLOCK, /* 0 / 1 */
    RPMSG_SO_SNDTIMEO, /* ms, 0 = no bound (connect uses it too) */
    RPMSG_SO_RCVTIMEO, /* ms, 0 = no bound */
    RPMSG_SO_RCVBUF,   /* bytes; before connect / listen */
};
int rpmsg_socket_setopt(struct rpmsg_socket *s, enum rpmsg_socket_opt opt, uint32_t value);
int rpmsg_socket_getopt(struct rpmsg_socket *s, enum rpmsg_socket_opt opt, uint32_t *value);

/* The peer's pid/uid/gid from its SYNC (-ENOTCONN before; zeros from a peer
 * that sends the short SYNC). */
int rpmsg_socket_peercred(struct rpmsg_socket *s, struct rpmsg_sock_cred *out);
/* Pending error (SO_ERROR), cleared by the call: 0 or a negative errno. */
int rpmsg_socket_error(struct rpmsg_socket *s);

struct rpmsg_socket_stats {
    uint64_t malformed; /* protocol messages counted and dropped */
    uint32_t rcvbuf;    /* our window */
    uint32_t queued;    /* bytes waiting to be read */
    uint32_t peer_window;
    uint32_t inflight;  /* bytes sent, not yet acknowledged */
};
int rpmsg_socket_stats(struct rpmsg_socket *s, struct rpmsg_socket_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* RPMSG_SOCKET_H */
