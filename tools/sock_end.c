/* The non-RPMsg ends of `rpmsg sock` (see sock_end.h). */
#include "sock_end.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct form {
    const char *prefix;
    enum sock_end_kind kind;
};

static const struct form forms[] = {
    { "tcp-listen:", SE_TCP_LISTEN }, { "tcp:", SE_TCP },
    { "unix-listen:", SE_UNIX_LISTEN }, { "unix:", SE_UNIX },
    { "udp-listen:", SE_UDP_LISTEN }, { "udp:", SE_UDP },
};

static bool is_unix(const struct sock_end *e)
{
    return e->kind == SE_UNIX || e->kind == SE_UNIX_LISTEN;
}

bool sock_end_parse(struct sock_end *e, const char *arg)
{
    memset(e, 0, sizeof(*e));
    e->lfd = -1;
    if (!strcmp(arg, "stdio")) {
        e->kind = SE_STDIO;
        return true;
    }
    const struct form *f = NULL;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]) && !f; i++)
        if (!strncmp(arg, forms[i].prefix, strlen(forms[i].prefix)))
            f = &forms[i];
    if (!f)
        return false;
    e->kind = f->kind;
    const char *rest = arg + strlen(f->prefix);
    if (is_unix(e))
        return rest[0] && strlen(rest) < sizeof(((struct sockaddr_un *)0)->sun_path) &&
               (strcpy(e->host, rest), true);
    const char *colon = strrchr(rest, ':');
    if (colon) {
        if ((size_t)(colon - rest) >= sizeof(e->host))
            return false;
        memcpy(e->host, rest, (size_t)(colon - rest));
        rest = colon + 1;
    }
    if (!rest[0] || strlen(rest) >= sizeof(e->port))
        return false;
    strcpy(e->port, rest);
    /* Connecting needs a host; listening defaults to any. */
    return e->host[0] || sock_end_accepts(e);
}

bool sock_end_accepts(const struct sock_end *e)
{
    return e->kind == SE_TCP_LISTEN || e->kind == SE_UNIX_LISTEN || e->kind == SE_UDP_LISTEN ||
           e->kind == SE_STDIO;
}

bool sock_end_connects(const struct sock_end *e)
{
    return e->kind == SE_TCP || e->kind == SE_UNIX || e->kind == SE_UDP || e->kind == SE_STDIO;
}

bool sock_end_dgram(const struct sock_end *e)
{
    return e->kind == SE_UDP || e->kind == SE_UDP_LISTEN;
}

static int socktype(const struct sock_end *e)
{
    return sock_end_dgram(e) ? SOCK_DGRAM : SOCK_STREAM;
}

/* A socket of e's type bound (listen) or connected to its address. */
static int ip_socket(const struct sock_end *e, bool listen_side)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = socktype(e) };
    hints.ai_flags = listen_side ? AI_PASSIVE : 0;
    struct addrinfo *res = NULL;
    int r = getaddrinfo(e->host[0] ? e->host : NULL, e->port, &hints, &res);
    if (r) {
        fprintf(stderr, "rpmsg sock: %s:%s: %s\n", e->host, e->port, gai_strerror(r));
        return -EINVAL;
    }
    int fd = -1, err = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        int one = 1;
        if (listen_side)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        bool ok = listen_side ? !bind(fd, ai->ai_addr, ai->ai_addrlen) &&
                                    (sock_end_dgram(e) || !listen(fd, 64))
                              : !connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (!ok) {
            err = -errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd >= 0 ? fd : err;
}

static int unix_socket(const struct sock_end *e, bool listen_side)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    strcpy(a.sun_path, e->host);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    bool ok = listen_side ? !bind(fd, (struct sockaddr *)&a, sizeof(a)) && !listen(fd, 64)
                          : !connect(fd, (struct sockaddr *)&a, sizeof(a));
    if (!ok) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int sock_end_listen(struct sock_end *e)
{
    if (e->kind == SE_STDIO)
        return 0;
    int fd = is_unix(e) ? unix_socket(e, true) : ip_socket(e, true);
    if (fd < 0) {
        fprintf(stderr, "rpmsg sock: cannot listen on %s%s%s: %s\n", e->host,
                is_unix(e) ? "" : ":", e->port, strerror(-fd));
        return fd;
    }
    e->lfd = fd;
    return 0;
}

/* udp-listen: its first sender becomes the peer (the socket is connected
 * to it, so replies go back there and other senders are ignored); the
 * datagram stays queued for the pump. */
static int udp_first_sender(struct sock_end *e)
{
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    char b;
    if (recvfrom(e->lfd, &b, 1, MSG_PEEK | MSG_TRUNC, (struct sockaddr *)&from, &fl) < 0 ||
        connect(e->lfd, (struct sockaddr *)&from, fl) < 0)
        return -errno;
    return 0;
}

int sock_end_accept(struct sock_end *e, int timeout_ms, int *in, int *out)
{
    if (e->used)
        return -ENOENT;
    if (e->kind == SE_STDIO) {
        e->used = true;
        *in = 0;
        *out = 1;
        return 1;
    }
    struct pollfd p = { e->lfd, POLLIN, 0 };
    if (poll(&p, 1, timeout_ms) <= 0)
        return 0;
    if (e->kind == SE_UDP_LISTEN) {
        if (udp_first_sender(e))
            return 0;
        e->used = true;
        *in = *out = e->lfd;
        e->lfd = -1; /* the connection owns it now */
        return 1;
    }
    int fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return 0;
    int one = 1;
    if (e->kind == SE_TCP_LISTEN)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *in = *out = fd;
    return 1;
}

int sock_end_connect(struct sock_end *e, int *in, int *out)
{
    if (e->kind == SE_STDIO) {
        if (e->used)
            return -EBUSY;
        e->used = true;
        *in = 0;
        *out = 1;
        return 0;
    }
    int fd = is_unix(e) ? unix_socket(e, false) : ip_socket(e, false);
    if (fd < 0)
        return fd;
    int one = 1;
    if (e->kind == SE_TCP)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *in = *out = fd;
    return 0;
}

void sock_end_close(struct sock_end *e)
{
    /* Only a path we bound is ours to remove. */
    if (e->lfd >= 0 && e->kind == SE_UNIX_LISTEN)
        unlink(e->host);
    if (e->lfd >= 0)
        close(e->lfd);
    e->lfd = -1;
}
