/*
 * The non-RPMsg side of `rpmsg sock`: TCP, Unix-domain and UDP sockets and
 * stdin/stdout, each either accepting connections (the bridge then opens an
 * rpmsg connection per accepted one) or connecting one per rpmsg
 * connection. A connection is an fd to read and one to write (the same fd
 * except for stdio).
 */
#ifndef RPMSG_TOOLS_SOCK_END_H
#define RPMSG_TOOLS_SOCK_END_H

#include <stdbool.h>

enum sock_end_kind {
    SE_TCP,
    SE_TCP_LISTEN,
    SE_UNIX,
    SE_UNIX_LISTEN,
    SE_UDP,
    SE_UDP_LISTEN,
    SE_STDIO,
};

struct sock_end {
    enum sock_end_kind kind;
    char host[256]; /* TCP/UDP host ("" = any), or the Unix path */
    char port[16];
    int lfd;   /* the listening (or bound UDP) socket */
    bool used; /* a one-shot end (stdio, udp-listen) gave its connection */
};

/* false if arg is none of the forms in SOCK_END_USAGE. */
bool sock_end_parse(struct sock_end *e, const char *arg);
/* Whether it hands out connections (accept) or makes them (connect);
 * stdio does either, once. */
bool sock_end_accepts(const struct sock_end *e);
bool sock_end_connects(const struct sock_end *e);
bool sock_end_dgram(const struct sock_end *e);

/* Accepting ends: start listening. 0, or -errno with a message printed. */
int sock_end_listen(struct sock_end *e);
/* 1 with a connection in *in and *out, 0 if none came within timeout_ms,
 * -ENOENT once a one-shot end has given its one. */
int sock_end_accept(struct sock_end *e, int timeout_ms, int *in, int *out);
/* Connecting ends: a new connection in *in and *out; 0 or -errno. */
int sock_end_connect(struct sock_end *e, int *in, int *out);
void sock_end_close(struct sock_end *e);

#define SOCK_END_USAGE                                                                         \
    "  tcp-listen:[HOST:]PORT  unix-listen:PATH  udp-listen:[HOST:]PORT  (accept)\n"           \
    "  tcp:HOST:PORT  unix:PATH  udp:HOST:PORT                           (connect)\n"          \
    "  stdio           stdin/stdout as one connection, either way\n"                           \
    "  udp-listen: carries the datagrams of its first sender (replies go back to it)\n"

#endif
