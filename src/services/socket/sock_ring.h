/*
 * A socket's receive buffer: a byte ring of fixed capacity (the window it
 * advertises), so what a peer can make us hold is bounded by construction.
 */
#ifndef RPMSG_SOCK_RING_H
#define RPMSG_SOCK_RING_H

#include <stdbool.h>
#include <stdint.h>

struct sock_ring {
    uint8_t *buf;
    uint32_t cap, head, used;
};

int sock_ring_init(struct sock_ring *r, uint32_t cap);
void sock_ring_deinit(struct sock_ring *r);
static inline uint32_t sock_ring_free(const struct sock_ring *r) { return r->cap - r->used; }
/* Appends n bytes; the caller has checked sock_ring_free(). */
void sock_ring_put(struct sock_ring *r, const void *data, uint32_t n);
/* Copies up to n bytes from the front into out (NULL: only drops them);
 * with consume false they stay. Returns the bytes copied. */
uint32_t sock_ring_get(struct sock_ring *r, void *out, uint32_t n, bool consume);

#endif
