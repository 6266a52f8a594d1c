/*
 * Between the two halves of the lean router edge: the port link
 * (edge_link.c: UART framing, session, sequence numbers, credits, timers)
 * and the route (edge_route.c: the router's control protocol, the tunnel,
 * endpoints and name service). One context only.
 */
#ifndef RPMSG_LEAN_EDGE_INTERNAL_H
#define RPMSG_LEAN_EDGE_INTERNAL_H

#include <errno.h>
#include <string.h>

#include "common/byteorder.h"
#include "rpmsg/rpmsg_lean_edge.h"

enum { EDGE_DOWN, EDGE_CONNECTING, EDGE_UP };

/* The router's fixed control address, and our one tunnel endpoint (the
 * outer link's address space: inner addresses are the endpoints'). */
#define EDGE_CTRL 0x3F0u
#define EDGE_TUN RPMSG_ADDR_DYN_BASE

uint32_t rpmsg_board_time_ms(void);

/* edge_link.c: queues one outer message of hdr + a + b bytes from src to
 * dst. 0, -EAGAIN (no buffer or credit) or -ENOTCONN (no session). */
int rpmsg_lean_edge_out(struct rpmsg_lean_edge *e, uint32_t src, uint32_t dst, const void *a,
                        size_t alen, const void *b, size_t blen);
/* Largest outer message this session carries (header included). */
uint32_t rpmsg_lean_edge_out_max(const struct rpmsg_lean_edge *e);

/* edge_route.c: an outer message, in order; the session came up or ended;
 * the route's timers and owed messages (after the link had its turn). */
void rpmsg_lean_edge_on_msg(struct rpmsg_lean_edge *e, const uint8_t *m, uint32_t len);
void rpmsg_lean_edge_on_link(struct rpmsg_lean_edge *e, bool up);
int rpmsg_lean_edge_route_step(struct rpmsg_lean_edge *e, uint32_t now);

#endif
