/*
 * RPMsg Socket internals shared by its files: the socket, the layer's one
 * lock, and the helpers between the protocol (sock_proto.c: what arrives,
 * what is owed to the peer) and the calls (socket.c, sock_io.c).
 *
 * Locking: sock_lock guards every socket's state. It is never held while
 * calling into the rpmsg core (sends may block, destroy waits for
 * callbacks, and core callbacks take sock_lock), so the order is always
 * core locks -> sock_lock. Sends of one socket are serialised by tx_busy,
 * a flag under sock_lock, so that the pos a message carries and the bytes
 * it carries leave in the order they were assigned; an rpmsg callback only
 * ever tries it, and whoever holds it sends what the callback owed.
 */
#ifndef RPMSG_SOCK_PRIV_H
#define RPMSG_SOCK_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "rpmsg/rpmsg.h"
#include "rpmsg/rpmsg_socket.h"
#include "sock_ring.h"
#include "sock_wire.h"

enum sock_state { SS_IDLE, SS_BOUND, SS_LISTEN, SS_CONNECTING, SS_CONNECTED, SS_CLOSED };

/* What one batch of a stream write's DATA may reserve of the window (less
 * if not a multiple of a full DATA): the pos it carries is read once per
 * batch, so this bounds how stale an acknowledgement riding on data gets. */
#define SOCK_TX_BATCH (32u * 1024u)

/* Control messages owed to the peer (sent by whoever holds tx_busy next). */
#define OWE_SYNC 1u
#define OWE_ACK 2u
#define OWE_SHUT 4u

struct rpmsg_socket {
    int type;
    enum sock_state state;
    struct rpmsg_sockaddr local, peer;
    char ept_name[RPMSG_NAME_SIZE];
    struct rpmsg_endpoint ept;
    struct rpmsg_device *rdev;
    struct rpmsg_device *pin_dev; /* rpmsg_socket_set_device(), or NULL */
    bool ept_live; /* created (or being created) and not destroyed */
    rpmsg_cond_t cond;
    unsigned waiters; /* threads in sock_wait: notify broadcasts only for them */
    bool signalled;   /* broadcast since the last thread began to wait */
    unsigned in_cb;   /* in its rpmsg callback: wakes wait for the unlock */
    unsigned wake_owed;
    unsigned nseq;    /* sock_notify count: a waiter that dropped the lock looks again */

    /* receive side: our window is ring.cap */
    struct sock_ring ring;
    uint32_t rcvbuf;
    /* The window our last SYNC advertised: at most NuttX's own until the
     * peer's SYNC shows it is ours (peer_ours), then rcvbuf in a second
     * SYNC. A NuttX sender may not run out of TX buffers (sock_wire.h). */
    uint32_t adv;
    bool peer_ours;
    /* A stream reader asleep on an empty ring posts its buffer: the callback
     * copies DATA straight into it (one copy, as a raw rpmsg callback makes,
     * instead of into the ring and out again). NULL when none is posted. */
    uint8_t *post;
    uint32_t post_len, post_got;
    bool driving; /* its reader runs the link (sock_drive): rdev stays valid */
    uint32_t recvpos; /* bytes consumed by the application */
    uint32_t lastpos; /* recvpos last told to the peer */
    /* send side */
    uint32_t sendpos, ackpos, peer_window;
    /* Stream, our SYNC extension (sock_wire.h): tx_full is the most data one
     * of our DATA carries, tx_last_full says the last one did; peer_full is
     * the peer's (0: a NuttX peer, which promises nothing). */
    uint32_t tx_full, peer_full;
    /* The service's full name, sent in our SYNC when longer than NuttX's
     * 10 characters: peer.name connecting, local.name accepted; or NULL. */
    const char *svc;
    bool tx_last_full;
    bool peer_synced, sync_sent, tx_busy;
    unsigned owe;
    uint32_t shut_how; /* bits to send in the owed SHUTDOWN */

    bool rd_shut, wr_shut, peer_rd_shut, peer_wr_shut;
    int gone;  /* 0, -EPIPE (peer endpoint gone) or -ECONNRESET (link lost) */
    int error; /* pending error for rpmsg_socket_error() / connect */
    struct rpmsg_sock_cred cred;
    bool nonblock;
    uint32_t sndtimeo, rcvtimeo;
    uint64_t malformed;

    /* listener */
    int backlog;
    unsigned qlen;
    struct rpmsg_socket *q_head, *q_tail, *q_next;

    struct rpmsg_socket *all_next, *all_prev;
    bool destroying; /* its endpoint is being destroyed after a lost link */
    struct rpmsg_socket *kill_next;
    int fd; /* Linux: the readiness descriptor (sock_fd.c), -1 if none */
    int fd_peer;
    bool fd_readable, fd_writable;
};

extern rpmsg_mutex_t sock_lock;

/* Wakes the socket's waiters and pollers and updates its descriptor. In the
 * socket's rpmsg callback the wake is only noted (wake_owed), and sent once
 * the callback has dropped sock_lock: a woken reader on the same CPU would
 * otherwise preempt the callback and block on the lock it still holds. */
void sock_notify(struct rpmsg_socket *s);
#define WAKE_SOCK 1u
#define WAKE_POLL 2u
#define WAKE_DRIVE 4u /* its reader waits in rpmsg_drive() for the link */
/* sock_lock held: the wakes owed, cleared. */
unsigned sock_wake_take(struct rpmsg_socket *s);
/* Lock not needed (a condition broadcast may come after the unlock); rdev
 * is the socket's device as the caller knows it (for WAKE_DRIVE). */
void sock_wake(struct rpmsg_socket *s, struct rpmsg_device *rdev, unsigned what);
/* sock_lock held; waits for a notify on s or the deadline. 0 / -ETIMEDOUT. */
int sock_wait(struct rpmsg_socket *s, uint64_t deadline);
/* What poll would report now (sock_lock held). */
short sock_revents(struct rpmsg_socket *s);
uint32_t sock_space(const struct rpmsg_socket *s);
/* The window the peer was last told (sock_lock held). */
uint32_t sock_adv(const struct rpmsg_socket *s);
/* sock_lock held: n bytes read by the application; past half the window
 * unacknowledged, the acknowledgement is owed. */
void sock_consumed(struct rpmsg_socket *s, uint32_t n);

/* ---- sock_proto.c ---- */
int sock_ept_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv);
void sock_unbind_cb(struct rpmsg_endpoint *ept);
/*
 * sock_lock held, tx_busy taken by the caller: sends what is owed, dropping
 * the lock around each send. may_block selects rpmsg_send or rpmsg_trysend.
 */
void sock_flush_owed(struct rpmsg_socket *s, bool may_block);
/* Takes tx_busy (waiting if may_block, else -EAGAIN), or releases it after
 * flushing what is owed. sock_lock held. */
int sock_tx_take(struct rpmsg_socket *s, bool may_block, uint64_t deadline);
void sock_tx_give(struct rpmsg_socket *s, bool may_block);
/* Flushes what is owed if tx_busy is free; sock_lock held. */
bool sock_try_flush(struct rpmsg_socket *s, bool may_block);

/* ---- socket.c ---- */
/* sock_lock held: moves a connecting socket on (endpoint, SYNC); 0 when
 * connected, -EINPROGRESS while not, or the error that ended it. */
int sock_connect_step(struct rpmsg_socket *s, bool may_block);

/* ---- sock_fd.c ---- */
void sock_fd_update(struct rpmsg_socket *s);
void sock_fd_close(struct rpmsg_socket *s);

#endif
