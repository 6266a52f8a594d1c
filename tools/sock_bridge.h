/*
 * The bridge of `rpmsg sock`, as a unit that a command runs once (cmd_sock.c)
 * or a `rpmsg sim` core runs several times side by side (sim_svc.c): two
 * addresses, one an ordinary socket end (sock_end.h), the other an RPMsg
 * Socket address; every connection on one side gets its own on the other.
 */
#ifndef RPMSG_TOOLS_SOCK_BRIDGE_H
#define RPMSG_TOOLS_SOCK_BRIDGE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "rpmsg/rpmsg_socket.h"
#include "sock_end.h"

struct sock_bridge_conn;

struct sock_bridge {
    bool rpmsg_listen; /* else the other end accepts */
    int type;          /* RPMSG_SOCK_STREAM or _DGRAM */
    struct sock_end end;
    struct rpmsg_sockaddr raddr;
    const char *arg_end, *arg_rpmsg; /* for messages */
    unsigned long limit;             /* exit after this many connections (0: no limit) */
    const char *who;                 /* message prefix, "rpmsg sock" by default */
    atomic_bool stop;                /* set by sock_bridge_stop(); tool_stop counts too */
    atomic_ulong done, active, errors, refused;
    atomic_ullong to_rpmsg, to_end;
    /* Private: the live connections, so that a stop can end them. */
    pthread_mutex_t lock;
    struct sock_bridge_conn *conns;
};

/* Parses the two addresses (either order) into a zeroed b; false when they
 * do not make a bridge (see SOCK_BRIDGE_USAGE). Keeps pointers to x and y. */
bool sock_bridge_parse(struct sock_bridge *b, const char *x, const char *y);

/*
 * Runs b until the limit of connections, tool_stop, sock_bridge_stop(), or
 * rdev going down. rdev NULL: every device of this process, far cores behind
 * routers too (then rpmsg:CPU:NAME picks the core). 0, or 1 when it could not
 * start (said why). Connections may still run when it returns.
 */
int sock_bridge_run(struct sock_bridge *b, struct rpmsg_device *rdev);

/* Makes sock_bridge_run return, ends every live connection and waits (at
 * most timeout_ms) until they are gone; true if they are. */
bool sock_bridge_stop(struct sock_bridge *b, unsigned timeout_ms);

#define SOCK_BRIDGE_USAGE                                                                      \
    "  ACCEPTING-END rpmsg:[CPU:]NAME   each connection accepted becomes a\n"                  \
    "                          stream connection to service NAME\n"                            \
    "  rpmsg-listen:NAME CONNECTING-END each connection to NAME becomes a\n"                   \
    "                          connection to the end\n"                                        \
    "  udp-listen:[HOST:]PORT rpmsg-dgram:[CPU:]NAME\n"                                        \
    "  rpmsg-dgram-listen:NAME udp:HOST:PORT    datagrams, one for one\n"                      \
    "ends:\n" SOCK_END_USAGE

#endif
