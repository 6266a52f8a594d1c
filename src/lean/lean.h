/*
 * Between the two halves of the lean remote: the link (lean_link.c: session
 * handshake, vrings, every check on what the region says) and the endpoints
 * (lean_ept.c: table, dispatch, name service, sends). One context only.
 */
#ifndef RPMSG_LEAN_INTERNAL_H
#define RPMSG_LEAN_INTERNAL_H

#include <errno.h>
#include <string.h>

#include "rpmsg/rpmsg_lean.h"

#define LEAN_VQ_TX 0 /* vring0: the host's RX buffers, our TX */
#define LEAN_VQ_RX 1 /* vring1: the host's TX buffers, our RX */

enum { LEAN_DOWN, LEAN_ACKED, LEAN_UP };

/* A buffer taken from a vring's avail side. */
struct lean_buf {
    uint8_t *p;
    uint32_t len; /* the descriptor's, checked: >= header, <= RPMSG_BUFFER_SIZE */
    uint16_t id;
};

/*
 * The handshake and the session watch. Returns 1 when the session has just
 * come up, 0 otherwise, -EPROTO if the host broke the protocol.
 */
int rpmsg_lean_link_step(struct rpmsg_lean *ld);
/* Next buffer of vring qi: 1, 0 if none, -EPROTO (link taken down). */
int rpmsg_lean_take(struct rpmsg_lean *ld, int qi, struct lean_buf *b);
/* Hands b back on vring qi's used side with len bytes, and kicks if asked to. */
void rpmsg_lean_give(struct rpmsg_lean *ld, int qi, const struct lean_buf *b, uint32_t len);

#endif
