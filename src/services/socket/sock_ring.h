/*
 * A socket's receive buffer: a byte ring of fixed capacity (the window it
 * advertises), so what a peer can make us hold is bounded by construction.
 *
 * One producer (the link's RX context, which calls the socket's rpmsg
 * callback one message at a time: the stream's order already depends on
 * it) and one consumer at a time (readers are serialised by sock_lock).
 * Each side owns one position and publishes it with a release store, so
 * the producer can append without sock_lock while a reader copies out.
 * Positions run over [0, 2 cap): equal means empty, cap apart means full.
 */
#ifndef RPMSG_SOCK_RING_H
#define RPMSG_SOCK_RING_H

#include <stdbool.h>
#include <stdint.h>

struct sock_ring {
    uint8_t *buf;
    uint32_t cap;
    uint32_t head; /* the consumer's position (atomic) */
    uint32_t tail; /* the producer's position (atomic) */
};

int sock_ring_init(struct sock_ring *r, uint32_t cap);
void sock_ring_deinit(struct sock_ring *r);
/* Bytes queued. Called by the producer, or with sock_lock held (the head
 * stands still): at least what the producer sees, at most cap. */
uint32_t sock_ring_used(const struct sock_ring *r);
static inline uint32_t sock_ring_free(const struct sock_ring *r)
{
    return r->cap - sock_ring_used(r);
}
/* Producer: appends n bytes; the caller has checked sock_ring_free(). */
void sock_ring_put(struct sock_ring *r, const void *data, uint32_t n);
/* Consumer: copies up to n bytes from the front into out (NULL: only drops
 * them) and consumes them. Returns the bytes taken. */
uint32_t sock_ring_get(struct sock_ring *r, void *out, uint32_t n);

#endif
